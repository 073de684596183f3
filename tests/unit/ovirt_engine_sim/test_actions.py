"""Every advertised action is implemented, every advertised collection exists.

The engine's <actions> and <link rel> elements are what a client discovers;
a simulator that advertises what it does not implement would let a driver
rely on it untested. The walk reads the links from raw XML, not through the
SDK, and calls each one.
"""

import http.client
import json
import ssl
import urllib.parse
import xml.etree.ElementTree as ET

from ovirtsdk4 import types

from tests.unit.ovirt_engine_sim import test_validation
from tests.unit.ovirt_engine_sim.base import MiB

P = types.ImageTransferPhase
#: Answers of an implemented action: done, or refused for the entity's state
#: or a missing parameter, as the engine refuses.
IMPLEMENTED = (200, 400, 409)


class AdvertisedTest(test_validation.RawApiTestCase):

    def get(self, href):
        self.http.request('GET', href, headers={
            'Authorization': 'Bearer %s' % self.token, 'Version': '4',
            'Accept': 'application/xml'})
        resp = self.http.getresponse()
        return resp.status, resp.read()

    def entities(self):
        """One of each kind the driver meets, in a state where most actions run."""
        vm = self.add_vm()
        self.settle()
        vm_svc = self.vm_service(vm.id)
        att = vm_svc.disk_attachments_service().add(types.DiskAttachment(
            disk=types.Disk(name='root', format=types.DiskFormat.COW,
                            provisioned_size=10 * MiB,
                            storage_domains=[types.StorageDomain(name='data')]),
            interface=types.DiskInterface.VIRTIO, bootable=True, active=True))
        nic = vm_svc.nics_service().add(types.Nic(name='nic1'))
        self.settle()
        snap = vm_svc.snapshots_service().add(types.Snapshot(description='s1'))
        self.settle()
        self.system.templates_service().add(types.Template(name='t1',
                                                           vm=types.Vm(id=vm.id)))
        self.settle()
        floating = self.add_disk(name='floating', fmt=types.DiskFormat.RAW)
        self.settle()
        transfer = self.system.image_transfers_service().add(types.ImageTransfer(
            disk=types.Disk(id=floating.id), format=types.DiskFormat.RAW,
            direction=types.ImageTransferDirection.UPLOAD))
        self.settle(1)
        host = self.system.hosts_service().list()[0]
        api = '/ovirt-engine/api'
        return [
            '%s/vms/%s' % (api, vm.id),
            '%s/vms/%s/nics/%s' % (api, vm.id, nic.id),
            '%s/vms/%s/snapshots/%s' % (api, vm.id, snap.id),
            '%s/vms/%s/graphicsconsoles/%s' % (api, vm.id, '766e63'),
            '%s/disks/%s' % (api, att.id),
            '%s/templates/%s' % (api, self.system.templates_service().list(
                search='name=t1')[0].id),
            '%s/imagetransfers/%s' % (api, transfer.id),
            '%s/hosts/%s' % (api, host.id),
            '%s/clusters/%s' % (api, self.cluster_id),
        ]

    def action_body(self, href, rel):
        if rel == 'previewsnapshot':
            snap_id = self.sim.store.snapshots and next(iter(self.sim.store.snapshots))
            return '<action><snapshot id="%s"/></action>' % snap_id
        return '<action/>'

    def test_every_advertised_action_is_implemented(self):
        called = []
        for href in self.entities():
            status, body = self.get(href)
            self.assertEqual(200, status, href)
            elem = ET.fromstring(body)
            actions = elem.find('actions')
            for link in (actions if actions is not None else []):
                rel, action_href = link.get('rel'), link.get('href')
                self.assertEqual('%s/%s' % (href, rel), action_href)
                status, answer = self.post(action_href[len('/ovirt-engine/api'):],
                                           self.action_body(href, rel))
                self.assertIn(status, IMPLEMENTED, '%s: %s' % (action_href, answer))
                if status == 200:
                    self.assertEqual('complete',
                                     ET.fromstring(answer).findtext('status'), rel)
                called.append('%s %s' % (elem.tag, rel))
                self.settle()
        # The walk reached the actions the driver uses.
        for used in ('vm start', 'vm shutdown', 'vm stop', 'vm ticket',
                     'image_transfer finalize', 'image_transfer cancel',
                     'snapshot restore', 'nic deactivate', 'disk sparsify'):
            self.assertIn(used, called)

    def test_every_advertised_collection_is_listable(self):
        listed = []
        for href in self.entities():
            status, body = self.get(href)
            elem = ET.fromstring(body)
            for link in elem.findall('link'):
                status, answer = self.get(link.get('href'))
                self.assertEqual(200, status, '%s: %s' % (link.get('href'), answer))
                listed.append('%s %s' % (elem.tag, link.get('rel')))
        for rel in ('cdroms', 'numanodes', 'tags', 'affinitylabels', 'graphicsconsoles',
                    'statistics', 'reporteddevices', 'permissions', 'snapshots'):
            self.assertIn('vm %s' % rel, listed)

    def test_vm_collections_through_the_sdk(self):
        vm = self.add_vm()
        self.settle()
        svc = self.vm_service(vm.id)
        cdroms = svc.cdroms_service().list()
        # services/VmCdromService.java: one CD-ROM, id all zeros, no <file>
        # while empty.
        self.assertEqual([('00000000-0000-0000-0000-000000000000', None)],
                         [(c.id, c.file) for c in cdroms])
        self.assertEqual('00000000-0000-0000-0000-000000000000',
                         svc.cdroms_service().cdrom_service(cdroms[0].id).get().id)
        for empty in (svc.numa_nodes_service(), svc.tags_service(),
                      svc.affinity_labels_service(), svc.permissions_service()):
            self.assertEqual([], empty.list())
        self.assertEqual(['vnc'], [c.protocol.value for c in
                                   svc.graphics_consoles_service().list()])
        self.assertIn('memory.installed',
                      [s.name for s in svc.statistics_service().list()])

    def test_transfer_pause_and_resume(self):
        disk = self.add_disk(name='d', fmt=types.DiskFormat.RAW)
        self.settle()
        transfers = self.system.image_transfers_service()
        it = transfers.add(types.ImageTransfer(
            disk=types.Disk(id=disk.id), format=types.DiskFormat.RAW,
            direction=types.ImageTransferDirection.UPLOAD))
        self.settle(1)
        svc = transfers.image_transfer_service(it.id)
        svc.pause()
        self.assertEqual(P.PAUSED_USER, svc.get().phase)
        self.assertFault(409, svc.pause)
        svc.resume()
        self.assertEqual(P.TRANSFERRING, svc.get().phase)
        svc.finalize()
        self.settle()
        self.assertEqual(P.FINISHED_SUCCESS, svc.get().phase)


