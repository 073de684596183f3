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

"""Image data against the simulator's imageio: what goes over the wire."""

import io
import os
import socket
import threading

from ovirtsdk4 import types
import testtools

from nova_ovirt.pools.ovirt import images
from nova_ovirt.pools.ovirt import session as ovirt_session
from nova_ovirt.pools.ovirt import snapshot
from nova_ovirt.pools.ovirt import transfer
from tests.unit.pools.ovirt import base

MiB = 1024 * 1024
_UP = types.ImageTransferDirection.UPLOAD
_DOWN = types.ImageTransferDirection.DOWNLOAD


def half_zero(size, segment=3 * MiB):
    """Data and zero segments, not aligned on chunks."""
    out = bytearray(size)
    for start in range(0, size, 2 * segment):
        end = min(start + segment, size)
        out[start:end] = os.urandom(end - start)
    return bytes(out)


def read(client, offset, size):
    """The bytes [offset, offset+size) of a download, in one GET."""
    return b''.join(bytes(data) for _, data, _ in transfer.stream_runs(
        client, [(offset, size, False)]))


class ZeroDetectionTestCase(testtools.TestCase):

    def test_runs(self):
        data = bytes(MiB) + b'x' * MiB + b'y' * 10 + bytes(MiB)
        runs = transfer.split_zeros(data, 100)
        # Per 1 MiB block: the block holding the y's is data, the tail
        # after it is zeros.
        self.assertEqual([(100, True, MiB), (100 + MiB, False, 2 * MiB),
                          (100 + 3 * MiB, True, 10)],
                         [(o, d is None, n) for o, d, n in runs])
        self.assertEqual(data[MiB:3 * MiB], bytes(runs[1][1]))

    def test_is_zero(self):
        self.assertTrue(transfer.is_zero(bytes(3 * MiB + 5)))
        self.assertFalse(transfer.is_zero(bytes(3 * MiB) + b'\1'))
        self.assertTrue(transfer.is_zero(b'ab' + bytes(10), 2))

    def test_zero_runs_of_a_slice(self):
        data = bytearray(b'x' * 10 + bytes(2 * MiB) + b'y')
        # Blocks count from the start given; neighbours of a kind merge.
        self.assertEqual([(10, True, 2 * MiB), (10 + 2 * MiB, False, 1)],
                         transfer.zero_runs(data, 10))
        self.assertEqual([(0, False, MiB), (MiB, True, MiB),
                          (2 * MiB, False, 11)],
                         transfer.zero_runs(data))
        self.assertEqual([(10, True, 2 * MiB)],
                         transfer.zero_runs(data, 10, 10 + 2 * MiB))


class ReadIntoTestCase(testtools.TestCase):

    def test_readinto_and_read_only_sources(self):
        data = os.urandom(100)

        class ReadOnly(object):
            def __init__(self):
                self._f = io.BytesIO(data)

            def read(self, n):
                return self._f.read(min(n, 7))   # short reads

        for source in (io.BytesIO(data), ReadOnly()):
            buf = bytearray(120)
            got = transfer.read_into(source, memoryview(buf), chunk=16)
            self.assertEqual(100, got)
            self.assertEqual(data, bytes(buf[:100]))

    def test_chunk_reader_readinto_spans_glance_chunks(self):
        chunks = [b'abc', b'', b'defgh', b'ij']
        reader = images.ChunkReader(chunks)
        self.assertEqual(b'ab', reader.peek(2))
        buf = bytearray(4)
        self.assertEqual(4, reader.readinto(buf))
        self.assertEqual(b'abcd', bytes(buf))
        self.assertEqual(4, reader.readinto(buf))
        self.assertEqual(b'efgh', bytes(buf))
        self.assertEqual(2, reader.readinto(buf))
        self.assertEqual(b'ij', bytes(buf[:2]))
        self.assertEqual(0, reader.readinto(buf))
        self.assertEqual(10, reader.consumed)


