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

"""Warm move of a server's root disk to another pool (pre-copy).

Before the power-off of a resize or cold migration, the running VM's root
disk is copied into the destination's storage in rounds of the engine's
incremental backup API: a full backup first (the disk's data extents),
then backups from the previous checkpoint that carry only the blocks the
guest wrote meanwhile (imageio's ``context=dirty`` extents). Rounds go on
while the delta shrinks; then the VM is powered off and the last delta
copied, so the downtime covers that delta only. The destination reads
the result from where it landed instead of downloading the disk again.
"""

import contextlib
import time

from oslo_log import log as logging
from oslo_utils import units

from nova_ovirt.pools.ovirt import backup as ovirt_backup
from nova_ovirt.pools.ovirt import transfer as ovirt_transfer

LOG = logging.getLogger(__name__)

# A delta this small is copied during the cutover: one more round costs a
# backup and a transfer set-up (seconds on an engine) while such a delta
# copies in about as long, so it would no longer shorten the downtime.
CUTOVER_DELTA = 64 * units.Mi
# A round must leave at most this share of the previous delta; otherwise
# the guest writes about as fast as we copy and more rounds add load on
# the engine and storage without shortening the cutover.
SHRINK = 0.8
# An upper bound whatever the guest does: every round holds a backup open
# on the engine and re-reads what the guest rewrote.
MAX_ROUNDS = 6


class Round(object):
    def __init__(self, number, kind):
        self.number = number
        self.kind = kind          # 'full', 'incremental' or 'cutover'
        self.dirty = 0            # bytes the backup reported changed
        self.copied = 0           # bytes read from the engine and written
        self.zeroed = 0           # changed bytes that are zeros now
        self.seconds = 0.0

    def as_dict(self):
        return {'round': self.number, 'kind': self.kind, 'dirty': self.dirty,
                'copied': self.copied, 'zeroed': self.zeroed,
                'seconds': round(self.seconds, 3)}


class WarmCopy(object):
    """Rounds of backups of one VM's root disk into target.

    target has ``write(offset, data)`` and ``zero(offset, length)``.
    """

    def __init__(self, pool, vm_id, disk, target):
        self.pool = pool
        self.vm_id = vm_id
        self.disk = disk
        self.target = target
        self.backups = ovirt_backup.Backups(pool.session, pool.spawn_timeout)
        self.rounds = []
        self.checkpoint = None
        self.power_off_at = None

    def run(self, power_off):
        """Copy while running, call power_off(), copy the last delta."""
        try:
            self._round('full')
            previous = None
            while len(self.rounds) < MAX_ROUNDS:
                current = self._round('incremental')
                if current.dirty <= CUTOVER_DELTA or (
                        previous is not None and
                        current.dirty > previous * SHRINK):
                    break
                previous = current.dirty
            self.power_off_at = time.time()
            power_off()
            self._round('cutover')
        finally:
            self.backups.remove_checkpoints(self.vm_id)
        return self.summary()

    def summary(self):
        return {'rounds': [r.as_dict() for r in self.rounds],
                'copied': sum(r.copied for r in self.rounds),
                'cutover_copied': self.rounds[-1].copied,
                'cutover_dirty': self.rounds[-1].dirty,
                'power_off_at': self.power_off_at}

    def _round(self, kind):
        started = time.monotonic()
        rnd = Round(len(self.rounds) + 1, kind)
        backup = self.backups.start(self.vm_id, self.disk.id,
                                    from_checkpoint_id=self.checkpoint)
        try:
            self._copy(backup, rnd)
        finally:
            self.backups.finalize_quietly(self.vm_id, backup.id)
        self.checkpoint = backup.to_checkpoint_id
        rnd.seconds = time.monotonic() - started
        self.rounds.append(rnd)
        LOG.info('Warm move of VM %(vm)s, round %(n)d (%(kind)s): '
                 '%(dirty)d bytes dirty, %(copied)d bytes copied, %(zeroed)d '
                 'bytes zeroed in %(sec).1fs',
                 {'vm': self.vm_id, 'n': rnd.number, 'kind': kind,
                  'dirty': rnd.dirty, 'copied': rnd.copied,
                  'zeroed': rnd.zeroed, 'sec': rnd.seconds})
        return rnd

    def _copy(self, backup, rnd):
        """A full round copies the disk's data (the target starts as
        holes); an incremental one what changed since the checkpoint,
        zeroing what became zeros."""
        with self.pool.transfers.download_client(
                disk_id=self.disk.id, backup_id=backup.id) as client:
            client.options()
            if backup.from_checkpoint_id:
                ranges = [(ext['start'], ext['length'], bool(ext.get('zero')))
                          for ext in client.extents('dirty')
                          if ext.get('dirty')]
                rnd.dirty = sum(length for _, length, _ in ranges)
            else:
                ranges = ovirt_transfer.data_ranges(
                    client, self.disk.provisioned_size)
                rnd.dirty = self.disk.provisioned_size
            # closing: the reader thread stops before the client closes,
            # also when the target fails half-way.
            with contextlib.closing(ovirt_transfer.stream_runs(
                    client, ranges)) as runs:
                for offset, data, length in runs:
                    if data is not None:
                        self.target.write(offset, data)
                        rnd.copied += length
                    elif backup.from_checkpoint_id:
                        self.target.zero(offset, length)
                        rnd.zeroed += length
