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

"""The documentation builds offline with warnings as errors (tox -e docs).

The support matrix page is generated from ``nova_ovirt/support.py`` and the
committed evidence record ``doc/source/support-evidence.json``: the build
fails when a claimed method has no evidence there.
"""

import json
import os
import subprocess
import sys
import tempfile

import testtools

import nova_ovirt
from nova_ovirt import support

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

    def test_evidence_record_names_backends_methods_and_tests(self):
        path = os.path.join(ROOT, 'doc', 'source', 'support-evidence.json')
        with open(path) as f:
            record = json.load(f)
        self.assertTrue(set(record['tiers']) <= {
            'functional-threading', 'functional-eventlet', 'live'},
            record['tiers'])
        methods = support.driver_methods()
        for backend, reached in record['backends'].items():
            self.assertIn(backend, support.SUPPORT)
            self.assertEqual([], sorted(set(reached) - set(methods)),
                             'not ComputeDriver methods')
            for method, tiers in reached.items():
                self.assertTrue(set(tiers) <= set(support.EVIDENCE_TIERS),
                                '%s %s: %s' % (backend, method, tiers))
                for tests in tiers.values():
                    self.assertTrue(all(t.startswith('tests.') for t in
                                        tests), tests)
