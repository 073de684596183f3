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

"""Live migration checks and runs, evacuation checks, on the simulator.

Scenario ``migration``: pool ``east`` has cluster1; cluster3 (pool
``west``) has the same CPU type, cluster2 (pool ``amd``) another vendor's,
remote1 (pool ``remote``) is in another data center with its own storage.
"""

import threading

from ovirtsdk4 import types

from nova import exception as nova_exception
from nova.objects import migrate_data as migrate_data_obj

from nova_ovirt.pools.ovirt import live_migration
from tests import base
from tests.unit.pools.ovirt import test_vmops


class LiveMigrationTestCase(test_vmops.FlowTestCase):
    scenario = 'migration'

    def setUp(self):
        super().setUp()
        self.flags.config(live_migration_completion_timeout=30,
                          group='libvirt')

    def make_pool(self, name=None, start=True, **overrides):
        if name is None:
            overrides.setdefault('clusters', ['cluster1'])
        return super().make_pool(name, start, **overrides)

    def dest_pool(self, name, cluster, **overrides):
        pool = self.make_pool(name, clusters=[cluster], **overrides)
        pool.poller.stop()
        return pool

    def dest_data(self, pool, node, inst, block_migration=None):
        return pool.check_can_live_migrate_destination(
            self.context, inst, node, block_migration, False)

    def refusal(self, func, *args):
        error = self.assertRaises(nova_exception.MigrationPreCheckError,
                                  func, *args)
        return str(error)


class TestChecks(LiveMigrationTestCase):

    def setUp(self):
        super().setUp()
        self.inst = self.spawn()

    def check_source(self, data):
        return self.pool.check_can_live_migrate_source(
            self.context, self.inst, data)

    def test_same_cpu_type_in_the_data_center_passes(self):
        west = self.dest_pool('west', 'cluster3')
        data = self.dest_data(west, 'cluster3', self.inst)
        self.assertIsInstance(data, migrate_data_obj.VMwareLiveMigrateData)
        self.assertTrue(west.owns_live_migration(data))
        self.assertFalse(self.pool.owns_live_migration(data))
        self.assertIs(data, self.check_source(data))

    def test_block_migration_refused(self):
        west = self.dest_pool('west', 'cluster3')
        reason = self.refusal(self.dest_data, west, 'cluster3', self.inst,
                              True)
        self.assertIn('block migration does not apply', reason)

    def test_other_cpu_type_refused(self):
        amd = self.dest_pool('amd', 'cluster2')
        reason = self.refusal(self.check_source,
                              self.dest_data(amd, 'cluster2', self.inst))
        self.assertIn("clusters cluster1 and cluster2 have different CPU "
                      "types ('Intel Nehalem Family', 'Secure AMD EPYC')",
                      reason)

    def test_storage_the_destination_does_not_see_refused(self):
        remote = self.dest_pool('remote', 'remote1',
                                storage_domain='remote-data')
        reason = self.refusal(self.check_source,
                              self.dest_data(remote, 'remote1', self.inst))
        self.assertIn('the data center Remote of cluster remote1 does not '
                      'see storage domain data of the VM\'s disks', reason)

    def test_cluster_of_another_engine_refused(self):
        data = live_migration.new_data(
            '5e0f1a3c-0000-4000-8000-000000000001', [])
        reason = self.refusal(self.check_source, data)
        self.assertIn('is not in engine %s of pool engine1' % self.sim.url,
                      reason)

    def test_vm_not_running_refused(self):
        west = self.dest_pool('west', 'cluster3')
        data = self.dest_data(west, 'cluster3', self.inst)
        self.pool.power_off(self.inst)
        reason = self.refusal(self.check_source, data)
        self.assertIn('the VM is down in the engine', reason)

    def test_destination_without_a_usable_host_refused(self):
        west = self.dest_pool('west', 'cluster3')
        (host,) = self.sim.store.hosts_of(
            self.sim.store.by_name('clusters', 'cluster3').id)
        self.sim.admin_set_host_status(host.id, 'maintenance')
        west.inventory.refresh(force=True)
        reason = self.refusal(self.dest_data, west, 'cluster3', self.inst)
        self.assertIn('cluster cluster3 (node cluster3) has no host that is '
                      'up', reason)

    def test_libvirt_destination_refused(self):
        data = migrate_data_obj.LibvirtLiveMigrateData(
            target_connect_addr='{"uri": "qemu:///system"}')
        reason = self.refusal(self.check_source, data)
        self.assertIn('the destination node is not an oVirt cluster', reason)


