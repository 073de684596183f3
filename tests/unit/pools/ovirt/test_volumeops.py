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

"""Cinder volumes as direct LUN disks, against the engine simulator."""

from oslotest import base as oslotest_base
from ovirtsdk4 import types

from nova import objects

from nova_ovirt import connection_info as cinfo
from nova_ovirt import exception
from nova_ovirt.pools.ovirt import volumeops
from ovirt_engine_sim import luns
from tests.unit.pools.ovirt import test_vmops

IQN = 'iqn.2026-11.invalid.san:volumes'
WWID = '36001405bbbbbbbbbbbbbbbbbbbbbbbb1'
VOLUME = '7a8b7c42-6a9c-4e7e-9d43-1f0b4f1f5c11'
GiB = 1024 ** 3


def iscsi_info(volume_id=VOLUME, iqn=IQN, lun=1, password='chapsecret'):
    return {'driver_volume_type': 'iscsi', 'serial': volume_id,
            'data': {'volume_id': volume_id,
                     'target_portal': '192.0.2.10:3260',
                     'target_iqn': iqn, 'target_lun': lun,
                     'auth_method': 'CHAP', 'auth_username': 'chapuser',
                     'auth_password': password}}


class TestVolumes(test_vmops.FlowTestCase):

    def setUp(self):
        super().setUp()
        self.san = luns.san(self.sim.store)
        self.san.add_target('192.0.2.10', 3260, IQN, luns=[(1, WWID, GiB)],
                            username='chapuser', password='chapsecret')
        self.inst = self.spawn()
        self.vm = self.sim_vm(self.inst)

    def lun_disks(self):
        with self.sim.store.lock:
            return [d for d in self.sim.store.disks.values()
                    if d.storage_type == types.DiskStorageType.LUN]

    def attach(self, info=None):
        self.pool.attach_volume(self.context, info or iscsi_info(), self.inst,
                                '/dev/vdb')

    def detach(self, info):
        self.pool.detach_volume(self.context, info, self.inst, '/dev/vdb')

    def test_connector_names_cluster_initiator(self):
        connector = self.pool.get_volume_connector(self.inst)
        self.assertEqual('iqn.2026-01.org.openstack.nova-ovirt:%s.cluster1'
                         % self.pool.name.lower(), connector['initiator'])
        self.assertFalse(connector['do_local_attach'])

    def test_attach_logs_in_and_attaches_lun_disk(self):
        self.attach()
        [disk] = self.lun_disks()
        self.assertEqual(WWID, disk.lun_storage.logical_units[0].id)
        self.assertEqual('nova-volume-%s' % VOLUME, disk.alias)
        self.assertIn(self.inst.uuid, disk.description)
        att = self.sim.store.disk_attachments[disk.id]
        self.assertEqual(self.vm.id, att.vm.id)
        self.assertTrue(att.active)
        self.assertEqual(types.DiskInterface.VIRTIO, att.interface)
        self.assertEqual(1, len(self.san.sessions))
        # Attaching again changes nothing.
        self.attach()
        self.assertEqual(1, len(self.lun_disks()))

    def test_attach_reuses_our_detached_disk(self):
        self.attach()
        [disk] = self.lun_disks()
        with self.sim.store.lock:
            self.sim.store.disk_attachments.pop(disk.id)
        self.attach()
        self.assertEqual([disk.id], [d.id for d in self.lun_disks()])
        self.assertEqual(self.vm.id,
                         self.sim.store.disk_attachments[disk.id].vm.id)

    def test_detach_removes_disk_keeps_lun_and_is_idempotent(self):
        self.attach()
        [disk] = self.lun_disks()
        self.detach(iscsi_info())
        self.assertEqual([], self.lun_disks())
        self.assertNotIn(disk.id, self.sim.store.disk_attachments)
        self.assertIsNotNone(self.san.find_lun(WWID)[1])
        self.detach(iscsi_info())

    def test_detach_leaves_other_disks_alone(self):
        self.attach()
        other = iscsi_info(volume_id='0b1c2d3e-0000-4000-8000-000000000001')
        self.detach(other)
        self.assertEqual(1, len(self.lun_disks()))

    def test_extend_refreshes_lun(self):
        self.attach()
        self.san.resize(WWID, 3 * GiB)
        size = self.pool.extend_volume(self.context, iscsi_info(), self.inst,
                                       3 * GiB)
        self.assertEqual(3 * GiB, size)
        [disk] = self.lun_disks()
        self.assertEqual(3 * GiB, disk.lun_storage.logical_units[0].size)

    def test_bad_chap_fault_leaves_nothing(self):
        e = self.assertRaises(exception.BackendOperationFailed, self.attach,
                              iscsi_info(password='wrong'))
        self.assertIn('authentication failure', str(e))
        self.assertIn('cluster1', str(e))
        self.assertEqual([], self.lun_disks())
        self.assertEqual(set(), self.san.sessions)

    def test_unknown_target_fault(self):
        e = self.assertRaises(exception.BackendOperationFailed, self.attach,
                              iscsi_info(iqn='iqn.2026-11.invalid:nope'))
        self.assertIn('iqn.2026-11.invalid:nope', str(e))
        self.assertEqual([], self.lun_disks())

    def test_unknown_lun_fault_names_volume(self):
        e = self.assertRaises(volumeops.LunNotVisible, self.attach,
                              iscsi_info(lun=7))
        self.assertIn(VOLUME, str(e))
        self.assertIn('LUN 7', str(e))
        self.assertEqual([], self.lun_disks())

    def test_failed_attachment_removes_lun_disk(self):
        self.sim.faults.script_fault(
            r'/vms/[^/]+/diskattachments$', method='POST', status=409,
            reason='Operation Failed',
            detail='[Cannot attach Virtual Disk. Boom.]')
        e = self.assertRaises(exception.BackendOperationFailed, self.attach)
        self.assertIn('Boom', str(e))
        self.assertEqual([], self.lun_disks())

    def test_rbd_refused_naming_type(self):
        info = {'driver_volume_type': 'rbd', 'serial': VOLUME,
                'data': {'name': 'volumes/volume-1'}}
        e = self.assertRaises(volumeops.UnsupportedVolumeType, self.attach,
                              info)
        self.assertIn('rbd', str(e))
        self.assertIn(VOLUME, str(e))

    def test_missing_iqn_named(self):
        info = iscsi_info()
        del info['data']['target_iqn']
        e = self.assertRaises(cinfo.InvalidConnectionInfo, self.attach,
                              info)
        self.assertIn('target_iqn', str(e))


