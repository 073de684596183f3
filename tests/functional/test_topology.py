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

"""Two nova-compute services, one oVirt cluster each (doc/source/topology.rst).

nova applies server-group (anti-)affinity and "resize to the same host" per
compute service, not per node. With one service per cluster, through
nova's REST API and real services (API, conductor, scheduler, two
nova-computes, placement):

- the two members of an anti-affinity group land on the two services;
- a cold migration moves a server from one service's cluster to the
  other's with ``allow_resize_to_same_host = False`` (nova-api's default);
- a third service configured with a cluster the first one claims refuses
  to start, with one clear error.

Both services share one engine simulator (one pool section each, both on
the same engine).
"""

import fixtures

from nova_ovirt import conf as ovirt_conf
from nova_ovirt import exception
from nova_ovirt.pools.ovirt import cache as ovirt_cache
from nova_ovirt.pools.ovirt import claims as cluster_claims
from nova_ovirt.pools.ovirt import vmops as ovirt_vmops

from tests import base
from tests.functional import ovirt_base

#: service host -> (pool, cluster)
SERVICES = {'compute-east': ('east', 'cluster1'),
            'compute-west': ('west', 'cluster2')}


class TwoComputeServicesTest(ovirt_base.OvirtServicesTestBase):

    SERVICES = SERVICES

    # -- helpers -------------------------------------------------------------

    def sim_vm(self, server_id):
        with self.sim.store.lock:
            self.sim.store.tick()
        vms = self.sim.store.find_vms(description=ovirt_cache.mark(server_id))
        self.assertEqual(1, len(vms))
        return vms[0]

    def cluster_of(self, server_id):
        return self.sim.store.clusters[self.sim_vm(server_id).cluster.id].name

    def resize_snapshots(self):
        with self.sim.store.lock:
            self.sim.store.tick()
            return [s.id for s in self.sim.store.snapshots.values()
                    if (s.description or '').startswith(
                        ovirt_vmops.RESIZE_MARK)]

    def migrate_to_the_other_service(self, server, source):
        """Cold migrate ``server`` away from the service ``source``.

        The target cannot be named: nova then asks placement for
        candidates ``in_tree`` of the target node, and placement leaves
        sharing providers out of such a query, so the disk (DISK_GB on
        the storage domain's sharing provider) finds no candidate. The
        source is disabled instead: the driver reports
        COMPUTE_SAME_HOST_COLD_MIGRATE, so the scheduler could pick it.
        """
        (service,) = self.api.get_services(
            binary='nova-compute', host=source)
        self.api.put_service(service['id'], {'status': 'disabled'})
        try:
            return self._migrate_server(server)
        finally:
            self.api.put_service(service['id'], {'status': 'enabled'})

    def boot(self, name, hints=None):
        body = self._build_server(
            name=name, image_uuid=base.GUEST_IMAGE_ID, flavor_id='1',
            networks=[{'uuid': self.neutron.network_1['id']}])
        request = {'server': body}
        if hints:
            request['os:scheduler_hints'] = hints
        server = self.api.post_server(request)
        return self._wait_for_state_change(server, 'ACTIVE')

    # -- tests ---------------------------------------------------------------

    def test_each_service_claims_its_cluster(self):
        for host, (pool, cluster) in SERVICES.items():
            comment = self.sim.store.by_name('clusters', cluster).comment
            self.assertEqual(host,
                             cluster_claims.parse_comment(comment).host)
        hypervisors = {h['hypervisor_hostname']: h['service']['host']
                       for h in self.api.api_get(
                           '/os-hypervisors/detail').body['hypervisors']}
        self.assertEqual({'cluster1': 'compute-east',
                          'cluster2': 'compute-west'}, hypervisors)

    def test_anti_affinity_group_spans_the_two_services(self):
        group = self.api.post_server_groups(
            {'name': 'ha', 'policy': 'anti-affinity'})
        servers = [self.boot('ha-%d' % i, hints={'group': group['id']})
                   for i in range(2)]
        hosts = {s['OS-EXT-SRV-ATTR:host'] for s in servers}
        self.assertEqual(set(SERVICES), hosts)
        self.assertEqual({'cluster1', 'cluster2'},
                         {self.cluster_of(s['id']) for s in servers})
        for server in servers:
            self.assertEqual(
                SERVICES[server['OS-EXT-SRV-ATTR:host']][1],
                self.cluster_of(server['id']))

    def test_cold_migration_between_the_services(self):
        server = self.boot('mover')
        source = server['OS-EXT-SRV-ATTR:host']
        (target,) = set(SERVICES) - {source}
        server = self.migrate_to_the_other_service(server, source)
        self.assertEqual(target, server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(SERVICES[target][1], self.cluster_of(server['id']))
        self._confirm_resize(server)
        server = self.api.get_server(server['id'])
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual(target, server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual('up', self.sim_vm(server['id']).status.value)
        # Placement: the server's VCPU and memory moved to the target's
        # node; its disk stays on the storage domain's sharing provider,
        # which both clusters share.
        allocations = self._get_allocations_by_server_uuid(server['id'])
        target_node = self._get_provider_uuid_by_host(SERVICES[target][1])
        self.assertEqual(
            {'VCPU': 1, 'MEMORY_MB': 512},
            allocations.pop(target_node)['resources'])
        (disk,) = allocations.values()
        self.assertEqual({'DISK_GB': 1}, disk['resources'])
        # The source service's confirm removed the snapshot kept for a
        # revert, and not the VM (it lives on in the target's cluster).
        self.assertEqual([], self.resize_snapshots())

    def test_revert_of_a_cold_migration_between_the_services(self):
        server = self.boot('back')
        source = server['OS-EXT-SRV-ATTR:host']
        (target,) = set(SERVICES) - {source}
        server = self.migrate_to_the_other_service(server, source)
        self.assertEqual(SERVICES[target][1], self.cluster_of(server['id']))
        self._revert_resize(server)
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual(source, server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(SERVICES[source][1], self.cluster_of(server['id']))
        self.assertEqual([], self.resize_snapshots())

    def test_a_service_with_an_already_claimed_cluster_refuses_to_start(self):
        self.configure_pool('north', ['cluster2'])
        self.flags(pools=['north'], group=ovirt_conf.OVIRT_GROUP)
        self.flags(state_path=self.useFixture(fixtures.TempDir()).path)
        error = self.assertRaises(exception.PoolConfigError,
                                  self._start_compute, 'compute-north')
        self.assertIn("oVirt cluster 'cluster2' is managed by nova-compute "
                      "service 'compute-west'", str(error))
        self.assertIn('claim takeover cluster2', str(error))
        # The claim and the running service are untouched.
        comment = self.sim.store.by_name('clusters', 'cluster2').comment
        self.assertEqual('compute-west',
                         cluster_claims.parse_comment(comment).host)
        self.assertEqual(
            {'compute-east', 'compute-west'},
            {s['host'] for s in self.api.get_services(binary='nova-compute')
             if s['state'] == 'up'})
