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

"""One nova-compute service with many VMs: the driver's CPU and memory.

For 1,000 VMs over 5 clusters, 10,000 and 20,000 over 50, each in a fresh
process with the engine simulator in a child process (its work is not the
driver's):

* a power-state sync with the cache in sync (nova's 32 threads calling
  get_info for every instance): driver CPU seconds (goal < 0.5 s at 20k);
* the resource update of every node: driver CPU seconds (O(clusters));
* a sync with the cache out of sync (one listing first): wall and CPU;
* the driver's RSS growth, peak included, from before the first listing
  (goal < 100 MB at 20k).

Compared in the same run with what the sync would cost if every get_info
copied the cache (the O(N) per call the cache used to do), measured on the
same records.

Run: ``python tools/bench_scale.py [--quick]`` (quick: 1,000 and 5,000).
"""

import argparse
import concurrent.futures
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid

import bench_common
from bench_common import RemoteSim

MiB = 1024 * 1024
GiB = 1024 * MiB
SYNC_THREADS = 32


def _prepare(clusters):
    def prepare():
        from ovirt_engine_sim import scenarios
        shape = (2, 4, 1, 256 * GiB)
        scenarios.SCENARIOS['bench-scale'] = \
            lambda store: scenarios.build_default(
                store, hosts_per_cluster=1,
                clusters=[('c%02d' % i, 'Intel Nehalem Family', shape)
                          for i in range(clusters)])
    return prepare


def _add_vms(count, clusters):
    def setup(sim):
        from nova_ovirt.pools.ovirt import cache as vm_cache
        for i in range(count):
            sim.admin_add_vm('vm-%d' % i, 'c%02d' % (i % clusters),
                             description=vm_cache.mark(str(uuid.uuid4())),
                             status='down', memory=64 * MiB)
    return setup


def one(count, clusters):
    """Measure in this process; print a JSON line."""
    from nova import objects
    import nova.conf
    from nova_ovirt import conf as ovirt_conf
    from nova_ovirt.pools.ovirt import pool as ovirt_pool
    import bench_engine_cost

    objects.register_all()
    sim = RemoteSim(prepare=_prepare(clusters),
                    setup=_add_vms(count, clusters), scenario='bench-scale')
    try:
        conf = bench_engine_cost.configure(
            sim, tempfile.mkdtemp(prefix='bench-'))
        nova.conf.CONF.set_override(
            'clusters', ['c%02d' % i for i in range(clusters)],
            group=ovirt_conf.pool_group_name(bench_engine_cost.POOL))
        pool = ovirt_pool.OvirtPool(bench_engine_cost.POOL, conf, 'bench',
                                    bench_engine_cost.Queue())
        bench_common.reset_peak_rss()
        rss0 = bench_common.rss_mib()
        start = time.monotonic()
        pool.start()                       # the first listing
        first_listing = time.monotonic() - start
        pool.poller.stop()
        uuids = sorted(pool.list_instance_uuids())
        instances = [objects.Instance(uuid=u, node=None) for u in uuids]
        threads = concurrent.futures.ThreadPoolExecutor(SYNC_THREADS)

        def sync():
            list(threads.map(lambda i: pool.get_info(i).state, instances))

        def cpu_of(func):
            cpu = bench_common.cpu_seconds()
            wall = time.monotonic()
            func()
            return (bench_common.cpu_seconds() - cpu,
                    time.monotonic() - wall)
        pool.poller.poll_once()            # the feed read: in sync
        sync()                             # warm the thread pool
        fresh = cpu_of(sync)
        # nova's own part: its thread pool handing out N calls.
        nova_part = cpu_of(lambda: list(threads.map(lambda i: None,
                                                    instances)))

        def resources():
            for node in pool.nodes():
                pool.get_available_resource(node)
        resources()                        # inventory cache warm
        update = cpu_of(resources)

        def stale():
            pool.cache.invalidate()
            sync()
        stale_cycle = cpu_of(stale)

        def copying_sync():
            # The former VmCache.get: a copy of the cache per call.
            records = pool.cache._records
            list(threads.map(lambda i: dict(records).get(i.uuid),
                             instances))
        baseline = cpu_of(copying_sync) if count <= 10000 else (None, None)
        out = dict(n=len(uuids), clusters=clusters,
                   first_listing=first_listing,
                   fresh_cpu=max(0.0, fresh[0] - nova_part[0]),
                   fresh_total_cpu=fresh[0],
                   fresh_wall=fresh[1], update_cpu=update[0],
                   stale_cpu=stale_cycle[0], stale_wall=stale_cycle[1],
                   rss_growth=bench_common.peak_rss_mib() - rss0,
                   copying_cpu=baseline[0])
        threads.shutdown()
        pool.stop()
        print(json.dumps(out))
    finally:
        sim.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--one', nargs=2, type=int, metavar=('N', 'C'),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.one:
        return one(*args.one)
    sizes = ((1000, 5), (5000, 50)) if args.quick else \
        ((1000, 5), (10000, 50), (20000, 50))
    print('one service, N Nova VMs; driver CPU (the simulator runs in '
          'another process)')
    for n, c in sizes:
        out = subprocess.run(
            [sys.executable, os.path.abspath(__file__), '--one', str(n),
             str(c)], check=True, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL).stdout.decode()
        r = json.loads(out.strip().splitlines()[-1])
        copying = ('%.2f s' % r['copying_cpu']) if r['copying_cpu'] \
            is not None else 'not run (minutes)'
        print('N=%-6d C=%-3d fresh sync: driver %.3f s cpu (with nova\'s '
              'thread pool %.3f s, %.3f s wall) | '
              'resource update of %d nodes %.3f s cpu | stale sync %.2f s '
              'wall %.2f s cpu | first listing %.1f s | RSS +%.0f MB | '
              'a cache copy per get_info would cost %s cpu (ratio %s)' % (
                  r['n'], r['clusters'], r['fresh_cpu'],
                  r['fresh_total_cpu'], r['fresh_wall'],
                  r['clusters'], r['update_cpu'], r['stale_wall'],
                  r['stale_cpu'], r['first_listing'],
                  r['rss_growth'] * MiB / 1e6, copying,
                  '%.0fx' % (r['copying_cpu'] / max(r['fresh_cpu'], 1e-3))
                  if r['copying_cpu'] else '-'))


if __name__ == '__main__':
    main()
