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

"""Sessions and configuration checks, against the simulator over TLS."""

import logging
import os
import threading
import time

import fixtures
import ovirtsdk4 as sdk

from nova_ovirt import exception
from ovirt_engine_sim import tls as sim_tls
from nova_ovirt.pools.ovirt import session as ovirt_session
from tests.unit.pools.ovirt import base

TOKEN = r'/sso/oauth/token'


class TestSession(base.SimTestCase):

    def _session(self, **kw):
        args = dict(url=self.sim.url, username=self.sim.username,
                    password=self.sim.password, ca_file=self.sim.ca_file,
                    connections=3, timeout=10)
        args.update(kw)
        s = ovirt_session.Session(**args)
        self.addCleanup(s.close)
        return s

    def test_tls_verified_with_ca_file(self):
        api = self._session().login()
        self.assertIsNotNone(api.product_info)

    def test_wrong_ca_makes_only_the_pool_unavailable(self):
        # A TLS failure is the engine's side (its certificate changed) as
        # often as a typo: the pool's nodes wait, the service runs.
        other = self.useFixture(fixtures.TempDir()).path
        ca_file, _ = sim_tls.setup(other, '127.0.0.1')
        pool = self.make_pool(ca_file=ca_file)
        self.assertFalse(pool.node_is_available('cluster1'))
        e = pool.last_failure
        self.assertIsInstance(e, exception.PoolConfigError)
        self.assertEqual('ca_file', e.option)
        self.assertIn('does not verify', str(e))
        self.assertNotIn('pycurl', str(e))

    def test_ca_file_missing_or_not_pem(self):
        e = self.assertRaises(exception.PoolConfigError, self.make_pool,
                              start=False, ca_file='/nonexistent/ca.pem')
        self.assertEqual('ca_file', e.option)
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'x')
        with open(path, 'w') as f:
            f.write('not a certificate')
        e = self.assertRaises(exception.PoolConfigError, self.make_pool,
                              start=False, ca_file=path)
        self.assertIn('PEM', str(e))

    def test_insecure_warns(self):
        logger = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        pool = self.make_pool(insecure=True, ca_file=None)
        self.assertTrue(pool.node_is_available('cluster1'))
        self.assertIn('TLS verification', logger.output)

    def test_wrong_password_is_a_config_error(self):
        e = self.assertRaises(exception.PoolConfigError, self.make_pool,
                              password='wrong')
        self.assertEqual('password', e.option)
        self.assertNotIn('wrong', str(e))

    def test_password_never_logged(self):
        logger = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        self.make_pool(password=self.sim.password)
        self.assertNotIn(self.sim.password, logger.output)

    def test_token_expiry_relogin(self):
        s = self._session(connections=1)
        s.login()
        self.assertEqual(1, self.sim.requests.count(path_regex=TOKEN))
        self.sim.faults.invalidate_tokens()
        # The SDK answers the 401 by logging in again, once.
        s.read(lambda system: system.clusters_service().list())
        self.assertEqual(2, self.sim.requests.count(path_regex=TOKEN))

    def test_connection_pool_under_threads(self):
        s = self._session(connections=3)
        errors, seen = [], set()

        def work():
            try:
                for _ in range(5):
                    with s.connection() as conn:
                        seen.add(id(conn))
                        conn.system_service().clusters_service().list()
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual([], errors)
        self.assertLessEqual(len(seen), 3)
        # One login for all connections: they share the token.
        self.assertEqual(1, self.sim.requests.count(path_regex=TOKEN))

    def test_a_returned_connection_goes_to_the_oldest_waiter(self):
        """First come, first served: the thread that returns a connection
        does not take it straight back while others wait (concurrent
        boots would otherwise finish in waves, connections idle)."""
        s = self._session(connections=1)
        s.login()
        order = []
        waiting = threading.Event()

        def other():
            waiting.set()
            with s.connection():
                order.append('other')
        thread = threading.Thread(target=other)
        with s.connection():
            thread.start()
            waiting.wait(10)
            for _ in range(100):        # until it queues for the connection
                if s._waiters:
                    break
                time.sleep(0.05)
            self.assertEqual(1, len(s._waiters))
        with s.connection():
            order.append('returning thread')
        thread.join(10)
        self.assertEqual(['other', 'returning thread'], order)

    def test_waiting_for_a_connection_times_out(self):
        s = self._session(connections=1, timeout=1)
        s.login()
        with s.connection():
            self.assertRaises(sdk.ConnectionError, s._borrow)
        self.assertEqual(0, len(s._waiters))
        with s.connection():
            pass

    def test_reads_retry_on_busy_engine(self):
        s = self._session()
        s.login()
        self.sim.faults.script_fault(r'/clusters$', method='GET', status=503,
                                     reason='Service Unavailable', times=1)
        self.assertEqual(2, len(s.read(
            lambda system: system.clusters_service().list())))

    def test_correlation_id_from_request_id(self):
        pool = self.make_pool()
        inst = self.instance()
        data = base.image_bytes(1)
        image_id = self.images.add(data)
        pool.spawn(self.context, inst, base.image_meta(image_id, len(data)),
                   [], None, {}, [], power_on=False)
        cid = self.context.request_id
        jobs = [j for j in self.sim.store.jobs.values()
                if getattr(j, '_sim_correlation_id', None) == cid]
        self.assertTrue(jobs)


