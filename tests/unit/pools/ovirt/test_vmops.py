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

"""Instance flows against the simulator with the real SDK."""

import socket
import struct
import threading
import time

import ovirtsdk4 as sdk
from ovirtsdk4 import types

from nova.compute import power_state
from nova.compute import task_states
from nova.console.securityproxy import rfb
from nova import exception as nova_exception
from nova import objects
from nova.virt import event as virtevent

from nova_ovirt import exception
from nova_ovirt.pools.ovirt import cache as vm_cache
from nova_ovirt.pools.ovirt import images
from nova_ovirt.pools.ovirt import rescue
from tests.unit import rfb_client
from tests.unit.pools.ovirt import base

GiB = 1024 ** 3
CONF = base.CONF


class FlowTestCase(base.SimTestCase):

    def setUp(self):
        super().setUp()
        self.pool = self.make_pool()
        # Tests read the event feed themselves (poll_once): request counts
        # stay exact.
        self.pool.poller.stop()
        self.data = base.image_bytes(1)
        self.image_id = self.images.add(self.data)
        self.meta = base.image_meta(self.image_id, len(self.data))

    def spawn(self, inst=None, vifs=(), power_on=True, **kw):
        inst = inst or self.instance(**kw)
        self.pool.spawn(self.context, inst, self.meta, [], None, {},
                        list(vifs), power_on=power_on)
        return inst

    def sim_vm(self, inst):
        vms = [v for v in self.sim.store.vms.values()
               if v.description == vm_cache.mark(inst.uuid)]
        return vms[0] if vms else None

    def state(self, inst):
        return self.pool.get_info(inst, use_cache=False).state


