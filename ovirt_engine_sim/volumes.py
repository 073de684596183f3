"""Disk backing storage: a chain of copy-on-write layers (like qcow2 volumes).

Each layer is a sparse file under ``state_dir/images`` plus an in-memory map
of the ranges it defines ('data' or 'zero'). Ranges a layer does not define
are read from its base layer; a layer without base reads as zeros. A thin
clone of a template disk is a new empty layer on the template's layer, so it
copies no bytes; a VM snapshot freezes the disk's top layer and puts a new
one above it; a download of a disk snapshot reads that frozen layer.
"""

import json
import os
import subprocess
import tempfile

from ovirt_engine_sim.compat import threading

CHUNK = 1024 * 1024
QCOW2_MAGIC = b'QFI\xfb'
_ZEROS = bytes(CHUNK)


class Layer(object):
    def __init__(self, layer_id, path, size, base=None):
        self.id = layer_id
        self.path = path
        self.size = size
        self.base = base
        self.ranges = []  # sorted, non-overlapping [start, end, kind]
        self.lock = threading.Lock()
        if not os.path.exists(path):
            open(path, 'wb').close()

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
        if data.count(0) == len(data):
            with self.lock:
                self._mark(offset, offset + len(data), 'zero')
            return
        with self.lock:
            with open(self.path, 'r+b') as f:
                f.seek(offset)
                f.write(data)
            self._mark(offset, offset + len(data), 'data')

    def zero(self, offset, size):
        with self.lock:
            self._mark(offset, offset + size, 'zero')

    def read(self, offset, size):
        """Read size bytes of the flattened chain (small ranges only)."""
        end = min(offset + size, self.size)
        parts = []
        for s, e, k in self._pieces(offset, end):
            if k == 'data':
                with open(self.path, 'rb') as f:
                    f.seek(s)
                    parts.append(f.read(e - s).ljust(e - s, b'\0'))
            elif k == 'zero' or self.base is None:
                parts.append(bytes(e - s))
            else:
                # The base may be smaller than this layer (a grown disk).
                got = self.base.read(s, e - s) if s < self.base.size else b''
                parts.append(got.ljust(e - s, b'\0'))
        return b''.join(parts)

    def qcow2_to_guest_data(self):
        """Replace an uploaded qcow2 file by the guest data it holds.

        A ``cow`` image transfer carries a qcow2 file; the engine's volume
        is that file and imageio serves its guest view in ``raw``
        transfers. Layers here hold guest data, so the file is converted
        once, at the end of the upload, with qemu-img. Anything that is
        not a qcow2 file without a backing file stays as it came.
        """
        if self.read(0, 4) != QCOW2_MAGIC:
            return False
        with tempfile.TemporaryDirectory(prefix='sim-cow-') as tmp:
            src = os.path.join(tmp, 'upload.qcow2')
            dst = os.path.join(tmp, 'guest.raw')
            with self.lock:
                pieces = [(s, e) for s, e, k in self.ranges if k == 'data']
            with open(src, 'wb') as f:
                for start, end in pieces:
                    f.seek(start)
                    f.write(self.read(start, end - start))
            try:
                info = json.loads(subprocess.run(
                    ['qemu-img', 'info', '--output=json', '-f', 'qcow2', src],
                    check=True, capture_output=True, timeout=60).stdout)
                if info.get('backing-filename'):
                    return False
                subprocess.run(['qemu-img', 'convert', '-f', 'qcow2', '-O',
                                'raw', src, dst], check=True,
                               capture_output=True, timeout=300)
            except (OSError, ValueError, subprocess.SubprocessError):
                return False
            self.zero(0, self.size)
            with open(dst, 'rb') as f:
                pos = 0
                for block in iter(lambda: f.read(CHUNK), b''):
                    self.write(pos, block[:max(0, self.size - pos)])
                    pos += len(block)
        return True

    def iter_read(self, offset, size, chunk=CHUNK):
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

    def create(self, layer_id, size, base=None):
        path = os.path.join(self.directory, '%s.img' % layer_id)
        layer = Layer(layer_id, path, size, base)
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
        if layer is not None and not any(l.base is layer for l in self.layers.values()):
            try:
                os.unlink(layer.path)
            except OSError:
                pass
