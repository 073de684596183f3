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

"""Cinder iSCSI volumes on real qemu guests: the real data path.

A private ``tgtd`` exports file-backed LUNs on loopback
(:mod:`tests.fixtures.iscsi_target`); the libvirt pool attaches them as
network disks that qemu's libiscsi logs in to with the node's initiator
name and CHAP secret. The test guest prints the disks it sees, their
sizes and a checksum of two known sectors on its serial console, and
writes a mark into a volume that asks for one
(:mod:`tests.fixtures.guest_image`): the checks read what the guest sees
and compare it with the LUN's backing file, so both directions cross the
iSCSI session.
"""

from xml.etree import ElementTree as etree

import libvirt
from nova.compute import power_state
from nova import exception as nova_exception
from oslo_utils import units
from oslo_utils import uuidutils

from tests.fixtures import guest_image
from tests.fixtures import iscsi_target
from tests.live import base

#: Sectors 8-9 of a volume once the guest has written its mark.
ASKED = guest_image.GUEST_WRITE_REQUEST.ljust(512, b'\0')
WRITTEN = ASKED + guest_image.GUEST_WRITTEN.ljust(512, b'\0')


class LiveVolumeTest(base.LiveTestCase):

    def setUp(self):
        super().setUp()
        self.target = self.useFixture(iscsi_target.IscsiTargetFixture())
        self.addOnException(self._attach_tgtd_log)

    def _attach_tgtd_log(self, exc_info):
        self.addDetail('tgtd log', base.content.text_content(
            self.target.log_text()))

    def _conn(self, instance):
        conn = self.host_of_node[instance.node].conn()
        self.addCleanup(conn.close)
        return conn

    def _domain(self, instance):
        return self._conn(instance).lookupByUUIDString(instance.uuid)

    def _volume_disk(self, instance, volume_id, flags=0):
        xml = self._domain(instance).XMLDesc(flags)
        for disk in etree.fromstring(xml).findall('devices/disk'):
            if disk.findtext('serial') == volume_id:
                return disk
        return None

    def _guest_sees(self, instance, predicate, what):
        """Wait for the guest's disks line ({name: (size, md5)}) to match."""
        def seen():
            disks = guest_image.parse_disks_line(self.console(instance))
            return disks is not None and predicate(disks) and disks
        return self.wait_for(seen, base.BOOT_TIMEOUT,
                             'the guest of %s to see %s' % (instance.uuid,
                                                            what))

    def _guest_sees_disk(self, instance, dev, size, sectors=None):
        md5 = sectors and guest_image.probe_md5(sectors)
        return self._guest_sees(
            instance, lambda disks: dev in disks and disks[dev][0] == size
            and (md5 is None or disks[dev][1] == md5),
            '%s of %d bytes%s' % (dev, size, ' holding its mark' if md5
                                  else ''))

    def _running_guest(self):
        instance = self.make_instance(node='node1')
        self.spawn(instance)
        self.wait_for_boot(instance)
        return instance

    def test_attach_data_detach_reattach_extend(self):
        instance = self._running_guest()
        self._guest_sees(instance, lambda disks: list(disks) == ['vda'],
                         'its root disk vda only')
        connector = self.driver.get_volume_connector(instance)
        self.assertEqual(
            'iqn.2026-01.org.openstack.nova-ovirt:live-compute.node1',
            connector['initiator'])
        # Only our initiator may log in, with CHAP: the target checks both.
        lun = self.target.create_lun(
            'vol1', 64 * units.Mi, username='chapuser',
            password='chap-secret-1', initiator=connector['initiator'])
        # The guest writes its mark into a volume that asks for one.
        lun.write(guest_image.PROBE_OFFSET, ASKED)
        volume_id = uuidutils.generate_uuid()
        info = lun.connection_info(volume_id)

        self.driver.attach_volume(self.context, info, instance, '/dev/vdb')

        # qemu logged in as the node's initiator.
        self.assertEqual([connector['initiator']],
                         self.target.sessions(lun))
        disk = self._volume_disk(instance, volume_id)
        self.assertEqual('network', disk.get('type'))
        self.assertEqual('vdb', disk.find('target').get('dev'))
        # The password is in a libvirt secret, never in the definition.
        secure = self._domain(instance).XMLDesc(
            libvirt.VIR_DOMAIN_XML_SECURE | libvirt.VIR_DOMAIN_XML_INACTIVE)
        self.assertNotIn('chap-secret-1', secure)
        self.assertIsNotNone(self._volume_disk(
            instance, volume_id, libvirt.VIR_DOMAIN_XML_INACTIVE))
        usage = 'nova-ovirt/%s/%s' % (instance.uuid, volume_id)
        secret = self._conn(instance).secretLookupByUsage(
            libvirt.VIR_SECRET_USAGE_TYPE_ISCSI, usage)
        # Private: nobody reads it back over the API; qemu's CHAP login
        # above is what proves the value.
        self.assertIn('chap-secret-1'[:0] + instance.uuid,
                      secret.XMLDesc(0))
        self.assertRaises(libvirt.libvirtError, secret.value)
        # 64 MiB as qemu sees it through the iSCSI session.
        self.assertEqual(64 * units.Mi,
                         self._domain(instance).blockInfo('vdb')[0])

        # The guest sees the disk, 64 MiB; what it wrote landed on the LUN
        # and what it reads back is what the LUN holds.
        self._guest_sees_disk(instance, 'vdb', 64 * units.Mi, WRITTEN)
        self.assertEqual(WRITTEN, lun.read(guest_image.PROBE_OFFSET,
                                           guest_image.PROBE_LENGTH))

        self.driver.detach_volume(self.context, info, instance, '/dev/vdb')
        self.assertIsNone(self._volume_disk(instance, volume_id))
        self.assertIsNone(self._volume_disk(
            instance, volume_id, libvirt.VIR_DOMAIN_XML_INACTIVE))
        self.assertEqual([], self.target.sessions(lun))
        self.assertRaises(libvirt.libvirtError,
                          self._conn(instance).secretLookupByUsage,
                          libvirt.VIR_SECRET_USAGE_TYPE_ISCSI, usage)
        self._guest_sees(instance, lambda disks: 'vdb' not in disks,
                         'vdb gone')
        # Detaching again is a no-op (nova retries detaches).
        self.driver.detach_volume(self.context, info, instance, '/dev/vdb')

        # Re-attached, the guest reads back what it wrote before the
        # detach (it writes its mark only where there is none).
        self.driver.attach_volume(self.context, info, instance, '/dev/vdb')
        self._guest_sees_disk(instance, 'vdb', 64 * units.Mi, WRITTEN)

        # Online extend: Cinder grows the LUN, the pool tells qemu.
        self.target.resize_lun(lun, 96 * units.Mi)
        self.driver.extend_volume(self.context, info, instance,
                                  96 * units.Mi)
        self.assertEqual(96 * units.Mi,
                         self._domain(instance).blockInfo('vdb')[0])
        self._guest_sees_disk(instance, 'vdb', 96 * units.Mi, WRITTEN)

        # The volume survives a hard reboot (the domain is redefined).
        self.driver.reboot(self.context, instance, [], 'HARD')
        self.wait_for_boot(instance)
        self.assertIsNotNone(self._volume_disk(instance, volume_id))
        self.assertEqual([connector['initiator']],
                         self.target.sessions(lun))
        self._guest_sees_disk(instance, 'vdb', 96 * units.Mi, WRITTEN)

        # Rescue keeps the volume, off the rescue layout's vdb; unrescue
        # brings it back with the guest's own disks.
        self.driver.rescue(self.context, instance, [],
                           base.image_meta(base.IMAGE_QCOW2), None, None,
                           None)
        rescued = self._volume_disk(instance, volume_id,
                                    libvirt.VIR_DOMAIN_XML_INACTIVE)
        self.assertEqual('vdc', rescued.find('target').get('dev'))
        self.driver.unrescue(self.context, instance)
        self.wait_for_boot(instance)
        self.assertIsNotNone(self._volume_disk(instance, volume_id))
        self.assertEqual([connector['initiator']],
                         self.target.sessions(lun))

        # Destroy removes the guest and its secrets.
        self.driver.destroy(self.context, instance, [])
        self.assertRaises(libvirt.libvirtError,
                          self._conn(instance).secretLookupByUsage,
                          libvirt.VIR_SECRET_USAGE_TYPE_ISCSI, usage)

    def test_attach_to_stopped_guest_then_power_on(self):
        instance = self.make_instance(node='node2')
        self.spawn(instance, power_on=False)
        lun = self.target.create_lun('vol2', 32 * units.Mi)
        volume_id = uuidutils.generate_uuid()
        info = lun.connection_info(volume_id)
        self.driver.attach_volume(self.context, info, instance, '/dev/vdb')
        self.assertIsNotNone(self._volume_disk(instance, volume_id))
        self.assertEqual([], self.target.sessions(lun))
        self.driver.power_on(self.context, instance, [])
        self.wait_for_boot(instance)
        self.assertEqual(1, len(self.target.sessions(lun)))
        self._guest_sees_disk(instance, 'vdb', 32 * units.Mi)
        self.driver.power_off(instance, timeout=base.SHUTDOWN_TIMEOUT)
        self.driver.detach_volume(self.context, info, instance, '/dev/vdb')
        self.assertIsNone(self._volume_disk(instance, volume_id))

    def test_boot_from_volume(self):
        """The guest's root is a LUN holding the guest image; no upload."""
        raw = guest_image.build_guest_image(fmt='raw')
        lun = self.target.create_lun('root', 64 * units.Mi, content=raw)
        volume_id = uuidutils.generate_uuid()
        instance = self.make_instance(node='node1')
        instance.image_ref = ''  # what nova sets for a volume-backed server
        bdi = {'root_device_name': '/dev/vda', 'ephemerals': [],
               'swap': None,
               'block_device_mapping': [{
                   'connection_info': lun.connection_info(volume_id),
                   'mount_device': '/dev/vda', 'boot_index': 0,
                   'disk_bus': 'virtio', 'delete_on_termination': False}]}
        self.addCleanup(self._destroy_quietly, instance)
        self.driver.spawn(self.context, instance, base.objects.ImageMeta(),
                          injected_files=[], admin_password=None,
                          allocations={}, network_info=[],
                          block_device_info=bdi)
        self.wait_for_boot(instance)
        root = self._volume_disk(instance, volume_id)
        self.assertEqual('vda', root.find('target').get('dev'))
        # The guest's first disk is the 64 MiB LUN holding the image.
        with open(raw, 'rb') as f:
            f.seek(guest_image.PROBE_OFFSET)
            sectors = f.read(guest_image.PROBE_LENGTH)
        self._guest_sees_disk(instance, 'vda', 64 * units.Mi, sectors)
        # No image upload and no root overlay on the host.
        self.assertEqual([], [v for v in self.host_of_node[
            'node1'].volume_names() if v.startswith('image-') or
            v == '%s_disk' % instance.uuid])

    def test_refused_login_and_wrong_chap_leave_guest_as_it_was(self):
        instance = self._running_guest()
        before = self._domain(instance).XMLDesc(
            libvirt.VIR_DOMAIN_XML_INACTIVE)
        other = self.target.create_lun('acl', 16 * units.Mi,
                                       initiator='iqn.2026-01.example:other')
        chap = self.target.create_lun('chap', 16 * units.Mi,
                                      username='u', password='right')
        wrong = chap.connection_info(uuidutils.generate_uuid())
        wrong['data']['auth_password'] = 'wrong'
        for info in (other.connection_info(uuidutils.generate_uuid()), wrong):
            self.assertRaises(nova_exception.VolumeAttachFailed,
                              self.driver.attach_volume, self.context, info,
                              instance, '/dev/vdb')
            self.assertEqual(before, self._domain(instance).XMLDesc(
                libvirt.VIR_DOMAIN_XML_INACTIVE))
            self.assertIsNone(self._volume_disk(
                instance, info['data']['volume_id']))
        usages = [s.usageID() for s in
                  self._conn(instance).listAllSecrets(0)]
        self.assertEqual([], [u for u in usages if instance.uuid in u])
        unknown = {'driver_volume_type': 'fibre_channel',
                   'data': {'volume_id': 'v-fc', 'target_wwn': ['50']}}
        err = self.assertRaises(nova_exception.VolumeDriverNotFound,
                                self.driver.attach_volume, self.context,
                                unknown, instance, '/dev/vdb')
        self.assertIn('fibre_channel', str(err))
        self.assertEqual(power_state.RUNNING, self.power_state(instance))
