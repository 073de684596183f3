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

"""What the VM cache costs the engine, in requests (counts, not timings)."""

import threading
import time
import uuid

import fixtures

from nova.compute import power_state
from nova import exception as nova_exception

from nova_ovirt.pools.ovirt import cache as vm_cache
from nova_ovirt.pools.ovirt import session as ovirt_session
from tests.unit.pools.ovirt import base

_LISTING = r'/vms$'
_ONE_VM = r'/vms/[0-9a-f-]{36}$'


class CacheCostTestCase(base.SimTestCase):

    def setUp(self):
        super().setUp()
        self.pool = self.make_pool()
        # The test reads the feed itself, so counts stay exact.
        self.pool.poller.stop()
        self.uuids = []
        for i in range(12):
            u = str(uuid.uuid4())
            self.sim.admin_add_vm('vm-%d' % i, 'cluster1',
                                  description=vm_cache.mark(u), status='up')
            self.uuids.append(u)
        self.pool.poller.poll_once()
        self.pool.cache.refresh(max_age=0)
        # The first resource update counts Nova's disks (one listing every
        # inventory.NOVA_DISK_COUNT_TTL, not every cycle).
        self.pool.get_available_resource('cluster1')
        self.sim.requests.reset()

    def inst(self, u):
        return self.instance(uuid=u)

    def vm_id(self, u):
        return self.pool.cache.peek(u).id

    def sync(self):
        """nova's power-state sync: get_info of every instance."""
        return [self.pool.get_info(self.inst(u)).state for u in self.uuids]

    def test_in_sync_cycle_asks_nothing(self):
        self.assertEqual([power_state.RUNNING] * 12, self.sync())
        self.pool.get_available_resource('cluster1')
        self.assertEqual(0, self.sim.requests.count('GET', _LISTING))
        self.assertEqual(0, self.sim.requests.count('GET', _ONE_VM))

    def test_feed_keeps_the_cache_in_sync_past_the_ttl(self):
        self.pool.cache.ttl = 0.2
        time.sleep(0.3)
        self.pool.poller.poll_once()
        self.sim.requests.reset()
        self.sync()
        self.assertEqual(0, self.sim.requests.total)

    def test_without_the_feed_the_ttl_lists_once(self):
        self.pool.cache.ttl = 0.2
        time.sleep(0.3)
        self.sync()
        self.assertEqual(1, self.sim.requests.count('GET', _LISTING))
        self.assertEqual(1, self.sim.requests.total)

    def test_listing_slower_than_the_ttl_is_not_repeated(self):
        self.pool.cache.ttl = 0.2
        self.sim.faults.set_latency(0.3, path_regex=_LISTING, method='GET')
        self.pool.cache.invalidate()
        self.sync()
        self.assertEqual(1, self.sim.requests.count('GET', _LISTING))

    def test_get_info_without_cache_is_one_get_of_the_vm(self):
        state = self.pool.get_info(self.inst(self.uuids[0]),
                                   use_cache=False).state
        self.assertEqual(power_state.RUNNING, state)
        self.assertEqual(1, self.sim.requests.total)
        self.assertEqual(1, self.sim.requests.count(
            'GET', '/vms/%s$' % self.vm_id(self.uuids[0])))

    def test_k_out_of_band_changes_cost_k_gets(self):
        stopped = self.uuids[:3]
        for u in stopped:
            self.sim.admin_stop_vm(self.vm_id(u))
        self.sim.requests.reset()
        self.pool.poller.poll_once()
        self.assertEqual(1, self.sim.requests.count('GET', r'/events$'))
        self.assertEqual(3, self.sim.requests.count('GET', _ONE_VM))
        self.assertEqual(0, self.sim.requests.count('GET', _LISTING))
        self.assertEqual(4, self.sim.requests.total)
        self.sim.requests.reset()
        states = self.sync()
        self.assertEqual(3, states.count(power_state.SHUTDOWN))
        self.assertEqual(0, self.sim.requests.total)

    def test_removed_vm_costs_nothing_after_its_event(self):
        gone = self.uuids[0]
        self.sim.admin_remove_vm(self.vm_id(gone))
        self.pool.poller.poll_once()
        self.sim.requests.reset()
        for _ in range(3):
            self.assertRaises(nova_exception.InstanceNotFound,
                              self.pool.get_info, self.inst(gone))
        self.assertEqual(0, self.sim.requests.total)

    def test_concurrent_reads_of_one_vm_share_one_request(self):
        self.sim.faults.set_latency(0.3, path_regex=_ONE_VM, method='GET')
        inst = self.inst(self.uuids[0])
        states = []

        def read():
            states.append(self.pool.get_info(inst, use_cache=False).state)
        threads = [threading.Thread(target=read) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([power_state.RUNNING] * 8, states)
        self.assertEqual(1, self.sim.requests.count('GET', _ONE_VM))

    def test_concurrent_listings_share_one_request(self):
        self.sim.faults.set_latency(0.3, path_regex=_LISTING, method='GET')
        self.pool.cache.invalidate()
        threads = [threading.Thread(target=self.sync) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(1, self.sim.requests.count('GET', _LISTING))

    def test_memory_per_cluster_follows_changes(self):
        def held():
            return self.pool.cache.memory_held(
                self.pool.cluster_id('cluster1'))
        before = held()
        rec = self.pool.cache.peek(self.uuids[0])
        self.assertGreater(rec.memory, 0)
        self.sim.admin_stop_vm(rec.id)
        self.pool.poller.poll_once()
        self.assertEqual(before - rec.memory, held())
        self.pool.cache.refresh(max_age=0)
        self.assertEqual(before - rec.memory, held())

    def _listing_in_transit(self):
        """Start a listing whose reply is read but not yet applied.

        The real listing runs; only its arrival waits, as a reply does on
        a busy engine. Returns the event that lets it arrive and the
        thread to join.
        """
        read, arrive = threading.Event(), threading.Event()
        real = vm_cache.list_records

        def in_transit(system, search=None, page=None):
            page = real(system, search, page)
            read.set()
            arrive.wait(10)
            return page
        self.useFixture(fixtures.MockPatchObject(
            vm_cache, 'list_records', in_transit))
        lister = threading.Thread(target=self.pool.cache.refresh,
                                  kwargs={'max_age': 0})
        lister.start()
        self.assertTrue(read.wait(10))
        return arrive, lister

    def test_listing_older_than_a_read_does_not_undo_it(self):
        # nova reads the power state right after spawn: a listing that
        # started before the VM came up must not turn it back.
        u = self.uuids[0]
        arrive, lister = self._listing_in_transit()
        self.sim.admin_stop_vm(self.vm_id(u))
        self.assertEqual(power_state.SHUTDOWN, self.pool.get_info(
            self.inst(u), use_cache=False).state)
        arrive.set()
        lister.join(10)
        self.assertEqual(power_state.SHUTDOWN,
                         self.pool.get_info(self.inst(u)).state)

    def test_vm_created_during_a_listing_is_not_gone(self):
        arrive, lister = self._listing_in_transit()
        u = str(uuid.uuid4())
        self.sim.admin_add_vm('late', 'cluster1',
                              description=vm_cache.mark(u), status='up')
        self.assertEqual(power_state.RUNNING, self.pool.get_info(
            self.inst(u), use_cache=False).state)
        arrive.set()
        lister.join(10)
        self.assertEqual(power_state.RUNNING,
                         self.pool.get_info(self.inst(u)).state)
        self.assertIn(u, self.pool.list_instance_uuids())


class PagedListingTestCase(base.SimTestCase):

    def test_pages_cover_every_vm(self):
        self.useFixture(fixtures.MockPatchObject(vm_cache, 'LIST_PAGE', 5))
        uuids = set()
        for i in range(12):
            u = str(uuid.uuid4())
            self.sim.admin_add_vm('vm-%d' % i, 'cluster1',
                                  description=vm_cache.mark(u),
                                  status='down')
            uuids.add(u)
        pool = self.make_pool()
        pool.poller.stop()
        self.sim.requests.reset()
        pool.cache.refresh(max_age=0)
        self.assertEqual(uuids, set(pool.list_instance_uuids()))
        self.assertEqual(3, self.sim.requests.count('GET', _LISTING))


class ListingParserTestCase(base.SimTestCase):

    def test_keeps_only_nova_vms_fields(self):
        u = str(uuid.uuid4())
        self.sim.admin_add_vm('ours', 'cluster1', description=vm_cache.mark(u))
        self.sim.admin_add_vm('theirs', 'cluster1', description='mine')
        session = ovirt_session.Session(
            self.sim.url, self.sim.username, self.sim.password,
            ca_file=self.sim.ca_file)
        self.addCleanup(session.close)
        page = session.read(
            lambda system: vm_cache.list_records(system, 'name=*'))
        records = page.records
        self.assertEqual([u], [r.uuid for r in records])
        vm = session.read(lambda system: system.vms_service().vm_service(
            records[0].id).get())
        self.assertEqual(vm_cache.record_of(vm), records[0])

    def test_not_a_listing_is_a_bad_reply(self):
        self.assertRaises(ovirt_session.BadReply, vm_cache.parse_listing,
                          b'<fault><reason>x</reason></fault>')
        self.assertRaises(ovirt_session.BadReply, vm_cache.parse_listing,
                          b'<vms><vm id="1">')
