#!/usr/bin/env python
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

"""Image data into (and out of) a libvirt host, against virsh.

A private libvirtd (the test fixture's) and, for a random and a half-zero
raw image, in the same run:

* upload: our ``VolumeWriter`` fed in Glance's 64 KiB pieces, against
  ``virsh vol-upload --sparse`` of the same file (and plain
  ``vol-upload``); seconds and allocated bytes of the volume;
* download: our ``VolumeReader`` into a file (holes skipped), against
  ``virsh vol-download --sparse``;
* volume to volume: ``VolumeReader`` + ``copy_stream`` into another
  volume, the reader on a second connection as when a disk moves between
  pools (hosts), and on the same connection as within a host.

Our side runs as in nova-compute: libvirt's event loop registered and
running on its own thread (``host.ensure_event_loop``), as virsh runs one.
Ratios are throughput (theirs seconds / ours): >= 0.8 is the goal.

The machine may be shared, so the cases run in interleaved rounds (every
case once per round, each round starting with another case, the page
cache written back before each case; 3 rounds, 2 with --quick) and each
figure is the fastest round. CPU seconds per GiB (the least of the
rounds) are given for our process, virsh and libvirtd, and the load
average next to the figures.

Run: ``python tools/bench_libvirt_upload.py [--quick] [--rounds N]``.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import bench_common  # noqa: E402
import proc_table  # noqa: E402
# First: the tests package sets nova's concurrency mode up before anything
# imports nova's utils.
from tests.fixtures import libvirtd  # noqa: E402,I100
from nova_ovirt.pools.libvirt import host as host_mod  # noqa: E402,I100
from nova_ovirt.pools.libvirt import storage  # noqa: E402

MiB = bench_common.MiB
GLANCE_PIECE = 64 * 1024
RAW_VOLUME = ("<volume><name>%s</name><capacity>0</capacity>"
              "<target><format type='raw'/></target></volume>")
CLOCK_TICK = os.sysconf('SC_CLK_TCK')


class Host(object):
    def __init__(self, work):
        self.lv = libvirtd.LibvirtHost(os.path.join(work, 'h'), 'bench')
        self.lv.start()
        self.conn = self.lv.conn()
        self.pool = self.conn.storagePoolLookupByName(libvirtd.POOL_NAME)
        # A second connection: the source side of a copy between pools
        # (another host's connection in nova-compute).
        self.other_conn = self.lv.conn()
        self.daemon_pid = _libvirtd_pid(self.lv.proc.pid)

    def volume(self, name):
        return self.pool.createXML(RAW_VOLUME % name, 0)

    def delete(self, volume):
        volume.delete(0)

    def virsh(self, *args):
        subprocess.run(['virsh', '-q', '-c', self.lv.uri] + list(args),
                       check=True, stdout=subprocess.DEVNULL)

    def daemon_cpu(self):
        with open('/proc/%d/stat' % self.daemon_pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICK

    def close(self):
        self.conn.close()
        self.other_conn.close()
        self.lv.stop()


def _libvirtd_pid(root):
    """The libvirtd under the fixture's namespace process (its CPU)."""
    children = {}
    for p in proc_table.processes():
        children.setdefault(p.ppid, []).append((p.pid, p.comm))
    todo = [root]
    while todo:
        for pid, comm in children.get(todo.pop(), []):
            if comm == 'libvirtd':
                return pid
            todo.append(pid)
    raise RuntimeError('no libvirtd under process %d' % root)


def allocated(volume):
    return os.stat(volume.path()).st_blocks * 512


def ours_upload(host, volume, path):
    with open(path, 'rb') as f, \
            storage.VolumeWriter(host.conn, volume) as writer:
        while True:
            piece = f.read(GLANCE_PIECE)
            if not piece:
                break
            writer.write(piece)


def ours_download(host, source, target):
    # What vol-download --sparse does: data written, holes skipped.
    with storage.VolumeReader(host.conn, source) as reader, \
            open(target, 'wb') as f:
        for data, hole in reader.runs():
            if data is None:
                f.seek(hole, os.SEEK_CUR)
            else:
                f.write(data)
        f.truncate()


def ours_export(host, source, dest, conn):
    source = conn.storageVolLookupByPath(source.path())
    with storage.VolumeReader(conn, source) as reader, \
            storage.VolumeWriter(host.conn, dest) as writer:
        storage.copy_stream(reader, writer)


class Result(object):
    """The fastest round of a case, with the least CPU of the rounds."""

    def __init__(self):
        self.rounds = []   # (seconds, allocated, own, daemon, virsh CPU)

    def add(self, *measures):
        self.rounds.append(measures)

    @property
    def seconds(self):
        return min(r[0] for r in self.rounds)

    @property
    def allocated(self):
        return min(self.rounds)[1]

    def cpu(self, which):
        return min(r[2 + which] for r in self.rounds)


def _children_cpu():
    usage = os.times()
    return usage.children_user + usage.children_system


def run_round(host, run, measure, results, name):
    """run(volume) on a fresh volume; times, CPU and measure(volume)."""
    vol = host.volume('bench.raw')
    # The previous case's dirty pages are written back now, not during
    # this one.
    os.sync()
    try:
        own, daemon, virsh = (bench_common.cpu_seconds(), host.daemon_cpu(),
                              _children_cpu())
        start = time.monotonic()
        run(vol)
        took = time.monotonic() - start
        results.setdefault(name, Result()).add(
            took, measure(vol), bench_common.cpu_seconds() - own,
            host.daemon_cpu() - daemon, _children_cpu() - virsh)
    finally:
        host.delete(vol)


