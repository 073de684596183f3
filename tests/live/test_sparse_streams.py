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

"""Volume streams on a real libvirtd: zeros travel and stay as holes."""

import os

import fixtures
from oslotest import base as oslotest_base

from nova_ovirt.pools.libvirt import storage
from tests.fixtures import libvirtd

MiB = 1024 * 1024
RAW_VOLUME = ("<volume><name>%s</name><capacity>0</capacity>"
              "<target><format type='raw'/></target></volume>")


class SparseStreamTest(oslotest_base.BaseTestCase):

    def setUp(self):
        super().setUp()
        work = self.useFixture(fixtures.TempDir()).path
        self.host = libvirtd.LibvirtHost(os.path.join(work, 'h'), 'sparse')
        self.host.start()
        self.addCleanup(self.host.stop)
        self.conn = self.host.conn()
        self.addCleanup(self.conn.close)
        self.pool = self.conn.storagePoolLookupByName(libvirtd.POOL_NAME)
        # Data, zeros, data, and zeros at the end (the file must still
        # reach its full size).
        self.data = (os.urandom(3 * MiB) + bytes(5 * MiB)) * 3 + \
            bytes(2 * MiB)
        self.data_bytes = 9 * MiB

    def volume(self, name):
        return self.pool.createXML(RAW_VOLUME % name, 0)

    def allocated(self, volume):
        st = os.stat(volume.path())
        return st.st_size, st.st_blocks * 512

    def upload(self, volume):
        with storage.VolumeWriter(self.conn, volume) as writer:
            # Glance's pieces: 64 KiB.
            for i in range(0, len(self.data), 64 * 1024):
                writer.write(self.data[i:i + 64 * 1024])
        return writer

    def test_upload_allocates_only_data(self):
        vol = self.volume('up.raw')
        writer = self.upload(vol)
        self.assertTrue(writer.sparse)
        self.assertEqual(self.data_bytes, writer.bytes_written)
        self.assertEqual(len(self.data) - self.data_bytes, writer.hole_bytes)
        size, allocated = self.allocated(vol)
        self.assertEqual(len(self.data), size)
        self.assertLessEqual(allocated, self.data_bytes + MiB)
        with open(vol.path(), 'rb') as f:
            self.assertTrue(f.read() == self.data, 'content differs')

    def test_copy_between_volumes_keeps_holes(self):
        source = self.volume('src.raw')
        self.upload(source)
        dest = self.volume('dst.raw')
        with storage.VolumeReader(self.conn, source) as reader, \
                storage.VolumeWriter(self.conn, dest) as writer:
            self.assertEqual(len(self.data),
                             storage.copy_stream(reader, writer))
        self.assertEqual(self.data_bytes, writer.bytes_written)
        size, allocated = self.allocated(dest)
        self.assertEqual(len(self.data), size)
        self.assertLessEqual(allocated, self.data_bytes + MiB)
        with storage.VolumeReader(self.conn, dest) as reader:
            self.assertTrue(reader.read() == self.data, 'content differs')

    def test_pieces_of_any_size_arrive_whole(self):
        # Pieces that do not line up with the 256 KiB messages nor with the
        # 64 KiB zero blocks, and one larger than a whole batch.
        sizes = [1, 24, 100000, 262120, 3 * MiB + 5, 65535]
        for sparse in (True, False):
            vol = self.volume('odd-%s.raw' % sparse)
            pos, i = 0, 0
            with storage.VolumeWriter(self.conn, vol,
                                      sparse=sparse) as writer:
                while pos < len(self.data):
                    n = sizes[i % len(sizes)]
                    writer.write(self.data[pos:pos + n])
                    pos, i = pos + n, i + 1
            self.assertEqual(sparse, writer.sparse)
            self.assertEqual(len(self.data),
                             writer.bytes_written + writer.hole_bytes)
            size, allocated = self.allocated(vol)
            self.assertEqual(len(self.data), size)
            if sparse:
                self.assertLessEqual(allocated, self.data_bytes + 2 * MiB)
            else:
                self.assertGreaterEqual(allocated, len(self.data))
            with storage.VolumeReader(self.conn, vol) as reader:
                self.assertTrue(b''.join(reader) == self.data,
                                'content differs (sparse=%s)' % sparse)
