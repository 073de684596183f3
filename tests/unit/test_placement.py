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


SD_UUID = 'c3a5d1a4-0000-4000-8000-0000000005d0'
NODE1 = 'c3a5d1a4-0000-4000-8000-000000000001'
NODE2 = 'c3a5d1a4-0000-4000-8000-000000000002'


def storage(total=500, reserved=70):
    return placement.SharedStorage(
        uuid=SD_UUID, name='ovirt-storage-domain-%s' % SD_UUID,
        aggregate=SD_UUID,
        hardware={orc.DISK_GB: {'total': total, 'max_unit': total,
                                'reserved': reserved}})


class SharedStorageTestCase(testtools.TestCase):
    """A storage domain of two clusters is offered once."""

    def subtree(self, name, uuid, aggregates=()):
        # What nova 34's resource tracker hands the driver: the node's
        # own subtree, without the sharing providers placement knows.
        tree = provider_tree.ProviderTree()
        tree.new_root(name, uuid)
        tree.update_aggregates(name, list(aggregates))
        return tree.subtree(uuid)

    def test_sharing_provider_added_as_a_root_with_the_node_in_its_aggregate(
            self):
        tree = self.subtree('cluster1', NODE1, ['host-aggregate'])
        placement.update_shared_providers(tree, 'cluster1', [storage()])
        placement.update_provider_tree(
            tree, 'cluster1', {orc.VCPU: {'total': 4, 'max_unit': 4}}, set())
        self.assertEqual({NODE1, SD_UUID}, set(tree.get_provider_uuids()))
        shared = tree.data(SD_UUID)
        self.assertIsNone(shared.parent_uuid)
        self.assertEqual({'MISC_SHARES_VIA_AGGREGATE'}, set(shared.traits))
        self.assertEqual({SD_UUID}, set(shared.aggregates))
        self.assertEqual(500, shared.inventory[orc.DISK_GB]['total'])
        # The storage's reservation, not nova's per-host reserved disk.
        self.assertEqual(70, shared.inventory[orc.DISK_GB]['reserved'])
        node = tree.data('cluster1')
        self.assertEqual({'host-aggregate', SD_UUID}, set(node.aggregates))
        self.assertNotIn(orc.DISK_GB, node.inventory)
        self.assertTrue(tree.has_sharing_provider(orc.DISK_GB))

    def test_two_nodes_report_the_same_provider_once(self):
        # Whatever node reports it, the provider and its inventory are the
        # same: one DISK_GB record for the whole domain.
        results = []
        for name, uuid in (('cluster1', NODE1), ('cluster2', NODE2)):
            tree = self.subtree(name, uuid)
            placement.update_shared_providers(tree, name, [storage()])
            results.append(tree.data(SD_UUID).inventory)
        self.assertEqual(results[0], results[1])

    def test_reshape_moves_disk_allocations_to_the_sharing_provider(self):
        tree = self.subtree('cluster1', NODE1)
        tree.update_inventory('cluster1', {
            orc.DISK_GB: {'total': 500}, orc.VCPU: {'total': 4}})
        hardware = {orc.VCPU: {'total': 4, 'max_unit': 4}}
        self.assertTrue(placement.needs_reshape(tree, 'cluster1', hardware,
                                                [storage()]))
        allocations = {
            'inst1': {'allocations': {NODE1: {'resources': {
                orc.VCPU: 1, orc.DISK_GB: 10}}}},
            'inst2': {'allocations': {NODE1: {'resources': {
                orc.DISK_GB: 5}}}},
        }
        placement.move_allocations(allocations, NODE1, hardware,
                                   [storage()])
        self.assertEqual(
            {NODE1: {'resources': {orc.VCPU: 1}},
             SD_UUID: {'resources': {orc.DISK_GB: 10}}},
            allocations['inst1']['allocations'])
        self.assertEqual({SD_UUID: {'resources': {orc.DISK_GB: 5}}},
                         allocations['inst2']['allocations'])

    def test_no_reshape_for_nodes_with_their_own_disk(self):
        tree = self.subtree('node1', NODE1)
        tree.update_inventory('node1', {orc.DISK_GB: {'total': 50}})
        self.assertFalse(placement.needs_reshape(
            tree, 'node1', {orc.DISK_GB: {'total': 50, 'max_unit': 50}},
            []))
