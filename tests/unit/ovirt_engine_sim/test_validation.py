"""Broken requests, sent as raw HTTP (not through the SDK), get the engine's faults.

The SDK cannot send most of these (its writers only emit valid values), and
its readers would parse them leniently; the simulator must reject them
itself, as the engine's REST layer does (see ovirt_engine_sim/validate.py).
"""

import http.client
import json
import ssl
import urllib.parse
import xml.etree.ElementTree as ET

from tests.unit.ovirt_engine_sim import base

API = '/ovirt-engine/api'


class RawApiTestCase(base.SimTestCase):

    def setUp(self):
        super(RawApiTestCase, self).setUp()
        url = urllib.parse.urlparse(self.sim.url)
        ctx = ssl.create_default_context(cafile=self.sim.ca_file)
        self.http = http.client.HTTPSConnection(url.hostname, url.port, context=ctx)
        self.addCleanup(self.http.close)
        self.token = self._login()
        with self.sim.store.lock:
            self.cluster_id = self.sim.store.by_name('clusters', 'cluster1').id
            self.sd_id = self.sim.store.by_name('storage_domains', 'data').id

    def _login(self):
        form = urllib.parse.urlencode({
            'grant_type': 'password', 'scope': 'ovirt-app-api',
            'username': 'admin@internal', 'password': 'secret'})
        self.http.request('POST', '/ovirt-engine/sso/oauth/token', body=form, headers={
            'Content-Type': 'application/x-www-form-urlencoded',
            'Accept': 'application/json'})
        resp = self.http.getresponse()
        self.assertEqual(200, resp.status)
        return json.loads(resp.read())['access_token']

    def post(self, path, xml):
        self.http.request('POST', API + path, body=xml.encode('utf-8'), headers={
            'Authorization': 'Bearer %s' % self.token, 'Version': '4',
            'Content-Type': 'application/xml', 'Accept': 'application/xml'})
        resp = self.http.getresponse()
        return resp.status, resp.read()

    def assertFaultXml(self, status, reason, detail, path, xml):
        got_status, body = self.post(path, xml)
        self.assertEqual(status, got_status, body)
        fault = ET.fromstring(body)
        self.assertEqual('fault', fault.tag)
        self.assertEqual(reason, fault.findtext('reason'))
        self.assertEqual(detail, fault.findtext('detail'))

    def vm_xml(self, extra='', name='<name>vm1</name>', cluster=None,
               template='<template><name>Blank</name></template>'):
        if cluster is None:
            cluster = '<cluster id="%s"/>' % self.cluster_id
        return '<vm>%s%s%s%s</vm>' % (name, cluster, template, extra)

    def disk_xml(self, fmt='<format>cow</format>',
                 size='<provisioned_size>1048576</provisioned_size>', extra=''):
        return ('<disk><name>d1</name>%s%s<storage_domains><storage_domain id="%s"/>'
                '</storage_domains>%s</disk>' % (fmt, size, self.sd_id, extra))


