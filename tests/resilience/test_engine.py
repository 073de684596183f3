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

"""The oVirt pool when the engine goes away, slows down or fails."""

import random
import threading
import time

from nova.compute import power_state
from nova import exception as nova_exception

from ovirt_engine_sim import ManualClock
from tests.resilience import base


def names_outage(error):
    """A clean failure during an outage says the engine is unavailable."""
    return 'unavailable' in str(error)


class TestEngineOutage(base.ResilienceTestCase):
    """20 spawns, stops and deletes while the engine refuses connections."""

    SPAWNS = 20
    STOPS = 10
    DELETES = 10
    OUTAGE = 60          # simulated seconds
    SPEED = 20           # simulated seconds per real second

    def test_engine_outage(self):
        f = self.start_figures('engine outage')
        clock = ManualClock()
        sim = self.start_sim(clock=clock)
        pump = base.ClockPump(clock, step=self.SPEED * 0.01, tick=0.01)
        pump.start()
        self.addCleanup(pump.stop)
        pool = self.make_pool(sim)
        # The inventory cache lives 20 s against a 60 s outage; scaled
        # like the outage, it lives one real second here.
        pool.inventory.ttl = 1.0
        # Likewise the VM cache (30 s): the power-state sync and the
        # instance listing meet the outage too.
        pool.cache.ttl = 1.0
        meta = self.add_image()

        # Instances to stop and delete, made before the outage.
        existing = []
        for i in range(self.STOPS + self.DELETES):
            inst = self.instance(node='cluster%d' % (i % 2 + 1))
            pool.spawn(self.request_context(), inst, meta, [], None, {}, [])
            existing.append(inst)
        to_stop = existing[:self.STOPS]
        to_delete = existing[self.STOPS:]
        new = [self.instance(node='cluster%d' % (i % 2 + 1))
               for i in range(self.SPAWNS)]

        spawned, deleted, destroy_failed = set(), set(), set()
        lock = threading.Lock()
        rng = random.Random(6)

        def later(func):
            # Spread the starts over before, during and after the outage.
            delay = rng.uniform(0, 5.0)

            def run():
                time.sleep(delay)
                func()
            return run

        def spawn(inst):
            def op():
                ok, _ = f.run(pool.spawn, self.request_context(), inst,
                              meta, [], None, {}, [], clean=names_outage)
                if ok:
                    with lock:
                        spawned.add(inst.uuid)
            return op

        def stop(inst):
            return lambda: f.run(pool.power_off, inst, clean=names_outage)

        def delete(inst):
            def op():
                ok, _ = f.run(pool.destroy, self.request_context(), inst,
                              [], clean=names_outage)
                with lock:
                    (deleted if ok else destroy_failed).add(inst.uuid)
            return op

        # nova-compute's periodic side: resource updates, power-state
        # sync and the instance listing keep being called throughout.
        periodic = {'calls': 0, 'unavailable': 0, 'zero': 0, 'other': [],
                    'during_outage': 0, 'sync_unavailable': 0}
        running = {'on': True}

        def periodic_tasks():
            while running['on']:
                for node in ('cluster1', 'cluster2'):
                    periodic['calls'] += 1
                    outage = sim.in_outage()
                    try:
                        res = pool.get_available_resource(node)
                        if res['vcpus'] == 0 or res['memory_mb'] == 0:
                            periodic['zero'] += 1
                        # update_provider_tree follows in the same cycle.
                        inv = pool.get_inventory(node)
                        if not inv['VCPU']['total']:
                            periodic['zero'] += 1
                    except nova_exception.NovaException as e:
                        if outage or sim.in_outage():
                            periodic['during_outage'] += 1
                        if names_outage(e):
                            periodic['unavailable'] += 1
                    except Exception as e:
                        periodic['other'].append(repr(e))
                for call in (pool.list_instance_uuids,
                             lambda: pool.get_info(to_stop[0]),
                             lambda: pool.instance_exists(to_stop[1])):
                    try:
                        call()
                    except nova_exception.NovaException:
                        periodic['sync_unavailable'] += 1
                    except Exception as e:
                        periodic['other'].append(repr(e))
                time.sleep(0.2)

        ops = ([later(spawn(i)) for i in new] +
               [later(stop(i)) for i in to_stop] +
               [later(delete(i)) for i in to_delete])

        def outage():
            time.sleep(0.5)
            sim.faults.outage(self.OUTAGE)

        periodic_thread = threading.Thread(target=periodic_tasks,
                                           daemon=True)
        periodic_thread.start()
        started = time.monotonic()
        stuck = self.run_threads(ops + [outage], timeout=150)
        self.assertEqual([], stuck, 'operations still running')
        self.wait_for(lambda: not sim.in_outage(), 30, 'the outage to end')
        f.notes['real_seconds_of_ops'] = round(time.monotonic() - started, 1)
        # The periodic tasks outlived the outage.
        time.sleep(1.5)
        running['on'] = False
        periodic_thread.join(10)
        self.assertFalse(periodic_thread.is_alive())
        f.notes['periodic'] = {k: v for k, v in periodic.items()
                               if k != 'other'}
        self.assertEqual([], periodic['other'])
        self.assertEqual(0, periodic['zero'], 'zero capacity reported')
        self.assertGreater(periodic['unavailable'], 0,
                           'no resource update saw the outage')
        self.assertGreater(f.failed_cleanly, 0, 'the outage hit nothing')

        # Before nova's cleanup: VMs of builds that failed while their
        # own cleanup could not reach the engine.
        found = self.audit_engine(sim, spawned | {
            i.uuid for i in to_stop + to_delete} - deleted)
        f.notes['left_for_nova_cleanup'] = len(found['orphans'])
        # What nova does next: a failed build is cleaned up by destroy
        # (_shutdown_instance), a failed delete is retried.
        for inst in new:
            if inst.uuid not in spawned:
                pool.destroy(self.request_context(), inst, [])
        for inst in to_delete:
            if inst.uuid in destroy_failed:
                pool.destroy(self.request_context(), inst, [])
                deleted.add(inst.uuid)

        alive = spawned | {i.uuid for i in to_stop} | (
            {i.uuid for i in to_delete} - deleted)
        f.audit(self.audit_engine(sim, alive))
        # The pool's view follows the engine again.
        pool.cache.refresh(max_age=0)
        self.assertEqual(sorted(alive), pool.list_instance_uuids())
        for inst in to_stop:
            self.assertIn(pool.get_info(inst, use_cache=False).state,
                          (power_state.SHUTDOWN, power_state.RUNNING))
        f.notes['spawned'] = len(spawned)
        self.assert_must_be_zero()


