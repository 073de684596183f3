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

import contextlib
import io
import os

from nova_ovirt.cmd import manage
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


class MaintenanceCommandTest(base.TestCase):
    """nova-ovirt-manage host ...; the test driver keeps no state between
    connections, so only the command's own answers are checked here (the
    functional tests check the mark's effect through nova)."""

    def run_main(self, *args):
        path = os.path.join(self.tmp, 'nova.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nhost = c1\n[ovirt]\npools = kvm\n'
                    '[ovirt_pool:kvm]\nbackend = libvirt\n'
                    'storage_pool_path = /nova-ovirt-pool\n'
                    'uris = n1=%s\n' % self.private_uri('h1'))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            try:
                code = manage.main(['--config-file', path] + list(args))
            except SystemExit as e:
                code = e.code
        return code, out.getvalue(), err.getvalue()

    def test_on_and_list(self):
        code, out, _err = self.run_main('host', 'maintenance', 'n1', 'on',
                                        '--reason', 'disk swap')
        self.assertEqual(0, code)
        self.assertIn('n1 is in maintenance since', out)
        self.assertIn('disk swap', out)
        code, out, _err = self.run_main('host', 'list')
        self.assertEqual(0, code)
        self.assertIn('n1', out)
        self.assertIn('in service', out)  # a fresh test-driver state

    def test_unknown_node_and_state(self):
        code, _out, err = self.run_main('host', 'maintenance', 'n9', 'on')
        self.assertEqual(2, code)
        self.assertIn('n9', err)
        code, _out, _err = self.run_main('host', 'maintenance', 'n1',
                                         'maybe')
        self.assertEqual(2, code)
