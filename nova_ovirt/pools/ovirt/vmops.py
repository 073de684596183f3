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

"""Lifecycle of Nova's VMs on one engine.

Every VM is found through its ownership mark (``description``), never by
name, and cross-checked with the VM id recorded on Nova's side at spawn
(``instance.system_metadata``, which nova saves after spawn): the mark is
free text an engine admin can edit or copy (a cloned VM keeps it). Two VMs
carrying one instance's mark are a conflict: the driver changes neither,
logs both ids, and reports the recorded VM's state. A Nova VM whose mark
was edited away is still found by its recorded id.

Changing requests are not retried blindly: a VM add that may or may
not have reached the engine is looked for by its mark before it is tried
again. What a failed spawn created is removed before the error goes up,
with the engine's own reason in the message (nova records it as the
instance fault).
"""

import base64
import time

from oslo_log import log as logging
from oslo_utils import excutils
import ovirtsdk4 as sdk
from ovirtsdk4 import types

from nova.compute import power_state
from nova import exception as nova_exception
from nova.virt import hardware

from nova_ovirt import exception
from nova_ovirt import guest_config
from nova_ovirt.pools.ovirt import adopt as ovirt_adopt
from nova_ovirt.pools.ovirt import cache as vm_cache
from nova_ovirt.pools.ovirt import guest_settings
from nova_ovirt.pools.ovirt import session as ovirt_session
from nova_ovirt.pools.ovirt import vif as ovirt_vif
from nova_ovirt.pools.ovirt import volumeops

LOG = logging.getLogger(__name__)

MiB = 1024 ** 2
GiB = 1024 ** 3
S = types.VmStatus
RUNNING = (S.UP, S.POWERING_UP, S.REBOOT_IN_PROGRESS, S.MIGRATING,
           S.POWERING_DOWN, S.WAIT_FOR_LAUNCH, S.PAUSED, S.RESTORING_STATE,
           S.SAVING_STATE, S.NOT_RESPONDING)
# Statuses in which the engine refuses changes for a moment.
LOCKED = (S.IMAGE_LOCKED,)
RESIZE_MARK = 'nova-ovirt:resize'


#: system_metadata key of the engine VM id, per pool: a move between two
#: engines leaves the instance a VM in each until confirm.
VM_ID_KEY = 'nova_ovirt_vm_id:%s'


def _system_metadata(instance):
    if not hasattr(instance, 'obj_attr_is_set'):
        # Not a nova object (nova's driver test case passes database
        # rows): nothing recorded.
        return {}
    if not instance.obj_attr_is_set('system_metadata'):
        try:
            return instance.system_metadata     # lazy-loaded from nova's DB
        except nova_exception.NovaException:
            # An instance without a context (never saved) has none yet.
            instance.system_metadata = {}
    return instance.system_metadata


def recorded_vm_id(instance, pool_name):
    """The engine VM id Nova recorded for the instance in the pool."""
    return _system_metadata(instance).get(VM_ID_KEY % pool_name)


def record_vm_id(instance, pool_name, vm_id):
    """Record the instance's VM; nova saves the instance after spawn and
    after finish_migration."""
    _system_metadata(instance)[VM_ID_KEY % pool_name] = vm_id


def vm_name(instance):
    return instance.name or 'nova-%s' % instance.uuid


