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

"""Warm pre-copy of a running VM's root disk (pools/ovirt/warm.py), against
the engine simulator's backups, checkpoints and dirty extents. The target
is a plain file standing in for the destination's scratch volume."""

import os
import tempfile

import fixtures
from oslo_serialization import jsonutils
from ovirtsdk4 import types

from nova import exception as nova_exception

from nova_ovirt.pools.ovirt import vmops as ovirt_vmops
from tests.unit.pools.ovirt import test_vmops

MiB = 1024 ** 2


class FileTarget(object):
    """The destination side's target interface, into a sparse file."""

    def __init__(self, size, fail_after=None):
        fd, self.path = tempfile.mkstemp(prefix='warm-target-')
        os.close(fd)
        with open(self.path, 'r+b') as f:
            f.truncate(size)
        self.name = os.path.basename(self.path)
        self.written = 0
        self.fail_after = fail_after
        self.state = 'open'

    def write(self, offset, data):
        if self.fail_after is not None and self.written >= self.fail_after:
            raise IOError('destination storage full')
        with open(self.path, 'r+b') as f:
            f.seek(offset)
            f.write(data)
        self.written += len(data)

    def zero(self, offset, length):
        self.write(offset, bytes(length))

    def close(self):
        self.state = 'closed'

    def abort(self):
        self.state = 'aborted'

    def read(self):
        with open(self.path, 'rb') as f:
            return f.read()


class WarmCopyTest(test_vmops.FlowTestCase):

    def setUp(self):
        super().setUp()
        self.targets = []
        self.writes = []

    def open_target(self, size, fail_after=None):
        target = FileTarget(size, fail_after)
        self.addCleanup(os.unlink, target.path)
        self.targets.append(target)
        return target

    def root_disk(self, inst):
        vm = self.sim_vm(inst)
        with self.sim.store.lock:
            att = [a for a in self.sim.store.disk_attachments.values()
                   if a.vm.id == vm.id and a.bootable][0]
            return self.sim.store.disks[att.id]

    def enable_incremental(self, inst):
        with self.sim.store.lock:
            self.sim.engine.update_disk(
                self.root_disk(inst).id,
                types.Disk(backup=types.DiskBackup.INCREMENTAL))

    def guest_writes_between_rounds(self, inst, size):
        vm_id = self.sim_vm(inst).id

        def on_finalizing(backup):
            if self.sim.store.vms[vm_id].status != types.VmStatus.UP:
                return
            offset = (1 + len(self.writes)) * 2 * size
            self.sim.guest_write(vm_id, offset, os.urandom(size))
            self.writes.append(size)
        self.sim.engine.on_backup_finalizing = on_finalizing
        self.addCleanup(setattr, self.sim.engine, 'on_backup_finalizing',
                        None)

    def engine_bytes(self, inst):
        disk = self.root_disk(inst)
        with self.sim.store.lock:
            return self.sim.engine.layer(disk).read(0, disk.provisioned_size)

    def checkpoints(self, inst):
        with self.sim.store.lock:
            return self.sim.engine.vm_checkpoints(self.sim_vm(inst).id)

    def resize_snapshots(self, inst):
        return [s for s in self.sim.store.vm_snapshots(self.sim_vm(inst).id)
                if s.description == ovirt_vmops.RESIZE_MARK]

    def test_rounds_then_cutover_copy_only_the_delta(self):
        inst = self.spawn(root_gb=0)
        self.enable_incremental(inst)
        self.guest_writes_between_rounds(inst, 64 * 1024)
        info = jsonutils.loads(self.pool.migrate_disk_and_power_off(
            self.context, inst, 'c', None, [],
            leaves_pool=True, open_warm_target=self.open_target))
        summary = info['warm']
        kinds = [r['kind'] for r in summary['rounds']]
        self.assertEqual(['full', 'incremental', 'cutover'], kinds)
        # Each write between rounds is the next round's delta, no more.
        self.assertEqual(self.writes, [r['copied']
                                       for r in summary['rounds'][1:]])
        self.assertEqual(self.writes[-1], summary['cutover_copied'])
        self.assertEqual(self.targets[0].name, summary['scratch'])
        self.assertEqual('closed', self.targets[0].state)
        self.assertEqual(types.VmStatus.DOWN, self.sim_vm(inst).status)
        # The target holds the disk as it was at the power-off.
        self.assertEqual(self.engine_bytes(inst), self.targets[0].read())
        self.assertEqual([], self.checkpoints(inst))
        # Nothing more on the engine in the downtime: the VM moves to
        # another pool and stays as it is for a revert.
        self.assertEqual([], self.resize_snapshots(inst))

    def test_delta_that_does_not_shrink_ends_the_rounds(self):
        inst = self.spawn(root_gb=0)
        self.enable_incremental(inst)
        # Above the cutover threshold every time, never smaller.
        self.useFixture(fixtures.MonkeyPatch(
            'nova_ovirt.pools.ovirt.warm.CUTOVER_DELTA', 1024))
        self.guest_writes_between_rounds(inst, 64 * 1024)
        info = jsonutils.loads(self.pool.migrate_disk_and_power_off(
            self.context, inst, 'c', None, [],
            leaves_pool=True, open_warm_target=self.open_target))
        kinds = [r['kind'] for r in info['warm']['rounds']]
        self.assertEqual(['full', 'incremental', 'incremental', 'cutover'],
                         kinds)
        self.assertEqual(self.engine_bytes(inst), self.targets[0].read())

    def test_cold_when_backup_is_not_enabled(self):
        inst = self.spawn(root_gb=0)
        info = jsonutils.loads(self.pool.migrate_disk_and_power_off(
            self.context, inst, 'c', None, [],
            leaves_pool=True, open_warm_target=self.open_target))
        self.assertNotIn('warm', info)
        self.assertEqual([], self.targets)
        self.assertEqual(types.VmStatus.DOWN, self.sim_vm(inst).status)
        # A cold move to another pool leaves the VM as it is for a revert:
        # no engine snapshot in the downtime either.
        self.assertEqual([], self.resize_snapshots(inst))
        with self.sim.store.lock:
            self.assertEqual([], self.sim.engine.vm_backups(
                self.sim_vm(inst).id))

    def test_resize_in_the_pool_keeps_a_resize_snapshot(self):
        # The VM itself changes (flavor, cluster): revert restores it.
        inst = self.spawn(root_gb=0)
        self.pool.migrate_disk_and_power_off(self.context, inst, 'c', None,
                                             [])
        self.assertEqual(types.VmStatus.DOWN, self.sim_vm(inst).status)
        self.assertEqual(1, len(self.resize_snapshots(inst)))

    def test_failed_copy_leaves_the_vm_running_and_nothing_behind(self):
        inst = self.spawn(root_gb=0)
        self.enable_incremental(inst)
        self.guest_writes_between_rounds(inst, 64 * 1024)

        def open_failing(size):
            return self.open_target(size, fail_after=1)
        self.assertRaises(nova_exception.InstanceFaultRollback,
                          self.pool.migrate_disk_and_power_off,
                          self.context, inst, 'c', None, [],
                          leaves_pool=True, open_warm_target=open_failing)
        self.assertEqual('aborted', self.targets[0].state)
        self.assertEqual(types.VmStatus.UP, self.sim_vm(inst).status)
        self.assertEqual([], self.checkpoints(inst))
        with self.sim.store.lock:
            self.assertEqual({types.BackupPhase.SUCCEEDED}, {
                b.phase for b in self.sim.engine.vm_backups(
                    self.sim_vm(inst).id)})
