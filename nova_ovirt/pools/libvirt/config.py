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

"""libvirt XML: domains, their nova-ovirt metadata, storage volumes.

Builders take plain values (no libvirt handles), so they are tested by
comparing XML, and the same domain definition is produced again from the
instance whenever the pool redefines a guest (resize, rescue, revert).
"""

import collections
import datetime
from xml.etree import ElementTree as etree

METADATA_NS = 'http://openstack.org/xmlns/nova-ovirt/1.0'
METADATA_PREFIX = 'novaovirt'
METADATA_ROOT = 'instance'

etree.register_namespace(METADATA_PREFIX, METADATA_NS)

#: A disk of a guest. ``device`` is disk or cdrom, ``bus`` virtio or ide.
Disk = collections.namedtuple('Disk', 'path format target bus device')


def disk(path, fmt, target, bus='virtio', device='disk'):
    return Disk(path, fmt, target, bus, device)


class GuestConfig(object):
    """What the domain XML of one guest says, in plain values."""

    def __init__(self, uuid, name, memory_mib, vcpus, domain_type='kvm',
                 disks=(), interfaces=(), console_log=None,
                 vnc_listen='127.0.0.1', metadata=None, machine='pc',
                 arch='x86_64'):
        self.uuid = uuid
        self.name = name
        self.memory_mib = memory_mib
        self.vcpus = vcpus
        self.domain_type = domain_type
        self.disks = list(disks)
        self.interfaces = list(interfaces)
        self.console_log = console_log
        self.vnc_listen = vnc_listen
        self.metadata = metadata
        self.machine = machine
        self.arch = arch


def _sub(parent, tag, text=None, **attrs):
    element = etree.SubElement(parent, tag, {k: str(v) for k, v in
                                             attrs.items() if v is not None})
    if text is not None:
        element.text = str(text)
    return element


def _ns(tag):
    return '{%s}%s' % (METADATA_NS, tag)


def metadata_element(instance_uuid, name, flavor, project_id, user_id,
                     pool, node, created_at=None, image_id=None):
    """The element that marks a domain as created by nova-ovirt."""
    created_at = created_at or datetime.datetime.now(datetime.timezone.utc)
    root = etree.Element(_ns(METADATA_ROOT))
    _sub(root, _ns('uuid'), instance_uuid)
    _sub(root, _ns('name'), name)
    _sub(root, _ns('creationTime'), created_at.strftime('%Y-%m-%d %H:%M:%S'))
    _sub(root, _ns('flavor'), name=flavor.name,
         memory_mb=flavor.memory_mb, vcpus=flavor.vcpus,
         root_gb=flavor.root_gb, ephemeral_gb=flavor.ephemeral_gb,
         swap=flavor.swap)
    owner = _sub(root, _ns('owner'))
    _sub(owner, _ns('project'), uuid=project_id)
    _sub(owner, _ns('user'), uuid=user_id)
    _sub(root, _ns('pool'), name=pool, node=node)
    if image_id:
        _sub(root, _ns('image'), uuid=image_id)
    return root


def metadata_instance_uuid(domain_xml):
    """Instance uuid in a domain's nova-ovirt metadata, or None."""
    root = etree.fromstring(domain_xml)
    element = root.find('metadata/' + _ns(METADATA_ROOT))
    if element is None:
        return None
    uuid_element = element.find(_ns('uuid'))
    return uuid_element.text if uuid_element is not None else None


def metadata_identity(element_xml):
    """(instance uuid, instance name) in our metadata element, or Nones.

    Reads the element as virDomainGetMetadata gives it: libvirtd hands it
    back without its namespace (the test driver keeps it), so match on
    local names only.
    """
    try:
        element = etree.fromstring(element_xml)
    except etree.ParseError:
        return None, None
    if _local_name(element.tag) != METADATA_ROOT:
        return None, None
    found = {_local_name(child.tag): child.text for child in element}
    return found.get('uuid'), found.get('name')


def _local_name(tag):
    return tag.rsplit('}', 1)[-1]


def _os(domain, config):
    os_element = _sub(domain, 'os')
    _sub(os_element, 'type', 'hvm', arch=config.arch, machine=config.machine)
    _sub(os_element, 'boot', dev='hd')
    # Firmware messages on the serial console: a guest that fails to boot
    # still leaves something in its console log.
    _sub(os_element, 'bios', useserial='yes')
    features = _sub(domain, 'features')
    # acpi: without it the guest never sees the power button, so clean
    # shutdown and soft reboot cannot work.
    _sub(features, 'acpi')
    _sub(features, 'apic')


def _disk(devices, spec):
    element = _sub(devices, 'disk', type='file', device=spec.device)
    _sub(element, 'driver', name='qemu', type=spec.format,
         cache='none' if spec.device == 'disk' else None)
    _sub(element, 'source', file=spec.path)
    _sub(element, 'target', dev=spec.target, bus=spec.bus)
    if spec.device == 'cdrom':
        _sub(element, 'readonly')


