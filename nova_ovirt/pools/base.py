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

"""The contract every pool backend implements.

A pool is a named set of Nova nodes served by one backend (the clusters of
one oVirt engine, or a list of libvirt hosts). The driver facade resolves
the node of each call and hands it to the pool that owns the node; the pool
does the work. Method arguments follow nova's ComputeDriver, so that a
reader who knows nova knows the contract.

Rules every backend keeps:

* Ownership: a pool lists, changes and deletes only guests that Nova
  created, recognised by the Nova instance UUID the pool recorded on them.
  Guests of anyone else are invisible.
* Static configuration errors raise :class:`PoolConfigError` from
  ``__init__``; a backend that cannot be reached at ``start`` only makes
  its nodes unavailable (and logs why), it never stops the service.
* Methods may be called from several threads at once.
"""

import abc

from nova import exception as nova_exception
import os_traits

from nova_ovirt import connection_info as cinfo
from nova_ovirt import exception


class VolumesNotSupported(nova_exception.NovaException):
    msg_fmt = ('Pool %(pool)s (%(backend)s backend) cannot attach Cinder '
               'volumes yet: %(operation)s of volume %(volume_id)s refused')


class Pool(metaclass=abc.ABCMeta):
    """A named set of Nova nodes behind one backend."""

    #: oslo.config options of the backend, registered in the pool's group.
    OPTS = []
    #: The option that lists the pool's nodes, named in configuration errors.
    NODES_OPTION = None

    def __init__(self, name, conf, host, event_queue):
        """Check the configuration; connect nothing yet.

        :param name: the pool's name from ``[ovirt] pools``
        :param conf: the pool's option group (``CONF['ovirt_pool:<name>']``)
        :param host: nova-compute's ``CONF.host``
        :param event_queue: :class:`nova_ovirt.events.EventQueue` that takes
            nova ``LifecycleEvent`` objects for the compute manager
        """
        self.name = name
        self.conf = conf
        self.host = host
        self.event_queue = event_queue

    @property
    def group_name(self):
        return 'ovirt_pool:%s' % self.name

    @property
    def pool_trait(self):
        """Trait a flavor requires to land in this pool."""
        return os_traits.normalize_name('OVIRT_POOL_%s' % self.name)

    # -- nodes -------------------------------------------------------------

    @abc.abstractmethod
    def nodes(self):
        """Return {nodename: node_uuid}, stable across restarts."""

    def start(self):
        """Connect to the backend and start background work."""

    def stop(self):
        """Stop background work and close connections."""

    def node_is_available(self, nodename):
        return True

    @abc.abstractmethod
    def get_available_resource(self, nodename):
        """Return nova's resources dict for the node (see ComputeDriver)."""

    @abc.abstractmethod
    def get_inventory(self, nodename):
        """Return {resource class: {'total', 'max_unit', ...}} of the node.

        Allocation ratios and reserved amounts are added by the driver from
        nova's configuration; a pool reports what the hardware has.
        """

    def read_maintenance(self):
        """{node: maintenance mark or None} (nova-ovirt-manage host list).

        Only pools whose nodes the operator marks through this driver have
        marks; the others return {}.
        """
        return {}

    def set_maintenance(self, nodename, on, reason=None):
        """Take a node out of scheduling (on) or back; see the backends."""
        raise exception.MaintenanceNotSupported(
            nodename=nodename, pool=self.name,
            reason='its nodes follow the state of their hosts in the '
                   'backend (oVirt: put the host in maintenance in the '
                   'engine; the cluster node shrinks by itself)')

    # -- evacuation from shared storage ------------------------------------

    def instance_on_disk(self, instance):
        """Whether the instance's disks are reachable here (evacuation)."""
        return False

    def check_instance_shared_storage_local(self, context, instance):
        """nova's shared-storage check, old host's side: data or None."""
        raise NotImplementedError()

    def check_instance_shared_storage_remote(self, context, data):
        """nova's shared-storage check, the other side: True if shared."""
        return False

    def check_instance_shared_storage_cleanup(self, context, data):
        """Remove what check_instance_shared_storage_local left."""

    def node_traits(self, nodename):
        """Traits of the node beyond the capability and pool traits."""
        return set()

    def shared_inventory(self, nodename):
        """Storage the node shares with other nodes, as placement models it.

        A list of :class:`nova_ovirt.placement.SharedStorage`, each offered
        once through a sharing provider in an aggregate with every node that
        uses it. Nodes with only their own storage return [] (the default).
        """
        return []

    # -- instances ---------------------------------------------------------

    @abc.abstractmethod
    def list_instance_uuids(self):
        """UUIDs of the Nova-owned guests on all nodes of the pool."""

    def list_instances(self):
        """Names of the Nova-owned guests (nova wants names here)."""
        return self.list_instance_uuids()

    def instance_exists(self, instance):
        return instance.uuid in self.list_instance_uuids()

    @abc.abstractmethod
    def get_info(self, instance, use_cache=True):
        """Return nova.virt.hardware.InstanceInfo of the instance."""

    @abc.abstractmethod
    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        pass

    @abc.abstractmethod
    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        pass

    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True):
        """Remove what is left of a guest that destroy already stopped."""

    @abc.abstractmethod
    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None, share_info=None):
        pass

    @abc.abstractmethod
    def power_off(self, instance, timeout=0, retry_interval=0):
        pass

    @abc.abstractmethod
    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None, share_info=None):
        pass

    def pause(self, instance):
        raise NotImplementedError()

    def unpause(self, instance):
        raise NotImplementedError()

    def suspend(self, context, instance):
        raise NotImplementedError()

    def resume(self, context, instance, network_info,
               block_device_info=None, share_info=None):
        raise NotImplementedError()

    def resume_state_on_host_boot(self, context, instance, network_info,
                                  share_info, block_device_info=None):
        raise NotImplementedError()

    def snapshot(self, context, instance, image_id, update_task_state):
        raise NotImplementedError()

    def rescue(self, context, instance, network_info, image_meta,
               rescue_password, block_device_info, share_info):
        raise NotImplementedError()

    def unrescue(self, context, instance):
        raise NotImplementedError()

    def rebuild(self, context, instance, image_meta, injected_files,
                admin_password, allocations, bdms, detach_block_devices,
                attach_block_devices, network_info=None, evacuate=False,
                block_device_info=None, preserve_ephemeral=False,
                accel_uuids=None, reimage_boot_volume=False):
        """Rebuild in place; NotImplementedError lets nova destroy+spawn."""
        raise NotImplementedError()

    def check_can_evacuate(self, context, instance):
        """Refuse an evacuation (rebuild elsewhere) the backend must not do.

        Nova evacuates when the source service is down, not the guest: a
        backend that cannot tell that the old guest is gone refuses.
        """
        raise nova_exception.InstanceEvacuateNotSupported(
            message='Pool %s (backend %s) does not evacuate: it cannot '
                    'make sure that the guest is not still running on the '
                    'old node.' % (self.name, type(self).__name__))

    def attach_interface(self, context, instance, image_meta, vif):
        raise NotImplementedError()

    def detach_interface(self, context, instance, vif):
        raise NotImplementedError()

    def plug_vifs(self, instance, network_info):
        pass

    def unplug_vifs(self, instance, network_info):
        pass

    def get_console_output(self, context, instance):
        raise NotImplementedError()

    def get_volume_connector(self, instance):
        """What Cinder needs to export a volume to the instance's node."""
        return None

    def _no_volumes(self, operation, connection_info):
        return VolumesNotSupported(
            pool=self.name, backend=type(self).__name__,
            operation=operation,
            volume_id=cinfo.volume_id_of(connection_info))

    def attach_volume(self, context, connection_info, instance, mountpoint,
                      disk_bus=None, device_type=None, encryption=None):
        raise NotImplementedError(str(self._no_volumes('attach',
                                                       connection_info)))

    def detach_volume(self, context, connection_info, instance, mountpoint,
                      encryption=None):
        raise NotImplementedError(str(self._no_volumes('detach',
                                                       connection_info)))

    def extend_volume(self, context, connection_info, instance,
                      requested_size):
        raise NotImplementedError(str(self._no_volumes('extend',
                                                       connection_info)))

    #: Why the backend cannot swap an attached volume for another.
    SWAP_VOLUME_REFUSAL = 'this pool cannot swap Cinder volumes'

    def swap_volume(self, context, old_connection_info, new_connection_info,
                    instance, mountpoint, resize_to):
        # getattr: the support matrix calls this default on a bare object
        # to learn that it raises NotImplementedError.
        raise NotImplementedError(getattr(self, 'SWAP_VOLUME_REFUSAL', None))

    def get_vnc_console(self, context, instance):
        raise NotImplementedError()

    # -- moves -------------------------------------------------------------
    # Nova calls the source side (migrate_disk_and_power_off) without the
    # destination node and the destination side (finish_migration) with the
    # migration record. The driver passes both pools to the destination so
    # that a move inside one pool stays native and a move between pools can
    # stream the disk through the generic export/import methods below.

    #: The source side can pre-copy a running guest's root disk into
    #: another pool (a warm move): migrate_disk_and_power_off then takes
    #: ``open_warm_target``.
    warm_export = False
    #: The destination side offers ``open_warm_import``.
    warm_import = False

    def migrate_disk_and_power_off(self, context, instance, dest, flavor,
                                   network_info, block_device_info=None,
                                   timeout=0, retry_interval=0,
                                   dest_node=None, leaves_pool=False):
        """dest_node: the destination node from nova's migration record
        (None when unknown; nova passes only the destination's address).
        leaves_pool: the destination is another pool of this service,
        which copies the disks; the source stays as it is until confirm
        removes it or revert starts it again."""
        raise NotImplementedError()

    def open_warm_import(self, nodename, instance, size):
        """The target a warm move from another pool writes the root disk
        into (``write(offset, data)``, ``zero(offset, length)``, ``close()``,
        ``abort()``, ``name``); finish_migration finds it by the disk_info
        of the source."""
        raise NotImplementedError()

    def finish_migration(self, context, migration, instance, disk_info,
                         network_info, image_meta, resize_instance,
                         allocations, block_device_info=None, power_on=True,
                         source_pool=None):
        raise NotImplementedError()

    def confirm_migration(self, context, migration, instance, network_info):
        raise NotImplementedError()

    def finish_revert_migration(self, context, instance, network_info,
                                migration, block_device_info=None,
                                power_on=True):
        raise NotImplementedError()

    def open_root_disk_export(self, instance):
        """Open the stopped guest's root disk for reading by another pool.

        Returns a context manager yielding ``(disk_format, virtual_size,
        reader)`` where ``reader.read(n)`` streams the disk's bytes. Pools
        exchange ``raw`` guest data (what the guest sees, whatever the
        format at rest); the importing pool converts it to its own format.
        """
        raise NotImplementedError()

    # -- live migration ----------------------------------------------------
    # Nova runs the checks and preparation on the destination service and
    # the migration on the source service (always two services: nova's
    # conductor refuses a live migration to the source's own host). A
    # backend without live migration refuses at the first check, with the
    # reason nova shows to the operator.

    def _refuse_live_migration(self):
        raise nova_exception.MigrationPreCheckError(
            reason='pool %s (backend %s) does not support live migration'
                   % (self.name, type(self).__name__))

    def check_can_live_migrate_destination(self, context, instance, nodename,
                                           block_migration,
                                           disk_over_commit):
        self._refuse_live_migration()

    def check_can_live_migrate_source(self, context, instance, data):
        self._refuse_live_migration()

    def owns_live_migration(self, migrate_data):
        """True if migrate_data names a node of this pool as destination."""
        return False

    def cleanup_live_migration_destination_check(self, context, data):
        raise NotImplementedError()

    def get_instance_disk_info(self, instance):
        raise NotImplementedError()

    def pre_live_migration(self, context, instance, network_info, disk_info,
                           data, block_device_info=None):
        raise NotImplementedError()

    def live_migration(self, context, instance, dest, post_method,
                       recover_method, block_migration, data):
        raise NotImplementedError()

    def live_migration_abort(self, instance):
        raise NotImplementedError()

    def live_migration_force_complete(self, instance):
        raise NotImplementedError()

    def post_live_migration(self, context, instance):
        """Source-side cleanup once the guest runs on the destination."""

    def post_live_migration_at_destination(self, context, instance):
        raise NotImplementedError()

    def rollback_live_migration_at_destination(self, context, instance,
                                               destroy_disks, data):
        raise NotImplementedError()

    # -- housekeeping ------------------------------------------------------

    def get_host_ip_addr(self):
        return None

    def manage_image_cache(self, context, all_instances):
        pass
