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

"""Resize between an oVirt pool and a libvirt pool, through the REST API.

The flavors pin the pool (its trait), so a resize moves the server between
the engine simulator and the real libvirtd host. What each side holds is
compared as the guest sees it: the engine's disk data (the simulator's
layers, raw guest data) against the libvirt root volume's guest view
(``qemu-img compare``, which reads the qcow2 through its format). On the
libvirt side the real qemu guest must boot from what arrived and print
its console line.

Servers boot from the real qcow2 test image: the engine receives it in a
``cow`` image transfer and serves its guest data in ``raw`` transfers, as
imageio does.
"""

import hashlib
import json
import os
import subprocess
import tempfile

from nova.tests.functional.api import client as api_client
from ovirtsdk4 import types

from tests import base
from tests.functional import base as fbase
from tests.functional import ovirt_base as obase

#: Flavors of the libvirt pool, with a bigger root disk than the oVirt
#: flavor the server starts with, so that every move grows the disk.
KVM_2G = 'kvm-2g'
E1_3G = 'e1-3g'
GiB = 1024 ** 3


class CrossPoolMoveTest(obase.OvirtPoolFunctionalTestBase):

    TEST_TIMEOUT = 900

    def _create_test_flavors(self):
        super()._create_test_flavors()
        self._create_flavor(
            id=KVM_2G, name='kvm.2g', memory_mb=128, vcpu=1, disk=2,
            ephemeral=0,
            extra_spec={'trait:%s' % fbase.POOL_TRAIT: 'required'})
        self._create_flavor(
            id=E1_3G, name='e1.3g', memory_mb=128, vcpu=1, disk=3,
            ephemeral=0,
            extra_spec={'trait:%s' % obase.OVIRT_TRAIT: 'required'})
        self.flavors = {f['id']: f for f in
                        self.api_fixture.admin_api.get_flavors()}

    # -- what each side holds -------------------------------------------------

    def engine_root(self, server):
        """(disk, layer) of the server's bootable disk in the engine."""
        vm = self.sim_vm(server)
        with self.sim.store.lock:
            boot = [a for a in self.sim.store.disk_attachments.values()
                    if a.vm.id == vm.id and a.bootable]
            self.assertEqual(1, len(boot), 'bootable disks of %s' % vm.id)
            disk = self.sim.store.disks[boot[0].disk.id]
            return disk, self.sim.volumes.get(disk.image_id)

    def engine_digest(self, server):
        disk, layer = self.engine_root(server)
        digest = hashlib.sha256()
        for chunk in layer.iter_read(0, disk.provisioned_size):
            digest.update(chunk)
        return disk.provisioned_size, digest.hexdigest()

    def engine_disk_file(self, server):
        """The engine disk's guest data in a sparse raw file."""
        disk, layer = self.engine_root(server)
        fd, path = tempfile.mkstemp(prefix='engine-disk-', suffix='.raw')
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, 'wb') as f:
            for chunk in layer.iter_read(0, disk.provisioned_size):
                if chunk.count(0) == len(chunk):
                    f.seek(len(chunk), os.SEEK_CUR)
                else:
                    f.write(chunk)
            f.truncate(disk.provisioned_size)
        return path

    def glance_image_file(self, image_id=base.GUEST_IMAGE_ID):
        """The image's bytes as Glance served them (the shared image
        cache of the test fixture may be rebuilt meanwhile)."""
        fd, path = tempfile.mkstemp(prefix='glance-image-')
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, 'wb') as f:
            f.write(self.glance.image_data(image_id))
        return path

    def kvm_host(self):
        return self.host_of_node[obase.KVM_NODE]

    def root_volume_path(self, server):
        return os.path.join(self.kvm_host().images_dir,
                            '%s_disk' % server['id'])

    def qemu_img_info(self, path):
        out = subprocess.run(['qemu-img', 'info', '-U', '--output=json',
                              path], check=True, capture_output=True)
        return json.loads(out.stdout)

    def guest_view_digest(self, path):
        """sha256 of what the guest sees of a libvirt volume."""
        with tempfile.TemporaryDirectory() as tmp:
            raw = os.path.join(tmp, 'view.raw')
            subprocess.run(['qemu-img', 'convert', '-U', '-O', 'raw', path,
                            raw], check=True, capture_output=True)
            digest = hashlib.sha256()
            with open(raw, 'rb') as f:
                for block in iter(lambda: f.read(8 * 1024 * 1024), b''):
                    digest.update(block)
            return os.path.getsize(raw), digest.hexdigest()

    def assertSameGuestData(self, engine_file, volume_path):
        """qemu-img compare: equal where both have data, and the longer
        one holds only zeros beyond the shorter one's end."""
        result = subprocess.run(
            ['qemu-img', 'compare', '-U', '-f', 'raw', engine_file,
             volume_path], capture_output=True, text=True)
        self.assertEqual(0, result.returncode,
                         'engine disk and %s differ: %s %s' % (
                             volume_path, result.stdout, result.stderr))

    def kvm_volumes(self, server):
        return [v for v in self.kvm_host().volume_names()
                if server['id'] in v]

    # -- tests ----------------------------------------------------------------

    def test_ovirt_to_libvirt_revert_then_confirm(self):
        server = self._boot_ovirt()
        source = self.node_of(server)
        self.assertIn(source, obase.CLUSTERS)
        vm_id = self.assertVmStatus(server, 'up').id
        before = self.engine_digest(server)
        self.assertEqual(1 * GiB, before[0])
        # The engine holds the image's guest data, not the qcow2 file.
        self.assertSameGuestData(self.engine_disk_file(server),
                                 self.glance_image_file())

        # Resize onto the libvirt host: the guest boots from the copy.
        server = self._resize_server(server, KVM_2G)
        self.assertEqual(obase.KVM_NODE, self.node_of(server))
        self.assertGuestBooted(server)
        root = self.root_volume_path(server)
        info = self.qemu_img_info(root)
        self.assertEqual('qcow2', info['format'])
        self.assertNotIn('backing-filename', info)
        self.assertEqual(2 * GiB, info['virtual-size'])
        # Sparse: far less on disk than the 2 GiB the guest sees.
        self.assertLess(info['actual-size'], 256 * 1024 ** 2)
        self.assertSameGuestData(self.engine_disk_file(server), root)
        # No scratch volume stays behind.
        self.assertEqual(sorted('%s_%s' % (server['id'], k) for k in
                                ('console.log', 'disk')),
                         sorted(self.kvm_volumes(server)))
        # The source VM waits, stopped and as it was, for confirm or
        # revert: no engine snapshot taken in the downtime.
        self.assertEqual(vm_id, self.assertVmStatus(server, 'down').id)
        self.assertEqual([], self.sim.store.vm_snapshots(vm_id))

        # Revert: the source comes back untouched, the copy goes.
        server = self._revert_resize(server)
        server = self._refresh(server)
        self.assertEqual(source, self.node_of(server))
        self.assertEqual(vm_id, self.assertVmStatus(server, 'up').id)
        self.assertEqual(before, self.engine_digest(server))
        self.assertNoDomain(server['id'])
        self.assertEqual([], self.kvm_volumes(server))
        self.assertUsage(obase.KVM_NODE)
        self.assertUsage(source, obase.E1_TINY)

        # Resize again and confirm: the engine VM and its disk go.
        self._run_periodics()
        disk_id = self.engine_root(server)[0].id
        server = self._resize_server(server, KVM_2G)
        self.assertGuestBooted(server)
        server = self._confirm_resize(server)
        self.assertNoVm(server['id'])
        self.assertNotIn(disk_id, self.sim_disk_ids())
        self.assertDomain(server, 'running')
        self.assertUsage(obase.KVM_NODE, KVM_2G)
        self.assertUsage(source)

        self._delete_and_check(server)
        self.assertNoUsage()

    def test_libvirt_to_ovirt_revert_then_confirm(self):
        server = self._boot(flavor_id='ovirt-pool-kvm')
        self.assertEqual(obase.KVM_NODE, self.node_of(server))
        self.assertGuestBooted(server)
        root = self.root_volume_path(server)
        before = self.guest_view_digest(root)

        # Resize into the engine: the guest data lands as it is.
        server = self._resize_server(server, E1_3G)
        node = self.node_of(server)
        self.assertIn(node, obase.CLUSTERS)
        vm = self.assertVmStatus(server, 'up')
        self.assertVmShape(server, E1_3G)
        disk, _layer = self.engine_root(server)
        self.assertEqual(types.DiskFormat.COW, disk.format)
        self.assertTrue(disk.sparse)
        self.assertEqual(3 * GiB, disk.provisioned_size)
        # The source, stopped, is what the guest saw; the engine holds
        # the same bytes (zeros beyond the old size).
        self.assertEqual(before, self.guest_view_digest(root))
        self.assertSameGuestData(self.engine_disk_file(server), root)
        # The source domain waits, shut off, for confirm or revert.
        self.assertEqual('shutoff', base.DomainView(
            self.kvm_host(), server['id']).state)

        # Revert: the libvirt guest boots again from its untouched disk;
        # the engine keeps nothing.
        engine_disk = disk.id
        server = self._revert_resize(server)
        server = self._refresh(server)
        self.assertEqual(obase.KVM_NODE, self.node_of(server))
        self.assertGuestBooted(server)
        self.assertNoVm(server['id'])
        self.assertNotIn(engine_disk, self.sim_disk_ids())
        self.assertEqual(before, self.guest_view_digest(root))
        self.assertUsage(node)
        self.assertUsage(obase.KVM_NODE, 'ovirt-pool-kvm')

        # Again, and confirm: the libvirt domain and its volumes go.
        self._run_periodics()
        server = self._resize_server(server, E1_3G)
        vm = self.assertVmStatus(server, 'up')
        server = self._confirm_resize(server)
        self.assertNoDomain(server['id'])
        self.assertEqual([], self.kvm_volumes(server))
        self.assertEqual(vm.id, self.assertVmStatus(server, 'up').id)
        self.assertUsage(self.node_of(server), E1_3G)
        self.assertUsage(obase.KVM_NODE)

        self._delete_ovirt(server)
        self.assertNoUsage()

    def test_failed_move_leaves_nothing_behind(self):
        server = self._boot(flavor_id='ovirt-pool-kvm')
        self.assertGuestBooted(server)
        root = self.root_volume_path(server)
        before = self.guest_view_digest(root)
        self._tick()
        vms, disks = set(self.sim.store.vms), self.sim_disk_ids()

        # The image transfer into the engine breaks off midway. No
        # reschedule: the first failure is the move's.
        self.flags(max_attempts=1, group='scheduler')
        self.sim.faults.fail_transfer_after(1024 * 1024)
        resize = {'resize': {'flavorRef': E1_3G}}
        if self.CAST_AS_CALL:
            # Casts are calls in this tier: the destination's failure
            # reaches the API.
            e = self.assertRaises(api_client.OpenStackApiException,
                                  self.api.post_server_action,
                                  server['id'], resize)
            self.assertEqual(500, e.response.status_code)
        else:
            self.api.post_server_action(server['id'], resize)
        server = self._wait_for_state_change(server, 'ERROR')
        self.sim.faults.clear()
        self.assertIn('finish_migration', server['fault']['message'])
        # The engine keeps nothing of the import (the engine drops the
        # disk of a cancelled upload itself, a moment later).
        self.assertNoVm(server['id'])
        base.wait_until(lambda: self.sim_disk_ids() == disks, 15,
                        message='the failed import\'s disk to go')
        self._tick()
        self.assertEqual(vms, set(self.sim.store.vms))
        # The source guest is still there, its disk untouched.
        self.assertEqual('shutoff', base.DomainView(
            self.kvm_host(), server['id']).state)
        self.assertEqual(before, self.guest_view_digest(root))

        # Deleting the server removes the source guest too.
        self._delete_server(server)
        self.assertNoDomain(server['id'])
        self.assertEqual([], self.kvm_volumes(server))
        self.assertNoVm(server['id'])
        self.assertNoUsage()
