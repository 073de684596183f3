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
``{"op": "zero"|"flush"}``. We speak it with libcurl (``pycurl``, which
ovirtsdk4 already uses for the engine) and the engine's CA, rather than
with the ``ovirt-imageio`` client library: that one needs qemu-nbd and a
C build, and we only move raw bytes. libcurl keeps TLS and the HTTP
framing in C, without the GIL, so several connections truly overlap.

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
import json
import threading
import time
import urllib.parse

from oslo_log import log as logging
import ovirtsdk4 as sdk
from ovirtsdk4 import types
import pycurl

from nova_ovirt import compat
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
# one sequential stream (Glance): two writers keep the wire busy, one
# sending while the other reads (measured: 4 writers were slower than 1
# on the simulator).
MAX_WRITERS = 2
# What one writer reads and then sends, and the most one PUT carries:
# every data run of a region is one PUT. Small enough that the region is
# still in the CPU cache when it is sent, big enough that a request's
# overhead is small; each writer reuses one buffer: 8 MiB with 2 writers,
# whatever the image size.
REGION = 4 * 1024 * 1024

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


class _Response(object):
    """What libcurl hands back of one request, through its callbacks.

    The body goes into ``view`` (a GET's buffer) when one is given and the
    status is a success, else into a list (an OPTIONS or extents answer,
    the start of an error's text). ``status`` and ``reason`` come from the
    status line: a ``getinfo`` is not allowed inside a transfer.
    """

    __slots__ = ('status', 'reason', 'view', 'got', 'parts')

    def __init__(self, view=None):
        self.status = 0
        self.reason = ''
        self.view = view
        self.got = 0
        self.parts = []

    def header(self, line):
        if line.startswith(b'HTTP/'):
            # A new status line (after a 100 Continue, say): start over.
            fields = line.split(None, 2)
            self.status = int(fields[1]) if len(fields) > 1 else 0
            self.reason = (fields[2].decode('latin-1').strip()
                           if len(fields) > 2 else '')

    def write(self, data):
        view = self.view
        if self.status >= 300:
            # An error's text, for the message: its start is enough.
            if sum(len(p) for p in self.parts) < _MAX_TEXT:
                self.parts.append(data)
            return None
        if view is None:
            self.parts.append(data)     # OPTIONS, extents: all of it
            return None
        end = self.got + len(data)
        if end > len(view):
            return 0                   # more than asked for: abort
        view[self.got:end] = data
        self.got = end
        return None

    def text(self):
        return b''.join(self.parts)


class _Body(object):
    """A PUT's body for libcurl's read callback: slices of one buffer."""

    __slots__ = ('view', 'pos')

    def __init__(self, view):
        self.view = view
        self.pos = 0

    def read(self, n):
        piece = self.view[self.pos:self.pos + n]
        self.pos += len(piece)
        # pycurl's read callback takes bytes only: one copy of a piece
        # that is still in the CPU cache (see upload()).
        return piece.tobytes()


# An error answer's text kept for the message (imageio's are short).
_MAX_TEXT = 4096
# libcurl's receive buffer (a GET's pieces reach Python one TLS record at
# a time whatever its size) and its send buffer: a PUT's body reaches
# libcurl in pieces this big, each one Python call.
_RECV_BUFFER = 256 * 1024
_SEND_BUFFER = 1024 * 1024


