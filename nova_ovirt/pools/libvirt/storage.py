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

"""Storage on one host: the libvirt storage pool, its volumes, streams.

Every byte goes through libvirt streams (``virStorageVol.upload`` and
``download``), never through the local filesystem, so a host behind
``qemu+tls://`` works exactly like a local one.
"""

import collections
import sys

import libvirt
from oslo_log import log as logging

from nova_ovirt import compat
from nova_ovirt.pools.libvirt import config
from nova_ovirt.pools.libvirt import errors

LOG = logging.getLogger(__name__)

CHUNK = 1024 * 1024
# Zero detection granularity of uploads: Glance hands over 64 KiB pieces,
# and a run of zeros that long is worth a hole (file systems allocate in
# 4 KiB blocks).
HOLE_BLOCK = 64 * 1024
_ZEROS = bytes(HOLE_BLOCK)
# Bytes asked of libvirt per receive: the data of one stream message
# (libvirtd sends no more per message, so asking more brings nothing);
# libvirt-python allocates and clears a buffer of the size asked on every
# call, which made 1 MiB receives cost 1.6 times the CPU.
RECV_CHUNK = getattr(libvirt.virStorageVol, 'streamBufSize', 262120)
# Bytes per libvirt send: one stream message of libvirt's own payload size
# (262120, what virStreamSendAll, hence virsh, sends). Messages of 256 KiB
# (262144 bytes) cost libvirtd twice the CPU per GiB, nearly all of it in
# copying each message into the volume's page cache; 1 MiB ones more yet,
# 64 KiB ones a Python call each.
SEND_CHUNK = RECV_CHUNK
# Data moved per blocking call: in eventlet mode each call is a hop to a
# native thread (~0.1 ms), so a few messages travel per hop.
BATCH = 1024 * 1024

_UPLOAD_SPARSE = getattr(libvirt, 'VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM', 0)
_DOWNLOAD_SPARSE = getattr(libvirt, 'VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM',
                           0)
_STOP_AT_HOLE = getattr(libvirt, 'VIR_STREAM_RECV_STOP_AT_HOLE', 0)
_RECV_AT_HOLE = -3   # what recvFlags returns at a hole (STOP_AT_HOLE)


def _is_zero(data, start, end):
    """data[start:end] all zeros? A memcmp that stops at the first data
    byte: free for data, ~0.1 s per GiB of zeros (``count(0)`` reads every
    byte either way)."""
    n = end - start
    return data.startswith(_ZEROS if n == HOLE_BLOCK else _ZEROS[:n], start)


def split_messages(pieces, size):
    """Split and join pieces of bytes into (full, rest).

    full: bytes objects of exactly size bytes, in order; rest: the pieces
    left over (fewer than size bytes). A piece of exactly size bytes that
    starts a message is passed on as it is, without a copy.
    """
    full, parts, have = [], [], 0
    for piece in pieces:
        view, start = None, 0
        while start < len(piece):
            take = min(size - have, len(piece) - start)
            if start == 0 and take == len(piece):
                parts.append(piece)
            else:
                if view is None:
                    view = memoryview(piece)
                parts.append(view[start:start + take])
            start += take
            have += take
            if have == size:
                full.append(parts[0] if len(parts) == 1 and
                            isinstance(parts[0], bytes) else
                            b''.join(parts))
                parts, have = [], 0
    return full, [bytes(p) if isinstance(p, memoryview) else p
                  for p in parts]


def _send_messages(stream, data):
    """Send each bytes object in full (libvirt takes bytes, not views)."""
    for message in data:
        sent = 0
        while sent < len(message):
            count = stream.send(message if sent == 0 else message[sent:])
            if count >= 0:      # only non-blocking streams say "again"
                sent += count


