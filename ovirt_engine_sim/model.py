"""The simulator's in-memory inventory and its clock-driven timers.

Entities are stored as ``ovirtsdk4.types`` objects (what the engine would
return, with references reduced to ``id``), in dicts keyed by id. Extra
simulator-only state lives in attributes prefixed with ``_sim_`` which the
SDK writers ignore. One re-entrant lock guards everything.
"""

import datetime
import heapq
import itertools
import uuid

from ovirtsdk4 import types

from ovirt_engine_sim.compat import threading

NAMESPACE = uuid.UUID('6f0b9d9e-3c38-4f5c-9a3e-6b1f7e0d5a11')

DEFAULT_DELAYS = {
    'vm_image_lock': 0.5,
    'vm_launch': 0.3,
    'vm_power_up': 0.3,
    'vm_power_down': 0.3,
    'vm_save_state': 0.3,
    'vm_restore_state': 0.3,
    'vm_reboot': 0.3,
    'vm_migrate': 0.3,
    'disk_lock': 0.3,
    'template_lock': 0.5,
    'snapshot_lock': 0.3,
    'transfer_init': 0.2,
    'transfer_finalize': 0.2,
    'transfer_cleanup': 60.0,
    'backup_start': 0.2,
    'backup_finalize': 0.2,
    'token_lifetime': 1800.0,
}

COLLECTIONS = (
    'datacenters', 'clusters', 'hosts', 'storage_domains', 'networks',
    'vnic_profiles', 'templates', 'vms', 'disks', 'nics', 'disk_attachments',
    'template_disk_attachments', 'snapshots', 'jobs', 'events',
    'image_transfers', 'cpu_profiles', 'disk_profiles', 'network_filters',
    'backups', 'checkpoints', 'tags', 'affinity_labels',
)


def stable_id(*names):
    """uuid5 of names: ids that stay the same for a scenario across runs."""
    return str(uuid.uuid5(NAMESPACE, '/'.join(str(n) for n in names)))


def new_id():
    return str(uuid.uuid4())


def ref(cls, ident):
    return cls(id=ident) if ident else None


