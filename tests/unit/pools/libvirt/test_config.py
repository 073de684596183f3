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

from xml.etree import ElementTree as etree

import testtools

from nova.network import model as network_model
from nova import objects

from nova_ovirt.pools.libvirt import config
from nova_ovirt.pools.libvirt import errors
from nova_ovirt.pools.libvirt import vif

objects.register_all()

UUID = '11111111-2222-3333-4444-555555555555'


def make_vif(vif_type='bridge', bridge='br100', port_id='port-1',
             mac='fa:16:3e:00:00:01'):
    return network_model.VIF(
        id=port_id, address=mac, type=vif_type, devname='tap' + port_id,
        network=network_model.Network(id='net', bridge=bridge,
                                      meta={'mtu': 1450}))


class VifTest(testtools.TestCase):

    def test_bridge(self):
        element = vif.interface_element(make_vif())
        self.assertEqual('bridge', element.get('type'))
        self.assertEqual('br100', element.find('source').get('bridge'))
        self.assertEqual('fa:16:3e:00:00:01',
                         element.find('mac').get('address'))
        self.assertEqual('virtio', element.find('model').get('type'))
        self.assertEqual('1450', element.find('mtu').get('size'))
        self.assertIsNone(element.find('virtualport'))

    def test_ovs_has_virtualport_with_port_id(self):
        element = vif.interface_element(make_vif('ovs', bridge='br-int'))
        port = element.find('virtualport')
        self.assertEqual('openvswitch', port.get('type'))
        self.assertEqual('port-1',
                         port.find('parameters').get('interfaceid'))
        self.assertEqual('br-int', element.find('source').get('bridge'))

    def test_ovs_without_bridge_uses_option(self):
        element = vif.interface_element(make_vif('ovs', bridge=None),
                                        ovs_bridge='br-x')
        self.assertEqual('br-x', element.find('source').get('bridge'))

    def test_other_types_refused_clearly(self):
        e = self.assertRaises(errors.UnsupportedVifType,
                              vif.interface_element,
                              make_vif('vhostuser'))
        self.assertIn('vhostuser', str(e))
        self.assertIn('port-1', str(e))

    def test_devname_truncated_to_linux_limit(self):
        element = vif.interface_element(make_vif(port_id='x' * 40))
        self.assertLessEqual(len(element.find('target').get('dev')), 14)


