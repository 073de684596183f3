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

"""One libvirt host (one Nova node): connection, events, guest cache.

The connection is opened at start and reopened in the background after it
breaks (libvirtd restart, network loss): the node is unavailable meanwhile,
which never stops nova-compute. Lifecycle events of Nova-owned domains go
into the driver's EventQueue; the listing of all domains is cached for
``power_state_cache_ttl`` so that nova's power-state sync costs one libvirt
call per host, not one per instance.
"""

import json
import threading
import time

import libvirt
import os_resource_classes as orc
from oslo_log import log as logging
from oslo_utils import units

import nova.conf
from nova import exception as nova_exception
from nova.objects import fields
from nova.virt import event as virtevent

from nova_ovirt import claims as claims_mod
from nova_ovirt import compat
from nova_ovirt import exception
from nova_ovirt.pools.libvirt import claims as libvirt_claims
from nova_ovirt.pools.libvirt import config
from nova_ovirt.pools.libvirt import errors
from nova_ovirt.pools.libvirt import maintenance
from nova_ovirt.pools.libvirt import nodes
from nova_ovirt.pools.libvirt import storage

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

AUTOWRAP = (libvirt.virDomain, libvirt.virStoragePool,
            libvirt.virStorageVol, libvirt.virStream)

# Remote hosts: a dead peer is noticed after about interval * (count + 1)
# seconds, which fires the close callback.
KEEPALIVE_INTERVAL = 5
KEEPALIVE_COUNT = 3

_event_loop_lock = threading.Lock()
_event_loop_started = False


def _quiet_error_handler(_context, _error):
    # libvirt prints every error to stderr by default; we report them.
    pass


def open_connection(uri):
    """libvirt.open(uri) with libvirt's printing of errors to stderr off,
    also in processes without the event loop (nova-ovirt-manage)."""
    libvirt.registerErrorHandler(_quiet_error_handler, None)
    return libvirt.open(uri)


def _run_event_loop():
    while True:
        libvirt.virEventRunDefaultImpl()


def ensure_event_loop():
    """Register libvirt's default event loop once per process and run it.

    It has to be registered before the first connection is opened, or that
    connection delivers no events and no close callback.
    """
    global _event_loop_started
    with _event_loop_lock:
        if _event_loop_started:
            return
        libvirt.registerErrorHandler(_quiet_error_handler, None)
        libvirt.virEventRegisterDefaultImpl()
        compat.start_native_daemon(_run_event_loop,
                                   'nova-ovirt-libvirt-event-loop')
        _event_loop_started = True


def read_metadata(domain, namespace=config.METADATA_NS):
    """The domain's metadata element of our namespace (text), or None."""
    try:
        return domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                               namespace, 0)
    except libvirt.libvirtError as e:
        if e.get_error_code() in (libvirt.VIR_ERR_NO_DOMAIN_METADATA,
                                  libvirt.VIR_ERR_NO_DOMAIN):
            return None
        raise


def lifecycle_transition(event, detail):
    """nova lifecycle transition of a libvirt domain event, or None."""
    if event == libvirt.VIR_DOMAIN_EVENT_STOPPED:
        if detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_SAVED:
            return virtevent.EVENT_LIFECYCLE_SUSPENDED
        return virtevent.EVENT_LIFECYCLE_STOPPED
    if event == libvirt.VIR_DOMAIN_EVENT_STARTED:
        return virtevent.EVENT_LIFECYCLE_STARTED
    if event == libvirt.VIR_DOMAIN_EVENT_SUSPENDED:
        return virtevent.EVENT_LIFECYCLE_PAUSED
    if event == libvirt.VIR_DOMAIN_EVENT_RESUMED:
        return virtevent.EVENT_LIFECYCLE_RESUMED
    if event == libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED:
        return virtevent.EVENT_LIFECYCLE_SUSPENDED
    return None


