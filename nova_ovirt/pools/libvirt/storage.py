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

import libvirt
from oslo_log import log as logging

from nova_ovirt.pools.libvirt import config
from nova_ovirt.pools.libvirt import errors

LOG = logging.getLogger(__name__)

CHUNK = 1024 * 1024


class VolumeWriter(object):
    """File-like sink that streams what is written into a volume."""

    def __init__(self, conn, volume, offset=0, length=0):
        self._stream = conn.newStream(0)
        volume.upload(self._stream, offset, length, 0)
        self.bytes_written = 0
        self._open = True

    def write(self, data):
        data = bytes(data)
        sent = 0
        while sent < len(data):
            count = self._stream.send(data[sent:sent + CHUNK])
            if count < 0:  # only non-blocking streams say "again"
                continue
            sent += count
        self.bytes_written += len(data)
        return len(data)

    def close(self):
        if self._open:
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
    """File-like source streaming a volume's bytes; memory stays bounded."""

    def __init__(self, conn, volume, offset=0, length=0):
        self._stream = conn.newStream(0)
        volume.download(self._stream, offset, length, 0)
        self._buffer = b''
        self._eof = False
        self._open = True
        self.bytes_read = 0

    def _receive(self):
        data = self._stream.recv(CHUNK)
        if isinstance(data, int):  # -2: "again", non-blocking streams only
            return
        if not data:
            self._eof = True
            return
        self._buffer += data

    def read(self, size=-1):
        if size is None or size < 0:
            size = float('inf')
        while len(self._buffer) < size and not self._eof:
            self._receive()
        if size == float('inf'):
            data, self._buffer = self._buffer, b''
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        self.bytes_read += len(data)
        return data

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
    """Copy chunk by chunk; returns the number of bytes copied."""
    copied = 0
    while True:
        chunk = reader.read(CHUNK)
        if not chunk:
            return copied
        writer.write(chunk)
        copied += len(chunk)


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
