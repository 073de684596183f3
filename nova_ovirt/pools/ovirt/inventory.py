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

"""Cluster hosts and the storage domain -> what placement is told.

The resource tracker asks every node every minute, possibly from several
threads at once. One listing of all hosts, one read of the storage domain
and one listing of Nova's VMs with their disks serve every cluster of the
pool for ``ttl`` seconds, so a resource update of all clusters costs three
requests, not three per cluster.

Storage: every cluster of the pool uses the same storage domain (and other
pools, other nova-computes may use it too), so DISK_GB is not a cluster's:
it belongs to one sharing provider per storage domain (uuid = the domain's
id), see :mod:`nova_ovirt.placement`. Its total is the domain's size; its
reservation is what the domain holds besides the disks of Nova's guests
(the operator's VMs, image templates, snapshots), since placement counts
Nova's guests' disks through their allocations at their full flavor size.
"""

import math
import threading
import time

import os_resource_classes as orc
import os_traits
from oslo_log import log as logging
from oslo_serialization import jsonutils
import ovirtsdk4 as sdk
from ovirtsdk4 import types

from nova.objects import fields

from nova_ovirt import placement
from nova_ovirt.pools.ovirt import cache as vm_cache
from nova_ovirt.pools.ovirt import session as ovirt_session

LOG = logging.getLogger(__name__)

MiB = 1024 ** 2
GiB = 1024 ** 3
# Within one resource-tracker cycle all nodes share one listing.
DEFAULT_TTL = 20


def usable(host):
    """Hosts that can run guests: up (maintenance and the rest cannot)."""
    return host.status == types.HostStatus.UP


def host_vcpus(host):
    topo = host.cpu.topology if host.cpu is not None else None
    if topo is None:
        return 0
    return (topo.sockets or 1) * (topo.cores or 1) * (topo.threads or 1)


def host_memory_mb(host):
    # max_scheduling_memory: what the engine would still give to guests.
    return (host.max_scheduling_memory or 0) // MiB


def hardware(hosts, nova_memory_mb=0):
    """{resource class: {'total', 'max_unit'[, 'reserved']}} of a cluster.

    Only usable hosts count: a host in maintenance or non-operational
    takes its CPUs and memory out of the totals and of ``max_unit``.

    The engine's schedulable memory already excludes what running guests
    hold, Nova's among them, and placement subtracts Nova's allocations
    again; ``nova_memory_mb`` (what Nova's running guests in the cluster
    hold) is added back so that they are counted once. Memory of guests
    Nova does not know stays excluded, as it should.

    A cluster without a usable host is reported unavailable: see
    :func:`unavailable_hardware`.
    """
    up = [h for h in hosts if usable(h)]
    if not up:
        return unavailable_hardware(hosts)
    vcpus = [host_vcpus(h) for h in up]
    memory = [host_memory_mb(h) for h in up]
    return {
        orc.VCPU: {'total': sum(vcpus), 'max_unit': max(vcpus)},
        orc.MEMORY_MB: {'total': sum(memory) + nova_memory_mb,
                        'max_unit': max(memory)},
    }


