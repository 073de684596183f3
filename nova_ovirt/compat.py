# Copyright 2026 nova-ovirt developers
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""The one place that knows about nova's two concurrency modes.

nova-compute 34 runs in native threading mode by default and refuses
``import eventlet`` there; eventlet mode is deprecated but supported. The
driver never imports eventlet itself: it asks nova which mode is active and
uses nova's own helpers for background work and blocking calls.
"""

import importlib
import threading

from nova import utils as nova_utils


def threading_mode():
    """True in native threading mode, False in eventlet mode."""
    return nova_utils.concurrency_mode_threading()


def start_daemon(target, name):
    """Start a service-long loop on a thread of its own.

    In eventlet mode ``threading.Thread`` is a green thread, which is what a
    loop of short, cooperative steps wants (it sleeps with ``time.sleep``,
    which is green there too).
    """
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def _native(module):
    """The module as the OS provides it (eventlet patches some)."""
    if threading_mode():
        return importlib.import_module(module)
    return nova_utils.get_eventlet().patcher.original(module)


def start_native_daemon(target, name):
    """Start code that blocks in C (libvirt's event loop, a libcurl read).

    Such code needs an OS thread in both modes: a green thread blocked in
    C would stall every other green thread. Code running there must not log
    or touch eventlet primitives; it hands its results over through
    structures that are safe across OS threads (see events.EventQueue and
    :func:`native_queue`).
    """
    thread = _native('threading').Thread(target=target, name=name,
                                         daemon=True)
    thread.start()
    return thread


def native_queue():
    """A queue between an OS thread and the caller, in both modes.

    Its ``put`` never blocks; a green thread waits on its ``get`` through
    :func:`call_blocking`, an OS thread calls it directly.
    """
    return _native('queue').SimpleQueue()


def wrap_blocking(obj, autowrap=()):
    """Proxy an object whose calls block in C (libvirt, pycurl).

    In eventlet mode every call goes to eventlet's OS thread pool so that
    the hub keeps running; in threading mode the object is returned as is.
    """
    return nova_utils.tpool_wrap(obj, autowrap=autowrap)


def call_blocking(func, *args, **kwargs):
    """Call func so that a blocking C call does not stall eventlet's hub.

    In eventlet mode func runs on an OS thread of eventlet's pool: it must
    not take a lock that green threads share (eventlet's locks only work
    within one OS thread), nor log. The engine's replies are parsed there
    (``ovirtsdk4`` reads them inside the call), see
    :func:`_native_strptime_lock`.
    """
    if threading_mode():
        return func(*args, **kwargs)
    _native_strptime_lock()
    return nova_utils.get_eventlet().tpool.execute(func, *args, **kwargs)


_strptime_fixed = False


def _native_strptime_lock():
    """Give ``strptime``'s module lock back to the OS, once (eventlet mode).

    ``ovirtsdk4`` parses the dates of the engine's replies with
    ``datetime.strptime``, on eventlet's OS threads (:func:`call_blocking`).
    Imported after eventlet patched ``_thread``, ``_strptime`` holds a
    green lock for the whole parse: when two of those threads parse at
    once, the second waits in a hub of its own that nothing wakes, and
    its request hangs for good (seen in CI as eventlet's "Cannot switch to
    a different thread"). An OS lock is right for both kinds of caller:
    it is held for one parse, which never yields.
    """
    global _strptime_fixed
    if not _strptime_fixed:
        import _strptime
        _strptime._cache_lock = _native('_thread').allocate_lock()
        _strptime_fixed = True
