"""The ovirt-imageio data protocol on /images/<ticket> (HTTPS, same port).

OPTIONS, PUT (optional Content-Range), GET (optional Range), PATCH with JSON
{"op": "zero"|"flush"}, and GET /images/<ticket>/extents. Data is streamed
to and from the disk's backing layer in 1 MiB chunks.
"""

import json
import re

from ovirtsdk4 import types

from ovirt_engine_sim.compat import threading
from ovirt_engine_sim.volumes import CHUNK

_RANGE = re.compile(r'^bytes=(\d*)-(\d*)$')
_CONTENT_RANGE = re.compile(r'^bytes (\d+)-(\d+)/(\d+|\*)$')


def _body_into(h, size, buf):
    """Yield a Content-Length body piece by piece, each read into buf.

    The same buffer serves every piece (the caller writes each before
    asking for the next): no allocation per piece, and a 1 MiB piece
    stays in the CPU cache between the TLS read and the disk write.
    Measured against a fresh 4 MiB piece each: 0.6 instead of 0.8-0.9 s
    of simulator CPU per 512 MiB of two-writer uploads, 0.6 instead of
    0.65 for one curl PUT.

    What the header parsing left in ``rfile``'s buffer comes first; the
    rest is read from the TLS socket itself, one record per call: through
    ``rfile`` each record took two more Python frames (``BufferedReader``
    over ``SocketIO``), which with two writers' connections fighting over
    this process's GIL made the simulator the upload's bottleneck.
    """
    view = memoryview(buf)
    left = size
    while left > 0:
        fill = 0
        want = min(len(buf), left)
        while fill < want:
            if fill == 0 and left == size:
                n = h.rfile.readinto1(view[:want])    # the buffered part
            else:
                n = h.connection.recv_into(view[fill:want])
            if not n:
                raise ConnectionError('client went away')
            fill += n
        left -= fill
        yield buf if fill == len(buf) else bytes(view[:fill])


_local = threading.local()


def _get_buffer():
    """The data buffer of this connection's thread, made once, for GETs
    and PUTs alike: a new 1 MiB bytearray per request cost the simulator
    0.1 s of CPU per 512 MiB read in 4 MiB ranges (its pages faulted in
    each time), and as much for 4 MiB PUTs."""
    buf = getattr(_local, 'get_buffer', None)
    if buf is None:
        buf = _local.get_buffer = bytearray(CHUNK)
    return buf


def _read_into(layer, offset, size, buf):
    """Yield [offset, offset+size) of layer piece by piece, each read
    into buf (a view of it): the GET's counterpart of _body_into. A
    reused 1 MiB buffer instead of a new 4 MiB bytes per read: no page
    faults per read, and the piece is still in the CPU cache when TLS
    encrypts it."""
    view = memoryview(buf)
    pos, end = offset, offset + size
    while pos < end:
        n = min(len(buf), end - pos)
        piece = view[:n]
        layer.read_into(pos, piece)
        yield piece
        pos += n


class Abort(Exception):
    """Drop the connection without an answer (injected transfer failure)."""


