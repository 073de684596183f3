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

"""Warm against cold move of one server from an oVirt pool to a libvirt host.

The functional tier's setup (real nova services, the engine simulator,
a private libvirtd with real qemu guests) runs one test that moves two
one server, booted from the real guest image with half of its 1 GiB disk
filled with random data, onto the libvirt node twice: warm (incremental
backup enabled on its disk), then, after a revert, cold (backup disabled:
the driver falls back to the cold path) with the same data. Between two
rounds of the warm move (when a backup is finalized, its copy done) the
"guest" writes 5 % of the disk (random data, new blocks each time).

Printed, from the same run:

* bytes copied in all vs the disk's data at the cutover (goal <= 1.1x);
* bytes copied during the cutover vs the dirty bytes then (goal <= 1.2x);
* downtime (the engine VM down -> the libvirt domain running, both seen
  by one 20 Hz poller) of the warm move against the cold one, and how
  long the merge of the warm copy into the root took after the start.

Run: ``python tools/bench_warm_move.py`` (a few minutes).
"""

import os
import re
import sys
import threading
import time
import unittest

os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from ovirtsdk4 import types  # noqa: E402

from tests import base  # noqa: E402
from tests.functional import test_moves  # noqa: E402
from tests.functional import test_warm_move  # noqa: E402

GiB = 1024 ** 3
MiB = 1024 ** 2
SHARE = 0.05
# Past the test image's partitions, so that the guest still boots.
FILL_AREA = 256 * MiB
FILL = 512 * MiB
WRITE_AREA = FILL_AREA + FILL


class Downtime(threading.Thread):
    """Engine VM down -> libvirt domain running, polled at 20 Hz."""

    def __init__(self, test, vm_id, server_id):
        super().__init__(daemon=True)
        self.test, self.vm_id, self.server_id = test, vm_id, server_id
        self.down_at = self.running_at = None
        self.done = threading.Event()

    def run(self):
        view = base.DomainView(self.test.kvm_host(), self.server_id)
        while not self.done.is_set() and self.running_at is None:
            now = time.monotonic()
            if self.down_at is None:
                with self.test.sim.store.lock:
                    self.test.sim.store.tick()
                    vm = self.test.sim.store.vms.get(self.vm_id)
                    if vm is not None and vm.status == types.VmStatus.DOWN:
                        self.down_at = now
            elif view.state == 'running':
                self.running_at = now
            time.sleep(0.05)

    def seconds(self):
        self.done.set()
        self.join(10)
        if self.down_at is None or self.running_at is None:
            return None
        return self.running_at - self.down_at


class WarmMoveBench(test_warm_move.WarmMoveTest):

    test_adopted_vm_warm_move_then_revert = None
    test_cold_when_backup_is_not_enabled = None
    TEST_TIMEOUT = 1800

    def enable_incremental_backup(self, server):
        """What an oVirt admin does on the disk before moving it."""
        disk, _layer = self.engine_root(server)
        with self.sim.store.lock:
            self.sim.engine.update_disk(
                disk.id, types.Disk(backup=types.DiskBackup.INCREMENTAL))

    def write_share_between_rounds(self, vm_id, size):
        chunk = int(size * SHARE)

        def on_backup_finalizing(backup):
            vm = self.sim.store.vms.get(vm_id)
            if backup.vm.id != vm_id or vm.status != types.VmStatus.UP:
                return
            offset = WRITE_AREA + len(self.guest_writes) * chunk
            self.sim.guest_write(vm_id, offset, os.urandom(chunk))
            self.guest_writes.append((offset, chunk))
        self.sim.engine.on_backup_finalizing = on_backup_finalizing
        self.addCleanup(setattr, self.sim.engine, 'on_backup_finalizing',
                        None)

    def move(self, server):
        vm_id = self.sim_vm(server).id
        poller = Downtime(self, vm_id, server['id'])
        poller.start()
        started = time.monotonic()
        server = self._resize_server(server, test_moves.KVM_2G)
        took = time.monotonic() - started
        self.assertGuestBooted(server)
        return server, poller.seconds(), took

    def fill(self, vm_id):
        for offset in range(FILL_AREA, FILL_AREA + FILL, 64 * MiB):
            self.sim.guest_write(vm_id, offset, os.urandom(64 * MiB))

    def test_bench(self):
        server = self._boot_ovirt(name='moved')
        size = self.engine_root(server)[0].provisioned_size
        self.assertEqual(1 * GiB, size)
        vm_id = self.sim_vm(server).id
        self.fill(vm_id)
        self.enable_incremental_backup(server)
        self.write_share_between_rounds(vm_id, size)

        server, warm_down, warm_took = self.move(server)
        with self.sim.store.lock:
            data = self.engine_root(server)[1].data_bytes()
        m = re.search(r'Warm move of %s: (\d+) rounds, (\d+) bytes copied in '
                      r'all, (\d+) during the cutover \((\d+) dirty\)' %
                      server['id'], self.stdlog.logger.output)
        rounds, copied, last, dirty = (int(g) for g in m.groups())
        logged = float(re.search(r'Warm move of %s done: downtime ([0-9.]+)s'
                                 % server['id'],
                                 self.stdlog.logger.output).group(1))
        merged = re.search(r'Warm copy of %s merged into its root disk in '
                           r'([0-9.]+)s' % server['id'],
                           self.stdlog.logger.output)
        self.assertSameGuestData(self.engine_disk_file(server),
                                 self.root_volume_path(server))

        # The same server, same data, cold.
        server = self._revert_resize(server)
        self.sim.engine.on_backup_finalizing = None
        disk = self.engine_root(server)[0]
        with self.sim.store.lock:
            self.sim.engine.update_disk(
                disk.id, types.Disk(backup=types.DiskBackup.NONE))
        self._run_periodics()
        server, cold_down, cold_took = self.move(server)
        self.assertSameGuestData(self.engine_disk_file(server),
                                 self.root_volume_path(server))

        out = sys.__stdout__
        out.write('\nWarm move, 1 GiB disk, %d %% written between rounds\n'
                  % (SHARE * 100))
        for line in re.findall(r'Warm move of VM \S+, round .*',
                               self.stdlog.logger.output):
            out.write('  %s\n' % line)
        out.write('  rounds: %d; disk data at cutover: %.1f MiB\n'
                  % (rounds, data / MiB))
        out.write('  copied in all: %.1f MiB = %.3fx the data (goal <= 1.1)'
                  '\n' % (copied / MiB, copied / data))
        out.write('  cutover: %.1f MiB copied for %.1f MiB dirty = %.3fx '
                  '(goal <= 1.2)\n' % (last / MiB, dirty / MiB,
                                       last / dirty if dirty else 0))
        out.write('  downtime (VM down -> domain running): warm %.2fs '
                  '(driver log %.2fs), cold %.2fs = %.2fx\n' % (
                      warm_down, logged, cold_down, warm_down / cold_down))
        out.write('  merge into the root after the start: %s\n' % (
            '%ss' % merged.group(1) if merged else 'none'))
        out.write('  whole resize call: warm %.1fs, cold %.1fs\n'
                  % (warm_took, cold_took))
        out.flush()


if __name__ == '__main__':
    suite = unittest.TestLoader().loadTestsFromTestCase(WarmMoveBench)
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=1).run(
        suite)
    sys.exit(0 if result.wasSuccessful() else 1)
