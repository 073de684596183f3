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

"""OvirtDriver: nova's view of every configured pool.

A thin facade. Each pool (oVirt engine or libvirt hosts) owns a set of Nova
nodes; every call is routed to the pool owning the node of the instance (or
the node nova names) and the pool does the work. Loaded by nova as
``compute_driver = ovirt.OvirtDriver`` through the nova/virt/ovirt shim.
"""

import functools

from oslo_concurrency import processutils
from oslo_log import log as logging

import nova.conf
from nova.compute import task_states
from nova import exception as nova_exception
from nova import objects
import nova.virt.node
from nova.virt import driver

from nova_ovirt import conf as ovirt_conf
from nova_ovirt import events
from nova_ovirt import exception
from nova_ovirt import placement
from nova_ovirt import pools as pool_loader

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

ovirt_conf.register_opts(CONF)


class OvirtDriver(driver.ComputeDriver):
    """Nova compute driver for oVirt clusters and libvirt hosts."""

    capabilities = dict(
        driver.ComputeDriver.capabilities,
        has_imagecache=True,
        supports_attach_interface=True,
        # Every node of this service shares its host name, so a move
        # between two pools is a "same host" move for nova.
        supports_migrate_to_same_host=True,
        supports_image_type_qcow2=True,
        supports_image_type_raw=True,
        supports_extend_volume=True,
        # Pools decide per guest (see Pool.check_can_evacuate).
        supports_evacuate=True,
    )

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi)
        self._events = events.EventQueue(self.emit_event)
        self._pools = pool_loader.load_pools(CONF, CONF.host, self._events)
        self._node_pool = {}
        self._node_uuids = {}
        self._map_nodes()

    # -- nodes and routing -------------------------------------------------

    def _map_nodes(self):
        """Index nodes by name and uuid; two nodes may not share a name."""
        node_pool, node_uuids = {}, {}
        for pool in self._pools.values():
            for nodename, node_uuid in pool.nodes().items():
                other = node_pool.get(nodename)
                if other is not None:
                    raise exception.PoolConfigError(
                        pool.group_name, pool.NODES_OPTION, nodename,
                        'node name already used by pool %s; node names '
                        'must be unique' % other.name)
                node_pool[nodename] = pool
                node_uuids[node_uuid] = nodename
        self._node_pool, self._node_uuids = node_pool, node_uuids

    def _pool_of_node(self, nodename):
        try:
            return self._node_pool[nodename]
        except KeyError:
            raise exception.NodeNotFound(nodename=nodename)

    def _pool_of(self, instance):
        """The pool owning the instance's node.

        An instance whose node is unset (a build that failed before its
        claim) or unknown is looked for in every pool.
        """
        pool = self._node_pool.get(instance.node)
        if pool is not None:
            return pool
        for pool in self._pools.values():
            if pool.instance_exists(instance):
                return pool
        raise nova_exception.InstanceNotFound(instance_id=instance.uuid)

    def _pool_of_allocations(self, allocations):
        """The pool of this service's node among the instance's providers.

        An evacuated instance still names its old node (of another
        service) until the rebuild ends; its allocations name both.
        """
        for provider_uuid in allocations or {}:
            nodename = self._node_uuids.get(provider_uuid)
            if nodename is not None:
                return self._node_pool[nodename]
        raise exception.NodeNotFound(
            nodename='(none of this service among %s)' % sorted(
                allocations or {}))

    def init_host(self, host):
        # nova refuses a second start without the service's identity file.
        nova.virt.node.get_local_node_uuid()
        # No check of allow_resize_to_same_host here: nova-api reads it,
        # not nova-compute (doc/source/topology.rst).
        for pool in self._pools.values():
            pool.start()
        self._map_nodes()
        self._events.start()

    def cleanup_host(self, host):
        self._events.stop()
        for pool in self._pools.values():
            pool.stop()

    def get_available_nodes(self, refresh=False):
        # Always: cheap (no remote call), and a pool whose engine was away
        # at start brings its nodes once it answers; nova's periodic
        # resource update asks without refresh.
        self._map_nodes()
        return list(self._node_pool)

    def get_nodenames_by_uuid(self, refresh=False):
        if refresh:
            self._map_nodes()
        return dict(self._node_uuids)

    def node_is_available(self, nodename):
        pool = self._node_pool.get(nodename)
        return pool is not None and pool.node_is_available(nodename)

    def get_available_resource(self, nodename):
        return self._pool_of_node(nodename).get_available_resource(nodename)

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        pool = self._pool_of_node(nodename)
        capability_traits = self.capabilities_as_traits()
        traits = {t for t, on in capability_traits.items() if on}
        traits.add(pool.pool_trait)
        traits.update(pool.node_traits(nodename))
        hardware = pool.get_inventory(nodename)
        shared = pool.shared_inventory(nodename)
        if placement.needs_reshape(provider_tree, nodename, hardware,
                                   shared):
            # DISK_GB of an oVirt node moved to its storage domain's
            # sharing provider: nova moves the allocations in a reshape.
            if allocations is None:
                raise nova_exception.ReshapeNeeded()
            placement.update_shared_providers(provider_tree, nodename,
                                              shared)
            placement.move_allocations(
                allocations, provider_tree.data(nodename).uuid, hardware,
                shared)
        placement.update_shared_providers(provider_tree, nodename, shared)
        placement.update_provider_tree(
            provider_tree, nodename, hardware, traits)
        placement.remove_traits(
            provider_tree, nodename,
            [t for t, on in capability_traits.items() if not on])

    def get_host_uptime(self):
        # The hypervisor-details API asks for one uptime per service; ours
        # spans many hosts, so report the nova-compute host's own, as
        # nova's libvirt driver does for its host.
        out, _err = processutils.execute('env', 'LANG=C', 'uptime')
        return out

    def get_host_ip_addr(self):
        for pool in self._pools.values():
            address = pool.get_host_ip_addr()
            if address:
                return address
        return CONF.my_ip

    # -- inventory of instances ---------------------------------------------

    def list_instance_uuids(self):
        return [u for p in self._pools.values()
                for u in p.list_instance_uuids()]

    def list_instances(self):
        return [n for p in self._pools.values() for n in p.list_instances()]

    def instance_exists(self, instance):
        try:
            return self._pool_of(instance).instance_exists(instance)
        except nova_exception.InstanceNotFound:
            return False

    def get_info(self, instance, use_cache=True):
        return self._pool_of(instance).get_info(instance, use_cache)

    # -- lifecycle ---------------------------------------------------------

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        self._pool_of_node(instance.node).spawn(
            context, instance, image_meta, injected_files, admin_password,
            allocations, network_info, block_device_info, power_on,
            accel_info)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        try:
            pool = self._pool_of(instance)
        except nova_exception.InstanceNotFound:
            LOG.info('Nothing to destroy: no pool has the instance',
                     instance=instance)
            return
        pool.destroy(context, instance, network_info, block_device_info,
                     destroy_disks, destroy_secrets)
        if instance.task_state == task_states.DELETING:
            self._destroy_elsewhere(context, instance, pool, network_info,
                                    destroy_disks)

    def _destroy_elsewhere(self, context, instance, done, network_info,
                           destroy_disks):
        """Remove the guest a failed move between pools left in its source.

        When finishing a move fails, nova records the instance on the
        destination node and deletes it there only; the source pool still
        holds the stopped guest (found by the instance's ownership mark).
        """
        for pool in self._pools.values():
            if pool is done:
                continue
            try:
                if not pool.instance_exists(instance):
                    continue
                LOG.info('Removing what pool %s still holds of the instance '
                         '(left by an unfinished move)', pool.name,
                         instance=instance)
                pool.destroy(context, instance, network_info, None,
                             destroy_disks)
            except Exception as e:
                # The instance's own guest is gone; a pool that is away
                # keeps its leftover for the next delete attempt.
                LOG.warning('Could not check pool %s for leftovers of the '
                            'instance: %s', pool.name, e, instance=instance)

    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True):
        pool = self._node_pool.get(instance.node)
        if pool is not None:
            pool.cleanup(context, instance, network_info, block_device_info,
                         destroy_disks, migrate_data, destroy_vifs,
                         destroy_secrets)

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None, share_info=None):
        self._pool_of(instance).reboot(
            context, instance, network_info, reboot_type, block_device_info,
            bad_volumes_callback, accel_info, share_info)

    def power_off(self, instance, timeout=0, retry_interval=0):
        self._pool_of(instance).power_off(instance, timeout, retry_interval)

    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None, share_info=None):
        self._pool_of(instance).power_on(
            context, instance, network_info, block_device_info, accel_info,
            share_info)

    def pause(self, instance):
        self._pool_of(instance).pause(instance)

    def unpause(self, instance):
        self._pool_of(instance).unpause(instance)

    def suspend(self, context, instance):
        self._pool_of(instance).suspend(context, instance)

    def resume(self, context, instance, network_info, block_device_info=None,
               share_info=None):
        self._pool_of(instance).resume(
            context, instance, network_info, block_device_info, share_info)

    def resume_state_on_host_boot(self, context, instance, network_info,
                                  share_info, block_device_info=None):
        self._pool_of(instance).resume_state_on_host_boot(
            context, instance, network_info, share_info, block_device_info)

    def snapshot(self, context, instance, image_id, update_task_state):
        # nova's compute manager expects InstanceNotRunning for a guest that
        # is gone, as its own drivers raise.
        try:
            self._pool_of(instance).snapshot(
                context, instance, image_id, update_task_state)
        except nova_exception.InstanceNotFound:
            raise nova_exception.InstanceNotRunning(instance_id=instance.uuid)

    def rescue(self, context, instance, network_info, image_meta,
               rescue_password, block_device_info, share_info):
        self._pool_of(instance).rescue(
            context, instance, network_info, image_meta, rescue_password,
            block_device_info, share_info)

    def unrescue(self, context, instance):
        self._pool_of(instance).unrescue(context, instance)

    def rebuild(self, context, instance, image_meta, injected_files,
                admin_password, allocations, bdms, detach_block_devices,
                attach_block_devices, network_info=None, evacuate=False,
                block_device_info=None, preserve_ephemeral=False,
                accel_uuids=None, reimage_boot_volume=False):
        if evacuate:
            pool = self._pool_of_allocations(allocations)
            pool.check_can_evacuate(context, instance)
        else:
            pool = self._pool_of(instance)
        pool.rebuild(
            context, instance, image_meta, injected_files, admin_password,
            allocations, bdms, detach_block_devices, attach_block_devices,
            network_info, evacuate, block_device_info, preserve_ephemeral,
            accel_uuids, reimage_boot_volume)

    def instance_on_disk(self, instance):
        # nova asks the destination of an evacuation, before it moves the
        # ports: a libvirt pool whose host sees the disks (shared storage)
        # or an oVirt pool whose engine holds the VM says yes; the oVirt
        # pool refuses unless the engine reports the VM down.
        return any(pool.instance_on_disk(instance)
                   for pool in self._pools.values())

    def check_instance_shared_storage_local(self, context, instance):
        try:
            pool = self._pool_of(instance)
        except nova_exception.InstanceNotFound:
            return None     # nothing here to destroy, disks or not
        migration = self._migration_in_progress(context, instance)
        source = self._node_pool.get(migration.source_node) \
            if migration is not None else None
        if source is not None and source is not pool:
            # The revert of a move from another pool: its storage is
            # another backend's, so nova destroys the disks here.
            return {'pool': pool.name, 'other_pool': source.name}
        return pool.check_instance_shared_storage_local(context, instance)

    def check_instance_shared_storage_remote(self, context, data):
        if data.get('other_pool'):
            return False
        return any(pool.check_instance_shared_storage_remote(context, data)
                   for pool in self._pools.values())

    def check_instance_shared_storage_cleanup(self, context, data):
        pool = self._pools.get((data or {}).get('pool'))
        if pool is not None and not data.get('other_pool'):
            pool.check_instance_shared_storage_cleanup(context, data)

    # -- networking --------------------------------------------------------

    def attach_interface(self, context, instance, image_meta, vif):
        self._pool_of(instance).attach_interface(
            context, instance, image_meta, vif)

    def detach_interface(self, context, instance, vif):
        self._pool_of(instance).detach_interface(context, instance, vif)

    def plug_vifs(self, instance, network_info):
        self._pool_of(instance).plug_vifs(instance, network_info)

    def unplug_vifs(self, instance, network_info):
        self._pool_of(instance).unplug_vifs(instance, network_info)

    # -- consoles ----------------------------------------------------------

    def get_console_output(self, context, instance):
        return self._pool_of(instance).get_console_output(context, instance)

    def get_vnc_console(self, context, instance):
        return self._pool_of(instance).get_vnc_console(context, instance)

    # -- resize and cold migration -----------------------------------------

    def migrate_disk_and_power_off(self, context, instance, dest, flavor,
                                   network_info, block_device_info=None,
                                   timeout=0, retry_interval=0):
        source = self._pool_of(instance)
        dest_node = self._migration_dest_node(context, instance)
        dest_pool = self._node_pool.get(dest_node)
        # Another pool of this service copies the disk and leaves the
        # source untouched for a revert. (A node this service does not
        # know may be on the same engine: the move then changes the VM.)
        moves = {'dest_node': dest_node,
                 'leaves_pool': (dest_pool is not None and
                                 dest_pool is not source)}
        if (moves['leaves_pool'] and source.warm_export and
                dest_pool.warm_import):
            # Pre-copy while the guest runs (doc/source/moves.rst).
            moves['open_warm_target'] = functools.partial(
                dest_pool.open_warm_import, dest_node, instance)
        return source.migrate_disk_and_power_off(
            context, instance, dest, flavor, network_info, block_device_info,
            timeout, retry_interval, **moves)

    @staticmethod
    def _migration_dest_node(context, instance):
        """The destination node of the instance's move in progress (nova
        passes only the destination's service host)."""
        migration = OvirtDriver._migration_in_progress(context, instance)
        return migration.dest_node if migration is not None else None

    @staticmethod
    def _migration_in_progress(context, instance):
        mig_ctx = instance.migration_context
        if mig_ctx is None:
            return None
        try:
            return objects.Migration.get_by_id(context, mig_ctx.migration_id)
        except nova_exception.MigrationNotFound:
            return None

    def finish_migration(self, context, migration, instance, disk_info,
                         network_info, image_meta, resize_instance,
                         allocations, block_device_info=None, power_on=True,
                         share_info=None):
        # None when another nova-compute service owns the source node
        # (doc/source/topology.rst): the destination pool then finds the
        # server in its own backend (one engine shared by both services).
        source_pool = self._node_pool.get(migration.source_node)
        self._pool_of_node(migration.dest_node).finish_migration(
            context, migration, instance, disk_info, network_info, image_meta,
            resize_instance, allocations, block_device_info, power_on,
            source_pool=source_pool)

    def confirm_migration(self, context, migration, instance, network_info):
        # Runs on the source side: the source pool removes what it kept
        # for a revert.
        self._pool_of_node(migration.source_node).confirm_migration(
            context, migration, instance, network_info)

    def finish_revert_migration(self, context, instance, network_info,
                                migration, block_device_info=None,
                                power_on=True, share_info=None):
        self._pool_of_node(migration.source_node).finish_revert_migration(
            context, instance, network_info, migration, block_device_info,
            power_on)

    # -- live migration (pools/*/live_migration.py) -------------------------
    # Destination-side calls name no node: the migrate data does, filled in
    # by the destination pool's first check.

    def _pool_of_migration(self, migrate_data):
        for pool in self._pools.values():
            if pool.owns_live_migration(migrate_data):
                return pool
        raise nova_exception.MigrationError(
            reason='no pool of this service is the destination of the '
                   'live migration')

    def check_can_live_migrate_destination(self, context, instance,
                                           src_compute_info,
                                           dst_compute_info,
                                           block_migration=False,
                                           disk_over_commit=False):
        nodename = dst_compute_info['hypervisor_hostname']
        return self._pool_of_node(nodename).check_can_live_migrate_destination(
            context, instance, nodename, block_migration, disk_over_commit)

    def cleanup_live_migration_destination_check(self, context,
                                                 dest_check_data):
        self._pool_of_migration(
            dest_check_data).cleanup_live_migration_destination_check(
            context, dest_check_data)

    def check_can_live_migrate_source(self, context, instance,
                                      dest_check_data, block_device_info=None):
        return self._pool_of(instance).check_can_live_migrate_source(
            context, instance, dest_check_data)

    def get_instance_disk_info(self, instance, block_device_info=None):
        return self._pool_of(instance).get_instance_disk_info(instance)

    def pre_live_migration(self, context, instance, block_device_info,
                           network_info, disk_info, migrate_data):
        return self._pool_of_migration(migrate_data).pre_live_migration(
            context, instance, network_info, disk_info, migrate_data,
            block_device_info)

    def live_migration(self, context, instance, dest, post_method,
                       recover_method, block_migration=False,
                       migrate_data=None):
        self._pool_of(instance).live_migration(
            context, instance, dest, post_method, recover_method,
            block_migration, migrate_data)

    def live_migration_abort(self, instance):
        self._pool_of(instance).live_migration_abort(instance)

    def live_migration_force_complete(self, instance):
        self._pool_of(instance).live_migration_force_complete(instance)

    def post_live_migration(self, context, instance, block_device_info,
                            migrate_data=None):
        self._pool_of(instance).post_live_migration(context, instance)

    def post_live_migration_at_source(self, context, instance, network_info):
        # libvirt removed the guest, and its ports, from the source host.
        pass

    def post_live_migration_at_destination(self, context, instance,
                                           network_info,
                                           block_migration=False,
                                           block_device_info=None):
        self._pool_of(instance).post_live_migration_at_destination(
            context, instance)

    def rollback_live_migration_at_destination(self, context, instance,
                                               network_info,
                                               block_device_info,
                                               destroy_disks=True,
                                               migrate_data=None):
        self._pool_of_migration(
            migrate_data).rollback_live_migration_at_destination(
            context, instance, destroy_disks, migrate_data)

    # -- housekeeping ------------------------------------------------------

    def manage_image_cache(self, context, all_instances):
        # One pool's engine or host being away must not keep the others'
        # caches from being cleaned: log it and go on.
        for pool in self._pools.values():
            try:
                pool.manage_image_cache(context, all_instances)
            except Exception as e:
                LOG.warning('Image cache pass of pool %s failed: %s',
                            pool.name, e)

    # -- volumes -----------------------------------------------------------

    def default_root_device_name(self, instance, image_meta, root_bdm):
        # Guests' disks are virtio on both backends; nova names the
        # devices of later volumes after this one (vdb, vdc, ...).
        return '/dev/vda'

    def get_volume_connector(self, instance):
        # nova asks on every delete too, also for instances no pool has
        # (a build that failed before its claim, or no node at all):
        # answer with our identity.
        connector = None
        if getattr(instance, 'node', None) is not None:
            try:
                connector = self._pool_of(instance).get_volume_connector(
                    instance)
            except nova_exception.InstanceNotFound:
                pass
        return connector or {'ip': CONF.my_block_storage_ip,
                             'host': CONF.host, 'initiator': None}

    def attach_volume(self, context, connection_info, instance, mountpoint,
                      disk_bus=None, device_type=None, encryption=None):
        self._pool_of(instance).attach_volume(
            context, connection_info, instance, mountpoint, disk_bus,
            device_type, encryption)

    def detach_volume(self, context, connection_info, instance, mountpoint,
                      encryption=None):
        self._pool_of(instance).detach_volume(
            context, connection_info, instance, mountpoint, encryption)

    def extend_volume(self, context, connection_info, instance,
                      requested_size):
        return self._pool_of(instance).extend_volume(
            context, connection_info, instance, requested_size)

    def swap_volume(self, context, old_connection_info, new_connection_info,
                    instance, mountpoint, resize_to):
        self._pool_of(instance).swap_volume(
            context, old_connection_info, new_connection_info, instance,
            mountpoint, resize_to)
