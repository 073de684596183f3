"""Disks, disk attachments, snapshots, templates and image transfers."""

import copy
import uuid

from ovirtsdk4 import types

from ovirt_engine_sim import common
from ovirt_engine_sim import errors
from ovirt_engine_sim import qcow2
from ovirt_engine_sim.common import USER
from ovirt_engine_sim.model import new_id
from ovirt_engine_sim.model import stable_id

DS = types.DiskStatus
S = types.VmStatus
P = types.ImageTransferPhase


class StorageOps(object):

    # -- disks ------------------------------------------------------------

    def disk(self, disk_id):
        return self.get('disks', disk_id, 'Disk')

    def layer(self, disk):
        return self.volumes.get(disk.image_id)

    def _new_disk(self, disk_in, sd, layer_base=None, copy_from=None):
        """A disk record plus its top layer (empty, thin on base, or a copy)."""
        disk_id = disk_in.id or new_id()
        image_id = new_id()
        size = disk_in.provisioned_size
        copied = 0
        if copy_from is not None:
            _, copied = self.volumes.copy(image_id, copy_from)
            self.counter.add_bytes(copied=copied)
        else:
            self.volumes.create(image_id, size, base=layer_base)
        # format is required for disk adds (validate.REQUIRED); the default
        # serves the simulator's own disks (template clones).
        fmt = disk_in.format or types.DiskFormat.COW
        name = disk_in.name or disk_in.alias or 'disk_%s' % disk_id[:8]
        disk = types.Disk(
            id=disk_id, name=name, alias=name, description=disk_in.description,
            comment=disk_in.comment, format=fmt, provisioned_size=size,
            sparse=disk_in.sparse if disk_in.sparse is not None else True,
            status=DS.LOCKED, storage_type=types.DiskStorageType.IMAGE,
            storage_domains=[types.StorageDomain(id=sd.id)],
            disk_profile=types.DiskProfile(id=stable_id('diskprofile', sd.name)),
            image_id=image_id, actual_size=0, total_size=0,
            initial_size=disk_in.initial_size,
            content_type=disk_in.content_type or types.DiskContentType.DATA,
            shareable=bool(disk_in.shareable), wipe_after_delete=bool(
                disk_in.wipe_after_delete), propagate_errors=False,
            qcow_version=types.QcowVersion.QCOW2_V3 if fmt == types.DiskFormat.COW
            else None,
            backup=disk_in.backup or types.DiskBackup.NONE)
        disk._sim_copied = copied
        self.store.disks[disk.id] = disk
        return disk

    def _sd_for(self, disk_in, default=None):
        sds = disk_in.storage_domains or []
        if sds:
            return self.resolve('storage_domains', sds[0], 'StorageDomain')
        if disk_in.storage_domain is not None:
            return self.resolve('storage_domains', disk_in.storage_domain, 'StorageDomain')
        return default

    def add_disk(self, disk_in, block=False, vm=None):
        missing = []
        if disk_in.format is None:
            missing.append('format')
        if disk_in.provisioned_size is None:
            missing.append('provisioned_size')
        sd = self._sd_for(disk_in)
        if sd is None:
            missing.append('storage_domains.id|name')
        if missing:
            raise errors.incomplete('Disk', missing)
        if disk_in.provisioned_size <= 0:
            raise errors.bad_request('[Cannot add Virtual Disk. Disk size must be '
                                     'positive.]')
        if disk_in.id and disk_in.id in self.store.disks:
            raise errors.conflict('Cannot add Virtual Disk. The disk already exists.')
        if disk_in.backup == types.DiskBackup.INCREMENTAL and \
                disk_in.format == types.DiskFormat.RAW:
            # AppErrors ACTION_TYPE_FAILED_INCREMENTAL_BACKUP_NOT_SUPPORTED_FOR_RAW_DISK
            raise errors.conflict('Cannot add Virtual Disk. Incremental backup is not '
                                  'supported for RAW format disks.')
        disk = self._new_disk(disk_in, sd)
        job = self.job('Adding Disk %s' % disk.alias)
        self.event(2020, 'Add-Disk operation of %s was initiated by %s.' % (disk.alias, USER),
                   storage_domain=sd.id, vm=vm.id if vm else None)
        self._unlock_later(disk, 'disk_lock', job, lambda d: self.store.add_event(
            2021, 'The disk %s was successfully added.' % d.alias,
            storage_domain=sd.id, correlation_id=job._sim_correlation_id))
        if block:
            self.store.complete(('disk', disk.id))
        return disk

    def _unlock_later(self, disk, delay_name, job=None, then=None):
        disk_id = disk.id

        def fire():
            d = self.store.disks.get(disk_id)
            if d is None:
                return
            d.status = DS.OK
            self.done_job(job)
            if then:
                then(d)
        self.store.schedule(delay_name, ('disk', disk_id), fire)

    def _attached_vms(self, disk_id):
        att = self.store.disk_attachments.get(disk_id)
        return [self.store.vms[att.vm.id]] if att and att.vm.id in self.store.vms else []

    def update_disk(self, disk_id, disk_in):
        disk = self.disk(disk_id)
        if disk.status == DS.LOCKED:
            raise errors.conflict('Cannot edit Virtual Disk: The following disks are '
                                  'locked: %s. Please try again in a few minutes.'
                                  % disk.alias)
        new_size = disk_in.provisioned_size
        if new_size is not None and new_size != disk.provisioned_size:
            if new_size < disk.provisioned_size:
                raise errors.conflict('Cannot edit Virtual Disk. New disk size must be '
                                      'larger than the current disk size.')
            disk.provisioned_size = new_size
            self.layer(disk).size = new_size
            disk.status = DS.LOCKED
            vms = self._attached_vms(disk.id)
            self._unlock_later(disk, 'disk_lock')
            self.event(371 if vms else 88,
                       'Size of the disk %s was successfully updated to %d GB by %s.'
                       % (disk.alias, new_size // 1024 ** 3, USER),
                       vm=vms[0].id if vms else None)
        if disk_in.backup == types.DiskBackup.INCREMENTAL and \
                disk.format != types.DiskFormat.COW:
            raise errors.conflict('Cannot edit Virtual Disk. Incremental backup is '
                                  'not supported for RAW format disks.')
        for field in ('alias', 'name', 'description', 'comment', 'shareable',
                      'wipe_after_delete', 'backup'):
            value = getattr(disk_in, field)
            if value is not None:
                setattr(disk, field, value)
        if disk_in.name and not disk_in.alias:
            disk.alias = disk_in.name
        if disk_in.alias and not disk_in.name:
            disk.name = disk_in.alias
        return disk

    def sparsify_disk(self, disk_id):
        """Zero ranges are already holes here: only the engine's checks."""
        disk = self.disk(disk_id)
        if disk.status == DS.LOCKED:
            raise errors.conflict('Cannot sparsify Virtual Disk: The following disks are '
                                  'locked: %s. Please try again in a few minutes.'
                                  % disk.alias)
        for vm in self._attached_vms(disk.id):
            if vm.status != S.DOWN:
                raise errors.conflict('Cannot sparsify Virtual Disk. The VM %s is not '
                                      'down.' % vm.name)
        return disk

    def remove_disk(self, disk_id):
        disk = self.disk(disk_id)
        if disk.status == DS.LOCKED:
            raise errors.conflict('Cannot remove Virtual Disk: The following disks are '
                                  'locked: %s. Please try again in a few minutes.'
                                  % disk.alias)
        for vm in self._attached_vms(disk.id):
            if vm.status in common.RUNNING:
                raise errors.conflict('Cannot remove Virtual Disk. Disk is attached to a '
                                      'running VM %s.' % vm.name)
        if disk.storage_type == types.DiskStorageType.LUN:
            return self.remove_lun_disk(disk)
        if any(a.id == disk.id for a in self.store.template_disk_attachments.values()):
            raise errors.conflict('Cannot remove Virtual Disk. The disk is part of a '
                                  'Template.')
        self.store.disk_attachments.pop(disk.id, None)
        sd = disk.storage_domains[0].id
        self.drop_disk(disk.id)
        self.event(2014, 'Disk %s was successfully removed from domain %s (User %s).'
                   % (disk.alias, self.store.storage_domains[sd].name, USER),
                   storage_domain=sd)

    def drop_disk(self, disk_id):
        disk = self.store.disks.pop(disk_id, None)
        self.store.cancel(('disk', disk_id))
        if disk is None:
            return
        layer = self.volumes.get(disk.image_id)
        while layer is not None:
            # Drop this disk's own chain up to a shared (template) layer.
            base = layer.base
            if getattr(layer, 'shared', False):
                break
            self.volumes.delete(layer.id)
            layer = base

    # -- disk attachments ---------------------------------------------------

    def attachment(self, vm_id, disk_id):
        att = self.store.disk_attachments.get(disk_id)
        if att is None or att.vm.id != vm_id:
            raise errors.not_found('DiskAttachment', disk_id)
        return att

    def add_attachment(self, vm_id, att_in, block=False):
        vm = self.vm(vm_id)
        if att_in.interface is None:
            raise errors.incomplete('DiskAttachment', ['interface'])
        if att_in.disk is None:
            raise errors.incomplete('DiskAttachment', ['disk.id'])
        if vm.status == S.IMAGE_LOCKED:
            self._check_not_locked(vm, 'attach', 'Virtual Disk')
        if att_in.bootable:
            for disk_id in self.store.vm_disk_ids(vm.id):
                if self.store.disk_attachments[disk_id].bootable:
                    raise errors.conflict('Cannot attach Virtual Disk. The VM already '
                                          'has a bootable disk.')
        if att_in.disk.id and att_in.disk.id in self.store.disks:
            disk = self.store.disks[att_in.disk.id]
            existing = self.store.disk_attachments.get(disk.id)
            if existing is not None and existing.vm.id == vm.id:
                raise errors.conflict('Cannot attach Virtual Disk. The disk is already '
                                      'attached to VM %s.' % vm.name)
            if existing is not None and not disk.shareable:
                raise errors.conflict('Cannot attach Virtual Disk. The disk is not '
                                      'shareable and is already attached to a VM.')
            if disk.status == DS.LOCKED:
                raise errors.conflict('Cannot attach Virtual Disk: The following disks '
                                      'are locked: %s. Please try again in a few minutes.'
                                      % disk.alias)
        elif att_in.disk.id and att_in.disk.provisioned_size is None:
            raise errors.not_found('Disk', att_in.disk.id)
        else:
            disk = self.add_disk(att_in.disk, block=block, vm=vm)
        att = types.DiskAttachment(
            id=disk.id, active=True if att_in.active is None else att_in.active,
            bootable=bool(att_in.bootable), interface=att_in.interface,
            pass_discard=bool(att_in.pass_discard), read_only=bool(att_in.read_only),
            uses_scsi_reservation=False, disk=types.Disk(id=disk.id),
            vm=types.Vm(id=vm.id), logical_name=att_in.logical_name)
        self.store.disk_attachments[att.id] = att
        if disk.storage_type == types.DiskStorageType.LUN:
            self.lock_lun_while_attaching(disk)
        self.event(2016, 'Disk %s was successfully attached to VM %s by %s.'
                   % (disk.alias, vm.name, USER), vm=vm.id)
        return att

    def update_attachment(self, vm_id, disk_id, att_in):
        att = self.attachment(vm_id, disk_id)
        if att_in.disk is not None:
            self.update_disk(disk_id, att_in.disk)
        for field in ('active', 'bootable', 'interface', 'pass_discard', 'read_only'):
            value = getattr(att_in, field)
            if value is not None:
                setattr(att, field, value)
        return att

    def remove_attachment(self, vm_id, disk_id, detach_only=True):
        vm = self.vm(vm_id)
        att = self.attachment(vm_id, disk_id)
        disk = self.store.disks.get(disk_id)
        if not detach_only:
            self.remove_disk(disk_id)
            return
        if disk is not None and disk.status == DS.LOCKED:
            raise errors.conflict('Cannot detach Virtual Disk: The following disks are '
                                  'locked: %s. Please try again in a few minutes.'
                                  % disk.alias)
        self.store.disk_attachments.pop(att.id)
        self.event(2018, 'Disk %s was successfully detached from VM %s by %s.'
                   % (disk.alias if disk else disk_id, vm.name, USER), vm=vm.id)

    # -- templates ------------------------------------------------------------

    def template(self, template_id):
        return self.get('templates', template_id, 'Template')

    def template_disk_ids(self, template_id):
        return [a.id for a in self.store.template_disk_attachments.values()
                if a.template.id == template_id]

    def clone_template_disks(self, template, vm, clone, overrides):
        """New VM disks from the template's: thin COW layers or full copies."""
        new_ids = []
        for disk_id in self.template_disk_ids(template.id):
            tdisk = self.store.disks[disk_id]
            tatt = self.store.template_disk_attachments[disk_id]
            over = overrides.get(disk_id) or types.Disk()
            sd = self._sd_for(over, self.store.storage_domains[tdisk.storage_domains[0].id])
            base = self.layer(tdisk)
            # A thin VM disk is a qcow2 layer on the template's volume, so it
            # is cow whatever the template disk's format; a clone keeps it
            # (API model services/VmsService.java, "clone").
            spec = types.Disk(name=over.name or over.alias or tdisk.alias,
                              description=tdisk.description,
                              provisioned_size=tdisk.provisioned_size,
                              format=over.format or (tdisk.format if clone
                                                     else types.DiskFormat.COW),
                              sparse=over.sparse if over.sparse is not None
                              else tdisk.sparse)
            if clone:
                disk = self._new_disk(spec, sd, copy_from=base)
            else:
                disk = self._new_disk(spec, sd, layer_base=base)
            self.store.disk_attachments[disk.id] = types.DiskAttachment(
                id=disk.id, active=True, bootable=tatt.bootable, interface=tatt.interface,
                pass_discard=False, read_only=False, uses_scsi_reservation=False,
                disk=types.Disk(id=disk.id), vm=types.Vm(id=vm.id))
            new_ids.append(disk.id)
        return new_ids

    def add_template(self, tpl_in, block=False):
        missing = []
        if not tpl_in.name:
            missing.append('name')
        if tpl_in.vm is None or not (tpl_in.vm.id or tpl_in.vm.name):
            missing.append('vm.id|name')
        if missing:
            raise errors.incomplete('Template', missing)
        vm = self.resolve('vms', tpl_in.vm, 'VM')
        self._check_not_locked(vm, 'add', 'Template')
        if vm.status != S.DOWN:
            raise errors.conflict('Cannot add Template. VM is running.')
        if self.store.by_name('templates', tpl_in.name) is not None:
            raise errors.conflict('Cannot add Template. The Template name is already in '
                                  'use, please choose a unique name and try again.')
        from ovirt_engine_sim.vms import INHERITED
        tpl = types.Template()
        for field in INHERITED:
            value = getattr(vm, field, None)
            if value is not None:
                setattr(tpl, field, copy.deepcopy(value))
        tpl.id = new_id()
        tpl.name = tpl_in.name
        tpl.description = tpl_in.description
        tpl.comment = tpl_in.comment
        tpl.cluster = types.Cluster(id=vm.cluster.id)
        tpl.status = types.TemplateStatus.LOCKED
        tpl.creation_time = self.store.now()
        tpl.origin = 'ovirt'
        tpl.version = types.TemplateVersion(version_number=1, version_name='base version',
                                            base_template=types.Template(id=tpl.id))
        self.store.templates[tpl.id] = tpl
        override_sd = tpl_in.storage_domain
        for disk_id in self.store.vm_disk_ids(vm.id):
            vdisk = self.store.disks[disk_id]
            vatt = self.store.disk_attachments[disk_id]
            sd = self.resolve('storage_domains', override_sd, 'StorageDomain') \
                if override_sd is not None else \
                self.store.storage_domains[vdisk.storage_domains[0].id]
            spec = types.Disk(name=vdisk.alias, description=vdisk.description,
                              provisioned_size=vdisk.provisioned_size,
                              format=vdisk.format, sparse=vdisk.sparse)
            tdisk = self._new_disk(spec, sd, copy_from=self.layer(vdisk))
            self.layer(tdisk).shared = True
            self.store.template_disk_attachments[tdisk.id] = types.DiskAttachment(
                id=tdisk.id, active=True, bootable=vatt.bootable,
                interface=vatt.interface, pass_discard=False, read_only=False,
                disk=types.Disk(id=tdisk.id), template=types.Template(id=tpl.id))
        for nic in self.store.vm_nics(vm.id):
            # Template NICs keep name and profile; MACs are per VM.
            self.copy_nic(nic, template=types.Template(id=tpl.id))
        vm.status = S.IMAGE_LOCKED
        self._bump(vm)
        job = self.job('Creating Template %s from VM %s' % (tpl.name, vm.name))
        self.event(48, 'Creation of Template %s from VM %s was initiated by %s.'
                   % (tpl.name, vm.name, USER), vm=vm.id, template=tpl.id,
                   cluster=vm.cluster.id)
        tpl_id = tpl.id

        def unlock(v):
            v.status = S.DOWN
            t = self.store.templates.get(tpl_id)
            if t is None:
                return
            t.status = types.TemplateStatus.OK
            for disk_id in self.template_disk_ids(tpl_id):
                self.store.disks[disk_id].status = DS.OK
            self.store.add_event(51, 'Creation of Template %s from VM %s has been '
                                 'completed.' % (t.name, v.name), vm=v.id, template=t.id,
                                 correlation_id=job._sim_correlation_id)
            self.done_job(job)
        self._later(vm, 'template_lock', unlock)
        if block:
            self.store.complete(('vm', vm.id))
        return tpl

    def update_template(self, template_id, tpl_in):
        tpl = self.template(template_id)
        for field in ('name', 'description', 'comment', 'memory', 'cpu', 'os'):
            value = getattr(tpl_in, field)
            if value is not None:
                setattr(tpl, field, value)
        return tpl

    def remove_template(self, template_id):
        tpl = self.template(template_id)
        if tpl.id == '00000000-0000-0000-0000-000000000000':
            raise errors.conflict('Cannot remove Template. Removing the Blank Template '
                                  'is not allowed.')
        if tpl.status == types.TemplateStatus.LOCKED:
            raise errors.conflict('Cannot remove Template. Template is locked. Please '
                                  'try again in a few minutes.')
        users = [v.name for v in self.store.vms.values()
                 if v.template and v.template.id == tpl.id and not v._sim_clone]
        if users:
            raise errors.conflict('Cannot remove Template. The following VMs are based '
                                  'on this Template: %s.' % ', '.join(sorted(users)))
        for disk_id in self.template_disk_ids(tpl.id):
            self.store.template_disk_attachments.pop(disk_id)
            disk = self.store.disks.get(disk_id)
            if disk is not None:
                layer = self.layer(disk)
                if layer is not None:
                    layer.shared = False
            self.drop_disk(disk_id)
        for nic in self.store.template_nics(tpl.id):
            self.store.nics.pop(nic.id, None)
        self.store.templates.pop(tpl.id)
        self.event(251, 'Removal of Template %s has been completed.' % tpl.name)

    # -- snapshots ------------------------------------------------------------

    def snapshot(self, vm_id, snap_id):
        snap = self.store.snapshots.get(snap_id)
        if snap is None or snap.vm.id != vm_id:
            if snap_id == stable_id('active-snapshot', vm_id):
                return self.active_snapshot(self.vm(vm_id))
            raise errors.not_found('Snapshot', snap_id)
        return snap

    def active_snapshot(self, vm):
        return types.Snapshot(
            id=stable_id('active-snapshot', vm.id), description='Active VM',
            snapshot_type=types.SnapshotType.ACTIVE, snapshot_status=types.SnapshotStatus.OK,
            date=vm.creation_time, persist_memorystate=False, vm=types.Vm(id=vm.id))

    def add_snapshot(self, vm_id, snap_in, block=False):
        vm = self.vm(vm_id)
        if not snap_in.description:
            raise errors.incomplete('Snapshot', ['description'])
        self._check_not_locked(vm, 'create', 'Snapshot')
        if any(s.snapshot_status != types.SnapshotStatus.OK
               for s in self.store.vm_snapshots(vm.id)):
            raise errors.conflict('Cannot create Snapshot. Snapshot is currently being '
                                  'created or removed for VM %s.' % vm.name)
        snap = types.Snapshot(
            id=new_id(), description=snap_in.description,
            snapshot_type=types.SnapshotType.REGULAR,
            snapshot_status=types.SnapshotStatus.LOCKED, date=self.store.now(),
            persist_memorystate=bool(snap_in.persist_memorystate) and
            vm.status in common.RUNNING,
            vm=types.Vm(id=vm.id))
        snap._sim_layers = {}
        # What the engine keeps in the snapshot's OVF: the configuration
        # and each disk's size then (a restore brings both back).
        snap._sim_config = self._vm_config(vm)
        snap._sim_sizes = {}
        wanted = {d.id for d in (snap_in.disk_attachments or []) if d.id} | \
            {d.id for d in (snap_in.disks or []) if d.id}
        disks = []
        for disk_id in self.store.vm_disk_ids(vm.id):
            if wanted and disk_id not in wanted:
                continue
            disk = self.store.disks[disk_id]
            if disk.storage_type == types.DiskStorageType.LUN:
                # The engine snapshots image disks only (DisksFilter
                # ONLY_SNAPABLE): a direct LUN disk is left out.
                continue
            frozen = self.layer(disk)
            # The disk's active volume becomes a new layer on the frozen one
            # (vdsm makes a qcow2 overlay, also on a raw disk; the disk's
            # reported format is kept here, a simplification); the frozen
            # layer is the disk snapshot, downloadable by its id.
            top = self.volumes.create(new_id(), disk.provisioned_size, base=frozen)
            snap._sim_layers[disk_id] = frozen.id
            snap._sim_sizes[disk_id] = disk.provisioned_size
            disk.image_id = top.id
            disk.status = DS.LOCKED
            disks.append(disk_id)
        self.store.snapshots[snap.id] = snap
        was_down = vm.status == S.DOWN
        if was_down:
            vm.status = S.IMAGE_LOCKED
            self._bump(vm)
        job = self.job("Creating VM Snapshot %s for VM %s" % (snap.description, vm.name))
        self.event(45, "Snapshot '%s' creation for VM '%s' was initiated by %s."
                   % (snap.description, vm.name, USER), vm=vm.id)
        snap_id = snap.id
        vm_id = vm.id

        def done():
            s = self.store.snapshots.get(snap_id)
            v = self.store.vms.get(vm_id)
            if s is None or v is None:
                return
            s.snapshot_status = types.SnapshotStatus.OK
            for disk_id in disks:
                if disk_id in self.store.disks:
                    self.store.disks[disk_id].status = DS.OK
            if v.status == S.IMAGE_LOCKED:
                v.status = S.DOWN
            self.store.add_event(68, "Snapshot '%s' creation for VM '%s' has been completed."
                                 % (s.description, v.name), vm=v.id,
                                 correlation_id=job._sim_correlation_id)
            self.done_job(job)
        self.store.schedule('snapshot_lock', ('vm', vm.id), done)
        if block:
            self.store.complete(('vm', vm.id))
        return snap

    def remove_snapshot(self, vm_id, snap_id):
        vm = self.vm(vm_id)
        snap = self.snapshot(vm_id, snap_id)
        if snap.snapshot_type == types.SnapshotType.ACTIVE:
            raise errors.conflict('Cannot remove Snapshot. The active snapshot cannot be '
                                  'removed.')
        if snap.snapshot_status != types.SnapshotStatus.OK:
            raise errors.conflict('Cannot remove Snapshot. Snapshot is currently being '
                                  'created or removed for VM %s.' % vm.name)
        if vm.status == S.IMAGE_LOCKED:
            self._check_not_locked(vm, 'remove', 'Snapshot')
        snap.snapshot_status = types.SnapshotStatus.LOCKED
        self.event(342, "Snapshot '%s' deletion for VM '%s' was initiated by %s."
                   % (snap.description, vm.name, USER), vm=vm.id)
        job = self.job("Removing Snapshot %s of VM %s" % (snap.description, vm.name))

        def done():
            # The frozen layers stay in the disk chains (their data is
            # still needed); only the snapshot record goes away.
            s = self.store.snapshots.pop(snap.id, None)
            if s is not None:
                self.store.add_event(356, "Snapshot '%s' deletion for VM '%s' has been "
                                     "completed." % (s.description, vm.name), vm=vm.id,
                                     correlation_id=job._sim_correlation_id)
            self.done_job(job)
        self.store.schedule('snapshot_lock', ('vm', vm.id), done)

    def _vm_config(self, vm):
        from ovirt_engine_sim.vms import INHERITED
        return {f: copy.deepcopy(getattr(vm, f, None)) for f in INHERITED}

    def _set_vm_config(self, vm, config):
        for field, value in (config or {}).items():
            setattr(vm, field, copy.deepcopy(value))

    def snapshot_disks(self, vm_id, snap):
        """The disks as they were in the snapshot (disk id, snapshot image id)."""
        out = []
        for disk_id, layer_id in getattr(snap, '_sim_layers', {}).items():
            disk = self.store.disks.get(disk_id)
            if disk is None:
                continue
            layer = self.volumes.get(layer_id)
            d = types.Disk(id=disk_id, name=disk.name, alias=disk.alias,
                           image_id=layer_id, format=disk.format,
                           provisioned_size=layer.size if layer else disk.provisioned_size,
                           actual_size=layer.allocated() if layer else 0,
                           status=DS.OK, storage_type=types.DiskStorageType.IMAGE,
                           snapshot=types.Snapshot(id=snap.id),
                           storage_domains=disk.storage_domains)
            out.append(d)
        return out

    def preview_snapshot(self, vm_id, action, commit=False):
        vm = self.vm(vm_id)
        if action is None or action.snapshot is None or not action.snapshot.id:
            raise errors.incomplete('Action', ['snapshot.id'])
        snap = self.snapshot(vm_id, action.snapshot.id)
        if vm.status != S.DOWN:
            raise errors.conflict('Cannot preview Snapshot. VM is running.')
        if getattr(vm, '_sim_preview', None):
            raise errors.conflict('Cannot preview Snapshot. VM is previewing a Snapshot.')
        saved = {}
        sizes = getattr(snap, '_sim_sizes', {})
        for disk_id, layer_id in snap._sim_layers.items():
            disk = self.store.disks.get(disk_id)
            if disk is None:
                continue
            saved[disk_id] = (disk.image_id, disk.provisioned_size)
            disk.provisioned_size = sizes.get(disk_id, disk.provisioned_size)
            top = self.volumes.create(new_id(), disk.provisioned_size,
                                      base=self.volumes.get(layer_id))
            disk.image_id = top.id
        config = self._vm_config(vm)
        self._set_vm_config(vm, getattr(snap, '_sim_config', None))
        if commit:
            self.event(100, "VM %s restored from Snapshot." % vm.name, vm=vm.id)
            return vm
        vm._sim_preview = (snap.id, saved, config)
        snap.snapshot_status = types.SnapshotStatus.IN_PREVIEW
        self.event(71, "VM %s previewed from Snapshot '%s'." % (vm.name, snap.description),
                   vm=vm.id)
        return vm

    def end_preview(self, vm_id, commit):
        vm = self.vm(vm_id)
        preview = getattr(vm, '_sim_preview', None)
        if not preview:
            raise errors.conflict('Cannot %s Snapshot. VM is not in preview.'
                                  % ('commit' if commit else 'undo'))
        snap_id, saved, config = preview
        if not commit:
            for disk_id, (image_id, size) in saved.items():
                disk = self.store.disks.get(disk_id)
                if disk is not None:
                    self.volumes.delete(disk.image_id)
                    disk.image_id = image_id
                    disk.provisioned_size = size
            self._set_vm_config(vm, config)
        vm._sim_preview = None
        snap = self.store.snapshots.get(snap_id)
        if snap is not None:
            snap.snapshot_status = types.SnapshotStatus.OK
        self.event(100 if commit else 99, 'VM %s %s.' % (
            vm.name, 'restored from Snapshot' if commit else 'snapshot preview undone'),
            vm=vm.id)
        return vm

    # -- image transfers ------------------------------------------------------

    def transfer(self, transfer_id):
        return self.get('image_transfers', transfer_id, 'ImageTransfer')

    def add_transfer(self, it_in):
        direction = it_in.direction or types.ImageTransferDirection.UPLOAD
        layer = None
        disk = None
        snap_ref = None
        if it_in.snapshot is not None and it_in.snapshot.id:
            layer = self.volumes.get(it_in.snapshot.id)
            if layer is None:
                raise errors.not_found('DiskSnapshot', it_in.snapshot.id)
            for snap in self.store.snapshots.values():
                for disk_id, layer_id in getattr(snap, '_sim_layers', {}).items():
                    if layer_id == layer.id:
                        disk = self.store.disks.get(disk_id)
            if direction == types.ImageTransferDirection.UPLOAD:
                raise errors.conflict('Cannot transfer Virtual Disk. Uploading to a '
                                      'snapshot is not supported.')
            snap_ref = types.DiskSnapshot(id=layer.id)
        else:
            ref = it_in.disk or (types.Disk(id=it_in.image.id) if it_in.image else None)
            if ref is None or not ref.id:
                raise errors.incomplete('ImageTransfer', ['disk.id|image.id|snapshot.id'])
            disk = self.store.disks.get(ref.id)
            if disk is None:
                for d in self.store.disks.values():
                    if d.image_id == ref.id:
                        disk = d
            if disk is None:
                raise errors.not_found('Disk', ref.id)
            layer = self.layer(disk)
        backup = None
        if it_in.backup is not None and it_in.backup.id and disk is not None:
            backup = self.backup_ready(it_in.backup, disk.id)
        if disk is not None:
            if disk.status == DS.LOCKED:
                raise errors.conflict('Cannot transfer Virtual Disk: The following disks '
                                      'are locked: %s. Please try again in a few minutes.'
                                      % disk.alias)
            for vm in self._attached_vms(disk.id):
                if vm.status != S.DOWN and vm.status != S.IMAGE_LOCKED and \
                        direction == types.ImageTransferDirection.UPLOAD:
                    raise errors.conflict('Cannot transfer Virtual Disk. The VM %s is '
                                          'running.' % vm.name)
        # types/ImageTransfer.java: "If not specified, defaults to disk's format."
        fmt = it_in.format or (disk.format if disk is not None else types.DiskFormat.RAW)
        if fmt == types.DiskFormat.COW and \
                direction == types.ImageTransferDirection.DOWNLOAD:
            # Downloads serve guest data; a qcow2 file is not made here.
            raise errors.bad_request('[Engine simulator: downloads in the cow format are '
                                     'not simulated; ask for format raw.]')
        host = next((h for h in self.store.hosts.values()
                     if h.status == types.HostStatus.UP), None)
        it = types.ImageTransfer(
            id=new_id(), direction=direction, phase=P.INITIALIZING, active=False,
            transferred=0, inactivity_timeout=it_in.inactivity_timeout or 60,
            timeout_policy=types.ImageTransferTimeoutPolicy.LEGACY,
            format=fmt, shallow=bool(it_in.shallow),
            disk=types.Disk(id=disk.id) if disk else None,
            image=types.Image(id=layer.id), snapshot=snap_ref,
            host=types.Host(id=host.id) if host else None,
            backup=types.Backup(id=backup.id) if backup else None)
        it._sim_ticket = str(uuid.uuid4())
        it._sim_layer = layer
        it._sim_disk_prev_status = disk.status if disk else None
        it._sim_job = self.job('%s disk %s' % (
            'Uploading' if direction == types.ImageTransferDirection.UPLOAD
            else 'Downloading', disk.alias if disk else layer.id))
        if disk is not None:
            disk.status = DS.LOCKED
        self.store.image_transfers[it.id] = it
        what = 'Upload' if direction == types.ImageTransferDirection.UPLOAD else 'Download'
        self.event(1031, 'Image %s with disk %s was initiated by %s.'
                   % (what, disk.alias if disk else layer.id, USER))
        it_id = it.id

        def ready():
            t = self.store.image_transfers.get(it_id)
            if t is not None and t.phase == P.INITIALIZING:
                url = '%s/images/%s' % (self.data_url(), t._sim_ticket)
                t.phase = P.TRANSFERRING
                t.active = True
                t.transfer_url = url
                t.proxy_url = url
                self.tickets.add(t)
        self.store.schedule('transfer_init', ('transfer', it.id), ready)
        return it

    def finalize_transfer(self, transfer_id):
        it = self.transfer(transfer_id)
        if it.phase in (P.FINISHED_SUCCESS, P.FINALIZING_SUCCESS):
            return it
        if it.phase not in (P.TRANSFERRING, P.PAUSED_USER, P.PAUSED_SYSTEM, P.INITIALIZING):
            raise errors.conflict('Cannot finalize image transfer. The transfer is in '
                                  'phase %s.' % it.phase.value)
        self.store.complete(('transfer', it.id))
        it.phase = P.FINALIZING_SUCCESS
        self.tickets.remove(it)
        self.store.schedule('transfer_finalize', ('transfer', it.id),
                            lambda: self._finish_transfer(it, True))
        return it

    def pause_transfer(self, transfer_id, pause):
        """pause -> paused_user (the ticket is gone), resume -> transferring."""
        it = self.transfer(transfer_id)
        if pause:
            if it.phase != P.TRANSFERRING:
                raise errors.conflict('Cannot pause image transfer. The transfer is in '
                                      'phase %s.' % it.phase.value)
            it.phase = P.PAUSED_USER
            self.tickets.remove(it)
        elif it.phase in (P.PAUSED_USER, P.PAUSED_SYSTEM):
            it.phase = P.TRANSFERRING
            self.tickets.add(it)
        elif it.phase != P.TRANSFERRING:
            raise errors.conflict('Cannot resume image transfer. The transfer is in '
                                  'phase %s.' % it.phase.value)
        return it

    def cancel_transfer(self, transfer_id):
        it = self.transfer(transfer_id)
        if it.phase in (P.FINISHED_SUCCESS, P.FINISHED_FAILURE, P.CANCELLED_USER,
                        P.FINALIZING_FAILURE):
            return it
        self.store.cancel(('transfer', it.id))
        it.phase = P.CANCELLED_USER
        self.tickets.remove(it)
        self.store.schedule('transfer_finalize', ('transfer', it.id),
                            lambda: self._finish_transfer(it, False))
        return it

    def _finish_transfer(self, it, ok):
        """Engine side of the end of a transfer (the disk is unlocked)."""
        disk = self.store.disks.get(it.disk.id) if it.disk else None
        upload = it.direction == types.ImageTransferDirection.UPLOAD
        what = 'Upload' if upload else 'Download'
        failure = None
        if ok and upload and disk is not None:
            failure = self._verify_upload(it, disk)
            ok = failure is None
        if not ok:
            it.phase = P.FINALIZING_FAILURE
        it.phase = P.FINISHED_SUCCESS if ok else P.FINISHED_FAILURE
        it.active = False
        if disk is not None:
            if failure is not None:
                # TransferDiskImageCommand.handleFinalizingSuccess: a failed
                # verification leaves the image ILLEGAL.
                disk.status = DS.ILLEGAL
            elif ok or not upload:
                disk.status = it._sim_disk_prev_status or DS.OK
                if disk.status == DS.LOCKED:
                    disk.status = DS.OK
            elif not self._attached_vms(disk.id) and disk.id not in \
                    self.store.template_disk_attachments:
                # A cancelled upload deletes the disk it was uploading to, as
                # the engine does for disks created for the transfer.
                self.drop_disk(disk.id)
            else:
                disk.status = DS.ILLEGAL
        self.done_job(it._sim_job, ok)
        name = disk.alias if disk else it.image.id
        if ok:
            self.event(1032, 'Image %s with disk %s succeeded.' % (what, name))
        elif failure is not None:
            # AuditLogType TRANSFER_IMAGE_FAILED(1034, ERROR)
            self.event(1034, 'Image %s with disk %s failed.' % (what, name),
                       severity='error')
            it._sim_failure = failure
        else:
            self.event(1033, 'Image %s with disk %s was cancelled.' % (what, name),
                       severity='warning')
        it_id = it.id
        self.store.schedule('transfer_cleanup', ('transfer', it.id),
                            lambda: self.store.image_transfers.pop(it_id, None))

    # -- what the uploaded bytes are ------------------------------------------

    def _verify_upload(self, it, disk):
        """vdsm's verify_untrusted_volume on the uploaded volume, or why it fails.

        The engine verifies every upload before it marks the image legal
        (TransferDiskImageCommand.verifyImage -> VerifyUntrustedVolume; vdsm
        lib/vdsm/storage/hsm.py): ``qemu-img info`` of the volume must give
        the disk's format, a virtual size not above the disk's, and no
        backing file of its own. The volume *file* is what a ``cow``
        transfer sent, or the guest data of a ``raw`` transfer into a raw
        disk; a ``raw`` transfer into a qcow2 disk goes through qemu-nbd,
        so that volume stays qcow2 whatever the guest data is.

        A qcow2 file that passes is unpacked: the simulator stores guest
        data (what the VM and a ``raw`` download see).
        """
        layer = self.layer(disk)
        declared = 'qcow2' if disk.format == types.DiskFormat.COW else 'raw'
        file_sent = it.format == types.DiskFormat.COW or declared == 'raw'
        if not file_sent:
            return None
        found = qcow2.detect(layer.read)
        if found != declared:
            meta = 'cow' if declared == 'qcow2' else 'raw'   # vdsm's fmt2str()
            return ("Volume's format specified by QEMU is %s, while the format specified "
                    "in VDSM metadata is %s" % (found, meta))
        if found == 'raw':
            return None
        try:
            header = qcow2.read_header(layer.read)
            if header.size > disk.provisioned_size:
                return ('Image virtual size %r is bigger than volume size %r'
                        % (header.size, disk.provisioned_size))
            if header.backing_file:
                return ('Image backing file %r does not match volume parent uuid %r'
                        % (header.backing_file, '00000000-0000-0000-0000-000000000000'))
            self._unpack_qcow2(disk, layer)
        except qcow2.Qcow2Error as e:
            return 'qemu-img info failed: %s' % e
        return None

    def _unpack_qcow2(self, disk, layer):
        """Replace the disk's top layer (a qcow2 file) by the guest data in it."""
        _, clusters = qcow2.guest_data(layer.read)
        guest = self.volumes.create(new_id(), layer.size, base=layer.base)
        for offset, data in clusters:
            guest.write(offset, data)
        disk.image_id = guest.id
        self.volumes.delete(layer.id)
