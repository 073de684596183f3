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

"""Evacuation of a VM from a cluster whose nova-compute service is down.

Nova evacuates when the *service* of the old node is down (or forced
down), which says nothing about the VM: the engine still manages it, and
its HA keeps it running inside its cluster (it fences a host that stops
answering, through power management, before it restarts that host's HA
VMs on another host of the same cluster). A second copy would corrupt the
disks they share. So a VM moves only when the engine reports it ``down``:
the engine's word that it runs nowhere (a VM on a host that does not
answer is ``unknown`` or ``not_responding``, never ``down``). It then
moves to the destination cluster and starts there, the same VM with the
same disks; nothing is rebuilt from the image.

Refusals are an ``InstanceFaultRollback``: nova puts the server back in
its state (ACTIVE on the old node), marks the migration failed and shows
the reason in the server's fault.
"""

from oslo_log import log as logging
from ovirtsdk4 import types

from nova.compute import task_states
from nova import exception as nova_exception

from nova_ovirt.pools.ovirt import vmops as ovirt_vmops

LOG = logging.getLogger(__name__)


def _refuse(reason):
    raise nova_exception.InstanceFaultRollback(
        inner_exception=nova_exception.InstanceEvacuateNotSupported(
            message='Evacuation refused: %s' % reason))


class Evacuations(object):

    def __init__(self, pool):
        self.pool = pool
        self.vmops = pool.vmops
        self.session = pool.session

    def _cluster_name(self, cluster_id):
        try:
            return self.session.read(
                lambda system: system.clusters_service().cluster_service(
                    cluster_id).get()).name
        except Exception:
            return cluster_id

    def stopped_vm(self, instance):
        """The instance's VM in this pool's engine, if the engine reports
        it down; None if the engine has no such VM; refused otherwise."""
        vm = self.vmops.owned_vm(instance, any_cluster=True)
        if vm is None:
            return None
        if vm.status != types.VmStatus.DOWN:
            _refuse(
                'the oVirt engine reports VM %s %s in cluster %s: the '
                'nova-compute service of node %s is down, not the VM. The '
                'engine keeps managing it (its HA restarts VMs inside their '
                'cluster after fencing their host); a second copy elsewhere '
                'would share its disks. Live-migrate it while the engine '
                'runs it, or evacuate once the engine reports it down.' % (
                    vm.name, vm.status.value,
                    self._cluster_name(vm.cluster.id), instance.node))
        return vm

    def evacuate(self, context, instance, nodename, bdms,
                 detach_block_devices, attach_block_devices):
        """The stopped VM moves to cluster ``nodename`` and starts there."""
        vm = self.stopped_vm(instance)
        if vm is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        # The task states nova's own rebuild walks through.
        detach_block_devices(context, bdms)
        instance.task_state = task_states.REBUILD_BLOCK_DEVICE_MAPPING
        instance.save(expected_task_state=[task_states.REBUILDING])
        attach_block_devices(context, instance, bdms)
        instance.task_state = task_states.REBUILD_SPAWNING
        instance.save(
            expected_task_state=[task_states.REBUILD_BLOCK_DEVICE_MAPPING])
        cluster_id = self.pool.cluster_id(nodename)
        LOG.info('Evacuation: VM %s is down in the engine; moving it to '
                 'cluster %s and starting it there', vm.id, nodename,
                 instance=instance)
        if vm.cluster.id != cluster_id:
            self.session.read(
                lambda system: system.vms_service().vm_service(vm.id).update(
                    types.Vm(cluster=types.Cluster(id=cluster_id))))
        ovirt_vmops.record_vm_id(instance, self.pool.name, vm.id)
        self.pool.cache.invalidate()
        self.vmops.start(vm.id)
