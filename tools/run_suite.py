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
line printed is ``N passed, N failed, N skipped``; the exit code is
non-zero when anything failed.

Checks beyond the tests themselves (each counts as one failure):

* with ``CI=true`` (as CI sets it), a skipped test in the functional,
  live or resilience tiers fails the run: CI installs every prerequisite,
  so a skip there means a test did not run. Conformance skips name
  methods the support matrix declares missing and are allowed.
* the functional and live tiers record which driver methods each test
  reached on which backend (:mod:`tests.evidence`); after a run with a
  functional tier, a method that ``nova_ovirt/support.py`` claims
  (complete or partial) for a backend but that no passing functional or
  live test reached there fails the run. ``--record`` (implied when every
  tier runs) writes the merged record to
  ``doc/source/support-evidence.json``, which the support matrix shows.
* in eventlet mode, a green lock taken on an OS thread fails the tier
  (:mod:`tests.green_locks`), whether or not it collided this time.
* a tier still running at its time limit is stopped; the tests it was
  running fail, and its workers' stacks are printed first.

Usage: python tools/run_suite.py [--record] [TIER ...]   (default: all)
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import subunit
import testtools

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# This process only runs stestr and merges records: importing the tests'
# package must not switch it to eventlet (each tier sets its own mode).
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

import proc_table  # noqa: E402  (tools/, this script's directory)
from nova_ovirt import support  # noqa: E402
from tests import evidence  # noqa: E402
from tests import green_locks  # noqa: E402

THREADING = {'OS_NOVA_DISABLE_EVENTLET_PATCHING': '1'}
EVENTLET = {'OS_NOVA_DISABLE_EVENTLET_PATCHING': '0'}

# (name, stestr filter, environment, worker processes, time limit in s)
# A tier's limit is two to four times what it takes on CI's two cores
# (doc/source/testing.rst): a hung test fails its tier, with the stacks of
# its workers printed, instead of running CI out of time unexplained.
TIERS = [
    ('unit', 'tests.unit', THREADING, 2, 600),
    ('install', 'tests.install', THREADING, 1, 600),
    ('conformance-threading', 'tests.conformance', THREADING, 1, 600),
    ('conformance-eventlet', 'tests.conformance', EVENTLET, 1, 600),
    ('functional-threading', 'tests.functional', THREADING, 2, 2100),
    ('functional-eventlet', 'tests.functional', EVENTLET, 2, 1800),
    ('live', 'tests.live', THREADING, 1, 600),
    ('resilience-threading', 'tests.resilience', THREADING, 2, 300),
    ('resilience-eventlet', 'tests.resilience', EVENTLET, 2, 300),
]
# How long the workers get to print their stacks before they are killed.
_DUMP_GRACE = 5
#: Tiers where CI allows no skip (prerequisites CI installs).
NO_SKIP_TIERS = ('functional', 'live', 'resilience')
#: Tiers whose runs record evidence for the support matrix.
EVIDENCE_TIERS = ('functional-threading', 'functional-eventlet', 'live')
EVIDENCE_RECORD = os.path.join(ROOT, 'doc', 'source',
                               'support-evidence.json')


class Tally(testtools.StreamResult):
    """Counts final test statuses of a subunit v2 stream."""

    def __init__(self):
        super().__init__()
        self.passed, self.failed, self.skipped = [], [], []
        self.running = set()    # started, no final status yet
        self.tracebacks = {}
        self.skip_reasons = {}

    def status(self, test_id=None, test_status=None, file_name=None,
               file_bytes=None, **kwargs):
        if test_id is None:
            return
        if file_name == 'traceback' and file_bytes:
            self.tracebacks.setdefault(test_id, b'')
            self.tracebacks[test_id] += bytes(file_bytes)
        if test_status == 'inprogress':
            self.running.add(test_id)
        elif test_status:
            self.running.discard(test_id)
        if test_status in ('success', 'xfail'):
            self.passed.append(test_id)
        elif test_status in ('fail', 'uxsuccess'):
            self.failed.append(test_id)
        elif test_status == 'skip':
            self.skipped.append(test_id)
        if file_name == 'reason' and file_bytes:
            self.skip_reasons[test_id] = self.skip_reasons.get(
                test_id, '') + bytes(file_bytes).decode('utf-8', 'replace')


def _group_workers(pgid):
    """The test worker processes (stestr.subunit_runner) of a group."""
    return [p.pid for p in proc_table.processes()
            if p.pgrp == pgid and b'subunit_runner' in p.cmdline]