def _receive_batch(stream, sparse):
    """Pieces of a download in one blocking call: up to BATCH bytes.

    Returns (pieces, at_end); a piece is (data, 0) or (None, hole length).
    """
    pieces, have = [], 0
    while have < BATCH:
        if sparse:
            data = stream.recvFlags(RECV_CHUNK, _STOP_AT_HOLE)
        else:
            data = stream.recv(RECV_CHUNK)
        if isinstance(data, int):
            if data == _RECV_AT_HOLE:
                pieces.append((None, stream.recvHole(0)))
                have += RECV_CHUNK      # bounds a run of tiny holes too
            continue                    # -2: "again" (non-blocking only)
        if not data:
            return pieces, True
        pieces.append((data, 0))
        have += len(data)
    return pieces, False


class VolumeWriter(object):
    """File-like sink streaming into a volume; zero runs become holes.

    With a sparse stream (``VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM``) zeros
    travel as a hole of their length, and the volume's file keeps them
    unallocated: a volume holds as many bytes as its data.
    """

    def __init__(self, conn, volume, offset=0, length=0, sparse=True):
        self._stream = conn.newStream(0)
        self.sparse = False
        if sparse and _UPLOAD_SPARSE:
            try:
                volume.upload(self._stream, offset, length, _UPLOAD_SPARSE)
                self.sparse = True
            except libvirt.libvirtError as e:
                if not errors.is_unsupported(e):
                    raise
                self._stream = conn.newStream(0)
        if not self.sparse:
            volume.upload(self._stream, offset, length, 0)
        self.bytes_written = 0
        self.hole_bytes = 0
        self._hole = 0            # a hole not sent yet (merged runs)
        self._pending = []        # data not sent yet (coalesced pieces)
        self._pending_bytes = 0
        self._open = True

    def _queue(self, data):
        # Glance writes 64 KiB pieces, sent four to a libvirt message;
        # larger pieces go in BATCH slices, so that memory stays bounded.
        self.bytes_written += len(data)
        for start in range(0, len(data), BATCH):
            piece = data if len(data) <= BATCH \
                else memoryview(data)[start:start + BATCH]
            self._pending.append(piece)
            self._pending_bytes += len(piece)
            if self._pending_bytes >= BATCH:
                self._flush_data(everything=False)

    def _flush_data(self, everything=True):
        """Send the pending data: whole messages, and the rest if asked."""
        if not self._pending:
            return
        full, rest = split_messages(self._pending, SEND_CHUNK)
        if everything and rest:
            full.append(b''.join(rest))
            rest = []
        self._pending = rest
        self._pending_bytes = sum(len(p) for p in rest)
        if full:
            compat.call_blocking(_send_messages, self._stream, full)

    def _flush_hole(self):
        if self._hole:
            self._stream.sendHole(self._hole, 0)
            self.hole_bytes += self._hole
            self._hole = 0

    def write_hole(self, length):
        """length bytes of zeros, as a hole (or as zeros if not sparse)."""
        if not self.sparse:
            while length:
                n = min(SEND_CHUNK, length)
                self._queue(bytes(n))
                length -= n
            return
        self._flush_data()
        self._hole += length

    def write(self, data):
        if not isinstance(data, bytes):
            data = bytes(data)
        if not self.sparse:
            self._queue(data)
            return len(data)
        start = pos = 0
        while pos < len(data):
            end = min(pos + HOLE_BLOCK, len(data))
            if _is_zero(data, pos, end):
                if start < pos:
                    self._flush_hole()
                    self._queue(memoryview(data)[start:pos])
                self._flush_data()
                self._hole += end - pos
                start = end
            pos = end
        if start < len(data):
            self._flush_hole()
            self._queue(data if start == 0 else memoryview(data)[start:])
        return len(data)

    def close(self):
        if self._open:
            self._flush_data()
            self._flush_hole()
            self._open = False
            self._stream.finish()

    def abort(self):
        if self._open:
            self._open = False
            try:
                self._stream.abort()
            except libvirt.libvirtError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()


