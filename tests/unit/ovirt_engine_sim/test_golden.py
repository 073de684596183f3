"""Response bodies compared with XML written from the API model's docs.

The literals below are hand-written after the examples in
oVirt/ovirt-engine-api-model (SystemService, ClusterService, the "Quick
start" VM and the "follow" example of the common concepts chapter), not
produced by the SDK, so the simulator and the SDK writers cannot share a
mistake unnoticed. '*' in a literal accepts any non-empty value; '{id}'
in an href stands for the object's id.
"""

import re
import xml.etree.ElementTree as ET

from tests.unit.ovirt_engine_sim import base
from tests.unit.ovirt_engine_sim.test_faults import raw

API_ROOT = '''
<api>
  <link rel="clusters" href="/ovirt-engine/api/clusters"/>
  <link rel="clusters/search" href="/ovirt-engine/api/clusters?search={query}"/>
  <link rel="datacenters" href="/ovirt-engine/api/datacenters"/>
  <link rel="events" href="/ovirt-engine/api/events"/>
  <link rel="events/search" href="/ovirt-engine/api/events?search={query}"/>
  <link rel="hosts" href="/ovirt-engine/api/hosts"/>
  <link rel="networks" href="/ovirt-engine/api/networks"/>
  <link rel="storagedomains" href="/ovirt-engine/api/storagedomains"/>
  <link rel="templates" href="/ovirt-engine/api/templates"/>
  <link rel="vms" href="/ovirt-engine/api/vms"/>
  <link rel="vms/search" href="/ovirt-engine/api/vms?search={query}"/>
  <product_info>
    <name>oVirt Engine</name>
    <vendor>ovirt.org</vendor>
    <version>
      <build>*</build>
      <full_version>*</full_version>
      <major>4</major>
      <minor>5</minor>
      <revision>0</revision>
    </version>
  </product_info>
  <special_objects>
    <blank_template href="/ovirt-engine/api/templates/00000000-0000-0000-0000-000000000000"
                    id="00000000-0000-0000-0000-000000000000"/>
  </special_objects>
  <summary>
    <hosts><active>4</active><total>4</total></hosts>
    <storage_domains><active>1</active><total>1</total></storage_domains>
    <users><active>*</active><total>*</total></users>
    <vms><active>0</active><total>0</total></vms>
  </summary>
  <time>*</time>
</api>
'''

CLUSTER = '''
<cluster href="/ovirt-engine/api/clusters/{id}" id="{id}">
  <actions>
    <link href="/ovirt-engine/api/clusters/{id}/resetemulatedmachine" rel="resetemulatedmachine"/>
  </actions>
  <name>cluster1</name>
  <link href="/ovirt-engine/api/clusters/{id}/networks" rel="networks"/>
  <link href="/ovirt-engine/api/clusters/{id}/permissions" rel="permissions"/>
  <link href="/ovirt-engine/api/clusters/{id}/glustervolumes" rel="glustervolumes"/>
  <link href="/ovirt-engine/api/clusters/{id}/glusterhooks" rel="glusterhooks"/>
  <link href="/ovirt-engine/api/clusters/{id}/affinitygroups" rel="affinitygroups"/>
  <link href="/ovirt-engine/api/clusters/{id}/cpuprofiles" rel="cpuprofiles"/>
  <ballooning_enabled>true</ballooning_enabled>
  <cpu>
    <architecture>x86_64</architecture>
    <type>Intel Nehalem Family</type>
  </cpu>
  <error_handling>
    <on_error>migrate</on_error>
  </error_handling>
  <gluster_service>false</gluster_service>
  <ha_reservation>false</ha_reservation>
  <memory_policy>
    <over_commit>
      <percent>100</percent>
    </over_commit>
    <transparent_hugepages>
      <enabled>true</enabled>
    </transparent_hugepages>
  </memory_policy>
  <scheduling_policy href="/ovirt-engine/api/schedulingpolicies/*" id="*"/>
  <threads_as_cores>false</threads_as_cores>
  <trusted_service>false</trusted_service>
  <tunnel_migration>false</tunnel_migration>
  <version>
    <major>4</major>
    <minor>7</minor>
  </version>
  <virt_service>true</virt_service>
  <data_center href="/ovirt-engine/api/datacenters/*" id="*"/>
</cluster>
'''

