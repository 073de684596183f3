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

"""nova's in-process services with an oVirt pool and a libvirt pool.

The libvirt tier of :mod:`tests.functional.base` with one more pool: one
nova-compute (``compute_driver = ovirt.OvirtDriver``) serves

- ``engine1``, an oVirt pool on the in-process engine simulator
  (:class:`ovirt_engine_sim.fixture.EngineSimFixture`, scenario
  ``default``): its clusters ``cluster1`` and ``cluster2`` are two Nova
  nodes;
- ``kvm``, a libvirt pool of ONE real libvirtd host (node ``node1``).

So three Nova nodes. The pool talks to the simulator with the real
``ovirtsdk4`` over HTTPS; the image's bytes come from nova's Glance fixture
with real data (:class:`tests.base.DataGlanceFixture`) and reach the engine
through a real image transfer on the first boot.

Scheduling: nova's default weighers would always prefer ``cluster2`` (its
hosts have twice the memory), so a cold migration would pick the node the
server is on. The tests spread by instance count instead
(``NumInstancesWeigher``, multiplier -1), which makes the choice of node
predictable: a server moves to the node with the fewest servers.
"""


import fixtures

from nova.tests import fixtures as nova_fixtures
from nova.tests.functional import integrated_helpers

from nova_ovirt import conf as ovirt_conf
from ovirt_engine_sim.fixture import EngineSimFixture
from nova_ovirt.pools.ovirt import cache as ovirt_cache
from nova_ovirt.pools.ovirt import images as ovirt_images
from nova_ovirt.pools.ovirt import snapshot as ovirt_snapshot

from tests import base
from tests import evidence
from tests.fixtures import libvirtd
from tests.fixtures import services
from tests.functional import base as fbase

OVIRT_POOL = 'engine1'
OVIRT_TRAIT = 'CUSTOM_OVIRT_POOL_ENGINE1'
CLUSTERS = ('cluster1', 'cluster2')
KVM_NODE = fbase.NODES[0]
ALL_NODES = CLUSTERS + (KVM_NODE,)

#: Simulator state machine delays (seconds): short, not zero, so that the
#: driver's waits for locked and transitional states really run.
SIM_DELAYS = {k: 0.05 for k in (
    'vm_image_lock', 'vm_launch', 'vm_power_up', 'vm_power_down',
    'vm_save_state', 'vm_restore_state', 'vm_reboot', 'vm_migrate',
    'disk_lock', 'template_lock', 'snapshot_lock', 'transfer_init',
    'transfer_finalize')}

#: nova's Neutron fixture's network_1 and the engine's vNIC profile that
#: carries it in these tests.
TENANT_NETWORK_ID = nova_fixtures.NeutronFixture.network_1['id']
TENANT_NETWORK_PROFILE = 'physnet1'

#: Flavors that land in the oVirt pool.
E1_TINY = 'e1-tiny'
E1_SMALL = 'e1-small'
#: A zero-disk flavor: the root disk keeps the image's virtual size, so a
#: snapshot (a raw image of the whole disk) stays small. Admin only.
E1_ZERO = 'e1-zero'


