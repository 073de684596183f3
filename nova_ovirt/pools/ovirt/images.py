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

"""Glance images as oVirt templates, once per engine.

The first boot of an image streams it from Glance into a new disk through
an image transfer, attaches the disk to a short-lived VM and makes a
template of it, named ``nova-image-<image id>``. Every later boot creates
its VM from that template as a thin clone: no image byte is copied again.

Two first boots of one image in this process wait for each other (a lock
per image id, taken only when the template is missing or not ready); a
template found by name is reused (another nova-compute,
or a restart, may have made it). A failed first boot removes its disk and
VM.

nova's image cache periodic task (``manage_image_cache``) removes the
templates this driver made (name and ``nova-ovirt:image=`` comment) once
no VM of the engine is based on them and no instance of this host refers
to their image for ``[image_cache]
remove_unused_original_minimum_age_seconds``; the engine itself refuses
to remove a template that still has a child, which we treat as in use.
"""

import struct
import threading
import uuid

from oslo_log import log as logging
from oslo_utils import excutils
import ovirtsdk4 as sdk
from ovirtsdk4 import types

from nova import exception as nova_exception
from nova import objects

from nova_ovirt.pools.ovirt import session as ovirt_session
from nova_ovirt.pools.ovirt import transfer as ovirt_transfer

LOG = logging.getLogger(__name__)

TEMPLATE_PREFIX = 'nova-image-'
IMAGE_MARK = 'nova-ovirt:image='
BUILD_MARK = 'nova-ovirt:image-build='
BLANK_TEMPLATE = 'Blank'
QCOW2_MAGIC = b'QFI\xfb'
GiB = 1024 ** 3


def template_name(image_id):
    return TEMPLATE_PREFIX + image_id


class ChunkReader(object):
    """file-like read(n) over an iterator of chunks (Glance's download).

    Holds at most one chunk besides what the caller asked for, so memory
    stays bounded whatever the image size.
    """

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._buf = b''
        self.consumed = 0

    def peek(self, n):
        while len(self._buf) < n:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                break
            self._buf += chunk
        return self._buf[:n]

    def read(self, n):
        parts, have = [], 0
        while have < n:
            if not self._buf:
                try:
                    self._buf = next(self._chunks)
                except StopIteration:
                    break
                if not self._buf:
                    continue
            take = self._buf[:n - have]
            self._buf = self._buf[len(take):]
            parts.append(take)
            have += len(take)
        self.consumed += have
        return b''.join(parts)

    def readinto(self, view):
        """Copy the next bytes into view (the upload's region buffer);
        the number copied, 0 at the end. One copy of Glance's chunks and
        no buffer of our own per read."""
        view = memoryview(view).cast('B')
        have = 0
        while have < len(view):
            if not self._buf:
                try:
                    self._buf = next(self._chunks)
                except StopIteration:
                    break
                continue
            n = min(len(self._buf), len(view) - have)
            view[have:have + n] = memoryview(self._buf)[:n]
            self._buf = self._buf[n:] if n < len(self._buf) else b''
            have += n
        self.consumed += have
        return have


def _meta(image_meta, field, default=None):
    if image_meta.obj_attr_is_set(field):
        return getattr(image_meta, field)
    return default


def image_shape(reader, image_meta):
    """(oVirt disk format, virtual size, bytes to send) of a Glance image."""
    disk_format = _meta(image_meta, 'disk_format', 'raw')
    size = _meta(image_meta, 'size')
    if disk_format == 'qcow2' or reader.peek(4) == QCOW2_MAGIC:
        header = reader.peek(32)
        if header[:4] != QCOW2_MAGIC:
            raise nova_exception.ImageUnacceptable(
                image_id=image_meta.id, reason='not a qcow2 image')
        virtual = struct.unpack('>Q', header[24:32])[0]
        return types.DiskFormat.COW, virtual, size
    if disk_format not in ('raw', None):
        raise nova_exception.ImageUnacceptable(
            image_id=image_meta.id,
            reason='disk format %s is not supported by oVirt pools (use '
                   'raw or qcow2)' % disk_format)
    return types.DiskFormat.RAW, size, size


