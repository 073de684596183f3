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

"""Adopting running oVirt VMs through nova-ovirt-manage's logic.

The command's Nova/Neutron side is one small interface
(:class:`nova_ovirt.cmd.adopt.OpenStackCloud`). The main test runs the
command's own openstacksdk calls for Nova against nova's API served on
loopback (:class:`SdkComputeCloud`); Neutron and Glance come from nova's
fixtures, as there are no real ones here. The other tests use
:class:`FixtureCloud`, the same REST calls through nova's functional test
client. Everything else is the command's own code: its engine side talks
to the simulator with ovirtsdk4, and the boot goes through nova's API,
scheduler, placement and compute manager to the driver's spawn.
"""

import io
import json
import os
import shutil
import subprocess
from xml.etree import ElementTree as etree

import fixtures
import libvirt
import testtools.content
from nova.tests.fixtures import neutron as neutron_fixture
from nova.tests.functional.api import client as api_client
from nova import context as nova_context
from oslo_utils import uuidutils
from ovirtsdk4 import types

from nova_ovirt import adoption
from nova_ovirt.cmd import adopt as manage
from nova_ovirt import conf as ovirt_conf
from nova_ovirt.pools.libvirt import config as libvirt_config
from nova_ovirt.pools.ovirt import cache as ovirt_cache
from nova_ovirt.pools.ovirt import vmops as ovirt_vmops
from ovirt_engine_sim import luns

from tests import base
from tests.fixtures import api_server
from tests.fixtures import guest_image
from tests.fixtures import iscsi_target
from tests.fixtures import libvirtd
from tests.functional import base as fbase
from tests.functional import ovirt_base as obase
from tests.functional import test_ovirt_volumes as ovol

MiB = 1024 ** 2
GiB = 1024 ** 3
NETWORK_1 = neutron_fixture.NeutronFixture.network_1['id']
#: Requests that change a VM's power state.
POWER_ACTIONS = r'/vms/%s/(start|stop|shutdown|reboot|suspend)'
#: The SAN LUN of the Cinder volume attached to an adopted VM.
ADOPTED_LUN_WWID = '36001405%024x' % 1


class FixtureCloud(object):
    """manage.OpenStackCloud's interface over nova's functional fixtures."""

    def __init__(self, test):
        self.test = test
        self.admin = test.admin_api
        self.neutron = test.neutron
        self.glance = test.glance

    def server_names(self):
        return {s['name'] for s in self.admin.get_servers(detail=False)}

    def flavor_for(self, vcpus, memory_mb):
        for flavor in self.admin.get_flavors():
            if (flavor['vcpus'], flavor['ram'], flavor['disk']) == (
                    vcpus, memory_mb, 0):
                return flavor['id']
        flavor = self.admin.post_flavor({'flavor': {
            'name': 'adopted.%dc%dm' % (vcpus, memory_mb), 'vcpus': vcpus,
            'ram': memory_mb, 'disk': 0,
            'os-flavor-access:is_public': False}})
        self.admin.api_post('/flavors/%s/action' % flavor['id'], {
            'addTenantAccess': {'tenant': self.admin.project_id}})
        return flavor['id']

    def placeholder_image(self):
        for image in self.glance.images.values():
            if image.get('name') == manage.PLACEHOLDER_IMAGE:
                return image['id']
        image = self.glance.create(
            nova_context.get_admin_context(),
            {'name': manage.PLACEHOLDER_IMAGE, 'status': 'active',
             'disk_format': 'raw', 'container_format': 'bare',
             'size': 512, 'visibility': 'public'})
        return image['id']

    def networks_for_key(self, key):
        nets = self.neutron.list_networks()['networks']
        return sorted(n['id'] for n in nets if key in (
            n['id'], n.get('name'), n.get('provider:physical_network')))

    def create_port(self, network_id, mac, name):
        port = self.neutron.create_port({'port': {}})['port']
        # nova's fixture ignores a requested MAC on create; Neutron does
        # not: set it as Neutron would have.
        self.neutron.update_port(port['id'], {'port': {
            'mac_address': mac, 'network_id': network_id, 'name': name}})
        return port['id']

    def delete_port(self, port_id):
        if port_id in self.neutron._ports:
            self.neutron.delete_port(port_id)

    def server_ports(self, server_id):
        return [p['id'] for p in
                self.neutron.list_ports(
                    True, device_id=server_id)['ports']]

    def create_server(self, body):
        return self.admin.post_server({'server': body})['id']

    def get_server(self, server_id):
        try:
            server = self.admin.get_server(server_id)
        except api_client.OpenStackApiNotFoundException:
            return None
        if server['status'] == 'DELETED':
            return None
        return {'status': server['status'], 'fault': server.get('fault'),
                'metadata': server.get('metadata') or {},
                'node': server['OS-EXT-SRV-ATTR:hypervisor_hostname']}

    def delete_server(self, server_id):
        try:
            self.admin.delete_server(server_id)
        except api_client.OpenStackApiNotFoundException:
            pass

    def delete_server_metadata(self, server_id, keys):
        for key in keys:
            self.admin.api_delete('/servers/%s/metadata/%s' % (
                server_id, key))


class SdkComputeCloud(manage.OpenStackCloud):
    """The command's own openstacksdk calls for Nova, through nova's API
    served on loopback; Neutron and Glance from the fixtures (nova's
    functional tests have no real ones)."""

    def __init__(self, test, endpoint):
        import openstack
        conn = openstack.connect(
            auth_type='none', auth={'endpoint': endpoint},
            compute_api_version='2', load_yaml_config=False,
            load_envvars=False)
        super().__init__(conn, test.admin_api.project_id)
        self.fixtures = FixtureCloud(test)

    def placeholder_image(self):
        return self.fixtures.placeholder_image()

    def networks_for_key(self, key):
        return self.fixtures.networks_for_key(key)

    def create_port(self, network_id, mac, name):
        return self.fixtures.create_port(network_id, mac, name)

    def delete_port(self, port_id):
        return self.fixtures.delete_port(port_id)

    def server_ports(self, server_id):
        return self.fixtures.server_ports(server_id)


