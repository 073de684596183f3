"""The simulator driven only through the public ovirtsdk4 API.

The flows follow the SDK's own examples (list hosts, add a VM from a
template with disks and NICs, start/stop, snapshots, follow links, search,
events) with the manual clock standing in for waiting.
"""

import ovirtsdk4 as sdk
from ovirtsdk4 import types

from tests.unit.ovirt_engine_sim import base
from tests.unit.ovirt_engine_sim.base import GiB
from tests.unit.ovirt_engine_sim.base import MiB


class InventoryTest(base.SimTestCase):

    def test_api_root(self):
        api = self.system.get()
        self.assertEqual('oVirt Engine', api.product_info.name)
        self.assertEqual(4, api.product_info.version.major)
        self.assertEqual(5, api.product_info.version.minor)
        self.assertEqual('00000000-0000-0000-0000-000000000000',
                         api.special_objects.blank_template.id)
        self.assertEqual(4, api.summary.hosts.total)

    def test_clusters_and_hosts(self):
        clusters = self.system.clusters_service().list()
        self.assertEqual(['cluster1', 'cluster2'], sorted(c.name for c in clusters))
        c1 = [c for c in clusters if c.name == 'cluster1'][0]
        self.assertEqual('Intel Nehalem Family', c1.cpu.type)
        self.assertEqual(4, c1.version.major)
        self.assertEqual(7, c1.version.minor)
        dc = self.conn.follow_link(c1.data_center)
        self.assertEqual('Default', dc.name)
        hosts = self.system.hosts_service().list(search='cluster=cluster1')
        self.assertEqual(2, len(hosts))
        for h in hosts:
            self.assertEqual(types.HostStatus.UP, h.status)
            self.assertEqual(c1.id, h.cluster.id)
            self.assertEqual(2, h.cpu.topology.sockets)
            self.assertEqual(4, h.cpu.topology.cores)
            self.assertEqual(32 * GiB, h.memory)
            self.assertLess(h.max_scheduling_memory, h.memory)
        stats = self.conn.follow_link(hosts[0].statistics)
        names = {s.name: s for s in stats}
        self.assertEqual(32 * GiB, names['memory.total'].values[0].datum)
        c2_hosts = self.system.hosts_service().list(search='cluster=cluster2')
        self.assertEqual(64 * GiB, c2_hosts[0].memory)
        self.assertEqual(2, c2_hosts[0].cpu.topology.threads)

    def test_stable_ids(self):
        c = self.system.clusters_service().list(search='name=cluster1')[0]
        other = base.EngineSimFixture(clock=self.clock)
        self.useFixture(other)
        self.assertIn(c.id, other.sim.store.clusters)

    def test_storage_networks_profiles_templates(self):
        sds = self.system.storage_domains_service().list()
        self.assertEqual(['data'], [sd.name for sd in sds])
        self.assertEqual(types.StorageDomainType.DATA, sds[0].type)
        self.assertEqual(500 * GiB, sds[0].available)
        nets = {n.name for n in self.system.networks_service().list()}
        self.assertEqual({'ovirtmgmt', 'physnet1'}, nets)
        profiles = self.system.vnic_profiles_service().list()
        self.assertEqual({'ovirtmgmt', 'physnet1'}, {p.name for p in profiles})
        net = self.conn.follow_link(profiles[0].network)
        self.assertEqual(profiles[0].name, net.name)
        blank = self.system.templates_service().template_service(
            '00000000-0000-0000-0000-000000000000').get()
        self.assertEqual('Blank', blank.name)

    def test_get_unknown_is_not_found(self):
        self.assertRaises(sdk.NotFoundError,
                          self.vm_service('6a0e0a88-1111-4a4f-9a4a-000000000000').get)
        self.assertRaises(sdk.NotFoundError,
                          self.system.hosts_service().host_service('nope').get)


