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
nova-ovirt*``) per ``power_state_cache_ttl``, and :class:`EventPoller`
keeps it fresh in between from the engine's event feed (one request per
``event_poll_interval``), turning power state changes into nova
LifecycleEvents.

Ownership lives here too: a VM is Nova's when its description is exactly
the mark :func:`mark` wrote at creation, and it is in one of the pool's
clusters. Display names mean nothing.
"""

import collections
import re
import threading
import time

from oslo_log import log as logging
import ovirtsdk4 as sdk
from ovirtsdk4 import types

from nova.compute import power_state
from nova.virt import event as virtevent

from nova_ovirt import compat
from nova_ovirt.pools.ovirt import session as ovirt_session

LOG = logging.getLogger(__name__)

MARK_PREFIX = 'nova-ovirt:instance='
_MARK_RE = re.compile(r'^nova-ovirt:instance=([0-9a-fA-F-]{36})$')
LIST_SEARCH = 'description=nova-ovirt*'

# Engine event code of a VM that went down on an error (AuditLogType
# VM_DOWN_ERROR): the only way to tell a crash from a shutdown.
EVENT_VM_DOWN_ERROR = 119
# A removed VM's event names its cluster, not the VM (it is gone): one of
# these in one of our clusters makes the next poll list again.
EVENT_VM_REMOVED = (113,)
# More changed VMs than this in one poll: one listing beats N GETs.
_GET_LIMIT = 5

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


class VmCache(object):
    """Nova-owned VMs of the pool's clusters, by instance UUID."""

    def __init__(self, session, cluster_ids, ttl, emit=None):
        self._session = session
        self._cluster_ids = cluster_ids      # callable -> set of ids
        self.ttl = ttl
        self._emit = emit                    # callable(LifecycleEvent)
        self._records = {}
        self._by_vm_id = {}
        # uuid -> monotonic time of its drop: what a read that started
        # before the drop says about the uuid is stale.
        self._dropped = {}
        self._fetched = None                 # monotonic time of last listing
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()

    # -- reading -----------------------------------------------------------

    def fresh(self, max_age=None):
        max_age = self.ttl if max_age is None else max_age
        return (self._fetched is not None
                and time.monotonic() - self._fetched < max_age)

    def all(self, max_age=None):
        """{uuid: VmRecord}, listing the engine again when stale."""
        if not self.fresh(max_age):
            self.refresh(max_age)
        with self._lock:
            return dict(self._records)

    def get(self, instance_uuid, max_age=None):
        return self.all(max_age).get(instance_uuid)

    def peek(self, instance_uuid):
        """What the cache has, without asking the engine."""
        with self._lock:
            return self._records.get(instance_uuid)

    def uuid_of_vm(self, vm_id):
        with self._lock:
            return self._by_vm_id.get(vm_id)

    # -- writing -----------------------------------------------------------

    def refresh(self, max_age=None):
        """One listing of every Nova-owned VM (concurrent callers share it)."""
        max_age = self.ttl if max_age is None else max_age
        with self._refresh_lock:
            if self._fetched is not None and max_age > 0 and self.fresh(
                    max_age):
                return   # another thread listed while we waited
            started = time.monotonic()
            vms = ovirt_session.as_list(self._session.read(
                lambda system: system.vms_service().list(
                    search=LIST_SEARCH)))
            clusters = self._cluster_ids()
            records = {}
            for vm in vms:
                rec = record_of(vm)
                if rec.uuid and rec.cluster_id in clusters:
                    records[rec.uuid] = rec
            self._replace(records, started)

    def _stale(self, uuid, read_at):
        """Whether a read that started at read_at predates a drop."""
        dropped = self._dropped.get(uuid)
        return read_at is not None and dropped is not None and \
            dropped >= read_at

    def _replace(self, records, started=None):
        with self._lock:
            # A VM removed while the listing was on its way is gone: the
            # listing must not bring it back.
            for u in [u for u in records if self._stale(u, started)]:
                del records[u]
            horizon = time.monotonic() - 3600
            self._dropped = {u: t for u, t in self._dropped.items()
                             if t > horizon}
            old = self._records
            gone = set(old) - set(records)
            first = self._fetched is None
            # A crash seen through an event outlives the next listing.
            for u, rec in records.items():
                prev = old.get(u)
                if prev is not None and prev.crashed and \
                        rec.status == _S.DOWN:
                    records[u] = rec._replace(crashed=True)
            self._records = records
            self._by_vm_id = {r.id: u for u, r in records.items()}
            self._fetched = time.monotonic()
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

    def put_vm(self, vm, crashed=False, read_at=None):
        """Take a VM just read from the engine; emit its power change.

        ``read_at``: monotonic time the read started; a VM dropped since
        is not taken back.
        """
        rec = record_of(vm, crashed)
        if rec.uuid is None or rec.cluster_id not in self._cluster_ids():
            return None
        with self._lock:
            if self._stale(rec.uuid, read_at):
                return None
            old = self._records.get(rec.uuid)
            self._records[rec.uuid] = rec
            self._by_vm_id[rec.id] = rec.uuid
        if old is not None:
            self._notify(old, rec)
        return rec

    def drop(self, instance_uuid):
        with self._lock:
            self._dropped[instance_uuid] = time.monotonic()
            rec = self._records.pop(instance_uuid, None)
            if rec is not None:
                self._by_vm_id.pop(rec.id, None)

    def invalidate(self):
        self._fetched = None if self._fetched is None else -1e9

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
        events = ovirt_session.as_list(self._session.read(
            lambda system: system.events_service().list(from_=since)))
        events = [e for e in events if int(e.id) > since]
        if not events:
            return []
        self.last_id = max(int(e.id) for e in events)
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
        if relist or len(changed) > _GET_LIMIT:
            self._cache.refresh(max_age=0)
        else:
            for vm_id in changed:
                self._refresh_vm(vm_id, vm_id in crashed)
        return events

    def _refresh_vm(self, vm_id, crashed):
        read_at = time.monotonic()
        try:
            vm = self._session.read(
                lambda system: system.vms_service().vm_service(vm_id).get())
        except sdk.NotFoundError:
            uuid = self._cache.uuid_of_vm(vm_id)
            if uuid:
                self._cache.drop(uuid)
            return
        self._cache.put_vm(vm, crashed, read_at=read_at)
