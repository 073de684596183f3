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

"""The driver loads the way nova loads it, and its sample config is fresh."""

import importlib
import importlib.machinery
import os
import re
import subprocess
import sys
import tempfile
import zipfile

import fixtures
import testtools

import nova_ovirt
from nova_ovirt import driver
import nova_ovirt_loading as loading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(nova_ovirt.__file__)))


def driver_files_matching(pattern):
    """The .py files under nova_ovirt/ whose text matches `pattern`."""
    found = []
    for top, _, files in os.walk(os.path.join(ROOT, 'nova_ovirt')):
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(top, name)
                with open(path) as f:
                    if pattern.search(f.read()):
                        found.append(path)
    return found


class PackagingTestCase(testtools.TestCase):

    def test_finder_serves_nova_virt_ovirt_only(self):
        # nova imports 'nova.virt.' + CONF.compute_driver; nothing else of
        # nova's may resolve differently once the driver is installed.
        finder = loading.DriverModuleFinder()
        for name in ('nova', 'nova.virt', 'nova.virt.libvirt',
                     'nova.virt.ovirt.driver', 'nova_ovirt'):
            self.assertIsNone(finder.find_spec(name, None), name)
        self.assertEqual('nova.virt.ovirt',
                         finder.find_spec('nova.virt.ovirt', None).name)

    def test_nova_virt_ovirt_is_the_driver(self):
        self.useFixture(fixtures.MonkeyPatch(
            'sys.meta_path', list(sys.meta_path)))
        self.useFixture(fixtures.MonkeyPatch(
            'sys.modules', dict(sys.modules)))
        sys.modules.pop('nova.virt.ovirt', None)
        loading.install()
        loading.install()  # once per process, however often .pth files run
        self.assertEqual(1, sum(isinstance(f, loading.DriverModuleFinder)
                                for f in sys.meta_path))
        # Ahead of the path-based finder, so that a stale nova/virt/ovirt
        # directory of an old release can never shadow the driver.
        ours = [i for i, f in enumerate(sys.meta_path)
                if isinstance(f, loading.DriverModuleFinder)]
        path_finder = sys.meta_path.index(importlib.machinery.PathFinder)
        self.assertLess(ours[0], path_finder)
        module = importlib.import_module('nova.virt.ovirt')
        self.assertIs(driver.OvirtDriver, module.OvirtDriver)

    def test_wheel_installs_the_hook(self):
        with tempfile.TemporaryDirectory() as out:
            subprocess.run(
                [sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                 '--no-build-isolation', '-w', out, ROOT],
                check=True, capture_output=True)
            [wheel] = os.listdir(out)
            with zipfile.ZipFile(os.path.join(out, wheel)) as zf:
                names = zf.namelist()
                pth = zf.read('nova-ovirt.pth').decode()
        self.assertEqual(
            'import nova_ovirt_loading; nova_ovirt_loading.install()\n', pth)
        # Nothing inside nova's own package tree.
        self.assertEqual([], [n for n in names if n.startswith('nova/')])

    def test_no_eventlet_import_in_the_driver(self):
        # nova 34's threading mode makes 'import eventlet' raise.
        pattern = re.compile(r'^\s*(import eventlet|from eventlet)', re.M)
        self.assertEqual([], driver_files_matching(pattern))

    def test_the_driver_never_imports_the_simulator(self):
        # The engine simulator is a test tool with its own distribution;
        # the driver's wheel neither carries nor needs it.
        pattern = re.compile(r'^\s*(import|from) ovirt_engine_sim', re.M)
        self.assertEqual([], driver_files_matching(pattern))
        with open(os.path.join(ROOT, 'setup.cfg')) as f:
            self.assertNotIn('ovirt_engine_sim', f.read())

    def test_we_ship_no_nova_package(self):
        # A nova/ directory here would be a namespace portion of nova:
        # see nova_ovirt_loading/__init__.py.
        self.assertFalse(os.path.exists(os.path.join(ROOT, 'nova')))

    def test_sample_config_is_current(self):
        committed = os.path.join(ROOT, 'etc', 'nova',
                                 'nova-ovirt.conf.sample')
        with tempfile.TemporaryDirectory() as tmp:
            fresh = os.path.join(tmp, 'sample')
            subprocess.run(
                [sys.executable, '-m', 'oslo_config.generator',
                 '--namespace', 'nova_ovirt', '--wrap-width', '79',
                 '--output-file', fresh], check=True, cwd=ROOT)
            with open(fresh) as f, open(committed) as g:
                self.assertEqual(
                    f.read(), g.read(),
                    'etc/nova/nova-ovirt.conf.sample is stale: run '
                    'tox -e genconfig')
