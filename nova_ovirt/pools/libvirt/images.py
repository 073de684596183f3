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

"""Glance images as base volumes: each image lands once per host.

The image is streamed from Glance straight into a volume of the host's
storage pool (nothing is written on nova-compute's disk). Instance root
disks are qcow2 overlays on that base volume, so the second boot of an
image on a host copies no image bytes; ``Host.stats`` counts what was
uploaded so tests (and operators reading the log) can see it.
"""

import collections
import struct
from xml.etree import ElementTree as etree

import libvirt
from oslo_concurrency import lockutils
from oslo_log import log as logging

from nova import exception as nova_exception
from nova.image import glance
from nova import objects

LOG = logging.getLogger(__name__)

SUPPORTED_FORMATS = ('qcow2', 'raw')
BASE_PREFIX = 'image-'
QCOW2_MAGIC = b'QFI\xfb'
# qcow2 header: magic(4) version(4) backing_file_offset(8) backing_size(4)
# cluster_bits(4) size(8)
_QCOW2_HEADER = struct.Struct('>4sIQII Q')

BaseImage = collections.namedtuple('BaseImage', 'volume format virtual_size')


def base_volume_name(image_id):
    return BASE_PREFIX + image_id


def qcow2_header(data):
    """(virtual size, has backing file) of a qcow2 header, or None."""
    if len(data) < _QCOW2_HEADER.size or not data.startswith(QCOW2_MAGIC):
        return None
    _magic, _version, backing_offset, _bsize, _cbits, size = \
        _QCOW2_HEADER.unpack_from(data)
    return size, backing_offset != 0


class ImageSink(object):
    """Writer Glance downloads into: streams on, keeps the header."""

    HEADER_BYTES = 512

    def __init__(self, writer):
        self._writer = writer
        self.header = b''
        self.size = 0

    def write(self, chunk):
        if len(self.header) < self.HEADER_BYTES:
            self.header += bytes(chunk[:self.HEADER_BYTES - len(self.header)])
        self._writer.write(chunk)
        self.size += len(chunk)


def _image_id(image_meta):
    return image_meta.id


def with_image_id(context, instance, image_meta):
    """image_meta as Glance has it when nova passed one without its id.

    nova hands over the instance's own image without an id in some paths
    (rescue without a rescue image, its driver conformance tests); like
    nova's libvirt driver, fall back to the instance's image_ref.
    """
    if image_meta.obj_attr_is_set('id'):
        return image_meta
    return objects.ImageMeta.from_image_ref(context, glance.API(),
                                            instance.image_ref)


def _image_size(image_meta):
    return image_meta.size if image_meta.obj_attr_is_set('size') else None


def image_format(image_meta):
    fmt = (image_meta.disk_format
           if image_meta.obj_attr_is_set('disk_format') else None)
    if fmt not in SUPPORTED_FORMATS:
        raise nova_exception.ImageUnacceptable(
            image_id=_image_id(image_meta),
            reason='disk format %s is not supported by the libvirt pool '
                   '(supported: %s)' % (fmt, ', '.join(SUPPORTED_FORMATS)))
    return fmt


def _check_content(image_id, fmt, sink):
    """Virtual size of what was uploaded; refuse what is not the format."""
    if fmt == 'raw':
        return sink.size
    header = qcow2_header(sink.header)
    if header is None:
        raise nova_exception.ImageUnacceptable(
            image_id=image_id, reason='disk_format is qcow2 but the data is '
                                      'not a qcow2 image')
    size, has_backing = header
    if has_backing:
        # A backing file reference would let a tenant read host files.
        raise nova_exception.ImageUnacceptable(
            image_id=image_id, reason='qcow2 images with a backing file are '
                                      'not allowed')
    return size


def _complete(host, volume, expected_size):
    """True if a base volume found on the host holds the whole image.

    A partial upload (nova-compute died mid-transfer) is shorter than the
    image; the file's physical size tells.
    """
    if not expected_size:
        return True
    return host.storage.physical_size(volume) == expected_size


def _existing_virtual_size(host, volume, fmt):
    storage = host.storage
    if fmt == 'raw':
        return storage.physical_size(volume)
    if storage.volume_format(volume) != 'qcow2':
        storage.refresh()
        volume = storage.lookup(volume.name()) or volume
    if storage.volume_format(volume) == 'qcow2':
        return storage.virtual_size(volume)
    with storage.reader(volume, 0, ImageSink.HEADER_BYTES) as reader:
        header = qcow2_header(reader.read(ImageSink.HEADER_BYTES))
    return header[0] if header else storage.virtual_size(volume)


