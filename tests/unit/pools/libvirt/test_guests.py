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

"""Guest lifecycle against libvirt's test driver.

The test driver has no volume upload/download/resize, so the paths that
stream bytes (first upload of an image, config drive, snapshot upload,
disk copies of resize and migration) are left to the live tier; here a
seeded base volume stands for an image uploaded by an earlier boot.
"""

from unittest import mock
from xml.etree import ElementTree as etree

import fixtures
import libvirt

from nova.compute import power_state
from nova import exception as nova_exception
from nova.network import model as network_model
from nova import objects
from nova.virt import event as virtevent

from nova_ovirt import exception
from nova_ovirt.pools.libvirt import config
from nova_ovirt.pools.libvirt import errors
from nova_ovirt.pools.libvirt import images
from nova_ovirt.pools.libvirt import migration
from nova_ovirt.pools.libvirt import vmops
from tests.unit.pools.libvirt import base


def foreign_domain_xml(uuid, name):
    return ("<domain type='kvm'><name>%s</name><uuid>%s</uuid>"
            "<memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm"
            "</type></os></domain>" % (name, uuid))


def bridge_vif(mac='fa:16:3e:00:00:01', port_id='port-1'):
    return network_model.VIF(
        id=port_id, address=mac, type='bridge', devname='tap' + port_id,
        network=network_model.Network(id='net', bridge='br100'))


class GuestTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.pool = self.make_pool(['n1=' + self.private_uri()])
        self.host = self.pool.node_host('n1')
        self.conn = self.host.connection
        self.seed_base_image(self.host)

    def spawn(self, instance=None, network_info=None, power_on=True,
              **flavor):
        instance = instance or self.make_instance('n1', **flavor)
        self.pool.spawn(self.context, instance, self.image_meta(), [], None,
                        {}, network_info or [], power_on=power_on)
        return instance

    def domain(self, instance):
        return self.conn.lookupByUUIDString(instance.uuid)

    def state(self, instance):
        return self.pool.get_info(instance, use_cache=False).state

    def volume_names(self):
        return sorted(self.host.storage.names())


