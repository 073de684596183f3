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

"""Image data to and from the engine's imageio, against the alternatives.

For a random image and a half-zero image (64 MiB data / 64 MiB zeros), on
the same simulator (its own process) in the same run:

* upload: our ``transfer.upload`` (as the image cache uses it, reading a
  file like Glance's download), one raw ``curl -T`` PUT of the same bytes,
  and ovirt-imageio's own client (``ovirt_imageio.client.upload``);
* download: our ``transfer.download_runs`` (as snapshots and exports use
  it), one raw ``curl`` GET, and ``ovirt_imageio.client.download``.

Prints seconds, MiB/s, our driver's CPU seconds and peak memory growth,
the simulator's CPU seconds per contender, the other clients' CPU
seconds (``curl``'s, imageio's client's), and the ratios (ours / raw is
throughput: >= 0.8 is the goal). Each figure is the best of 3 rounds (the
machine may be shared), a round running every contender once; the load
average is printed before and after.

Every upload of a kind goes into the same disk. A new disk is a new
sparse file, and on a virtual machine whose free memory goes back to the
host (virtio-balloon free page reporting) the simulator's first write to
each page cache page costs 0.3-1.5 s of kernel CPU per 512 MiB, at
random: it hit one contender or another and hid the clients' own cost.

Run: ``python tools/bench_transfer.py [--quick] [--size-mib N]
[--upload-only | --download-only] [--rounds N]``
(512 MiB by default).
"""

import argparse
import logging
import os
import resource
import subprocess
import tempfile
import time

import bench_common  # noqa: F401  (sys.path, eventlet off)
from bench_common import RemoteSim

from ovirtsdk4 import types  # noqa: E402

from nova_ovirt.pools.ovirt import session as ovirt_session  # noqa: E402
from nova_ovirt.pools.ovirt import transfer  # noqa: E402

MiB = bench_common.MiB
_UP = types.ImageTransferDirection.UPLOAD
_DOWN = types.ImageTransferDirection.DOWNLOAD


class Engine(object):
    def __init__(self, sim):
        self.sim = sim
        self.session = ovirt_session.Session(
            sim.url, sim.username, sim.password, ca_file=sim.ca_file)
        self.transfers = transfer.Transfers(self.session,
                                            ca_file=sim.ca_file)
        sds = self.session.read(
            lambda s: s.storage_domains_service().list(search='name=data'))
        self.sd_id = sds[0].id

    def new_disk(self, size):
        disk = self.session.write(lambda s: s.disks_service().add(
            types.Disk(name='bench', format=types.DiskFormat.RAW,
                       sparse=True, provisioned_size=size,
                       storage_domains=[types.StorageDomain(id=self.sd_id)])))
        ovirt_session.wait_for(
            lambda: self.session.read(
                lambda s: s.disks_service().disk_service(disk.id).get()),
            lambda d: d.status == types.DiskStatus.OK, 60, 'disk')
        return disk.id

    def remove_disk(self, disk_id):
        ovirt_session.wait_for(
            lambda: ovirt_session.try_remove(
                self.session,
                lambda s: s.disks_service().disk_service(disk_id)),
            bool, 60, 'remove disk')

    def timed(self, direction, disk_id, func):
        """Seconds, driver CPU seconds, peak RSS growth and simulator
        CPU seconds of func(tr)."""
        tr = self.transfers.begin(direction, disk_id=disk_id)
        try:
            bench_common.reset_peak_rss()
            rss = bench_common.rss_mib()
            # curl's CPU counts as the client's (ours and imageio's
            # clients run in this process).
            cpu = bench_common.cpu_seconds() + _children_cpu()
            sim_cpu = bench_common.cpu_seconds(self.sim.pid)
            start = time.monotonic()
            func(tr)
            took = time.monotonic() - start
            return (took,
                    bench_common.cpu_seconds() + _children_cpu() - cpu,
                    bench_common.peak_rss_mib() - rss,
                    bench_common.cpu_seconds(self.sim.pid) - sim_cpu)
        finally:
            self.transfers.finalize(tr.id)


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ours_upload(engine, path, size):
    def run(tr):
        client = engine.transfers.client(tr)
        try:
            with open(path, 'rb') as f:
                transfer.upload(client, f, size)
        finally:
            client.close()
    return run


def ours_download(engine, size):
    def run(tr):
        client = engine.transfers.client(tr)
        try:
            for _ in transfer.download_runs(client, size):
                pass
        finally:
            client.close()
    return run


