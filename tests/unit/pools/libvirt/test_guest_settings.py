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

"""Flavor extra specs and image properties in libvirt domain XML.

Against the domain capabilities Debian's qemu 7.2 reported for TCG guests
(``data/``, captured from a real libvirtd 9.0), and through the pool on
libvirt's test driver, which describes no capabilities.
"""

import os
from xml.etree import ElementTree as etree

from oslo_config import fixture as config_fixture
import testtools

import nova.conf
from nova import objects
from nova import utils as nova_utils

from nova_ovirt import guest_config
from nova_ovirt.pools.libvirt import config
from nova_ovirt.pools.libvirt import guest_settings
from tests.unit.pools.libvirt import base

objects.register_all()

DATA = os.path.join(os.path.dirname(__file__), 'data')
Unsupported = guest_config.UnsupportedGuestProperty


def caps(machine='pc'):
    with open(os.path.join(DATA, 'domcaps-%s-qemu.xml' % machine)) as f:
        return config.DomainCapabilities(f.read())


def flavor(vcpus=4, **extra_specs):
    return objects.Flavor(name='f', memory_mb=128, vcpus=vcpus, root_gb=1,
                          ephemeral_gb=0, swap=0, extra_specs=extra_specs)


def image(**properties):
    return objects.ImageMeta.from_dict({'properties': properties})


def resolve(specs=None, props=None, machine=None, domcaps='default',
            domain_type='qemu', vcpus=4):
    settings = guest_config.read(flavor(vcpus, **(specs or {})),
                                 image(**(props or {})), 'node1')
    machine = settings.machine_type or 'pc'
    if domcaps == 'default':
        domcaps = caps('q35' if 'q35' in machine else 'pc')
    return guest_settings.resolve_with(settings, domcaps, machine,
                                       domain_type, 'node1')


def domain(guest, vcpus=4, disks=()):
    xml = config.domain_xml(config.GuestConfig(
        uuid=base.IMAGE_ID, name='g', memory_mib=128, vcpus=vcpus,
        domain_type='qemu', disks=disks, machine=guest.machine,
        cpu=guest.cpu, firmware=guest.firmware,
        video_model=guest.video_model, rng=guest.rng,
        guest_agent=guest.guest_agent, windows=guest.windows))
    return etree.fromstring(xml)


class DomainCapabilitiesTest(testtools.TestCase):

    def test_reads_what_qemu_offers(self):
        pc, q35 = caps('pc'), caps('q35')
        self.assertEqual('pc-i440fx-7.2', pc.machine)
        self.assertEqual(['efi'], pc.firmwares)
        self.assertIn('ide', pc.disk_buses)
        self.assertNotIn('ide', q35.disk_buses)
        self.assertIn('virtio', pc.video_models)
        self.assertEqual(['virtio', 'virtio-transitional',
                          'virtio-non-transitional'], pc.rng_models)
        self.assertTrue(pc.cpu_mode_supported('host-model'))
        # TCG cannot pass the host CPU through.
        self.assertFalse(pc.cpu_mode_supported('host-passthrough'))
        self.assertIn('qemu64', pc.cpu_models())
        self.assertNotIn('Skylake-Server', pc.cpu_models())
        self.assertIn('Skylake-Server', pc.cpu_models(usable_only=False))


