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

"""Guests as users configure them, through the Nova REST API.

Settings a libvirt host cannot honour fail the boot with a fault naming
the property and leave nothing behind; settings it can honour show in the
real domain; the rescue password reaches the rescue system's config
drive.
"""

import json
import os
import subprocess
from xml.etree import ElementTree as etree

import libvirt
from ovirtsdk4 import types

from tests import base
from tests.functional import base as fbase
from tests.functional import ovirt_base

IMAGE_LXC_BUS = '6b1a9c8e-5f0e-4c2a-9a43-0e9d2c1f7a21'
IMAGE_Q35 = '6b1a9c8e-5f0e-4c2a-9a43-0e9d2c1f7a22'
IMAGE_UEFI = '6b1a9c8e-5f0e-4c2a-9a43-0e9d2c1f7a23'


class GuestConfigTest(fbase.OvirtFunctionalTestBase):

    def _image(self, image_id, **properties):
        self.glance.set_image_data(image_id, base.guest_image(),
                                   name='guest-%s' % image_id[-2:],
                                   **properties)

    def _flavor_with_specs(self, flavor_id, specs):
        self._create_flavor(id=flavor_id, name=flavor_id, memory_mb=128,
                            vcpu=2, disk=1, ephemeral=0)
        admin = self.api_fixture.admin_api
        # nova-api validates hw: extra specs from 2.86 on against the
        # validators installed with it; nova_ovirt.extra_specs declares
        # these through its entry point once nova-ovirt is installed next
        # to nova-api. 2.85 keeps this test independent of that install.
        admin.microversion = '2.85'
        try:
            admin.post_extra_spec(flavor_id, {'extra_specs': specs})
        finally:
            admin.microversion = self.microversion
        self.flavors = {f['id']: f for f in admin.get_flavors()}

    def assertBootRefused(self, server, needle):
        server = self._wait_for_state_change(server, 'ERROR')
        fault = server.get('fault') or {}
        self.assertIn(needle, fault.get('message', ''))
        # Nothing is left: no domain, no volume, no allocation.
        self.assertNoDomain(server['id'])
        for host in self.hosts.hosts:
            self.assertEqual(
                [], [v for v in host.volume_names() if server['id'] in v],
                'volumes of %s left on %s' % (server['id'], host.name))
        self.assertEqual({}, self._get_allocations_by_server_uuid(
            server['id']))
        return fault

    def test_unsupported_disk_bus_fails_with_fault_naming_it(self):
        self._image(IMAGE_LXC_BUS, hw_disk_bus='lxc')
        server = self._create_server(
            image_uuid=IMAGE_LXC_BUS, flavor_id='ovirt-tiny',
            networks='none', expected_state='ERROR')
        fault = self.assertBootRefused(server, 'hw_disk_bus=lxc')
        self.assertIn('is not supported on node', fault['message'])
        self.assertNoUsage()

    def test_cpu_model_the_host_cannot_run_fails_with_fault(self):
        # An Intel server model: the TCG or AMD EPYC hosts of CI cannot
        # run it with all its features (libvirt says usable='no').
        self._flavor_with_specs('ovirt-skylake', {
            'hw:cpu_mode': 'custom', 'hw:cpu_model': 'Skylake-Server'})
        server = self._create_server(
            image_uuid=base.GUEST_IMAGE_ID, flavor_id='ovirt-skylake',
            networks='none', expected_state='ERROR')
        self.assertBootRefused(server, 'hw:cpu_model=Skylake-Server')
        self.assertNoUsage()

    def test_q35_topology_and_agent_reach_the_domain(self):
        self._image(IMAGE_Q35, hw_machine_type='q35',
                    hw_qemu_guest_agent='yes', hw_video_model='virtio')
        self._flavor_with_specs('ovirt-2x1', {'hw:cpu_sockets': '1',
                                              'hw:cpu_cores': '2'})
        server = self._create_server(
            image_uuid=IMAGE_Q35, flavor_id='ovirt-2x1', networks='none')
        server = self._refresh(server)
        self.assertGuestBooted(server)
        root = etree.fromstring(self.domain(server).xml(
            libvirt.VIR_DOMAIN_XML_INACTIVE))
        self.assertIn('q35', root.find('os/type').get('machine'))
        self.assertEqual({'sockets': '1', 'dies': '1', 'cores': '2',
                          'threads': '1'},
                         dict(root.find('cpu/topology').attrib))
        self.assertEqual('host-model', root.find('cpu').get('mode'))
        self.assertEqual(['org.qemu.guest_agent.0'],
                         [c.find('target').get('name')
                          for c in root.findall('devices/channel')])
        self.assertEqual('virtio',
                         root.find('devices/video/model').get('type'))
        self._delete_and_check(server)
        self.assertNoUsage()

    def _config_drive_file(self, server, suffix):
        paths = [p for p in self.disk_paths(server) if p.endswith(suffix)]
        self.assertEqual(1, len(paths), self.disk_paths(server))
        return paths[0]

    def test_rescue_password_reaches_the_rescue_config_drive(self):
        server = self._boot(networks='none')
        self.api.post_server_action(
            server['id'], {'rescue': {'adminPass': 'rescue-Secret-1'}})
        server = self._wait_for_state_change(server, 'RESCUE')
        drive = self._config_drive_file(server, '_disk.config.rescue')
        # What cloud-init in the rescue system reads: the config drive's
        # OpenStack metadata, with the rescue password as admin_pass.
        meta = json.loads(subprocess.run(
            ['isoinfo', '-R', '-i', drive, '-x',
             '/openstack/latest/meta_data.json'], capture_output=True,
            check=True).stdout)
        self.assertEqual('rescue-Secret-1', meta['admin_pass'])
        self.assertEqual(server['id'], meta['uuid'])
        self.assertGuestBooted(server)

        server = self._unrescue_server(server)
        self.assertFalse(os.path.exists(drive),
                         'the rescue config drive outlived the rescue')
        self._delete_and_check(server)
        self.assertNoUsage()


