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

"""DISK_GB in placement, through placement's API, for both backends.

oVirt: the storage domain both clusters use is one sharing provider (uuid
= the domain's id) in an aggregate with the two cluster nodes; the
clusters have no DISK_GB of their own, so the domain's space is offered
once. Boots, resizes and deletes allocate on it.

libvirt: every host keeps its own DISK_GB (its storage pool), total and
max_unit as libvirt reports them.
"""

import math

from tests.functional import ovirt_base as obase

GiB = 1024 ** 3
SHARES = 'MISC_SHARES_VIA_AGGREGATE'
#: Disk the scenario's storage domain holds before anything runs (operator
#: data, ovirt_engine_sim.scenarios).
SCENARIO_USED = 20 * GiB


class DiskPlacementTest(obase.OvirtPoolFunctionalTestBase):

    def storage_domain(self):
        self._tick()
        return self.sim.store.by_name('storage_domains', 'data')

    def sim_sd_view(self):
        """The domain as the engine reports it (used/available include
        the disks on it)."""
        with self.sim.store.lock:
            return self.sim.engine.prepare('storage_domain',
                                           self.storage_domain())

    def disk_usage(self, sd_id):
        return self._get_provider_usages(sd_id).get('DISK_GB', 0)

    def assertSharedInventory(self, sd_id, reserved_gib):
        view = self.sim_sd_view()
        inventory = self._get_provider_inventory(sd_id)
        self.assertEqual(['DISK_GB'], list(inventory))
        disk = inventory['DISK_GB']
        # The domain's size, not its free space: placement subtracts the
        # allocations itself.
        self.assertEqual((view.used + view.available) // GiB, disk['total'])
        self.assertEqual(reserved_gib, disk['reserved'])

    def test_ovirt_storage_domain_is_one_sharing_provider(self):
        sd = self.storage_domain()
        nodes = self.node_uuids()
        self.assertIn(SHARES, self._get_provider_traits(sd.id))
        self.assertEqual([sd.id], self._get_provider_aggregates(sd.id))
        for cluster in obase.CLUSTERS:
            self.assertIn(sd.id, self._get_provider_aggregates(
                nodes[cluster]))
            self.assertNotIn('DISK_GB', self._get_provider_inventory(
                nodes[cluster]))
        # Nothing but the scenario's own data on the domain yet.
        self.assertSharedInventory(sd.id, SCENARIO_USED // GiB)
        self.assertEqual(0, self.disk_usage(sd.id))

        server = self._boot_ovirt(flavor_id=obase.E1_TINY)
        node = self.node_of(server)
        self.assertEqual(1, self.disk_usage(sd.id))
        self.assertUsage(node, obase.E1_TINY)
        # The image's template is on the domain now and Nova holds no
        # allocation for it: it is reserved. The guest's disk is not (its
        # allocation counts it).
        template = self.sim_template()
        with self.sim.store.lock:
            template_bytes = sum(
                self.sim.engine._actual_size(self.sim.store.disks[d])
                for d in self.sim.engine.template_disk_ids(template.id))
        self.assertGreater(template_bytes, 0)
        # The pool reads the domain at most every inventory TTL; the next
        # resource update after that reports the new reservation.
        self.compute.manager.driver._pools[
            obase.OVIRT_POOL].inventory.refresh(force=True)
        self._run_periodics()
        self.assertSharedInventory(
            sd.id, int(math.ceil((SCENARIO_USED + template_bytes) / GiB)))

        # Resize: old and new flavor's disks while it waits for confirm,
        # the new flavor's after it.
        server = self._resize_server(server, obase.E1_SMALL)
        self.assertEqual(1 + 2, self.disk_usage(sd.id))
        server = self._confirm_resize(server)
        self.assertEqual(2, self.disk_usage(sd.id))
        self.assertUsage(self.node_of(server), obase.E1_SMALL)

        self._delete_ovirt(server)
        self.assertEqual(0, self.disk_usage(sd.id))
        self.assertNoUsage()

    def test_libvirt_host_keeps_its_own_disk(self):
        node_uuid = self.node_uuids()[obase.KVM_NODE]
        host = self.host_of_node[obase.KVM_NODE]
        conn = host.conn()
        try:
            _state, capacity, _alloc, available = conn.storagePoolLookupByName(
                'nova-ovirt').info()
        finally:
            conn.close()
        disk = self._get_provider_inventory(node_uuid)['DISK_GB']
        self.assertEqual(capacity // GiB, disk['total'])
        self.assertEqual(max(1, available // GiB), disk['max_unit'])
        self.assertNotIn(SHARES, self._get_provider_traits(node_uuid))
        sd = self.storage_domain()
        self.assertNotIn(sd.id, self._get_provider_aggregates(node_uuid))

        server = self._boot(flavor_id='ovirt-pool-kvm', networks='none')
        self.assertEqual(obase.KVM_NODE, self.node_of(server))
        self.assertUsage(obase.KVM_NODE, 'ovirt-pool-kvm')
        self.assertEqual(0, self.disk_usage(sd.id))
        self._delete_server(server)
        self.assertUsage(obase.KVM_NODE)
        self.assertEqual({}, self._get_allocations_by_server_uuid(
            server['id']))