class TestSlowFailingEngine(base.ResilienceTestCase):
    """Per-request latency and 5% of 503 answers over 100 operations."""

    INSTANCES = 25           # x (spawn, stop, start, delete) = 100 ops
    LATENCY = 0.2
    ERROR_RATE = 0.05
    WORKERS = 13

    def test_slow_and_failing_engine(self):
        f = self.start_figures('slow and failing engine')
        journal = self.useFixture(base.RequestJournal())
        sim = self.start_sim()
        pool = self.make_pool(sim, connections=self.WORKERS)
        meta = self.add_image()
        # The image's template is made before the faults start: its build
        # VM is a POST /vms too, which would blur the per-instance count
        # (broken uploads have a scenario of their own).
        pool.images.template_for(self.context, meta,
                                 pool.cluster_id('cluster1'))
        injected = {'n': 0}
        fault_for = sim.faults.fault_for

        def counting_fault_for(method, path):
            fault = fault_for(method, path)
            if fault is not None:
                injected['n'] += 1
            return fault
        sim.faults.fault_for = counting_fault_for
        sim.faults.set_latency(self.LATENCY)
        sim.faults.set_error_rate(self.ERROR_RATE, status=503)

        insts = [self.instance(node='cluster%d' % (i % 2 + 1))
                 for i in range(self.INSTANCES)]
        contexts = {i.uuid: self.request_context() for i in insts}
        spawned, destroyed, lock = set(), set(), threading.Lock()
        work = list(insts)

        def lifecycle(inst):
            ok, _ = f.run(pool.spawn, contexts[inst.uuid], inst, meta, [],
                          None, {}, [])
            if not ok:
                # nova's build failure path: destroy what may be there.
                f.run(pool.destroy, self.request_context(), inst, [])
                return
            with lock:
                spawned.add(inst.uuid)
            f.run(pool.power_off, inst)
            f.run(pool.power_on, self.request_context(), inst, [])

        def worker():
            while True:
                with lock:
                    if not work:
                        return
                    inst = work.pop()
                lifecycle(inst)

        stuck = self.run_threads([worker] * self.WORKERS, timeout=180)
        self.assertEqual([], stuck)
        sim.faults.clear()
        found = self.audit_engine(sim, spawned)
        f.notes['after_lifecycles'] = {k: len(v) for k, v in found.items()}
        f.audit(found)

        # Deletes, with the faults back on; a failed one is retried as
        # nova retries a delete.
        sim.faults.set_latency(self.LATENCY)
        sim.faults.set_error_rate(self.ERROR_RATE, status=503)
        work[:] = [i for i in insts if i.uuid in spawned]

        def deleter():
            while True:
                with lock:
                    if not work:
                        return
                    inst = work.pop()
                ok, _ = f.run(pool.destroy, self.request_context(), inst,
                              [])
                if ok:
                    with lock:
                        destroyed.add(inst.uuid)
        stuck = self.run_threads([deleter] * self.WORKERS, timeout=120)
        self.assertEqual([], stuck)
        sim.faults.clear()
        for inst in insts:
            if inst.uuid in spawned and inst.uuid not in destroyed:
                pool.destroy(self.request_context(), inst, [])
        f.audit(self.audit_engine(sim, set()))

        adds = journal.vm_adds_by_correlation()
        per_instance = [adds.get(contexts[i.uuid].request_id, 0)
                        for i in insts]
        blind, refused = journal.add_resends(
            [{'cid': contexts[i.uuid].request_id, 'uuid': i.uuid}
             for i in insts])
        f.notes['transport_resends_refused'] = len(refused)
        f.notes['injected_faults'] = injected['n']
        f.notes['post_vms_per_instance_max'] = max(per_instance)
        f.notes['instances_with_retried_add'] = len(
            [n for n in per_instance if n > 1])
        f.notes['blind_add_retries'] = len(blind)
        f.notes['requests'] = len(journal.entries)
        # A second POST /vms only after the mark said the first did not
        # arrive; never more than one retry.
        self.assertEqual(set(), blind)
        self.assertLessEqual(max(per_instance), 2)
        f.duplicated += len(blind)
        self.assertGreater(f.succeeded, 0)
        self.assert_must_be_zero()


