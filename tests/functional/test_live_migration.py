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

"""Live migration through nova's API between two real libvirt hosts.

Nova's conductor refuses a live migration to the source's own service
host, so the two libvirt hosts belong to two nova-compute services here,
``ovirt-a`` (pool ``kvm-a``, node1) and ``ovirt-b`` (pool ``kvm-b``,
node2). The test guest prints a counter on its serial console every
second: a guest moved live keeps counting, a restarted one starts at 1.
"""

import io
import json
import os
import re
import shutil
import subprocess
import time
from xml.etree import ElementTree as etree

import fixtures
import libvirt
from oslo_utils import units
from oslo_utils import uuidutils

from nova_ovirt.cmd import adopt as manage
from nova_ovirt import conf as ovirt_conf
from nova_ovirt.pools.libvirt import adopted_moves
from nova_ovirt.pools.libvirt import config as libvirt_config

from tests import base
from tests.fixtures import guest_image
from tests.fixtures import iscsi_target
from tests.functional import base as functional_base
from tests.functional import test_adopt
from tests.functional import test_host_maintenance
from tests.functional import test_volumes

SERVICES = {'node1': 'ovirt-a', 'node2': 'ovirt-b'}
POOLS = {'node1': 'kvm-a', 'node2': 'kvm-b'}
TICK = re.compile(re.escape(guest_image.GUEST_TICK) + r' (\d+)')


def ticks(text):
    return [int(n) for n in TICK.findall(text or '')]


class TwoServicesTestBase(functional_base.OvirtFunctionalTestBase):
    """Two services, one libvirt node each."""

    # Two nova-compute services in this process: each gets its own
    # compute node identity from nova's fixture.
    STUB_COMPUTE_ID = True
    # The abort test acts while the migration runs: casts stay casts.
    CAST_AS_CALL = False

    def _setup_compute_service(self):
        # The driver reads [ovirt] pools when it starts: each service
        # starts with its own pool of one node.
        for node, uri in zip(functional_base.NODES, self.hosts.uris):
            # The test hosts receive migrations on loopback.
            base.configure_libvirt_pool(
                self, POOLS[node], [(node, uri)], self.hosts.domain_type,
                live_migration_inbound_addr='127.0.0.1',
                **self.pool_options())
        computes = []
        for node in functional_base.NODES:
            self.flags(pools=[POOLS[node]], group='ovirt')
            computes.append(self._start_compute(SERVICES[node]))
        return computes[0]

    def pool_options(self):
        """Further options of both pools."""
        return {}

    # -- helpers --------------------------------------------------------------

    def _boot_running(self):
        # No NIC: the two test hosts share one network namespace, where
        # the destination cannot create a second tap of the same name
        # (separate machines can, as nova's libvirt driver relies on).
        server = self._boot(networks='none')
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertGuestBooted(server)
        self._wait_for_ticks(server, 3)
        return self._refresh(server)

    def _wait_for_ticks(self, server, count):
        return base.wait_until(
            lambda: len(ticks(self.console_log(server))) >= count, 60,
            interval=0.5, message='%d counter ticks on the console of %s' % (
                count, server['id']))

    def _other_node(self, server):
        return [n for n in functional_base.NODES
                if n != self.node_of(server)][0]

    def _migrate_live(self, server, node):
        self.admin_api.post_server_action(server['id'], {
            'os-migrateLive': {'host': SERVICES[node],
                               'block_migration': 'auto'}})

    def _wait_for_server_on(self, server, node, status='ACTIVE'):
        return self._wait_for_server_parameter(server, {
            'status': status, 'OS-EXT-STS:task_state': None,
            'OS-EXT-SRV-ATTR:hypervisor_hostname': node,
            'OS-EXT-SRV-ATTR:host': SERVICES[node]})

    def _migration(self, server, statuses):
        deadline = time.monotonic() + self.WAIT_TIMEOUT
        while time.monotonic() < deadline:
            found = [m for m in self.admin_api.api_get(
                '/os-migrations?instance_uuid=%s' % server['id']
            ).body['migrations'] if m['migration_type'] == 'live-migration']
            if found and found[0]['status'] in statuses:
                return found[0]
            time.sleep(0.5)
        self.fail('no live migration of %s in status %s (found %s)' % (
            server['id'], statuses, found))

    def _abort_libvirt_jobs(self):
        """A failed test must not leave a slow migration running."""
        for host in self.hosts.hosts:
            conn = host.conn()
            try:
                for domain in conn.listAllDomains(0):
                    try:
                        domain.abortJob()
                    except libvirt.libvirtError:
                        pass  # no job
            finally:
                conn.close()

    def _volumes_of(self, node, server):
        return [v for v in self.host_of_node[node].volume_names()
                if server['id'] in v]

    def _update_service(self, node, body):
        service = [s for s in self.admin_api.api_get(
            '/os-services?binary=nova-compute').body['services']
            if s['host'] == SERVICES[node]][0]
        self.admin_api.api_put('/os-services/%s' % service['id'], body)

    def _start_again(self, node):
        """A new nova-compute process for the node's service."""
        self.flags(pools=[POOLS[node]], group='ovirt')
        cell = self.host_mappings[SERVICES[node]].cell_mapping.name
        compute = self.start_service('compute', host=SERVICES[node],
                                     cell_name=cell)
        self.computes[SERVICES[node]] = compute
        return compute


