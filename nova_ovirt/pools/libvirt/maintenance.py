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

"""Maintenance mode of a libvirt host, kept by libvirtd on the host.

One nova-compute service may manage several libvirt hosts, and nova's own
switch (``openstack compute service set --disable``) takes the whole
service out of scheduling. A host in maintenance instead keeps its node in
placement with all of its inventory reserved (``reserved = total``, the
way nova's ironic driver takes a node out): the scheduler offers it no
new guest, its guests keep running and stay manageable, and live
migrations away from it work as usual.

The mark lives where the claim lives (:mod:`.claims`), for the same
reasons: an inactive, never-started libvirt network named
``nova-ovirt-maintenance`` whose ``<metadata>`` holds the reason and the
time it was set (``virsh net-dumpxml nova-ovirt-maintenance``). So it
survives a restart of nova-compute and of libvirtd, follows the host if
another service takes it over, and can be set by ``nova-ovirt-manage``
from outside nova-compute. A network of its own, not more metadata on the
claim's: the claim is rewritten every minute by the heartbeat, which would
race with the command.
"""

import dataclasses
import time
from xml.etree import ElementTree as ET

import libvirt

from nova_ovirt.pools.libvirt import errors

NETWORK_NAME = 'nova-ovirt-maintenance'
NAMESPACE = 'https://opendev.org/x/nova-ovirt/maintenance/1'


@dataclasses.dataclass(frozen=True)
class Maintenance:
    """Why and since when (seconds since the epoch) a host is out."""

    reason: str
    since: float

    def describe(self):
        return 'in maintenance since %s: %s' % (
            time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(self.since)),
            self.reason or '(no reason given)')


class NoNetworkDriver(Exception):
    """libvirtd has no network driver: it cannot keep the mark."""


def _lookup(conn):
    try:
        return errors.network_or_none(conn, NETWORK_NAME)
    except libvirt.libvirtError as e:
        if e.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
            raise NoNetworkDriver(str(e))
        raise


def parse_network_xml(xml):
    root = ET.fromstring(xml)
    found = root.find('metadata/{%s}maintenance' % NAMESPACE)
    if found is None:
        # Our network without our metadata: still a maintenance mark
        # (someone edited it); never guess the host back into service.
        return Maintenance('', 0.0)
    try:
        since = float(found.findtext('{%s}since' % NAMESPACE))
    except (TypeError, ValueError):
        since = 0.0
    return Maintenance(found.findtext('{%s}reason' % NAMESPACE) or '',
                       since)


def network_xml(mark):
    root = ET.Element('network')
    ET.SubElement(root, 'name').text = NETWORK_NAME
    ET.register_namespace('nova-ovirt', NAMESPACE)
    meta = ET.SubElement(ET.SubElement(root, 'metadata'),
                         '{%s}maintenance' % NAMESPACE)
    ET.SubElement(meta, '{%s}reason' % NAMESPACE).text = mark.reason
    ET.SubElement(meta, '{%s}since' % NAMESPACE).text = '%.3f' % mark.since
    return ET.tostring(root, encoding='unicode')


def read(conn):
    """The host's Maintenance, or None when it is in service.

    A host whose libvirtd has no network driver cannot be marked, so it is
    in service.
    """
    try:
        network = _lookup(conn)
    except NoNetworkDriver:
        return None
    return None if network is None else parse_network_xml(network.XMLDesc())


def enter(conn, reason, now=None):
    """Mark the host; an existing mark keeps its time. Returns the mark."""
    existing = _lookup(conn)
    if existing is not None:
        return parse_network_xml(existing.XMLDesc())
    mark = Maintenance(reason or '', time.time() if now is None else now)
    conn.networkDefineXML(network_xml(mark))
    return mark


def leave(conn):
    """Remove the mark; False if the host was in service."""
    network = _lookup(conn)
    if network is None:
        return False
    network.undefine()
    return True
