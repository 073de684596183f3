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

"""Which nova driver methods a test reached, on which backend.

The support matrix (``doc/source/support-matrix.rst``) is generated from
what the functional and live tiers really drove, not from a list someone
wrote. :class:`DriverEvidenceFixture` wraps every public
``ComputeDriver`` method of each ``OvirtDriver`` made during a test, and
every public method of its pools. A driver call that reaches a pool is
recorded as ``(method, backend of that pool)``; a call answered by the
facade alone (``get_available_nodes``, ``update_provider_tree``, ...)
counts for every backend whose pool the driver has, since its answer
covers their nodes.

Records go, one JSON object per test, to a file per process under
``$NOVA_OVIRT_EVIDENCE_DIR`` (``tools/run_suite.py`` sets it to
``.test-logs/evidence``). Without the variable nothing is written, so a
test run by hand leaves no stale evidence behind. :func:`merge` reads the
files back for ``tools/run_suite.py``.

Not for production code: the wrappers cost a dictionary update per call.
"""

import functools
import glob
import json
import os
import threading

import fixtures

from nova_ovirt import support

# nova and the driver are imported where they are used, so that
# tools/run_suite.py merges records without importing nova.

ENV = 'NOVA_OVIRT_EVIDENCE_DIR'


def tier_of(test_id):
    """``tests.functional.test_x.Y.test_z`` -> ``functional``."""
    parts = test_id.split('.')
    return parts[1] if len(parts) > 1 and parts[0] == 'tests' else parts[0]


def backend_of_pool(pool):
    """The backend name of a pool object (its package under pools/)."""
    module = type(pool).__module__.split('.')
    return module[module.index('pools') + 1] if 'pools' in module else (
        type(pool).__name__)


class _CallTracker(object):
    """Tracks the outermost driver call of each thread and the backends
    its pools were asked by during that call."""

    def __init__(self):
        self.local = threading.local()
        self.reached = set()
        self.lock = threading.Lock()

    def driver_method(self, driver, name, method):
        tracker = self

        @functools.wraps(method)
        def recorded(*args, **kwargs):
            outer = getattr(tracker.local, 'call', None)
            if outer is not None:
                return method(*args, **kwargs)
            tracker.local.call = (name, set())
            try:
                return method(*args, **kwargs)
            finally:
                _, backends = tracker.local.call
                tracker.local.call = None
                if not backends:
                    # Answered by the facade alone, for all its pools.
                    backends = {backend_of_pool(p)
                                for p in driver._pools.values()}
                with tracker.lock:
                    tracker.reached.update((name, b) for b in backends)
        return recorded

    def pool_method(self, backend, method):
        tracker = self

        @functools.wraps(method)
        def recorded(*args, **kwargs):
            call = getattr(tracker.local, 'call', None)
            if call is not None:
                call[1].add(backend)
            return method(*args, **kwargs)
        return recorded

    def wrap(self, driver):
        for name in support.driver_methods():
            setattr(driver, name,
                    self.driver_method(driver, name, getattr(driver, name)))
        for pool in driver._pools.values():
            backend = backend_of_pool(pool)
            for name in dir(type(pool)):
                if name.startswith('_') or not callable(
                        getattr(type(pool), name, None)) or isinstance(
                        getattr(type(pool), name), type):
                    continue
                setattr(pool, name,
                        self.pool_method(backend, getattr(pool, name)))


class DriverEvidenceFixture(fixtures.Fixture):
    """Records the driver methods reached by the test that uses it."""

    def __init__(self, test_id):
        super().__init__()
        self.test_id = test_id
        self.tracker = _CallTracker()

    def _setUp(self):
        from nova_ovirt import driver as ovirt_driver

        original_init = ovirt_driver.OvirtDriver.__init__
        tracker = self.tracker

        def init_and_record(driver, *args, **kwargs):
            original_init(driver, *args, **kwargs)
            tracker.wrap(driver)

        self.useFixture(fixtures.MonkeyPatch(
            'nova_ovirt.driver.OvirtDriver.__init__', init_and_record))
        self.addCleanup(self.write)

    @property
    def reached(self):
        with self.tracker.lock:
            return sorted(self.tracker.reached)

    def write(self):
        directory = os.environ.get(ENV)
        if not directory or not self.reached:
            return
        os.makedirs(directory, exist_ok=True)
        record = {'test': self.test_id, 'tier': tier_of(self.test_id),
                  'reached': [list(r) for r in self.reached]}
        path = os.path.join(directory, 'evidence-%d.jsonl' % os.getpid())
        with open(path, 'a') as out:
            out.write(json.dumps(record, sort_keys=True) + '\n')


def merge(directory, passed=None):
    """{backend: {method: {tier: [test ids]}}} from a run's records.

    :param passed: test ids that passed; records of other tests (failed
        or skipped) are not evidence. None takes every record.
    """
    merged = {}
    for path in sorted(glob.glob(os.path.join(directory, '*.jsonl'))):
        with open(path) as records:
            for line in records:
                record = json.loads(line)
                if passed is not None and record['test'] not in passed:
                    continue
                for method, backend in record['reached']:
                    tests = merged.setdefault(backend, {}).setdefault(
                        method, {}).setdefault(record['tier'], [])
                    if record['test'] not in tests:
                        tests.append(record['test'])
    for methods in merged.values():
        for tiers in methods.values():
            for tests in tiers.values():
                tests.sort()
    return merged
