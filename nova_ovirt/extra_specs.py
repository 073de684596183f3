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

"""Flavor extra specs nova-ovirt adds, for nova-api's validation.

nova-api (microversion 2.86 and later) refuses extra specs in the ``hw``
namespace that no validator declares; nova declares none for the guest CPU
mode and model, which nova's libvirt driver takes from nova.conf only.
nova loads this module through the ``nova.api.extra_spec_validators``
entry point when nova-ovirt is installed next to nova-api.
"""

from nova.api.validation.extra_specs import base

from nova_ovirt import guest_config

EXTRA_SPEC_VALIDATORS = [
    base.ExtraSpecValidator(
        name='hw:cpu_mode',
        description=(
            'The guest CPU mode on nova-ovirt pools: host-model (libvirt '
            'default), host-passthrough, custom (with hw:cpu_model) or '
            'none (the hypervisor\'s default model; on oVirt the '
            'cluster\'s CPU type).'),
        value={'type': str, 'enum': list(guest_config.CPU_MODES)},
    ),
    base.ExtraSpecValidator(
        name='hw:cpu_model',
        description=(
            'The guest CPU model on nova-ovirt pools, as libvirt names it '
            '(e.g. Westmere); implies hw:cpu_mode=custom.'),
        value={'type': str, 'description': 'a libvirt CPU model name'},
    ),
]


def register():
    return EXTRA_SPEC_VALIDATORS
