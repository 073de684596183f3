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

"""Resize and cold migration.

Three kinds of move, told apart on the destination by the migration's
nodes:

* same node: the guest's disks are grown in place; byte copies of them are
  kept as "<uuid>-resize_*" volumes because nova destroys the guest (disks
  included) before a revert.
* another host of this pool: the source guest and its disks stay untouched
  until confirm; the destination gets a flattened copy of the root disk
  streamed host to host over the two libvirt connections.
* another pool: the root disk comes from the source pool's
  ``open_root_disk_export`` as raw guest data (the one format every
  backend reads and writes); it lands in a scratch raw volume and libvirt
  converts it into the guest's qcow2 root volume on the host (qemu-img,
  zero ranges left as holes). Our own export is the reverse: a raw
  flattened clone of the root overlay. A warm move from an oVirt pool
  fills that scratch volume before the source powers off
  (``WarmTarget``); finish_migration then puts a qcow2 root on top of it
  (``backing_format`` raw, metadata only), starts the guest, and only then
  merges the scratch data into the root while the guest runs (a libvirt
  block pull), so that the downtime holds no work that grows with the
  disk's data. The end state is the cold import's: a standalone qcow2
  root and no scratch volume.

An adopted domain keeps its own definition and disk paths: resized in
place, or copied file by file to another host of the pool (see
:mod:`adopted_moves`).
"""

import contextlib
import json
import time

from oslo_log import log as logging
from oslo_utils import units

from nova import exception as nova_exception

from nova_ovirt.pools.libvirt import adopted_moves
from nova_ovirt.pools.libvirt import config
from nova_ovirt.pools.libvirt import images
from nova_ovirt.pools.libvirt import storage as storage_mod
from nova_ovirt.pools.libvirt import vmops

LOG = logging.getLogger(__name__)

# Disks moved with the guest; swap is recreated empty, the console log new.
MOVED_DISKS = (vmops.ROOT, vmops.EPHEMERAL, vmops.CONFIG_DRIVE)
BACKED_UP_DISKS = (vmops.ROOT, vmops.EPHEMERAL, vmops.SWAP,
                   vmops.CONFIG_DRIVE)
FORMAT_WAIT = 60
# Scratch volume of an import from another pool (under the instance's
# prefix, so that every cleanup path removes it).
IMPORT = 'disk.import'
EXPORT = 'export'
# Leading bytes of the image formats libvirt probes that can name a
# backing file. Raw guest data starting with one would be probed as that
# format after the upload and could make qemu-img read a host file.
PROBED_MAGICS = (b'QFI\xfb', b'QED\x00', b'KDMV', b'# Disk DescriptorFile')
# A merge of a warm copy into the running guest's root that makes no
# progress for this long is given up (the guest keeps running on the root
# and its scratch backing file; both go with the instance).
MERGE_STALL = 120
MERGE_POLL = 0.5
# From the job's end until libvirt shows the root without its backing.
MERGE_SETTLE = 30


def check_no_shrink(instance, flavor):
    """nova's drivers refuse to shrink disks; so do we (rolled back)."""
    old = instance.flavor
    reason = None
    if flavor.root_gb < old.root_gb:
        reason = ('the new flavor\'s root disk (%d GiB) is smaller than the '
                  'current one (%d GiB)' % (flavor.root_gb, old.root_gb))
    elif flavor.ephemeral_gb < old.ephemeral_gb:
        reason = ('the new flavor\'s ephemeral disk (%d GiB) is smaller than '
                  'the current one (%d GiB)' % (flavor.ephemeral_gb,
                                                old.ephemeral_gb))
    if reason:
        raise nova_exception.InstanceFaultRollback(
            nova_exception.ResizeError(reason=reason))


def await_format(storage, name, fmt, timeout=FORMAT_WAIT):
    """The volume once libvirt has probed its format after an upload.

    Resizing before that would truncate a qcow2 file as if it were raw.
    """
    deadline = time.monotonic() + timeout
    while True:
        volume = storage.lookup(name)
        if volume is not None and storage.volume_format(volume) == fmt:
            return volume
        if time.monotonic() > deadline:
            raise nova_exception.ResizeError(
                reason='volume %s did not show up as %s after its copy' %
                       (name, fmt))
        storage.refresh()
        time.sleep(0.5)