ADD_VM = '''<vm>
  <name>myvm</name>
  <description>My VM</description>
  <cluster>
    <name>cluster1</name>
  </cluster>
  <template>
    <name>Blank</name>
  </template>
  <memory>536870912</memory>
  <os>
    <boot>
      <devices>
        <device>hd</device>
      </devices>
    </boot>
  </os>
</vm>'''

VM = '''
<vm href="/ovirt-engine/api/vms/{id}" id="{id}">
  <actions>
    <link href="/ovirt-engine/api/vms/{id}/shutdown" rel="shutdown"/>
    <link href="/ovirt-engine/api/vms/{id}/start" rel="start"/>
    <link href="/ovirt-engine/api/vms/{id}/stop" rel="stop"/>
  </actions>
  <name>myvm</name>
  <description>My VM</description>
  <link href="/ovirt-engine/api/vms/{id}/diskattachments" rel="diskattachments"/>
  <link href="/ovirt-engine/api/vms/{id}/nics" rel="nics"/>
  <link href="/ovirt-engine/api/vms/{id}/snapshots" rel="snapshots"/>
  <link href="/ovirt-engine/api/vms/{id}/graphicsconsoles" rel="graphicsconsoles"/>
  <cpu>
    <architecture>x86_64</architecture>
    <topology>
      <cores>1</cores>
      <sockets>1</sockets>
      <threads>1</threads>
    </topology>
  </cpu>
  <memory>536870912</memory>
  <os>
    <boot>
      <devices>
        <device>hd</device>
      </devices>
    </boot>
    <type>other</type>
  </os>
  <cluster href="/ovirt-engine/api/clusters/*" id="*"/>
  <status>down</status>
  <original_template href="/ovirt-engine/api/templates/00000000-0000-0000-0000-000000000000"
                     id="00000000-0000-0000-0000-000000000000"/>
  <template href="/ovirt-engine/api/templates/00000000-0000-0000-0000-000000000000"
            id="00000000-0000-0000-0000-000000000000"/>
</vm>
'''

VM_FOLLOWED = '''
<vm id="{id}" href="/ovirt-engine/api/vms/{id}">
  <disk_attachments>
    <disk_attachment id="*" href="/ovirt-engine/api/vms/{id}/diskattachments/*">
      <active>true</active>
      <bootable>true</bootable>
      <interface>virtio_scsi</interface>
      <pass_discard>false</pass_discard>
      <read_only>false</read_only>
      <uses_scsi_reservation>false</uses_scsi_reservation>
      <disk id="*" href="/ovirt-engine/api/disks/*">
        <name>mydisk</name>
        <description>My disk</description>
        <actual_size>0</actual_size>
        <format>raw</format>
        <sparse>true</sparse>
        <status>ok</status>
        <storage_type>image</storage_type>
        <total_size>0</total_size>
      </disk>
    </disk_attachment>
  </disk_attachments>
</vm>
'''

FAULT = '''
<fault>
  <reason>Incomplete parameters</reason>
  <detail>Vm [name] required for add</detail>
</fault>
'''

# services/VmCdromService.java: an empty CD-ROM has no <file>.
CDROM = '''
<cdrom href="/ovirt-engine/api/vms/{id}/cdroms/00000000-0000-0000-0000-000000000000"
       id="00000000-0000-0000-0000-000000000000">
  <vm href="/ovirt-engine/api/vms/{id}" id="{id}"/>
</cdrom>
'''

# services/VmBackupsService.java and VmBackupService.java (their examples
# print <status>, the type's field is phase: types/Backup.java).
BACKUP = '''
<backup href="/ovirt-engine/api/vms/*/backups/{id}" id="{id}">
  <from_checkpoint_id>*</from_checkpoint_id>
  <to_checkpoint_id>*</to_checkpoint_id>
  <link href="/ovirt-engine/api/vms/*/backups/{id}/disks" rel="disks"/>
  <disks>
    <disk id="*"/>
  </disks>
  <phase>ready</phase>
  <creation_date>*</creation_date>
</backup>
'''


