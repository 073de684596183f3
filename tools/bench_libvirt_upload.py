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
* export: our ``VolumeReader`` + ``copy_stream`` into another volume (how
  a disk moves between pools), against ``virsh vol-download --sparse``.

Ratios are throughput (theirs seconds / ours): >= 0.8 is the goal. Each
figure is the best of 3 runs (2 with --quick): the machine is shared.

Run: ``python tools/bench_libvirt_upload.py [--quick]``.
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
from nova_ovirt.pools.libvirt import storage  # noqa: E402
from tests.fixtures import libvirtd  # noqa: E402

MiB = bench_common.MiB
GLANCE_PIECE = 64 * 1024
RAW_VOLUME = ("<volume><name>%s</name><capacity>0</capacity>"
              "<target><format type='raw'/></target></volume>")


class Host(object):
    def __init__(self, work):
        self.lv = libvirtd.LibvirtHost(os.path.join(work, 'h'), 'bench')
        self.lv.start()
        self.conn = self.lv.conn()
        self.pool = self.conn.storagePoolLookupByName(libvirtd.POOL_NAME)

    def volume(self, name):
        return self.pool.createXML(RAW_VOLUME % name, 0)

    def delete(self, volume):
        volume.delete(0)

    def virsh(self, *args):
        subprocess.run(['virsh', '-q', '-c', self.lv.uri] + list(args),
                       check=True, stdout=subprocess.DEVNULL)

    def close(self):
        self.conn.close()
        self.lv.stop()


def allocated(volume):
    return os.stat(volume.path()).st_blocks * 512


def timed(func):
    start = time.monotonic()
    func()
    return time.monotonic() - start


def ours_upload(host, volume, path):
    def run():
        with open(path, 'rb') as f, \
                storage.VolumeWriter(host.conn, volume) as writer:
            while True:
                piece = f.read(GLANCE_PIECE)
                if not piece:
                    break
                writer.write(piece)
    return run


def ours_download(host, source, target):
    def run():
        # What vol-download --sparse does: data written, holes skipped.
        with storage.VolumeReader(host.conn, source) as reader, \
                open(target, 'wb') as f:
            for data, hole in reader.runs():
                if data is None:
                    f.seek(hole, os.SEEK_CUR)
                else:
                    f.write(data)
            f.truncate()
    return run


def ours_export(host, source, dest):
    def run():
        with storage.VolumeReader(host.conn, source) as reader, \
                storage.VolumeWriter(host.conn, dest) as writer:
            storage.copy_stream(reader, writer)
    return run


def best(host, tmp, repeats, run, measure):
    """Fastest of repeats runs (the machine is shared: noise only adds);
    run(vol_or_path) on a fresh volume each time."""
    results = []
    for i in range(repeats):
        vol = host.volume('bench-%d.raw' % i)
        try:
            took = timed(lambda: run(vol))
            results.append((took, measure(vol)))
        finally:
            host.delete(vol)
    return min(results)


def bench_image(host, tmp, size, half_zero, repeats):
    path = os.path.join(tmp, 'image.raw')
    # Zeros written, not holes: like Glance's stream, they are there to
    # read.
    bench_common.make_image(path, size, half_zero, zeros_as_holes=False)
    out = {}
    source = host.volume('source.raw')
    try:
        ours_upload(host, source, path)()
        out['up', 'ours'] = best(
            host, tmp, repeats, lambda v: ours_upload(host, v, path)(),
            allocated)
        for name, extra in (('virsh --sparse', ['--sparse']),
                            ('virsh', [])):
            out['up', name] = best(
                host, tmp, repeats, lambda v: host.virsh(
                    'vol-upload', *(extra + ['--pool', libvirtd.POOL_NAME,
                                             v.name(), path])), allocated)
        out['copy', 'ours'] = best(
            host, tmp, repeats, lambda v: ours_export(host, source, v)(),
            allocated)
        target = os.path.join(tmp, 'download.raw')

        def on_disk(_vol):
            blocks = os.stat(target).st_blocks * 512
            os.unlink(target)
            return blocks
        out['export', 'ours'] = best(
            host, tmp, repeats, lambda v: ours_download(host, source,
                                                        target)(), on_disk)
        out['export', 'virsh --sparse'] = best(
            host, tmp, repeats, lambda v: host.virsh(
                'vol-download', '--sparse', '--pool', libvirtd.POOL_NAME,
                source.name(), target), on_disk)
    finally:
        host.delete(source)
        os.unlink(path)
    return out


def report(kind, size, out):
    mib = size / MiB
    ours, sparse, plain = (out['up', n] for n in
                           ('ours', 'virsh --sparse', 'virsh'))
    print('%-9s upload: ours %5.2f s %6.1f MiB/s, %5.0f MiB allocated | '
          'virsh --sparse %5.2f s, %5.0f MiB | virsh %5.2f s, %5.0f MiB | '
          'ratio vs --sparse %.2f, vs plain %.2f' % (
              kind, ours[0], mib / ours[0], ours[1] / MiB, sparse[0],
              sparse[1] / MiB, plain[0], plain[1] / MiB,
              sparse[0] / ours[0], plain[0] / ours[0]))
    ours, theirs = out['export', 'ours'], out['export', 'virsh --sparse']
    print('%-9s download: ours %5.2f s, %5.0f MiB allocated | virsh '
          'vol-download --sparse %5.2f s, %5.0f MiB | ratio %.2f' % (
              kind, ours[0], ours[1] / MiB, theirs[0], theirs[1] / MiB,
              theirs[0] / ours[0]))
    copy = out['copy', 'ours']
    print('%-9s volume to volume (an export between pools): %5.2f s, '
          '%5.0f MiB allocated' % (kind, copy[0], copy[1] / MiB))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='128 MiB images instead of 1 GiB')
    args = parser.parse_args()
    size = (128 if args.quick else 1024) * MiB
    repeats = 2 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix='bench-lv-', dir='/tmp') as tmp:
        host = Host(tmp)
        try:
            print('libvirt volume streams, %d MiB raw images, private '
                  'libvirtd' % (size // MiB))
            for kind, half_zero in (('random', False), ('half-zero', True)):
                report(kind, size, bench_image(host, tmp, size, half_zero,
                                               repeats))
        finally:
            host.close()


if __name__ == '__main__':
    main()
