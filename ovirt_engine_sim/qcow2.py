"""Reading qcow2 images from their bytes: the header and the guest data.

The simulator stores what a disk's guest sees. An upload in the ``cow``
format sends a qcow2 *file*, so the simulator has to read it the way
qemu would: the header (magic, version, virtual size, cluster size,
backing file) and the two-level cluster table (L1 -> L2 -> data
clusters, with v3 zero clusters and zlib-compressed clusters). Layout
from qemu's docs/interop/qcow2.txt (QEMU's "qcow2 Image File Format").

Not for writing qcow2, encryption, external data files or zstd
compression: such an image is rejected with Qcow2Error.
"""

import collections
import struct
import zlib

MAGIC = b'QFI\xfb'
# Bytes 0-71 (version 2) and 72-103 (version 3 additions).
_V2 = struct.Struct('>4sIQIIQIIQQIIQ')
_V3 = struct.Struct('>QQQII')
_OFFSET_MASK = 0x00fffffffffffe00        # bits 9-55 of L1/L2 entries
_COMPRESSED = 1 << 62
_ZERO = 1                                # v3 "reads as zeros" flag of an L2 entry
_INCOMPAT_DATA_FILE = 1 << 2
_INCOMPAT_COMPRESSION = 1 << 3

Header = collections.namedtuple('Header', (
    'version', 'size', 'cluster_bits', 'cluster_size', 'backing_file',
    'l1_size', 'l1_offset', 'crypt_method', 'compat'))


class Qcow2Error(ValueError):
    """The bytes are not a qcow2 image this reader can read."""


def is_qcow2(head):
    """True when bytes start with the qcow2 magic."""
    return head[:4] == MAGIC


def detect(read):
    """'qcow2' or 'raw', from the first bytes (what ``qemu-img info`` probes)."""
    return 'qcow2' if is_qcow2(read(0, 4)) else 'raw'


def read_header(read):
    """The header of an image; read(offset, size) returns its bytes."""
    raw = read(0, _V2.size + _V3.size)
    if len(raw) < _V2.size or not is_qcow2(raw):
        raise Qcow2Error('not a qcow2 image (no QFI\\xfb magic)')
    (_, version, backing_offset, backing_size, cluster_bits, size, crypt,
     l1_size, l1_offset, _, _, _, _) = _V2.unpack_from(raw)
    if version not in (2, 3):
        raise Qcow2Error('unsupported qcow2 version %d' % version)
    if not 9 <= cluster_bits <= 21:
        raise Qcow2Error('invalid cluster bits %d' % cluster_bits)
    if version == 3:
        incompatible = _V3.unpack_from(raw, _V2.size)[0]
        if incompatible & _INCOMPAT_DATA_FILE:
            raise Qcow2Error('external data files are not supported')
        if incompatible & _INCOMPAT_COMPRESSION:
            raise Qcow2Error('only zlib compression is supported')
    backing = None
    if backing_offset:
        backing = read(backing_offset, backing_size).decode('utf-8', 'replace')
    return Header(version=version, size=size, cluster_bits=cluster_bits,
                  cluster_size=1 << cluster_bits, backing_file=backing,
                  l1_size=l1_size, l1_offset=l1_offset, crypt_method=crypt,
                  compat='0.10' if version == 2 else '1.1')


def _entries(read, offset, count):
    data = read(offset, 8 * count)
    if len(data) < 8 * count:
        raise Qcow2Error('table at %d is cut short' % offset)
    return struct.unpack('>%dQ' % count, data)


def clusters(read, header=None):
    """Yield (guest offset, bytes) of every cluster holding data.

    Unallocated and zero clusters are skipped: they read as zeros (the
    image has no backing file to fall through to, see guest_data()).
    """
    h = header or read_header(read)
    if h.crypt_method:
        raise Qcow2Error('encrypted images are not supported')
    per_l2 = h.cluster_size // 8
    for l1_index, l1 in enumerate(_entries(read, h.l1_offset, h.l1_size)):
        l2_offset = l1 & _OFFSET_MASK
        if not l2_offset:
            continue
        for l2_index, l2 in enumerate(_entries(read, l2_offset, per_l2)):
            guest = (l1_index * per_l2 + l2_index) * h.cluster_size
            if guest >= h.size:
                return
            length = min(h.cluster_size, h.size - guest)
            if l2 & _COMPRESSED:
                yield guest, _compressed(read, h, l2)[:length]
                continue
            host = l2 & _OFFSET_MASK
            if not host or (h.version == 3 and l2 & _ZERO):
                continue
            data = read(host, length)
            yield guest, data.ljust(length, b'\0')


def _compressed(read, h, entry):
    # Descriptor: host offset in the low x bits, then the count of extra
    # 512-byte sectors (x = 62 - (cluster_bits - 8)).
    x = 62 - (h.cluster_bits - 8)
    offset = entry & ((1 << x) - 1)
    sectors = ((entry >> x) & ((1 << (h.cluster_bits - 8)) - 1)) + 1
    size = sectors * 512 - (offset & 511)
    try:
        out = zlib.decompressobj(-12).decompress(read(offset, size), h.cluster_size)
    except zlib.error as e:
        raise Qcow2Error('corrupt compressed cluster at %d: %s' % (offset, e))
    return out.ljust(h.cluster_size, b'\0')


def guest_data(read):
    """(header, iterator of (offset, bytes)) of a standalone qcow2 image."""
    h = read_header(read)
    if h.backing_file:
        raise Qcow2Error('image has a backing file (%s)' % h.backing_file)
    return h, clusters(read, h)
