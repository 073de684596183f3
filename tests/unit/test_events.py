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

import threading
import time

import testtools

from nova_ovirt import events


class EventQueueTestCase(testtools.TestCase):

    def test_events_from_other_threads_arrive_in_order(self):
        delivered = []
        queue = events.EventQueue(delivered.append, interval=0.01)
        producer = threading.Thread(
            target=lambda: [queue.put(i) for i in range(100)])
        producer.start()
        producer.join()
        queue.start()
        self.addCleanup(queue.stop)
        deadline = time.monotonic() + 5
        while len(delivered) < 100 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(list(range(100)), delivered)

    def test_a_failing_delivery_does_not_stop_the_others(self):
        delivered = []

        def deliver(event):
            if event == 'bad':
                raise RuntimeError('compute manager hiccup')
            delivered.append(event)

        queue = events.EventQueue(deliver)
        for event in ('a', 'bad', 'b'):
            queue.put(event)
        self.assertEqual(3, queue.drain())
        self.assertEqual(['a', 'b'], delivered)
