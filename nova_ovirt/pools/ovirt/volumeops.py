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

"""Cinder volumes on oVirt clusters, as direct LUN disks.

The engine owns the data path: one of its hosts logs in to the volume's
iSCSI target (``iscsilogin``, CHAP from the connection_info), the LUN's
WWID comes from that host's storage listing, and a direct LUN disk
(``lun_storage``) on that WWID is attached to the VM. The driver never
talks to a host itself. Fibre Channel LUNs are found the same way without
a login. ``rbd`` is refused with a fault naming the type: the engine's
managed block storage domains hold only volumes the engine created through
cinderlib (AddManagedBlockStorageDiskCommand creates a new volume), and
its API has no way to adopt an existing one. A
volume-backed server's VM starts from the Blank template with its root
volume as the bootable LUN disk: no image reaches the engine.

Our LUN disks carry the instance and the volume in their alias and
description, so a detach or extend only ever touches disks the driver
made; removing such a disk removes the engine's record, never the LUN.
"""

import re
import socket
import urllib.parse

import ovirtsdk4 as sdk
from ovirtsdk4 import types
from oslo_log import log as logging

import nova.conf
from nova import exception as nova_exception
from nova.virt import driver as virt_driver

from nova_ovirt import connection_info as cinfo
from nova_ovirt import exception
from nova_ovirt.pools.ovirt import session as ovirt_session

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

ISCSI_PORT = cinfo.ISCSI_PORT
SUPPORTED_TYPES = ('iscsi', 'fibre_channel')
#: Alias prefix of our LUN disks (``nova-volume-<volume id>``).
ALIAS_PREFIX = 'nova-volume-'
#: Seconds a LUN disk may stay locked while the engine hot-plugs it.
ATTACH_TIMEOUT = 120
#: The engine's Blank template (services/TemplatesService.java: its id is
#: fixed): a volume-backed server's VM starts from it, with no image disk.
BLANK_TEMPLATE_ID = '00000000-0000-0000-0000-000000000000'


class UnsupportedVolumeType(nova_exception.VolumeDriverNotFound):
    msg_fmt = ('Volume %(volume_id)s has driver_volume_type %(driver_type)s, '
               'which the oVirt pool %(pool)s cannot attach (supported: '
               '%(supported)s). An rbd volume would have to be a disk of an '
               'oVirt managed block storage domain, and the engine makes '
               'those disks itself through cinderlib: it cannot take over '
               'a volume that Cinder made')


class LunNotVisible(nova_exception.NovaException):
    msg_fmt = ('Volume %(volume_id)s: host %(host)s of %(where)s does not '
               'see LUN %(lun)s of target %(target)s')


class NoHostUp(nova_exception.NovaException):
    msg_fmt = ('Volume %(volume_id)s: no host of %(where)s is up to reach '
               'its storage')


def root_volume(block_device_info):
    """The block device mapping of a volume-backed server's root, or None."""
    for bdm in virt_driver.block_device_info_get_mapping(block_device_info):
        if bdm.get('boot_index') == 0:
            return bdm
    return None


def _boot_order(bdm):
    index = bdm.get('boot_index')
    return (index is None or index < 0, index or 0)


def alias_of(volume_id):
    return ALIAS_PREFIX + volume_id


def description_of(instance_uuid, volume_id):
    """What marks a LUN disk as ours: the instance and the volume."""
    return 'nova-ovirt volume %s of instance %s' % (volume_id, instance_uuid)


def initiator_iqn(prefix, pool_name, cluster_name):
    """The IQN reported for a cluster; IQNs allow [a-z0-9.-:] only."""
    def clean(text):
        return re.sub(r'[^a-z0-9.\-]', '-', text.lower())
    return '%s:%s.%s' % (prefix, clean(pool_name), clean(cluster_name))


