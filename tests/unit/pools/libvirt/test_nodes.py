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

import uuid

import testtools

from nova_ovirt import exception
from nova_ovirt.pools.libvirt import nodes
from tests.unit.pools.libvirt import base


class ParseNodesTest(testtools.TestCase):

    def parse(self, *uris, host='compute1'):
        return nodes.parse_nodes('ovirt_pool:p', 'uris', list(uris), host)

    def test_node_named_after_uri_host(self):
        [node] = self.parse('qemu+tls://kvm1.example.com/system')
        self.assertEqual('kvm1.example.com', node.name)

    def test_local_uri_takes_compute_host(self):
        [node] = self.parse('qemu:///system')
        self.assertEqual('compute1', node.name)

    def test_socket_query_is_not_a_node_name(self):
        uri = 'qemu:///system?socket=/run/h1/libvirt-sock'
        [node] = self.parse(uri)
        self.assertEqual(('compute1', uri), (node.name, node.uri))

    def test_explicit_name(self):
        uri = 'qemu:///system?socket=/run/h1/libvirt-sock'
        [node] = self.parse('h1=' + uri)
        self.assertEqual(('h1', uri), (node.name, node.uri))

    def test_uuid_is_uuid5_of_uri_and_stable(self):
        [a] = self.parse('kvm=qemu+ssh://root@kvm1/system')
        [b] = self.parse('other=qemu+ssh://root@kvm1/system')
        self.assertEqual(a.uuid, b.uuid)
        self.assertEqual(str(uuid.uuid5(nodes.NODE_NAMESPACE,
                                        'qemu+ssh://root@kvm1/system')),
                         a.uuid)

    def test_different_uris_different_uuids(self):
        a, b = self.parse('qemu+tls://kvm1/system', 'qemu+tls://kvm2/system')
        self.assertNotEqual(a.uuid, b.uuid)

    def test_duplicate_node_names_rejected(self):
        e = self.assertRaises(exception.PoolConfigError, self.parse,
                              'qemu:///system',
                              'qemu:///system?socket=/run/h2/sock')
        self.assertIn('[ovirt_pool:p] uris', str(e))
        self.assertIn("'compute1'", str(e))

    def test_duplicate_uri_rejected(self):
        self.assertRaises(exception.PoolConfigError, self.parse,
                          'a=qemu+tls://kvm1/system',
                          'b=qemu+tls://kvm1/system')

    def test_unparsable_uri_rejected(self):
        for bad in ('kvm1', 'qemu:/system', 'qemu+tls://kvm1:notaport/x',
                    '://kvm1'):
            e = self.assertRaises(exception.PoolConfigError, self.parse, bad)
            self.assertIn('uris', str(e))

    def test_empty_list_rejected(self):
        self.assertRaises(exception.PoolConfigError, self.parse)


class PoolConfigTest(base.TestCase):

    def test_bad_uri_stops_pool_init(self):
        e = self.assertRaises(exception.PoolConfigError, self.make_pool,
                              ['not a uri'], start=False)
        self.assertEqual(('ovirt_pool:p', 'uris'), (e.group, e.option))

    def test_duplicate_names_stop_pool_init(self):
        self.assertRaises(exception.PoolConfigError, self.make_pool,
                          ['n=test:///default', 'n=test:///tmp/x.xml'],
                          start=False)

    def test_nodes(self):
        pool = self.make_pool(['a=test:///default',
                               'qemu+tls://kvm2/system'], start=False)
        self.assertEqual({'a': nodes.node_uuid('test:///default'),
                          'kvm2': nodes.node_uuid('qemu+tls://kvm2/system')},
                         pool.nodes())
