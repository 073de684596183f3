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

"""Run every test tier with stestr and print one summary.

Each tier is one stestr run (so nova's concurrency mode, chosen per
process, is consistent inside it). The nova-based tiers run twice: in
native threading mode (nova 34's default) and in eventlet mode. The last
line printed is ``N passed, N failed`` (``, N skipped`` follows when some
were skipped); the exit code is non-zero when anything failed.

Usage: python tools/run_suite.py [TIER ...]   (default: every tier)
"""

import argparse
import os
import subprocess
import sys
import time

import subunit
import testtools

THREADING = {'OS_NOVA_DISABLE_EVENTLET_PATCHING': '1'}
EVENTLET = {'OS_NOVA_DISABLE_EVENTLET_PATCHING': '0'}

# (name, stestr filter, environment, worker processes)
TIERS = [
    ('unit', 'tests.unit', THREADING, 2),
    ('install', 'tests.install', THREADING, 1),
    ('conformance-threading', 'tests.conformance', THREADING, 1),
    ('conformance-eventlet', 'tests.conformance', EVENTLET, 1),
    ('functional-threading', 'tests.functional', THREADING, 2),
    ('functional-eventlet', 'tests.functional', EVENTLET, 2),
    ('live', 'tests.live', THREADING, 1),
    ('resilience-threading', 'tests.resilience', THREADING, 2),
    ('resilience-eventlet', 'tests.resilience', EVENTLET, 2),
]


class Tally(testtools.StreamResult):
    """Counts final test statuses of a subunit v2 stream."""

    def __init__(self):
        super().__init__()
        self.passed, self.failed, self.skipped = [], [], []
        self.tracebacks = {}

    def status(self, test_id=None, test_status=None, file_name=None,
               file_bytes=None, **kwargs):
        if test_id is None:
            return
        if file_name == 'traceback' and file_bytes:
            self.tracebacks.setdefault(test_id, b'')
            self.tracebacks[test_id] += file_bytes
        if test_status in ('success', 'xfail'):
            self.passed.append(test_id)
        elif test_status in ('fail', 'uxsuccess'):
            self.failed.append(test_id)
        elif test_status == 'skip':
            self.skipped.append(test_id)


def run_tier(name, test_filter, env, workers, log_dir):
    started = time.monotonic()
    subunit_path = os.path.join(log_dir, '%s.subunit' % name)
    print('=== tier %s: stestr run %s (%s)' % (
        name, test_filter, ' '.join('%s=%s' % kv for kv in env.items())),
        flush=True)
    with open(subunit_path, 'wb') as out:
        proc = subprocess.run(
            [sys.executable, '-m', 'stestr', 'run', '--subunit',
             '--concurrency', str(workers), test_filter],
            stdout=out, env=dict(os.environ, **env))
    tally = Tally()
    with open(subunit_path, 'rb') as stream:
        subunit.ByteStreamToStreamResult(
            stream, non_subunit_name='stdout').run(tally)
    # stestr fails a run that executed nothing or could not import a test
    # module; count that as a failure so it cannot pass unnoticed.
    if proc.returncode != 0 and not tally.failed:
        tally.failed.append('%s: stestr exited %d (import error or no '
                            'tests; see %s)' % (name, proc.returncode,
                                                subunit_path))
    for test_id in tally.failed:
        print('    FAILED %s' % test_id, flush=True)
        traceback = tally.tracebacks.get(test_id, b'').decode(
            'utf-8', 'replace')
        print('\n'.join('        ' + line
                        for line in traceback.splitlines()[-30:]))
    print('    %s: %d passed, %d failed, %d skipped in %.0f s' % (
        name, len(tally.passed), len(tally.failed), len(tally.skipped),
        time.monotonic() - started), flush=True)
    return tally


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('tiers', nargs='*',
                        help='tiers to run (default: all): %s' %
                        ', '.join(t[0] for t in TIERS))
    args = parser.parse_args()
    tiers = [t for t in TIERS if not args.tiers or t[0] in args.tiers]
    log_dir = '.test-logs'
    os.makedirs(log_dir, exist_ok=True)
    passed = failed = skipped = 0
    for name, test_filter, env, workers in tiers:
        tally = run_tier(name, test_filter, env, workers, log_dir)
        passed += len(tally.passed)
        failed += len(tally.failed)
        skipped += len(tally.skipped)
    line = '%d passed, %d failed' % (passed, failed)
    if skipped:
        line += ', %d skipped' % skipped
    print(line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