def _console(devices, log_path):
    # A pty serial port whose output virtlogd copies into a file inside the
    # storage pool: the pool can read it back over the libvirt connection,
    # so console output works for remote hosts too.
    serial = _sub(devices, 'serial', type='pty')
    if log_path:
        _sub(serial, 'log', file=log_path, append='off')
    _sub(serial, 'target', port=0)
    console = _sub(devices, 'console', type='pty')
    _sub(console, 'target', type='serial', port=0)


def domain_element(config):
    domain = etree.Element('domain', type=config.domain_type)
    _sub(domain, 'uuid', config.uuid)
    _sub(domain, 'name', config.name)
    if config.metadata is not None:
        _sub(domain, 'metadata').append(config.metadata)
    _sub(domain, 'memory', config.memory_mib, unit='MiB')
    _sub(domain, 'vcpu', config.vcpus)
    _os(domain, config)
    _sub(domain, 'clock', offset='utc')
    _sub(domain, 'on_poweroff', 'destroy')
    _sub(domain, 'on_reboot', 'restart')
    _sub(domain, 'on_crash', 'destroy')
    devices = _sub(domain, 'devices')
    for spec in config.disks:
        _disk(devices, spec)
    devices.extend(getattr(config, 'volume_disks', ()))  # see volumeops
    for interface in config.interfaces:
        devices.append(interface)
    _console(devices, config.console_log)
    _sub(devices, 'graphics', type='vnc', autoport='yes',
         listen=config.vnc_listen)
    video = _sub(devices, 'video')
    _sub(video, 'model', type='vga')
    _sub(devices, 'input', type='tablet', bus='usb')
    return domain


def domain_xml(config):
    return etree.tostring(domain_element(config), encoding='unicode')


def interfaces_of(domain_xml_text):
    """The <interface> elements of an existing definition, to carry over."""
    root = etree.fromstring(domain_xml_text)
    return list(root.findall('devices/interface'))


def interface_by_mac(domain_xml_text, mac):
    for interface in interfaces_of(domain_xml_text):
        address = interface.find('mac')
        if address is not None and \
                address.get('address', '').lower() == mac.lower():
            return interface
    return None


def vnc_port(domain_xml_text):
    root = etree.fromstring(domain_xml_text)
    graphics = root.find("devices/graphics[@type='vnc']")
    if graphics is None:
        return None
    port = int(graphics.get('port', '-1'))
    return port if port > 0 else None


def volume_xml(name, capacity, fmt='qcow2', backing_path=None,
               backing_format=None):
    volume = etree.Element('volume')
    _sub(volume, 'name', name)
    _sub(volume, 'capacity', int(capacity), unit='bytes')
    _sub(volume, 'allocation', 0, unit='bytes')
    target = _sub(volume, 'target')
    _sub(target, 'format', type=fmt)
    if backing_path:
        backing = _sub(volume, 'backingStore')
        _sub(backing, 'path', backing_path)
        _sub(backing, 'format', type=backing_format or 'raw')
    return etree.tostring(volume, encoding='unicode')


def dir_pool_xml(name, path):
    pool = etree.Element('pool', type='dir')
    _sub(pool, 'name', name)
    target = _sub(pool, 'target')
    _sub(target, 'path', path)
    return etree.tostring(pool, encoding='unicode')


def pool_target_path(pool_xml_text):
    return etree.fromstring(pool_xml_text).findtext('target/path')


def volume_format(volume_xml_text):
    element = etree.fromstring(volume_xml_text).find('target/format')
    return element.get('type') if element is not None else None


def host_cpu_info(capabilities_xml):
    """nova's cpu_info dict from the host capabilities XML."""
    cpu = etree.fromstring(capabilities_xml).find('host/cpu')
    info = {'arch': None, 'model': None, 'vendor': None,
            'topology': {}, 'features': []}
    if cpu is None:
        return info
    info['arch'] = cpu.findtext('arch')
    info['model'] = cpu.findtext('model')
    info['vendor'] = cpu.findtext('vendor')
    topology = cpu.find('topology')
    if topology is not None:
        info['topology'] = {k: int(topology.get(k, 1))
                            for k in ('cores', 'threads', 'sockets')}
    info['features'] = sorted(f.get('name') for f in cpu.findall('feature'))
    return info


def guest_domain_types(capabilities_xml, arch='x86_64', os_type='hvm'):
    """Domain types (kvm, qemu, ...) the host offers for arch's guests."""
    types = set()
    for guest in etree.fromstring(capabilities_xml).findall('guest'):
        if guest.findtext('os_type') != os_type:
            continue
        for arch_element in guest.findall('arch'):
            if arch_element.get('name') == arch:
                types.update(d.get('type')
                             for d in arch_element.findall('domain'))
    return sorted(types)
