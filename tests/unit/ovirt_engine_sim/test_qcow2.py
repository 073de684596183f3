"""Formats read from the bytes: the qcow2 reader against images qemu-img made,
and what the simulator does with qcow2 bytes uploaded to its disks."""

import http.client
import json
import os
import ssl
import subprocess
import urllib.parse

import fixtures
from ovirtsdk4 import types
import testtools

from ovirt_engine_sim import qcow2
from tests.unit.ovirt_engine_sim import base
from tests.unit.ovirt_engine_sim.base import MiB

P = types.ImageTransferPhase


def qemu_img(*args):
    return subprocess.run(('qemu-img',) + args, check=True, capture_output=True,
                          text=True).stdout


def file_reader(path):
    data = open(path, 'rb').read()
    return lambda offset, size: data[offset:offset + size]


def guest_pattern(size):
    """Data clusters, a hole and zeros: what an image usually holds."""
    data = bytearray(size)
    for start in range(0, size, 3 * 65536):
        chunk = os.urandom(4096) * 17
        data[start:start + len(chunk)] = chunk[:max(0, min(len(chunk), size - start))]
    return bytes(data)


class Qcow2ReaderTest(testtools.TestCase):

    def setUp(self):
        super(Qcow2ReaderTest, self).setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.raw = os.path.join(self.tmp, 'guest.raw')
        self.guest = guest_pattern(4 * MiB)
        with open(self.raw, 'wb') as f:
            f.write(self.guest)

    def convert(self, name, *options):
        path = os.path.join(self.tmp, name)
        qemu_img('convert', '-f', 'raw', '-O', 'qcow2', *(options + (self.raw, path)))
        return path

    def unpack(self, path):
        header, clusters = qcow2.guest_data(file_reader(path))
        out = bytearray(header.size)
        for offset, data in clusters:
            out[offset:offset + len(data)] = data
        return bytes(out)

    def test_header(self):
        for options, version, bits in ((('-o', 'compat=1.1'), 3, 16),
                                       (('-o', 'compat=0.10,cluster_size=4096'), 2, 12)):
            path = self.convert('h.qcow2', *options)
            h = qcow2.read_header(file_reader(path))
            info = json.loads(qemu_img('info', '--output=json', path))
            self.assertEqual((version, 4 * MiB, bits, None),
                             (h.version, h.size, h.cluster_bits, h.backing_file))
            self.assertEqual(info['virtual-size'], h.size)
            self.assertEqual(info['cluster-size'], h.cluster_size)
            self.assertEqual(info['format-specific']['data']['compat'], h.compat)

    def test_backing_file(self):
        base_path = self.convert('base.qcow2')
        top = os.path.join(self.tmp, 'top.qcow2')
        qemu_img('create', '-f', 'qcow2', '-b', base_path, '-F', 'qcow2', top)
        h = qcow2.read_header(file_reader(top))
        self.assertEqual(base_path, h.backing_file)
        self.assertRaises(qcow2.Qcow2Error, qcow2.guest_data, file_reader(top))

    def test_guest_data_plain_small_clusters_and_compressed(self):
        for name, options in (('plain.qcow2', ()),
                              ('small.qcow2', ('-o', 'compat=0.10,cluster_size=512')),
                              ('zlib.qcow2', ('-c',))):
            path = self.convert(name, *options)
            # Not assertEqual: a mismatch would print megabytes.
            self.assertTrue(self.unpack(path) == self.guest, name)

    def test_detect(self):
        self.assertEqual('qcow2', qcow2.detect(file_reader(self.convert('d.qcow2'))))
        self.assertEqual('raw', qcow2.detect(file_reader(self.raw)))
        self.assertRaises(qcow2.Qcow2Error, qcow2.read_header, file_reader(self.raw))


