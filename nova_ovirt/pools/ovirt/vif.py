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

"""Neutron ports -> oVirt vNICs.

oVirt wires a vNIC to a logical network through a vNIC profile.
``vnic_profile_mappings`` says which profile carries which Neutron network,
keyed by what only an operator sets: the network's provider physical
network, or the network's UUID. Never its name: tenants choose names, and
a tenant could name a network after a mapped key. A port whose network has
no mapping fails (there is no default profile: an unmapped tenant network
must not land on the engine's management network).

The vNIC carries the port's MAC so that Neutron's DHCP and its security
groups' rules (enforced by Neutron's own agents, when any is on the path)
match. What oVirt itself enforces is the profile's network filter; see
doc/source/configuration.rst, "Networks".
"""

from ovirtsdk4 import types

from nova_ovirt import exception

#: The option that maps networks, named in the faults of unmapped ones.
MAPPINGS_OPTION = 'vnic_profile_mappings'
#: The engine's network filter that drops a vNIC's frames with another MAC.
NO_MAC_SPOOFING = 'vdsm-no-mac-spoofing'


def network_keys(vif):
    """Keys to look up in the mappings, most specific first: the provider
    physical network, then the network's UUID (both set by the operator;
    the label a tenant chose is never one)."""
    network = vif.get('network') or {}
    meta = network.get('meta') or {}
    keys = [meta.get('physical_network'), network.get('id')]
    return [k for k in keys if k]


def network_text(vif):
    network = vif.get('network') or {}
    meta = network.get('meta') or {}
    text = '%s (%s' % (network.get('id'), network.get('label') or 'no name')
    if meta.get('physical_network'):
        text += ', physical network %s' % meta['physical_network']
    return text + ')'


def profile_name(vif, mappings, group):
    """The vNIC profile of the port's network; UnmappedNetwork if none."""
    for key in network_keys(vif):
        if key in mappings:
            return mappings[key]
    raise exception.UnmappedNetwork(
        network=network_text(vif),
        option='[%s] %s' % (group, MAPPINGS_OPTION))


def nic_name(vif):
    """Stable per port, so detach finds the NIC it attached."""
    return 'nic-%s' % vif['id'][:11]


def nic_for(vif, profile_id):
    return types.Nic(
        name=nic_name(vif),
        mac=types.Mac(address=vif['address']),
        interface=types.NicInterface.VIRTIO,
        vnic_profile=types.VnicProfile(id=profile_id))
