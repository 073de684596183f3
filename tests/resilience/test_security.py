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

"""TLS, secrets in logs, and VMs that are not Nova's."""

import logging

import fixtures
import ovirtsdk4 as sdk
from ovirtsdk4 import types

from nova.compute import power_state

from ovirt_engine_sim import tls as sim_tls
from nova_ovirt import exception
from tests.resilience import base


class TestSecurity(base.ResilienceTestCase):

    def test_tls_wrong_ca_refused(self):
        f = self.start_figures('security: wrong CA refused')
        sim = self.start_sim()
        other = self.useFixture(fixtures.TempDir()).path
        ca_file, _ = sim_tls.setup(other, '127.0.0.1')
        # The pool starts (other pools keep serving) and stays unavailable
        # with the reason.
        pool = self.make_pool(sim, ca_file=ca_file)
        ok, error = f.run(pool.get_inventory, 'cluster1')
        self.assertFalse(ok)
        self.assertIsInstance(error, exception.BackendUnavailable)
        error = pool.last_failure
        self.assertIsInstance(error, exception.PoolConfigError)
        self.assertEqual('ca_file', error.option)
        self.assertIn('does not verify', str(error))
        f.notes['error'] = str(error)[:300]
        # The engine never saw a login: the handshake failed first.
        self.assertEqual(0, sim.sso.logins)
        self.assert_must_be_zero()

    def test_insecure_warns(self):
        f = self.start_figures('security: insecure warns')
        sim = self.start_sim()
        logger = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        ok, error = f.run(self.make_pool, sim, insecure=True, ca_file=None)
        self.assertTrue(ok, error)
        self.assertIn('TLS verification', logger.output)
        self.assertIn('insecure', logger.output)
        self.assert_must_be_zero()

    def test_no_secrets_in_debug_logs(self):
        f = self.start_figures('security: no secrets in debug logs')
        sim = self.start_sim()
        tokens = []
        login = sim.sso.login

        def remembering_login(form):
            status, data = login(form)
            if 'access_token' in data:
                tokens.append(data['access_token'])
            return status, data
        sim.sso.login = remembering_login
        # The SDK logs headers (the bearer token) only with debug=True and
        # a logger: the pool must not ask for that.
        connections = []
        real_init = sdk.Connection.__init__

        def recording_init(conn, *args, **kwargs):
            connections.append(kwargs)
            real_init(conn, *args, **kwargs)
        self.useFixture(fixtures.MonkeyPatch(
            'ovirtsdk4.Connection.__init__', recording_init))
        # Everything, from every logger (the SDK's included), at DEBUG.
        logger = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG, name=None,
            format='%(name)s %(levelname)s %(message)s'))
        pool = self.make_pool(sim)
        meta = self.add_image()
        inst = self.instance(root_gb=0)
        ctx = self.request_context()
        f.run(pool.spawn, ctx, inst, meta, [], None, {}, [])
        sim.faults.invalidate_tokens()       # a second login
        f.run(pool.snapshot, ctx, inst, 'snap', lambda **kw: None)
        f.run(pool.get_vnc_console, ctx, inst)
        # A failing login is logged too: its message must not carry the
        # password either.
        bad = self.make_pool(sim, name='bad', start=False,
                             password='WrongSecret-42')
        f.run(bad.start, clean=lambda e: 'password' in str(e))
        f.run(pool.destroy, ctx, inst, [])
        self.assertGreaterEqual(len(tokens), 2)
        self.assertTrue(connections)
        f.notes['sdk_debug'] = sorted({bool(k.get('debug')) for k in
                                       connections})
        self.assertEqual([], [k for k in connections
                              if k.get('debug') or k.get('log')])
        output = logger.output
        self.assertIn('DEBUG', output)
        leaks = [s for s in [sim.password, 'WrongSecret-42'] + tokens
                 if s in output]
        f.notes['log_lines'] = len(output.splitlines())
        f.notes['tokens_checked'] = len(tokens)
        f.notes['leaks'] = len(leaks)
        self.assertEqual([], leaks)
        self.assertEqual(1, f.failed_cleanly)
        self.assert_must_be_zero()

    def test_operator_vms_never_touched(self):
        f = self.start_figures('security: operator VMs untouched')
        journal = self.useFixture(base.RequestJournal())
        sim = self.start_sim()
        pool = self.make_pool(sim)
        meta = self.add_image()
        inst = self.instance()
        # An operator VM with the very name Nova gives this instance's VM
        # (Nova's then goes by nova-<uuid>), one named after the server's
        # display name, and look-alike marks.
        operator = [
            sim.admin_add_vm(inst.name, 'cluster1', description='mine'),
            sim.admin_add_vm(inst.display_name, 'cluster2',
                             description='ops VM'),
            sim.admin_add_vm('lookalike', 'cluster1',
                             description='nova-ovirt:instance=%s-x'
                             % inst.uuid),
            sim.admin_add_vm('marked-by-hand', 'cluster1',
                             description='Nova-Ovirt:Instance=' + inst.uuid,
                             status='down'),
        ]
        before = {v.id: (v.name, v.description, v.status)
                  for v in operator}
        ctx = self.request_context()
        f.run(pool.spawn, ctx, inst, meta, [], None, {}, [])
        listed = set(pool.list_instance_uuids())
        f.run(pool.power_off, inst)
        f.run(pool.power_on, ctx, inst, [])
        f.run(pool.reboot, ctx, inst, [], 'HARD')
        self.assertEqual(power_state.RUNNING,
                         pool.get_info(inst, use_cache=False).state)
        f.run(pool.destroy, ctx, inst, [])
        # Destroy again (nova retries), and destroy an instance that has
        # only operator look-alikes.
        f.run(pool.destroy, ctx, inst, [])
        self.assertEqual({inst.uuid}, listed)
        self.assertEqual([], pool.list_instance_uuids())
        after = {v.id: (sim.store.vms[v.id].name,
                        sim.store.vms[v.id].description,
                        sim.store.vms[v.id].status)
                 for v in operator if v.id in sim.store.vms}
        self.assertEqual(before, after)
        self.assertEqual(types.VmStatus.UP,
                         sim.store.vms[operator[0].id].status)
        # Not one request addressed an operator VM.
        touched = [(m, p) for m, p, q, s in journal.entries
                   if any(v.id in p for v in operator)]
        f.notes['requests_to_operator_vms'] = len(touched)
        self.assertEqual([], touched)
        f.audit(self.audit_engine(sim, set()))
        self.assertEqual(f.attempted, f.succeeded)
        self.assert_must_be_zero()
