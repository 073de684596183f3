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

"""Run the resilience suite and print its figures per scenario.

Runs ``stestr run tests.resilience`` once per concurrency mode (native
threading, then eventlet), each scenario appending its figures to a
JSON-lines file, and prints one table: attempted, succeeded, failed
cleanly, and the figures that must be zero (lost, duplicated, orphans,
unclean). The exit code is non-zero when a must-be-zero figure is not, a
test failed, or a scenario wrote no figures.

Usage::

    python tools/resilience_report.py                 # both modes
    python tools/resilience_report.py --mode threading
    python tools/resilience_report.py --no-run        # print the last report
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import time

MODES = {
    'threading': {'OS_NOVA_DISABLE_EVENTLET_PATCHING': '1'},
    'eventlet': {'OS_NOVA_DISABLE_EVENTLET_PATCHING': '0'},
}
MUST_BE_ZERO = ('lost', 'duplicated', 'orphans', 'unclean')
COLUMNS = (('attempted', 'attempted'), ('succeeded', 'succeeded'),
           ('failed_cleanly', 'failed cleanly'), ('lost', 'lost (0)'),
           ('duplicated', 'duplicated (0)'), ('orphans', 'orphans (0)'),
           ('unclean', 'unclean (0)'), ('seconds', 'seconds'))
DEFAULT_REPORT = os.path.join('.test-logs', 'resilience.jsonl')


def run_mode(mode, report, test_filter, workers, log_dir):
    env = dict(os.environ, NOVA_OVIRT_RESILIENCE_REPORT=report,
               **MODES[mode])
    log = os.path.join(log_dir, 'resilience-%s.log' % mode)
    print('=== %s: stestr run %s (%s)' % (
        mode, test_filter, ' '.join('%s=%s' % kv
                                    for kv in MODES[mode].items())),
          flush=True)
    started = time.monotonic()
    with open(log, 'wb') as out:
        proc = subprocess.run(
            [sys.executable, '-m', 'stestr', 'run', '--concurrency',
             str(workers), test_filter], stdout=out,
            stderr=subprocess.STDOUT, env=env)
    summary = []
    with open(log, 'rb') as f:
        for line in f.read().decode('utf-8', 'replace').splitlines():
            if line.startswith('{') and '...' in line and (
                    'FAILED' in line or 'ok' in line or 'SKIPPED' in line):
                summary.append(line)
    for line in summary:
        if ' ok' not in line:
            print('    ' + line)
    print('    stestr exit %d in %.0f s; %d tests, log %s' % (
        proc.returncode, time.monotonic() - started, len(summary), log),
        flush=True)
    return proc.returncode


def read_report(path):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    rows.append(json.loads(line))
    except FileNotFoundError:
        pass
    return rows


def print_table(rows):
    by_key = collections.OrderedDict()
    for row in rows:
        by_key[(row['scenario'], row['mode'])] = row    # last run wins
    headers = ['scenario', 'mode'] + [h for _, h in COLUMNS] + ['verdict']
    table = []
    bad = []
    for (scenario, mode), row in sorted(by_key.items()):
        zero_ok = all(not row.get(k) for k in MUST_BE_ZERO)
        if not zero_ok:
            bad.append((scenario, mode))
        table.append([scenario, mode] +
                     [str(row.get(k, '')) for k, _ in COLUMNS] +
                     ['ok' if zero_ok else 'FAIL'])
    widths = [max(len(h), *(len(r[i]) for r in table)) if table else len(h)
              for i, h in enumerate(headers)]

    def line(cells):
        return '  '.join(c.ljust(w) if i < 2 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))
    print(line(headers))
    print('  '.join('-' * w for w in widths))
    for r in table:
        print(line(r))
    print()
    print('Notes:')
    for (scenario, mode), row in sorted(by_key.items()):
        notes = row.get('notes') or {}
        if notes:
            print('  %s [%s]: %s' % (scenario, mode, json.dumps(
                notes, sort_keys=True, default=str)[:600]))
    return by_key, bad


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--mode', choices=['both'] + sorted(MODES),
                        default='both')
    parser.add_argument('--report', default=os.environ.get(
        'NOVA_OVIRT_RESILIENCE_REPORT') or DEFAULT_REPORT)
    parser.add_argument('--filter', default='tests.resilience',
                        help='stestr filter (default: tests.resilience)')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--no-run', action='store_true',
                        help='only print the report file')
    args = parser.parse_args()
    modes = sorted(MODES) if args.mode == 'both' else [args.mode]
    modes.sort(key=lambda m: m != 'threading')
    report = os.path.abspath(args.report)
    log_dir = os.path.dirname(report) or '.'
    os.makedirs(log_dir, exist_ok=True)
    failed_runs = []
    if not args.no_run:
        if os.path.exists(report):
            os.unlink(report)
        for mode in modes:
            if run_mode(mode, report, args.filter, args.workers,
                        log_dir) != 0:
                failed_runs.append(mode)
        print()
    rows = read_report(report)
    if not rows:
        print('no figures in %s' % report)
        return 1
    by_key, bad = print_table(rows)
    # Every scenario should have figures from every mode that ran.
    scenarios = {s for s, _ in by_key}
    ran = {m for _, m in by_key}
    missing = sorted((s, m) for s in scenarios for m in ran
                     if (s, m) not in by_key)
    print()
    if missing:
        print('scenarios without figures: %s' % ', '.join(
            '%s [%s]' % sm for sm in missing))
    if bad:
        print('must-be-zero figures are not zero: %s' % ', '.join(
            '%s [%s]' % sm for sm in bad))
    if failed_runs:
        print('test failures in: %s (see the logs above)' %
              ', '.join(failed_runs))
    verdict = not (bad or failed_runs or missing)
    print('%d scenario runs, %s' % (len(by_key),
                                    'all clean' if verdict else 'FAILED'))
    return 0 if verdict else 1


if __name__ == '__main__':
    sys.exit(main())