class VmLifecycleTest(base.SimTestCase):

    def test_add_vm_from_blank(self):
        vm = self.add_vm(memory=2 * GiB, description='nova:abc', comment='c',
                         cpu=types.Cpu(topology=types.CpuTopology(sockets=2, cores=2,
                                                                  threads=1)),
                         memory_policy=types.MemoryPolicy(guaranteed=1 * GiB))
        self.assertEqual(types.VmStatus.DOWN, vm.status)
        self.assertEqual('nova:abc', vm.description)
        self.assertEqual('c', vm.comment)
        self.assertEqual(2 * GiB, vm.memory)
        self.assertEqual(1 * GiB, vm.memory_policy.guaranteed)
        self.assertEqual(8 * GiB, vm.memory_policy.max)
        self.assertEqual(2, vm.cpu.topology.sockets)
        self.assertTrue(vm.href.endswith('/vms/%s' % vm.id))
        cluster = self.conn.follow_link(vm.cluster)
        self.assertEqual('cluster1', cluster.name)

    def test_add_vm_missing_fields(self):
        err = self.assertFault(400, self.system.vms_service().add, types.Vm(name='x'))
        self.assertIn('cluster.id|name', err.fault.detail)
        self.assertEqual('Incomplete parameters', err.fault.reason)

    def test_add_vm_duplicate_name(self):
        self.add_vm()
        self.assertFault(409, self.add_vm)

    def test_start_shutdown_cycle(self):
        vm = self.add_vm()
        svc = self.vm_service(vm.id)
        svc.start()
        self.assertEqual(types.VmStatus.WAIT_FOR_LAUNCH, svc.get().status)
        self.settle()
        vm = svc.get()
        self.assertEqual(types.VmStatus.UP, vm.status)
        host = self.conn.follow_link(vm.host)
        self.assertEqual(vm.cluster.id, host.cluster.id)
        self.assertIsNotNone(vm.start_time)
        self.assertFault(409, svc.start)
        svc.shutdown()
        self.assertEqual(types.VmStatus.POWERING_DOWN, svc.get().status)
        self.settle()
        vm = svc.get()
        self.assertEqual(types.VmStatus.DOWN, vm.status)
        self.assertIsNone(vm.host)

    def test_stop_is_immediate(self):
        vm = self.add_vm()
        self.start_and_wait(vm.id)
        self.vm_service(vm.id).stop()
        self.assertEqual(types.VmStatus.DOWN, self.vm_service(vm.id).get().status)
        self.assertFault(409, self.vm_service(vm.id).stop)

    def test_reboot_and_suspend(self):
        vm = self.add_vm()
        svc = self.vm_service(vm.id)
        self.start_and_wait(vm.id)
        svc.reboot()
        self.assertEqual(types.VmStatus.REBOOT_IN_PROGRESS, svc.get().status)
        self.settle()
        self.assertEqual(types.VmStatus.UP, svc.get().status)
        svc.suspend()
        self.assertEqual(types.VmStatus.SAVING_STATE, svc.get().status)
        self.settle()
        self.assertEqual(types.VmStatus.SUSPENDED, svc.get().status)
        svc.start()
        self.assertEqual(types.VmStatus.RESTORING_STATE, svc.get().status)
        self.settle()
        self.assertEqual(types.VmStatus.UP, svc.get().status)

    def test_start_with_cloud_init(self):
        vm = self.add_vm()
        init = types.Initialization(host_name='guest1', user_name='root',
                                    custom_script='#cloud-config\npackages: [vim]\n',
                                    authorized_ssh_keys='ssh-ed25519 AAAA test')
        self.vm_service(vm.id).start(use_cloud_init=True,
                                     vm=types.Vm(initialization=init))
        last = self.sim.store.vms[vm.id]._sim_last_run
        self.assertTrue(last['use_cloud_init'])
        self.assertEqual('guest1', last['initialization'].host_name)
        self.assertIn('packages', last['initialization'].custom_script)

    def test_initialization_is_stored_on_add(self):
        vm = self.add_vm(initialization=types.Initialization(
            custom_script='#cloud-config\n', host_name='h1',
            user_name='cloud-user', nic_configurations=[types.NicConfiguration(
                name='eth0', boot_protocol=types.BootProtocol.DHCP, on_boot=True)]))
        got = self.vm_service(vm.id).get()
        self.assertEqual('h1', got.initialization.host_name)
        self.assertEqual('#cloud-config\n', got.initialization.custom_script)
        self.assertEqual('eth0', got.initialization.nic_configurations[0].name)

    def test_update_vm(self):
        vm = self.add_vm(memory=1 * GiB)
        svc = self.vm_service(vm.id)
        got = svc.update(types.Vm(memory=4 * GiB, description='new',
                                  cpu=types.Cpu(topology=types.CpuTopology(
                                      sockets=1, cores=4, threads=1))))
        self.assertEqual(4 * GiB, got.memory)
        self.assertEqual('new', got.description)
        self.assertEqual(4, svc.get().cpu.topology.cores)
        self.assertGreaterEqual(svc.get().memory_policy.max, 4 * GiB)

    def test_remove_running_vm_conflicts(self):
        vm = self.add_vm()
        self.start_and_wait(vm.id)
        err = self.assertFault(409, self.vm_service(vm.id).remove)
        self.assertEqual('[Cannot remove VM. VM is running.]', err.fault.detail)
        self.assertEqual('Operation Failed', err.fault.reason)
        self.vm_service(vm.id).stop()
        self.vm_service(vm.id).remove()
        self.assertRaises(sdk.NotFoundError, self.vm_service(vm.id).get)

    def test_capacity_enforced(self):
        # cluster1 hosts have 31 GiB schedulable each: two 20 GiB VMs fit,
        # a third does not.
        ids = []
        for i in range(3):
            ids.append(self.add_vm(name='big%d' % i, memory=20 * GiB).id)
        self.start_and_wait(ids[0])
        self.start_and_wait(ids[1])
        hosts = {self.vm_service(i).get().host.id for i in ids[:2]}
        self.assertEqual(2, len(hosts))
        err = self.assertFault(409, self.vm_service(ids[2]).start)
        self.assertIn('memory is too low', err.fault.detail)
        self.vm_service(ids[0]).stop()
        self.start_and_wait(ids[2])

    def test_maintenance_host_excluded(self):
        hosts = self.system.hosts_service().list(search='cluster=cluster1')
        self.sim.admin_set_host_status(hosts[0].id, 'maintenance')
        vm = self.add_vm()
        up = self.start_and_wait(vm.id)
        self.assertEqual(hosts[1].id, up.host.id)
        self.sim.admin_set_host_status(hosts[1].id, 'maintenance')
        vm2 = self.add_vm(name='vm2')
        err = self.assertFault(409, self.vm_service(vm2.id).start)
        self.assertIn('no available running Hosts', err.fault.detail)

    def test_migrate(self):
        vm = self.add_vm()
        up = self.start_and_wait(vm.id)
        svc = self.vm_service(vm.id)
        svc.migrate()
        self.assertEqual(types.VmStatus.MIGRATING, svc.get().status)
        self.settle()
        moved = svc.get()
        self.assertEqual(types.VmStatus.UP, moved.status)
        self.assertNotEqual(up.host.id, moved.host.id)
        svc.migrate(host=types.Host(id=up.host.id))
        svc.cancel_migration()
        self.assertEqual(moved.host.id, svc.get().host.id)
        err = self.assertFault(409, svc.migrate, host=types.Host(id=moved.host.id))
        self.assertIn('same', err.fault.detail)

    def test_graphics_console_and_ticket(self):
        vm = self.add_vm()
        self.start_and_wait(vm.id)
        consoles_svc = self.vm_service(vm.id).graphics_consoles_service()
        consoles = consoles_svc.list(current=True)
        self.assertEqual(1, len(consoles))
        c = consoles[0]
        self.assertEqual(types.GraphicsType.VNC, c.protocol)
        self.assertEqual('127.0.0.1', c.address)
        self.assertEqual(self.sim.store.vms[vm.id]._sim_vnc_port, c.port)
        self.assertGreater(c.port, 0)
        ticket = consoles_svc.console_service(c.id).ticket(
            ticket=types.Ticket(expiry=120))
        self.assertTrue(ticket.value)
        self.assertEqual(120, ticket.expiry)
        self.assertEqual(ticket.value, self.sim.store.vms[vm.id]._sim_ticket[0])

    def test_admin_out_of_band(self):
        mine = self.sim.admin_add_vm('operator-vm', 'cluster1', description='theirs')
        self.assertEqual([mine], self.sim.store.find_vms(description='theirs'))
        got = self.system.vms_service().list(search='description=theirs')
        self.assertEqual(types.VmStatus.UP, got[0].status)
        self.sim.admin_stop_vm(mine.id)
        self.assertEqual(types.VmStatus.DOWN, self.vm_service(mine.id).get().status)
        self.sim.admin_remove_vm(mine.id)
        self.assertEqual([], self.system.vms_service().list(search='name=operator-vm'))


