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

"""The documentation builds offline with warnings as errors (tox -e docs)."""

import os
import subprocess
import sys
import tempfile

import testtools

import nova_ovirt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(nova_ovirt.__file__)))


class DocsTestCase(testtools.TestCase):

    def test_docs_build_without_warnings(self):
        with tempfile.TemporaryDirectory() as out:
            result = subprocess.run(
                [sys.executable, '-m', 'sphinx', '-q', '-E', '-W', '-b',
                 'html', os.path.join(ROOT, 'doc', 'source'), out],
                cwd=ROOT, capture_output=True, text=True)
        self.assertEqual(0, result.returncode,
                         'sphinx-build failed:\n%s' % result.stderr)
