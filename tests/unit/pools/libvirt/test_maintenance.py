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

"""A libvirt host's maintenance mark and the node's inventory."""

from nova_ovirt import exception
from nova_ovirt import placement
from nova_ovirt.pools.libvirt import maintenance
from nova_ovirt.pools.ovirt import pool as ovirt_pool
from tests.unit.pools.libvirt import base


class MaintenanceTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.pool = self.make_pool(['n1=' + self.private_uri('h1')])
        self.host = self.pool.node_host('n1')
        # The test driver keeps its state per connection: mark the host
        # through the connection nova-compute's pool uses.
        self.conn = self.host.connection

    def test_mark_reserves_the_whole_inventory_and_survives_a_reread(self):
        in_service = self.pool.get_inventory('n1')
        self.assertNotIn('reserved', in_service['VCPU'])
        mark = maintenance.enter(self.conn, 'BIOS update', now=1000.0)
        self.assertEqual(maintenance.Maintenance('BIOS update', 1000.0),
                         mark)
        # Entering again keeps the first mark (its time says since when).
        self.assertEqual(mark, maintenance.enter(self.conn, 'other'))
        self.assertEqual(mark, maintenance.read(self.conn))

        out = self.pool.get_inventory('n1')
        inventory = placement.build_inventory(out, {})
        for rc in ('VCPU', 'MEMORY_MB', 'DISK_GB'):
            self.assertEqual(in_service[rc]['total'], inventory[rc]['total'])
            self.assertEqual(inventory[rc]['total'],
                             inventory[rc]['reserved'], rc)

        self.assertTrue(maintenance.leave(self.conn))
        self.assertFalse(maintenance.leave(self.conn))
        self.assertIsNone(maintenance.read(self.conn))
        self.assertEqual(in_service, self.pool.get_inventory('n1'))

    def test_a_network_without_our_metadata_still_counts(self):
        self.conn.networkDefineXML(
            '<network><name>%s</name></network>' % maintenance.NETWORK_NAME)
        self.assertEqual(maintenance.Maintenance('', 0.0),
                         maintenance.read(self.conn))
        self.assertIn('(no reason given)',
                      maintenance.read(self.conn).describe())

    def test_pool_command_path_names_unknown_nodes(self):
        self.assertRaises(exception.NodeNotFound,
                          self.pool.set_maintenance, 'nope', True)

    def test_ovirt_pools_refuse_with_the_engine_as_the_way(self):
        # The base contract's answer, which oVirt pools keep.
        err = self.assertRaises(
            exception.MaintenanceNotSupported,
            ovirt_pool.OvirtPool.set_maintenance,
            type('P', (), {'name': 'engine1'})(), 'cluster1', True)
        self.assertIn('put the host in maintenance in the engine', str(err))
