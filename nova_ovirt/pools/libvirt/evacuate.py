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

"""Evacuation: a guest of a failed host rebuilt on a host of this service.

Nova evacuates only when the source's nova-compute service is down (or
forced down); the guest's old host may be dead or only cut off, and the
operator fences it first (doc/source/live-migration.rst).

Two ways, decided per destination host:

- the guest's volumes are in the destination's storage pool: the hosts
  share their storage (the same directory, e.g. NFS, at the same path on
  every host, so the qcow2 backing paths hold): the guest is defined again
  on its existing disks and keeps its data;
- otherwise it is rebuilt from its image, like a new spawn.

When the old host's service comes back, nova's
``destroy_evacuated_instances`` removes the leftover domain. Whether it
removes the disks too depends on the shared-storage check below, the one
live migration uses (a marker volume written on one side and looked for
on the other): shared disks now belong to the guest on the destination
and stay.
"""

from oslo_log import log as logging
from oslo_utils import uuidutils

from nova.compute import task_states

from nova_ovirt.pools.libvirt import live_migration
from nova_ovirt.pools.libvirt import vmops

LOG = logging.getLogger(__name__)


def root_disk_here(host, instance):
    """True when the host's storage pool holds the instance's root disk."""
    storage = host.storage
    with host.translated('Looking for the disks of %s' % instance.uuid):
        storage.refresh()
        return storage.lookup(vmops.volume_name(
            instance.uuid, vmops.ROOT)) is not None


class EvacuationOps(object):
    """Rebuild on the destination; the shared-storage check for cleanup."""

    def __init__(self, guests):
        self._guests = guests

    def rebuild(self, dest_host, context, instance, image_meta,
                injected_files, admin_password, bdms, detach_block_devices,
                attach_block_devices, network_info):
        # The task states nova's own rebuild walks through (its compute
        # manager expects rebuild_spawning afterwards).
        detach_block_devices(context, bdms)
        instance.task_state = task_states.REBUILD_BLOCK_DEVICE_MAPPING
        instance.save(expected_task_state=[task_states.REBUILDING])
        block_device_info = attach_block_devices(context, instance, bdms)
        instance.task_state = task_states.REBUILD_SPAWNING
        instance.save(
            expected_task_state=[task_states.REBUILD_BLOCK_DEVICE_MAPPING])
        if root_disk_here(dest_host, instance):
            self._define_on_shared_disks(dest_host, instance, network_info,
                                         block_device_info)
            return
        LOG.info('Evacuation: rebuilding the guest from its image on %s',
                 dest_host.nodename, instance=instance)
        self._guests.spawn(dest_host, context, instance, image_meta,
                           injected_files, admin_password, network_info,
                           block_device_info=block_device_info)

    def _define_on_shared_disks(self, dest_host, instance, network_info,
                                block_device_info):
        LOG.info('Evacuation: the disks are on storage %s shares with the '
                 'old host; the guest starts on them on %s',
                 dest_host.storage.pool_name, dest_host.nodename,
                 instance=instance)
        self._guests._check_uuid_free(dest_host, instance)
        domain = self._guests.define(
            dest_host, instance, network_info,
            image_id=instance.image_ref or None,
            volume_disks=self._guests.volumes.block_device_disks(
                dest_host, instance, block_device_info))
        try:
            self._guests.start(dest_host, instance, domain)
        except Exception:
            # The disks are the guest's only copy: remove the definition,
            # never the disks.
            LOG.warning('Starting the evacuated guest on %s failed; its '
                        'definition goes, its disks stay',
                        dest_host.nodename, instance=instance)
            self._guests.undefine(dest_host, instance.uuid)
            raise

    # -- the shared-storage check of destroy_evacuated_instances -----------

    @staticmethod
    def mark_storage(host, pool_name):
        """Marker volume on the old host; nova hands the data over."""
        marker = live_migration.MARKER_PREFIX + uuidutils.generate_uuid()
        with host.translated('Writing the shared storage check volume'):
            host.storage.create(marker, 0, 'raw')
        return {'pool': pool_name, 'node': host.nodename,
                'filename': marker}

    @staticmethod
    def sees_mark(hosts, data):
        """Whether the storage of any of the hosts holds the marker."""
        for host in hosts:
            if host.available:
                storage = host.storage
                with host.translated('Looking for the shared storage check '
                                     'volume'):
                    storage.refresh()
                    if storage.lookup(data['filename']) is not None:
                        return True
        return False

    @staticmethod
    def remove_mark(host, data):
        with host.translated('Removing the shared storage check volume'):
            host.storage.delete(data['filename'])
