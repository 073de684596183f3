# Copyright 2026 nova-ovirt developers
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Ownership that survives what an engine administrator does.

The ownership mark is the VM's description, free text an admin can edit,
and a cloned VM keeps it. These tests clone a Nova VM in the engine, edit
descriptions and rename VMs, and drive the server through nova's REST API:
nothing the operator owns is touched, and the Nova instance keeps working.
"""

from nova import context
from nova import objects
from nova.tests.functional.api import client as api_client

from nova_ovirt.pools.ovirt import cache as ovirt_cache
from nova_ovirt.pools.ovirt import vmops as ovirt_vmops

from tests.functional import ovirt_base as obase


class OwnershipTest(obase.OvirtPoolFunctionalTestBase):

    def setUp(self):
        super().setUp()
        self.ctx = context.get_admin_context()

    def vm(self, vm_id):
        self._tick()
        return self.sim.store.vms.get(vm_id)

    def assertCopyUntouched(self, copy_id, name, description):
        copy = self.vm(copy_id)
        self.assertIsNotNone(copy, 'the operator\'s copy was removed')
        self.assertEqual(name, copy.name)
        self.assertEqual(description, copy.description)
        self.assertEqual('down', copy.status.value)

    def wait_for_task(self, server):
        return self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': None})

    def test_clone_edit_rename(self):
        server = self._boot_ovirt()
        ours = self.sim_vm(server)
        # Nova recorded the engine's VM id at spawn.
        instance = objects.Instance.get_by_uuid(
            self.ctx, server['id'], expected_attrs=['system_metadata'])
        self.assertEqual(ours.id, instance.system_metadata[
            ovirt_vmops.VM_ID_KEY % obase.OVIRT_POOL])

        # 1. An admin clones the VM: two VMs carry the instance's mark.
        copy = self.sim.admin_clone_vm(ours.id, 'copy-of-nova-vm')
        self.assertEqual(ovirt_cache.mark(server['id']), copy.description)
        logger_before = self.stdlog.logger.output

        # A stop through nova's API changes neither VM. (nova's test RPC
        # turns the stop's cast into a call, so the compute's error reaches
        # the API here; a real cloud answers 202 and logs it.)
        ex = self.assertRaises(api_client.OpenStackApiException,
                               self.api.post_server_action, server['id'],
                               {'os-stop': None})
        self.assertIn('OwnershipConflict', str(ex))
        server = self.wait_for_task(server)
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual('up', self.vm(ours.id).status.value)
        self.assertCopyUntouched(copy.id, 'copy-of-nova-vm',
                                 ovirt_cache.mark(server['id']))
        conflict_lines = [
            line for line in self.stdlog.logger.output[
                len(logger_before):].splitlines()
            if 'Ownership conflict' in line]
        self.assertTrue(conflict_lines)
        self.assertIn(ours.id, conflict_lines[0])
        self.assertIn(copy.id, conflict_lines[0])
        # Nova's power-state sync reads the recorded VM's state and
        # changes nothing.
        self.compute.manager._sync_power_states(self.ctx)
        self.assertEqual('ACTIVE', self._refresh(server)['status'])
        self.assertEqual(1, self._refresh(server)['OS-EXT-STS:power_state'])

        # 2. The admin makes the copy theirs (description) and renames it;
        # and renames Nova's VM and edits its description away too.
        self.sim.admin_edit_vm(copy.id, description='my copy',
                               name='operator-vm')
        self.sim.admin_edit_vm(ours.id, name='renamed-by-admin',
                               description='edited by an admin')

        # The instance keeps working: found by the id Nova recorded.
        server = self._stop_server(server)
        self.assertEqual('down', self.vm(ours.id).status.value)
        server = self._start_server(server)
        self.assertEqual('up', self.vm(ours.id).status.value)
        self.assertCopyUntouched(copy.id, 'operator-vm', 'my copy')

        # 3. Another clone, then a delete: the delete stops at the
        # conflict, with a fault that names both VMs; nothing is removed.
        second = self.sim.admin_clone_vm(ours.id, 'second-copy')
        self.sim.admin_edit_vm(second.id,
                               description=ovirt_cache.mark(server['id']))
        ex = self.assertRaises(api_client.OpenStackApiException,
                               self.api.delete_server, server['id'])
        self.assertIn('OwnershipConflict', str(ex))
        server = self._wait_for_state_change(server, 'ERROR')
        fault = server['fault']['message']
        self.assertIn(ours.id, fault)
        self.assertIn(second.id, fault)
        self.assertIsNotNone(self.vm(ours.id))
        self.assertCopyUntouched(second.id, 'second-copy',
                                 ovirt_cache.mark(server['id']))

        # Once the admin resolves it, the delete removes Nova's VM only.
        self.sim.admin_edit_vm(second.id, description='second copy')
        self._delete_server(server)
        self.assertIsNone(self.vm(ours.id))
        self.assertCopyUntouched(copy.id, 'operator-vm', 'my copy')
        self.assertCopyUntouched(second.id, 'second-copy', 'second copy')
        self.assertNoUsage()
