# Sphinx configuration of the nova-ovirt documentation (tox -e docs).
# Builds offline: no intersphinx, no theme fetched from the network.

import os
import sys

sys.path.insert(0, os.path.abspath('../..'))
sys.path.insert(0, os.path.abspath('_ext'))

extensions = [
    'oslo_config.sphinxext',
    'support_matrix',
]

project = 'nova-ovirt'
copyright = '2026, nova-ovirt developers'
master_doc = 'index'
exclude_patterns = ['_build']
html_theme = 'alabaster'
pygments_style = 'sphinx'
