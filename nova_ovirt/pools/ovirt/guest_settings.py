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

"""Flavor extra specs and image properties as oVirt VM parameters.

The values come from :mod:`nova_ovirt.guest_config`; this module maps them
to the engine's API model (``Vm.cpu``, ``Vm.custom_cpu_model``,
``Vm.bios``, ``Vm.custom_emulated_machine``, ``Vm.display``,
``Vm.rng_device``, ``Vm.os``, ``Vm.virtio_scsi``, the disk attachment's
``interface`` and the NIC's ``interface``) and refuses, naming the
property, what the engine cannot express. The engine adds the qemu guest
agent channel to every VM, so ``hw_qemu_guest_agent`` needs nothing.
"""

import collections
import re

from ovirtsdk4 import types

from nova_ovirt import guest_config

CPU_MODES = {'host-model': types.CpuMode.HOST_MODEL,
             'host-passthrough': types.CpuMode.HOST_PASSTHROUGH,
             'custom': types.CpuMode.CUSTOM}
DISK_INTERFACES = {'virtio': types.DiskInterface.VIRTIO,
                   'scsi': types.DiskInterface.VIRTIO_SCSI,
                   'sata': types.DiskInterface.SATA,
                   'ide': types.DiskInterface.IDE}
NIC_INTERFACES = {'virtio': types.NicInterface.VIRTIO,
                  'e1000': types.NicInterface.E1000,
                  'e1000e': types.NicInterface.E1000E,
                  'rtl8139': types.NicInterface.RTL8139}
#: The engine derives the video device from the display protocol: VGA
#: for VNC, QXL for SPICE.
DISPLAYS = {'vga': types.DisplayType.VNC, 'qxl': types.DisplayType.SPICE}
#: oVirt operating system ids (osinfo) for nova's os_type.
OS_TYPES = {'linux': 'other_linux', 'windows': 'windows_2019x64'}
#: Machine types: nova's aliases and the versioned names of both chipsets.
I440FX = re.compile(r'^(pc|pc-i440fx-[\w.-]+)$')
Q35 = re.compile(r'^(q35|pc-q35-[\w.-]+)$')
#: The first cluster level with the Q35 chipset and UEFI (oVirt 4.4).
UEFI_CLUSTER_LEVEL = (4, 4)

#: VM add parameters, the root disk's interface, the NICs' interface.
OvirtGuest = collections.namedtuple('OvirtGuest', [
    'vm_params', 'disk_interface', 'nic_interface'])


def _cpu(settings, target):
    topology = types.CpuTopology(sockets=settings.sockets,
                                 cores=settings.cores,
                                 threads=settings.threads)
    # No mode: the cluster's CPU type, which keeps oVirt's live migration
    # inside the cluster working (oVirt's default, unlike nova's).
    mode = CPU_MODES.get(settings.cpu_mode)
    return types.Cpu(topology=topology, mode=mode), (
        settings.cpu_model if settings.cpu_mode == 'custom' else None)


def _cluster_level(cluster):
    version = cluster.version
    if version is None or version.major is None:
        return None
    return (version.major, version.minor or 0)


def _check_uefi(cluster, target):
    level = _cluster_level(cluster)
    if level is not None and level < UEFI_CLUSTER_LEVEL:
        guest_config.refuse(
            'hw_firmware_type', guest_config.UEFI, target,
            'cluster %s is at compatibility level %d.%d; UEFI (Q35 with '
            'OVMF) needs %d.%d' % (
                (cluster.name,) + level + UEFI_CLUSTER_LEVEL))
    arch = cluster.cpu.architecture if cluster.cpu is not None else None
    if arch not in (None, types.Architecture.X86_64):
        guest_config.refuse(
            'hw_firmware_type', guest_config.UEFI, target,
            'cluster %s runs %s guests; oVirt offers OVMF for x86_64 only'
            % (cluster.name, arch.value))


def _bios(settings, cluster, target):
    """(Bios or None, custom emulated machine or None)."""
    machine = settings.machine_type
    uefi = settings.firmware == guest_config.UEFI
    if machine is not None and not (I440FX.match(machine) or
                                    Q35.match(machine)):
        guest_config.refuse('hw_machine_type', machine, target,
                            'oVirt runs pc (i440fx) and q35 machines')
    if uefi:
        if machine is not None and I440FX.match(machine):
            guest_config.refuse(
                'hw_machine_type', machine, target,
                'oVirt boots UEFI guests (hw_firmware_type=uefi) on q35 '
                'machines only')
        _check_uefi(cluster, target)
        bios_type = types.BiosType.Q35_OVMF
    elif machine is None:
        # The cluster's default chipset and firmware.
        return None, None
    elif Q35.match(machine):
        bios_type = types.BiosType.Q35_SEA_BIOS
    else:
        bios_type = types.BiosType.I440FX_SEA_BIOS
    # Only a versioned name says more than the BIOS type does.
    custom = machine if machine and '-' in machine else None
    return types.Bios(type=bios_type), custom


def _mapped(prop, value, table, target, what):
    if value is None:
        return None
    if value not in table:
        guest_config.refuse(prop, value, target,
                            'oVirt offers %s %s' % (what,
                                                    ', '.join(sorted(table))))
    return table[value]


def _rng(settings):
    if not settings.rng_model:
        return None
    rate = None
    if settings.rng_rate_bytes:
        rate = types.Rate(bytes=settings.rng_rate_bytes,
                          period=settings.rng_rate_period)
    return types.RngDevice(source=types.RngSource.URANDOM, rate=rate)


def needs_cluster(settings):
    """Whether resolve must see the cluster (for UEFI only)."""
    return settings.firmware == guest_config.UEFI


def resolve(settings, cluster, target):
    """OvirtGuest of settings in cluster (a types.Cluster, may be None
    when :func:`needs_cluster` says it is not needed)."""
    if settings.rng_model and settings.rng_model != 'virtio':
        guest_config.refuse('hw_rng_model', settings.rng_model, target,
                            'oVirt offers virtio RNG devices only')
    cpu, custom_model = _cpu(settings, target)
    bios, machine = _bios(settings, cluster, target)
    disk_interface = _mapped('hw_disk_bus', settings.disk_bus,
                             DISK_INTERFACES, target, 'disk interfaces')
    if disk_interface == types.DiskInterface.IDE and (
            bios is not None and bios.type != types.BiosType.I440FX_SEA_BIOS):
        guest_config.refuse('hw_disk_bus', settings.disk_bus, target,
                            'q35 machines have no IDE controller')
    display = _mapped('hw_video_model', settings.video_model, DISPLAYS,
                      target, 'video models')
    os_type = _mapped('os_type', settings.os_type, OS_TYPES, target,
                      'operating system types')
    params = dict(
        cpu=cpu, custom_cpu_model=custom_model, bios=bios,
        custom_emulated_machine=machine,
        display=types.Display(type=display) if display else None,
        rng_device=_rng(settings),
        os=types.OperatingSystem(type=os_type, boot=types.Boot(
            devices=[types.BootDevice.HD])) if os_type else None,
        virtio_scsi=types.VirtioScsi(enabled=True)
        if disk_interface == types.DiskInterface.VIRTIO_SCSI else None)
    return OvirtGuest(
        vm_params={k: v for k, v in params.items() if v is not None},
        disk_interface=disk_interface,
        nic_interface=_mapped('hw_vif_model', settings.vif_model,
                              NIC_INTERFACES, target, 'NIC models'))
