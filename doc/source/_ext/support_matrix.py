"""Sphinx directive rendering the support matrix from code and evidence.

The matrix is generated, never hand-written: one row per public method of
nova's ``ComputeDriver`` (found by introspection), one column per backend.
A cell holds the level from ``nova_ovirt.support`` (with its note) and the
tests that reached the method on that backend, read from the committed
record ``doc/source/support-evidence.json`` that ``tools/run_suite.py``
writes from a full run. A method claimed ``complete`` or ``partial`` that
the record shows no functional or live test reaching is a warning, so the
documentation build (``-W``) fails.
"""

import json
import os

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.util import logging

from nova_ovirt import support

LOG = logging.getLogger(__name__)

#: The committed record, relative to the documentation's source directory.
EVIDENCE_FILE = 'support-evidence.json'


def load_evidence(srcdir):
    """The committed record: ``{'tiers': [...], 'backends': {...}}``."""
    with open(os.path.join(srcdir, EVIDENCE_FILE)) as f:
        return json.load(f)


def _cell(text):
    entry = nodes.entry()
    entry += nodes.paragraph(text=text)
    return entry


def cell_text(backend, method, reached):
    """Level, note and the tiers that reached `method` on `backend`."""
    text = support.level(backend, method)
    note = support.NOTES.get(backend, {}).get(method)
    if note:
        text = '%s: %s' % (text, note)
    tiers = reached.get(backend, {}).get(method, {})
    if tiers:
        text = '%s (tested: %s)' % (text, '; '.join(
            '%s, %d test%s' % (tier, len(tests), '' if len(tests) == 1
                               else 's')
            for tier, tests in sorted(tiers.items())))
    return text


class SupportMatrixDirective(Directive):
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        path = os.path.join(env.srcdir, EVIDENCE_FILE)
        env.note_dependency(path)
        reached = load_evidence(env.srcdir)['backends']
        backends = sorted(support.SUPPORT)
        for backend in backends:
            unreached = support.unreached(backend, reached)
            if unreached:
                LOG.warning('%s: claimed for %s in nova_ovirt/support.py but '
                            'no functional or live test reached them: %s',
                            EVIDENCE_FILE, backend, ', '.join(unreached))
        table = nodes.table()
        group = nodes.tgroup(cols=len(backends) + 1)
        table += group
        for _ in range(len(backends) + 1):
            group += nodes.colspec(colwidth=1)
        head = nodes.thead()
        row = nodes.row()
        row += _cell('nova driver operation')
        for backend in backends:
            row += _cell(backend)
        head += row
        group += head
        body = nodes.tbody()
        for method in support.driver_methods():
            row = nodes.row()
            row += _cell(method)
            for backend in backends:
                row += _cell(cell_text(backend, method, reached))
            body += row
        group += body
        return [table]


def setup(app):
    app.add_directive('support-matrix', SupportMatrixDirective)
    return {'parallel_read_safe': True}
