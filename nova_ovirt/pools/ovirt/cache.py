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

"""What the pool knows about its VMs without asking the engine each time.

nova's power-state sync calls get_info once per instance; asking the engine
once per call makes its load grow with the cloud. :class:`VmCache` answers
from one listing of the Nova-owned VMs (``GET /vms?search=description=
nova-ovirt*``) taken at start, and :class:`EventPoller` keeps it in sync
from the engine's event feed (one request per ``event_poll_interval``),
reading again only the VMs the events name (``GET /vms/{id}``) and turning
power state changes into nova LifecycleEvents. The cache lists again only
after the feed was not read for ``power_state_cache_ttl`` seconds. So a
cycle of nova costs the same few requests whatever the number of VMs, and
a change made behind Nova's back costs one small request per VM.

Ownership lives here too: a VM is Nova's when its description is exactly
the mark :func:`mark` wrote at creation, and it is in one of the pool's
clusters. Display names mean nothing.
"""

import collections
import io
import re
import threading
import time

from lxml import etree
from oslo_log import log as logging
import ovirtsdk4 as sdk
import ovirtsdk4.http  # noqa: F401  (sdk.http: the SDK's request type)
import ovirtsdk4.service  # noqa: F401
from ovirtsdk4 import types

from nova.compute import power_state
from nova.virt import event as virtevent

from nova_ovirt import compat
from nova_ovirt.pools.ovirt import session as ovirt_session

LOG = logging.getLogger(__name__)

MARK_PREFIX = 'nova-ovirt:instance='
_MARK_RE = re.compile(r'^nova-ovirt:instance=([0-9a-fA-F-]{36})$')
LIST_SEARCH = 'description=nova-ovirt*'
# VMs per listing request (the engine's ``max`` with ``page N``).
LIST_PAGE = 2000
# VMs a listing no longer shows that are read one by one before they count
# as gone (a VM renamed while the pages went by moves between pages).
_VERIFY_LIMIT = 64

# Engine event code of a VM that went down on an error (AuditLogType
# VM_DOWN_ERROR): the only way to tell a crash from a shutdown.
EVENT_VM_DOWN_ERROR = 119
# A removed VM's event names its cluster, not the VM (it is gone): one of
# these in one of our clusters makes the next poll list again.
EVENT_VM_REMOVED = (113,)
# More changed VMs than this share of the cache in one poll: one listing
# costs fewer bytes than a GET each.
_RELIST_SHARE = 0.5

_S = types.VmStatus
POWER_STATES = {
    _S.UP: power_state.RUNNING,
    _S.POWERING_UP: power_state.RUNNING,
    _S.REBOOT_IN_PROGRESS: power_state.RUNNING,
    _S.MIGRATING: power_state.RUNNING,
    _S.POWERING_DOWN: power_state.RUNNING,
    _S.PAUSED: power_state.PAUSED,
    _S.SUSPENDED: power_state.SUSPENDED,
    _S.SAVING_STATE: power_state.SUSPENDED,
    _S.DOWN: power_state.SHUTDOWN,
}
# Guests whose memory the engine counts as taken on their host.
_HOLDING_MEMORY = (power_state.RUNNING, power_state.PAUSED)


def mark(instance_uuid):
    """The description that makes a VM Nova's."""
    return MARK_PREFIX + instance_uuid


def find_search(instance_uuid):
    return 'description="%s"' % mark(instance_uuid)


def owner_of(vm):
    """Instance UUID of a Nova-owned VM, None for anyone else's."""
    match = _MARK_RE.match(vm.description or '')
    return match.group(1).lower() if match else None


def to_power_state(status, crashed=False):
    """oVirt VmStatus -> nova power state (design.md's table)."""
    if crashed and status == _S.DOWN:
        return power_state.CRASHED
    return POWER_STATES.get(status, power_state.NOSTATE)


VmRecord = collections.namedtuple(
    'VmRecord', 'id uuid name status cluster_id memory vcpus crashed')


def record_of(vm, crashed=False):
    topo = vm.cpu.topology if vm.cpu is not None else None
    vcpus = 0
    if topo is not None:
        vcpus = (topo.sockets or 1) * (topo.cores or 1) * (topo.threads or 1)
    return VmRecord(vm.id, owner_of(vm), vm.name, vm.status,
                    vm.cluster.id if vm.cluster is not None else None,
                    vm.memory or 0, vcpus, crashed)


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0


def _status(text):
    try:
        return _S(text)
    except ValueError:
        return None      # as lenient as the SDK's reader


