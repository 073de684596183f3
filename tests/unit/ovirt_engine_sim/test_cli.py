"""The console script as a subprocess."""

import os
import signal
import socket
import subprocess
import sys

import fixtures
import ovirtsdk4 as sdk
import testtools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _cmd(*args):
    return [sys.executable, '-m', 'ovirt_engine_sim'] + list(args)


def _env():
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    return env


class CliTest(testtools.TestCase):

    def test_serve_and_sigterm(self):
        state = self.useFixture(fixtures.TempDir()).path
        proc = subprocess.Popen(_cmd('--listen', '127.0.0.1:0', '--state-dir', state,
                                     '--persist'),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=ROOT, env=_env(), text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        url = proc.stdout.readline().strip()
        ca = proc.stdout.readline().strip()
        self.assertTrue(url.startswith('URL: https://127.0.0.1:'), url)
        self.assertTrue(ca.startswith('CA: '), ca)
        url, ca = url[5:], ca[4:]
        self.assertEqual(os.path.join(state, 'ca.pem'), ca)
        with open(os.path.join(state, 'nova-ovirt.conf')) as f:
            conf = f.read()
        self.assertIn('url = %s' % url, conf)
        self.assertIn('[ovirt_pool:engine1]', conf)
        conn = sdk.Connection(url=url, username='admin@internal', password='secret',
                              ca_file=ca)
        self.assertEqual(2, len(conn.system_service().clusters_service().list()))
        conn.close()
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(0, proc.wait(20))
        self.assertTrue(os.path.exists(os.path.join(state, 'state.json')))

    def test_port_in_use(self):
        sock = socket.socket()
        self.addCleanup(sock.close)
        sock.bind(('127.0.0.1', 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        proc = subprocess.run(_cmd('--listen', '127.0.0.1:%d' % port),
                              capture_output=True, cwd=ROOT, env=_env(), text=True,
                              timeout=30)
        self.assertEqual(2, proc.returncode)
        lines = proc.stderr.strip().splitlines()
        self.assertEqual(1, len(lines), proc.stderr)
        self.assertIn('in use', lines[0])

    def test_bad_args(self):
        proc = subprocess.run(_cmd('--scenario', 'nope'), capture_output=True, cwd=ROOT,
                              env=_env(), text=True, timeout=30)
        self.assertEqual(2, proc.returncode)
        self.assertEqual(1, len(proc.stderr.strip().splitlines()), proc.stderr)