class TestTokenExpiry(base.ResilienceTestCase):
    """SSO tokens invalidated mid-run: the SDK logs in again."""

    INSTANCES = 8

    def test_token_expiry_mid_run(self):
        f = self.start_figures('token expiry')
        sim = self.start_sim()
        pool = self.make_pool(sim)
        meta = self.add_image()
        sim.faults.set_latency(0.02)
        logins_before = sim.sso.logins
        insts = [self.instance(node='cluster%d' % (i % 2 + 1))
                 for i in range(self.INSTANCES)]
        running = {'on': True, 'invalidations': 0}

        def invalidator():
            while running['on']:
                time.sleep(0.4)
                sim.faults.invalidate_tokens()
                running['invalidations'] += 1

        def lifecycle(inst):
            def op():
                ok, _ = f.run(pool.spawn, self.request_context(), inst,
                              meta, [], None, {}, [])
                if ok:
                    f.run(pool.power_off, inst)
                    f.run(pool.get_info, inst, use_cache=False)
                    f.run(pool.power_on, self.request_context(), inst, [])
                    f.run(pool.destroy, self.request_context(), inst, [])
            return op

        killer = threading.Thread(target=invalidator, daemon=True)
        killer.start()
        stuck = self.run_threads([lifecycle(i) for i in insts], timeout=120)
        running['on'] = False
        killer.join(5)
        self.assertEqual([], stuck)
        f.notes['invalidations'] = running['invalidations']
        f.notes['logins'] = sim.sso.logins - logins_before
        f.audit(self.audit_engine(sim, set()))
        self.assertGreater(running['invalidations'], 1)
        self.assertGreater(sim.sso.logins - logins_before, 0)
        # No operation may fail because a token expired.
        self.assertEqual(0, f.failed_cleanly, f.as_dict(self.id()))
        self.assertEqual(f.attempted, f.succeeded)
        self.assert_must_be_zero()