class DisksAndNicsTest(base.SimTestCase):

    def test_disk_add_lock_and_grow(self):
        disk = self.add_disk(size=1 * GiB)
        self.assertEqual(types.DiskStatus.LOCKED, disk.status)
        svc = self.system.disks_service().disk_service(disk.id)
        self.assertFault(409, svc.remove)
        self.settle()
        self.assertEqual(types.DiskStatus.OK, svc.get().status)
        svc.update(types.Disk(provisioned_size=2 * GiB))
        self.settle()
        got = svc.get()
        self.assertEqual(2 * GiB, got.provisioned_size)
        self.assertFault(409, svc.update, types.Disk(provisioned_size=1 * GiB))
        sd = self.conn.follow_link(got.storage_domains[0])
        self.assertEqual('data', sd.name)
        svc.remove()
        self.assertRaises(sdk.NotFoundError, svc.get)

    def test_expect_201_created_blocks(self):
        disk = self.system.disks_service().add(
            types.Disk(name='d', format=types.DiskFormat.RAW, provisioned_size=MiB,
                       storage_domains=[types.StorageDomain(name='data')]),
            headers={'Expect': '201-created'})
        self.assertEqual(types.DiskStatus.OK, disk.status)

    def test_disk_missing_format(self):
        err = self.assertFault(400, self.system.disks_service().add, types.Disk(
            name='d', provisioned_size=MiB,
            storage_domains=[types.StorageDomain(name='data')]))
        self.assertIn('format', err.fault.detail)

    def test_attachments_and_follow(self):
        vm = self.add_vm()
        atts = self.vm_service(vm.id).disk_attachments_service()
        att = atts.add(types.DiskAttachment(
            disk=types.Disk(name='root', format=types.DiskFormat.COW,
                            provisioned_size=10 * MiB,
                            storage_domains=[types.StorageDomain(name='data')]),
            interface=types.DiskInterface.VIRTIO_SCSI, bootable=True, active=True))
        self.assertTrue(att.bootable)
        self.assertEqual(att.id, att.disk.id)
        # A VM with a locked disk cannot start.
        self.assertFault(409, self.vm_service(vm.id).start)
        self.settle()
        data = self.add_disk(name='data1')
        self.settle()
        atts.add(types.DiskAttachment(disk=types.Disk(id=data.id),
                                      interface=types.DiskInterface.VIRTIO, bootable=False,
                                      active=True))
        err = self.assertFault(409, atts.add, types.DiskAttachment(
            disk=types.Disk(id=data.id), interface=types.DiskInterface.VIRTIO,
            bootable=False, active=True))
        self.assertIn('already attached', err.fault.detail)
        nics = self.vm_service(vm.id).nics_service()
        profile = self.system.vnic_profiles_service().list()[0]
        nic = nics.add(types.Nic(name='nic1', mac=types.Mac(address='56:6F:00:00:00:99'),
                                 vnic_profile=types.VnicProfile(id=profile.id)))
        self.assertEqual('56:6f:00:00:00:99', nic.mac.address)
        self.assertEqual(types.NicInterface.VIRTIO, nic.interface)
        full = self.vm_service(vm.id).get(
            follow='nics,disk_attachments.disk,reported_devices')
        self.assertEqual(['nic1'], [n.name for n in full.nics])
        self.assertEqual(2, len(full.disk_attachments))
        names = sorted(a.disk.name for a in full.disk_attachments)
        self.assertEqual(['data1', 'root'], names)
        self.assertEqual(0, len(full.reported_devices))
        listed = self.system.vms_service().list(search='name=vm1', follow='nics')
        self.assertEqual('nic1', listed[0].nics[0].name)
        # Plain GET has links that follow_link resolves.
        plain = self.vm_service(vm.id).get()
        self.assertEqual(2, len(self.conn.follow_link(plain.disk_attachments)))
        self.assertEqual(1, len(self.conn.follow_link(plain.nics)))
        nics.nic_service(nic.id).remove()
        self.assertEqual([], nics.list())
        atts.attachment_service(data.id).remove()
        self.assertEqual(1, len(atts.list()))
        self.system.disks_service().disk_service(data.id).get()

    def test_remove_vm_removes_disks_unless_detach_only(self):
        vm = self.add_vm()
        atts = self.vm_service(vm.id).disk_attachments_service()
        att = atts.add(types.DiskAttachment(
            disk=types.Disk(name='r', format=types.DiskFormat.COW, provisioned_size=MiB,
                            storage_domains=[types.StorageDomain(name='data')]),
            interface=types.DiskInterface.VIRTIO, bootable=True))
        self.settle()
        self.vm_service(vm.id).remove(detach_only=True)
        self.system.disks_service().disk_service(att.id).get()
        vm2 = self.add_vm(name='vm2')
        self.vm_service(vm2.id).disk_attachments_service().add(types.DiskAttachment(
            disk=types.Disk(id=att.id), interface=types.DiskInterface.VIRTIO,
            bootable=True))
        self.vm_service(vm2.id).remove()
        self.assertRaises(sdk.NotFoundError,
                          self.system.disks_service().disk_service(att.id).get)


