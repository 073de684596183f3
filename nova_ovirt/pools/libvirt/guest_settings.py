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

"""Flavor extra specs and image properties as one libvirt host honours them.

The values come from :mod:`nova_ovirt.guest_config`; what the host can do
comes from its domain capabilities (virConnectGetDomainCapabilities for the
guest's machine type and domain type): a disk bus, video model, RNG model,
firmware or CPU model the host's qemu does not offer fails the boot with a
fault naming the property, before anything is created.
"""

import collections

import libvirt
from oslo_log import log as logging

from nova_ovirt import guest_config
from nova_ovirt.pools.libvirt import config

LOG = logging.getLogger(__name__)

ARCH = 'x86_64'
#: Disk name prefix per bus, as qemu guests name them.
DISK_PREFIX = {'virtio': 'vd', 'scsi': 'sd', 'sata': 'sd', 'usb': 'sd',
               'ide': 'hd'}
#: hw_vif_model values qemu x86 guests have a NIC model for (nova's
#: VIFModel names are libvirt's model names for these).
VIF_MODELS = ('virtio', 'e1000', 'e1000e', 'rtl8139', 'ne2k_pci', 'pcnet',
              'vmxnet3')
#: What is assumed of a host that cannot describe itself (libvirt's test
#: driver): Debian's qemu-system-x86 for an i440fx machine.
UNDESCRIBED_HOST = {
    'disk_buses': ('virtio', 'scsi', 'sata', 'usb', 'ide'),
    'video_models': ('vga', 'cirrus', 'vmvga', 'qxl', 'virtio', 'none',
                     'bochs'),
    'rng_models': ('virtio',),
    'firmwares': ('efi',),
}

#: The guest as this host will run it.
LibvirtGuest = collections.namedtuple('LibvirtGuest', [
    'machine', 'cpu', 'firmware', 'disk_bus', 'cdrom_bus', 'vif_model',
    'video_model', 'rng', 'guest_agent', 'windows'])


def domain_capabilities(host, machine, domain_type):
    """The host's DomainCapabilities for machine, None if it has none.

    :raises UnsupportedGuestProperty: the host has no such machine type
    """
    try:
        xml = host.connection.getDomainCapabilities(None, ARCH, machine,
                                                    domain_type)
    except libvirt.libvirtError as e:
        if e.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
            return None
        guest_config.refuse('hw_machine_type', machine, host.nodename,
                            e.get_error_message())
    return config.DomainCapabilities(xml)


class _Offer(object):
    """What the host offers, from its capabilities or assumed."""

    def __init__(self, caps, domain_type):
        self.caps = caps
        self.domain_type = domain_type

    def values(self, name):
        if self.caps is None:
            return list(UNDESCRIBED_HOST[name])
        return getattr(self.caps, name)

    def cpu_mode_supported(self, mode):
        if self.caps is None:
            return mode == 'host-model' or self.domain_type == 'kvm'
        return self.caps.cpu_mode_supported(mode)

    def cpu_models(self):
        return None if self.caps is None else self.caps.cpu_models()


def _cpu(settings, offer, target):
    mode = settings.cpu_mode
    if mode is None:
        # nova's default for kvm and qemu domains. A host that cannot
        # describe its CPU to a TCG guest gets qemu's default model, as
        # nova's libvirt driver does with cpu_mode=none.
        mode = 'host-model' if offer.cpu_mode_supported('host-model') \
            else 'none'
    elif mode != 'none' and mode != 'custom' and \
            not offer.cpu_mode_supported(mode):
        guest_config.refuse('hw:cpu_mode', mode, target,
                            'the host cannot give %s guests this CPU mode'
                            % offer.domain_type)
    if mode == 'custom':
        usable = offer.cpu_models()
        if usable is not None and settings.cpu_model not in usable:
            guest_config.refuse(
                'hw:cpu_model', settings.cpu_model, target,
                'the host\'s CPU cannot run this model; it can run %s'
                % ', '.join(sorted(usable)))
    return config.Cpu(mode=None if mode == 'none' else mode,
                      model=settings.cpu_model, sockets=settings.sockets,
                      cores=settings.cores, threads=settings.threads)


def _offered(prop, value, offered, target, what):
    if value not in offered:
        guest_config.refuse(prop, value, target,
                            'the host offers %s %s' % (what,
                                                       ', '.join(offered)))
    return value


def resolve(settings, host, domain_type):
    """LibvirtGuest of settings on host; refuses what it cannot run."""
    machine = settings.machine_type or guest_config.default_machine_type(
        ARCH)
    return resolve_with(settings, domain_capabilities(host, machine,
                                                      domain_type),
                        machine, domain_type, host.nodename)


def resolve_with(settings, caps, machine, domain_type, target):
    """LibvirtGuest of settings for a host with caps (None: undescribed)."""
    offer = _Offer(caps, domain_type)
    buses = [b for b in offer.values('disk_buses') if b in DISK_PREFIX]

    firmware = None
    if settings.firmware == guest_config.UEFI:
        if 'efi' not in offer.values('firmwares'):
            guest_config.refuse(
                'hw_firmware_type', settings.firmware, target,
                'the host offers no UEFI firmware for machine type %s '
                '(install OVMF, Debian package ovmf)' % machine)
        firmware = 'efi'
    disk_bus = _offered('hw_disk_bus', settings.disk_bus or 'virtio',
                        buses, target,
                        'these disk buses for machine type %s:' % machine)
    rng = None
    if settings.rng_model:
        _offered('hw_rng_model', settings.rng_model,
                 offer.values('rng_models'), target, 'RNG models')
        rng = config.Rng(settings.rng_model, settings.rng_rate_bytes,
                         settings.rng_rate_period)
    return LibvirtGuest(
        machine=machine, cpu=_cpu(settings, offer, target),
        firmware=firmware, disk_bus=disk_bus,
        # i440fx has an IDE controller; q35 has none, but AHCI (SATA).
        cdrom_bus='ide' if 'ide' in buses else 'sata',
        vif_model=_offered('hw_vif_model', settings.vif_model or 'virtio',
                           VIF_MODELS, target, 'NIC models'),
        video_model=_offered('hw_video_model', settings.video_model or 'vga',
                             offer.values('video_models'), target,
                             'video models'),
        rng=rng, guest_agent=settings.guest_agent,
        windows=settings.os_type == 'windows')


def disk_targets(buses):
    """Target device names for disks on the given buses, in order."""
    used = collections.Counter()
    targets = []
    for bus in buses:
        prefix = DISK_PREFIX[bus]
        targets.append(prefix + 'abcdefghijklmnopqrstuvwxyz'[used[prefix]])
        used[prefix] += 1
    return targets
