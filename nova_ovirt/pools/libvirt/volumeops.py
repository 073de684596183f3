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

"""Cinder volumes on libvirt hosts, without an agent on the host.

nova's libvirt driver connects a volume on the host with os-brick and
hands qemu a block device. The pool drives its hosts remotely, so it uses
the data paths qemu speaks itself: iSCSI through libiscsi and RBD through
librbd, as ``<disk type='network'>``. CHAP passwords become libvirt
secrets on the host, referenced by usage from the disk, never written into
the domain XML. Volume types that need a host-side connector (Fibre
Channel, NVMe-oF, NFS mounts, ...) are refused with a fault that names the
type, except a local block device on a node whose URI is local.

A swap (Cinder's migration of an attached volume, or nova's volume
update) is libvirt's block copy of the running guest's disk into the new
volume's network disk, then a pivot: qemu copies the data while the guest
runs, and the guest keeps its device (and the disk's serial). A stopped
guest has no qemu to copy with: its swap is refused.
"""

import re
import socket
import time
from xml.etree import ElementTree as etree

import libvirt
from oslo_log import log as logging
from oslo_utils import units

import nova.conf
from nova import exception as nova_exception
from nova.virt import driver as virt_driver

from nova_ovirt import connection_info as cinfo
from nova_ovirt.pools.libvirt import errors
from nova_ovirt.pools.libvirt import nodes

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

#: Disks the pool attaches for Cinder: recognised in a definition by this.
NETWORK_PROTOCOLS = ('iscsi', 'rbd')
SUPPORTED_TYPES = ('iscsi', 'rbd', 'local (local URIs only)')
#: Usage ids of our iSCSI secrets: ``nova-ovirt/<instance>/<volume>``.
SECRET_USAGE_PREFIX = 'nova-ovirt'
ISCSI_PORT = cinfo.ISCSI_PORT
#: A live detach waits for the guest to release the device (ACPI unplug).
DETACH_TIMEOUT = 60
DETACH_RETRY_INTERVAL = 5
#: A swap's copy fails when its progress stands still this long; a copy
#: that moves may take as long as the volume's size needs.
COPY_STALL_TIMEOUT = 300
COPY_POLL_INTERVAL = 0.5


class UnsupportedVolumeType(nova_exception.VolumeDriverNotFound):
    msg_fmt = ('Volume %(volume_id)s has driver_volume_type %(driver_type)s, '
               'which the libvirt pool %(pool)s cannot attach without a '
               'connector on the host (supported: %(supported)s)')


class SwapNeedsRunningGuest(nova_exception.NovaException):
    msg_fmt = ('Cannot swap volume %(volume_id)s of instance %(instance)s: '
               'the libvirt pool copies a volume with qemu\'s block copy, '
               'which needs the guest running (start the server first)')


class NoFreeTarget(nova_exception.NovaException):
    msg_fmt = 'The guest has no free virtio disk name (vdb to vdz) left'


def secret_usage(instance_uuid, volume_id):
    return '%s/%s/%s' % (SECRET_USAGE_PREFIX, instance_uuid, volume_id)


def initiator_iqn(prefix, host, nodename):
    """The IQN qemu presents for the guests of a node; stable per node.

    IQNs allow lowercase letters, digits, ``.``, ``-`` and ``:`` only.
    """
    def clean(text):
        return re.sub(r'[^a-z0-9.\-]', '-', text.lower())
    return '%s:%s.%s' % (prefix, clean(host), clean(nodename))


# -- connection_info -> disk XML ---------------------------------------------

class VolumeDisk(object):
    """What a Cinder connection_info means for a libvirt disk.

    ``password`` is what goes into a libvirt secret on the host (iSCSI
    CHAP); ``secret_uuid`` names a secret the operator defined (Ceph).
    """

    def __init__(self, volume_id, protocol=None, name=None, hosts=(),
                 username=None, password=None, secret_type=None,
                 secret_usage=None, secret_uuid=None, device_path=None,
                 read_only=False):
        self.volume_id = volume_id
        self.protocol = protocol
        self.name = name
        self.hosts = list(hosts)
        self.username = username
        self.password = password
        self.secret_type = secret_type
        self.secret_usage = secret_usage
        self.secret_uuid = secret_uuid
        self.device_path = device_path
        self.read_only = read_only


