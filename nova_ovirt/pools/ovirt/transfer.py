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
``{"op": "zero"|"flush"}``. We speak it with ``http.client`` and the
engine's CA, the way the SDK examples do, rather than with the
``ovirt-imageio`` client library: that one needs qemu-nbd and a C build,
and we only move raw bytes.

Memory stays bounded: one chunk (``CHUNK``) in flight at a time, and
all-zero chunks are sent as a ``zero`` request instead of bytes.
"""

import http.client
import json
import ssl
import time
import urllib.parse

from oslo_log import log as logging
import ovirtsdk4 as sdk
from ovirtsdk4 import types

from nova_ovirt.pools.ovirt import session as ovirt_session

LOG = logging.getLogger(__name__)

# Zero detection works per BLOCK; data goes out in PUTs of up to CHUNK.
BLOCK = 1024 * 1024
CHUNK = 8 * 1024 * 1024
_P = types.ImageTransferPhase
_FAILED = (_P.FINISHED_FAILURE, _P.PAUSED_SYSTEM, _P.CANCELLED,
           _P.CANCELLED_SYSTEM, _P.CANCELLED_USER, _P.FINISHED_CLEANUP,
           _P.FINALIZING_FAILURE)


class TransferError(Exception):
    pass


# -- the data side -----------------------------------------------------------

class ImageioClient(object):
    """One HTTPS connection to an imageio endpoint (daemon or proxy)."""

    def __init__(self, url, ca_file=None, insecure=False, timeout=60):
        parsed = urllib.parse.urlparse(url)
        self.path = parsed.path
        if parsed.scheme == 'https':
            if insecure:
                ctx = ssl._create_unverified_context()
            else:
                ctx = ssl.create_default_context(cafile=ca_file)
            self._conn = http.client.HTTPSConnection(
                parsed.hostname, parsed.port, context=ctx, timeout=timeout)
        else:
            self._conn = http.client.HTTPConnection(
                parsed.hostname, parsed.port, timeout=timeout)

    def close(self):
        self._conn.close()

    def _request(self, method, body=None, headers=None, path=None):
        self._conn.request(method, path or self.path, body=body,
                           headers=headers or {})
        resp = self._conn.getresponse()
        if resp.status >= 400:
            detail = resp.read()[:512].decode('utf-8', 'replace')
            raise TransferError('imageio %s failed: %s %s %s' % (
                method, resp.status, resp.reason, detail))
        return resp

    def options(self):
        resp = self._request('OPTIONS')
        data = resp.read()
        try:
            return json.loads(data or b'{}')
        except ValueError:
            return {}

    def put(self, offset, data, total=None):
        end = offset + len(data) - 1
        headers = {'Content-Range': 'bytes %d-%d/%s' % (
            offset, end, total if total is not None else '*'),
            'Content-Length': str(len(data))}
        self._request('PUT', body=data, headers=headers).read()

    def _patch(self, op):
        body = json.dumps(op).encode()
        self._request('PATCH', body=body, headers={
            'Content-Type': 'application/json',
            'Content-Length': str(len(body))}).read()

    def zero(self, offset, size):
        self._patch({'op': 'zero', 'offset': offset, 'size': size,
                     'flush': False})

    def flush(self):
        self._patch({'op': 'flush'})

    def extents(self):
        resp = self._request('GET', path=self.path + '/extents')
        return json.loads(resp.read())

    def get(self, offset, size, chunk=CHUNK):
        """Yield the bytes [offset, offset+size) in chunks."""
        resp = self._request('GET', headers={
            'Range': 'bytes=%d-%d' % (offset, offset + size - 1)})
        remaining = size
        while remaining > 0:
            data = resp.read(min(chunk, remaining))
            if not data:
                raise TransferError('imageio GET ended %d bytes early'
                                    % remaining)
            remaining -= len(data)
            yield data


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
        except (OSError, http.client.HTTPException, TransferError) as e:
            client.close()
            errors.append('%s: %s' % (url, e))
    raise TransferError('no imageio endpoint reachable (%s)'
                        % '; '.join(errors))


def upload(client, reader, size, block=BLOCK, chunk=CHUNK):
    """Write reader's size bytes; zero runs become zero requests.

    Memory holds at most one PUT (``chunk``). Returns the bytes sent as
    data.
    """
    offset = sent = 0
    pending, pending_at = [], 0      # data blocks not sent yet
    zero_at = None                   # start of the current zero run

    def flush_data():
        nonlocal pending, sent
        if pending:
            data = b''.join(pending)
            client.put(pending_at, data, size)
            sent += len(data)
            pending = []

    while offset < size:
        data = reader.read(min(block, size - offset))
        if not data:
            raise TransferError('image data ended at %d of %d bytes'
                                % (offset, size))
        if data.count(0) == len(data):
            flush_data()
            if zero_at is None:
                zero_at = offset
        else:
            if zero_at is not None:
                client.zero(zero_at, offset - zero_at)
                zero_at = None
            if not pending:
                pending_at = offset
            pending.append(data)
            if sum(len(p) for p in pending) >= chunk:
                flush_data()
        offset += len(data)
    flush_data()
    if zero_at is not None:
        client.zero(zero_at, offset - zero_at)
    client.flush()
    return sent


def download(client, size, chunk=CHUNK):
    """Yield the disk's size bytes; zero extents are made here, not sent.

    A 20 GiB root disk holding 2 GiB of data moves 2 GiB over the wire.
    """
    try:
        extents = client.extents()
    except TransferError:
        extents = [{'start': 0, 'length': size, 'zero': False}]
    pos = 0
    for ext in extents:
        start, length = ext['start'], ext['length']
        end = min(start + length, size)
        if start >= size:
            break
        if ext.get('zero'):
            while start < end:
                n = min(chunk, end - start)
                yield bytes(n)
                start += n
        else:
            for data in client.get(start, end - start, chunk):
                yield data
        pos = end
    if pos < size:
        for data in client.get(pos, size - pos, chunk):
            yield data


# -- the engine side ---------------------------------------------------------

class Transfers(object):
    """Creating, waiting for and finishing image transfers of one engine."""

    def __init__(self, session, ca_file=None, insecure=False, timeout=60,
                 poll=0.2):
        self._session = session
        self._ca_file = ca_file
        self._insecure = insecure
        self._timeout = timeout
        self._poll = poll

    def _service(self, system, transfer_id):
        return system.image_transfers_service().image_transfer_service(
            transfer_id)

    def begin(self, direction, disk_id=None, snapshot_id=None,
              disk_format=types.DiskFormat.RAW, timeout=300):
        """Create a transfer and wait until it takes data.

        ``raw`` moves guest data whatever the disk's format; ``cow`` moves
        the qcow2 file itself (how a qcow2 Glance image is uploaded as is).
        """
        it = types.ImageTransfer(
            direction=direction, format=disk_format,
            inactivity_timeout=max(60, self._timeout),
            disk=types.Disk(id=disk_id) if disk_id else None,
            snapshot=(types.DiskSnapshot(id=snapshot_id)
                      if snapshot_id else None))
        transfer = self._session.write(
            lambda system: system.image_transfers_service().add(
                it, query=ovirt_session.q()))
        deadline = time.monotonic() + timeout
        while transfer.phase != _P.TRANSFERRING:
            if transfer.phase not in (None, _P.INITIALIZING, _P.RESUMING):
                raise TransferError('transfer %s is %s' % (
                    transfer.id, transfer.phase))
            if time.monotonic() > deadline:
                self.cancel(transfer.id)
                raise TransferError('transfer %s did not start in %ds'
                                    % (transfer.id, timeout))
            time.sleep(self._poll)
            transfer = self._session.read(
                lambda system: self._service(system, transfer.id).get())
        return transfer

    def client(self, transfer):
        return open_client(transfer, self._ca_file, self._insecure,
                           self._timeout)

    def finalize(self, transfer_id, timeout=300):
        """Finalize and wait for finished_success (raises otherwise)."""
        self._session.write(
            lambda system: self._service(system, transfer_id).finalize(
                query=ovirt_session.q()))
        deadline = time.monotonic() + timeout
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
            time.sleep(self._poll)

    def cancel(self, transfer_id):
        """Cancel (an upload's disk goes with it); never raises."""
        try:
            self._session.write(
                lambda system: self._service(system, transfer_id).cancel(
                    query=ovirt_session.q()))
        except sdk.Error as e:
            LOG.debug('Cancelling transfer %s: %s', transfer_id, e)
