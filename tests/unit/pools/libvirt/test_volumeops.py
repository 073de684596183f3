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

"""Cinder connection_info to libvirt disk XML (no libvirt needed).

The iSCSI path is exercised for real in tests/live/test_volumes.py and
tests/functional/test_volumes.py; RBD has no Ceph here, so its XML is
checked here only.
"""

from xml.etree import ElementTree as etree

import testtools

from nova import exception as nova_exception

from nova_ovirt import connection_info as cinfo
from nova_ovirt.pools.libvirt import config
from nova_ovirt.pools.libvirt import volumeops

INSTANCE = '11111111-2222-3333-4444-555555555555'
VOLUME = '66666666-7777-8888-9999-000000000000'


def iscsi_info(**data):
    info = {'target_portal': '192.0.2.10:3260',
            'target_iqn': 'iqn.2010-10.org.openstack:volume-1',
            'target_lun': 1, 'volume_id': VOLUME}
    info.update(data)
    return {'driver_volume_type': 'iscsi', 'data': info}


def render(info, target='vdb', initiator=None, local=False):
    disk = volumeops.volume_disk(info, INSTANCE, 'kvm', local)
    disk.initiator = initiator
    return etree.tostring(volumeops.disk_element(disk, target),
                          encoding='unicode')


class IscsiDiskTest(testtools.TestCase):

    def test_plain(self):
        self.assertEqual(
            '<disk type="network" device="disk">'
            '<driver name="qemu" type="raw" cache="none" />'
            '<source protocol="iscsi" '
            'name="iqn.2010-10.org.openstack:volume-1/1">'
            '<host name="192.0.2.10" port="3260" />'
            '<initiator><iqn name="iqn.x:node1" /></initiator></source>'
            '<target dev="vdb" bus="virtio" />'
            '<serial>%s</serial></disk>' % VOLUME,
            render(iscsi_info(), initiator='iqn.x:node1'))

    def test_chap_goes_into_a_secret_by_usage(self):
        xml = render(iscsi_info(auth_method='CHAP', auth_username='u',
                                auth_password='p4ss'))
        self.assertNotIn('p4ss', xml)
        self.assertIn('<auth username="u"><secret type="iscsi" usage="'
                      'nova-ovirt/%s/%s" /></auth>' % (INSTANCE, VOLUME),
                      xml)

    def test_portal_forms(self):
        for portal, host, port in (('[2001:db8::1]:3261', '2001:db8::1',
                                    3261),
                                   ('192.0.2.1', '192.0.2.1', 3260),
                                   ('192.0.2.1:3260,1', '192.0.2.1', 3260)):
            disk = volumeops.volume_disk(iscsi_info(target_portal=portal),
                                         INSTANCE, 'kvm', False)
            self.assertEqual([(host, port)], disk.hosts)

    def test_read_only(self):
        self.assertIn('<readonly />', render(iscsi_info(access_mode='ro')))

    def test_missing_iqn_names_the_field(self):
        info = iscsi_info()
        del info['data']['target_iqn']
        err = self.assertRaises(cinfo.InvalidConnectionInfo,
                                volumeops.volume_disk, info, INSTANCE, 'kvm',
                                False)
        self.assertIn('target_iqn', str(err))

    def test_other_auth_method_refused(self):
        self.assertRaises(cinfo.InvalidConnectionInfo,
                          volumeops.volume_disk,
                          iscsi_info(auth_method='kerberos'), INSTANCE,
                          'kvm', False)


class RbdDiskTest(testtools.TestCase):

    def info(self, **data):
        base = {'name': 'volumes/volume-1', 'hosts': ['192.0.2.1',
                                                      '192.0.2.2'],
                'ports': ['6789', '6789'], 'auth_enabled': True,
                'auth_username': 'cinder', 'secret_type': 'ceph',
                'secret_uuid': 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
                'volume_id': VOLUME}
        base.update(data)
        return {'driver_volume_type': 'rbd', 'data': base}

    def test_rbd_refers_to_the_operator_secret(self):
        self.assertEqual(
            '<disk type="network" device="disk">'
            '<driver name="qemu" type="raw" cache="none" />'
            '<source protocol="rbd" name="volumes/volume-1">'
            '<host name="192.0.2.1" port="6789" />'
            '<host name="192.0.2.2" port="6789" />'
            '<auth username="cinder"><secret type="ceph" '
            'uuid="aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" /></auth>'
            '</source><target dev="vdc" bus="virtio" />'
            '<serial>%s</serial></disk>' % VOLUME,
            render(self.info(), target='vdc', initiator='iqn.unused'))

    def test_rbd_without_secret_names_the_option(self):
        err = self.assertRaises(cinfo.InvalidConnectionInfo,
                                volumeops.volume_disk,
                                self.info(secret_uuid=None), INSTANCE, 'kvm',
                                False)
        self.assertIn('rbd_secret_uuid', str(err))


class UnsupportedTest(testtools.TestCase):

    def test_fibre_channel_names_type_and_pool(self):
        err = self.assertRaises(
            nova_exception.VolumeDriverNotFound, volumeops.volume_disk,
            {'driver_volume_type': 'fibre_channel',
             'data': {'volume_id': VOLUME}}, INSTANCE, 'kvm', True)
        self.assertIn('fibre_channel', str(err))
        self.assertIn('kvm', str(err))
        self.assertIn(VOLUME, str(err))

    def test_local_device_only_on_a_local_host(self):
        info = {'driver_volume_type': 'local',
                'data': {'device_path': '/dev/sdz', 'volume_id': VOLUME}}
        self.assertRaises(volumeops.UnsupportedVolumeType,
                          volumeops.volume_disk, info, INSTANCE, 'kvm', False)
        self.assertIn('<source dev="/dev/sdz" />',
                      render(info, local=True))