class Host(object):
    """A libvirt host of the pool; safe to use from several threads."""

    #: How often the monitor checks a lost connection (seconds).
    TICK = 0.5

    def __init__(self, spec, pool_name, conf, event_queue, service_host=None):
        self.nodename = spec.name
        #: The nova-compute service (its [DEFAULT] host) claiming this host.
        self.service_host = service_host
        self.claim_error = None
        self._heartbeats = claims_mod.Heartbeats()
        self.uri = spec.uri
        self.node_uuid = spec.uuid
        self.pool_name = pool_name
        self.conf = conf
        self.event_queue = event_queue
        self.storage = storage.Storage(self, conf.storage_pool,
                                       conf.storage_pool_path)
        self.stats = {'image_bytes_uploaded': 0, 'image_uploads': 0,
                      'image_reuses': 0}
        self._conn = None
        # Written by libvirt's event thread: plain assignments only there.
        self._closed = False
        self._close_reason = None
        self._stale = True
        self._down_reason = 'not connected yet'
        self._next_attempt = 0.0
        self._running = False
        self._connect_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        # {domain uuid: instance uuid} of Nova-owned domains; replaced,
        # never changed in place (libvirt's event thread reads it). The
        # two are equal except for adopted domains.
        self._owned = {}
        self._names = {}
        self._foreign = frozenset()
        self._states = {}
        self._listed_at = None
        #: The last maintenance mark seen, to log changes once.
        self._maintenance = None

    def __repr__(self):
        return '<libvirt host %s (%s)>' % (self.nodename, self.uri)

    @property
    def target(self):
        return 'node %s (%s)' % (self.nodename, self.uri)

    # -- connection --------------------------------------------------------

    @property
    def available(self):
        return self._conn is not None and not self._closed

    @property
    def down_reason(self):
        """Why the host is unavailable (last connection error), or None."""
        return None if self.available else self._down_reason

    @property
    def connection(self):
        conn = self._conn
        if conn is None or self._closed:
            raise errors.NodeUnavailable(host=self.nodename, uri=self.uri,
                                         reason=self._down_reason)
        return conn

    def start(self):
        ensure_event_loop()
        self._running = True
        connected = self.try_connect()
        if self.claim_error is not None:
            # Another service manages this host: refuse to start.
            raise self.claim_error
        if not connected:
            LOG.warning('[%(group)s] uris: cannot connect to %(uri)s: '
                        '%(reason)s. Node %(node)s is unavailable until '
                        'the connection succeeds; retrying every %(retry)d '
                        'seconds.',
                        {'group': 'ovirt_pool:%s' % self.pool_name,
                         'uri': self.uri, 'reason': self._down_reason,
                         'node': self.nodename,
                         'retry': self.conf.connection_retry_interval})
        compat.start_daemon(self._monitor,
                            'nova-ovirt-libvirt-%s' % self.nodename)

    def stop(self):
        self._running = False
        self._drop_connection('service stopping')

    def try_connect(self):
        """Open the connection once; False (reason kept) on failure."""
        with self._connect_lock:
            if self.available:
                return True
            self._next_attempt = (time.monotonic() +
                                  self.conf.connection_retry_interval)
            try:
                self._connect()
            except exception.PoolConfigError as e:
                if self.claim_error is None:
                    LOG.error('%s', e)
                self.claim_error = e
                self._down_reason = str(e)
                return False
            except Exception as e:
                reason = (errors.message(e)
                          if isinstance(e, libvirt.libvirtError) else str(e))
                self._down_reason = reason
                return False
        self.claim_error = None
        LOG.info('Connected to libvirt at %(uri)s: node %(node)s is '
                 'available', {'uri': self.uri, 'node': self.nodename})
        return True

    def _connect(self):
        raw = compat.call_blocking(open_connection, self.uri)
        conn = compat.wrap_blocking(raw, autowrap=AUTOWRAP)
        try:
            if nodes.uri_host(self.uri):
                conn.setKeepAlive(KEEPALIVE_INTERVAL, KEEPALIVE_COUNT)
            conn.registerCloseCallback(self._on_close, None)
            conn.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                self._on_lifecycle, None)
            self.storage.ensure_pool(conn)
            if self.service_host:
                libvirt_claims.acquire(
                    conn, self.service_host, self.nodename,
                    'ovirt_pool:%s' % self.pool_name, 'uris', self.uri)
                self._heartbeats.beat(self.nodename)
        except Exception:
            self._close_quietly(conn)
            raise
        self._closed = False
        self._close_reason = None
        self._stale = True
        self._conn = conn

    def mark_disconnected(self, reason):
        """An operation found the connection dead; reconnect later."""
        self._down_reason = reason
        self._closed = True

    def _drop_connection(self, reason):
        conn, self._conn = self._conn, None
        self.storage.forget()
        self._down_reason = reason
        if conn is not None:
            self._close_quietly(conn)

    @staticmethod
    def _close_quietly(conn):
        try:
            conn.unregisterCloseCallback()
        except Exception:
            pass
        try:
            conn.close()
        except Exception:
            pass

    def _monitor(self):
        while self._running:
            if self._closed and self._conn is not None:
                reason = self._close_reason_text()
                self._drop_connection(reason)
                LOG.warning('Lost the connection to %(uri)s (%(reason)s): '
                            'node %(node)s is unavailable; reconnecting '
                            'every %(retry)d seconds.',
                            {'uri': self.uri, 'reason': reason,
                             'node': self.nodename,
                             'retry': self.conf.connection_retry_interval})
                self._next_attempt = 0.0
            if self._conn is None and time.monotonic() >= self._next_attempt:
                if not self.try_connect():
                    LOG.debug('Connecting to %s failed: %s', self.uri,
                              self._down_reason)
            time.sleep(self.TICK)

    def _close_reason_text(self):
        reasons = {
            libvirt.VIR_CONNECT_CLOSE_REASON_ERROR: 'connection error',
            libvirt.VIR_CONNECT_CLOSE_REASON_EOF: 'libvirtd closed it',
            libvirt.VIR_CONNECT_CLOSE_REASON_KEEPALIVE: 'keepalive timeout',
            libvirt.VIR_CONNECT_CLOSE_REASON_CLIENT: 'closed by client',
        }
        if self._close_reason is None:
            return self._down_reason
        return reasons.get(self._close_reason, 'closed')

    # -- callbacks: libvirt's native event thread; never log here ----------

    def _on_close(self, _conn, reason, _opaque):
        self._close_reason = reason
        self._closed = True

    def _on_lifecycle(self, _conn, domain, event, detail, _opaque):
        instance_uuid = self._owned.get(domain.UUIDString())
        if instance_uuid is None:
            return
        self._stale = True
        transition = lifecycle_transition(event, detail)
        if transition is not None:
            self.event_queue.put(virtevent.LifecycleEvent(instance_uuid,
                                                          transition))

    # -- ownership and the guest cache -------------------------------------

    def _owner_of(self, domain):
        """The instance uuid our metadata marks the domain for, or None;
        remembers nova's name."""
        xml = read_metadata(domain)
        uuid, name = config.metadata_owner(xml, domain.UUIDString())
        if uuid is not None:
            self._names[uuid] = name
        return uuid

    def _list_states(self, conn):
        """[(domain, state, reason)] of every domain, in one call if we can."""
        try:
            records = conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE,
                                             0)
            return [(d, s['state.state'], s.get('state.reason', 0))
                    for d, s in records]
        except libvirt.libvirtError as e:
            if not errors.is_unsupported(e):
                raise
        return [(d,) + tuple(d.state()) for d in conn.listAllDomains(0)]

    def _refresh(self):
        conn = self.connection
        with errors.translated('Listing guests', self.target,
                               on_disconnect=self.mark_disconnected):
            records = self._list_states(conn)
            owned, foreign, states = {}, set(), {}
            for domain, state, reason in records:
                uuid = domain.UUIDString()
                instance_uuid = self._owned.get(uuid)
                # An adopted domain is read again: the release command
                # takes its mark away from outside this process.
                if instance_uuid is None and uuid not in self._foreign or \
                        instance_uuid not in (None, uuid):
                    instance_uuid = self._owner_of(
                        compat.wrap_blocking(domain, AUTOWRAP))
                if instance_uuid is not None:
                    owned[uuid] = instance_uuid
                    states[instance_uuid] = (state, reason)
                else:
                    foreign.add(uuid)
        self._stale = False
        self._owned = owned
        self._foreign = frozenset(foreign)
        self._names = {u: n for u, n in self._names.items()
                       if u in states}
        self._states = states
        self._listed_at = time.monotonic()

    def guest_states(self, max_age=None):
        """{instance uuid: (libvirt state, reason)} of Nova-owned guests."""
        ttl = CONF.ovirt.power_state_cache_ttl if max_age is None else max_age
        with self._cache_lock:
            fresh = (self._listed_at is not None and not self._stale and
                     time.monotonic() - self._listed_at < ttl)
            if not fresh:
                self._refresh()
            return dict(self._states)

    def invalidate(self):
        self._stale = True

    def guest_names(self):
        """{instance uuid: nova's instance name} of Nova-owned guests."""
        self.guest_states()
        return dict(self._names)

    def note_owned(self, uuid, name, domain_uuid=None):
        """A domain this pool just defined (or adopted: domain_uuid):
        owned before the next listing."""
        domain_uuid = domain_uuid or uuid
        self._names[uuid] = name
        self._owned = dict(self._owned, **{domain_uuid: uuid})
        self._foreign = self._foreign - {domain_uuid}
        self._stale = True

    def note_removed(self, uuid):
        """The instance's domain is gone (or no longer Nova's)."""
        self._owned = {d: i for d, i in self._owned.items() if i != uuid}
        self._stale = True

    def adopted_domain_uuid(self, instance_uuid):
        """The UUID of the instance's adopted domain, or None."""
        for attempt in range(2):
            for domain_uuid, owner in self._owned.items():
                if owner == instance_uuid and domain_uuid != instance_uuid:
                    return domain_uuid
            if attempt == 0:
                self.guest_states()     # a listing, unless one is fresh
        return None

    def is_adopted(self, instance_uuid):
        return self.adopted_domain_uuid(instance_uuid) is not None

    def _lookup(self, domain_uuid):
        try:
            return self.connection.lookupByUUIDString(domain_uuid)
        except libvirt.libvirtError as e:
            if errors.is_missing_domain(e):
                return None
            raise

    def find_domain(self, uuid):
        """The Nova-owned domain of instance `uuid`, or None.

        The one lookup of every operation: the domain with the instance's
        UUID (every domain this pool defines has it), else the adopted
        domain whose mark names the instance. A domain without our mark
        is never returned.
        """
        with errors.translated('Looking up guest %s' % uuid, self.target,
                               on_disconnect=self.mark_disconnected):
            domain = self._lookup(uuid)
            if domain is not None and (self._owned.get(uuid) == uuid or
                                       self._owner_of(domain) == uuid):
                return domain
            domain_uuid = self.adopted_domain_uuid(uuid)
            if domain_uuid is None:
                return None
            domain = self._lookup(domain_uuid)
            # Read the mark again: release removes it from outside.
            if domain is not None and self._owner_of(domain) == uuid:
                return domain
            self.note_removed(uuid)
        return None

    def foreign_domain_exists(self, uuid):
        domain = self._lookup(uuid)
        return domain is not None and self._owner_of(domain) != uuid

    def lookup(self, uuid):
        domain = self.find_domain(uuid)
        if domain is None:
            raise nova_exception.InstanceNotFound(instance_id=uuid)
        return domain

    def translated(self, operation, instance_uuid=None):
        return errors.translated(operation, self.target, instance_uuid,
                                 on_disconnect=self.mark_disconnected)

    # -- resources ---------------------------------------------------------

    def _hardware(self):
        conn = self.connection
        with self.translated('Reading host resources'):
            model, memory_mib, cpus = conn.getInfo()[:3]
            try:
                free_mib = conn.getFreeMemory() // units.Mi
            except libvirt.libvirtError:
                free_mib = memory_mib
            capacity, allocation, available = self.storage.capacity()
            return {
                'memory_mib': memory_mib, 'cpus': cpus,
                'free_mib': min(free_mib, memory_mib),
                'disk_total': capacity // units.Gi,
                'disk_used': allocation // units.Gi,
                'disk_free': available // units.Gi,
                'type': conn.getType(),
                'version': conn.getVersion(),
                'capabilities': conn.getCapabilities(),
            }

    def heartbeat(self):
        """Refresh this service's claim on the host, once a minute."""
        if not self.service_host or not self._heartbeats.due(self.nodename):
            return
        if not libvirt_claims.heartbeat(self.connection, self.service_host):
            error = exception.PoolConfigError(
                'ovirt_pool:%s' % self.pool_name, 'uris', self.uri,
                'libvirt host %r was handed over to another service' %
                self.nodename)
            LOG.error('%s; node %s is unavailable', error, self.nodename)
            self.claim_error = error
            self._drop_connection(str(error))
            return
        self._heartbeats.beat(self.nodename)

    def get_available_resource(self):
        self.heartbeat()
        hw = self._hardware()
        cpu_info = config.host_cpu_info(hw['capabilities'])
        # The guests this pool defines are x86_64 (see config.GuestConfig).
        arch = fields.Architecture.X86_64
        hv_type = (fields.HVType.KVM if self.conf.domain_type == 'kvm'
                   else fields.HVType.QEMU)
        return {
            'vcpus': hw['cpus'],
            'memory_mb': hw['memory_mib'],
            'local_gb': hw['disk_total'],
            'vcpus_used': 0,
            'memory_mb_used': hw['memory_mib'] - hw['free_mib'],
            'local_gb_used': hw['disk_used'],
            'hypervisor_type': 'QEMU' if hw['type'] in ('QEMU', 'TEST')
            else hw['type'],
            'hypervisor_version': hw['version'],
            'hypervisor_hostname': self.nodename,
            'cpu_info': json.dumps(cpu_info),
            'disk_available_least': hw['disk_free'],
            'numa_topology': None,
            'supported_instances': [(arch, hv_type, fields.VMMode.HVM)],
            'uuid': self.node_uuid,
        }

    def get_inventory(self):
        hw = self._hardware()
        inventory = {
            orc.VCPU: {'total': hw['cpus'], 'max_unit': hw['cpus']},
            orc.MEMORY_MB: {
                'total': hw['memory_mib'],
                'max_unit': max(1, hw['memory_mib'] -
                                CONF.reserved_host_memory_mb)},
            orc.DISK_GB: {'total': hw['disk_total'],
                          'max_unit': max(1, hw['disk_free'])},
        }
        if self.maintenance() is not None:
            # Out of scheduling, guests untouched (see maintenance.py).
            for figures in inventory.values():
                figures['reserved'] = figures['total']
        return inventory

    # -- maintenance (see maintenance.py) ----------------------------------

    def maintenance(self):
        """The host's Maintenance mark, or None; logs when it changes."""
        with self.translated('Reading the maintenance mark'):
            mark = maintenance.read(self.connection)
        if mark != self._maintenance:
            if mark is not None:
                LOG.info('Libvirt host %(node)s is %(state)s: it takes no '
                         'new guests (all of its inventory is reserved)',
                         {'node': self.nodename, 'state': mark.describe()})
            else:
                LOG.info('Libvirt host %s is back in service',
                         self.nodename)
            self._maintenance = mark
        return mark