class GoldenTest(base.SimTestCase):

    def get(self, path):
        status, body = raw(self.sim, 'GET', '/ovirt-engine/api' + path,
                           self.conn.authenticate())
        self.assertEqual(200, status, body)
        return ET.fromstring(body)

    def assertXmlMatches(self, expected, actual, ident=None, path=''):
        """Every element/attribute of expected is in actual (order free)."""
        exp = ET.fromstring(expected) if isinstance(expected, str) else expected
        where = '%s/%s' % (path, exp.tag)
        self.assertEqual(exp.tag, actual.tag, where)
        for name, value in exp.attrib.items():
            got = actual.get(name)
            self.assertIsNotNone(got, '%s@%s missing' % (where, name))
            self._match(value, got, ident, '%s@%s' % (where, name))
        if exp.text and exp.text.strip():
            self._match(exp.text.strip(), (actual.text or '').strip(), ident, where)
        used = set()
        for child in exp:
            candidates = [c for c in actual if c.tag == child.tag and id(c) not in used]
            if child.tag == 'link':
                candidates = [c for c in candidates if c.get('rel') == child.get('rel')]
            self.assertTrue(candidates, '%s/%s%s missing' % (
                where, child.tag, '[@rel=%s]' % child.get('rel') if child.get('rel')
                else ''))
            self.assertXmlMatches(child, candidates[0], ident, where)
            used.add(id(candidates[0]))

    def _match(self, expected, got, ident, where):
        if expected == '*':
            self.assertTrue(got, where)
            return
        pattern = re.escape(expected).replace(re.escape('{id}'), re.escape(ident or '')) \
            .replace(r'\*', '[^/]+').replace(re.escape('{query}'), r'\{query\}')
        self.assertRegex(got, '^%s$' % pattern, where)

    def test_api_root(self):
        self.assertXmlMatches(API_ROOT, self.get(''))

    def test_cluster(self):
        cid = self.system.clusters_service().list(search='name=cluster1')[0].id
        self.assertXmlMatches(CLUSTER, self.get('/clusters/%s' % cid), cid)

    def test_vm_add_and_get(self):
        status, body = raw(self.sim, 'POST', '/ovirt-engine/api/vms',
                           self.conn.authenticate(), body=ADD_VM.encode())
        self.assertEqual(201, status, body)
        created = ET.fromstring(body)
        vm_id = created.get('id')
        self.assertXmlMatches(VM, created, vm_id)
        self.assertXmlMatches(VM, self.get('/vms/%s' % vm_id), vm_id)

    def test_vm_follow_disk_attachments(self):
        from ovirtsdk4 import types
        vm = self.add_vm()
        self.vm_service(vm.id).disk_attachments_service().add(types.DiskAttachment(
            disk=types.Disk(name='mydisk', description='My disk',
                            format=types.DiskFormat.RAW, provisioned_size=base.MiB,
                            storage_domains=[types.StorageDomain(name='data')]),
            interface=types.DiskInterface.VIRTIO_SCSI, bootable=True, active=True))
        self.settle()
        got = self.get('/vms/%s?follow=disk_attachments.disk' % vm.id)
        self.assertXmlMatches(VM_FOLLOWED, got, vm.id)
        self.assertNotIn('diskattachments', [link.get('rel') for link in got.findall('link')])

    def test_fault_shape(self):
        status, body = raw(self.sim, 'POST', '/ovirt-engine/api/vms',
                           self.conn.authenticate(),
                           body=b'<vm><cluster><name>cluster1</name></cluster>'
                                b'<template><name>Blank</name></template></vm>')
        self.assertEqual(400, status)
        self.assertXmlMatches(FAULT, ET.fromstring(body))

    def test_cdrom(self):
        vm = self.add_vm()
        got = self.get('/vms/%s/cdroms' % vm.id)
        self.assertEqual('cdroms', got.tag)
        self.assertEqual(1, len(got))
        self.assertXmlMatches(CDROM, got[0], vm.id)
        self.assertIsNone(got[0].find('file'))

    def test_backup(self):
        from ovirtsdk4 import types
        vm = self.add_vm()
        att = self.vm_service(vm.id).disk_attachments_service().add(types.DiskAttachment(
            disk=types.Disk(name='d', format=types.DiskFormat.COW, provisioned_size=base.MiB,
                            backup=types.DiskBackup.INCREMENTAL,
                            storage_domains=[types.StorageDomain(name='data')]),
            interface=types.DiskInterface.VIRTIO, bootable=True, active=True))
        self.settle()
        backups = self.vm_service(vm.id).backups_service()
        first = backups.add(types.Backup(disks=[types.Disk(id=att.id)]))
        self.settle()
        backups.backup_service(first.id).finalize()
        self.settle()
        second = backups.add(types.Backup(disks=[types.Disk(id=att.id)],
                                          from_checkpoint_id=backups.backup_service(
                                              first.id).get().to_checkpoint_id))
        self.settle()
        self.assertXmlMatches(BACKUP, self.get('/vms/%s/backups/%s' % (vm.id, second.id)),
                              second.id)