class DefinitionTest(testtools.TestCase):

    def domain(self, *volume_targets):
        guest = config.GuestConfig(INSTANCE, 'instance-x', 128, 1, disks=[
            config.disk('/p/root', 'qcow2', 'vda')])
        guest.volume_disks = [
            volumeops.disk_element(volumeops.volume_disk(
                iscsi_info(volume_id='vol-%s' % t), INSTANCE, 'kvm', False),
                t) for t in volume_targets]
        return config.domain_xml(guest)

    def test_volume_disks_are_in_the_domain_and_carried_over(self):
        xml = self.domain('vdb', 'vdc')
        carried = volumeops.volume_disks_of(xml)
        self.assertEqual(['vol-vdb', 'vol-vdc'],
                         [d.findtext('serial') for d in carried])
        self.assertEqual('vdb', volumeops.disk_of_volume(
            xml, 'vol-vdb').find('target').get('dev'))
        self.assertEqual('vdd', volumeops.free_target(xml, 'vdb'))
        self.assertEqual('vde', volumeops.free_target(xml, 'vde'))

    def test_rescue_moves_a_volume_off_the_root_target(self):
        rescue = config.GuestConfig(INSTANCE, 'instance-x', 128, 1, disks=[
            config.disk('/p/rescue', 'qcow2', 'vda'),
            config.disk('/p/root', 'qcow2', 'vdb')])
        carried = volumeops.carried_volume_disks(
            rescue, None, self.domain('vdb'))
        self.assertEqual(['vdc'],
                         [d.find('target').get('dev') for d in carried])

    def test_initiator_is_stable_and_valid(self):
        # IQNs allow lowercase letters, digits, '.', '-' and ':' only.
        self.assertEqual('iqn.p:compute-1.node-a',
                         volumeops.initiator_iqn('iqn.p', 'Compute_1',
                                                 'node A'))
        self.assertEqual('iqn.p:c.kvm1.example.org',
                         volumeops.initiator_iqn('iqn.p', 'c',
                                                 'kvm1.example.org'))

    def test_root_on_volume(self):
        self.assertFalse(volumeops.VolumeOps.root_on_volume(None))
        self.assertTrue(volumeops.VolumeOps.root_on_volume({
            'root_device_name': '/dev/vda', 'block_device_mapping': [
                {'mount_device': '/dev/vda', 'boot_index': 0,
                 'connection_info': iscsi_info()}]}))
        self.assertFalse(volumeops.VolumeOps.root_on_volume({
            'root_device_name': '/dev/vda', 'block_device_mapping': [
                {'mount_device': '/dev/vdb', 'boot_index': None,
                 'connection_info': iscsi_info()}]}))

    def test_no_free_target(self):
        targets = ['vd' + c for c in 'abcdefghijklmnopqrstuvwxyz']
        guest = config.GuestConfig(INSTANCE, 'instance-x', 128, 1, disks=[
            config.disk('/p/%s' % t, 'qcow2', t) for t in targets])
        self.assertRaises(volumeops.NoFreeTarget, volumeops.free_target,
                          config.domain_xml(guest), 'vdb')

    def test_disk_found_by_source_after_a_swap(self):
        # After a swap the disk keeps the serial it was attached with;
        # nova goes on with another volume id, whose connection_info
        # names the LUN the disk reads now.
        swapped = iscsi_info(target_iqn='iqn.2010-10.org.openstack:new',
                             volume_id='other-id', auth_method='CHAP',
                             auth_username='u', auth_password='p')
        disk = volumeops.volume_disk(swapped, INSTANCE, 'kvm', False)
        element = volumeops.disk_element(disk, 'vdb')
        element.find('serial').text = VOLUME
        xml = '<domain><devices>%s</devices></domain>' % etree.tostring(
            element, encoding='unicode')
        self.assertIsNone(volumeops.disk_of_volume(xml, 'other-id'))
        found = volumeops.disk_of_volume(xml, 'other-id', disk)
        self.assertEqual(VOLUME, found.findtext('serial'))
        # Its secret is the one the disk names, made for the new volume.
        self.assertEqual('nova-ovirt/%s/other-id' % INSTANCE,
                         volumeops.our_secret_usage(found))
        unrelated = volumeops.volume_disk(iscsi_info(), INSTANCE, 'kvm',
                                          False)
        self.assertIsNone(volumeops.disk_of_volume(xml, 'x', unrelated))

    def test_operator_secrets_are_not_ours(self):
        info = {'driver_volume_type': 'rbd', 'data': {
            'name': 'volumes/v1', 'hosts': ['192.0.2.1'], 'ports': ['6789'],
            'auth_enabled': True, 'auth_username': 'cinder',
            'secret_uuid': '2a5b4bd4-8e8e-4fd5-a8e6-1b2a0d3e4f50',
            'volume_id': VOLUME}}
        element = volumeops.disk_element(
            volumeops.volume_disk(info, INSTANCE, 'kvm', False), 'vdb')
        self.assertIsNone(volumeops.our_secret_usage(element))
