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

"""Resize and live migration of adopted domains.

An adopted domain keeps the operator's definition (its own UUID, name,
disks anywhere on the host, see :mod:`adopt`): Nova's moves change only
what the operation must.

* Resize on the same node: the persistent definition gets the flavor's
  vCPU count and memory (:func:`resized_definition`), nothing else. The
  previous definition is kept, byte for byte, in a raw volume of the
  node's storage pool (``<uuid>-resize_definition``, beside the backups
  of a Nova guest's resize): nova destroys (undefines) the guest before a
  revert, so the domain cannot hold it itself. Revert defines it again;
  confirm deletes the volume with the other resize backups.
* Live migration to another libvirt host: the domain moves with its own
  persistent definition, our metadata mark included (which then names
  the destination node). On shared storage nothing is copied; otherwise
  qemu copies every writable file disk (a full copy: the destination
  file is standalone, whatever backing chain the source file has) into
  files that the destination has made beforehand at the same paths, in
  its storage pool whose target path is the disk's directory. A file
  that exists there already is never overwritten.
* Resize or cold migration to another host of the same pool: every disk
  file is copied through libvirt streams into a file of the same path,
  name and format in the destination's storage pool for its directory;
  the same definition (vCPUs and memory changed if the flavor did, the
  mark naming the new node) is defined there and started. The copied
  paths are recorded in ``<uuid>-resize_files`` in the destination's
  storage pool: a revert removes them and the destination's domain and
  starts the untouched source; confirm undefines the source, whose disk
  files stay (as on delete). A qcow2 overlay is refused: its backing
  file would have to be copied or flattened into a file of the
  operator's that Nova does not own. To another pool (or service) the
  move is refused.
"""

import os
from xml.etree import ElementTree as etree

import libvirt
from oslo_log import log as logging
from oslo_utils import uuidutils

from nova import exception as nova_exception

from nova_ovirt.pools.libvirt import adopt
from nova_ovirt.pools.libvirt import config
from nova_ovirt.pools.libvirt import errors
from nova_ovirt.pools.libvirt import host as host_mod
from nova_ovirt.pools.libvirt import storage as storage_mod

LOG = logging.getLogger(__name__)

#: The kept definition: vmops.backup_name(uuid, DEFINITION).
DEFINITION = 'definition'
#: The definition as the operator wrote it, passwords included.
DEFINITION_FLAGS = (libvirt.VIR_DOMAIN_XML_INACTIVE |
                    libvirt.VIR_DOMAIN_XML_SECURE)
SHARED_CHECK_PREFIX = 'nova-ovirt-shared-check-'


# -- the definition's vCPUs and memory ----------------------------------------

def resized_definition(xml, vcpus, memory_mib):
    """The definition with `vcpus` vCPUs and `memory_mib` MiB, else as is.

    Changed: ``<vcpu>`` (and its ``current``), ``<memory>``,
    ``<currentMemory>`` and a ``<cpu><topology>`` (its sockets, so that
    sockets x dies x cores x threads stays the vCPU count; one core and
    thread per socket when the count does not divide).

    :raises ResizeError: for what cannot be kept consistent by these
        edits (guest NUMA cells, per-vCPU settings, a memory hotplug
        maximum below the new size)
    """
    root = etree.fromstring(xml)
    _check_resizable(root, memory_mib)
    vcpu = root.find('vcpu')
    if vcpu is None:
        vcpu = etree.SubElement(root, 'vcpu')
    vcpu.text = str(vcpus)
    if vcpu.get('current') is not None:
        vcpu.set('current', str(vcpus))
    for tag in ('memory', 'currentMemory'):
        element = root.find(tag)
        if element is None and tag == 'currentMemory':
            continue
        if element is None:
            element = etree.SubElement(root, tag)
        element.attrib.clear()
        element.set('unit', 'KiB')
        element.text = str(memory_mib * 1024)
    topology = root.find('cpu/topology')
    if topology is not None:
        _fit_topology(topology, vcpus)
    return etree.tostring(root, encoding='unicode')


def _check_resizable(root, memory_mib):
    reasons = []
    if root.find('cpu/numa') is not None:
        reasons.append('its guest NUMA cells (<cpu><numa>) name vCPUs and '
                       'memory')
    if root.find('vcpus') is not None:
        reasons.append('it sets vCPUs one by one (<vcpus>)')
    maximum = root.find('maxMemory')
    if maximum is not None and adopt._kib(maximum) < memory_mib * 1024:
        reasons.append('its <maxMemory> is below %d MiB' % memory_mib)
    if reasons:
        raise nova_exception.ResizeError(
            reason='the adopted definition cannot be resized by nova-ovirt: '
                   '%s; change it with virsh edit instead' %
                   '; '.join(reasons))