class TestTransferBroken(base.ResilienceTestCase):
    """Image data connections reset mid-way: upload and download."""

    def _leftovers(self, sim, image_id):
        with sim.store.lock:
            disks = [d.id for d in sim.store.disks.values()
                     if (d.name or '').startswith('nova-image-')
                     and image_id in (d.name or '')]
            templates = [t.id for t in sim.store.templates.values()
                         if image_id in (t.name or '')]
            transfers = [t.id for t in sim.store.image_transfers.values()
                         if t.phase is not None and t.phase.value in (
                             'initializing', 'transferring', 'resuming',
                             'paused_user', 'paused_system')]
        return disks, templates, transfers

    def test_upload_broken_during_spawn(self):
        f = self.start_figures('transfer broken: upload during spawn')
        sim = self.start_sim()
        pool = self.make_pool(sim)
        pool.poller.stop()
        meta = self.add_image(mib=2)
        sim.faults.fail_transfer_after(256 * 1024)
        inst = self.instance()
        ok, error = f.run(pool.spawn, self.request_context(), inst, meta,
                          [], None, {}, [])
        self.assertFalse(ok)
        f.notes['spawn_error'] = str(error)[:200]
        # nova's build failure path.
        f.run(pool.destroy, self.request_context(), inst, [])
        sim.faults.clear()

        def clean():
            disks, templates, transfers = self._leftovers(sim, meta.id)
            return not disks and not templates and not transfers
        # The engine drops a cancelled upload's disk a moment later.
        self.wait_for(clean, 10, 'the half-made image disk to go')
        f.audit(self.audit_engine(sim, set()))
        self.assertIsNone(pool.images.find(meta.id))

        # A later boot of the same image uploads it again and works.
        again = self.instance()
        ok, error = f.run(pool.spawn, self.request_context(), again, meta,
                          [], None, {}, [])
        self.assertTrue(ok, error)
        self.assertEqual(power_state.RUNNING,
                         pool.get_info(again, use_cache=False).state)
        f.audit(self.audit_engine(sim, {again.uuid}))
        self.assertIsNotNone(pool.images.find(meta.id))
        f.run(pool.destroy, self.request_context(), again, [])
        self.assertEqual(1, f.failed_cleanly)
        self.assert_must_be_zero()

    def test_download_broken_during_snapshot(self):
        f = self.start_figures('transfer broken: download during snapshot')
        sim = self.start_sim()
        pool = self.make_pool(sim)
        pool.poller.stop()
        meta = self.add_image(mib=2)
        inst = self.instance(root_gb=0)
        ok, error = f.run(pool.spawn, self.request_context(), inst, meta,
                          [], None, {}, [])
        self.assertTrue(ok, error)
        vm_id = pool.vmops.vm_id(inst)
        sim.faults.fail_transfer_after(256 * 1024)
        states = []
        ok, error = f.run(pool.snapshot, self.request_context(), inst,
                          'snap-1', lambda **kw: states.append(kw))
        self.assertFalse(ok)
        f.notes['snapshot_error'] = str(error)[:200]
        sim.faults.clear()
        self.assertNotIn('snap-1', self.images.uploads)

        def no_snapshot():
            return [s for s in sim.store.vm_snapshots(vm_id)
                    if s.description and 'nova' in s.description] == []
        self.wait_for(no_snapshot, 10, 'the half-made snapshot to go')
        self.wait_for(lambda: not self._leftovers(sim, 'x')[2], 10,
                      'the broken transfer to end')
        # The instance is unharmed and a new snapshot works.
        self.assertEqual(power_state.RUNNING,
                         pool.get_info(inst, use_cache=False).state)
        ok, error = f.run(pool.snapshot, self.request_context(), inst,
                          'snap-2', lambda **kw: None)
        self.assertTrue(ok, error)
        self.assertIn('snap-2', self.images.uploads)
        # A later boot of the same image works (its template is intact).
        other = self.instance()
        ok, error = f.run(pool.spawn, self.request_context(), other, meta,
                          [], None, {}, [])
        self.assertTrue(ok, error)
        f.audit(self.audit_engine(sim, {inst.uuid, other.uuid}))
        for i in (inst, other):
            f.run(pool.destroy, self.request_context(), i, [])
        f.audit(self.audit_engine(sim, set()))
        self.assertEqual(1, f.failed_cleanly)
        self.assert_must_be_zero()


