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

"""The definition edits of adopted domains' moves (adopted_moves)."""

import json
from xml.etree import ElementTree as etree

from nova import exception as nova_exception
from nova import objects
from oslotest import base

from nova_ovirt import adoption
from nova_ovirt.pools.libvirt import adopt as libvirt_adopt
from nova_ovirt.pools.libvirt import adopted_moves
from nova_ovirt.pools.libvirt import config
from nova_ovirt.pools.libvirt import live_migration
from tests.unit.pools.libvirt import base as libvirt_base
from tests.unit.pools.libvirt import test_adopt

DOMAIN = """<domain type='kvm'>
  <name>legacy</name>
  <uuid>5e1f0000-aaaa-bbbb-cccc-000000000001</uuid>
  <description>the operator's own</description>
  <memory unit='MiB'>128</memory>
  <currentMemory unit='MiB'>128</currentMemory>
  <vcpu placement='static'>1</vcpu>
  %(cpu)s
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
      <source file='/srv/vms/legacy.qcow2'/><target dev='vda'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/>
      <target dev='sda' bus='sata'/><readonly/></disk>
    <interface type='bridge'><mac address='52:54:00:00:00:01'/>
      <source bridge='br0'/></interface>
  </devices>
</domain>"""


MAC = '52:54:00:00:00:01'


def domain(cpu=''):
    return DOMAIN % {'cpu': cpu}


def canonical(xml):
    return etree.tostring(etree.fromstring(xml), encoding='unicode')


class ResizedDefinitionTest(base.BaseTestCase):

    def test_only_vcpus_and_memory_change(self):
        xml = adopted_moves.resized_definition(domain(), 2, 192)
        root = etree.fromstring(xml)
        self.assertEqual('2', root.findtext('vcpu'))
        self.assertEqual('static', root.find('vcpu').get('placement'))
        for tag in ('memory', 'currentMemory'):
            self.assertEqual(('KiB', str(192 * 1024)), (
                root.find(tag).get('unit'), root.findtext(tag)))
        # Everything else is the operator's, element for element.
        expected = etree.fromstring(domain())
        for tag in ('vcpu', 'memory', 'currentMemory'):
            expected.remove(expected.find(tag))
            root.remove(root.find(tag))
        self.assertEqual(etree.tostring(expected), etree.tostring(root))

    def test_back_to_the_old_values_is_the_old_definition(self):
        # Same numbers as before, in KiB: nothing else moved.
        once = adopted_moves.resized_definition(domain(), 3, 512)
        back = adopted_moves.resized_definition(once, 1, 128)
        self.assertEqual(
            canonical(adopted_moves.resized_definition(domain(), 1, 128)),
            canonical(back))

    def test_current_vcpus_follow(self):
        xml = domain().replace("<vcpu placement='static'>1</vcpu>",
                               "<vcpu current='1'>4</vcpu>")
        vcpu = etree.fromstring(
            adopted_moves.resized_definition(xml, 2, 128)).find('vcpu')
        self.assertEqual(('2', '2'), (vcpu.text, vcpu.get('current')))

    def test_no_current_memory_stays_without(self):
        xml = domain().replace(
            "<currentMemory unit='MiB'>128</currentMemory>", '')
        root = etree.fromstring(adopted_moves.resized_definition(xml, 1, 256))
        self.assertIsNone(root.find('currentMemory'))
        self.assertEqual(str(256 * 1024), root.findtext('memory'))

    def topology(self, vcpus, **attrs):
        cpu = "<cpu mode='host-model'><topology %s/></cpu>" % ' '.join(
            "%s='%s'" % item for item in sorted(attrs.items()))
        xml = adopted_moves.resized_definition(domain(cpu), vcpus, 128)
        return dict(etree.fromstring(xml).find('cpu/topology').attrib)

    def test_topology_keeps_cores_and_threads_when_they_divide(self):
        self.assertEqual(
            {'sockets': '2', 'cores': '2', 'threads': '2'},
            self.topology(8, sockets=1, cores=2, threads=2))

    def test_topology_falls_back_to_one_core_per_socket(self):
        self.assertEqual(
            {'sockets': '3', 'dies': '1', 'cores': '1', 'threads': '1'},
            self.topology(3, sockets=1, dies=1, cores=2, threads=1))

    def test_numa_cells_are_refused(self):
        cpu = ("<cpu><numa><cell id='0' cpus='0' memory='131072' "
               "unit='KiB'/></numa></cpu>")
        e = self.assertRaises(nova_exception.ResizeError,
                              adopted_moves.resized_definition,
                              domain(cpu), 2, 256)
        self.assertIn('guest NUMA cells', str(e))

    def test_memory_above_max_memory_is_refused(self):
        xml = domain().replace(
            '<memory ', "<maxMemory slots='4' unit='MiB'>256</maxMemory>"
                        "<memory ", 1)
        adopted_moves.resized_definition(xml, 1, 256)
        e = self.assertRaises(nova_exception.ResizeError,
                              adopted_moves.resized_definition, xml, 1, 512)
        self.assertIn('<maxMemory> is below 512 MiB', str(e))