def curl(engine, args):
    def run(tr):
        subprocess.run(['curl', '-sSf', '--cacert', engine.sim.ca_file] +
                       args + [tr.transfer_url], check=True,
                       stdout=subprocess.DEVNULL)
    return run


def imageio_upload(engine, path):
    from ovirt_imageio import client

    def run(tr):
        client.upload(path, tr.transfer_url, engine.sim.ca_file)
    return run


def imageio_download(engine, tmp):
    from ovirt_imageio import client

    def run(tr):
        target = os.path.join(tmp, 'imageio-download.raw')
        client.download(tr.transfer_url, target, engine.sim.ca_file,
                        fmt='raw')
        os.unlink(target)
    return run


def bench_image(engine, tmp, size, half_zero, repeats, downloads=True,
                uploads=True):
    """Each figure is the best of ``repeats`` rounds; a round runs every
    contender once, so load that comes and goes hits them alike."""
    path = os.path.join(tmp, 'image.raw')
    bench_common.make_image(path, size, half_zero)
    out = {}
    source = engine.new_disk(size)
    target = engine.new_disk(size)
    try:
        engine.timed(_UP, source, ours_upload(engine, path, size))
        if uploads:
            engine.timed(_UP, target, ours_upload(engine, path, size))
        for _ in range(repeats):
            for name, func in () if not uploads else (
                    ('ours', ours_upload(engine, path, size)),
                    ('raw', curl(engine, ['-X', 'PUT', '-T', path])),
                    ('imageio', imageio_upload(engine, path))):
                got = engine.timed(_UP, target, func)
                out['up', name] = min(out.get(('up', name), got), got)
            if not downloads:
                continue
            for name, func in (
                    ('ours', ours_download(engine, size)),
                    ('raw', curl(engine, ['-o', '/dev/null'])),
                    ('imageio', imageio_download(engine, tmp))):
                got = engine.timed(_DOWN, source, func)
                out['down', name] = min(out.get(('down', name), got), got)
    finally:
        engine.remove_disk(source)
        engine.remove_disk(target)
        os.unlink(path)
    return out


def report(kind, size, out):
    mib = size / MiB
    for direction in ('up', 'down'):
        if (direction, 'ours') not in out:
            continue
        ours, raw, imageio = (out[direction, n]
                              for n in ('ours', 'raw', 'imageio'))
        print('%-9s %-4s ours %6.2f s %7.1f MiB/s (cpu %5.2f s, +%4.0f MiB)'
              ' | raw %6.2f s | imageio %6.2f s | ours/raw %.2f  '
              'ours/imageio %.2f | simulator cpu ours %.2f s raw %.2f s '
              'imageio %.2f s | client cpu raw %.2f s imageio %.2f s' % (
                  kind, direction, ours[0], mib / ours[0], ours[1], ours[2],
                  raw[0], imageio[0], raw[0] / ours[0],
                  imageio[0] / ours[0], ours[3], raw[3], imageio[3],
                  raw[1], imageio[1]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='128 MiB images, 1 round (else 512 MiB, best '
                             'of 3 rounds)')
    parser.add_argument('--size-mib', type=int, default=None)
    parser.add_argument('--rounds', type=int, default=None,
                        help='rounds; each figure is the best of them')
    parser.add_argument('--upload-only', action='store_true',
                        help='skip the downloads (quicker on a busy '
                             'machine)')
    parser.add_argument('--download-only', action='store_true',
                        help='skip the timed uploads (the source disk is '
                             'still filled once, untimed)')
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    size = (args.size_mib or (128 if args.quick else 512)) * MiB
    repeats = args.rounds or (1 if args.quick else 3)
    sim = RemoteSim()
    try:
        engine = Engine(sim)
        with tempfile.TemporaryDirectory(prefix='bench-transfer-') as tmp:
            print('image transfers, %d MiB, best of %d rounds, simulator in '
                  'its own process (throughput ratios: > 1 means ours is '
                  'faster); load average %s' % (
                      size // MiB, repeats, bench_common.load()))
            for kind, half_zero in (('random', False), ('half-zero', True)):
                report(kind, size, bench_image(
                    engine, tmp, size, half_zero, repeats,
                    downloads=not args.upload_only,
                    uploads=not args.download_only))
            print('load average %s' % bench_common.load())
        engine.session.close()
    finally:
        sim.stop()


if __name__ == '__main__':
    main()