class TestOutOfBand(base.ResilienceTestCase):
    """An oVirt administrator stops, removes and renames Nova's VMs."""

    def test_out_of_band_changes(self):
        f = self.start_figures('out-of-band changes (oVirt)')
        sim = self.start_sim()
        pool = self.make_pool(sim)
        # One explicit poll stands for "within one event poll".
        pool.poller.stop()
        meta = self.add_image()
        stopped, removed, renamed = (self.instance() for _ in range(3))
        for inst in (stopped, removed, renamed):
            ok, error = f.run(pool.spawn, self.request_context(), inst,
                              meta, [], None, {}, [])
            self.assertTrue(ok, error)
        ids = {i.uuid: pool.vmops.vm_id(i)
               for i in (stopped, removed, renamed)}
        sim.admin_stop_vm(ids[stopped.uuid])
        sim.admin_remove_vm(ids[removed.uuid])
        with sim.store.lock:
            vm = sim.store.vms[ids[renamed.uuid]]
            vm.name = 'renamed-by-admin'
            sim.store.add_event(35, 'VM renamed-by-admin configuration was '
                                'updated by admin@internal-authz.',
                                vm=vm.id, cluster=vm.cluster.id)
        self.queue.events[:] = []
        pool.poller.poll_once()

        sim.requests.reset()
        self.assertEqual(power_state.SHUTDOWN, pool.get_info(stopped).state)
        self.assertEqual(power_state.RUNNING, pool.get_info(renamed).state)
        self.assertEqual(sorted([stopped.uuid, renamed.uuid]),
                         pool.list_instance_uuids())
        # All from the cache the poll refreshed.
        f.notes['requests_after_poll'] = sim.requests.total
        self.assertEqual(0, sim.requests.total)
        self.assertRaises(nova_exception.InstanceNotFound, pool.get_info,
                          removed)
        f.notes['lifecycle_events'] = sorted(
            (e.uuid[:8], e.transition) for e in self.queue.events)

        for inst in (stopped, removed, renamed):
            ok, error = f.run(pool.destroy, self.request_context(), inst,
                              [])
            self.assertTrue(ok, error)
        self.assertEqual([], pool.list_instance_uuids())
        f.audit(self.audit_engine(sim, set()))
        self.assert_must_be_zero()


class TestConcurrency(base.ResilienceTestCase):
    """50 concurrent spawns through one OvirtDriver with two engines."""

    SPAWNS = 50

    def test_concurrent_spawns_two_engines(self):
        f = self.start_figures('concurrency: 50 spawns, 2 engines')
        sims = {'east': self.start_sim(), 'west': self.start_sim()}
        # Node names are unique across pools: one cluster each.
        clusters = {'east': 'cluster1', 'west': 'cluster2'}
        driver = self.make_driver(sims, clusters)
        meta = self.add_image()
        nodes = sorted(clusters.values())
        insts = [self.instance(node=nodes[i % 2])
                 for i in range(self.SPAWNS)]
        barrier = threading.Barrier(self.SPAWNS)

        def spawn(inst):
            def op():
                try:
                    barrier.wait(30)
                except threading.BrokenBarrierError:
                    pass
                f.run(driver.spawn, self.request_context(), inst, meta, [],
                      None, {}, [])
            return op

        started = time.monotonic()
        stuck = self.run_threads([spawn(i) for i in insts], timeout=180)
        f.notes['seconds_for_spawns'] = round(time.monotonic() - started, 1)
        self.assertEqual([], stuck, 'deadlock: spawns still running')
        self.assertEqual(self.SPAWNS, f.succeeded, f.as_dict(self.id()))

        # Every VM once, with its mark, on the engine of its node.
        by_pool = {}
        for name, sim in sims.items():
            mine = {i.uuid for i in insts if i.node == clusters[name]}
            found = self.audit_engine(sim, mine)
            f.audit(found)
            with sim.store.lock:
                vms = {v.description: v for v in sim.store.vms.values()
                       if v.description}
            for inst in insts:
                if inst.node != clusters[name]:
                    continue
                vm = vms[base.vm_cache.mark(inst.uuid)]
                self.assertEqual(inst.name, vm.name)
                self.assertEqual(sim.store.by_name(
                    'clusters', clusters[name]).id, vm.cluster.id)
            pool = driver._pools[name]
            by_pool[name] = {
                'connections': pool.session._created,
                'limit': pool.session._size,
            }
            self.assertLessEqual(pool.session._created, pool.session._size)
        f.notes['sessions'] = by_pool
        self.assertEqual(sorted(i.uuid for i in insts),
                         sorted(driver.list_instance_uuids()))
        for inst in insts:
            self.assertEqual(power_state.RUNNING,
                             driver.get_info(inst).state)

        # And 50 concurrent deletes.
        stuck = self.run_threads(
            [lambda i=i: f.run(driver.destroy, self.request_context(), i,
                               []) for i in insts], timeout=180)
        self.assertEqual([], stuck, 'deadlock: deletes still running')
        for sim in sims.values():
            f.audit(self.audit_engine(sim, set()))
        self.assertEqual([], driver.list_instance_uuids())
        self.assertEqual(2 * self.SPAWNS, f.succeeded)
        self.assert_must_be_zero()


