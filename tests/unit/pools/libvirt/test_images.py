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

import struct

import testtools

from nova import exception as nova_exception

from nova_ovirt.pools.libvirt import images


def qcow2_bytes(size, backing_offset=0):
    return struct.pack('>4sIQII Q', b'QFI\xfb', 3, backing_offset, 0, 16,
                       size) + b'\0' * 480


class FakeSink(object):
    def __init__(self, header, size):
        self.header = header
        self.size = size


class ImageContentTest(testtools.TestCase):

    def test_qcow2_virtual_size(self):
        self.assertEqual((1 << 30, False),
                         images.qcow2_header(qcow2_bytes(1 << 30)))

    def test_not_qcow2(self):
        self.assertIsNone(images.qcow2_header(b'\0' * 512))

    def test_raw_virtual_size_is_byte_count(self):
        self.assertEqual(12345, images._check_content(
            'i', 'raw', FakeSink(b'', 12345)))

    def test_qcow2_claim_with_other_data_refused(self):
        self.assertRaises(nova_exception.ImageUnacceptable,
                          images._check_content, 'i', 'qcow2',
                          FakeSink(b'\0' * 512, 512))

    def test_qcow2_with_backing_file_refused(self):
        e = self.assertRaises(nova_exception.ImageUnacceptable,
                              images._check_content, 'i', 'qcow2',
                              FakeSink(qcow2_bytes(1 << 30, 512), 512))
        self.assertIn('backing file', str(e))

    def test_sink_keeps_header_and_counts(self):
        written = []

        class Writer(object):
            def write(self, chunk):
                written.append(chunk)

        sink = images.ImageSink(Writer())
        data = qcow2_bytes(1 << 20) + b'x' * 2000
        for i in range(0, len(data), 300):
            sink.write(data[i:i + 300])
        self.assertEqual(len(data), sink.size)
        self.assertEqual(data[:512], sink.header)
        self.assertEqual(data, b''.join(written))
