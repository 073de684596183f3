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

"""Image transfers: the engine side (SDK) and the data side (ovirt-imageio).

The engine creates a transfer (``POST /imagetransfers``) and hands out a
``transfer_url`` (the host's imageio daemon) and a ``proxy_url`` (the
engine's imageio proxy). The bytes then move over the ovirt-imageio HTTP
protocol: ``PUT`` with ``Content-Range``, ``GET`` with ``Range``, ``PATCH``
``{"op": "zero"|"flush"}``. We speak it with ``http.client`` and the
engine's CA, the way the SDK examples do, rather than with the
``ovirt-imageio`` client library: that one needs qemu-nbd and a C build,
and we only move raw bytes.

The data moves the way ovirt-imageio's own client moves it: several
connections (as many as imageio's OPTIONS offers, up to ``MAX_WRITERS``
or ``MAX_WORKERS``) over disjoint ranges, one streamed PUT per data run
of a writer's region, zero runs sent as ``zero`` requests, holes skipped
on download through ``/extents``, and reading the source overlapping with
the wire. Memory stays bounded by the regions in flight.
"""

import collections
import concurrent.futures
import contextlib
import http.client
import json
import queue
import ssl
import threading
import time
import urllib.parse

from oslo_log import log as logging
import ovirtsdk4 as sdk
from ovirtsdk4 import types

from nova_ovirt.pools.ovirt import session as ovirt_session

LOG = logging.getLogger(__name__)

_P = types.ImageTransferPhase
_FAILED = (_P.FINISHED_FAILURE, _P.PAUSED_SYSTEM, _P.CANCELLED,
           _P.CANCELLED_SYSTEM, _P.CANCELLED_USER, _P.FINISHED_CLEANUP,
           _P.FINALIZING_FAILURE)


class TransferError(Exception):
    pass


# -- the data side -----------------------------------------------------------

# Zero detection looks at BLOCKs: a run of zeros that long is worth a zero
# request instead of its bytes (file-system gaps, unused disk tails).
BLOCK = 1024 * 1024
# Bytes of one GET, and of one read from an upload's source (zero runs are
# found per read while its bytes are still in the CPU cache): big enough
# that a request's overhead is small against its transfer, small enough
# that what is in flight stays bounded.
CHUNK = 4 * 1024 * 1024
# Connections of one download. imageio's OPTIONS says how many it accepts
# (max_readers); beyond 4 one disk gains nothing.
MAX_WORKERS = 4
# Connections of one upload (at most imageio's max_writers). The source is
# one sequential stream (Glance), so more writers only add requests and
# contention: two keep the wire busy while the reader gathers the next
# region (measured: 4 writers were slower than 1 on the simulator).
MAX_WRITERS = 2
# What one writer owns at a time and the most one PUT carries: every
# data run of a region is one PUT. An upload reads into (writers + 1)
# buffers of a REGION, reused: 48 MiB with 2 writers, whatever the image
# size.
REGION = 16 * 1024 * 1024

_ZERO_BLOCK = bytes(BLOCK)
_ZERO_CHUNK = bytes(CHUNK)


def is_zero(data, start=0, end=None):
    """Whether data[start:end] is all zeros, without copying it.

    ``startswith`` is a memcmp that stops at the first non-zero byte:
    about 0.1 s per GiB of zeros and nothing for data, where
    ``data.count(0)`` reads every byte (0.45 s per GiB, data or not).
    ``data`` is bytes or a bytearray (memoryview has no ``startswith``).
    """
    end = len(data) if end is None else end
    while start < end:
        n = min(BLOCK, end - start)
        zeros = _ZERO_BLOCK if n == BLOCK else _ZERO_BLOCK[:n]
        if not data.startswith(zeros, start):
            return False
        start += n
    return True


def zero_runs(data, start=0, end=None, block=BLOCK):
    """(position, zero, length) runs of data[start:end], per block.

    Blocks are counted from ``start``; neighbouring blocks of the same
    kind are one run.
    """
    end = len(data) if end is None else end
    runs = []
    pos = start
    while pos < end:
        stop = min(pos + block, end)
        zero = is_zero(data, pos, stop)
        if runs and runs[-1][1] == zero:
            runs[-1][2] += stop - pos
        else:
            runs.append([pos, zero, stop - pos])
        pos = stop
    return [tuple(run) for run in runs]