def _record_of_element(vm):
    """VmRecord of a listing's ``<vm>`` element (None: not Nova's)."""
    match = _MARK_RE.match(vm.findtext('description') or '')
    if match is None:
        return None
    cluster = vm.find('cluster')
    topo = vm.find('cpu/topology')
    vcpus = 0
    if topo is not None:
        vcpus = ((_int(topo.findtext('sockets')) or 1) *
                 (_int(topo.findtext('cores')) or 1) *
                 (_int(topo.findtext('threads')) or 1))
    return VmRecord(vm.get('id'), match.group(1).lower(),
                    vm.findtext('name'), _status(vm.findtext('status')),
                    cluster.get('id') if cluster is not None else None,
                    _int(vm.findtext('memory')), vcpus, False)


def parse_listing(body):
    """VmRecords of Nova's VMs in a ``GET /vms`` reply, read incrementally.

    The engine's API has no field selection and a VM's XML is several KB
    (devices, OS, display, placement...), while the cache keeps seven
    fields. The SDK's reader would build a full ``types.Vm`` per VM (about
    22 KB of objects each); this keeps one ``<vm>`` element alive at a
    time and drops it once its record is taken.
    """
    records = []
    seen = 0
    depth = 0
    root = None
    try:
        for event, elem in etree.iterparse(
                io.BytesIO(body), events=('start', 'end'),
                resolve_entities=False, no_network=True):
            if event == 'start':
                depth += 1
                if depth == 1:
                    root = elem.tag
                continue
            depth -= 1
            if depth != 1 or elem.tag != 'vm':
                continue
            seen += 1
            rec = _record_of_element(elem)
            if rec is not None:
                records.append(rec)
            elem.clear()
            parent = elem.getparent()
            while elem.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as e:
        raise ovirt_session.BadReply('unreadable VM listing: %s' % e)
    if root != 'vms':
        raise ovirt_session.BadReply(
            'the engine answered <%s> where a VM listing was expected'
            % root)
    return Page(records, seen)


Page = collections.namedtuple('Page', 'records seen')


class _LeanVmsService(sdk.service.Service):
    """``GET /vms`` whose reply is read by :func:`parse_listing`."""

    def list_records(self, search, max_=None):
        query = {'search': search}
        if max_:
            query['max'] = str(max_)
        request = sdk.http.Request(method='GET', path=self._path,
                                   query=query)
        context = self._connection.send(request)

        def read(response):
            if response.code != 200:
                self._check_fault(response)
            return parse_listing(response.body)
        return sdk.service.Future(self._connection, context, read).wait()


def list_records(system, search=None, page=None):
    """One page (``LIST_PAGE`` VMs) of Nova's VMs, as a :class:`Page`.

    The SDK holds a reply whole in memory (3-4 KB per VM): pages keep a
    20,000-VM listing from needing 80 MB at once.
    """
    vms = system.vms_service()
    search = search or LIST_SEARCH
    if page is not None:
        search = '%s page %d' % (search, page)
    return _LeanVmsService(vms._connection, vms._path).list_records(
        search, LIST_PAGE if page is not None else None)