def unavailable_hardware(hosts):
    """Figures of a cluster with no usable host: all of it reserved.

    Dropping the records instead (total 0) is what placement refuses
    while Nova's guests of the cluster hold allocations (InventoryInUse):
    the node would go on offering its old capacity. Reserving the whole
    total is how nova's ironic driver takes a node out of scheduling too;
    the totals are what the hosts have (at least 1, placement refuses 0)
    so that the node comes back as it was.
    """
    vcpus = max(1, sum(host_vcpus(h) for h in hosts))
    memory = max(1, sum((h.memory or 0) // MiB for h in hosts))
    return {
        orc.VCPU: {'total': vcpus, 'max_unit': vcpus, 'reserved': vcpus},
        orc.MEMORY_MB: {'total': memory, 'max_unit': memory,
                        'reserved': memory},
    }


def storage_hardware(storage_domain, nova_disk_bytes):
    """DISK_GB figures of a storage domain's sharing provider.

    total: the domain's size (used + available). reserved: what the domain
    holds besides Nova's guests' disks, rounded up. Placement then offers
    total - reserved - allocations, which never exceeds the free space as
    long as Nova's thin disks stay within their flavor's size.
    """
    used = storage_domain.used or 0
    total = (used + (storage_domain.available or 0)) // GiB
    others = max(0, used - nova_disk_bytes)
    return {orc.DISK_GB: {'total': total, 'max_unit': total,
                          'reserved': min(total,
                                          int(math.ceil(others / GiB)))}}


def shared_storage(storage_domain, nova_disk_bytes):
    """The storage domain as placement's sharing provider."""
    return placement.SharedStorage(
        uuid=storage_domain.id,
        name='ovirt-storage-domain-%s' % storage_domain.id,
        # Aggregate uuids are a namespace of their own: the domain's id
        # names the aggregate of the clusters that use the domain.
        aggregate=storage_domain.id,
        hardware=storage_hardware(storage_domain, nova_disk_bytes))


def nova_disk_bytes(vms, storage_domain_id):
    """Actual size of the disks of Nova's VMs on the storage domain."""
    total = 0
    for vm in vms:
        if not isinstance(vm, types.Vm) or vm_cache.owner_of(vm) is None:
            continue
        for att in vm.disk_attachments or []:
            disk = att.disk
            if disk is None or not disk.storage_domains:
                continue
            if disk.storage_domains[0].id == storage_domain_id:
                total += disk.actual_size or 0
    return total


def cpu_trait(cpu_type):
    """CUSTOM_OVIRT_CPU_<normalized cluster CPU type>."""
    if not cpu_type:
        return None
    return os_traits.normalize_name('OVIRT_CPU_%s' % cpu_type)


def hypervisor_version(product):
    """Engine version 4.5.6 -> 4005006 (nova compares integers)."""
    if product is None:
        return 0
    return ((product.major or 0) * 1000000 + (product.minor or 0) * 1000
            + (product.build or 0))


def resources(cluster, hosts, storage_domain, engine_version,
              nova_memory_mb=0):
    """nova's get_available_resource dict of one cluster."""
    hw = hardware(hosts, nova_memory_mb)
    # The compute node record's local_gb: the domain, as the status tool
    # and the hypervisor API show it (placement gets it once, shared).
    disk_gb = (storage_domain.available or 0) // GiB if storage_domain else 0
    used_disk = (storage_domain.used or 0) // GiB if storage_domain else 0
    cpu_type = cluster.cpu.type if cluster.cpu is not None else None
    arch = 'x86_64'
    if cluster.cpu is not None and cluster.cpu.architecture is not None:
        arch = str(cluster.cpu.architecture.value)
    cpu_info = {'arch': arch, 'model': cpu_type, 'vendor': None,
                'features': [],
                'topology': {'sockets': 1, 'cores': 1, 'threads': 1}}
    return {
        'uuid': cluster.id,
        'vcpus': hw[orc.VCPU]['total'],
        'memory_mb': hw[orc.MEMORY_MB]['total'],
        'local_gb': disk_gb + used_disk,
        'vcpus_used': 0,
        'memory_mb_used': 0,
        'local_gb_used': used_disk,
        # What nova's libvirt driver reports: free space for new disks.
        'disk_available_least': disk_gb,
        # nova's HVType has no 'ovirt'; oVirt guests are KVM guests.
        'hypervisor_type': fields.HVType.KVM,
        'hypervisor_version': engine_version,
        'hypervisor_hostname': cluster.name,
        'cpu_info': jsonutils.dumps(cpu_info),
        'supported_instances': [(arch, fields.HVType.KVM,
                                 fields.VMMode.HVM)],
        'numa_topology': None,
    }


#: Seconds between two counts of the disks of Nova's VMs. The count only
#: splits the storage domain's used space between Nova (placement's
#: allocations) and everything else (the sharing provider's reserved); it
#: needs a listing of every Nova VM with its disks, whose cost grows with
#: the cloud, so it is not repeated every resource update.
NOVA_DISK_COUNT_TTL = 600


class Inventory(object):
    """Cached hosts and storage domain of one engine."""

    def __init__(self, session, storage_domain_id, ttl=DEFAULT_TTL):
        self._session = session
        self._sd_id = storage_domain_id
        self.ttl = ttl
        self._hosts = None
        self._sd = None
        self._others_bytes = 0
        self._fetched = None
        self._nova_disks_counted = None
        self._lock = threading.Lock()

    def _stale(self):
        return (self._fetched is None
                or time.monotonic() - self._fetched >= self.ttl)

    def refresh(self, force=False):
        with self._lock:
            if not force and not self._stale():
                return
            hosts = self._session.read(
                lambda system: system.hosts_service().list())
            sd = self._session.read(
                lambda system: system.storage_domains_service()
                .storage_domain_service(self._sd_id).get())
            by_cluster = {}
            for h in hosts:
                cid = h.cluster.id if h.cluster is not None else None
                by_cluster.setdefault(cid, []).append(h)
            self._hosts, self._sd = by_cluster, sd
            self._count_nova_disks(force)
            self._fetched = time.monotonic()

    def _count_nova_disks(self, force):
        now = time.monotonic()
        if not force and self._nova_disks_counted is not None and \
                now - self._nova_disks_counted < NOVA_DISK_COUNT_TTL:
            return
        # Every Nova VM of the engine, whatever its cluster or pool: all of
        # them hold allocations against the domain's provider, and every
        # pool must report the same reservation for it.
        try:
            vms = ovirt_session.as_list(self._session.read(
                lambda system: system.vms_service().list(
                    search=vm_cache.LIST_SEARCH,
                    follow='disk_attachments.disk')))
        except (sdk.Error, ovirt_session.BadReply, ValueError) as e:
            # (The SDK's readers raise ValueError on malformed values.)
            # The count only refines the reserved space: keep the last
            # one rather than make the nodes unavailable.
            LOG.warning('Counting the disks of Nova\'s VMs failed (%s); '
                        'the storage domain keeps its last reserved '
                        'space', ovirt_session.fault_text(e))
            return
        # What the domain holds besides Nova's disks, as of this count: it
        # stays the sharing provider's reserved until the next count, so
        # the disks Nova adds meanwhile are never taken for others'.
        self._others_bytes = max(0, (self._sd.used or 0) - nova_disk_bytes(
            vms, self._sd_id))
        self._nova_disks_counted = now

    def hosts(self, cluster_id):
        self.refresh()
        return list(self._hosts.get(cluster_id, []))

    def storage_domain(self):
        self.refresh()
        return self._sd

    def hardware(self, cluster_id, nova_memory_mb=0):
        return hardware(self.hosts(cluster_id), nova_memory_mb)

    def shared(self):
        """[SharedStorage] of the pool's storage domain."""
        self.refresh()
        if self._sd is None:
            return []
        nova_bytes = max(0, (self._sd.used or 0) - self._others_bytes)
        return [shared_storage(self._sd, nova_bytes)]
