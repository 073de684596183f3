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

"""Adopting a running libvirt domain at spawn (see :mod:`nova_ovirt.adoption`).

The token's record is an element of the driver's metadata namespace in
the domain (``<novaovirt:adoption-offer>``), set live and in the
persistent definition at once: libvirt stores metadata itself, so the
guest sees nothing. libvirt keeps one element per namespace, so
adopting is one metadata update that replaces the offer by the
ownership mark; the mark names the instance and the domain's own UUID
(a running domain's UUID cannot change), which is how
:meth:`Host.find_domain` finds the instance's domain afterwards. No
power action, no redefinition, no disk copy.

What makes a domain adoptable is decided here once, for the driver's
spawn and for the command's ``--dry-run`` alike (:func:`problems`).
"""

from xml.etree import ElementTree as etree

import libvirt
from oslo_log import log as logging

from nova_ovirt import adoption
from nova_ovirt.pools.libvirt import config
from nova_ovirt.pools.libvirt import errors
from nova_ovirt.pools.libvirt import host as host_mod

LOG = logging.getLogger(__name__)

#: Disk types whose guest keeps working under Nova: files and block
#: devices of the host. Network disks (Cinder's business), storage-pool
#: volumes, directories and vhost-user devices are refused.
SUPPORTED_DISK_TYPES = ('file', 'block')
JOB_OPERATIONS = {
    libvirt.VIR_DOMAIN_JOB_OPERATION_START: 'start',
    libvirt.VIR_DOMAIN_JOB_OPERATION_SAVE: 'save',
    libvirt.VIR_DOMAIN_JOB_OPERATION_RESTORE: 'restore',
    libvirt.VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN: 'incoming migration',
    libvirt.VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT: 'migration',
    libvirt.VIR_DOMAIN_JOB_OPERATION_SNAPSHOT: 'snapshot',
    libvirt.VIR_DOMAIN_JOB_OPERATION_SNAPSHOT_REVERT: 'snapshot revert',
    libvirt.VIR_DOMAIN_JOB_OPERATION_DUMP: 'dump',
    libvirt.VIR_DOMAIN_JOB_OPERATION_BACKUP: 'backup',
}
STATE_NAMES = {
    libvirt.VIR_DOMAIN_NOSTATE: 'nostate',
    libvirt.VIR_DOMAIN_RUNNING: 'running',
    libvirt.VIR_DOMAIN_BLOCKED: 'blocked',
    libvirt.VIR_DOMAIN_PAUSED: 'paused',
    libvirt.VIR_DOMAIN_SHUTDOWN: 'shutting down',
    libvirt.VIR_DOMAIN_SHUTOFF: 'shut off',
    libvirt.VIR_DOMAIN_CRASHED: 'crashed',
    libvirt.VIR_DOMAIN_PMSUSPENDED: 'pmsuspended',
}
PAUSED_REASONS = {
    libvirt.VIR_DOMAIN_PAUSED_MIGRATION: 'migration',
    libvirt.VIR_DOMAIN_PAUSED_SAVE: 'save',
    libvirt.VIR_DOMAIN_PAUSED_DUMP: 'dump',
    libvirt.VIR_DOMAIN_PAUSED_SNAPSHOT: 'snapshot',
    libvirt.VIR_DOMAIN_PAUSED_STARTING_UP: 'starting up',
    libvirt.VIR_DOMAIN_PAUSED_POSTCOPY: 'post-copy migration',
    libvirt.VIR_DOMAIN_PAUSED_IOERROR: 'I/O error',
}


def metadata_flags(domain):
    """Metadata changes go to the running domain and its definition."""
    flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
    if domain.isActive():
        flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
    return flags


def set_element(domain, element):
    """Our namespace's element of the domain := element (None: remove)."""
    xml = config.element_text(element) if element is not None else None
    domain.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, xml,
                       config.METADATA_PREFIX if xml else None,
                       config.METADATA_NS, metadata_flags(domain))


class DomainFacts(object):
    """What adoption needs to know of one domain, read once."""

    def __init__(self, domain):
        self.uuid = domain.UUIDString()
        self.name = domain.name()
        self.active = bool(domain.isActive())
        self.persistent = bool(domain.isPersistent())
        self.state, self.reason = domain.state()[:2]
        # A job (outgoing migration, backup, dump) runs while the domain
        # still says running: its operation, or None without a job.
        self.job = _job_operation(domain) if self.active else None
        self.metadata = host_mod.read_metadata(domain)
        root = etree.fromstring(domain.XMLDesc(0))
        self.vcpus = int(root.findtext('vcpu') or 1)
        memory = root.find('memory')
        self.memory_mb = _kib(memory) // 1024
        self.interfaces = [_interface(i)
                           for i in root.findall('devices/interface')]
        self.disks = [(d.get('type'), d.get('device') or 'disk',
                       _target(d)) for d in root.findall('devices/disk')]

    @property
    def macs(self):
        return [mac for mac, _source in self.interfaces if mac]

    @property
    def offer(self):
        return config.offer_record(self.metadata)

    @property
    def owner(self):
        return config.metadata_owner(self.metadata, self.uuid)[0]

    def state_text(self):
        text = STATE_NAMES.get(self.state, str(self.state))
        if self.state == libvirt.VIR_DOMAIN_PAUSED and \
                self.reason in PAUSED_REASONS:
            text += ' (%s)' % PAUSED_REASONS[self.reason]
        return text


