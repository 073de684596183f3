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

"""Resize and cold migration.

Inside one engine the VM stays the same VM: it is stopped, an oVirt
snapshot (``nova-ovirt:resize``) keeps its configuration and disks for a
revert, then its cluster, CPUs and memory change while it is down and its
root disk grows. Confirm merges the snapshot away; revert restores it
(disk contents and sizes included, as nova's libvirt driver does with its
``_resize`` copy) and moves the VM back to its cluster.

Between pools (another engine, or a libvirt pool) the destination streams
the stopped source VM's root disk through ``open_root_disk_export`` into a
new disk and a new VM; the source VM stays, stopped, until confirm removes
it or revert starts it again. Towards a pool that offers ``open_warm_import``
(libvirt) the disk is pre-copied while the VM runs (warm.py), when its
disk can have incremental backups; such a move takes no resize
snapshot. Pools hand each other raw guest data: the
import is a ``raw`` image transfer into a sparse ``cow`` disk (imageio
writes the guest data into the qcow2 volume and sends zero ranges as zero
requests), and our export is a ``raw`` download, which imageio serves as
the guest's view of the disk whatever its format.
"""

import contextlib

from oslo_log import log as logging
from oslo_serialization import jsonutils
from ovirtsdk4 import types

from nova import exception as nova_exception

from nova_ovirt.pools.ovirt import backup as ovirt_backup
from nova_ovirt.pools.ovirt import cache as vm_cache
from nova_ovirt.pools.ovirt import session as ovirt_session
from nova_ovirt.pools.ovirt import snapshot as ovirt_snapshot
from nova_ovirt.pools.ovirt import vmops as ovirt_vmops
from nova_ovirt.pools.ovirt import warm as ovirt_warm

LOG = logging.getLogger(__name__)


