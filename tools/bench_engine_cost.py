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

"""What the oVirt pool costs the engine in nova's real cycle.

nova's pattern, replayed against the engine simulator (which counts every
request and every reply byte): the event feed read every
``event_poll_interval``, the power-state sync (``get_info`` of every
instance on 32 threads), the resource update of every node 60 s apart,
the VM cache's TTL 30 s. Time runs 20 times faster than nova's (the feed
every 0.25 s, the TTL 1.5 s, a 60 s cycle in 3 s), so the TTL expires
between two resource updates as it does in nova.

Figures, for N = 10 and N = 2000 Nova VMs and their ratio:

* a steady cycle (feed reads, one sync, one resource update);
* k VMs stopped out of band: the feed's GETs, then nova's
  ``get_info(use_cache=False)`` of each instance it finds stopped;
* a VM removed out of band: what each later sync costs for it;
* the per-instance baseline, measured in the same run: one
  ``GET /vms/{id}`` per instance per sync.

Run: ``python tools/bench_engine_cost.py [--quick]``.
"""

import argparse
import concurrent.futures
import logging
import os
import sys
import tempfile
import time
import uuid

os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import nova.conf  # noqa: E402
from nova import exception as nova_exception  # noqa: E402
from nova import objects  # noqa: E402

from nova_ovirt import conf as ovirt_conf  # noqa: E402
from nova_ovirt.pools.ovirt import cache as vm_cache  # noqa: E402
from nova_ovirt.pools.ovirt import pool as ovirt_pool  # noqa: E402
from ovirt_engine_sim import EngineSimulator  # noqa: E402

CONF = nova.conf.CONF
POOL = 'bench'
SPEEDUP = 20.0
POLL = 5 / SPEEDUP            # [ovirt] event_poll_interval
TTL = 30 / SPEEDUP            # [ovirt] power_state_cache_ttl
CYCLE = 60 / SPEEDUP          # nova's update_available_resource
SYNC_THREADS = 32             # nova's sync_power_state_pool_size default
K = 5                         # VMs stopped out of band


class Queue(object):
    def put(self, event):
        pass


def configure(sim, state_path):
    CONF([], project='nova', default_config_files=[])
    CONF.set_override('state_path', state_path)
    ovirt_conf.register_opts(CONF)
    # The bench reads the feed itself, on nova's clock scaled.
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
                         description=vm_cache.mark(u), status='up',
                         memory=1024 * 1024)
        uuids.append(u)
    return uuids


class Nova(object):
    """The calls nova-compute makes, on its threads."""

    def __init__(self, pool, uuids):
        self.pool = pool
        self.instances = {u: objects.Instance(uuid=u, node=None)
                          for u in uuids}
        self.expected = dict.fromkeys(uuids, 1)   # the DB: running
        self.threads = concurrent.futures.ThreadPoolExecutor(SYNC_THREADS)

    def _sync_one(self, u):
        inst = self.instances[u]
        try:
            state = self.pool.get_info(inst).state
        except nova_exception.InstanceNotFound:
            return
        if state != self.expected[u]:
            # _stop_unexpected_shutdown_instance: re-check, then stop.
            self.pool.get_info(inst, use_cache=False)
            self.expected[u] = state

    def power_sync(self):
        list(self.threads.map(self._sync_one, list(self.instances)))

    def resource_update(self):
        for node in self.pool.nodes():
            self.pool.get_available_resource(node)
            self.pool.get_inventory(node)
            self.pool.node_traits(node)

    def cycle(self):
        """One resource-update period: feed reads, a sync, an update."""
        deadline = time.monotonic() + CYCLE
        while time.monotonic() < deadline:
            self.pool.poller.poll_once()
            time.sleep(POLL)
        self.power_sync()
        self.resource_update()


def counted(sim, func):
    sim.requests.reset()
    func()
    return sim.requests.total, sim.requests.bytes_replied


def measure(n):
    sim = EngineSimulator().start()
    try:
        conf = configure(sim, tempfile.mkdtemp(prefix='bench-'))
        uuids = add_owned_vms(sim, n)
        sim.admin_add_vm('operator-vm', 'cluster1', description='mine')
        pool = ovirt_pool.OvirtPool(POOL, conf, 'bench', Queue())
        pool.start()
        pool.poller.stop()
        pool.cache.ttl = TTL
        pool.inventory.ttl = 20 / SPEEDUP     # inventory.DEFAULT_TTL
        nova = Nova(pool, uuids)
        nova.cycle()                                   # warm
        out = {'steady': counted(sim, nova.cycle)}

        ids = [pool.cache.peek(u).id for u in uuids[:K]]
        for vm_id in ids:
            sim.admin_stop_vm(vm_id)
        out['out_of_band'] = counted(sim, nova.cycle)

        gone = uuids[-1]
        sim.admin_remove_vm(pool.cache.peek(gone).id)
        nova.cycle()                                   # the event is read
        sim.requests.reset()
        nova._sync_one(gone)
        out['removed'] = (sim.requests.total, sim.requests.bytes_replied)

        def per_instance():
            # The baseline: a driver that asks once per instance.
            for u in uuids:
                rec = pool.cache.peek(u)
                if rec is not None:
                    pool.vmops.get_vm(rec.id)
        out['baseline'] = counted(sim, per_instance)
        pool.stop()
        nova.threads.shutdown()
        return out
    finally:
        sim.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='N = 10 and 200 instead of 10 and 2000')
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    objects.register_all()
    sizes = (10, 200) if args.quick else (10, 2000)
    results = {n: measure(n) for n in sizes}
    small, large = sizes
    print('oVirt pool engine cost in nova\'s cycle (60 s: %d feed reads, '
          'one power sync on %d threads, one resource update)'
          % (CYCLE / POLL, SYNC_THREADS))
    print('%-34s %18s %18s %8s' % ('', 'N=%d' % small, 'N=%d' % large,
                                   'ratio'))

    def row(label, key):
        a, b = results[small][key], results[large][key]
        print('%-34s %6d req %7.1f KB %6d req %7.1f KB %5.2f/%.2f' % (
            label, a[0], a[1] / 1e3, b[0], b[1] / 1e3,
            b[0] / max(a[0], 1), b[1] / max(a[1], 1)))
    row('steady cycle', 'steady')
    row('cycle with %d VMs stopped outside' % K, 'out_of_band')
    row('sync of an instance whose VM went', 'removed')
    row('baseline: one GET per instance', 'baseline')
    s, b = results[large]['steady'], results[large]['baseline']
    print('at N=%d a steady cycle costs %.4f of the per-instance baseline '
          'in requests, %.4f in bytes' % (large, s[0] / b[0], s[1] / b[1]))


if __name__ == '__main__':
    main()