class BackupTest(test_validation.RawApiTestCase):
    """Backups and checkpoints, through the SDK (services/VmBackupsService.java)."""

    def vm_with_disk(self, backup=types.DiskBackup.INCREMENTAL):
        vm = self.add_vm()
        self.settle()
        att = self.vm_service(vm.id).disk_attachments_service().add(types.DiskAttachment(
            disk=types.Disk(name='root', format=types.DiskFormat.COW, backup=backup,
                            provisioned_size=2 * MiB,
                            storage_domains=[types.StorageDomain(name='data')]),
            interface=types.DiskInterface.VIRTIO, bootable=True, active=True))
        self.settle()
        return vm, att.id

    def backup(self, vm_id, disk_id, since=None):
        backups = self.vm_service(vm_id).backups_service()
        b = backups.add(types.Backup(disks=[types.Disk(id=disk_id)],
                                     from_checkpoint_id=since))
        self.assertEqual(types.BackupPhase.INITIALIZING, b.phase)
        self.settle()
        svc = backups.backup_service(b.id)
        self.assertEqual(types.BackupPhase.READY, svc.get().phase)
        return svc

    def test_full_then_incremental(self):
        vm, disk_id = self.vm_with_disk()
        svc = self.backup(vm.id, disk_id)
        first = svc.get()
        self.assertIsNone(first.from_checkpoint_id)
        self.assertEqual([disk_id], [d.id for d in svc.disks_service().list()])
        # The backup's disk is downloadable while the backup is ready.
        it = self.system.image_transfers_service().add(types.ImageTransfer(
            disk=types.Disk(id=disk_id), backup=types.Backup(id=first.id),
            format=types.DiskFormat.RAW, direction=types.ImageTransferDirection.DOWNLOAD))
        self.assertEqual(first.id, it.backup.id)
        tsvc = self.system.image_transfers_service().image_transfer_service(it.id)
        self.settle(1)
        tsvc.finalize()
        self.settle()
        svc.finalize()
        self.assertEqual(types.BackupPhase.FINALIZING, svc.get().phase)
        self.settle()
        self.assertEqual(types.BackupPhase.SUCCEEDED, svc.get().phase)
        checkpoints = self.vm_service(vm.id).checkpoints_service().list()
        self.assertEqual([(first.to_checkpoint_id, None)],
                         [(c.id, c.parent_id) for c in checkpoints])
        second = self.backup(vm.id, disk_id, since=first.to_checkpoint_id).get()
        self.assertEqual(first.to_checkpoint_id, second.from_checkpoint_id)
        self.assertEqual([first.to_checkpoint_id, second.to_checkpoint_id],
                         [c.id for c in self.vm_service(vm.id).checkpoints_service().list()])
        self.assertEqual(first.to_checkpoint_id, self.vm_service(vm.id).checkpoints_service()
                         .list()[1].parent_id)

    def _extents(self, backup_id, disk_id, context):
        it = self.system.image_transfers_service().add(types.ImageTransfer(
            disk=types.Disk(id=disk_id), backup=types.Backup(id=backup_id),
            format=types.DiskFormat.RAW, direction=types.ImageTransferDirection.DOWNLOAD))
        tsvc = self.system.image_transfers_service().image_transfer_service(it.id)
        self.settle(1)
        url = urllib.parse.urlparse(tsvc.get().transfer_url)
        ctx = ssl.create_default_context(cafile=self.sim.ca_file)
        conn = http.client.HTTPSConnection(url.hostname, url.port, context=ctx)
        self.addCleanup(conn.close)
        conn.request('GET', url.path + '/extents?context=' + context)
        resp = conn.getresponse()
        body = resp.read()
        tsvc.finalize()
        self.settle()
        return resp.status, json.loads(body) if resp.status == 200 else body

    def _start(self, vm_id):
        self.vm_service(vm_id).start()
        self.settle()
        self.assertEqual(types.VmStatus.UP, self.vm_service(vm_id).get().status)

    def test_dirty_extents_between_checkpoints(self):
        vm, disk_id = self.vm_with_disk()
        self._start(vm.id)
        self.sim.guest_write(vm.id, 0, b'a' * 4096)
        svc = self.backup(vm.id, disk_id)
        first = svc.get()
        # A full backup serves zero extents only.
        status, extents = self._extents(first.id, disk_id, 'zero')
        self.assertEqual(200, status)
        self.assertEqual([(0, 4096, False), (4096, 2 * MiB - 4096, True)],
                         [(e['start'], e['length'], e['zero']) for e in extents])
        self.assertEqual(404, self._extents(first.id, disk_id, 'dirty')[0])
        svc.finalize()
        self.settle()
        # The guest writes after the checkpoint: data, then zeros.
        self.sim.guest_write(vm.id, MiB, b'b' * 8192)
        self.sim.guest_write(vm.id, MiB + 65536, bytes(4096))
        svc = self.backup(vm.id, disk_id, since=first.to_checkpoint_id)
        second = svc.get()
        # Written after the backup's point in time: in the next round only.
        self.sim.guest_write(vm.id, 0, b'c' * 512)
        status, extents = self._extents(second.id, disk_id, 'dirty')
        self.assertEqual(200, status)
        self.assertEqual([
            (0, 4096, False, False),
            (4096, MiB - 4096, False, True),
            (MiB, 8192, True, False),
            (MiB + 8192, 65536 - 8192, False, True),
            (MiB + 65536, 4096, True, True),
            (MiB + 65536 + 4096, MiB - 65536 - 4096, False, True)],
            [(e['start'], e['length'], e['dirty'], e['zero']) for e in extents])
        svc.finalize()
        self.settle()
        third = self.backup(vm.id, disk_id, since=second.to_checkpoint_id).get()
        status, extents = self._extents(third.id, disk_id, 'dirty')
        self.assertEqual([(0, 512)], [(e['start'], e['length'])
                                      for e in extents if e['dirty']])
        # Only the chain's root checkpoint may be removed.
        cps = self.vm_service(vm.id).checkpoints_service()
        self.assertFault(409, cps.checkpoint_service(second.to_checkpoint_id).remove)
        cps.checkpoint_service(first.to_checkpoint_id).remove()
        self.assertEqual([(second.to_checkpoint_id, None), (third.to_checkpoint_id,
                                                            second.to_checkpoint_id)],
                         [(c.id, c.parent_id) for c in cps.list()])

    def test_guest_write_needs_a_running_vm(self):
        vm, disk_id = self.vm_with_disk()
        self.assertRaises(ValueError, self.sim.guest_write, vm.id, 0, b'x')

    def test_refusals(self):
        vm, disk_id = self.vm_with_disk(backup=types.DiskBackup.NONE)
        backups = self.vm_service(vm.id).backups_service()
        err = self.assertFault(409, backups.add, types.Backup(
            disks=[types.Disk(id=disk_id)], from_checkpoint_id='nope'))
        self.assertIn("Checkpoint ID nope doesn't exist", str(err))
        svc = self.backup(vm.id, disk_id)
        self.assertIsNone(svc.get().to_checkpoint_id)   # no incremental disk
        self.assertFault(409, backups.add, types.Backup(disks=[types.Disk(id=disk_id)]))
        # Raw: the fault of validate.py for the model's mandatory disks.
        status, body = self.post('/vms/%s/backups' % vm.id, '<backup/>')
        self.assertEqual(400, status)
        self.assertIn(b'Backup [disks] required for add', body)