class SingleFlight(object):
    """Concurrent calls for the same key share one call's result.

    nova's power-state sync runs get_info on 32 threads; 50 VMs found
    stopped at once must not become 50 identical requests.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._flights = {}

    def run(self, key, func):
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.result
        try:
            flight.result = func()
            return flight.result
        except BaseException as e:
            flight.error = e
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()


class _Flight(object):
    def __init__(self):
        self.done = threading.Event()
        self.result = None
        self.error = None


def transition(old, new):
    """nova lifecycle transition between two power states, or None."""
    if old == new:
        return None
    if new == power_state.RUNNING:
        if old in (power_state.PAUSED, power_state.SUSPENDED):
            return virtevent.EVENT_LIFECYCLE_RESUMED
        return virtevent.EVENT_LIFECYCLE_STARTED
    if new in (power_state.SHUTDOWN, power_state.CRASHED):
        return virtevent.EVENT_LIFECYCLE_STOPPED
    if new == power_state.PAUSED:
        return virtevent.EVENT_LIFECYCLE_PAUSED
    if new == power_state.SUSPENDED:
        return virtevent.EVENT_LIFECYCLE_SUSPENDED
    return None


def holds_memory(rec):
    return to_power_state(rec.status) in _HOLDING_MEMORY


class VmCache(object):
    """Nova-owned VMs of the pool's clusters, by instance UUID.

    The cache is in sync from a listing on: the event poller tells it each
    time it has read the feed (:meth:`synced`), and it lists again only
    when nothing kept it in sync for ``ttl`` seconds (the feed broke, or
    the poller is off). Reads are dictionary look-ups with no lock: a
    record is replaced whole, never changed in place. The per-cluster
    sums the resource update needs are kept as records come and go.
    """

    # Instances seen gone that are remembered, so that nova's sync of an
    # instance whose VM was removed asks the engine nothing.
    MAX_GONE = 100000

    def __init__(self, session, cluster_ids, ttl, emit=None):
        self._session = session
        self._cluster_ids = cluster_ids      # callable -> set of ids
        self.ttl = ttl
        self._emit = emit                    # callable(LifecycleEvent)
        self._clock = time.monotonic
        self._records = {}
        self._by_vm_id = {}
        # uuid -> clock time the read behind its record started: a
        # listing (or a slower read) that started earlier is older news
        # and must not replace it.
        self._read_at = {}
        # uuid -> clock time it was seen gone: what a read that started
        # before says about the uuid is stale, and nobody needs to ask.
        self._dropped = collections.OrderedDict()
        self._held = collections.Counter()   # cluster id -> memory bytes
        self._owned = collections.Counter()  # cluster id -> VMs
        self._synced = None                  # clock time in sync last
        self._lock = threading.Lock()
        self._flights = SingleFlight()

    # -- reading -----------------------------------------------------------

    def fresh(self, max_age=None):
        max_age = self.ttl if max_age is None else max_age
        return (self._synced is not None
                and self._clock() - self._synced < max_age)

    def _ensure(self, max_age=None):
        if not self.fresh(max_age):
            self.refresh(max_age)

    def all(self, max_age=None):
        """{uuid: VmRecord} (a copy), listing again when out of sync."""
        self._ensure(max_age)
        with self._lock:
            return dict(self._records)

    def get(self, instance_uuid, max_age=None):
        """The instance's record or None; O(1), no engine request when in
        sync."""
        self._ensure(max_age)
        return self._records.get(instance_uuid)

    def peek(self, instance_uuid):
        """What the cache has, without asking the engine."""
        return self._records.get(instance_uuid)

    def gone(self, instance_uuid):
        """Whether the instance's VM was seen gone (and not seen since)."""
        return instance_uuid in self._dropped

    def uuid_of_vm(self, vm_id):
        return self._by_vm_id.get(vm_id)

    def memory_held(self, cluster_id):
        """Bytes of memory Nova's VMs hold in the cluster (O(1))."""
        self._ensure()
        return self._held[cluster_id]

    def owned(self, cluster_id):
        self._ensure()
        return self._owned[cluster_id]

    def __len__(self):
        return len(self._records)

    # -- engine reads ------------------------------------------------------

    def refresh(self, max_age=None):
        """One listing of every Nova-owned VM (concurrent callers share it)."""
        max_age = self.ttl if max_age is None else max_age
        if max_age > 0 and self.fresh(max_age):
            return
        self._flights.run('listing', self._list)

    def _list(self):
        started = self._clock()
        found, page = [], 1
        while True:
            got = self._session.read(
                lambda system: list_records(system, page=page))
            if not isinstance(got, Page):
                raise ovirt_session.BadReply('no VM listing')
            known = len(found)
            found.extend(got.records)
            # A page of nothing new: an engine that ignores ``page``.
            if got.seen < LIST_PAGE or (
                    page > 1 and {r.id for r in got.records} <=
                    {r.id for r in found[:known]}):
                break
            page += 1
        clusters = self._cluster_ids()
        records = {r.uuid: r for r in found if r.cluster_id in clusters}
        if page > 1:
            self._confirm_missing(records)
        self._replace(records, started)

    def _confirm_missing(self, records):
        """Read the VMs a paged listing missed; keep those that exist.

        Pages are separate requests: a VM renamed meanwhile can move from
        a page not yet read to one already read. Gone would be remembered
        as gone, so it is checked first (normally none are missing).
        """
        missing = [r for u, r in list(self._records.items())
                   if u not in records]
        if len(missing) > _VERIFY_LIMIT:
            return      # a mass removal: the listing is right about them
        for rec in missing:
            try:
                vm = self._session.read(
                    lambda system: system.vms_service().vm_service(
                        rec.id).get())
            except sdk.NotFoundError:
                continue
            again = record_of(vm)
            if again.uuid == rec.uuid and \
                    again.cluster_id in self._cluster_ids():
                records[again.uuid] = again

    def reload(self, instance_uuid, find):
        """Read the instance's VM again: one ``GET /vms/{id}`` when its id
        is known, else ``find(instance_uuid)`` (a search). Concurrent
        reloads of one instance share the request. Returns its record or
        None (then it is remembered as gone).
        """
        return self._flights.run(
            ('vm', instance_uuid), lambda: self._reload(instance_uuid, find))

    def _reload(self, instance_uuid, find):
        known = self.peek(instance_uuid)
        read_at = self._clock()
        vm = None
        if known is not None:
            try:
                vm = self._session.read(
                    lambda system: system.vms_service().vm_service(
                        known.id).get())
            except sdk.NotFoundError:
                vm = None
        else:
            vm = find(instance_uuid)
        rec = self.put_vm(vm, read_at=read_at) if vm is not None else None
        if rec is None or rec.uuid != instance_uuid:
            self.drop(instance_uuid, at=read_at)
            return None
        return rec

    # -- writing -----------------------------------------------------------

    def synced(self, since):
        """The event feed was read completely as of clock time ``since``."""
        if self._synced is not None:
            self._synced = max(self._synced, since)

    def _stale(self, uuid, read_at):
        """Whether a read that started at read_at predates a drop."""
        dropped = self._dropped.get(uuid)
        return read_at is not None and dropped is not None and \
            dropped >= read_at

    def _newer(self, uuid, read_at):
        """Whether the cached record was read after ``read_at``."""
        seen = self._read_at.get(uuid)
        return seen is not None and read_at is not None and seen > read_at

    def _add(self, rec, read_at):
        # Caller holds _lock.
        old = self._records.get(rec.uuid)
        if old is not None:
            self._remove(old)
        self._records[rec.uuid] = rec
        self._read_at[rec.uuid] = read_at
        self._by_vm_id[rec.id] = rec.uuid
        self._owned[rec.cluster_id] += 1
        if holds_memory(rec):
            self._held[rec.cluster_id] += rec.memory
        self._dropped.pop(rec.uuid, None)
        return old

    def _remove(self, rec):
        # Caller holds _lock.
        self._records.pop(rec.uuid, None)
        self._read_at.pop(rec.uuid, None)
        if self._by_vm_id.get(rec.id) == rec.uuid:
            del self._by_vm_id[rec.id]
        self._owned[rec.cluster_id] -= 1
        if holds_memory(rec):
            self._held[rec.cluster_id] -= rec.memory

    def _replace(self, records, started=None):
        with self._lock:
            # A VM removed while the listing was on its way is gone: the
            # listing must not bring it back.
            for u in [u for u in records if self._stale(u, started)]:
                del records[u]
            old = self._records
            listed_at = self._clock() if started is None else started
            read_at = dict.fromkeys(records, listed_at)
            # A VM read after the listing started (a spawn's wait for UP,
            # an event's GET) is newer than what the listing says of it,
            # and one created meanwhile is not gone for being unlisted.
            for u, prev in old.items():
                if self._newer(u, started):
                    records[u] = prev
                    read_at[u] = self._read_at[u]
            first = self._synced is None
            # A crash seen through an event outlives the next listing.
            for u, rec in records.items():
                prev = old.get(u)
                if prev is not None and prev.crashed and \
                        rec.status == _S.DOWN:
                    records[u] = rec._replace(crashed=True)
            self._records = records
            self._read_at = read_at
            self._by_vm_id = {r.id: u for u, r in records.items()}
            self._owned = collections.Counter(
                r.cluster_id for r in records.values())
            self._held = collections.Counter()
            for r in records.values():
                if holds_memory(r):
                    self._held[r.cluster_id] += r.memory
            for u in records:
                self._dropped.pop(u, None)
            gone = [u for u in old if u not in records]
            for u in gone:
                self._forget(u, started)
            # In sync from now: a listing that took longer than the TTL
            # (20,000 VMs on a busy engine) must not be stale on arrival,
            # or every reader would list again. What changed while it was
            # on its way the feed tells (its position was taken first).
            self._synced = self._clock()
        if not first:
            for u, rec in records.items():
                if u in old:
                    self._notify(old[u], rec)
            for u in gone:
                # Removed behind Nova's back: for nova it is stopped.
                if self._emit is not None and to_power_state(
                        old[u].status) != power_state.SHUTDOWN:
                    self._emit(virtevent.LifecycleEvent(
                        u, virtevent.EVENT_LIFECYCLE_STOPPED))

    def _forget(self, uuid, at):
        # Caller holds _lock.
        self._dropped[uuid] = self._clock() if at is None else at
        self._dropped.move_to_end(uuid)
        while len(self._dropped) > self.MAX_GONE:
            self._dropped.popitem(last=False)

    def put_vm(self, vm, crashed=False, read_at=None):
        """Take a VM just read from the engine; emit its power change.

        ``read_at``: clock time the read started (default: now); a VM
        dropped since is not taken back, and a record read later than it
        is kept (and returned).
        """
        rec = record_of(vm, crashed)
        if rec.uuid is None or rec.cluster_id not in self._cluster_ids():
            return None
        with self._lock:
            if self._stale(rec.uuid, read_at):
                return None
            seen = self._clock() if read_at is None else read_at
            prev = self._records.get(rec.uuid)
            if prev is not None and self._newer(rec.uuid, seen):
                return prev
            if prev is not None and prev.crashed and rec.status == _S.DOWN:
                rec = rec._replace(crashed=True)
            old = self._add(rec, seen)
        if old is not None:
            self._notify(old, rec)
        return rec

    def drop(self, instance_uuid, at=None):
        with self._lock:
            rec = self._records.get(instance_uuid)
            if rec is not None:
                self._remove(rec)
            self._forget(instance_uuid, at)

    def invalidate(self):
        self._synced = None if self._synced is None else -1e9

    def _notify(self, old, new):
        change = transition(to_power_state(old.status, old.crashed),
                            to_power_state(new.status, new.crashed))
        if change is not None and self._emit is not None:
            self._emit(virtevent.LifecycleEvent(new.uuid, change))