class LiveMigrationTest(TwoServicesTestBase):
    """Guests move between the two services' nodes."""

    # -- tests ----------------------------------------------------------------

    def test_live_migration_keeps_the_guest_running(self):
        server = self._boot_running()
        source, dest = self.node_of(server), self._other_node(server)
        before = ticks(self.console_log(server))

        self._migrate_live(server, dest)
        server = self._wait_for_server_on(server, dest)
        self.assertEqual('completed',
                         self._migration(server, ['completed'])['status'])

        # Running on the destination only; nothing left on the source.
        self.assertDomain(server, 'running')
        self.assertEqual([], self.host_of_node[source].domain_names())
        self.assertEqual([], self._volumes_of(source, server))
        # The counter went on: the destination's console log starts with
        # later ticks and the guest did not boot again.
        self._wait_for_ticks(server, 2)
        after = ticks(self.console_log(server))
        self.assertGreater(after[0], before[-1],
                           'counter restarted: %s after %s' % (after, before))
        self.assertNotIn(guest_image.GUEST_OK_LINE, self.console_log(server))
        # Placement followed.
        self.assertUsage(dest, 'ovirt-tiny')
        self.assertUsage(source)
        allocations = self._get_allocations_by_server_uuid(server['id'])
        self.assertEqual([self.node_uuids()[dest]], list(allocations))
        self._delete_and_check(server)

    def test_abort_leaves_the_guest_running_on_the_source(self):
        # 1 MiB/s: the guest's memory takes tens of seconds to copy.
        self.flags(live_migration_bandwidth=1, group='libvirt')
        self.addCleanup(self._abort_libvirt_jobs)
        server = self._boot_running()
        source, dest = self.node_of(server), self._other_node(server)

        self._migrate_live(server, dest)
        migration = self._migration(server, ['running'])
        # Progress reaches the API while the migration runs.
        progress = base.wait_until(
            lambda: [m for m in self.admin_api.api_get(
                '/servers/%s/migrations' % server['id']
            ).body['migrations'] if m['memory_processed_bytes']], 60,
            interval=0.5, message='migration progress in the API')
        self.assertGreater(progress[0]['memory_total_bytes'], 0)
        self.admin_api.api_delete('/servers/%s/migrations/%s' % (
            server['id'], migration['id']))

        self.assertEqual('cancelled',
                         self._migration(server, ['cancelled'])['status'])
        server = self._wait_for_server_on(server, source)
        self.assertDomain(server, 'running')
        self.assertEqual([], self.host_of_node[dest].domain_names())
        self.assertEqual([], self._volumes_of(dest, server))
        last = ticks(self.console_log(server))[-1]
        base.wait_until(
            lambda: ticks(self.console_log(server))[-1] > last, 30,
            interval=0.5, message='the counter to go on on the source')
        self.assertEqual(1, self.console_log(server).count(
            guest_image.GUEST_OK_LINE))
        self.assertUsage(source, 'ovirt-tiny')
        self.assertUsage(dest)
        self._delete_and_check(server)

    # -- host maintenance -----------------------------------------------------

    def _set_service(self, node, status):
        body = {'status': status}
        if status == 'disabled':
            body['disabled_reason'] = 'maintenance'
        self._update_service(node, body)

    def test_drain_a_host_for_maintenance(self):
        """The documented procedure: mark, host-evacuate-live, service.

        ``nova-ovirt-manage host maintenance`` takes the one host out of
        scheduling (other hosts of its service stay in);
        ``nova host-evacuate-live HOST`` live-migrates every server of the
        host with no destination named; the scheduler picks one.
        """
        # Both guests on node1 first.
        self._set_service('node2', 'disabled')
        servers = [self._boot_running() for _ in range(2)]
        self.assertEqual(['node1', 'node1'],
                         [self.node_of(s) for s in servers])
        self._set_service('node2', 'enabled')
        before = {s['id']: ticks(self.console_log(s))[-1] for s in servers}

        # Maintenance: node1 takes no new guests, its guests move away.
        test_host_maintenance.run_manage(
            self, SERVICES['node1'], POOLS['node1'],
            [('node1', self.host_of_node['node1'].uri)],
            self.hosts.domain_type, 'host', 'maintenance', 'node1', 'on')
        self._run_periodics()
        for server in servers:
            # Running on, untouched, while its host is out.
            self.assertDomain(server, 'running')
        for server in servers:
            self.admin_api.post_server_action(server['id'], {
                'os-migrateLive': {'host': None, 'block_migration': 'auto'}})
        servers = [self._wait_for_server_on(s, 'node2') for s in servers]

        self.assertEqual([], self.host_of_node['node1'].domain_names())
        for server in servers:
            self.assertDomain(server, 'running')
            self.assertEqual([], self._volumes_of('node1', server))
            self._wait_for_ticks(server, 2)
            self.assertGreater(ticks(self.console_log(server))[0],
                               before[server['id']])
        self.assertUsage('node1')
        usage = self.usage('node2')
        self.assertEqual(2 * self.flavors['ovirt-tiny']['ram'],
                         usage['MEMORY_MB'])
        # A new server goes to node2 while node1 is in maintenance.
        third = self._boot(networks='none')
        self.assertEqual('node2', self.node_of(
            self._wait_for_state_change(third, 'ACTIVE')))
        for server in servers + [third]:
            self._delete_and_check(server)

    # -- evacuate -------------------------------------------------------------

    def test_evacuate_rebuilds_elsewhere_and_the_old_host_is_cleaned(self):
        server = self._boot_running()
        source, dest = self.node_of(server), self._other_node(server)
        source_compute = self.computes[SERVICES[source]]
        # The source service is down (its host keeps running the guest,
        # as a host cut off from the network would).
        self._update_service(source, {'forced_down': True})

        self.admin_api.post_server_action(server['id'], {'evacuate': {}})
        # Since microversion 2.95 an evacuated server stays stopped on its
        # new node until its owner starts it.
        server = self._wait_for_server_on(server, dest, 'SHUTOFF')
        self._wait_for_migration_status(server, ['done'])
        self.api.post_server_action(server['id'], {'os-start': {}})
        server = self._wait_for_server_on(server, dest)
        # Rebuilt from its image on the destination: it booted there.
        self.assertGuestBooted(server)
        self.assertIn(server['id'] + '_disk', self._volumes_of(dest, server))
        self.assertEqual(['instance-%s' % server['id']],
                         self.host_of_node[source].domain_names())

        # The source service comes back and removes what it left.
        self.flags(pools=[POOLS[source]], group='ovirt')
        self.restart_compute_service(source_compute,
                                     keep_hypervisor_state=False)
        self._update_service(source, {'forced_down': False})
        base.wait_until(
            lambda: not self.host_of_node[source].domain_names() and
            not self._volumes_of(source, server), 60, interval=0.5,
            message='the evacuated guest removed from %s' % source)
        self.assertDomain(server, 'running')
        self.assertUsage(dest, 'ovirt-tiny')
        self.assertUsage(source)
        self._delete_and_check(server)

    def test_force_complete_pauses_until_done_then_runs_on_destination(self):
        # Slow enough to force; post-copy not permitted: the guest pauses.
        self.flags(live_migration_bandwidth=2, group='libvirt')
        self.addCleanup(self._abort_libvirt_jobs)
        server = self._boot_running()
        dest = self._other_node(server)
        before = ticks(self.console_log(server))[-1]

        self._migrate_live(server, dest)
        migration = self._migration(server, ['running'])
        base.wait_until(
            lambda: [m for m in self.admin_api.api_get(
                '/servers/%s/migrations' % server['id']
            ).body['migrations'] if m['memory_processed_bytes']], 60,
            interval=0.5, message='migration progress in the API')
        self.admin_api.api_post(
            '/servers/%s/migrations/%s/action' % (server['id'],
                                                  migration['id']),
            {'force_complete': None}, check_response_status=[202])

        server = self._wait_for_server_on(server, dest)
        self.assertEqual('completed',
                         self._migration(server, ['completed'])['status'])
        # Running again (not left paused) on the destination, still
        # counting on from where it was.
        self.assertDomain(server, 'running')
        self._wait_for_ticks(server, 2)
        self.assertGreater(ticks(self.console_log(server))[0], before)
        self.assertNotIn(guest_image.GUEST_OK_LINE, self.console_log(server))
        self._delete_and_check(server)


