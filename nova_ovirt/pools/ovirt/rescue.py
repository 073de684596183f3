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

"""Rescue: boot the instance's VM from the rescue image, root disk kept.

As nova's libvirt driver does it: the rescue image's disk boots first, the
instance's own root disk stays attached (not bootable) so the rescue
system can repair it; NICs and the VM itself stay the same.

The rescue disk is a thin layer on the image's template disk (the image
cache makes the template once per image, so no image byte is copied). The
engine makes such layers only for a VM created from the template, and will
not let a template-based VM be removed with its disks kept (``Cannot
remove VM with detaching disks, VM is based from template``). So a short-
lived VM is created from the template, its disk detached (a disk without
snapshots may be), and the VM removed; the floating disk is marked
``nova-ovirt:rescue=<instance uuid>`` and attached to the instance's VM.
Unrescue removes that disk and makes the root disk bootable again.
"""

import uuid

from oslo_log import log as logging
from oslo_utils import excutils
import ovirtsdk4 as sdk
from ovirtsdk4 import types

from nova_ovirt.pools.ovirt import session as ovirt_session
from nova_ovirt.pools.ovirt import vmops as ovirt_vmops

LOG = logging.getLogger(__name__)

RESCUE_MARK = 'nova-ovirt:rescue='
BUILD_MARK = 'nova-ovirt:rescue-build='
MiB = 1024 ** 2


class Rescue(object):
    def __init__(self, pool):
        self.pool = pool
        self.vmops = pool.vmops
        self.session = pool.session

    def _vm_svc(self, system, vm_id):
        return system.vms_service().vm_service(vm_id)

    def _attachments(self, vm_id):
        return self.session.read(
            lambda system: self._vm_svc(system, vm_id)
            .disk_attachments_service().list(follow='disk'))

    def _set_bootable(self, vm_id, disk_id, bootable):
        self.session.read(
            lambda system: self._vm_svc(system, vm_id)
            .disk_attachments_service().attachment_service(disk_id).update(
                types.DiskAttachment(bootable=bootable),
                query=ovirt_session.q()))

    @staticmethod
    def _is_rescue(att, instance):
        return att.disk is not None and \
            att.disk.description == RESCUE_MARK + instance.uuid

    # -- rescue ------------------------------------------------------------

    def rescue(self, context, instance, image_meta, rescue_password):
        vm_id = self.vmops.vm_id(instance)
        vm = self.vmops.get_vm(vm_id)
        image_meta = self.pool.images.with_image_id(context, instance,
                                                    image_meta)
        # The template is made (if it must be) before the VM stops.
        self.pool.images.template_for(context, image_meta, vm.cluster.id)
        self.vmops.stop(vm_id)
        # A rescue that failed half way left its disk: start afresh.
        self._remove_rescue_disks(vm_id, instance)
        disk_id = self.pool.images.use_template(
            context, image_meta, vm.cluster.id,
            lambda template_id: self._thin_disk(instance, template_id,
                                                vm.cluster.id))
        root = None
        try:
            root = self.vmops.root_attachment(vm_id)
            if root is not None and root.bootable:
                self._set_bootable(vm_id, root.id, False)
            self.session.write(
                lambda system: self._vm_svc(system, vm_id)
                .disk_attachments_service().add(
                    types.DiskAttachment(
                        disk=types.Disk(id=disk_id), bootable=True,
                        active=True, interface=types.DiskInterface.VIRTIO),
                    query=ovirt_session.q()))
            # The rescue password reaches the rescue system through
            # cloud-init, for this run only (run once): the VM's own
            # initialization stays as it was.
            init = ovirt_vmops.initialization(instance, rescue_password)
            self.vmops.start(vm_id, use_cloud_init=init is not None,
                             run_once=types.Vm(initialization=init)
                             if init is not None else None)
        except Exception:
            with excutils.save_and_reraise_exception():
                LOG.warning('Rescue failed; putting the root disk back',
                            instance=instance)
                try:
                    self.vmops.stop(vm_id)
                    self._remove_disk(disk_id)
                    self._restore(vm_id, instance, root.id if root else None)
                except Exception as e:
                    LOG.warning('Could not undo the rescue: %s',
                                ovirt_session.fault_text(e),
                                instance=instance)

    def _thin_disk(self, instance, template_id, cluster_id):
        """A floating thin disk on the template's disk; its id."""
        build = self.session.write(
            lambda system: system.vms_service().add(
                types.Vm(name='nova-rescue-build-%s' % uuid.uuid4().hex[:12],
                         description=BUILD_MARK + instance.uuid,
                         cluster=types.Cluster(id=cluster_id),
                         template=types.Template(id=template_id),
                         memory=512 * MiB),
                clone=False, query=ovirt_session.q()))
        try:
            self.vmops.wait_status(build.id, (types.VmStatus.DOWN,),
                                   self.pool.spawn_timeout,
                                   'creating rescue disk VM %s' % build.id)
            atts = self._attachments(build.id)
            disk_id = ([a for a in atts if a.bootable] or atts)[0].id
            self.session.read(
                lambda system: self._vm_svc(system, build.id)
                .disk_attachments_service().attachment_service(disk_id)
                .remove(detach_only=True, query=ovirt_session.q()))
        finally:
            self._remove_build_vm(build.id)
        self.session.read(
            lambda system: system.disks_service().disk_service(disk_id)
            .update(types.Disk(alias='nova-rescue-%s' % instance.uuid,
                               description=RESCUE_MARK + instance.uuid),
                    query=ovirt_session.q()))
        return disk_id

    def _remove_build_vm(self, vm_id):
        try:
            self.vmops.wait_status(vm_id, (types.VmStatus.DOWN,),
                                   self.pool.spawn_timeout,
                                   'rescue disk VM %s unlock' % vm_id)
            self.session.read(lambda system: self._vm_svc(system, vm_id)
                              .remove(query=ovirt_session.q()))
        except sdk.NotFoundError:
            pass
        except Exception as e:
            LOG.warning('Could not remove rescue disk VM %s: %s', vm_id,
                        ovirt_session.fault_text(e))

    # -- unrescue ----------------------------------------------------------

    def unrescue(self, instance):
        vm_id = self.vmops.vm_id(instance)
        self.vmops.stop(vm_id)
        self._restore(vm_id, instance)
        self.vmops.start(vm_id)

    def _restore(self, vm_id, instance, root_id=None):
        """Rescue disks gone, the root disk bootable again."""
        self._remove_rescue_disks(vm_id, instance)
        if root_id is None:
            others = [a for a in self._attachments(vm_id)
                      if not self._is_rescue(a, instance)]
            root_id = others[0].id if others else None
        if root_id is not None:
            self._set_bootable(vm_id, root_id, True)

    def _remove_rescue_disks(self, vm_id, instance):
        for att in self._attachments(vm_id):
            if self._is_rescue(att, instance):
                self._remove_disk(att.id)

    def _remove_disk(self, disk_id):
        # Removing an attached disk detaches it too; the pool's disk
        # removal waits out a lock.
        self.pool.images._remove_disk(disk_id)
