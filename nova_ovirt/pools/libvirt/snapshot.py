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

"""Snapshots to Glance: the root disk's copy, and its upload.

A guest the pool defined has its root as a volume of the pool's storage
pool; :meth:`GuestOps.snapshot` saves the guest and clones that volume.
An adopted domain's disks are the operator's (any file or device, any
format, backing chains), and the domain must neither stop nor change, so
its root is copied differently (:func:`copy_adopted_root`):

- **active** (running or paused): a push-mode backup
  (``virDomainBackupBegin``) of the root disk only, into a scratch qcow2
  volume of the pool's storage pool. qemu copies the disk as it was when
  the backup began (copy-before-write keeps the guest's later writes out
  of the copy) while the guest runs; the definition does not change. The
  copy is crash-consistent, as after a power loss.
- **shut off**: the disk file is read through the storage pool of the
  host that holds it (``virStorageVolLookupByPath``) and libvirt writes a
  flattened copy (``qemu-img convert``: a backing chain is merged).

Both keep every byte inside libvirt, so a host behind ``qemu+tls://``
works like a local one. A disk that is neither a file nor a block device,
or a shut-off domain's disk in no storage pool, is refused with what the
operator can do. The caller names the scratch volume like the guest's
own volumes (``vmops.snapshot_volume_name``), so the instance's delete
also removes one that a crash left behind.
"""

import time
from xml.etree import ElementTree as etree

import libvirt
from oslo_log import log as logging

from nova.image import glance

from nova_ovirt import exception
from nova_ovirt.pools.libvirt import adopt as libvirt_adopt

LOG = logging.getLogger(__name__)

#: A backup whose copied bytes stand still this long is aborted; one that
#: moves may take as long as the disk's size needs.
BACKUP_STALL_TIMEOUT = 300
POLL_INTERVAL = 0.5


class RootDisk(object):
    """The disk a snapshot copies, as the domain's definition has it."""

    def __init__(self, element):
        self.type = element.get('type') or 'file'
        target = element.find('target')
        self.target = target.get('dev') if target is not None else None
        source = element.find('source')
        self.path = None if source is None else (
            source.get('file') or source.get('dev'))

    def __repr__(self):
        return '%s (%s)' % (self.target, self.path or 'no source')


def _boot_order(element):
    boot = element.find('boot')
    return int(boot.get('order')) if boot is not None else None


def root_disk(domain_xml):
    """The boot disk: the disk with the lowest ``<boot order>``, else the
    first disk device of the definition (vda, sda, ...); None without one.
    """
    disks = [d for d in etree.fromstring(domain_xml).findall('devices/disk')
             if (d.get('device') or 'disk') == 'disk']
    ordered = [d for d in disks if _boot_order(d) is not None]
    if ordered:
        return RootDisk(min(ordered, key=_boot_order))
    return RootDisk(disks[0]) if disks else None


def refusal(disk, active, node, volume=None):
    """Why the root disk of an adopted domain cannot be copied, or None.

    volume: the storage volume holding the disk (shut-off domains only).
    """
    if disk is None:
        return 'it has no disk device to copy'
    if disk.type not in libvirt_adopt.SUPPORTED_DISK_TYPES or not disk.path:
        return ('its root disk %s has the type %s: only file and block '
                'disks are copied (snapshot a network disk in its storage '
                'system)' % (disk.target, disk.type))
    if not active and volume is None:
        return ('its root disk %s (%s) lies in no storage pool of node %s, '
                'so libvirt cannot read it while the domain is shut off: '
                'define a storage pool for its directory (virsh '
                'pool-define-as NAME dir --target DIRECTORY; virsh '
                'pool-start NAME) or take the snapshot while the server '
                'runs' % (disk.target, disk.path, node))
    return None


def backup_xml(domain_xml, disk, scratch_path):
    """A push backup of `disk` only into the file at scratch_path."""
    backup = etree.Element('domainbackup', mode='push')
    disks = etree.SubElement(backup, 'disks')
    for element in etree.fromstring(domain_xml).findall('devices/disk'):
        target = element.find('target')
        if target is None:
            continue
        name = target.get('dev')
        if name != disk.target:
            # Listed, so that libvirt copies no other disk.
            etree.SubElement(disks, 'disk', name=name, backup='no')
            continue
        entry = etree.SubElement(disks, 'disk', name=name, backup='yes',
                                 type='file')
        etree.SubElement(entry, 'target', file=scratch_path)
        etree.SubElement(entry, 'driver', type='qcow2')
    return etree.tostring(backup, encoding='unicode')


