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

"""Green locks taken on OS threads, in eventlet mode.

eventlet's locks (what ``threading.Lock`` makes once nova patched the
process, and what logging's locks become) work within the OS thread that
runs the hub. Taken by another OS thread (eventlet's pool behind
``compat.call_blocking``, the image reader, libvirt's event loop, the
simulator's server) while a green thread holds one, the waiter sleeps in
a hub of its own that nothing wakes: eventlet prints "Cannot switch to a
different thread" and the request hangs for good. It happens only when
the two collide, so a test passing says little; this records every such
acquire, contended or not.

:func:`install` (from ``tests/__init__.py`` in eventlet mode) wraps
eventlet's semaphore. Each distinct stack goes to a file per process under
``$NOVA_OVIRT_GREEN_LOCK_DIR`` (``tools/run_suite.py`` sets it and fails
the tier on any record); without the variable nothing is recorded.
"""

import glob
import os
import traceback

ENV = 'NOVA_OVIRT_GREEN_LOCK_DIR'

# The one green lock allowed on OS threads: each ovirtsdk4 Connection's
# own, which our session lends to one caller at a time (never contended).
ALLOWED = ('ovirtsdk4/__init__.py',)


def install():
    directory = os.environ.get(ENV)
    if not directory:
        return
    from eventlet import patcher
    from eventlet import semaphore

    real_threading = patcher.original('threading')
    hub_thread = real_threading.main_thread().ident
    seen = set()
    acquire = semaphore.Semaphore.acquire
    path = os.path.join(directory, '%d.txt' % os.getpid())

    def checked_acquire(self, *args, **kwargs):
        if real_threading.get_ident() != hub_thread:
            # The frames above this wrapper and eventlet's __enter__.
            taker = [f for f in traceback.format_stack()[:-1]
                     if 'eventlet/semaphore.py' not in f]
            stack = ''.join(taker[-10:])
            if stack not in seen and not any(
                    allowed in taker[-1] for allowed in ALLOWED):
                seen.add(stack)
                with open(path, 'a') as out:
                    out.write('--- on OS thread %s\n%s' % (
                        real_threading.current_thread().name, stack))
        return acquire(self, *args, **kwargs)

    semaphore.Semaphore.acquire = checked_acquire


def records(directory):
    """What the processes recorded: one text per process."""
    found = []
    for name in sorted(glob.glob(os.path.join(directory, '*.txt'))):
        with open(name) as f:
            found.append(f.read())
    return found
