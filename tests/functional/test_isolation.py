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

"""One pool's engine down at start: the other pool serves.

nova-compute starts with the oVirt pool ``engine1``'s engine unreachable
(first start: its clusters were never seen) and the libvirt pool ``kvm``
healthy. The service runs, servers boot on ``kvm``, the engine's absence
is one log line; when the engine answers, its clusters become nodes and
take servers.
"""

import time

from tests import base
from tests.functional import ovirt_base as obase


class EngineDownAtStartTest(obase.OvirtPoolFunctionalTestBase):

    def before_compute_start(self):
        self.sim.outage_start()

    def unavailable_lines(self):
        return [line for line in self.stdlog.logger.output.splitlines()
                if 'Pool engine1: engine' in line and 'unavailable' in line]

    def test_other_pool_serves_and_the_engine_comes_back(self):
        # Only the libvirt node exists; the service runs.
        self.assertEqual({obase.KVM_NODE}, set(self.node_uuids()))
        server = self._boot(flavor_id='ovirt-tiny', networks='none')
        self.assertEqual(obase.KVM_NODE, self.node_of(server))
        self.assertUsage(obase.KVM_NODE, 'ovirt-tiny')
        # Several reconnect attempts (one per event poll), one log line.
        base.wait_until(self.unavailable_lines, 10,
                        message='the engine\'s absence logged')
        # Retries meanwhile (one per event poll, and the resource update).
        time.sleep(3)
        self._run_periodics()
        self.assertEqual(1, len(self.unavailable_lines()),
                         '\n'.join(self.unavailable_lines()))
        self.assertNotIn('pycurl', self.unavailable_lines()[0])

        # The engine answers: the poller reconnects, the next resource
        # update brings the clusters in as nodes, and they take servers.
        self.sim.outage_end()
        pool = self.compute.manager.driver._pools[obase.OVIRT_POOL]
        base.wait_until(lambda: pool.node_is_available(obase.CLUSTERS[0]),
                        30, message='pool engine1 to reconnect')
        self._run_periodics()
        self.assertEqual(set(obase.ALL_NODES), set(self.node_uuids()))
        ovirt = self._boot_ovirt()
        self.assertIn(self.node_of(ovirt), obase.CLUSTERS)
        self.assertVmStatus(ovirt, 'up')
        self._delete_ovirt(ovirt)
        self._delete_server(server)
        self.assertNoUsage()
