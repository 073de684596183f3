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

import os
import re
import subprocess
import sys
import tempfile

import testtools

import nova_ovirt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(nova_ovirt.__file__)))


class PackagingTestCase(testtools.TestCase):

    def test_shim_reexports_the_driver(self):
        # nova imports 'nova.virt.' + CONF.compute_driver.
        from nova.virt import ovirt as shim
        from nova_ovirt import driver
        self.assertIs(driver.OvirtDriver, shim.OvirtDriver)

    def test_no_eventlet_import_in_the_driver(self):
        # nova 34's threading mode makes 'import eventlet' raise.
        pattern = re.compile(r'^\s*(import eventlet|from eventlet)', re.M)
        offenders = []
        for top, _, files in os.walk(os.path.join(ROOT, 'nova_ovirt')):
            for name in files:
                if name.endswith('.py'):
                    path = os.path.join(top, name)
                    with open(path) as f:
                        if pattern.search(f.read()):
                            offenders.append(path)
        self.assertEqual([], offenders)

    def test_the_driver_never_imports_the_simulator(self):
        # The engine simulator is a test tool with its own distribution;
        # the driver's wheel neither carries nor needs it.
        pattern = re.compile(r'^\s*(import|from) ovirt_engine_sim', re.M)
        offenders = []
        for top, _, files in os.walk(os.path.join(ROOT, 'nova_ovirt')):
            for name in files:
                if name.endswith('.py'):
                    path = os.path.join(top, name)
                    with open(path) as f:
                        if pattern.search(f.read()):
                            offenders.append(path)
        self.assertEqual([], offenders)
        with open(os.path.join(ROOT, 'setup.cfg')) as f:
            self.assertNotIn('ovirt_engine_sim', f.read())

    def test_we_ship_no_nova_package_init(self):
        self.assertFalse(os.path.exists(
            os.path.join(ROOT, 'nova', '__init__.py')))
        self.assertFalse(os.path.exists(
            os.path.join(ROOT, 'nova', 'virt', '__init__.py')))

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
