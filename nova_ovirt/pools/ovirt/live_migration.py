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

"""Live migration of a running VM between two clusters of one engine.

Inside a cluster the engine moves VMs itself. Nova's live migration moves a
VM to another cluster (another Nova node) of the same engine, which in
nova 34 is always a node of another nova-compute service (the conductor
refuses the source's own service host; doc/source/topology.rst). The VM
stays the same engine VM, running all along: the engine's ``migrate``
action with the destination cluster (and its host when it has only one
usable host), then the VM is ``migrating`` until it is ``up`` in the
destination cluster, or back ``up`` where it was if the migration failed.

The engine itself checks (MigrateVmCommand, ChangeVmClusterValidator):
the destination cluster is in the VM's data center, of the same
architecture, and has a host offering the CPU flags of the VM's CPU model.
Nova's checks say the same before anything moves, in plain words, and
are stricter on CPUs: the engine's API does not show CPU flags, so the
clusters must have the same CPU type.

There is no block migration: the VM's disks stay on the engine's storage
domains, which every cluster of the data center sees.

Migrate data: nova's conductor deserialises it between the two services,
so it must be a class nova registers. ``VMwareLiveMigrateData`` was made
for this very shape (one manager, a destination cluster, the datastores it
sees): ``cluster_name`` carries the destination cluster's id and
``datastore_regex`` the ids of the storage domains its data center sees.
Nova's compute manager also reads it to decide that nothing is left to
clean on either side (no ``driver.cleanup`` at the source, no
``rollback_live_migration_at_destination``): right, as nothing was copied.
"""

import re
import threading
import time

from oslo_log import log as logging
from oslo_utils import units
import ovirtsdk4 as sdk
from ovirtsdk4 import types

import nova.conf
from nova import exception as nova_exception
from nova import objects
from nova.objects import migrate_data as migrate_data_obj

from nova_ovirt.pools.ovirt import inventory
from nova_ovirt.pools.ovirt import session as ovirt_session
from nova_ovirt.pools.ovirt import vmops as ovirt_vmops

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

S = types.VmStatus
#: Seconds between two reads of the migrating VM.
MONITOR_INTERVAL = 0.5
#: Statuses in which the engine migrates a VM (VmValidator.canMigrate)
#: that nova live-migrates (ACTIVE and PAUSED servers).
MIGRATABLE = (S.UP, S.PAUSED)
#: Audit log codes that end a migration without moving the VM:
#: VM_MIGRATION_ABORT, VM_MIGRATION_FAILED, VM_MIGRATION_TO_SERVER_FAILED,
#: VM_MIGRATION_FAILED_DURING_MOVE_TO_MAINTENANCE, VM_CANCEL_MIGRATION.
FAILURE_EVENTS = (64, 65, 120, 140, 161)
#: VM_MIGRATION_TRYING_RERUN: the engine tries another host.
RERUN_EVENT = 128
#: Reads of a VM back at its source, without a failure event, before the
#: migration counts as failed anyway.
QUIET_LOOKS = 4
#: The instance action event that carries the engine's reason for a
#: failed migration (os-instance-actions shows it).
FAILURE_EVENT_NAME = 'ovirt_live_migration'


def new_data(cluster_id, storage_domain_ids):
    """The destination's answer: its cluster and the storage it sees."""
    return migrate_data_obj.VMwareLiveMigrateData(
        cluster_name=cluster_id,
        datastore_regex='^(%s)$' % '|'.join(
            re.escape(i) for i in sorted(storage_domain_ids)))


def dest_cluster_id(data):
    """The destination cluster of migrate data, None if not ours."""
    if isinstance(data, migrate_data_obj.VMwareLiveMigrateData) and \
            'cluster_name' in data:
        return data.cluster_name
    return None


def _refuse(reason):
    raise nova_exception.MigrationPreCheckError(reason=reason)


class _Job(object):
    """One running migration, for abort."""

    def __init__(self, vm_id):
        self.vm_id = vm_id
        self.aborted = False


