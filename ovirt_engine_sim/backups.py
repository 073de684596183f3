"""VM backups and checkpoints (incremental backup API, engine 4.4+).

    POST /vms/{id}/backups  -> initializing -> starting -> ready
    POST .../backups/{id}/finalize -> finalizing -> succeeded
    GET /vms/{id}/checkpoints: one per backup that made a checkpoint

A minimal model from the API model's services/VmBackupsService.java,
VmBackupService.java, VmCheckpointsService.java and types/Backup.java,
Checkpoint.java; fault texts from the engine's AppErrors.properties and
event codes from AuditLogType (VM_BACKUP_STARTED 10790, VM_BACKUP_FINALIZED
10794, VM_BACKUP_SUCCEEDED 10793). A checkpoint is made when every disk of
the backup has ``backup=incremental`` (only qcow2 disks may). Writes to a
disk after a checkpoint are tracked (dirty.py), and the image transfers of
a backup ``from_checkpoint_id`` serve them as imageio's ``context=dirty``
extents. Not modelled: scratch disks, hybrid backups, checkpoint
persistence across a simulator restart.
"""

from ovirtsdk4 import types

from ovirt_engine_sim import dirty
from ovirt_engine_sim import errors
from ovirt_engine_sim.common import USER
from ovirt_engine_sim.model import new_id

B = types.BackupPhase


