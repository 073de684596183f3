"""Disk backing storage: a chain of copy-on-write layers (like qcow2 volumes).

Each layer is a sparse file under ``state_dir/images`` plus an in-memory map
of the ranges it defines ('data' or 'zero'). Ranges a layer does not define
are read from its base layer; a layer without base reads as zeros. A thin
clone of a template disk is a new empty layer on the template's layer, so it
copies no bytes; a VM snapshot freezes the disk's top layer and puts a new
one above it; a download of a disk snapshot reads that frozen layer.
"""

import os

from ovirt_engine_sim.compat import threading

CHUNK = 1024 * 1024
_ZEROS = bytes(CHUNK)


def _all_zero(data):
    """memcmp against zeros, stopping at the first data byte (cheap for
    data, ~0.1 s per GiB of zeros; ``count(0)`` reads every byte)."""
    pos = 0
    while pos < len(data):
        n = min(CHUNK, len(data) - pos)
        if not data.startswith(_ZEROS if n == CHUNK else _ZEROS[:n], pos):
            return False
        pos += n
    return True


def _zero_fill(view):
    pos = 0
    while pos < len(view):
        n = min(CHUNK, len(view) - pos)
        view[pos:pos + n] = _ZEROS if n == CHUNK else _ZEROS[:n]
        pos += n


class Layer(object):
    def __init__(self, layer_id, path, size, base=None):
        self.id = layer_id
        self.path = path
        self.size = size
        self.base = base
        self.ranges = []  # sorted, non-overlapping [start, end, kind]
        self.lock = threading.Lock()
        self._fd = None
        self.on_write = None   # callback(layer_id, start, end): dirty.py
        if not os.path.exists(path):
            open(path, 'wb').close()

    def _file(self):
        # One descriptor per layer: pread/pwrite need no seek, so no lock.
        if self._fd is None:
            fd = os.open(self.path, os.O_RDWR)
            with self.lock:
                if self._fd is None:
                    self._fd, fd = fd, None
            if fd is not None:
                os.close(fd)
        return self._fd

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- range bookkeeping -------------------------------------------------

    def _mark(self, start, end, kind):
        if end <= start:
            return
        out = []
        for s, e, k in self.ranges:
            if e <= start or s >= end:
                out.append([s, e, k])
                continue
            if s < start:
                out.append([s, start, k])
            if e > end:
                out.append([end, e, k])
        out.append([start, end, kind])
        out.sort()
        merged = []
        for r in out:
            if merged and merged[-1][1] == r[0] and merged[-1][2] == r[2]:
                merged[-1][1] = r[1]
            else:
                merged.append(r)
        self.ranges = merged

    def allocated(self):
        """Bytes of data stored in this layer alone."""
        return sum(e - s for s, e, k in self.ranges if k == 'data')

    def _pieces(self, start, end):
        """Split [start, end) into (s, e, kind) with kind None = inherited."""
        pos = start
        for s, e, k in self.ranges:
            if e <= pos:
                continue
            if s >= end:
                break
            if s > pos:
                yield pos, s, None
            yield max(s, pos), min(e, end), k
            pos = min(e, end)
        if pos < end:
            yield pos, end, None

    # -- I/O -----------------------------------------------------------------

    def write(self, offset, data):
        """Write bytes; all-zero chunks are recorded as zero (kept sparse)."""
        if not data:
            return
        if _all_zero(data):
            with self.lock:
                self._mark(offset, offset + len(data), 'zero')
            self._written(offset, offset + len(data))
            return
        os.pwrite(self._file(), data, offset)
        with self.lock:
            self._mark(offset, offset + len(data), 'data')
        self._written(offset, offset + len(data))

    def zero(self, offset, size):
        with self.lock:
            self._mark(offset, offset + size, 'zero')
        self._written(offset, offset + size)

    def _written(self, start, end):
        if self.on_write is not None:
            self.on_write(self.id, start, end)

    def read(self, offset, size):
        """Read size bytes of the flattened chain (small ranges only)."""
        end = min(offset + size, self.size)
        parts = []
        for s, e, k in self._pieces(offset, end):
            if k == 'data':
                parts.append(os.pread(self._file(), e - s, s).ljust(
                    e - s, b'\0'))
            elif k == 'zero' or self.base is None:
                parts.append(bytes(e - s))
            else:
                # The base may be smaller than this layer (a grown disk).
                got = self.base.read(s, e - s) if s < self.base.size else b''
                parts.append(got.ljust(e - s, b'\0'))
        return parts[0] if len(parts) == 1 else b''.join(parts)

    def read_into(self, offset, view):
        """Fill view with the flattened content from offset on (what an
        imageio GET sends: one reused buffer, no bytes object per read).
        Beyond the end reads as zeros."""
        view = memoryview(view)
        end = offset + len(view)
        for s, e, k in self._pieces(offset, min(end, self.size)):
            part = view[s - offset:e - offset]
            if k == 'data':
                got = os.preadv(self._file(), [part], s)
                _zero_fill(part[got:])
            elif k == 'zero' or self.base is None or s >= self.base.size:
                _zero_fill(part)
            else:
                # The base may be smaller than this layer (a grown disk).
                self.base.read_into(s, part)
        if end > self.size:
            _zero_fill(view[max(0, self.size - offset):])

    def iter_read(self, offset, size, chunk=4 * CHUNK):
        """Yield the flattened content in chunks (streams, bounded memory)."""
        end = min(offset + size, self.size)
        pos = offset
        while pos < end:
            n = min(chunk, end - pos)
            yield self.read(pos, n)
            pos += n

    def extents(self):
        """Flattened zero extents, in the imageio JSON shape."""
        flat = self._flat(0, self.size)
        out = []
        for s, e, k in flat:
            zero = k != 'data'
            hole = k is None
            if out and out[-1]['zero'] == zero and out[-1]['hole'] == hole:
                out[-1]['length'] += e - s
            else:
                out.append({'start': s, 'length': e - s, 'zero': zero, 'hole': hole})
        return out

    def _flat(self, start, end):
        res = []
        for s, e, k in self._pieces(start, end):
            if k is None and self.base is not None:
                res.extend(self.base._flat(s, min(e, self.base.size)))
                if e > self.base.size:
                    res.append((max(s, self.base.size), e, None))
            else:
                res.append((s, e, k))
        return res

    def data_bytes(self):
        """Bytes of data in the flattened chain."""
        return sum(e - s for s, e, k in self._flat(0, self.size) if k == 'data')


