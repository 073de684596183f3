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

"""nova's own virt driver test case, run against OvirtDriver's oVirt pool.

The same case as :mod:, with one oVirt
pool instead: OvirtDriver talks with the real ``ovirtsdk4`` over HTTPS to
the engine simulator (:mod:`ovirt_engine_sim`), whose clusters
``cluster1`` and ``cluster2`` are the Nova nodes. The image's bytes come
from nova's Glance fixture with real data and reach the engine through a
real image transfer.

A test that ends in NotImplementedError is skipped with the method's name
(or fails, when the support matrix claims the method): see
:mod:`tests.conformance.base`.
"""


import fixtures

from nova import exception
from nova import test
from nova.tests.unit import utils as test_utils
from nova.tests.unit.virt import test_virt_drivers as nova_virt_tests

from nova_ovirt import conf as ovirt_conf
from nova_ovirt import driver as ovirt_driver
from nova_ovirt.pools.ovirt import cache as ovirt_cache
from ovirt_engine_sim.fixture import EngineSimFixture
from tests import base
from tests.conformance import base as conformance

POOL = 'engine1'
NODES = ('cluster1', 'cluster2')
#: Simulator state machine delays (seconds): short, not zero, so that the
#: driver's waits for locked and transitional states really run.
SIM_DELAYS = {k: 0.02 for k in (
    'vm_image_lock', 'vm_launch', 'vm_power_up', 'vm_power_down',
    'vm_save_state', 'vm_restore_state', 'vm_reboot', 'vm_migrate',
    'disk_lock', 'template_lock', 'snapshot_lock', 'transfer_init',
    'transfer_finalize')}
#: A vNIC profile of the simulator's default scenario.
SIM_PROFILE = 'physnet1'


@conformance.honest
class OvirtPoolConformanceTestCase(conformance.HonestDriverTestMixin,
                                   nova_virt_tests._VirtDriverTestCase,
                                   test.TestCase):
    """_VirtDriverTestCase against OvirtDriver and the engine simulator."""

    BACKEND = 'ovirt'

    def setUp(self):
        self.driver_module = 'nova.virt.ovirt.OvirtDriver'
        super().setUp()
        self.record_not_implemented()
        self.image_service.set_image_data(base.NOVA_TEST_IMAGE_ID,
                                          base.guest_image())
        self.connection.init_host(conformance.CONF_host())
        self.addCleanup(self.connection.cleanup_host, conformance.CONF_host())
        self.nodename = sorted(self.connection.get_available_nodes())[0]

    # -- the engine simulator instead of nova's fake libvirt ---------------

    def _setup_fakelibvirt(self):
        """Called by nova's setUp before the driver is made."""
        self.saved_libvirt = None
        self.sim = self.useFixture(
            EngineSimFixture(scenario='default', delays=SIM_DELAYS)).sim
        ovirt_conf.register_opts(nova_virt_tests.CONF)
        group, values = base.engine_pool_options(self.sim, POOL)
        # nova's test network, mapped by its UUID (tenant networks are
        # never mapped by name, and there is no default profile).
        values['vnic_profile_mappings'] = {
            test_utils.FAKE_NETWORK_UUID: SIM_PROFILE}
        self.flags(group=group, **values)
        self.flags(pools=[POOL], event_poll_interval=1, spawn_timeout=60,
                   group=ovirt_conf.OVIRT_GROUP)
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.GlanceFixture', base.DataGlanceFixture))

    def _teardown_fakelibvirt(self):
        pass

    def volume_disks(self, instance):
        with self.sim.store.lock:
            return [d.id for d in self.sim.store.disks.values()
                    if d.lun_storage is not None]

    # -- the engine's view ----------------------------------------------------

    def sim_vms(self, instance):
        with self.sim.store.lock:
            self.sim.store.tick()
            return self.sim.store.find_vms(
                description=ovirt_cache.mark(instance.uuid))

    # -- nova's live migration tests, adapted -------------------------------

    def test_live_migration(self):
        # nova's test passes libvirt migrate data; a VM moves live only to
        # another cluster of its engine, which the destination's pre-check
        # names. The migration itself is tested through the API in
        # tests/functional/test_ovirt_live_migration.py.
        from nova import objects

        instance, _ = self._get_running_instance()
        data = objects.LibvirtLiveMigrateData(target_connect_addr='other')
        e = self.assertRaises(
            exception.MigrationPreCheckError, self.connection.live_migration,
            self.ctxt, instance, 'otherhost', lambda *a, **k: None,
            lambda *a, **k: None, migrate_data=data)
        self.assertIn('not an oVirt cluster', str(e))
        self.assertEqual(['up'], [v.status.value
                                  for v in self.sim_vms(instance)])

    def test_live_migration_abort(self):
        # nova's test aborts while no migration runs: the driver says so.
        instance, _ = self._get_running_instance()
        self.assertRaises(exception.NoActiveMigrationForInstance,
                          self.connection.live_migration_abort, instance)

    # -- beyond nova's case ---------------------------------------------------

    def test_get_available_resource_unknown_node(self):
        self.assertRaises(exception.NovaException,
                          self.connection.get_available_resource,
                          'myhostname')

    def test_nodes_are_the_clusters_with_stable_uuids(self):
        by_uuid = self.connection.get_nodenames_by_uuid()
        self.assertEqual(sorted(NODES), sorted(by_uuid.values()))
        clusters = {c.name: c.id for c in self.sim.store.clusters.values()}
        self.assertEqual({clusters[n]: n for n in NODES}, by_uuid)
        again = ovirt_driver.OvirtDriver(nova_virt_tests.fake.FakeVirtAPI())
        self.assertEqual(by_uuid, again.get_nodenames_by_uuid())

    def test_spawn_vm_is_up_in_its_cluster(self):
        instance, _ = self._get_running_instance()
        vms = self.sim_vms(instance)
        self.assertEqual(1, len(vms), 'VMs of %s: %s' % (
            instance.uuid, [v.name for v in vms]))
        self.assertEqual('up', vms[0].status.value)
        self.assertEqual(self.nodename,
                         self.sim.store.clusters[vms[0].cluster.id].name)
        info = self.connection.get_info(instance)
        self.assertEqual(1, info.state)  # nova.compute.power_state.RUNNING
