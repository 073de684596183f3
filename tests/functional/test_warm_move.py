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

"""Warm move of a server from an oVirt pool onto a libvirt host.

The warm test starts where an oVirt operator starts: a VM that already
runs in the engine, its disk holding the real test guest, adopted by
``nova-ovirt-manage adopt`` (no power action), then moved. The root disk
is pre-copied from the engine's incremental backups while the VM runs;
the test stands in for the guest by writing into the running VM's disk
each time a backup becomes ready (the simulator's hook), so every round
has a delta. The real qemu guest must boot on the libvirt
host from what arrived, and that disk must hold what the engine's disk
held at the cutover.
"""

import os
import re

from ovirtsdk4 import types

from tests.functional import base as fbase
from tests.functional import ovirt_base as obase
from tests.functional import test_adopt
from tests.functional import test_moves

MiB = 1024 ** 2
GiB = 1024 ** 3
# Guest writes land near the end of the 1 GiB disk, past the test image's
# partitions, so that the guest still boots from its disk.
WRITE_AREA = 900 * MiB
WRITE_SIZE = 3 * MiB


class WarmMoveTest(test_adopt.OperatorVmMixin, test_moves.CrossPoolMoveTest):

    # The cold moves' tests run in test_moves, not again here.
    test_ovirt_to_libvirt_revert_then_confirm = None
    test_libvirt_to_ovirt_revert_then_confirm = None
    test_failed_move_leaves_nothing_behind = None

    def setUp(self):
        super().setUp()
        self.guest_writes = []   # (offset, length) written while up

    def write_between_rounds(self, vm_id):
        """At each ready backup of the running VM, the guest writes."""
        def on_backup_ready(backup):
            vm = self.sim.store.vms.get(vm_id)
            if backup.vm.id != vm_id or vm.status != types.VmStatus.UP:
                return
            offset = WRITE_AREA + len(self.guest_writes) * WRITE_SIZE
            self.sim.guest_write(vm_id, offset, os.urandom(WRITE_SIZE))
            self.guest_writes.append((offset, WRITE_SIZE))
        self.sim.engine.on_backup_ready = on_backup_ready
        self.addCleanup(setattr, self.sim.engine, 'on_backup_ready', None)

    def warm_log(self, server):
        vm = self.sim_vm(server)
        rounds = re.findall(
            r'Warm move of VM %s, round (\d+) \((\w+)\): (\d+) bytes dirty, '
            r'(\d+) bytes copied' % vm.id, self.stdlog.logger.output)
        return [(int(n), kind, int(dirty), int(copied))
                for n, kind, dirty, copied in rounds]

    def test_adopted_vm_warm_move_then_revert(self):
        # A 1 GiB qcow2 disk with incremental backup enabled, the test
        # guest in its first megabytes; adopted while it runs.
        vm = self.make_running_vm(
            name='legacy1', vcpus=1, memory_mb=128, nics=0,
            disk_data=self.guest_raw(), size=GiB,
            fmt=types.DiskFormat.COW, backup=types.DiskBackup.INCREMENTAL)
        server_id = self.manager.adopt([vm], fbase.COMPUTE_HOST)[vm.id]
        self.assertIsNotNone(server_id, self.out.getvalue())
        self.assertEqual(0, self.power_actions_since_made(vm.id))
        server = self.admin_api.get_server(server_id)
        source = self.node_of(server)
        vm_id = self.assertVmStatus(server, 'up').id
        self.assertEqual(vm.id, vm_id)
        self.write_between_rounds(vm_id)

        server = self._resize_server(server, test_moves.KVM_2G)
        self.assertEqual(obase.KVM_NODE, self.node_of(server))
        self.assertGuestBooted(server)

        # Full round, incremental rounds while the VM ran, then the
        # cutover: it copied exactly the guest's last write.
        rounds = self.warm_log(server)
        kinds = [kind for _n, kind, _d, _c in rounds]
        self.assertEqual('full', kinds[0])
        self.assertEqual('cutover', kinds[-1])
        self.assertGreaterEqual(kinds.count('incremental'), 1)
        self.assertEqual(len(kinds) - 1, len(self.guest_writes))
        for (_n, kind, dirty, copied), (_off, length) in zip(
                rounds[1:], self.guest_writes):
            self.assertEqual((length, length), (dirty, copied), kind)
        # The downtime ended with the guest's start; the warm copy was
        # merged into its root only then, while the guest ran.
        log = self.stdlog.logger.output
        done = re.search(r'Warm move of %s done: downtime [0-9.]+s' %
                         server['id'], log)
        merged = re.search(r'Warm copy of %s merged into its root disk in '
                           r'[0-9.]+s while the guest ran' % server['id'],
                           log)
        self.assertIsNotNone(done, 'no downtime logged')
        self.assertIsNotNone(merged, 'warm copy not merged')
        self.assertLess(done.start(), merged.start())
        self.assertNotIn('Converting the root disk of %s' % server['id'],
                         log)

        # The libvirt disk is the engine disk at the cutover (the source
        # VM has been down since), guest writes included.
        root = self.root_volume_path(server)
        engine_file = self.engine_disk_file(server)
        self.assertSameGuestData(engine_file, root)
        with open(engine_file, 'rb') as f:
            f.seek(self.guest_writes[-1][0])
            self.assertNotEqual(bytes(WRITE_SIZE), f.read(WRITE_SIZE))
        # Neither the scratch volume nor a checkpoint stays behind, the
        # root stands alone (as a cold move leaves it) and the engine took
        # no resize snapshot.
        self.assertEqual(sorted('%s_%s' % (server['id'], k) for k in
                                ('console.log', 'disk')),
                         sorted(self.kvm_volumes(server)))
        root_info = self.qemu_img_info(root)
        self.assertEqual('qcow2', root_info['format'])
        self.assertNotIn('backing-filename', root_info)
        with self.sim.store.lock:
            self.assertEqual([], self.sim.engine.vm_checkpoints(vm_id))
        self.assertEqual([], self.sim.store.vm_snapshots(vm_id))
        self.assertEqual(vm_id, self.assertVmStatus(server, 'down').id)
        at_cutover = self.engine_digest(server)

        # Revert before confirm: the untouched VM runs in oVirt again.
        server = self._revert_resize(server)
        server = self._refresh(server)
        self.assertEqual(source, self.node_of(server))
        self.assertEqual(vm_id, self.assertVmStatus(server, 'up').id)
        self.assertEqual(at_cutover, self.engine_digest(server))
        self.assertNoDomain(server['id'])
        self.assertEqual([], self.kvm_volumes(server))

        self._delete_ovirt(server)
        self.assertNoUsage()

    def test_cold_when_backup_is_not_enabled(self):
        server = self._boot_ovirt()
        server = self._resize_server(server, test_moves.KVM_2G)
        self.assertGuestBooted(server)
        self.assertIn('Cold move of %s (no warm pre-copy): incremental '
                      'backup is not enabled' % server['id'],
                      self.stdlog.logger.output)
        self.assertEqual([], self.warm_log(server))
        self.assertSameGuestData(self.engine_disk_file(server),
                                 self.root_volume_path(server))
        self._delete_and_check(server)