def _iscsi_disk(volume_id, data, instance_uuid):
    portal = cinfo.require(data, 'target_portal', volume_id, 'iscsi')
    iqn = cinfo.require(data, 'target_iqn', volume_id, 'iscsi')
    lun = data.get('target_lun', 0)
    try:
        host, port = cinfo.split_portal(portal)
        lun = int(lun)
    except (TypeError, ValueError) as e:
        raise cinfo.InvalidConnectionInfo(
            volume_id=volume_id, driver_type='iscsi',
            field='target_portal/target_lun', reason=str(e))
    disk = VolumeDisk(volume_id, 'iscsi', '%s/%d' % (iqn, lun),
                      [(host, port)],
                      read_only=data.get('access_mode') == 'ro')
    method = (data.get('auth_method') or '').upper()
    if method == 'CHAP':
        disk.username = cinfo.require(data, 'auth_username', volume_id,
                                      'iscsi')
        disk.password = cinfo.require(data, 'auth_password', volume_id,
                                      'iscsi')
        disk.secret_type = 'iscsi'
        disk.secret_usage = secret_usage(instance_uuid, volume_id)
    elif method:
        raise cinfo.InvalidConnectionInfo(
            volume_id=volume_id, driver_type='iscsi', field='auth_method',
            reason='%s is not CHAP' % method)
    return disk


def _rbd_disk(volume_id, data):
    name = cinfo.require(data, 'name', volume_id, 'rbd')
    hosts = data.get('hosts') or []
    ports = data.get('ports') or []
    disk = VolumeDisk(volume_id, 'rbd', name,
                      [(h, int(p)) for h, p in zip(hosts, ports)],
                      read_only=data.get('access_mode') == 'ro')
    if data.get('auth_enabled'):
        # Cinder's RBD driver hands out the name of a secret that the
        # operator defined on every host (as for nova's libvirt driver);
        # the Ceph key itself never travels through nova.
        disk.username = cinfo.require(data, 'auth_username', volume_id, 'rbd')
        disk.secret_uuid = (data.get('secret_uuid') or
                            CONF.libvirt.rbd_secret_uuid)
        if not disk.secret_uuid:
            raise cinfo.InvalidConnectionInfo(
                volume_id=volume_id, driver_type='rbd', field='secret_uuid',
                reason='missing, and [libvirt] rbd_secret_uuid is unset')
        disk.secret_type = data.get('secret_type') or 'ceph'
    return disk


def volume_disk(connection_info, instance_uuid, pool_name, local_host):
    """The VolumeDisk of a connection_info; faults name what is wrong."""
    driver_type = connection_info.get('driver_volume_type')
    data = connection_info.get('data') or {}
    volume_id = cinfo.volume_id_of(connection_info)
    if driver_type == 'iscsi':
        return _iscsi_disk(volume_id, data, instance_uuid)
    if driver_type == 'rbd':
        return _rbd_disk(volume_id, data)
    if driver_type == 'local' and local_host:
        path = cinfo.require(data, 'device_path', volume_id, 'local')
        return VolumeDisk(volume_id, device_path=path)
    raise UnsupportedVolumeType(volume_id=volume_id, driver_type=driver_type,
                                pool=pool_name,
                                supported=', '.join(SUPPORTED_TYPES))


def _sub(parent, tag, **attrs):
    return etree.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()
                                          if v is not None})


def disk_element(disk, target_dev, bus='virtio', boot_order=None):
    """``<disk>`` of a volume; credentials only by reference to a secret."""
    if disk.device_path:
        element = etree.Element('disk', type='block', device='disk')
        _sub(element, 'driver', name='qemu', type='raw', cache='none')
        _sub(element, 'source', dev=disk.device_path)
    else:
        element = etree.Element('disk', type='network', device='disk')
        _sub(element, 'driver', name='qemu', type='raw', cache='none')
        source = _sub(element, 'source', protocol=disk.protocol,
                      name=disk.name)
        for host, port in disk.hosts:
            _sub(source, 'host', name=host, port=port)
        if disk.username:
            auth = _sub(source, 'auth', username=disk.username)
            _sub(auth, 'secret', type=disk.secret_type,
                 usage=disk.secret_usage,
                 uuid=None if disk.secret_usage else disk.secret_uuid)
        if disk.protocol == 'iscsi' and getattr(disk, 'initiator', None):
            initiator = _sub(source, 'initiator')
            _sub(initiator, 'iqn', name=disk.initiator)
    _sub(element, 'target', dev=target_dev, bus=bus)
    if boot_order is not None:
        _sub(element, 'boot', order=boot_order)
    if disk.read_only:
        _sub(element, 'readonly')
    # The volume id as the disk's serial: the guest sees it in
    # /dev/disk/by-id, and the pool finds the disk of a volume by it.
    etree.SubElement(element, 'serial').text = disk.volume_id
    return element


