import os
import sys

import setuptools

# setup.cfg's [global] commands names build_hooks (next to this file); PEP
# 517 backends do not always put this directory on sys.path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

setuptools.setup(
    setup_requires=['pbr>=2.0.0'],
    pbr=True)
