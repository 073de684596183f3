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

Uploads move the way ovirt-imageio's own client moves them: several
connections (as many as imageio's OPTIONS offers, up to ``MAX_WRITERS``)
over disjoint regions, one PUT per data run of a region, zero runs sent
as ``zero`` requests, and reading the source overlapping with the wire.
Downloads skip holes and zeros through ``/extents`` and stream each data
range in one GET, read by a thread of its own ahead of the consumer.
Memory stays bounded by the buffers in flight.
"""

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
# Bytes of one read from an upload's source (zero runs are found per read
# while its bytes are still in the CPU cache), and of one buffer of a
# download: big enough that the per-buffer work is small against its
# bytes, small enough that what is in flight stays bounded.
CHUNK = 4 * 1024 * 1024
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

    A successful answer's body goes to ``sink`` (a GET's consumer) when
    one is given, else into a list (an OPTIONS or extents answer); an
    error's goes into the list (the start of its text). ``status`` and
    ``reason`` come from the status line: a ``getinfo`` is not allowed
    inside a transfer.
    """

    __slots__ = ('status', 'reason', 'sink', 'parts')

    def __init__(self, sink=None):
        self.status = 0
        self.reason = ''
        self.sink = sink
        self.parts = []

    def header(self, line):
        if line.startswith(b'HTTP/'):
            # A new status line (after a 100 Continue, say): start over.
            fields = line.split(None, 2)
            self.status = int(fields[1]) if len(fields) > 1 else 0
            self.reason = (fields[2].decode('latin-1').strip()
                           if len(fields) > 2 else '')

    def write(self, data):
        if self.status >= 300:
            # An error's text, for the message: its start is enough.
            if sum(len(p) for p in self.parts) < _MAX_TEXT:
                self.parts.append(data)
            return None
        if self.sink is None:
            self.parts.append(data)     # OPTIONS, extents: all of it
            return None
        return self.sink(data)

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
    copied straight into a download's chunk buffer. Before, ``http.client``
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
                 upload=None, sink=None, native=False):
        """One request; the _Response (raises TransferError on failure).

        body: a small bytes body (PATCH); upload: a PUT's body (a
        memoryview); sink: what takes a GET's body, piece by piece (see
        :class:`_Response`); native: the caller is an OS thread of its
        own in either concurrency mode (see :func:`stream_runs`).
        """
        c = self._curl
        resp = _Response(sink)
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
            if native:
                c.perform()
            else:
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

    def writers(self):
        """Upload connections to use: what OPTIONS offers
        (``max_writers``), at most MAX_WRITERS."""
        try:
            offered = int(self.features.get('max_writers') or 1)
        except (TypeError, ValueError):
            offered = 1
        return max(1, min(MAX_WRITERS, offered))

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

    def stream(self, offset, length, write):
        """One GET of [offset, offset+length): write(piece) takes the body
        as it arrives, one TLS record at a time (returning 0 aborts).

        Called on an OS thread of its own (see :func:`stream_runs`), where
        libcurl may block directly in either concurrency mode.
        """
        self._perform('GET', headers=['Range: bytes=%d-%d' % (
            offset, offset + length - 1)], sink=write, native=True)


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
    count = client.writers()
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


def data_ranges(client, size):
    """(offset, length, zero) ranges of the disk, neighbours of one kind
    merged.

    From imageio's ``/extents``: holes and zero ranges are never read.
    """
    try:
        extents = client.extents()
    except TransferError:
        extents = [{'start': 0, 'length': size, 'zero': False}]
    ranges = []

    def add(start, length, zero):
        last = ranges[-1] if ranges else None
        if last and last[2] == zero and last[0] + last[1] == start:
            ranges[-1] = (last[0], last[1] + length, zero)
        else:
            ranges.append((start, length, zero))

    pos = 0
    for ext in extents:
        start = max(ext['start'], pos)
        end = min(ext['start'] + ext['length'], size)
        if start >= end:
            continue
        if start > pos:
            add(pos, start - pos, False)    # a gap in the extents: read it
        add(start, end - start, bool(ext.get('zero')))
        pos = end
    if pos < size:
        add(pos, size - pos, False)
    return ranges


# Chunk buffers of one download: the reader fills one while the consumer
# holds one, and two wait in between (16 MiB in all).
STREAM_BUFFERS = 4
# Tokens on the free queue besides buffers.
_NEW = object()                 # allocate a buffer (the consumer keeps it)
_STOP = object()                # the consumer is gone: abort