class TestSpawnWithVolumes(test_vmops.FlowTestCase):

    def setUp(self):
        super().setUp()
        self.san = luns.san(self.sim.store)
        self.san.add_target('192.0.2.10', 3260, IQN,
                            luns=[(1, WWID, GiB), (2, WWID[:-1] + '2', GiB)],
                            username='chapuser', password='chapsecret')

    def test_volume_backed_spawn_boots_the_lun(self):
        data = '0b1c2d3e-0000-4000-8000-000000000002'
        block_device_info = {'block_device_mapping': [
            {'connection_info': iscsi_info(data, lun=2), 'boot_index': -1,
             'mount_device': '/dev/vdb'},
            {'connection_info': iscsi_info(), 'boot_index': 0,
             'mount_device': '/dev/vda'}]}
        inst = self.instance()
        self.pool.spawn(self.context, inst, objects_image_meta(), [], None,
                        {}, [], block_device_info=block_device_info)
        vm = self.sim_vm(inst)
        self.assertEqual(volumeops.BLANK_TEMPLATE_ID, vm.template.id)
        self.assertEqual(types.VmStatus.UP, vm.status)
        with self.sim.store.lock:
            atts = {self.sim.store.disks[d].lun_storage.logical_units[0].id:
                    self.sim.store.disk_attachments[d]
                    for d in self.sim.store.vm_disk_ids(vm.id)}
        self.assertEqual({WWID: True, WWID[:-1] + '2': False},
                         {w: a.bootable for w, a in atts.items()})
        self.assertEqual(0, self.sim.requests.bytes_uploaded)


def objects_image_meta():
    """A volume-backed server's image meta: no image id."""
    return objects.ImageMeta.from_dict({'properties': {}})


class TestLunSource(oslotest_base.BaseTestCase):

    def test_fibre_channel_by_wwn_and_lun(self):
        source = volumeops.lun_source(
            {'driver_volume_type': 'fibre_channel', 'serial': VOLUME,
             'data': {'target_wwn': ['500A0982991B8DC5'], 'target_lun': 2}},
            'pool1')
        self.assertEqual(types.StorageType.FCP, source.storage_type)
        self.assertEqual(['500a0982991b8dc5'], source.wwns)
        self.assertTrue(source.matches(types.LogicalUnit(lun_mapping=2)))
        self.assertFalse(source.matches(types.LogicalUnit(lun_mapping=3)))

    def test_portal_forms(self):
        self.assertEqual(('::1', 3261), cinfo.split_portal('[::1]:3261'))
        self.assertEqual(('192.0.2.1', 3260),
                         cinfo.split_portal('192.0.2.1:3260,1'))
        self.assertEqual(('san', 3260), cinfo.split_portal('san'))
