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

"""Live migration of a running guest between two libvirt hosts.

Client-managed migration (``virDomainMigrate3`` with a connection to each
host): nova-compute of the source node opens a connection to the
destination node's libvirt URI, which the destination service hands over
in the migrate data, and drives the migration from there. Neither libvirtd
needs credentials for the other (peer-to-peer would), and the driver sees
both sides, so it can pause, resume, abort and clean up either one. The
memory (and disk) data flow directly between the two qemu processes; the
destination's libvirtd says where it listens (``migration_host`` and the
migration ports of its ``qemu.conf``).

Storage is detected, not configured: the destination writes a marker
volume into its storage pool and the source looks for it in its own. Seen:
the pools share storage and the guest moves with its disks in place.
Not seen: a block migration, incremental on the qcow2 overlays
(``VIR_MIGRATE_NON_SHARED_INC``): the destination first gets the image's
base volume (cached there like for a spawn) and empty volumes of the same
names and sizes, so only the guest's own layer crosses the wire.

An adopted domain (see :mod:`adopted_moves`) moves with the operator's
definition as it is: its disks keep their paths, storage is shared when
the destination sees the very files, and a block migration copies them
in full into files the destination makes first.

Nova data carried between the two services (``LibvirtLiveMigrateData``):
``filename`` is the marker volume, ``target_connect_addr`` what the source
connects to: the destination node's libvirt URI and the address its qemu
receives the migration on (the pool's ``live_migration_inbound_addr``), as
a small JSON document (see :func:`connect_info`; only this driver reads
the field),
``is_shared_block_storage``/``is_shared_instance_path`` the detected storage
(nova's compute manager reads them to decide which disks to remove), and
``block_migration``.

Monitoring follows nova's libvirt driver and its ``[libvirt]`` options:
``live_migration_bandwidth``, ``live_migration_completion_timeout`` with
``live_migration_timeout_action``, ``live_migration_permit_post_copy``,
``live_migration_with_native_tls`` (``VIR_MIGRATE_TLS``); progress goes
into the migration record that ``os-migrations`` shows.
"""

import json
import threading
import time
from xml.etree import ElementTree as etree

import libvirt
from oslo_log import log as logging
from oslo_utils import units
from oslo_utils import uuidutils

import nova.conf
from nova import exception as nova_exception
from nova.image import glance
from nova import objects

from nova_ovirt import compat
from nova_ovirt.pools.libvirt import adopted_moves
from nova_ovirt.pools.libvirt import config
from nova_ovirt.pools.libvirt import images
from nova_ovirt.pools.libvirt import nodes
from nova_ovirt.pools.libvirt import storage as storage_mod
from nova_ovirt.pools.libvirt import vmops

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

MARKER_PREFIX = 'nova-ovirt-shared-check-'
MONITOR_INTERVAL = 0.5
#: Seconds between two saves of the migration record's progress.
PROGRESS_INTERVAL = 2.0


class _Job(object):
    """One running migration, for abort and force-complete."""

    def __init__(self, domain, flags):
        self.domain = domain
        self.flags = flags
        self.aborted = False
        self.paused = False
        self.post_copy = False


def connect_info(uri, inbound_addr, initiator=None):
    """What the source connects to, for ``target_connect_addr``; with
    the iSCSI initiator IQN the destination's qemu presents."""
    return json.dumps({'uri': uri, 'inbound_addr': inbound_addr,
                       'initiator': initiator})


def destination_initiator(value):
    """The destination's initiator IQN of ``target_connect_addr``."""
    try:
        return json.loads(value or '').get('initiator')
    except (ValueError, AttributeError):
        return None


def parse_connect_info(value):
    """(libvirt URI, inbound address or None) of ``target_connect_addr``."""
    try:
        found = json.loads(value or '')
        return found['uri'], found.get('inbound_addr')
    except (ValueError, TypeError, KeyError):
        raise nova_exception.MigrationPreCheckError(
            reason='the destination is not a libvirt pool node of '
                   'nova-ovirt (target_connect_addr %r)' % value)


def migration_uri(inbound_addr):
    """qemu's migration URI of the destination, None to let libvirt pick."""
    if not inbound_addr:
        return None
    if ':' in inbound_addr and not inbound_addr.startswith('['):
        inbound_addr = '[%s]' % inbound_addr  # IPv6
    return 'tcp://%s' % inbound_addr


def _pool_path(conn, pool_name):
    pool = conn.storagePoolLookupByName(pool_name)
    return config.pool_target_path(pool.XMLDesc(0))


