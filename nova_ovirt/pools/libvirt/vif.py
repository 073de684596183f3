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

"""Neutron ports (nova VIFs) as libvirt <interface> elements.

libvirt plugs the tap into the bridge itself (and into Open vSwitch with
the port id as iface-id), so plug_vifs has nothing left to do. A bridge
that does not exist on the host makes libvirt refuse to start the guest,
and that error reaches the user: it is a host setup mistake, not something
to paper over.
"""

from xml.etree import ElementTree as etree

from nova.network import model as network_model

from nova_ovirt.pools.libvirt import errors

SUPPORTED_TYPES = (network_model.VIF_TYPE_BRIDGE, network_model.VIF_TYPE_OVS)
# Linux limits interface names to 15 characters.
_MAX_DEVNAME = 14


def _bridge(vif, ovs_bridge):
    network = vif.get('network') or {}
    bridge = network.get('bridge')
    if not bridge and vif['type'] == network_model.VIF_TYPE_OVS:
        bridge = ovs_bridge
    if not bridge:
        raise errors.UnsupportedVifType(
            port_id=vif.get('id'),
            vif_type='%s without a bridge name' % vif['type'])
    return bridge


def _mtu(vif):
    network = vif.get('network') or {}
    meta = network.get('meta') or {}
    return meta.get('mtu')


def interface_element(vif, ovs_bridge='br-int', model='virtio'):
    """<interface> for one nova VIF; raise UnsupportedVifType otherwise.

    model: the NIC qemu emulates (the image's hw_vif_model).
    """
    vif_type = vif.get('type')
    if vif_type not in SUPPORTED_TYPES:
        raise errors.UnsupportedVifType(port_id=vif.get('id'),
                                        vif_type=vif_type)
    interface = etree.Element('interface', type='bridge')
    etree.SubElement(interface, 'mac', address=vif['address'])
    etree.SubElement(interface, 'source', bridge=_bridge(vif, ovs_bridge))
    etree.SubElement(interface, 'model', type=model)
    devname = vif.get('devname')
    if devname:
        etree.SubElement(interface, 'target', dev=devname[:_MAX_DEVNAME])
    mtu = _mtu(vif)
    if mtu:
        etree.SubElement(interface, 'mtu', size=str(mtu))
    if vif_type == network_model.VIF_TYPE_OVS:
        port = etree.SubElement(interface, 'virtualport', type='openvswitch')
        etree.SubElement(port, 'parameters', interfaceid=vif['id'])
    return interface


def interface_xml(vif, ovs_bridge='br-int', model='virtio'):
    return etree.tostring(interface_element(vif, ovs_bridge, model),
                          encoding='unicode')


def interfaces(network_info, ovs_bridge='br-int', model='virtio'):
    return [interface_element(vif, ovs_bridge, model)
            for vif in (network_info or [])]