class SpawnTest(GuestTestCase):

    def test_spawn_runs_guest_with_instance_uuid_and_metadata(self):
        instance = self.spawn()
        domain = self.domain(instance)
        self.assertEqual(instance.uuid, domain.UUIDString())
        self.assertEqual('instance-' + instance.uuid, domain.name())
        self.assertEqual(instance.uuid, config.metadata_instance_uuid(
            domain.XMLDesc(0)))
        self.assertEqual(power_state.RUNNING, self.state(instance))
        self.assertEqual([instance.uuid], self.pool.list_instance_uuids())
        self.assertTrue(self.pool.instance_exists(instance))

    def test_root_disk_is_overlay_of_base_volume(self):
        instance = self.make_instance('n1', root_gb=2)
        with mock.patch.object(self.host.storage, 'create',
                               wraps=self.host.storage.create) as create:
            self.spawn(instance)
        root_call = [c for c in create.call_args_list
                     if c.args[0] == instance.uuid + '_disk'][0]
        name, capacity, fmt, backing, backing_format = root_call.args
        self.assertEqual((2 * 1024 ** 3, 'qcow2', 'qcow2'),
                         (capacity, fmt, backing_format))
        self.assertEqual(images.base_volume_name(base.IMAGE_ID),
                         backing.name())
        disks = etree.fromstring(self.domain(instance).XMLDesc(0)).findall(
            'devices/disk')
        self.assertEqual(['vda'], [d.find('target').get('dev')
                                   for d in disks])

    def test_root_gb_zero_takes_image_virtual_size(self):
        instance = self.make_instance('n1', root_gb=0)
        self.spawn(instance)
        root = self.host.storage.lookup(instance.uuid + '_disk')
        self.assertEqual(base.IMAGE_SIZE, root.info()[1])

    def test_ephemeral_and_swap_disks(self):
        instance = self.spawn(ephemeral_gb=1, swap=64)
        names = self.volume_names()
        for suffix in ('_disk', '_disk.eph0', '_disk.swap', '_console.log'):
            self.assertIn(instance.uuid + suffix, names)
        disks = etree.fromstring(self.domain(instance).XMLDesc(0)).findall(
            'devices/disk')
        self.assertEqual(['vda', 'vdb', 'vdc'],
                         [d.find('target').get('dev') for d in disks])

    def test_second_boot_uploads_nothing(self):
        self.spawn()
        self.spawn()
        self.assertEqual(0, self.pool.stats['image_bytes_uploaded'])
        self.assertEqual(2, self.pool.stats['image_reuses'])
        self.assertEqual(2, self.pool.stats['nodes']['n1']['image_reuses'])

    def test_interfaces_from_network_info(self):
        instance = self.spawn(network_info=[bridge_vif()])
        [interface] = config.interfaces_of(self.domain(instance).XMLDesc(0))
        self.assertEqual('fa:16:3e:00:00:01',
                         interface.find('mac').get('address'))

    def test_failed_spawn_removes_what_it_created_but_keeps_base(self):
        instance = self.make_instance('n1', ephemeral_gb=1, swap=64)
        bad = network_model.VIF(id='p9', address='fa:16:3e:00:00:09',
                                type='vhostuser', network=None)
        self.assertRaises(errors.UnsupportedVifType, self.spawn, instance,
                          network_info=[bad])
        self.assertEqual([images.base_volume_name(base.IMAGE_ID)],
                         self.volume_names())
        self.assertFalse(self.pool.instance_exists(instance))

    def test_failed_start_reports_node_and_guest(self):
        instance = self.make_instance('n1')
        with mock.patch.object(libvirt.virDomain, 'create',
                               side_effect=libvirt.libvirtError('no kvm')):
            e = self.assertRaises(exception.BackendOperationFailed,
                                  self.spawn, instance)
        self.assertIn('Starting guest instance-%s on node n1' %
                      instance.uuid, str(e))
        self.assertIn('no kvm', str(e))
        self.assertFalse(self.pool.instance_exists(instance))

    def test_unsupported_image_format(self):
        instance = self.make_instance('n1')
        self.assertRaises(
            nova_exception.ImageUnacceptable, self.pool.spawn, self.context,
            instance, self.image_meta(disk_format='vmdk'), [], None, {}, [])

    def test_incomplete_base_volume_is_replaced(self):
        # The test driver cannot upload: the replacement upload fails, and
        # what matters here is that the short volume was not trusted.
        self.host.storage.delete(images.base_volume_name(base.IMAGE_ID))
        self.seed_base_image(self.host, size=1024)
        self.assertRaises(exception.BackendOperationFailed, self.spawn)
        self.assertIsNone(self.host.storage.lookup(
            images.base_volume_name(base.IMAGE_ID)))


class OwnershipTest(GuestTestCase):

    def setUp(self):
        super().setUp()
        self.instance = self.make_instance('n1')
        # An operator's guest that merely looks like a Nova instance.
        self.conn.defineXML(foreign_domain_xml(
            self.instance.uuid, 'instance-' + self.instance.uuid))

    def test_foreign_domain_is_invisible(self):
        self.assertEqual([], self.pool.list_instance_uuids())
        self.assertEqual([], self.pool.list_instances())
        self.assertFalse(self.pool.instance_exists(self.instance))
        self.assertRaises(nova_exception.InstanceNotFound,
                          self.pool.get_info, self.instance)

    def test_foreign_domain_is_never_destroyed(self):
        self.domain(self.instance).create()
        self.pool.destroy(self.context, self.instance, [])
        self.assertTrue(self.domain(self.instance).isActive())
        self.assertRaises(nova_exception.InstanceNotFound,
                          self.pool.power_off, self.instance)
        self.assertTrue(self.domain(self.instance).isActive())

    def test_spawn_refuses_to_take_over_foreign_uuid(self):
        self.assertRaises(exception.BackendOperationFailed, self.spawn,
                          self.instance)
        self.assertIsNone(config.metadata_instance_uuid(
            self.domain(self.instance).XMLDesc(0)))

    def test_owned_and_foreign_side_by_side(self):
        mine = self.spawn()
        self.assertEqual([mine.uuid], self.pool.list_instance_uuids())