def _fit_topology(topology, vcpus):
    per_socket = 1
    for attribute in ('dies', 'cores', 'threads'):
        per_socket *= int(topology.get(attribute) or 1)
    if vcpus % per_socket:
        for attribute in ('dies', 'cores', 'threads'):
            if topology.get(attribute) is not None:
                topology.set(attribute, '1')
        per_socket = 1
    topology.set('sockets', str(vcpus // per_socket))


def without_metadata(xml):
    """The definition without its <metadata> (for comparisons and logs)."""
    root = etree.fromstring(xml)
    metadata = root.find('metadata')
    if metadata is not None:
        root.remove(metadata)
    return etree.tostring(root, encoding='unicode')


# -- resize on the same node ------------------------------------------------

def check_resize_target(host, instance, dest_node, dest_host):
    """Refuse, rolled back, what the move cannot do; nothing changes.

    dest_host: the destination's Host when it is a node of this pool.
    """
    if dest_node is None or dest_node == host.nodename:
        return
    if dest_host is None:
        reasons = ['nova-ovirt moves an adopted domain by resize or cold '
                   'migration between hosts of one libvirt pool only (%s '
                   'is not one of pool %s); live-migrate it instead' % (
                       dest_node, host.pool_name)]
    else:
        reasons = _cold_move_problems(host, dest_host, instance)
    if reasons:
        raise nova_exception.InstanceFaultRollback(
            nova_exception.ResizeError(
                reason='adopted domain of %s cannot move from %s to %s: %s'
                       % (instance.uuid, host.nodename, dest_node,
                          '; '.join(reasons))))


def _cold_move_problems(source_host, dest_host, instance):
    domain = source_host.lookup(instance.uuid)
    with source_host.translated('Checking the disks of adopted domain %s'
                                % domain.UUIDString(), instance.uuid):
        try:
            disks = file_disks(domain.XMLDesc(DEFINITION_FLAGS))
        except nova_exception.MigrationPreCheckError as e:
            return [str(e)]
        reasons = []
        if _domain(dest_host.connection, domain.UUIDString()):
            reasons.append('%s has a domain with its UUID %s already' % (
                dest_host.nodename, domain.UUIDString()))
        for target, path, _fmt, _ro in disks:
            reasons += _disk_problems(source_host, dest_host, target, path)
    return reasons


def _disk_problems(source_host, dest_host, target, path):
    directory, name = os.path.split(path)
    volume = _source_volume(source_host, path)
    if volume is None:
        return ['%s (disk %s) is in no storage pool of %s, so libvirt '
                'cannot read it' % (path, target, source_host.nodename)]
    backing = etree.fromstring(volume.XMLDesc(0)).findtext(
        'backingStore/path')
    if backing:
        return ['%s (disk %s) is a qcow2 overlay on %s: flatten it first '
                '(qemu-img convert) or live-migrate the server, which '
                'copies it in full' % (path, target, backing)]
    pool = pool_for_directory(dest_host.connection, directory)
    if pool is None:
        return [_no_pool_reason(directory, path, target, dest_host.nodename)]
    if _volume(_refreshed(pool), name) is not None:
        return ['%s (disk %s) exists on %s already; nova-ovirt never '
                'overwrites it' % (path, target, dest_host.nodename)]
    return []


def _source_volume(source_host, path):
    """The volume of path in the source's pool for its directory (the
    operator's files may be newer than the pool's last scan)."""
    directory, name = os.path.split(path)
    pool = pool_for_directory(source_host.connection, directory)
    return _volume(_refreshed(pool), name) if pool is not None else None


def _domain(conn, uuid):
    try:
        return conn.lookupByUUIDString(uuid)
    except libvirt.libvirtError as e:
        if errors.is_missing_domain(e):
            return None
        raise


def copy_to_host(source_host, dest_host, instance, record_name):
    """The adopted domain's copy on dest_host, defined, not started.

    Disk files through libvirt streams (holes stay holes), then the same
    definition. On failure nothing of it stays on dest_host; the source
    is not changed in any case.
    """
    source = source_host.lookup(instance.uuid)
    uuid = source.UUIDString()
    created = []
    try:
        with dest_host.translated('Copying adopted domain %s from %s' % (
                uuid, source_host.nodename), instance.uuid):
            definition = source.XMLDesc(DEFINITION_FLAGS)
            for _target, path, _fmt, _ro in file_disks(definition):
                _copy_file(source_host, dest_host, path, created)
            _save_text(dest_host, record_name, '\n'.join(created))
            domain = dest_host.connection.defineXML(
                _with_flavor(definition, instance))
            _update_mark(domain, flavor=instance.flavor,
                         pool=dest_host.pool_name, node=dest_host.nodename)
            dest_host.note_owned(instance.uuid, instance.name, uuid)
    except Exception:
        _remove_copy(dest_host, uuid, created, record_name)
        raise
    LOG.info('Adopted domain %(uuid)s copied from %(src)s to %(dst)s: '
             '%(files)s', {'uuid': uuid, 'src': source_host.nodename,
                           'dst': dest_host.nodename,
                           'files': ', '.join(created) or 'no disks'},
             instance=instance)
    return domain


def _with_flavor(definition, instance):
    new, old = instance.flavor, instance.old_flavor or instance.flavor
    if (new.vcpus, new.memory_mb) == (old.vcpus, old.memory_mb):
        return definition
    return resized_definition(definition, new.vcpus, new.memory_mb)


def _copy_file(source_host, dest_host, path, created):
    directory, name = os.path.split(path)
    source = _source_volume(source_host, path)
    pool = pool_for_directory(dest_host.connection, directory)
    # The file's bytes as they are (a qcow2 file stays one): created raw
    # and empty, then written.
    volume = pool.createXML(config.volume_xml(name, 0, 'raw'), 0)
    created.append(path)
    storage_mod.copy_between(source_host.connection, source,
                             dest_host.connection, volume)


def _remove_copy(dest_host, uuid, paths, record_name):
    try:
        domain = _domain(dest_host.connection, uuid)
        if domain is not None:
            if domain.isActive():
                domain.destroy()
            domain.undefineFlags(
                libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM)
        delete_files(dest_host, paths)
        dest_host.storage.delete(record_name)
    except Exception:
        LOG.exception('Removing the copy of adopted domain %s on %s failed',
                      uuid, dest_host.nodename)
    dest_host.invalidate()


def revert_cold_move(source_host, dest_host, instance, record_name,
                     power_on):
    """The destination's copy gone, the source started; False when no
    copy of an adopted domain is recorded there."""
    record = dest_host.storage.lookup(record_name)
    if record is None:
        return False
    source = source_host.lookup(instance.uuid)
    with dest_host.storage.reader(record) as reader:
        paths = [p for p in reader.read().decode('utf-8').split('\n') if p]
    _remove_copy(dest_host, source.UUIDString(), paths, record_name)
    LOG.info('Resize reverted: the copy of adopted domain %s on %s is '
             'removed (%s)', source.UUIDString(), dest_host.nodename,
             ', '.join(paths) or 'no disks', instance=instance)
    with source_host.translated('Starting adopted domain %s' %
                                source.UUIDString(), instance.uuid):
        if power_on and not source.isActive():
            source.create()
    source_host.invalidate()
    return True


def resize_in_place(host, instance, backup_name):
    """The vCPUs and memory of instance.flavor (the new) in the domain's
    persistent definition; the previous one kept in volume backup_name."""
    domain = host.lookup(instance.uuid)
    flavor = instance.flavor
    with host.translated('Resizing the adopted domain %s' %
                         domain.UUIDString(), instance.uuid):
        previous = domain.XMLDesc(DEFINITION_FLAGS)
        new_xml = resized_definition(previous, flavor.vcpus,
                                     flavor.memory_mb)
        if host.storage.lookup(backup_name) is None:
            _save_text(host, backup_name, previous)
        domain = host.connection.defineXML(new_xml)
        _update_mark(domain, flavor=flavor)
    LOG.info('Adopted domain %(domain)s (%(name)s) now has %(vcpus)d vCPUs '
             'and %(mem)d MiB; its previous definition is kept in volume '
             '%(backup)s until the resize is confirmed',
             {'domain': domain.UUIDString(), 'name': domain.name(),
              'vcpus': flavor.vcpus, 'mem': flavor.memory_mb,
              'backup': backup_name}, instance=instance)
    return domain


def revert_in_place(host, instance, backup_name, power_on):
    """The kept definition back, exactly; False if none was kept."""
    volume = host.storage.lookup(backup_name)
    if volume is None:
        return False
    with host.translated('Restoring the definition of adopted guest %s' %
                         instance.uuid, instance.uuid):
        with host.storage.reader(volume) as reader:
            previous = reader.read().decode('utf-8')
        domain = host.connection.defineXML(previous)
        host.note_owned(instance.uuid, instance.name, domain.UUIDString())
        if power_on and not domain.isActive():
            domain.create()
        host.storage.delete(backup_name)
    host.invalidate()
    LOG.info('Adopted domain %s (%s) has its definition from before the '
             'resize again', domain.UUIDString(), domain.name(),
             instance=instance)
    return True


def _save_text(host, name, text):
    data = text.encode('utf-8')
    volume = host.storage.create(name, 0, 'raw')
    try:
        with storage_mod.VolumeWriter(host.connection, volume,
                                      sparse=False) as writer:
            writer.write(data)
    except Exception:
        host.storage.delete(name)
        raise


def _update_mark(domain, flavor=None, pool=None, node=None):
    """Our metadata mark with another flavor or node, otherwise as is."""
    element = etree.fromstring(host_mod.read_metadata(domain))
    for child in element:
        tag = child.tag.rsplit('}', 1)[-1]
        if tag == 'flavor' and flavor is not None:
            child.attrib.update(
                name=flavor.name, memory_mb=str(flavor.memory_mb),
                vcpus=str(flavor.vcpus), root_gb=str(flavor.root_gb),
                ephemeral_gb=str(flavor.ephemeral_gb), swap=str(flavor.swap))
        elif tag == 'pool' and node is not None:
            child.attrib.update(name=pool, node=node)
    adopt.set_element(domain, element)


# -- live migration -----------------------------------------------------------

def file_disks(xml):
    """[(target, path, format, read-only)] of the domain's disks.

    :raises MigrationPreCheckError: for a disk that is not a file
    """
    found = []
    for disk in etree.fromstring(xml).findall('devices/disk'):
        target = disk.find('target').get('dev')
        source = disk.find('source')
        if disk.get('type') != 'file':
            raise nova_exception.MigrationPreCheckError(
                reason='disk %s of the adopted domain is of type %s: '
                       'nova-ovirt live-migrates adopted domains whose '
                       'disks are files' % (target, disk.get('type')))
        if source is None or not source.get('file'):
            continue        # an empty cdrom drive
        driver = disk.find('driver')
        found.append((target, source.get('file'),
                      driver.get('type') if driver is not None and
                      driver.get('type') else 'raw',
                      disk.find('readonly') is not None))
    return found


def disk_info(domain):
    """What the destination makes before a block migration."""
    found = []
    for target, path, fmt, readonly in file_disks(domain.XMLDesc(0)):
        found.append({'path': path, 'target': target, 'format': fmt,
                      'readonly': readonly,
                      'virt_disk_size': domain.blockInfo(target, 0)[0]})
    return found


def is_adopted_disk_info(disks):
    return bool(disks) and all('path' in d for d in disks)


def pool_for_directory(conn, directory):
    """The active storage pool of conn whose target path is directory."""
    wanted = os.path.normpath(directory)
    for pool in conn.listAllStoragePools(
            libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
        path = config.pool_target_path(pool.XMLDesc(0))
        if path and os.path.normpath(path) == wanted:
            return pool
    return None


def _volume(pool, name):
    try:
        return pool.storageVolLookupByName(name)
    except libvirt.libvirtError as e:
        if errors.is_missing_volume(e):
            return None
        raise


def _refreshed(pool):
    try:
        pool.refresh(0)
    except libvirt.libvirtError as e:
        LOG.debug('Refreshing storage pool %s failed: %s', pool.name(), e)
    return pool


def _no_pool_reason(directory, path, target, node):
    return ('the destination %s has no active storage pool for %s, the '
            'directory of disk %s (%s): define and start a dir pool with '
            'that target path there' % (node, directory, target, path))


def _same_directory(source_conn, dest_pool, directory):
    """True when the destination's directory is the source's (shared
    storage): a marker volume made there shows up on the source."""
    source_pool = pool_for_directory(source_conn, directory)
    if source_pool is None:
        return False
    marker = SHARED_CHECK_PREFIX + uuidutils.generate_uuid()
    volume = dest_pool.createXML(config.volume_xml(marker, 0, 'raw'), 0)
    try:
        return _volume(_refreshed(source_pool), marker) is not None
    finally:
        volume.delete(0)


def shared_storage(source_conn, dest_conn, domain, dest_node):
    """Whether the domain's disks are on storage both hosts share.

    Per disk directory: the destination must have a storage pool there;
    a disk file the destination sees already is shared, or else the
    migration is refused (it would overwrite a file of the destination).

    :raises MigrationPreCheckError: naming the disk and what is missing
    """
    shared = {}
    for target, path, _fmt, _ro in file_disks(domain.XMLDesc(0)):
        directory, name = os.path.split(path)
        pool = pool_for_directory(dest_conn, directory)
        if pool is None:
            raise nova_exception.MigrationPreCheckError(
                reason=_no_pool_reason(directory, path, target, dest_node))
        if _volume(_refreshed(pool), name) is None:
            shared[path] = False
        elif _same_directory(source_conn, pool, directory):
            shared[path] = True
        else:
            raise nova_exception.MigrationPreCheckError(
                reason='%s (disk %s) exists on the destination %s, which '
                       'does not share that directory with the source; '
                       'nova-ovirt never overwrites it' % (
                           path, target, dest_node))
    if len(set(shared.values())) > 1:
        raise nova_exception.MigrationPreCheckError(
            reason='some disks of the adopted domain are on storage both '
                   'hosts share and some are not (%s): nova-ovirt migrates '
                   'all of them by copy or none' % ', '.join(
                       '%s: %s' % (p, 'shared' if s else 'local')
                       for p, s in sorted(shared.items())))
    return all(shared.values())


def create_destination_files(dest_host, disks):
    """Empty files of the same paths, formats and sizes; their paths.

    Nothing is left when one fails; a file that exists is refused, never
    reused.
    """
    conn = dest_host.connection
    created = []
    try:
        for disk in disks:
            directory, name = os.path.split(disk['path'])
            pool = pool_for_directory(conn, directory)
            if pool is None:
                raise nova_exception.MigrationError(reason=_no_pool_reason(
                    directory, disk['path'], disk['target'],
                    dest_host.nodename))
            if _volume(_refreshed(pool), name) is not None:
                raise nova_exception.MigrationError(
                    reason='%s exists on %s already; nova-ovirt never '
                           'overwrites it' % (disk['path'],
                                              dest_host.nodename))
            pool.createXML(config.volume_xml(
                name, disk['virt_disk_size'], disk['format']), 0)
            created.append(disk['path'])
    except Exception:
        delete_files(dest_host, created)
        raise
    return created


def delete_files(host, paths):
    for path in paths:
        try:
            host.connection.storageVolLookupByPath(path).delete(0)
        except libvirt.libvirtError as e:
            LOG.warning('Removing %s on %s failed: %s', path, host.nodename,
                        e)


def migration_params(domain, block_migration):
    """virDomainMigrate3 parameters: the operator's persistent
    definition as is; for a block migration, the live one without the
    migrated disks' backing chains (their copies are standalone)."""
    params = {libvirt.VIR_MIGRATE_PARAM_PERSIST_XML:
              domain.XMLDesc(DEFINITION_FLAGS)}
    if block_migration:
        live = etree.fromstring(domain.XMLDesc(
            libvirt.VIR_DOMAIN_XML_MIGRATABLE | libvirt.VIR_DOMAIN_XML_SECURE))
        for disk in live.findall('devices/disk'):
            if disk.find('readonly') is None:
                for backing in disk.findall('backingStore'):
                    disk.remove(backing)
        params[libvirt.VIR_MIGRATE_PARAM_DEST_XML] = etree.tostring(
            live, encoding='unicode')
    return params


def copy_readonly_disks(source_host, dest_conn, domain):
    """Read-only files (qemu mirrors writable disks only), by stream."""
    for _target, path, _fmt, readonly in file_disks(domain.XMLDesc(0)):
        if not readonly:
            continue
        volume = source_host.storage.lookup_path(path)
        if volume is None:
            raise nova_exception.MigrationError(
                reason='the read-only disk %s is in no storage pool of the '
                       'source %s, so libvirt cannot read it' % (
                           path, source_host.nodename))
        storage_mod.copy_between(source_host.connection, volume, dest_conn,
                                 dest_conn.storageVolLookupByPath(path))


def take_over_mark(dest_host, instance):
    """After the migration: the mark names the destination's node."""
    domain = dest_host.lookup(instance.uuid)
    with dest_host.translated('Marking the adopted domain %s as on %s' % (
            domain.UUIDString(), dest_host.nodename), instance.uuid):
        _update_mark(domain, pool=dest_host.pool_name,
                     node=dest_host.nodename)
    dest_host.note_owned(instance.uuid, instance.name, domain.UUIDString())