def split_zeros(data, offset, block=BLOCK):
    """(offset, data or None, length) runs of a chunk; None: all zeros.

    Data runs are memoryviews of ``data``: nothing is copied.
    """
    view = memoryview(data)
    return [(offset + pos, None if zero else view[pos:pos + n], n)
            for pos, zero, n in zero_runs(data, block=block)]


def read_into(reader, view, chunk=CHUNK):
    """Fill view from reader, at most chunk bytes per call; bytes read.

    ``readinto`` (files, :class:`images.ChunkReader`) writes straight
    into the buffer; a reader with only ``read`` costs one copy more.
    Fewer bytes than asked only when the source ends.
    """
    readinto = getattr(reader, 'readinto', None)
    got = 0
    while got < len(view):
        piece = view[got:got + chunk]
        if readinto is not None:
            n = readinto(piece)
        else:
            data = reader.read(len(piece))
            n = len(data)
            piece[:n] = data
        if not n:
            break
        got += n
    return got


class ImageioClient(object):
    """One HTTPS connection to an imageio endpoint (daemon or proxy)."""

    def __init__(self, url, ca_file=None, insecure=False, timeout=60):
        self.url = url
        self._ca_file = ca_file
        self._insecure = insecure
        self._timeout = timeout
        parsed = urllib.parse.urlparse(url)
        self.path = parsed.path
        if parsed.scheme == 'https':
            if insecure:
                ctx = ssl._create_unverified_context()
            else:
                ctx = ssl.create_default_context(cafile=ca_file)
            self._conn = http.client.HTTPSConnection(
                parsed.hostname, parsed.port, context=ctx, timeout=timeout)
        else:
            self._conn = http.client.HTTPConnection(
                parsed.hostname, parsed.port, timeout=timeout)
        self.features = {}

    def clone(self):
        """Another connection to the same endpoint (for another worker)."""
        return ImageioClient(self.url, self._ca_file, self._insecure,
                             self._timeout)

    def close(self):
        self._conn.close()

    def _request(self, method, body=None, headers=None, path=None):
        self._conn.request(method, path or self.path, body=body,
                           headers=headers or {})
        resp = self._conn.getresponse()
        if resp.status >= 400:
            detail = resp.read()[:512].decode('utf-8', 'replace')
            raise TransferError('imageio %s failed: %s %s %s' % (
                method, resp.status, resp.reason, detail))
        return resp

    def options(self):
        resp = self._request('OPTIONS')
        data = resp.read()
        try:
            self.features = json.loads(data or b'{}')
        except ValueError:
            self.features = {}
        return self.features

    def workers(self, key, limit=MAX_WORKERS):
        """Connections to use: what OPTIONS offers, at most limit."""
        try:
            offered = int(self.features.get(key) or 1)
        except (TypeError, ValueError):
            offered = 1
        return max(1, min(limit, offered))

    def put_stream(self, offset, views, length):
        """One PUT of length bytes at offset, sent buffer by buffer.

        The buffers go to the socket as they are (no joined copy); the
        answer is read once the whole body is out.
        """
        self._conn.putrequest('PUT', self.path)
        self._conn.putheader('Content-Range', 'bytes %d-%d/*' % (
            offset, offset + length - 1))
        self._conn.putheader('Content-Length', str(length))
        self._conn.endheaders()
        for view in views:
            self._conn.send(view)
        resp = self._conn.getresponse()
        if resp.status >= 400:
            detail = resp.read()[:512].decode('utf-8', 'replace')
            raise TransferError('imageio PUT failed: %s %s %s' % (
                resp.status, resp.reason, detail))
        resp.read()

    def _patch(self, op):
        body = json.dumps(op).encode()
        self._request('PATCH', body=body, headers={
            'Content-Type': 'application/json',
            'Content-Length': str(len(body))}).read()

    def zero(self, offset, size):
        self._patch({'op': 'zero', 'offset': offset, 'size': size,
                     'flush': False})

    def flush(self):
        self._patch({'op': 'flush'})

    def extents(self, context='zero'):
        """imageio's extents: ``zero`` (data or zeros) or ``dirty`` (changed
        since the backup's checkpoint, for an incremental backup)."""
        resp = self._request('GET', path='%s/extents?context=%s' % (
            self.path, context))
        return json.loads(resp.read())

    def read(self, offset, size):
        """The bytes [offset, offset+size), in a new buffer."""
        buf = bytearray(size)
        self.readinto(offset, buf)
        return buf

    def readinto(self, offset, buf):
        """Fill buf with the bytes from offset on (one GET); buf.

        The response is read straight into buf: no buffer of its own,
        no copy (``HTTPResponse.readinto`` fills it in one call).
        """
        view = memoryview(buf)
        size = len(view)
        resp = self._request('GET', headers={
            'Range': 'bytes=%d-%d' % (offset, offset + size - 1)})
        got = 0
        while got < size:
            n = resp.readinto(view[got:])
            if not n:
                raise TransferError('imageio GET ended %d bytes early'
                                    % (size - got))
            got += n
        return buf