def check_export_format(instance, fmt):
    """Pools hand each other raw guest data; anything else is refused."""
    if fmt != 'raw':
        raise nova_exception.ResizeError(
            reason='the source pool exported the root disk of %s as %s; '
                   'pools exchange raw guest data only' % (instance.uuid,
                                                           fmt))


def check_raw_header(instance, header):
    """Refuse raw data that libvirt would probe as a format with backing.

    A guest can write any header into its own disk; converting such a
    disk would follow a backing file reference on the host.
    """
    if header.startswith(PROBED_MAGICS):
        raise nova_exception.ResizeError(
            reason='the root disk of %s starts with an image format header '
                   '(%r); refusing to import it as raw data' % (
                       instance.uuid, header[:8]))


def grow(storage, volume, capacity):
    if capacity > storage.virtual_size(volume):
        volume.resize(capacity, 0)


class WarmTarget(object):
    """The scratch raw volume a warm move from another pool writes into.

    The source pool writes the extents of each backup round at their
    offsets (one libvirt upload stream per piece, never sparse: a round
    overwrites blocks of the previous one, zeros included).
    """

    def __init__(self, host, instance, size):
        self.host = host
        self.name = vmops.volume_name(instance.uuid, IMPORT)
        host.storage.delete(self.name)
        with host.translated('Creating the warm copy volume of %s' %
                             instance.uuid):
            self.volume = host.storage.create(self.name, size, 'raw')

    def write(self, offset, data):
        with storage_mod.VolumeWriter(self.host.connection, self.volume,
                                      offset, len(data),
                                      sparse=False) as writer:
            writer.write(data)

    def zero(self, offset, length):
        with storage_mod.VolumeWriter(self.host.connection, self.volume,
                                      offset, length, sparse=False) as writer:
            writer.write_hole(length)

    def close(self):
        """The copy is complete: finish_migration takes it from here."""

    def abort(self):
        try:
            self.host.storage.delete(self.name)
        except Exception:
            LOG.exception('Removing the warm copy volume %s on %s failed',
                          self.name, self.host.nodename)


def merge_warm_copy(host, instance, domain, scratch_name):
    """Pull the warm copy into the running guest's root, then drop it.

    A libvirt block pull: qemu copies the backing data into the root
    while the guest runs and then drops the backing file from the root's
    header. Should that not work (a hypervisor without block jobs, a
    stalled or failed job), the guest keeps running on the root and its
    backing scratch volume, which is correct, only not standalone (a
    block live migration refuses it); both go with the instance.
    """
    started = time.monotonic()
    try:
        with host.translated('Merging the warm copy into the root disk of '
                             '%s' % instance.uuid, instance.uuid):
            volume_path = host.storage.lookup(
                vmops.volume_name(instance.uuid, vmops.ROOT)).path()
            domain.blockPull(volume_path, 0, 0)
            _await_block_job(domain, volume_path)
            _await_standalone(domain, volume_path)
            _flush_disks(domain)
        host.storage.delete(scratch_name)
    except Exception as e:
        LOG.warning('The root disk of %(uuid)s stays on its warm copy '
                    '%(scratch)s: %(err)s', {'uuid': instance.uuid,
                                             'scratch': scratch_name,
                                             'err': e})
        return False
    LOG.info('Warm copy of %(uuid)s merged into its root disk in %(sec).1fs '
             'while the guest ran', {'uuid': instance.uuid,
                                     'sec': time.monotonic() - started})
    return True


def _await_block_job(domain, disk):
    """Until the disk's block job is gone; ResizeError (the job aborted)
    when it stops progressing."""
    progress, progressed_at = -1, time.monotonic()
    while True:
        job = domain.blockJobInfo(disk, 0)
        if not job:
            return
        if job.get('cur', 0) > progress:
            progress, progressed_at = job['cur'], time.monotonic()
        elif time.monotonic() - progressed_at > MERGE_STALL:
            domain.blockJobAbort(disk, 0)
            raise nova_exception.ResizeError(
                reason='block job on %s made no progress for %ds (%d of %d '
                       'bytes)' % (disk, MERGE_STALL, job.get('cur', 0),
                                   job.get('end', 0)))
        time.sleep(MERGE_POLL)