class ImageIO(object):
    def __init__(self, engine, store, counter, faults):
        self.engine = engine
        self.store = store
        self.counter = counter
        self.faults = faults
        self.moved = 0   # bytes moved since the last fail_transfer_after()

    def _ticket(self, ticket_id):
        with self.store.lock:
            self.store.tick()
            it = self.engine.tickets.get(ticket_id)
            if it is None or it.phase != types.ImageTransferPhase.TRANSFERRING:
                return None
            return it

    def handle(self, h, method, path, query):
        parts = [p for p in path.split('/') if p]
        if len(parts) < 2 or len(parts) > 3 or (len(parts) == 3 and parts[2] != 'extents'):
            return h.send_text(404, 'No such resource: %s' % path)
        it = self._ticket(parts[1])
        if it is None:
            # imageio answers unknown or expired tickets with 403.
            return h.send_text(403, 'You are not allowed to access this resource: '
                                    'No such ticket %s' % parts[1])
        layer = it._sim_layer
        upload = it.direction == types.ImageTransferDirection.UPLOAD
        if len(parts) == 3:
            if method != 'GET':
                return h.send_text(405, 'Method not allowed')
            with self.store.lock:
                extents = self.engine.transfer_extents(it, query.get('context', 'zero'))
            if extents is None:
                return h.send_text(404, 'Dirty extents are not available')
            return h.send_json(200, extents)
        if method == 'OPTIONS':
            return h.send_json(200, {
                'unix_socket': None,
                'features': ['extents', 'zero', 'flush'] if upload else ['extents'],
                'max_readers': 8, 'max_writers': 8 if upload else 0},
                extra={'Allow': 'OPTIONS,GET,PUT,PATCH' if upload else 'OPTIONS,GET'})
        if method == 'GET':
            return self._get(h, it, layer)
        if not upload:
            return h.send_text(403, 'You are not allowed to access this resource: '
                                    'ticket does not allow %s' % method)
        if method == 'PUT':
            return self._put(h, it, layer)
        if method == 'PATCH':
            return self._patch(h, it, layer)
        return h.send_text(405, 'Method not allowed')

    def _account(self, n, it, uploaded):
        with self.store.lock:
            it.transferred = (it.transferred or 0) + n
        self.counter.add_bytes(uploaded=n if uploaded else 0,
                               downloaded=0 if uploaded else n)
        limit = self.faults.transfer_fail_after
        self.moved += n
        if limit is not None and self.moved >= limit:
            raise Abort()

    def _allowance(self):
        """Bytes left before an injected transfer failure, or None."""
        limit = self.faults.transfer_fail_after
        return None if limit is None else max(0, limit - self.moved)

    def _put(self, h, it, layer):
        length = h.headers.get('Content-Length')
        chunked = 'chunked' in (h.headers.get('Transfer-Encoding') or '').lower()
        offset = 0
        cr = h.headers.get('Content-Range')
        if cr:
            m = _CONTENT_RANGE.match(cr.strip())
            if not m:
                return h.send_text(400, 'Invalid Content-Range: %s' % cr)
            offset = int(m.group(1))
        if length is None and not chunked:
            return h.send_text(411, 'Content-Length required')
        size = int(length) if length is not None else None
        if size is not None and offset + size > layer.size:
            h.discard_body(size)
            return h.send_text(416, 'Requested range not satisfiable: %d-%d > %d'
                               % (offset, offset + size, layer.size))
        pos = offset
        if chunked:
            pieces = h.iter_body(size, chunked, CHUNK)
        else:
            pieces = _body_into(h, size, _get_buffer())
        for chunk in pieces:
            if pos + len(chunk) > layer.size:
                return h.send_text(416, 'Write beyond end of image')
            layer.write(pos, chunk)
            pos += len(chunk)
            self._account(len(chunk), it, True)
        return h.send_text(200, '')

    def _patch(self, h, it, layer):
        try:
            msg = json.loads(h.read_body().decode('utf-8') or '{}')
        except ValueError as e:
            return h.send_text(400, 'Invalid JSON: %s' % e)
        op = msg.get('op')
        if op == 'flush':
            return h.send_text(200, '')
        if op == 'zero':
            offset = int(msg.get('offset', 0))
            size = int(msg.get('size', 0))
            if offset + size > layer.size:
                return h.send_text(416, 'Zero beyond end of image')
            layer.zero(offset, size)
            return h.send_text(200, '')
        return h.send_text(400, 'Unsupported operation: %r' % op)

    @staticmethod
    def _unavailable(h, requested, available):
        h.send_body(416, 'Requested more bytes than available: %d > %d'
                    % (requested, available), 'text/plain; charset=utf-8',
                    {'Content-Range': 'bytes */%d' % available})

    def _get(self, h, it, layer):
        start, end = 0, layer.size - 1
        status = 200
        rng = h.headers.get('Range')
        if rng:
            m = _RANGE.match(rng.strip())
            if not m or (not m.group(1) and not m.group(2)):
                return h.send_text(416, 'Invalid range: %s' % rng)
            if not m.group(1):
                # imageio serves no suffix range ("bytes=-N").
                return h.send_text(416, 'suffix-byte-range-spec not '
                                   'supported yet')
            start = int(m.group(1))
            if m.group(2):
                end = int(m.group(2))
            # Like imageio, a range past the image's end is refused whole
            # (a generic server would send what there is).
            if end >= layer.size:
                return self._unavailable(h, end + 1, layer.size)
            if start > end:
                return h.send_text(416, 'Requested range not satisfiable')
            status = 206
        length = end - start + 1
        h.send_response(status)
        h.send_header('Content-Type', 'application/octet-stream')
        h.send_header('Content-Length', str(length))
        if status == 206:
            h.send_header('Content-Range', 'bytes %d-%d/%d' % (start, end, layer.size))
        h.end_headers()
        for chunk in _read_into(layer, start, length, _get_buffer()):
            allowed = self._allowance()
            if allowed is not None and allowed < len(chunk):
                # An injected failure cuts the stream at its byte count,
                # whatever the read size.
                h.wfile.write(chunk[:allowed])
                h.wfile.flush()
                self._account(allowed, it, False)
                raise Abort()
            h.wfile.write(chunk)
            self._account(len(chunk), it, False)