def _upload(host, context, image_id, fmt, name):
    storage = host.storage
    volume = storage.create(name, 0, 'raw')
    try:
        with storage.writer(volume) as writer:
            sink = ImageSink(writer)
            glance.API().download(context, image_id, data=sink)
        virtual_size = _check_content(image_id, fmt, sink)
    except Exception:
        LOG.warning('Upload of image %(image)s to %(node)s failed; removing '
                    'the partial volume %(volume)s',
                    {'image': image_id, 'node': host.nodename,
                     'volume': name})
        storage.delete(name)
        raise
    host.stats['image_bytes_uploaded'] += sink.size
    host.stats['image_uploads'] += 1
    LOG.info('Image %(image)s uploaded to %(node)s as volume %(volume)s: '
             '%(bytes)d bytes (%(total)d image bytes uploaded to this host '
             'so far)', {'image': image_id, 'node': host.nodename,
                         'volume': name, 'bytes': sink.size,
                         'total': host.stats['image_bytes_uploaded']})
    return volume, virtual_size


def ensure_base_volume(host, context, image_meta):
    """The base volume of the image on the host, uploading it if needed."""
    fmt = image_format(image_meta)
    image_id = _image_id(image_meta)
    name = base_volume_name(image_id)
    with lockutils.lock(_lock_name(host, image_id), external=False):
        volume = host.storage.lookup(name)
        if volume is not None and _complete(host, volume,
                                            _image_size(image_meta)):
            host.stats['image_reuses'] += 1
            LOG.debug('Image %s is already on %s', image_id, host.nodename)
            return BaseImage(volume, fmt,
                             _existing_virtual_size(host, volume, fmt))
        if volume is not None:
            LOG.warning('Base volume %(volume)s on %(node)s is incomplete; '
                        'uploading it again', {'volume': name,
                                               'node': host.nodename})
            host.storage.delete(name)
        volume, virtual_size = _upload(host, context, image_id, fmt, name)
        return BaseImage(volume, fmt, virtual_size)


def base_volume_names(host):
    return [n for n in host.storage.names() if n.startswith(BASE_PREFIX)]


def _lock_name(host, image_id):
    return 'nova-ovirt-base-%s-%s' % (host.node_uuid, image_id)


def backing_paths(host):
    """Paths that a volume of the host's pool has as its backing file.

    The ground truth of "in use": guests' root overlays, resize backups
    (byte copies keep the reference) and rescue disks all point at the
    base volume they rest on.
    """
    paths = set()
    for volume in host.storage.pool.listAllVolumes(0):
        try:
            xml = volume.XMLDesc(0)
        except libvirt.libvirtError:
            continue   # removed meanwhile
        path = etree.fromstring(xml).findtext('backingStore/path')
        if path:
            paths.add(path)
    return paths


def manage_image_cache(host, used_image_ids, min_age, unused_since):
    """Remove the host's base volumes unused for min_age seconds.

    A base volume stays while any volume rests on it or any of nova's
    instances of this service refers to its image (a spawn or a resize in
    progress); a spawn of the image on this host holds the volume's lock,
    which the removal takes too. Returns (removed, bytes freed, kept).
    """
    storage = host.storage
    names = base_volume_names(host)
    unused_since.forget_missing(names)
    in_use = backing_paths(host)
    removed, freed = 0, 0
    for name in names:
        image_id = name[len(BASE_PREFIX):]
        volume = storage.lookup(name)
        if volume is None:
            continue
        if image_id in used_image_ids or volume.path() in in_use:
            unused_since.seen_used(name)
            continue
        if not unused_since.old_enough(name, min_age):
            continue
        with lockutils.lock(_lock_name(host, image_id), external=False):
            # Looked at again under the lock: an overlay made meanwhile.
            if volume.path() in backing_paths(host):
                unused_since.seen_used(name)
                continue
            size = storage.physical_size(volume)
            storage.delete(name)
        unused_since.seen_used(name)
        removed += 1
        freed += size
        LOG.info('Removed base volume %(volume)s of image %(image)s from '
                 '%(node)s (unused)', {'volume': name, 'image': image_id,
                                       'node': host.nodename})
    return removed, freed, len(names) - removed