def open_client(transfer, ca_file, insecure, timeout):
    """Connect to the host's imageio daemon, else to the engine's proxy."""
    errors = []
    for url in (transfer.transfer_url, transfer.proxy_url):
        if not url:
            continue
        client = ImageioClient(url, ca_file, insecure, timeout)
        try:
            client.options()
            return client
        except (OSError, http.client.HTTPException, TransferError) as e:
            client.close()
            errors.append('%s: %s' % (url, e))
    raise TransferError('no imageio endpoint reachable (%s)'
                        % '; '.join(errors))


class _Buffers(object):
    """The region buffers of one upload, reused from region to region.

    The reader fills a free buffer while the writers send the others: at
    most ``count`` regions are in memory whatever the image size, nothing
    is allocated per read, and a Glance stream's chunks are copied once,
    into the buffer (before, each 4 MiB read joined them into a new
    buffer). Buffers are made on demand, so a small image takes one.
    """

    def __init__(self, count, size):
        self._free = queue.Queue()
        self._left = count            # not allocated yet: made on demand
        self._size = size

    def take(self, check):
        """A free buffer; check() raises the writers' error while waiting."""
        while True:
            try:
                return self._free.get_nowait()
            except queue.Empty:
                pass
            if self._left:
                self._left -= 1
                return bytearray(self._size)
            try:
                return self._free.get(timeout=1)
            except queue.Empty:
                check()

    def give(self, buf):
        self._free.put(buf)


class _Writer(object):
    """One connection that sends the requests of its regions, in order.

    Each item is a region's requests and the buffer their data views
    point into; the buffer goes back to the pool once they are sent.
    """

    def __init__(self, client, owned, writers):
        self._client = client
        self._owned = owned          # close the connection when done
        self._writers = writers
        self._queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                requests, buf = item
                try:
                    if self._writers.error is None:
                        for request in requests:
                            _send(self._client, request)
                except BaseException as e:
                    self._writers.fail(e)
                finally:
                    del item, requests
                    if buf is not None:
                        self._writers.buffers.give(buf)
                    del buf
        finally:
            if self._owned:
                self._client.close()

    def submit(self, requests, buf):
        self._writers.check()
        self._queue.put((requests, buf))

    def finish(self):
        self._queue.put(None)
        self._thread.join()


class _Writers(object):
    """A writer per connection, each owning every count-th REGION.

    Regions are disjoint, so the writers never touch the same bytes and
    need no ordering between them; the first error stops them all.
    """

    def __init__(self, client, count, buffers):
        self.error = None
        self.buffers = buffers
        self._writers = []
        try:
            for i in range(count):
                self._writers.append(_Writer(
                    client if i == 0 else client.clone(), i > 0, self))
        except BaseException:
            self.finish()
            raise

    def fail(self, error):
        self.error = self.error or error

    def check(self):
        if self.error is not None:
            raise self.error

    def submit(self, region, requests, buf=None):
        """Send requests (data views into buf) on the region's writer."""
        self._writers[region % len(self._writers)].submit(requests, buf)

    def finish(self):
        for writer in self._writers:
            writer.finish()
        self.check()


def _send(client, request):
    offset, view, length = request
    if view is None:
        client.zero(offset, length)
    else:
        client.put_stream(offset, [view], length)