class Store(object):
    def __init__(self, clock, delays=None, volumes=None, counter=None):
        self.lock = threading.RLock()
        self.clock = clock
        self.delays = dict(DEFAULT_DELAYS)
        self.delays.update(delays or {})
        self.volumes = volumes
        self.counter = counter
        for name in COLLECTIONS:
            setattr(self, name, {})
        self._timers = []
        self._firing_at = None
        self._seq = itertools.count()
        self._event_ids = itertools.count(1000)
        self.api_user = 'admin@internal'
        self.product_version = (4, 5, 6, 0)
        self.extra = {}   # scenario metadata (e.g. the data storage domain name)
        clock.add_listener(self.tick)

    # -- time -------------------------------------------------------------

    def now(self):
        return datetime.datetime.fromtimestamp(self.clock.time(), datetime.timezone.utc)

    def schedule(self, delay_name, key, fn, delay=None):
        """Run fn once delay_name seconds of the clock have passed.

        key groups timers by entity so they can be completed at once
        (``Expect: 201-created``) or cancelled (entity removed).
        """
        if delay is None:
            delay = self.delays[delay_name]
        with self.lock:
            # A timer scheduled by a firing timer counts from that timer's
            # due time, so one big clock.advance() runs whole chains.
            base = self._firing_at if self._firing_at is not None else self.clock.time()
            heapq.heappush(self._timers, (base + float(delay),
                                          next(self._seq), key, fn))

    def tick(self):
        """Fire every timer that is due (lazy state machine)."""
        with self.lock:
            now = self.clock.time()
            while self._timers and self._timers[0][0] <= now:
                due, _, _, fn = heapq.heappop(self._timers)
                self._firing_at = due
                try:
                    fn()
                finally:
                    self._firing_at = None

    def complete(self, key, limit=100):
        """Fire all timers of key now, including those they schedule."""
        with self.lock:
            for _ in range(limit):
                mine = [t for t in self._timers if t[2] == key]
                if not mine:
                    return
                first = min(mine)
                self._timers.remove(first)
                heapq.heapify(self._timers)
                first[3]()

    def pending(self, key):
        with self.lock:
            return any(t[2] == key for t in self._timers)

    def cancel(self, key):
        with self.lock:
            self._timers = [t for t in self._timers if t[2] != key]
            heapq.heapify(self._timers)

    # -- events & jobs ----------------------------------------------------

    def add_event(self, code, description, severity='normal', vm=None,
                  host=None, cluster=None, template=None,
                  storage_domain=None, data_center=None, correlation_id=None):
        with self.lock:
            eid = next(self._event_ids)
            ev = types.Event(
                id=str(eid), index=eid, code=code, description=description,
                severity=types.LogSeverity(severity), time=self.now(),
                origin='oVirt', custom_id=-1, flood_rate=30,
                correlation_id=correlation_id,
                vm=ref(types.Vm, vm), host=ref(types.Host, host),
                cluster=ref(types.Cluster, cluster),
                template=ref(types.Template, template),
                storage_domain=ref(types.StorageDomain, storage_domain),
                data_center=ref(types.DataCenter, data_center))
            self.events[ev.id] = ev
            return ev

    def last_event_id(self):
        with self.lock:
            return max((int(i) for i in self.events), default=0)

    def start_job(self, description, correlation_id=None):
        with self.lock:
            now = self.now()
            job = types.Job(id=new_id(), description=description,
                            status=types.JobStatus.STARTED, start_time=now,
                            last_updated=now, external=False, auto_cleared=True,
                            owner=types.User(id=stable_id('user', self.api_user)))
            job._sim_correlation_id = correlation_id
            self.jobs[job.id] = job
            return job

    def end_job(self, job, ok=True):
        if job is None:
            return
        with self.lock:
            job.status = types.JobStatus.FINISHED if ok else types.JobStatus.FAILED
            job.end_time = job.last_updated = self.now()

    # -- lookups ----------------------------------------------------------

    def by_name(self, collection, name):
        with self.lock:
            for obj in getattr(self, collection).values():
                if obj.name == name:
                    return obj
        return None

    def find_vms(self, name=None, description=None):
        with self.lock:
            return [vm for vm in self.vms.values()
                    if (name is None or vm.name == name)
                    and (description is None or vm.description == description)]

    def vm_disk_ids(self, vm_id):
        with self.lock:
            return [a.id for a in self.disk_attachments.values() if a.vm.id == vm_id]

    def vm_nics(self, vm_id):
        with self.lock:
            return [n for n in self.nics.values() if n.vm is not None and n.vm.id == vm_id]

    def template_nics(self, template_id):
        with self.lock:
            return [n for n in self.nics.values()
                    if n.template is not None and n.template.id == template_id]

    def vm_snapshots(self, vm_id):
        with self.lock:
            return [s for s in self.snapshots.values() if s.vm.id == vm_id]

    def hosts_of(self, cluster_id):
        with self.lock:
            return [h for h in self.hosts.values() if h.cluster.id == cluster_id]

    def used_memory(self, host_id, exclude=None):
        """Memory of the VMs occupying host_id (running or starting)."""
        occupying = (types.VmStatus.WAIT_FOR_LAUNCH, types.VmStatus.POWERING_UP,
                     types.VmStatus.UP, types.VmStatus.REBOOT_IN_PROGRESS,
                     types.VmStatus.MIGRATING, types.VmStatus.POWERING_DOWN,
                     types.VmStatus.SAVING_STATE, types.VmStatus.RESTORING_STATE,
                     types.VmStatus.PAUSED, types.VmStatus.NOT_RESPONDING)
        with self.lock:
            total = 0
            for vm in self.vms.values():
                if vm.id == exclude or vm.status not in occupying:
                    continue
                on = {vm.host.id if vm.host else None,
                      getattr(vm, '_sim_migrating_to', None)}
                if host_id in on:
                    total += vm.memory or 0
            return total

    def free_memory(self, host):
        return host._sim_sched_capacity - self.used_memory(host.id)
