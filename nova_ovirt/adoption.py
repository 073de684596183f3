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

"""One-time adoption tokens: how a Nova boot takes over a running VM.

Nova has no import API, and this project never writes Nova's database.
Adopting a running VM is therefore an ordinary admin boot, targeted at the
VM's node, whose server metadata names the VM and carries a secret token.
``nova-ovirt-manage adopt`` records the token's SHA-256 digest and an
expiry on the VM itself (in the engine, or in the libvirt domain); the
driver's spawn then adopts that VM instead of creating one, but only when:

- the digest on the VM matches the token of the boot (a tenant cannot
  know it: it exists in the operator's command and in the boot request);
- the record has not expired;
- the record is still there: adopting removes it in the same update that
  marks the VM as Nova's, so a token works once.

Everything here is backend-neutral text handling; the backends
(``pools/<backend>/adopt.py``) read and write the record where their VMs
keep free text. This module does not talk to any backend or to Nova.
"""

import hashlib
import hmac
import re
import secrets
import threading
import time

from nova import exception as nova_exception

#: Server metadata keys of an adoption boot.
META_VM = 'nova-ovirt:adopt-vm'
META_TOKEN = 'nova-ovirt:adopt-token'
#: Server metadata key with the VM's description before adoption, so
#: that release gives it back.
META_DESCRIPTION = 'nova-ovirt:vm-description'

#: Seconds a token stays valid unless the command says otherwise: long
#: enough for a boot through a busy scheduler, short enough that a token
#: left behind by a killed command is soon worthless.
DEFAULT_TTL = 600

_RECORD_FMT = '[nova-ovirt:adopt sha256=%s expires=%d]'
_RECORD_RE = re.compile(
    r'\s*\[nova-ovirt:adopt sha256=([0-9a-f]{64}) expires=(\d+)\]')

#: Consuming a token is read, check, write: one at a time per process.
#: One nova-compute service owns a cluster or host (design.md), so a
#: process lock makes the consumption atomic for that backend.
CONSUME_LOCK = threading.Lock()


class AdoptionRefused(nova_exception.InvalidInput):
    """The boot asked to adopt a VM and may not; nothing was changed.

    An InvalidInput: nova's compute manager aborts the build (no
    reschedule to another node) and records the message as the fault.
    """
    msg_fmt = 'Adoption of VM %(vm)s refused: %(reason)s'


class AdoptionRequest(object):
    def __init__(self, vm_id, token):
        self.vm_id = vm_id
        self.token = token


def new_token():
    return secrets.token_urlsafe(32)


def digest(token):
    return hashlib.sha256(token.encode('utf-8')).hexdigest()


def record(token, ttl=DEFAULT_TTL, now=None):
    """The text the command stores on the VM for `token`."""
    now = time.time() if now is None else now
    return _RECORD_FMT % (digest(token), int(now + ttl))


def with_record(text, token, ttl=DEFAULT_TTL, now=None):
    """`text` (a comment, a metadata element) with the token's record."""
    return strip_record(text) + record(token, ttl, now)


def strip_record(text):
    """`text` without any adoption record: what it was before."""
    return _RECORD_RE.sub('', text or '')


def has_record(text):
    return _RECORD_RE.search(text or '') is not None


def request_of(instance):
    """The AdoptionRequest of a boot, or None for an ordinary boot.

    Raises AdoptionRefused when only half of the request is there: such a
    boot must neither adopt nor create a VM.
    """
    # Nova's build hands spawn the instance with its metadata loaded; a
    # driver must not lazy-load it (a database round trip per boot).
    meta = (instance.metadata if instance.obj_attr_is_set('metadata')
            else None) or {}
    vm_id, token = meta.get(META_VM), meta.get(META_TOKEN)
    if not vm_id and not token:
        return None
    if not (vm_id and token):
        raise AdoptionRefused(
            vm=vm_id or '?',
            reason='server metadata needs both %s and %s' % (
                META_VM, META_TOKEN))
    return AdoptionRequest(vm_id, token)


def check_record(request, text, now=None):
    """Raise AdoptionRefused unless `text` holds a live record of the
    request's token."""
    match = _RECORD_RE.search(text or '')
    if match is None:
        raise AdoptionRefused(
            vm=request.vm_id,
            reason='the VM has no adoption token (never offered, already '
                   'used or withdrawn); run nova-ovirt-manage adopt')
    if not hmac.compare_digest(match.group(1), digest(request.token)):
        raise AdoptionRefused(vm=request.vm_id,
                              reason='the adoption token does not match')
    now = time.time() if now is None else now
    if int(match.group(2)) < now:
        raise AdoptionRefused(vm=request.vm_id,
                              reason='the adoption token has expired')


def check_flavor(request, flavor, vcpus, memory_mb):
    """The flavor sells what the VM has, so placement counts it right."""
    if (flavor.vcpus, flavor.memory_mb) != (vcpus, memory_mb):
        raise AdoptionRefused(
            vm=request.vm_id,
            reason='flavor %s has %d vCPUs and %d MiB; the VM has %d vCPUs '
                   'and %d MiB' % (flavor.name, flavor.vcpus,
                                   flavor.memory_mb, vcpus, memory_mb))


def check_macs(request, network_info, vm_macs):
    """Every port of the boot is one of the VM's NICs, and every NIC has
    its port: Nova then knows the whole network side of the VM."""
    port_macs = sorted((vif.get('address') or '').lower()
                       for vif in network_info or [])
    vm_macs = sorted(m.lower() for m in vm_macs)
    if port_macs != vm_macs:
        raise AdoptionRefused(
            vm=request.vm_id,
            reason='the ports\' MAC addresses %s are not the VM\'s NICs %s'
                   % (', '.join(port_macs) or 'none',
                      ', '.join(vm_macs) or 'none'))
