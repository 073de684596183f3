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

"""destroy(destroy_disks=False) and cleanup against the engine simulator."""

from nova_ovirt import exception
from nova_ovirt.pools.ovirt import cache as vm_cache
from tests.unit.pools.ovirt import test_vmops


class TestDestroyKeepsDisks(test_vmops.FlowTestCase):

    def disks_of(self, vm):
        with self.sim.store.lock:
            return set(self.sim.store.vm_disk_ids(vm.id))

    def test_destroy_without_disks_then_cleanup(self):
        inst = self.spawn()
        vm = self.sim_vm(inst)
        disk_ids = self.disks_of(vm)
        self.assertEqual(1, len(disk_ids))
        self.pool.destroy(self.context, inst, [], destroy_disks=False)
        self.assertIsNone(self.sim_vm(inst))
        self.assertEqual([], self.pool.list_instance_uuids())
        # The disk stays, detached, with the instance's mark.
        for disk_id in disk_ids:
            disk = self.sim.store.disks[disk_id]
            self.assertEqual(vm_cache.mark(inst.uuid), disk.description)
            self.assertNotIn(disk_id, self.sim.store.disk_attachments)
        self.assertEqual(disk_ids, {d.id for d in
                                    self.pool.vmops.kept_disks(inst.uuid)})
        # cleanup(destroy_disks=True) removes what destroy kept.
        self.pool.cleanup(self.context, inst, [], destroy_disks=True)
        self.sim.store.tick()
        self.assertEqual(set(), disk_ids & set(self.sim.store.disks))

    def test_destroy_with_disks_removes_them(self):
        inst = self.spawn()
        disk_ids = self.disks_of(self.sim_vm(inst))
        self.pool.destroy(self.context, inst, [], destroy_disks=True)
        self.assertEqual(set(), disk_ids & set(self.sim.store.disks))

    def test_cleanup_after_failed_destroy_leaves_nothing(self):
        inst = self.spawn()
        disk_ids = self.disks_of(self.sim_vm(inst))
        self.sim.faults.script_fault(r'/vms/[^/]+$', method='DELETE',
                                     status=409, reason='Operation Failed',
                                     detail='[Cannot remove VM. Boom.]')
        e = self.assertRaises(exception.BackendOperationFailed,
                              self.pool.destroy, self.context, inst, [])
        self.assertIn('Boom', str(e))
        self.assertIsNotNone(self.sim_vm(inst))
        self.sim.faults.clear()
        self.pool.cleanup(self.context, inst, [], destroy_disks=True)
        self.assertIsNone(self.sim_vm(inst))
        self.sim.store.tick()
        self.assertEqual(set(), disk_ids & set(self.sim.store.disks))
        self.assertEqual([], self.pool.vmops.kept_disks(inst.uuid))