class VolumeReader(object):
    """File-like source streaming a volume; holes come as holes.

    :meth:`runs` yields (data, length) with data None for a hole, so that
    a copy into another volume keeps it sparse; :meth:`read` gives plain
    bytes (zeros for holes) to whoever wants a file. Memory stays bounded.
    """

    def __init__(self, conn, volume, offset=0, length=0, sparse=True):
        self._stream = conn.newStream(0)
        self.sparse = False
        if sparse and _DOWNLOAD_SPARSE:
            try:
                volume.download(self._stream, offset, length,
                                _DOWNLOAD_SPARSE)
                self.sparse = True
            except libvirt.libvirtError as e:
                if not errors.is_unsupported(e):
                    raise
                self._stream = conn.newStream(0)
        if not self.sparse:
            volume.download(self._stream, offset, length, 0)
        self._view = memoryview(b'')
        self._hole = 0
        self._pieces = collections.deque()   # received, not handed out
        self._eof = False                    # libvirt said: no more
        self._open = True
        self.bytes_read = 0

    def _next_piece(self):
        """(data, 0), (None, hole length) or None at the end."""
        if not self._pieces:
            if self._eof:
                return None
            pieces, self._eof = compat.call_blocking(
                _receive_batch, self._stream, self.sparse)
            if not pieces:
                return None
            self._pieces.extend(pieces)
        return self._pieces.popleft()

    def runs(self):
        """Yield (data, 0) or (None, hole length) until the end."""
        while True:
            piece = self._next_piece()
            if piece is None:
                return
            data, hole = piece
            self.bytes_read += len(data) if data is not None else hole
            yield piece

    def read(self, size=-1):
        if size is None or size < 0:
            size = sys.maxsize
        parts, have = [], 0
        while have < size:
            if len(self._view):
                take = self._view[:size - have]
                self._view = self._view[len(take):]
            elif self._hole:
                n = min(self._hole, size - have, CHUNK)
                take = bytes(n)
                self._hole -= n
            else:
                piece = self._next_piece()
                if piece is None:
                    break
                data, self._hole = piece
                self._view = memoryview(data if data is not None else b'')
                continue
            parts.append(take)
            have += len(take)
        self.bytes_read += have
        return b''.join(parts)

    def __iter__(self):
        while True:
            chunk = self.read(CHUNK)
            if not chunk:
                return
            yield chunk

    def close(self):
        if not self._open:
            return
        self._open = False
        try:
            if self._eof:
                self._stream.finish()
            else:
                self._stream.abort()
        except libvirt.libvirtError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Storage(object):
    """The nova-ovirt storage pool of one host."""

    def __init__(self, host, pool_name, pool_path):
        self._host = host
        self.pool_name = pool_name
        self._default_path = pool_path
        self._pool = None
        self.path = None

    # -- the pool ----------------------------------------------------------

    def ensure_pool(self, conn):
        """Find or create the storage pool; run on every (re)connect."""
        try:
            pool = conn.storagePoolLookupByName(self.pool_name)
        except libvirt.libvirtError as e:
            if e.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_POOL:
                raise
            pool = self._define_pool(conn)
        if not pool.isActive():
            pool.create(0)
        self.path = config.pool_target_path(pool.XMLDesc(0))
        self._pool = pool

    def _define_pool(self, conn):
        LOG.info('Creating storage pool %(pool)s at %(path)s on %(uri)s',
                 {'pool': self.pool_name, 'path': self._default_path,
                  'uri': self._host.uri})
        pool = conn.storagePoolDefineXML(
            config.dir_pool_xml(self.pool_name, self._default_path), 0)
        # build creates the directory; an existing one is fine.
        pool.build(0)
        pool.setAutostart(1)
        return pool

    @property
    def pool(self):
        if self._pool is None:
            self._host.connection  # raises NodeUnavailable
        return self._pool

    def forget(self):
        self._pool = None

    def capacity(self):
        """(capacity, allocation, available) in bytes."""
        _state, capacity, allocation, available = self.pool.info()
        return capacity, allocation, available

    def refresh(self):
        """Rescan the pool; refused while uploads run, which is harmless."""
        try:
            self.pool.refresh(0)
        except libvirt.libvirtError as e:
            LOG.debug('Refreshing storage pool %s failed: %s',
                      self.pool_name, errors.message(e))

    # -- volumes -----------------------------------------------------------

    def lookup(self, name):
        try:
            return self.pool.storageVolLookupByName(name)
        except libvirt.libvirtError as e:
            if errors.is_missing_volume(e):
                return None
            raise

    def lookup_path(self, path):
        """The volume of any of the host's storage pools at `path`, or
        None (a file libvirt does not see as a volume)."""
        for attempt in range(2):
            try:
                return self._host.connection.storageVolLookupByPath(path)
            except libvirt.libvirtError as e:
                if not errors.is_missing_volume(e):
                    raise
            if attempt == 0:
                self.refresh()      # a file made outside libvirt
        return None

    def create(self, name, capacity, fmt='qcow2', backing=None,
               backing_format=None):
        xml = config.volume_xml(name, capacity, fmt,
                                backing.path() if backing else None,
                                backing_format)
        return self.pool.createXML(xml, 0)

    def clone_flattened(self, name, source, capacity, fmt='qcow2'):
        """A standalone copy of source (its backing chain merged) in fmt.

        libvirt runs qemu-img convert on the host; the result has no
        backing file, so it can travel to another host or to Glance. Zero
        ranges stay holes, so the copy is as sparse as the data allows.
        """
        xml = config.volume_xml(name, capacity, fmt)
        return self.pool.createXMLFrom(xml, source, 0)

    def delete(self, name):
        volume = self.lookup(name)
        if volume is None:
            return False
        try:
            volume.delete(0)
        except libvirt.libvirtError as e:
            if not errors.is_missing_volume(e):
                raise
        return True

    def names(self):
        return [v.name() for v in self.pool.listAllVolumes(0)]

    def delete_prefixed(self, prefix):
        deleted = []
        for name in self.names():
            if name.startswith(prefix):
                self.delete(name)
                deleted.append(name)
        return deleted

    def physical_size(self, volume):
        """Bytes in the file (not the virtual size a qcow2 reports)."""
        flag = getattr(libvirt, 'VIR_STORAGE_VOL_GET_PHYSICAL', 1)
        try:
            return volume.infoFlags(flag)[2]
        except libvirt.libvirtError as e:
            if not errors.is_unsupported(e):
                raise
            return volume.info()[2]

    def virtual_size(self, volume):
        return volume.info()[1]

    def volume_format(self, volume):
        return config.volume_format(volume.XMLDesc(0))

    # -- streams -----------------------------------------------------------

    def writer(self, volume, offset=0, length=0):
        return VolumeWriter(self._host.connection, volume, offset, length)

    def reader(self, volume, offset=0, length=0):
        return VolumeReader(self._host.connection, volume, offset, length)