class ImageioClient(object):
    """One keep-alive HTTPS connection to an imageio endpoint (daemon or
    proxy), spoken by libcurl through ``pycurl`` (what ovirtsdk4 itself
    uses for the engine).

    The bytes stay in C: TLS, the HTTP framing and the waiting on the
    socket run without the GIL, and Python sees a PUT's body in
    ``_SEND_BUFFER`` pieces and a GET's one TLS record at a time,
    copied straight into the caller's buffer. Before, ``http.client``
    and ``ssl`` took three Python frames and two GIL hand-overs per
    16 KiB record (see doc/source/performance.rst).
    """

    def __init__(self, url, ca_file=None, insecure=False, timeout=60):
        self.url = url
        self._ca_file = ca_file
        self._insecure = insecure
        self._timeout = timeout
        parsed = urllib.parse.urlparse(url)
        self.path = parsed.path
        # For messages: the endpoint without the path (the ticket).
        self.endpoint = '%s://%s' % (parsed.scheme, parsed.netloc)
        self._base = self.endpoint
        self._scheme = parsed.scheme
        self._curl = self._new_handle(parsed.scheme)
        self.features = {}

    def _new_handle(self, scheme):
        c = pycurl.Curl()
        c.setopt(pycurl.NOSIGNAL, 1)        # many threads, no SIGALRM
        c.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        c.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        # http.client's timeout was per socket operation: connecting, and
        # no byte moving for that long.
        c.setopt(pycurl.CONNECTTIMEOUT, self._timeout)
        c.setopt(pycurl.LOW_SPEED_LIMIT, 1)
        c.setopt(pycurl.LOW_SPEED_TIME, self._timeout)
        c.setopt(pycurl.BUFFERSIZE, _RECV_BUFFER)
        c.setopt(pycurl.UPLOAD_BUFFERSIZE, _SEND_BUFFER)
        if scheme == 'https':
            if self._insecure:
                c.setopt(pycurl.SSL_VERIFYPEER, 0)
                c.setopt(pycurl.SSL_VERIFYHOST, 0)
            else:
                c.setopt(pycurl.SSL_VERIFYPEER, 1)
                c.setopt(pycurl.SSL_VERIFYHOST, 2)
                if self._ca_file:
                    c.setopt(pycurl.CAINFO, self._ca_file)
        return c

    def clone(self):
        """Another connection to the same endpoint (for another worker)."""
        return ImageioClient(self.url, self._ca_file, self._insecure,
                             self._timeout)

    def close(self):
        self._curl.close()

    def _perform(self, method, path=None, headers=(), body=None,
                 upload=None, view=None):
        """One request; the _Response (raises TransferError on failure).

        body: a small bytes body (PATCH); upload: a PUT's body (a
        memoryview); view: where a GET's body goes.
        """
        c = self._curl
        resp = _Response(view)
        # Every option a request sets is set by every request: the
        # handle (and its connection) is reused from one to the next.
        c.setopt(pycurl.URL, self._base + (path or self.path))
        c.setopt(pycurl.HTTPGET, 1)         # no body, no upload
        if method != 'GET':
            c.setopt(pycurl.CUSTOMREQUEST, method)
        else:
            c.unsetopt(pycurl.CUSTOMREQUEST)
        # libcurl would ask for "100 Continue" before a large body: a
        # round trip per PUT that imageio does not need.
        headers = list(headers) + ['Expect:']
        if upload is not None:
            c.setopt(pycurl.UPLOAD, 1)
            c.setopt(pycurl.INFILESIZE_LARGE, len(upload))
            c.setopt(pycurl.READFUNCTION, _Body(upload).read)
        elif body is not None:
            c.setopt(pycurl.POSTFIELDS, body)
        c.setopt(pycurl.HTTPHEADER, headers)
        c.setopt(pycurl.HEADERFUNCTION, resp.header)
        c.setopt(pycurl.WRITEFUNCTION, resp.write)
        failed = True
        try:
            # Without the GIL; in eventlet mode on an OS thread, so that
            # the hub keeps running.
            compat.call_blocking(c.perform)
            failed = resp.status >= 400
        except pycurl.error as e:
            if resp.status >= 400:
                # Aborted while taking an error's body: the status says more.
                raise self._http_error(method, resp)
            code, message = e.args if len(e.args) == 2 else (0, str(e))
            raise TransferError('imageio %s to %s failed: %s' % (
                method, self.endpoint, message or 'curl error %s' % code))
        finally:
            # Drop the references to this request's buffers and callbacks.
            c.setopt(pycurl.READFUNCTION, _no_body)
            c.setopt(pycurl.HEADERFUNCTION, _ignore)
            c.setopt(pycurl.WRITEFUNCTION, _ignore)
            if failed:
                self._reconnect()
        if resp.status >= 400:
            raise self._http_error(method, resp)
        return resp

    def _reconnect(self):
        """A new connection for the next request: after a failure the
        old one may hold the rest of a body the server did not read."""
        self._curl.close()
        self._curl = self._new_handle(self._scheme)

    @staticmethod
    def _http_error(method, resp):
        detail = resp.text()[:512].decode('utf-8', 'replace')
        return TransferError('imageio %s failed: %s %s %s' % (
            method, resp.status, resp.reason, detail))

    def options(self):
        data = self._perform('OPTIONS').text()
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

    def put(self, offset, view):
        """One PUT of view's bytes (a memoryview) at offset."""
        self._perform('PUT', headers=['Content-Range: bytes %d-%d/*' % (
            offset, offset + len(view) - 1)], upload=view)

    def _patch(self, op):
        self._perform('PATCH', body=json.dumps(op).encode(),
                      headers=['Content-Type: application/json'])

    def zero(self, offset, size):
        self._patch({'op': 'zero', 'offset': offset, 'size': size,
                     'flush': False})

    def flush(self):
        self._patch({'op': 'flush'})

    def extents(self, context='zero'):
        """imageio's extents: ``zero`` (data or zeros) or ``dirty`` (changed
        since the backup's checkpoint, for an incremental backup)."""
        resp = self._perform('GET', path='%s/extents?context=%s' % (
            self.path, context))
        return json.loads(resp.text())

    def read(self, offset, size):
        """The bytes [offset, offset+size), in a new buffer."""
        buf = bytearray(size)
        self.readinto(offset, buf)
        return buf

    def readinto(self, offset, buf):
        """Fill buf with the bytes from offset on (one GET); buf.

        libcurl hands each piece to Python once, and it is copied
        straight into buf: no buffer of its own.
        """
        view = memoryview(buf)
        size = len(view)
        resp = self._perform('GET', headers=[
            'Range: bytes=%d-%d' % (offset, offset + size - 1)], view=view)
        if resp.got != size:
            raise TransferError('imageio GET ended %d bytes early'
                                % (size - resp.got))
        return buf