class TemplatesAndSnapshotsTest(base.SimTestCase):

    def _vm_with_disk(self, name='src'):
        vm = self.add_vm(name=name)
        self.vm_service(vm.id).disk_attachments_service().add(types.DiskAttachment(
            disk=types.Disk(name='%s-root' % name, format=types.DiskFormat.COW,
                            provisioned_size=8 * MiB,
                            storage_domains=[types.StorageDomain(name='data')]),
            interface=types.DiskInterface.VIRTIO, bootable=True))
        self.settle()
        return vm

    def test_template_thin_and_clone(self):
        src = self._vm_with_disk()
        layer = self.sim.volumes.get(self.sim.store.disks[
            self.sim.store.vm_disk_ids(src.id)[0]].image_id)
        layer.write(0, b'x' * MiB)
        tpl = self.system.templates_service().add(
            types.Template(name='tpl1', vm=types.Vm(id=src.id)))
        self.assertEqual(types.TemplateStatus.LOCKED, tpl.status)
        self.assertEqual(types.VmStatus.IMAGE_LOCKED, self.vm_service(src.id).get().status)
        self.settle()
        tsvc = self.system.templates_service().template_service(tpl.id)
        self.assertEqual(types.TemplateStatus.OK, tsvc.get().status)
        self.assertEqual(1, len(tsvc.disk_attachments_service().list()))
        copied = self.sim.requests.bytes_copied
        self.assertEqual(MiB, copied)
        thin = self.add_vm(name='thin', template='tpl1')
        self.assertEqual(types.VmStatus.IMAGE_LOCKED, thin.status)
        self.assertEqual(copied, self.sim.requests.bytes_copied)
        self.settle()
        self.assertEqual(types.VmStatus.DOWN, self.vm_service(thin.id).get().status)
        full = self.system.vms_service().add(
            types.Vm(name='full', cluster=types.Cluster(name='cluster1'),
                     template=types.Template(id=tpl.id)), clone=True)
        self.assertEqual(2 * MiB, self.sim.requests.bytes_copied)
        self.settle()
        err = self.assertFault(409, tsvc.remove)
        self.assertIn('thin', err.fault.detail)
        self.vm_service(thin.id).remove()
        self.vm_service(full.id).remove()
        tsvc.remove()
        self.assertRaises(sdk.NotFoundError, tsvc.get)

    def test_snapshot_create_and_remove(self):
        vm = self._vm_with_disk()
        snaps = self.vm_service(vm.id).snapshots_service()
        snap = snaps.add(types.Snapshot(description='s1', persist_memorystate=False))
        self.assertEqual(types.SnapshotStatus.LOCKED, snap.snapshot_status)
        self.assertEqual(types.VmStatus.IMAGE_LOCKED, self.vm_service(vm.id).get().status)
        self.settle()
        listed = snaps.list()
        self.assertEqual(['Active VM', 's1'], [s.description for s in listed])
        self.assertEqual(types.SnapshotStatus.OK, snaps.snapshot_service(snap.id).get()
                         .snapshot_status)
        disks = snaps.snapshot_service(snap.id).disks_service().list()
        self.assertEqual(1, len(disks))
        self.assertIsNotNone(disks[0].image_id)
        snaps.snapshot_service(snap.id).remove()
        self.settle()
        self.assertEqual(['Active VM'], [s.description for s in snaps.list()])

    def test_preview_and_undo(self):
        vm = self._vm_with_disk()
        svc = self.vm_service(vm.id)
        snap = svc.snapshots_service().add(types.Snapshot(description='s'))
        self.settle()
        svc.preview_snapshot(snapshot=types.Snapshot(id=snap.id))
        self.assertEqual(types.SnapshotStatus.IN_PREVIEW,
                         svc.snapshots_service().snapshot_service(snap.id).get()
                         .snapshot_status)
        svc.undo_snapshot()
        svc.preview_snapshot(snapshot=types.Snapshot(id=snap.id))
        svc.commit_snapshot()