class StreamReaderTestCase(testtools.TestCase):

    def test_reads_across_buffers(self):
        chunks = [b'abc', bytearray(b'defg'), b'', b'h' * 10]
        reader = snapshot.StreamReader(chunks, 17)
        got = [bytes(reader.read(5)) for _ in range(4)]
        self.assertEqual(b'abcdefg' + b'h' * 10, b''.join(got))
        self.assertEqual(17, reader.sent)


class WriterClient(object):
    """What transfer.upload needs of an imageio client, without a wire:
    a test defines put."""

    features = {'max_writers': transfer.MAX_WRITERS}

    def writers(self):
        return min(transfer.MAX_WRITERS, self.features['max_writers'])

    def clone(self):
        return type(self)()

    def close(self):
        pass

    def flush(self):
        pass


class UploadMemoryTestCase(testtools.TestCase):

    def test_memory_in_flight_is_bounded_by_the_regions(self):
        """The reader waits for the writers: at most one region per
        writer plus the one being gathered is read ahead of the wire."""
        size = 10 * transfer.REGION
        writers = transfer.MAX_WRITERS

        class Reader(object):
            offset = 0

        reader = Reader()
        ahead = []

        def read(n):
            ahead.append(reader.offset - sent_upto[0])
            reader.offset += n
            return os.urandom(n)
        reader.read = read
        sent_upto = [0]
        gate = threading.Event()

        class Client(WriterClient):
            def put(self, offset, view):
                gate.wait(5)
                sent_upto[0] = max(sent_upto[0], offset + len(view))

        timer = threading.Timer(0.5, gate.set)
        timer.start()
        self.addCleanup(timer.cancel)
        transfer.upload(Client(), reader, size)
        self.assertLessEqual(max(ahead),
                             (writers + 1) * transfer.REGION)

    def test_regions_are_read_into_reused_buffers(self):
        """One buffer per writer and one being filled, whatever the
        size: every later region lands in a buffer already mapped."""
        size = 12 * transfer.REGION
        writers = transfer.MAX_WRITERS
        buffers = set()
        puts = []

        class Client(WriterClient):
            def put(self, offset, view):
                buffers.add(id(view.obj))
                puts.append((offset, bytes(view)))

        data = os.urandom(size)
        sent = transfer.upload(Client(), io.BytesIO(data), size)
        self.assertEqual(size, sent)
        self.assertLessEqual(len(buffers), writers + 1)
        self.assertEqual(12, len(puts))
        self.assertEqual(data, b''.join(p for _, p in sorted(puts)))


class SimTransfers(base.SimTestCase):
    """Transfers of disks on the simulator (no tests of its own)."""

    def setUp(self):
        super().setUp()
        self.session = ovirt_session.Session(
            self.sim.url, self.sim.username, self.sim.password,
            ca_file=self.sim.ca_file)
        self.addCleanup(self.session.close)
        self.transfers = transfer.Transfers(self.session,
                                            ca_file=self.sim.ca_file)
        sd = self.session.read(
            lambda s: s.storage_domains_service().list(search='name=data'))
        self.sd_id = sd[0].id

    def new_disk(self, size):
        disk = self.session.write(lambda s: s.disks_service().add(
            types.Disk(name='t', format=types.DiskFormat.RAW, sparse=True,
                       provisioned_size=size,
                       storage_domains=[types.StorageDomain(id=self.sd_id)])))
        ovirt_session.wait_for(
            lambda: self.session.read(
                lambda s: s.disks_service().disk_service(disk.id).get()),
            lambda d: d.status == types.DiskStatus.OK, 30, 'disk')
        return disk.id

    def upload(self, disk_id, data):
        tr = self.transfers.begin(_UP, disk_id=disk_id)
        client = self.transfers.client(tr)
        try:
            sent = transfer.upload(client, io.BytesIO(data), len(data))
        finally:
            client.close()
        self.transfers.finalize(tr.id)
        return sent

    def download(self, disk_id, size, reuse=True, buffers=None):
        """The runs, their data copied as they come (with reuse, a
        run's buffer is valid until the next run is asked for)."""
        tr = self.transfers.begin(_DOWN, disk_id=disk_id)
        client = self.transfers.client(tr)
        try:
            runs = []
            for offset, data, length in transfer.download_runs(
                    client, size, reuse=reuse):
                if buffers is not None and data is not None:
                    buffers[id(data)] = data      # kept alive: ids unique
                runs.append((offset, None if data is None else bytes(data),
                             length))
            return runs
        finally:
            client.close()
            self.transfers.finalize(tr.id)