class FileDisksTest(base.BaseTestCase):

    def test_files_with_formats_empty_drives_skipped(self):
        self.assertEqual([('vda', '/srv/vms/legacy.qcow2', 'qcow2', False)],
                         adopted_moves.file_disks(domain()))

    def test_block_device_is_refused_by_name(self):
        xml = domain().replace(
            "<disk type='file' device='disk'>",
            "<disk type='block' device='disk'>").replace(
            "<source file='/srv/vms/legacy.qcow2'/>",
            "<source dev='/dev/sdz'/>")
        e = self.assertRaises(nova_exception.MigrationPreCheckError,
                              adopted_moves.file_disks, xml)
        self.assertIn('disk vda of the adopted domain is of type block',
                      str(e))

    def test_without_metadata(self):
        xml = domain().replace(
            '<description>', '<metadata><x xmlns="urn:x"/></metadata>'
            '<description>')
        self.assertEqual(canonical(domain()),
                         canonical(adopted_moves.without_metadata(xml)))


class ColdMoveRefusalTest(libvirt_base.TestCase):
    """What a cold move of an adopted domain refuses, before the guest
    stops, against libvirt's test driver (two hosts of one pool)."""

    def setUp(self):
        super().setUp()
        self.pool = self.make_pool(['n1=' + self.private_uri('h1'),
                                    'n2=' + self.private_uri('h2')])
        self.source = self.pool.node_host('n1').connection
        self.dest = self.pool.node_host('n2').connection
        self.domain = self.source.defineXML(
            domain().replace("type='kvm'", "type='test'"))
        self.domain.create()
        libvirt_adopt.set_element(self.domain, config.offer_element(
            adoption.record('token', adoption.DEFAULT_TTL)))
        self.instance = self.make_instance('n1', root_gb=0, memory_mb=128)
        self.instance.metadata = {adoption.META_VM: self.domain.UUIDString(),
                                  adoption.META_TOKEN: 'token'}
        self.pool.spawn(self.context, self.instance, self.image_meta(), [],
                        None, {}, [test_adopt.vif(MAC)])

    @staticmethod
    def operator_pool(conn):
        pool = conn.storagePoolDefineXML(
            "<pool type='dir'><name>operator</name><target><path>/srv/vms"
            "</path></target></pool>", 0)
        pool.create(0)
        return pool

    @staticmethod
    def disk(pool, backing=None):
        backing = ("<backingStore><path>%s</path><format type='qcow2'/>"
                   "</backingStore>" % backing) if backing else ''
        pool.createXML(
            "<volume><name>legacy.qcow2</name><capacity>1048576</capacity>"
            "<target><format type='qcow2'/></target>%s</volume>" % backing,
            0)

    def assertRefused(self, reason):
        e = self.assertRaises(
            nova_exception.InstanceFaultRollback,
            self.pool.migrate_disk_and_power_off, self.context,
            self.instance, 'dest', self.instance.flavor, [],
            dest_node='n2')
        self.assertIn('cannot move from n1 to n2: ' + reason,
                      str(e.inner_exception))
        self.assertTrue(self.domain.isActive())

    def test_refusals_name_the_disk(self):
        self.assertRefused('/srv/vms/legacy.qcow2 (disk vda) is in no '
                           'storage pool of n1')
        source_pool = self.operator_pool(self.source)
        self.disk(source_pool, backing='/base.qcow2')
        self.assertRefused('/srv/vms/legacy.qcow2 (disk vda) is a qcow2 '
                           'overlay on /base.qcow2')
        source_pool.storageVolLookupByName('legacy.qcow2').delete(0)
        self.disk(source_pool)
        self.assertRefused('the destination n2 has no active storage pool '
                           'for /srv/vms, the directory of disk vda')
        self.disk(self.operator_pool(self.dest))
        self.assertRefused('/srv/vms/legacy.qcow2 (disk vda) exists on n2 '
                           'already; nova-ovirt never overwrites it')


