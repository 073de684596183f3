"""Clocks for the engine simulator.

The simulator evaluates its state machine lazily against a clock, so tests
can use :class:`ManualClock` and move time forward explicitly instead of
sleeping.
"""

import datetime

from ovirt_engine_sim.compat import threading
from ovirt_engine_sim.compat import time


class RealClock(object):
    """Wall-clock time."""

    manual = False

    def time(self):
        return time.time()

    def now(self):
        return datetime.datetime.fromtimestamp(self.time(), datetime.timezone.utc)

    def add_listener(self, fn):
        # Real time needs no push notifications: the simulator checks the
        # clock on every request.
        pass

    def remove_listener(self, fn):
        pass


class ManualClock(RealClock):
    """A clock that only moves when :meth:`advance` is called.

    Listeners (the simulator's store) are called after each advance so
    that the state visible through ``sim.store`` is current even without
    an HTTP request.
    """

    manual = True

    def __init__(self, start=1700000000.0):
        self._now = float(start)
        self._lock = threading.Lock()
        self._listeners = []

    def time(self):
        with self._lock:
            return self._now

    def advance(self, seconds):
        if seconds < 0:
            raise ValueError('a clock cannot go backwards')
        with self._lock:
            self._now += float(seconds)
            listeners = list(self._listeners)
        for fn in listeners:
            fn()
        return self.time()

    def add_listener(self, fn):
        with self._lock:
            self._listeners.append(fn)

    def remove_listener(self, fn):
        with self._lock:
            if fn in self._listeners:
                self._listeners.remove(fn)
