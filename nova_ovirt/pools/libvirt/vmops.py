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

"""Guest lifecycle on one libvirt host.

A guest's domain definition is always produced from the Nova instance and
the volumes that exist for it (see :func:`guest_config`), so redefining a
guest (hard reboot, resize, rescue, revert) never depends on what an
earlier definition said.
"""

import os
import tempfile
import time
from xml.etree import ElementTree as etree

import libvirt
from oslo_log import log as logging
from oslo_utils import units

import nova.conf
from nova.api.metadata import base as instance_metadata
from nova.compute import power_state
from nova.compute import task_states
from nova import exception as nova_exception
from nova.virt import configdrive
from nova.virt import hardware

from nova_ovirt import exception
from nova_ovirt import guest_config as user_settings
from nova_ovirt.pools.libvirt import adopt as libvirt_adopt
from nova_ovirt.pools.libvirt import config
from nova_ovirt.pools.libvirt import errors
from nova_ovirt.pools.libvirt import guest_settings
from nova_ovirt.pools.libvirt import images
from nova_ovirt.pools.libvirt import snapshot
from nova_ovirt.pools.libvirt import vif as vif_xml
from nova_ovirt.pools.libvirt import volumeops

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

LIBVIRT_POWER_STATE = {
    libvirt.VIR_DOMAIN_NOSTATE: power_state.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: power_state.RUNNING,
    # Xen only: a running guest whose vCPUs idle.
    libvirt.VIR_DOMAIN_BLOCKED: power_state.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: power_state.PAUSED,
    # "being shut down" is still running, but nova's libvirt driver maps
    # it to SHUTDOWN; so do we, for the same power-sync behaviour.
    libvirt.VIR_DOMAIN_SHUTDOWN: power_state.SHUTDOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: power_state.SHUTDOWN,
    libvirt.VIR_DOMAIN_CRASHED: power_state.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: power_state.SUSPENDED,
}

# Volume names: everything of an instance starts with "<uuid>_", so
# destroy finds it all; backups kept for a resize revert start with
# "<uuid>-resize_" and survive the destroy nova runs before a revert.
ROOT = 'disk'
EPHEMERAL = 'disk.eph0'
SWAP = 'disk.swap'
CONFIG_DRIVE = 'disk.config'
RESCUE = 'disk.rescue'
# The config drive of a rescue: the rescue password as the admin password
# (the guest's own config drive keeps its own).
RESCUE_CONFIG_DRIVE = 'disk.config.rescue'
CONSOLE_LOG = 'console.log'
# Order of the guest's disks; their bus comes from hw_disk_bus, the config
# drive is a cdrom on the machine type's own controller (IDE or SATA).
DISK_LAYOUT = [(ROOT, 'disk'), (EPHEMERAL, 'disk'), (SWAP, 'disk'),
               (CONFIG_DRIVE, 'cdrom')]
RESCUE_LAYOUT = [(RESCUE, 'disk'), (ROOT, 'disk'),
                 (RESCUE_CONFIG_DRIVE, 'cdrom')]
RAW_VOLUMES = (CONFIG_DRIVE, RESCUE_CONFIG_DRIVE)

POLL_INTERVAL = 0.5


def volume_name(instance_uuid, kind):
    return '%s_%s' % (instance_uuid, kind)


def snapshot_volume_name(instance_uuid, image_id):
    """A snapshot's copy of the root disk: one of the guest's volumes, so
    that the guest's delete also removes one a crash left behind."""
    return volume_name(instance_uuid, 'snapshot-%s' % image_id)


def backup_name(instance_uuid, kind):
    return '%s-resize_%s' % (instance_uuid, kind)


def domain_name(instance):
    return 'instance-%s' % instance.uuid


def map_power_state(state):
    return LIBVIRT_POWER_STATE.get(state, power_state.NOSTATE)


def _gib(value):
    return int(value) * units.Gi