class CpuTest(testtools.TestCase):

    def test_default_is_host_model_with_topology_from_nova(self):
        guest = resolve({'hw:cpu_sockets': '2', 'hw:cpu_cores': '2'})
        cpu = domain(guest).find('cpu')
        self.assertEqual('host-model', cpu.get('mode'))
        self.assertEqual({'sockets': '2', 'cores': '2', 'threads': '1'},
                         cpu.find('topology').attrib)

    def test_image_topology_limits_apply(self):
        guest = resolve(props={'hw_cpu_max_sockets': 1}, vcpus=2)
        self.assertEqual((1, 2, 1), (guest.cpu.sockets, guest.cpu.cores,
                                     guest.cpu.threads))

    def test_impossible_topology_names_the_properties(self):
        # nova's rule: an image may not ask beyond the flavor's maximum.
        e = self.assertRaises(Unsupported, resolve,
                              {'hw:cpu_max_sockets': '1'},
                              {'hw_cpu_sockets': 2}, vcpus=4)
        self.assertIn('hw:cpu_sockets/cores/threads', str(e))

    def test_custom_model(self):
        guest = resolve({'hw:cpu_model': 'Westmere'})
        cpu = domain(guest).find('cpu')
        self.assertEqual('custom', cpu.get('mode'))
        self.assertEqual('Westmere', cpu.findtext('model'))
        self.assertEqual('forbid', cpu.find('model').get('fallback'))

    def test_model_the_host_cannot_run_is_refused(self):
        e = self.assertRaises(Unsupported, resolve,
                              {'hw:cpu_mode': 'custom',
                               'hw:cpu_model': 'Skylake-Server'})
        self.assertIn('hw:cpu_model=Skylake-Server', str(e))
        self.assertIn('node1', str(e))

    def test_passthrough_under_tcg_is_refused(self):
        e = self.assertRaises(Unsupported, resolve,
                              {'hw:cpu_mode': 'host-passthrough'})
        self.assertIn('hw:cpu_mode=host-passthrough', str(e))

    def test_host_model_impossible_falls_back_to_qemus_model(self):
        domcaps = caps()
        domcaps.root.find("cpu/mode[@name='host-model']").set('supported',
                                                              'no')
        guest = resolve(domcaps=domcaps)
        cpu = domain(guest).find('cpu')
        self.assertIsNone(cpu.get('mode'))
        self.assertIsNotNone(cpu.find('topology'))

    def test_none_mode_keeps_only_topology(self):
        cpu = domain(resolve({'hw:cpu_mode': 'none'})).find('cpu')
        self.assertIsNone(cpu.get('mode'))
        self.assertIsNone(cpu.find('model'))

    def test_bad_mode_and_model_without_custom(self):
        self.assertIn('hw:cpu_mode=fastest', str(self.assertRaises(
            Unsupported, resolve, {'hw:cpu_mode': 'fastest'})))
        self.assertIn('hw:cpu_model=Westmere', str(self.assertRaises(
            Unsupported, resolve, {'hw:cpu_mode': 'host-model',
                                   'hw:cpu_model': 'Westmere'})))
        self.assertIn('hw:cpu_mode=custom', str(self.assertRaises(
            Unsupported, resolve, {'hw:cpu_mode': 'custom'})))


class MachineAndFirmwareTest(testtools.TestCase):

    def test_default_machine_is_pc_bios_with_serial_seabios(self):
        root = domain(resolve())
        self.assertEqual('pc', root.find('os/type').get('machine'))
        self.assertIsNone(root.find('os').get('firmware'))
        self.assertEqual('yes', root.find('os/bios').get('useserial'))

    def test_configured_default_machine(self):
        flags = self.useFixture(config_fixture.Config(nova.conf.CONF))
        flags.config(hw_machine_type=['aarch64=virt', 'x86_64=q35'],
                     group='libvirt')
        self.assertEqual('q35', guest_config.default_machine_type())

    def test_uefi_on_q35_without_secure_boot(self):
        root = domain(resolve(props={'hw_firmware_type': 'uefi',
                                     'hw_machine_type': 'q35'}))
        self.assertEqual('efi', root.find('os').get('firmware'))
        self.assertEqual('q35', root.find('os/type').get('machine'))
        self.assertEqual(
            {'secure-boot': 'no', 'enrolled-keys': 'no'},
            {f.get('name'): f.get('enabled')
             for f in root.findall('os/firmware/feature')})
        self.assertIsNone(root.find('os/bios'))

    def test_uefi_without_ovmf_is_refused(self):
        domcaps = caps()
        firmware = domcaps.root.find("os/enum[@name='firmware']")
        for value in list(firmware):
            firmware.remove(value)
        e = self.assertRaises(Unsupported, resolve,
                              props={'hw_firmware_type': 'uefi'},
                              domcaps=domcaps)
        self.assertIn('hw_firmware_type=uefi', str(e))
        self.assertIn('ovmf', str(e))


