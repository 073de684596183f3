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

"""nova-ovirt-status against the engine simulator and libvirt's test driver.

The command runs in-process (``main(argv)``) with the real pool classes: the
oVirt pool talks to the simulator over HTTPS with ovirtsdk4, the libvirt
pool to ``test:///default``; nothing of the backends is mocked.
"""

import datetime
import io
import json
import os
import subprocess
import sys
import threading
import time

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography import x509
from cryptography.x509.oid import NameOID
import fixtures
from oslo_upgradecheck.upgradecheck import Code
import testtools

from nova_ovirt.cmd import status
from ovirt_engine_sim import EngineSimulator
from nova_ovirt.pools.libvirt import config as libvirt_config

PASSWORD = 'Pr3flight-s3cret'
UNREACHABLE_URI = 'qemu+tcp://127.0.0.1:1/system'

GOOD_DEFAULTS = {
    'compute_driver': 'ovirt.OvirtDriver',
    'allow_resize_to_same_host': 'True',
}


def _other_ca(path):
    """A valid CA certificate that did not sign the simulator's."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'Other CA')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                           critical=True)
            .sign(key, hashes.SHA256()))
    with open(path, 'wb') as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return path


class StatusTestCase(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # One simulator for the class: the checks only read from it.
        cls.sim = EngineSimulator(password=PASSWORD)
        cls.sim.start()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_NOVA_DISABLE_EVENTLET_PATCHING', '1'))

    # -- helpers --------------------------------------------------------------

    def ovirt_pool(self, **overrides):
        options = {
            'backend': 'ovirt',
            'url': self.sim.url,
            'username': self.sim.username,
            'password': PASSWORD,
            'ca_file': self.sim.ca_file,
            'clusters': 'cluster1, cluster2',
            'storage_domain': 'data',
            'vnic_profile_mappings': 'physnet1:ovirtmgmt',
        }
        options.update(overrides)
        return {k: v for k, v in options.items() if v is not None}

    @staticmethod
    def libvirt_pool(uris='kvm1=test:///default', **overrides):
        options = {'backend': 'libvirt', 'uris': uris, 'domain_type': 'qemu',
                   'connection_retry_interval': '1'}
        options.update(overrides)
        return options

    def write_conf(self, pools, defaults=None, name='nova.conf'):
        defaults = dict(GOOD_DEFAULTS if defaults is None else defaults)
        lines = ['[DEFAULT]']
        lines += ['%s = %s' % kv for kv in defaults.items()]
        lines += ['[ovirt]', 'pools = %s' % ', '.join(pools),
                  'event_poll_interval = 1']
        for pool_name, options in pools.items():
            lines.append('[ovirt_pool:%s]' % pool_name)
            lines += ['%s = %s' % kv for kv in options.items()]
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        return path

    def run_status(self, pools, *extra, defaults=None):
        path = self.write_conf(pools, defaults)
        stdout, stderr = io.StringIO(), io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', stdout))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
        rc = status.main(['--config-file', path] + list(extra))
        out, err = stdout.getvalue(), stderr.getvalue()
        self.assertNotIn(PASSWORD, out + err)
        self.assertNotIn('Traceback', out + err)
        return rc, out, err

    def run_json(self, pools, defaults=None):
        rc, out, err = self.run_status(pools, '--format', 'json',
                                       defaults=defaults)
        report = json.loads(out)
        self.assertEqual(rc, report['exit_code'])
        return rc, report

    @staticmethod
    def section(report, pool=None, node=None, kind=None):
        for s in report['sections']:
            if (kind is None or s['kind'] == kind) and s['pool'] == pool \
                    and s['node'] == node:
                return s
        raise AssertionError('no section pool=%s node=%s' % (pool, node))

    def check(self, report, name, pool=None, node=None, kind=None):
        section = self.section(report, pool, node, kind)
        for c in section['checks']:
            if c['check'] == name:
                return c
        self.fail('no check %r in %s' % (name, section['title']))

    # -- oVirt pools ----------------------------------------------------------

    def test_good_ovirt_pool(self):
        rc, report = self.run_json({'engine1': self.ovirt_pool()})
        self.assertEqual(0, rc, json.dumps(report, indent=1))
        self.assertEqual('OK', report['result'])
        clusters = self.check(report, 'clusters', 'engine1')
        self.assertIn('cluster1', clusters['details'])
        self.assertIn('cluster2', clusters['details'])
        self.assertIn('ca_file', self.check(report, 'TLS',
                                            'engine1')['details'])
        self.assertIn('data', self.check(report, 'storage domain',
                                         'engine1')['details'])
        self.assertIn('ovirtmgmt', self.check(report, 'vNIC profiles',
                                              'engine1')['details'])
        found = self.section(report, 'engine1')['found']
        self.assertEqual({'cluster1', 'cluster2'}, set(found['clusters']))
        self.assertNotIn('password', found)
        # cluster1: two up hosts of 2 sockets x 4 cores; cluster2: two of
        # 1 x 8 x 2 threads. The disk is the storage domain's, shared by
        # both (520 GiB, the scenario's 20 GiB of other data reserved).
        node1 = self.section(report, 'engine1', 'cluster1')
        self.assertEqual(found['clusters']['cluster1']['id'], node1['uuid'])
        self.assertEqual({'total': 16, 'max_unit': 8, 'reserved': 0},
                         node1['inventory']['VCPU'])
        sd_id = found['storage_domain']['id']
        self.assertEqual({'total': 520, 'max_unit': 520, 'reserved': 20,
                          'shared_by': sd_id},
                         node1['inventory']['DISK_GB'])
        self.assertEqual(node1['inventory']['DISK_GB'], self.section(
            report, 'engine1', 'cluster2')['inventory']['DISK_GB'])
        self.assertGreater(node1['inventory']['MEMORY_MB']['total'], 0)
        self.assertEqual(0, node1['nova_instances'])
        node2 = self.section(report, 'engine1', 'cluster2')
        self.assertEqual({'total': 32, 'max_unit': 16, 'reserved': 0},
                         node2['inventory']['VCPU'])

    def test_good_ovirt_pool_table(self):
        rc, out, err = self.run_status({'engine1': self.ovirt_pool()})
        self.assertEqual(0, rc, out + err)
        self.assertIn('Pool engine1 (backend ovirt)', out)
        self.assertIn('Node cluster1 (pool engine1', out)
        self.assertIn('VCPU 16 (max_unit 8)', out)
        self.assertIn('Result: OK (exit code 0)', out)
        self.assertNotIn('FAILURE |', out)
        self.assertEqual('', err)

    def test_wrong_password(self):
        rc, report = self.run_json(
            {'engine1': self.ovirt_pool(password='not-the-password')})
        self.assertEqual(2, rc)
        credentials = self.check(report, 'credentials', 'engine1')
        self.assertEqual('FAILURE', credentials['result'])
        self.assertIn('password', credentials['details'])
        self.assertIn(self.sim.username, credentials['details'])
        self.assertNotIn('not-the-password', json.dumps(report))
        # What passed before the login is reported as such.
        self.assertEqual('OK', self.check(report, 'reachable',
                                          'engine1')['result'])

    def test_wrong_ca(self):
        other = _other_ca(os.path.join(self.tmp, 'other-ca.pem'))
        rc, report = self.run_json({'engine1': self.ovirt_pool(ca_file=other)})
        self.assertEqual(2, rc)
        tls = self.check(report, 'TLS', 'engine1')
        self.assertEqual('FAILURE', tls['result'])
        self.assertIn('ca_file', tls['details'])
        self.assertIn(other, tls['details'])

    def test_unknown_cluster(self):
        rc, report = self.run_json(
            {'engine1': self.ovirt_pool(clusters='cluster1, nosuch')})
        self.assertEqual(2, rc)
        clusters = self.check(report, 'clusters', 'engine1')
        self.assertEqual('FAILURE', clusters['result'])
        self.assertIn('nosuch', clusters['details'])
        self.assertIn('[ovirt_pool:engine1] clusters', clusters['details'])

    def test_unknown_storage_domain(self):
        rc, report = self.run_json(
            {'engine1': self.ovirt_pool(storage_domain='nosuch')})
        self.assertEqual(2, rc)
        self.assertIn('storage_domain', self.check(
            report, 'storage domain', 'engine1')['details'])
        self.assertEqual('OK', self.check(report, 'clusters',
                                          'engine1')['result'])

    def test_insecure_is_a_warning(self):
        rc, report = self.run_json(
            {'engine1': self.ovirt_pool(ca_file=None, insecure='True')})
        self.assertEqual(1, rc)
        tls = self.check(report, 'TLS', 'engine1')
        self.assertEqual('WARNING', tls['result'])
        self.assertIn('insecure = True', tls['details'])

    def test_cluster_without_hosts_up(self):
        sim = EngineSimulator(scenario='empty-cluster', password=PASSWORD)
        sim.start()
        self.addCleanup(sim.stop)
        rc, report = self.run_json({'engine1': self.ovirt_pool(
            url=sim.url, ca_file=sim.ca_file, clusters='cluster1')})
        self.assertEqual(1, rc, json.dumps(report, indent=1))
        hosts = self.check(report, 'hosts', 'engine1', 'cluster1')
        self.assertEqual('WARNING', hosts['result'])
        self.assertIn('no host of cluster cluster1 is up', hosts['details'])
        capacity = self.check(report, 'capacity', 'engine1', 'cluster1')
        self.assertEqual('WARNING', capacity['result'])
        # The node keeps its records, everything reserved (nova would
        # refuse to drop records its servers' allocations use).
        self.assertIn('reserved', capacity['details'])
        self.assertIn('nothing can be scheduled', capacity['details'])

    def test_engine_unreachable(self):
        url = 'https://127.0.0.1:1/ovirt-engine/api'
        rc, report = self.run_json({'engine1': self.ovirt_pool(url=url)})
        self.assertEqual(2, rc)
        reachable = self.check(report, 'reachable', 'engine1')
        self.assertEqual('FAILURE', reachable['result'])
        self.assertIn('url', reachable['details'])
        self.assertIn(url, reachable['details'])

    # -- libvirt pools --------------------------------------------------------

    def test_libvirt_test_driver(self):
        rc, report = self.run_json({'kvm': self.libvirt_pool()})
        self.assertEqual(0, rc, json.dumps(report, indent=1))
        node = self.section(report, 'kvm', 'kvm1')
        self.assertEqual('OK', node['result'])
        # test:///default: 16 CPUs, 3 GiB, a 100 GiB storage pool.
        self.assertEqual(16, node['inventory']['VCPU']['total'])
        self.assertEqual(3072, node['inventory']['MEMORY_MB']['total'])
        self.assertGreater(node['inventory']['DISK_GB']['total'], 0)
        self.assertEqual(0, node['nova_instances'])
        self.assertIn('test:///default',
                      self.check(report, 'reachable', 'kvm', 'kvm1')[
                          'details'])

    def test_libvirt_unreachable_host(self):
        rc, report = self.run_json({'kvm': self.libvirt_pool(
            uris='kvm1=test:///default, dead=%s' % UNREACHABLE_URI)})
        self.assertEqual(2, rc)
        self.assertEqual('OK', self.section(report, 'kvm', 'kvm1')['result'])
        reachable = self.check(report, 'reachable', 'kvm', 'dead')
        self.assertEqual('FAILURE', reachable['result'])
        self.assertIn('[ovirt_pool:kvm] uris', reachable['details'])
        self.assertIn(UNREACHABLE_URI, reachable['details'])
        self.assertEqual('WARNING', self.check(report, 'transport', 'kvm',
                                               'dead')['result'])

    def test_domain_type_not_offered(self):
        class Pool(object):
            group_name = 'ovirt_pool:kvm'

            @staticmethod
            def describe_node(nodename):
                return {'uri': 'qemu:///system', 'available': True,
                        'reason': None, 'domain_type': 'kvm',
                        'storage_pool': 'nova-ovirt',
                        'storage_path': '/var/lib/libvirt/images/nova-ovirt',
                        'hypervisor': 'QEMU', 'version': 8002000,
                        'domain_types': ['qemu'], 'nova_guests': 0}

        section = status.Section('node', 'Node kvm1')
        self.assertTrue(status.check_libvirt_node(section, Pool, 'kvm1'))
        self.assertEqual(Code.FAILURE, section.code)
        failed = [c for c in section.checks if c[0] == Code.FAILURE]
        self.assertEqual('domain type', failed[0][1])
        self.assertIn("[ovirt_pool:kvm] domain_type = 'kvm'", failed[0][2])
        self.assertIn('qemu', failed[0][2])

    def test_guest_domain_types(self):
        caps = """<capabilities><host/>
          <guest><os_type>hvm</os_type>
            <arch name='i686'><domain type='qemu'/><domain type='kvm'/></arch>
          </guest>
          <guest><os_type>hvm</os_type>
            <arch name='x86_64'><domain type='qemu'/></arch>
          </guest></capabilities>"""
        self.assertEqual(['qemu'], libvirt_config.guest_domain_types(caps))
        self.assertEqual(['kvm', 'qemu'],
                         libvirt_config.guest_domain_types(caps, 'i686'))

    def test_transports(self):
        self.assertEqual(Code.SUCCESS,
                         status.libvirt_transport('qemu:///system')[0])
        self.assertEqual(Code.SUCCESS,
                         status.libvirt_transport('qemu+tls://h/system')[0])
        self.assertEqual(Code.SUCCESS,
                         status.libvirt_transport('qemu+ssh://h/system')[0])
        self.assertEqual(Code.WARNING, status.libvirt_transport(
            'qemu+tls://h/system?no_verify=1')[0])
        self.assertEqual(Code.WARNING,
                         status.libvirt_transport('qemu+tcp://h/system')[0])

    # -- both, and nova's settings --------------------------------------------

    def test_two_pools(self):
        rc, out, err = self.run_status({'engine1': self.ovirt_pool(),
                                        'kvm': self.libvirt_pool()})
        self.assertEqual(0, rc, out + err)
        for title in ('Node cluster1', 'Node cluster2', 'Node kvm1'):
            self.assertIn(title, out)
        self.assertIn('3 node(s), all names unique', out)

    def test_duplicate_node_names(self):
        rc, report = self.run_json({
            'engine1': self.ovirt_pool(),
            'kvm': self.libvirt_pool(uris='cluster1=test:///default')})
        self.assertEqual(2, rc)
        names = self.check(report, 'node names', kind='nova')
        self.assertEqual('FAILURE', names['result'])
        self.assertIn("[ovirt_pool:kvm] uris: node 'cluster1'",
                      names['details'])
        self.assertIn('pool engine1', names['details'])

    def test_nova_settings_warnings(self):
        rc, report = self.run_json({'kvm': self.libvirt_pool()}, defaults={})
        self.assertEqual(1, rc)
        driver = self.check(report, 'compute_driver', kind='nova')
        self.assertEqual('WARNING', driver['result'])
        self.assertIn('ovirt.OvirtDriver', driver['details'])
        resize = self.check(report, 'allow_resize_to_same_host', kind='nova')
        self.assertEqual('WARNING', resize['result'])

    def test_pools_are_stopped(self):
        rc, out, err = self.run_status({'engine1': self.ovirt_pool(),
                                        'kvm': self.libvirt_pool()})
        self.assertEqual(0, rc, out + err)

        def ours():
            return [t.name for t in threading.enumerate()
                    if t.name in ('nova-ovirt-libvirt-kvm1',
                                  'nova-ovirt-events-engine1')]
        deadline = time.monotonic() + 5
        while ours() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual([], ours())

    # -- configuration errors -------------------------------------------------

    def assert_config_error(self, pools, expected):
        rc, out, err = self.run_status(pools)
        self.assertEqual(2, rc)
        self.assertEqual('', out)
        self.assertEqual(1, len(err.strip().splitlines()), err)
        self.assertIn(expected, err)

    def test_unknown_backend(self):
        self.assert_config_error(
            {'kvm': self.libvirt_pool(backend='xen')},
            "[ovirt_pool:kvm] backend = 'xen': unknown backend")

    def test_missing_url(self):
        self.assert_config_error({'engine1': self.ovirt_pool(url=None)},
                                 '[ovirt_pool:engine1] url = None: missing')

    def test_no_pools(self):
        self.assert_config_error({}, '[ovirt] pools')

    def test_config_error_as_json(self):
        rc, out, err = self.run_status(
            {'engine1': self.ovirt_pool(url=None)}, '--format', 'json')
        self.assertEqual(2, rc)
        report = json.loads(out)
        self.assertEqual('FAILURE', report['result'])
        self.assertIn('url', self.check(report, 'configuration',
                                        kind='configuration')['details'])

    def test_missing_config_file(self):
        stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
        rc = status.main(['--config-file',
                          os.path.join(self.tmp, 'missing.conf')])
        self.assertEqual(2, rc)
        self.assertIn('missing.conf', stderr.getvalue())

    def test_command_line(self):
        """As a command: exit code 2 and one line, no traceback, no noise."""
        path = self.write_conf({'kvm': self.libvirt_pool(backend='xen')})
        env = dict(os.environ, PYTHONPATH=os.getcwd())
        proc = subprocess.run(
            [sys.executable, '-m', 'nova_ovirt.cmd.status',
             '--config-file', path],
            capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(2, proc.returncode, proc.stderr)
        self.assertEqual('', proc.stdout)
        self.assertEqual(
            ["nova-ovirt-status: ERROR: [ovirt_pool:kvm] backend = 'xen': "
             "unknown backend; known backends: libvirt, ovirt"],
            proc.stderr.strip().splitlines())
