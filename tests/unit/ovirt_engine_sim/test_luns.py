"""Direct LUN disks, host iSCSI logins and LUN refresh (ovirt_engine_sim.luns)."""

import ovirtsdk4 as sdk
from ovirtsdk4 import types

from ovirt_engine_sim import luns
from tests.unit.ovirt_engine_sim import base

IQN = 'iqn.2026-11.invalid.san:vol1'
WWID = '36001405aaaaaaaaaaaaaaaaaaaaaaaa1'


class LunTestCase(base.SimTestCase):

    def setUp(self):
        super(LunTestCase, self).setUp()
        self.san = luns.san(self.sim.store)
        self.san.add_target('192.0.2.10', 3260, IQN, luns=[(1, WWID, base.GiB)],
                            username='chapuser', password='chapsecret')
        self.host = self.system.hosts_service().list()[0]
        self.host_service = self.system.hosts_service().host_service(self.host.id)

    def login(self, password='chapsecret', target=IQN):
        self.host_service.iscsi_login(iscsi=types.IscsiDetails(
            address='192.0.2.10', port=3260, target=target, username='chapuser',
            password=password))

    def lun_disk(self, shareable=False, wwid=WWID):
        return self.system.disks_service().add(types.Disk(
            alias='lun1', shareable=shareable, lun_storage=types.HostStorage(
                type=types.StorageType.ISCSI, logical_units=[types.LogicalUnit(
                    id=wwid, address='192.0.2.10', port=3260, target=IQN)])))

    def test_login_lists_the_targets_luns(self):
        self.assertEqual([], self.host_service.storage_service().list())
        self.login()
        storage = self.host_service.storage_service().list()
        self.assertEqual([WWID], [s.id for s in storage])
        unit = storage[0].logical_units[0]
        self.assertEqual((WWID, 1, IQN, base.GiB, '192.0.2.10', 3260),
                         (unit.id, unit.lun_mapping, unit.target, unit.size,
                          unit.address, unit.port))
        self.assertEqual([IQN], self.san.logged_in(self.host.id))

    def test_bad_chap_is_refused(self):
        e = self.assertRaises(sdk.Error, self.login, password='wrong')
        self.assertIn('authentication failure', str(e))
        self.assertEqual([], self.san.logged_in(self.host.id))

    def test_unknown_target_is_refused(self):
        e = self.assertRaises(sdk.Error, self.login, target='iqn.2026-11.invalid:nope')
        self.assertIn('no iSCSI target iqn.2026-11.invalid:nope', str(e))

    def test_discover(self):
        targets = self.host_service.iscsi_discover(
            iscsi=types.IscsiDetails(address='192.0.2.10', port=3260))
        self.assertEqual([IQN], targets)

    def test_lun_disk_attach_detach_remove(self):
        disk = self.lun_disk()
        self.assertEqual(types.DiskStorageType.LUN, disk.storage_type)
        self.assertEqual(base.GiB, disk.lun_storage.logical_units[0].size)
        vm = self.add_vm()
        self.settle()
        atts = self.vm_service(vm.id).disk_attachments_service()
        atts.add(types.DiskAttachment(disk=types.Disk(id=disk.id), active=True,
                                      interface=types.DiskInterface.VIRTIO_SCSI))
        disk_service = self.system.disks_service().disk_service(disk.id)
        self.assertEqual(types.DiskStatus.LOCKED, disk_service.get().status)
        self.settle()
        self.assertEqual(types.DiskStatus.OK, disk_service.get().status)
        atts.attachment_service(disk.id).remove()
        disk_service.remove()
        self.assertNotIn(disk.id, self.sim.store.disks)
        self.assertIsNotNone(self.san.find_lun(WWID)[1])

    def test_lun_used_twice_only_when_shareable(self):
        self.lun_disk()
        e = self.assertRaises(sdk.Error, self.lun_disk)
        self.assertIn('already used by disk lun1', str(e))

    def test_shareable_lun_twice(self):
        self.lun_disk(shareable=True)
        self.assertTrue(self.lun_disk(shareable=True).shareable)

    def test_missing_target_named(self):
        e = self.assertRaises(sdk.Error, self.system.disks_service().add, types.Disk(
            lun_storage=types.HostStorage(type=types.StorageType.ISCSI, logical_units=[
                types.LogicalUnit(id=WWID, address='192.0.2.10', port=3260)])))
        self.assertIn('lunStorage.logicalUnits.logicalUnit.target', str(e))

    def test_unknown_lun_refused(self):
        e = self.assertRaises(sdk.Error, self.lun_disk, wwid='36001405nope')
        self.assertIn('LUN 36001405nope', str(e))

    def test_refreshlun_reads_new_size(self):
        disk = self.lun_disk()
        self.login()
        self.san.resize(WWID, 2 * base.GiB)
        disk_service = self.system.disks_service().disk_service(disk.id)
        self.assertEqual(base.GiB, disk_service.get().lun_storage.logical_units[0].size)
        disk_service.refresh_lun(host=types.Host(id=self.host.id))
        self.assertEqual(2 * base.GiB,
                         disk_service.get().lun_storage.logical_units[0].size)