class UploadFormatTest(base.SimTestCase):
    """Uploads are verified against the disk's format, as vdsm does."""

    def setUp(self):
        super(UploadFormatTest, self).setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.guest = guest_pattern(4 * MiB)
        self.raw = os.path.join(self.tmp, 'guest.raw')
        with open(self.raw, 'wb') as f:
            f.write(self.guest)
        self.qcow2_path = os.path.join(self.tmp, 'guest.qcow2')
        qemu_img('convert', '-f', 'raw', '-O', 'qcow2', self.raw, self.qcow2_path)
        with open(self.qcow2_path, 'rb') as f:
            self.qcow2_file = f.read()

    def upload(self, disk_format, payload, transfer_format):
        disk = self.add_disk(name='up', size=4 * MiB, fmt=disk_format)
        self.settle()
        it, svc = self.start_transfer(disk, transfer_format)
        conn, path = self.http(it.transfer_url)
        conn.request('PUT', path, body=payload)
        resp = conn.getresponse()
        resp.read()
        self.assertEqual(200, resp.status)
        svc.finalize()
        self.settle()
        return disk, svc.get()

    def start_transfer(self, disk, transfer_format):
        svc = self.system.image_transfers_service()
        it = svc.add(types.ImageTransfer(direction=types.ImageTransferDirection.UPLOAD,
                                         disk=types.Disk(id=disk.id),
                                         format=transfer_format))
        one = svc.image_transfer_service(it.id)
        self.settle(1)
        return one.get(), one

    def http(self, url):
        u = urllib.parse.urlparse(url)
        ctx = ssl.create_default_context(cafile=self.sim.ca_file)
        conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
        self.addCleanup(conn.close)
        return conn, u.path

    def stored(self, disk_id):
        """The disk's bytes as the simulator stores them, in a file."""
        with self.sim.store.lock:
            disk = self.sim.store.disks[disk_id]
            data = self.sim.volumes.get(disk.image_id).read(0, disk.provisioned_size)
        path = os.path.join(self.tmp, 'stored')
        with open(path, 'wb') as f:
            f.write(data)
        return path, data

    def disk_status(self, disk_id):
        return self.system.disks_service().disk_service(disk_id).get().status

    def test_qcow2_file_into_cow_disk_is_stored_as_guest_data(self):
        disk, it = self.upload(types.DiskFormat.COW, self.qcow2_file, types.DiskFormat.COW)
        self.assertEqual(P.FINISHED_SUCCESS, it.phase)
        self.assertEqual(types.DiskStatus.OK, self.disk_status(disk.id))
        path, data = self.stored(disk.id)
        # qemu-img, not our reader, says what the stored bytes are.
        self.assertEqual('raw', json.loads(qemu_img('info', '--output=json', '-f', 'raw',
                                                    path))['format'])
        self.assertIn('Images are identical', qemu_img(
            'compare', '-f', 'raw', '-F', 'qcow2', path, self.qcow2_path))
        self.assertTrue(data == self.guest)

    def test_qcow2_bytes_into_raw_disk_fail_verification(self):
        for transfer_format in (types.DiskFormat.RAW, types.DiskFormat.COW):
            disk, it = self.upload(types.DiskFormat.RAW, self.qcow2_file, transfer_format)
            self.assertEqual(P.FINISHED_FAILURE, it.phase)
            self.assertEqual(types.DiskStatus.ILLEGAL, self.disk_status(disk.id))
            event = self.system.events_service().list(max=1)[0]
            self.assertEqual((1034, 'Image Upload with disk up failed.'),
                             (event.code, event.description))
            self.system.disks_service().disk_service(disk.id).remove()

    def test_raw_bytes_as_cow_fail_verification(self):
        # No format given: the transfer takes the disk's (cow), so the raw
        # bytes must be a qcow2 file and are not.
        disk = self.add_disk(name='up', size=4 * MiB, fmt=types.DiskFormat.COW)
        self.settle()
        it, svc = self.start_transfer(disk, None)
        self.assertEqual(types.DiskFormat.COW, it.format)
        conn, path = self.http(it.transfer_url)
        conn.request('PUT', path, body=self.guest)
        conn.getresponse().read()
        svc.finalize()
        self.settle()
        self.assertEqual(P.FINISHED_FAILURE, svc.get().phase)
        self.assertEqual(types.DiskStatus.ILLEGAL, self.disk_status(disk.id))

    def test_qcow2_bigger_than_disk_fails(self):
        big = os.path.join(self.tmp, 'big.qcow2')
        qemu_img('create', '-f', 'qcow2', big, str(8 * MiB))
        with open(big, 'rb') as f:
            payload = f.read()
        disk, it = self.upload(types.DiskFormat.COW, payload, types.DiskFormat.COW)
        self.assertEqual(P.FINISHED_FAILURE, it.phase)

    def test_qcow2_file_as_raw_guest_data_does_not_start(self):
        # Into a qcow2 disk through the raw format (qemu-nbd on a real
        # host): verification passes, but the guest would see a qcow2 file.
        vm = self.add_vm()
        self.settle()
        disk, it = self.upload(types.DiskFormat.COW, self.qcow2_file, types.DiskFormat.RAW)
        self.assertEqual(P.FINISHED_SUCCESS, it.phase)
        self.assertEqual('qcow2', qcow2.detect(lambda o, n: self.stored(disk.id)[1][o:o + n]))
        self.vm_service(vm.id).disk_attachments_service().add(types.DiskAttachment(
            disk=types.Disk(id=disk.id), interface=types.DiskInterface.VIRTIO,
            bootable=True, active=True))
        err = self.assertFault(409, self.vm_service(vm.id).start)
        self.assertIn('Engine simulator: the guest data of disk up is a qcow2 file',
                      str(err))
