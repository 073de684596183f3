"""The engine's migrate and cancelmigration actions, across clusters too.

Scenario ``migration``: cluster1 and cluster3 share a CPU type, cluster2 is
AMD, remote1 is in another data center (see ovirt_engine_sim/scenarios.py).
What the engine does is cited in ovirt_engine_sim/vms.py.
"""

from ovirtsdk4 import types

from ovirt_engine_sim import cpus
from tests.unit.ovirt_engine_sim import base

S = types.VmStatus


class CpuFlagsTest(base.testtools.TestCase):

    def test_newer_host_of_the_same_vendor_runs_an_older_model(self):
        self.assertEqual([], cpus.missing('Intel Nehalem Family',
                                          'Intel Skylake Client Family'))

    def test_older_host_lacks_the_model_of_a_newer_vm(self):
        lacking = cpus.missing('Intel Skylake Client Family',
                               'Intel Nehalem Family')
        self.assertIn('model_Skylake-Client', lacking)
        self.assertIn('model_Westmere', lacking)
        self.assertNotIn('model_Nehalem', lacking)

    def test_vendors_never_mix(self):
        self.assertEqual(['model_Nehalem', 'vmx'],
                         cpus.missing('Intel Nehalem Family', 'Secure AMD EPYC'))


class MigrationTest(base.SimTestCase):
    scenario = 'migration'

    def setUp(self):
        super().setUp()
        self.vm = self.add_vm()
        self.settle()
        self.up = self.start_and_wait(self.vm.id)
        self.svc = self.vm_service(self.vm.id)

    def cluster(self, name):
        return self.sim.store.by_name('clusters', name)

    def events(self, code):
        self.sim.store.tick()
        return [e for e in self.sim.store.events.values()
                if e.code == code and e.vm is not None and e.vm.id == self.vm.id]

    def test_to_another_cluster_of_the_data_center(self):
        target = self.cluster('cluster3')
        self.svc.migrate(cluster=types.Cluster(id=target.id))
        during = self.svc.get()
        self.assertEqual(S.MIGRATING, during.status)
        self.assertEqual(self.up.host.id, during.host.id)
        self.assertEqual(1, len(self.events(62)))
        self.settle()
        moved = self.svc.get()
        self.assertEqual(S.UP, moved.status)
        self.assertEqual(target.id, moved.cluster.id)
        self.assertEqual(target.id, self.sim.store.hosts[moved.host.id].cluster.id)
        self.assertEqual(self.cluster('cluster3').name, 'cluster3')
        (done,) = self.events(63)
        self.assertEqual(moved.host.id, done.host.id)
        # The same VM, never down.
        self.assertEqual(self.vm.id, moved.id)
        self.assertEqual([], self.events(61))

    def test_to_a_named_host_of_another_cluster(self):
        host = self.sim.store.by_name('hosts', 'cluster3-host1')
        self.svc.migrate(cluster=types.Cluster(name='cluster3'),
                         host=types.Host(id=host.id))
        self.settle()
        self.assertEqual(host.id, self.svc.get().host.id)

    def test_host_of_another_cluster_needs_the_cluster(self):
        host = self.sim.store.by_name('hosts', 'cluster3-host1')
        err = self.assertFault(409, self.svc.migrate, host=types.Host(id=host.id))
        self.assertIn('specify a target Cluster', err.fault.detail)
        err = self.assertFault(409, self.svc.migrate, cluster=types.Cluster(name='cluster2'),
                               host=types.Host(id=host.id))
        self.assertIn('not present in destination cluster', err.fault.detail)

    def test_other_data_center_refused(self):
        err = self.assertFault(409, self.svc.migrate,
                               cluster=types.Cluster(name='remote1'))
        self.assertIn('only to a Cluster in the same Data Center', err.fault.detail)
        self.assertEqual(S.UP, self.svc.get().status)

    def test_cpu_of_another_vendor_refused(self):
        err = self.assertFault(409, self.svc.migrate,
                               cluster=types.Cluster(name='cluster2'))
        self.assertIn('did not satisfy internal filter CPU-Level', err.fault.detail)
        self.assertIn("missing VM's required CPU flags: model_Nehalem, vmx",
                      err.fault.detail)
        self.assertEqual(self.up.cluster.id, self.svc.get().cluster.id)

    def test_a_migrated_vm_keeps_its_cpu_until_it_stops(self):
        # cluster3 becomes newer: a VM started there cannot go back to an
        # older cluster1 host until it restarts in cluster1.
        self.cluster('cluster3').cpu.type = 'Intel Skylake Client Family'
        for host in self.sim.store.hosts_of(self.cluster('cluster3').id):
            host.cpu.type = 'Intel Skylake Client Family'
        self.svc.migrate(cluster=types.Cluster(name='cluster3'))
        self.settle()
        # Started in cluster1 (Nehalem): it may go back.
        self.svc.migrate(cluster=types.Cluster(name='cluster1'))
        self.settle()
        self.svc.migrate(cluster=types.Cluster(name='cluster3'))
        self.settle()
        self.svc.stop()
        self.svc.update(types.Vm(cluster=types.Cluster(name='cluster3')))
        self.start_and_wait(self.vm.id)
        err = self.assertFault(409, self.svc.migrate,
                               cluster=types.Cluster(name='cluster1'))
        self.assertIn('model_Skylake-Client', err.fault.detail)

    def test_only_a_running_vm_migrates(self):
        self.svc.stop()
        err = self.assertFault(409, self.svc.migrate,
                               cluster=types.Cluster(name='cluster3'))
        self.assertIn('VM is not running', err.fault.detail)

    def test_second_migration_while_migrating_refused(self):
        self.svc.migrate(cluster=types.Cluster(name='cluster3'))
        err = self.assertFault(409, self.svc.migrate,
                               cluster=types.Cluster(name='cluster3'))
        self.assertIn('VM migration is in progress', err.fault.detail)

    def test_pinned_vm_refused_and_user_migratable_needs_force(self):
        self.svc.update(types.Vm(placement_policy=types.VmPlacementPolicy(
            affinity=types.VmAffinity.PINNED)))
        err = self.assertFault(409, self.svc.migrate)
        self.assertIn('pinned to Host', err.fault.detail)
        self.svc.update(types.Vm(placement_policy=types.VmPlacementPolicy(
            affinity=types.VmAffinity.USER_MIGRATABLE)))
        err = self.assertFault(409, self.svc.migrate,
                               cluster=types.Cluster(name='cluster3'))
        self.assertIn('force-migration flag', err.fault.detail)
        self.svc.migrate(cluster=types.Cluster(name='cluster3'), force=True)
        self.assertEqual(S.MIGRATING, self.svc.get().status)

    def test_failure_mid_way_leaves_the_vm_running_at_the_source(self):
        self.sim.faults.fail_migrations(error='Migration destination has an '
                                              'invalid hostname')
        self.svc.migrate(cluster=types.Cluster(name='cluster3'))
        self.settle()
        vm = self.svc.get()
        self.assertEqual(S.UP, vm.status)
        self.assertEqual(self.up.host.id, vm.host.id)
        self.assertEqual(self.up.cluster.id, vm.cluster.id)
        (failed,) = self.events(65)
        self.assertEqual(types.LogSeverity.ERROR, failed.severity)
        self.assertIn('invalid hostname', failed.description)
        self.assertEqual([], self.events(63))
        # The next one goes through.
        self.svc.migrate(cluster=types.Cluster(name='cluster3'))
        self.settle()
        self.assertEqual(self.cluster('cluster3').id, self.svc.get().cluster.id)

    def test_cancel_keeps_the_vm_at_the_source(self):
        self.svc.migrate(cluster=types.Cluster(name='cluster3'))
        self.svc.cancel_migration()
        self.settle()
        vm = self.svc.get()
        self.assertEqual(S.UP, vm.status)
        self.assertEqual(self.up.cluster.id, vm.cluster.id)
        self.assertEqual(1, len(self.events(161)))
        self.assertEqual([], self.events(63))
        err = self.assertFault(409, self.svc.cancel_migration)
        self.assertIn('non migrating VM', err.fault.detail)
