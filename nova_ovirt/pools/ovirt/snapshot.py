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

"""Disks out of the engine: instance snapshots to Glance, disk exports.

A Nova snapshot is an oVirt snapshot of the root disk, downloaded through
an image transfer of that disk snapshot (the VM may keep running: the
snapshot's layer does not change). Only the data extents travel; they land
in a sparse raw file, which ``qemu-img convert`` turns into a qcow2 image
holding only the data, and that is what Glance stores (``disk_format``
qcow2): a 20 GiB disk with 1 GiB of data is a 1 GiB image, not 20. The
oVirt snapshot is removed afterwards, also when anything failed.
"""

import contextlib
import os
import tempfile

from oslo_concurrency import processutils

from oslo_log import log as logging
import ovirtsdk4 as sdk
from ovirtsdk4 import types

from nova.compute import task_states
import nova.conf

from nova_ovirt import exception
from nova_ovirt.pools.ovirt import session as ovirt_session
from nova_ovirt.pools.ovirt import transfer as ovirt_transfer

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

SNAPSHOT_MARK = 'nova-ovirt:snapshot='


class StreamReader(object):
    """read(n) over buffers of a download; what Glance's upload consumes.

    Each buffer is handed out whole when the caller asks for at least its
    size (Glance reads in large pieces); a smaller read takes a slice of a
    memoryview, so no buffer is copied again per read.
    """

    def __init__(self, chunks, size):
        self._chunks = iter(chunks)
        self._view = memoryview(b'')
        self.size = size
        self.sent = 0

    def _next(self):
        for chunk in self._chunks:
            if len(chunk):
                return memoryview(chunk)
        return None

    def read(self, n=-1):
        if n is None or n < 0:
            n = self.size - self.sent
        parts, have = [], 0
        while have < n:
            if not len(self._view):
                view = self._next()
                if view is None:
                    break
                self._view = view
            take = self._view[:n - have]
            self._view = self._view[len(take):]
            parts.append(take)
            have += len(take)
        self.sent += have
        if len(parts) == 1:
            return parts[0].obj if len(parts[0]) == len(parts[0].obj) \
                else bytes(parts[0])
        return b''.join(parts)

    def __iter__(self):
        while True:
            data = self.read(ovirt_transfer.CHUNK)
            if not data:
                return
            yield data

    def __len__(self):
        return self.size


@contextlib.contextmanager
def download_runs(transfers, size, disk_id=None, snapshot_id=None,
                  reuse=True):
    """Yield the (offset, data or None, length) runs of a disk's data.

    With reuse, a run's data is valid until the next run is asked for.
    """
    with transfers.download_client(disk_id=disk_id,
                                   snapshot_id=snapshot_id) as client, \
            contextlib.closing(ovirt_transfer.download_runs(
                client, size, reuse=reuse)) as runs:
        # closing: the reader thread stops before the client closes, also
        # when the consumer fails half-way.
        yield runs


@contextlib.contextmanager
def download(transfers, size, disk_id=None, snapshot_id=None):
    """Yield a reader of a disk's (or disk snapshot's) guest data."""
    # The reader hands whole buffers out: they must not be reused.
    with download_runs(transfers, size, disk_id, snapshot_id,
                       reuse=False) as runs:
        yield StreamReader(_as_buffers(runs), size)


def _as_buffers(runs):
    zeros = bytes(ovirt_transfer.CHUNK)
    for _offset, data, length in runs:
        if data is not None:
            yield data
            continue
        while length > 0:
            n = min(len(zeros), length)
            yield zeros if n == len(zeros) else bytes(n)
            length -= n


@contextlib.contextmanager
def sparse_qcow2(runs, size):
    """Write runs to a sparse raw file, convert it; yield the qcow2 path.

    Both files live in a temporary directory under ``instances_path``
    (the same disk nova keeps instance files on) and go afterwards.
    """
    os.makedirs(CONF.instances_path, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix='nova-ovirt-snapshot-',
                                     dir=CONF.instances_path) as tmp:
        raw = os.path.join(tmp, 'disk.raw')
        fd = os.open(raw, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, size)       # all holes until data lands
            for offset, data, length in runs:
                if data is not None:
                    _pwrite_all(fd, data, offset)
        finally:
            os.close(fd)
        qcow2 = os.path.join(tmp, 'disk.qcow2')
        processutils.execute('qemu-img', 'convert', '-q', '-f', 'raw',
                             '-O', 'qcow2', raw, qcow2)
        os.unlink(raw)
        yield qcow2