def destination_xml(xml, source_path, dest_path, initiator=None):
    """The domain definition with its volumes in the destination's pool.

    Volumes keep their names; only the storage pool's directory changes
    (disk sources and the serial console's log file). iSCSI volumes log
    in as the destination node's ``initiator``, the one Cinder exported
    them to for the destination.
    """
    root = etree.fromstring(xml)
    for iqn in root.findall('./devices/disk/source/initiator/iqn'):
        if initiator:
            iqn.set('name', initiator)
    prefix = source_path.rstrip('/') + '/'
    new_prefix = dest_path.rstrip('/') + '/'
    for element, attribute in (
            [(s, 'file') for s in root.findall('./devices/disk/source')] +
            [(s, 'path') for s in root.findall('./devices/serial/source')] +
            [(s, 'file') for s in root.findall('./devices/serial/log')] +
            [(s, 'path') for s in root.findall('./devices/console/source')] +
            [(s, 'file') for s in root.findall('./devices/console/log')]):
        value = element.get(attribute)
        if value and value.startswith(prefix):
            element.set(attribute, new_prefix + value[len(prefix):])
    return etree.tostring(root, encoding='unicode')


class LiveMigrationOps(object):
    """Both sides of a live migration; every method takes its host."""

    def __init__(self, guests):
        self._guests = guests
        self._jobs = {}
        # {instance uuid: paths} of the files pre_live_migration made for
        # an adopted domain: the only ones its rollback removes.
        self._created_files = {}
        self._lock = threading.Lock()

    # -- checks (destination, then source) ---------------------------------

    def check_destination(self, dest_host, instance, block_migration,
                          disk_over_commit):
        """Marker volume for the storage check; the data for the source."""
        marker = MARKER_PREFIX + uuidutils.generate_uuid()
        with dest_host.translated('Preparing the live migration check of '
                                  '%s' % instance.uuid):
            dest_host.storage.create(marker, 0, 'raw')
        data = objects.LibvirtLiveMigrateData()
        data.filename = marker
        data.target_connect_addr = connect_info(
            dest_host.uri, dest_host.conf.live_migration_inbound_addr or
            nodes.uri_host(dest_host.uri),
            self._guests.volumes.initiator(dest_host))
        data.disk_over_commit = bool(disk_over_commit)
        if block_migration is not None:
            data.block_migration = bool(block_migration)
        return data

    def cleanup_destination_check(self, dest_host, data):
        if 'filename' in data and data.filename:
            with dest_host.translated('Removing the live migration check '
                                      'volume %s' % data.filename):
                dest_host.storage.delete(data.filename)

    def _shares_storage(self, source_host, marker):
        """True if the source's pool holds the destination's marker."""
        storage = source_host.storage
        storage.refresh()
        return storage.lookup(marker) is not None

    def _check_not_same_host(self, source_host, dest_uri):
        conn = self._open(dest_uri, source_host)
        try:
            with source_host.translated('Reading the host UUID of %s' %
                                        dest_uri):
                dest_uuid = conn.getCapabilities()
                source_uuid = source_host.connection.getCapabilities()
        finally:
            self._close(conn)
        if _host_uuid(dest_uuid) == _host_uuid(source_uuid):
            raise nova_exception.MigrationPreCheckError(
                reason='source and destination are the same libvirt host '
                       '(host UUID %s); give every libvirtd its own '
                       'host_uuid' % _host_uuid(source_uuid))

    def check_source(self, source_host, instance, data):
        """Decide block or plain migration; refuse what cannot work."""
        domain = source_host.lookup(instance.uuid)
        adopted = source_host.is_adopted(instance.uuid)
        dest_uri, _addr = parse_connect_info(
            data.target_connect_addr if 'target_connect_addr' in data
            else None)
        self._check_not_same_host(source_host, dest_uri)
        if adopted:
            shared = self._adopted_disks_shared(source_host, domain,
                                                dest_uri)
        else:
            shared = self._shares_storage(source_host, data.filename)
        requested = data.block_migration if 'block_migration' in data \
            else None
        if requested and shared:
            raise nova_exception.MigrationPreCheckError(
                reason='block migration was requested but source and '
                       'destination share their storage pool; migrate '
                       'without block_migration')
        if requested is False and not shared:
            raise nova_exception.MigrationPreCheckError(
                reason='source and destination do not share storage: a '
                       'block migration is needed (block_migration true '
                       'or auto)')
        data.is_shared_block_storage = shared
        data.is_shared_instance_path = shared
        data.block_migration = not shared
        if not adopted:
            self._check_disks_movable(source_host, instance)
        return data

    def _adopted_disks_shared(self, source_host, domain, dest_uri):
        """An adopted domain's disks are wherever the operator put them:
        the destination needs a storage pool in each of their directories
        (see adopted_moves.shared_storage)."""
        conn = self._open(dest_uri, source_host)
        try:
            with source_host.translated('Checking the storage of adopted '
                                        'domain %s on %s' % (
                                            domain.UUIDString(), dest_uri)):
                return adopted_moves.shared_storage(
                    source_host.connection, conn, domain, dest_uri)
        finally:
            self._close(conn)

    def _check_disks_movable(self, source_host, instance):
        for disk in self.disk_info(source_host, instance):
            base = disk['backing']
            if base and not base.startswith(images.base_volume_name('')):
                raise nova_exception.MigrationPreCheckError(
                    reason='disk %s is backed by %s, which is not a cached '
                           'image; it cannot be rebuilt on the destination'
                           % (disk['name'], base))

    # -- what the source has -----------------------------------------------

    def disk_info(self, source_host, instance):
        """The guest's volumes: name, format, virtual size, backing base."""
        if source_host.is_adopted(instance.uuid):
            with source_host.translated('Listing the disks of %s' %
                                        instance.uuid):
                return adopted_moves.disk_info(
                    source_host.lookup(instance.uuid))
        storage = source_host.storage
        found = []
        with source_host.translated('Listing the volumes of %s' %
                                    instance.uuid):
            for name in storage.names():
                if not name.startswith(instance.uuid + '_'):
                    continue
                volume = storage.lookup(name)
                xml = volume.XMLDesc(0)
                found.append({
                    'name': name, 'format': config.volume_format(xml),
                    'virt_disk_size': storage.virtual_size(volume),
                    'backing': _backing_name(xml)})
        return found

    # -- destination -------------------------------------------------------

    def pre_live_migration(self, dest_host, context, instance, data,
                           disk_info, block_device_info=None):
        """Secrets of the Cinder volumes; volumes of the same names and
        sizes, on cached image bases.

        qemu on the destination logs in to the Cinder volumes itself (they
        are network disks, never copied): their CHAP secrets, referenced
        by usage from the migrated definition, must exist there first.
        """
        self._guests.volumes.define_secrets(dest_host, instance,
                                            block_device_info)
        if data.is_shared_block_storage:
            dest_host.storage.refresh()
            return data
        disks = json.loads(disk_info) if isinstance(disk_info, str) \
            else (disk_info or [])
        if adopted_moves.is_adopted_disk_info(disks):
            with dest_host.translated('Creating the disk files of adopted '
                                      'guest %s' % instance.uuid):
                created = adopted_moves.create_destination_files(dest_host,
                                                                 disks)
            with self._lock:
                self._created_files[instance.uuid] = created
            LOG.info('Files %s made on %s for the live migration', created,
                     dest_host.nodename, instance=instance)
            return data
        created = []
        try:
            with dest_host.translated('Creating the volumes of %s for its '
                                      'live migration' % instance.uuid):
                for disk in disks:
                    self._create_volume(dest_host, context, disk, created)
        except Exception:
            LOG.warning('Preparing the live migration on %s failed; removing '
                        'the volumes made for it: %s', dest_host.nodename,
                        created, instance=instance)
            for name in created:
                dest_host.storage.delete(name)
            raise
        LOG.info('Volumes %s ready on %s for the live migration', created,
                 dest_host.nodename, instance=instance)
        return data

    def _create_volume(self, dest_host, context, disk, created):
        storage = dest_host.storage
        backing = backing_format = None
        if disk['backing']:
            image_id = disk['backing'][len(images.base_volume_name('')):]
            image_meta = objects.ImageMeta.from_image_ref(
                context, glance.API(), image_id)
            base = images.ensure_base_volume(dest_host, context, image_meta)
            backing, backing_format = base.volume, base.format
        storage.delete(disk['name'])  # leftover of an earlier attempt
        # The console log starts afresh; disks get their full size.
        size = (0 if disk['name'].endswith('_' + vmops.CONSOLE_LOG)
                else disk['virt_disk_size'])
        storage.create(disk['name'], size, disk['format'], backing,
                       backing_format)
        created.append(disk['name'])

    def post_live_migration_at_destination(self, dest_host, instance):
        """Keep the persistent definition ours: metadata of this node."""
        with self._lock:
            adopted = self._created_files.pop(instance.uuid, None)
        if adopted is not None or dest_host.is_adopted(instance.uuid):
            # The operator's definition came along: only the mark changes.
            adopted_moves.take_over_mark(dest_host, instance)
        else:
            self._guests.define(dest_host, instance)
        dest_host.invalidate()

    def post_live_migration_at_source(self, source_host, instance):
        """The volumes' secrets go with the guest that used them."""
        self._guests.volumes.remove_secrets(source_host, instance)

    def rollback_at_destination(self, dest_host, instance, destroy_disks):
        """Nothing of the guest stays on the destination."""
        self._guests.undefine(dest_host, instance.uuid)
        self._guests.volumes.remove_secrets(dest_host, instance)
        with self._lock:
            created = self._created_files.pop(instance.uuid, [])
        if created:
            adopted_moves.delete_files(dest_host, created)
            LOG.info('Live migration rolled back on %s; removed the files '
                     'made for it: %s', dest_host.nodename, created,
                     instance=instance)
        if destroy_disks:
            with dest_host.translated('Removing the volumes of %s after a '
                                      'failed live migration' %
                                      instance.uuid):
                deleted = dest_host.storage.delete_prefixed(
                    instance.uuid + '_')
            LOG.info('Live migration rolled back on %s; removed %s',
                     dest_host.nodename, deleted, instance=instance)

    # -- source: the migration itself --------------------------------------

    @staticmethod
    def _open(uri, source_host):
        with source_host.translated('Connecting to the destination %s' %
                                    uri):
            conn = compat.call_blocking(libvirt.open, uri)
        return compat.wrap_blocking(conn, autowrap=(libvirt.virDomain,))

    @staticmethod
    def _close(conn):
        try:
            conn.close()
        except libvirt.libvirtError:
            pass

    @staticmethod
    def _flags(data, adopted=False):
        flags = (libvirt.VIR_MIGRATE_LIVE |
                 libvirt.VIR_MIGRATE_PERSIST_DEST |
                 libvirt.VIR_MIGRATE_UNDEFINE_SOURCE |
                 libvirt.VIR_MIGRATE_ABORT_ON_ERROR)
        if data.block_migration and adopted:
            # Full copies: the operator's backing files are not there.
            flags |= libvirt.VIR_MIGRATE_NON_SHARED_DISK
        elif data.block_migration:
            flags |= libvirt.VIR_MIGRATE_NON_SHARED_INC
        if CONF.libvirt.live_migration_permit_post_copy:
            flags |= libvirt.VIR_MIGRATE_POSTCOPY
        if CONF.libvirt.live_migration_with_native_tls:
            flags |= libvirt.VIR_MIGRATE_TLS
        return flags

    def _params(self, source_host, dest_conn, domain, data, adopted=False):
        xml = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE)
        if adopted:
            # The operator's paths hold on the destination too.
            params = adopted_moves.migration_params(domain,
                                                    data.block_migration)
        else:
            dest_xml = destination_xml(
                xml, source_host.storage.path,
                _pool_path(dest_conn, source_host.storage.pool_name),
                destination_initiator(data.target_connect_addr))
            params = {libvirt.VIR_MIGRATE_PARAM_DEST_XML: dest_xml,
                      libvirt.VIR_MIGRATE_PARAM_PERSIST_XML: dest_xml}
        inbound_addr = parse_connect_info(data.target_connect_addr)[1]
        if inbound_addr:
            params[libvirt.VIR_MIGRATE_PARAM_URI] = migration_uri(
                inbound_addr)
            # The destination's qemu listens there only, not on every
            # address of the host.
            params[libvirt.VIR_MIGRATE_PARAM_LISTEN_ADDRESS] = inbound_addr
        if CONF.libvirt.live_migration_bandwidth:
            params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = \
                CONF.libvirt.live_migration_bandwidth
        if data.block_migration:
            params[libvirt.VIR_MIGRATE_PARAM_MIGRATE_DISKS] = _disk_targets(
                xml)
        return params

    @staticmethod
    def _copy_readonly_disks(source_host, dest_conn, domain):
        """Copy read-only disks (the config drive) before the migration.

        qemu mirrors only writable disks; a read-only one does not change,
        so a plain copy through libvirt streams is exact.
        """
        dest_pool = dest_conn.storagePoolLookupByName(
            source_host.storage.pool_name)
        for path in _readonly_disk_paths(domain.XMLDesc(0)):
            name = path.rsplit('/', 1)[-1]
            volume = source_host.storage.lookup(name)
            if volume is None:
                continue
            storage_mod.copy_between(source_host.connection, volume,
                                     dest_conn,
                                     dest_pool.storageVolLookupByName(name))

    def live_migration(self, source_host, context, instance, dest,
                       post_method, recover_method, block_migration, data):
        domain = source_host.lookup(instance.uuid)
        adopted = source_host.is_adopted(instance.uuid)
        dest_uri, _addr = parse_connect_info(data.target_connect_addr)
        dest_conn = self._open(dest_uri, source_host)
        try:
            with source_host.translated('Preparing the live migration of '
                                        '%s' % instance.uuid):
                params = self._params(source_host, dest_conn, domain, data,
                                      adopted)
                if data.block_migration and adopted:
                    adopted_moves.copy_readonly_disks(source_host, dest_conn,
                                                      domain)
                elif data.block_migration:
                    self._copy_readonly_disks(source_host, dest_conn, domain)
            job = _Job(domain, self._flags(data, adopted))
            with self._lock:
                self._jobs[instance.uuid] = job
            try:
                error = self._run(source_host, instance, dest_conn, job,
                                  params, data)
            finally:
                with self._lock:
                    self._jobs.pop(instance.uuid, None)
        finally:
            self._close(dest_conn)
        source_host.invalidate()
        if error is None:
            LOG.info('Live migration to %s completed', dest,
                     instance=instance)
            post_method(context, instance, dest, block_migration, data)
            return
        if job.aborted:
            LOG.warning('Live migration to %s cancelled: %s', dest, error,
                        instance=instance)
            self._recover_source(source_host, instance, job)
            recover_method(context, instance, dest, data,
                           migration_status='cancelled')
            return
        LOG.error('Live migration to %s failed: %s', dest, error,
                  instance=instance)
        self._recover_source(source_host, instance, job)
        recover_method(context, instance, dest, data)

    def _run(self, source_host, instance, dest_conn, job, params, data):
        """Migrate on a thread of its own and watch it; the error or None."""
        outcome = {}

        def migrate():
            try:
                dest_domain = job.domain.migrate3(dest_conn, params,
                                                  job.flags)
            except Exception as e:  # reported by the monitor
                outcome['error'] = e
            else:
                # The guest runs on the destination now: nothing after
                # this point may count as a failed migration.
                if job.paused:
                    self._resume_destination(instance, dest_domain)
            finally:
                outcome['done'] = True

        LOG.info('Live migration to %s starting (%s)',
                 parse_connect_info(data.target_connect_addr)[0],
                 'block migration' if data.block_migration else
                 'shared storage', instance=instance)
        compat.start_daemon(migrate, 'live-migration-%s' % instance.uuid)
        self._monitor(instance, job, outcome, data)
        return outcome.get('error')

    @staticmethod
    def _resume_destination(instance, dest_domain):
        """Paused to converge (force complete): running again, as before."""
        try:
            if dest_domain.state()[0] == libvirt.VIR_DOMAIN_PAUSED:
                dest_domain.resume()
        except libvirt.libvirtError as e:
            LOG.warning('The guest may still be paused on the destination: '
                        '%s', e, instance=instance)

    def _monitor(self, instance, job, outcome, data):
        migration = data.migration if 'migration' in data else None
        timeout = self._completion_timeout(instance, data)
        started = time.monotonic()
        last_save = 0.0
        timed_out = False
        while not outcome.get('done'):
            time.sleep(MONITOR_INTERVAL)
            stats = self._job_stats(job.domain)
            if not stats or outcome.get('done'):
                continue
            now = time.monotonic()
            if migration is not None and now - last_save >= PROGRESS_INTERVAL:
                last_save = now
                _save_progress(instance, migration, stats)
            if timeout and not timed_out and now - started > timeout:
                timed_out = True
                self._on_timeout(instance, job, timeout)

    @staticmethod
    def _job_stats(domain):
        try:
            stats = domain.jobStats(0)
        except libvirt.libvirtError:
            return None
        if stats.get('type') != libvirt.VIR_DOMAIN_JOB_UNBOUNDED:
            return None
        return stats

    @staticmethod
    def _completion_timeout(instance, data):
        """nova's rule: seconds per GiB of memory (and disk) to move."""
        gib = max(instance.flavor.memory_mb / units.Ki, 1)
        if data.block_migration:
            gib += instance.flavor.root_gb + instance.flavor.ephemeral_gb
        return CONF.libvirt.live_migration_completion_timeout * gib

    def _on_timeout(self, instance, job, timeout):
        action = CONF.libvirt.live_migration_timeout_action
        LOG.warning('Live migration did not complete within %d seconds; '
                    'live_migration_timeout_action is %s', timeout, action,
                    instance=instance)
        if action == 'force_complete':
            self._force_complete(instance, job)
        else:
            self._abort(instance, job)

    def _recover_source(self, source_host, instance, job):
        """The guest keeps running where it was."""
        if not job.paused:
            return
        try:
            if job.domain.state()[0] == libvirt.VIR_DOMAIN_PAUSED:
                job.domain.resume()
        except libvirt.libvirtError as e:
            LOG.warning('Could not resume the guest after the failed '
                        'migration: %s', e, instance=instance)

    # -- source: operator actions ------------------------------------------

    def _job(self, instance):
        with self._lock:
            job = self._jobs.get(instance.uuid)
        if job is None:
            raise nova_exception.NoActiveMigrationForInstance(
                instance_id=instance.uuid)
        return job

    def abort(self, source_host, instance):
        self._abort(instance, self._job(instance))

    def _abort(self, instance, job):
        if job.post_copy:
            raise nova_exception.MigrationError(
                reason='the migration is in post-copy mode: the guest runs '
                       'on the destination already and cannot go back')
        job.aborted = True
        try:
            job.domain.abortJob()
        except libvirt.libvirtError as e:
            raise nova_exception.MigrationError(
                reason='libvirt refused to abort the migration: %s' % e)
        LOG.info('Live migration abort requested', instance=instance)

    def force_complete(self, source_host, instance):
        self._force_complete(instance, self._job(instance))

    def _force_complete(self, instance, job):
        """Post-copy when permitted, otherwise pause until it converges."""
        try:
            if job.flags & libvirt.VIR_MIGRATE_POSTCOPY:
                job.domain.migrateStartPostCopy(0)
                job.post_copy = True
                LOG.info('Live migration switched to post-copy',
                         instance=instance)
            else:
                job.domain.suspend()
                job.paused = True
                LOG.info('Guest paused so that its live migration '
                         'completes', instance=instance)
        except libvirt.libvirtError as e:
            raise nova_exception.MigrationError(
                reason='could not force the migration to complete: %s' % e)


