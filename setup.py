import os

import setuptools
from setuptools.command import build_py

#: Installed at the root of site-packages, where Python's site module runs
#: it at start-up (see nova_ovirt/loading.py for why).
PTH_NAME = 'nova-ovirt.pth'
PTH_LINE = 'import nova_ovirt.loading; nova_ovirt.loading.install()\n'


class BuildPyWithLoadingHook(build_py.build_py):
    """build_py that also writes nova-ovirt.pth next to the packages."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            # An editable wheel carries only what is written to the
            # unpacked wheel itself (setuptools' editable_wheel points
            # install_lib there), not build_lib.
            target = self.get_finalized_command('install').install_lib
        else:
            target = self.build_lib
        os.makedirs(target, exist_ok=True)
        with open(os.path.join(target, PTH_NAME), 'w') as f:
            f.write(PTH_LINE)

    def get_outputs(self, include_bytecode=1):
        return super().get_outputs(include_bytecode) + [
            os.path.join(self.build_lib, PTH_NAME)]


setuptools.setup(
    setup_requires=['pbr>=2.0.0'],
    pbr=True,
    cmdclass={'build_py': BuildPyWithLoadingHook})