def copy_stream(reader, writer):
    """Copy chunk by chunk; returns the number of bytes copied.

    Between two volumes holes stay holes (nothing of them is read or sent).
    """
    copied = 0
    if hasattr(reader, 'runs') and hasattr(writer, 'write_hole'):
        for data, hole in reader.runs():
            if data is None:
                writer.write_hole(hole)
                copied += hole
            else:
                writer.write(data)
                copied += len(data)
        return copied
    while True:
        chunk = reader.read(CHUNK)
        if not chunk:
            return copied
        writer.write(chunk)
        copied += len(chunk)


def copy_between(source_conn, source_volume, dest_conn, dest_volume):
    """Stream a volume's bytes into another, existing volume, possibly
    on another host (holes stay holes); returns the bytes copied."""
    with VolumeReader(source_conn, source_volume) as reader, \
            VolumeWriter(dest_conn, dest_volume) as writer:
        return copy_stream(reader, writer)


def copy_volume(source_storage, source_volume, dest_storage, name):
    """Byte copy of a volume into a new volume, possibly on another host.

    A qcow2 overlay keeps its backing file reference, so this is the cheap
    copy for the same host; across hosts copy a flattened clone instead.
    """
    dest = dest_storage.create(name, 0, 'raw')
    try:
        with source_storage.reader(source_volume) as reader, \
                dest_storage.writer(dest) as writer:
            copy_stream(reader, writer)
    except Exception:
        dest_storage.delete(name)
        raise
    return dest