class VolumeStore(object):
    """Layers by id, with files under directory."""

    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.layers = {}
        self.lock = threading.Lock()
        self.on_write = None   # callback(layer_id, start, end) of every layer

    def _written(self, layer_id, start, end):
        if self.on_write is not None:
            self.on_write(layer_id, start, end)

    def create(self, layer_id, size, base=None):
        path = os.path.join(self.directory, '%s.img' % layer_id)
        layer = Layer(layer_id, path, size, base)
        layer.on_write = self._written
        with self.lock:
            self.layers[layer_id] = layer
        return layer

    def get(self, layer_id):
        return self.layers.get(layer_id)

    def copy(self, layer_id, src):
        """Full copy (flatten) of src into a new layer; returns (layer, bytes)."""
        dst = self.create(layer_id, src.size)
        copied = 0
        for s, e, k in src._flat(0, src.size):
            if k != 'data':
                if k == 'zero':
                    dst.zero(s, e - s)
                continue
            pos = s
            while pos < e:
                n = min(CHUNK, e - pos)
                dst.write(pos, src.read(pos, n))
                pos += n
                copied += n
        return dst, copied

    def delete(self, layer_id):
        with self.lock:
            layer = self.layers.pop(layer_id, None)
        # A layer other layers still build on stays on disk (its file is
        # needed by the chain); only unreferenced files are deleted.
        if layer is not None and not any(other.base is layer for other in self.layers.values()):
            layer.close()
            try:
                os.unlink(layer.path)
            except OSError:
                pass