class ImageCache(object):
    """Templates made from Glance images, on one engine."""

    def __init__(self, session, transfers, image_api, storage_domain_id,
                 timeout=600):
        self._session = session
        self._transfers = transfers
        self._image_api = image_api
        self._sd_id = storage_domain_id
        self._timeout = timeout
        self._locks = {}
        self._locks_lock = threading.Lock()
        # {(image id, cluster id): template id} of templates seen ready.
        # A boot of a cached image then asks the engine nothing about
        # the template; use_template() drops an entry the engine refuses
        # (the template was removed or replaced behind our back).
        self._known = {}

    def _lock(self, image_id):
        with self._locks_lock:
            return self._locks.setdefault(image_id, threading.Lock())

    def find(self, image_id):
        name = template_name(image_id)
        found = self._session.read(
            lambda system: system.templates_service().list(
                search='name=%s' % name))
        found = [t for t in found if t.name == name]
        return found[0] if found else None

    def with_image_id(self, context, instance, image_meta):
        """image_meta as Glance has it when nova passed one without its id.

        nova hands over the instance's own image without an id in some
        paths (rescue without a rescue image, its driver conformance
        tests); like nova's libvirt driver, fall back to the instance's
        image_ref.
        """
        if image_meta.obj_attr_is_set('id'):
            return image_meta
        return objects.ImageMeta.from_image_ref(context, self._image_api,
                                                instance.image_ref)

    def template_for(self, context, image_meta, cluster_id):
        """Id of the image's template (made now if needed), status ok.

        A template seen ready before costs no request (see
        :meth:`use_template` for what happens when it went meanwhile);
        one that exists and is ready costs one look-up and no lock:
        concurrent boots of a cached image only share the connections.
        The lock is for making the template (or waiting for it), so that
        two first boots upload once.
        """
        key = (image_meta.id, cluster_id)
        known = self._known.get(key)
        if known is not None:
            return known
        return self._look_up(context, image_meta, cluster_id)

    def _look_up(self, context, image_meta, cluster_id):
        image_id = image_meta.id
        template = self.find(image_id)
        if template is None or template.status != types.TemplateStatus.OK:
            with self._lock(image_id):
                template = self.find(image_id)
                if template is None:
                    template = self._create(context, image_meta, cluster_id)
                template = self._wait_template(template.id)
        self._known[image_id, cluster_id] = template.id
        return template.id

    def use_template(self, context, image_meta, cluster_id, use):
        """use(template id) with the image's template; use's result.

        The id may come from memory, and the template may have been
        removed or replaced on the engine since (another service's image
        cache, an operator): if use fails with a remembered id, the
        entry goes and the engine is asked once more; use runs again
        only when the engine names another template, so a failure that
        is not the template's is raised as it was.
        """
        key = (image_meta.id, cluster_id)
        remembered = self._known.get(key)
        template_id = self.template_for(context, image_meta, cluster_id)
        if remembered is None:
            return use(template_id)
        try:
            return use(template_id)
        except sdk.Error:
            with excutils.save_and_reraise_exception() as ctx:
                self.forget(image_meta.id, template_id)
                fresh = self._look_up(context, image_meta, cluster_id)
                if fresh != template_id:
                    LOG.info('Template %s of image %s is gone; using %s',
                             template_id, image_meta.id, fresh)
                    ctx.reraise = False
        return use(fresh)

    def forget(self, image_id, template_id=None):
        """Drop what is remembered of image_id's template (of any
        cluster), or only entries naming template_id if given."""
        for key, known in list(self._known.items()):
            if key[0] == image_id and template_id in (None, known):
                self._known.pop(key, None)

    def _wait_template(self, template_id):

        def svc(system):
            return system.templates_service().template_service(template_id)
        return ovirt_session.wait_for(
            lambda: self._session.read(lambda system: svc(system).get()),
            lambda t: t.status == types.TemplateStatus.OK,
            self._timeout, 'template %s' % template_id,
            failed=lambda t: ('template is %s' % t.status.value)
            if t.status == types.TemplateStatus.ILLEGAL else None)

    # -- first boot --------------------------------------------------------

    def _create(self, context, image_meta, cluster_id):
        image_id = image_meta.id
        LOG.info('Uploading image %s to the oVirt engine (first boot of it '
                 'there)', image_id)
        reader = ChunkReader(self._image_api.download(context, image_id))
        disk_format, virtual_size, size = image_shape(reader, image_meta)
        disk = self._add_disk(image_id, disk_format, virtual_size, size)
        vm_id = None
        try:
            self._wait_disk(disk.id)
            self._upload(disk.id, disk_format, reader, size)
            self._wait_disk(disk.id)
            vm_id = self._build_vm(image_id, cluster_id, disk.id)
            return self._add_template(image_id, vm_id)
        except Exception:
            # The template may have been made already: it is complete and
            # found by name next time; only what is half-made goes.
            self._remove_disk(disk.id)
            raise
        finally:
            if vm_id is not None:
                self._remove_build_vm(vm_id)

    def _add_disk(self, image_id, disk_format, virtual_size, size):
        disk = types.Disk(
            name=template_name(image_id),
            description=IMAGE_MARK + image_id,
            format=disk_format, sparse=True,
            provisioned_size=virtual_size,
            initial_size=size if disk_format == types.DiskFormat.COW
            else None,
            content_type=types.DiskContentType.DATA,
            storage_domains=[types.StorageDomain(id=self._sd_id)])
        return self._session.write(
            lambda system: system.disks_service().add(
                disk, query=ovirt_session.q()))

    def _wait_disk(self, disk_id):

        def svc(system):
            return system.disks_service().disk_service(disk_id)
        return ovirt_session.wait_for(
            lambda: self._session.read(lambda system: svc(system).get()),
            lambda d: d.status == types.DiskStatus.OK,
            self._timeout, 'disk %s' % disk_id,
            failed=lambda d: 'disk is illegal'
            if d.status == types.DiskStatus.ILLEGAL else None)

    def _upload(self, disk_id, disk_format, reader, size):
        tr = self._transfers.begin(types.ImageTransferDirection.UPLOAD,
                                   disk_id=disk_id, disk_format=disk_format)
        try:
            client = self._transfers.client(tr)
            try:
                ovirt_transfer.upload(client, reader, size)
            finally:
                client.close()
            self._transfers.finalize(tr.id)
        except Exception:
            self._transfers.cancel(tr.id)
            raise

    def _build_vm(self, image_id, cluster_id, disk_id):
        """A VM holding the uploaded disk: templates are made from VMs."""
        vm = types.Vm(
            name='nova-image-build-%s' % uuid.uuid4().hex[:12],
            description=BUILD_MARK + image_id,
            cluster=types.Cluster(id=cluster_id),
            template=types.Template(name=BLANK_TEMPLATE),
            memory=512 * 1024 ** 2)
        vm = self._session.write(
            lambda system: system.vms_service().add(
                vm, query=ovirt_session.q()))
        try:
            self._wait_vm_down(vm.id)
            attachment = types.DiskAttachment(
                disk=types.Disk(id=disk_id), bootable=True, active=True,
                interface=types.DiskInterface.VIRTIO)
            self._session.write(
                lambda system: system.vms_service().vm_service(vm.id)
                .disk_attachments_service().add(
                    attachment, query=ovirt_session.q()))
        except Exception:
            self._remove_build_vm(vm.id)
            raise
        return vm.id

    def _wait_vm_down(self, vm_id):

        def svc(system):
            return system.vms_service().vm_service(vm_id)
        return ovirt_session.wait_for(
            lambda: self._session.read(lambda system: svc(system).get()),
            lambda v: v.status == types.VmStatus.DOWN,
            self._timeout, 'VM %s' % vm_id)

    def _add_template(self, image_id, vm_id):
        template = types.Template(
            name=template_name(image_id),
            comment=IMAGE_MARK + image_id,
            description='Glance image %s (nova-ovirt)' % image_id,
            vm=types.Vm(id=vm_id))
        template = self._session.write(
            lambda system: system.templates_service().add(
                template, query=ovirt_session.q()))
        try:
            return self._wait_template(template.id)
        except Exception:
            # Not complete, so nobody uses it: remove it.
            self._remove_template(template.id)
            raise

    # -- the image cache periodic task --------------------------------------

    def cached_templates(self):
        """{image id: template} of the templates this driver made."""
        found = self._session.read(
            lambda system: system.templates_service().list(
                search='name=%s*' % TEMPLATE_PREFIX))
        cached = {}
        for tpl in ovirt_session.as_list(found):
            comment = tpl.comment or ''
            image_id = comment[len(IMAGE_MARK):]
            # Ownership: our comment and our name for that image.
            if comment.startswith(IMAGE_MARK) and \
                    tpl.name == template_name(image_id):
                cached[image_id] = tpl
        return cached

    def _template_children(self):
        """Ids of the templates any VM of the engine is based on."""
        vms = self._session.read(
            lambda system: system.vms_service().list())
        return {vm.template.id for vm in ovirt_session.as_list(vms)
                if vm.template is not None}

    def _template_bytes(self, template_id):
        try:
            atts = self._session.read(
                lambda system: system.templates_service().template_service(
                    template_id).disk_attachments_service().list(
                        follow='disk'))
        except sdk.Error:
            return 0
        return sum((a.disk.actual_size or a.disk.provisioned_size or 0)
                   for a in ovirt_session.as_list(atts)
                   if a.disk is not None)

    def manage(self, used_image_ids, min_age, unused_since):
        """Remove cached templates unused for min_age seconds.

        used_image_ids: images nova's instances of this service refer to
        (spawns and resizes in progress included); unused_since: the
        caller's :class:`nova_ovirt.imagecache.UnusedSince`. Returns
        (removed, bytes freed, kept).
        """
        children = self._template_children()
        cached = self.cached_templates()
        unused_since.forget_missing(cached)
        removed, freed = 0, 0
        for image_id, tpl in sorted(cached.items()):
            if image_id in used_image_ids or tpl.id in children:
                unused_since.seen_used(image_id)
                continue
            if not unused_since.old_enough(image_id, min_age):
                continue
            size = self._template_bytes(tpl.id)
            if self._remove_unused(image_id, tpl.id):
                unused_since.seen_used(image_id)
                removed += 1
                freed += size
        return removed, freed, len(cached) - removed

    def _remove_unused(self, image_id, template_id):
        """Remove a template unless a boot of its image holds the lock or
        the engine says it is still in use; True if it went."""
        lock = self._lock(image_id)
        if not lock.acquire(blocking=False):
            return False
        self.forget(image_id)
        try:
            self._session.write(
                lambda system: system.templates_service().template_service(
                    template_id).remove(query=ovirt_session.q()))
        except sdk.NotFoundError:
            return True
        except sdk.Error as e:
            if ovirt_session.is_conflict(e) or ovirt_session.is_locked(e):
                LOG.info('Cached template %s of image %s stays: %s',
                         template_id, image_id, ovirt_session.fault_text(e))
                return False
            raise
        finally:
            lock.release()
        LOG.info('Removed cached template %s of image %s (unused)',
                 template_id, image_id)
        return True

    # -- cleanup (never raises: the original error matters) ----------------

    def _remove_build_vm(self, vm_id):
        try:
            # The template copy locks the VM until it is done.
            self._wait_vm_down(vm_id)
            self._session.write(
                lambda system: system.vms_service().vm_service(vm_id).remove(
                    query=ovirt_session.q()))
        except sdk.NotFoundError:
            pass
        except Exception as e:
            LOG.warning('Could not remove image build VM %s: %s', vm_id,
                        ovirt_session.fault_text(e))

    def _remove_disk(self, disk_id):
        """Remove a disk, waiting out the lock a cancelled transfer holds.

        The engine removes the disk of a cancelled upload itself; either
        way the disk is gone when this returns (or a warning says why not).
        """
        def gone():
            return ovirt_session.try_remove(
                self._session,
                lambda system: system.disks_service().disk_service(disk_id))
        try:
            ovirt_session.wait_for(gone, bool, self._timeout,
                                   'removing disk %s' % disk_id)
        except Exception as e:
            LOG.warning('Could not remove image disk %s: %s', disk_id,
                        ovirt_session.fault_text(e))

    def _remove_template(self, template_id):
        try:
            self._session.write(
                lambda system: system.templates_service().template_service(
                    template_id).remove(query=ovirt_session.q()))
        except sdk.NotFoundError:
            pass
        except Exception as e:
            LOG.warning('Could not remove template %s: %s', template_id,
                        ovirt_session.fault_text(e))