class GuestOps(object):
    """Lifecycle operations; every method takes the host it works on."""

    def __init__(self, pool_name, conf):
        self.pool_name = pool_name
        self.conf = conf
        self.volumes = volumeops.VolumeOps(pool_name, conf)

    # -- domain definition -------------------------------------------------

    def _volume_formats(self, host, instance):
        """{kind: (path, format)} of the instance's volumes on the host."""
        found = {}
        for kind in dict.fromkeys(k for k, _ in DISK_LAYOUT + RESCUE_LAYOUT):
            volume = host.storage.lookup(volume_name(instance.uuid, kind))
            if volume is not None:
                fmt = 'raw' if kind in RAW_VOLUMES else 'qcow2'
                found[kind] = (volume.path(), fmt)
        return found

    def _disks(self, host, instance, rescue, guest):
        volumes = self._volume_formats(host, instance)
        # Rescue: the rescue image boots first; the guest's own root disk
        # is second so the rescue system can repair it.
        layout = [(k, d) for k, d in (RESCUE_LAYOUT if rescue
                                      else DISK_LAYOUT) if k in volumes]
        buses = [guest.cdrom_bus if device == 'cdrom' else guest.disk_bus
                 for _kind, device in layout]
        targets = guest_settings.disk_targets(buses)
        return [config.disk(volumes[k][0], volumes[k][1], target, bus, d)
                for (k, d), target, bus in zip(layout, targets, buses)]

    def _console_log_path(self, host, instance):
        volume = host.storage.lookup(volume_name(instance.uuid, CONSOLE_LOG))
        return volume.path() if volume is not None else None

    def _metadata(self, host, instance, image_id=None):
        return config.metadata_element(
            instance.uuid, instance.display_name or instance.uuid,
            instance.flavor, instance.project_id, instance.user_id,
            self.pool_name, host.nodename, image_id=image_id)

    def guest(self, host, instance, image_meta=None):
        """LibvirtGuest: the flavor's and image's settings on this host.

        :raises UnsupportedGuestProperty: naming what the host cannot do
        """
        settings = user_settings.read(
            instance.flavor, user_settings.image_meta_of(instance, image_meta),
            host.nodename)
        return guest_settings.resolve(settings, host, self.conf.domain_type)

    def guest_config(self, host, instance, network_info=None,
                     interfaces=None, rescue=False, image_id=None):
        guest = self.guest(host, instance)
        if interfaces is None:
            interfaces = vif_xml.interfaces(network_info,
                                            self.conf.ovs_bridge,
                                            guest.vif_model)
        flavor = instance.flavor
        return config.GuestConfig(
            uuid=instance.uuid, name=domain_name(instance),
            memory_mib=flavor.memory_mb, vcpus=flavor.vcpus,
            domain_type=self.conf.domain_type,
            disks=self._disks(host, instance, rescue, guest),
            interfaces=interfaces,
            console_log=self._console_log_path(host, instance),
            vnc_listen=self.conf.vnc_listen,
            metadata=self._metadata(host, instance, image_id),
            machine=guest.machine, cpu=guest.cpu, firmware=guest.firmware,
            video_model=guest.video_model, rng=guest.rng,
            guest_agent=guest.guest_agent, windows=guest.windows)

    def define(self, host, instance, network_info=None, rescue=False,
               image_id=None, volume_disks=None):
        """(Re)define the domain from the instance; returns it.

        Without network_info the interfaces of the current definition are
        kept (unrescue, revert), since nova does not pass ports there.
        Cinder volumes are those nova maps at spawn (volume_disks), else
        the ones the current definition has.
        """
        self.check_not_adopted(host, instance, 'Redefining')
        interfaces = None
        current = host.find_domain(instance.uuid)
        current_xml = (current.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
                       if current else None)
        if network_info is None:
            interfaces = (config.interfaces_of(current_xml)
                          if current_xml else [])
        guest = self.guest_config(host, instance, network_info, interfaces,
                                  rescue, image_id)
        guest.volume_disks = volumeops.carried_volume_disks(
            guest, volume_disks, current_xml)
        xml = config.domain_xml(guest)
        with host.translated('Defining guest %s' % domain_name(instance)):
            domain = host.connection.defineXML(xml)
        host.note_owned(instance.uuid, instance.name)
        return domain

    @staticmethod
    def check_not_adopted(host, instance, operation):
        """Refuse to write the definition of an adopted domain.

        Its definition is the operator's (its own UUID, name and disks):
        defining one from the instance would make a second domain.
        """
        if host.is_adopted(instance.uuid):
            raise exception.BackendOperationFailed(
                operation='%s guest %s' % (operation, instance.uuid),
                target=host.target,
                reason='it is an adopted domain: its definition and disks '
                       'stay the operator\'s, and Nova neither rewrites nor '
                       'copies them (see the migration guide, "Adopting '
                       'libvirt domains")')

    # -- spawn -------------------------------------------------------------

    def _check_uuid_free(self, host, instance):
        if host.foreign_domain_exists(instance.uuid):
            raise exception.BackendOperationFailed(
                operation='Creating guest %s' % domain_name(instance),
                target=host.target,
                reason='a domain with this UUID exists and was not created '
                       'by nova-ovirt; it is left alone')

    def _root_capacity(self, instance, base):
        root_bytes = _gib(instance.flavor.root_gb)
        return max(root_bytes, base.virtual_size)

    def create_disks(self, host, context, instance, image_meta, created,
                     root_on_volume=False):
        """Root overlay, ephemeral and swap disks; names go into created."""
        if root_on_volume:
            # Boot from volume: the root is a Cinder volume, no image.
            self.create_extra_disks(host, instance, created)
            return None
        storage = host.storage
        base = images.ensure_base_volume(host, context, image_meta)
        self._create(created, storage, volume_name(instance.uuid, ROOT),
                     self._root_capacity(instance, base), 'qcow2',
                     base.volume, base.format)
        self.create_extra_disks(host, instance, created)
        return base

    def create_extra_disks(self, host, instance, created):
        storage, flavor = host.storage, instance.flavor
        if flavor.ephemeral_gb:
            self._create(created, storage,
                         volume_name(instance.uuid, EPHEMERAL),
                         _gib(flavor.ephemeral_gb))
        if flavor.swap:
            self._create(created, storage, volume_name(instance.uuid, SWAP),
                         flavor.swap * units.Mi)
        self._create(created, storage,
                     volume_name(instance.uuid, CONSOLE_LOG), 0, 'raw')

    @staticmethod
    def _create(created, storage, name, capacity, fmt='qcow2', backing=None,
                backing_format=None):
        storage.delete(name)  # leftover of an earlier failed attempt
        volume = storage.create(name, capacity, fmt, backing, backing_format)
        created.append(name)
        return volume

    def create_config_drive(self, host, instance, injected_files,
                            admin_password, network_info, created,
                            kind=CONFIG_DRIVE):
        extra_md = {'admin_pass': admin_password} if admin_password else {}
        metadata = instance_metadata.InstanceMetadata(
            instance, content=injected_files, extra_md=extra_md,
            network_info=network_info)
        name = volume_name(instance.uuid, kind)
        with tempfile.TemporaryDirectory(prefix='nova-ovirt-cd-') as tmp:
            path = os.path.join(tmp, 'disk.config')
            with configdrive.ConfigDriveBuilder(instance_md=metadata) as cdb:
                cdb.make_drive(path)
            volume = self._create(created, host.storage, name, 0, 'raw')
            with open(path, 'rb') as source, \
                    host.storage.writer(volume) as writer:
                while True:
                    chunk = source.read(units.Mi)
                    if not chunk:
                        break
                    writer.write(chunk)
        LOG.info('Config drive uploaded as %s', name, instance=instance)

    def spawn(self, host, context, instance, image_meta, injected_files,
              admin_password, network_info, power_on=True,
              block_device_info=None):
        if libvirt_adopt.adopt_if_requested(host, instance, network_info):
            return
        self._check_uuid_free(host, instance)
        root_on_volume = self.volumes.root_on_volume(block_device_info)
        # Settings the host cannot honour fail here, before anything exists.
        self.guest(host, instance, image_meta)
        if not root_on_volume:
            image_meta = images.with_image_id(context, instance, image_meta)
        created = []
        try:
            with host.translated('Creating disks of %s' %
                                 domain_name(instance)):
                base = self.create_disks(host, context, instance, image_meta,
                                         created, root_on_volume)
                if configdrive.required_by(instance):
                    self.create_config_drive(host, instance, injected_files,
                                             admin_password, network_info,
                                             created)
            domain = self.define(
                host, instance, network_info or [],
                image_id=None if root_on_volume else image_meta.id,
                volume_disks=self.volumes.block_device_disks(
                    host, instance, block_device_info))
            if power_on:
                self.start(host, instance, domain)
        except Exception:
            LOG.warning('Spawning on %s failed; removing the guest and the '
                        'volumes created for it', host.nodename,
                        instance=instance)
            self._remove_quietly(host, instance, created)
            raise
        LOG.info('Guest %(name)s created on %(node)s from image %(image)s',
                 {'name': domain_name(instance), 'node': host.nodename,
                  'image': base.volume.name() if base else 'a volume'},
                 instance=instance)

    def _remove_quietly(self, host, instance, volumes):
        try:
            self.undefine(host, instance.uuid)
            for name in volumes:
                host.storage.delete(name)
            self.volumes.remove_secrets(host, instance)
        except Exception:
            LOG.exception('Cleaning up after a failed spawn left something '
                          'behind on %s', host.nodename, instance=instance)

    # -- power -------------------------------------------------------------

    def start(self, host, instance, domain=None):
        domain = domain or host.lookup(instance.uuid)
        with host.translated('Starting guest %s on node %s' %
                             (domain_name(instance), host.nodename),
                             instance.uuid):
            if not domain.isActive():
                domain.create()
        host.invalidate()

    def destroy_domain(self, host, domain):
        """Hard stop; a guest that is already off is fine."""
        try:
            if domain.isActive():
                domain.destroy()
        except libvirt.libvirtError as e:
            if e.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                raise
        host.invalidate()

    def undefine(self, host, instance_uuid):
        domain = host.find_domain(instance_uuid)
        if domain is None:
            return False
        adopted = domain.UUIDString() != instance_uuid
        with host.translated('Removing guest %s' % instance_uuid):
            self.destroy_domain(host, domain)
            flags = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                     libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
            # The NVRAM flag only for UEFI guests (their variables go too):
            # some drivers refuse it. An adopted guest's storage is the
            # operator's, its variables with it (see destroy).
            if config.uses_nvram(domain.XMLDesc(
                    libvirt.VIR_DOMAIN_XML_INACTIVE)):
                flags |= (libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM if adopted
                          else libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
            if adopted:
                LOG.info('Deleting the adopted domain %s (%s); its disks '
                         'stay: %s', domain.UUIDString(), domain.name(),
                         ', '.join(config.disk_sources(domain.XMLDesc(
                             libvirt.VIR_DOMAIN_XML_INACTIVE))) or 'none')
            try:
                domain.undefineFlags(flags)
            except libvirt.libvirtError as e:
                if not errors.is_missing_domain(e):
                    raise
        host.note_removed(instance_uuid)
        return True

    def destroy(self, host, instance, destroy_disks=True):
        self.undefine(host, instance.uuid)
        if destroy_disks:
            with host.translated('Deleting disks of %s' % instance.uuid):
                deleted = host.storage.delete_prefixed(instance.uuid + '_')
            LOG.debug('Deleted volumes %s', deleted, instance=instance)

    def state(self, host, instance, use_cache=True):
        if use_cache:
            states = host.guest_states()
            if instance.uuid in states:
                return states[instance.uuid][0]
        domain = host.lookup(instance.uuid)
        with host.translated('Reading the state of %s' % instance.uuid,
                             instance.uuid):
            return domain.state()[0]

    def get_info(self, host, instance, use_cache=True):
        state = self.state(host, instance, use_cache)
        return hardware.InstanceInfo(state=map_power_state(state))

    def _wait_until_off(self, domain, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not domain.isActive():
                return True
            time.sleep(POLL_INTERVAL)
        return not domain.isActive()

    def _send_shutdown(self, domain):
        try:
            domain.shutdown()
        except libvirt.libvirtError as e:
            if e.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                raise

    def clean_shutdown(self, domain, timeout, retry_interval):
        """ACPI shutdown, resent every retry_interval; True if it stopped."""
        if domain.state()[0] != libvirt.VIR_DOMAIN_RUNNING:
            return not domain.isActive()
        deadline = time.monotonic() + timeout
        interval = retry_interval or timeout
        while time.monotonic() < deadline:
            self._send_shutdown(domain)
            if self._wait_until_off(domain, min(interval,
                                                deadline - time.monotonic())):
                return True
        return False

    def power_off(self, host, instance, timeout=0, retry_interval=0):
        domain = host.lookup(instance.uuid)
        with host.translated('Stopping guest %s' % domain_name(instance),
                             instance.uuid):
            if timeout and self.clean_shutdown(domain, timeout,
                                               retry_interval):
                LOG.info('Guest shut down cleanly', instance=instance)
            else:
                self.destroy_domain(host, domain)
        host.invalidate()

    def power_on(self, host, instance, network_info=None):
        # virDomainCreate resumes from a managed save image if one exists.
        self.start(host, instance)

    def reboot(self, host, instance, network_info, reboot_type):
        domain = host.lookup(instance.uuid)
        if reboot_type == 'SOFT' and self._soft_reboot(host, instance,
                                                       domain):
            return
        self.hard_reboot(host, instance, network_info)

    def _soft_reboot(self, host, instance, domain):
        with host.translated('Rebooting guest %s' % domain_name(instance),
                             instance.uuid):
            if domain.state()[0] != libvirt.VIR_DOMAIN_RUNNING:
                return False
            self._send_shutdown(domain)
            wait = CONF.libvirt.wait_soft_reboot_seconds
            if not self._wait_until_off(domain, wait):
                LOG.warning('Guest did not shut down within %d seconds; '
                            'rebooting it hard', wait, instance=instance)
                return False
            domain.create()
        host.invalidate()
        LOG.info('Guest rebooted softly', instance=instance)
        return True

    def hard_reboot(self, host, instance, network_info):
        domain = host.lookup(instance.uuid)
        with host.translated('Rebooting guest %s' % domain_name(instance),
                             instance.uuid):
            self.destroy_domain(host, domain)
            if domain.hasManagedSaveImage(0):
                domain.managedSaveRemove(0)
        if host.is_adopted(instance.uuid):
            # Its own definition, started again (see check_not_adopted).
            self.start(host, instance, domain)
            return
        domain = self.define(host, instance, network_info)
        self.start(host, instance, domain)

    def pause(self, host, instance):
        domain = host.lookup(instance.uuid)
        with host.translated('Pausing %s' % domain_name(instance),
                             instance.uuid):
            domain.suspend()
        host.invalidate()

    def unpause(self, host, instance):
        domain = host.lookup(instance.uuid)
        with host.translated('Unpausing %s' % domain_name(instance),
                             instance.uuid):
            # Like nova's libvirt driver: unpausing a guest that is not
            # paused is a no-op, not an error.
            if domain.state()[0] == libvirt.VIR_DOMAIN_PAUSED:
                domain.resume()
        host.invalidate()

    def suspend(self, host, instance):
        domain = host.lookup(instance.uuid)
        with host.translated('Suspending %s' % domain_name(instance),
                             instance.uuid):
            domain.managedSave(0)
        host.invalidate()

    def resume(self, host, instance):
        self.start(host, instance)

    def resume_state_on_host_boot(self, host, instance, network_info):
        if self.state(host, instance, use_cache=False) in (
                libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED):
            return
        self.hard_reboot(host, instance, network_info)

    # -- rescue ------------------------------------------------------------

    def rescue(self, host, context, instance, network_info, image_meta,
               rescue_password=None):
        """Boot the rescue image with the guest's disks attached.

        The rescue password reaches the rescue system as the admin
        password of a config drive of its own (cloud-init, or whatever
        the rescue image runs, reads it there), as in nova's libvirt
        driver; without a password only a guest that uses config drives
        gets one.
        """
        domain = host.lookup(instance.uuid)
        self.check_not_adopted(host, instance, 'Rescuing')
        image_meta = images.with_image_id(context, instance, image_meta)
        created = []
        try:
            base = images.ensure_base_volume(host, context, image_meta)
            self._create(created, host.storage,
                         volume_name(instance.uuid, RESCUE),
                         base.virtual_size, 'qcow2', base.volume, base.format)
            if rescue_password or configdrive.required_by(instance):
                with host.translated('Creating the rescue config drive of '
                                     '%s' % domain_name(instance)):
                    self.create_config_drive(
                        host, instance, None, rescue_password, network_info,
                        created, kind=RESCUE_CONFIG_DRIVE)
            with host.translated('Rescuing %s' % domain_name(instance),
                                 instance.uuid):
                self.destroy_domain(host, domain)
            domain = self.define(host, instance, network_info, rescue=True)
            self.start(host, instance, domain)
        except Exception:
            for name in created:
                host.storage.delete(name)
            raise

    def unrescue(self, host, instance):
        domain = host.lookup(instance.uuid)
        with host.translated('Unrescuing %s' % domain_name(instance),
                             instance.uuid):
            self.destroy_domain(host, domain)
            host.storage.delete(volume_name(instance.uuid, RESCUE))
            host.storage.delete(volume_name(instance.uuid,
                                            RESCUE_CONFIG_DRIVE))
        domain = self.define(host, instance)
        self.start(host, instance, domain)

    # -- interfaces --------------------------------------------------------

    @staticmethod
    def _device_flags(domain):
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if domain.isActive():
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        return flags

    def attach_interface(self, host, instance, vif, image_meta=None):
        domain = host.lookup(instance.uuid)
        xml = vif_xml.interface_xml(vif, self.conf.ovs_bridge,
                                    self.guest(host, instance,
                                               image_meta).vif_model)
        try:
            with host.translated('Attaching port %s to %s' %
                                 (vif['id'], domain_name(instance)),
                                 instance.uuid):
                domain.attachDeviceFlags(xml, self._device_flags(domain))
        except exception.BackendOperationFailed as e:
            raise nova_exception.InterfaceAttachFailed(
                instance_uuid=instance.uuid) from e

    def detach_interface(self, host, instance, vif):
        domain = host.lookup(instance.uuid)
        current = config.interface_by_mac(
            domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), vif['address'])
        if current is None:
            LOG.info('Port %s is not attached; nothing to detach', vif['id'],
                     instance=instance)
            return
        xml = etree.tostring(current, encoding='unicode')
        try:
            with host.translated('Detaching port %s from %s' %
                                 (vif['id'], domain_name(instance)),
                                 instance.uuid):
                domain.detachDeviceFlags(xml, self._device_flags(domain))
        except exception.BackendOperationFailed as e:
            raise nova_exception.InterfaceDetachFailed(
                instance_uuid=instance.uuid) from e

    # -- snapshot ----------------------------------------------------------

    def snapshot(self, host, context, instance, image_id, update_task_state):
        """Flattened copy of the root disk into the Glance image.

        A running guest is saved (managed save) for the copy and restored
        afterwards: its disk is consistent and qemu holds no lock on it.
        An adopted domain is copied without a stop or a change (see
        :mod:`snapshot`).
        """
        domain = host.lookup(instance.uuid)
        copy_name = snapshot_volume_name(instance.uuid, image_id)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        if host.is_adopted(instance.uuid):
            copy = snapshot.copy_adopted_root(host, instance, domain,
                                              copy_name)
        else:
            copy = self._copy_root(host, instance, domain, copy_name)
        try:
            update_task_state(task_state=task_states.IMAGE_UPLOADING,
                              expected_state=task_states.IMAGE_PENDING_UPLOAD)
            snapshot.upload(host, context, instance, image_id, copy)
        finally:
            host.storage.delete(copy_name)

    def _copy_root(self, host, instance, domain, copy_name):
        root = host.storage.lookup(volume_name(instance.uuid, ROOT))
        if root is None:
            raise exception.BackendOperationFailed(
                operation='Snapshot of %s' % domain_name(instance),
                target=host.target, reason='the root disk volume is missing')
        with host.translated('Snapshot of %s' % domain_name(instance),
                             instance.uuid):
            was_active = domain.isActive()
            was_paused = domain.state()[0] == libvirt.VIR_DOMAIN_PAUSED
            if was_active:
                domain.managedSave(0)
            try:
                host.storage.delete(copy_name)
                return host.storage.clone_flattened(
                    copy_name, root, host.storage.virtual_size(root))
            finally:
                if was_active:
                    domain.createWithFlags(
                        libvirt.VIR_DOMAIN_START_PAUSED if was_paused else 0)
                    host.invalidate()