class LunSource(object):
    """Where a Cinder volume's LUN is, as the engine names it."""

    def __init__(self, volume_id, storage_type, lun, address=None, port=None,
                 target=None, username=None, password=None, wwns=()):
        self.volume_id = volume_id
        self.storage_type = storage_type
        self.lun = lun
        self.address = address
        self.port = port
        self.target = target
        self.username = username
        self.password = password
        self.wwns = list(wwns)

    def iscsi_details(self):
        return types.IscsiDetails(address=self.address, port=self.port,
                                  target=self.target, username=self.username,
                                  password=self.password)

    def matches(self, unit):
        if self.storage_type == types.StorageType.ISCSI:
            return unit.target == self.target and unit.lun_mapping == self.lun
        return unit.lun_mapping == self.lun and (
            not self.wwns or (unit.target or '').lower() in self.wwns or
            not unit.target)

    def describe(self):
        if self.storage_type == types.StorageType.ISCSI:
            return self.target
        return ','.join(self.wwns) or 'fibre channel'


def _lun_number(data, volume_id, driver_type):
    try:
        return int(data.get('target_lun', 0))
    except (TypeError, ValueError) as e:
        raise cinfo.InvalidConnectionInfo(volume_id=volume_id,
                                          driver_type=driver_type,
                                          field='target_lun', reason=str(e))


def _iscsi_source(volume_id, data):
    portal = cinfo.require(data, 'target_portal', volume_id, 'iscsi')
    iqn = cinfo.require(data, 'target_iqn', volume_id, 'iscsi')
    try:
        address, port = cinfo.split_portal(portal)
    except ValueError as e:
        raise cinfo.InvalidConnectionInfo(
            volume_id=volume_id, driver_type='iscsi', field='target_portal',
            reason=str(e))
    source = LunSource(volume_id, types.StorageType.ISCSI,
                       _lun_number(data, volume_id, 'iscsi'),
                       address=address, port=port, target=iqn)
    method = (data.get('auth_method') or '').upper()
    if method == 'CHAP':
        source.username = cinfo.require(data, 'auth_username', volume_id,
                                        'iscsi')
        source.password = cinfo.require(data, 'auth_password', volume_id,
                                        'iscsi')
    elif method:
        raise cinfo.InvalidConnectionInfo(
            volume_id=volume_id, driver_type='iscsi', field='auth_method',
            reason='%s is not CHAP' % method)
    return source


def _fc_source(volume_id, data):
    wwns = cinfo.require(data, 'target_wwn', volume_id, 'fibre_channel')
    if isinstance(wwns, str):
        wwns = [wwns]
    return LunSource(volume_id, types.StorageType.FCP,
                     _lun_number(data, volume_id, 'fibre_channel'),
                     wwns=[w.lower() for w in wwns])


def lun_source(connection_info, pool_name):
    """The LunSource of a connection_info; faults name what is wrong."""
    driver_type = connection_info.get('driver_volume_type')
    data = connection_info.get('data') or {}
    volume_id = cinfo.volume_id_of(connection_info)
    if driver_type == 'iscsi':
        return _iscsi_source(volume_id, data)
    if driver_type == 'fibre_channel':
        return _fc_source(volume_id, data)
    raise UnsupportedVolumeType(volume_id=volume_id, driver_type=driver_type,
                                pool=pool_name,
                                supported=', '.join(SUPPORTED_TYPES))


