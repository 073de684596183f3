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

"""The pool against libvirt's test driver: connections, nodes, ownership."""

import os

import fixtures
import libvirt

from nova import exception as nova_exception

from nova_ovirt.pools.libvirt import errors
from nova_ovirt.pools.libvirt import host as host_mod
from tests.unit.pools.libvirt import base

UNREACHABLE = 'qemu:///system?socket=/nonexistent/nova-ovirt/libvirt-sock'


class ConnectionTest(base.TestCase):

    def test_start_connects_and_creates_storage_pool(self):
        pool = self.make_pool(['n1=' + self.private_uri()])
        self.assertTrue(pool.node_is_available('n1'))
        conn = pool.node_host('n1').connection
        storage_pool = conn.storagePoolLookupByName('nova-ovirt')
        self.assertTrue(storage_pool.isActive())
        self.assertIn('/nova-ovirt-pool', storage_pool.XMLDesc(0))

    def test_existing_storage_pool_is_used(self):
        uri = self.private_uri()
        pool = self.make_pool(['n1=' + uri], storage_pool='default-pool')
        self.assertEqual('default-pool',
                         pool.node_host('n1').storage.pool.name())

    def test_unreachable_uri_at_start_only_makes_node_unavailable(self):
        logger = self.useFixture(fixtures.FakeLogger(level='WARNING'))
        pool = self.make_pool(['n1=' + self.private_uri(),
                               'n2=' + UNREACHABLE])
        self.assertTrue(pool.node_is_available('n1'))
        self.assertFalse(pool.node_is_available('n2'))
        warnings = [line for line in logger.output.splitlines()
                    if UNREACHABLE in line]
        self.assertEqual(1, len(warnings), logger.output)
        self.assertIn('[ovirt_pool:p] uris', warnings[0])
        # nova's resource update logs ComputeHostNotFound as one warning
        e = self.assertRaises(errors.NodeUnavailable,
                              pool.get_available_resource, 'n2')
        self.assertIsInstance(e, nova_exception.ComputeHostNotFound)
        self.assertIn(UNREACHABLE, str(e))
        self.assertEqual([], pool.list_instance_uuids())

    def test_node_becomes_available_once_reachable(self):
        path = os.path.join(self.tmp, 'late.xml')
        pool = self.make_pool(['late=test://' + path])
        self.assertFalse(pool.node_is_available('late'))
        with open(path, 'w') as f:
            f.write(base.NODE_XML)
        self.wait_for(lambda: pool.node_is_available('late'), timeout=10,
                      message='reconnect')
        self.assertEqual('late',
                         pool.get_available_resource('late')[
                             'hypervisor_hostname'])

    def test_reconnects_after_connection_closed(self):
        logger = self.useFixture(fixtures.FakeLogger(level='WARNING'))
        pool = self.make_pool(['n1=' + self.private_uri()])
        host = pool.node_host('n1')
        first = host.connection
        # What libvirt's event thread does when libvirtd goes away.
        host._on_close(None, libvirt.VIR_CONNECT_CLOSE_REASON_EOF, None)
        self.assertFalse(pool.node_is_available('n1'))
        self.wait_for(lambda: host.available and host._conn is not first,
                      message='reconnect')
        self.assertIn('Lost the connection', logger.output)
        self.assertIn('libvirtd closed it', logger.output)
        self.assertTrue(pool.node_is_available('n1'))


class ResourcesTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.uri = self.private_uri()
        self.pool = self.make_pool(['n1=' + self.uri])

    def test_available_resource(self):
        resources = self.pool.get_available_resource('n1')
        self.assertEqual(8, resources['vcpus'])
        self.assertEqual(8192, resources['memory_mb'])
        self.assertEqual(100, resources['local_gb'])
        self.assertEqual('n1', resources['hypervisor_hostname'])
        self.assertEqual(self.pool.nodes()['n1'], resources['uuid'])
        self.assertEqual('QEMU', resources['hypervisor_type'])
        self.assertIsNone(resources['numa_topology'])
        self.assertEqual([('x86_64', 'kvm', 'hvm')],
                         resources['supported_instances'])

    def test_inventory(self):
        self.conf_fixture.config(reserved_host_memory_mb=512)
        inventory = self.pool.get_inventory('n1')
        self.assertEqual({'total': 8, 'max_unit': 8}, inventory['VCPU'])
        self.assertEqual({'total': 8192, 'max_unit': 8192 - 512},
                         inventory['MEMORY_MB'])
        self.assertEqual({'total': 100, 'max_unit': 100},
                         inventory['DISK_GB'])

    def test_qemu_domain_type_reported(self):
        pool = self.make_pool(['n2=' + self.private_uri('h2')], name='q',
                              domain_type='qemu')
        self.assertEqual(
            [('x86_64', 'qemu', 'hvm')],
            pool.get_available_resource('n2')['supported_instances'])


class TransitionTest(base.TestCase):

    def test_lifecycle_mapping(self):
        from nova.virt import event
        cases = [
            (libvirt.VIR_DOMAIN_EVENT_STARTED, 0,
             event.EVENT_LIFECYCLE_STARTED),
            (libvirt.VIR_DOMAIN_EVENT_STOPPED,
             libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN,
             event.EVENT_LIFECYCLE_STOPPED),
            (libvirt.VIR_DOMAIN_EVENT_STOPPED,
             libvirt.VIR_DOMAIN_EVENT_STOPPED_SAVED,
             event.EVENT_LIFECYCLE_SUSPENDED),
            (libvirt.VIR_DOMAIN_EVENT_SUSPENDED, 0,
             event.EVENT_LIFECYCLE_PAUSED),
            (libvirt.VIR_DOMAIN_EVENT_RESUMED, 0,
             event.EVENT_LIFECYCLE_RESUMED),
            (libvirt.VIR_DOMAIN_EVENT_DEFINED, 0, None),
        ]
        for ev, detail, expected in cases:
            self.assertEqual(expected,
                             host_mod.lifecycle_transition(ev, detail))
