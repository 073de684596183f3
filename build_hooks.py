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

"""Build step that puts the loading hook ``nova-ovirt.pth`` into the wheel.

Used by setup.cfg (``[global] commands``, pbr's way of replacing a
setuptools command). Not part of the installed driver.
"""

import os

from setuptools.command import build_py

#: Installed at the root of site-packages, where Python's site module runs
#: it at start-up (see nova_ovirt/loading.py for why).
PTH_NAME = 'nova-ovirt.pth'
PTH_LINE = 'import nova_ovirt.loading; nova_ovirt.loading.install()\n'


class BuildPyWithLoadingHook(build_py.build_py):
    """build_py that also writes nova-ovirt.pth next to the packages."""

    # pbr registers a command under this name (the class name otherwise).
    command_name = 'build_py'

    def run(self):
        super().run()
        with open(os.path.join(self._pth_dir(), PTH_NAME), 'w') as f:
            f.write(PTH_LINE)

    def _pth_dir(self):
        if getattr(self, 'editable_mode', False):
            # An editable wheel (pip install -e, devstack's setup_develop)
            # does not carry build_lib: setuptools' editable_wheel points
            # install_lib at the unpacked wheel itself.
            target = self.get_finalized_command('install').install_lib
        else:
            target = self.build_lib
        os.makedirs(target, exist_ok=True)
        return target

    def get_outputs(self, include_bytecode=1):
        outputs = super().get_outputs(include_bytecode)
        if not getattr(self, 'editable_mode', False):
            outputs.append(os.path.join(self.build_lib, PTH_NAME))
        return outputs
