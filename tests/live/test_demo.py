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

"""The README's demo command keeps working: run it whole, as a user would."""

import os
import subprocess
import sys
import tempfile

import testtools

import nova_ovirt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(nova_ovirt.__file__)))
#: The demo takes about a minute on two cores; its own waits are bounded.
DEMO_TIMEOUT = 600


class DemoTestCase(testtools.TestCase):

    def test_demo_passes_every_step(self):
        with tempfile.TemporaryDirectory() as tmp:
            log_file = os.path.join(tmp, 'demo.log')
            env = dict(os.environ, OS_NOVA_DISABLE_EVENTLET_PATCHING='1')
            result = subprocess.run(
                [sys.executable, os.path.join(ROOT, 'tools', 'demo.py'),
                 '--log-file', log_file],
                cwd=ROOT, env=env, capture_output=True, text=True,
                timeout=DEMO_TIMEOUT)
        self.assertEqual(
            0, result.returncode,
            'the demo failed:\n%s\n%s' % (result.stdout[-4000:],
                                          result.stderr[-2000:]))
        self.assertIn('demo passed', result.stdout)
        self.assertIn('26 of 26 steps passed', result.stdout)
        self.assertIn('cleaned up', result.stdout)
