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

"""Serve the module ``nova.virt.ovirt``: ``compute_driver =
ovirt.OvirtDriver`` loads however nova is installed.

nova imports ``'nova.virt.' + CONF.compute_driver`` and has no entry point
for out-of-tree drivers. Shipping files inside nova's package tree breaks
as soon as nova and the driver are not regular installs in one
site-packages: next to an editable nova the portion turns ``nova`` into a
namespace package, and with nova in another site directory the portion is
never found. So the driver ships no ``nova/`` files at all. Instead the
wheel installs ``nova-ovirt.pth``, which Python's ``site`` module runs at
start-up; it calls :func:`install`, which puts one import finder in front
of ``sys.meta_path``. The finder answers for exactly one name,
``nova.virt.ovirt``, and declines everything else, so ``nova`` and
``nova.virt`` resolve exactly as they would without the driver, wherever
and however nova is installed.

This module runs in every Python process of the environment: it imports
nothing beyond the standard library until nova asks for the driver.
"""

import importlib.abc
import importlib.machinery
import sys

#: The module nova imports for ``compute_driver = ovirt.OvirtDriver``.
MODULE_NAME = 'nova.virt.ovirt'


class DriverModuleLoader(importlib.abc.Loader):
    """Fills ``nova.virt.ovirt`` with the driver class from nova_ovirt."""

    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module):
        # Imported only now: nova is loading the driver.
        from nova_ovirt import driver
        module.OvirtDriver = driver.OvirtDriver
        module.__all__ = ['OvirtDriver']


class DriverModuleFinder(importlib.abc.MetaPathFinder):
    """Finds ``nova.virt.ovirt`` and nothing else."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != MODULE_NAME:
            return None
        return importlib.machinery.ModuleSpec(
            fullname, DriverModuleLoader(), origin='nova_ovirt.loading')


def install():
    """Put the finder first on ``sys.meta_path``, once per process.

    First, so that a stale ``nova/virt/ovirt`` directory left by an old
    release inside nova's tree can never shadow the driver.
    """
    if not any(isinstance(f, DriverModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, DriverModuleFinder())
