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

"""Guests as the image configures them, on real qemu: UEFI, q35, agent."""

import os
from xml.etree import ElementTree as etree

import libvirt

from tests.fixtures import guest_image
from tests.live import base

IMAGE_UEFI = '0b6c2c55-2a3e-4e41-9b54-7d1c0f0a1c03'
UEFI_PROPERTIES = {'hw_firmware_type': 'uefi', 'hw_machine_type': 'q35',
                   'hw_qemu_guest_agent': 'yes', 'hw_video_model': 'virtio'}


class UefiGuestTest(base.LiveTestCase):

    def setUp(self):
        super().setUp()
        base.LocalGlanceAPI.add(IMAGE_UEFI, guest_image.build_guest_image(
            fmt='qcow2', firmware='uefi'), 'qcow2')
        base.LocalGlanceAPI.images[IMAGE_UEFI]['properties'] = dict(
            UEFI_PROPERTIES)
        self.addCleanup(base.LocalGlanceAPI.images.pop, IMAGE_UEFI)

    def _xml(self, instance, flags=libvirt.VIR_DOMAIN_XML_INACTIVE):
        conn = self.host_of_node[instance.node].conn()
        try:
            return etree.fromstring(conn.lookupByUUIDString(
                instance.uuid).XMLDesc(flags))
        finally:
            conn.close()

    def _host_path(self, instance, path):
        """Where a path inside the test libvirtd's namespace is here."""
        host = self.host_of_node[instance.node]
        prefix = '/var/lib/libvirt/'
        self.assertTrue(path.startswith(prefix), path)
        return os.path.join(host.dir, 'lib', path[len(prefix):])

    def test_uefi_q35_guest_boots_and_leaves_no_nvram(self):
        # 256 MiB: with 128, OVMF leaves syslinux.efi no room for the
        # kernel ("Failed to allocate memory for kernel image").
        instance = self.make_instance(node='node1', image_id=IMAGE_UEFI,
                                      memory_mb=256)
        self.spawn(instance, image_id=IMAGE_UEFI)
        boot = self.wait_for_boot(instance)
        self.addDetail('uefi boot seconds', base.content.text_content(
            '%s: %.1f s' % (self.hosts.domain_type, boot)))

        domain = self._xml(instance)
        self.assertEqual('efi', domain.find('os').get('firmware'))
        self.assertIn('q35', domain.find('os/type').get('machine'))
        # libvirt fills in the firmware it chose when the guest starts.
        nvram = self._xml(instance, 0).findtext('os/nvram')
        self.assertTrue(nvram, 'libvirt gave the UEFI guest no NVRAM file')
        nvram = self._host_path(instance, nvram)
        self.assertTrue(os.path.exists(nvram), nvram)
        self.assertEqual('host-model', domain.find('cpu').get('mode'))
        self.assertEqual(
            ['org.qemu.guest_agent.0'],
            [c.find('target').get('name')
             for c in domain.findall('devices/channel')])
        self.assertEqual('virtio',
                         domain.find('devices/video/model').get('type'))
        # q35 has no IDE: the disk stays virtio, nothing on an IDE bus.
        self.assertEqual([], domain.findall("devices/disk/target[@bus='ide']"))

        # A hard reboot redefines the guest from the instance: it must
        # come back as UEFI (the settings live in the instance).
        self.driver.reboot(self.context, instance, [], 'HARD')
        self.wait_for_boot(instance)
        self.assertEqual('efi',
                         self._xml(instance).find('os').get(
                             'firmware'))

        self.driver.destroy(self.context, instance, [])
        self.assertEqual([], self.domains('node1'))
        self.assertFalse(os.path.exists(nvram),
                         'the NVRAM file %s outlived its guest' % nvram)

    def test_bios_image_does_not_boot_as_uefi_by_accident(self):
        # The default guest stays BIOS with SeaBIOS on the serial console.
        instance = self.make_instance(node='node2')
        self.spawn(instance)
        self.wait_for_boot(instance)
        domain = self._xml(instance)
        self.assertIsNone(domain.find('os').get('firmware'))
        self.assertEqual('yes', domain.find('os/bios').get('useserial'))