def _job_operation(domain):
    """What the domain's running job does ('backup', ...), or None."""
    try:
        stats = domain.jobStats(0)
    except libvirt.libvirtError as e:
        # A hypervisor driver without jobs (libvirt's test driver) runs
        # none.
        if errors.is_unsupported(e):
            return None
        raise
    if stats.get('type', libvirt.VIR_DOMAIN_JOB_NONE) == \
            libvirt.VIR_DOMAIN_JOB_NONE:
        return None
    return JOB_OPERATIONS.get(stats.get('operation'), 'unknown')


_UNITS_KIB = {'b': 1 / 1024.0, 'bytes': 1 / 1024.0, 'k': 1, 'kib': 1,
              'kb': 1000 / 1024.0, 'm': 1024, 'mib': 1024,
              'mb': 1000 ** 2 / 1024.0, 'g': 1024 ** 2, 'gib': 1024 ** 2,
              'gb': 1000 ** 3 / 1024.0}


def _kib(element):
    if element is None or not element.text:
        return 0
    unit = (element.get('unit') or 'KiB').lower()
    return int(int(element.text) * _UNITS_KIB.get(unit, 1))


def _interface(element):
    mac = element.find('mac')
    source = element.find('source')
    name = None
    if source is not None:
        name = source.get('bridge') or source.get('network') or \
            source.get('dev')
    return ((mac.get('address') or '').lower() if mac is not None else None,
            name)


def _target(disk):
    target = disk.find('target')
    return target.get('dev') if target is not None else '?'


def stable(facts):
    """Nothing is moving: the domain can change hands."""
    if facts.job is not None:
        return False
    if facts.state == libvirt.VIR_DOMAIN_PAUSED:
        return facts.reason == libvirt.VIR_DOMAIN_PAUSED_USER
    return facts.state in (libvirt.VIR_DOMAIN_RUNNING,
                           libvirt.VIR_DOMAIN_SHUTOFF)


def problems(facts, offered=False):
    """Why the domain cannot be adopted now: a list (empty: it can).

    offered: the caller is the adoption boot, which expects an offer on
    the domain (and checks it on its own); for the command, an offer
    already there means another adoption is under way.
    """
    found = []
    if facts.owner is not None:
        found.append('already owned by Nova instance %s' % facts.owner)
    elif not offered and facts.offer is not None:
        found.append('an adoption is already in progress (token present)')
    if not facts.persistent:
        found.append('it is a transient domain (Nova stops and starts '
                     'guests: define it persistently first)')
    if not stable(facts):
        found.append('it is in the transient state %s' % (
            facts.state_text() if facts.job is None else
            '%s with a %s job running' % (facts.state_text(), facts.job)))
    for disk_type, device, target in facts.disks:
        if disk_type not in SUPPORTED_DISK_TYPES:
            found.append('disk %s has the unsupported type %s' % (
                target, disk_type))
    return found


class Adoption(object):
    """The spawn of an adoption boot on one libvirt host."""

    def __init__(self, host):
        self.host = host

    def adopt(self, instance, network_info, request):
        """Make the domain `request.vm_id` the instance's domain.

        :raises AdoptionRefused: with nothing changed on the host
        """
        with adoption.CONSUME_LOCK:
            with self.host.translated('Adopting domain %s' % request.vm_id):
                domain = self._lookup(request)
                facts = DomainFacts(domain)
                self._check(instance, network_info, request, facts)
                self._mark(instance, domain, facts)
        LOG.info('Adopted domain %s (%s) on %s without a power action',
                 facts.uuid, facts.name, self.host.nodename,
                 instance=instance)

    def _lookup(self, request):
        try:
            return self.host.connection.lookupByUUIDString(request.vm_id)
        except libvirt.libvirtError as e:
            if not errors.is_missing_domain(e) and \
                    e.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
                raise
        raise adoption.AdoptionRefused(
            vm=request.vm_id,
            reason='node %s has no domain with this UUID'
                   % self.host.nodename)

    def _check(self, instance, network_info, request, facts):
        reasons = problems(facts, offered=True)
        if reasons:
            raise adoption.AdoptionRefused(vm=request.vm_id,
                                           reason='; '.join(reasons))
        adoption.check_record(request, facts.offer)
        adoption.check_flavor(request, instance.flavor, facts.vcpus,
                              facts.memory_mb)
        # The ports' networks were matched to the interfaces' bridges by
        # the command (bridge_mappings); the guest's wiring stays as it is.
        adoption.check_macs(request, network_info, facts.macs)

    def _mark(self, instance, domain, facts):
        """One metadata update: the offer out, Nova's mark in."""
        set_element(domain, config.metadata_element(
            instance.uuid, instance.display_name or instance.uuid,
            instance.flavor, instance.project_id, instance.user_id,
            self.host.pool_name, self.host.nodename,
            adopted_domain=facts.uuid))
        self.host.note_owned(instance.uuid, instance.name, facts.uuid)


def adopt_if_requested(host, instance, network_info):
    """True when the boot was an adoption (done); False for a normal boot.

    The one hook of the spawn path: a boot that carries adoption metadata
    adopts or fails, it never creates a domain.
    """
    request = adoption.request_of(instance)
    if request is None:
        return False
    Adoption(host).adopt(instance, network_info, request)
    return True
