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

import os_resource_classes as orc
from oslo_config import fixture as config_fixture
import testtools

import nova.conf
from nova.compute import provider_tree

from nova_ovirt import placement

CONF = nova.conf.CONF


class InventoryTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.flags = self.useFixture(config_fixture.Config(CONF))

    def test_ratios_and_reserved_come_from_nova_config(self):
        self.flags.config(cpu_allocation_ratio=4.0, reserved_host_cpus=2,
                          reserved_host_memory_mb=1024,
                          reserved_host_disk_mb=2048)
        inventory = placement.build_inventory({
            orc.VCPU: {'total': 16, 'max_unit': 8},
            orc.MEMORY_MB: {'total': 65536, 'max_unit': 32768},
            orc.DISK_GB: {'total': 500, 'max_unit': 500},
        }, {})
        self.assertEqual(4.0, inventory[orc.VCPU]['allocation_ratio'])
        self.assertEqual(2, inventory[orc.VCPU]['reserved'])
        self.assertEqual(8, inventory[orc.VCPU]['max_unit'])
        self.assertEqual(1024, inventory[orc.MEMORY_MB]['reserved'])
        self.assertEqual(CONF.initial_ram_allocation_ratio,
                         inventory[orc.MEMORY_MB]['allocation_ratio'])
        self.assertEqual(2, inventory[orc.DISK_GB]['reserved'])

    def test_ratio_set_in_placement_survives_without_config(self):
        inventory = placement.build_inventory(
            {orc.VCPU: {'total': 8, 'max_unit': 8}},
            {orc.VCPU: {'allocation_ratio': 3.0}})
        self.assertEqual(3.0, inventory[orc.VCPU]['allocation_ratio'])

    def test_node_without_capacity_reports_no_record(self):
        # Placement refuses total=0; a cluster in maintenance has none.
        inventory = placement.build_inventory(
            {orc.VCPU: {'total': 0, 'max_unit': 0},
             orc.MEMORY_MB: {'total': 1024, 'max_unit': 1024}}, {})
        self.assertEqual([orc.MEMORY_MB], list(inventory))

    def test_reserved_never_exceeds_total(self):
        self.flags.config(reserved_host_memory_mb=4096)
        inventory = placement.build_inventory(
            {orc.MEMORY_MB: {'total': 2048, 'max_unit': 2048}}, {})
        self.assertEqual(2048, inventory[orc.MEMORY_MB]['reserved'])

    def test_update_provider_tree_keeps_foreign_traits(self):
        tree = provider_tree.ProviderTree()
        tree.new_root('node1', 'c3a5d1a4-0000-4000-8000-000000000001')
        tree.add_traits('node1', 'CUSTOM_SET_BY_OPERATOR', 'COMPUTE_OLD')
        placement.update_provider_tree(
            tree, 'node1', {orc.VCPU: {'total': 4, 'max_unit': 4}},
            {'CUSTOM_OVIRT_POOL_KVM'})
        placement.remove_traits(tree, 'node1', ['COMPUTE_OLD'])
        data = tree.data('node1')
        self.assertEqual({'CUSTOM_SET_BY_OPERATOR', 'CUSTOM_OVIRT_POOL_KVM'},
                         set(data.traits))
        self.assertEqual(4, data.inventory[orc.VCPU]['total'])
