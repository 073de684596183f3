"""Real (not eventlet-green) threading, sockets and TLS for the simulator.

Nova's eventlet mode monkey patches socket, ssl, select, threading and
time in place. The simulator must keep serving from real OS threads even
then: a test (or a driver) calling the SDK blocks its OS thread in pycurl,
so a green server in the same hub would never get to answer. When eventlet
has patched the process, this module imports private, unpatched copies of
the server stack; otherwise it simply re-exports the standard modules.
"""

import importlib
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


def _load():
    patcher = _eventlet_patched()
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
    return originals


_mods = _load()
socket = _mods['socket']
select = _mods['select']
threading = _mods['threading']
time = _mods['time']
ssl = _mods['ssl']
socketserver = _mods['socketserver']
http_server = _mods['http.server']
