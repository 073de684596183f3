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

"""nova's in-process services with OvirtDriver and real libvirtd hosts.

Real nova API (through wsgi-intercept), conductor, scheduler, placement and
one nova-compute whose driver is ``compute_driver = ovirt.OvirtDriver``
with one libvirt pool ``kvm`` of two nodes, each a real libvirtd of
:mod:`tests.fixtures.libvirtd` running real qemu guests booted from the
tiny test image. Glance and Neutron are nova's fixtures; Glance's images
carry real bytes (:class:`tests.base.DataGlanceFixture`).

Networking: nova 34 refuses ``binding:vif_type=bridge`` ports
(nova/network/neutron.py, ``_nw_info_build_network``: "Linux bridge VIFs
are no longer supported by Nova"), so the ports of these tests are what a
nova 34 cloud has, ``ovs`` ports on the test hosts' bridge. libvirt plugs
those with ``ovs-vsctl``: Open vSwitch is a prerequisite of this tier
(bindep.txt, installed by CI). The tests start it if needed and plug the
ports into its bridge :data:`tests.fixtures.libvirtd.OVS_BRIDGE_NAME`
(userspace datapath where the kernel module is missing); without it every
test fails with :data:`NO_OVS_REASON` rather than testing less.
"""

import os
import random
import sys
import time
from xml.etree import ElementTree as etree

import fixtures
import libvirt  # noqa: F401  (the real binding, before nova's poison)
from oslo_utils import uuidutils

import nova.conf
from nova.tests import fixtures as nova_fixtures
from nova.tests.functional import integrated_helpers
import nova.virt.node

from tests import base
from tests import evidence
from tests.fixtures import libvirtd
from tests.fixtures import services

CONF = nova.conf.CONF

COMPUTE_HOST = 'ovirt-compute'
POOL = 'kvm'
NODES = ('node1', 'node2')
POOL_TRAIT = 'CUSTOM_OVIRT_POOL_KVM'

#: Open vSwitch on this machine, with the tests' bridge (started here if
#: installed, see :func:`tests.fixtures.libvirtd.ensure_ovs_bridge`): a
#: prerequisite, checked by every test's setUp.
HAVE_OVS = libvirtd.ensure_ovs_bridge(libvirtd.OVS_BRIDGE_NAME)
NO_OVS_REASON = (
    'Open vSwitch is not installed or does not run on the test hosts '
    '(install the bindep.txt packages): nova '
    '34 only hands ovs ports to drivers (Linux bridge VIFs were removed), '
    'and libvirt plugs a running guest\'s ovs port with ovs-vsctl')


def api_paste_config():
    """nova's own api-paste.ini, as installed with nova (wheel: under
    sys.prefix; editable: beside the source tree)."""
    import nova as nova_pkg

    candidates = [
        os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini'),
        os.path.join(os.path.dirname(os.path.dirname(nova_pkg.__file__)),
                     'etc', 'nova', 'api-paste.ini'),
    ]
    for path in candidates:
        if os.path.exists(path):
            return path
    raise RuntimeError('no api-paste.ini in %s' % candidates)


class OvsNeutronFixture(nova_fixtures.NeutronFixture):
    """nova's NeutronFixture with ports bound as ovs on the test bridge."""

    bridge = libvirtd.OVS_BRIDGE_NAME

    def __init__(self, test):
        super().__init__(test)
        details = {'bridge_name': self.bridge, 'port_filter': False}
        # The first port a test creates is nova's fixed default_port; its
        # id names the guest's tap (tap<id[:11]>) in the network namespace
        # that all test processes share: make it unique per test.
        self.default_port = dict(
            self.default_port, id=uuidutils.generate_uuid(),
            mac_address='fa:16:3e:%02x:%02x:%02x' % tuple(
                random.randint(0, 255) for _ in range(3)))
        for port in [self.default_port] + list(self._ports.values()):
            port['binding:vif_type'] = 'ovs'
            port['binding:vif_details'] = dict(details)


