"""Auth, TLS, fault injection, request accounting and bad input."""

import http.client
import os
import ssl
import urllib.parse

import fixtures

import ovirtsdk4 as sdk
from ovirtsdk4 import types

from ovirt_engine_sim import tls
from tests.unit.ovirt_engine_sim import base


class AuthTest(base.SimTestCase):

    def test_wrong_password(self):
        conn = self.connect(password='wrong')
        err = self.assertRaises(sdk.AuthError, conn.system_service().get)
        self.assertIn('access_denied', str(err))

    def test_token_expiry_reauthenticates(self):
        self.system.get()
        logins = self.sim.sso.logins
        self.clock.advance(self.sim.store.delays['token_lifetime'] + 1)
        self.assertEqual(2, len(self.system.clusters_service().list()))
        self.assertEqual(logins + 1, self.sim.sso.logins)
        # The first attempt got a 401, the SDK logged in again and retried.
        self.assertEqual(2, self.sim.requests.count('GET', r'/clusters$'))

    def test_invalidate_tokens(self):
        self.system.get()
        self.sim.faults.invalidate_tokens()
        self.system.get()
        self.assertEqual(2, self.sim.sso.logins)

    def test_missing_token_is_401(self):
        status, body = raw(self.sim, 'GET', '/ovirt-engine/api/vms', token=None)
        self.assertEqual(401, status)
        self.assertIn(b'<fault>', body)

    def test_logout(self):
        conn = self.connect()
        conn.system_service().get()
        token = conn.authenticate()
        self.assertTrue(self.sim.sso.valid(token))
        conn.close()
        self.assertFalse(self.sim.sso.valid(token))

    def test_other_ca_fails_verification(self):
        other = self.useFixture(fixtures.TempDir()).path
        tls.make_ca(other, cn='some other CA')
        conn = self.connect(ca_file=os.path.join(other, tls.CA_FILE))
        self.assertRaises(sdk.Error, conn.system_service().get)
        ctx = ssl.create_default_context(cafile=os.path.join(other, tls.CA_FILE))
        c = http.client.HTTPSConnection('127.0.0.1', self.sim.port, context=ctx)
        self.addCleanup(c.close)
        self.assertRaises(ssl.SSLError, c.request, 'GET', '/ovirt-engine/api')


class FaultInjectionTest(base.SimTestCase):

    def test_scripted_fault(self):
        vm = self.add_vm()
        self.sim.faults.script_fault(r'/vms/[^/]+/start$', method='POST', status=409,
                                     reason='Operation Failed',
                                     detail='[Cannot run VM. Injected.]', times=1)
        err = self.assertFault(409, self.vm_service(vm.id).start)
        self.assertEqual('[Cannot run VM. Injected.]', err.fault.detail)
        self.vm_service(vm.id).start()

    def test_error_rate(self):
        self.sim.faults.set_error_rate(1.0, status=503, path_regex='/clusters')
        self.assertFault(503, self.system.clusters_service().list)
        self.system.hosts_service().list()
        self.sim.faults.clear()
        self.system.clusters_service().list()

    def test_latency(self):
        self.sim.faults.set_latency(0.05, path_regex='/hosts')
        self.system.hosts_service().list()

    def test_outage(self):
        self.system.get()
        self.sim.faults.outage(30)
        # With a token the SDK reports the refused connection as a plain
        # Error; logging in (a new connection) raises ConnectionError.
        err = self.assertRaises(sdk.Error, self.system.get)
        self.assertIn('connect', str(err))
        self.assertRaises(sdk.ConnectionError, self.connect().system_service().get)
        self.clock.advance(31)
        self.assertEqual('oVirt Engine', self.system.get().product_info.name)
        self.sim.faults.outage_start()
        self.assertRaises(sdk.Error, self.system.clusters_service().list)
        self.sim.faults.outage_end()
        self.system.clusters_service().list()

    def test_request_counter(self):
        self.sim.requests.reset()
        self.system.vms_service().list()
        vm = self.add_vm()
        self.vm_service(vm.id).get()
        self.vm_service(vm.id).get()
        self.assertEqual(1, self.sim.requests.count('GET', r'/vms$'))
        self.assertEqual(2, self.sim.requests.count('GET', r'/vms/[^/]+$'))
        self.assertEqual(1, self.sim.requests.count('POST', r'/vms$'))
        snap = self.sim.requests.snapshot()
        self.assertEqual(2, snap[('GET', '/ovirt-engine/api/vms/{id}')])


class BadInputTest(base.SimTestCase):

    def token(self):
        return self.conn.authenticate()

    def test_malformed_xml(self):
        status, body = raw(self.sim, 'POST', '/ovirt-engine/api/vms', self.token(),
                           body=b'<vm><name>x</name')
        self.assertEqual(400, status)
        self.assertIn(b'<fault>', body)

    def test_wrong_root_element(self):
        status, body = raw(self.sim, 'POST', '/ovirt-engine/api/vms', self.token(),
                           body=b'<disk><name>x</name></disk>')
        self.assertEqual(400, status)

    def test_unknown_elements_are_ignored(self):
        cluster = self.system.clusters_service().list()[0].id
        status, body = raw(self.sim, 'POST', '/ovirt-engine/api/vms', self.token(),
                           body=('<vm><name>x</name><bogus>1</bogus><cluster id="%s"/>'
                                 '<template><name>Blank</name></template></vm>'
                                 % cluster).encode())
        self.assertEqual(201, status, body)

    def test_unknown_collection_and_method(self):
        self.assertEqual(404, raw(self.sim, 'GET', '/ovirt-engine/api/nope',
                                  self.token())[0])
        self.assertEqual(405, raw(self.sim, 'DELETE', '/ovirt-engine/api/vms',
                                  self.token())[0])
        self.assertEqual(404, raw(self.sim, 'GET', '/somewhere', self.token())[0])

    def test_bad_max(self):
        self.assertFault(400, self.system.vms_service().list, query={'max': 'x'})

    def test_remove_answers_200(self):
        vm = self.add_vm()
        status, body = raw(self.sim, 'DELETE', '/ovirt-engine/api/vms/%s' % vm.id,
                           self.token())
        self.assertEqual(200, status)

    def test_action_reply(self):
        vm = self.add_vm()
        status, body = raw(self.sim, 'POST', '/ovirt-engine/api/vms/%s/start' % vm.id,
                           self.token(), body=b'<action/>')
        self.assertEqual(200, status)
        self.assertIn(b'<status>complete</status>', body)
        vm2 = self.add_vm(name='vm2', description='x')
        self.assertEqual(types.VmStatus.DOWN, vm2.status)


def raw(sim, method, path, token=None, body=None, headers=None):
    u = urllib.parse.urlparse(sim.url)
    ctx = ssl.create_default_context(cafile=sim.ca_file)
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
    try:
        h = {'Version': '4', 'Content-Type': 'application/xml',
             'Accept': 'application/xml'}
        if token:
            h['Authorization'] = 'Bearer %s' % token
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()