def secret_xml(usage, volume_id, instance_uuid):
    secret = etree.Element('secret', ephemeral='no', private='yes')
    etree.SubElement(secret, 'description').text = (
        'CHAP password of Cinder volume %s for instance %s (nova-ovirt)'
        % (volume_id, instance_uuid))
    usage_element = _sub(secret, 'usage', type='iscsi')
    etree.SubElement(usage_element, 'target').text = usage
    return etree.tostring(secret, encoding='unicode')


# -- reading definitions -----------------------------------------------------

def volume_disks_of(domain_xml):
    """The Cinder volume disks of a definition, to carry over on redefine."""
    root = etree.fromstring(domain_xml)
    found = []
    for element in root.findall('devices/disk'):
        source = element.find('source')
        if element.get('type') == 'network' and source is not None and \
                source.get('protocol') in NETWORK_PROTOCOLS:
            found.append(element)
        elif element.get('type') == 'block' and \
                element.findtext('serial'):
            found.append(element)
    for element in found:
        # Live-only details (aliases, addresses) would clash on redefine.
        for tag in ('alias', 'address'):
            for child in element.findall(tag):
                element.remove(child)
    return found


def _source_key(element):
    """What a disk reads: (protocol, name, first host) or the device path."""
    source = element.find('source')
    if source is None:
        return None
    if element.get('type') == 'block':
        return (None, source.get('dev'), None)
    host = source.find('host')
    return (source.get('protocol'), source.get('name'),
            None if host is None else (host.get('name'),
                                       int(host.get('port') or 0)))


def _disk_key(disk):
    if disk.device_path:
        return (None, disk.device_path, None)
    return (disk.protocol, disk.name, disk.hosts[0] if disk.hosts else None)


def disk_of_volume(domain_xml, volume_id, disk=None):
    """The ``<disk>`` of a volume: by serial, else by what it reads.

    After a swap the guest's disk keeps the serial of the volume it was
    attached as, while nova goes on with the new volume's id (or Cinder
    gives the new volume the old id): ``disk`` (a VolumeDisk of the
    volume's connection_info) finds it by its source then.
    """
    elements = etree.fromstring(domain_xml).findall('devices/disk')
    for element in elements:
        if element.findtext('serial') == volume_id:
            return element
    if disk is not None:
        for element in elements:
            if _source_key(element) == _disk_key(disk):
                return element
    return None


def our_secret_usage(element):
    """The usage id of our secret the disk's auth names, or None."""
    secret = element.find('source/auth/secret')
    usage = None if secret is None else secret.get('usage')
    if usage and usage.startswith(SECRET_USAGE_PREFIX + '/'):
        return usage
    return None


def used_targets(domain_xml):
    return {element.find('target').get('dev')
            for element in etree.fromstring(domain_xml).findall(
                'devices/disk') if element.find('target') is not None}


def free_target(domain_xml, wanted):
    """``wanted`` (nova's mountpoint, e.g. vdb) or the next free vdX."""
    used = used_targets(domain_xml)
    if wanted and wanted not in used:
        return wanted
    for letter in 'bcdefghijklmnopqrstuvwxyz':
        candidate = 'vd' + letter
        if candidate not in used:
            return candidate
    raise NoFreeTarget()


def carried_volume_disks(guest, volume_disks, current_xml):
    """Volume disks of a (re)definition of ``guest`` (a GuestConfig).

    Those nova maps (spawn), else those of the current definition, so
    attached volumes survive every redefinition (hard reboot, rescue,
    unrescue, resize). A volume whose target a disk of the guest's own
    takes (rescue moves the root to vdb) moves to a free target; the pool
    finds volumes by serial, not by target.
    """
    if volume_disks is None:
        volume_disks = volume_disks_of(current_xml) if current_xml else []
    used = {spec.target for spec in guest.disks}
    for element in volume_disks:
        target = element.find('target')
        if target.get('dev') in used:
            target.set('dev', next('vd' + letter for letter in
                                   'bcdefghijklmnopqrstuvwxyz'
                                   if 'vd' + letter not in used))
        used.add(target.get('dev'))
    return volume_disks


