"""The engine's search language (the subset clients use).

    name=myvm and status=up
    description=abc* or comment="a b"
    Vms: cluster=cluster1 sortby name desc page 1

Terms are ``field OP value`` with OP one of = != < > <= >=, joined by
``and``/``or`` (``and`` binds tighter) and optional parentheses; ``*``
in a value is a wildcard; a bare word matches the name. Matching is case
insensitive unless ``case_sensitive=true``. Unknown fields or broken
syntax raise SearchError (answered as a 400 fault).
"""

import re

_TOKEN = re.compile(r'\s*(?:(\()|(\))|(!=|<=|>=|=|<|>)|("(?:[^"\\]|\\.)*")|([^\s()=!<>"]+))')

SEVERITY_ORDER = {'normal': 0, 'warning': 1, 'error': 2, 'alert': 3}


class SearchError(Exception):
    pass


def _tokens(text):
    pos = 0
    out = []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SearchError('unexpected character at %d' % pos)
        pos = m.end()
        lp, rp, op, quoted, word = m.groups()
        if lp:
            out.append(('(', lp))
        elif rp:
            out.append((')', rp))
        elif op:
            out.append(('op', op))
        elif quoted is not None:
            out.append(('val', quoted[1:-1].replace('\\"', '"')))
        else:
            out.append(('word', word))
    return out


class _Parser(object):
    def __init__(self, tokens, fields):
        self.toks = tokens
        self.i = 0
        self.fields = fields

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def is_word(self, *words):
        kind, val = self.peek()
        return kind == 'word' and val.lower() in words

    def parse_or(self):
        left = self.parse_and()
        while self.is_word('or'):
            self.take()
            right = self.parse_and()
            left = ('or', left, right)
        return left

    def parse_and(self):
        left = self.parse_term()
        while True:
            if self.is_word('and'):
                self.take()
            elif self.peek()[0] in ('word', 'val', '(') and not self.is_word(
                    'or', 'sortby', 'page'):
                pass  # juxtaposition means "and" in the engine's language
            else:
                return left
            right = self.parse_term()
            left = ('and', left, right)

    def parse_term(self):
        kind, val = self.take()
        if kind == '(':
            expr = self.parse_or()
            if self.take()[0] != ')':
                raise SearchError('missing )')
            return expr
        if kind not in ('word', 'val'):
            raise SearchError('expected a search term, got %r' % (val,))
        if self.peek()[0] != 'op':
            # A bare word is a free-text match on the name.
            return ('cmp', 'name', '=', val)
        op = self.take()[1]
        vkind, value = self.take()
        if vkind not in ('word', 'val'):
            raise SearchError('missing value after %s%s' % (val, op))
        field = val.lower()
        if field not in self.fields:
            raise SearchError("'%s' is not a valid search field" % val)
        return ('cmp', field, op, value)


def parse(text, fields):
    """Parse text into (expr or None, sortby field, descending, page)."""
    text = (text or '').strip()
    m = re.match(r'^\s*\w+\s*:', text)
    if m:  # an optional "Vms:" style prefix
        text = text[m.end():]
    toks = _tokens(text)
    # split off sortby / page
    sort = None
    desc = False
    page = None
    cut = len(toks)
    for idx, (kind, val) in enumerate(toks):
        if kind == 'word' and val.lower() in ('sortby', 'page'):
            cut = idx
            break
    tail = toks[cut:]
    toks = toks[:cut]
    j = 0
    while j < len(tail):
        word = tail[j][1].lower()
        if word == 'sortby' and j + 1 < len(tail):
            sort = tail[j + 1][1].lower()
            j += 2
            if j < len(tail) and tail[j][1].lower() in ('asc', 'desc'):
                desc = tail[j][1].lower() == 'desc'
                j += 1
        elif word == 'page' and j + 1 < len(tail) and tail[j + 1][1].isdigit():
            page = int(tail[j + 1][1])
            j += 2
        else:
            raise SearchError('unexpected %r' % tail[j][1])
    if sort is not None and sort not in fields:
        raise SearchError("'%s' is not a valid sort field" % sort)
    expr = None
    if toks:
        p = _Parser(toks, fields)
        expr = p.parse_or()
        if p.i != len(toks):
            raise SearchError('unexpected %r' % (p.peek()[1],))
    return expr, sort, desc, page


def _match_one(actual, op, value, case_sensitive, field):
    if actual is None:
        actual = ''
    actual = str(actual)
    if field == 'severity' and op not in ('=', '!='):
        a = SEVERITY_ORDER.get(actual.lower(), -1)
        b = SEVERITY_ORDER.get(value.lower(), -1)
        return _ordered(a, op, b)
    if op in ('=', '!='):
        flags = 0 if case_sensitive else re.IGNORECASE
        rx = '^' + '.*'.join(re.escape(p) for p in value.split('*')) + '$'
        hit = re.match(rx, actual, flags | re.DOTALL) is not None
        return hit if op == '=' else not hit
    try:
        return _ordered(float(actual), op, float(value))
    except ValueError:
        if not case_sensitive:
            actual, value = actual.lower(), value.lower()
        return _ordered(actual, op, value)


def _ordered(a, op, b):
    return {'<': a < b, '>': a > b, '<=': a <= b, '>=': a >= b}[op]


def evaluate(expr, getter, case_sensitive=False):
    """getter(field) -> value or list of values of one object."""
    if expr is None:
        return True
    if expr[0] == 'and':
        return evaluate(expr[1], getter, case_sensitive) and \
            evaluate(expr[2], getter, case_sensitive)
    if expr[0] == 'or':
        return evaluate(expr[1], getter, case_sensitive) or \
            evaluate(expr[2], getter, case_sensitive)
    _, field, op, value = expr
    actual = getter(field)
    if isinstance(actual, (list, tuple)):
        if op == '!=':
            return all(_match_one(a, op, value, case_sensitive, field) for a in actual)
        return any(_match_one(a, op, value, case_sensitive, field) for a in actual)
    return _match_one(actual, op, value, case_sensitive, field)


def run(objs, text, fields, case_sensitive=False, max_results=None):
    """Filter, sort and cut objs. fields: name -> function(obj) -> value."""
    expr, sort, desc, page = parse(text, fields)
    out = [o for o in objs
           if evaluate(expr, lambda f, o=o: fields[f](o), case_sensitive)]
    if sort:
        def key(o):
            v = fields[sort](o)
            return (v is None, v if not isinstance(v, list) else str(v))
        out.sort(key=key, reverse=desc)
    if page and max_results:
        out = out[(page - 1) * max_results:]
    if max_results is not None:
        out = out[:max_results]
    return out