class SharedStorageEvacuationTest(TwoServicesTestBase):
    """Both hosts' storage pool is one directory, as an NFS export mounted
    at the same path on both would be."""

    SHARED_POOL = 'nova-ovirt-shared'

    def setUp(self):
        super().setUp()
        # The test hosts outlive the test; the pool's directory does not.
        self.addCleanup(self._drop_shared_pool)

    def _drop_shared_pool(self):
        for host in self.hosts.hosts:
            conn = host.conn()
            try:
                pool = conn.storagePoolLookupByName(self.SHARED_POOL)
                if pool.isActive():
                    pool.destroy()
                pool.undefine()
            except libvirt.libvirtError:
                pass  # never defined: the test failed before
            finally:
                conn.close()

    def pool_options(self):
        return {'storage_pool': self.SHARED_POOL,
                'storage_pool_path': os.path.join(self.state_path,
                                                  'shared-pool')}

    def test_evacuate_restarts_on_the_shared_disks_which_stay(self):
        # Not waited for up: it only has to boot on the destination.
        server = self._wait_for_state_change(self._boot(networks='none'),
                                             'ACTIVE')
        source, dest = self.node_of(server), self._other_node(server)
        root = [p for p in self.disk_paths(server) if p.endswith('_disk')]
        self.assertEqual(1, len(root), self.disk_paths(server))
        # A second name for the root disk's file: a disk made anew would
        # be another file, even at the same path.
        pinned = os.path.join(self.state_path, 'root-disk-before')
        os.link(root[0], pinned)

        # The source host fails: its nova-compute is gone and the operator
        # fenced the host (the guest must not write to its disks there).
        self.computes[SERVICES[source]].stop()
        self._update_service(source, {'forced_down': True})
        conn = self.host_of_node[source].conn()
        try:
            conn.lookupByUUIDString(server['id']).destroy()
        finally:
            conn.close()

        self.admin_api.post_server_action(server['id'], {'evacuate': {}})
        server = self._wait_for_server_on(server, dest, 'SHUTOFF')
        self._wait_for_migration_status(server, ['done'])
        self.assertEqual(root, [p for p in self.disk_paths(server)
                                if p.endswith('_disk')])
        self.assertTrue(os.path.samefile(pinned, root[0]),
                        'the evacuation made a new root disk')
        self.api.post_server_action(server['id'], {'os-start': {}})
        server = self._wait_for_server_on(server, dest)
        self.assertGuestBooted(server)

        # The source service comes back: it removes its old definition,
        # not the disks the destination's guest runs on.
        self._start_again(source)
        self._update_service(source, {'forced_down': False})
        base.wait_until(
            lambda: not self.host_of_node[source].domain_names(), 60,
            interval=0.5, message='the evacuated guest removed from %s'
            % source)
        self.assertTrue(os.path.samefile(pinned, root[0]),
                        'the shared root disk was removed')
        self.assertDomain(server, 'running')
        self.assertUsage(dest, 'ovirt-tiny')
        self.assertUsage(source)
        self._delete_and_check(server)
        self.assertFalse(os.path.exists(root[0]))