class VmAddTest(RawApiTestCase):

    def test_valid_raw_request_is_accepted(self):
        # The checks do not reject what the engine takes.
        status, body = self.post('/vms', self.vm_xml(
            '<memory>1073741824</memory><type>server</type><stateless>false</stateless>'
            '<os><boot><devices><device>hd</device><device>network</device></devices>'
            '</boot></os><display><type>vnc</type></display>'))
        self.assertEqual(201, status, body)
        self.assertEqual('vm1', ET.fromstring(body).findtext('name'))

    def test_wrong_enum_value(self):
        self.assertFaultXml(
            400, 'Invalid value',
            "The string 'servr' isn't a valid value for the 'VmType' enumerated type. "
            "Valid values are: 'desktop', 'server', 'high_performance'.",
            '/vms', self.vm_xml('<type>servr</type>'))
        self.assertEqual([], [v for v in self.sim.store.vms.values() if v.name == 'vm1'])

    def test_wrong_nested_enum_values(self):
        detail = ("The string 'floppy' isn't a valid value for the 'BootDevice' enumerated "
                  "type. Valid values are: 'cdrom', 'hd', 'network'.")
        self.assertFaultXml(400, 'Invalid value', detail, '/vms', self.vm_xml(
            '<os><boot><devices><device>hd</device><device>floppy</device></devices>'
            '</boot></os>'))
        self.assertFaultXml(
            400, 'Invalid value',
            "The string 'rdp' isn't a valid value for the 'DisplayType' enumerated type. "
            "Valid values are: 'vnc', 'spice'.",
            '/vms', self.vm_xml('<display><type>rdp</type></display>'))

    def test_wrong_types(self):
        self.assertFaultXml(400, 'Request syntactically incorrect.',
                            'For correct usage, see: /ovirt-engine/apidoc#services/vms/'
                            'methods/add',
                            '/vms', self.vm_xml('<memory>1 GiB</memory>'))
        self.assertFaultXml(400, 'Invalid value',
                            'Value "yes" isn\'t a valid boolean, it should be "true" , '
                            '"false", "0" or "1"',
                            '/vms', self.vm_xml('<stateless>yes</stateless>'))

    def test_missing_required_fields(self):
        # In the order of BackendVmsResource.add: cluster, name, template.
        self.assertFaultXml(400, 'Incomplete parameters',
                            'Vm [cluster.id|name] required for add',
                            '/vms', self.vm_xml(cluster=''))
        self.assertFaultXml(400, 'Incomplete parameters', 'Vm [name] required for add',
                            '/vms', self.vm_xml(name=''))
        self.assertFaultXml(400, 'Incomplete parameters',
                            'Vm [template.id|name] required for add',
                            '/vms', self.vm_xml(template='<template/>'))
        self.assertEqual([], [v for v in self.sim.store.vms.values() if v.name == 'vm1'])

    def test_malformed_xml(self):
        self.assertFaultXml(400, 'Request syntactically incorrect.',
                            'For correct usage, see: /ovirt-engine/apidoc#services/vms/'
                            'methods/add', '/vms', '<vm><name>x</vm>')


class DiskAddTest(RawApiTestCase):

    def test_wrong_enum_value(self):
        self.assertFaultXml(
            400, 'Invalid value',
            "The string 'qcow2' isn't a valid value for the 'DiskFormat' enumerated type. "
            "Valid values are: 'cow', 'raw'.",
            '/disks', self.disk_xml(fmt='<format>qcow2</format>'))
        self.assertFaultXml(
            400, 'Invalid value',
            "The string 'image' isn't a valid value for the 'DiskContentType' enumerated "
            "type. Valid values are: 'data', 'ovf_store', 'memory_dump_volume', "
            "'memory_metadata_volume', 'iso', 'hosted_engine', 'hosted_engine_sanlock', "
            "'hosted_engine_metadata', 'hosted_engine_configuration', 'backup_scratch'.",
            '/disks', self.disk_xml(extra='<content_type>image</content_type>'))
        self.assertEqual({}, self.sim.store.disks)

    def test_missing_required_fields(self):
        self.assertFaultXml(400, 'Incomplete parameters',
                            'Disk [format] required for add',
                            '/disks', self.disk_xml(fmt=''))
        self.assertFaultXml(400, 'Incomplete parameters',
                            'Disk [provisionedSize, format] required for add',
                            '/disks', self.disk_xml(fmt='', size=''))
        self.assertFaultXml(400, 'Incomplete parameters',
                            'Disk [storageDomains.storageDomain.id|name] required for add',
                            '/disks', '<disk><format>raw</format>'
                            '<provisioned_size>1024</provisioned_size></disk>')
        self.assertEqual({}, self.sim.store.disks)

    def test_wrong_integer(self):
        self.assertFaultXml(400, 'Request syntactically incorrect.',
                            'For correct usage, see: /ovirt-engine/apidoc#services/disks/'
                            'methods/add',
                            '/disks', self.disk_xml(size='<provisioned_size>1G'
                                                    '</provisioned_size>'))

    def test_attachment_checks_its_new_disk(self):
        status, body = self.post('/vms', self.vm_xml())
        self.assertEqual(201, status, body)
        vm_id = ET.fromstring(body).get('id')
        path = '/vms/%s/diskattachments' % vm_id
        self.assertFaultXml(
            400, 'Invalid value',
            "The string 'virtio_blk' isn't a valid value for the 'DiskInterface' enumerated "
            "type. Valid values are: 'ide', 'virtio_scsi', 'virtio', 'spapr_vscsi', 'sata'.",
            path, '<disk_attachment><interface>virtio_blk</interface>%s</disk_attachment>'
            % self.disk_xml())
        self.assertFaultXml(400, 'Incomplete parameters',
                            'DiskAttachment [interface] required for add',
                            path, '<disk_attachment>%s</disk_attachment>' % self.disk_xml())
        self.assertFaultXml(400, 'Incomplete parameters', 'Disk [format] required for add',
                            path, '<disk_attachment><interface>virtio</interface>%s'
                            '</disk_attachment>' % self.disk_xml(fmt=''))
        self.assertEqual({}, self.sim.store.disks)