class OvirtPoolFunctionalTestBase(fbase.OvirtFunctionalTestBase):
    """One nova-compute, OvirtDriver, pools ``engine1`` and ``kvm``."""

    #: Bound on a whole test, in seconds.
    TEST_TIMEOUT = 300
    #: Bound on any single wait for a server state, in seconds.
    WAIT_TIMEOUT = 60
    #: Seconds between two reads of the engine's event feed.
    EVENT_POLL_INTERVAL = 1

    def setUp(self):
        # Cleanups run in reverse: the simulator must outlive nova-compute,
        # which is set up (and so stopped) later.
        self.sim = self.useFixture(
            EngineSimFixture(scenario='default', delays=SIM_DELAYS)).sim
        # The libvirt base starts a pool of two hosts; this tier needs one.
        # Its node map (zip of NODES and hosts) then holds node1 only.
        hosts_fixture = libvirtd.LibvirtHostsFixture
        self.useFixture(fixtures.MonkeyPatch(
            'tests.fixtures.libvirtd.LibvirtHostsFixture',
            lambda count=1, **kwargs: hosts_fixture(count=1, **kwargs)))
        super().setUp()

    # -- configuration --------------------------------------------------------

    def _setup_services(self):
        # Spread by instance count (see the module's docstring); the
        # scheduler loads its weighers when it starts.
        self.flags(weight_classes=[
            'nova.scheduler.weights.num_instances.NumInstancesWeigher'],
            num_instances_weight_multiplier=-1.0, group='filter_scheduler')
        super()._setup_services()

    def _before_compute_start(self):
        """Add the oVirt pool next to the libvirt pool of the base class.

        Runs after the base configured ``[ovirt] pools = kvm`` and before
        nova-compute starts.
        """
        self.flags(event_poll_interval=self.EVENT_POLL_INTERVAL,
                   spawn_timeout=60, group=ovirt_conf.OVIRT_GROUP)
        self.configure_ovirt_pool()
        self.flags(pools=[OVIRT_POOL, fbase.POOL],
                   group=ovirt_conf.OVIRT_GROUP)
        self.before_compute_start()

    def before_compute_start(self):
        """Hook for tests that prepare the engine before nova-compute."""

    def configure_ovirt_pool(self, **overrides):
        """``[ovirt_pool:engine1]``: the simulator's own config snippet."""
        group, values = base.engine_pool_options(self.sim, OVIRT_POOL)
        self.assertEqual(', '.join(CLUSTERS), values['clusters'])
        # The tenant network of nova's Neutron fixture, mapped by its UUID
        # (the only key besides a physical network; it has none).
        values['vnic_profile_mappings'] = {
            TENANT_NETWORK_ID: TENANT_NETWORK_PROFILE}
        values.update(overrides)
        self.flags(group=group, **values)
        return group

    def _create_test_flavors(self):
        super()._create_test_flavors()
        spec = {'trait:%s' % OVIRT_TRAIT: 'required'}
        self._create_flavor(id=E1_TINY, name='e1.tiny', memory_mb=128,
                            vcpu=1, disk=1, ephemeral=0, extra_spec=spec)
        self._create_flavor(id=E1_SMALL, name='e1.small', memory_mb=256,
                            vcpu=2, disk=2, ephemeral=0, extra_spec=spec)
        self._create_flavor(id=E1_ZERO, name='e1.zero', memory_mb=128,
                            vcpu=1, disk=0, ephemeral=0, extra_spec=spec)
        self.flavors = {f['id']: f for f in
                        self.api_fixture.admin_api.get_flavors()}

    # -- servers --------------------------------------------------------------

    def _boot_ovirt(self, flavor_id=E1_TINY, name=None, networks=None,
                    api=None, expected_state='ACTIVE'):
        """Boot in the oVirt pool with a port on network_1 (oVirt plugs
        vNICs itself, no Open vSwitch needed); returns the admin view."""
        if networks is None:
            networks = [{'uuid': self.neutron.network_1['id']}]
        server = self._create_server(
            name=name, image_uuid=base.GUEST_IMAGE_ID, flavor_id=flavor_id,
            networks=networks, api=api, expected_state=expected_state)
        return self.admin_api.get_server(server['id'])

    def ports_of(self, server):
        return self.api.get_port_interfaces(server['id'])

    # -- the engine's view ----------------------------------------------------

    def _tick(self):
        # The simulator's state machine runs lazily, on requests: bring
        # its store up to date before reading it.
        with self.sim.store.lock:
            self.sim.store.tick()

    def sim_vms(self, server_id):
        """The engine's VMs that carry the server's ownership mark."""
        self._tick()
        return self.sim.store.find_vms(
            description=ovirt_cache.mark(server_id))

    def sim_vm(self, server):
        """The server's one VM in the engine (fails unless exactly one)."""
        vms = self.sim_vms(server['id'])
        self.assertEqual(1, len(vms), 'VMs of %s in the engine: %s' % (
            server['id'], [(v.id, v.name) for v in vms]))
        return vms[0]

    def cluster_name(self, cluster_id):
        return self.sim.store.clusters[cluster_id].name

    def sim_status(self, server):
        return self.sim_vm(server).status.value

    def assertVmStatus(self, server, status, timeout=15):
        base.wait_until(lambda: self.sim_status(server) == status, timeout,
                        message='VM of %s to be %s (it is %s)' % (
                            server['id'], status, self.sim_status(server)))
        return self.sim_vm(server)

    def assertVmOnNode(self, server):
        """The server's VM is in the cluster of its Nova node."""
        vm = self.sim_vm(server)
        self.assertEqual(self.node_of(server),
                         self.cluster_name(vm.cluster.id))
        return vm

    def assertVmShape(self, server, flavor_id):
        vm = self.sim_vm(server)
        flavor = self.flavors[flavor_id]
        self.assertEqual(flavor['ram'] * 1024 ** 2, vm.memory)
        topo = vm.cpu.topology
        self.assertEqual(flavor['vcpus'],
                         topo.sockets * topo.cores * topo.threads)
        return vm

    def sim_nic_macs(self, server):
        vm = self.sim_vm(server)
        return sorted(n.mac.address.lower()
                      for n in self.sim.store.vm_nics(vm.id)
                      if n.mac is not None and n.mac.address)

    def sim_disk_ids(self):
        self._tick()
        with self.sim.store.lock:
            return set(self.sim.store.disks)

    def sim_template(self, image_id=base.GUEST_IMAGE_ID):
        self._tick()
        return self.sim.store.by_name('templates',
                                      ovirt_images.template_name(image_id))

    def sim_snapshots(self, prefix=ovirt_snapshot.SNAPSHOT_MARK):
        """Snapshots the driver made (by its description prefix)."""
        self._tick()
        with self.sim.store.lock:
            return [s for s in self.sim.store.snapshots.values()
                    if (s.description or '').startswith(prefix)]

    def assertNoVm(self, server_id):
        self.assertEqual([], [(v.id, v.name) for v in
                              self.sim_vms(server_id)],
                         'VMs of %s left in the engine' % server_id)

    # -- placement ------------------------------------------------------------

    def assertUsage(self, node, flavor_id=None):
        """The node's usage is the flavor's (or zero without one); a
        cluster's disk is used on its storage domain's sharing provider
        (see tests.functional.test_placement), never on the cluster."""
        if node not in CLUSTERS:
            return super().assertUsage(node, flavor_id)
        flavor = self.flavors.get(flavor_id) if flavor_id else None
        expected = {
            'VCPU': flavor['vcpus'] if flavor else 0,
            'MEMORY_MB': flavor['ram'] if flavor else 0,
            'DISK_GB': 0,
        }
        usage = self.usage(node)
        self.assertEqual(expected, {k: usage.get(k, 0) for k in expected},
                         'placement usage of %s' % node)

    def assertNoUsage(self):
        # Three nodes, two of them clusters.
        for node in ALL_NODES:
            self.assertUsage(node)

    def _delete_ovirt(self, server):
        """Delete through the API: the VM goes, and its allocations."""
        self._delete_server(server)
        self.assertNoVm(server['id'])
        self.assertEqual({}, self._get_allocations_by_server_uuid(
            server['id']))