class VolumeLiveMigrationTest(TwoServicesTestBase):
    """An attached Cinder volume (iSCSI with CHAP) follows the guest."""

    def setUp(self):
        # Before nova's services: the target outlives every qemu session.
        self.target = self.useFixture(iscsi_target.IscsiTargetFixture())
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.CinderFixture',
            test_volumes.TargetCinderFixture))
        super().setUp()

    def _secrets_of(self, node, server):
        conn = self.host_of_node[node].conn()
        try:
            return [s.usageID() for s in conn.listAllSecrets(0)
                    if server['id'] in s.usageID()]
        finally:
            conn.close()

    def _volume_disk(self, server):
        for disk in etree.fromstring(self.domain(server).xml(0)).findall(
                'devices/disk'):
            if disk.get('type') == 'network':
                return disk
        return None

    def test_volume_follows_the_guest(self):
        server = self._boot_running()
        source, dest = self.node_of(server), self._other_node(server)
        volume_id = uuidutils.generate_uuid()
        lun = self.target.create_lun('live', 64 * units.Mi,
                                     username='live', password='live-pass')
        self.cinder.add_lun(volume_id, lun)
        self._attach_volume(server, volume_id)
        self.assertEqual(1, len(self._secrets_of(source, server)))
        self.assertTrue(self._volume_disk(server).find(
            'source/initiator/iqn').get('name').endswith('.' + source))
        before = ticks(self.console_log(server))

        self._migrate_live(server, dest)
        server = self._wait_for_server_on(server, dest)
        self.assertEqual('completed',
                         self._migration(server, ['completed'])['status'])

        # Block migration (no shared pool) copied the guest's own disks
        # only: the volume is the same network disk, read by the
        # destination's qemu with the secret defined there.
        self.assertDomain(server, 'running')
        disk = self._volume_disk(server)
        self.assertIsNotNone(disk, 'no volume disk on %s' % dest)
        self.assertEqual(volume_id, disk.findtext('serial'))
        self.assertEqual(('iscsi', '%s/1' % lun.iqn),
                         (disk.find('source').get('protocol'),
                          disk.find('source').get('name')))
        # qemu logged in again as the destination node's initiator.
        initiator = disk.find('source/initiator/iqn').get('name')
        self.assertTrue(initiator.endswith('.' + dest), initiator)
        base.wait_until(lambda: self.target.sessions(lun) == [initiator],
                        30, message='a session of %s only' % initiator)
        usage = disk.find('source/auth/secret').get('usage')
        self.assertEqual([usage], self._secrets_of(dest, server))
        self.assertEqual([], self._secrets_of(source, server))
        self.assertEqual([], self.host_of_node[source].domain_names())
        self.assertEqual('in-use', self.cinder.fake_get(
            None, volume_id)['status'])
        self._wait_for_ticks(server, 2)
        after = ticks(self.console_log(server))
        self.assertGreater(after[0], before[-1],
                           'counter restarted: %s after %s' % (after, before))
        self._delete_and_check(server)
        self.assertEqual([], self._secrets_of(dest, server))


