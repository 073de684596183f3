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

Each test sources a small stand-in of devstack's functions (``iniset``
writes real ini files, ``run_process``/``stop_process`` really start and
stop the engine simulator on a free port; ``setup_develop`` and
``install_package`` only record their calls), then ``devstack/settings``,
then runs the plugin's phases as devstack does (``source plugin.sh stack
pre-install`` ... ``unstack``, ``clean``). The nova.conf the plugin writes
must load with oslo.config (nova's options and the driver's), pass the
preflight check (``nova-ovirt-status``) against the simulator it started,
and tempest's feature flags must follow :mod:`nova_ovirt.support`.
"""

import configparser
import io
import json
import os
import signal
import socket
import subprocess
import sys
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
PASSWORD = 'devstack-secret'

#: devstack's functions, as far as the plugin uses them.
FAKE_DEVSTACK = r'''
CALLS=$WORK/calls.log
_record() { echo "$*" >> "$CALLS"; }

iniset() {
    # iniset [-sudo] FILE SECTION OPTION VALUE
    [[ "$1" == "-sudo" ]] && shift
    "$TEST_PYTHON" "$WORK/iniset.py" "$@"
}
is_service_enabled() {
    local s
    for s in "$@"; do
        [[ ",$ENABLED_SERVICES," == *",$s,"* ]] && return 0
    done
    return 1
}
enable_service() {
    local s
    for s in "$@"; do
        is_service_enabled "$s" || ENABLED_SERVICES+=",$s"
    done
}
trueorfalse() {
    local default=$1 name=$2 value
    value=${!name:-}
    [[ -z "$value" ]] && { echo "$default"; return; }
    case "$value" in
        1|yes|Yes|YES|true|True|TRUE|on|On|ON) echo True ;;
        0|no|No|NO|false|False|FALSE|off|Off|OFF) echo False ;;
        *) die $LINENO "$name has an invalid value: $value" ;;
    esac
}
define_plugin() { _record define_plugin "$@"; }
plugin_requires() { _record plugin_requires "$@"; }
setup_develop() { _record setup_develop "$@"; }
install_package() { _record install_package "$@"; }
run_process() {
    local name=$1 command=$2
    _record run_process "$name"
    setsid bash -c "exec $command" > "$WORK/$name.log" 2>&1 < /dev/null &
    echo $! > "$WORK/$name.pid"
}
stop_process() {
    local name=$1 pid
    _record stop_process "$name"
    [[ -f "$WORK/$name.pid" ]] || return 0
    pid=$(cat "$WORK/$name.pid")
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    rm -f "$WORK/$name.pid"
}
die() {
    local line=$1
    shift
    echo "die at line $line: $*" >&2
    exit 1
}
'''

INISET_PY = r'''
import configparser, sys
path, section, option, value = sys.argv[1:5]
parser = configparser.ConfigParser(interpolation=None,
                                   default_section='__no_default__')
parser.optionxform = str
parser.read(path)
if not parser.has_section(section):
    parser.add_section(section)
parser.set(section, option, value)
with open(path, 'w') as f:
    parser.write(f)
'''


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


class DevstackPluginTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.work = self.useFixture(fixtures.TempDir()).path
        self.port = free_port()
        with open(os.path.join(self.work, 'functions'), 'w') as f:
            f.write(FAKE_DEVSTACK)
        with open(os.path.join(self.work, 'iniset.py'), 'w') as f:
            f.write(INISET_PY)
        self.nova_conf = os.path.join(self.work, 'etc', 'nova', 'nova.conf')
        self.tempest_conf = os.path.join(self.work, 'tempest.conf')
        os.makedirs(os.path.dirname(self.nova_conf))
        # What devstack's nova has written before the plugin's post-config.
        with open(self.nova_conf, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\n' % os.path.join(
                self.work, 'nova-state'))
        self.sim_dir = os.path.join(self.work, 'data', 'ovirt-engine-sim')
        self.addCleanup(self._kill_sim)

    def _kill_sim(self):
        pid_file = os.path.join(self.work, 'ovirt-engine-sim.pid')
        if os.path.exists(pid_file):
            with open(pid_file) as f:
                pid = int(f.read())
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass

    def env(self, **settings):
        env = dict(os.environ)
        bin_dir = os.path.dirname(sys.executable)
        env.update({
            'PATH': bin_dir + os.pathsep + env.get('PATH', ''),
            'WORK': self.work,
            'TEST_PYTHON': sys.executable,
            'PYTHON': sys.executable,
            'DEST': os.path.dirname(ROOT),
            'NOVA_OVIRT_DIR': ROOT,
            'DATA_DIR': os.path.join(self.work, 'data'),
            'NOVA_CONF': self.nova_conf,
            'TEMPEST_CONFIG': self.tempest_conf,
            'ADMIN_PASSWORD': PASSWORD,
            'LIBVIRT_TYPE': 'qemu',
            'ENABLED_SERVICES': 'n-cpu,n-api,tempest',
            'OVIRT_SIM_LISTEN': '127.0.0.1:%d' % self.port,
        })
        env.update(settings)
        return env

    def devstack(self, phases, **settings):
        """Run `phases` [(mode, phase)] in one bash, as stack.sh does."""
        script = ['set -eu', 'source "$WORK/functions"',
                  'source "%s/settings"' % PLUGIN_DIR]
        for phase in phases:
            script.append('source "%s/plugin.sh" %s' % (
                PLUGIN_DIR, ' '.join(phase)))
        proc = subprocess.run(
            ['bash', '-c', '\n'.join(script)], env=self.env(**settings),
            capture_output=True, text=True, timeout=60)
        self.assertEqual(0, proc.returncode,
                         'devstack phases %s failed:\n%s' % (
                             phases, proc.stderr[-3000:]))
        return proc

    def stack(self, **settings):
        return self.devstack([('stack', 'pre-install'), ('stack', 'install'),
                              ('stack', 'post-config'),
                              ('stack', 'extra'),
                              ('stack', 'test-config')], **settings)

    def calls(self):
        path = os.path.join(self.work, 'calls.log')
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [line.split() for line in f.read().splitlines()]

    def load_nova_conf(self):
        """nova.conf through nova's oslo.config CONF, with our options."""
        conf = nova.conf.CONF
        self.addCleanup(conf.reset)
        ovirt_conf.register_opts(conf)
        conf.reset()
        conf(['--config-file', self.nova_conf], project='nova',
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
        # nova's CONF is the preflight's: loaded afresh.
        nova.conf.CONF.reset()
        with fixtures.MonkeyPatch('sys.stdout', stdout), \
                fixtures.MonkeyPatch('sys.stderr', stderr):
            rc = status.main(['--config-file', self.nova_conf,
                              '--format', 'json'])
        out = stdout.getvalue()
        self.assertIn(rc, (0, 1), 'preflight failed (%s):\n%s\n%s' % (
            rc, out, stderr.getvalue()))
        self.assertNotIn(PASSWORD, out + stderr.getvalue())
        return rc, json.loads(out)

    def tempest_flags(self):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(self.tempest_conf)
        return {k: parser.getboolean('compute-feature-enabled', k)
                for k in parser.options('compute-feature-enabled')}

    def assertSimRunning(self):
        self.assertTrue(port_open(self.port),
                        'no simulator on port %d' % self.port)

    # -- tests ------------------------------------------------------------------

    def test_sim_pool(self):
        """OVIRT_POOLS=sim: the whole life of a devstack."""
        self.stack(OVIRT_POOLS='sim')
        calls = self.calls()
        self.assertIn(['define_plugin', 'nova-ovirt'], calls)
        self.assertIn(['plugin_requires', 'nova-ovirt', 'nova'], calls)
        self.assertIn(['setup_develop', ROOT], calls)
        installs = [c for c in calls if c[0] == 'install_package']
        self.assertEqual(1, len(installs))
        self.assertIn('genisoimage', installs[0])
        self.assertIn(['run_process', 'ovirt-engine-sim'], calls)
        self.assertSimRunning()

        conf = self.load_nova_conf()
        self.assertEqual('ovirt.OvirtDriver', conf.compute_driver)
        self.assertTrue(conf.allow_resize_to_same_host)
        self.assertEqual(['sim'], conf.ovirt.pools)
        pool = conf['ovirt_pool:sim']
        self.assertEqual('ovirt', pool.backend)
        self.assertEqual('https://127.0.0.1:%d/ovirt-engine/api' % self.port,
                         pool.url)
        self.assertEqual(PASSWORD, pool.password)
        self.assertEqual(os.path.join(self.sim_dir, 'ca.pem'),
                         pool.ca_file)
        self.assertTrue(os.path.exists(pool.ca_file))
        self.assertEqual(['cluster1', 'cluster2'], pool.clusters)
        self.assertEqual('data', pool.storage_domain)

        # The preflight check reaches the simulator and finds both
        # clusters.
        rc, report = self.preflight()
        text = json.dumps(report)
        for cluster in ('cluster1', 'cluster2'):
            self.assertIn(cluster, text)

        flags = self.tempest_flags()
        self.assertEqual(support.tempest_flags(['ovirt']), flags)
        self.assertFalse(flags['live_migration'])
        self.assertFalse(flags['pause'])
        self.assertFalse(flags['console_output'])
        self.assertTrue(flags['snapshot'])

        # unstack stops the simulator; clean removes its state.
        self.devstack([('unstack',)], OVIRT_POOLS='sim')
        self.assertIn(['stop_process', 'ovirt-engine-sim'], self.calls())
        deadline = time.monotonic() + 5
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertFalse(port_open(self.port), 'simulator still serving')
        self.assertTrue(os.path.isdir(self.sim_dir))
        self.devstack([('clean',)], OVIRT_POOLS='sim')
        self.assertFalse(os.path.exists(self.sim_dir))

    def test_sim_and_libvirt_pools(self):
        """OVIRT_POOLS=sim,kvm with libvirt's test driver as the host."""
        self.stack(OVIRT_POOLS='sim,kvm', OVIRT_LIBVIRT_URIS='test:///default')
        self.assertSimRunning()
        conf = self.load_nova_conf()
        self.assertEqual(['sim', 'kvm'], conf.ovirt.pools)
        kvm = conf['ovirt_pool:kvm']
        self.assertEqual('libvirt', kvm.backend)
        self.assertEqual(['test:///default'], kvm.uris)
        self.assertEqual('qemu', kvm.domain_type)
        rc, report = self.preflight()
        text = json.dumps(report)
        self.assertIn('"kvm"', text)
        self.assertIn('"sim"', text)

        flags = self.tempest_flags()
        self.assertEqual(support.tempest_flags(['ovirt', 'libvirt']), flags)
        # pause works on libvirt only: off while an oVirt pool is there.
        self.assertFalse(flags['pause'])
        self.assertFalse(flags['live_migration'])
        self.assertTrue(flags['resize'])
        self.devstack([('unstack',)], OVIRT_POOLS='sim,kvm')

    def test_libvirt_only_without_sim(self):
        """OVIRT_SIM=False, OVIRT_POOLS=kvm: no simulator, libvirt's
        flags."""
        self.stack(OVIRT_POOLS='kvm', OVIRT_SIM='False',
                   OVIRT_LIBVIRT_URIS='test:///default')
        self.assertNotIn('run_process', [c[0] for c in self.calls()])
        self.assertFalse(os.path.exists(self.sim_dir))
        conf = self.load_nova_conf()
        self.assertEqual(['kvm'], conf.ovirt.pools)
        flags = self.tempest_flags()
        self.assertEqual(support.tempest_flags(['libvirt']), flags)
        self.assertTrue(flags['pause'])
        self.assertTrue(flags['console_output'])
        # tempest runs its live migration tests with two compute services.
        self.assertTrue(flags['live_migration'])

    def test_no_tempest(self):
        """Without the tempest service the plugin leaves tempest alone."""
        self.stack(OVIRT_POOLS='kvm', OVIRT_SIM='False',
                   OVIRT_LIBVIRT_URIS='test:///default',
                   ENABLED_SERVICES='n-cpu')
        self.assertFalse(os.path.exists(self.tempest_conf))

    def test_sim_port_taken(self):
        """A port in use makes post-config die, before starting anything."""
        blocker = socket.socket()
        blocker.bind(('127.0.0.1', self.port))
        blocker.listen(1)
        self.addCleanup(blocker.close)
        script = '\n'.join([
            'set -eu', 'source "$WORK/functions"',
            'source "%s/settings"' % PLUGIN_DIR,
            'source "%s/plugin.sh" stack post-config' % PLUGIN_DIR])
        started = time.monotonic()
        proc = subprocess.run(
            ['bash', '-c', script], env=self.env(OVIRT_POOLS='sim'),
            capture_output=True, text=True, timeout=60)
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('OVIRT_SIM_LISTEN=127.0.0.1:%d: the port is in use'
                      % self.port, proc.stderr)
        self.assertLess(time.monotonic() - started, 10)
        self.assertNotIn('run_process', [c[0] for c in self.calls()])