class VolumeOps(object):
    """Attach, detach and extend Cinder volumes of one oVirt pool."""

    def __init__(self, pool):
        self.pool = pool
        self.session = pool.session

    # -- connector -----------------------------------------------------------

    def connector(self, instance):
        """What Cinder needs to export a volume to the node's hosts."""
        engine_host = urllib.parse.urlsplit(self.pool.conf.url).hostname
        try:
            ip = socket.gethostbyname(engine_host)
        except (OSError, TypeError):
            ip = CONF.my_block_storage_ip
        return {'ip': ip, 'host': engine_host or CONF.host,
                'initiator': initiator_iqn(
                    self.pool.conf.iscsi_initiator_prefix, self.pool.name,
                    instance.node or ''),
                'multipath': False, 'platform': 'x86_64', 'os_type': 'linux',
                'do_local_attach': False}

    # -- attach --------------------------------------------------------------

    def attach_block_devices(self, instance, block_device_info,
                             interface=None):
        """At spawn: every volume of the mapping, the root one first."""
        mapping = sorted(
            virt_driver.block_device_info_get_mapping(block_device_info),
            key=_boot_order)
        for bdm in mapping:
            self.attach(instance, bdm['connection_info'],
                        bootable=bdm.get('boot_index') == 0,
                        interface=interface)

    def attach(self, instance, connection_info, disk_bus=None,
               bootable=False, interface=None):
        source = lun_source(connection_info, self.pool.name)
        vm = self._vm(instance)
        disk = self._our_disk(instance, source.volume_id)
        if disk is not None:
            self._reattach(vm, disk, disk_bus, instance, source.volume_id)
            return
        host = self._up_host(vm, source.volume_id, instance)
        if source.storage_type == types.StorageType.ISCSI:
            self.session.read(
                lambda system: system.hosts_service().host_service(host.id)
                .iscsi_login(iscsi=source.iscsi_details(),
                             query=ovirt_session.q()))
        wwid = self._find_wwid(host, source, instance)
        disk = self._add_lun_disk(instance, source, wwid)
        try:
            self._attach_disk(vm, disk,
                              interface or self._interface(vm, disk_bus),
                              bootable)
        except Exception:
            # A failed attach leaves no LUN disk behind (the LUN stays).
            ovirt_session.wait_for(
                lambda: ovirt_session.try_remove(
                    self.session, lambda system: system.disks_service()
                    .disk_service(disk.id)),
                bool, ATTACH_TIMEOUT,
                'removing LUN disk %s of volume %s' % (disk.id,
                                                       source.volume_id))
            raise
        LOG.info('Volume %s (LUN %s) attached to instance %s as disk %s',
                 source.volume_id, wwid, instance.uuid, disk.id)

    def _reattach(self, vm, disk, disk_bus, instance, volume_id):
        """Our LUN disk exists already: attach it unless it is.

        A retried attach finds it attached; a VM destroyed without its
        disks (destroy_disks=False) and made again finds it detached.
        """
        attachments = self.session.read(
            lambda system: system.vms_service().vm_service(vm.id)
            .disk_attachments_service().list())
        if any(a.id == disk.id for a in attachments):
            LOG.info('Volume %s is already attached to instance %s',
                     volume_id, instance.uuid)
            return
        self._attach_disk(vm, disk, self._interface(vm, disk_bus))

    def _vm(self, instance):
        vm = self.pool.vmops.find_vm(instance.uuid)
        if vm is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        return vm

    def _up_host(self, vm, volume_id, instance):
        hosts = self.session.read(
            lambda system: system.hosts_service().list())
        up = [h for h in hosts if h.cluster is not None and
              h.cluster.id == vm.cluster.id and
              h.status == types.HostStatus.UP]
        # The VM's own host first: it is the one that opens the LUN.
        up.sort(key=lambda h: not (vm.host is not None and
                                   vm.host.id == h.id))
        if not up:
            raise NoHostUp(volume_id=volume_id,
                           where=self.pool.where(instance.node))
        return up[0]

    def _find_wwid(self, host, source, instance):
        storages = self.session.read(
            lambda system: system.hosts_service().host_service(host.id)
            .storage_service().list())
        for storage in storages:
            if storage.type != source.storage_type:
                continue
            for unit in storage.logical_units or []:
                if source.matches(unit):
                    return unit.id
        raise LunNotVisible(volume_id=source.volume_id, host=host.name,
                            where=self.pool.where(instance.node),
                            lun=source.lun, target=source.describe())

    def _add_lun_disk(self, instance, source, wwid):
        unit = types.LogicalUnit(id=wwid)
        if source.storage_type == types.StorageType.ISCSI:
            unit = types.LogicalUnit(
                id=wwid, address=source.address, port=source.port,
                target=source.target, username=source.username,
                password=source.password)
        return self.session.write(
            lambda system: system.disks_service().add(types.Disk(
                alias=alias_of(source.volume_id),
                description=description_of(instance.uuid, source.volume_id),
                shareable=False,
                lun_storage=types.HostStorage(type=source.storage_type,
                                              logical_units=[unit])),
                query=ovirt_session.q()))

    def _interface(self, vm, disk_bus):
        """The bus of the instance's own disks (or the one nova asks)."""
        if disk_bus in ('scsi', 'virtio-scsi'):
            return types.DiskInterface.VIRTIO_SCSI
        if disk_bus == 'virtio':
            return types.DiskInterface.VIRTIO
        root = self.pool.vmops.root_attachment(vm.id)
        if root is not None and root.interface is not None:
            return root.interface
        return types.DiskInterface.VIRTIO

    def _attach_disk(self, vm, disk, interface, bootable=False):
        self.session.write(
            lambda system: system.vms_service().vm_service(vm.id)
            .disk_attachments_service().add(types.DiskAttachment(
                disk=types.Disk(id=disk.id), active=True, bootable=bootable,
                interface=interface), query=ovirt_session.q()))
        self._wait_unlocked(disk.id, 'attaching LUN disk %s' % disk.id)

    def _wait_unlocked(self, disk_id, what):
        ovirt_session.wait_for(
            lambda: self.session.read(
                lambda system: system.disks_service().disk_service(
                    disk_id).get()),
            lambda d: d.status != types.DiskStatus.LOCKED,
            ATTACH_TIMEOUT, what)

    # -- finding our disks ---------------------------------------------------

    def _our_disk(self, instance, volume_id):
        """The LUN disk of this instance and volume, or None."""
        alias = alias_of(volume_id)
        disks = ovirt_session.as_list(self.session.read(
            lambda system: system.disks_service().list(
                search='alias=%s' % alias)))
        mark = description_of(instance.uuid, volume_id)
        ours = [d for d in disks if d.alias == alias and
                d.description == mark and
                d.storage_type == types.DiskStorageType.LUN]
        return ours[0] if ours else None

    # -- detach --------------------------------------------------------------

    def detach(self, instance, connection_info):
        """Detach and remove our LUN disk; a second call finds none."""
        volume_id = cinfo.volume_id_of(connection_info)
        disk = self._our_disk(instance, volume_id)
        if disk is None:
            LOG.info('Volume %s has no LUN disk on instance %s: nothing to '
                     'detach', volume_id, instance.uuid)
            return
        vm = self.pool.vmops.find_vm(instance.uuid)
        if vm is not None:
            self._detach_from(vm, disk)
        ovirt_session.wait_for(
            lambda: ovirt_session.try_remove(
                self.session, lambda system: system.disks_service()
                .disk_service(disk.id)),
            bool, ATTACH_TIMEOUT,
            'removing LUN disk %s of volume %s' % (disk.id, volume_id))
        LOG.info('Volume %s detached from instance %s', volume_id,
                 instance.uuid)

    def _detach_from(self, vm, disk):
        def remove(system):
            system.vms_service().vm_service(vm.id).disk_attachments_service()\
                .attachment_service(disk.id).remove(
                    detach_only=True, query=ovirt_session.q())
        try:
            ovirt_session.wait_for(
                lambda: self._try(remove), bool, ATTACH_TIMEOUT,
                'detaching LUN disk %s' % disk.id)
        except sdk.NotFoundError:
            pass   # not attached (any more): the disk alone goes

    def _try(self, func):
        """func through the session; False while the engine holds a lock."""
        try:
            self.session.read(func)
        except sdk.Error as e:
            if ovirt_session.is_locked(e):
                return False
            raise
        return True

    # -- extend --------------------------------------------------------------

    def extend(self, instance, connection_info, requested_size):
        """The engine re-reads the LUN's size (online); returns it."""
        volume_id = cinfo.volume_id_of(connection_info)
        disk = self._our_disk(instance, volume_id)
        if disk is None:
            raise exception.BackendOperationFailed(
                operation='extend of volume %s' % volume_id,
                target=self.pool.where(instance.node),
                reason='the instance has no LUN disk of this volume')
        vm = self._vm(instance)
        host = self._up_host(vm, volume_id, instance)
        self.session.read(
            lambda system: system.disks_service().disk_service(disk.id)
            .refresh_lun(host=types.Host(id=host.id),
                         query=ovirt_session.q()))
        disk = self.session.read(
            lambda system: system.disks_service().disk_service(disk.id).get())
        size = disk.lun_storage.logical_units[0].size
        LOG.info('Volume %s of instance %s: the engine sees %s bytes',
                 volume_id, instance.uuid, size)
        return size