def bench_image(host, tmp, size, half_zero, rounds):
    path = os.path.join(tmp, 'image.raw')
    # Zeros written, not holes: like Glance's stream, they are there to
    # read.
    bench_common.make_image(path, size, half_zero, zeros_as_holes=False)
    target = os.path.join(tmp, 'download.raw')

    def on_disk(_vol):
        blocks = os.stat(target).st_blocks * 512
        os.unlink(target)
        return blocks

    pool = libvirtd.POOL_NAME
    source = host.volume('source.raw')
    cases = [
        ('up', 'ours', lambda v: ours_upload(host, v, path), allocated),
        ('up', 'virsh --sparse', lambda v: host.virsh(
            'vol-upload', '--sparse', '--pool', pool, v.name(), path),
         allocated),
        ('up', 'virsh', lambda v: host.virsh(
            'vol-upload', '--pool', pool, v.name(), path), allocated),
        ('export', 'ours', lambda v: ours_download(host, source, target),
         on_disk),
        ('export', 'virsh --sparse', lambda v: host.virsh(
            'vol-download', '--sparse', '--pool', pool, source.name(),
            target), on_disk),
        ('copy', 'between', lambda v: ours_export(
            host, source, v, host.other_conn), allocated),
        ('copy', 'within', lambda v: ours_export(host, source, v, host.conn),
         allocated),
    ]
    out, loads = {}, []
    try:
        ours_upload(host, source, path)
        for i in range(rounds):
            # Each round starts with another case, so that none always
            # follows the same one.
            shift = i % len(cases)
            for kind, who, run, measure in cases[shift:] + cases[:shift]:
                run_round(host, run, measure, out, (kind, who))
            loads.append(os.getloadavg()[0])
    finally:
        host.delete(source)
        os.unlink(path)
    return out, loads


def _cpu(ours, theirs, name, gib):
    """CPU seconds per GiB: our process, virsh, and libvirtd for each."""
    return '%-9s   CPU s/GiB: ours %.2f + libvirtd %.2f | %s %.2f + ' \
        'libvirtd %.2f' % ('', ours.cpu(0) / gib, ours.cpu(1) / gib, name,
                           theirs.cpu(2) / gib, theirs.cpu(1) / gib)


def report(kind, size, out, loads):
    mib, gib = size / MiB, size / (1024.0 * MiB)
    ours, sparse, plain = (out['up', n] for n in
                           ('ours', 'virsh --sparse', 'virsh'))
    print('%-9s upload: ours %5.2f s %6.1f MiB/s, %5.0f MiB allocated | '
          'virsh --sparse %5.2f s, %5.0f MiB | virsh %5.2f s, %5.0f MiB | '
          'ratio vs --sparse %.2f, vs plain %.2f' % (
              kind, ours.seconds, mib / ours.seconds, ours.allocated / MiB,
              sparse.seconds, sparse.allocated / MiB, plain.seconds,
              plain.allocated / MiB, sparse.seconds / ours.seconds,
              plain.seconds / ours.seconds))
    print(_cpu(ours, sparse, 'virsh --sparse', gib))
    ours, theirs = out['export', 'ours'], out['export', 'virsh --sparse']
    print('%-9s download: ours %5.2f s, %5.0f MiB allocated | virsh '
          'vol-download --sparse %5.2f s, %5.0f MiB | ratio %.2f' % (
              kind, ours.seconds, ours.allocated / MiB, theirs.seconds,
              theirs.allocated / MiB, theirs.seconds / ours.seconds))
    print(_cpu(ours, theirs, 'virsh vol-download --sparse', gib))
    for who, what in (('between', 'between pools (two connections)'),
                      ('within', 'within a host (one connection)')):
        copy = out['copy', who]
        print('%-9s volume to volume %s: %5.2f s, %5.0f MiB allocated; '
              'CPU s/GiB: ours %.2f + libvirtd %.2f' % (
                  kind, what, copy.seconds, copy.allocated / MiB,
                  copy.cpu(0) / gib, copy.cpu(1) / gib))
    print('%-9s   our upload + download: %5.2f s' % (
        '', out['up', 'ours'].seconds + out['export', 'ours'].seconds))
    print('%-9s   load average (1 min) after each round: %s' % (
        '', ' '.join('%.1f' % load for load in loads)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='128 MiB images instead of 1 GiB')
    parser.add_argument('--rounds', type=int,
                        help='interleaved rounds (default 3, 2 with '
                             '--quick)')
    args = parser.parse_args()
    size = (128 if args.quick else 1024) * MiB
    rounds = args.rounds or (2 if args.quick else 3)
    host_mod.ensure_event_loop()
    with tempfile.TemporaryDirectory(prefix='bench-lv-', dir='/tmp') as tmp:
        host = Host(tmp)
        try:
            print('libvirt volume streams, %d MiB raw images, private '
                  'libvirtd, best of %d interleaved rounds' % (
                      size // MiB, rounds))
            for kind, half_zero in (('random', False), ('half-zero', True)):
                out, loads = bench_image(host, tmp, size, half_zero, rounds)
                report(kind, size, out, loads)
        finally:
            host.close()


if __name__ == '__main__':
    main()