class TransferTestCase(SimTransfers):

    def test_download_streams_into_reused_buffers(self):
        """One GET streams the disk into buffers that go round: a 64 MiB
        disk (16 chunks) is read with STREAM_BUFFERS chunk buffers, and
        the bytes are the disk's; without reuse each chunk has its own
        buffer (what a consumer that keeps them needs)."""
        size = 64 * MiB
        data = os.urandom(size)
        disk = self.new_disk(size)
        self.upload(disk, data)
        self.assertLess(transfer.STREAM_BUFFERS, size // transfer.CHUNK)
        for reuse in (True, False):
            buffers = {}
            self.sim.requests.reset()
            runs = self.download(disk, size, reuse=reuse, buffers=buffers)
            self.assertEqual(data, b''.join(run for _, run, _ in runs))
            self.assertEqual(1, self.sim.requests.count(
                'GET', r'/images/[^/]*$'))
            if reuse:
                self.assertEqual(transfer.STREAM_BUFFERS, len(buffers))
            else:
                self.assertEqual(size // transfer.CHUNK, len(buffers))

    def test_download_stopped_early_ends_its_reader(self):
        """A consumer that stops (a failed Glance upload) ends the reader
        thread and its GET; the connection then serves the next request."""
        size = 64 * MiB
        disk = self.new_disk(size)
        self.upload(disk, os.urandom(size))
        tr = self.transfers.begin(_DOWN, disk_id=disk)
        self.addCleanup(self.transfers.finalize, tr.id)
        client = self.transfers.client(tr)
        self.addCleanup(client.close)
        runs = transfer.download_runs(client, size)
        offset, data, length = next(runs)
        self.assertEqual((0, transfer.CHUNK), (offset, length))
        runs.close()
        self.assertEqual([], [t for t in threading.enumerate()
                              if t.name == 'imageio-reader'])
        self.assertEqual(10, len(read(client, size - 10, 10)))

    def test_failed_consumer_stops_the_reader_before_the_client_closes(self):
        """A snapshot whose sparse file fails half-way: the reader thread
        is gone when the transfer's client closes (a libcurl handle must
        not close under a running GET)."""
        size = 64 * MiB
        disk = self.new_disk(size)
        self.upload(disk, os.urandom(size))

        class ConsumerFailed(Exception):
            pass

        def consume():
            with snapshot.download_runs(self.transfers, size,
                                        disk_id=disk) as runs:
                next(runs)
                raise ConsumerFailed()

        self.assertRaises(ConsumerFailed, consume)
        self.assertEqual([], [t for t in threading.enumerate()
                              if t.name == 'imageio-reader'])

    def test_download_failure_reaches_the_consumer(self):
        """The reader's failure (the disk is shorter than the size asked
        for) is raised where the runs are consumed."""
        disk = self.new_disk(8 * MiB)
        self.upload(disk, os.urandom(8 * MiB))
        tr = self.transfers.begin(_DOWN, disk_id=disk)
        self.addCleanup(self.transfers.finalize, tr.id)
        client = self.transfers.client(tr)
        self.addCleanup(client.close)
        ranges = [(0, 4 * MiB, False), (4 * MiB, 5 * MiB, False)]
        runs = transfer.stream_runs(client, ranges)
        self.assertEqual(0, next(runs)[0])
        e = self.assertRaises(transfer.TransferError, list, runs)
        self.assertIn('imageio GET failed: 416', str(e))
        self.assertIn('Requested more bytes than available: %d > %d'
                      % (9 * MiB, 8 * MiB), str(e))

    def test_zeros_go_as_zero_requests_and_holes_are_not_read(self):
        size = 20 * MiB + 4096
        data = half_zero(size)
        data_bytes = size - data.count(0)   # random data has few zeros
        disk = self.new_disk(size)
        self.sim.requests.reset()
        sent = self.upload(disk, data)
        # Only the data segments travel as bytes.
        self.assertEqual(sent, self.sim.requests.bytes_uploaded)
        self.assertLess(sent, size * 0.6)
        self.assertGreater(sent, data_bytes * 0.99)
        # Each zero segment is one zero request (runs merge across chunks).
        segments = -(-size // (3 * MiB))
        self.assertEqual(segments // 2, self.sim.requests.count(
            'PATCH', r'/images/') - 1)          # and one flush
        self.sim.requests.reset()
        runs = self.download(disk, size)
        self.assertEqual(sent, self.sim.requests.bytes_downloaded)
        got = bytearray(size)
        for offset, run, length in runs:
            if run is not None:
                got[offset:offset + length] = run
        self.assertEqual(data, bytes(got))

    def test_upload_uses_the_writers_imageio_offers(self):
        size = 6 * transfer.CHUNK
        disk = self.new_disk(size)
        tr = self.transfers.begin(_UP, disk_id=disk)
        client = self.transfers.client(tr)
        self.addCleanup(client.close)
        offered = client.features['max_writers']
        writers = min(offered, transfer.MAX_WRITERS)
        self.assertEqual(writers, client.writers())
        clones = []
        real_clone = client.clone

        def clone():
            clones.append(real_clone())
            return clones[-1]
        client.clone = clone
        transfer.upload(client, io.BytesIO(os.urandom(size)), size)
        self.assertEqual(writers - 1, len(clones))
        self.transfers.finalize(tr.id)

    def test_one_put_per_data_run_of_a_region(self):
        """The request pattern of ovirt-imageio's client, not one PUT per
        read: each data run of a writer's region is one streamed PUT,
        each zero run one zero request, one flush at the end."""
        region = transfer.REGION
        block = transfer.BLOCK
        self.assertGreater(region, 2 * block)
        size = 2 * region + region // 2
        hole = (block, region - block)
        data = bytearray(os.urandom(size))
        data[hole[0]:hole[1]] = bytes(hole[1] - hole[0])
        data = bytes(data)
        disk = self.new_disk(size)
        tr = self.transfers.begin(_UP, disk_id=disk)
        client = self.transfers.client(tr)
        self.addCleanup(client.close)
        self.assertEqual(2, client.writers())
        puts = []

        def spy(conn):
            real = conn.put

            def put(offset, view):
                puts.append((offset, len(view)))
                return real(offset, view)
            conn.put = put
            return conn
        real_clone = client.clone
        client.clone = lambda: spy(real_clone())
        spy(client)
        self.sim.requests.reset()
        sent = transfer.upload(client, io.BytesIO(data), size)
        self.transfers.finalize(tr.id)
        # Region 0 holds two data runs around the hole; regions 1 and 2
        # are one run each (whichever writer is free takes the next).
        self.assertEqual([
            (0, hole[0]),
            (hole[1], region - hole[1]),
            (region, region),
            (2 * region, region // 2)],
            sorted(puts))
        self.assertEqual(4, self.sim.requests.count('PUT', r'/images/'))
        self.assertEqual(2, self.sim.requests.count('PATCH', r'/images/'))
        self.assertEqual(size - (hole[1] - hole[0]), sent)
        self.assertEqual(sent, self.sim.requests.bytes_uploaded)
        runs = self.download(disk, size)
        got = bytearray(size)
        for offset, run, length in runs:
            if run is not None:
                got[offset:offset + length] = run
        self.assertEqual(data, bytes(got))

    def test_failed_write_stops_the_upload(self):
        size = 8 * transfer.CHUNK
        disk = self.new_disk(size)
        self.sim.faults.fail_transfer_after(2 * transfer.CHUNK)
        tr = self.transfers.begin(_UP, disk_id=disk)
        client = self.transfers.client(tr)
        self.addCleanup(client.close)
        self.assertRaises(Exception, transfer.upload, client,
                          io.BytesIO(os.urandom(size)), size)
        self.transfers.cancel(tr.id)


class ClientErrorsTestCase(SimTransfers):
    """The libcurl client against the simulator's imageio: failures come
    back as TransferError with what the server or libcurl said, and the
    ticket (the URL's path) stays out of the message."""

    def download_transfer(self):
        disk = self.new_disk(MiB)
        tr = self.transfers.begin(_DOWN, disk_id=disk)
        self.addCleanup(self.transfers.finalize, tr.id)
        return tr

    def test_http_error_carries_the_servers_answer(self):
        tr = self.download_transfer()
        client = self.transfers.client(tr)
        self.addCleanup(client.close)
        # A download ticket refuses writes, with imageio's own words.
        e = self.assertRaises(transfer.TransferError,
                              client.put, 0, memoryview(b'x'))
        self.assertIn('imageio PUT failed: 403', str(e))
        self.assertIn('ticket does not allow PUT', str(e))
        # The connection stays usable after an error answer.
        self.assertEqual(b'\0' * 10, read(client, 0, 10))

    def test_range_past_the_end_is_refused(self):
        tr = self.download_transfer()
        client = self.transfers.client(tr)
        self.addCleanup(client.close)
        # The disk ends before the range asked for does: imageio answers
        # 416 with its reason.
        e = self.assertRaises(transfer.TransferError, read, client,
                              MiB - 10, 20)
        self.assertIn('416', str(e))
        self.assertIn('Requested more bytes than available', str(e))
        self.assertEqual(10, len(read(client, MiB - 10, 10)))

    def test_connection_failure_names_the_endpoint_not_the_ticket(self):
        tr = self.download_transfer()
        ticket = tr.transfer_url.rsplit('/', 1)[1]
        closed = socket.socket()
        closed.bind(('127.0.0.1', 0))
        port = closed.getsockname()[1]
        closed.close()
        tr.transfer_url = 'https://127.0.0.1:%d/images/%s' % (port, ticket)
        tr.proxy_url = None
        e = self.assertRaises(transfer.TransferError, self.transfers.client,
                              tr)
        self.assertIn('https://127.0.0.1:%d' % port, str(e))
        self.assertNotIn(ticket, str(e))

    def test_server_certificate_is_verified_against_the_ca_file(self):
        tr = self.download_transfer()
        other_ca = '/etc/ssl/certs/ca-certificates.crt'
        strict = transfer.Transfers(self.session, ca_file=other_ca)
        e = self.assertRaises(transfer.TransferError, strict.client, tr)
        self.assertIn('certificate', str(e).lower())
        # Only an explicitly insecure pool skips the check.
        insecure = transfer.Transfers(self.session, ca_file=other_ca,
                                      insecure=True)
        client = insecure.client(tr)
        self.addCleanup(client.close)
        self.assertEqual(b'\0' * 10, read(client, 0, 10))

    def test_extents_of_a_fragmented_disk_come_whole(self):
        """An extents answer far longer than an error's text is kept
        whole (hundreds of extents)."""
        size = 400 * MiB
        disk = self.new_disk(size)
        data = bytearray(size)
        for start in range(0, size, 2 * MiB):
            data[start:start + 4096] = b'x' * 4096
        self.upload(disk, bytes(data))
        tr = self.transfers.begin(_DOWN, disk_id=disk)
        self.addCleanup(self.transfers.finalize, tr.id)
        client = self.transfers.client(tr)
        self.addCleanup(client.close)
        extents = client.extents()
        self.assertEqual(400, len(extents))
        self.assertEqual(size, sum(e['length'] for e in extents))
