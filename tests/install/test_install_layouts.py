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

"""``compute_driver = ovirt.OvirtDriver`` loads under each install layout.

Each test builds a throwaway virtualenv, installs nova 34 (from its sdist,
downloaded once from the package index and cached under .test-logs/) and
the driver (a wheel built from this tree, or an editable install) the way
a deployment does, then runs, inside that virtualenv, nova's own
``nova.virt.driver.load_compute_driver`` and ``nova-manage --version``.

Layouts (doc/source/install.rst has a guide for each):

* wheel: nova and the driver as wheels in one venv (Kolla, OpenStack-Ansible);
* editable: nova and the driver installed with ``pip install -e`` (devstack);
* split: nova in one site directory (a distribution's dist-packages), the
  driver in another one earlier on ``sys.path`` (``pip install`` to
  /usr/local).

Nova's dependencies are not installed again: each venv sees the test
runner's site-packages, minus nova and nova-ovirt, through a site
directory of symlinks, so nothing but nova's sdist is downloaded.
"""

import glob
import json
import os
import shutil
import site
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import venv

import testtools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CACHE = os.path.join(ROOT, '.test-logs', 'install-layouts')
NOVA_VERSION = '34.0.0'
#: What nova 34's pyproject.toml needs to build (its PEP 639 license string
#: needs setuptools >= 77).
NOVA_BUILD_DEPS = ('pbr==7.0.3', 'setuptools==80.9.0')


#: Run inside each venv: nova's loader with one libvirt pool (libvirt's
#: built-in test driver), and where nova came from.
PROBE = textwrap.dedent('''
    import json, sys
    from nova import config
    from nova.virt import driver
    import nova, nova.virt
    config.parse_args(['probe', '--config-file', sys.argv[1]])
    loaded = driver.load_compute_driver(None)
    print(json.dumps({
        'driver': type(loaded).__module__ + '.' + type(loaded).__name__,
        'nova_file': nova.__file__,
        'nova_virt_path': list(nova.virt.__path__),
        'nodes': sorted(loaded.get_available_nodes()),
    }))
''')

NOVA_CONF = textwrap.dedent('''
    [DEFAULT]
    compute_driver = ovirt.OvirtDriver
    state_path = {state}
    [ovirt]
    pools = kvm
    [ovirt_pool:kvm]
    backend = libvirt
    uris = test:///default
''')


def clean_env():
    """The environment without the test runner's PYTHONPATH: each venv
    must see only what is installed in it."""
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    return env


def run(cmd, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          env=clean_env(), **kwargs)
    if proc.returncode:
        raise AssertionError('%s failed (%d):\n%s\n%s' % (
            ' '.join(cmd), proc.returncode, proc.stdout[-2000:],
            proc.stderr[-4000:]))
    return proc.stdout


def pip(python, *args):
    # The runner's pip drives the throwaway venv (pip --python), so the
    # venvs need no pip of their own.
    return run([sys.executable, '-m', 'pip', '--python', python, '-q',
                '--disable-pip-version-check'] + list(args))


def build_deps():
    """nova's build requirements (pbr, and a setuptools that reads its
    pyproject.toml), downloaded once: nova builds in an isolated build
    environment from these wheels only."""
    path = os.path.join(CACHE, 'build-deps')
    if not glob.glob(os.path.join(path, 'setuptools-*.whl')):
        pip(sys.executable, 'download', '-d', path, *NOVA_BUILD_DEPS)
    return ['--no-index', '--find-links', path]


def nova_sdist():
    """nova's sdist from the package index, downloaded once."""
    os.makedirs(CACHE, exist_ok=True)
    found = glob.glob(os.path.join(CACHE, 'nova-%s.tar.gz' % NOVA_VERSION))
    if not found:
        pip(sys.executable, 'download', '--no-deps', '--no-binary', ':all:',
            '-d', CACHE, 'nova==%s' % NOVA_VERSION)
        found = glob.glob(os.path.join(
            CACHE, 'nova-%s.tar.gz' % NOVA_VERSION))
    return found[0]


def runner_site_packages():
    return [p for p in site.getsitepackages() if os.path.isdir(p)][0]


def make_deps_site(path):
    """A site directory of symlinks to the runner's site-packages, minus
    the distributions the tests install themselves."""
    os.makedirs(path)
    source = runner_site_packages()
    for name in os.listdir(source):
        base = name.split('-')[0].split('.')[0].lower()
        if base in ('nova', 'nova_ovirt', 'ovirt_engine_sim'):
            continue
        if name.startswith('__editable__') or name == 'nova-ovirt.pth':
            continue
        os.symlink(os.path.join(source, name), os.path.join(path, name))


class InstallLayoutsTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix='nova-ovirt-layouts-')
        cls.deps = os.path.join(cls.tmp, 'deps')
        make_deps_site(cls.deps)
        cls.sdist = nova_sdist()
        cls.wheels = os.path.join(cls.tmp, 'wheels')
        # The driver's wheel, built once from this tree.
        pip(sys.executable, 'wheel', '--no-deps', '--no-build-isolation',
            '-w', cls.wheels, ROOT)
        cls.driver_wheel = glob.glob(
            os.path.join(cls.wheels, 'nova_ovirt-*.whl'))[0]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    # -- helpers ----------------------------------------------------------

    def nova_wheel(self):
        """nova's wheel built from its sdist, cached next to the sdist."""
        found = glob.glob(os.path.join(
            CACHE, 'nova-%s-*.whl' % NOVA_VERSION))
        if not found:
            pip(sys.executable, 'wheel', '--no-deps', *build_deps(),
                '-w', CACHE, self.sdist)
            found = glob.glob(os.path.join(
                CACHE, 'nova-%s-*.whl' % NOVA_VERSION))
        return found[0]

    def make_venv(self, name):
        path = os.path.join(self.tmp, name)
        venv.EnvBuilder(with_pip=False).create(path)
        python = os.path.join(path, 'bin', 'python')
        purelib = run([python, '-c',
                       'import sysconfig; print(sysconfig.get_path("purelib"))'
                       ]).strip()
        # Last in sort order, so the venv's own site-packages (and
        # anything a test adds before it) come first on sys.path.
        self.add_site_dir(purelib, 'zz-runner-deps', self.deps)
        return path, python, purelib

    def add_site_dir(self, purelib, pth_name, directory):
        with open(os.path.join(purelib, pth_name + '.pth'), 'w') as f:
            f.write('import site; site.addsitedir(%r)\n' % directory)

    def probe(self, python, venv_path):
        conf = os.path.join(venv_path, 'nova.conf')
        with open(conf, 'w') as f:
            f.write(NOVA_CONF.format(state=os.path.join(venv_path, 'state')))
        return json.loads(run([python, '-c', PROBE, conf],
                              cwd=venv_path).splitlines()[-1])

    def assertLoads(self, python, venv_path, nova_dir, nova_manage):
        """nova's loader finds the driver; nova is nova_dir's package."""
        found = self.probe(python, venv_path)
        self.assertEqual('nova_ovirt.driver.OvirtDriver', found['driver'])
        # libvirt's test:///default host is named 'vm'.
        self.assertEqual(['vm'], found['nodes'])
        # nova stays a regular package from its own install, and
        # nova.virt has nova's directory only: the driver added nothing.
        self.assertEqual(os.path.join(nova_dir, 'nova', '__init__.py'),
                         os.path.realpath(found['nova_file']))
        self.assertEqual([os.path.join(nova_dir, 'nova', 'virt')],
                         [os.path.realpath(p)
                          for p in found['nova_virt_path']])
        out = run([python, nova_manage, '--version'], cwd=venv_path)
        self.assertEqual(NOVA_VERSION, out.strip())

    # -- the layouts ------------------------------------------------------

    def test_wheels_in_one_venv(self):
        path, python, purelib = self.make_venv('wheel')
        pip(python, 'install', '--no-deps', '--no-index', self.nova_wheel(),
            self.driver_wheel)
        self.assertLoads(python, path, os.path.realpath(purelib),
                         os.path.join(path, 'bin', 'nova-manage'))

    def test_editable_nova_and_driver(self):
        # devstack: nova from its source tree with pip install -e, and the
        # driver with setup_develop (pip install -e) too.
        path, python, purelib = self.make_venv('editable')
        with tarfile.open(self.sdist) as tar:
            tar.extractall(os.path.join(self.tmp, 'src'), filter='data')
        nova_src = os.path.join(self.tmp, 'src', 'nova-%s' % NOVA_VERSION)
        pip(python, 'install', '--no-deps', *build_deps(), '-e', nova_src)
        pip(python, 'install', '--no-deps', '--no-build-isolation',
            '-e', ROOT)
        self.assertLoads(python, path, nova_src,
                         os.path.join(path, 'bin', 'nova-manage'))

    def test_split_site_directories(self):
        # A distribution's nova in one site directory, the driver from
        # pip in the venv's own site-packages, earlier on sys.path.
        path, python, purelib = self.make_venv('split')
        dist_packages = os.path.join(path, 'dist-packages')
        pip(python, 'install', '--no-deps', '--no-index',
            '--target', dist_packages, self.nova_wheel())
        self.add_site_dir(purelib, 'distribution-nova', dist_packages)
        pip(python, 'install', '--no-deps', '--no-index', self.driver_wheel)
        self.assertLoads(python, path, dist_packages,
                         os.path.join(dist_packages, 'bin', 'nova-manage'))
