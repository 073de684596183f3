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

"""Live migration and evacuation between clusters of one oVirt engine.

nova's conductor refuses a live migration to the source's own service
host, so each cluster has its own nova-compute service here, all on one
engine simulator (scenario ``migration``): ``compute-east`` (cluster1) and
``compute-west`` (cluster3) have the same CPU type, ``compute-amd``
(cluster2) another vendor's. Through nova's REST API:

- a live migration moves the running VM (the same engine VM, never down)
  to the other service's cluster; nova moves its host, node and
  allocations;
- one to a cluster of another CPU type is refused before anything moves,
  with the reason in the server's action events;
- one that fails in the engine mid-way, or that is aborted (the engine's
  cancelmigration), leaves the VM running at the source and the server
  ACTIVE there;
- an evacuation while the engine still runs the VM is refused (no second
  copy); once the engine reports the VM down, the same VM moves.

The destination cannot be named (placement leaves the sharing provider of
the disk out of ``in_tree`` queries, see test_topology): the services that
must not be chosen are disabled instead.
"""

import time

from nova_ovirt.pools.ovirt import cache as ovirt_cache

from tests import base
from tests.functional import ovirt_base

#: service host -> (pool, cluster)
SERVICES = {'compute-east': ('east', 'cluster1'),
            'compute-west': ('west', 'cluster3'),
            'compute-amd': ('amd', 'cluster2')}
#: Audit log codes: migration started, done, failed (to a named host:
#: the destination cluster has one); VM down.
STARTED, DONE, FAILED, VM_DOWN = 62, 63, 120, 61
#: VM_CANCEL_MIGRATION
CANCELLED = 161