def _refuse(host, instance, domain, reason):
    raise exception.BackendOperationFailed(
        operation='Snapshot of the adopted domain %s (%s) of instance %s' % (
            domain.UUIDString(), domain.name(), instance.uuid),
        target=host.target, reason=reason)


def copy_adopted_root(host, instance, domain, name):
    """The root disk of an adopted domain as the standalone qcow2 volume
    `name` of the pool's storage pool; the domain stays as it is.

    :raises BackendOperationFailed: a refusal (nothing made) or a failure
        (no scratch volume, no backup job left)
    """
    with host.translated('Reading the definition of %s' % instance.uuid,
                         instance.uuid):
        xml = domain.XMLDesc(0)
        active = bool(domain.isActive())
    disk = root_disk(xml)
    volume = None
    if disk is not None and disk.path and not active:
        with host.translated('Looking up %s in the storage pools of %s' % (
                disk.path, host.nodename)):
            volume = host.storage.lookup_path(disk.path)
    reason = refusal(disk, active, host.nodename, volume)
    if reason:
        _refuse(host, instance, domain, reason)
    host.storage.delete(name)       # a leftover of a crashed attempt
    if active:
        return _backup(host, instance, domain, xml, disk, name)
    with host.translated('Copying %s of the adopted domain %s' % (
            disk, domain.UUIDString()), instance.uuid):
        copy = host.storage.clone_flattened(
            name, volume, host.storage.virtual_size(volume))
    LOG.info('Root disk %s of the shut-off adopted domain %s copied',
             disk, domain.UUIDString(), instance=instance)
    return copy


def _backup(host, instance, domain, xml, disk, name):
    operation = 'Backup of %s of the adopted domain %s' % (
        disk, domain.UUIDString())
    started = time.monotonic()
    with host.translated(operation, instance.uuid):
        # The size the guest sees: a push backup's target must match it.
        capacity = domain.blockInfo(disk.target, 0)[0]
        scratch = host.storage.create(name, capacity, 'qcow2')
    began = False
    try:
        with host.translated(operation, instance.uuid):
            domain.backupBegin(backup_xml(xml, disk, scratch.path()), None,
                               libvirt.VIR_DOMAIN_BACKUP_BEGIN_REUSE_EXTERNAL)
            began = True
            failure = _wait_for_backup(domain)
        if failure:
            raise exception.BackendOperationFailed(
                operation=operation, target=host.target, reason=failure)
    except Exception:
        if began:
            _abort_quietly(domain, instance)
        host.storage.delete(name)
        raise
    LOG.info('Root disk %s of the running adopted domain %s copied by a '
             'backup in %.1fs; the guest ran on', disk, domain.UUIDString(),
             time.monotonic() - started, instance=instance)
    return scratch


def _wait_for_backup(domain):
    """Until the backup job ends: None, or why it did not complete.

    Polled: libvirt reports a push backup's progress in the job's stats.
    """
    progress, moved_at = None, time.monotonic()
    while True:
        stats = domain.jobStats(0)
        if stats.get('type', libvirt.VIR_DOMAIN_JOB_NONE) == \
                libvirt.VIR_DOMAIN_JOB_NONE:
            break
        processed = stats.get('disk_processed', stats.get('data_processed'))
        if processed != progress:
            progress, moved_at = processed, time.monotonic()
        elif time.monotonic() - moved_at > BACKUP_STALL_TIMEOUT:
            return 'the backup copied nothing for %ds' % BACKUP_STALL_TIMEOUT
        time.sleep(POLL_INTERVAL)
    if not domain.isActive():
        return 'the domain stopped during the backup'
    done = domain.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
    if done.get('operation') != libvirt.VIR_DOMAIN_JOB_OPERATION_BACKUP or \
            not done.get('success', True):
        return 'the backup did not complete: %s' % (
            done.get('errmsg') or 'no reason given')
    return None


def _abort_quietly(domain, instance):
    try:
        if domain.jobStats(0).get('type', libvirt.VIR_DOMAIN_JOB_NONE) != \
                libvirt.VIR_DOMAIN_JOB_NONE:
            domain.abortJob()
    except libvirt.libvirtError as e:
        LOG.warning('Aborting the snapshot\'s backup job failed: %s', e,
                    instance=instance)


def upload(host, context, instance, image_id, volume):
    """Stream the volume (a standalone qcow2) into the Glance image."""
    metadata = {
        'disk_format': 'qcow2', 'container_format': 'bare',
        'properties': {'image_location': 'snapshot',
                       'image_state': 'available',
                       'owner_id': instance.project_id}}
    with host.storage.reader(volume) as reader:
        glance.API().update(context, image_id, metadata, data=reader,
                            purge_props=False)
    LOG.info('Snapshot %s uploaded', image_id, instance=instance)