class DomainXmlTest(testtools.TestCase):

    def flavor(self):
        return objects.Flavor(name='m1', memory_mb=512, vcpus=2, root_gb=1,
                              ephemeral_gb=0, swap=0)

    def build(self, **kwargs):
        metadata = config.metadata_element(UUID, 'vm', self.flavor(),
                                           'proj', 'user', 'p', 'node1')
        values = dict(
            uuid=UUID, name='instance-' + UUID, memory_mib=512, vcpus=2,
            domain_type='qemu',
            disks=[config.disk('/pool/%s_disk' % UUID, 'qcow2', 'vda'),
                   config.disk('/pool/%s_disk.config' % UUID, 'raw', 'hda',
                               'ide', 'cdrom')],
            interfaces=[vif.interface_element(make_vif())],
            console_log='/pool/%s_console.log' % UUID,
            vnc_listen='0.0.0.0', metadata=metadata)
        values.update(kwargs)
        text = config.domain_xml(config.GuestConfig(**values))
        return text, etree.fromstring(text)

    def test_basics(self):
        _text, root = self.build()
        self.assertEqual('qemu', root.get('type'))
        self.assertEqual(UUID, root.findtext('uuid'))
        self.assertEqual('instance-' + UUID, root.findtext('name'))
        self.assertEqual('512', root.findtext('memory'))
        self.assertEqual('MiB', root.find('memory').get('unit'))
        self.assertEqual('2', root.findtext('vcpu'))
        os_type = root.find('os/type')
        self.assertEqual(('hvm', 'x86_64', 'pc'),
                         (os_type.text, os_type.get('arch'),
                          os_type.get('machine')))
        self.assertEqual('hd', root.find('os/boot').get('dev'))
        self.assertIsNotNone(root.find('features/acpi'))

    def test_disks(self):
        _text, root = self.build()
        root_disk, cdrom = root.findall('devices/disk')
        self.assertEqual('disk', root_disk.get('device'))
        self.assertEqual('qcow2', root_disk.find('driver').get('type'))
        self.assertEqual(('vda', 'virtio'),
                         (root_disk.find('target').get('dev'),
                          root_disk.find('target').get('bus')))
        self.assertEqual('cdrom', cdrom.get('device'))
        self.assertEqual('ide', cdrom.find('target').get('bus'))
        self.assertIsNotNone(cdrom.find('readonly'))

    def test_serial_log_and_vnc(self):
        _text, root = self.build()
        serial = root.find('devices/serial')
        self.assertEqual('pty', serial.get('type'))
        self.assertEqual('/pool/%s_console.log' % UUID,
                         serial.find('log').get('file'))
        graphics = root.find('devices/graphics')
        self.assertEqual(('vnc', 'yes', '0.0.0.0'),
                         (graphics.get('type'), graphics.get('autoport'),
                          graphics.get('listen')))
        self.assertIsNotNone(root.find('devices/video/model'))

    def test_interfaces_kept(self):
        text, _root = self.build()
        [interface] = config.interfaces_of(text)
        self.assertEqual('br100', interface.find('source').get('bridge'))
        self.assertIsNotNone(config.interface_by_mac(text,
                                                     'FA:16:3E:00:00:01'))
        self.assertIsNone(config.interface_by_mac(text, 'fa:16:3e:ff:ff:ff'))

    def test_metadata_round_trip(self):
        text, root = self.build()
        element = root.find('metadata/{%s}instance' % config.METADATA_NS)
        self.assertIsNotNone(element)
        self.assertEqual(UUID, config.metadata_instance_uuid(text))
        flavor = element.find('{%s}flavor' % config.METADATA_NS)
        self.assertEqual(('m1', '512'), (flavor.get('name'),
                                         flavor.get('memory_mb')))
        project = element.find('{%(ns)s}owner/{%(ns)s}project' %
                               {'ns': config.METADATA_NS})
        self.assertEqual('proj', project.get('uuid'))

    def test_metadata_identity_as_libvirtd_returns_it(self):
        # virDomainGetMetadata gives the element back without namespace
        # on a real libvirtd, with it on the test driver: both must read.
        bare = ('<instance><uuid>%s</uuid><name>instance-00000001</name>'
                '</instance>' % UUID)
        namespaced = ('<instance xmlns="%s"><uuid>%s</uuid>'
                      '<name>instance-00000001</name></instance>' %
                      (config.METADATA_NS, UUID))
        for xml in (bare, namespaced):
            self.assertEqual((UUID, 'instance-00000001'),
                             config.metadata_identity(xml))
        self.assertEqual((None, None), config.metadata_identity('<other/>'))
        self.assertEqual((None, None), config.metadata_identity('<broken'))

    def test_no_metadata_no_owner(self):
        text, _root = self.build(metadata=None)
        self.assertIsNone(config.metadata_instance_uuid(text))

    def test_vnc_port_of_running_domain(self):
        text = ("<domain><devices><graphics type='vnc' port='5901' "
                "autoport='yes'/></devices></domain>")
        self.assertEqual(5901, config.vnc_port(text))
        self.assertIsNone(config.vnc_port(
            "<domain><devices><graphics type='vnc' port='-1'/></devices>"
            "</domain>"))

    def test_overlay_volume_xml(self):
        volume = etree.fromstring(config.volume_xml(
            'x_disk', 2 * 1024 ** 3, 'qcow2', '/pool/image-1', 'raw'))
        self.assertEqual('qcow2', volume.find('target/format').get('type'))
        self.assertEqual(str(2 * 1024 ** 3), volume.findtext('capacity'))
        self.assertEqual('/pool/image-1',
                         volume.findtext('backingStore/path'))
        self.assertEqual('raw',
                         volume.find('backingStore/format').get('type'))

    def test_disk_backing_file_of_a_running_domain(self):
        # As libvirtd shows a running guest's disks: the root on its warm
        # copy, then (after the block pull) standalone.
        xml = """<domain type='qemu'><devices>
          <disk type='file' device='disk'>
            <driver name='qemu' type='qcow2'/>
            <source file='/pool/u_disk' index='2'/>
            <backingStore type='file' index='1'>
              <format type='raw'/><source file='/pool/u_disk.import'/>
              <backingStore/>
            </backingStore>
            <target dev='vda' bus='virtio'/>
          </disk>
          <disk type='file' device='disk'>
            <source file='/pool/u_disk.eph0'/><backingStore/>
            <target dev='vdb' bus='virtio'/>
          </disk>
          <disk type='network' device='disk'>
            <source protocol='iscsi' name='iqn.x/1'/>
            <target dev='vdc' bus='virtio'/>
          </disk>
        </devices></domain>"""
        self.assertEqual('/pool/u_disk.import',
                         config.disk_backing_file(xml, '/pool/u_disk'))
        self.assertIsNone(config.disk_backing_file(xml, '/pool/u_disk.eph0'))
        self.assertIsNone(config.disk_backing_file(xml, '/pool/other'))
