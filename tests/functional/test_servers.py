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

"""Server operations through nova's REST API on real libvirt hosts.

Every test checks three views: the API's, libvirt's (the domain whose UUID
is the server id, on the host of the server's node) and placement's (usage
of the node's resource provider, back to zero after a delete). Tests share
their servers across several operations to keep the tier fast.
"""

import os
import tempfile
from xml.etree import ElementTree as etree

import libvirt
from nova.tests.functional.api import client as api_client
import nova.virt.node

from tests import base
from tests.fixtures import guest_image
from tests.functional import base as fbase


class ServerLifecycleTest(fbase.OvirtFunctionalTestBase):

    def test_boot_spreads_consoles_and_delete(self):
        first = self._boot(name='first')
        second = self._boot(name='second')
        # Two empty nodes, nova's default weighers spread.
        self.assertEqual(set(fbase.NODES),
                         {self.node_of(first), self.node_of(second)})
        for server in (first, second):
            self.assertDomain(server, 'running')
            self.assertUsage(self.node_of(server), 'ovirt-tiny')
            self.assertEqual(fbase.COMPUTE_HOST,
                             server['OS-EXT-SRV-ATTR:host'])

        # The guest really booted: its serial console, through the API.
        self.assertGuestBooted(first)

        # A VNC console URL through the API.
        console = self.api.api_post(
            '/servers/%s/remote-consoles' % first['id'],
            {'remote_console': {'protocol': 'vnc', 'type': 'novnc'}}
        ).body['remote_console']
        self.assertEqual('vnc', console['protocol'])
        self.assertIn('token', console['url'])
        self.assertIn("<graphics type='vnc'", self.domain(first).xml())

        for server in (first, second):
            self._delete_and_check(server)
        self.assertNoUsage()

    def test_power_operations(self):
        server = self._boot()
        self.assertDomain(server, 'running')
        self.assertGuestBooted(server)

        server = self._stop_server(server)
        self.assertDomain(server, 'shutoff')
        self.assertEqual(4, server['OS-EXT-STS:power_state'])  # SHUTDOWN
        mark = self.console_mark(server)
        server = self._start_server(server)
        self.assertDomain(server, 'running')
        self.wait_for_boot(server, mark)

        for count, hard in ((1, False), (2, True)):
            mark = self.console_mark(server)
            self.api.post_server_action(
                server['id'],
                {'reboot': {'type': 'HARD' if hard else 'SOFT'}})
            self._wait_for_notification('instance.reboot.end', count)
            server = self._wait_for_state_change(server, 'ACTIVE')
            self.assertDomain(server, 'running')
            # Rebooted for real: the guest came up once more.
            self.wait_for_boot(server, mark)

        self.api.post_server_action(server['id'], {'pause': None})
        server = self._wait_for_state_change(server, 'PAUSED')
        self.assertDomain(server, 'paused')
        self.assertEqual(3, server['OS-EXT-STS:power_state'])  # PAUSED
        self.api.post_server_action(server['id'], {'unpause': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertDomain(server, 'running')

        server = self._suspend_server(server)
        # As nova's libvirt driver: a managed save, the guest's memory on
        # disk and the domain shut off.
        view = self.domain(server)
        self.assertEqual('shutoff', view.state)
        self.assertTrue(view.has_managed_save)
        # nova's libvirt mapping: a shut off domain is SHUTDOWN, whatever
        # the reason (here "saved"); vm_state says suspended.
        self.assertEqual(4, server['OS-EXT-STS:power_state'])
        server = self._resume_server(server)
        self.assertDomain(server, 'running')
        self.assertFalse(self.domain(server).has_managed_save)
        self.assertUsage(self.node_of(server), 'ovirt-tiny')

        self._delete_and_check(server)
        self.assertNoUsage()

    def test_rescue_unrescue(self):
        server = self._boot()
        disks = self.disk_paths(server)
        server = self._rescue_server(server)
        self.assertDomain(server, 'running')
        # The rescue disk boots, the server's own disks stay attached; the
        # rescue password comes on a config drive of the rescue's own.
        rescue_disks = self.disk_paths(server)
        self.assertEqual(len(disks) + 2, len(rescue_disks))
        self.assertTrue(set(disks) <= set(rescue_disks))
        self.assertGuestBooted(server)
        server = self._unrescue_server(server)
        self.assertDomain(server, 'running')
        self.assertEqual(disks, self.disk_paths(server))
        self.assertGuestBooted(server)

        self._delete_and_check(server)
        self.assertNoUsage()

    def _interface_elements(self, server, flags=0):
        xml = self.domain(server).xml(flags)
        return etree.fromstring(xml).findall('./devices/interface')

    def _interfaces(self, server, flags=0):
        return [i.find('mac').get('address')
                for i in self._interface_elements(server, flags)]

    def test_attach_detach_interface_running(self):
        # Hot-plug into the running guest: an ovs port that libvirt plugs
        # with ovs-vsctl (Open vSwitch is a test prerequisite, bindep.txt).
        server = self._boot()
        self.assertDomain(server, 'running')
        before = self._interfaces(server)
        attachment = self.api.attach_interface(
            server['id'],
            {'interfaceAttachment': {
                'net_id': self.neutron.network_1['id']}}
        ).body['interfaceAttachment']
        port_id = attachment['port_id']
        mac = attachment['mac_addr']
        # In the live domain and in its persistent definition.
        for flags in (0, libvirt.VIR_DOMAIN_XML_INACTIVE):
            self.assertIn(mac, self._interfaces(server, flags))
        self.assertEqual(len(before) + 1, len(self._interfaces(server)))
        # What nova 34 hands over is an ovs port on the integration
        # bridge its binding names; libvirt plugs it with the port id.
        element = [i for i in self._interface_elements(server)
                   if i.find('mac').get('address') == mac][0]
        self.assertEqual(fbase.OvsNeutronFixture.bridge,
                         element.find('source').get('bridge'))
        virtualport = element.find('virtualport')
        self.assertEqual('openvswitch', virtualport.get('type'))
        self.assertEqual(port_id,
                         virtualport.find('parameters').get('interfaceid'))

        self.api.detach_interface(server['id'], port_id)
        base.wait_until(lambda: mac not in self._interfaces(server), 30,
                        message='interface %s to go' % mac)
        self.assertNotIn(
            mac, self._interfaces(server, libvirt.VIR_DOMAIN_XML_INACTIVE))
        self.assertEqual(
            [], [a for a in self.api.get_port_interfaces(server['id'])
                 if a['port_id'] == port_id])
        self._delete_and_check(server)


class ServerMoveAndImageTest(fbase.OvirtFunctionalTestBase):
    """Resize, cold migration, snapshot and rebuild (a class of its own so
    that stestr runs it beside ServerLifecycleTest)."""

    def test_resize_confirm_and_revert(self):
        server = self._boot()
        self.assertGuestBooted(server)

        server = self._resize_server(server, 'ovirt-small')
        self.assertEqual('ovirt.small', server['flavor']['original_name'])
        server = self._confirm_resize(server)
        self.assertDomain(server, 'running')
        self.assertIn("<memory unit='KiB'>%d</memory>" % (192 * 1024),
                      self.domain(server).xml())
        node = self.node_of(server)
        self.assertUsage(node, 'ovirt-small')
        self.assertUsage([n for n in fbase.NODES if n != node][0])
        self.wait_for_boot(server)

        server = self._resize_server(server, 'ovirt-medium')
        self.assertEqual('ovirt.medium', server['flavor']['original_name'])
        server = self._revert_resize(server)
        self.assertEqual('ovirt.small', server['flavor']['original_name'])
        self.assertEqual(node, self.node_of(server))
        self.assertDomain(server, 'running')
        self.assertIn("<memory unit='KiB'>%d</memory>" % (192 * 1024),
                      self.domain(server).xml())
        self.assertUsage(node, 'ovirt-small')
        self.assertUsage([n for n in fbase.NODES if n != node][0])
        self.wait_for_boot(server)

        self._delete_and_check(server)
        self.assertNoUsage()

    def test_cold_migrate(self):
        server = self._boot()
        source = self.node_of(server)
        self.assertDomain(server, 'running')
        self.assertGuestBooted(server)

        # Cold migration is an admin action by nova's default policy.
        self.admin_api.post_server_action(server['id'], {'migrate': None})
        server = self._wait_for_state_change(server, 'VERIFY_RESIZE')
        dest = self.node_of(server)
        self.assertNotEqual(source, dest)
        self.assertEqual(fbase.COMPUTE_HOST, server['OS-EXT-SRV-ATTR:host'])
        server = self._confirm_resize(server)
        # Moved: on the destination's host only, running.
        self.assertDomain(server, 'running')
        self.assertUsage(dest, 'ovirt-tiny')
        self.assertUsage(source)
        self.assertGuestBooted(server)

        self._delete_and_check(server)
        self.assertNoUsage()

    def test_snapshot_and_rebuild(self):
        server = self._boot()
        self.assertGuestBooted(server)

        image_id = self.api.post_server_action(
            server['id'], {'createImage': {'name': 'snap-1'}})['image_id']
        self._wait_for_notification('instance.snapshot.end', 1)
        server = self._wait_for_state_change(server, 'ACTIVE')
        image = self.glance.show(None, image_id)
        self.assertEqual('active', image['status'])
        data = self.glance.image_data(image_id)
        self.assertTrue(data, 'the snapshot has no data')
        self.assertEqual(len(data), image['size'])
        # The label says what the bytes are, as qemu-img reads them.
        with tempfile.NamedTemporaryFile() as snap:
            snap.write(data)
            snap.flush()
            self.assertEqual(image['disk_format'],
                             guest_image.image_info(snap.name)['format'])
        self.assertEqual('qcow2', image['disk_format'])

        # Rebuild from the snapshot: its bytes boot.
        server = self._rebuild_server(server, image_id)
        self.assertEqual(image_id, server['image']['id'])
        self.assertDomain(server, 'running')
        self.assertGuestBooted(server)

        self._delete_and_check(server)
        self.assertNoUsage()


class PoolPlacementTest(fbase.OvirtFunctionalTestBase):

    def test_nodes_report_pool_trait_and_flavor_lands_in_pool(self):
        node_uuids = self.node_uuids()
        self.assertEqual(set(fbase.NODES), set(node_uuids))
        for node, rp_uuid in node_uuids.items():
            traits = self._get_provider_traits(rp_uuid)
            self.assertIn(fbase.POOL_TRAIT, traits, node)
            self.assertIn('COMPUTE_SAME_HOST_COLD_MIGRATE', traits, node)

        server = self._boot(flavor_id='ovirt-pool-kvm')
        self.assertIn(self.node_of(server), fbase.NODES)
        self.assertDomain(server, 'running')
        self.assertUsage(self.node_of(server), 'ovirt-pool-kvm')

        # A flavor that asks for a pool nobody serves finds no host.
        self._create_flavor(
            id='ovirt-pool-none', name='ovirt.pool.none', memory_mb=128,
            vcpu=1, disk=1, ephemeral=0,
            extra_spec={'trait:CUSTOM_OVIRT_POOL_NONE': 'required'})
        other = self._create_server(
            image_uuid=base.GUEST_IMAGE_ID, flavor_id='ovirt-pool-none',
            networks='none', expected_state='ERROR')
        self.assertIn('No valid host', other['fault']['message'])
        self.assertNoDomain(other['id'])
        self.api.delete_server(other['id'])
        self._wait_until_deleted(other)

        self._delete_and_check(server)
        self.assertNoUsage()


class ComputeRestartTest(fbase.OvirtFunctionalTestBase):

    def test_restart_keeps_identity_nodes_and_servers(self):
        server = self._boot()
        self.assertDomain(server, 'running')
        self.assertGuestBooted(server)
        uuids_before = self.node_uuids()
        compute_id = os.path.join(self.state_path, 'compute_id')
        self.assertTrue(os.path.exists(compute_id),
                        'nova-compute wrote no identity file')
        with open(compute_id) as f:
            identity = f.read().strip()

        # A new process would read the identity from the file.
        nova.virt.node.LOCAL_NODE_UUID = None
        self.compute = self.restart_compute_service(
            self.compute, keep_hypervisor_state=False)
        self.computes[fbase.COMPUTE_HOST] = self.compute

        service = self.admin_api.get_services(
            binary='nova-compute', host=fbase.COMPUTE_HOST)[0]
        self.assertEqual('up', service['state'])
        self.assertEqual('enabled', service['status'])
        with open(compute_id) as f:
            self.assertEqual(identity, f.read().strip())
        self.assertEqual(uuids_before, self.node_uuids())
        self.assertEqual(
            sorted(uuids_before.values()),
            sorted(self.compute.manager.driver.get_nodenames_by_uuid()))

        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertDomain(server, 'running')
        # The new driver instance drives the server it did not create.
        server = self._stop_server(server)
        self.assertDomain(server, 'shutoff')
        self._delete_and_check(server)
        self.assertNoUsage()

    def test_guests_resume_after_host_reboot(self):
        # A host that rebooted under a stopped nova-compute: its guests are
        # off, nova still has them ACTIVE. With
        # resume_guests_state_on_host_boot nova-compute starts them again
        # when it starts (resume_state_on_host_boot).
        server = self._boot()
        self.assertDomain(server, 'running')
        self.compute.stop()
        host = self.host_of_node[self.node_of(server)]
        conn = host.conn()
        try:
            conn.lookupByUUIDString(server['id']).destroy()
        finally:
            conn.close()
        self.assertEqual('shutoff', self.domain(server).state)

        self.flags(resume_guests_state_on_host_boot=True)
        self.compute = self.start_stopped_compute()
        self.assertDomain(server, 'running', timeout=60)
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual(1, server['OS-EXT-STS:power_state'])  # RUNNING
        self._delete_and_check(server)
        self.assertNoUsage()


FOREIGN_DOMAIN_XML = '''\
<domain type='%(type)s'>
  <name>operator-own-vm</name>
  <uuid>%(uuid)s</uuid>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><graphics type='vnc' autoport='yes' listen='127.0.0.1'/></devices>
</domain>
'''
FOREIGN_UUID = 'f0e1d2c3-b4a5-4968-8776-655443322110'


class FirstStartTest(fbase.OvirtFunctionalTestBase):
    """A domain nova did not create does not stop nova-compute."""

    def _before_compute_start(self):
        conn = self.hosts.hosts[0].conn()
        try:
            dom = conn.defineXML(FOREIGN_DOMAIN_XML % {
                'type': self.hosts.domain_type, 'uuid': FOREIGN_UUID})
            dom.create()
        finally:
            conn.close()

    def test_foreign_domain_is_ignored(self):
        service = self.admin_api.get_services(
            binary='nova-compute', host=fbase.COMPUTE_HOST)[0]
        self.assertEqual('up', service['state'])
        driver = self.compute.manager.driver
        self.assertNotIn(FOREIGN_UUID, driver.list_instance_uuids())
        self.assertNotIn('operator-own-vm', driver.list_instances())
        self.assertEqual(
            [], self.admin_api.get_servers(search_opts={'all_tenants': 1}))

        # A resource update of every node leaves it alone too.
        self._run_periodics()
        foreign = base.DomainView(self.hosts.hosts[0], FOREIGN_UUID)
        self.assertEqual('running', foreign.state)

        # nova's own server next to it: the foreign one is still unseen.
        server = self._boot()
        self.assertEqual(
            [server['id']],
            [s['id'] for s in self.admin_api.get_servers(
                search_opts={'all_tenants': 1})])
        self.assertEqual([server['id']], driver.list_instance_uuids())
        self._delete_and_check(server)
        self.assertEqual('running', foreign.state)
        self.assertRaises(api_client.OpenStackApiNotFoundException,
                          self.admin_api.get_server, FOREIGN_UUID)