class TestLostReply(base.ResilienceTestCase):
    """The engine creates the VM, the answer never arrives.

    The simulator has no hook for "do it, then drop the connection", so
    the test wraps its API dispatcher: for the first ``POST /vms`` of each
    instance the VM is created and the connection is then closed without
    an answer (the handler's ConnectionError path).
    """

    SPAWNS = 6

    def test_retried_create_finds_first_attempt(self):
        f = self.start_figures('reply lost after create')
        journal = self.useFixture(base.RequestJournal())
        sim = self.start_sim()
        pool = self.make_pool(sim)
        meta = self.add_image()
        pool.images.template_for(self.context, meta,
                                 pool.cluster_id('cluster1'))
        handle = sim.api.handle
        dropped = []

        def lossy(method, path, query, headers, body):
            status, xml = handle(method, path, query, headers, body)
            if method == 'POST' and path.endswith('/api/vms') and \
                    'nova-ovirt:instance=' in body and \
                    query.get('correlation_id') not in dropped:
                dropped.append(query.get('correlation_id'))
                raise ConnectionError('reply lost (injected)')
            return status, xml
        sim.api.handle = lossy
        insts = [self.instance(node='cluster%d' % (i % 2 + 1))
                 for i in range(self.SPAWNS)]
        contexts = {i.uuid: self.request_context() for i in insts}
        stuck = self.run_threads(
            [lambda i=i: f.run(pool.spawn, contexts[i.uuid], i, meta, [],
                               None, {}, []) for i in insts], timeout=120)
        self.assertEqual([], stuck)
        self.assertEqual(self.SPAWNS, len(dropped))
        adds = journal.vm_adds_by_correlation()
        per_instance = [adds.get(contexts[i.uuid].request_id, 0)
                        for i in insts]
        f.notes['replies_dropped'] = len(dropped)
        f.notes['post_vms_per_instance'] = sorted(set(per_instance))
        blind, refused = journal.add_resends(
            [{'cid': contexts[i.uuid].request_id, 'uuid': i.uuid}
             for i in insts])
        # libcurl resends a POST whose reused connection died before any
        # answer; the engine refuses the copy (the VM name is taken) and
        # the pool finds its first attempt by the mark.
        f.notes['transport_resends_refused'] = len(refused)
        f.notes['blind_add_retries'] = len(blind)
        self.assertEqual(set(), blind)
        self.assertLessEqual(max(per_instance), 2)
        f.duplicated += len(blind)
        f.audit(self.audit_engine(sim, {i.uuid for i in insts}))
        for inst in insts:
            self.assertEqual(power_state.RUNNING,
                             pool.get_info(inst, use_cache=False).state)
            f.run(pool.destroy, self.request_context(), inst, [])
        f.audit(self.audit_engine(sim, set()))
        self.assertEqual(2 * self.SPAWNS, f.succeeded)
        self.assert_must_be_zero()
