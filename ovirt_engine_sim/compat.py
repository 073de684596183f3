"""Real (not eventlet-green) threading, sockets and TLS for the simulator.

Nova's eventlet mode monkey patches socket, ssl, select, threading and
time in place. The simulator must keep serving from real OS threads even
then: a test (or a driver) calling the SDK blocks its OS thread in pycurl,
so a green server in the same hub would never get to answer. When eventlet
has patched the process, this module imports private, unpatched copies of
the server stack; otherwise it simply re-exports the standard modules.
"""

import importlib
import logging
import sys

_PATCHED_BASES = ('socket', 'select', 'threading', 'time', '_thread')
_FRESH = ('selectors', 'ssl', 'socketserver', 'http.server')


def _eventlet_patched():
    patcher = sys.modules.get('eventlet.patcher')
    if patcher is None:
        return None
    try:
        if any(patcher.is_monkey_patched(m) for m in ('socket', 'thread', 'select')):
            return patcher
    except Exception:
        return None
    return None


#: eventlet's patcher when eventlet patched this process, else None.
PATCHER = _eventlet_patched()


def _load():
    patcher = PATCHER
    if patcher is None:
        return {name: importlib.import_module(name) for name in _PATCHED_BASES + _FRESH}
    originals = {name: patcher.original(name) for name in _PATCHED_BASES}
    touched = _PATCHED_BASES + _FRESH
    saved = {name: sys.modules.get(name) for name in touched}
    try:
        sys.modules.update(originals)
        for name in _FRESH:
            sys.modules.pop(name, None)
        fresh = {name: importlib.import_module(name) for name in _FRESH}
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod
    originals.update(fresh)
    # The SDK's reader parses the dates of requests with strptime, on
    # these threads; its module lock must be an OS one (see getLogger).
    import _strptime
    _strptime._cache_lock = originals['_thread'].allocate_lock()
    return originals


_mods = _load()
socket = _mods['socket']
select = _mods['select']
threading = _mods['threading']
time = _mods['time']
ssl = _mods['ssl']
socketserver = _mods['socketserver']
http_server = _mods['http.server']


# -- logging from the simulator's threads -------------------------------------
#
# Under eventlet, logging's locks are green (eventlet greens the existing
# ones and the new ones are made by the patched threading): an OS thread
# taking one that a green thread holds waits in a hub of its own that
# nothing wakes ("Cannot switch to a different thread"), and the request it
# serves hangs for good. So the simulator's threads do not call logging
# there: they queue their records on a real queue, and a green thread of
# the process's hub hands them to logging.

class _Relay(object):
    def __init__(self, patcher):
        real_queue = patcher.original('queue')
        self._records = real_queue.SimpleQueue()
        self._empty = real_queue.Empty
        self._started = False

    def put(self, name, level, msg, args, exc_info):
        self._records.put((name, level, msg, args, exc_info))

    def start(self):
        """Start the green thread; from a green thread (sim.start())."""
        if self._started:
            return
        self._started = True
        green = sys.modules['threading']     # eventlet's
        green.Thread(target=self._drain, name='engine-sim-log',
                     daemon=True).start()

    def _drain(self):
        green_sleep = sys.modules['time'].sleep
        while True:
            try:
                name, level, msg, args, exc_info = self._records.get_nowait()
            except self._empty:
                green_sleep(0.05)
                continue
            logging.getLogger(name).log(level, msg, *args, exc_info=exc_info)


class _RelayedLogger(object):
    """The part of logging.Logger the simulator uses, through the relay."""

    def __init__(self, name):
        self.name = name

    def _log(self, level, msg, args, exc_info=None):
        if exc_info is True:
            exc_info = sys.exc_info()
        _relay.put(self.name, level, msg, args, exc_info)

    def debug(self, msg, *args, **kwargs):
        self._log(logging.DEBUG, msg, args, kwargs.get('exc_info'))

    def info(self, msg, *args, **kwargs):
        self._log(logging.INFO, msg, args, kwargs.get('exc_info'))

    def warning(self, msg, *args, **kwargs):
        self._log(logging.WARNING, msg, args, kwargs.get('exc_info'))

    def exception(self, msg, *args, **kwargs):
        self._log(logging.ERROR, msg, args, True)


_relay = _Relay(PATCHER) if PATCHER is not None else None


def getLogger(name):
    """The simulator's logger: logging's, or the relay under eventlet."""
    if _relay is None:
        return logging.getLogger(name)
    return _RelayedLogger(name)


def start_log_relay():
    """Under eventlet, start handing the queued records to logging."""
    if _relay is not None:
        _relay.start()