def _await_standalone(domain, disk):
    """Until the live definition shows the disk without a backing file
    (libvirt updates it once it has handled the job's end)."""
    deadline = time.monotonic() + MERGE_SETTLE
    while True:
        backing = config.disk_backing_file(domain.XMLDesc(0), disk)
        if backing is None:
            return
        if time.monotonic() > deadline:
            raise nova_exception.ResizeError(
                reason='%s is still backed by %s after its block pull' % (
                    disk, backing))
        time.sleep(MERGE_POLL)


def _flush_disks(domain):
    """Write qemu's cached qcow2 metadata of the root to the host.

    With cache=none qemu keeps the root's new cluster mappings in memory
    after the pull, while the header already names no backing file: until
    they are written, the file on the host (a crash, another reader) is
    not the guest's disk. A pause flushes every disk (qemu's vm_stop);
    it lasts milliseconds.
    """
    domain.suspend()
    try:
        domain.resume()
    except Exception:
        LOG.exception('Resuming guest %s after its disk flush failed; '
                      'trying again', domain.name())
        domain.resume()


def _copied_files(instance):
    """The destination's record of an adopted domain's copied files."""
    return vmops.backup_name(instance.uuid, 'files')


class MigrationOps(object):

    def __init__(self, guests):
        self._guests = guests

    # -- source side -------------------------------------------------------

    def migrate_disk_and_power_off(self, host, instance, flavor, timeout,
                                   retry_interval, dest_node=None,
                                   dest_host=None):
        check_no_shrink(instance, flavor)
        if host.is_adopted(instance.uuid):
            # Rolled back: the server stays ACTIVE where it is.
            adopted_moves.check_resize_target(host, instance, dest_node,
                                              dest_host)
        self._guests.power_off(host, instance, timeout, retry_interval)
        return json.dumps({'source_node': host.nodename,
                           'root_volume': vmops.volume_name(instance.uuid,
                                                            vmops.ROOT)})

    @contextlib.contextmanager
    def open_root_disk_export(self, host, instance):
        root = host.storage.lookup(vmops.volume_name(instance.uuid,
                                                     vmops.ROOT))
        if root is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        name = vmops.volume_name(instance.uuid, EXPORT)
        host.storage.delete(name)
        size = host.storage.virtual_size(root)
        with host.translated('Exporting the root disk of %s' %
                             instance.uuid):
            copy = host.storage.clone_flattened(name, root, size, 'raw')
        try:
            with host.storage.reader(copy) as reader:
                yield 'raw', size, reader
        finally:
            host.storage.delete(name)

    def confirm_migration(self, source_host, instance, same_node,
                          dest_host=None):
        if same_node:
            source_host.storage.delete_prefixed(instance.uuid + '-resize_')
            return
        # An adopted domain's disk files stay (see vmops.undefine).
        self._guests.destroy(source_host, instance, destroy_disks=True)
        if dest_host is not None:
            dest_host.storage.delete(_copied_files(instance))

    def finish_revert_migration(self, source_host, instance, network_info,
                                same_node, power_on, dest_host=None):
        if same_node and adopted_moves.revert_in_place(
                source_host, instance, vmops.backup_name(
                    instance.uuid, adopted_moves.DEFINITION), power_on):
            return
        if not same_node and dest_host is not None and \
                adopted_moves.revert_cold_move(
                    source_host, dest_host, instance,
                    _copied_files(instance), power_on):
            return
        if same_node:
            self._restore_backups(source_host, instance)
        # The instance carries the old flavor again.
        domain = self._guests.define(source_host, instance, network_info)
        if power_on:
            self._guests.start(source_host, instance, domain)

    # -- destination side --------------------------------------------------

    def finish_migration(self, dest_host, instance, network_info,
                         power_on, source_host=None, source_pool=None,
                         warm=None):
        """Bring the guest up on dest_host with instance.flavor (the new).

        source_host is set for a move inside the pool (it may be dest_host
        itself), source_pool for a move from another pool; warm is the
        source's summary of a warm pre-copy (its data is in the scratch
        volume already).
        """
        if source_host is dest_host and dest_host.is_adopted(instance.uuid):
            domain = adopted_moves.resize_in_place(
                dest_host, instance, vmops.backup_name(
                    instance.uuid, adopted_moves.DEFINITION))
            if power_on:
                self._guests.start(dest_host, instance, domain)
            return
        if source_host is dest_host:
            self._resize_in_place(dest_host, instance)
        elif source_host is not None and source_host.is_adopted(
                instance.uuid):
            domain = adopted_moves.copy_to_host(
                source_host, dest_host, instance, _copied_files(instance))
            if power_on:
                self._guests.start(dest_host, instance, domain)
            return
        elif source_host is not None:
            self._copy_between_hosts(source_host, dest_host, instance)
        elif warm:
            self._root_on_warm_copy(dest_host, instance, warm,
                                    convert=not power_on)
        else:
            self._import_from_pool(source_pool, dest_host, instance)
        domain = self._guests.define(dest_host, instance, network_info or [])
        if power_on:
            self._guests.start(dest_host, instance, domain)
        if warm:
            self._log_downtime(dest_host, instance, warm, power_on)
            if power_on:
                merge_warm_copy(dest_host, instance, domain, warm['scratch'])

    @staticmethod
    def _log_downtime(dest_host, instance, warm, power_on):
        if warm.get('power_off_at'):
            downtime = time.time() - warm['power_off_at']
            LOG.info('Warm move of %(uuid)s done: downtime %(down).2fs '
                     '(power-off to the guest %(state)s on %(node)s), '
                     '%(rounds)d rounds, %(copied)d bytes copied, '
                     '%(last)d of them during the cutover',
                     {'uuid': instance.uuid, 'down': downtime,
                      'state': 'running' if power_on else 'defined',
                      'node': dest_host.nodename,
                      'rounds': len(warm.get('rounds', [])),
                      'copied': warm.get('copied', 0),
                      'last': warm.get('cutover_copied', 0)})

    def _root_on_warm_copy(self, dest_host, instance, warm, convert):
        """The root disk on the scratch volume a warm move filled.

        In the downtime: a qcow2 root backed by the scratch volume, a
        metadata-only volume whatever the disk holds (merged after the
        start, see merge_warm_copy). A guest that is not started has no
        downtime to spare: its root is converted at once, as a cold
        import's.
        """
        self._guests._check_uuid_free(dest_host, instance)
        storage = dest_host.storage
        name = vmops.volume_name(instance.uuid, vmops.ROOT)
        try:
            scratch = storage.lookup(warm['scratch'])
            if scratch is None:
                raise nova_exception.ResizeError(
                    reason='the warm copy %s of %s is gone' % (
                        warm['scratch'], instance.uuid))
            with storage.reader(scratch, 0, 512) as reader:
                check_raw_header(instance, reader.read(512))
            storage.delete(name)
            if convert:
                with dest_host.translated('Converting the root disk of %s '
                                          'to qcow2' % instance.uuid):
                    storage.clone_flattened(name, scratch, warm['size'])
                storage.delete(warm['scratch'])
            else:
                # The backing format is recorded: libvirt and qemu never
                # probe the guest's raw data for a format.
                with dest_host.translated('Creating the root disk of %s on '
                                          'its warm copy' % instance.uuid):
                    storage.create(name, warm['size'], 'qcow2', scratch,
                                   'raw')
            self._fit_disks(dest_host, instance)
        except Exception:
            self._delete_quietly(dest_host, instance)
            raise

    def _resize_in_place(self, host, instance):
        storage = host.storage
        for kind in BACKED_UP_DISKS:
            volume = storage.lookup(vmops.volume_name(instance.uuid, kind))
            if volume is None:
                continue
            backup = vmops.backup_name(instance.uuid, kind)
            if storage.lookup(backup) is None:
                storage_mod.copy_volume(storage, volume, storage, backup)
        self._fit_disks(host, instance)

    def _fit_disks(self, host, instance):
        """Grow root and ephemeral to the flavor, recreate swap."""
        storage, flavor = host.storage, instance.flavor
        root = storage.lookup(vmops.volume_name(instance.uuid, vmops.ROOT))
        with host.translated('Resizing the disks of %s' % instance.uuid):
            grow(storage, root, flavor.root_gb * units.Gi)
            eph_name = vmops.volume_name(instance.uuid, vmops.EPHEMERAL)
            ephemeral = storage.lookup(eph_name)
            if ephemeral is not None:
                grow(storage, ephemeral, flavor.ephemeral_gb * units.Gi)
            elif flavor.ephemeral_gb:
                storage.create(eph_name, flavor.ephemeral_gb * units.Gi)
            swap_name = vmops.volume_name(instance.uuid, vmops.SWAP)
            storage.delete(swap_name)
            if flavor.swap:
                storage.create(swap_name, flavor.swap * units.Mi)
            log_name = vmops.volume_name(instance.uuid, vmops.CONSOLE_LOG)
            if storage.lookup(log_name) is None:
                storage.create(log_name, 0, 'raw')

    def _copy_between_hosts(self, source_host, dest_host, instance):
        self._guests._check_uuid_free(dest_host, instance)
        copied = []
        try:
            for kind in MOVED_DISKS:
                name = vmops.volume_name(instance.uuid, kind)
                volume = source_host.storage.lookup(name)
                if volume is None:
                    continue
                self._copy_disk(source_host, volume, dest_host, name, kind)
                copied.append(name)
            for name in copied:
                if not name.endswith(vmops.CONFIG_DRIVE):
                    await_format(dest_host.storage, name, 'qcow2')
            self._fit_disks(dest_host, instance)
        except Exception:
            self._delete_quietly(dest_host, instance)
            raise
        LOG.info('Disks of %(uuid)s copied from %(src)s to %(dst)s',
                 {'uuid': instance.uuid, 'src': source_host.nodename,
                  'dst': dest_host.nodename})

    @staticmethod
    def _copy_disk(source_host, volume, dest_host, name, kind):
        source = source_host.storage
        dest_host.storage.delete(name)
        if kind != vmops.ROOT:
            storage_mod.copy_volume(source, volume, dest_host.storage, name)
            return
        # The base image behind the overlay is not on the destination:
        # send a flattened copy instead.
        flat_name = vmops.volume_name(volume.name().split('_')[0], EXPORT)
        source.delete(flat_name)
        with source_host.translated('Flattening %s' % name):
            flat = source.clone_flattened(flat_name, volume,
                                          source.virtual_size(volume))
        try:
            storage_mod.copy_volume(source, flat, dest_host.storage, name)
        finally:
            source.delete(flat_name)

    def _import_from_pool(self, source_pool, dest_host, instance):
        self._guests._check_uuid_free(dest_host, instance)
        storage = dest_host.storage
        name = vmops.volume_name(instance.uuid, vmops.ROOT)
        scratch = vmops.volume_name(instance.uuid, IMPORT)
        try:
            storage.delete(name)
            storage.delete(scratch)
            with source_pool.open_root_disk_export(instance) as export:
                fmt, size, reader = export
                check_export_format(instance, fmt)
                volume = storage.create(scratch, 0, 'raw')
                with storage.writer(volume) as writer:
                    sink = images.ImageSink(writer)
                    storage_mod.copy_stream(reader, sink)
            check_raw_header(instance, sink.header)
            with dest_host.translated('Converting the root disk of %s to '
                                      'qcow2' % instance.uuid):
                storage.clone_flattened(name, volume, size)
            storage.delete(scratch)
            # Grown to the new flavor's root_gb here.
            self._fit_disks(dest_host, instance)
        except Exception:
            self._delete_quietly(dest_host, instance)
            raise
        LOG.info('Root disk of %(uuid)s imported from pool %(pool)s to '
                 '%(node)s: %(bytes)d bytes of raw guest data, now qcow2',
                 {'uuid': instance.uuid, 'pool': source_pool.name,
                  'node': dest_host.nodename, 'bytes': sink.size})

    def _delete_quietly(self, host, instance):
        try:
            host.storage.delete_prefixed(instance.uuid + '_')
        except Exception:
            LOG.exception('Removing the partial copy of %s on %s failed',
                          instance.uuid, host.nodename)

    def _restore_backups(self, host, instance):
        storage = host.storage
        for kind in BACKED_UP_DISKS:
            backup = storage.lookup(vmops.backup_name(instance.uuid, kind))
            name = vmops.volume_name(instance.uuid, kind)
            if backup is None:
                continue
            storage.delete(name)
            storage_mod.copy_volume(storage, backup, storage, name)
            storage.delete(backup.name())
        log_name = vmops.volume_name(instance.uuid, vmops.CONSOLE_LOG)
        if storage.lookup(log_name) is None:
            storage.create(log_name, 0, 'raw')
