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

"""What the oVirt pool costs the engine, counted by the engine simulator.

Figures:

* one power-state sync (get_info of every Nova-owned VM, as nova's
  ``_sync_power_states`` does) plus one resource update of every node, for
  N = 10 and N = 2000 VMs, and their ratio. Compared with a driver that
  asks the engine once per instance (N + 2 per cluster requests).
* requests of one spawn from an image already on the engine.
* image bytes moved for the first and the second boot of the same image.

Run: ``python tools/bench_engine_cost.py`` (needs no network: the
simulator listens on loopback).
"""

import logging
import os
import sys
import tempfile
import uuid

os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import nova.conf  # noqa: E402
from nova import context as nova_context  # noqa: E402
from nova import objects  # noqa: E402

from nova_ovirt import conf as ovirt_conf  # noqa: E402
from ovirt_engine_sim import EngineSimulator  # noqa: E402
from nova_ovirt.pools.ovirt import cache as vm_cache  # noqa: E402
from nova_ovirt.pools.ovirt import pool as ovirt_pool  # noqa: E402

CONF = nova.conf.CONF
POOL = 'bench'
FAST = {k: 0.01 for k in (
    'vm_image_lock', 'vm_launch', 'vm_power_up', 'vm_power_down',
    'disk_lock', 'template_lock', 'snapshot_lock', 'transfer_init',
    'transfer_finalize')}
IMAGE_BYTES = (bytes(range(256)) * 4096) * 4 + bytes(4 * 1024 * 1024)


class Queue(object):
    def put(self, event):
        pass


class Glance(object):
    def __init__(self, data):
        self.data = data

    def download(self, context, image_id, **kw):
        return (self.data[i:i + 65536]
                for i in range(0, len(self.data), 65536))


def configure(sim, state_path):
    CONF([], project='nova', default_config_files=[])
    CONF.set_override('state_path', state_path)
    ovirt_conf.register_opts(CONF)
    # The poller runs on its own clock; keep it out of the counts.
    CONF.set_override('event_poll_interval', 3600, group='ovirt')
    group = ovirt_conf.pool_group_name(POOL)
    ovirt_conf.register_pool_common_opts(CONF, POOL)
    ovirt_conf.register_pool_backend_opts(CONF, POOL,
                                          ovirt_conf.OVIRT_POOL_OPTS)
    for key, value in dict(backend='ovirt', url=sim.url,
                           username=sim.username, password=sim.password,
                           ca_file=sim.ca_file,
                           clusters=['cluster1', 'cluster2'],
                           storage_domain='data').items():
        CONF.set_override(key, value, group=group)
    return CONF[group]


def add_owned_vms(sim, count):
    """Nova-owned VMs straight in the simulator's store (no disks)."""
    uuids = []
    for i in range(count):
        u = str(uuid.uuid4())
        sim.admin_add_vm('bench-%d-%s' % (i, u[:8]),
                         'cluster1' if i % 2 else 'cluster2',
                         description=vm_cache.mark(u), status='down')
        uuids.append(u)
    return uuids


def one_cycle(sim, pool, uuids):
    """Requests of one power-state sync plus one resource update."""
    pool.cache.invalidate()
    pool.inventory._fetched = None
    sim.requests.reset()
    for u in uuids:
        pool.get_info(objects.Instance(uuid=u, node=None))
    sync = sim.requests.total
    for node in pool.nodes():
        pool.get_available_resource(node)
        pool.get_inventory(node)
        pool.node_traits(node)
    return sync, sim.requests.total - sync


def measure_sync(n):
    sim = EngineSimulator(delays=FAST).start()
    try:
        conf = configure(sim, tempfile.mkdtemp(prefix='bench-'))
        pool = ovirt_pool.OvirtPool(POOL, conf, 'bench', Queue(),
                                    image_api=Glance(IMAGE_BYTES))
        uuids = add_owned_vms(sim, n)
        # An operator VM: invisible, and costs nothing.
        sim.admin_add_vm('operator-vm', 'cluster1', description='mine')
        pool.start()
        sync, resources = one_cycle(sim, pool, uuids)
        pool.stop()
        return sync, resources, len(pool.nodes())
    finally:
        sim.stop()


def measure_spawn():
    sim = EngineSimulator(delays=FAST).start()
    try:
        conf = configure(sim, tempfile.mkdtemp(prefix='bench-'))
        pool = ovirt_pool.OvirtPool(POOL, conf, 'bench', Queue(),
                                    image_api=Glance(IMAGE_BYTES))
        pool.start()
        ctx = nova_context.RequestContext('u', 'p', is_admin=True)
        image_id = str(uuid.uuid4())
        meta = objects.ImageMeta.from_dict({
            'id': image_id, 'disk_format': 'raw', 'size': len(IMAGE_BYTES),
            'container_format': 'bare'})
        boots = []
        for i in range(2):
            flavor = objects.Flavor(vcpus=1, memory_mb=256, root_gb=0,
                                    ephemeral_gb=0, swap=0, extra_specs={})
            inst = objects.Instance(
                uuid=str(uuid.uuid4()), id=1000 + i, node='cluster1',
                flavor=flavor, user_data=None, key_data=None, hostname=None,
                display_name='bench', project_id='p', task_state=None)
            sim.requests.reset()
            pool.spawn(ctx, inst, meta, [], None, {}, [], power_on=True)
            r = sim.requests
            boots.append((r.total, r.bytes_uploaded, r.bytes_copied))
        pool.stop()
        return boots
    finally:
        sim.stop()


def main():
    logging.basicConfig(level=logging.ERROR)
    objects.register_all()
    print('oVirt pool engine cost (engine simulator request counter)')
    print('=' * 64)
    results = {}
    for n in (10, 2000):
        results[n] = measure_sync(n)
        sync, res, nodes = results[n]
        print('N=%-5d power-state sync: %3d requests (per-instance GETs '
              'would be %d)' % (n, sync, n))
        print('        resource update of %d nodes: %d requests (per-node '
              'reads would be %d)' % (nodes, res, 2 * nodes))
    small = sum(results[10][:2])
    large = sum(results[2000][:2])
    print('cycle total: N=10 -> %d, N=2000 -> %d requests; ratio %.2f '
          '(N grew 200x; a per-instance driver would grow ~%.0fx)'
          % (small, large, large / float(small),
             (2000 + 4) / float(10 + 4)))
    first, second = measure_spawn()
    print('-' * 64)
    print('spawn, image not yet on the engine: %3d requests, %d bytes '
          'uploaded, %d bytes copied by the engine (image: %d bytes, half '
          'zeros)' % (first[0], first[1], first[2], len(IMAGE_BYTES)))
    print('spawn, image cached as template:    %3d requests, %d bytes '
          'uploaded, %d bytes copied (thin clone of the template)'
          % second)
    print('event feed: 1 request per [ovirt] event_poll_interval per '
          'engine, whatever N')


if __name__ == '__main__':
    main()
