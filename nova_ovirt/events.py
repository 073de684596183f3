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

"""Hand-over of backend events to nova's compute manager.

Backends learn about guest state changes on threads nova does not own:
libvirt's event loop runs on an OS thread, the oVirt event poller on a
daemon loop. They push :class:`nova.virt.event.LifecycleEvent` objects
into an :class:`EventQueue`; one dispatcher loop pops them and calls the
driver's ``emit_event`` in the concurrency mode nova runs in.

``collections.deque`` is used because its append and popleft are atomic
across OS threads without locks, so the producer side is safe even from
libvirt's native thread in eventlet mode, where ``threading`` and ``queue``
are green.
"""

import collections
import time

from oslo_log import log as logging

from nova_ovirt import compat

LOG = logging.getLogger(__name__)

# A lifecycle change seen through an event is seldom urgent to the second;
# a short poll keeps the dispatcher simple in both concurrency modes.
DISPATCH_INTERVAL = 0.2


class EventQueue(object):
    """Events from any thread, delivered to one callback in order."""

    def __init__(self, deliver, interval=DISPATCH_INTERVAL):
        self._deliver = deliver
        self._interval = interval
        self._events = collections.deque()
        self._running = False
        self._thread = None

    def put(self, event):
        """Queue an event; safe from any OS or green thread, never logs."""
        self._events.append(event)

    def start(self):
        if self._running:
            return
        self._running = True
        self._thread = compat.start_daemon(self._loop, 'nova-ovirt-events')

    def stop(self):
        self._running = False

    def drain(self):
        """Deliver every queued event now; returns how many."""
        delivered = 0
        while True:
            try:
                event = self._events.popleft()
            except IndexError:
                return delivered
            try:
                self._deliver(event)
            except Exception:
                LOG.exception('Delivering event %s to nova failed', event)
            delivered += 1

    def _loop(self):
        while self._running:
            self.drain()
            time.sleep(self._interval)
