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

oVirt wires a vNIC to a logical network through a vNIC profile; Neutron
knows the port's physical network (provider networks) or at least its
network name. ``vnic_profile_mappings`` maps either to a profile, the
physical network first; ``default_vnic_profile`` takes the rest. The vNIC
carries the port's MAC so that Neutron's DHCP and security rules match.
"""

from ovirtsdk4 import types


def network_keys(vif):
    """Keys to look up in the mappings, most specific first."""
    network = vif.get('network') or {}
    meta = network.get('meta') or {}
    keys = [meta.get('physical_network'), network.get('label'),
            network.get('id')]
    return [k for k in keys if k]


def profile_name(vif, mappings, default):
    for key in network_keys(vif):
        if key in mappings:
            return mappings[key]
    return default


def nic_name(vif):
    """Stable per port, so detach finds the NIC it attached."""
    return 'nic-%s' % vif['id'][:11]


def nic_for(vif, profile_id):
    return types.Nic(
        name=nic_name(vif),
        mac=types.Mac(address=vif['address']),
        interface=types.NicInterface.VIRTIO,
        vnic_profile=types.VnicProfile(id=profile_id))