class OperatorVmMixin(object):
    """An oVirt operator's running VMs and the command that adopts them,
    for tests based on obase.OvirtPoolFunctionalTestBase (here and in the
    adopt-then-move test of test_warm_move)."""

    def configure_ovirt_pool(self, **overrides):
        # network_1's ports map to the engine's physnet1 profile, so the
        # command finds network_1 from a NIC on that profile.
        overrides.setdefault('vnic_profile_mappings',
                             {NETWORK_1: 'physnet1'})
        return super().configure_ovirt_pool(**overrides)

    def setUp(self):
        super().setUp()
        group = ovirt_conf.pool_group_name(obase.OVIRT_POOL)
        self.engine = manage.Engine(fbase.CONF[group])
        self.addCleanup(self.engine.session.close)
        self.out = io.StringIO()
        self.power_baseline = {}
        self.manager = manage.Manager(self.engine, FixtureCloud(self),
                                      out=self.out, boot_timeout=60)

    # -- the operator's VM ----------------------------------------------------

    def make_running_vm(self, name='web1', vcpus=2, memory_mb=256,
                        cluster='cluster1', nics=1, disk_data=None,
                        **disk):
        """A VM made by the operator in the engine, running; disk_data:
        the guest data of its one disk (raw); disk: see add_disk."""
        profiles = {v: k for k, v in self.engine.profile_names().items()}
        vm = self.engine.session.write(
            lambda system: system.vms_service().add(types.Vm(
                name=name, cluster=types.Cluster(name=cluster),
                template=types.Template(name='Blank'),
                description='operator description',
                comment='operator comment', memory=memory_mb * MiB,
                cpu=types.Cpu(topology=types.CpuTopology(
                    sockets=vcpus, cores=1, threads=1)))))

        def svc(system):
            return system.vms_service().vm_service(vm.id)
        base.wait_until(lambda: self.engine.get(vm.id).status ==
                        types.VmStatus.DOWN, 30, message='VM created')
        if disk_data is not None:
            self.add_disk(vm.id, disk_data, **disk)
        for i in range(nics):
            self.engine.session.write(
                lambda system: svc(system).nics_service().add(types.Nic(
                    name='eth%d' % i, vnic_profile=types.VnicProfile(
                        id=profiles['physnet1']))))
        self.engine.session.write(lambda system: svc(system).start())
        base.wait_until(lambda: self.engine.get(vm.id).status ==
                        types.VmStatus.UP, 30, message='VM up')
        # The operator's own start: later power actions are Nova's.
        self.power_baseline[vm.id] = self.power_actions(vm.id)
        return self.engine.get(vm.id)

    def add_disk(self, vm_id, data, size=None, fmt=types.DiskFormat.RAW,
                 backup=None):
        """A bootable disk (of `size`, default the data's) made through the
        API; its bytes written in the simulator's volume, as a guest
        installed earlier left them. backup: the disk's DiskBackup."""
        att = self.engine.session.write(
            lambda system: system.vms_service().vm_service(vm_id)
            .disk_attachments_service().add(types.DiskAttachment(
                disk=types.Disk(
                    name='root', format=fmt, backup=backup,
                    provisioned_size=size or len(data),
                    storage_domains=[types.StorageDomain(name='data')]),
                interface=types.DiskInterface.VIRTIO, bootable=True,
                active=True)))

        def disk_ok():
            self._tick()
            with self.sim.store.lock:
                return self.sim.store.disks[att.disk.id].status == \
                    types.DiskStatus.OK
        base.wait_until(disk_ok, 30, message='disk created')
        with self.sim.store.lock:
            disk = self.sim.store.disks[att.disk.id]
            self.sim.volumes.get(disk.image_id).write(0, data)

    def snapshot_guest_data(self, image_id):
        """The guest's view of a snapshot: Glance stores a qcow2 of the
        data, read back as raw by qemu-img (not by our code)."""
        image = self.glance.show(None, image_id)
        self.assertEqual('qcow2', image['disk_format'])
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'snapshot.qcow2')
        with open(path, 'wb') as f:
            f.write(self.glance.image_data(image_id))
        subprocess.run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw',
                        path, path + '.raw'], check=True)
        with open(path + '.raw', 'rb') as f:
            return f.read()

    def guest_raw(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'g')
        subprocess.run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw',
                        base.guest_image(), path], check=True)
        with open(path, 'rb') as f:
            return f.read()

    def power_actions(self, vm_id):
        return self.sim.requests.count('POST', POWER_ACTIONS % vm_id)

    def power_actions_since_made(self, vm_id):
        return self.power_actions(vm_id) - self.power_baseline[vm_id]

    def vm_macs(self, vm_id):
        return sorted(n.mac.address.lower()
                      for n in self.engine.nics(vm_id))

    def assertVmAsBefore(self, before):
        vm = self.engine.get(before.id)
        self.assertEqual(
            (before.status, before.description, before.comment,
             before.cluster.id),
            (vm.status, vm.description, vm.comment, vm.cluster.id))
        self.assertEqual(0, self.power_actions_since_made(before.id))


