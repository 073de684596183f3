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

"""devstack/plugin.sh, run by bash against a stand-in for devstack.

devstack is not installable from a package index, so
tests/unit/devstack_standin/ stands in for it: ``functions`` is our own
implementation (no devstack code) of the service-list, ``trueorfalse``,
``die``, systemd ``run_process``/``stop_process`` and
``get_python_exec_prefix`` behaviour of openstack/devstack at commit
493835a61a996731a7031861f80c7629acd5d6f2 (2026-07-17); ``stack.sh`` runs the
plugin's phases in stack.sh's order,
with the global-venv switch after the settings are read and nova's
kvm -> qemu fallback before post-config; ``systemctl`` really starts the
engine simulator from the unit file run_process writes. Each test writes
a local.conf localrc, stacks, and checks what a real devstack would end
with: nova.conf loads with oslo.config and passes the preflight check
against the simulator, tempest.conf has support.py's flags in tempest's
sections.
"""

import configparser
import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time

import fixtures
import testtools

import nova.conf

from nova_ovirt.cmd import status
from nova_ovirt import conf as ovirt_conf
from nova_ovirt import support

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PLUGIN_DIR = os.path.join(ROOT, 'devstack')
STANDIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           'devstack_standin')
PASSWORD = 'devstack-secret'
SIM_UNIT = 'devstack@ovirt-engine-sim.service'


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_open(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
        return True
    except OSError:
        return False


def write_script(path, text):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, 0o755)


class DevstackPluginTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.work = self.useFixture(fixtures.TempDir()).path
        self.port = free_port()
        self.data = os.path.join(self.work, 'data')
        self.nova_conf = os.path.join(self.work, 'etc', 'nova', 'nova.conf')
        self.tempest_conf = os.path.join(self.work, 'tempest.conf')
        os.makedirs(os.path.dirname(self.nova_conf))
        self.sim_dir = os.path.join(self.data, 'ovirt-engine-sim')
        #: What stack.sh's configure_nova finds: /dev/kvm or not.
        self.host_has_kvm = True
        self._make_pythons()
        self.addCleanup(self._stop_sim)

    def _make_pythons(self):
        """The system python (before stack.sh's venv switch: no
        nova_ovirt there) and the global venv's (the test runner's)."""
        system_bin = os.path.join(self.work, 'system', 'bin')
        venv_bin = os.path.join(self.data, 'venv', 'bin')
        os.makedirs(system_bin)
        os.makedirs(venv_bin)
        write_script(os.path.join(system_bin, 'python3'),
                     '#!/bin/sh\nexec %s -I "$@"\n'
                     % sys._base_executable)
        write_script(os.path.join(venv_bin, 'python3'),
                     '#!/bin/sh\nexec %s "$@"\n' % sys.executable)
        write_script(os.path.join(venv_bin, 'nova-ovirt-engine-sim'),
                     '#!/bin/sh\nexec %s -m ovirt_engine_sim "$@"\n'
                     % sys.executable)
        self.system_python = os.path.join(system_bin, 'python3')

    def _stop_sim(self):
        pid_file = os.path.join(self.work, 'systemd-state', SIM_UNIT + '.pid')
        if os.path.exists(pid_file):
            with open(pid_file) as f:
                pid = int(f.read())
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass

    def env(self):
        env = dict(os.environ)
        env.update({
            'WORK': self.work,
            'STANDIN_DIR': STANDIN_DIR,
            'STANDIN_REAL_UNITS': SIM_UNIT,
            'STANDIN_HOST_HAS_KVM': str(self.host_has_kvm),
            'TEST_PYTHON': sys.executable,
            'PYTHON': self.system_python,
            'TOP_DIR': os.path.join(self.work, 'devstack'),
            'DEST': os.path.dirname(ROOT),
            'NOVA_OVIRT_DIR': ROOT,
            'DATA_DIR': self.data,
            'NOVA_CONF': self.nova_conf,
            'NOVA_CONF_DIR': os.path.dirname(self.nova_conf),
            'NOVA_CPU_CONF': os.path.join(os.path.dirname(self.nova_conf),
                                          'nova-cpu.conf'),
            'NOVA_BIN_DIR': os.path.join(self.data, 'venv', 'bin'),
            'TEMPEST_CONFIG': self.tempest_conf,
            'ADMIN_PASSWORD': PASSWORD,
            'HOSTNAME': 'devstack1',
            'OVIRT_SIM_LISTEN': '127.0.0.1:%d' % self.port,
        })
        return env

    def localrc(self, text):
        with open(os.path.join(self.work, 'localrc'), 'w') as f:
            f.write(textwrap.dedent(text))

    def sample_localrc(self, name, extra=''):
        """The [[local|localrc]] section of devstack/samples/<name>.conf
        (the documented local.conf), then ``extra`` lines."""
        with open(os.path.join(PLUGIN_DIR, 'samples', name + '.conf')) as f:
            lines = f.read().splitlines()
        start = lines.index('[[local|localrc]]') + 1
        section = []
        for line in lines[start:]:
            if line.startswith('[['):
                break
            section.append(line)
        # The test's password, to find it where it must not be.
        section.append('ADMIN_PASSWORD=%s' % PASSWORD)
        self.localrc('\n'.join(section) + '\n' + textwrap.dedent(extra))

    def run_stack(self, mode='stack', check=True):
        proc = subprocess.run(
            ['bash', os.path.join(STANDIN_DIR, 'stack.sh'), mode],
            env=self.env(), capture_output=True, text=True, timeout=120)
        if check:
            self.assertEqual(0, proc.returncode, 'stack.sh %s failed:\n%s' % (
                mode, proc.stderr[-4000:]))
        return proc

    def calls(self):
        path = os.path.join(self.work, 'calls.log')
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [line.split() for line in f.read().splitlines()]

    def units(self):
        path = os.path.join(self.work, 'systemd')
        return sorted(os.listdir(path)) if os.path.isdir(path) else []

    def read_ini(self, path):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str
        parser.read(path)
        return parser

    def load_nova_conf(self, path=None):
        """nova.conf through nova's oslo.config CONF, with our options."""
        conf = nova.conf.CONF
        self.addCleanup(conf.reset)
        ovirt_conf.register_opts(conf)
        conf.reset()
        conf(['--config-file', path or self.nova_conf], project='nova',
             default_config_files=[], default_config_dirs=[])
        for pool in conf.ovirt.pools:
            ovirt_conf.register_pool_common_opts(conf, pool)
            group = ovirt_conf.pool_group_name(pool)
            backend = conf[group].backend
            ovirt_conf.register_pool_backend_opts(
                conf, pool, ovirt_conf.OVIRT_POOL_OPTS
                if backend == 'ovirt' else ovirt_conf.LIBVIRT_POOL_OPTS)
        return conf

    def preflight(self):
        """nova-ovirt-status on the nova.conf: (exit code, JSON report)."""
        stdout, stderr = io.StringIO(), io.StringIO()
        nova.conf.CONF.reset()
        with fixtures.MonkeyPatch('sys.stdout', stdout), \
                fixtures.MonkeyPatch('sys.stderr', stderr):
            rc = status.main(['--config-file', self.nova_conf,
                              '--format', 'json'])
        out = stdout.getvalue()
        self.assertIn(rc, (0, 1), 'preflight failed (%s):\n%s\n%s' % (
            rc, out, stderr.getvalue()))
        return rc, json.loads(out)

    def tempest_flags(self):
        """{(section, option): bool} of tempest.conf."""
        parser = self.read_ini(self.tempest_conf)
        return {(section, key): parser.getboolean(section, key)
                for section in parser.sections()
                for key in parser.options(section)}

    def expected_tempest_flags(self, backends):
        return {(support.TEMPEST_SECTIONS.get(
            k, 'compute-feature-enabled'), k): v
            for k, v in support.tempest_flags(backends).items()}

    def assertSimServing(self):
        self.assertTrue(port_open(self.port),
                        'no simulator on port %d' % self.port)

    def assertNoSimulator(self):
        self.assertNotIn(SIM_UNIT, self.units())
        self.assertFalse(port_open(self.port))
        self.assertFalse(os.path.exists(self.sim_dir))

    # -- the three documented local.conf setups ---------------------------

    def test_simulator_only(self):
        """devstack/samples/simulator-only.conf."""
        self.sample_localrc('simulator-only')
        self.run_stack()
        self.assertIn(['setup_develop', ROOT], self.calls())
        self.assertIn(['pip_install', os.path.join(ROOT, 'ovirt_engine_sim')],
                      self.calls())
        self.assertSimServing()
        conf = self.load_nova_conf()
        self.assertEqual('ovirt.OvirtDriver', conf.compute_driver)
        self.assertEqual(['sim'], conf.ovirt.pools)
        pool = conf['ovirt_pool:sim']
        self.assertEqual('https://127.0.0.1:%d/ovirt-engine/api' % self.port,
                         pool.url)
        self.assertEqual(PASSWORD, pool.password)
        self.assertTrue(os.path.exists(pool.ca_file))
        self.assertEqual(['cluster1', 'cluster2'], pool.clusters)
        rc, report = self.preflight()
        text = json.dumps(report)
        for cluster in ('cluster1', 'cluster2'):
            self.assertIn(cluster, text)
        self.assertEqual(self.expected_tempest_flags(['ovirt']),
                         self.tempest_flags())

        # unstack stops the simulator; clean removes its state.
        self.run_stack('unstack')
        deadline = time.monotonic() + 10
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertFalse(port_open(self.port), 'simulator still serving')
        self.run_stack('clean')
        self.assertFalse(os.path.exists(self.sim_dir))

    def test_real_engine(self):
        """devstack/samples/real-engine.conf: no simulator."""
        self.sample_localrc('real-engine')
        started = time.monotonic()
        self.run_stack()
        self.assertLess(time.monotonic() - started, 30)
        self.assertNoSimulator()
        conf = self.load_nova_conf()
        self.assertEqual(['engine1'], conf.ovirt.pools)
        pool = conf['ovirt_pool:engine1']
        self.assertEqual('nova@internal', pool.username)
        self.assertEqual(['production', 'batch'], pool.clusters)
        self.assertNotIn('install_libvirt', [c[0] for c in self.calls()])

    def test_libvirt_hosts_only(self):
        """devstack/samples/libvirt-only.conf (libvirt's test driver as the
        host, so that the preflight check can reach it)."""
        self.sample_localrc('libvirt-only', '''
            OVIRT_LIBVIRT_URIS=test:///default
        ''')
        self.run_stack()
        self.assertNoSimulator()
        conf = self.load_nova_conf()
        self.assertEqual(['kvm'], conf.ovirt.pools)
        self.assertEqual(['test:///default'], conf['ovirt_pool:kvm'].uris)
        rc, report = self.preflight()
        self.assertIn('"kvm"', json.dumps(report))
        self.assertEqual(self.expected_tempest_flags(['libvirt']),
                         self.tempest_flags())

    # -- the defects of issue 9, section 2 --------------------------------

    def test_settings_require_no_plugin_named_nova(self):
        # nova is not a plugin: devstack's Zuul role that writes
        # local.conf resolves plugin_requires names to plugins.
        with open(os.path.join(PLUGIN_DIR, 'settings')) as f:
            required = [line.split()[1:] for line in f
                        if line.startswith('plugin_requires')]
        self.assertEqual([], [r for r in required if 'nova' in r[1:]])

    def test_tempest_config_uses_the_global_venv(self):
        # settings are read before stack.sh switches $PYTHON to its
        # global venv; the system python has no nova_ovirt.
        proc = subprocess.run([self.system_python, '-c', 'import nova_ovirt'],
                              capture_output=True, env=self.env())
        self.assertNotEqual(0, proc.returncode)
        self.localrc('''
            OVIRT_SIM=False
            OVIRT_POOLS=kvm
        ''')
        self.run_stack()
        self.assertIn(('compute-feature-enabled', 'pause'),
                      self.tempest_flags())

    def test_tempest_flag_sections(self):
        self.localrc('''
            OVIRT_POOLS=sim,kvm
            OVIRT_LIBVIRT_URIS=test:///default
        ''')
        self.run_stack()
        flags = self.tempest_flags()
        self.assertIn(('volume-feature-enabled', 'extend_attached_volume'),
                      flags)
        self.assertNotIn(('compute-feature-enabled', 'extend_attached_volume'),
                         flags)
        # The oVirt backend ignores hw_rescue_bus/hw_rescue_device.
        self.assertFalse(flags[('compute-feature-enabled', 'stable_rescue')])
        self.assertFalse(flags[('compute-feature-enabled', 'shelve_migrate')])
        self.assertEqual(self.expected_tempest_flags(['ovirt', 'libvirt']),
                         flags)

    def test_domain_type_follows_devstacks_qemu_fallback(self):
        # VIRT_DRIVER=libvirt on a host without /dev/kvm: devstack's
        # configure_nova switches LIBVIRT_TYPE to qemu before post-config.
        self.localrc('''
            OVIRT_SIM=False
            OVIRT_POOLS=kvm
        ''')
        self.host_has_kvm = False
        self.run_stack()
        self.assertEqual('qemu', self.load_nova_conf()['ovirt_pool:kvm']
                         .domain_type)

    def test_virt_driver_ovirt_installs_libvirtd_and_checks_kvm(self):
        self.localrc('''
            VIRT_DRIVER=ovirt
            OVIRT_SIM=False
            OVIRT_POOLS=kvm
            OVIRT_KVM_DEVICE=/nonexistent/kvm
        ''')
        self.run_stack()
        self.assertIn(['install_libvirt'], self.calls())
        self.assertEqual('qemu', self.load_nova_conf()['ovirt_pool:kvm']
                         .domain_type)

    def test_disabled_simulator_service_means_no_sim_pool(self):
        self.localrc('''
            disable_service ovirt-engine-sim
        ''')
        started = time.monotonic()
        proc = self.run_stack()
        self.assertLess(time.monotonic() - started, 30)
        self.assertNoSimulator()
        self.assertEqual(['kvm'], self.load_nova_conf().ovirt.pools)
        self.assertNotIn('Attempt to enable_service', proc.stderr)

    def test_ovirt_sim_false_means_no_sim_pool(self):
        self.localrc('''
            OVIRT_SIM=False
        ''')
        self.run_stack()
        self.assertNoSimulator()
        self.assertEqual(['kvm'], self.load_nova_conf().ovirt.pools)

    def test_sim_pool_without_simulator_is_refused(self):
        self.localrc('''
            OVIRT_SIM=False
            OVIRT_POOLS=sim,kvm
        ''')
        proc = self.run_stack(check=False)
        self.assertNotEqual(0, proc.returncode)
        self.assertIn("names the pool 'sim' but the ovirt-engine-sim "
                      "service is disabled", proc.stderr)

    def test_bad_boolean_falls_back_to_the_default(self):
        # devstack's trueorfalse returns the default for a bad value.
        self.localrc('''
            OVIRT_SIM=maybe
            OVIRT_POOLS=sim
        ''')
        self.run_stack()
        self.assertSimServing()

    def test_stack_again_without_unstack(self):
        self.localrc('''
            OVIRT_POOLS=sim
        ''')
        self.run_stack()
        self.assertSimServing()
        self.run_stack()
        self.assertSimServing()
        rc, report = self.preflight()
        self.assertIn('cluster1', json.dumps(report))

    def test_simulator_password_not_on_its_command_line(self):
        self.localrc('''
            OVIRT_POOLS=sim
        ''')
        self.run_stack()
        unit = self.read_ini(os.path.join(self.work, 'systemd', SIM_UNIT))
        exec_start = unit['Service']['ExecStart']
        self.assertNotIn(PASSWORD, exec_start)
        self.assertIn('--password-file', exec_start)
        password_file = exec_start.split('--password-file ')[1].split()[0]
        self.assertEqual(0o600, stat.S_IMODE(os.stat(password_file).st_mode))
        with open(os.path.join(self.work, 'systemd-state',
                               SIM_UNIT + '.pid')) as f:
            pid = int(f.read())
        # The simulator's own process and its children.
        cmdlines = subprocess.run(['ps', '-o', 'args=', '--ppid', str(pid),
                                   '-p', str(pid)], capture_output=True,
                                  text=True).stdout
        self.assertIn('--password-file', cmdlines)
        self.assertNotIn(PASSWORD, cmdlines)

    def test_packages_in_devstack_files(self):
        # devstack's install_prereqs reads devstack/files/{debs,rpms}/<plugin>.
        for kind, must in (('debs', 'libvirt-dev'), ('rpms', 'libvirt-devel')):
            with open(os.path.join(PLUGIN_DIR, 'files', kind,
                                   'nova-ovirt')) as f:
                packages = f.read().split()
            self.assertIn(must, packages)
            self.assertIn('genisoimage', packages)
        with open(os.path.join(PLUGIN_DIR, 'plugin.sh')) as f:
            self.assertNotIn('install_package', f.read())

    def test_controller_without_n_cpu_runs_no_simulator(self):
        self.localrc('''
            ENABLED_SERVICES=n-api,n-cond,n-sch
        ''')
        self.run_stack()
        self.assertNoSimulator()
        conf = self.read_ini(self.nova_conf)
        self.assertNotIn('compute_driver', conf['DEFAULT'])

    def test_sim_port_taken(self):
        """A foreign process on the port: post-config dies, clearly."""
        blocker = socket.socket()
        blocker.bind(('127.0.0.1', self.port))
        blocker.listen(128)
        self.addCleanup(blocker.close)
        self.localrc('''
            OVIRT_POOLS=sim
        ''')
        proc = self.run_stack(check=False)
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('OVIRT_SIM_LISTEN=127.0.0.1:%d: the port is in use'
                      % self.port, proc.stderr)

    # -- topology ----------------------------------------------------------

    def test_one_compute_service_per_pool(self):
        """OVIRT_SERVICE_PER_POOL=True: n-cpu has the first pool, a second
        nova-compute (own host, own state_path) the next one."""
        self.sample_localrc('service-per-pool', '''
            OVIRT_LIBVIRT_URIS=test:///default
        ''')
        self.run_stack()
        self.assertEqual(['sim'], self.load_nova_conf().ovirt.pools)
        self.assertIn('devstack@n-cpu-kvm.service', self.units())
        unit = self.read_ini(os.path.join(self.work, 'systemd',
                                          'devstack@n-cpu-kvm.service'))
        kvm_conf = os.path.join(os.path.dirname(self.nova_conf),
                                'nova-cpu-kvm.conf')
        self.assertIn('--config-file %s' % kvm_conf,
                      unit['Service']['ExecStart'])
        conf = self.load_nova_conf(kvm_conf)
        self.assertEqual('devstack1-kvm', conf.host)
        self.assertEqual(os.path.join(self.data, 'nova-kvm'), conf.state_path)
        self.assertEqual(['kvm'], conf.ovirt.pools)
        self.assertEqual(['test:///default'], conf['ovirt_pool:kvm'].uris)
        self.run_stack('unstack')
        self.assertIn(['systemctl', 'stop', 'devstack@n-cpu-kvm.service'],
                      self.calls())