class Migrations(object):
    def __init__(self, pool):
        self.pool = pool
        self.vmops = pool.vmops
        self.session = pool.session
        self.snapshots = pool.snapshots

    # -- source side -------------------------------------------------------

    def migrate_disk_and_power_off(self, instance, flavor, timeout,
                                   leaves_pool=False, open_warm_target=None):
        """Power off (after a warm pre-copy when open_warm_target, the
        destination's ``open_warm_import``, is given and the disk can).

        Only a move that changes this VM (a resize, or a move inside the
        engine) takes the resize snapshot that revert restores. A move to
        another pool (leaves_pool) copies the disk and leaves the VM as it
        was at the power-off until confirm removes it or revert starts it
        again: a snapshot would only lengthen the downtime.
        """
        vm_id = self.vmops.vm_id(instance)
        info = {'vm_id': vm_id}
        warm_copy = None
        if open_warm_target is not None:
            warm_copy = self._warm_copy(instance, vm_id, timeout,
                                        open_warm_target)
        if warm_copy is None:
            self.vmops.power_off(instance, timeout)
        else:
            info['warm'] = warm_copy
        if not leaves_pool and self.vmops.resize_snapshot(vm_id) is None:
            self.snapshots.create(vm_id, ovirt_vmops.RESIZE_MARK)
        return jsonutils.dumps(info)

    def _warm_copy(self, instance, vm_id, timeout, open_warm_target):
        """Pre-copy the root disk while the VM runs, then power it off;
        None when the move has to be cold (logged why)."""
        att = self.vmops.root_attachment(vm_id)
        vm = self.vmops.get_vm(vm_id)
        why = None
        if att is None:
            why = 'it has no disk'
        elif vm.status != types.VmStatus.UP:
            why = 'the VM is %s, not up' % vm.status.value
        else:
            why = ovirt_backup.incremental_refusal(att.disk)
        if why:
            LOG.info('Cold move of %(uuid)s (no warm pre-copy): %(why)s',
                     {'uuid': instance.uuid, 'why': why})
            return None
        size = att.disk.provisioned_size
        target = open_warm_target(size)
        stopped = []

        def power_off():
            self.vmops.power_off(instance, timeout)
            stopped.append(True)
        try:
            summary = ovirt_warm.WarmCopy(self.pool, vm_id, att.disk,
                                          target).run(power_off)
            target.close()
        except Exception as e:
            target.abort()
            if stopped:
                # Nothing moved: the server goes on where it was.
                self.vmops.start(vm_id)
            LOG.exception('Warm move of %s failed', instance.uuid)
            raise nova_exception.InstanceFaultRollback(
                nova_exception.ResizeError(
                    reason='warm copy of the root disk of %s failed: %s' % (
                        instance.uuid, ovirt_session.fault_text(e))))
        summary.update(scratch=target.name, size=size)
        LOG.info('Warm move of %(uuid)s: %(n)d rounds, %(copied)d bytes '
                 'copied in all, %(last)d during the cutover (%(dirty)d '
                 'dirty)', {'uuid': instance.uuid,
                            'n': len(summary['rounds']),
                            'copied': summary['copied'],
                            'last': summary['cutover_copied'],
                            'dirty': summary['cutover_dirty']})
        return summary

    def confirm(self, migration, instance):
        vm = self._source_vm(instance, migration)
        if vm is None:
            return
        # The VM moved inside this engine (to a node of this pool, or of
        # another service's pool on the same engine), or it stayed here
        # while another engine got a copy.
        moved = (migration.dest_node in self.pool.nodes() or
                 vm.cluster.id not in self.pool.cluster_ids())
        if moved:
            snap = self.vmops.resize_snapshot(vm.id)
            if snap is not None:
                self.snapshots.remove(vm.id, snap.id)
        else:
            # The instance lives in another pool now.
            self.vmops.remove_vm(vm.id, instance.uuid, raise_errors=True)

    def finish_revert(self, migration, instance, power_on):
        vm = self._source_vm(instance, migration)
        if vm is None:
            raise nova_exception.InstanceNotFound(
                instance_id=instance.uuid)
        self.vmops.stop(vm.id)
        snap = self.vmops.resize_snapshot(vm.id)
        if snap is not None:
            self._restore(vm.id, snap.id)
            self.snapshots.remove(vm.id, snap.id)
            vm = self.vmops.get_vm(vm.id)
        # nova has put the old flavor back on the instance. Restoring the
        # snapshot brings the VM's own configuration back (its topology and
        # memory policy, which an adopted VM chose itself): the flavor's
        # shape is set again only when the VM does not have it.
        change = types.Vm()
        if not ovirt_vmops.has_shape(vm, instance.flavor):
            change = types.Vm(**ovirt_vmops.vm_shape(instance.flavor))
        source_cluster = self.pool.cluster_id(migration.source_node)
        if vm.cluster.id != source_cluster:
            change.cluster = types.Cluster(id=source_cluster)
        if change.memory is not None or change.cluster is not None:
            self._update(vm.id, change)
        self.vmops.cache.invalidate()
        if power_on:
            self.vmops.start(vm.id)

    def _source_vm(self, instance, migration):
        """The VM in this pool's source cluster (a cross-engine move has
        another VM with the same mark in the other engine)."""
        vm = self.vmops.owned_vm(instance, any_cluster=True)
        return vm

    def _restore(self, vm_id, snap_id):
        self.session.write(
            lambda system: system.vms_service().vm_service(vm_id)
            .snapshots_service().snapshot_service(snap_id).restore(
                query=ovirt_session.q()))
        self.vmops.wait_status(vm_id, (types.VmStatus.DOWN,),
                               self.pool.spawn_timeout,
                               'restoring VM %s' % vm_id)

    # -- destination side --------------------------------------------------

    def finish(self, context, migration, instance, network_info,
               resize_instance, power_on, source_pool):
        if source_pool is None or source_pool is self.pool:
            self._finish_here(migration, instance, power_on)
        else:
            self._finish_import(context, migration, instance, network_info,
                                power_on, source_pool)

    def _update(self, vm_id, vm):
        return self.session.read(
            lambda system: system.vms_service().vm_service(vm_id).update(
                vm, query=ovirt_session.q()))

    def _finish_here(self, migration, instance, power_on):
        vm = self.vmops.owned_vm(instance, any_cluster=True)
        if vm is None:
            # From a node of another service that uses another engine:
            # only a shared engine lets services move servers.
            raise nova_exception.MigrationError(reason=(
                'server %s is not in the engine of pool %s: a cold '
                'migration from node %s of another nova-compute service '
                'needs both services on the same oVirt engine' % (
                    instance.uuid, self.pool.name, migration.source_node)))
        self.vmops.stop(vm.id)
        change = types.Vm(**ovirt_vmops.vm_shape(instance.flavor))
        dest_cluster = self.pool.cluster_id(migration.dest_node)
        if vm.cluster.id != dest_cluster:
            change.cluster = types.Cluster(id=dest_cluster)
        self._update(vm.id, change)
        self.vmops.grow_root_disk(vm.id, instance.flavor.root_gb)
        self.vmops.cache.invalidate()
        if power_on:
            self.vmops.start(vm.id)

    def _finish_import(self, context, migration, instance, network_info,
                       power_on, source_pool):
        cluster_id = self.pool.cluster_id(migration.dest_node)
        vm_id = None
        disk_id = None
        try:
            with source_pool.open_root_disk_export(instance) as export:
                disk_format, size, reader = export
                if disk_format != 'raw':
                    raise nova_exception.ResizeError(
                        reason='the source pool exported the root disk as '
                               '%s; pools exchange raw guest data only' %
                               disk_format)
                disk_id = self._import_disk(instance, size, reader)
            vm = self._vm_with_disk(instance, cluster_id, disk_id)
            vm_id, disk_id = vm.id, None   # the VM owns the disk now
            ovirt_vmops.record_vm_id(instance, self.pool.name, vm_id)
            self.vmops.grow_root_disk(vm_id, instance.flavor.root_gb)
            for vif in network_info or []:
                self.vmops.add_nic(vm_id, vif)
            if power_on:
                self.vmops.start(vm_id)
        except Exception as e:
            if vm_id is not None:
                self.vmops.remove_vm(vm_id, instance.uuid)
            if disk_id is not None:
                self.pool.images._remove_disk(disk_id)
            raise ovirt_session.translate(e, 'finish_migration',
                                          instance.uuid)

    def _import_disk(self, instance, size, reader):
        """A sparse qcow2 disk holding the raw guest data of reader.

        A raw transfer moves guest data whatever the disk's format, so
        the bytes land as what the guest sees (never a qcow2 header as
        guest data).
        """
        disk = self.session.write(
            lambda system: system.disks_service().add(
                types.Disk(name='nova-%s-root' % instance.uuid,
                           description=vm_cache.mark(instance.uuid),
                           format=types.DiskFormat.COW, sparse=True,
                           provisioned_size=size,
                           content_type=types.DiskContentType.DATA,
                           storage_domains=[types.StorageDomain(
                               id=self.pool.storage_domain_id)]),
                query=ovirt_session.q()))
        images = self.pool.images
        images._wait_disk(disk.id)
        images._upload(disk.id, types.DiskFormat.RAW, reader, size)
        images._wait_disk(disk.id)
        return disk.id

    def _vm_with_disk(self, instance, cluster_id, disk_id):
        vm = types.Vm(
            name=ovirt_vmops.vm_name(instance),
            description=vm_cache.mark(instance.uuid),
            cluster=types.Cluster(id=cluster_id),
            template=types.Template(name='Blank'),
            type=types.VmType.SERVER,
            **ovirt_vmops.vm_shape(instance.flavor))
        vm = self.session.write(
            lambda system: system.vms_service().add(
                vm, query=ovirt_session.q()))
        try:
            self.vmops.wait_status(vm.id, (types.VmStatus.DOWN,),
                                   self.pool.spawn_timeout,
                                   'creating VM %s' % vm.id)
            self.session.write(
                lambda system: system.vms_service().vm_service(vm.id)
                .disk_attachments_service().add(
                    types.DiskAttachment(
                        disk=types.Disk(id=disk_id), bootable=True,
                        active=True, interface=types.DiskInterface.VIRTIO),
                    query=ovirt_session.q()))
        except Exception:
            self.vmops.remove_vm(vm.id, instance.uuid)
            raise
        return vm

    # -- export for another pool -------------------------------------------

    @contextlib.contextmanager
    def open_root_disk_export(self, instance):
        vm_id = self.vmops.vm_id(instance)
        self.vmops.stop(vm_id)
        att = self.vmops.root_attachment(vm_id)
        size = att.disk.provisioned_size
        with ovirt_snapshot.download(self.pool.transfers, size,
                                     disk_id=att.disk.id) as reader:
            yield 'raw', size, reader