class TestMigration(LiveMigrationTestCase):
    """live_migration itself: nova's callbacks, the engine's VM."""

    def setUp(self):
        super().setUp()
        self.inst = self.spawn()
        self.west = self.dest_pool('west', 'cluster3')
        self.data = self.pool.check_can_live_migrate_source(
            self.context, self.inst,
            self.dest_data(self.west, 'cluster3', self.inst))
        self.calls = []

    def post(self, context, instance, dest, block_migration, data):
        self.calls.append(('post', dest))

    def recover(self, context, instance, dest, data,
                migration_status='failed'):
        self.calls.append(('recover', migration_status))

    def migrate(self):
        self.pool.live_migration(self.context, self.inst, 'compute2',
                                 self.post, self.recover, False, self.data)

    def test_vm_moves_running_and_nova_is_told(self):
        vm_id = self.sim_vm(self.inst).id
        self.migrate()
        self.assertEqual([('post', 'compute2')], self.calls)
        vm = self.sim_vm(self.inst)
        self.assertEqual((vm_id, types.VmStatus.UP, 'cluster3'),
                         (vm.id, vm.status,
                          self.sim.store.clusters[vm.cluster.id].name))
        self.west.post_live_migration_at_destination(self.context, self.inst)
        self.assertEqual([self.inst.uuid], self.west.list_instance_uuids())
        self.assertEqual([], self.pool.list_instance_uuids())

    def test_failure_mid_way_recovers_at_the_source(self):
        self.sim.faults.fail_migrations()
        self.migrate()
        self.assertEqual([('recover', 'failed')], self.calls)
        vm = self.sim_vm(self.inst)
        self.assertEqual((types.VmStatus.UP, 'cluster1'), (
            vm.status, self.sim.store.clusters[vm.cluster.id].name))

    def test_completion_timeout_cancels(self):
        self.flags.config(live_migration_completion_timeout=1,
                          group='libvirt')
        self.sim.store.delays['vm_migrate'] = 60
        self.migrate()
        self.assertEqual([('recover', 'cancelled')], self.calls)
        vm = self.sim_vm(self.inst)
        self.assertEqual((types.VmStatus.UP, 'cluster1'), (
            vm.status, self.sim.store.clusters[vm.cluster.id].name))

    def test_abort_without_a_migration(self):
        self.assertRaises(nova_exception.NoActiveMigrationForInstance,
                          self.pool.live_migration_abort, self.inst)


class TestEvacuation(LiveMigrationTestCase):

    def setUp(self):
        super().setUp()
        self.inst = self.spawn()
        self.west = self.dest_pool('west', 'cluster3')

    def test_refused_while_the_engine_runs_the_vm(self):
        error = self.assertRaises(nova_exception.InstanceFaultRollback,
                                  self.west.instance_on_disk, self.inst)
        self.assertIn('the oVirt engine reports VM %s up in cluster cluster1'
                      % self.inst.name, str(error.inner_exception))
        self.assertIsInstance(error.inner_exception,
                              nova_exception.InstanceEvacuateNotSupported)

    def test_a_vm_the_engine_reports_down_is_on_shared_storage(self):
        self.sim.admin_stop_vm(self.sim_vm(self.inst).id)
        self.assertTrue(self.west.instance_on_disk(self.inst))

    def test_an_instance_of_another_engine_is_not_ours(self):
        self.assertFalse(self.west.instance_on_disk(self.instance()))


class TestAbort(LiveMigrationTestCase):

    def test_abort_cancels_the_engine_migration(self):
        inst = self.spawn()
        west = self.dest_pool('west', 'cluster3')
        data = self.pool.check_can_live_migrate_source(
            self.context, inst, self.dest_data(west, 'cluster3', inst))
        self.sim.store.delays['vm_migrate'] = 60
        calls = []
        runner = threading.Thread(target=self.pool.live_migration, args=(
            self.context, inst, 'compute2', None,
            lambda *a, **kw: calls.append(kw.get('migration_status')),
            False, data))
        runner.start()
        self.addCleanup(runner.join, 30)
        base.wait_until(lambda: self.sim_vm(inst).status ==
                        types.VmStatus.MIGRATING, 10)
        self.pool.live_migration_abort(inst)
        runner.join(30)
        self.assertEqual(['cancelled'], calls)
        self.assertEqual(types.VmStatus.UP, self.sim_vm(inst).status)
        events = [e.code for e in self.sim.store.events.values()
                  if e.vm is not None and e.vm.id == self.sim_vm(inst).id]
        self.assertIn(161, events)
        self.assertNotIn(63, events)
