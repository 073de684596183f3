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

"""Server operations through nova's REST API on an oVirt pool.

Every test drives nova's REST API and checks the engine's state (the
simulator's ``sim.store``) and placement. The libvirt pool ``kvm`` runs
beside the oVirt pool ``engine1`` in the same nova-compute; flavors that
require the pool's trait never land on it. Tests share servers across
several operations to keep the tier fast.
"""

import json
import os
import subprocess
import tempfile

import fixtures
from nova.tests.functional.api import client as api_client

from nova_ovirt.pools.ovirt import cache as ovirt_cache
from nova_ovirt.pools.ovirt import rescue as ovirt_rescue
from nova_ovirt.pools.ovirt import vmops as ovirt_vmops

from tests import base
from tests.functional import base as fbase
from tests.functional import ovirt_base as obase

MiB = 1024 ** 2
#: The name nova gives its first instance (instance_name_template).
FIRST_INSTANCE_NAME = 'instance-00000001'


class OvirtServerLifecycleTest(obase.OvirtPoolFunctionalTestBase):

    def before_compute_start(self):
        # An operator's own VM, running in cluster1 before nova-compute
        # starts, named like the first Nova instance will be.
        vm = self.sim.admin_add_vm(FIRST_INSTANCE_NAME, 'cluster1',
                                   description='the operator\'s own VM')
        self.operator_vm_id = vm.id

    def assertOperatorVmUntouched(self):
        self._tick()
        vm = self.sim.store.vms.get(self.operator_vm_id)
        self.assertIsNotNone(vm, 'the operator\'s VM was removed')
        self.assertEqual(FIRST_INSTANCE_NAME, vm.name)
        self.assertEqual('the operator\'s own VM', vm.description)
        self.assertEqual('up', vm.status.value)
        servers = self.admin_api.get_servers(
            detail=False, search_opts={'all_tenants': 1})
        self.assertNotIn(self.operator_vm_id, [s['id'] for s in servers])
        driver = self.compute.manager.driver
        self.assertNotIn(self.operator_vm_id, driver.list_instance_uuids())
        self.assertNotIn(FIRST_INSTANCE_NAME, driver.list_instances())

    def assertNodesAndInventory(self):
        node_uuids = self.node_uuids()
        self.assertEqual(set(obase.ALL_NODES), set(node_uuids))
        driver_nodes = self.compute.manager.driver.get_nodenames_by_uuid()
        self.assertEqual({u: n for n, u in node_uuids.items()}, driver_nodes)
        for name in obase.CLUSTERS:
            cluster = self.sim.store.by_name('clusters', name)
            # The node of a cluster is the cluster: same UUID.
            self.assertEqual(cluster.id, node_uuids[name])
            hosts = [h for h in self.sim.store.hosts_of(cluster.id)
                     if h.status.value == 'up']
            vcpus = [h.cpu.topology.sockets * h.cpu.topology.cores *
                     h.cpu.topology.threads for h in hosts]
            memory = [self.sim.store.free_memory(h) // MiB for h in hosts]
            inventory = self._get_provider_inventory(cluster.id)
            self.assertEqual(sum(vcpus), inventory['VCPU']['total'], name)
            self.assertEqual(max(vcpus), inventory['VCPU']['max_unit'], name)
            self.assertEqual(sum(memory), inventory['MEMORY_MB']['total'],
                             name)
            self.assertEqual(max(memory),
                             inventory['MEMORY_MB']['max_unit'], name)
            traits = self._get_provider_traits(cluster.id)
            self.assertIn(obase.OVIRT_TRAIT, traits)
            self.assertNotIn(fbase.POOL_TRAIT, traits)
        self.assertNotIn(node_uuids[obase.KVM_NODE],
                         [c.id for c in self.sim.store.clusters.values()])
        self.assertIn(fbase.POOL_TRAIT,
                      self._get_provider_traits(node_uuids[obase.KVM_NODE]))
        self.assertNotIn(obase.OVIRT_TRAIT, self._get_provider_traits(
            node_uuids[obase.KVM_NODE]))

    def assertOvirtServer(self, server, flavor_id=obase.E1_TINY):
        """Where a new server of the pool must be, and what its VM is."""
        self.assertIn(self.node_of(server), obase.CLUSTERS)
        self.assertEqual(fbase.COMPUTE_HOST, server['OS-EXT-SRV-ATTR:host'])
        vm = self.assertVmStatus(server, 'up')
        self.assertVmOnNode(server)
        self.assertVmShape(server, flavor_id)
        self.assertEqual(ovirt_cache.mark(server['id']), vm.description)
        ports = self.ports_of(server)
        self.assertEqual(1, len(ports))
        self.assertEqual([ports[0]['mac_addr'].lower()],
                         self.sim_nic_macs(server))
        self.assertUsage(self.node_of(server), flavor_id)
        return vm

    def test_lifecycle(self):
        self.assertNodesAndInventory()
        self.assertOperatorVmUntouched()

        # First boot of the image in the engine: uploaded once, through an
        # image transfer, into a template.
        self.assertIsNone(self.sim_template())
        first = self._boot_ovirt(name='first')
        vm = self.assertOvirtServer(first)
        image_size = len(self.glance.image_data(base.GUEST_IMAGE_ID))
        uploaded = self.sim.requests.bytes_uploaded
        self.assertGreater(uploaded, 0)
        self.assertLessEqual(uploaded, image_size)
        template = self.sim_template()
        self.assertIsNotNone(template)
        self.assertEqual(template.id, vm.template.id)
        # nova named it as the operator's VM is named: the engine refused
        # the name, the VM goes by the instance's UUID instead.
        self.assertEqual(FIRST_INSTANCE_NAME, first['OS-EXT-SRV-ATTR:'
                                                    'instance_name'])
        self.assertEqual('nova-%s' % first['id'], vm.name)

        # Second boot of the same image: a thin clone of the template.
        copied = self.sim.requests.bytes_copied
        second = self._boot_ovirt(name='second')
        self.assertOvirtServer(second)
        self.assertEqual(uploaded, self.sim.requests.bytes_uploaded)
        self.assertEqual(copied, self.sim.requests.bytes_copied)
        self.assertEqual(template.id, self.sim_vm(second).template.id)
        # Spread by instance count: one server per cluster.
        self.assertEqual(set(obase.CLUSTERS),
                         {self.node_of(first), self.node_of(second)})

        # -- power ----------------------------------------------------------
        first = self._stop_server(first)
        self.assertVmStatus(first, 'down')
        self.assertEqual(4, first['OS-EXT-STS:power_state'])  # SHUTDOWN
        first = self._start_server(first)
        self.assertVmStatus(first, 'up')

        for count, hard in ((1, False), (2, True)):
            self.api.post_server_action(
                first['id'], {'reboot': {'type': 'HARD' if hard else 'SOFT'}})
            self._wait_for_notification('instance.reboot.end', count)
            first = self._wait_for_state_change(first, 'ACTIVE')
            self.assertVmStatus(first, 'up')

        first = self._suspend_server(first)
        self.assertVmStatus(first, 'suspended')
        self.assertEqual(7, first['OS-EXT-STS:power_state'])  # SUSPENDED
        first = self._resume_server(first)
        self.assertVmStatus(first, 'up')

        # The engine has no pause: nova records the action's failure and
        # the server stays ACTIVE and usable.
        self.assertPauseNotSupported(first)

        # -- console --------------------------------------------------------
        console = self.api.api_post(
            '/servers/%s/remote-consoles' % first['id'],
            {'remote_console': {'protocol': 'vnc', 'type': 'novnc'}}
        ).body['remote_console']
        self.assertEqual('vnc', console['protocol'])
        self.assertIn('token', console['url'])
        self.assertIsNotNone(self.sim_vm(first)._sim_ticket)

        # -- interfaces -----------------------------------------------------
        macs = self.sim_nic_macs(first)
        attachment = self.api.attach_interface(
            first['id'],
            {'interfaceAttachment': {
                'net_id': self.neutron.network_1['id']}}
        ).body['interfaceAttachment']
        mac = attachment['mac_addr'].lower()
        self.assertEqual(sorted(macs + [mac]), self.sim_nic_macs(first))
        self.api.detach_interface(first['id'], attachment['port_id'])
        base.wait_until(lambda: mac not in self.sim_nic_macs(first), 30,
                        message='NIC %s to go' % mac)
        self.assertEqual(macs, self.sim_nic_macs(first))
        self.assertVmStatus(first, 'up')

        # -- rescue ---------------------------------------------------------
        root_disk = self.sim_boot_disk(first)
        first = self._rescue_server(first)
        vm = self.assertVmStatus(first, 'up')
        rescue_disk = self.sim_boot_disk(first)
        self.assertNotEqual(root_disk.id, rescue_disk.id)
        self.assertEqual(ovirt_rescue.RESCUE_MARK + first['id'],
                         rescue_disk.description)
        # The root disk stays attached for the rescue system to repair.
        self.assertIn(root_disk.id, self.sim.store.vm_disk_ids(vm.id))
        first = self._unrescue_server(first)
        self.assertVmStatus(first, 'up')
        self.assertEqual(root_disk.id, self.sim_boot_disk(first).id)
        self.assertEqual([root_disk.id],
                         self.sim.store.vm_disk_ids(self.sim_vm(first).id))
        self.assertNotIn(rescue_disk.id, self.sim_disk_ids())

        # -- out of band ----------------------------------------------------
        # An operator stops the second server's VM in the engine: the
        # event feed tells nova, which stops the server. Not the periodic
        # power state sync: nova's test configuration runs no periodic
        # task.
        self.assertFalse(fbase.CONF.periodic_enable)
        self.sim.admin_stop_vm(self.sim_vm(second).id)
        polls = 5
        base.wait_until(
            lambda: self._refresh(second)['status'] == 'SHUTOFF',
            polls * self.EVENT_POLL_INTERVAL + 2,
            message='server %s to be SHUTOFF within %d event polls' % (
                second['id'], polls))
        second = self._wait_for_server_parameter(
            second, {'status': 'SHUTOFF', 'OS-EXT-STS:task_state': None})
        self.assertEqual(4, second['OS-EXT-STS:power_state'])  # SHUTDOWN
        self.assertVmStatus(second, 'down')
        second = self._start_server(second)
        self.assertVmStatus(second, 'up')

        # -- the libvirt pool beside it ------------------------------------
        # The kvm pool's flavor lands on its libvirt host, not in the
        # engine, while the oVirt servers run.
        vms = set(self.sim.store.vms)
        kvm = self._boot(flavor_id='ovirt-pool-kvm')
        self.assertEqual(obase.KVM_NODE, self.node_of(kvm))
        self.assertDomain(kvm, 'running')
        self.assertNoVm(kvm['id'])
        self._tick()
        self.assertEqual(vms, set(self.sim.store.vms))
        self.assertUsage(obase.KVM_NODE, 'ovirt-pool-kvm')
        self._delete_and_check(kvm)

        # -- delete ---------------------------------------------------------
        for server in (first, second):
            self._delete_ovirt(server)
        self.assertNoUsage()
        # The template stays for the next boot; the operator's VM was
        # never seen nor touched.
        self.assertIsNotNone(self.sim_template())
        self.assertOperatorVmUntouched()

    def sim_boot_disk(self, server):
        vm = self.sim_vm(server)
        with self.sim.store.lock:
            boot = [a for a in self.sim.store.disk_attachments.values()
                    if a.vm.id == vm.id and a.bootable]
            self.assertEqual(1, len(boot), 'bootable disks of %s' % vm.id)
            return self.sim.store.disks[boot[0].disk.id]

    def assertPauseNotSupported(self, server):
        """The engine has no pause: nova's answer to NotImplementedError."""
        if self.CAST_AS_CALL:
            # Casts are calls in this tier: the compute's failure reaches
            # the API, which answers 501 as for a driver without pause.
            e = self.assertRaises(api_client.OpenStackApiException,
                                  self.api.post_server_action,
                                  server['id'], {'pause': None})
            self.assertEqual(501, e.response.status_code)
            self.assertIn('not supported', e.response.text)
        else:
            # A real cast: accepted, then the compute records the failure.
            self.api.post_server_action(server['id'], {'pause': None})
        # Either way nova records the failed action event, reverts the task
        # state, and the server stays ACTIVE (its VM untouched) and usable.
        self._wait_for_action_fail_completion(
            server, 'pause', 'compute_pause_instance')
        server = self._wait_for_server_parameter(
            server, {'status': 'ACTIVE', 'OS-EXT-STS:task_state': None})
        self.assertEqual(1, server['OS-EXT-STS:power_state'])  # RUNNING
        self.assertVmStatus(server, 'up')
        self._reboot_server(server)
        self.assertVmStatus(server, 'up')


class OvirtServerMoveTest(obase.OvirtPoolFunctionalTestBase):

    def assertNoResizeSnapshot(self, server):
        self.assertEqual([], self.sim_snapshots(ovirt_vmops.RESIZE_MARK))

    def test_resize_and_cold_migrate(self):
        server = self._boot_ovirt()
        source = self.node_of(server)
        self.assertIn(source, obase.CLUSTERS)
        other = [c for c in obase.CLUSTERS if c != source][0]
        self.assertVmOnNode(server)

        # Resize + confirm: the VM changes shape (and, spreading, cluster).
        self._run_periodics()
        server = self._resize_server(server, obase.E1_SMALL)
        self.assertEqual(other, self.node_of(server))
        self.assertVmOnNode(server)
        self.assertVmShape(server, obase.E1_SMALL)
        self.assertVmStatus(server, 'up')
        server = self._confirm_resize(server)
        self.assertVmOnNode(server)
        self.assertVmShape(server, obase.E1_SMALL)
        self.assertVmStatus(server, 'up')
        self.assertUsage(other, obase.E1_SMALL)
        self.assertUsage(source)
        self.assertNoResizeSnapshot(server)
        vm_id = self.sim_vm(server).id

        # Resize + revert: back to its cluster and shape, same VM. (The
        # resource tracker's instance counts, which the weigher reads, are
        # fresh after a periodic update.)
        self._run_periodics()
        server = self._resize_server(server, obase.E1_TINY)
        self.assertEqual(source, self.node_of(server))
        self.assertVmOnNode(server)
        self.assertVmShape(server, obase.E1_TINY)
        server = self._revert_resize(server)
        server = self._refresh(server)
        self.assertEqual(other, self.node_of(server))
        self.assertEqual('e1.small', server['flavor']['original_name'])
        self.assertVmOnNode(server)
        self.assertVmShape(server, obase.E1_SMALL)
        self.assertVmStatus(server, 'up')
        self.assertEqual(vm_id, self.sim_vm(server).id)
        self.assertUsage(other, obase.E1_SMALL)
        self.assertUsage(source)
        self.assertNoResizeSnapshot(server)

        # Cold migration (admin) to the other cluster.
        self._run_periodics()
        self.admin_api.post_server_action(server['id'], {'migrate': None})
        server = self._wait_for_state_change(server, 'VERIFY_RESIZE')
        server = self._refresh(server)
        self.assertEqual(source, self.node_of(server))
        self.assertEqual(fbase.COMPUTE_HOST, server['OS-EXT-SRV-ATTR:host'])
        self.assertVmOnNode(server)
        server = self._confirm_resize(server)
        self.assertVmOnNode(server)
        self.assertVmShape(server, obase.E1_SMALL)
        self.assertVmStatus(server, 'up')
        self.assertEqual(vm_id, self.sim_vm(server).id)
        self.assertUsage(source, obase.E1_SMALL)
        self.assertUsage(other)
        self.assertNoResizeSnapshot(server)

        self._delete_ovirt(server)
        self.assertNoUsage()


class OvirtSnapshotAndFailedSpawnTest(obase.OvirtPoolFunctionalTestBase):

    def vm_disk_data(self, server):
        """The guest data of the server's root disk as the engine stores it.

        (The simulator unpacks a verified qcow2 upload into guest data, as
        a real volume would present it to the guest and to a raw
        download.)
        """
        vm = self.sim_vm(server)
        with self.sim.store.lock:
            atts = [a for a in self.sim.store.disk_attachments.values()
                    if a.vm.id == vm.id]
            self.assertEqual(1, len(atts))
            disk = self.sim.store.disks[atts[0].disk.id]
            layer = self.sim.volumes.get(disk.image_id)
            return layer.read(0, disk.provisioned_size)

    def qemu_img(self, *args):
        return subprocess.run(('qemu-img',) + args, check=True,
                              capture_output=True, text=True).stdout

    def assertRawGuestImage(self, data):
        """data is the guest image's disk, in the raw format.

        Read by qemu-img, not by our code: its probe names the format of
        the bytes, and its conversion of the Glance qcow2 gives the guest
        data the snapshot must hold.
        """
        tmp = self.useFixture(fixtures.TempDir()).path
        got = os.path.join(tmp, 'snapshot')
        with open(got, 'wb') as f:
            f.write(data)
        info = json.loads(self.qemu_img('info', '--output=json', got))
        self.assertEqual('raw', info['format'])
        expected = os.path.join(tmp, 'expected.raw')
        self.qemu_img('convert', '-f', 'qcow2', '-O', 'raw',
                      base.guest_image(), expected)
        # qemu-img compare exits 1 (CalledProcessError) on a difference.
        self.assertIn('Images are identical', self.qemu_img(
            'compare', '-f', 'raw', '-F', 'raw', got, expected))

    def test_snapshot_and_failed_spawns(self):
        # A zero-disk flavor keeps the root disk at the image's virtual
        # size: the snapshot holds the whole disk's guest data.
        server = self._boot_ovirt(flavor_id=obase.E1_ZERO,
                                  api=self.admin_api)
        self.assertIn(self.node_of(server), obase.CLUSTERS)
        self.assertVmStatus(server, 'up')

        downloaded = self.sim.requests.bytes_downloaded
        image_id = self.api.post_server_action(
            server['id'], {'createImage': {'name': 'snap-1'}})['image_id']
        self._wait_for_notification('instance.snapshot.end', 1)
        server = self._wait_for_state_change(server, 'ACTIVE')
        image = self.glance.show(None, image_id)
        self.assertEqual('active', image['status'])
        # Stored sparse: a qcow2 of the data, read back here as raw.
        self.assertEqual('qcow2', image['disk_format'])
        stored = self.glance.image_data(image_id)
        self.assertEqual(len(stored), image['size'])
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'snap.qcow2')
            with open(path, 'wb') as f:
                f.write(stored)
            subprocess.run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw',
                            path, path + '.raw'], check=True)
            with open(path + '.raw', 'rb') as f:
                data = f.read()
        self.assertTrue(data.strip(b'\0'), 'the snapshot has no data')
        self.assertLess(len(stored), len(data))
        # Through an image transfer (zero extents are not sent).
        self.assertGreater(self.sim.requests.bytes_downloaded, downloaded)
        disk = self.vm_disk_data(server)
        self.assertEqual(len(disk), len(data))
        # Not assertEqual: a mismatch would print megabytes.
        self.assertTrue(disk == data, 'the snapshot is not the VM\'s disk')
        # Labelled raw and raw in fact: the Glance qcow2's guest data, not
        # the qcow2 file that was uploaded.
        self.assertRawGuestImage(data)

        # The oVirt snapshot was removed afterwards.
        self.assertEqual([], self.sim_snapshots())
        self.assertVmStatus(server, 'up')

        # Failed spawns: a fault from the engine on the NIC add, then on
        # the start. No reschedule: the first failure is the build's.
        self.flags(max_attempts=1, group='scheduler')
        vms = set(self.sim.store.vms)
        disks = self.sim_disk_ids()
        for path, detail in (
                (r'/vms/[^/]+/nics$',
                 '[Cannot add Interface. Injected: MAC pool is empty.]'),
                (r'/vms/[^/]+/start$',
                 '[Cannot run VM. Injected: There is no host that '
                 'satisfies current scheduling constraints.]')):
            self.sim.faults.script_fault(path, method='POST', status=409,
                                         reason='Operation Failed',
                                         detail=detail)
            failed = self._boot_ovirt(expected_state='ERROR')
            self.assertIn(detail, failed['fault']['message'])
            self.assertNoVm(failed['id'])
            self._tick()
            self.assertEqual(vms, set(self.sim.store.vms))
            self.assertEqual(disks, self.sim_disk_ids())
            self.api.delete_server(failed['id'])
            self._wait_until_deleted(failed)
        self.sim.faults.clear()

        self._delete_ovirt(server)
        self.assertNoUsage()


class OvirtHostRebootTest(obase.OvirtPoolFunctionalTestBase):

    def test_vms_resume_after_restart(self):
        # The engine stopped a VM while nova-compute was down (a host
        # reboot, an operator): with resume_guests_state_on_host_boot
        # nova-compute starts it again when it starts
        # (resume_state_on_host_boot), and re-plugs its ports (plug_vifs).
        server = self._boot_ovirt()
        self.assertVmStatus(server, 'up')
        self.compute.stop()
        self.sim.admin_stop_vm(self.sim_vm(server).id)
        self.assertVmStatus(server, 'down')

        self.flags(resume_guests_state_on_host_boot=True)
        self.compute = self.start_stopped_compute()
        self.assertVmStatus(server, 'up', timeout=60)
        self.assertVmOnNode(server)
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual(1, server['OS-EXT-STS:power_state'])  # RUNNING
        self._delete_ovirt(server)
        self.assertNoUsage()