class PowerTest(GuestTestCase):

    def setUp(self):
        super().setUp()
        self.instance = self.spawn(ephemeral_gb=1)

    def test_power_state_mapping(self):
        self.assertEqual(power_state.SHUTDOWN,
                         vmops.map_power_state(libvirt.VIR_DOMAIN_SHUTOFF))
        self.assertEqual(power_state.RUNNING,
                         vmops.map_power_state(libvirt.VIR_DOMAIN_BLOCKED))
        self.assertEqual(power_state.CRASHED,
                         vmops.map_power_state(libvirt.VIR_DOMAIN_CRASHED))
        self.assertEqual(power_state.SUSPENDED,
                         vmops.map_power_state(
                             libvirt.VIR_DOMAIN_PMSUSPENDED))
        self.assertEqual(power_state.NOSTATE, vmops.map_power_state(99))

    def test_power_off_clean_and_on(self):
        self.pool.power_off(self.instance, timeout=5, retry_interval=1)
        self.assertEqual(power_state.SHUTDOWN, self.state(self.instance))
        self.pool.power_on(self.context, self.instance, [])
        self.assertEqual(power_state.RUNNING, self.state(self.instance))

    def test_power_off_hard_when_shutdown_is_ignored(self):
        with mock.patch.object(libvirt.virDomain, 'shutdown') as shutdown:
            self.pool.power_off(self.instance, timeout=1, retry_interval=0.3)
        self.assertGreaterEqual(shutdown.call_count, 2)
        self.assertEqual(power_state.SHUTDOWN, self.state(self.instance))

    def test_pause_unpause(self):
        self.pool.pause(self.instance)
        self.assertEqual(power_state.PAUSED, self.state(self.instance))
        self.pool.unpause(self.instance)
        self.assertEqual(power_state.RUNNING, self.state(self.instance))

    def test_suspend_resume_uses_managed_save(self):
        self.pool.suspend(self.context, self.instance)
        self.assertTrue(self.domain(self.instance).hasManagedSaveImage(0))
        self.assertEqual(power_state.SHUTDOWN, self.state(self.instance))
        self.pool.resume(self.context, self.instance, [])
        self.assertEqual(power_state.RUNNING, self.state(self.instance))

    def test_soft_and_hard_reboot(self):
        self.pool.reboot(self.context, self.instance, [], 'SOFT')
        self.assertEqual(power_state.RUNNING, self.state(self.instance))
        self.pool.reboot(self.context, self.instance, [], 'HARD')
        self.assertEqual(power_state.RUNNING, self.state(self.instance))

    def test_resume_state_on_host_boot(self):
        self.domain(self.instance).destroy()
        self.pool.resume_state_on_host_boot(self.context, self.instance, [],
                                            None)
        self.assertEqual(power_state.RUNNING, self.state(self.instance))

    def test_destroy_is_idempotent_and_removes_disks(self):
        self.pool.destroy(self.context, self.instance, [])
        self.pool.destroy(self.context, self.instance, [])
        self.assertFalse(self.pool.instance_exists(self.instance))
        self.assertEqual([images.base_volume_name(base.IMAGE_ID)],
                         self.volume_names())

    def test_destroy_can_keep_disks(self):
        self.pool.destroy(self.context, self.instance, [],
                          destroy_disks=False)
        self.assertFalse(self.pool.instance_exists(self.instance))
        self.assertIn(self.instance.uuid + '_disk', self.volume_names())

    def test_destroy_after_respawn_keeps_uuid(self):
        self.pool.destroy(self.context, self.instance, [])
        self.spawn(self.instance)
        self.assertEqual(self.instance.uuid,
                         self.domain(self.instance).UUIDString())

    def test_missing_instance(self):
        other = self.make_instance('n1')
        self.assertRaises(nova_exception.InstanceNotFound,
                          self.pool.get_info, other)
        self.assertRaises(nova_exception.InstanceNotFound,
                          self.pool.reboot, self.context, other, [], 'HARD')

    def test_instance_without_node_is_found(self):
        self.instance.node = None
        self.assertEqual(power_state.RUNNING,
                         self.pool.get_info(self.instance).state)

    def test_vnc_console_needs_a_port(self):
        # The test driver never assigns a VNC port.
        self.assertRaises(nova_exception.ConsoleTypeUnavailable,
                          self.pool.get_vnc_console, self.context,
                          self.instance)

    def test_vnc_console_reports_live_port(self):
        running = self.domain(self.instance).XMLDesc(0).replace(
            "port='-1'", "port='5907'")
        with mock.patch.object(libvirt.virDomain, 'XMLDesc',
                               return_value=running):
            console = self.pool.get_vnc_console(self.context, self.instance)
        self.assertEqual(('127.0.0.1', 5907), (console.host, console.port))