class ImageTransferAddTest(RawApiTestCase):

    def test_wrong_enum_value(self):
        self.assertFaultXml(
            400, 'Invalid value',
            "The string 'up' isn't a valid value for the 'ImageTransferDirection' "
            "enumerated type. Valid values are: 'upload', 'download'.",
            '/imagetransfers', '<image_transfer><disk id="x"/><direction>up</direction>'
            '</image_transfer>')
        self.assertFaultXml(
            400, 'Invalid value',
            "The string 'qcow2' isn't a valid value for the 'DiskFormat' enumerated type. "
            "Valid values are: 'cow', 'raw'.",
            '/imagetransfers', '<image_transfer><disk id="x"/><format>qcow2</format>'
            '</image_transfer>')

    def test_missing_required_fields(self):
        self.assertFaultXml(400, 'Incomplete parameters',
                            'ImageTransfer [disk.id|image.id|snapshot.id] required for add',
                            '/imagetransfers',
                            '<image_transfer><direction>upload</direction></image_transfer>')
        self.assertEqual({}, self.sim.store.image_transfers)


class OtherAddsTest(RawApiTestCase):

    def setUp(self):
        super(OtherAddsTest, self).setUp()
        status, body = self.post('/vms', self.vm_xml())
        self.assertEqual(201, status, body)
        self.vm_id = ET.fromstring(body).get('id')

    def test_nic(self):
        path = '/vms/%s/nics' % self.vm_id
        self.assertFaultXml(
            400, 'Invalid value',
            "The string 'virtio_net' isn't a valid value for the 'NicInterface' enumerated "
            "type. Valid values are: 'e1000', 'e1000e', 'virtio', 'rtl8139', "
            "'rtl8139_virtio', 'spapr_vlan', 'pci_passthrough'.",
            path, '<nic><name>nic1</name><interface>virtio_net</interface></nic>')
        self.assertFaultXml(400, 'Incomplete parameters', 'Nic [name] required for add',
                            path, '<nic><interface>virtio</interface></nic>')

    def test_snapshot(self):
        path = '/vms/%s/snapshots' % self.vm_id
        self.assertFaultXml(400, 'Incomplete parameters',
                            'Snapshot [description] required for add',
                            path, '<snapshot><persist_memorystate>false</persist_memorystate>'
                            '</snapshot>')
        self.assertFaultXml(400, 'Invalid value',
                            'Value "no" isn\'t a valid boolean, it should be "true" , '
                            '"false", "0" or "1"',
                            path, '<snapshot><description>s</description>'
                            '<persist_memorystate>no</persist_memorystate></snapshot>')

    def test_template(self):
        self.assertFaultXml(400, 'Incomplete parameters',
                            'Template [vm.id|name] required for add',
                            '/templates', '<template><name>t1</name></template>')

    def test_action_parameters(self):
        self.assertFaultXml(400, 'Invalid value',
                            'Value "maybe" isn\'t a valid boolean, it should be "true" , '
                            '"false", "0" or "1"',
                            '/vms/%s/start' % self.vm_id,
                            '<action><use_cloud_init>maybe</use_cloud_init></action>')
