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
OFFER_ROOT = 'adoption-offer'

etree.register_namespace(METADATA_PREFIX, METADATA_NS)

#: A disk of a guest. ``device`` is disk or cdrom, ``bus`` virtio, scsi,
#: sata, usb or ide.
Disk = collections.namedtuple('Disk', 'path format target bus device')
#: The guest CPU: ``mode`` host-model, host-passthrough, custom or None
#: (qemu's default model); the topology always.
Cpu = collections.namedtuple('Cpu', 'mode model sockets cores threads')
#: A virtio RNG device fed by the host's /dev/urandom; rate limits or None.
Rng = collections.namedtuple('Rng', 'model rate_bytes rate_period')
#: Where libvirt puts a guest agent channel: the name qemu-ga looks for.
GUEST_AGENT_CHANNEL = 'org.qemu.guest_agent.0'


def disk(path, fmt, target, bus='virtio', device='disk'):
    return Disk(path, fmt, target, bus, device)


class GuestConfig(object):
    """What the domain XML of one guest says, in plain values."""

    def __init__(self, uuid, name, memory_mib, vcpus, domain_type='kvm',
                 disks=(), interfaces=(), console_log=None,
                 vnc_listen='127.0.0.1', metadata=None, machine='pc',
                 arch='x86_64', cpu=None, firmware=None, video_model='vga',
                 rng=None, guest_agent=False, windows=False):
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
        self.cpu = cpu
        # 'efi' or None (BIOS): libvirt picks the firmware image from the
        # descriptors the firmware packages install (Debian's ovmf).
        self.firmware = firmware
        self.video_model = video_model
        self.rng = rng
        self.guest_agent = guest_agent
        self.windows = windows


def _sub(parent, tag, text=None, **attrs):
    element = etree.SubElement(parent, tag, {k: str(v) for k, v in
                                             attrs.items() if v is not None})
    if text is not None:
        element.text = str(text)
    return element


def _ns(tag):
    return '{%s}%s' % (METADATA_NS, tag)


def metadata_element(instance_uuid, name, flavor, project_id, user_id,
                     pool, node, created_at=None, image_id=None,
                     adopted_domain=None):
    """The element that marks a domain as created by nova-ovirt.

    adopted_domain: the UUID of a domain that nova-ovirt did not create
    but adopted (its UUID is not the instance's): the mark names the one
    domain it belongs to, so that a copy of the definition under another
    UUID is not taken for the instance.
    """
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
    if adopted_domain:
        _sub(root, _ns('adopted'), domain=adopted_domain)
    return root


def offer_element(record_text):
    """The element of an adoption offer (see nova_ovirt.adoption).

    libvirt keeps one metadata element per namespace: an offer and the
    ownership mark exclude each other, and adopting replaces the one by
    the other in a single update.
    """
    root = etree.Element(_ns(OFFER_ROOT))
    root.text = record_text
    return root


def offer_record(element_xml):
    """The record text of an offer element, or None."""
    element = _parse_element(element_xml)
    if element is None or _local_name(element.tag) != OFFER_ROOT:
        return None
    return element.text or ''


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
    element = _parse_element(element_xml)
    if element is None or _local_name(element.tag) != METADATA_ROOT:
        return None, None
    found = {_local_name(child.tag): child.text for child in element}
    return found.get('uuid'), found.get('name')


def metadata_owner(element_xml, domain_uuid):
    """(instance uuid, instance name) if our element marks this domain.

    A domain nova-ovirt created has the instance's UUID; an adopted one
    keeps its own and the mark names it (see metadata_element). Anything
    else (no mark, a mark copied to another domain) is (None, None).
    """
    element = _parse_element(element_xml)
    if element is None or _local_name(element.tag) != METADATA_ROOT:
        return None, None
    uuid, name = metadata_identity(element_xml)
    adopted = [child.get('domain') for child in element
               if _local_name(child.tag) == 'adopted']
    if uuid is not None and (uuid == domain_uuid or
                             adopted == [domain_uuid]):
        return uuid, name
    return None, None


def element_text(element):
    """An element of our namespace as virDomainSetMetadata takes it:
    without the namespace, which libvirt adds itself (it refuses one that
    is already declared)."""
    copy = etree.fromstring(etree.tostring(element))
    for node in copy.iter():
        node.tag = _local_name(node.tag)
    return etree.tostring(copy, encoding='unicode')


def _parse_element(element_xml):
    try:
        return etree.fromstring(element_xml)
    except (etree.ParseError, TypeError):
        return None


def _local_name(tag):
    return tag.rsplit('}', 1)[-1]