def _ignore(data):
    return None


def _no_body(n):
    return b''


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
        except TransferError as e:
            client.close()
            errors.append(str(e))
    raise TransferError('no imageio endpoint reachable (%s)'
                        % '; '.join(errors))


class _Source(object):
    """The image stream, read one region at a time by whichever writer is
    free.

    Reads are serialised (a Glance stream comes in order); the writer
    that read a region sends it while another writer reads the next one.
    So the bytes leave from the thread and the buffer that read them,
    still in the CPU cache: when one thread read 16 MiB regions and
    another sent them, the copy into TLS records alone cost 0.17 s per
    512 MiB (``perf``; ``curl``'s: 0.01 s). Zero runs merge across
    regions: a run still open at the end of a region goes with the
    requests of the region where it ends (or the last one).
    """

    def __init__(self, reader, size, chunk):
        self._reader = reader
        self._size = size
        self._chunk = chunk
        self._lock = threading.Lock()
        self._pos = 0
        self._zero = None               # [offset, length] not yet sent
        self.sent = 0                   # bytes sent as data
        self.failed = False             # a writer failed: stop reading

    def next(self, buf):
        """The requests of the next region, read into buf; None at the
        end. Each is (offset, view into buf or None for zeros, length)."""
        with self._lock:
            if self.failed or self._pos >= self._size:
                return None
            start = self._pos
            length = min(len(buf), self._size - start)
            requests = self._read(buf, start, length)
            self._pos = start + length
            if self._pos >= self._size and self._zero:
                requests.append((self._zero[0], None, self._zero[1]))
                self._zero = None
            return requests

    def _read(self, buf, start, length):
        view = memoryview(buf)
        requests = []
        pos = 0
        while pos < length:
            n = read_into(self._reader,
                          view[pos:min(pos + self._chunk, length)],
                          self._chunk)
            if not n:
                raise TransferError('image data ended at %d of %d bytes'
                                    % (start + pos, self._size))
            # Zero runs are found per read, while its bytes are fresh.
            for at, is_zeros, run in zero_runs(buf, pos, pos + n):
                zero = self._zero
                if is_zeros:
                    if zero and zero[0] + zero[1] == start + at:
                        zero[1] += run
                    else:
                        if zero:
                            requests.append((zero[0], None, zero[1]))
                        self._zero = [start + at, run]
                    continue
                if zero:
                    requests.append((zero[0], None, zero[1]))
                    self._zero = None
                last = requests[-1] if requests else None
                if last and last[1] is not None and \
                        last[0] + last[2] == start + at:
                    # The read's first run continues the last one.
                    requests[-1] = (last[0], view[last[0] - start:at + run],
                                    last[2] + run)
                else:
                    requests.append((start + at, view[at:at + run], run))
                self.sent += run
            pos += n
        return requests


def _send(client, request):
    offset, view, length = request
    if view is None:
        client.zero(offset, length)
    else:
        client.put(offset, view)


def _write_regions(client, source, region):
    """A writer: read a region, send it, until the source ends."""
    buf = bytearray(region)
    try:
        while True:
            requests = source.next(buf)
            if requests is None:
                return
            for request in requests:
                _send(client, request)
            del requests
    except BaseException:
        source.failed = True
        raise


def upload(client, reader, size, chunk=BLOCK):
    """Write reader's size bytes over up to ``max_writers`` connections.

    The request pattern of ovirt-imageio's own client: each writer owns a
    connection, every data run of a region goes as one PUT with its
    Content-Range, zero runs as one ``zero`` request each (merged across
    reads and regions), and one flush at the end. imageio needs a
    Content-Length and a Glance stream has no extents, so a run's length
    is known once its bytes are read: each writer reads a REGION into its
    own reused buffer (chunk bytes per read, the source shared under a
    lock), then sends it while another writer reads. This thread is the
    first writer. Returns the bytes sent as data.
    """
    count = client.workers('max_writers', MAX_WRITERS)
    source = _Source(reader, size, chunk)
    region = max(1, min(REGION, size))
    errors = []
    clones = []
    threads = []

    def run(conn):
        try:
            _write_regions(conn, source, region)
        except BaseException as e:
            errors.append(e)

    try:
        for _ in range(count - 1):
            clones.append(client.clone())
        for conn in clones:
            thread = threading.Thread(target=run, args=(conn,), daemon=True)
            thread.start()
            threads.append(thread)
        _write_regions(client, source, region)
    except BaseException:
        source.failed = True
        raise
    finally:
        for thread in threads:
            thread.join()
        for conn in clones:
            conn.close()
    if errors:
        raise errors[0]
    client.flush()
    return source.sent


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