def upload(client, reader, size, chunk=CHUNK):
    """Write reader's size bytes over up to ``max_writers`` connections.

    The shape of ovirt-imageio's own client: each writer owns a
    connection and disjoint regions, every data run of a region goes as
    one PUT with its Content-Range, zero runs as one ``zero`` request
    each (merged across chunks and regions), and one flush at the end.
    imageio needs a Content-Length and a Glance stream has no extents,
    so a run's length is known once its bytes are read: the caller's
    thread reads a whole REGION (into a reused buffer, chunk by chunk,
    finding zero runs while the chunk is fresh in the cache), then hands
    the region's requests to its writer and reads the next one while
    the writers send. Returns the bytes sent as data.
    """
    count = client.workers('max_writers', MAX_WRITERS)
    # One buffer per writer on the wire and one being filled.
    buffers = _Buffers(count + 1, min(REGION, size))
    writers = _Writers(client, count, buffers)
    sent = 0
    zero = None                      # [offset, length] not yet sent
    try:
        for start in range(0, size, REGION):
            length = min(REGION, size - start)
            buf = buffers.take(writers.check)
            view = memoryview(buf)
            requests = []
            pos = 0
            while pos < length:
                n = read_into(reader, view[pos:min(pos + chunk, length)],
                              chunk)
                if not n:
                    raise TransferError('image data ended at %d of %d '
                                        'bytes' % (start + pos, size))
                for at, is_zeros, run in zero_runs(buf, pos, pos + n):
                    if is_zeros:
                        if zero and zero[0] + zero[1] == start + at:
                            zero[1] += run
                        else:
                            zero = [start + at, run]
                        continue
                    if zero:
                        requests.append((zero[0], None, zero[1]))
                        zero = None
                    last = requests[-1] if requests else None
                    if last and last[1] is not None and \
                            last[0] + last[2] == start + at:
                        # The chunk's first run continues the last one.
                        requests[-1] = (last[0],
                                        view[last[0] - start:at + run],
                                        last[2] + run)
                    else:
                        requests.append((start + at, view[at:at + run], run))
                    sent += run
                pos += n
            del view
            if requests:
                writers.submit(start // REGION, requests, buf)
            else:
                buffers.give(buf)
            del buf, requests
        if zero:
            writers.submit(zero[0] // REGION, [(zero[0], None, zero[1])])
    finally:
        writers.finish()
    client.flush()
    return sent


def data_ranges(client, size, chunk=CHUNK):
    """(offset, length, zero) pieces of the disk, data split per chunk.

    From imageio's ``/extents``: holes and zero ranges are never read.
    """
    try:
        extents = client.extents()
    except TransferError:
        extents = [{'start': 0, 'length': size, 'zero': False}]
    pos = 0
    for ext in extents:
        start = max(ext['start'], pos)
        end = min(ext['start'] + ext['length'], size)
        if start >= end:
            continue
        if start > pos:
            yield pos, start - pos, False  # a gap in the extents: read it
        if ext.get('zero'):
            yield start, end - start, True
        else:
            while start < end:
                n = min(chunk, end - start)
                yield start, n, False
                start += n
        pos = end
    while pos < size:
        n = min(chunk, size - pos)
        yield pos, n, False
        pos += n


def download_runs(client, size, chunk=CHUNK, reuse=True):
    """Yield (offset, data or None, length) in order; None: zeros.

    Data is read over up to ``max_readers`` connections, a few chunks
    ahead of the consumer. With ``reuse`` (what the snapshot file and
    the warm-move copy want) data is a buffer that is valid until the
    next run is asked for: the buffers go round, so nothing is allocated
    per chunk (a fresh 4 MiB buffer is 1,024 page faults to fill) and
    memory stays at (2 x readers + 2) chunks whatever the size.
    """
    count = client.workers('max_readers')
    local = threading.local()
    clones = []
    clones_lock = threading.Lock()
    free = []                    # buffers of chunk bytes, only this thread

    def fetch(offset, buf):
        conn = getattr(local, 'client', None)
        if conn is None:
            conn = local.client = client.clone()
            with clones_lock:
                clones.append(conn)
        return conn.readinto(offset, buf)

    def buffer(length):
        if not reuse or length != chunk:
            return bytearray(length)
        return free.pop() if free else bytearray(chunk)

    def handed(run):
        """run's buffer, back once the consumer asks for the next."""
        offset, data, length = run = _ready(run)
        yield run
        if reuse and data is not None and len(data) == chunk:
            free.append(data)

    pool = concurrent.futures.ThreadPoolExecutor(count)
    pending = collections.deque()
    try:
        for offset, length, zero in data_ranges(client, size, chunk):
            if zero:
                pending.append((offset, None, length))
            else:
                pending.append((offset, pool.submit(
                    fetch, offset, buffer(length)), length))
            while len(pending) > 2 * count or (
                    pending and pending[0][1] is None):
                yield from handed(pending.popleft())
        while pending:
            yield from handed(pending.popleft())
    finally:
        for _, future, _ in pending:
            if future is not None:
                future.cancel()
        pool.shutdown(wait=True)
        for conn in clones:
            conn.close()


def _ready(run):
    offset, future, length = run
    return offset, (future.result() if future is not None else None), length


def download(client, size, chunk=CHUNK):
    """Yield the disk's size bytes as new buffers (zeros made here)."""
    for offset, data, length in download_runs(client, size, chunk,
                                              reuse=False):
        if data is not None:
            yield data
            continue
        while length > 0:
            n = min(chunk, length)
            yield _ZERO_CHUNK if n == CHUNK else bytes(n)
            length -= n


# -- the engine side ---------------------------------------------------------

# Phase polls start quick (the simulator and a warm engine take tens of
# milliseconds) and slow down to this, so a slow engine is not hammered.
_LONGEST_POLL = 1.0


def _backoff(delay):
    """Sleep delay; return the next one."""
    time.sleep(delay)
    return min(_LONGEST_POLL, delay * 1.6)


class Transfers(object):
    """Creating, waiting for and finishing image transfers of one engine."""

    def __init__(self, session, ca_file=None, insecure=False, timeout=60,
                 poll=0.05):
        self._session = session
        self._ca_file = ca_file
        self._insecure = insecure
        self._timeout = timeout
        self._poll = poll

    def _service(self, system, transfer_id):
        return system.image_transfers_service().image_transfer_service(
            transfer_id)

    def begin(self, direction, disk_id=None, snapshot_id=None,
              disk_format=types.DiskFormat.RAW, timeout=300, backup_id=None):
        """Create a transfer and wait until it takes data.

        ``raw`` moves guest data whatever the disk's format; ``cow`` moves
        the qcow2 file itself (how a qcow2 Glance image is uploaded as is).
        """
        it = types.ImageTransfer(
            direction=direction, format=disk_format,
            inactivity_timeout=max(60, self._timeout),
            disk=types.Disk(id=disk_id) if disk_id else None,
            snapshot=(types.DiskSnapshot(id=snapshot_id)
                      if snapshot_id else None),
            backup=types.Backup(id=backup_id) if backup_id else None)
        transfer = self._session.write(
            lambda system: system.image_transfers_service().add(
                it, query=ovirt_session.q()))
        deadline = time.monotonic() + timeout
        delay = self._poll
        while transfer.phase != _P.TRANSFERRING:
            if transfer.phase not in (None, _P.INITIALIZING, _P.RESUMING):
                raise TransferError('transfer %s is %s' % (
                    transfer.id, transfer.phase))
            if time.monotonic() > deadline:
                self.cancel(transfer.id)
                raise TransferError('transfer %s did not start in %ds'
                                    % (transfer.id, timeout))
            delay = _backoff(delay)
            transfer = self._session.read(
                lambda system: self._service(system, transfer.id).get())
        return transfer

    def client(self, transfer):
        return open_client(transfer, self._ca_file, self._insecure,
                           self._timeout)

    @contextlib.contextmanager
    def download_client(self, **source):
        """An imageio client of a download transfer of ``source`` (the
        keyword arguments of :meth:`begin`: disk, snapshot, backup).

        The transfer is finalized afterwards, failed or not: that frees
        the disk's lock; a failure to finalize is only logged.
        """
        tr = self.begin(types.ImageTransferDirection.DOWNLOAD, **source)
        client = None
        try:
            client = self.client(tr)
            yield client
        finally:
            if client is not None:
                client.close()
            try:
                self.finalize(tr.id)
            except Exception as e:
                LOG.warning('Finalizing download %s: %s', tr.id,
                            ovirt_session.fault_text(e))

    def finalize(self, transfer_id, timeout=300):
        """Finalize and wait for finished_success (raises otherwise)."""
        self._session.write(
            lambda system: self._service(system, transfer_id).finalize(
                query=ovirt_session.q()))
        deadline = time.monotonic() + timeout
        delay = self._poll
        while True:
            try:
                t = self._session.read(
                    lambda system: self._service(system, transfer_id).get())
            except sdk.NotFoundError:
                # Engines before 4.4.7 drop the transfer once it is done.
                return
            if t.phase == _P.FINISHED_SUCCESS:
                return
            if t.phase in _FAILED:
                raise TransferError('transfer %s ended %s' % (
                    transfer_id, t.phase))
            if time.monotonic() > deadline:
                raise TransferError('transfer %s did not finish in %ds'
                                    % (transfer_id, timeout))
            delay = _backoff(delay)

    def cancel(self, transfer_id):
        """Cancel (an upload's disk goes with it); never raises."""
        try:
            self._session.write(
                lambda system: self._service(system, transfer_id).cancel(
                    query=ovirt_session.q()))
        except sdk.Error as e:
            LOG.debug('Cancelling transfer %s: %s', transfer_id, e)
