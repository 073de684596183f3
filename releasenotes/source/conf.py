# Sphinx configuration of the release notes (tox -e releasenotes).
extensions = ['reno.sphinxext']
project = 'nova-ovirt Release Notes'
copyright = '2026, nova-ovirt developers'
master_doc = 'index'
html_theme = 'alabaster'