def _host_uuid(capabilities_xml):
    return etree.fromstring(capabilities_xml).findtext('host/uuid')


def _backing_name(volume_xml):
    path = etree.fromstring(volume_xml).findtext('backingStore/path')
    return path.rsplit('/', 1)[-1] if path else None


def _file_disks(domain_xml):
    root = etree.fromstring(domain_xml)
    return [d for d in root.findall('./devices/disk')
            if d.find('source') is not None and d.find('target') is not None
            and d.find('source').get('file')]


def _disk_targets(domain_xml):
    """Target devices of the writable disks, which qemu mirrors.

    File disks only: a Cinder volume is a network disk that both hosts
    reach, and copying it onto itself would corrupt it.
    """
    return [d.find('target').get('dev') for d in _file_disks(domain_xml)
            if d.find('readonly') is None]


def _readonly_disk_paths(domain_xml):
    return [d.find('source').get('file') for d in _file_disks(domain_xml)
            if d.find('readonly') is not None]


def _save_progress(instance, migration, stats):
    """Progress into the migration record that os-migrations shows."""
    for field, key in (('memory_total', 'memory_total'),
                       ('memory_processed', 'memory_processed'),
                       ('memory_remaining', 'memory_remaining'),
                       ('disk_total', 'disk_total'),
                       ('disk_processed', 'disk_processed'),
                       ('disk_remaining', 'disk_remaining')):
        # Zero means "not reported" (no disk copy, nothing yet): nova's
        # API shows those as null.
        setattr(migration, field, stats.get(key) or None)
    try:
        migration.save()
    except Exception as e:
        LOG.debug('Saving migration progress failed: %s', e,
                  instance=instance)
    total = stats.get('memory_total') or 0
    if total:
        instance.progress = 100 - round(
            stats.get('memory_remaining', 0) * 100 / total)
        try:
            instance.save()
        except Exception as e:
            LOG.debug('Saving instance progress failed: %s', e,
                      instance=instance)