class TestConfig(base.SimTestCase):

    def test_static_errors(self):
        for option, value in (('url', None), ('password', None),
                              ('clusters', []), ('storage_domain', None)):
            e = self.assertRaises(exception.PoolConfigError, self.make_pool,
                                  start=False, **{option: value})
            self.assertEqual(option, e.option)
            self.assertIn('[ovirt_pool:engine1] %s' % option, str(e))

    def test_engine_errors_at_start(self):
        for option, value in (('clusters', ['cluster1', 'nope']),
                              ('storage_domain', 'nope'),
                              ('vnic_profile_mappings', {'p': 'nope'})):
            e = self.assertRaises(exception.PoolConfigError, self.make_pool,
                                  **{option: value})
            self.assertEqual(option, e.option)
            self.assertIn('nope', str(e))

    def test_unreachable_engine_does_not_stop_the_service(self):
        pool = self.make_pool()
        nodes = pool.nodes()
        pool.stop()
        self.sim.faults.outage_start()
        again = self.make_pool(timeout=2)
        # Known from the state file, unavailable until the engine answers.
        self.assertEqual(nodes, again.nodes())
        self.assertFalse(again.node_is_available('cluster1'))
        self.assertEqual([], again.list_instance_uuids())
        self.assertRaises(exception.BackendUnavailable,
                          again.get_inventory, 'cluster1')
        self.sim.faults.outage_end()
        # The event poller reconnects in the background.
        deadline = time.monotonic() + 10
        while not again.node_is_available('cluster1') and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertTrue(again.node_is_available('cluster1'))
        self.assertEqual(16, again.get_inventory('cluster1')['VCPU']['total'])

    def test_renamed_cluster_makes_only_the_pool_unavailable(self):
        pool = self.make_pool()
        pool.stop()
        cluster = self.sim.store.by_name('clusters', 'cluster1')
        with self.sim.store.lock:
            cluster.name = 'cluster1-renamed'
        logger = self.useFixture(fixtures.FakeLogger(level=logging.ERROR))
        again = self.make_pool()          # no exception: nova-compute runs
        self.assertFalse(again.node_is_available('cluster1'))
        e = again.last_failure
        self.assertEqual('clusters', e.option)
        self.assertIn("renamed to 'cluster1-renamed'", str(e))
        self.assertIn(cluster.id, str(e))
        # Retries do not repeat the line.
        for _ in range(3):
            again._try_bootstrap(fatal=False)
        lines = [line for line in logger.output.splitlines()
                 if 'renamed' in line]
        self.assertEqual(1, len(lines), logger.output)
        # A name the engine never had (no node of that name was known) is
        # a typo and still stops the service.
        self.assertRaises(exception.PoolConfigError, self.make_pool,
                          name='other', clusters=['cluster-typo'])

    def test_faults_show_no_library_objects(self):
        self.sim.faults.outage_start()
        self.addCleanup(self.sim.faults.outage_end)
        pool = self.make_pool(timeout=2)
        inst = self.instance()
        e = self.assertRaises(exception.BackendUnavailable, pool.get_info,
                              inst)
        text = e.format_message()
        self.assertIn('get_info failed on node cluster1 (pool engine1)',
                      text)
        self.assertIn('Failed to connect', text)
        for raw in ('pycurl', 'object at 0x', '(7,', 'Error while sending'):
            self.assertNotIn(raw, text)
        # libcurl's message alone, also from the reply reader's form.
        error = sdk.Error("Failed to read response: [(<pycurl.Curl object "
                          "at 0x7f3a2c1b2d30>, 60, 'SSL certificate "
                          "problem: unable to get local issuer "
                          "certificate')]")
        self.assertEqual('SSL certificate problem: unable to get local '
                         'issuer certificate',
                         ovirt_session.fault_text(error))

    def test_never_known_nodes_are_empty(self):
        self.sim.faults.outage_start()
        self.addCleanup(self.sim.faults.outage_end)
        pool = self.make_pool(timeout=2)
        self.assertEqual({}, pool.nodes())