class OvirtServicesTestBase(integrated_helpers._IntegratedTestBase):
    """Several nova-compute services, each with a pool of one cluster of
    one simulated engine: nova's rules for moves between services hold.

    ``SERVICES``: service host -> (pool, cluster); ``SCENARIO``: the
    simulator's.
    """

    microversion = 'latest'
    ADMIN_API = True
    TEST_TIMEOUT = 300
    SERVICES = {}
    SCENARIO = 'default'

    def setUp(self):
        self.useFixture(fixtures.Timeout(self.TEST_TIMEOUT, gentle=True))
        # Which driver methods the test reaches, for the support matrix.
        self.useFixture(evidence.DriverEvidenceFixture(self.id()))
        self.sim = self.useFixture(EngineSimFixture(
            scenario=self.SCENARIO, delays=SIM_DELAYS)).sim
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.GlanceFixture', base.DataGlanceFixture))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.NeutronFixture', fbase.OvsNeutronFixture))
        super().setUp()

    def _setup_services(self):
        self.useFixture(services.GracefulShutdownFixture())
        # nova-api's default: no move to the same host. Each service gets
        # its own state_path (start_ovirt_compute).
        self.flags(compute_driver='ovirt.OvirtDriver',
                   allow_resize_to_same_host=False)
        self.flags(api_paste_config=fbase.api_paste_config(), group='wsgi')
        self.flags(event_poll_interval=1, spawn_timeout=60,
                   group=ovirt_conf.OVIRT_GROUP)
        self.glance.set_image_data(base.GUEST_IMAGE_ID, base.guest_image(),
                                   name=base.GUEST_IMAGE_NAME)
        super()._setup_services()

    def _setup_compute_service(self):
        self.computes = {host: self.start_ovirt_compute(host, *pool_cluster)
                         for host, pool_cluster in self.SERVICES.items()}

    def configure_pool(self, pool, clusters):
        group, values = base.engine_pool_options(self.sim, pool)
        values['clusters'] = ','.join(clusters)
        # The tenant network of nova's Neutron fixture, by UUID: the
        # driver needs a vNIC profile for every network.
        values['vnic_profile_mappings'] = {
            TENANT_NETWORK_ID: TENANT_NETWORK_PROFILE}
        self.flags(group=group, **values)

    def start_ovirt_compute(self, host, pool, cluster):
        """A nova-compute whose [ovirt] pools is one pool of one cluster.

        The driver reads [ovirt] pools and its state_path when it starts,
        so each service keeps its own while the next one is configured.
        """
        self.configure_pool(pool, [cluster])
        self.flags(pools=[pool], group=ovirt_conf.OVIRT_GROUP)
        self.flags(state_path=self.useFixture(fixtures.TempDir()).path)
        return self._start_compute(host)
