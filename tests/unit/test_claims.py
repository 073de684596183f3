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

"""Claims: a cluster or libvirt host is managed by one service only.

Against the engine simulator through the real SDK (the claim lives in the
cluster's comment) and against libvirt's test:///default (an inactive
network's metadata), plus nova-ovirt-manage on both.
"""

import io
import os
import tempfile
import textwrap
import time

import fixtures
import libvirt
import testtools

from nova_ovirt import claims
from nova_ovirt.cmd import manage
from nova_ovirt import exception
from nova_ovirt.pools.libvirt import claims as libvirt_claims
from nova_ovirt.pools.ovirt import claims as cluster_claims

from tests.unit.pools.ovirt import base as ovirt_base


class ClusterClaimsTest(ovirt_base.SimTestCase):

    def pool_as(self, host, start=True, **overrides):
        pool = self.make_pool(start=False, **overrides)
        pool.host = host
        if start:
            pool.start()
            self.addCleanup(pool.stop)
        return pool

    def comment(self, name):
        return {c.name: c for c in self.sim.store.clusters.values()}[
            name].comment

    def test_start_claims_every_cluster_in_the_engine(self):
        self.pool_as('compute-a')
        for name in ('cluster1', 'cluster2'):
            claim = cluster_claims.parse_comment(self.comment(name))
            self.assertEqual('compute-a', claim.host)
            self.assertLess(claim.age(), 60)

    def test_second_service_refuses_a_claimed_cluster(self):
        self.pool_as('compute-a', clusters=['cluster2'])
        second = self.pool_as('compute-b', start=False,
                              clusters=['cluster1', 'cluster2'])
        error = self.assertRaises(exception.PoolConfigError, second.start)
        self.addCleanup(second.stop)
        message = str(error)
        self.assertIn("oVirt cluster 'cluster2' is managed by nova-compute "
                      "service 'compute-a'", message)
        self.assertIn('claim takeover cluster2', message)
        self.assertEqual(1, len(message.splitlines()))
        # Nothing claimed by the refused service, not even cluster1.
        self.assertIsNone(cluster_claims.parse_comment(
            self.comment('cluster1')))

    def test_restart_of_the_same_service_keeps_its_claim(self):
        first = self.pool_as('compute-a', start=True)
        first.stop()
        self.pool_as('compute-a')
        self.assertEqual('compute-a', cluster_claims.parse_comment(
            self.comment('cluster1')).host)

    def test_operator_comment_is_kept(self):
        cluster = [c for c in self.sim.store.clusters.values()
                   if c.name == 'cluster1'][0]
        cluster.comment = 'rack 7, owner: infra team'
        self.pool_as('compute-a')
        comment = self.comment('cluster1')
        self.assertTrue(comment.startswith('rack 7, owner: infra team\n'))
        self.assertEqual('compute-a',
                         cluster_claims.parse_comment(comment).host)

    def test_takeover_of_a_live_claim_needs_force(self):
        self.pool_as('compute-a')
        second = self.pool_as('compute-b', start=False)
        self.assertRaises(exception.ClaimIsLive,
                          second.take_over_claim, 'cluster1')
        second.take_over_claim('cluster1', force=True)
        self.assertEqual('compute-b', second.read_claims()['cluster1'].host)
        self.assertEqual('compute-a', second.read_claims()['cluster2'].host)

    def test_stale_claim_is_refused_at_start_but_taken_over_on_request(self):
        cluster = [c for c in self.sim.store.clusters.values()
                   if c.name == 'cluster1'][0]
        dead = claims.Claim('compute-dead',
                            time.time() - claims.STALE_AFTER - 5)
        cluster.comment = cluster_claims.with_claim(None, dead)
        second = self.pool_as('compute-b', start=False, clusters=['cluster1'])
        error = self.assertRaises(exception.PoolConfigError, second.start)
        self.addCleanup(second.stop)
        self.assertIn("'compute-dead' (stale: heartbeat", str(error))
        second.take_over_claim('cluster1')     # stale: no --force needed
        self.assertEqual('compute-b', second.read_claims()['cluster1'].host)

    def test_heartbeat_refreshes_and_notices_a_handover(self):
        pool = self.pool_as('compute-a', clusters=['cluster1'])
        before = pool.read_claims()['cluster1'].heartbeat
        pool._heartbeats = claims.Heartbeats(clock=lambda: time.monotonic() +
                                             claims.HEARTBEAT_INTERVAL)
        pool.get_available_resource('cluster1')
        self.assertGreater(pool.read_claims()['cluster1'].heartbeat, before)
        other = self.pool_as('compute-b', start=False, clusters=['cluster1'])
        other.take_over_claim('cluster1', force=True)
        pool._heartbeats = claims.Heartbeats()
        self.assertRaises(exception.NodeNotFound,
                          pool.get_available_resource, 'cluster1')
        self.assertFalse(pool.node_is_available('cluster1'))