class BackupOps(object):

    def vm_backups(self, vm_id):
        return sorted((b for b in self.store.backups.values() if b.vm.id == vm_id),
                      key=lambda b: b.creation_date)

    def vm_checkpoints(self, vm_id):
        return sorted((c for c in self.store.checkpoints.values() if c.vm.id == vm_id),
                      key=lambda c: c.creation_date)

    def backup(self, vm_id, backup_id):
        b = self.store.backups.get(backup_id)
        if b is None or b.vm.id != vm_id:
            raise errors.not_found('Backup', backup_id)
        return b

    def add_backup(self, vm_id, backup_in):
        vm = self.vm(vm_id)
        self._check_not_locked(vm, 'backup')
        if backup_in.id and backup_in.id in self.store.backups:
            raise errors.conflict('Cannot backup VM. The specified VM backup ID %s already '
                                  'exists.' % backup_in.id)
        if any(b.phase not in (B.SUCCEEDED, B.FAILED) for b in self.vm_backups(vm.id)):
            raise errors.conflict('Cannot backup VM. The VM backup operation is currently '
                                  'in progress. Please try again later.')
        attached = set(self.store.vm_disk_ids(vm.id))
        disks = []
        for ref in backup_in.disks or []:
            if ref.id not in attached:
                raise errors.not_found('Disk', ref.id)
            disks.append(self.store.disks[ref.id])
        since = backup_in.from_checkpoint_id
        if since:
            if since not in {c.id for c in self.vm_checkpoints(vm.id)}:
                raise errors.conflict("Cannot backup VM. Checkpoint ID %s doesn't exist."
                                      % since)
            raw = [d.id for d in disks if d.format == types.DiskFormat.RAW]
            if raw:
                raise errors.conflict('Cannot backup VM. Incremental backup is not '
                                      'supported for RAW format disks.')
        incremental = bool(disks) and all(d.backup == types.DiskBackup.INCREMENTAL
                                          for d in disks)
        if since and not incremental:
            raise errors.conflict('Cannot backup VM. Incremental backup is disabled for '
                                  'the following disks: %s.' % ', '.join(
                                      d.id for d in disks
                                      if d.backup != types.DiskBackup.INCREMENTAL))
        now = self.store.now()
        b = types.Backup(
            id=backup_in.id or new_id(), phase=B.INITIALIZING, from_checkpoint_id=since,
            to_checkpoint_id=new_id() if incremental else None,
            creation_date=now, modification_date=now, description=backup_in.description,
            vm=types.Vm(id=vm.id), disks=[types.Disk(id=d.id) for d in disks],
            host=types.Host(id=vm.host.id) if vm.host else None)
        self.store.backups[b.id] = b
        self.event(10790, 'Backup %s for VM %s started (User: %s).' % (b.id, vm.name, USER),
                   vm=vm.id)
        self._backup_later(b, 'backup_start', self._backup_starting)
        return b

    def _backup_later(self, b, delay_name, fn):
        backup_id = b.id

        def fire():
            current = self.store.backups.get(backup_id)
            if current is not None:
                fn(current)
        self.store.schedule(delay_name, ('backup', b.id), fire)

    def _backup_starting(self, b):
        b.phase = B.STARTING
        self._backup_later(b, 'backup_start', self._backup_ready)

    def _backup_ready(self, b):
        b.phase = B.READY
        b.modification_date = self.store.now()
        if b.to_checkpoint_id:
            parents = self.vm_checkpoints(b.vm.id)
            self.store.checkpoints[b.to_checkpoint_id] = types.Checkpoint(
                id=b.to_checkpoint_id, parent_id=parents[-1].id if parents else None,
                creation_date=self.store.now(), state=types.CheckpointState.CREATED,
                vm=types.Vm(id=b.vm.id), disks=[types.Disk(id=d.id) for d in b.disks])
        # The backup's point in time: the writes since its from checkpoint
        # end here, and the new checkpoint's start.
        if b.from_checkpoint_id:
            b._sim_dirty = {d.id: self.dirty.dirty_since(b.from_checkpoint_id, d.id)
                            for d in b.disks}
        if b.to_checkpoint_id:
            self.dirty.checkpoint(b.to_checkpoint_id,
                                  [self.store.disks[d.id] for d in b.disks
                                   if d.id in self.store.disks])
        hook = getattr(self, 'on_backup_ready', None)
        if hook is not None:
            # Tests write into the guest's disk here, between rounds.
            hook(b)

    def finalize_backup(self, vm_id, backup_id):
        b = self.backup(vm_id, backup_id)
        if b.phase in (B.FINALIZING, B.SUCCEEDED):
            return b
        if b.phase != B.READY:
            raise errors.conflict('Cannot stop backup VM. The VM backup is not in READY '
                                  'phase, backup phase is %s.' % b.phase.value.upper())
        b.phase = B.FINALIZING
        vm = self.vm(vm_id)
        hook = getattr(self, 'on_backup_finalizing', None)
        if hook is not None:
            # Tests write into the guest's disk here: between two rounds
            # of a reader that finalizes each backup once copied.
            hook(b)
        self.event(10794, 'Backup %s for VM %s finalized (User: %s).'
                   % (b.id, vm.name, USER), vm=vm.id)

        def done(current):
            current.phase = B.SUCCEEDED
            current.modification_date = self.store.now()
            self.store.add_event(10793, 'Backup %s for VM %s completed successfully '
                                 '(User: %s).' % (current.id, vm.name, USER), vm=vm.id)
        self._backup_later(b, 'backup_finalize', done)
        return b

    def backup_ready(self, backup_ref, disk_id):
        """The backup an image transfer names, which must be ready and hold disk_id."""
        b = self.store.backups.get(backup_ref.id)
        if b is None:
            raise errors.conflict('Cannot transfer Virtual Disk. The specified VM backup '
                                  'does not exist.')
        if b.phase != B.READY:
            raise errors.conflict('Cannot transfer Virtual Disk. The VM backup is not in '
                                  'READY phase, backup phase is %s.' % b.phase.value.upper())
        if disk_id not in {d.id for d in b.disks}:
            raise errors.not_found('Disk', disk_id)
        return b

    def _disk_written(self, layer_id, start, end):
        self.dirty.written(self.store.disks, layer_id, start, end)

    def transfer_extents(self, it, context):
        """imageio's extents of an image transfer, or None when the
        context is not available (dirty extents need an incremental
        backup)."""
        layer = it._sim_layer
        if context == 'zero':
            return layer.extents()
        if context != 'dirty' or it.backup is None:
            return None
        b = self.store.backups.get(it.backup.id)
        if b is None or not b.from_checkpoint_id:
            return None
        return dirty.dirty_extents(getattr(b, '_sim_dirty', {}).get(it.disk.id, []),
                                   layer)

    def remove_checkpoint(self, vm_id, checkpoint_id):
        """VmCheckpointService.remove: only the chain's root may go."""
        chain = self.vm_checkpoints(vm_id)
        if checkpoint_id not in {c.id for c in chain}:
            raise errors.not_found('Checkpoint', checkpoint_id)
        if chain[0].id != checkpoint_id:
            raise errors.conflict('Cannot remove VM checkpoint. Only the root '
                                  'checkpoint can be removed.')
        del self.store.checkpoints[checkpoint_id]
        self.dirty.forget(checkpoint_id)
        if len(chain) > 1:
            chain[1].parent_id = None
