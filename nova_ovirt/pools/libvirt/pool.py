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

"""LibvirtPool: the Pool contract over a list of libvirt hosts.

Thin on purpose: it finds the host of each call and hands the work to
``vmops`` (guest lifecycle), ``migration`` and ``console``.
"""

import collections
import json

from oslo_log import log as logging
from oslo_serialization import jsonutils

import nova.conf
from nova import exception as nova_exception

from nova_ovirt import conf as ovirt_conf
from nova_ovirt import exception
from nova_ovirt import imagecache
from nova_ovirt.pools import base
from nova_ovirt.pools.libvirt import claims as libvirt_claims
from nova_ovirt.pools.libvirt import config
from nova_ovirt.pools.libvirt import console
from nova_ovirt.pools.libvirt import evacuate
from nova_ovirt.pools.libvirt import host as host_mod
from nova_ovirt.pools.libvirt import images
from nova_ovirt.pools.libvirt import live_migration
from nova_ovirt.pools.libvirt import maintenance
from nova_ovirt.pools.libvirt import migration
from nova_ovirt.pools.libvirt import nodes
from nova_ovirt.pools.libvirt import vmops

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

ovirt_conf.register_opts(CONF)


class LibvirtPool(base.Pool):
    """Plain KVM hosts; every libvirt URI of ``uris`` is one Nova node."""

    OPTS = ovirt_conf.LIBVIRT_POOL_OPTS
    NODES_OPTION = 'uris'

    def __init__(self, name, conf, host, event_queue):
        super().__init__(name, conf, host, event_queue)
        specs = nodes.parse_nodes(self.group_name, self.NODES_OPTION,
                                  conf.uris, host)
        self._hosts = collections.OrderedDict(
            (spec.name, host_mod.Host(spec, name, conf, event_queue,
                                      service_host=host))
            for spec in specs)
        self._guests = vmops.GuestOps(name, conf)
        self._moves = migration.MigrationOps(self._guests)
        self._unused_images = {name: imagecache.UnusedSince()
                               for name in self._hosts}
        self._live = live_migration.LiveMigrationOps(self._guests)
        self._evacuations = evacuate.EvacuationOps(self._guests)

    # -- nodes -------------------------------------------------------------

    def nodes(self):
        return {name: h.node_uuid for name, h in self._hosts.items()}

    def start(self):
        for libvirt_host in self._hosts.values():
            libvirt_host.start()

    def stop(self):
        for libvirt_host in self._hosts.values():
            libvirt_host.stop()

    # -- claims (nova-ovirt-manage claim) ----------------------------------

    def _claim_connection(self, nodename):
        # A connection of its own: the command runs outside nova-compute.
        return host_mod.open_connection(self.node_host(nodename).uri)

    def read_claims(self):
        """{node: Claim or None} for the configured hosts."""
        found = {}
        for nodename in self._hosts:
            conn = self._claim_connection(nodename)
            try:
                found[nodename] = libvirt_claims.read(conn)
            finally:
                conn.close()
        return found

    def take_over_claim(self, nodename, force=False):
        conn = self._claim_connection(nodename)
        try:
            libvirt_claims.take_over(conn, self.host, nodename, force)
        finally:
            conn.close()

    def release_claim(self, nodename):
        conn = self._claim_connection(nodename)
        try:
            return libvirt_claims.release(conn, self.host)
        finally:
            conn.close()

    # -- maintenance (nova-ovirt-manage host maintenance) ------------------

    def read_maintenance(self):
        """{node: Maintenance or None} for the configured hosts."""
        found = {}
        for nodename in self._hosts:
            conn = self._claim_connection(nodename)
            try:
                found[nodename] = maintenance.read(conn)
            finally:
                conn.close()
        return found

    def set_maintenance(self, nodename, on, reason=None):
        """Put the node's host in maintenance (on) or back in service.

        The running nova-compute sees the mark at its next resource update
        and reserves (or frees) the node's whole inventory in placement.
        """
        conn = self._claim_connection(nodename)
        try:
            if on:
                return maintenance.enter(conn, reason)
            maintenance.leave(conn)
            return None
        except maintenance.NoNetworkDriver as e:
            raise exception.PoolConfigError(
                self.group_name, self.NODES_OPTION, self.node_host(
                    nodename).uri,
                'libvirt host %r has no network driver, where the '
                'maintenance mark is kept: %s' % (nodename, e))
        finally:
            conn.close()

    def node_host(self, nodename):
        try:
            return self._hosts[nodename]
        except KeyError:
            raise exception.NodeNotFound(nodename=nodename)

    @property
    def hosts(self):
        return list(self._hosts.values())

    @property
    def stats(self):
        """Counters for observers: totals plus one dict per node."""
        per_node = {n: dict(h.stats) for n, h in self._hosts.items()}
        totals = collections.Counter()
        for counters in per_node.values():
            totals.update(counters)
        result = dict(totals)
        result['nodes'] = per_node
        return result

    def node_is_available(self, nodename):
        return self.node_host(nodename).available

    def describe_node(self, nodename):
        """What the node's host offers, for nova-ovirt-status.

        Plain data: the URI, whether it is connected (and why not), the
        hypervisor, the domain types offered for the pool's x86_64 guests,
        the storage pool and the number of Nova-owned guests.
        """
        libvirt_host = self.node_host(nodename)
        found = {'uri': libvirt_host.uri,
                 'available': libvirt_host.available,
                 'reason': libvirt_host.down_reason,
                 'domain_type': self.conf.domain_type,
                 'storage_pool': libvirt_host.storage.pool_name}
        if not libvirt_host.available:
            return found
        conn = libvirt_host.connection
        with libvirt_host.translated('Reading host capabilities'):
            found.update(
                hypervisor=conn.getType(), version=conn.getVersion(),
                domain_types=config.guest_domain_types(
                    conn.getCapabilities()),
                storage_path=libvirt_host.storage.path)
        found['nova_guests'] = len(libvirt_host.guest_states(max_age=0))
        return found

    def get_available_resource(self, nodename):
        return self.node_host(nodename).get_available_resource()

    def get_inventory(self, nodename):
        return self.node_host(nodename).get_inventory()

    # -- finding an instance's host ----------------------------------------

    def _available_hosts(self):
        return [h for h in self._hosts.values() if h.available]

    def _find_host(self, instance):
        """The host with the instance's domain, or None."""
        libvirt_host = self._hosts.get(instance.node)
        if libvirt_host is not None:
            return libvirt_host
        # A second pass with fresh listings: a domain that came in by a
        # live migration is not in a cached one (an adopted domain's UUID
        # is not the instance's, so only a listing finds its mark).
        for fresh in (False, True):
            for candidate in self._available_hosts():
                if fresh:
                    candidate.invalidate()
                if instance.uuid in candidate.guest_states() or \
                        candidate.find_domain(instance.uuid) is not None:
                    return candidate
        return None

    def _host_of(self, instance):
        libvirt_host = self._find_host(instance)
        if libvirt_host is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        return libvirt_host

    # -- instances ---------------------------------------------------------

    def _guest_names(self):
        """{uuid: nova's name} of the Nova-owned guests of reachable hosts."""
        names = {}
        for libvirt_host in self._available_hosts():
            try:
                names.update(libvirt_host.guest_names())
            except nova_exception.NovaException as e:
                LOG.warning('Cannot list the guests of %s: %s',
                            libvirt_host.nodename, e)
        return names

    def list_instance_uuids(self):
        return list(self._guest_names())

    def list_instances(self):
        return list(self._guest_names().values())

    def instance_exists(self, instance):
        libvirt_host = self._find_host(instance)
        if libvirt_host is None or not libvirt_host.available:
            return False
        return libvirt_host.find_domain(instance.uuid) is not None

    def get_info(self, instance, use_cache=True):
        return self._guests.get_info(self._host_of(instance), instance,
                                     use_cache)

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        self._guests.spawn(self.node_host(instance.node), context, instance,
                           image_meta, injected_files, admin_password,
                           network_info, power_on, block_device_info)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        libvirt_host = self._find_host(instance)
        if libvirt_host is None:
            LOG.info('No guest to destroy', instance=instance)
            return
        self._guests.destroy(libvirt_host, instance, destroy_disks)
        if destroy_secrets and libvirt_host.available:
            self._guests.volumes.remove_secrets(libvirt_host, instance)

    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True):
        # Like nova's libvirt driver: the domain goes whatever a failed
        # destroy left; the volumes only with destroy_disks.
        libvirt_host = self._find_host(instance)
        if libvirt_host is not None:
            self._guests.destroy(libvirt_host, instance, destroy_disks)

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None, share_info=None):
        self._guests.reboot(self._host_of(instance), instance, network_info,
                            reboot_type)

    def power_off(self, instance, timeout=0, retry_interval=0):
        self._guests.power_off(self._host_of(instance), instance, timeout,
                               retry_interval)

    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None, share_info=None):
        self._guests.power_on(self._host_of(instance), instance, network_info)

    def pause(self, instance):
        self._guests.pause(self._host_of(instance), instance)

    def unpause(self, instance):
        self._guests.unpause(self._host_of(instance), instance)

    def suspend(self, context, instance):
        self._guests.suspend(self._host_of(instance), instance)

    def resume(self, context, instance, network_info,
               block_device_info=None, share_info=None):
        self._guests.resume(self._host_of(instance), instance)

    def resume_state_on_host_boot(self, context, instance, network_info,
                                  share_info, block_device_info=None):
        self._guests.resume_state_on_host_boot(self._host_of(instance),
                                               instance, network_info)

    def snapshot(self, context, instance, image_id, update_task_state):
        self._guests.snapshot(self._host_of(instance), context, instance,
                              image_id, update_task_state)

    def rescue(self, context, instance, network_info, image_meta,
               rescue_password, block_device_info, share_info):
        self._guests.rescue(self._host_of(instance), context, instance,
                            network_info, image_meta, rescue_password)

    def unrescue(self, context, instance):
        self._guests.unrescue(self._host_of(instance), instance)

    def attach_interface(self, context, instance, image_meta, vif):
        self._guests.attach_interface(self._host_of(instance), instance, vif,
                                      image_meta)

    def detach_interface(self, context, instance, vif):
        self._guests.detach_interface(self._host_of(instance), instance, vif)

    def get_console_output(self, context, instance):
        return console.console_output(self._host_of(instance), instance)

    # -- volumes -----------------------------------------------------------

    def get_volume_connector(self, instance):
        return self._guests.volumes.connector(self._host_of(instance))

    def attach_volume(self, context, connection_info, instance, mountpoint,
                      disk_bus=None, device_type=None, encryption=None):
        self._guests.volumes.attach(self._host_of(instance), instance,
                                    connection_info, mountpoint, disk_bus)

    def detach_volume(self, context, connection_info, instance, mountpoint,
                      encryption=None):
        self._guests.volumes.detach(self._host_of(instance), instance,
                                    connection_info)

    def extend_volume(self, context, connection_info, instance,
                      requested_size):
        return self._guests.volumes.extend(self._host_of(instance), instance,
                                           connection_info, requested_size)

    def swap_volume(self, context, old_connection_info, new_connection_info,
                    instance, mountpoint, resize_to):
        self._guests.volumes.swap(self._host_of(instance), instance,
                                  old_connection_info, new_connection_info,
                                  resize_to)

    def get_vnc_console(self, context, instance):
        return console.vnc_console(self._host_of(instance), instance,
                                   self.conf)

    # -- moves -------------------------------------------------------------

    def migrate_disk_and_power_off(self, context, instance, dest, flavor,
                                   network_info, block_device_info=None,
                                   timeout=0, retry_interval=0,
                                   dest_node=None, leaves_pool=False):
        return self._moves.migrate_disk_and_power_off(
            self._host_of(instance), instance, flavor, timeout,
            retry_interval, dest_node, self._hosts.get(dest_node))

    def finish_migration(self, context, migration, instance, disk_info,
                         network_info, image_meta, resize_instance,
                         allocations, block_device_info=None, power_on=True,
                         source_pool=None):
        dest_host = self.node_host(migration.dest_node)
        if source_pool is None or source_pool is self:
            self._moves.finish_migration(
                dest_host, instance, network_info, power_on,
                source_host=self.node_host(migration.source_node))
        else:
            warm = jsonutils.loads(disk_info).get('warm') if disk_info \
                else None
            self._moves.finish_migration(dest_host, instance, network_info,
                                         power_on, source_pool=source_pool,
                                         warm=warm)
        # A guest defined afresh on another host has no volume disks yet.
        self._guests.volumes.attach_missing(dest_host, instance,
                                            block_device_info)

    warm_import = True

    def open_warm_import(self, nodename, instance, size):
        """Where a warm move from another pool writes the root disk."""
        return migration.WarmTarget(self.node_host(nodename), instance,
                                    size)

    def confirm_migration(self, context, migration, instance, network_info):
        same_node = migration.source_node == migration.dest_node
        source_host = self.node_host(migration.source_node)
        self._moves.confirm_migration(
            source_host, instance, same_node=same_node,
            dest_host=self._hosts.get(migration.dest_node))
        if not same_node:
            self._guests.volumes.remove_secrets(source_host, instance)

    def finish_revert_migration(self, context, instance, network_info,
                                migration, block_device_info=None,
                                power_on=True):
        self._moves.finish_revert_migration(
            self.node_host(migration.source_node), instance, network_info,
            migration.source_node == migration.dest_node, power_on,
            self._hosts.get(migration.dest_node))

    def _host_with_domain(self, instance):
        """The reachable host that has the instance's domain, or None."""
        for candidate in self._available_hosts():
            if candidate.find_domain(instance.uuid) is not None:
                return candidate
        return None

    def open_root_disk_export(self, instance):
        libvirt_host = self._host_with_domain(instance)
        if libvirt_host is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)
        return self._moves.open_root_disk_export(libvirt_host, instance)

    # -- housekeeping ------------------------------------------------------

    def manage_image_cache(self, context, all_instances):
        if not imagecache.enabled():
            return
        used = imagecache.used_image_ids(all_instances)
        for libvirt_host in self._available_hosts():
            try:
                with libvirt_host.translated('Cleaning the image cache'):
                    removed, freed, kept = images.manage_image_cache(
                        libvirt_host, used, imagecache.minimum_age(),
                        self._unused_images[libvirt_host.nodename])
            except nova_exception.NovaException as e:
                LOG.warning('Image cache pass on %s failed: %s',
                            libvirt_host.nodename, e)
                continue
            imagecache.log_pass(self.name, libvirt_host.nodename, removed,
                                freed, kept)
    # -- live migration (see live_migration.py) ------------------------------

    # -- evacuation (see evacuate.py) ---------------------------------------

    def check_can_evacuate(self, context, instance):
        """Rebuilt here; the old host cleans up when it returns."""

    def _evacuation_host(self, instance, allocations):
        for libvirt_host in self._hosts.values():
            if (libvirt_host.node_uuid in (allocations or {}) and
                    libvirt_host.nodename != instance.node):
                return libvirt_host
        raise exception.NodeNotFound(nodename='(evacuation target of %s)'
                                     % instance.uuid)

    def rebuild(self, context, instance, image_meta, injected_files,
                admin_password, allocations, bdms, detach_block_devices,
                attach_block_devices, network_info=None, evacuate=False,
                block_device_info=None, preserve_ephemeral=False,
                accel_uuids=None, reimage_boot_volume=False):
        """Evacuation onto this service's node: on the shared disks, or
        from the image.

        A rebuild in place is nova's default (destroy, then spawn). The
        evacuated instance still names its old node until nova's rebuild
        ends, so the node comes from its allocations.
        """
        if not evacuate:
            raise NotImplementedError()
        self._evacuations.rebuild(
            self._evacuation_host(instance, allocations), context, instance,
            image_meta, injected_files, admin_password, bdms,
            detach_block_devices, attach_block_devices, network_info or [])

    def instance_on_disk(self, instance):
        """Whether a host of the pool sees the instance's disks (shared
        storage with its old host)."""
        return any(evacuate.root_disk_here(h, instance)
                   for h in self._available_hosts())

    def check_instance_shared_storage_local(self, context, instance):
        libvirt_host = self._host_with_domain(instance)
        if libvirt_host is None:
            return None
        return self._evacuations.mark_storage(libvirt_host, self.name)

    def check_instance_shared_storage_remote(self, context, data):
        return self._evacuations.sees_mark(self._hosts.values(), data)

    def check_instance_shared_storage_cleanup(self, context, data):
        self._evacuations.remove_mark(self.node_host(data['node']), data)

    def owns_live_migration(self, migrate_data):
        return self._live_dest_host(migrate_data) is not None

    def _live_dest_host(self, migrate_data):
        if 'target_connect_addr' not in migrate_data:
            return None
        try:
            uri, _addr = live_migration.parse_connect_info(
                migrate_data.target_connect_addr)
        except nova_exception.MigrationPreCheckError:
            return None
        for libvirt_host in self._hosts.values():
            if libvirt_host.uri == uri:
                return libvirt_host
        return None

    def check_can_live_migrate_destination(self, context, instance, nodename,
                                           block_migration,
                                           disk_over_commit):
        return self._live.check_destination(
            self.node_host(nodename), instance, block_migration,
            disk_over_commit)

    def cleanup_live_migration_destination_check(self, context, data):
        self._live.cleanup_destination_check(self._live_dest_host(data), data)

    def check_can_live_migrate_source(self, context, instance, data):
        return self._live.check_source(self._host_of(instance), instance,
                                       data)

    def get_instance_disk_info(self, instance):
        return json.dumps(self._live.disk_info(self._host_of(instance),
                                               instance))

    def pre_live_migration(self, context, instance, network_info, disk_info,
                           data, block_device_info=None):
        return self._live.pre_live_migration(
            self._live_dest_host(data), context, instance, data, disk_info,
            block_device_info)

    def live_migration(self, context, instance, dest, post_method,
                       recover_method, block_migration, data):
        self._live.live_migration(self._host_of(instance), context, instance,
                                  dest, post_method, recover_method,
                                  block_migration, data)

    def live_migration_abort(self, instance):
        self._live.abort(self._host_of(instance), instance)

    def live_migration_force_complete(self, instance):
        self._live.force_complete(self._host_of(instance), instance)

    def post_live_migration(self, context, instance):
        self._live.post_live_migration_at_source(
            self.node_host(instance.node), instance)

    def post_live_migration_at_destination(self, context, instance):
        self._live.post_live_migration_at_destination(
            self._host_of(instance), instance)

    def rollback_live_migration_at_destination(self, context, instance,
                                               destroy_disks, data):
        self._live.rollback_at_destination(self._live_dest_host(data),
                                           instance, destroy_disks)
