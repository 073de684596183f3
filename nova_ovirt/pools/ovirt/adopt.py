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

"""Adopting a running oVirt VM at spawn (see :mod:`nova_ovirt.adoption`).

The token's record lives in the VM's ``comment`` (free text the engine
stores for every VM; its ``description`` is the ownership mark once
Nova owns it). Adoption is one VM update: description := the instance's
mark, comment := the comment without the record. No power action, no
disk or NIC change: the VM keeps running as it was.

What makes a VM adoptable is decided here once, for the driver's spawn
and for the command's ``--dry-run`` alike (:func:`problems`).
"""

from oslo_log import log as logging
import ovirtsdk4 as sdk
from ovirtsdk4 import types

from nova_ovirt import adoption
from nova_ovirt.pools.ovirt import cache as vm_cache
from nova_ovirt.pools.ovirt import session as ovirt_session

LOG = logging.getLogger(__name__)

MiB = 1024 ** 2
S = types.VmStatus
#: Statuses in which nothing is moving: the VM can change hands. Every
#: other status (locked, launching, migrating, saving...) is transient.
STABLE = (S.UP, S.DOWN, S.PAUSED, S.SUSPENDED)
#: Disk storage types Nova's operations on an oVirt VM handle.
SUPPORTED_DISKS = (types.DiskStorageType.IMAGE,)


def vcpus_of(vm):
    topo = vm.cpu.topology if vm.cpu is not None else None
    if topo is None:
        return 1
    return (topo.sockets or 1) * (topo.cores or 1) * (topo.threads or 1)


def memory_mb_of(vm):
    return (vm.memory or 0) // MiB


def macs_of(nics):
    return [n.mac.address for n in nics
            if n.mac is not None and n.mac.address]


def problems(vm, cluster_ids, disks=(), offered=False):
    """Why the VM cannot be adopted now: a list of reasons (empty: it can).

    offered: the caller is the adoption boot, which expects a token on
    the VM (and checks it on its own); for the command, a token already
    there means another adoption is under way.
    """
    found = []
    owner = vm_cache.owner_of(vm)
    if owner is not None:
        found.append('already owned by Nova instance %s' % owner)
    elif not offered and adoption.has_record(vm.comment):
        found.append('an adoption is already in progress (token present)')
    if vm.cluster is None or vm.cluster.id not in cluster_ids:
        found.append('its cluster is not a node of this pool')
    if vm.status not in STABLE:
        found.append('it is in the transient state %s' % (
            vm.status.value if vm.status is not None else 'unknown'))
    for disk in disks:
        if disk.storage_type not in SUPPORTED_DISKS:
            found.append('disk %s has the unsupported storage type %s' % (
                disk.name or disk.id,
                disk.storage_type.value if disk.storage_type else 'unknown'))
    return found


class Adoption(object):
    """The spawn of an adoption boot in an oVirt pool."""

    def __init__(self, vmops):
        self.vmops = vmops
        self.pool = vmops.pool
        self.session = vmops.session

    def _vm_service(self, system, vm_id):
        return system.vms_service().vm_service(vm_id)

    def adopt(self, instance, network_info, request):
        """Make the running VM `request.vm_id` the instance's VM.

        :raises AdoptionRefused: with nothing changed on the engine
        """
        with adoption.CONSUME_LOCK:
            vm = self._read(request)
            nics = ovirt_session.as_list(self.session.read(
                lambda system: self._vm_service(system, vm.id)
                .nics_service().list()))
            self._check(instance, network_info, request, vm, nics)
            self._mark(instance, request, vm)
        LOG.info('Adopted running VM %s (%s) without a power action',
                 vm.id, vm.name, instance=instance)

    def _read(self, request):
        try:
            return self.session.read(
                lambda system: self._vm_service(system, request.vm_id).get())
        except sdk.NotFoundError as e:
            raise adoption.AdoptionRefused(
                vm=request.vm_id,
                reason='the engine has no such VM (%s)'
                       % ovirt_session.fault_text(e))

    def _check(self, instance, network_info, request, vm, nics):
        reasons = problems(vm, self.pool.cluster_ids(), offered=True)
        if not reasons and vm.cluster.id != self.pool.cluster_id(
                instance.node):
            reasons.append('it is not in the cluster of node %s'
                           % instance.node)
        if reasons:
            raise adoption.AdoptionRefused(vm=request.vm_id,
                                           reason='; '.join(reasons))
        adoption.check_record(request, vm.comment)
        adoption.check_flavor(request, instance.flavor, vcpus_of(vm),
                              memory_mb_of(vm))
        adoption.check_macs(request, network_info, macs_of(nics))
        self._check_profiles(request, network_info, nics)

    def _check_profiles(self, request, network_info, nics):
        """Each port's network maps to the profile its NIC already has."""
        by_mac = {n.mac.address.lower(): n for n in nics
                  if n.mac is not None and n.mac.address}
        for vif in network_info or []:
            nic = by_mac[vif['address'].lower()]
            wanted = self.pool.profile_id_for(vif)
            have = nic.vnic_profile.id if nic.vnic_profile else None
            if have != wanted:
                raise adoption.AdoptionRefused(
                    vm=request.vm_id,
                    reason='NIC %s is on vNIC profile %s but port %s maps '
                           'to profile %s' % (nic.name, have, vif['id'],
                                              wanted))

    def _mark(self, instance, request, vm):
        """One update: Nova's mark on, the token's record off."""
        update = types.Vm(description=vm_cache.mark(instance.uuid),
                          comment=adoption.strip_record(vm.comment))
        self.session.write(
            lambda system: self._vm_service(system, vm.id).update(
                update, query=ovirt_session.q()))
        self.vmops.cache.put_vm(self.session.read(
            lambda system: self._vm_service(system, vm.id).get()))


def adopt_if_requested(vmops, instance, network_info):
    """True when the boot was an adoption (done); False for a normal boot.

    The one hook of the spawn path: a boot that carries adoption metadata
    adopts or fails, it never creates a VM.
    """
    request = adoption.request_of(instance)
    if request is None:
        return False
    Adoption(vmops).adopt(instance, network_info, request)
    return True
