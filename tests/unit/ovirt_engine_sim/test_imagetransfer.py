"""Image transfers: the engine side through the SDK, the data side over
real HTTPS with http.client (as the SDK's upload_disk example does)."""

import http.client
import json
import os
import ssl
import urllib.parse

import ovirtsdk4 as sdk
from ovirtsdk4 import types

from tests.unit.ovirt_engine_sim import base
from tests.unit.ovirt_engine_sim.base import MiB

P = types.ImageTransferPhase
# Guest data: a download without a format would be in the disk's (qcow2 for cow).
RAW = types.DiskFormat.RAW


class ImageTransferTest(base.SimTestCase):

    def _disk(self, size=4 * MiB, name='upload'):
        disk = self.add_disk(name=name, size=size, fmt=types.DiskFormat.RAW)
        self.settle()
        return disk

    def _transfer(self, direction, **kw):
        transfers = self.system.image_transfers_service()
        it = transfers.add(types.ImageTransfer(direction=direction, **kw))
        svc = transfers.image_transfer_service(it.id)
        self.assertEqual(P.INITIALIZING, it.phase)
        while svc.get().phase == P.INITIALIZING:
            self.clock.advance(1)
        it = svc.get()
        self.assertEqual(P.TRANSFERRING, it.phase)
        return it, svc

    def _http(self, url):
        u = urllib.parse.urlparse(url)
        ctx = ssl.create_default_context(cafile=self.sim.ca_file)
        conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
        self.addCleanup(conn.close)
        return conn, u.path

    def _finalize(self, svc):
        svc.finalize()
        self.settle()
        self.assertEqual(P.FINISHED_SUCCESS, svc.get().phase)

    def _upload(self, disk, payload, chunk=MiB):
        it, svc = self._transfer(types.ImageTransferDirection.UPLOAD, format=RAW,
                                 disk=types.Disk(id=disk.id))
        self.assertTrue(it.transfer_url.startswith('https://127.0.0.1:%d/images/'
                                                   % self.sim.port))
        conn, path = self._http(it.transfer_url)
        conn.request('OPTIONS', path)
        resp = conn.getresponse()
        options = json.loads(resp.read())
        self.assertEqual(200, resp.status)
        self.assertIn('zero', options['features'])
        self.assertIn('extents', options['features'])
        pos = 0
        while pos < len(payload):
            data = payload[pos:pos + chunk]
            conn.request('PUT', path, body=data, headers={
                'Content-Range': 'bytes %d-%d/*' % (pos, pos + len(data) - 1),
                'Content-Length': str(len(data))})
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(200, resp.status)
            pos += len(data)
        conn.request('PATCH', path, body=json.dumps({'op': 'flush'}),
                     headers={'Content-Type': 'application/json'})
        resp = conn.getresponse()
        resp.read()
        self.assertEqual(200, resp.status)
        return it, svc, conn, path

    def test_upload_then_download(self):
        disk = self._disk()
        payload = os.urandom(MiB) + b'\0' * MiB + os.urandom(MiB)
        it, svc, conn, path = self._upload(disk, payload)
        self.assertEqual(types.DiskStatus.LOCKED,
                         self.system.disks_service().disk_service(disk.id).get().status)
        self._finalize(svc)
        got = self.system.disks_service().disk_service(disk.id).get()
        self.assertEqual(types.DiskStatus.OK, got.status)
        self.assertEqual(2 * MiB, got.actual_size)
        self.assertEqual(3 * MiB, self.sim.requests.bytes_uploaded)
        # The ticket is gone once the transfer is finalized.
        conn2, _ = self._http(it.transfer_url)
        conn2.request('GET', path)
        self.assertEqual(403, conn2.getresponse().status)

        it, svc = self._transfer(types.ImageTransferDirection.DOWNLOAD, format=RAW,
                                 disk=types.Disk(id=disk.id))
        conn, path = self._http(it.proxy_url)
        conn.request('GET', path)
        resp = conn.getresponse()
        self.assertEqual(200, resp.status)
        body = resp.read()
        self.assertEqual(4 * MiB, len(body))
        self.assertEqual(payload + b'\0' * MiB, body)
        conn.request('GET', path, headers={'Range': 'bytes=%d-%d' % (MiB - 10, MiB + 9)})
        resp = conn.getresponse()
        self.assertEqual(206, resp.status)
        self.assertEqual(payload[MiB - 10:MiB + 10], resp.read())
        # Like imageio: a range past the end is refused whole, and a
        # suffix range is not served.
        for rng, text in (('bytes=%d-%d' % (4 * MiB - 10, 4 * MiB),
                           'Requested more bytes than available: %d > %d'
                           % (4 * MiB + 1, 4 * MiB)),
                          ('bytes=-10', 'suffix-byte-range-spec')):
            conn.request('GET', path, headers={'Range': rng})
            resp = conn.getresponse()
            self.assertEqual(416, resp.status)
            self.assertIn(text, resp.read().decode())
        conn.request('GET', path + '/extents?context=zero')
        extents = json.loads(conn.getresponse().read())
        self.assertEqual([(0, MiB, False), (MiB, MiB, True), (2 * MiB, MiB, False),
                          (3 * MiB, MiB, True)],
                         [(e['start'], e['length'], e['zero']) for e in extents])
        self._finalize(svc)
        self.assertEqual(4 * MiB + 20, self.sim.requests.bytes_downloaded)

    def test_zero_and_whole_put(self):
        disk = self._disk(size=2 * MiB)
        it, svc = self._transfer(types.ImageTransferDirection.UPLOAD,
                                 disk=types.Disk(id=disk.id))
        conn, path = self._http(it.transfer_url)
        conn.request('PUT', path, body=b'\1' * (2 * MiB))
        resp = conn.getresponse()
        resp.read()
        self.assertEqual(200, resp.status)
        conn.request('PATCH', path, body=json.dumps({'op': 'zero', 'offset': 0,
                                                     'size': MiB}))
        resp = conn.getresponse()
        resp.read()
        self.assertEqual(200, resp.status)
        conn.request('GET', path)
        self.assertEqual(b'\0' * MiB + b'\1' * MiB, conn.getresponse().read())
        conn.request('PUT', path, body=b'x' * 10, headers={
            'Content-Range': 'bytes %d-%d/*' % (2 * MiB - 5, 2 * MiB + 4)})
        resp = conn.getresponse()
        resp.read()
        self.assertEqual(416, resp.status)
        self._finalize(svc)

    def test_snapshot_download_keeps_old_content(self):
        vm = self.add_vm()
        att = self.vm_service(vm.id).disk_attachments_service().add(types.DiskAttachment(
            disk=types.Disk(name='root', format=types.DiskFormat.COW,
                            provisioned_size=2 * MiB,
                            storage_domains=[types.StorageDomain(name='data')]),
            interface=types.DiskInterface.VIRTIO, bootable=True))
        self.settle()
        disk = self.system.disks_service().disk_service(att.id).get()
        old = os.urandom(2 * MiB)
        it, svc, conn, path = self._upload(disk, old)
        self._finalize(svc)
        snaps = self.vm_service(vm.id).snapshots_service()
        snap = snaps.add(types.Snapshot(description='for-glance',
                                        persist_memorystate=False))
        self.settle()
        # New writes after the snapshot go to the new top layer.
        it, svc, conn, path = self._upload(disk, b'n' * MiB)
        self._finalize(svc)
        sdisk = snaps.snapshot_service(snap.id).disks_service().list()[0]
        it, svc = self._transfer(types.ImageTransferDirection.DOWNLOAD, format=RAW,
                                 snapshot=types.DiskSnapshot(id=sdisk.image_id))
        conn, path = self._http(it.transfer_url)
        conn.request('GET', path)
        self.assertEqual(old, conn.getresponse().read())
        self._finalize(svc)
        it, svc = self._transfer(types.ImageTransferDirection.DOWNLOAD, format=RAW,
                                 disk=types.Disk(id=disk.id))
        conn, path = self._http(it.transfer_url)
        conn.request('GET', path)
        self.assertEqual(b'n' * MiB + old[MiB:], conn.getresponse().read())
        self._finalize(svc)

    def test_thin_clone_reads_template_bytes(self):
        src = self.add_vm(name='src')
        att = self.vm_service(src.id).disk_attachments_service().add(types.DiskAttachment(
            disk=types.Disk(name='img', format=types.DiskFormat.RAW, provisioned_size=MiB,
                            storage_domains=[types.StorageDomain(name='data')]),
            interface=types.DiskInterface.VIRTIO, bootable=True))
        self.settle()
        content = os.urandom(MiB)
        it, svc, conn, path = self._upload(
            self.system.disks_service().disk_service(att.id).get(), content)
        self._finalize(svc)
        self.system.templates_service().add(types.Template(name='img',
                                                           vm=types.Vm(id=src.id)))
        self.settle()
        copied = self.sim.requests.bytes_copied
        vm = self.add_vm(name='clone', template='img')
        self.settle()
        self.assertEqual(copied, self.sim.requests.bytes_copied)
        disk_id = self.vm_service(vm.id).disk_attachments_service().list()[0].id
        it, svc = self._transfer(types.ImageTransferDirection.DOWNLOAD, format=RAW,
                                 disk=types.Disk(id=disk_id))
        conn, path = self._http(it.transfer_url)
        conn.request('GET', path)
        self.assertEqual(content, conn.getresponse().read())
        self._finalize(svc)

    def test_cancel_upload_removes_disk(self):
        disk = self._disk()
        it, svc = self._transfer(types.ImageTransferDirection.UPLOAD,
                                 disk=types.Disk(id=disk.id))
        svc.cancel()
        self.settle()
        self.assertEqual(P.FINISHED_FAILURE, svc.get().phase)
        self.assertRaises(sdk.NotFoundError,
                          self.system.disks_service().disk_service(disk.id).get)

    def test_transfer_of_locked_disk_conflicts(self):
        disk = self.add_disk()
        self.assertFault(409, self.system.image_transfers_service().add,
                         types.ImageTransfer(disk=types.Disk(id=disk.id)))

    def test_fail_transfer_after(self):
        disk = self._disk()
        it, svc = self._transfer(types.ImageTransferDirection.UPLOAD,
                                 disk=types.Disk(id=disk.id))
        self.sim.faults.fail_transfer_after(MiB)
        conn, path = self._http(it.transfer_url)
        try:
            conn.request('PUT', path, body=b'a' * (3 * MiB))
            resp = conn.getresponse()
            status = resp.status
        except (OSError, http.client.HTTPException):
            status = None
        self.assertIsNone(status)