class OvirtGuestConfigTest(ovirt_base.OvirtPoolFunctionalTestBase):
    """The same settings on an oVirt pool (engine simulator, real SDK)."""

    def _boot_image(self, image_id, expected_state='ACTIVE', **properties):
        self.glance.set_image_data(image_id, base.guest_image(),
                                   name='guest-%s' % image_id[-2:],
                                   **properties)
        server = self._create_server(
            image_uuid=image_id, flavor_id=ovirt_base.E1_SMALL,
            networks='none', expected_state=expected_state)
        return self.admin_api.get_server(server['id'])

    def test_uefi_vm_is_q35_ovmf_with_the_images_devices(self):
        server = self._boot_image(IMAGE_UEFI, hw_firmware_type='uefi',
                                  hw_disk_bus='sata', os_type='linux')
        vm = self.assertVmOnNode(server)
        self.assertEqual(types.BiosType.Q35_OVMF, vm.bios.type)
        self.assertEqual('other_linux', vm.os.type)
        attachments = [self.sim.store.disk_attachments[d]
                       for d in self.sim.store.vm_disk_ids(vm.id)]
        self.assertEqual([types.DiskInterface.SATA],
                         [a.interface for a in attachments])
        self._delete_ovirt(server)
        self.assertNoUsage()

    def test_uefi_on_a_cluster_below_4_4_fails_with_fault(self):
        with self.sim.store.lock:
            for cluster in self.sim.store.clusters.values():
                cluster.version = types.Version(major=4, minor=3)
        disks = self.sim_disk_ids()
        server = self._boot_image(IMAGE_UEFI, expected_state='ERROR',
                                  hw_firmware_type='uefi')
        message = server['fault']['message']
        self.assertIn('hw_firmware_type=uefi', message)
        self.assertIn('compatibility level 4.3', message)
        self.assertNoVm(server['id'])
        # Refused before the image was uploaded: no template, no disk.
        self.assertIsNone(self.sim_template(IMAGE_UEFI))
        self.assertEqual(disks, self.sim_disk_ids())
        self.assertEqual({}, self._get_allocations_by_server_uuid(
            server['id']))
        self.assertNoUsage()
