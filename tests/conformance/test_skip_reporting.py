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

"""The skip mechanism of :mod:`tests.conformance.base` on a stub driver."""

import testtools

from nova.tests.unit.virt import test_virt_drivers as nova_virt_tests

from nova_ovirt import support
from tests.conformance import base


class SkipReportingTestCase(testtools.TestCase):
    """The mechanism itself: a swallowed NotImplementedError is a skip."""

    class _Driver(object):
        def pause(self, instance):
            raise NotImplementedError()

        def spawn(self, *args):
            raise NotImplementedError()

    @base.honest
    class _Case(base.HonestDriverTestMixin, testtools.TestCase):
        BACKEND = 'ovirt'

        def setUp(self):
            super().setUp()
            self.connection = SkipReportingTestCase._Driver()
            self.record_not_implemented()

        @nova_virt_tests.catch_notimplementederror
        def test_missing(self):
            self.connection.pause(None)

        @nova_virt_tests.catch_notimplementederror
        def test_claimed(self):
            self.connection.spawn()

    def _run(self, name):
        result = testtools.TestResult()
        self._Case(name).run(result)
        return result

    def test_declared_missing_method_is_skipped_with_its_name(self):
        self.assertEqual(support.MISSING, support.level('ovirt', 'pause'))
        result = self._run('test_missing')
        self.assertEqual(['ovirt: pause not implemented'],
                         list(result.skip_reasons))
        self.assertTrue(result.wasSuccessful())

    def test_claimed_method_fails(self):
        self.assertIn(support.level('ovirt', 'spawn'),
                      (support.COMPLETE, support.PARTIAL))
        result = self._run('test_claimed')
        self.assertEqual(1, len(result.failures))
        self.assertIn('ovirt: spawn raised NotImplementedError',
                      str(result.failures[0][1]))