class CacheAndEventsTest(GuestTestCase):

    def test_get_info_lists_once_per_ttl(self):
        instances = [self.spawn() for _ in range(3)]
        # A lifecycle event marks the listing stale (as it should); let the
        # spawns' events arrive first so that only get_info is counted.
        for instance in instances:
            self.wait_for(
                lambda i=instance: virtevent.EVENT_LIFECYCLE_STARTED in
                self._transitions(i), message='started event')
        with mock.patch.object(self.host, '_list_states',
                               wraps=self.host._list_states) as listing:
            self.host.invalidate()
            for instance in instances:
                self.pool.get_info(instance)
            for instance in instances:
                self.pool.get_info(instance)
        self.assertEqual(1, listing.call_count)

    def test_ttl_zero_always_lists(self):
        self.conf_fixture.config(power_state_cache_ttl=0, group='ovirt')
        instance = self.spawn()
        with mock.patch.object(self.host, '_list_states',
                               wraps=self.host._list_states) as listing:
            self.pool.get_info(instance)
            self.pool.get_info(instance)
        self.assertEqual(2, listing.call_count)

    def test_guest_stopping_by_itself_emits_stopped(self):
        instance = self.spawn()
        self.wait_for(lambda: self._transitions(instance),
                      message='started event')
        self.domain(instance).destroy()  # as if the guest powered off
        self.wait_for(lambda: virtevent.EVENT_LIFECYCLE_STOPPED in
                      self._transitions(instance), message='stopped event')
        self.assertEqual(power_state.SHUTDOWN,
                         self.pool.get_info(instance).state)

    def test_pause_emits_paused_and_resumed(self):
        instance = self.spawn()
        self.pool.pause(instance)
        self.pool.unpause(instance)
        self.wait_for(lambda: virtevent.EVENT_LIFECYCLE_RESUMED in
                      self._transitions(instance), message='resumed event')
        self.assertIn(virtevent.EVENT_LIFECYCLE_PAUSED,
                      self._transitions(instance))

    def test_foreign_domains_emit_nothing(self):
        foreign = self.conn.defineXML(foreign_domain_xml(
            '99999999-2222-3333-4444-555555555555', 'someone-else'))
        self.pool.list_instance_uuids()
        foreign.create()
        foreign.destroy()
        mine = self.spawn()
        self.wait_for(lambda: self._transitions(mine), message='own event')
        self.queue.drain()
        self.assertEqual({mine.uuid}, {e.uuid for e in self.events})

    def _transitions(self, instance):
        self.queue.drain()
        return [e.transition for e in self.events
                if e.uuid == instance.uuid]