def _pwrite_all(fd, data, offset):
    view = memoryview(data)
    while len(view):
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n


class Snapshots(object):
    def __init__(self, vmops, transfers, image_api, timeout):
        self._vmops = vmops
        self._session = vmops.session
        self._transfers = transfers
        self._image_api = image_api
        self._timeout = timeout

    def _svc(self, system, vm_id, snap_id=None):
        svc = system.vms_service().vm_service(vm_id).snapshots_service()
        return svc if snap_id is None else svc.snapshot_service(snap_id)

    def create(self, vm_id, description):
        snap = self._session.write(
            lambda system: self._svc(system, vm_id).add(
                types.Snapshot(description=description,
                               persist_memorystate=False),
                query=ovirt_session.q()))
        return self.wait(vm_id, snap.id)

    def wait(self, vm_id, snap_id):
        return ovirt_session.wait_for(
            lambda: self._session.read(
                lambda system: self._svc(system, vm_id, snap_id).get()),
            lambda s: s.snapshot_status == types.SnapshotStatus.OK,
            self._timeout, 'snapshot %s' % snap_id)

    def remove(self, vm_id, snap_id):
        """Remove (merge) a snapshot and wait until it is gone."""
        def gone():
            try:
                snap = self._session.read(
                    lambda system: self._svc(system, vm_id, snap_id).get())
            except sdk.NotFoundError:
                return True
            if snap.snapshot_status != types.SnapshotStatus.OK:
                return False      # being created or removed: wait
            try:
                self._session.write(
                    lambda system: self._svc(system, vm_id, snap_id).remove(
                        query=ovirt_session.q()))
            except sdk.NotFoundError:
                return True
            except sdk.Error as e:
                if not ovirt_session.is_conflict(e):
                    raise
            return False
        ovirt_session.wait_for(gone, bool, self._timeout,
                               'removing snapshot %s' % snap_id)

    def root_disk_snapshot(self, vm_id, snap_id, root_disk_id):
        disks = self._session.read(
            lambda system: self._svc(system, vm_id, snap_id)
            .disks_service().list())
        for d in disks:
            if d.id == root_disk_id:
                return d
        raise exception.BackendOperationFailed(
            operation='snapshot', target=vm_id,
            reason='the snapshot has no copy of the root disk')

    def to_glance(self, context, instance, image_id, update_task_state):
        vm_id = self._vmops.vm_id(instance)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        att = self._vmops.root_attachment(vm_id)
        snap = self.create(vm_id, SNAPSHOT_MARK + image_id)
        try:
            disk = self.root_disk_snapshot(vm_id, snap.id, att.disk.id)
            size = disk.provisioned_size
            update_task_state(task_state=task_states.IMAGE_UPLOADING,
                              expected_state=task_states.IMAGE_PENDING_UPLOAD)
            metadata = self._metadata(context, instance, image_id, size)
            try:
                with download_runs(self._transfers, size,
                                   snapshot_id=disk.image_id) as runs, \
                        sparse_qcow2(runs, size) as path, \
                        open(path, 'rb') as image:
                    self._image_api.update(context, image_id, metadata,
                                           data=image, purge_props=False)
            except (ovirt_transfer.TransferError, OSError,
                    processutils.ProcessExecutionError) as e:
                # The data side failed (imageio connection reset, short
                # read): a nova exception, so that nova records the
                # reason and deletes the half-uploaded image.
                raise exception.BackendOperationFailed(
                    operation='snapshot', target=instance.uuid,
                    reason='downloading the disk snapshot failed: %s' % (
                        str(e) or e.__class__.__name__))
        finally:
            try:
                self.remove(vm_id, snap.id)
            except Exception as e:
                LOG.warning('Could not remove snapshot %s of VM %s: %s',
                            snap.id, vm_id, ovirt_session.fault_text(e),
                            instance=instance)

    def _metadata(self, context, instance, image_id, size):
        # What nova's libvirt driver sends for a qcow2 snapshot, owned by
        # the instance's project. ``size``: the guest's disk, which the
        # qcow2 file (data only) says itself.
        return {
            'disk_format': 'qcow2',
            'container_format': 'bare',
            'properties': {
                'image_location': 'snapshot',
                'image_state': 'available',
                'owner_id': instance.project_id,
            },
        }
