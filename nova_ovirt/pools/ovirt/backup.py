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

"""The engine's incremental backup API (engine 4.4+), for warm moves.

A backup of a running VM's disk makes a checkpoint (when the disk has
``backup=incremental``); a backup ``from_checkpoint_id`` exposes only the
blocks written since, as imageio's ``context=dirty`` extents of an image
transfer that names the backup.
"""

import time

from oslo_log import log as logging
from ovirtsdk4 import types

from nova import exception as nova_exception

from nova_ovirt.pools.ovirt import session as ovirt_session

LOG = logging.getLogger(__name__)

_B = types.BackupPhase


def incremental_refusal(disk):
    """Why disk cannot have incremental backups, or None when it can."""
    if disk.format != types.DiskFormat.COW:
        return 'its root disk %s is %s (incremental backup needs qcow2)' % (
            disk.id, disk.format.value if disk.format else 'of no format')
    if disk.backup != types.DiskBackup.INCREMENTAL:
        return ('incremental backup is not enabled on its root disk %s '
                '(disk property backup=incremental)' % disk.id)
    return None


class Backups(object):
    # Polls start short and back off: a backup is ready in seconds on an
    # engine, and every wait of the cutover is downtime.
    def __init__(self, session, timeout, poll=0.05, longest_poll=1.0):
        self._session = session
        self._timeout = timeout
        self._poll = poll
        self._longest_poll = longest_poll

    def _vm(self, system, vm_id):
        return system.vms_service().vm_service(vm_id)

    def start(self, vm_id, disk_id, from_checkpoint_id=None):
        """A backup of disk_id, once ready (its checkpoint made)."""
        backup = self._session.write(
            lambda system: self._vm(system, vm_id).backups_service().add(
                types.Backup(disks=[types.Disk(id=disk_id)],
                             from_checkpoint_id=from_checkpoint_id),
                query=ovirt_session.q()))
        return self._wait(vm_id, backup.id, (_B.READY,),
                          'backup %s to be ready' % backup.id)

    def finalize(self, vm_id, backup_id):
        self._session.write(
            lambda system: self._vm(system, vm_id).backups_service()
            .backup_service(backup_id).finalize(query=ovirt_session.q()))
        return self._wait(vm_id, backup_id, (_B.SUCCEEDED,),
                          'backup %s to finish' % backup_id)

    def finalize_quietly(self, vm_id, backup_id):
        try:
            self.finalize(vm_id, backup_id)
        except Exception as e:
            LOG.warning('Finalizing backup %s of VM %s: %s', backup_id,
                        vm_id, ovirt_session.fault_text(e))

    def _wait(self, vm_id, backup_id, phases, what):
        deadline = time.monotonic() + self._timeout
        delay = self._poll
        while True:
            backup = self._session.read(
                lambda system: self._vm(system, vm_id).backups_service()
                .backup_service(backup_id).get())
            if backup.phase in phases:
                return backup
            if backup.phase == _B.FAILED:
                raise nova_exception.ResizeError(
                    reason='backup %s of VM %s failed' % (backup_id, vm_id))
            if time.monotonic() > deadline:
                raise nova_exception.ResizeError(
                    reason='timed out after %ds waiting for %s' % (
                        self._timeout, what))
            time.sleep(delay)
            delay = min(self._longest_poll, delay * 1.6)

    def remove_checkpoints(self, vm_id):
        """Remove the VM's checkpoints, root first (the engine's order)."""
        checkpoints = self._session.read(
            lambda system: self._vm(system, vm_id).checkpoints_service()
            .list())
        for cp in checkpoints:
            try:
                self._session.write(
                    lambda system: self._vm(system, vm_id)
                    .checkpoints_service().checkpoint_service(cp.id)
                    .remove(query=ovirt_session.q()))
            except Exception as e:
                LOG.warning('Removing checkpoint %s of VM %s: %s', cp.id,
                            vm_id, ovirt_session.fault_text(e))
                return