class SearchTest(base.SimTestCase):

    def setUp(self):
        super(SearchTest, self).setUp()
        self.add_vm(name='web-1', description='nova:aaa')
        self.add_vm(name='web-2', description='nova:bbb', cluster='cluster2')
        self.add_vm(name='DB', comment='x y')

    def names(self, **kw):
        return sorted(v.name for v in self.system.vms_service().list(**kw))

    def test_search(self):
        self.assertEqual(['web-1', 'web-2'], self.names(search='name=web*'))
        self.assertEqual(['DB'], self.names(search='name=db'))
        self.assertEqual([], self.names(search='name=db', case_sensitive=True))
        self.assertEqual(['web-2'], self.names(search='name=web* and cluster=cluster2'))
        self.assertEqual(['DB', 'web-1'], self.names(search='name=DB or description=nova:aaa'))
        self.assertEqual(['DB'], self.names(search='comment="x y"'))
        self.assertEqual(3, len(self.names(search='status=down')))
        self.assertEqual(1, len(self.names(max=1)))
        vm_id = self.system.vms_service().list(search='name=DB')[0].id
        self.assertEqual(['DB'], self.names(search='id=%s' % vm_id))

    def test_bad_search(self):
        self.assertFault(400, self.system.vms_service().list, search='name=')
        self.assertFault(400, self.system.vms_service().list, search='bogus=1')
        self.assertFault(400, self.system.vms_service().list, search='name=a and')