class AdoptedLiveMigrationTest(TwoServicesTestBase):
    """An adopted domain moves with the operator's own definition; its
    disk, in a directory of the operator's, is copied into a file that
    the destination makes in its storage pool for that directory."""

    OPERATOR_DIR = test_adopt.OPERATOR_DIR

    def setUp(self):
        super().setUp()
        self.addCleanup(self._abort_libvirt_jobs)
        for host in self.hosts.hosts:
            os.makedirs(self._outside(host, ''), exist_ok=True)
            self.addCleanup(shutil.rmtree, self._outside(host, ''), True)

    @staticmethod
    def _outside(host, name):
        return test_adopt.operator_path(host, name)

    def _define_foreign(self, host, name):
        """A running domain of the operator's, without NIC (see
        _boot_running), its qcow2 overlay and serial log in
        OPERATOR_DIR."""
        disk = self._outside(host, name + '.qcow2')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b',
                        os.path.abspath(base.guest_image()), '-F', 'qcow2',
                        disk], check=True)
        xml = etree.fromstring(test_adopt.FOREIGN_DOMAIN_XML % {
            'type': self.hosts.domain_type, 'name': name, 'mac': '',
            'bridge': '', 'log': '%s/%s.log' % (self.OPERATOR_DIR, name),
            'disk': "<disk type='file' device='disk'><driver name='qemu' "
                    "type='qcow2'/><source file='%s/%s.qcow2'/><target "
                    "dev='vda' bus='virtio'/></disk>" % (
                        self.OPERATOR_DIR, name)})
        devices = xml.find('devices')
        devices.remove(devices.find('interface'))
        conn = host.conn()
        try:
            domain = conn.defineXML(etree.tostring(xml, encoding='unicode'))
            domain.create()
            return domain.UUIDString()
        finally:
            conn.close()

    def _definition(self, node, uuid):
        conn = self.host_of_node[node].conn()
        try:
            domain = conn.lookupByUUIDString(uuid)
            return (domain.isActive(), adopted_moves.without_metadata(
                domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)),
                domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                                libvirt_config.METADATA_NS, 0))
        finally:
            conn.close()

    def _domain_uuids(self, node):
        conn = self.host_of_node[node].conn()
        try:
            return [d.UUIDString() for d in conn.listAllDomains(0)]
        finally:
            conn.close()

    def _log(self, node, name):
        try:
            with open(self._outside(self.host_of_node[node], name + '.log'),
                      errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def _migration_in(self, server, kind, status):
        def found():
            return [m for m in self.admin_api.api_get(
                '/os-migrations?instance_uuid=%s' % server['id']
            ).body['migrations'] if m['migration_type'] == kind and
                m['status'] == status]
        base.wait_until(found, self.WAIT_TIMEOUT, interval=0.5,
                        message='a %s of %s in status %s' % (
                            kind, server['id'], status))

    def test_live_migration_copies_disks_and_keeps_the_definition(self):
        source, dest = functional_base.NODES
        source_host = self.host_of_node[source]
        uuid = self._define_foreign(source_host, 'legacy-lm')
        base.wait_until(lambda: ticks(self._log(source, 'legacy-lm')), 120,
                        interval=0.5, message='legacy-lm counting')
        group = ovirt_conf.pool_group_name(POOLS[source])
        backend = manage.LibvirtHosts(functional_base.CONF[group], group,
                                      SERVICES[source])
        self.addCleanup(backend.close)
        out = io.StringIO()
        server_id = manage.Manager(
            backend, test_adopt.FixtureCloud(self), out=out,
            boot_timeout=60).adopt(backend.select(names=['legacy-lm']),
                                   SERVICES[source])[uuid]
        self.assertIsNotNone(server_id, out.getvalue())
        server = self.admin_api.get_server(server_id)
        running, definition, mark = self._definition(source, uuid)
        self.assertTrue(running)

        # A cold move to the other host is refused and rolled back.
        self.admin_api.post_server_action(server_id, {'migrate': None})
        self._migration_in(server, 'migration', 'error')
        server = self._wait_for_server_on(server, source)
        self.assertEqual((True, definition, mark),
                         self._definition(source, uuid))

        # The destination has no storage pool for the disk's directory:
        # refused before anything is made there.
        self._migrate_live(server, dest)
        self._migration_in(server, 'live-migration', 'error')
        server = self._wait_for_server_on(server, source)
        self.assertEqual([], self._domain_uuids(dest))
        self.assertEqual([], os.listdir(self._outside(
            self.host_of_node[dest], '')))
        self.assertIn('has no active storage pool for %s' %
                      self.OPERATOR_DIR, self._instance_faults(server_id))

        test_adopt.add_operator_pool(self, self.host_of_node[dest])
        before = ticks(self._log(source, 'legacy-lm'))
        self._migrate_live(server, dest)
        server = self._wait_for_server_on(server, dest)
        self._migration_in(server, 'live-migration', 'completed')

        # The same domain, with the operator's definition, runs there
        # only; the mark names the instance and the destination's node.
        self.assertEqual([], self._domain_uuids(source))
        running, moved, moved_mark = self._definition(dest, uuid)
        self.assertTrue(running)
        self.assertEqual(definition, moved)
        self.assertEqual((server_id, server['name']),
                         libvirt_config.metadata_owner(moved_mark, uuid))
        self.assertIn('node="%s"' % dest, moved_mark.replace("'", '"'))
        # Its counter went on, the guest did not boot again.
        base.wait_until(lambda: ticks(self._log(dest, 'legacy-lm')), 60,
                        interval=0.5, message='ticks on %s' % dest)
        after = ticks(self._log(dest, 'legacy-lm'))
        self.assertGreater(after[0], before[-1],
                           'counter restarted: %s after %s' % (after, before))
        self.assertNotIn(guest_image.GUEST_OK_LINE,
                         self._log(dest, 'legacy-lm'))
        # A standalone copy of the disk there; the source's file stays.
        dest_disk = self._outside(self.host_of_node[dest], 'legacy-lm.qcow2')
        info = json.loads(subprocess.run(
            ['qemu-img', 'info', '-U', '--output=json', dest_disk],
            check=True, capture_output=True).stdout)
        self.assertEqual('qcow2', info['format'])
        self.assertNotIn('backing-filename', info)
        self.assertTrue(os.path.exists(self._outside(source_host,
                                                     'legacy-lm.qcow2')))
        self.assertEqual([self.node_uuids()[dest]], list(
            self._get_allocations_by_server_uuid(server_id)))

    def _instance_faults(self, server_id):
        actions = self.admin_api.api_get(
            '/servers/%s/os-instance-actions' % server_id).body[
            'instanceActions']
        text = []
        for action in actions:
            detail = self.admin_api.api_get(
                '/servers/%s/os-instance-actions/%s' % (
                    server_id, action['request_id'])).body['instanceAction']
            text += [str(e) for e in detail.get('events', [])]
        return '\n'.join(text)
