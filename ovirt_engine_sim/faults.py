"""Fault injection and request accounting."""

import random
import re

from ovirt_engine_sim.compat import threading

_ID_RE = re.compile(
    r'/(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'
    r'|[0-9]+|[0-9a-f]{6})(?=/|$)')


def normalize_path(path):
    """Replace ids in a path by {id} so counts group by operation."""
    path = path.split('?', 1)[0]
    if path.startswith('/images/'):
        return '/images/{ticket}' + ('/extents' if path.endswith('/extents') else '')
    return _ID_RE.sub('/{id}', path)


class RequestCounter(object):
    """Counts requests by (method, normalized path) and image bytes."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self._log = []          # (method, raw path)
            self._counts = {}
            self.bytes_uploaded = 0
            self.bytes_downloaded = 0
            self.bytes_copied = 0
            self.bytes_replied = 0  # API reply bodies (not image data)

    def record(self, method, path):
        key = (method, normalize_path(path))
        with self._lock:
            self._log.append((method, path.split('?', 1)[0]))
            self._counts[key] = self._counts.get(key, 0) + 1

    def add_bytes(self, uploaded=0, downloaded=0, copied=0, replied=0):
        with self._lock:
            self.bytes_replied += replied
            self.bytes_uploaded += uploaded
            self.bytes_downloaded += downloaded
            self.bytes_copied += copied

    def count(self, method=None, path_regex=None):
        """Requests matching method and a regex searched in the raw path."""
        rx = re.compile(path_regex) if path_regex else None
        with self._lock:
            return sum(1 for m, p in self._log
                       if (method is None or m == method.upper())
                       and (rx is None or rx.search(p)))

    def snapshot(self):
        with self._lock:
            return dict(self._counts)

    @property
    def total(self):
        with self._lock:
            return len(self._log)


class _Rule(object):
    def __init__(self, path_regex, method):
        self.rx = re.compile(path_regex) if path_regex else None
        self.method = method.upper() if method else None

    def matches(self, method, path, default_api_only=True):
        if self.method and method != self.method:
            return False
        if self.rx is None:
            return not default_api_only or path.startswith('/ovirt-engine/api')
        return bool(self.rx.search(path))


class FaultInjector(object):
    """What the operator of a test wants to go wrong.

    Without a path_regex, latency and error-rate rules apply to API
    requests (``/ovirt-engine/api...``) only, not to SSO or image data.
    """

    def __init__(self, server=None):
        self._lock = threading.Lock()
        self._server = server   # set by EngineSimulator (outage, tokens)
        self._rng = random.Random(4)
        self.clear()

    def clear(self):
        with self._lock:
            self._latency = []      # (rule, seconds)
            self._error_rates = []  # (rule, rate, status)
            self._scripted = []     # [rule, status, reason, detail, remaining]
            self.transfer_fail_after = None
            self._migration_failures = []
        if self._server is not None and self._server.in_outage():
            self.outage_end()

    # -- configuration ------------------------------------------------------

    def set_latency(self, seconds, path_regex=None, method=None):
        with self._lock:
            self._latency.append((_Rule(path_regex, method), float(seconds)))

    def set_error_rate(self, rate, status=503, path_regex=None, method=None):
        with self._lock:
            self._error_rates.append((_Rule(path_regex, method), float(rate), int(status)))

    def script_fault(self, path_regex, method='POST', status=409,
                     reason='Operation Failed', detail='[Injected fault]', times=1):
        with self._lock:
            self._scripted.append([_Rule(path_regex, method), int(status),
                                   reason, detail, int(times)])

    def fail_transfer_after(self, bytes_count):
        """Break image data connections once bytes_count bytes moved."""
        with self._lock:
            self.transfer_fail_after = int(bytes_count)

    def fail_migrations(self, times=1, error='Fatal error during migration'):
        """The next ``times`` VM migrations fail mid-way (vdsm's error
        text ``error``): the VM keeps running on its source host."""
        with self._lock:
            self._migration_failures.extend([error] * int(times))

    def take_migration_failure(self):
        """The error of an injected migration failure, or None."""
        with self._lock:
            return self._migration_failures.pop(0) if self._migration_failures else None

    def invalidate_tokens(self):
        self._server.sso.invalidate_all()

    def outage_start(self):
        self._server.outage_start()

    def outage_end(self):
        self._server.outage_end()

    def outage(self, seconds):
        """Refuse connections for seconds of the simulator's clock."""
        self._server.outage_for(seconds)

    # -- evaluation (called by the server per request) ----------------------

    def latency_for(self, method, path):
        with self._lock:
            return sum(s for r, s in self._latency if r.matches(method, path))

    def fault_for(self, method, path):
        """(status, reason, detail) of an injected fault, or None."""
        with self._lock:
            for item in self._scripted:
                rule = item[0]
                if item[4] > 0 and rule.matches(method, path, default_api_only=False):
                    item[4] -= 1
                    return item[1], item[2], item[3]
            for rule, rate, status in self._error_rates:
                if rule.matches(method, path) and self._rng.random() < rate:
                    return status, 'Service Unavailable' if status == 503 else 'Injected error', \
                        'Injected error (error rate %.2f)' % rate
        return None
