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

"""Concurrent spawns of one cached image against a slow engine.

50 spawns at once of an image whose template exists, with 100 ms of
latency on every engine request, for 4 and 16 engine connections. The
bound is what the connections allow: requests x latency / connections;
the second ratio puts the request time measured in the same run (the
simulator's and the SDK's own work on top of the latency) in place of
the latency.
Nothing else may serialise the spawns (no lock across an engine round
trip when no image work is needed): the goal is within 1.2x of the bound.

Run: ``python tools/bench_concurrency.py [--quick]``.
"""

import argparse
import logging
import tempfile
import threading
import time
import uuid

import bench_common
from bench_common import RemoteSim

from nova import context as nova_context  # noqa: E402
from nova import objects  # noqa: E402

import bench_engine_cost  # noqa: E402
from nova_ovirt import conf as ovirt_conf  # noqa: E402
from nova_ovirt.pools.ovirt import pool as ovirt_pool  # noqa: E402

LATENCY = 0.1
IMAGE = (bytes(range(256)) * 4096) + bytes(1024 * 1024)


class Glance(object):
    def download(self, context, image_id, **kw):
        return (IMAGE[i:i + 65536] for i in range(0, len(IMAGE), 65536))


def instance(i):
    flavor = objects.Flavor(vcpus=1, memory_mb=1, root_gb=0,
                            ephemeral_gb=0, swap=0, extra_specs={})
    return objects.Instance(
        uuid=str(uuid.uuid4()), id=1000 + i, node='cluster1', flavor=flavor,
        user_data=None, key_data=None, hostname=None, display_name='bench',
        project_id='p', task_state=None)


def measure(connections, spawns):
    sim = RemoteSim(setup=lambda s: s.faults.set_latency(LATENCY))
    try:
        conf = bench_engine_cost.configure(
            sim, tempfile.mkdtemp(prefix='bench-'))
        bench_engine_cost.CONF.set_override(
            'connections', connections,
            group=ovirt_conf.pool_group_name(bench_engine_cost.POOL))
        pool = ovirt_pool.OvirtPool(bench_engine_cost.POOL, conf, 'bench',
                                    bench_engine_cost.Queue(),
                                    image_api=Glance())
        pool.start()
        ctx = nova_context.RequestContext('u', 'p', is_admin=True)
        meta = objects.ImageMeta.from_dict({
            'id': str(uuid.uuid4()), 'disk_format': 'raw',
            'size': len(IMAGE), 'container_format': 'bare'})
        # The first boot makes the template (not measured).
        first = instance(0)
        pool.spawn(ctx, first, meta, [], None, {}, [], power_on=True)
        # What one request really takes here (latency + the simulator's
        # and the SDK's work on a shared machine), one at a time.
        vm_id = pool.cache.peek(first.uuid).id
        start = time.monotonic()
        for _ in range(10):
            pool.vmops.get_vm(vm_id)
        service = (time.monotonic() - start) / 10
        errors = []

        def boot(i):
            try:
                pool.spawn(ctx, instance(i), meta, [], None, {}, [],
                           power_on=True)
            except Exception as e:
                errors.append(e)
        threads = [threading.Thread(target=boot, args=(i,))
                   for i in range(1, spawns + 1)]
        sim.call('requests.reset')
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.monotonic() - start
        requests = sim.get('requests.total')
        pool.stop()
        if errors:
            raise errors[0]
        return took, requests, service
    finally:
        sim.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='20 spawns instead of 50')
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    objects.register_all()
    spawns = 20 if args.quick else 50
    print('%d concurrent spawns of a cached image, %d ms engine latency; '
          'load average %s' % (spawns, LATENCY * 1000, bench_common.load()))
    for connections in (4, 16):
        took, requests, service = measure(connections, spawns)
        bound = requests * LATENCY / connections
        effective = requests * service / connections
        print('connections %2d: %6.2f s for %4d requests; bound %6.2f s '
              '(requests x latency / connections), ratio %.2f; with the '
              'measured %.0f ms per request %6.2f s, ratio %.2f'
              % (connections, took, requests, bound, took / bound,
                 service * 1000, effective, took / effective))
    print('load average %s' % bench_common.load())


if __name__ == '__main__':
    main()
