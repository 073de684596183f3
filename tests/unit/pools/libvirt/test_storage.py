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

"""How upload data is cut into libvirt stream messages.

libvirt's test driver has no volume streams; the streams themselves are
exercised against a real libvirtd in tests/live/test_sparse_streams.py.
"""

import random

import testtools

from nova_ovirt.pools.libvirt import storage

KiB = 1024


class SplitMessagesTest(testtools.TestCase):

    def test_glance_pieces_make_one_message_of_four(self):
        pieces = [bytes([i]) * (64 * KiB) for i in range(5)]
        full, rest = storage.split_messages(pieces, 256 * KiB)
        self.assertEqual([b''.join(pieces[:4])], full)
        self.assertEqual([pieces[4]], rest)

    def test_piece_of_message_size_is_not_copied(self):
        piece = b'x' * (256 * KiB)
        full, rest = storage.split_messages([piece], 256 * KiB)
        self.assertIs(piece, full[0])
        self.assertEqual([], rest)

    def test_large_piece_is_cut_and_the_rest_is_bytes(self):
        piece = bytes(range(256)) * (4 * KiB) + b'tail'   # 1 MiB + 4
        full, rest = storage.split_messages([memoryview(piece)], 256 * KiB)
        self.assertEqual([256 * KiB] * 4, [len(m) for m in full])
        self.assertTrue(all(type(m) is bytes for m in full))
        self.assertEqual(piece[:-4], b''.join(full))
        self.assertEqual([b'tail'], rest)
        self.assertIs(bytes, type(rest[0]))

    def test_odd_sizes_keep_every_byte_in_order(self):
        rnd = random.Random(7)
        data = bytes(rnd.getrandbits(8) for _ in range(300 * KiB))
        pieces, pos = [], 0
        while pos < len(data):
            n = rnd.choice([1, 24, 4095, 64 * KiB, 100000, 262120])
            pieces.append(data[pos:pos + n])
            pos += n
        full, rest = storage.split_messages(pieces, 32 * KiB)
        self.assertTrue(all(len(m) == 32 * KiB for m in full))
        self.assertLess(sum(len(p) for p in rest), 32 * KiB)
        self.assertEqual(data, b''.join(full) + b''.join(rest))

    def test_nothing_in_nothing_out(self):
        self.assertEqual(([], []), storage.split_messages([], 256 * KiB))