class LiveMigrationFilesTest(libvirt_base.TestCase):
    """The destination's side of an adopted domain's block migration:
    files made at the disks' paths, and only those removed on rollback
    (libvirt's test driver as the destination host)."""

    DISKS = [{'path': '/srv/vms/legacy.qcow2', 'target': 'vda',
              'format': 'qcow2', 'readonly': False,
              'virt_disk_size': 1048576},
             {'path': '/srv/vms/legacy-data.img', 'target': 'vdb',
              'format': 'raw', 'readonly': False,
              'virt_disk_size': 2097152}]

    def setUp(self):
        super().setUp()
        self.pool = self.make_pool(['n2=' + self.private_uri('h2')])
        self.host = self.pool.node_host('n2')
        self.instance = self.make_instance('n1', root_gb=0)
        self.data = objects.LibvirtLiveMigrateData(
            is_shared_block_storage=False, block_migration=True)
        self.live = self.pool._live

    def pre(self):
        return self.live.pre_live_migration(
            self.host, self.context, self.instance, self.data,
            json.dumps(self.DISKS))

    def files(self):
        pool = self.host.connection.storagePoolLookupByName('operator')
        return sorted((v.name(), config.volume_format(v.XMLDesc(0)),
                       v.info()[1]) for v in pool.listAllVolumes(0))

    def test_no_pool_for_the_directory_is_refused(self):
        e = self.assertRaises(nova_exception.MigrationError, self.pre)
        self.assertIn('no active storage pool for /srv/vms, the directory '
                      'of disk vda', str(e))

    def test_made_with_the_same_names_formats_sizes_then_rolled_back(self):
        ColdMoveRefusalTest.operator_pool(self.host.connection)
        self.pre()
        self.assertEqual([('legacy-data.img', 'raw', 2097152),
                          ('legacy.qcow2', 'qcow2', 1048576)], self.files())
        self.pool.rollback_live_migration_at_destination(
            self.context, self.instance, True, self.data_for_pool())
        self.assertEqual([], self.files())

    def test_an_existing_file_is_refused_and_kept(self):
        pool = ColdMoveRefusalTest.operator_pool(self.host.connection)
        pool.createXML(config.volume_xml('legacy-data.img', 4096, 'raw'), 0)
        e = self.assertRaises(nova_exception.MigrationError, self.pre)
        self.assertIn('/srv/vms/legacy-data.img exists on n2 already',
                      str(e))
        # The first file, made before the refusal, is gone; the
        # destination's own file is untouched, also by a rollback.
        self.pool.rollback_live_migration_at_destination(
            self.context, self.instance, True, self.data_for_pool())
        self.assertEqual([('legacy-data.img', 'raw', 4096)], self.files())

    def data_for_pool(self):
        self.data.target_connect_addr = live_migration.connect_info(
            self.host.uri, None)
        return self.data