class TestSpawnDestroy(FlowTestCase):

    def test_cached_image_spawn_reads_the_root_disk_only_to_change_it(self):
        """A boot's chain is round trips: with the flavor's root_gb 0 and
        no hw_disk_bus nothing reads the root attachment; growing it reads
        it once (not once per setting)."""
        self.spawn(power_on=False)              # makes the template
        self.sim.requests.reset()
        self.spawn(root_gb=0)
        self.assertEqual(0, self.sim.requests.count(
            'GET', r'/diskattachments$'))
        self.sim.requests.reset()
        self.spawn(root_gb=3)
        self.assertEqual(1, self.sim.requests.count(
            'GET', r'/diskattachments$'))
        self.assertEqual(1, self.sim.requests.count(
            'PUT', r'/diskattachments/'))

    def test_spawn_builds_vm_from_flavor_and_ports(self):
        inst = self.instance(vcpus=4, memory_mb=1024, root_gb=2,
                             key_data='ssh-rsa AAA', user_data=None)
        vifs = [self.vif(), self.vif(physnet='physnet1')]
        self.spawn(inst, vifs)
        vm = self.sim_vm(inst)
        self.assertEqual(inst.name, vm.name)
        self.assertEqual(types.VmStatus.UP, vm.status)
        self.assertEqual(1024 * 1024 ** 2, vm.memory)
        self.assertEqual(vm.memory, vm.memory_policy.guaranteed)
        self.assertEqual(4, vm.cpu.topology.sockets)
        nics = sorted(self.sim.store.vm_nics(vm.id), key=lambda n: n.name)
        profiles = {p.id: p.name for p in
                    self.sim.store.vnic_profiles.values()}
        by_mac = {n.mac.address: profiles[n.vnic_profile.id] for n in nics}
        self.assertEqual({vifs[0]['address']: 'ovirtmgmt',
                          vifs[1]['address']: 'physnet1'}, by_mac)
        disks = [self.sim.store.disks[d]
                 for d in self.sim.store.vm_disk_ids(vm.id)]
        self.assertEqual(2 * GiB, disks[0].provisioned_size)
        self.assertEqual('ssh-rsa AAA',
                         vm.initialization.authorized_ssh_keys)
        self.assertEqual(power_state.RUNNING, self.state(inst))
        self.assertEqual([inst.uuid], self.pool.list_instance_uuids())

    def test_image_uploaded_once(self):
        self.spawn()
        uploaded = self.sim.requests.bytes_uploaded
        self.assertGreater(uploaded, 0)
        self.assertLessEqual(uploaded, len(self.data))
        self.sim.requests.reset()
        self.spawn()
        self.assertEqual(0, self.sim.requests.bytes_uploaded)
        self.assertEqual(0, self.sim.requests.bytes_copied)
        self.assertEqual(1, self.images.downloads)
        self.assertEqual(1, len([t for t in self.sim.store.templates.values()
                                 if t.name.startswith('nova-image-')]))

    def test_cached_image_boot_does_not_ask_for_the_template(self):
        """The template id of a boot is remembered: the next boot of the
        image in the cluster makes no template request: one request
        less than a boot that looks the template up."""
        self.spawn(power_on=False)
        self.pool.images.forget(self.image_id)
        self.sim.requests.reset()
        self.spawn(power_on=False, root_gb=0)
        self.assertEqual(1, self.sim.requests.count('GET', r'/templates'))
        looked_up = self.requests_but_status_polls()
        self.sim.requests.reset()
        inst = self.spawn(power_on=False, root_gb=0)
        self.assertEqual(0, self.sim.requests.count('GET', r'/templates'))
        self.assertEqual(looked_up - 1, self.requests_but_status_polls())
        template = self.sim.store.by_name(
            'templates', images.template_name(self.image_id))
        self.assertEqual(template.id, self.sim_vm(inst).template.id)

    def requests_but_status_polls(self):
        """Requests, without the VM reads that wait for a status (their
        number depends on timing)."""
        return self.sim.requests.total - self.sim.requests.count(
            'GET', r'/vms/[^/]+$')

    def _remove_template_behind_our_back(self):
        """What another service's image cache does: only the engine
        knows."""
        template = self.sim.store.by_name(
            'templates', images.template_name(self.image_id))
        conn = sdk.Connection(url=self.sim.url, username=self.sim.username,
                              password=self.sim.password,
                              ca_file=self.sim.ca_file)
        try:
            conn.system_service().templates_service().template_service(
                template.id).remove()
        finally:
            conn.close()
        return template.id

    def test_remembered_template_removed_behind_our_back(self):
        inst = self.spawn(power_on=False)
        self.pool.destroy(self.context, inst, [])
        gone = self._remove_template_behind_our_back()
        inst = self.spawn(power_on=False)
        template = self.sim.store.by_name(
            'templates', images.template_name(self.image_id))
        self.assertNotEqual(gone, template.id)
        self.assertEqual(template.id, self.sim_vm(inst).template.id)
        self.assertEqual(2, self.images.downloads)
        # The new id is remembered in turn.
        self.sim.requests.reset()
        self.spawn(power_on=False)
        self.assertEqual(0, self.sim.requests.count('GET', r'/templates'))

    def test_remembered_template_replaced_behind_our_back(self):
        """Another service removed the template and made it again: one
        failed add, one look-up, the new template, no upload."""
        inst = self.spawn(power_on=False)
        self.pool.destroy(self.context, inst, [])
        other = self.make_pool()
        other.poller.stop()
        gone = self._remove_template_behind_our_back()
        other.spawn(self.context, self.instance(), self.meta, [], None, {},
                    [], power_on=False)
        self.sim.requests.reset()
        inst = self.spawn(power_on=False)
        template = self.sim.store.by_name(
            'templates', images.template_name(self.image_id))
        self.assertNotEqual(gone, template.id)
        self.assertEqual(template.id, self.sim_vm(inst).template.id)
        self.assertEqual(2, self.sim.requests.count('POST', r'/vms$'))
        self.assertEqual(1, self.sim.requests.count('GET', r'/templates$'))
        self.assertEqual(0, self.sim.requests.bytes_uploaded)

    def test_failed_add_with_a_valid_remembered_template_is_not_retried(self):
        """A failure that is not the template's is raised as it was,
        after one look-up, with one add."""
        self.spawn(power_on=False)
        self.sim.requests.reset()
        self.sim.faults.script_fault(r'/vms$', method='POST', status=400,
                                     reason='Bad Request',
                                     detail='[Injected] bad guest')
        self.assertRaises(Exception, self.spawn, power_on=False)
        self.assertEqual(1, self.sim.requests.count('POST', r'/vms$'))
        self.assertEqual(1, self.sim.requests.count('GET', r'/templates$'))

    def test_concurrent_first_boots_upload_once(self):
        errors = []

        def boot():
            try:
                self.spawn()
            except Exception as e:  # pragma: no cover
                errors.append(e)
        threads = [threading.Thread(target=boot) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual([], errors)
        self.assertEqual(1, self.images.downloads)
        self.assertEqual(3, len(self.pool.list_instance_uuids()))

    def test_destroy_is_idempotent(self):
        inst = self.spawn()
        self.pool.destroy(self.context, inst, [])
        self.assertIsNone(self.sim_vm(inst))
        self.pool.destroy(self.context, inst, [])
        self.assertEqual([], self.pool.list_instance_uuids())
        self.assertFalse(self.pool.instance_exists(inst))
        self.assertRaises(nova_exception.InstanceNotFound,
                          self.pool.get_info, inst, False)

    def test_failed_nic_add_leaves_nothing(self):
        self.spawn(power_on=False)    # the template exists now
        before = (set(self.sim.store.vms), set(self.sim.store.disks))
        self.sim.faults.script_fault(r'/nics$', method='POST', status=409,
                                     reason='Operation Failed',
                                     detail='[Cannot add Interface. Boom.]')
        inst = self.instance()
        e = self.assertRaises(exception.BackendOperationFailed, self.spawn,
                              inst, [self.vif()])
        self.assertIn('Cannot add Interface. Boom.', str(e))
        self.assertEqual(before, (set(self.sim.store.vms),
                                  set(self.sim.store.disks)))
        self.assertNotIn(inst.uuid, self.pool.list_instance_uuids())

    def test_failed_start_leaves_nothing(self):
        self.sim.faults.script_fault(r'/start$', method='POST', status=409,
                                     reason='Operation Failed',
                                     detail='[No host has enough memory]')
        inst = self.instance()
        e = self.assertRaises(exception.BackendOperationFailed, self.spawn,
                              inst)
        self.assertIn('No host has enough memory', str(e))
        self.assertIsNone(self.sim_vm(inst))
        # The template is complete and stays for the next boot.
        self.assertIsNotNone(self.pool.images.find(self.image_id))

    def test_failed_upload_leaves_nothing(self):
        self.sim.faults.fail_transfer_after(64 * 1024)
        self.assertRaises(Exception, self.spawn)
        time.sleep(0.3)   # the engine drops a cancelled upload's disk
        self.assertEqual([], [d for d in self.sim.store.disks.values()
                              if (d.name or '').startswith('nova-image')])
        self.assertIsNone(self.pool.images.find(self.image_id))
        self.assertEqual([], [v for v in self.sim.store.vms.values()
                              if v.name.startswith('nova-image-build')])

    def test_retried_add_finds_first_attempt(self):
        # The add reaches the engine, the answer is lost.
        inst = self.instance()
        vm = self.pool.vmops
        template_id = self.pool.images.template_for(
            self.context, self.meta, self.pool.cluster_id('cluster1'))
        first = vm._add_vm(inst, self.pool.cluster_id('cluster1'),
                           template_id, None)
        found = vm._first_attempt(inst, exception.BackendUnavailable(
            backend='x', target='y', reason='z'))
        self.assertIsNone(found)    # not an SDK transport error
        import ovirtsdk4 as sdk
        found = vm._first_attempt(inst, sdk.ConnectionError('reset'))
        self.assertEqual(first.id, found.id)

    def test_operator_vm_named_like_nova_is_untouched(self):
        inst = self.instance()
        # An operator VM with the very name Nova would use.
        op = self.sim.admin_add_vm(inst.name, 'cluster1',
                                   description='mine')
        other = self.sim.admin_add_vm('nova-lookalike', 'cluster1',
                                      description='nova-ovirt-notreally')
        self.spawn(inst)
        self.assertEqual([inst.uuid], self.pool.list_instance_uuids())
        ours = self.sim_vm(inst)
        self.assertEqual('nova-%s' % inst.uuid, ours.name)
        self.pool.destroy(self.context, inst, [])
        self.assertIn(op.id, self.sim.store.vms)
        self.assertIn(other.id, self.sim.store.vms)
        self.assertEqual(types.VmStatus.UP, self.sim.store.vms[op.id].status)

    def test_vm_of_another_cluster_set_is_not_listed(self):
        inst = self.spawn(node='cluster2')
        narrow = self.make_pool('narrow', clusters=['cluster1'])
        self.assertEqual([], narrow.list_instance_uuids())
        self.assertEqual([inst.uuid], self.pool.list_instance_uuids())


class TestPower(FlowTestCase):

    def test_power_cycle(self):
        inst = self.spawn()
        self.pool.power_off(inst, timeout=5)
        self.assertEqual(power_state.SHUTDOWN, self.state(inst))
        self.pool.power_off(inst)      # already off: fine
        self.pool.power_on(self.context, inst, [])
        self.assertEqual(power_state.RUNNING, self.state(inst))
        self.pool.reboot(self.context, inst, [], 'SOFT')
        self.pool.reboot(self.context, inst, [], 'HARD')
        self.assertEqual(power_state.RUNNING, self.state(inst))
        self.pool.suspend(self.context, inst)
        self.assertEqual(power_state.SUSPENDED, self.state(inst))
        self.pool.resume(self.context, inst, [])
        self.assertEqual(power_state.RUNNING, self.state(inst))
        self.assertRaises(NotImplementedError, self.pool.pause, inst)

    def test_stopped_in_ovirt_ui_shows_in_one_poll(self):
        inst = self.spawn()
        self.queue.events[:] = []
        vm = self.sim_vm(inst)
        self.sim.admin_stop_vm(vm.id)
        self.pool.poller.poll_once()
        stopped = [e for e in self.queue.events
                   if e.transition == virtevent.EVENT_LIFECYCLE_STOPPED]
        self.assertEqual([inst.uuid], [e.uuid for e in stopped])
        # get_info answers from the refreshed cache, no extra request.
        self.sim.requests.reset()
        self.assertEqual(power_state.SHUTDOWN,
                         self.pool.get_info(inst).state)
        self.assertEqual(0, self.sim.requests.total)

    def test_removed_in_ovirt_ui(self):
        inst = self.spawn()
        self.sim.admin_remove_vm(self.sim_vm(inst).id)
        self.sim.requests.reset()
        self.pool.poller.poll_once()
        self.assertNotIn(inst.uuid, self.pool.list_instance_uuids())
        # The removal event names the VM: one GET (404), no listing.
        self.assertEqual(0, self.sim.requests.count('GET', r'/vms$'))

    def test_get_info_of_many_is_one_listing(self):
        insts = [self.spawn(power_on=False) for _ in range(3)]
        self.pool.cache.invalidate()
        self.sim.requests.reset()
        for inst in insts:
            self.assertEqual(power_state.SHUTDOWN,
                             self.pool.get_info(inst).state)
        self.assertEqual(1, self.sim.requests.count('GET', r'/vms$'))
        self.assertEqual(1, self.sim.requests.total)


class TestSnapshotResize(FlowTestCase):

    def test_snapshot_streams_to_glance_and_cleans_up(self):
        inst = self.spawn(root_gb=0)
        states = []
        self.pool.snapshot(self.context, inst, 'snap-image',
                           lambda **kw: states.append(kw['task_state']))
        self.assertEqual([task_states.IMAGE_PENDING_UPLOAD,
                          task_states.IMAGE_UPLOADING], states)
        meta, size, _ = self.images.uploads['snap-image']
        # A qcow2 of the data only: smaller than the half-zero disk.
        self.assertEqual('qcow2', meta['disk_format'])
        self.assertLess(size, len(self.data) * 0.75)
        vm = self.sim_vm(inst)
        time.sleep(0.2)
        self.assertEqual([], self.sim.store.vm_snapshots(vm.id))
        # Zero extents were made locally, not downloaded.
        self.assertLess(self.sim.requests.bytes_downloaded, size)

    def _migration(self, source, dest):
        return objects.Migration(source_node=source, dest_node=dest,
                                 source_compute='compute1',
                                 dest_compute='compute1')

    def _resize(self, inst, dest, vcpus=4, memory_mb=1024, root_gb=2):
        self.pool.migrate_disk_and_power_off(self.context, inst, 'compute1',
                                             None, [])
        inst.old_flavor = inst.flavor
        inst.flavor = objects.Flavor(
            name='m2', flavorid='2', vcpus=vcpus, memory_mb=memory_mb,
            root_gb=root_gb, ephemeral_gb=0, swap=0, extra_specs={})
        migration = self._migration(inst.node, dest)
        self.pool.finish_migration(self.context, migration, inst, '{}', [],
                                   self.meta, True, {}, power_on=True,
                                   source_pool=self.pool)
        inst.node = dest
        return migration

    def test_resize_and_confirm(self):
        inst = self.spawn()
        migration = self._resize(inst, 'cluster2')
        vm = self.sim_vm(inst)
        self.assertEqual(self.pool.cluster_id('cluster2'), vm.cluster.id)
        self.assertEqual(4, vm.cpu.topology.sockets)
        self.assertEqual(types.VmStatus.UP, vm.status)
        disk = self.sim.store.disks[self.sim.store.vm_disk_ids(vm.id)[0]]
        self.assertEqual(2 * GiB, disk.provisioned_size)
        self.pool.confirm_migration(self.context, migration, inst, [])
        time.sleep(0.2)
        self.assertEqual([], self.sim.store.vm_snapshots(vm.id))

    def test_resize_and_revert(self):
        inst = self.spawn()
        migration = self._resize(inst, 'cluster2')
        # nova's revert_resize destroys on the destination first.
        inst.task_state = task_states.RESIZE_REVERTING
        self.pool.destroy(self.context, inst, [])
        self.assertIsNotNone(self.sim_vm(inst))
        inst.flavor = inst.old_flavor
        inst.node = 'cluster1'
        self.pool.finish_revert_migration(self.context, inst, [], migration)
        vm = self.sim_vm(inst)
        self.assertEqual(self.pool.cluster_id('cluster1'), vm.cluster.id)
        self.assertEqual(2, vm.cpu.topology.sockets)
        self.assertEqual(512 * 1024 ** 2, vm.memory)
        self.assertEqual(types.VmStatus.UP, vm.status)

    def _revert(self, inst, migration, destroy=True):
        if destroy:
            inst.task_state = task_states.RESIZE_REVERTING
            self.pool.destroy(self.context, inst, [])
        inst.flavor = inst.old_flavor
        inst.node = 'cluster1'
        self.pool.finish_revert_migration(self.context, inst, [], migration)
        return self.sim_vm(inst)

    def _operator_shape(self, inst):
        """The VM as an operator shaped it before its adoption: its own
        topology and the engine's memory policy (max 4x), with the
        flavor's vCPUs and memory."""
        with self.sim.store.lock:
            vm = self.sim_vm(inst)
            vm.cpu.topology = types.CpuTopology(sockets=1, cores=2,
                                                threads=1)
            vm.memory_policy.guaranteed = 256 * 1024 ** 2
            vm.memory_policy.max = 2 * GiB
        return self.shape(inst)

    def shape(self, inst):
        vm = self.sim_vm(inst)
        topo, policy = vm.cpu.topology, vm.memory_policy
        return (vm.memory, policy.guaranteed, policy.max, topo.sockets,
                topo.cores, topo.threads)

    def test_revert_keeps_the_vms_own_configuration(self):
        inst = self.spawn()
        before = self._operator_shape(inst)
        migration = self._resize(inst, 'cluster2')
        self.assertEqual((GiB, GiB, GiB, 4, 1, 1), self.shape(inst))
        updates = self.sim.requests.count('PUT', r'/vms/[^/]+$')
        vm = self._revert(inst, migration)
        # The restored snapshot's configuration stays as it was; only the
        # cluster moves back.
        self.assertEqual(before, self.shape(inst))
        self.assertEqual(self.pool.cluster_id('cluster1'), vm.cluster.id)
        self.assertEqual(updates + 1, self.sim.requests.count(
            'PUT', r'/vms/[^/]+$'))
        self.assertEqual(types.VmStatus.UP, vm.status)

    def test_revert_without_resize_snapshot_sets_the_flavors_shape(self):
        inst = self.spawn()
        migration = self._resize(inst, 'cluster2')
        vm = self.sim_vm(inst)
        # An engine admin removed the resize snapshot: nothing to restore.
        snap = self.pool.vmops.resize_snapshot(vm.id)
        self.pool.snapshots.remove(vm.id, snap.id)
        # (nova's destroy on the destination first would remove a VM
        # without its resize snapshot: finish_revert alone here.)
        vm = self._revert(inst, migration, destroy=False)
        self.assertEqual((512 * 1024 ** 2, 512 * 1024 ** 2, 512 * 1024 ** 2,
                          2, 1, 1), self.shape(inst))
        self.assertEqual(self.pool.cluster_id('cluster1'), vm.cluster.id)

    def test_attach_detach_interface(self):
        inst = self.spawn()
        port = self.vif()
        self.pool.attach_interface(self.context, inst, self.meta, port)
        vm = self.sim_vm(inst)
        self.assertEqual([port['address']], [
            n.mac.address for n in self.sim.store.vm_nics(vm.id)])
        self.pool.detach_interface(self.context, inst, port)
        self.assertEqual([], self.sim.store.vm_nics(vm.id))


def _client_init(sock):
    """ClientInit; (width, height, bits per pixel, desktop name)."""
    sock.sendall(b'\x01')                                   # shared
    width, height = struct.unpack('>HH', rfb_client.recv(sock, 4))
    bpp = rfb_client.recv(sock, 16)[0]
    (n,) = struct.unpack('>I', rfb_client.recv(sock, 4))
    return width, height, bpp, rfb_client.recv(sock, n).decode()


def _one_update(test, sock, bpp):
    sock.sendall(struct.pack('>BBHHHH', 3, 0, 0, 0, 8, 4))   # not incremental
    test.assertEqual(struct.pack('>BxH', 0, 1), rfb_client.recv(sock, 4))
    test.assertEqual(struct.pack('>HHHHi', 0, 0, 8, 4, 0),
                     rfb_client.recv(sock, 12))
    rfb_client.recv(sock, 8 * 4 * bpp // 8)


class TestConsole(FlowTestCase):
    """get_vnc_console -> the pool's relay -> the simulator's VNC server,
    with real RFB 3.8 handshakes on both sides. The relay's side is
    opened the way nova-novncproxy opens it: ``CONNECT <access path>``."""

    def connect(self, console, path=None):
        """A socket to the relay after nova-novncproxy's CONNECT
        handshake; (socket, status line)."""
        sock = socket.create_connection((console.host, console.port), 10)
        self.addCleanup(sock.close)
        path = console.internal_access_path if path is None else path
        sock.sendall(b'CONNECT %s HTTP/1.1\r\n\r\n' % path.encode())
        answer = b''
        while not answer.endswith(b'\r\n\r\n'):
            chunk = sock.recv(1)
            if not chunk:
                break
            answer += chunk
        return sock, answer.split(b'\r\n')[0].decode()

    def open_console(self, inst):
        console = self.pool.get_vnc_console(self.context, inst)
        sock, status = self.connect(console)
        self.assertEqual('HTTP/1.1 200 OK', status)
        return console, sock

    def login_none(self, sock):
        self.assertEqual(b'RFB 003.008\n', rfb_client.recv(sock, 12))
        sock.sendall(b'RFB 003.008\n')
        self.assertEqual(bytes([1, 1]), rfb_client.recv(sock, 2))  # "none"
        sock.sendall(b'\x01')
        self.assertEqual(struct.pack('>I', 0), rfb_client.recv(sock, 4))

    def assertRefused(self, sock, status):
        self.assertEqual('HTTP/1.1 403 Forbidden', status)
        self.assertEqual(b'', sock.recv(1))        # closed, no RFB byte

    def test_client_gets_none_auth_and_the_vm_screen(self):
        inst = self.spawn()
        console, sock = self.open_console(inst)
        self.assertEqual('127.0.0.1', console.host)
        self.login_none(sock)
        width, height, bpp, name = _client_init(sock)
        self.assertEqual((640, 480), (width, height))
        self.assertEqual(self.sim_vm(inst).name, name)
        _one_update(self, sock, bpp)

    def test_same_port_while_the_token_lives(self):
        # nova-novncproxy checks a token's port by calling get_vnc_console
        # again (validate_console_port): the port must not move.
        inst = self.spawn()
        first = self.pool.get_vnc_console(self.context, inst)
        second = self.pool.get_vnc_console(self.context, inst)
        self.assertEqual((first.host, first.port),
                         (second.host, second.port))
        self.assertNotEqual(first.internal_access_path,
                            second.internal_access_path)
        self.assertGreaterEqual(len(first.internal_access_path), 32)

    def test_reload_connects_again(self):
        # One token, several connections (a reload of the console page).
        inst = self.spawn()
        console = self.pool.get_vnc_console(self.context, inst)
        for _ in range(3):
            sock, status = self.connect(console)
            self.assertEqual('HTTP/1.1 200 OK', status)
            self.login_none(sock)
            self.assertEqual(self.sim_vm(inst).name, _client_init(sock)[3])
            sock.close()

    def test_two_console_urls_both_work(self):
        # Each URL sets the VM's ticket; the second must not lock the
        # first out.
        inst = self.spawn()
        socks = [self.open_console(inst)[1] for _ in range(2)]
        for sock in socks:
            self.login_none(sock)

    def test_connection_without_token_is_refused(self):
        inst = self.spawn()
        console = self.pool.get_vnc_console(self.context, inst)
        # A wrong secret, then a plain VNC client that says nothing.
        self.assertRefused(*self.connect(console, path='x' * 32))
        self.assertRefused(*self.connect(
            console, path=console.internal_access_path[:-1]))
        sock = socket.create_connection((console.host, console.port), 10)
        self.addCleanup(sock.close)
        sock.sendall(b'RFB 003.008\n\r\n\r\n')
        self.assertIn(b'403', rfb_client.recv(sock, 12))
        # The real token still works afterwards.
        sock, status = self.connect(console)
        self.assertEqual('HTTP/1.1 200 OK', status)
        self.login_none(sock)

    def test_expired_token_is_refused(self):
        # Token A expires while token B (a later console URL) lives: the
        # relay stays on its port, refuses A's secret, serves B's.
        self.flags.config(group='consoleauth', token_ttl=2)
        inst = self.spawn()
        old = self.pool.get_vnc_console(self.context, inst)
        sock, status = self.connect(old)
        self.assertEqual('HTTP/1.1 200 OK', status)
        self.login_none(sock)
        self.flags.config(group='consoleauth', token_ttl=600)
        new = self.pool.get_vnc_console(self.context, inst)
        self.assertEqual(old.port, new.port)
        time.sleep(2.5)
        self.assertRefused(*self.connect(old))
        sock2, status = self.connect(new)
        self.assertEqual('HTTP/1.1 200 OK', status)
        self.login_none(sock2)
        # A session opened before the expiry goes on (as nova's own
        # console sessions do unless [consoleauth]
        # enforce_session_timeout is set).
        self.assertEqual(self.sim_vm(inst).name, _client_init(sock)[3])

    def test_relay_closes_when_its_last_token_expires(self):
        self.flags.config(group='consoleauth', token_ttl=1)
        inst = self.spawn()
        console = self.pool.get_vnc_console(self.context, inst)
        time.sleep(1.5)
        self.assertRaises(OSError, socket.create_connection,
                          (console.host, console.port), 5)
        # A new console URL gets a new relay that works.
        self.flags.config(group='consoleauth', token_ttl=600)
        fresh = self.pool.get_vnc_console(self.context, inst)
        sock, status = self.connect(fresh)
        self.assertEqual('HTTP/1.1 200 OK', status)
        self.login_none(sock)

    def test_relay_listens_where_configured(self):
        inst = self.spawn()
        console = self.pool.get_vnc_console(self.context, inst)
        relay = self.pool.consoles._relays[self.sim_vm(inst).id]
        self.assertEqual('127.0.0.1', relay._sock.getsockname()[0])
        self.assertEqual('127.0.0.1', console.host)
        self.flags.config(group=self.pool.group_name,
                          vnc_relay_address='192.0.2.10')
        self.assertEqual('192.0.2.10',
                         self.pool.get_vnc_console(self.context, inst).host)

    def test_stale_ticket_fails_cleanly(self):
        inst = self.spawn()
        console = self.pool.get_vnc_console(self.context, inst)
        # An oVirt admin opens the console in the engine's UI meanwhile:
        # the VM's VNC password is theirs now.
        conn = sdk.Connection(url=self.sim.url, username=self.sim.username,
                              password=self.sim.password,
                              ca_file=self.sim.ca_file)
        self.addCleanup(conn.close)
        vm = self.sim_vm(inst)
        conn.system_service().vms_service().vm_service(vm.id).ticket(
            ticket=types.Ticket(value='theirs', expiry=120))
        sock, _ = self.connect(console)
        self.assertEqual(b'RFB 003.008\n', rfb_client.recv(sock, 12))
        sock.sendall(b'RFB 003.008\n')
        self.assertEqual(b'\x00', rfb_client.recv(sock, 1))  # no sec. types
        self.assertIn('request a new console', rfb_client.reason(sock))
        self.assertEqual(b'', sock.recv(1))

    def test_expired_ticket_fails_cleanly(self):
        inst = self.spawn()
        console = self.pool.get_vnc_console(self.context, inst)
        vm = self.sim_vm(inst)
        with self.sim.store.lock:       # the ticket's time has passed
            vm._sim_ticket = (vm._sim_ticket[0], self.sim.clock.time() - 1)
        sock, _ = self.connect(console)
        rfb_client.recv(sock, 12)
        sock.sendall(b'RFB 003.008\n')
        self.assertEqual(b'\x00', rfb_client.recv(sock, 1))
        self.assertIn('request a new console', rfb_client.reason(sock))

    def test_nova_novncproxy_security_proxy(self):
        """nova's own RFBSecurityProxy (what nova-novncproxy runs) in front
        of the relay, a socketpair playing the browser's side."""
        inst = self.spawn()
        console = self.pool.get_vnc_console(self.context, inst)
        compute, _ = self.connect(console)
        browser, tenant = socket.socketpair()
        self.addCleanup(browser.close)
        self.addCleanup(tenant.close)
        result = {}

        def proxy():
            try:
                result['sock'] = rfb.RFBSecurityProxy().connect(tenant,
                                                                compute)
            except Exception as e:
                result['error'] = e
        thread = threading.Thread(target=proxy)
        thread.start()
        # The browser (noVNC) side of the proxy.
        self.assertEqual(b'RFB 003.008\n', rfb_client.recv(browser, 12))
        browser.sendall(b'RFB 003.008\n')
        self.assertEqual(bytes([1, 1]), rfb_client.recv(browser, 2))
        browser.sendall(b'\x01')
        thread.join(10)
        self.assertNotIn('error', result)
        # From here nova-novncproxy copies bytes both ways; the test reads
        # the relay's side directly.
        server = result['sock']
        self.assertEqual(struct.pack('>I', 0), rfb_client.recv(server, 4))
        width, height, bpp, name = _client_init(server)
        self.assertEqual(self.sim_vm(inst).name, name)
        _one_update(self, server, bpp)

    def test_nova_novncproxy_passes_on_a_refusal(self):
        inst = self.spawn()
        console = self.pool.get_vnc_console(self.context, inst)
        vm = self.sim_vm(inst)
        with self.sim.store.lock:
            vm._sim_ticket = None
        compute, _ = self.connect(console)
        browser, tenant = socket.socketpair()
        self.addCleanup(browser.close)
        self.addCleanup(tenant.close)
        result = {}

        def proxy():
            try:
                rfb.RFBSecurityProxy().connect(tenant, compute)
            except Exception as e:
                result['error'] = e
        thread = threading.Thread(target=proxy)
        thread.start()
        rfb_client.recv(browser, 12)
        browser.sendall(b'RFB 003.008\n')
        self.assertEqual(b'\x00', rfb_client.recv(browser, 1))  # + reason
        self.assertIn('request a new console', rfb_client.reason(browser))
        thread.join(10)
        self.assertIsInstance(result.get('error'),
                              nova_exception.SecurityProxyNegotiationFailed)

    def test_console_of_stopped_vm_is_unavailable(self):
        inst = self.spawn(power_on=False)
        self.assertRaises(nova_exception.ConsoleTypeUnavailable,
                          self.pool.get_vnc_console, self.context, inst)

    def test_no_console_output(self):
        inst = self.spawn(power_on=False)
        self.assertRaises(NotImplementedError,
                          self.pool.get_console_output, self.context, inst)


class TestRescue(FlowTestCase):

    def setUp(self):
        super().setUp()
        data = bytes(range(256)) * 4096
        self.rescue_meta = base.image_meta(self.images.add(data), len(data))

    def attachments(self, vm):
        return [self.sim.store.disk_attachments[i]
                for i in self.sim.store.vm_disk_ids(vm.id)]

    def test_rescue_boots_rescue_disk_and_unrescue_restores(self):
        inst = self.spawn(vifs=[self.vif()])
        vm = self.sim_vm(inst)
        root_id = self.attachments(vm)[0].id
        self.pool.rescue(self.context, inst, [], self.rescue_meta,
                         'rescue-pw', None, None)
        self.assertEqual(power_state.RUNNING, self.state(inst))
        atts = {a.id: a for a in self.attachments(vm)}
        self.assertEqual(2, len(atts))
        self.assertFalse(atts.pop(root_id).bootable)   # kept, to repair
        rescue_att = list(atts.values())[0]
        self.assertTrue(rescue_att.bootable)
        disk = self.sim.store.disks[rescue_att.id]
        self.assertEqual(rescue.RESCUE_MARK + inst.uuid, disk.description)
        # Thin: a layer on the rescue image's template disk.
        tpl = [t for t in self.sim.store.templates.values()
               if t.name == 'nova-image-%s' % self.rescue_meta.id][0]
        tdisk = self.sim.store.disks[
            self.sim.engine.template_disk_ids(tpl.id)[0]]
        self.assertEqual(tdisk.image_id,
                         self.sim.volumes.get(disk.image_id).base.id)
        # The rescue password for this run only; no helper VM left.
        self.assertEqual('rescue-pw', vm._sim_last_run[
            'initialization'].root_password)
        self.assertIsNone(vm.initialization.root_password)
        self.assertEqual([], [v for v in self.sim.store.vms.values()
                              if (v.description or '').startswith(
                                  rescue.BUILD_MARK)])
        self.assertEqual(1, len(self.sim.store.vm_nics(vm.id)))

        self.pool.unrescue(self.context, inst)
        self.assertEqual(power_state.RUNNING, self.state(inst))
        atts = self.attachments(vm)
        self.assertEqual([root_id], [a.id for a in atts])
        self.assertTrue(atts[0].bootable)
        self.assertNotIn(rescue_att.id, self.sim.store.disks)

    def test_rescue_with_the_instance_image(self):
        # nova passes the instance's own image when no rescue image is set.
        inst = self.spawn()
        self.pool.rescue(self.context, inst, [], self.meta, None, None, None)
        self.assertEqual(2, len(self.attachments(self.sim_vm(inst))))
        self.pool.unrescue(self.context, inst)
        self.assertEqual(1, len(self.attachments(self.sim_vm(inst))))

    def test_failed_rescue_puts_root_disk_back(self):
        inst = self.spawn()
        vm = self.sim_vm(inst)
        root_id = self.attachments(vm)[0].id
        # The image's template first: making it attaches a disk too.
        self.pool.images.template_for(self.context, self.rescue_meta,
                                      vm.cluster.id)
        disks = set(self.sim.store.disks)
        self.sim.faults.script_fault(
            r'/vms/[^/]+/diskattachments$', method='POST', status=409,
            reason='Operation Failed',
            detail='[Cannot attach Virtual Disk. Boom.]')
        self.assertRaises(exception.BackendOperationFailed, self.pool.rescue,
                          self.context, inst, [], self.rescue_meta, None,
                          None, None)
        atts = self.attachments(vm)
        self.assertEqual([root_id], [a.id for a in atts])
        self.assertTrue(atts[0].bootable)
        self.assertEqual(disks, set(self.sim.store.disks))   # nothing left
        self.assertEqual(types.VmStatus.DOWN, vm.status)


class TestCrossEngine(FlowTestCase):
    """Resize between pools of two engines: the disk is streamed."""

    def setUp(self):
        super().setUp()
        self.sim2 = base.EngineSimulator(scenario='default',
                                         delays=dict(base.FAST))
        self.sim2.start()
        self.addCleanup(self.sim2.stop)
        # Same cluster names on both engines: each pool exposes one, so
        # node names stay unique (the driver refuses duplicates).
        self.pool.stop()
        self.pool = self.make_pool(clusters=['cluster1'])
        self.pool2 = self.make_pool(
            'engine2', url=self.sim2.url, ca_file=self.sim2.ca_file,
            clusters=['cluster2'])

    def test_move_confirm(self):
        inst = self.spawn(root_gb=0)
        self.pool.migrate_disk_and_power_off(self.context, inst, 'c', None,
                                             [])
        migration = objects.Migration(source_node='cluster1',
                                      dest_node='cluster2')
        self.pool2.finish_migration(self.context, migration, inst, '{}', [],
                                    self.meta, False, {}, power_on=True,
                                    source_pool=self.pool)
        self.assertEqual([inst.uuid], self.pool2.list_instance_uuids())
        new = [v for v in self.sim2.store.vms.values()
               if v.description == vm_cache.mark(inst.uuid)][0]
        self.assertEqual(types.VmStatus.UP, new.status)
        self.assertGreater(self.sim.requests.bytes_downloaded, 0)
        self.assertEqual(self.sim.requests.bytes_downloaded,
                         self.sim2.requests.bytes_uploaded)
        # Until confirm the source keeps its stopped VM for a revert.
        self.assertEqual(types.VmStatus.DOWN, self.sim_vm(inst).status)
        self.pool.confirm_migration(self.context, migration, inst, [])
        self.assertIsNone(self.sim_vm(inst))

    def test_move_revert(self):
        inst = self.spawn(root_gb=0)
        self.pool.migrate_disk_and_power_off(self.context, inst, 'c', None,
                                             [])
        migration = objects.Migration(source_node='cluster1',
                                      dest_node='cluster2')
        self.pool2.finish_migration(self.context, migration, inst, '{}', [],
                                    self.meta, False, {}, power_on=True,
                                    source_pool=self.pool)
        inst.task_state = task_states.RESIZE_REVERTING
        self.pool2.destroy(self.context, inst, [])
        self.assertEqual([], self.pool2.list_instance_uuids())
        self.pool.finish_revert_migration(self.context, inst, [], migration)
        self.assertEqual(types.VmStatus.UP, self.sim_vm(inst).status)