class OvirtFunctionalTestBase(integrated_helpers._IntegratedTestBase):
    """One nova-compute, OvirtDriver, a libvirt pool of two real hosts."""

    microversion = 'latest'
    ADMIN_API = False
    # The real identity file in state_path: the restart test checks it.
    STUB_COMPUTE_ID = False

    #: Bound on any single wait for a server state, in seconds.
    WAIT_TIMEOUT = 120
    #: Bound on a whole test, in seconds.
    TEST_TIMEOUT = 600

    def setUp(self):
        self.useFixture(fixtures.Timeout(self.TEST_TIMEOUT, gentle=True))
        self.assertTrue(HAVE_OVS, NO_OVS_REASON)
        # Which driver methods the test reaches, for the support matrix.
        self.useFixture(evidence.DriverEvidenceFixture(self.id()))
        # The hosts' cleanup must run after nova-compute stopped: set them
        # up before nova's fixtures.
        self.hosts = self.useFixture(libvirtd.LibvirtHostsFixture(count=2))
        self.host_of_node = dict(zip(NODES, self.hosts.hosts))
        self.state_path = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.GlanceFixture', base.DataGlanceFixture))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.NeutronFixture', OvsNeutronFixture))
        # A fresh node identity, read from (and written to) state_path.
        nova.virt.node.LOCAL_NODE_UUID = None
        self.addCleanup(setattr, nova.virt.node, 'LOCAL_NODE_UUID', None)
        super().setUp()

    def _setup_services(self):
        # Runs at the end of _IntegratedTestBase.setUp, after nova's
        # configuration fixture: the place for our configuration.
        self.useFixture(services.GracefulShutdownFixture())
        self.flags(state_path=self.state_path,
                   compute_driver='ovirt.OvirtDriver',
                   allow_resize_to_same_host=True)
        self.flags(api_paste_config=api_paste_config(), group='wsgi')
        # Bounded clean shutdowns: the test guest powers off at once on
        # the ACPI button once it is up (tests wait for that), nova asks
        # again every retry interval, and a lost press costs seconds, not
        # nova's default minute (which would also outlast the RPC timeout
        # of the cast-as-call fixture).
        self.flags(shutdown_timeout=30)
        self.flags(shutdown_retry_interval=2, group='compute')
        self.flags(wait_soft_reboot_seconds=30, group='libvirt')
        base.configure_libvirt_pool(
            self, POOL, list(zip(NODES, self.hosts.uris)),
            self.hosts.domain_type)
        self.glance.set_image_data(base.GUEST_IMAGE_ID, base.guest_image(),
                                   name=base.GUEST_IMAGE_NAME)
        super()._setup_services()
        self._create_test_flavors()

    def _setup_compute_service(self):
        self._before_compute_start()
        return self._start_compute(COMPUTE_HOST)

    def _before_compute_start(self):
        """Hook for tests that prepare the hosts before nova-compute."""

    def start_stopped_compute(self):
        """Start nova-compute again after ``self.compute.stop()``, as a new
        process would (new driver, identity read from state_path)."""
        cell = self.host_mappings[COMPUTE_HOST].cell_mapping.name
        nova.virt.node.LOCAL_NODE_UUID = None
        compute = self.start_service('compute', host=COMPUTE_HOST,
                                     cell_name=cell)
        self.computes[COMPUTE_HOST] = compute
        return compute

    def _create_test_flavors(self):
        admin = self.api_fixture.admin_api
        self.flavor_tiny = self._create_flavor(
            id='ovirt-tiny', name='ovirt.tiny', memory_mb=128, vcpu=1,
            disk=1, ephemeral=0)
        self.flavor_small = self._create_flavor(
            id='ovirt-small', name='ovirt.small', memory_mb=192, vcpu=1,
            disk=2, ephemeral=0)
        self.flavor_medium = self._create_flavor(
            id='ovirt-medium', name='ovirt.medium', memory_mb=256, vcpu=1,
            disk=2, ephemeral=0)
        self.flavor_in_pool = self._create_flavor(
            id='ovirt-pool-kvm', name='ovirt.pool.kvm', memory_mb=128,
            vcpu=1, disk=1, ephemeral=0,
            extra_spec={'trait:%s' % POOL_TRAIT: 'required'})
        self.flavors = {f['id']: f for f in admin.get_flavors()}

    # -- waiting, bounded ----------------------------------------------------

    def _wait_for_server_parameter(self, server, expected_params,
                                   max_retries=10, api=None,
                                   wait_for_fault_key=True):
        """nova's helper with a time bound fit for real guests.

        Fails at once when the server goes to ERROR while waiting for
        something else, with the server's fault in the message.
        """
        api = api or self.admin_api
        wait_fault = (wait_for_fault_key and
                      expected_params.get('status') == 'ERROR')
        deadline = time.monotonic() + max(self.WAIT_TIMEOUT,
                                          max_retries * 0.5)
        while True:
            server = api.get_server(server['id'])
            if all(server.get(k) == v for k, v in expected_params.items()):
                if not wait_fault or 'fault' in server:
                    return server
            if (server.get('status') == 'ERROR' and
                    expected_params.get('status') != 'ERROR'):
                self.fail('server %s went to ERROR while waiting for %s; '
                          'fault: %s' % (server['id'], expected_params,
                                         server.get('fault')))
            if time.monotonic() >= deadline:
                self.fail('timed out after %ss waiting for server %s to '
                          'have %s; it has status=%s task_state=%s' % (
                              self.WAIT_TIMEOUT, server['id'],
                              expected_params, server.get('status'),
                              server.get('OS-EXT-STS:task_state')))
            time.sleep(0.25)

    def _wait_until_deleted(self, server):
        deadline = time.monotonic() + self.WAIT_TIMEOUT
        while time.monotonic() < deadline:
            try:
                found = self.admin_api.get_server(server['id'])
            except integrated_helpers.api_client.OpenStackApiNotFoundException:
                return
            if found['status'] == 'ERROR':
                self.fail('server %s went to ERROR while deleting: %s' % (
                    server['id'], found.get('fault')))
            time.sleep(0.25)
        self.fail('server %s not deleted within %ss' % (server['id'],
                                                        self.WAIT_TIMEOUT))

    def _wait_for_notification(self, event_type, count):
        """Wait for the `count`-th versioned notification of a type."""
        self.notifier.wait_for_versioned_notifications(
            event_type, n_events=count, timeout=self.WAIT_TIMEOUT)

    # -- servers --------------------------------------------------------------

    def _boot(self, flavor_id='ovirt-tiny', name=None, networks=None,
              image_uuid=base.GUEST_IMAGE_ID):
        with_nic = networks is None
        if networks is None:
            networks = [{'uuid': self.neutron.network_1['id']}]
        server = self._create_server(
            name=name, image_uuid=image_uuid, flavor_id=flavor_id,
            networks=networks)
        # The admin view has the node.
        server = self.admin_api.get_server(server['id'])
        if with_nic and image_uuid == base.GUEST_IMAGE_ID:
            # Interfaces of a running guest may be hot-unplugged: qemu asks
            # the guest OS (ACPI), and a request made before the guest is
            # up is lost, so that the NIC never goes.
            self.wait_for_boot(server)
        return server

    @staticmethod
    def node_of(server):
        return server['OS-EXT-SRV-ATTR:hypervisor_hostname']

    def _refresh(self, server):
        return self.admin_api.get_server(server['id'])

    # -- libvirt's view -------------------------------------------------------

    def domain(self, server):
        """The DomainView of the server on the host of its node."""
        return base.DomainView(self.host_of_node[self.node_of(server)],
                               server['id'])

    def assertDomain(self, server, state, timeout=15):
        """The server's domain is on its node's host only, in `state`."""
        server = self._refresh(server)
        node = self.node_of(server)
        found = base.find_domain(self.hosts.hosts, server['id'])
        self.assertEqual([self.host_of_node[node]], found,
                         'domain %s should be on the host of %s only' % (
                             server['id'], node))
        view = self.domain(server)
        base.wait_until(lambda: view.state == state, timeout,
                        message='domain %s to be %s (it is %s)' % (
                            server['id'], state, view.state))
        return view

    def assertNoDomain(self, server_id):
        found = base.find_domain(self.hosts.hosts, server_id)
        self.assertEqual([], [h.name for h in found],
                         'domain %s still defined' % server_id)

    def disk_paths(self, server):
        """Files of the server's disks, from its domain's definition."""
        xml = self.domain(server).xml(libvirt.VIR_DOMAIN_XML_INACTIVE)
        self.assertIsNotNone(xml, 'no domain for %s' % server['id'])
        paths = []
        for disk in etree.fromstring(xml).findall('./devices/disk'):
            source = disk.find('source')
            if source is None:
                continue
            path = source.get('file') or source.get('dev')
            if path is None and source.get('volume'):
                path = self._volume_path(server, source.get('pool'),
                                         source.get('volume'))
            if path:
                paths.append(path)
        return paths

    def _volume_path(self, server, pool, volume):
        conn = self.host_of_node[self.node_of(server)].conn()
        try:
            return conn.storagePoolLookupByName(pool).storageVolLookupByName(
                volume).path()
        finally:
            conn.close()

    def console_log(self, server):
        return self.api.post_server_action(
            server['id'], {'os-getConsoleOutput': {}})['output']

    def console_mark(self, server):
        """Where the guest is now, to wait for its next boot with."""
        return (self.domain(server).domain_id,
                self.console_log(server) or '')

    def _booted_since(self, server, mark):
        line = base.guest_ok_line()
        # The id first: a console read after it belongs to that run.
        domain_id = self.domain(server).domain_id
        now = self.console_log(server) or ''
        if mark is None:
            return line in now
        old_id, old_text = mark
        if domain_id != old_id:
            # Started again, and the log starts afresh with every start of
            # the domain (append off, as nova's libvirt driver does).
            return line in now
        return now.startswith(old_text) and line in now[len(old_text):]

    def wait_for_boot(self, server, mark=None, timeout=90):
        """Wait until the guest came up (after `mark`, see console_mark).

        A guest that is up reacts to the ACPI button at once, which keeps
        clean shutdowns and soft reboots short.
        """
        return base.wait_until(
            lambda: self._booted_since(server, mark), timeout, interval=0.5,
            message='%r on the console of %s%s' % (
                base.guest_ok_line(), server['id'],
                '' if mark is None else ' after the mark'))

    def assertGuestBooted(self, server, timeout=90):
        """The guest's serial console shows the test image's OK line."""
        self.wait_for_boot(server, None, timeout)

    # -- placement ------------------------------------------------------------

    def node_uuids(self):
        """{node name: resource provider uuid} as the API reports them."""
        hypervisors = self.admin_api.api_get(
            '/os-hypervisors/detail').body['hypervisors']
        return {h['hypervisor_hostname']: h['id'] for h in hypervisors}

    def usage(self, node):
        return self._get_provider_usages(self.node_uuids()[node])

    def assertUsage(self, node, flavor_id=None):
        """The node's usage is the flavor's (or zero without one)."""
        flavor = self.flavors.get(flavor_id) if flavor_id else None
        expected = {
            'VCPU': flavor['vcpus'] if flavor else 0,
            'MEMORY_MB': flavor['ram'] if flavor else 0,
            'DISK_GB': flavor['disk'] if flavor else 0,
        }
        usage = self.usage(node)
        self.assertEqual(expected, {k: usage.get(k, 0) for k in expected},
                         'placement usage of %s' % node)

    def assertNoUsage(self):
        for node in NODES:
            self.assertUsage(node)

    def _delete_and_check(self, server):
        """Delete through the API; the host keeps no domain and no disk."""
        server = self._refresh(server)
        paths = self.disk_paths(server)
        self.assertTrue(paths, 'domain of %s has no disk' % server['id'])
        self._delete_server(server)
        self.assertNoDomain(server['id'])
        # Only the top of each disk's chain is the guest's own (the
        # image's base volume is shared and stays cached): all must go.
        left = [p for p in paths if os.path.exists(p)]
        self.assertEqual([], left, 'disks of %s left behind' % server['id'])
        for host in self.hosts.hosts:
            self.assertEqual(
                [], [v for v in host.volume_names() if server['id'] in v],
                'volumes of %s left on %s' % (server['id'], host.name))
        self.assertEqual({}, self._get_allocations_by_server_uuid(
            server['id']))
