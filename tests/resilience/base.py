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

"""Shared machinery of the resilience scenarios.

* :class:`Figures`: what a scenario attempted and how each operation
  ended, plus the three must-be-zero audits of the engine (lost,
  duplicated, orphans); appended as one JSON line to the report file
  (``$NOVA_OVIRT_RESILIENCE_REPORT``, default
  ``.test-logs/resilience.jsonl``).
* :class:`ResilienceTestCase`: engine simulators, OvirtPools and nova
  instances (``nova.tests.unit.fake_instance``), as the pool unit tests
  build them, plus helpers to run operations on threads with a bounded
  join and to audit the engine against what nova believes exists.
* :class:`ClockPump`: moves a simulator's ManualClock at a fixed speed, so
  minutes of engine time (an outage) pass in seconds.
* :class:`RequestJournal`: every request the simulator received, with its
  query string, to tell retried creates from safe retries.

Only Glance is a stand-in (``FakeImageAPI`` of the pool unit tests).
"""

import collections
import datetime
import itertools
import json
import os
import threading
import time
import urllib.parse
import uuid as uuid_mod

import fixtures
from oslo_config import fixture as config_fixture
from oslotest import base as oslotest_base

import nova.conf
from nova import context as nova_context
from nova import exception as nova_exception
from nova import objects
from nova.tests.unit import fake_instance

from nova_ovirt import compat
from nova_ovirt import conf as ovirt_conf
from ovirt_engine_sim import EngineSimulator
from ovirt_engine_sim import compat as sim_compat
from ovirt_engine_sim import server as sim_server
from nova_ovirt.pools.ovirt import cache as vm_cache
from nova_ovirt.pools.ovirt import pool as ovirt_pool
from tests.unit.pools.ovirt import base as ovirt_base

CONF = nova.conf.CONF
objects.register_all()
ovirt_conf.register_opts(CONF)

REPORT_ENV = 'NOVA_OVIRT_RESILIENCE_REPORT'
DEFAULT_REPORT = os.path.join('.test-logs', 'resilience.jsonl')
#: Figures that must be zero in every scenario.
MUST_BE_ZERO = ('lost', 'duplicated', 'orphans', 'unclean')

FAST = dict(ovirt_base.FAST)
FakeImageAPI = ovirt_base.FakeImageAPI
image_bytes = ovirt_base.image_bytes

#: Bound on one scenario (a deadlock fails the test instead of the run).
TEST_TIMEOUT = 240

_IDS = itertools.count(int.from_bytes(os.urandom(2), 'big') * 1000 + 1)


def report_path():
    return os.environ.get(REPORT_ENV) or DEFAULT_REPORT


def concurrency_mode():
    return 'threading' if compat.threading_mode() else 'eventlet'


