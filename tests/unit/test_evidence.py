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

"""tests/evidence.py: what a test reached, and merging a run's records."""

import json
import os

import fixtures
import testtools

from tests import evidence


class _Pool(object):
    """Named like a backend module: nova_ovirt.pools.<backend>.pool."""

    def get_info(self, instance):
        return 'info'


_Pool.__module__ = 'nova_ovirt.pools.fakeback.pool'


class _Driver(object):
    def __init__(self):
        self._pools = {'p': _Pool()}

    def get_info(self, instance):
        return self._pools['p'].get_info(instance)

    def get_available_nodes(self, refresh=False):
        return ['n1']

    def __getattr__(self, name):
        # Every other ComputeDriver method, unused here.
        if name.startswith('_'):
            raise AttributeError(name)
        return lambda *a, **k: None


class EvidenceTestCase(testtools.TestCase):

    def test_calls_count_for_the_backend_they_reached(self):
        tracker = evidence._CallTracker()
        driver = _Driver()
        tracker.wrap(driver)
        self.assertEqual('info', driver.get_info(None))
        self.assertEqual(['n1'], driver.get_available_nodes())
        self.assertEqual({('get_info', 'fakeback'),
                          ('get_available_nodes', 'fakeback')},
                         tracker.reached)

    def test_merge_keeps_passed_tests_by_tier(self):
        directory = self.useFixture(fixtures.TempDir()).path
        records = [
            {'test': 'tests.functional.t.A.test_a', 'tier': 'functional',
             'reached': [['spawn', 'ovirt']]},
            {'test': 'tests.live.t.B.test_b', 'tier': 'live',
             'reached': [['spawn', 'ovirt'], ['reboot', 'libvirt']]},
        ]
        with open(os.path.join(directory, 'evidence-1.jsonl'), 'w') as f:
            for record in records:
                f.write(json.dumps(record) + '\n')
        self.assertEqual(
            {'ovirt': {'spawn': {'functional': ['tests.functional.t.A.test_a'],
                                 'live': ['tests.live.t.B.test_b']}},
             'libvirt': {'reboot': {'live': ['tests.live.t.B.test_b']}}},
            evidence.merge(directory))
        self.assertEqual(
            {'ovirt': {'spawn': {'functional': [
                'tests.functional.t.A.test_a']}}},
            evidence.merge(directory,
                           passed={'tests.functional.t.A.test_a'}))

    def test_tier_of(self):
        self.assertEqual('functional',
                         evidence.tier_of('tests.functional.test_x.A.test'))