def _stop_hung_tier(proc):
    """Make the workers print their stacks (tests/__init__.py: SIGUSR1
    for the OS threads, SIGUSR2 for the green ones), then kill the run."""
    for signum in (signal.SIGUSR1, signal.SIGUSR2):
        for pid in _group_workers(proc.pid):
            try:
                os.kill(pid, signum)
            except OSError:
                pass
        time.sleep(_DUMP_GRACE / 2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def run_tier(name, test_filter, env, workers, limit, log_dir,
             evidence_dir):
    started = time.monotonic()
    subunit_path = os.path.join(log_dir, '%s.subunit' % name)
    locks_dir = os.path.abspath(os.path.join(log_dir, 'green-locks', name))
    shutil.rmtree(locks_dir, ignore_errors=True)
    os.makedirs(locks_dir)
    print('=== tier %s: stestr run %s (%s)' % (
        name, test_filter, ' '.join('%s=%s' % kv for kv in env.items())),
        flush=True)
    timed_out = False
    with open(subunit_path, 'wb') as out:
        proc = subprocess.Popen(
            [sys.executable, '-m', 'stestr', 'run', '--subunit',
             '--concurrency', str(workers), test_filter],
            stdout=out, start_new_session=True,
            env=dict(os.environ, **env, **{evidence.ENV: evidence_dir,
                                           green_locks.ENV: locks_dir}))
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            timed_out = True
            print('    %s: still running after %d s; the stacks of its '
                  'workers follow' % (name, limit), flush=True)
            _stop_hung_tier(proc)
    tally = Tally()
    with open(subunit_path, 'rb') as stream:
        subunit.ByteStreamToStreamResult(
            stream, non_subunit_name='stdout').run(tally)
    if timed_out:
        tally.failed += ['%s (still running when the %s tier reached its '
                         '%d s limit)' % (test_id, name, limit)
                         for test_id in sorted(tally.running)] or [
            '%s: the tier reached its %d s limit' % (name, limit)]
    # stestr fails a run that executed nothing or could not import a test
    # module; count that as a failure so it cannot pass unnoticed.
    elif proc.returncode != 0 and not tally.failed:
        tally.failed.append('%s: stestr exited %d (import error or no '
                            'tests; see %s)' % (name, proc.returncode,
                                                subunit_path))
    for stacks in green_locks.records(locks_dir):
        # Not a test's failure: the tier's (any test may have collided).
        tally.failed.append('%s: a green lock was taken on an OS thread '
                            '(tests/green_locks.py):\n%s' % (name, stacks))
    for test_id in tally.failed:
        print('    FAILED %s' % test_id, flush=True)
        traceback = tally.tracebacks.get(test_id, b'').decode(
            'utf-8', 'replace')
        print('\n'.join('        ' + line
                        for line in traceback.splitlines()[-30:]))
    for test_id in tally.skipped:
        print('    SKIPPED %s: %s' % (test_id,
                                      tally.skip_reasons.get(test_id, '')))
    print('    %s: %d passed, %d failed, %d skipped in %.0f s' % (
        name, len(tally.passed), len(tally.failed), len(tally.skipped),
        time.monotonic() - started), flush=True)
    return tally


def ci_skip_failures(tier_tallies):
    """Skips CI does not allow: every skip of a no-skip tier."""
    return ['%s (CI allows no skip in the %s tier)' % (test_id, name)
            for name, tally in tier_tallies
            if name.split('-')[0] in NO_SKIP_TIERS
            for test_id in tally.skipped]


def check_evidence(merged):
    """Claimed methods no passing functional/live test reached."""
    return ['support matrix: %s methods claimed in nova_ovirt/support.py '
            'but reached by no functional or live test: %s' % (
                backend, ', '.join(methods))
            for backend in sorted(support.SUPPORT)
            for methods in [support.unreached(backend, merged)] if methods]


def write_record(merged, tiers):
    record = {'tiers': sorted(tiers), 'backends': merged}
    with open(EVIDENCE_RECORD, 'w') as out:
        json.dump(record, out, indent=1, sort_keys=True)
        out.write('\n')
    print('    wrote %s' % os.path.relpath(EVIDENCE_RECORD, ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--record', action='store_true',
                        help='write the evidence of this run to %s '
                        '(implied when every tier runs)' %
                        os.path.relpath(EVIDENCE_RECORD, ROOT))
    parser.add_argument('tiers', nargs='*',
                        help='tiers to run (default: all): %s' %
                        ', '.join(t[0] for t in TIERS))
    args = parser.parse_args()
    unknown = set(args.tiers) - {t[0] for t in TIERS}
    if unknown:
        parser.error('unknown tier(s): %s' % ', '.join(sorted(unknown)))
    tiers = [t for t in TIERS if not args.tiers or t[0] in args.tiers]
    log_dir = '.test-logs'
    evidence_dir = os.path.abspath(os.path.join(log_dir, 'evidence'))
    shutil.rmtree(evidence_dir, ignore_errors=True)
    os.makedirs(evidence_dir)
    passed = failed = skipped = 0
    tallies = []
    for name, test_filter, env, workers, limit in tiers:
        tally = run_tier(name, test_filter, env, workers, limit, log_dir,
                         evidence_dir)
        tallies.append((name, tally))
        passed += len(tally.passed)
        failed += len(tally.failed)
        skipped += len(tally.skipped)
    checks = []
    if os.environ.get('CI', '').lower() == 'true':
        checks += ci_skip_failures(tallies)
    ran = {name for name, _ in tallies}
    if ran & {'functional-threading', 'functional-eventlet'}:
        merged = evidence.merge(
            evidence_dir, passed={t for _, tally in tallies
                                  for t in tally.passed})
        checks += check_evidence(merged)
        if args.record or ran >= set(EVIDENCE_TIERS) and not args.tiers:
            write_record(merged, ran & set(EVIDENCE_TIERS))
    for check in checks:
        print('    FAILED check: %s' % check)
    failed += len(checks)
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