class OvirtLiveMigrationTest(ovirt_base.OvirtServicesTestBase):

    SERVICES = SERVICES
    SCENARIO = 'migration'
    WAIT_TIMEOUT = 60
    # Migrations run while the API answers, as in a real cloud.
    CAST_AS_CALL = False

    # -- helpers -------------------------------------------------------------

    def enable_only(self, *hosts):
        """Only these services take servers (the source is ignored by
        nova's live migration anyway)."""
        for service in self.api.get_services(binary='nova-compute'):
            status = 'enabled' if service['host'] in hosts else 'disabled'
            if service['status'] != status:
                self.api.put_service(service['id'], {'status': status})

    def boot_on(self, host):
        self.enable_only(host)
        server = self._create_server(
            image_uuid=base.GUEST_IMAGE_ID, flavor_id='1',
            networks=[{'uuid': self.neutron.network_1['id']}])
        self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
        return server

    def sim_vm(self, server):
        with self.sim.store.lock:
            self.sim.store.tick()
        vms = self.sim.store.find_vms(
            description=ovirt_cache.mark(server['id']))
        self.assertEqual(1, len(vms), 'VMs of %s' % server['id'])
        return vms[0]

    def cluster_name(self, vm):
        return self.sim.store.clusters[vm.cluster.id].name

    def vm_events(self, vm, *codes):
        with self.sim.store.lock:
            return [e for e in self.sim.store.events.values()
                    if e.code in codes and e.vm is not None and
                    e.vm.id == vm.id]

    def live_migrate(self, server):
        self.api.post_server_action(server['id'], {
            'os-migrateLive': {'host': None, 'block_migration': 'auto'}})

    def wait_for_migration(self, server, kind, statuses):
        deadline = time.monotonic() + self.WAIT_TIMEOUT
        found = []
        while time.monotonic() < deadline:
            found = [m for m in self.api.api_get(
                '/os-migrations?instance_uuid=%s' % server['id']
            ).body['migrations'] if m['migration_type'] == kind]
            if found and found[0]['status'] in statuses:
                return found[0]
            time.sleep(0.2)
        self.fail('no %s of %s in status %s (found %s)' % (
            kind, server['id'], statuses, found))

    def action_event_details(self, server, action):
        """{event name: details} of the server's latest ``action``."""
        (latest,) = [a for a in self.api.get_instance_actions(server['id'])
                     if a['action'] == action][:1]
        events = self.api.get_instance_action_details(
            server['id'], latest['request_id'])['events']
        return {e['event']: e.get('details') for e in events
                if e['result'] == 'Error'}

    def assertStaysOn(self, server, host, cluster, vm_id):
        server = self._wait_for_server_parameter(server, {
            'status': 'ACTIVE', 'OS-EXT-STS:task_state': None,
            'OS-EXT-SRV-ATTR:host': host,
            'OS-EXT-SRV-ATTR:hypervisor_hostname': cluster})
        vm = self.sim_vm(server)
        self.assertEqual((vm_id, 'up', cluster),
                         (vm.id, vm.status.value, self.cluster_name(vm)))
        return server

    def assertAllocatedOn(self, server, cluster):
        allocations = self._get_allocations_by_server_uuid(server['id'])
        node = self._get_provider_uuid_by_host(cluster)
        self.assertEqual({'VCPU': 1, 'MEMORY_MB': 512},
                         allocations.pop(node)['resources'])
        # The disk stays on the storage domain's sharing provider.
        (disk,) = allocations.values()
        self.assertEqual({'DISK_GB': 1}, disk['resources'])

    # -- tests ---------------------------------------------------------------

    def test_live_migration_moves_the_running_vm(self):
        server = self.boot_on('compute-east')
        before = self.sim_vm(server)
        self.enable_only('compute-west')

        self.live_migrate(server)
        migration = self.wait_for_migration(
            server, 'live-migration', ['completed', 'error', 'failed'])
        self.assertEqual('completed', migration['status'])
        self.assertEqual(('compute-east', 'cluster1', 'compute-west',
                          'cluster3'),
                         (migration['source_compute'],
                          migration['source_node'], migration['dest_compute'],
                          migration['dest_node']))
        server = self.assertStaysOn(server, 'compute-west', 'cluster3',
                                    before.id)
        # The same VM moved while running: started once, never down.
        vm = self.sim_vm(server)
        self.assertEqual(before.start_time, vm.start_time)
        self.assertEqual(1, len(self.vm_events(vm, STARTED)))
        self.assertEqual(1, len(self.vm_events(vm, DONE)))
        self.assertEqual([], self.vm_events(vm, VM_DOWN))
        self.assertAllocatedOn(server, 'cluster3')
        # The new service manages it: a stop reaches the VM.
        self._stop_server(server)
        self.assertEqual('down', self.sim_vm(server).status.value)

    def test_refused_live_migration_says_why_and_moves_nothing(self):
        server = self.boot_on('compute-east')
        vm = self.sim_vm(server)
        self.enable_only('compute-amd')

        self.live_migrate(server)
        migration = self.wait_for_migration(
            server, 'live-migration', ['completed', 'error', 'failed'])
        self.assertEqual('error', migration['status'])
        self.assertStaysOn(server, 'compute-east', 'cluster1', vm.id)
        details = self.action_event_details(server, 'live-migration')
        self.assertIn('different CPU types', ' '.join(
            d or '' for d in details.values()), details)
        self.assertEqual([], self.vm_events(vm, STARTED))
        self.assertAllocatedOn(server, 'cluster1')

    def test_failure_mid_way_leaves_the_vm_running_at_the_source(self):
        server = self.boot_on('compute-east')
        vm = self.sim_vm(server)
        self.enable_only('compute-west')
        self.sim.faults.fail_migrations(
            error='Fatal error during migration')

        self.live_migrate(server)
        migration = self.wait_for_migration(
            server, 'live-migration', ['completed', 'error', 'failed'])
        self.assertEqual('failed', migration['status'])
        self.assertStaysOn(server, 'compute-east', 'cluster1', vm.id)
        details = self.action_event_details(server, 'live-migration')
        self.assertIn('Fatal error during migration',
                      details.get('ovirt_live_migration') or '', details)
        self.assertEqual(1, len(self.vm_events(vm, FAILED)))
        self.assertAllocatedOn(server, 'cluster1')

    def test_abort_cancels_the_engine_migration(self):
        server = self.boot_on('compute-east')
        vm = self.sim_vm(server)
        self.enable_only('compute-west')
        # Long enough to abort it while it runs.
        self.sim.store.delays['vm_migrate'] = 60

        self.live_migrate(server)
        migration = self.wait_for_migration(server, 'live-migration',
                                            ['running'])
        base.wait_until(lambda: self.sim_vm(server).status.value ==
                        'migrating', self.WAIT_TIMEOUT)
        self.api.api_delete('/servers/%s/migrations/%s' % (
            server['id'], migration['id']), check_response_status=[202])
        migration = self.wait_for_migration(
            server, 'live-migration', ['completed', 'error', 'failed',
                                       'cancelled'])
        self.assertEqual('cancelled', migration['status'])
        self.assertStaysOn(server, 'compute-east', 'cluster1', vm.id)
        self.assertEqual(1, len(self.vm_events(vm, CANCELLED)))
        self.assertEqual([], self.vm_events(vm, DONE))
        self.assertAllocatedOn(server, 'cluster1')

    def test_evacuation_only_once_the_engine_reports_the_vm_down(self):
        server = self.boot_on('compute-east')
        vm = self.sim_vm(server)
        self.enable_only('compute-west')
        (east,) = self.api.get_services(binary='nova-compute',
                                        host='compute-east')
        self.api.put_service(east['id'], {'forced_down': True})

        # The service is down, not the VM: no second copy.
        self.api.post_server_action(server['id'], {'evacuate': {}})
        migration = self.wait_for_migration(
            server, 'evacuation', ['done', 'error', 'failed'])
        self.assertEqual('failed', migration['status'])
        self.assertStaysOn(server, 'compute-east', 'cluster1', vm.id)
        details = self.action_event_details(server, 'evacuate')
        self.assertIn('the oVirt engine reports VM %s up' % vm.name,
                      details.get('compute_rebuild_instance') or '', details)
        self.assertAllocatedOn(server, 'cluster1')

        # The engine reports it down (its host was fenced): the same VM
        # moves to the other service's cluster. Since microversion 2.95
        # an evacuated server stays stopped until its owner starts it.
        self.sim.admin_stop_vm(vm.id)
        server = self._evacuate_server(
            server, expected_host='compute-west',
            expected_migration_status='done')
        moved = self.sim_vm(server)
        self.assertEqual((vm.id, 'cluster3'),
                         (moved.id, self.cluster_name(moved)))
        server = self._start_server(server)
        self.assertEqual('up', self.sim_vm(server).status.value)
        # nova keeps the source's allocation until the source service
        # comes back and cleans up after the evacuation.
        allocations = self._get_allocations_by_server_uuid(server['id'])
        self.assertEqual({'VCPU': 1, 'MEMORY_MB': 512}, allocations[
            self._get_provider_uuid_by_host('cluster3')]['resources'])
