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

"""What each node reports to placement.

Pools report what their hardware has (totals and the largest amount one
guest can get); this module adds what nova's configuration says about
over-commit and reservations, the same way nova's in-tree drivers do, and
the traits that let flavors pick a pool.
"""

import os_resource_classes as orc

import nova.conf
from nova.virt import driver as nova_driver

CONF = nova.conf.CONF

_RESERVED = {
    orc.VCPU: lambda: CONF.reserved_host_cpus,
    orc.MEMORY_MB: lambda: CONF.reserved_host_memory_mb,
    orc.DISK_GB: nova_driver.ComputeDriver._get_reserved_host_disk_gb_from_config,
}


def build_inventory(hardware, current_inventory):
    """Turn a pool's hardware figures into placement inventory records.

    :param hardware: {resource class: {'total': n, 'max_unit': n}}
    :param current_inventory: what placement has now, so that ratios an
        operator set through the placement API survive (nova's precedence).
    """
    ratios = nova_driver.ComputeDriver._get_allocation_ratios(
        current_inventory)
    inventory = {}
    for rc, figures in hardware.items():
        total = int(figures['total'])
        if total <= 0:
            # Placement refuses total=0 records; a node without capacity
            # (a cluster whose hosts are all in maintenance) simply has none.
            continue
        reserved = _RESERVED[rc]() if rc in _RESERVED else 0
        inventory[rc] = {
            'total': total,
            'min_unit': 1,
            'max_unit': max(1, min(int(figures.get('max_unit', total)),
                                   total)),
            'step_size': 1,
            'allocation_ratio': ratios.get(rc, 1.0),
            # A reservation larger than the node would make the whole
            # inventory update fail; cap it so the node stays usable.
            'reserved': min(reserved, total),
        }
    return inventory


def update_provider_tree(provider_tree, nodename, hardware, traits):
    """Set the node's inventory and our traits, keeping foreign traits."""
    current = provider_tree.data(nodename).inventory
    provider_tree.update_inventory(
        nodename, build_inventory(hardware, current))
    provider_tree.add_traits(nodename, *traits)


def remove_traits(provider_tree, nodename, traits):
    """Drop capability traits the driver reports as unsupported."""
    present = [t for t in traits if provider_tree.has_traits(nodename, [t])]
    if present:
        provider_tree.remove_traits(nodename, *present)
