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

Storage that several nodes share (an oVirt storage domain used by several
clusters) is reported the way placement models shared storage: once, by a
sharing provider (trait ``MISC_SHARES_VIA_AGGREGATE``) in an aggregate with
every node that uses it, so that N nodes never offer the same GiB N times.
nova 34 hands the driver the subtree of one compute node; a provider added
there as a new root is created and kept in sync by nova's report client
(``update_from_provider_tree`` adds providers that are not in the node's
subtree, and never removes a provider outside of it).
"""

import collections

import os_resource_classes as orc
import os_traits

import nova.conf
from nova.virt import driver as nova_driver

CONF = nova.conf.CONF

#: Storage shared by several nodes: the sharing provider's uuid and name,
#: the aggregate it shares through, and its hardware figures in the form
#: build_inventory takes (with 'reserved' for what others use).
SharedStorage = collections.namedtuple(
    'SharedStorage', 'uuid name aggregate hardware')

_RESERVED = {
    orc.VCPU: lambda: CONF.reserved_host_cpus,
    orc.MEMORY_MB: lambda: CONF.reserved_host_memory_mb,
    orc.DISK_GB:
        nova_driver.ComputeDriver._get_reserved_host_disk_gb_from_config,
}


def build_inventory(hardware, current_inventory):
    """Turn a pool's hardware figures into placement inventory records.

    :param hardware: {resource class: {'total': n, 'max_unit': n}}, with
        'reserved' where the pool decides it
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
        if 'reserved' in figures:
            # The pool's own reservation: what others use of a sharing
            # provider, or all of a node out of service (maintenance),
            # instead of nova's per-host reservation.
            reserved = int(figures['reserved'])
        else:
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


def update_shared_providers(provider_tree, nodename, shared):
    """Put each shared storage in the tree as a sharing provider.

    The node joins the storage's aggregate; aggregates the node has for
    other reasons (nova host aggregates mirrored to placement) stay.
    """
    for storage in shared:
        if not provider_tree.exists(storage.uuid):
            provider_tree.new_root(storage.name, storage.uuid)
        current = provider_tree.data(storage.uuid).inventory
        provider_tree.update_inventory(
            storage.uuid, build_inventory(storage.hardware, current))
        provider_tree.update_traits(
            storage.uuid, [os_traits.MISC_SHARES_VIA_AGGREGATE])
        provider_tree.update_aggregates(storage.uuid, [storage.aggregate])
        provider_tree.add_aggregates(nodename, storage.aggregate)


def needs_reshape(provider_tree, nodename, hardware, shared):
    """Whether the node still holds a class that moved to a sharing
    provider (a node reported by an older release of the driver)."""
    moved = {rc for storage in shared for rc in storage.hardware}
    held = set(provider_tree.data(nodename).inventory)
    return bool((moved & held) - set(hardware))


def move_allocations(allocations, node_uuid, hardware, shared):
    """Move the node's allocations of a shared class to its sharing
    provider, in the reshape's allocations (changed in place)."""
    targets = {rc: storage.uuid for storage in shared
               for rc in storage.hardware if rc not in hardware}
    for consumer in allocations.values():
        allocs = consumer['allocations']
        node = allocs.get(node_uuid)
        if node is None:
            continue
        for rc, target in targets.items():
            amount = node['resources'].pop(rc, None)
            if amount is None:
                continue
            dest = allocs.setdefault(target, {'resources': {}})
            dest['resources'][rc] = dest['resources'].get(rc, 0) + amount
        if not node['resources']:
            del allocs[node_uuid]


def remove_traits(provider_tree, nodename, traits):
    """Drop capability traits the driver reports as unsupported."""
    present = [t for t in traits if provider_tree.has_traits(nodename, [t])]
    if present:
        provider_tree.remove_traits(nodename, *present)