def _short_dev(mountpoint):
    """vdX of nova's mountpoint: the pool's disks are all virtio.

    nova names devices after the instance's root device name, which older
    instances have as /dev/sda; the guest sees virtio disks as vdX anyway.
    """
    if not mountpoint:
        return None
    name = mountpoint.rsplit('/', 1)[-1]
    return re.sub(r'^(sd|hd|xvd)', 'vd', name)


# -- operations --------------------------------------------------------------

class VolumeOps(object):
    """Attach, detach and extend Cinder volumes of guests on a host."""

    def __init__(self, pool_name, conf):
        self.pool_name = pool_name
        self.conf = conf

    def initiator(self, host):
        return initiator_iqn(self.conf.iscsi_initiator_prefix, CONF.host,
                             host.nodename)

    @staticmethod
    def _is_local(host):
        return nodes.uri_host(host.uri) in (None, 'localhost', '127.0.0.1')

    def connector(self, host):
        """What Cinder needs to export a volume to this node's qemu."""
        address = nodes.uri_host(host.uri)
        if self._is_local(host):
            ip, hostname = CONF.my_block_storage_ip, CONF.host
        else:
            hostname = address
            try:
                ip = socket.gethostbyname(address)
            except OSError:
                ip = address
        return {'ip': ip, 'host': hostname, 'initiator': self.initiator(host),
                'multipath': False, 'platform': 'x86_64', 'os_type': 'linux',
                'do_local_attach': False}

    def _volume_disk(self, host, connection_info, instance):
        disk = volume_disk(connection_info, instance.uuid, self.pool_name,
                           self._is_local(host))
        disk.initiator = self.initiator(host)
        return disk

    # -- secrets -----------------------------------------------------------

    def _define_secret(self, host, disk, instance):
        if not disk.password:
            return
        conn = host.connection
        with host.translated('Defining the secret of volume %s' %
                             disk.volume_id):
            try:
                secret = conn.secretLookupByUsage(
                    libvirt.VIR_SECRET_USAGE_TYPE_ISCSI, disk.secret_usage)
            except libvirt.libvirtError as e:
                if e.get_error_code() != libvirt.VIR_ERR_NO_SECRET:
                    raise
                secret = conn.secretDefineXML(secret_xml(
                    disk.secret_usage, disk.volume_id, instance.uuid))
            secret.setValue(disk.password.encode('utf-8'))

    def _remove_secret(self, host, usage):
        """Remove a secret of ours; a missing one is fine (idempotent)."""
        with host.translated('Removing secret %s' % usage):
            try:
                host.connection.secretLookupByUsage(
                    libvirt.VIR_SECRET_USAGE_TYPE_ISCSI, usage).undefine()
            except libvirt.libvirtError as e:
                if e.get_error_code() != libvirt.VIR_ERR_NO_SECRET:
                    raise

    def remove_secrets(self, host, instance):
        """Secrets of every volume of a destroyed guest."""
        prefix = '%s/%s/' % (SECRET_USAGE_PREFIX, instance.uuid)
        with host.translated('Removing the secrets of %s' % instance.uuid):
            try:
                secrets = host.connection.listAllSecrets(0)
            except libvirt.libvirtError as e:
                # A connection without a secret driver has none of ours.
                if errors.is_unsupported(e):
                    return
                raise
            for secret in secrets:
                if (secret.usageID() or '').startswith(prefix):
                    secret.undefine()

    def define_secrets(self, host, instance, block_device_info):
        """Secrets of every mapped volume on host (a live migration's
        destination, before qemu opens the disks there)."""
        for bdm in virt_driver.block_device_info_get_mapping(
                block_device_info):
            disk = self._volume_disk(host, bdm['connection_info'], instance)
            self._define_secret(host, disk, instance)

    # -- guest definition --------------------------------------------------

    def block_device_disks(self, host, instance, block_device_info):
        """``<disk>`` elements of the volumes nova maps at spawn.

        Defines their secrets too; the root volume (boot index 0) is vda.
        """
        elements = []
        for bdm in virt_driver.block_device_info_get_mapping(
                block_device_info):
            disk = self._volume_disk(host, bdm['connection_info'], instance)
            self._define_secret(host, disk, instance)
            # The root volume is vda, the first disk, which SeaBIOS boots.
            target = ('vda' if self._is_root(bdm, block_device_info) else
                      _short_dev(bdm.get('mount_device')) or 'vdb')
            elements.append(disk_element(disk, target))
        return elements

    @staticmethod
    def _is_root(bdm, block_device_info):
        root = (block_device_info or {}).get('root_device_name')
        return bdm.get('boot_index') == 0 or bool(
            root and bdm.get('mount_device') == root)

    @classmethod
    def root_on_volume(cls, block_device_info):
        """True when nova boots the guest from a volume (no image disk)."""
        return any(cls._is_root(bdm, block_device_info) for bdm in
                   virt_driver.block_device_info_get_mapping(
                       block_device_info))

    # -- attach, detach, extend --------------------------------------------

    @staticmethod
    def _flags(domain):
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if domain.isActive():
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        return flags

    def attach(self, host, instance, connection_info, mountpoint,
               disk_bus=None):
        """Hot-plug (running guest) and define the volume's disk.

        Volumes are virtio disks whatever ``disk_bus`` nova asks for: qemu
        gives a network disk to any bus, and virtio hot-plugs everywhere.
        """
        domain = host.lookup(instance.uuid)
        disk = self._volume_disk(host, connection_info, instance)
        current = domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        if disk_of_volume(current, disk.volume_id) is not None:
            LOG.info('Volume %s is already attached', disk.volume_id,
                     instance=instance)
            return
        target = free_target(current, _short_dev(mountpoint))
        xml = etree.tostring(disk_element(disk, target), encoding='unicode')
        self._define_secret(host, disk, instance)
        try:
            with host.translated('Attaching volume %s to instance-%s' % (
                    disk.volume_id, instance.uuid), instance.uuid):
                domain.attachDeviceFlags(xml, self._flags(domain))
        except Exception as e:
            # Neither a half-attached disk (libvirt changes the config
            # only after the live attach worked) nor a dangling secret.
            if disk.password:
                self._remove_secret(host, disk.secret_usage)
            raise nova_exception.VolumeAttachFailed(
                volume_id=disk.volume_id, reason=str(e)) from e
        LOG.info('Volume %s attached as %s (%s)', disk.volume_id, target,
                 disk.protocol or 'block', instance=instance)

    def attach_missing(self, host, instance, block_device_info):
        """Attach the mapped volumes the guest on host lacks (moves)."""
        for bdm in virt_driver.block_device_info_get_mapping(
                block_device_info):
            if self._is_root(bdm, block_device_info):
                continue  # a root volume is part of the definition
            self.attach(host, instance, bdm['connection_info'],
                        bdm.get('mount_device'))

    def _known_disk(self, host, connection_info, instance):
        """The VolumeDisk of connection_info, or None if it is not ours.

        A detach must work for any volume nova has mapped, even one whose
        connection_info the pool could not attach.
        """
        try:
            return self._volume_disk(host, connection_info, instance)
        except nova_exception.NovaException:
            return None

    def detach(self, host, instance, connection_info):
        volume_id = cinfo.volume_id_of(connection_info)
        domain = host.lookup(instance.uuid)
        disk = self._known_disk(host, connection_info, instance)
        element = disk_of_volume(
            domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), volume_id, disk)
        live_element = (disk_of_volume(domain.XMLDesc(0), volume_id, disk)
                        if domain.isActive() else None)
        live = live_element is not None
        usages = {secret_usage(instance.uuid, volume_id)}
        if element is None and not live:
            LOG.warning('Volume %s is not attached; nothing to detach',
                        volume_id, instance=instance)
        else:
            usages.update(our_secret_usage(e) for e in (element, live_element)
                          if e is not None)
            self._detach_disk(host, instance, domain, volume_id, element,
                              live, disk)
        for usage in sorted(u for u in usages if u):
            self._remove_secret(host, usage)

    def _detach_disk(self, host, instance, domain, volume_id, element, live,
                     disk=None):
        operation = 'Detaching volume %s from instance-%s' % (volume_id,
                                                              instance.uuid)
        if element is not None:
            xml = etree.tostring(element, encoding='unicode')
            with host.translated(operation, instance.uuid):
                domain.detachDeviceFlags(xml,
                                         libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        if live:
            self._detach_live(host, instance, domain, volume_id, operation,
                              disk)

    def _detach_live(self, host, instance, domain, volume_id, operation,
                     disk=None):
        """Unplug from the running guest; the guest has to let go of it.

        qemu asks the guest OS (ACPI) and removes the device when it
        agrees: wait for that, asking again meanwhile, as nova's libvirt
        driver does.
        """
        deadline = time.monotonic() + DETACH_TIMEOUT
        while True:
            element = disk_of_volume(domain.XMLDesc(0), volume_id, disk)
            if element is None:
                return
            if time.monotonic() >= deadline:
                raise nova_exception.DeviceDetachFailed(
                    device=element.find('target').get('dev'),
                    reason='the guest did not release it within %ss' %
                    DETACH_TIMEOUT)
            xml = etree.tostring(element, encoding='unicode')
            try:
                with host.translated(operation, instance.uuid):
                    domain.detachDeviceFlags(
                        xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
            except nova_exception.NovaException as e:
                LOG.debug('Detach request not taken yet: %s', e,
                          instance=instance)
            time.sleep(min(DETACH_RETRY_INTERVAL,
                           max(0.1, deadline - time.monotonic())))

    def extend(self, host, instance, connection_info, requested_size):
        """Tell a running qemu the volume grew; a stopped one reads it."""
        volume_id = cinfo.volume_id_of(connection_info)
        domain = host.lookup(instance.uuid)
        if not domain.isActive():
            return requested_size
        element = disk_of_volume(domain.XMLDesc(0), volume_id,
                                 self._known_disk(host, connection_info,
                                                  instance))
        if element is None:
            raise nova_exception.DiskNotFound(location=volume_id)
        with host.translated('Extending volume %s of instance-%s' % (
                volume_id, instance.uuid), instance.uuid):
            domain.blockResize(element.find('target').get('dev'),
                               int(requested_size),
                               libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
        LOG.info('Volume %s extended online to %d bytes', volume_id,
                 requested_size, instance=instance)
        return requested_size

    # -- swap ----------------------------------------------------------------

    def swap(self, host, instance, old_connection_info, new_connection_info,
             resize_to):
        """Move the running guest's volume onto the new one, online.

        The new volume's secret is defined first (as for an attach); on
        any failure before the pivot the copy is cancelled, the guest goes
        on with the old volume, untouched, and the new secret goes.
        """
        old_id = cinfo.volume_id_of(old_connection_info)
        domain = host.lookup(instance.uuid)
        if not domain.isActive():
            raise SwapNeedsRunningGuest(volume_id=old_id,
                                        instance=instance.uuid)
        new = self._volume_disk(host, new_connection_info, instance)
        old_disk = self._known_disk(host, old_connection_info, instance)
        old = disk_of_volume(domain.XMLDesc(0), old_id, old_disk)
        if old is None:
            raise nova_exception.DiskNotFound(location=old_id)
        dev = old.find('target').get('dev')
        self._define_secret(host, new, instance)
        try:
            self._copy_and_pivot(host, instance, domain, dev, new,
                                 bool(resize_to))
        except Exception as e:
            if new.password:
                self._remove_secret(host, new.secret_usage)
            raise nova_exception.VolumeRebaseFailed(
                reason='copy of volume %s to %s on %s: %s' % (
                    old_id, new.volume_id, dev, e)) from e
        config = disk_of_volume(
            domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), old_id,
            old_disk)
        self._swap_definition(host, instance, domain, config, new, dev)
        if resize_to:
            self._grow_after_swap(domain, dev, new, resize_to, instance)
        usage = our_secret_usage(old)
        if usage and usage != new.secret_usage:
            self._remove_secret(host, usage)
        LOG.info('Volume %s swapped for %s on %s', old_id, new.volume_id,
                 dev, instance=instance)

    def _copy_and_pivot(self, host, instance, domain, dev, new, larger):
        # The destination is the new volume's disk: qemu opens it itself
        # (REUSE_EXT: it exists, libvirt must not create it); a transient
        # job lets libvirt copy a persistent domain's disk.
        destination = disk_element(new, dev)
        for tag in ('target', 'serial', 'readonly', 'boot'):
            for child in destination.findall(tag):
                destination.remove(child)
        if larger:
            # qemu mirrors only onto a target of the source's size: copy
            # into a slice of the new volume that size (the definition
            # gets the whole volume: _grow_after_swap).
            with host.translated('Reading the size of %s' % dev,
                                 instance.uuid):
                size = domain.blockInfo(dev)[0]
            slices = _sub(destination.find('source'), 'slices')
            _sub(slices, 'slice', type='storage', offset=0, size=size)
        operation = 'Copying %s of instance-%s to volume %s' % (
            dev, instance.uuid, new.volume_id)
        with host.translated(operation, instance.uuid):
            domain.blockCopy(
                dev, etree.tostring(destination, encoding='unicode'), None,
                libvirt.VIR_DOMAIN_BLOCK_COPY_REUSE_EXT |
                libvirt.VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB)
        try:
            self._pivot_when_ready(domain, dev)
        except Exception:
            try:
                domain.blockJobAbort(dev, 0)  # the guest stays on the old
            except libvirt.libvirtError as e:
                LOG.debug('No copy job of %s left to cancel: %s', dev, e,
                          instance=instance)
            raise

    @staticmethod
    def _grow_after_swap(domain, dev, new, resize_to, instance):
        """Show the guest the whole of a larger new volume, if qemu can.

        The guest reads the new volume through a slice of the old size;
        qemu 7 cannot resize such a disk live ("fixed-size raw disk").
        The swap stands: the definition has the whole volume, which the
        guest sees from its next start.
        """
        try:
            domain.blockResize(dev, int(resize_to) * units.Gi,
                               libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
        except libvirt.libvirtError as e:
            LOG.warning('Volume %s is on %s with the size of the volume it '
                        'replaced until the guest starts again: %s',
                        new.volume_id, dev, e, instance=instance)

    @staticmethod
    def _pivot_when_ready(domain, dev):
        """Pivot once qemu's mirror is in sync; fail if it stalls or ends."""
        progress, since = None, time.monotonic()
        while True:
            info = domain.blockJobInfo(dev, 0)
            if not info:
                raise nova_exception.NovaException(
                    'the copy job of %s ended before it was ready' % dev)
            if info['end'] and info['cur'] == info['end']:
                try:
                    domain.blockJobAbort(
                        dev, libvirt.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT)
                    return
                except libvirt.libvirtError as e:
                    # In sync but not yet "ready" in qemu: ask again.
                    if e.get_error_code() != \
                            libvirt.VIR_ERR_BLOCK_COPY_ACTIVE:
                        raise
            if (info['cur'], info['end']) != progress:
                progress, since = (info['cur'], info['end']), time.monotonic()
            elif time.monotonic() - since > COPY_STALL_TIMEOUT:
                raise nova_exception.NovaException(
                    'the copy of %s made no progress for %ss (%d of %d '
                    'bytes)' % (dev, COPY_STALL_TIMEOUT, info['cur'],
                                info['end']))
            time.sleep(COPY_POLL_INTERVAL)

    @staticmethod
    def _swap_definition(host, instance, domain, config, new, dev):
        """The definition's disk reads the new volume after the pivot.

        The pivot changed the running guest only. The disk keeps its
        target, bus and serial (the guest sees the same device).
        """
        if config is None:
            # A guest started without a definition of its own: none to fix.
            return
        element = disk_element(new, dev,
                               bus=config.find('target').get('bus'))
        element.find('serial').text = config.findtext('serial')
        for tag in ('boot', 'address'):
            for child in config.findall(tag):
                element.append(child)
        with host.translated('Redefining volume %s of instance-%s' % (
                new.volume_id, instance.uuid), instance.uuid):
            domain.detachDeviceFlags(
                etree.tostring(config, encoding='unicode'),
                libvirt.VIR_DOMAIN_AFFECT_CONFIG)
            domain.attachDeviceFlags(
                etree.tostring(element, encoding='unicode'),
                libvirt.VIR_DOMAIN_AFFECT_CONFIG)