class _Chunker(object):
    """One streamed GET's body cut into chunk buffers, in libcurl's write
    callback on the reader's thread: it waits there for a free buffer (so
    the consumer's pace bounds memory) and hands each full one over."""

    def __init__(self, stream, offset):
        self._stream = stream
        self._offset = offset           # of the buffer being filled
        self._buf = None
        self._view = None
        self._fill = 0
        self.got = 0

    def write(self, data):
        n = len(data)
        pos = 0
        while pos < n:
            if self._buf is None:
                self._buf = self._stream.take()
                if self._buf is None:
                    return 0            # stopped: abort the GET
                self._view = memoryview(self._buf)
                self._fill = 0
            take = min(n - pos, len(self._buf) - self._fill)
            piece = data if take == n else memoryview(data)[pos:pos + take]
            self._view[self._fill:self._fill + take] = piece
            self._fill += take
            pos += take
            if self._fill == len(self._buf):
                self.hand()
        self.got += n
        return None

    def hand(self):
        """Hand the buffer over, full or (at the range's end) not."""
        if self._buf is not None and self._fill:
            self._view.release()
            self._stream.put((self._offset, self._buf, self._fill))
            self._offset += self._fill
            self._buf = None


class _Stream(object):
    """A download's runs, read by one OS thread and handed to the caller.

    One GET per data range streams the bytes the way a single ``curl``
    does: no request per chunk and no wait between them. libcurl's write
    callback copies each TLS record into a chunk buffer and hands the full
    ones over. One reader is as fast as four on one disk and spends less
    CPU: several readers only fought over the GIL, one callback per 16 KiB
    record each (measured in doc/source/performance.rst).

    The reader blocks in libcurl and in the hand-over, so it is an OS
    thread in both concurrency modes, and the queues are native ones; the
    caller, maybe a green thread, waits on them through
    :func:`compat.call_blocking`. The reader never logs.
    """

    def __init__(self, client, ranges, chunk, reuse):
        self._client = client
        self._ranges = ranges
        self._chunk = chunk
        self._reuse = reuse
        self._ready = compat.native_queue()
        self._free = compat.native_queue()
        for _ in range(STREAM_BUFFERS):
            self._free.put(bytearray(chunk) if reuse else _NEW)
        self._stopped = False

    # -- the reader's side

    def take(self):
        """A buffer to fill; None once the caller is gone."""
        token = self._free.get()
        if token is _STOP or self._stopped:
            return None
        return bytearray(self._chunk) if token is _NEW else token

    def put(self, item):
        self._ready.put(item)

    def _read(self):
        try:
            for offset, length, zero in self._ranges:
                if self._stopped:
                    return
                if zero:
                    self.put((offset, None, length))
                    continue
                chunker = _Chunker(self, offset)
                self._client.stream(offset, length, chunker.write)
                if chunker.got != length:
                    raise TransferError('imageio GET ended %d bytes early'
                                        % (length - chunker.got))
                chunker.hand()
        except BaseException as e:
            self.put(e)
        else:
            self.put(None)

    # -- the caller's side

    def runs(self):
        reader = compat.start_native_daemon(self._read, 'imageio-reader')
        try:
            while True:
                item = compat.call_blocking(self._ready.get)
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                offset, buf, length = item
                if buf is None:
                    yield item
                    continue
                yield offset, (buf if length == len(buf)
                               else memoryview(buf)[:length]), length
                # The consumer asked for the next run: buf is free again.
                self._free.put(buf if self._reuse else _NEW)
        finally:
            self._stopped = True
            self._free.put(_STOP)
            compat.call_blocking(reader.join)


def stream_runs(client, ranges, chunk=CHUNK, reuse=True):
    """Yield (offset, data or None, length) of ranges in order; None: zeros.

    ranges: (offset, length, zero) in the order wanted. With ``reuse``
    (what the snapshot file and the warm-move copy want) data is a buffer
    valid until the next run is asked for: the buffers go round, so
    nothing is allocated per chunk (a fresh 4 MiB buffer is 1,024 page
    faults to fill) and memory stays at STREAM_BUFFERS chunks whatever the
    size. Data runs are at most chunk bytes.
    """
    return _Stream(client, list(ranges), chunk, reuse).runs()


def download_runs(client, size, chunk=CHUNK, reuse=True):
    """The runs of the whole disk (see :func:`stream_runs`)."""
    return stream_runs(client, data_ranges(client, size), chunk, reuse)


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