class LiveMigrationOps(object):
    """Both sides of a live migration between two clusters of one engine."""

    def __init__(self, pool):
        self.pool = pool
        self.session = pool.session
        self.vmops = pool.vmops
        self._jobs = {}
        self._lock = threading.Lock()

    # -- engine reads ------------------------------------------------------

    def _cluster(self, cluster_id):
        return self.session.read(
            lambda system: system.clusters_service().cluster_service(
                cluster_id).get())

    def _data_center(self, dc_id):
        return self.session.read(
            lambda system: system.data_centers_service().data_center_service(
                dc_id).get())

    def _storage_domain_ids(self, dc_id):
        """The storage domains attached to the data center."""
        domains = self.session.read(
            lambda system: system.storage_domains_service().list())
        return [d.id for d in ovirt_session.as_list(domains)
                if any(dc.id == dc_id for dc in d.data_centers or [])]

    def _vm_storage_domains(self, vm_id):
        """{storage domain id: disk alias} of the VM's disks."""
        atts = self.session.read(
            lambda system: system.vms_service().vm_service(
                vm_id).disk_attachments_service().list(follow='disk'))
        found = {}
        for att in ovirt_session.as_list(atts):
            disk = att.disk
            for sd in (disk.storage_domains or []) if disk else []:
                found.setdefault(sd.id, disk.alias or disk.name or disk.id)
        return found

    def _storage_domain_name(self, sd_id):
        try:
            return self.session.read(
                lambda system: system.storage_domains_service()
                .storage_domain_service(sd_id).get()).name
        except sdk.Error:
            return sd_id

    def _usable_hosts(self, cluster_id):
        return [h for h in self.pool.inventory.hosts(cluster_id)
                if inventory.usable(h)]

    # -- checks: destination, then source -----------------------------------

    def check_destination(self, nodename, instance, block_migration):
        """What the source needs to know of the destination cluster."""
        if block_migration:
            _refuse('block migration does not apply to oVirt clusters: the '
                    'disks stay on the storage domains of the engine, which '
                    'the destination cluster uses in place; migrate without '
                    'block_migration (or with "auto")')
        cluster_id = self.pool.cluster_id(nodename)
        hosts = self._usable_hosts(cluster_id)
        if not hosts:
            _refuse('cluster %s (node %s) has no host that is up to run the '
                    'VM' % (nodename, nodename))
        memory = instance.flavor.memory_mb * units.Mi
        if not any((h.max_scheduling_memory or 0) >= memory for h in hosts):
            _refuse('no host of cluster %s has %d MiB of memory free for '
                    'the VM' % (nodename, instance.flavor.memory_mb))
        cluster = self._cluster(cluster_id)
        return new_data(cluster_id,
                        self._storage_domain_ids(cluster.data_center.id))

    def _target(self, data):
        """The destination cluster's id, refused unless one of ours."""
        target_id = dest_cluster_id(data)
        if target_id is None:
            _refuse('the destination node is not an oVirt cluster: a VM of '
                    'pool %s moves live only to another cluster of its '
                    'engine; use a cold migration to move it to another '
                    'pool' % self.pool.name)
        return target_id

    def check_source(self, instance, data):
        """Refuse, in plain words, what the engine would refuse or fail."""
        target_id = self._target(data)
        vm = self.vmops.owned_vm(instance)
        if vm is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        if vm.status not in MIGRATABLE:
            _refuse('the VM is %s in the engine; only a running VM (up or '
                    'paused) migrates live' % vm.status.value)
        try:
            target = self._cluster(target_id)
        except sdk.NotFoundError:
            _refuse('the destination cluster %s is not in engine %s of pool '
                    '%s: live migration moves VMs between the clusters of one '
                    'engine only' % (target_id, self.pool.conf.url,
                                     self.pool.name))
        source = self._cluster(vm.cluster.id)
        if target.id == source.id:
            _refuse('the VM is in cluster %s already' % source.name)
        self._check_storage(vm, target, data)
        if target.data_center.id != source.data_center.id:
            _refuse('clusters %s and %s are in different data centers; the '
                    'engine moves a running VM only within its data center'
                    % (source.name, target.name))
        self._check_cpu(source, target)
        return data

    def _check_storage(self, vm, target, data):
        seen = re.compile(data.datastore_regex)
        unseen = {sd_id: alias for sd_id, alias in
                  self._vm_storage_domains(vm.id).items()
                  if not seen.match(sd_id)}
        if unseen:
            dc = self._data_center(target.data_center.id)
            _refuse('the data center %s of cluster %s does not see storage '
                    'domain %s of the VM\'s disks (%s)' % (
                        dc.name, target.name,
                        ', '.join(sorted(self._storage_domain_name(i)
                                         for i in unseen)),
                        ', '.join(sorted(unseen.values()))))

    @staticmethod
    def _check_cpu(source, target):
        arch = (source.cpu.architecture if source.cpu else None,
                target.cpu.architecture if target.cpu else None)
        if arch[0] != arch[1]:
            _refuse('clusters %s and %s have different CPU architectures '
                    '(%s, %s)' % (source.name, target.name,
                                  *(a.value if a else 'unknown'
                                    for a in arch)))
        types_ = (source.cpu.type if source.cpu else None,
                  target.cpu.type if target.cpu else None)
        if types_[0] != types_[1]:
            _refuse('clusters %s and %s have different CPU types (%r, %r): '
                    'a running VM keeps the CPU model of its cluster, and '
                    'the engine moves it only to hosts offering all of its '
                    'CPU flags; give both clusters the same CPU type' % (
                        source.name, target.name, types_[0], types_[1]))

    # -- destination -------------------------------------------------------

    def pre_live_migration(self, instance, data):
        """Nothing to prepare: the engine connects the destination host to
        the VM's storage and networks itself."""
        return data

    def post_live_migration_at_destination(self, instance, nodename=None):
        """Record the VM as this pool's; nova saves the instance next."""
        vm = self.vmops.owned_vm(instance)
        if vm is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        ovirt_vmops.record_vm_id(instance, self.pool.name, vm.id)
        self.pool.cache.invalidate()

    # -- source: the migration itself --------------------------------------

    def live_migration(self, context, instance, dest, post_method,
                       recover_method, block_migration, data):
        target_id = self._target(data)
        vm = self.vmops.owned_vm(instance)
        if vm is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        job = _Job(vm.id)
        with self._lock:
            self._jobs[instance.uuid] = job
        try:
            error = self._migrate(instance, vm, target_id, job)
        finally:
            with self._lock:
                self._jobs.pop(instance.uuid, None)
            self.pool.cache.invalidate()
        if error is None:
            LOG.info('Live migration to cluster %s (%s) completed', target_id,
                     dest, instance=instance)
            post_method(context, instance, dest, block_migration, data)
            return
        _record_failure(context, instance, error)
        if job.aborted:
            LOG.warning('Live migration to %s cancelled: %s', dest, error,
                        instance=instance)
            recover_method(context, instance, dest, data,
                           migration_status='cancelled')
            return
        LOG.error('Live migration to %s failed: %s', dest, error,
                  instance=instance)
        recover_method(context, instance, dest, data)

    def _migrate(self, instance, vm, target_id, job):
        """Start the engine's migration and watch it; the error or None."""
        hosts = self._usable_hosts(target_id)
        # A single usable host is the engine's only choice anyway; naming
        # it makes a failure say which host failed (MigrateVmToServer).
        host = types.Host(id=hosts[0].id) if len(hosts) == 1 else None
        since = self._last_event_id()
        try:
            self.vmops._action(vm.id, 'migrate', idempotent=False,
                               cluster=types.Cluster(id=target_id), host=host)
        except sdk.Error as e:
            return 'the engine refused to migrate VM %s: %s' % (
                vm.name, ovirt_session.fault_text(e))
        LOG.info('Live migration of VM %s to cluster %s started', vm.id,
                 target_id, instance=instance)
        return self._monitor(instance, vm, target_id, job, since)

    def _last_event_id(self):
        events = self.session.read(
            lambda system: system.events_service().list(max=1))
        return max((int(e.id) for e in ovirt_session.as_list(events)),
                   default=0)

    def _failure_reason(self, vm_id, since):
        """The engine's last word on the migration since ``since``: the
        text of a failure event, or None (none yet, or it tries another
        host: VM_MIGRATION_TRYING_RERUN)."""
        events = ovirt_session.as_list(self.session.read(
            lambda system: system.events_service().list(from_=since)))
        last = None
        for ev in sorted(events, key=lambda e: int(e.id)):
            if (int(ev.id) > since and ev.vm is not None and
                    ev.vm.id == vm_id and
                    ev.code in FAILURE_EVENTS + (RERUN_EVENT,)):
                last = ev
        if last is None or last.code == RERUN_EVENT:
            return None
        return last.description

    def _monitor(self, instance, vm, target_id, job, since):
        """Watch the VM until it runs in the destination cluster (None)
        or the migration ended without moving it (the reason)."""
        source_cluster = vm.cluster.id
        timeout = completion_timeout(instance)
        # Zero: no bound, as for nova's libvirt driver.
        deadline = time.monotonic() + timeout if timeout else None
        cancelled = seen_migrating = False
        quiet = 0
        while True:
            time.sleep(MONITOR_INTERVAL)
            current = self.vmops.get_vm(vm.id)
            late = deadline is not None and time.monotonic() > deadline
            if current.status == S.MIGRATING:
                seen_migrating, quiet = True, 0
                if late and not cancelled:
                    LOG.warning('Live migration did not complete within %d '
                                'seconds; cancelling it', timeout,
                                instance=instance)
                    job.aborted = cancelled = True
                    self._cancel(vm.id)
                continue
            if current.status not in MIGRATABLE:
                return 'the VM is %s in the engine' % current.status.value
            if current.cluster.id == target_id:
                return None
            if current.cluster.id != source_cluster:
                return 'the VM runs in cluster %s, neither the source nor ' \
                       'the destination' % current.cluster.id
            # Running in its source cluster: not started yet, retried on
            # another host, or failed.
            reason = self._failure_reason(vm.id, since)
            if reason is not None:
                return reason
            if seen_migrating:
                # Ended without moving it and no failure event yet: give
                # the engine's event (or its rerun) a moment, then say so.
                quiet += 1
                if quiet >= QUIET_LOOKS:
                    return ('the migration ended without moving the VM '
                            '(the engine logged no reason)')
                continue
            if late:
                return ('the engine did not start migrating the VM within '
                        '%d seconds' % timeout)

    def _cancel(self, vm_id):
        try:
            self.vmops._action(vm_id, 'cancel_migration', idempotent=False)
        except sdk.Error as e:
            if not ovirt_session.is_conflict(e):
                raise
            # Ended on its own meanwhile: the monitor tells how.
            LOG.info('Cancelling the migration of VM %s: %s', vm_id,
                     ovirt_session.fault_text(e))

    def abort(self, instance):
        with self._lock:
            job = self._jobs.get(instance.uuid)
        if job is None:
            raise nova_exception.NoActiveMigrationForInstance(
                instance_id=instance.uuid)
        job.aborted = True
        self._cancel(job.vm_id)
        LOG.info('Live migration abort requested', instance=instance)


def completion_timeout(instance):
    """nova's rule (``[libvirt] live_migration_completion_timeout``, the
    same option as the libvirt pools): seconds per GiB of memory."""
    gib = max(instance.flavor.memory_mb / units.Ki, 1)
    return CONF.libvirt.live_migration_completion_timeout * gib


def _record_failure(context, instance, reason):
    """The engine's reason as an event of the server's action."""
    try:
        objects.InstanceActionEvent.event_start(
            context, instance.uuid, FAILURE_EVENT_NAME, want_result=False,
            host=CONF.host)
        objects.InstanceActionEvent.event_finish_with_failure(
            context, instance.uuid, FAILURE_EVENT_NAME, exc_val=reason,
            exc_tb=reason, want_result=False)
    except Exception as e:
        # Best effort: the log above has the reason too.
        LOG.debug('Could not record the migration failure: %s', e,
                  instance=instance)