class RescueAndInterfacesTest(GuestTestCase):

    def test_rescue_boots_rescue_image_with_root_second(self):
        instance = self.spawn()
        rescue_image = 'bbbbbbbb-1111-2222-3333-444444444444'
        self.seed_base_image(self.host, image_id=rescue_image)
        self.pool.rescue(self.context, instance, [],
                         # No rescue password: its config drive needs an
                         # upload, which the test driver cannot do (the
                         # functional tier tests the password).
                         self.image_meta(image_id=rescue_image), None, None,
                         None)
        disks = etree.fromstring(self.domain(instance).XMLDesc(0)).findall(
            'devices/disk')
        self.assertEqual(
            [(instance.uuid + '_disk.rescue', 'vda'),
             (instance.uuid + '_disk', 'vdb')],
            [(d.find('source').get('file').rsplit('/', 1)[1],
              d.find('target').get('dev')) for d in disks])
        self.pool.unrescue(self.context, instance)
        disks = etree.fromstring(self.domain(instance).XMLDesc(0)).findall(
            'devices/disk')
        self.assertEqual(['vda'], [d.find('target').get('dev')
                                   for d in disks])
        self.assertNotIn(instance.uuid + '_disk.rescue', self.volume_names())
        self.assertEqual(power_state.RUNNING, self.state(instance))

    def test_unrescue_keeps_interfaces(self):
        instance = self.spawn(network_info=[bridge_vif()])
        self.seed_base_image(self.host, image_id='cccccccc-1111-2222-3333-'
                                                 '444444444444')
        self.pool.rescue(self.context, instance, [bridge_vif()],
                         self.image_meta(image_id='cccccccc-1111-2222-3333-'
                                                  '444444444444'),
                         None, None, None)
        self.pool.unrescue(self.context, instance)
        self.assertEqual(1, len(config.interfaces_of(
            self.domain(instance).XMLDesc(0))))

    def test_attach_interface_failure_is_nova_error(self):
        # The test driver cannot hot-plug; the error must be nova's.
        instance = self.spawn()
        self.assertRaises(nova_exception.InterfaceAttachFailed,
                          self.pool.attach_interface, self.context, instance,
                          None, bridge_vif('fa:16:3e:00:00:02', 'p2'))

    def test_detach_unknown_port_is_noop(self):
        instance = self.spawn()
        self.pool.detach_interface(self.context, instance,
                                   bridge_vif('fa:16:3e:00:00:07', 'p7'))


class ResizeTest(GuestTestCase):

    def test_disk_shrink_is_rolled_back(self):
        instance = self.spawn(root_gb=2)
        smaller = objects.Flavor(name='s', memory_mb=64, vcpus=1, root_gb=1,
                                 ephemeral_gb=0, swap=0, extra_specs={})
        e = self.assertRaises(nova_exception.InstanceFaultRollback,
                              self.pool.migrate_disk_and_power_off,
                              self.context, instance, 'compute1', smaller,
                              [])
        self.assertIsInstance(e.inner_exception, nova_exception.ResizeError)
        self.assertEqual(power_state.RUNNING, self.state(instance))

    def test_migrate_disk_and_power_off_stops_guest(self):
        instance = self.spawn()
        bigger = objects.Flavor(name='b', memory_mb=128, vcpus=2, root_gb=2,
                                ephemeral_gb=0, swap=0, extra_specs={})
        disk_info = self.pool.migrate_disk_and_power_off(
            self.context, instance, 'compute1', bigger, [], timeout=1,
            retry_interval=1)
        self.assertIn('"source_node": "n1"', disk_info)
        self.assertEqual(power_state.SHUTDOWN, self.state(instance))


class WarmMergeTest(GuestTestCase):
    """The merge of a warm copy on a hypervisor without block jobs (the
    test driver): the guest keeps running on its root and the warm copy,
    and deleting the server removes both. The pull itself runs in the
    functional tier (tests/functional/test_warm_move.py)."""

    def test_without_block_jobs_the_guest_keeps_its_warm_copy(self):
        instance = self.spawn()
        scratch = vmops.volume_name(instance.uuid, migration.IMPORT)
        self.host.storage.create(scratch, 1024 ** 2, 'raw')
        logs = self.useFixture(fixtures.FakeLogger(level='WARNING'))
        self.assertFalse(migration.merge_warm_copy(
            self.host, instance, self.domain(instance), scratch))
        self.assertIn('The root disk of %s stays on its warm copy %s: ' % (
            instance.uuid, scratch), logs.output)
        self.assertIn('virDomainBlockPull', logs.output)
        self.assertEqual(power_state.RUNNING, self.state(instance))
        self.assertIn(scratch, self.volume_names())

        self.pool.destroy(self.context, instance, [])
        self.assertEqual([], [n for n in self.volume_names()
                              if instance.uuid in n])