class RelatedSearchTest(test_validation.RawApiTestCase):
    """Searches that name a related entity, as the engine's grammar has them."""

    def test_vms_and_disks_by_related_entities(self):
        vm = self.add_vm(name='web')
        self.add_vm(name='other')
        self.settle()
        att = self.vm_service(vm.id).disk_attachments_service().add(types.DiskAttachment(
            disk=types.Disk(name='web-root', format=types.DiskFormat.COW,
                            provisioned_size=MiB,
                            storage_domains=[types.StorageDomain(name='data')]),
            interface=types.DiskInterface.VIRTIO, bootable=True, active=True))
        self.settle()
        vms = self.system.vms_service()
        self.assertEqual(['web'], [v.name for v in vms.list(search='storage=data')])
        self.assertEqual(['other', 'web'], sorted(
            v.name for v in vms.list(search='cluster.name=cluster1 and template.name=Blank')))
        disks = self.system.disks_service()
        self.assertEqual([att.id], [d.id for d in disks.list(search='vm_names=web')])
        self.assertEqual([], disks.list(search='vm_names=other'))


class TopLevelCollectionsTest(test_validation.RawApiTestCase):

    def test_tags_and_affinity_labels(self):
        # The API root's root_tag exists in /tags; no affinity labels yet.
        root = self.system.get().special_objects.root_tag.id
        self.assertEqual([(root, 'root')],
                         [(t.id, t.name) for t in self.system.tags_service().list()])
        self.assertEqual('root', self.system.tags_service().tag_service(root).get().name)
        self.assertEqual([], self.system.affinity_labels_service().list())
