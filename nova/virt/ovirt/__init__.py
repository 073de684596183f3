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

"""Loading shim: ``compute_driver = ovirt.OvirtDriver``.

nova imports ``'nova.virt.' + CONF.compute_driver`` and has no entry point
for out-of-tree drivers, so this one module lives in nova's namespace and
re-exports the driver from the nova_ovirt package. Nothing else belongs
here; nova/__init__.py and nova/virt/__init__.py are nova's own.
"""

from nova_ovirt.driver import OvirtDriver

__all__ = ['OvirtDriver']
