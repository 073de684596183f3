"""Sphinx directive rendering nova_ovirt.support as a support matrix.

The matrix is generated, never hand-written, so the documentation says what
the conformance tests hold the code to: one row per nova operation, one
column per backend.
"""

from docutils import nodes
from docutils.parsers.rst import Directive

from nova_ovirt import support


def _cell(text):
    entry = nodes.entry()
    entry += nodes.paragraph(text=text)
    return entry


class SupportMatrixDirective(Directive):
    has_content = False

    def run(self):
        backends = sorted(support.SUPPORT)
        methods = sorted({m for b in backends for m in support.SUPPORT[b]})
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
        for method in methods:
            row = nodes.row()
            row += _cell(method)
            for backend in backends:
                text = support.level(backend, method)
                note = support.NOTES.get(backend, {}).get(method)
                if note:
                    text = '%s: %s' % (text, note)
                tested = support.tested_by(backend, method)
                if tested:
                    text = '%s (tested: %s)' % (text, '; '.join(tested))
                row += _cell(text)
            body += row
        group += body
        return [table]


def setup(app):
    app.add_directive('support-matrix', SupportMatrixDirective)
    return {'parallel_read_safe': True}