def cpu_topology(flavor):
    """sockets/cores/threads from hw:cpu_* extra specs, else one per vCPU."""
    vcpus = flavor.vcpus
    specs = flavor.extra_specs or {}

    def spec(name):
        try:
            return int(specs.get('hw:cpu_%s' % name) or 0)
        except ValueError:
            return 0
    cores, threads, sockets = spec('cores') or 1, spec('threads') or 1, \
        spec('sockets')
    if not sockets:
        sockets = max(1, vcpus // (cores * threads))
    if sockets * cores * threads != vcpus:
        sockets, cores, threads = vcpus, 1, 1
    return types.CpuTopology(sockets=sockets, cores=cores, threads=threads)


def vm_shape(flavor):
    """The parts of a Vm that a flavor decides."""
    memory = flavor.memory_mb * MiB
    return dict(
        memory=memory,
        # Guaranteed = memory: placement sold the whole amount.
        memory_policy=types.MemoryPolicy(guaranteed=memory, max=memory),
        cpu=types.Cpu(topology=cpu_topology(flavor)))


def has_shape(vm, flavor):
    """The VM has the flavor's vCPUs and memory (whatever its topology
    and memory policy)."""
    return (ovirt_adopt.vcpus_of(vm) == flavor.vcpus and
            vm.memory == flavor.memory_mb * MiB)


def initialization(instance, admin_password):
    """cloud-init data of the VM, or None when there is nothing to say."""
    user_data = None
    if instance.user_data:
        try:
            user_data = base64.b64decode(instance.user_data).decode('utf-8')
        except (ValueError, UnicodeDecodeError):
            LOG.warning('User data is not UTF-8 text; not passed to the '
                        'guest', instance=instance)
    if not (user_data or instance.key_data or admin_password
            or instance.hostname):
        return None
    return types.Initialization(
        host_name=instance.hostname or None,
        authorized_ssh_keys=instance.key_data or None,
        user_name='root' if instance.key_data or admin_password else None,
        root_password=admin_password or None,
        custom_script=user_data)


class VmOps(object):
    def __init__(self, pool):
        self.pool = pool
        self.session = pool.session
        self.cache = pool.cache

    # -- finding -----------------------------------------------------------

    def find_vm(self, instance_uuid, follow=None, recorded=None,
                any_cluster=False):
        """The Nova-owned VM of the instance, or None (search by mark).

        ``recorded``: the VM id Nova recorded at spawn; a marked VM with
        another id is a copy (OwnershipConflict), and the recorded VM is
        found by its id even when its mark was edited away.
        ``any_cluster``: look in every cluster of the engine, not only the
        pool's: a move between two nova-compute services that share the
        engine (doc/source/topology.rst).
        """
        vms = ovirt_session.as_list(self.session.read(
            lambda system: system.vms_service().list(
                search=vm_cache.find_search(instance_uuid), follow=follow)))
        ours = [v for v in vms if vm_cache.owner_of(v) == instance_uuid
                and v.cluster is not None
                and (any_cluster or v.cluster.id in self.pool.cluster_ids())]
        copies = [v for v in ours if recorded and v.id != recorded]
        if len(ours) > 1 or copies:
            self._conflict(instance_uuid, recorded, ours)
        if ours:
            return ours[0]
        if recorded:
            return self._recorded_vm(instance_uuid, recorded, follow,
                                     any_cluster)
        return None

    def _conflict(self, instance_uuid, recorded, vms):
        vm_ids = sorted(v.id for v in vms)
        LOG.error('Ownership conflict: engine VMs %s all carry the mark of '
                  'instance %s (Nova recorded VM %s); the driver changes '
                  'none of them until an engine administrator removes the '
                  'mark from the copies', ', '.join(vm_ids), instance_uuid,
                  recorded or 'none')
        raise exception.OwnershipConflict(
            instance=instance_uuid, count=len(set(vm_ids) | (
                {recorded} if recorded else set())),
            vm_ids=', '.join(sorted(set(vm_ids) | (
                {recorded} if recorded else set()))))

    def _recorded_vm(self, instance_uuid, vm_id, follow=None,
                     any_cluster=False):
        """The recorded VM when its mark is gone (edited by an admin)."""
        try:
            vm = self.get_vm(vm_id, follow=follow) if follow else \
                self.get_vm(vm_id)
        except sdk.NotFoundError:
            return None
        if vm.cluster is None or not (
                any_cluster or vm.cluster.id in self.pool.cluster_ids()):
            return None
        if vm_cache.owner_of(vm) != instance_uuid:
            LOG.warning('VM %s of instance %s lost its ownership mark '
                        '(description %r); it is still the instance\'s by '
                        'the id Nova recorded', vm.id, instance_uuid,
                        vm.description)
        return vm

    def owned_vm(self, instance, follow=None, any_cluster=False):
        """find_vm cross-checked with the id Nova recorded."""
        return self.find_vm(
            instance.uuid, follow=follow,
            recorded=recorded_vm_id(instance, self.pool.name),
            any_cluster=any_cluster)

    def vm_id(self, instance):
        """Id of the instance's VM, for an action on it; InstanceNotFound
        if there is none, OwnershipConflict if it has copies.

        Always one search, never the cache: an action must not reach a VM
        that is no longer (or not only) the instance's.
        """
        read_at = time.monotonic()
        vm = self.owned_vm(instance)
        if vm is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        self.cache.put_vm(vm, read_at=read_at)
        return vm.id

    def _svc(self, system, vm_id):
        return system.vms_service().vm_service(vm_id)

    def get_vm(self, vm_id, **kwargs):
        return self.session.read(
            lambda system: self._svc(system, vm_id).get(**kwargs))

    def wait_status(self, vm_id, statuses, timeout, what, failed=None):
        read_at = []

        def fetch():
            read_at.append(time.monotonic())
            return self.get_vm(vm_id)
        vm = ovirt_session.wait_for(
            fetch, lambda v: v.status in statuses, timeout, what,
            failed=failed)
        self.cache.put_vm(vm, read_at=read_at[-1])
        return vm

    def _action(self, vm_id, name, idempotent=True, **kwargs):
        def call(system):
            return getattr(self._svc(system, vm_id), name)(
                query=ovirt_session.q(), **kwargs)
        if idempotent:
            return self.session.read(call)
        return self.session.write(call)

    # -- spawn -------------------------------------------------------------

    def spawn(self, context, instance, image_meta, admin_password,
              network_info, power_on=True, block_device_info=None):
        if ovirt_adopt.adopt_if_requested(self, instance, network_info):
            return
        root_volume = volumeops.root_volume(block_device_info)
        if not image_meta.obj_attr_is_set('id') and root_volume is None:
            raise exception.BackendOperationFailed(
                operation='spawn', target=instance.uuid,
                reason='booting from a volume is not supported by oVirt '
                       'pools')
        if self.find_vm(instance.uuid) is not None:
            raise nova_exception.InstanceExists(name=instance.name)
        # Every port must have a profile before anything is created.
        for vif in network_info or []:
            self.pool.profile_id_for(vif)
        cluster_id = self.pool.cluster_id(instance.node)
        # Settings the engine cannot express fail here, before anything
        # exists; the fault names the property.
        guest = self.guest(instance, cluster_id, image_meta)
        vm_id = None
        try:
            init = initialization(instance, admin_password)

            def add_vm(template_id):
                return self._add_vm(instance, cluster_id, template_id, init,
                                    guest.vm_params)
            # A volume-backed server boots its root volume: no image.
            vm = add_vm(volumeops.BLANK_TEMPLATE_ID) if root_volume else \
                self.pool.images.use_template(context, image_meta,
                                              cluster_id, add_vm)
            vm_id = vm.id
            record_vm_id(instance, self.pool.name, vm_id)
            self.cache.put_vm(vm)
            down = self.wait_status(vm_id, (S.DOWN,),
                                    self.pool.spawn_timeout,
                                    'creating VM %s' % vm_id)
            if root_volume is None:
                # Each request is a round trip in a boot's chain: the root
                # attachment is read once, and only when it is to change.
                att = None
                if guest.disk_interface is not None or \
                        instance.flavor.root_gb:
                    att = self.root_attachment(vm_id)
                self.set_root_disk_interface(vm_id, guest.disk_interface, att)
                self.grow_root_disk(vm_id, instance.flavor.root_gb, att)
            self.pool.volumes.attach_block_devices(
                instance, block_device_info, guest.disk_interface)
            for vif in network_info or []:
                self.add_nic(vm_id, vif, guest.nic_interface)
            if power_on:
                self.start(vm_id, use_cloud_init=init is not None,
                           known=down)
        except Exception as e:
            with excutils.save_and_reraise_exception(reraise=False):
                LOG.error('Spawning failed: %s', ovirt_session.fault_text(e),
                          instance=instance)
            if vm_id is not None:
                self.remove_vm(vm_id, instance.uuid)
            raise ovirt_session.translate(e, 'spawn',
                                          self.pool.where(instance.node))

    def guest(self, instance, cluster_id, image_meta=None):
        """OvirtGuest: the flavor's and image's settings as VM parameters.

        :raises UnsupportedGuestProperty: naming what the engine cannot do
        """
        settings = guest_config.read(
            instance.flavor, guest_config.image_meta_of(instance, image_meta),
            instance.node)
        cluster = None
        if guest_settings.needs_cluster(settings):
            cluster = self.session.read(
                lambda system: system.clusters_service().cluster_service(
                    cluster_id).get())
        return guest_settings.resolve(settings, cluster, instance.node)

    def _add_vm(self, instance, cluster_id, template_id, init,
                guest_params=None):
        shape = vm_shape(instance.flavor)
        # The image's and flavor's settings, topology included, win over
        # the flavor's plain shape.
        shape.update(guest_params or {})
        vm = types.Vm(
            name=vm_name(instance),
            description=vm_cache.mark(instance.uuid),
            comment='Nova instance %s' % (instance.display_name or ''),
            cluster=types.Cluster(id=cluster_id),
            template=types.Template(id=template_id),
            type=types.VmType.SERVER,
            initialization=init,
            **shape)

        def add(system):
            return system.vms_service().add(
                vm, clone=False, query=ovirt_session.q())
        try:
            return self.session.write(add)
        except sdk.Error as e:
            # Did the first attempt reach the engine? The mark tells.
            found = self._first_attempt(instance, e)
            if found is not None:
                return found
            if ovirt_session.is_conflict(e) and 'name' in \
                    ovirt_session.fault_text(e).lower():
                # An operator VM has the name: ours goes by the UUID.
                vm.name = 'nova-%s' % instance.uuid
            elif not ovirt_session.retryable(e):
                raise
            return self.session.write(add)

    def _first_attempt(self, instance, error):
        if not (ovirt_session.retryable(error)
                or ovirt_session.is_conflict(error)):
            return None
        try:
            return self.find_vm(instance.uuid)
        except sdk.Error:
            # Whether the first attempt arrived is unknown: another add
            # could make a second VM for the instance. Fail with the
            # first error; nova's destroy finds a VM that did arrive.
            raise error

    def root_attachment(self, vm_id):
        atts = self.session.read(
            lambda system: self._svc(system, vm_id)
            .disk_attachments_service().list(follow='disk'))
        boot = [a for a in atts if a.bootable] or atts
        return boot[0] if boot else None

    def set_root_disk_interface(self, vm_id, interface, att=None):
        """The root disk on the bus the image asks for (hw_disk_bus)."""
        if interface is None:
            return
        att = att or self.root_attachment(vm_id)
        if att is None or att.interface == interface:
            return
        self.session.read(
            lambda system: self._svc(system, vm_id).disk_attachments_service()
            .attachment_service(att.id).update(
                types.DiskAttachment(interface=interface),
                query=ovirt_session.q()))

    def grow_root_disk(self, vm_id, root_gb, att=None):
        """Root disk up to root_gb (never shrunk: data would be lost)."""
        wanted = (root_gb or 0) * GiB
        if not wanted:
            return
        att = att or self.root_attachment(vm_id)
        if att is None or att.disk is None:
            return
        disk = att.disk
        if (disk.provisioned_size or 0) >= wanted:
            return
        update = types.DiskAttachment(
            disk=types.Disk(id=disk.id, provisioned_size=wanted))
        self.session.read(
            lambda system: self._svc(system, vm_id).disk_attachments_service()
            .attachment_service(att.id).update(
                update, query=ovirt_session.q()))
        ovirt_session.wait_for(
            lambda: self.session.read(
                lambda system: system.disks_service().disk_service(
                    disk.id).get()),
            lambda d: d.status == types.DiskStatus.OK,
            self.pool.spawn_timeout, 'resizing disk %s' % disk.id)

    def add_nic(self, vm_id, vif, interface=None):
        profile_id = self.pool.profile_id_for(vif)
        nic = ovirt_vif.nic_for(vif, profile_id)
        if interface is not None:
            nic.interface = interface  # the image's hw_vif_model

        def add(system):
            return self._svc(system, vm_id).nics_service().add(
                nic, query=ovirt_session.q())
        try:
            return self.session.write(add)
        except sdk.Error as e:
            # The NIC name is per port: a retried add finds its first try.
            if ovirt_session.retryable(e) or ovirt_session.is_conflict(e):
                existing = self.find_nic(vm_id, vif)
                if existing is not None:
                    return existing
            raise

    def find_nic(self, vm_id, vif):
        nics = self.session.read(
            lambda system: self._svc(system, vm_id).nics_service().list())
        mac = (vif.get('address') or '').lower()
        for nic in nics:
            if nic.name == ovirt_vif.nic_name(vif) or (
                    nic.mac is not None and nic.mac.address
                    and nic.mac.address.lower() == mac):
                return nic
        return None

    # -- power -------------------------------------------------------------

    def start(self, vm_id, use_cloud_init=False, timeout=None,
              run_once=None, known=None):
        """Start and wait for up; run_once: a Vm with settings for this
        run only (the engine's "run once"); known: the VM as just read
        (saves a round trip)."""
        vm = known or self.get_vm(vm_id)
        if vm.status not in (S.UP, S.POWERING_UP, S.WAIT_FOR_LAUNCH):
            self._action(vm_id, 'start', idempotent=False,
                         use_cloud_init=use_cloud_init or None, vm=run_once)
        seen = {'left_down': False}

        def failed(v):
            if v.status != S.DOWN:
                seen['left_down'] = True
            elif seen['left_down']:
                return 'the VM went down while starting'
            return None
        return self.wait_status(vm_id, (S.UP,),
                                timeout or self.pool.spawn_timeout,
                                'starting VM %s' % vm_id, failed=failed)

    def stop(self, vm_id, timeout=None):
        """Power off now (idempotent); waits for down."""
        vm = self.get_vm(vm_id)
        if vm.status == S.DOWN:
            self.cache.put_vm(vm)
            return vm
        if vm.status in LOCKED:
            vm = self.wait_status(vm_id, (S.DOWN,),
                                  timeout or self.pool.spawn_timeout,
                                  'VM %s unlock' % vm_id)
            return vm
        try:
            self._action(vm_id, 'stop')
        except sdk.Error as e:
            # "VM is not running": it went down meanwhile, which is fine.
            if not ovirt_session.is_conflict(e):
                raise
        return self.wait_status(vm_id, (S.DOWN,),
                                timeout or self.pool.spawn_timeout,
                                'stopping VM %s' % vm_id)

    def power_off(self, instance, timeout=0):
        """Clean shutdown for up to timeout seconds, then power off."""
        vm_id = self.vm_id(instance)
        if timeout:
            vm = self.get_vm(vm_id)
            if vm.status in (S.UP, S.POWERING_UP, S.REBOOT_IN_PROGRESS):
                try:
                    self._action(vm_id, 'shutdown')
                    self.wait_status(vm_id, (S.DOWN,), timeout,
                                     'shutting down VM %s' % vm_id)
                    return
                except (sdk.Error, ovirt_session.WaitTimeout) as e:
                    LOG.info('Clean shutdown did not finish (%s); powering '
                             'off', ovirt_session.fault_text(e),
                             instance=instance)
        self.stop(vm_id)

    def reboot(self, instance, reboot_type):
        vm_id = self.vm_id(instance)
        vm = self.get_vm(vm_id)
        if reboot_type == 'SOFT' and vm.status == S.UP:
            self._action(vm_id, 'reboot', idempotent=False)
            self.wait_status(vm_id, (S.UP,), self.pool.spawn_timeout,
                             'rebooting VM %s' % vm_id)
            return
        # Hard reboot, or a VM that is not up: power cycle.
        self.stop(vm_id)
        self.start(vm_id)

    def suspend(self, instance):
        vm_id = self.vm_id(instance)
        self._action(vm_id, 'suspend', idempotent=False)
        self.wait_status(vm_id, (S.SUSPENDED,), self.pool.spawn_timeout,
                         'suspending VM %s' % vm_id)

    def resume(self, instance):
        self.start(self.vm_id(instance))

    # -- destroy -----------------------------------------------------------

    def destroy(self, instance, keep_for_revert=False, keep_disks=False):
        """Stop and remove the instance's VM; a VM already gone is fine.

        Only the VM that is the instance's by its mark and by the id Nova
        recorded: never a copy an engine admin made (OwnershipConflict).
        keep_disks is nova's ``destroy_disks=False``: the VM goes, its
        disks stay in the engine, marked with the instance, for a later
        cleanup (or a rebuild from them) to find.
        """
        vm = self.owned_vm(instance)
        if vm is None:
            self.cache.drop(instance.uuid)
            return
        if keep_for_revert and self.resize_snapshot(vm.id) is not None:
            # nova destroys the "destination" before a same-engine revert;
            # here both are one VM, which the revert needs.
            self.stop(vm.id)
            return
        if keep_disks:
            self.detach_disks(vm.id, instance.uuid)
        self.remove_vm(vm.id, instance.uuid, raise_errors=True)

    def detach_disks(self, vm_id, instance_uuid):
        """Mark the VM's disks with the instance, then detach them.

        The engine refuses ``remove(detach_only=True)`` for a thin clone of
        a template, but detaches its disks one by one; a detached thin
        disk keeps the template it rests on in use.
        """
        self.stop(vm_id)
        atts = self.session.read(
            lambda system: self._svc(system, vm_id)
            .disk_attachments_service().list())
        for att in atts:
            def svc(system, att_id=att.id):
                return self._svc(system, vm_id).disk_attachments_service() \
                    .attachment_service(att_id)
            self.session.read(lambda system: svc(system).update(
                types.DiskAttachment(disk=types.Disk(
                    description=vm_cache.mark(instance_uuid))),
                query=ovirt_session.q()))
            ovirt_session.wait_for(
                lambda: self._try_detach(svc), bool,
                self.pool.spawn_timeout, 'detaching disk %s' % att.id)
        LOG.info('Kept %d disk(s) of VM %s in the engine (destroy_disks is '
                 'False)', len(atts), vm_id)

    def _try_detach(self, svc):
        try:
            self.session.read(lambda system: svc(system).remove(
                detach_only=True, query=ovirt_session.q()))
        except sdk.NotFoundError:
            return True
        except sdk.Error as e:
            if ovirt_session.is_locked(e):
                return False
            raise
        return True

    def kept_disks(self, instance_uuid):
        """Disks of the instance that no VM holds (see keep_disks)."""
        disks = self.session.read(
            lambda system: system.disks_service().list(
                search='description="%s"' % vm_cache.mark(instance_uuid)))
        return [d for d in ovirt_session.as_list(disks)
                if d.description == vm_cache.mark(instance_uuid)]

    def cleanup(self, instance, destroy_disks=True):
        """Remove what a failed or disk-keeping destroy left behind."""
        self.destroy(instance, keep_disks=not destroy_disks)
        if not destroy_disks:
            return
        for disk in self.kept_disks(instance.uuid):
            ovirt_session.wait_for(
                lambda disk_id=disk.id: ovirt_session.try_remove(
                    self.session,
                    lambda system: system.disks_service().disk_service(
                        disk_id)),
                bool, self.pool.spawn_timeout, 'removing disk %s' % disk.id)
            LOG.info('Removed disk %s left by an earlier destroy', disk.id,
                     instance=instance)

    def remove_vm(self, vm_id, instance_uuid, raise_errors=False):
        """Stop, wait for unlock, remove with disks."""
        try:
            self.stop(vm_id)
            ovirt_session.wait_for(
                lambda: self._try_remove(vm_id), bool,
                self.pool.spawn_timeout, 'removing VM %s' % vm_id)
        except sdk.NotFoundError:
            pass
        except Exception as e:
            if raise_errors:
                raise ovirt_session.translate(e, 'destroy', instance_uuid)
            LOG.warning('Could not remove VM %s: %s', vm_id,
                        ovirt_session.fault_text(e))
            return
        self.cache.drop(instance_uuid)

    def _try_remove(self, vm_id):
        """True once removed; False while the engine says it is locked."""
        return ovirt_session.try_remove(
            self.session, lambda system: self._svc(system, vm_id))

    # -- info --------------------------------------------------------------

    def info(self, instance, use_cache=True):
        """Power state from the cache; ``use_cache=False`` reads the one VM.

        nova asks without the cache for each instance it finds stopped
        unexpectedly: that is one ``GET /vms/{id}`` (shared by concurrent
        callers), never a listing. An instance whose VM was seen gone
        costs nothing until it shows up again. The VM Nova recorded at
        spawn wins over a copy with the same mark; two marked VMs are a
        conflict, reported without changing anything.
        """
        recorded = recorded_vm_id(instance, self.pool.name)
        try:
            rec = self._info_record(instance.uuid, use_cache, recorded)
        except exception.OwnershipConflict:
            return self._conflict_info(recorded)
        if rec is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        return hardware.InstanceInfo(
            state=vm_cache.to_power_state(rec.status, rec.crashed),
            internal_id=rec.id)

    def _info_record(self, instance_uuid, use_cache, recorded):
        def find(uuid):
            return self.find_vm(uuid, recorded=recorded)
        if not use_cache or self.cache.ttl == 0:
            rec = self.cache.reload(instance_uuid, find)
        else:
            rec = self.cache.get(instance_uuid)
            if rec is None and not self.cache.gone(instance_uuid):
                # Maybe created after the last listing: ask once for it.
                rec = self.cache.reload(instance_uuid, find)
        if recorded and (rec is None or rec.id != recorded):
            # The listing's VM is a copy with the same mark, or the
            # recorded VM lost its mark (an admin edited it): search.
            read_at = time.monotonic()
            vm = find(instance_uuid)
            rec = None if vm is None else (
                self.cache.put_vm(vm, read_at=read_at)
                or vm_cache.record_of(vm))
        return rec

    def _conflict_info(self, recorded):
        """The state of the VM Nova recorded, read and changed nothing;
        NOSTATE without one (nova's power sync then leaves it alone)."""
        if recorded:
            try:
                vm = self.get_vm(recorded)
                return hardware.InstanceInfo(
                    state=vm_cache.to_power_state(vm.status),
                    internal_id=vm.id)
            except sdk.NotFoundError:
                pass
        return hardware.InstanceInfo(state=power_state.NOSTATE)

    # -- interfaces --------------------------------------------------------

    def attach_interface(self, instance, vif, image_meta=None):
        vm_id = self.vm_id(instance)
        guest = self.guest(instance, self.pool.cluster_id(instance.node),
                           image_meta)
        self.add_nic(vm_id, vif, guest.nic_interface)

    def detach_interface(self, instance, vif):
        vm_id = self.vm_id(instance)
        nic = self.find_nic(vm_id, vif)
        if nic is None:
            return

        def nic_svc(system):
            return self._svc(system, vm_id).nics_service().nic_service(
                nic.id)
        if nic.plugged:
            # A plugged NIC of a running VM cannot be removed.
            self.session.read(lambda system: nic_svc(system).deactivate(
                query=ovirt_session.q()))
        try:
            self.session.read(lambda system: nic_svc(system).remove(
                query=ovirt_session.q()))
        except sdk.NotFoundError:
            pass

    # -- resize ------------------------------------------------------------

    def resize_snapshot(self, vm_id):
        snaps = self.session.read(
            lambda system: self._svc(system, vm_id).snapshots_service().list())
        for s in snaps:
            if s.description == RESIZE_MARK:
                return s
        return None

    def power_state(self, vm_id):
        return vm_cache.to_power_state(self.get_vm(vm_id).status)