class OvirtAdoptionTest(OperatorVmMixin, obase.OvirtPoolFunctionalTestBase):

    def adoption_boot(self, vm, token, api=None, targeted=True,
                      flavor_id=None, expected='ERROR'):
        body = {
            'name': 'adopt-%s' % vm.name,
            'flavorRef': flavor_id or FixtureCloud(self).flavor_for(
                ovirt_adoptable_vcpus(vm), vm.memory // MiB),
            'imageRef': FixtureCloud(self).placeholder_image(),
            'networks': 'none',
            'metadata': {adoption.META_VM: vm.id,
                         adoption.META_TOKEN: token}}
        if targeted:
            body.update(host=fbase.COMPUTE_HOST,
                        hypervisor_hostname=self.cluster_name(
                            vm.cluster.id))
        server = (api or self.admin_api).post_server({'server': body})
        return self._wait_for_state_change(server, expected)

    # -- tests ----------------------------------------------------------------

    def test_adopt_running_vm_then_operate_and_release(self):
        # Nova through openstacksdk, as the command does in a cloud.
        served = self.useFixture(
            api_server.LoopbackComputeApi(self.api_fixture))
        self.manager.cloud = SdkComputeCloud(self, served.endpoint)
        guest = self.guest_raw()
        vm = self.make_running_vm(disk_data=guest)
        macs = self.vm_macs(vm.id)
        vms_before = len(self.sim.store.vms)

        self.manager.adopt([vm], fbase.COMPUTE_HOST, dry_run=True)
        self.assertIn('adopt on node cluster1, 2 vCPU, 256 MiB',
                      self.out.getvalue())
        self.assertVmAsBefore(vm)

        requests_before = self.sim.requests.total
        server_id = self.manager.adopt([vm], fbase.COMPUTE_HOST)[vm.id]
        self.assertIsNotNone(server_id, self.out.getvalue())
        # Two changes of the VM in all: the command's offer of the token,
        # the driver's mark (which takes the token away).
        self.assertEqual(2, self.sim.requests.count(
            'PUT', r'/vms/%s$' % vm.id))
        self.addDetail('engine-requests-of-one-adoption',
                       testtools.content.text_content(str(
                           self.sim.requests.total - requests_before)))

        # The same running VM, now Nova's, with no power action.
        adopted = self.engine.get(vm.id)
        self.assertEqual(types.VmStatus.UP, adopted.status)
        self.assertEqual(ovirt_cache.mark(server_id), adopted.description)
        self.assertEqual('operator comment', adopted.comment)
        self.assertEqual(0, self.power_actions_since_made(vm.id))
        self.assertEqual(vms_before, len(self.sim.store.vms))
        # The server: on the VM's node, ports with the VM's MACs.
        server = self.admin_api.get_server(server_id)
        self.assertEqual('ACTIVE', server['status'])
        # The token is gone from the server too; the former description
        # stays for release.
        self.assertEqual(
            {adoption.META_DESCRIPTION: 'operator description'},
            server['metadata'])
        self.assertEqual('cluster1', self.node_of(server))
        self.assertEqual(macs, sorted(
            p['mac_addr'].lower() for p in self.ports_of(server)))
        flavor = server['flavor']
        self.assertEqual((2, 256), (flavor['vcpus'], flavor['ram']))
        # No public flavor had that shape: the command made a private one.
        sdk_flavor = self.manager.cloud.conn.compute.find_flavor(
            'adopted.2c256m', ignore_missing=False)
        self.assertFalse(sdk_flavor.is_public)
        self.assertEqual(
            'ACTIVE',
            self.manager.cloud.conn.compute.get_server(server_id).status)
        # Placement holds the VM's vCPUs and memory on the cluster's node.
        allocations = self._get_allocations_by_server_uuid(server_id)
        self.assertEqual(
            {self.node_uuids()['cluster1']:
             {'VCPU': 2, 'MEMORY_MB': 256}},
            {rp: a['resources'] for rp, a in allocations.items()})
        driver = self.compute.manager.driver
        self.assertIn(server_id, driver.list_instance_uuids())

        # Nova's operations now work on it.
        server = self._stop_server(server)
        self.assertEqual('down', self.engine.get(vm.id).status.value)
        server = self._start_server(server)
        self.assertEqual('up', self.engine.get(vm.id).status.value)
        self._reboot_server(server, hard=True)
        self.assertEqual('up', self.engine.get(vm.id).status.value)
        # A snapshot of the adopted VM is its disk: the guest's data.
        image_id = self.api.post_server_action(
            server_id, {'createImage': {'name': 'adopted-snap'}})['image_id']
        self._wait_for_notification('instance.snapshot.end', 1)
        server = self._wait_for_state_change(server, 'ACTIVE')
        data = self.snapshot_guest_data(image_id)
        # Not assertEqual: a mismatch would print megabytes.
        self.assertTrue(data == guest, 'the snapshot is not the guest')
        console = self.api.api_post(
            '/servers/%s/remote-consoles' % server_id,
            {'remote_console': {'protocol': 'vnc', 'type': 'novnc'}},
        ).body['remote_console']
        self.assertIn('vnc_auto.html?path=%3Ftoken%3D', console['url'])

        # Release: the server goes, the VM stays, running and unmarked.
        ports = self.manager.cloud.server_ports(server_id)
        self.assertEqual(vm.id, self.manager.release(server_id))
        self.assertIsNone(self.manager.cloud.get_server(server_id))
        released = self.engine.get(vm.id)
        self.assertEqual(types.VmStatus.UP, released.status)
        self.assertEqual('operator description', released.description)
        self.assertEqual({}, self._get_allocations_by_server_uuid(
            server_id))
        for port in ports:
            self.assertNotIn(port, self.neutron._ports)
        self.assertNotIn(server_id, driver.list_instance_uuids())

    # -- resize, interfaces, volumes of an adopted VM -------------------------

    def engine_view(self, vm_id):
        """What the engine holds of the VM: its shape, its disks (with
        their attachments) and its vNICs, as comparable values."""
        self._tick()
        with self.sim.store.lock:
            vm = self.sim.store.vms[vm_id]
            topo, policy = vm.cpu.topology, vm.memory_policy
            disks = {}
            for disk_id in self.sim.store.vm_disk_ids(vm_id):
                disk = self.sim.store.disks[disk_id]
                att = self.sim.store.disk_attachments[disk_id]
                disks[disk_id] = (
                    disk.alias or disk.name, disk.provisioned_size,
                    disk.format, disk.storage_type, disk.status,
                    att.interface, att.bootable, att.active)
            nics = {n.id: (n.name, n.mac.address.lower(),
                           n.vnic_profile.id, n.plugged, n.interface)
                    for n in self.sim.store.vm_nics(vm_id)}
            snapshots = sorted(s.description for s in
                               self.sim.store.vm_snapshots(vm_id))
            return {
                'shape': (vm.memory, policy.guaranteed, policy.max,
                          policy.ballooning, topo.sockets, topo.cores,
                          topo.threads),
                'cluster': vm.cluster.id, 'status': vm.status.value,
                'description': vm.description, 'comment': vm.comment,
                'disks': disks, 'nics': nics, 'snapshots': snapshots}

    def guest_data(self, vm_id):
        """What the guest reads on the VM's one image disk."""
        self._tick()
        with self.sim.store.lock:
            disk_ids = [d for d in self.sim.store.vm_disk_ids(vm_id)
                        if self.sim.store.disks[d].storage_type ==
                        types.DiskStorageType.IMAGE]
            self.assertEqual(1, len(disk_ids))
            disk = self.sim.store.disks[disk_ids[0]]
            return self.sim.volumes.get(disk.image_id).read(
                0, disk.provisioned_size)

    def assertGuestData(self, data, vm_id):
        # Not assertEqual: a mismatch would print megabytes.
        self.assertTrue(data == self.guest_data(vm_id),
                        "the guest's data changed")

    def assertOnlyChanged(self, before, after, **expected):
        """after is before with the `expected` entries (and no other)."""
        self.assertEqual(dict(before, **expected), after)

    def test_adopted_vm_resize_interfaces_volumes(self):
        guest = b'guest data'.ljust(MiB, b'\xa5')
        vm = self.make_running_vm(name='app3', disk_data=guest)
        server_id = self.manager.adopt([vm], fbase.COMPUTE_HOST)[vm.id]
        self.assertIsNotNone(server_id, self.out.getvalue())
        server = self.admin_api.get_server(server_id)
        adopted = self.engine_view(vm.id)
        # The operator's VM: the engine's own memory policy (max 4x), one
        # disk, one vNIC; the adopted flavor has no disk (root_gb 0).
        self.assertEqual((256 * MiB, 256 * MiB, 1024 * MiB, True, 2, 1, 1),
                         adopted['shape'])
        self.assertEqual((1, 1), (len(adopted['disks']),
                                  len(adopted['nics'])))
        self.assertEqual(0, server['flavor']['disk'])
        vms_before = set(self.sim.store.vms)

        # A port in: a vNIC with its MAC on the same running VM; out: gone.
        attachment = self.api.attach_interface(
            server_id, {'interfaceAttachment': {'net_id': NETWORK_1}}
        ).body['interfaceAttachment']
        mac = attachment['mac_addr'].lower()
        view = self.engine_view(vm.id)
        added = set(view['nics']) - set(adopted['nics'])
        self.assertEqual(1, len(added), view['nics'])
        nic_id = added.pop()
        profiles = {v: k for k, v in self.engine.profile_names().items()}
        self.assertEqual((mac, profiles['physnet1'], True),
                         view['nics'][nic_id][1:4])
        self.assertOnlyChanged(adopted, view, nics=dict(
            adopted['nics'], **{nic_id: view['nics'][nic_id]}))
        self.api.detach_interface(server_id, attachment['port_id'])
        base.wait_until(lambda: self.engine_view(vm.id) == adopted, 60,
                        message='port %s to leave the VM' % mac)
        self.assertEqual([vm.id], [v.id for v in self.sim_vms(server_id)])

        # A Cinder volume in and out: a direct LUN disk on the same VM.
        san = luns.san(self.sim.store)
        with self.sim.store.lock:
            san.add_target(ovol.PORTAL[0], ovol.PORTAL[1], ovol.IQN,
                           luns=[(1, ADOPTED_LUN_WWID, GiB)],
                           username=ovol.CHAP[0], password=ovol.CHAP[1])
        volume_id = uuidutils.generate_uuid()
        self.cinder.VOLUME_CONNECTION_INFO = dict(
            self.cinder.VOLUME_CONNECTION_INFO,
            **{volume_id: ovol.iscsi_info(volume_id, 1)})
        self._attach_volume(server, volume_id)
        view = self.engine_view(vm.id)
        added = set(view['disks']) - set(adopted['disks'])
        self.assertEqual(1, len(added), view['disks'])
        lun_disk_id = added.pop()
        with self.sim.store.lock:
            unit = self.sim.store.disks[lun_disk_id].lun_storage \
                .logical_units[0]
        self.assertEqual(ADOPTED_LUN_WWID, unit.id)
        self.assertEqual(
            ('nova-volume-%s' % volume_id, GiB, None,
             types.DiskStorageType.LUN, types.DiskStatus.OK,
             # The bus of the operator's own disk, hot-plugged.
             types.DiskInterface.VIRTIO, False, True),
            view['disks'][lun_disk_id])
        self.assertOnlyChanged(adopted, view, disks=dict(
            adopted['disks'], **{lun_disk_id: view['disks'][lun_disk_id]}))
        self.api.delete_server_volume(server_id, volume_id)
        self._wait_for_volume_detach(server_id, volume_id)
        self.assertEqual(adopted, self.engine_view(vm.id))
        with self.sim.store.lock:
            self.assertNotIn(lun_disk_id, self.sim.store.disks)
        self.assertIsNotNone(san.find_lun(ADOPTED_LUN_WWID)[1])
        # Neither a port nor a volume touched the VM's power.
        self.assertEqual(0, self.power_actions_since_made(vm.id))

        # Resize in the engine to another flavor of the pool (also
        # without a disk): the same VM, its shape (and node) change;
        # its disk is neither grown nor shrunk.
        self._run_periodics()

        def resize(server):
            # Flavors without a root disk: an admin's resize (nova's
            # policy).
            self.admin_api.post_server_action(server['id'], {
                'resize': {'flavorRef': obase.E1_ZERO}})
            return self._wait_for_state_change(server, 'VERIFY_RESIZE')
        server = resize(server)
        # The node with fewest servers (see ovirt_base): the other cluster.
        node = self.node_of(server)
        self.assertEqual('cluster2', node)
        resized = self.engine_view(vm.id)
        self.assertEqual((128 * MiB, 128 * MiB, 128 * MiB, True, 1, 1, 1),
                         resized['shape'])
        self.assertOnlyChanged(
            adopted, resized, shape=resized['shape'],
            cluster=self.sim.store.by_name('clusters', node).id,
            snapshots=[ovirt_vmops.RESIZE_MARK])
        # Powered off for the change (a clean shutdown), on again after.
        self.assertEqual(2, self.power_actions_since_made(vm.id))
        self.assertGuestData(guest, vm.id)

        # Revert: the operator's shape, cluster, disks and vNICs back.
        server = self._revert_resize(server)
        self.assertEqual('cluster1', self.node_of(
            self.admin_api.get_server(server_id)))
        self.assertEqual(adopted, self.engine_view(vm.id))
        self.assertGuestData(guest, vm.id)
        # nova stops the VM at the destination, the revert starts it.
        self.assertEqual(4, self.power_actions_since_made(vm.id))

        # Resize again and confirm: the new shape stays, the snapshot
        # that kept the old one goes.
        server = resize(server)
        server = self._confirm_resize(server)
        node = self.node_of(self.admin_api.get_server(server_id))
        base.wait_until(lambda: not self.engine_view(vm.id)['snapshots'],
                        30, message='the resize snapshot to go')
        self.assertOnlyChanged(
            adopted, self.engine_view(vm.id), shape=resized['shape'],
            cluster=self.sim.store.by_name('clusters', node).id)
        self.assertEqual(
            {self.node_uuids()[node]: {'VCPU': 1, 'MEMORY_MB': 128}},
            {rp: a['resources'] for rp, a in
             self._get_allocations_by_server_uuid(server_id).items()})
        self.assertGuestData(guest, vm.id)
        # The resize's stop and start; confirm has no power action.
        self.assertEqual(6, self.power_actions_since_made(vm.id))
        # One VM all along: nothing was made or removed in the engine.
        self.assertEqual(vms_before, set(self.sim.store.vms))
        self.assertEqual([vm.id], [v.id for v in self.sim_vms(server_id)])

    def test_refusals_change_nothing(self):
        vm = self.make_running_vm(name='db1', vcpus=1, memory_mb=128,
                                  nics=0)
        # An offer is pending (the operator's command runs); a tenant
        # who does not know its token cannot take the VM.
        self.engine.offer(vm, 'the-operators-token', adoption.DEFAULT_TTL)
        offered = self.engine.get(vm.id)
        # (A tenant may not use zero-disk flavors: a flavor of its own.)
        server = self.adoption_boot(offered, 'forged', api=self.api,
                                    targeted=False, flavor_id=obase.E1_TINY)
        self.assertIn('Adoption of VM %s refused' % vm.id,
                      server['fault']['message'])
        self.assertVmAsBefore(offered)
        self._delete_server(server)
        self.assertVmAsBefore(offered)

        # The admin boot with the right token adopts; a second adoption
        # of the owned VM is refused.
        adopted = self.adoption_boot(offered, 'the-operators-token',
                                     expected='ACTIVE')
        owned = self.engine.get(vm.id)
        self.assertEqual(ovirt_cache.mark(adopted['id']), owned.description)
        self.assertEqual('operator comment', owned.comment)
        again = self.adoption_boot(owned, 'the-operators-token')
        self.assertIn('already owned by Nova instance %s' % adopted['id'],
                      again['fault']['message'])
        self.assertVmAsBefore(owned)
        self.manager.adopt([owned], fbase.COMPUTE_HOST, dry_run=True)
        self.assertIn('already owned by Nova instance %s' % adopted['id'],
                      self.out.getvalue())
        self._delete_server(again)
        self.assertVmAsBefore(owned)

        # Released, the VM is free again, but the used token is worthless.
        self.manager.release(adopted['id'])
        released = self.engine.get(vm.id)
        self.assertIsNone(ovirt_cache.owner_of(released))
        reused = self.adoption_boot(released, 'the-operators-token')
        self.assertIn('no adoption token', reused['fault']['message'])
        self.assertVmAsBefore(released)
        self._delete_server(reused)
        self.assertVmAsBefore(released)

    def test_transient_vm_and_unmapped_network_not_adopted(self):
        vm = self.make_running_vm(name='app1', vcpus=1, memory_mb=128,
                                  nics=0)
        with self.sim.store.lock:
            self.sim.store.vms[vm.id].status = types.VmStatus.MIGRATING
        migrating = self.engine.get(vm.id)
        self.assertEqual({vm.id: None},
                         self.manager.adopt([migrating],
                                            fbase.COMPUTE_HOST))
        self.assertIn('transient state migrating', self.out.getvalue())
        self.assertVmAsBefore(migrating)
        # Offered by hand (as if the state changed after the command's
        # check): the driver refuses too.
        self.engine.offer(migrating, 'token', adoption.DEFAULT_TTL)
        offered = self.engine.get(vm.id)
        server = self.adoption_boot(offered, 'token')
        self.assertIn('transient state migrating',
                      server['fault']['message'])
        self.assertVmAsBefore(offered)
        self._delete_server(server)

        other = self.make_running_vm(name='app2', vcpus=1, memory_mb=128)
        # The NIC's profile, ovirtmgmt, maps from no Neutron network.

        def svc(system):
            return system.vms_service().vm_service(other.id)
        profiles = {v: k for k, v in self.engine.profile_names().items()}
        nic = self.engine.nics(other.id)[0]
        self.engine.session.write(
            lambda system: svc(system).nics_service().nic_service(
                nic.id).update(types.Nic(vnic_profile=types.VnicProfile(
                    id=profiles['ovirtmgmt']))))
        other = self.engine.get(other.id)
        self.assertEqual({other.id: None}, self.manager.adopt(
            [other], fbase.COMPUTE_HOST))
        self.assertIn('no Neutron network maps to vNIC profile ovirtmgmt',
                      self.out.getvalue())
        self.assertVmAsBefore(other)
        self.assertEqual([], self.admin_api.get_servers(
            search_opts={'name': 'app2'}))

    def test_failed_adoption_is_undone(self):
        vm = self.make_running_vm(name='cache1', vcpus=1, memory_mb=128)
        ports_before = set(self.neutron._ports)
        plan, = self.manager.plans([vm])
        self.assertEqual([], plan.problems)
        # A flavor that is not the VM's shape: the driver refuses it.
        plan.memory_mb = 192
        e = self.assertRaises(manage.CommandError, self.manager.adopt_one,
                              plan, fbase.COMPUTE_HOST, 60)
        self.assertIn('flavor', str(e))
        self.assertIn('the VM has 1 vCPUs and 128 MiB', str(e))
        # The VM as it was (token withdrawn), no server, no port left.
        self.assertVmAsBefore(vm)
        self.assertEqual([], self.admin_api.get_servers(
            search_opts={'name': 'cache1'}))
        self.assertEqual(ports_before, set(self.neutron._ports))

    def test_adoption_boot_of_missing_domain_is_refused(self):
        conn = libvirt.open(self.hosts.uris[0])
        self.addCleanup(conn.close)
        domains = sorted(d.UUIDString() for d in conn.listAllDomains())
        body = {
            'name': 'adopt-domain',
            # (No pool trait: e1.zero would keep it off the libvirt node.)
            'flavorRef': self._create_flavor(
                name='adopt.kvm', memory_mb=128, vcpu=1, disk=0),
            'imageRef': FixtureCloud(self).placeholder_image(),
            'networks': 'none',
            'host': fbase.COMPUTE_HOST,
            'hypervisor_hostname': obase.KVM_NODE,
            # A domain UUID the host does not have.
            'metadata': {adoption.META_VM: uuidutils.generate_uuid(),
                         adoption.META_TOKEN: 'token'}}
        server = self._wait_for_state_change(
            self.admin_api.post_server({'server': body}), 'ERROR')
        self.assertIn('node %s has no domain with this UUID' % obase.KVM_NODE,
                      server['fault']['message'])
        # Refused before anything was made: no domain, no volume.
        self.assertEqual(domains, sorted(
            d.UUIDString() for d in conn.listAllDomains()))
        self.assertNoDomain(server['id'])
        self._delete_server(server)


def ovirt_adoptable_vcpus(vm):
    topo = vm.cpu.topology
    return topo.sockets * topo.cores * topo.threads


class LibvirtAdoptionTest(fbase.OvirtFunctionalTestBase):
    """Adopting foreign running domains on the libvirt pool's hosts.

    The domains are defined and started here with libvirt-python, as an
    operator's tools would, outside the driver; then the command's own
    code (:class:`manage.LibvirtHosts` and :class:`manage.Manager`) adopts
    them through nova's API.
    """

    NODE = fbase.NODES[0]

    def setUp(self):
        super().setUp()
        group = ovirt_conf.pool_group_name(fbase.POOL)
        # Interfaces on the tests' OVS bridge carry Neutron's network_1.
        self.flags(bridge_mappings={NETWORK_1: libvirtd.OVS_BRIDGE_NAME},
                   group=group)
        self.backend = manage.LibvirtHosts(fbase.CONF[group], group,
                                           fbase.COMPUTE_HOST)
        self.addCleanup(self.backend.close)
        self.out = io.StringIO()
        self.manager = manage.Manager(self.backend, FixtureCloud(self),
                                      out=self.out, boot_timeout=60)
        self.host = self.host_of_node[self.NODE]
        self.conn = self.host.conn()
        self.addCleanup(self.conn.close)

    # -- the operator's domain -------------------------------------------

    def define_foreign(self, name, start=True, mac='52:54:00:ad:00:01',
                       disk_xml=None, bridge=libvirtd.OVS_BRIDGE_NAME):
        """A domain made outside the driver: the test image as a qcow2
        overlay in the host's images directory, a serial log there, a
        NIC on the OVS bridge, VNC."""
        images = self.host.images_dir
        disk = os.path.join(images, '%s.qcow2' % name)
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b',
                        os.path.abspath(base.guest_image()), '-F', 'qcow2',
                        disk], check=True)
        self.addCleanup(_unlink, disk)
        log = os.path.join(images, '%s.log' % name)
        open(log, 'w').close()
        self.addCleanup(_unlink, log)
        disk_xml = disk_xml or (
            "<disk type='file' device='disk'><driver name='qemu' "
            "type='qcow2'/><source file='%s'/><target dev='vda' "
            "bus='virtio'/></disk>" % disk)
        xml = FOREIGN_DOMAIN_XML % {
            'type': self.hosts.domain_type, 'name': name, 'disk': disk_xml,
            'mac': mac, 'bridge': bridge, 'log': log}
        domain = self.conn.defineXML(xml)
        self.addCleanup(_remove_domain, self.conn, domain.UUIDString())
        if start:
            domain.create()
        return domain

    def domain_id(self, uuid):
        """libvirt's id of the running domain, new on every start (a
        fresh lookup: a virDomain object keeps the id it was made with)."""
        return self.conn.lookupByUUIDString(uuid).ID()

    def domain_log(self, name):
        with open(os.path.join(self.host.images_dir, '%s.log' % name),
                  errors='replace') as f:
            return f.read()

    def wait_for_foreign_boot(self, name):
        base.wait_until(lambda: base.guest_ok_line() in self.domain_log(
            name), 120, interval=0.5, message='%s booted' % name)

    def definition(self, domain):
        """The domain's persistent definition without our metadata."""
        root = etree.fromstring(domain.XMLDesc(
            libvirt.VIR_DOMAIN_XML_INACTIVE))
        metadata = root.find('metadata')
        if metadata is not None:
            root.remove(metadata)
        return etree.tostring(root, encoding='unicode')

    def our_metadata(self, domain):
        try:
            return domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                                   libvirt_config.METADATA_NS, 0)
        except libvirt.libvirtError:
            return None

    def adoption_boot(self, domain, token, api=None, expected='ERROR',
                      networks='none'):
        body = {
            'name': 'adopt-%s' % domain.name(),
            'flavorRef': FixtureCloud(self).flavor_for(1, 128),
            'imageRef': FixtureCloud(self).placeholder_image(),
            'networks': networks,
            'host': fbase.COMPUTE_HOST, 'hypervisor_hostname': self.NODE,
            'metadata': {adoption.META_VM: domain.UUIDString(),
                         adoption.META_TOKEN: token}}
        server = (api or self.admin_api).post_server({'server': body})
        return self._wait_for_state_change(server, expected)

    # -- tests --------------------------------------------------------------

    def test_adopt_running_domain_then_operate_and_release(self):
        domain = self.define_foreign('legacy-web')
        uuid = domain.UUIDString()
        self.wait_for_foreign_boot('legacy-web')
        domain_id = self.domain_id(uuid)
        definition = self.definition(domain)
        driver = self.compute.manager.driver
        # Not Nova's: invisible to the driver.
        self.assertNotIn(uuid, driver.list_instance_uuids())

        selected = self.backend.select(names=['legacy-web'])
        self.manager.adopt(selected, fbase.COMPUTE_HOST, dry_run=True)
        self.assertIn('domain legacy-web (%s): adopt on node %s, 1 vCPU, '
                      '128 MiB, ports 52:54:00:ad:00:01 on %s' % (
                          uuid, self.NODE, NETWORK_1), self.out.getvalue())
        self.assertIsNone(self.our_metadata(domain))

        server_id = self.manager.adopt(selected, fbase.COMPUTE_HOST)[uuid]
        self.assertIsNotNone(server_id, self.out.getvalue())
        # The same qemu process (libvirt's id is new on every start), the
        # same definition; only the mark, naming the instance and this
        # domain, is new.
        self.assertEqual(domain_id, self.domain_id(uuid))
        self.assertEqual(definition, self.definition(domain))
        mark = self.our_metadata(domain)
        self.assertEqual(
            (server_id, 'legacy-web'),
            libvirt_config.metadata_owner(mark, uuid))
        # Live and persistent alike.
        self.assertEqual(mark, domain.metadata(
            libvirt.VIR_DOMAIN_METADATA_ELEMENT, libvirt_config.METADATA_NS,
            libvirt.VIR_DOMAIN_AFFECT_CONFIG))
        server = self.admin_api.get_server(server_id)
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual(self.NODE, self.node_of(server))
        self.assertEqual(['52:54:00:ad:00:01'], [
            p['mac_addr'] for p in self.api.get_port_interfaces(server_id)])
        self.assertEqual((1, 128), (server['flavor']['vcpus'],
                                    server['flavor']['ram']))
        allocations = self._get_allocations_by_server_uuid(server_id)
        self.assertEqual(
            {self.node_uuids()[self.NODE]: {'VCPU': 1, 'MEMORY_MB': 128}},
            {rp: a['resources'] for rp, a in allocations.items()})
        self.assertIn(server_id, driver.list_instance_uuids())
        self.assertNotIn(uuid, driver.list_instance_uuids())
        self.assertIn(server_id, [
            s['id'] for s in self.admin_api.get_servers(detail=False)])
        # The console: the guest's own serial log, from before adoption.
        self.assertIn(base.guest_ok_line(), self.console_log(server))
        console = self.admin_api.api_post(
            '/servers/%s/remote-consoles' % server_id,
            {'remote_console': {'protocol': 'vnc', 'type': 'novnc'}},
        ).body['remote_console']
        self.assertIn('vnc_auto.html?path=%3Ftoken%3D', console['url'])

        # Nova's operations on the same domain, never a second one.
        server = self._stop_server(server)
        self.assertEqual(libvirt.VIR_DOMAIN_SHUTOFF, domain.state()[0])
        server = self._start_server(server)
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, domain.state()[0])
        started_id = self.domain_id(uuid)
        self.assertNotEqual(domain_id, started_id)
        self._reboot_server(server, hard=True)
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, domain.state()[0])
        self.assertNotEqual(started_id, self.domain_id(uuid))
        self.assertEqual(definition, self.definition(domain))
        self.assertEqual([uuid], [d.UUIDString() for d in
                                  self.conn.listAllDomains()])

        # Release: the server goes, the domain runs on, unmarked.
        running_id = self.domain_id(uuid)
        ports = self.manager.cloud.server_ports(server_id)
        self.assertEqual(uuid, self.manager.release(server_id))
        self.assertIsNone(self.manager.cloud.get_server(server_id))
        self.assertEqual(running_id, self.domain_id(uuid))
        self.assertIsNone(self.our_metadata(domain))
        self.assertEqual(definition, self.definition(domain))
        self.assertEqual({}, self._get_allocations_by_server_uuid(
            server_id))
        for port in ports:
            self.assertNotIn(port, self.neutron._ports)
        self.assertNotIn(server_id, driver.list_instance_uuids())

    def test_refusals_change_nothing_and_delete_keeps_disks(self):
        # Shut off: no guest to boot, adoptable all the same.
        domain = self.define_foreign('legacy-db', start=False,
                                     mac='52:54:00:ad:00:02')
        definition = self.definition(domain)

        def inactive():
            return domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        # An offer is pending; a boot that does not know its token fails.
        self.backend.offer(domain, 'the-operators-token',
                           adoption.DEFAULT_TTL)
        offered = inactive()
        server = self.adoption_boot(domain, 'forged')
        self.assertIn('the adoption token does not match',
                      server['fault']['message'])
        self._delete_server(server)
        self.assertEqual(offered, inactive())

        # The right token, but a port whose MAC is not the domain's NIC.
        server = self.adoption_boot(domain, 'the-operators-token',
                                    networks=[{'uuid': NETWORK_1}])
        self.assertIn('are not the VM\'s NICs 52:54:00:ad:00:02',
                      server['fault']['message'])
        self._delete_server(server)
        self.assertEqual(offered, inactive())

        # The right token and the port the command would have made.
        port = FixtureCloud(self).create_port(NETWORK_1, '52:54:00:ad:00:02',
                                              'adopted-legacy-db')
        adopted = self.adoption_boot(domain, 'the-operators-token',
                                     expected='ACTIVE',
                                     networks=[{'port': port}])
        self.assertEqual(libvirt.VIR_DOMAIN_SHUTOFF, domain.state()[0])
        owned = inactive()
        # Owned: another adoption boot is refused, the command says so.
        again = self.adoption_boot(domain, 'the-operators-token')
        self.assertIn('already owned by Nova instance %s' % adopted['id'],
                      again['fault']['message'])
        self._delete_server(again)
        self.assertEqual(owned, inactive())
        self.manager.adopt(self.backend.select([domain.UUIDString()]),
                           fbase.COMPUTE_HOST, dry_run=True)
        self.assertIn('already owned by Nova instance %s' % adopted['id'],
                      self.out.getvalue())

        # Released, the domain is free again; its used token is not.
        self.manager.release(adopted['id'])
        self.assertEqual(definition, self.definition(domain))
        self.assertIsNone(self.our_metadata(domain))
        reused = self.adoption_boot(domain, 'the-operators-token')
        self.assertIn('no adoption token', reused['fault']['message'])
        self._delete_server(reused)
        self.assertIsNone(self.our_metadata(domain))

        # Adopted by the command, deleted through the API: the domain
        # goes, its disk stays.
        server_id = self.manager.adopt(
            self.backend.select(names=['legacy-db']),
            fbase.COMPUTE_HOST)[domain.UUIDString()]
        self.assertIsNotNone(server_id, self.out.getvalue())
        disk = os.path.join(self.host.images_dir, 'legacy-db.qcow2')
        self._delete_server(self.admin_api.get_server(server_id))
        self.assertEqual([], [d.name() for d in self.conn.listAllDomains()])
        self.assertTrue(os.path.exists(disk))

    def test_resize_and_cold_migration_revert_then_confirm(self):
        other = [n for n in fbase.NODES if n != self.NODE][0]
        # The other node's memory reserved: the resize stays on the
        # domain's node (nova allows the same host; the scheduler picks).
        unreserve = self.reserve_memory(other)
        # A standalone disk in a directory of the operator's, with a
        # storage pool for it on both hosts (for the cold migration).
        for host in self.hosts.hosts:
            add_operator_pool(self, host)
        shutil.copy(base.guest_image(), operator_path(self.host,
                                                      'legacy-rs.qcow2'))
        domain = self.define_foreign(
            'legacy-rs', mac='52:54:00:ad:00:05', disk_xml=(
                "<disk type='file' device='disk'><driver name='qemu' "
                "type='qcow2'/><source file='%s/legacy-rs.qcow2'/><target "
                "dev='vda' bus='virtio'/></disk>" % OPERATOR_DIR))
        uuid = domain.UUIDString()
        self.wait_for_foreign_boot('legacy-rs')
        server_id = self.manager.adopt(
            self.backend.select(names=['legacy-rs']),
            fbase.COMPUTE_HOST)[uuid]
        self.assertIsNotNone(server_id, self.out.getvalue())
        server = self.admin_api.get_server(server_id)
        before = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        bigger = FixtureCloud(self).flavor_for(2, 192)

        server = self.admin_resize(server, bigger)
        self.assertEqual(self.NODE, self.node_of(server))
        self.assertResizedDefinition(before, domain, 2, 192)
        self.assertTrue(domain.isActive())
        self.assertEqual([uuid], [d.UUIDString() for d in
                                  self.conn.listAllDomains()])

        # Revert: the operator's definition exactly, running again.
        self.admin_api.post_server_action(server_id, {'revertResize': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self._wait_for_migration_status(server, ['reverted'])
        self.assertEqual(before, domain.XMLDesc(
            libvirt.VIR_DOMAIN_XML_INACTIVE))
        self.assertTrue(self.conn.lookupByUUIDString(uuid).isActive())
        self.assertEqual((1, 128), (server['flavor']['vcpus'],
                                    server['flavor']['ram']))

        server = self.admin_resize(server, bigger)
        self.admin_api.post_server_action(server_id, {'confirmResize': None})
        self._wait_for_migration_status(server, ['confirmed'])
        server = self._wait_for_state_change(server, 'ACTIVE')
        domain = self.conn.lookupByUUIDString(uuid)
        self.assertResizedDefinition(before, domain, 2, 192)
        self.assertTrue(domain.isActive())
        self.assertEqual(self.NODE, self.node_of(server))
        self.assertEqual((2, 192), (server['flavor']['vcpus'],
                                    server['flavor']['ram']))
        self.assertEqual(
            {self.node_uuids()[self.NODE]: {'VCPU': 2, 'MEMORY_MB': 192}},
            {rp: a['resources'] for rp, a in
             self._get_allocations_by_server_uuid(server_id).items()})
        # Nothing kept for a revert any more.
        self.assertEqual([], [v for v in self.host.volume_names()
                              if v.startswith(server_id)])
        mark = self.our_metadata(domain)
        self.assertIn("vcpus=\"2\"", mark.replace("'", '"'))

        # Cold migration to the other node: the disk file copied there,
        # the same definition; the source waits, shut off.
        unreserve()
        other_host = self.host_of_node[other]
        other_conn = other_host.conn()
        self.addCleanup(other_conn.close)
        self.addCleanup(_remove_domain, other_conn, uuid)
        definition = self.definition(domain)
        copied = operator_path(other_host, 'legacy-rs.qcow2')
        self.wait_for_foreign_boot('legacy-rs')
        server = self.admin_migrate(server)
        self.assertEqual(other, self.node_of(server))
        self.assertFalse(domain.isActive())
        copy = other_conn.lookupByUUIDString(uuid)
        self.assertTrue(copy.isActive())
        self.assertEqual(definition, self.definition(copy))
        self.assertEqual((server_id, 'legacy-rs'),
                         libvirt_config.metadata_owner(
                             self.our_metadata(copy), uuid))
        self.assertTrue(os.path.exists(copied))
        # Revert: the copy and its file go, the source runs again.
        self.admin_api.post_server_action(server_id, {'revertResize': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self._wait_for_migration_status(server, ['reverted'])
        self.assertEqual(self.NODE, self.node_of(server))
        self.assertEqual([], [d.UUIDString() for d in
                              other_conn.listAllDomains()])
        self.assertFalse(os.path.exists(copied))
        self.assertTrue(self.conn.lookupByUUIDString(uuid).isActive())
        self.assertEqual(definition, self.definition(domain))
        # Again, confirmed: the source's definition goes, its disk stays.
        self.wait_for_foreign_boot('legacy-rs')
        server = self.admin_migrate(server)
        self.admin_api.post_server_action(server_id, {'confirmResize': None})
        self._wait_for_migration_status(server, ['confirmed'])
        self.assertEqual([], [d.UUIDString() for d in
                              self.conn.listAllDomains()])
        self.assertTrue(os.path.exists(operator_path(self.host,
                                                     'legacy-rs.qcow2')))
        self.assertTrue(other_conn.lookupByUUIDString(uuid).isActive())
        self.assertEqual([], [v for v in other_host.volume_names()
                              if v.startswith(server_id)])

    def reserve_memory(self, node):
        """All of the node's memory reserved in placement; returns what
        undoes it (the resource tracker only writes the inventory of the
        node it claims on)."""
        url = '/resource_providers/%s/inventories/MEMORY_MB' % (
            self.node_uuids()[node])
        reserved = self.placement.get(url, version='1.26').body['reserved']

        def set_reserved(value):
            inventory = self.placement.get(url, version='1.26').body
            inventory['reserved'] = value
            self.placement.put(url, inventory, version='1.26')
        set_reserved(self.placement.get(url, version='1.26').body['total'])
        return lambda: set_reserved(reserved)

    def admin_migrate(self, server):
        self.admin_api.post_server_action(server['id'], {'migrate': None})
        return self._wait_for_state_change(server, 'VERIFY_RESIZE')

    def admin_resize(self, server, flavor_id):
        # Flavors without a root disk: an admin's resize (nova's policy).
        self.admin_api.post_server_action(server['id'], {
            'resize': {'flavorRef': flavor_id}})
        return self._wait_for_state_change(server, 'VERIFY_RESIZE')

    def assertResizedDefinition(self, before, domain, vcpus, memory_mib):
        """Only <vcpu>, <memory> and <currentMemory> changed, to these."""
        after = etree.fromstring(domain.XMLDesc(
            libvirt.VIR_DOMAIN_XML_INACTIVE))
        self.assertEqual(str(vcpus), after.findtext('vcpu'))
        for tag in ('memory', 'currentMemory'):
            self.assertEqual(('KiB', memory_mib * 1024), (
                after.find(tag).get('unit'), int(after.findtext(tag))))
        before = etree.fromstring(before)
        for root in (before, after):
            for tag in ('vcpu', 'memory', 'currentMemory', 'metadata'):
                root.remove(root.find(tag))
        self.assertEqual(etree.tostring(before, encoding='unicode'),
                         etree.tostring(after, encoding='unicode'))

    def test_transient_states_and_disk_types_not_adopted(self):
        # Running with a job: the operator's backup tool reads the disk
        # (a pull-mode backup stays until it is ended).
        busy = self.define_foreign('legacy-bk', mac='52:54:00:ad:00:04')
        busy.backupBegin(
            "<domainbackup mode='pull'><server transport='unix' "
            "socket='%s'/><disks><disk name='vda' backup='yes' "
            "type='file'><scratch file='%s'/></disk></disks>"
            "</domainbackup>" % (
                os.path.join(self.host.dir, 'backup.sock'),
                os.path.join(self.host.images_dir, 'scratch.qcow2')),
            None, 0)
        self.addCleanup(_abort_job, busy)
        before = busy.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        self.assertEqual({busy.UUIDString(): None}, self.manager.adopt(
            self.backend.select(names=['legacy-bk']), fbase.COMPUTE_HOST))
        self.assertIn('transient state running with a backup job running',
                      self.out.getvalue())
        self.assertEqual(before,
                         busy.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        # Offered by hand (as if the job began after the command's
        # check): the driver refuses too.
        self.backend.offer(busy, 'token', adoption.DEFAULT_TTL)
        server = self.adoption_boot(busy, 'token')
        self.assertIn('backup job running', server['fault']['message'])
        self._delete_server(server)
        self.assertTrue(busy.isActive())

        # A network disk, a NIC on a bridge that maps from no network.
        netdisk = self.define_foreign(
            'legacy-san', start=False, mac='52:54:00:ad:00:03',
            bridge='br-unmapped',
            disk_xml="<disk type='network' device='disk'><driver "
                     "name='qemu' type='raw'/><source protocol='iscsi' "
                     "name='iqn.2026-01.org.example:t/1'><host "
                     "name='127.0.0.1' port='3260'/></source><target "
                     "dev='vda' bus='virtio'/></disk>")
        before = netdisk.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        self.assertEqual({netdisk.UUIDString(): None}, self.manager.adopt(
            self.backend.select(names=['legacy-san']), fbase.COMPUTE_HOST))
        self.assertIn('disk vda has the unsupported type network; NIC '
                      '52:54:00:ad:00:03: no Neutron network maps to bridge '
                      'br-unmapped (the pool\'s bridge_mappings)',
                      self.out.getvalue())
        self.assertEqual(before,
                         netdisk.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        self.assertEqual([], self.admin_api.get_servers(
            search_opts={'name': 'legacy'}))

    # -- snapshot, interfaces, volumes of an adopted domain -----------------

    def without_device(self, domain, tag, key, flags=0):
        """The domain's XML (persistent by default) without our metadata
        and without the `tag` device that key (a MAC, a serial) names."""
        root = etree.fromstring(domain.XMLDesc(flags))
        root.remove(root.find('metadata'))
        devices = root.find('devices')
        found = [d for d in devices.findall(tag) if _device_key(d) == key]
        self.assertEqual(1, len(found), '%s %s in %s' % (tag, key, flags))
        devices.remove(found[0])
        return etree.tostring(root, encoding='unicode')

    def live_definition(self, domain):
        root = etree.fromstring(domain.XMLDesc(0))
        root.remove(root.find('metadata'))
        return etree.tostring(root, encoding='unicode')

    def snapshot_adopted(self, server, name, count, domain, disk):
        """createImage through the API; the image must hold exactly what
        the guest sees on its root disk (a standalone qcow2), and nothing
        of the copy may stay on the host."""
        image_id = self.api.post_server_action(
            server['id'], {'createImage': {'name': name}})['image_id']
        self._wait_for_notification('instance.snapshot.end', count)
        self._wait_for_server_parameter(server,
                                        {'OS-EXT-STS:task_state': None})
        image = self.glance.show(None, image_id)
        self.assertEqual(('active', 'qcow2'),
                         (image['status'], image['disk_format']))
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            name + '.qcow2')
        with open(path, 'wb') as f:
            f.write(self.glance.image_data(image_id))
        info = json.loads(subprocess.run(
            ['qemu-img', 'info', '--output=json', path], check=True,
            capture_output=True, text=True).stdout)
        self.assertEqual('qcow2', info['format'])
        self.assertNotIn('backing-filename', info)
        # Flattened: equal to the guest's view of the overlay and its
        # backing file (-U: a running qemu holds the disk's lock).
        compare = subprocess.run(
            ['qemu-img', 'compare', '-U', path, disk],
            capture_output=True, text=True)
        self.assertEqual(0, compare.returncode, compare.stdout +
                         compare.stderr)
        self.assertEqual([], [v for v in self.host.volume_names()
                              if v.startswith(server['id'])])
        if domain.isActive():
            self.assertEqual(libvirt.VIR_DOMAIN_JOB_NONE,
                             domain.jobInfo()[0])
        return image_id

    def test_adopted_domain_snapshot_interfaces_volumes(self):
        target = self.useFixture(iscsi_target.IscsiTargetFixture())
        domain = self.define_foreign('legacy-app', mac='52:54:00:ad:00:05')
        uuid = domain.UUIDString()
        disk = os.path.join(self.host.images_dir, 'legacy-app.qcow2')
        self.wait_for_foreign_boot('legacy-app')
        server_id = self.manager.adopt(
            self.backend.select(names=['legacy-app']),
            fbase.COMPUTE_HOST)[uuid]
        self.assertIsNotNone(server_id, self.out.getvalue())
        server = self.admin_api.get_server(server_id)
        definition = self.definition(domain)
        live = self.live_definition(domain)

        # Snapshot while it runs: a backup, the guest never stops.
        domain_id = self.domain_id(uuid)
        running_image = self.snapshot_adopted(server, 'adopted-running', 1,
                                              domain, disk)
        self.assertEqual(domain_id, self.domain_id(uuid))
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, domain.state()[0])
        self.assertEqual((definition, live), (self.definition(domain),
                                              self.live_definition(domain)))

        # Snapshot while it is shut off: read through its storage pool.
        server = self._stop_server(server)
        self.snapshot_adopted(server, 'adopted-stopped', 2, domain, disk)
        self.assertEqual(libvirt.VIR_DOMAIN_SHUTOFF, domain.state()[0])
        self.assertEqual(definition, self.definition(domain))
        server = self._start_server(server)
        self.wait_for_foreign_boot('legacy-app')

        # The running snapshot boots a server of its own.
        copy = self._boot(image_uuid=running_image, networks='none')
        self.assertEqual('ACTIVE', copy['status'])
        self.assertGuestBooted(copy)
        self._delete_server(copy)

        # A port in and out: exactly that interface, live and persistent.
        definition = self.definition(domain)
        live = self.live_definition(domain)
        attachment = self.api.attach_interface(
            server_id, {'interfaceAttachment': {'net_id': NETWORK_1}}
        ).body['interfaceAttachment']
        mac = attachment['mac_addr']
        self.assertEqual(definition, self.without_device(
            domain, 'interface', mac,
            libvirt.VIR_DOMAIN_XML_INACTIVE))
        self.assertEqual(live, self.without_device(domain, 'interface', mac))
        self.api.detach_interface(server_id, attachment['port_id'])
        base.wait_until(lambda: mac not in domain.XMLDesc(0), 60,
                        message='port %s to leave the guest' % mac)
        self.assertEqual((definition, live), (self.definition(domain),
                                              self.live_definition(domain)))

        # A Cinder iSCSI volume in and out; the guest sees it and writes
        # its mark on it (tests.fixtures.guest_image).
        lun = target.create_lun('adopted-data', 64 * MiB)
        volume_id = uuidutils.generate_uuid()
        self.cinder.VOLUME_CONNECTION_INFO = dict(
            self.cinder.VOLUME_CONNECTION_INFO,
            **{volume_id: lun.connection_info()})
        lun.write(guest_image.PROBE_OFFSET, guest_image.GUEST_WRITE_REQUEST)
        self._attach_volume(server, volume_id)
        self.assertEqual(definition, self.without_device(
            domain, 'disk', volume_id, libvirt.VIR_DOMAIN_XML_INACTIVE))
        self.assertEqual(live, self.without_device(domain, 'disk', volume_id))
        written = guest_image.probe_md5(
            guest_image.GUEST_WRITE_REQUEST.ljust(512, b'\0') +
            guest_image.GUEST_WRITTEN.ljust(512, b'\0'))

        def guest_disks():
            return guest_image.parse_disks_line(
                self.domain_log('legacy-app')) or {}
        base.wait_until(lambda: guest_disks().get('vdb') == (64 * MiB,
                                                             written),
                        90, interval=0.5,
                        message='the guest to see and mark the volume')
        self.api.delete_server_volume(server_id, volume_id)
        self._wait_for_volume_detach(server_id, volume_id)
        base.wait_until(lambda: 'vdb' not in guest_disks(), 90,
                        interval=0.5, message='the volume to leave the guest')
        base.wait_until(lambda: target.sessions(lun) == [], 30,
                        message='qemu to log out of the target')
        self.assertEqual((definition, live), (self.definition(domain),
                                              self.live_definition(domain)))
        self.assertEqual([uuid], [d.UUIDString() for d in
                                  self.conn.listAllDomains()])


FOREIGN_DOMAIN_XML = """<domain type='%(type)s'>
  <name>%(name)s</name>
  <description>the operator's own guest</description>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <bios useserial='yes'/></os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    %(disk)s
    <interface type='bridge'><mac address='%(mac)s'/>
      <source bridge='%(bridge)s'/><virtualport type='openvswitch'/>
      <model type='virtio'/></interface>
    <serial type='pty'><log file='%(log)s' append='off'/>
      <target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <graphics type='vnc' autoport='yes' listen='127.0.0.1'/>
  </devices>
</domain>"""


def _device_key(element):
    """A disk's serial (Cinder's volume id) or an interface's MAC."""
    mac = element.find('mac')
    return element.findtext('serial') or (
        mac.get('address') if mac is not None else None)


#: A directory of the operator's inside each test host's namespace: the
#: host's own <dir>/lib/operator (the hosts do not share it, as two
#: machines would not).
OPERATOR_DIR = '/var/lib/libvirt/operator'


def operator_path(host, name=''):
    """OPERATOR_DIR/name of the host, as this process sees it."""
    return os.path.join(host.dir, 'lib', 'operator', name)


def add_operator_pool(test, host):
    """A started dir pool 'operator' at OPERATOR_DIR; gone at cleanup."""
    os.makedirs(operator_path(host), exist_ok=True)
    test.addCleanup(shutil.rmtree, operator_path(host), True)
    conn = host.conn()
    try:
        pool = conn.storagePoolDefineXML(
            "<pool type='dir'><name>operator</name><target><path>%s</path>"
            "</target></pool>" % OPERATOR_DIR, 0)
        pool.create(0)
    finally:
        conn.close()
    test.addCleanup(_drop_operator_pool, host)


def _drop_operator_pool(host):
    conn = host.conn()
    try:
        pool = conn.storagePoolLookupByName('operator')
        if pool.isActive():
            pool.destroy()
        pool.undefine()
    finally:
        conn.close()


def _unlink(path):
    if os.path.exists(path):
        os.unlink(path)


def _abort_job(domain):
    try:
        domain.abortJob()
    except libvirt.libvirtError:
        pass        # ended already


def _remove_domain(conn, uuid):
    try:
        domain = conn.lookupByUUIDString(uuid)
    except libvirt.libvirtError:
        return
    if domain.isActive():
        domain.destroy()
    domain.undefine()