class LibvirtHostClaimsTest(testtools.TestCase):
    """test:///default keeps one state for all connections of a process."""

    URI = 'test:///default'

    def setUp(self):
        super().setUp()
        self.conn = libvirt.open(self.URI)
        self.addCleanup(self.conn.close)
        self.addCleanup(self._undefine)

    def _undefine(self):
        try:
            self.conn.networkLookupByName(
                libvirt_claims.NETWORK_NAME).undefine()
        except libvirt.libvirtError:
            pass

    def test_claim_is_an_inactive_network_with_metadata(self):
        libvirt_claims.acquire(self.conn, 'compute-a', 'vm', 'ovirt_pool:p',
                               'uris', self.URI)
        network = self.conn.networkLookupByName(libvirt_claims.NETWORK_NAME)
        self.assertFalse(network.isActive())
        other = libvirt.open(self.URI)
        self.addCleanup(other.close)
        self.assertEqual('compute-a', libvirt_claims.read(other).host)

    def test_second_service_refuses_the_host(self):
        libvirt_claims.acquire(self.conn, 'compute-a', 'vm', 'ovirt_pool:p',
                               'uris', self.URI)
        error = self.assertRaises(
            exception.PoolConfigError, libvirt_claims.acquire, self.conn,
            'compute-b', 'vm', 'ovirt_pool:p', 'uris', self.URI)
        self.assertIn("[ovirt_pool:p] uris = 'test:///default': libvirt "
                      "host 'vm' is managed by nova-compute service "
                      "'compute-a'", str(error))

    def test_heartbeat_and_release(self):
        libvirt_claims.acquire(self.conn, 'compute-a', 'vm', 'g', 'uris', 'u')
        self.assertTrue(libvirt_claims.heartbeat(self.conn, 'compute-a'))
        self.assertFalse(libvirt_claims.heartbeat(self.conn, 'compute-b'))
        self.assertFalse(libvirt_claims.release(self.conn, 'compute-b'))
        self.assertTrue(libvirt_claims.release(self.conn, 'compute-a'))
        self.assertIsNone(libvirt_claims.read(self.conn))


class ManageCommandTest(ovirt_base.SimTestCase):
    """nova-ovirt-manage claim list/takeover/release with a nova.conf."""

    def write_conf(self, host):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.conf')
        with open(path, 'w') as f:
            f.write(textwrap.dedent('''
                [DEFAULT]
                host = %(host)s
                state_path = %(state)s
                [ovirt]
                pools = engine1
                [ovirt_pool:engine1]
                backend = ovirt
                url = %(url)s
                username = %(user)s
                password = %(password)s
                ca_file = %(ca)s
                clusters = cluster1,cluster2
                storage_domain = data
                ''' % {'host': host, 'state': tempfile.gettempdir(),
                       'url': self.sim.url, 'user': self.sim.username,
                       'password': self.sim.password,
                       'ca': self.sim.ca_file}))
        return path

    def claim(self, name):
        return cluster_claims.parse_comment(
            {c.name: c for c in self.sim.store.clusters.values()}[
                name].comment)

    def manage(self, conf, *args):
        out, err = io.StringIO(), io.StringIO()
        with fixtures.MonkeyPatch('sys.stdout', out), \
                fixtures.MonkeyPatch('sys.stderr', err):
            rc = manage.main(['--config-file', conf] + list(args))
        return rc, out.getvalue(), err.getvalue()

    def test_handover_between_two_services(self):
        pool = self.make_pool(start=False)
        pool.host = 'compute-a'
        pool.start()
        self.addCleanup(pool.stop)
        conf_b = self.write_conf('compute-b')

        rc, out, err = self.manage(conf_b, 'claim', 'list')
        self.assertEqual(0, rc, err)
        self.assertRegex(out, r'engine1\s+cluster1\s+compute-a\s+\d+ s ago')

        rc, out, err = self.manage(conf_b, 'claim', 'takeover', 'cluster2')
        self.assertEqual(1, rc)
        self.assertIn('which is alive', err)

        rc, out, err = self.manage(conf_b, 'claim', 'takeover', 'cluster2',
                                   '--force')
        self.assertEqual(0, rc, err)
        self.assertEqual('compute-b', self.claim('cluster2').host)
        self.assertEqual('compute-a', self.claim('cluster1').host)

        rc, out, err = self.manage(conf_b, 'claim', 'release', 'cluster2')
        self.assertEqual(0, rc, err)
        self.assertIsNone(self.claim('cluster2'))

        rc, out, err = self.manage(conf_b, 'claim', 'takeover', 'cluster9')
        self.assertEqual(2, rc)
