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

"""Adoption boots on libvirt hosts (see :mod:`nova_ovirt.adoption`).

The libvirt pool finds a guest by its domain UUID, which is the instance
UUID of the domains it created; a running foreign domain keeps the UUID
it was defined with, so it cannot be found under a Nova instance UUID
without a second lookup path. Until that path exists, an adoption boot
that lands on a libvirt node is refused, so that it never creates a
domain either (the same rule as oVirt pools: a boot that carries
adoption metadata adopts or fails).
"""

from nova_ovirt import adoption


def adopt_if_requested(instance):
    """False for a normal boot; AdoptionRefused for an adoption boot."""
    request = adoption.request_of(instance)
    if request is None:
        return False
    raise adoption.AdoptionRefused(
        vm=request.vm_id,
        reason='libvirt pools cannot adopt running domains yet')