def _os(domain, config):
    os_element = _sub(domain, 'os', firmware=config.firmware)
    _sub(os_element, 'type', 'hvm', arch=config.arch, machine=config.machine)
    if config.firmware == 'efi':
        # Without these the firmware autoselection may pick a Secure Boot
        # image with enrolled keys, which refuses unsigned boot loaders;
        # nova boots plain UEFI unless asked for Secure Boot.
        firmware = _sub(os_element, 'firmware')
        _sub(firmware, 'feature', enabled='no', name='secure-boot')
        _sub(firmware, 'feature', enabled='no', name='enrolled-keys')
    _sub(os_element, 'boot', dev='hd')
    if config.firmware != 'efi':
        # SeaBIOS messages on the serial console: a guest that fails to
        # boot still leaves something in its console log.
        _sub(os_element, 'bios', useserial='yes')
    features = _sub(domain, 'features')
    # acpi: without it the guest never sees the power button, so clean
    # shutdown and soft reboot cannot work.
    _sub(features, 'acpi')
    _sub(features, 'apic')
    if config.windows:
        # What nova's libvirt driver gives Windows guests: Hyper-V
        # enlightenments that keep them from spinning on idle vCPUs.
        hyperv = _sub(features, 'hyperv')
        _sub(hyperv, 'relaxed', state='on')
        _sub(hyperv, 'vapic', state='on')
        _sub(hyperv, 'spinlocks', state='on', retries=8191)


def _cpu(domain, cpu):
    if cpu is None:
        return
    element = _sub(domain, 'cpu', mode=cpu.mode)
    if cpu.mode == 'custom':
        # forbid: a model the host cannot run fails the start instead of
        # silently becoming another one.
        _sub(element, 'model', cpu.model, fallback='forbid')
    _sub(element, 'topology', sockets=cpu.sockets,
         cores=cpu.cores, threads=cpu.threads)


def _rng(devices, rng):
    if rng is None:
        return
    element = _sub(devices, 'rng', model=rng.model)
    if rng.rate_bytes:
        _sub(element, 'rate', bytes=rng.rate_bytes,
             period=rng.rate_period or None)
    _sub(element, 'backend', '/dev/urandom', model='random')


def _guest_agent(devices):
    # No source path: libvirt makes one per domain under its own state
    # directory, which works for remote hosts too.
    channel = _sub(devices, 'channel', type='unix')
    _sub(channel, 'target', type='virtio', name=GUEST_AGENT_CHANNEL)


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
    _cpu(domain, config.cpu)
    # Windows keeps its clock in local time (nova's libvirt driver too).
    _sub(domain, 'clock', offset='localtime' if config.windows else 'utc')
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
    _sub(video, 'model', type=config.video_model)
    _sub(devices, 'input', type='tablet', bus='usb')
    _rng(devices, config.rng)
    if config.guest_agent:
        _guest_agent(devices)
    return domain


def domain_xml(config):
    return etree.tostring(domain_element(config), encoding='unicode')


def uses_nvram(domain_xml_text):
    """Whether a definition has UEFI variables libvirt must remove too."""
    root = etree.fromstring(domain_xml_text)
    return (root.find('os/nvram') is not None or
            root.find('os').get('firmware') == 'efi')


class DomainCapabilities(object):
    """What a host's qemu offers for one machine type (virConnect-
    GetDomainCapabilities), in the terms the guest settings need."""

    def __init__(self, xml_text):
        self.root = etree.fromstring(xml_text)

    def _values(self, path):
        element = self.root.find(path)
        if element is None:
            return []
        return [v.text for v in element.findall('value')]

    @property
    def machine(self):
        """The canonical machine type (``pc`` -> ``pc-i440fx-7.2``)."""
        return self.root.findtext('machine')

    @property
    def firmwares(self):
        return self._values("os/enum[@name='firmware']")

    @property
    def disk_buses(self):
        return self._values("devices/disk/enum[@name='bus']")

    @property
    def video_models(self):
        return self._values("devices/video/enum[@name='modelType']")

    @property
    def rng_models(self):
        return self._values("devices/rng/enum[@name='model']")

    def cpu_mode_supported(self, mode):
        element = self.root.find("cpu/mode[@name='%s']" % mode)
        return element is not None and element.get('supported') == 'yes'

    def cpu_models(self, usable_only=True):
        return [m.text for m in self.root.findall("cpu/mode[@name='custom']"
                                                  "/model")
                if not usable_only or m.get('usable') != 'no']


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


def disk_sources(domain_xml_text):
    """Files and devices of a definition's disks."""
    root = etree.fromstring(domain_xml_text)
    found = []
    for source in root.findall('devices/disk/source'):
        path = source.get('file') or source.get('dev')
        if path:
            found.append(path)
    return found


def serial_log_path(domain_xml_text):
    """The file a domain's serial console writes to, or None."""
    root = etree.fromstring(domain_xml_text)
    for serial in root.findall('devices/serial'):
        log = serial.find('log')
        if log is not None and log.get('file'):
            return log.get('file')
        source = serial.find('source')
        if serial.get('type') == 'file' and source is not None:
            return source.get('path')
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


def disk_backing_file(domain_xml_text, source_path):
    """The file backing the domain's disk at source_path, or None.

    A running domain's definition lists each disk's backing chain
    (``<backingStore>``); an empty element or none means standalone.
    """
    for disk in etree.fromstring(domain_xml_text).findall('devices/disk'):
        source = disk.find('source')
        if source is None or source.get('file') != source_path:
            continue
        backing = disk.find('backingStore/source')
        return backing.get('file') if backing is not None else None
    return None


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
