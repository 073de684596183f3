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

"""The pure parts of live migration: data, URIs, XML, flags.

The migration itself runs between two real libvirtd hosts in
tests/functional/test_live_migration.py (libvirt's test driver cannot
migrate).
"""

from xml.etree import ElementTree as etree

import libvirt
from oslo_config import fixture as config_fixture
import testtools

import nova.conf
from nova import exception as nova_exception
from nova import objects

from nova_ovirt.pools.libvirt import live_migration

CONF = nova.conf.CONF
objects.register_all()

DOMAIN = """<domain type='qemu'>
  <devices>
    <disk type='file' device='disk'>
      <source file='/src/pool/u_disk'/><target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='/src/pool/u_disk.config'/><target dev='hda' bus='ide'/>
      <readonly/>
    </disk>
    <disk type='file' device='disk'>
      <source file='/elsewhere/foreign'/><target dev='vdb' bus='virtio'/>
    </disk>
    <serial type='pty'><log file='/src/pool/u_console.log' append='off'/>
      <target port='0'/></serial>
  </devices>
</domain>"""


class ConnectInfoTest(testtools.TestCase):

    def test_round_trip(self):
        value = live_migration.connect_info('qemu+tls://kvm2/system',
                                            '10.0.0.2')
        self.assertEqual(('qemu+tls://kvm2/system', '10.0.0.2'),
                         live_migration.parse_connect_info(value))

    def test_not_ours_is_refused_with_a_reason(self):
        e = self.assertRaises(nova_exception.MigrationPreCheckError,
                              live_migration.parse_connect_info, '10.0.0.2')
        self.assertIn('not a libvirt pool node', str(e))

    def test_migration_uri(self):
        self.assertIsNone(live_migration.migration_uri(None))
        self.assertEqual('tcp://127.0.0.1',
                         live_migration.migration_uri('127.0.0.1'))
        self.assertEqual('tcp://[fd00::2]',
                         live_migration.migration_uri('fd00::2'))


class DestinationXmlTest(testtools.TestCase):

    def test_volumes_move_to_the_destination_pool(self):
        xml = live_migration.destination_xml(DOMAIN, '/src/pool',
                                             '/dst/pool/')
        root = etree.fromstring(xml)
        self.assertEqual(
            ['/dst/pool/u_disk', '/dst/pool/u_disk.config',
             '/elsewhere/foreign'],
            [s.get('file') for s in root.findall('./devices/disk/source')])
        self.assertEqual('/dst/pool/u_console.log',
                         root.find('./devices/serial/log').get('file'))

    def test_writable_disks_are_mirrored_readonly_ones_copied(self):
        self.assertEqual(['vda', 'vdb'],
                         live_migration._disk_targets(DOMAIN))
        self.assertEqual(['/src/pool/u_disk.config'],
                         live_migration._readonly_disk_paths(DOMAIN))


class VolumeDiskTest(testtools.TestCase):
    """A Cinder volume (network disk) moves by reference, never by copy."""

    XML = """<domain><devices>
  <disk type='file' device='disk'><source file='/src/pool/u_disk'/>
    <target dev='vda'/></disk>
  <disk type='network' device='disk'>
    <source protocol='iscsi' name='iqn.2026-01.t:vol/1'>
      <host name='127.0.0.1' port='3260'/>
      <initiator><iqn name='iqn.x:compute.node1'/></initiator></source>
    <target dev='vdb'/><serial>vol</serial></disk>
</devices></domain>"""

    def test_network_disk_is_not_mirrored(self):
        self.assertEqual(['vda'], live_migration._disk_targets(self.XML))

    def test_destination_initiator_replaces_the_sources(self):
        value = live_migration.connect_info('qemu:///system', None,
                                            'iqn.x:compute.node2')
        xml = live_migration.destination_xml(
            self.XML, '/src/pool', '/dst/pool',
            live_migration.destination_initiator(value))
        self.assertEqual(['iqn.x:compute.node2'], [
            i.get('name') for i in etree.fromstring(xml).findall(
                './devices/disk/source/initiator/iqn')])


class FlagsTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(CONF))

    def data(self, block):
        data = objects.LibvirtLiveMigrateData()
        data.block_migration = block
        return data

    def test_shared_storage_moves_memory_only(self):
        flags = live_migration.LiveMigrationOps._flags(self.data(False))
        self.assertTrue(flags & libvirt.VIR_MIGRATE_LIVE)
        self.assertTrue(flags & libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)
        self.assertTrue(flags & libvirt.VIR_MIGRATE_PERSIST_DEST)
        self.assertFalse(flags & libvirt.VIR_MIGRATE_NON_SHARED_INC)
        self.assertFalse(flags & libvirt.VIR_MIGRATE_TLS)
        self.assertFalse(flags & libvirt.VIR_MIGRATE_POSTCOPY)

    def test_block_migration_is_incremental(self):
        flags = live_migration.LiveMigrationOps._flags(self.data(True))
        self.assertTrue(flags & libvirt.VIR_MIGRATE_NON_SHARED_INC)
        self.assertFalse(flags & libvirt.VIR_MIGRATE_NON_SHARED_DISK)

    def test_tls_and_post_copy_follow_nova_options(self):
        self.conf.config(live_migration_with_native_tls=True,
                         live_migration_permit_post_copy=True,
                         group='libvirt')
        flags = live_migration.LiveMigrationOps._flags(self.data(False))
        self.assertTrue(flags & libvirt.VIR_MIGRATE_TLS)
        self.assertTrue(flags & libvirt.VIR_MIGRATE_POSTCOPY)

    def test_completion_timeout_scales_with_data(self):
        self.conf.config(live_migration_completion_timeout=100,
                         group='libvirt')
        instance = objects.Instance(flavor=objects.Flavor(
            memory_mb=2048, root_gb=10, ephemeral_gb=0))
        self.assertEqual(200, live_migration.LiveMigrationOps.
                         _completion_timeout(instance, self.data(False)))
        self.assertEqual(1200, live_migration.LiveMigrationOps.
                         _completion_timeout(instance, self.data(True)))
