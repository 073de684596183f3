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

"""Flavor extra specs and image properties as the VM the engine gets.

Spawns through the pool against the engine simulator with the real SDK and
reads the VM, its disk attachment and NICs back from the simulator.
"""

from ovirtsdk4 import types

from nova import objects

from nova_ovirt import guest_config
from nova_ovirt.pools.ovirt import cache as vm_cache
from tests.unit.pools.ovirt import base

Unsupported = guest_config.UnsupportedGuestProperty


class GuestSettingsTest(base.SimTestCase):

    def setUp(self):
        super().setUp()
        self.pool = self.make_pool()
        self.pool.poller.stop()
        self.data = base.image_bytes(1)
        self.image_id = self.images.add(self.data)

    def meta(self, **properties):
        return objects.ImageMeta.from_dict({
            'id': self.image_id, 'disk_format': 'raw',
            'container_format': 'bare', 'size': len(self.data),
            'properties': properties})

    def spawn(self, specs=None, vifs=(), vcpus=4, **properties):
        inst = self.instance(vcpus=vcpus)
        inst.flavor.extra_specs = specs or {}
        self.pool.spawn(self.context, inst, self.meta(**properties), [],
                        None, {}, list(vifs), power_on=False)
        return inst

    def sim_vm(self, inst):
        vms = [v for v in self.sim.store.vms.values()
               if v.description == vm_cache.mark(inst.uuid)]
        return vms[0] if vms else None

    def root_attachment(self, vm):
        return self.sim.store.disk_attachments[
            self.sim.store.vm_disk_ids(vm.id)[0]]

    def assertRefused(self, prop_value, specs=None, **properties):
        vms_before = set(self.sim.store.vms)
        e = self.assertRaises(Unsupported, self.spawn, specs, **properties)
        self.assertIn('%s is not supported on cluster1' % prop_value,
                      str(e))
        self.assertEqual(vms_before, set(self.sim.store.vms))
        return e

    def test_cpu_topology_mode_and_model(self):
        vm = self.sim_vm(self.spawn({'hw:cpu_sockets': '2',
                                     'hw:cpu_cores': '2',
                                     'hw:cpu_model': 'Westmere'}))
        topology = vm.cpu.topology
        self.assertEqual((2, 2, 1), (topology.sockets, topology.cores,
                                     topology.threads))
        self.assertEqual(types.CpuMode.CUSTOM, vm.cpu.mode)
        self.assertEqual('Westmere', vm.custom_cpu_model)

    def test_default_cpu_is_the_clusters(self):
        vm = self.sim_vm(self.spawn())
        self.assertIsNone(vm.cpu.mode)
        self.assertIsNone(vm.custom_cpu_model)
        self.assertEqual(4, vm.cpu.topology.sockets)

    def test_host_passthrough(self):
        vm = self.sim_vm(self.spawn({'hw:cpu_mode': 'host-passthrough'}))
        self.assertEqual(types.CpuMode.HOST_PASSTHROUGH, vm.cpu.mode)

    def test_uefi_is_q35_ovmf(self):
        vm = self.sim_vm(self.spawn(hw_firmware_type='uefi'))
        self.assertEqual(types.BiosType.Q35_OVMF, vm.bios.type)
        self.assertIsNone(vm.custom_emulated_machine)

    def test_machine_types(self):
        vm = self.sim_vm(self.spawn(hw_machine_type='q35'))
        self.assertEqual(types.BiosType.Q35_SEA_BIOS, vm.bios.type)
        vm = self.sim_vm(self.spawn(hw_machine_type='pc-i440fx-7.2'))
        self.assertEqual(types.BiosType.I440FX_SEA_BIOS, vm.bios.type)
        self.assertEqual('pc-i440fx-7.2', vm.custom_emulated_machine)
        self.assertRefused('hw_machine_type=virt',
                           hw_machine_type='virt')

    def test_uefi_on_an_old_cluster_is_refused(self):
        cluster = [c for c in self.sim.store.clusters.values()
                   if c.name == 'cluster1'][0]
        cluster.version = types.Version(major=4, minor=3)
        e = self.assertRefused('hw_firmware_type=uefi',
                               hw_firmware_type='uefi')
        self.assertIn('4.3', str(e))

    def test_uefi_on_i440fx_is_refused(self):
        self.assertRefused('hw_machine_type=pc', hw_firmware_type='uefi',
                           hw_machine_type='pc')

    def test_disk_bus(self):
        vm = self.sim_vm(self.spawn(hw_disk_bus='scsi'))
        self.assertEqual(types.DiskInterface.VIRTIO_SCSI,
                         self.root_attachment(vm).interface)
        self.assertTrue(vm.virtio_scsi.enabled)
        vm = self.sim_vm(self.spawn(hw_disk_bus='sata'))
        self.assertEqual(types.DiskInterface.SATA,
                         self.root_attachment(vm).interface)
        self.assertRefused('hw_disk_bus=usb', hw_disk_bus='usb')
        self.assertRefused('hw_disk_bus=ide', hw_disk_bus='ide',
                           hw_machine_type='q35')

    def test_nic_interface(self):
        vif = self.vif()
        vm = self.sim_vm(self.spawn(vifs=[vif], hw_vif_model='e1000'))
        nics = self.sim.store.vm_nics(vm.id)
        self.assertEqual([types.NicInterface.E1000],
                         [n.interface for n in nics])
        self.assertRefused('hw_vif_model=vmxnet3', hw_vif_model='vmxnet3')

    def test_video_is_the_display_protocol(self):
        vm = self.sim_vm(self.spawn(hw_video_model='qxl'))
        self.assertEqual(types.DisplayType.SPICE, vm.display.type)
        self.assertRefused('hw_video_model=virtio',
                           hw_video_model='virtio')

    def test_rng_unless_the_flavor_forbids_it(self):
        vm = self.sim_vm(self.spawn({'hw_rng:allowed': 'false'},
                                    hw_rng_model='virtio'))
        self.assertIsNone(vm.rng_device)
        vm = self.sim_vm(self.spawn({'hw_rng:rate_bytes': '2048'},
                                    hw_rng_model='virtio'))
        self.assertEqual(types.RngSource.URANDOM, vm.rng_device.source)
        self.assertEqual(2048, vm.rng_device.rate.bytes)

    def test_os_type(self):
        vm = self.sim_vm(self.spawn(os_type='windows'))
        self.assertEqual('windows_2019x64', vm.os.type)
        self.assertEqual([types.BootDevice.HD], vm.os.boot.devices)