class Figures(object):
    """Outcome counts of one scenario; thread safe."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.attempted = 0
        self.succeeded = 0
        self.failed_cleanly = 0
        #: operations that failed with something else than a nova
        #: exception naming the cause (must be 0)
        self.unclean = 0
        self.lost = 0
        self.duplicated = 0
        self.orphans = 0
        self.notes = {}
        self.errors = []          # texts of unclean failures
        self.clean_errors = collections.Counter()
        self.clean_samples = []
        self._lock = threading.Lock()
        self._started = time.monotonic()

    def run(self, func, *args, clean=None, **kwargs):
        """Run one operation and count how it ended.

        A failure is clean when it is a NovaException and ``clean`` (a
        predicate on the exception, if given) accepts it. Returns
        (ok, exception).
        """
        with self._lock:
            self.attempted += 1
        try:
            func(*args, **kwargs)
        except nova_exception.NovaException as e:
            ok = clean is None or clean(e)
            with self._lock:
                if ok:
                    self.failed_cleanly += 1
                    self.clean_errors[type(e).__name__] += 1
                    if len(self.clean_samples) < 5:
                        self.clean_samples.append(str(e)[:300])
                else:
                    self.unclean += 1
                    self.errors.append('%s: %s' % (type(e).__name__, e))
            return False, e
        except Exception as e:
            with self._lock:
                self.unclean += 1
                self.errors.append('%s: %s' % (type(e).__name__, e))
            return False, e
        with self._lock:
            self.succeeded += 1
        return True, None

    def audit(self, found):
        """Take lost/duplicated/orphans from an engine audit dict."""
        self.lost += len(found['lost'])
        self.duplicated += len(found['duplicated'])
        self.orphans += len(found['orphans'])
        for key in ('lost', 'duplicated', 'orphans'):
            if found[key]:
                self.notes.setdefault(key + '_uuids', []).extend(
                    sorted(found[key])[:10])

    def as_dict(self, test_id):
        data = {
            'scenario': self.scenario,
            'mode': concurrency_mode(),
            'test': test_id,
            'time': datetime.datetime.now(
                datetime.timezone.utc).isoformat(timespec='seconds'),
            'seconds': round(time.monotonic() - self._started, 2),
            'attempted': self.attempted,
            'succeeded': self.succeeded,
            'failed_cleanly': self.failed_cleanly,
            'unclean': self.unclean,
            'lost': self.lost,
            'duplicated': self.duplicated,
            'orphans': self.orphans,
        }
        notes = dict(self.notes)
        if self.clean_errors:
            notes['clean_errors'] = dict(self.clean_errors)
            notes['clean_error_samples'] = self.clean_samples
        if self.errors:
            notes['unclean_errors'] = self.errors[:10]
        data['notes'] = notes
        return data

    def write(self, test_id):
        path = report_path()
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        line = json.dumps(self.as_dict(test_id), sort_keys=True,
                          default=str)
        # One write per line, append mode: parallel workers do not mix.
        with open(path, 'a') as f:
            f.write(line + '\n')


class ClockPump(object):
    """Advances a ManualClock by ``step`` every ``tick`` real seconds.

    Runs on a real OS thread (the simulator's own threading), so it keeps
    going in eventlet mode while green threads block in the SDK.
    """

    def __init__(self, clock, step=0.2, tick=0.01):
        self.clock = clock
        self.step = step
        self.tick = tick
        self._running = False
        self._thread = None

    def start(self):
        self._running = True
        self._thread = sim_compat.threading.Thread(
            target=self._loop, name='clock-pump', daemon=True)
        self._thread.start()

    def _loop(self):
        while self._running:
            self.clock.advance(self.step)
            sim_compat.time.sleep(self.tick)

    def stop(self):
        self._running = False


class RequestJournal(fixtures.Fixture):
    """Every request a simulator received: (method, path, query dict).

    Patches the simulator's HTTP handler class for the test, so requests
    answered with an injected fault are in it too.
    """

    def _setUp(self):
        self.entries = []
        # Taken on the simulator's OS threads: an OS lock in either mode.
        self._lock = sim_compat.threading.Lock()
        original = sim_server.Handler._handle
        send_response = sim_server.Handler.send_response
        journal = self

        def _handle(handler):
            url = urllib.parse.urlsplit(handler.path)
            query = dict(urllib.parse.parse_qsl(url.query,
                                                keep_blank_values=True))
            # [method, path, query, answer status (None: no answer)]
            entry = [handler.command, urllib.parse.unquote(url.path), query,
                     None]
            with journal._lock:
                journal.entries.append(entry)
            handler._journal_entry = entry
            return original(handler)

        def _send_response(handler, code, message=None):
            entry = getattr(handler, '_journal_entry', None)
            if entry is not None:
                entry[3] = code
            return send_response(handler, code, message)
        self.useFixture(fixtures.MonkeyPatch(
            'ovirt_engine_sim.server.Handler._handle', _handle))
        self.useFixture(fixtures.MonkeyPatch(
            'ovirt_engine_sim.server.Handler.send_response',
            _send_response))

    def vm_adds_by_correlation(self):
        """{correlation id: number of POST /vms}."""
        counts = collections.Counter()
        with self._lock:
            for method, path, query, _ in self.entries:
                if method == 'POST' and path.endswith('/api/vms'):
                    counts[query.get('correlation_id')] += 1
        return counts

    def add_resends(self, instances):
        """VM adds sent again for an instance without a mark lookup.

        Returns (blind, refused): sets of instance uuids. A second
        ``POST /vms`` for an instance is safe only after the pool looked
        for the first attempt by its ownership mark
        (``GET /vms?search=description="nova-ovirt:instance=<uuid>"``) and
        the engine answered that lookup. libcurl itself resends a request
        whose connection (a reused keep-alive one) died before any answer;
        such a resend is ``refused`` when the engine turned it down (the
        VM name is taken: 409) and ``blind`` when it created something.
        """
        cid_of = {i['cid']: i['uuid'] for i in instances}
        blind, refused = set(), set()
        seen_add, looked = set(), set()
        with self._lock:
            entries = list(self.entries)
        for method, path, query, status in entries:
            if method == 'POST' and path.endswith('/api/vms'):
                inst = cid_of.get(query.get('correlation_id'))
                if inst is None:
                    continue
                if inst in seen_add and inst not in looked:
                    if status in (200, 201, 202):
                        blind.add(inst)
                    else:
                        refused.add(inst)
                seen_add.add(inst)
                looked.discard(inst)
            elif method == 'GET' and path.endswith('/api/vms') and \
                    status == 200:
                search = query.get('search') or ''
                for inst in seen_add:
                    if inst in search:
                        looked.add(inst)
        return blind, refused


class ResilienceTestCase(oslotest_base.BaseTestCase):
    """Simulators, pools and nova instances for the scenarios."""

    scenario = None

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(TEST_TIMEOUT, gentle=True))
        self.flags = self.useFixture(config_fixture.Config(CONF))
        state = self.useFixture(fixtures.TempDir()).path
        self.flags.config(state_path=state, host='compute1')
        ovirt_conf.register_opts(CONF)
        self.flags.config(event_poll_interval=1, spawn_timeout=30,
                          group='ovirt')
        self.images = FakeImageAPI()
        self.queue = ovirt_base.Queue()
        self.context = nova_context.RequestContext(
            'user', 'project', is_admin=True,
            request_id='req-%s' % uuid_mod.uuid4())
        self.figures = None

    # -- figures ------------------------------------------------------------

    def start_figures(self, scenario):
        self.figures = Figures(scenario)
        # Written whatever the outcome: a failing scenario shows its
        # figures too.
        self.addCleanup(lambda: self.figures.write(self.id()))
        return self.figures

    def assert_must_be_zero(self, figures=None):
        f = figures or self.figures
        bad = {k: getattr(f, k) for k in MUST_BE_ZERO if getattr(f, k)}
        self.assertEqual({}, bad, 'must-be-zero figures of %s: %s' % (
            f.scenario, json.dumps(f.as_dict(self.id()), default=str)))

    # -- engine and pools -----------------------------------------------------

    def start_sim(self, clock=None, delays=None, **kwargs):
        sim = EngineSimulator(clock=clock, delays=dict(delays or FAST),
                              **kwargs)
        sim.start()
        self.addCleanup(sim.stop)
        return sim

    def configure(self, sim, name, **overrides):
        group = ovirt_conf.pool_group_name(name)
        ovirt_conf.register_pool_common_opts(CONF, name)
        ovirt_conf.register_pool_backend_opts(
            CONF, name, ovirt_conf.OVIRT_POOL_OPTS)
        values = dict(backend='ovirt', url=sim.url, username=sim.username,
                      password=sim.password, ca_file=sim.ca_file,
                      clusters=['cluster1', 'cluster2'],
                      storage_domain='data',
                      vnic_profile_mappings={'physnet1': 'physnet1'})
        values.update(overrides)
        for key, value in values.items():
            self.flags.config(group=group, **{key: value})
        return CONF[group]

    def make_pool(self, sim, name='engine1', start=True, **overrides):
        conf = self.configure(sim, name, **overrides)
        pool = ovirt_pool.OvirtPool(name, conf, 'compute1', self.queue,
                                    image_api=self.images)
        if start:
            pool.start()
            self.addCleanup(pool.stop)
        return pool

    def add_image(self, mib=1):
        data = image_bytes(mib)
        image_id = self.images.add(data)
        return ovirt_base.image_meta(image_id, len(data))

    # -- nova's side ----------------------------------------------------------

    def instance(self, node='cluster1', vcpus=1, memory_mb=256, root_gb=1,
                 **kwargs):
        flavor = objects.Flavor(
            id=1, name='r1', flavorid='r1', vcpus=vcpus,
            memory_mb=memory_mb, root_gb=root_gb, ephemeral_gb=0, swap=0,
            extra_specs={})
        inst = fake_instance.fake_instance_obj(
            self.context, id=next(_IDS), uuid=str(uuid_mod.uuid4()),
            node=node, host='compute1', flavor=flavor, config_drive='',
            display_name='r', hostname='r', user_data=None, key_data=None,
            task_state=None, vm_state='building', **kwargs)
        inst.system_metadata = {}
        return inst

    @staticmethod
    def request_context():
        """A context of its own per operation, as nova's requests have."""
        return nova_context.RequestContext(
            'user', 'project', is_admin=True,
            request_id='req-%s' % uuid_mod.uuid4())

    # -- the engine audit -----------------------------------------------------

    @staticmethod
    def marked_vms(sim):
        """{instance uuid: [vm ids]} of every VM with a Nova mark."""
        found = collections.defaultdict(list)
        with sim.store.lock:
            for vm in sim.store.vms.values():
                owner = vm_cache.owner_of(vm)
                if owner:
                    found[owner].append(vm.id)
        return dict(found)

    def audit_engine(self, sim, alive):
        """Compare the engine with the instances nova believes exist.

        lost: alive instance without a VM; duplicated: an instance with
        more than one VM; orphans: a Nova-marked VM of no alive instance,
        plus image build VMs and image disks without a template left
        behind.
        """
        marked = self.marked_vms(sim)
        alive = set(alive)
        lost = {u for u in alive if u not in marked}
        duplicated = {u for u, ids in marked.items() if len(ids) > 1}
        orphans = {u for u in marked if u not in alive}
        with sim.store.lock:
            for vm in sim.store.vms.values():
                if (vm.name or '').startswith('nova-image-build'):
                    orphans.add('build-vm:%s' % vm.id)
        return {'lost': lost, 'duplicated': duplicated, 'orphans': orphans}

    # -- threads --------------------------------------------------------------

    def run_threads(self, targets, timeout):
        """Start one thread per callable; join them all within timeout.

        Returns the names of the threads still running (a deadlock).
        """
        threads = []
        for i, target in enumerate(targets):
            t = threading.Thread(target=target, name='op-%d' % i,
                                 daemon=True)
            threads.append(t)
            t.start()
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return [t.name for t in threads if t.is_alive()]

    def wait_for(self, predicate, timeout, what, interval=0.05):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                self.fail('timed out after %ss waiting for %s'
                          % (timeout, what))
            time.sleep(interval)

    # -- the driver -----------------------------------------------------------

    def make_driver(self, sims, clusters):
        """OvirtDriver over one oVirt pool per simulator, started.

        ``sims``: {pool name: simulator}; ``clusters``: {pool name:
        cluster name} (node names are unique across pools).
        """
        import nova.virt.node
        from nova.virt import fake as fake_virt

        from nova_ovirt import driver as ovirt_driver

        # nova reads CONF.config_file (the node identity file lives next
        # to it): parse an empty command line as nova-compute would.
        CONF([], project='nova', default_config_files=[],
             default_config_dirs=[])
        images = self.images
        self.useFixture(fixtures.MonkeyPatch('nova.image.glance.API',
                                             lambda: images))
        for name, sim in sims.items():
            self.configure(sim, name, clusters=[clusters[name]])
        self.flags.config(pools=sorted(sims), group='ovirt')
        nova.virt.node.LOCAL_NODE_UUID = None
        self.addCleanup(setattr, nova.virt.node, 'LOCAL_NODE_UUID', None)
        driver = ovirt_driver.OvirtDriver(fake_virt.FakeVirtAPI())
        driver.init_host('compute1')
        self.addCleanup(driver.cleanup_host, 'compute1')
        return driver
