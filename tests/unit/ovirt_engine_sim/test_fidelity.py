"""Engine behaviour the pool depends on: snapshot restore, template NICs,
removal events, and what the engine refuses."""

from ovirtsdk4 import types

from tests.unit.ovirt_engine_sim import base
from tests.unit.ovirt_engine_sim.base import GiB
from tests.unit.ovirt_engine_sim.base import MiB


class SnapshotRestoreTest(base.SimTestCase):

    def _vm_with_disk(self):
        vm = self.add_vm(memory=1 * GiB, cpu=types.Cpu(
            topology=types.CpuTopology(sockets=1, cores=1, threads=1)))
        att = self.vm_service(vm.id).disk_attachments_service().add(types.DiskAttachment(
            disk=types.Disk(name='root', format=types.DiskFormat.COW,
                            provisioned_size=10 * MiB,
                            storage_domains=[types.StorageDomain(name='data')]),
            interface=types.DiskInterface.VIRTIO, bootable=True))
        self.settle()
        return vm, att.id

    def _change(self, vm_id, disk_id):
        svc = self.vm_service(vm_id)
        svc.update(types.Vm(memory=2 * GiB, memory_policy=types.MemoryPolicy(
            guaranteed=2 * GiB, max=2 * GiB), cpu=types.Cpu(
            topology=types.CpuTopology(sockets=4, cores=1, threads=1))))
        svc.disk_attachments_service().attachment_service(disk_id).update(
            types.DiskAttachment(disk=types.Disk(provisioned_size=20 * MiB)))
        self.settle()

    def _shape(self, vm_id, disk_id):
        vm = self.vm_service(vm_id).get()
        disk = self.system.disks_service().disk_service(disk_id).get()
        return vm.memory, vm.cpu.topology.sockets, disk.provisioned_size

    def test_restore_brings_back_configuration_and_disk_size(self):
        vm, disk_id = self._vm_with_disk()
        snaps = self.vm_service(vm.id).snapshots_service()
        snap = snaps.add(types.Snapshot(description='before'))
        self.settle()
        self._change(vm.id, disk_id)
        self.assertEqual((2 * GiB, 4, 20 * MiB), self._shape(vm.id, disk_id))
        snaps.snapshot_service(snap.id).restore()
        self.settle()
        self.assertEqual((1 * GiB, 1, 10 * MiB), self._shape(vm.id, disk_id))

    def test_preview_then_undo_keeps_the_current_configuration(self):
        vm, disk_id = self._vm_with_disk()
        snaps = self.vm_service(vm.id).snapshots_service()
        snap = snaps.add(types.Snapshot(description='before'))
        self.settle()
        self._change(vm.id, disk_id)
        svc = self.vm_service(vm.id)
        svc.preview_snapshot(snapshot=types.Snapshot(id=snap.id), restore_memory=False)
        self.assertEqual((1 * GiB, 1, 10 * MiB), self._shape(vm.id, disk_id))
        svc.undo_snapshot()
        self.assertEqual((2 * GiB, 4, 20 * MiB), self._shape(vm.id, disk_id))


class TemplateNicsTest(base.SimTestCase):

    def test_vm_from_template_inherits_its_nics(self):
        vm = self.add_vm()
        profile = self.system.vnic_profiles_service().list()[0]
        nic = self.vm_service(vm.id).nics_service().add(types.Nic(
            name='nic1', vnic_profile=types.VnicProfile(id=profile.id)))
        tpl = self.system.templates_service().add(types.Template(
            name='tpl', vm=types.Vm(id=vm.id)))
        self.settle()
        tnics = self.system.templates_service().template_service(tpl.id) \
            .nics_service().list()
        self.assertEqual(['nic1'], [n.name for n in tnics])
        self.assertIsNone(tnics[0].mac)
        child = self.add_vm(name='child', template='tpl')
        self.settle()
        nics = self.vm_service(child.id).nics_service().list()
        self.assertEqual(['nic1'], [n.name for n in nics])
        self.assertEqual(profile.id, nics[0].vnic_profile.id)
        self.assertNotEqual(nic.mac.address, nics[0].mac.address)
        # The template's own NICs go with it.
        self.vm_service(child.id).remove()
        self.system.templates_service().template_service(tpl.id).remove()
        self.assertEqual([], self.sim.store.template_nics(tpl.id))

    def test_blank_template_has_no_nics(self):
        vm = self.add_vm()
        self.assertEqual([], self.vm_service(vm.id).nics_service().list())


class RemovalTest(base.SimTestCase):

    def test_removed_event_links_the_vm(self):
        vm = self.add_vm()
        last = int(self.system.events_service().list(max=1)[0].id)
        self.vm_service(vm.id).remove()
        admin = self.sim.admin_add_vm('theirs', 'cluster1', status='down')
        self.sim.admin_remove_vm(admin.id)
        removed = [e for e in self.system.events_service().list(from_=last)
                   if e.code == 113]
        self.assertEqual({vm.id, admin.id}, {e.vm.id for e in removed})
        self.assertTrue(all(e.cluster.id for e in removed))

    def test_template_based_vm_cannot_keep_its_disks(self):
        vm = self.add_vm()
        self.vm_service(vm.id).disk_attachments_service().add(types.DiskAttachment(
            disk=types.Disk(name='root', format=types.DiskFormat.COW,
                            provisioned_size=MiB,
                            storage_domains=[types.StorageDomain(name='data')]),
            interface=types.DiskInterface.VIRTIO, bootable=True))
        self.settle()
        self.system.templates_service().add(types.Template(
            name='tpl', vm=types.Vm(id=vm.id)))
        self.settle()
        child = self.add_vm(name='child', template='tpl')
        self.settle()
        svc = self.vm_service(child.id)
        err = self.assertFault(409, svc.remove, detach_only=True)
        self.assertIn('based from template', err.fault.detail)
        # One disk at a time may leave (no snapshots), then the VM goes.
        disk_id = svc.disk_attachments_service().list()[0].id
        svc.disk_attachments_service().attachment_service(disk_id).remove(
            detach_only=True)
        svc.remove()
        self.system.disks_service().disk_service(disk_id).get()