class DevicesTest(testtools.TestCase):

    def test_disk_buses_and_targets(self):
        guest = resolve(props={'hw_disk_bus': 'scsi'})
        self.assertEqual(('scsi', 'ide'), (guest.disk_bus, guest.cdrom_bus))
        self.assertEqual(['sda', 'sdb', 'hda'],
                         guest_settings.disk_targets(['scsi', 'scsi',
                                                      'ide']))

    def test_q35_config_drive_is_sata(self):
        guest = resolve(props={'hw_machine_type': 'q35'})
        self.assertEqual(('virtio', 'sata'),
                         (guest.disk_bus, guest.cdrom_bus))

    def test_ide_on_q35_is_refused(self):
        e = self.assertRaises(Unsupported, resolve,
                              props={'hw_machine_type': 'q35',
                                     'hw_disk_bus': 'ide'})
        self.assertIn('hw_disk_bus=ide', str(e))
        self.assertIn('q35', str(e))

    def test_lxc_disk_bus_is_refused(self):
        e = self.assertRaises(Unsupported, resolve,
                              props={'hw_disk_bus': 'lxc'})
        self.assertIn('hw_disk_bus=lxc', str(e))

    def test_video_models(self):
        root = domain(resolve(props={'hw_video_model': 'virtio'}))
        self.assertEqual('virtio', root.find('devices/video/model').get(
            'type'))
        self.assertIn('hw_video_model=gop', str(self.assertRaises(
            Unsupported, resolve, props={'hw_video_model': 'gop'})))

    def test_vif_models(self):
        self.assertEqual('e1000', resolve(
            props={'hw_vif_model': 'e1000'}).vif_model)
        self.assertIn('hw_vif_model=netfront', str(self.assertRaises(
            Unsupported, resolve, props={'hw_vif_model': 'netfront'})))

    def test_rng_unless_the_flavor_forbids_it(self):
        props = {'hw_rng_model': 'virtio'}
        self.assertIsNone(domain(resolve({'hw_rng:allowed': 'False'},
                                         props=props)).find('devices/rng'))
        self.assertIsNone(domain(resolve()).find('devices/rng'))
        rng = domain(resolve({'hw_rng:rate_bytes': '1024',
                              'hw_rng:rate_period': '1000'},
                             props=props)).find('devices/rng')
        self.assertEqual('virtio', rng.get('model'))
        self.assertEqual('/dev/urandom', rng.findtext('backend'))
        self.assertEqual({'bytes': '1024', 'period': '1000'},
                         rng.find('rate').attrib)

    def test_guest_agent_channel(self):
        root = domain(resolve(props={'hw_qemu_guest_agent': 'yes'}))
        channel = root.find('devices/channel')
        self.assertEqual('unix', channel.get('type'))
        self.assertEqual('org.qemu.guest_agent.0',
                         channel.find('target').get('name'))
        self.assertIsNone(domain(resolve()).find('devices/channel'))

    def test_windows_gets_local_clock_and_hyperv(self):
        root = domain(resolve(props={'os_type': 'windows'}))
        self.assertEqual('localtime', root.find('clock').get('offset'))
        self.assertIsNotNone(root.find('features/hyperv/relaxed'))
        linux = domain(resolve(props={'os_type': 'linux'}))
        self.assertEqual('utc', linux.find('clock').get('offset'))
        self.assertIsNone(linux.find('features/hyperv'))


class PoolSpawnTest(base.TestCase):
    """Through the pool on the test driver (no domain capabilities)."""

    def setUp(self):
        super().setUp()
        self.pool = self.make_pool(['n1=%s' % self.private_uri()])
        self.host = self.pool.node_host('n1')
        self.seed_base_image(self.host)

    def instance(self, specs=None, props=None):
        instance = self.make_instance('n1', vcpus=2)
        instance.flavor.extra_specs = specs or {}
        instance.system_metadata = nova_utils.get_system_metadata_from_image(
            {'properties': props or {}})
        return instance

    def spawn(self, instance):
        self.pool.spawn(self.context, instance, self.image_meta(), [], None,
                        {}, [], power_on=False)
        dom = self.host.connection.lookupByUUIDString(instance.uuid)
        return etree.fromstring(dom.XMLDesc(0))

    def test_domain_xml_follows_flavor_and_image(self):
        root = self.spawn(self.instance(
            {'hw:cpu_threads': '2'},
            {'hw_disk_bus': 'sata', 'hw_machine_type': 'q35',
             'hw_firmware_type': 'uefi', 'hw_qemu_guest_agent': 'yes'}))
        self.assertEqual('q35', root.find('os/type').get('machine'))
        self.assertEqual('efi', root.find('os').get('firmware'))
        self.assertEqual('2', root.find('cpu/topology').get('threads'))
        self.assertEqual([('sda', 'sata')],
                         [(t.get('dev'), t.get('bus'))
                          for t in root.findall('devices/disk/target')])

    def test_unsupported_property_fails_before_anything_exists(self):
        before = self.host.storage.pool.listVolumes()
        instance = self.instance(props={'hw_disk_bus': 'lxc'})
        e = self.assertRaises(Unsupported, self.spawn, instance)
        self.assertIn('hw_disk_bus=lxc is not supported on n1', str(e))
        self.assertIsNone(self.host.find_domain(instance.uuid))
        self.assertEqual(sorted(before),
                         sorted(self.host.storage.pool.listVolumes()))
