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

"""Claims on libvirt hosts, kept by libvirtd in a network definition.

The driver has no agent on the host, so the claim must be something
libvirtd persists and serves over the same connection: an inactive,
never-started network named ``nova-ovirt-claim`` whose ``<metadata>``
holds the claim (``virsh net-dumpxml nova-ovirt-claim`` shows it).
Defining a network changes nothing on the host until it is started; a
secret would fit too, but libvirt's test driver has no secrets and the
unit tests run on it. See :mod:`nova_ovirt.claims` for the rules.
"""

from xml.etree import ElementTree as ET

import libvirt
from oslo_log import log as logging

from nova_ovirt import claims
from nova_ovirt.pools.libvirt import errors

LOG = logging.getLogger(__name__)

NETWORK_NAME = 'nova-ovirt-claim'
NAMESPACE = 'https://opendev.org/x/nova-ovirt/claim/1'


def _lookup(conn):
    return errors.network_or_none(conn, NETWORK_NAME)


def parse_network_xml(xml):
    """The claim in the network's metadata, or None."""
    root = ET.fromstring(xml)
    found = root.find('metadata/{%s}claim' % NAMESPACE)
    if found is None:
        return None
    try:
        return claims.Claim(found.findtext('{%s}host' % NAMESPACE),
                            float(found.findtext('{%s}heartbeat' % NAMESPACE)))
    except (TypeError, ValueError):
        return None


def network_xml(claim, uuid=None):
    root = ET.Element('network')
    ET.SubElement(root, 'name').text = NETWORK_NAME
    if uuid:
        ET.SubElement(root, 'uuid').text = uuid
    ET.register_namespace('nova-ovirt', NAMESPACE)
    meta = ET.SubElement(ET.SubElement(root, 'metadata'),
                         '{%s}claim' % NAMESPACE)
    ET.SubElement(meta, '{%s}host' % NAMESPACE).text = claim.host
    ET.SubElement(meta, '{%s}heartbeat' % NAMESPACE).text = (
        '%.3f' % claim.heartbeat)
    return ET.tostring(root, encoding='unicode')


def read(conn):
    network = _lookup(conn)
    return None if network is None else parse_network_xml(network.XMLDesc())


def write(conn, claim):
    network = _lookup(conn)
    uuid = network.UUIDString() if network is not None else None
    conn.networkDefineXML(network_xml(claim, uuid))


def release(conn, host):
    """Drop ``host``'s claim; False if it holds none."""
    network = _lookup(conn)
    existing = None if network is None else parse_network_xml(
        network.XMLDesc())
    if existing is None or existing.host != host:
        return False
    network.undefine()
    return True


def _no_network_driver(error):
    # "this function is not supported by the connection driver": e.g. a
    # modular libvirt reached through virtqemud, without virtnetworkd.
    return error.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT


def acquire(conn, host, node, group, option, value):
    """Claim the host behind ``conn`` for ``host`` or raise
    PoolConfigError naming the service that holds it.

    A host whose libvirt has no network driver cannot keep a claim: the
    node is used unclaimed, with a warning.
    """
    try:
        existing = read(conn)
    except libvirt.libvirtError as e:
        if not _no_network_driver(e):
            raise
        LOG.warning('%s = %r: libvirt host %r has no network driver, so '
                    'no claim can be recorded on it; make sure only one '
                    'nova-compute service manages it', group, value, node)
        return
    claims.check(existing, host, 'libvirt host %r' % node, node, group,
                 option, value)
    write(conn, claims.new_claim(host))


def heartbeat(conn, host):
    """Refresh our claim; False when another service holds it now."""
    try:
        existing = read(conn)
    except libvirt.libvirtError as e:
        if _no_network_driver(e):
            return True     # unclaimed host (see acquire)
        raise
    if existing is not None and existing.host != host:
        return False
    write(conn, claims.new_claim(host))
    return True


def take_over(conn, host, node, force=False):
    claims.check_takeover(read(conn), host, 'libvirt host %r' % node, force)
    write(conn, claims.new_claim(host))