class EventPoller(object):
    """Reads the engine's event feed, one request per interval."""

    def __init__(self, session, cache, interval, on_tick=None, name=''):
        self._session = session
        self._cache = cache
        self.interval = interval
        self._on_tick = on_tick     # reconnect work of the pool, if any
        self._name = name
        self.last_id = None
        self._running = False
        self._thread = None

    def start(self):
        if self._running:
            return
        self._running = True
        self._thread = compat.start_daemon(
            self._loop, 'nova-ovirt-events-%s' % self._name)

    def stop(self):
        self._running = False

    def _loop(self):
        # The pool's bootstrap primed the feed: the first read is due one
        # interval later.
        while self._running:
            time.sleep(self.interval)
            if not self._running:
                return
            try:
                if self._on_tick is None or self._on_tick():
                    self.poll_once()
            except Exception as e:
                LOG.warning('Pool %s: reading the engine events failed: %s',
                            self._name, ovirt_session.fault_text(e))

    def prime(self):
        """Start from the newest event: older ones are in the listing."""
        events = self._session.read(
            lambda system: system.events_service().list(max=1))
        self.last_id = max((int(e.id) for e in events), default=0)

    def poll_once(self):
        """Read new events; refresh the VMs they name. Returns them."""
        if self.last_id is None:
            self.prime()
            return []
        since = self.last_id
        started = self._cache._clock()
        events = ovirt_session.as_list(self._session.read(
            lambda system: system.events_service().list(from_=since)))
        events = [e for e in events if int(e.id) > since]
        if not events:
            self._cache.synced(started)
            return []
        changed, crashed, relist = [], set(), False
        clusters = self._cache._cluster_ids()
        for ev in sorted(events, key=lambda e: int(e.id)):
            if ev.code in EVENT_VM_REMOVED and ev.vm is None \
                    and ev.cluster is not None and ev.cluster.id in clusters:
                # Without the VM's link only a listing tells which went;
                # with it, the GET below answers 404 and drops it.
                relist = True
            vm_id = ev.vm.id if ev.vm is not None else None
            if vm_id is None or self._cache.uuid_of_vm(vm_id) is None:
                continue    # not a VM of ours: never even looked at
            if vm_id not in changed:
                changed.append(vm_id)
            if ev.code == EVENT_VM_DOWN_ERROR:
                crashed.add(vm_id)
        if relist or len(changed) > max(
                8, _RELIST_SHARE * len(self._cache)):
            self._cache.refresh(max_age=0)
        else:
            for vm_id in changed:
                self._refresh_vm(vm_id, vm_id in crashed)
        # Only now: a failed GET above leaves the feed unread, so the
        # events are read again next time.
        self.last_id = max(int(e.id) for e in events)
        self._cache.synced(started)
        return events

    def _refresh_vm(self, vm_id, crashed):
        read_at = self._cache._clock()
        try:
            vm = self._session.read(
                lambda system: system.vms_service().vm_service(vm_id).get())
        except sdk.NotFoundError:
            uuid = self._cache.uuid_of_vm(vm_id)
            if uuid:
                self._cache.drop(uuid, at=read_at)
            return
        self._cache.put_vm(vm, crashed, read_at=read_at)