class EventsAndJobsTest(base.SimTestCase):

    def test_events_since(self):
        events_svc = self.system.events_service()
        last = events_svc.list(max=1)[0]
        vm = self.add_vm()
        self.vm_service(vm.id).start(query={'correlation_id': 'corr-1'})
        self.settle()
        new = events_svc.list(from_=int(last.id))
        ids = [int(e.id) for e in new]
        self.assertEqual(sorted(ids, reverse=True), ids)
        self.assertTrue(all(i > int(last.id) for i in ids))
        codes = [e.code for e in reversed(new)]
        self.assertEqual([34, 153, 32], codes)
        started = [e for e in new if e.code == 153][0]
        self.assertEqual('corr-1', started.correlation_id)
        self.assertEqual(vm.id, started.vm.id)
        self.assertIsNotNone(started.host.id)
        self.assertEqual(types.LogSeverity.NORMAL, started.severity)
        self.assertIsNotNone(started.time)
        self.assertEqual([], events_svc.list(from_=max(ids)))
        # Correlation id from the header, too.
        self.vm_service(vm.id).stop(headers={'Correlation-Id': 'corr-2'})
        stopped = events_svc.list(from_=max(ids), search='correlation_id=corr-2')
        self.assertEqual({33, 61}, {e.code for e in stopped})

    def test_jobs_by_correlation_id(self):
        vm = self.add_vm()
        self.vm_service(vm.id).start(query={'correlation_id': 'job-1'})
        jobs = self.system.jobs_service().list(search='correlation_id=job-1')
        self.assertEqual(1, len(jobs))
        self.assertEqual(types.JobStatus.STARTED, jobs[0].status)
        self.settle()
        jobs = self.system.jobs_service().list(search='correlation_id=job-1')
        self.assertEqual(types.JobStatus.FINISHED, jobs[0].status)
        self.assertIsNotNone(jobs[0].end_time)
