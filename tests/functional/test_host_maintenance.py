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

"""Host maintenance through nova: placement stops offering the node.

- oVirt: a cluster node follows its hosts' status in the engine (hosts in
  maintenance or non-operational leave the inventory; with none usable
  the whole inventory is reserved).
- libvirt: the operator marks one host of a service with
  ``nova-ovirt-manage host maintenance NODE on``; the mark is kept by the
  host's libvirtd, so it survives a restart of nova-compute.

The draining of a marked host by live migration to another service is in
:mod:`tests.functional.test_live_migration` (it needs two services).
"""

import os
import subprocess
import sys

from tests import base
from tests.functional import base as fbase
from tests.functional import ovirt_base as obase

#: Seconds one nova-ovirt-manage run may take (it imports nova).
MANAGE_TIMEOUT = 120


def run_manage(test, host, pool, node_uris, domain_type, *args):
    """Run ``nova-ovirt-manage ARGS`` as an operator would: its own
    process, with a nova.conf naming the service and its libvirt pool."""
    path = os.path.join(test.state_path, 'manage-%s.conf' % host)
    with open(path, 'w') as f:
        f.write('[DEFAULT]\nhost = %s\nstate_path = %s\n'
                '[ovirt]\npools = %s\n'
                '[ovirt_pool:%s]\nbackend = libvirt\nuris = %s\n'
                'domain_type = %s\n' % (
                    host, test.state_path, pool, pool,
                    ','.join('%s=%s' % nu for nu in node_uris), domain_type))
    proc = subprocess.run(
        [sys.executable, '-m', 'nova_ovirt.cmd.manage', '--config-file',
         path] + list(args), capture_output=True, text=True,
        timeout=MANAGE_TIMEOUT)
    test.assertEqual(0, proc.returncode, 'nova-ovirt-manage %s: %s' % (
        ' '.join(args), proc.stderr[-2000:]))
    return proc.stdout


class LibvirtHostMaintenanceTest(fbase.OvirtFunctionalTestBase):
    """One service, one pool of two libvirt hosts; node1 goes out."""

    def manage(self, *args):
        return run_manage(self, fbase.COMPUTE_HOST, fbase.POOL,
                          list(zip(fbase.NODES, self.hosts.uris)),
                          self.hosts.domain_type, *args)

    def _boot_on(self, node):
        server = self._build_server(
            image_uuid=base.GUEST_IMAGE_ID, flavor_id='ovirt-tiny',
            networks='none')
        server['hypervisor_hostname'] = node
        return self.admin_api.post_server({'server': server})

    def reserved(self, node):
        inventory = self._get_provider_inventory(self.node_uuids()[node])
        return {rc: (inv['total'], inv['reserved'])
                for rc, inv in inventory.items()}

    def assertOutOfService(self, node):
        for rc, (total, reserved) in self.reserved(node).items():
            self.assertEqual(total, reserved, '%s of %s' % (rc, node))

    def assertInService(self, node):
        for rc, (total, reserved) in self.reserved(node).items():
            self.assertLess(reserved, total, '%s of %s' % (rc, node))

    def test_marked_host_takes_no_new_guests_and_keeps_its_own(self):
        first = self._wait_for_state_change(self._boot_on('node1'), 'ACTIVE')
        self.assertEqual('node1', self.node_of(self._refresh(first)))

        out = self.manage('host', 'maintenance', 'node1', 'on',
                          '--reason', 'BIOS update')
        self.assertIn('node1 is in maintenance since', out)
        self._run_periodics()
        self.assertOutOfService('node1')
        self.assertInService('node2')

        # Nothing new lands on node1, even when asked for by name.
        refused = self._wait_for_state_change(self._boot_on('node1'),
                                              'ERROR')
        self.assertIn('No valid host', refused['fault']['message'])
        second = self._wait_for_state_change(
            self._boot(networks='none'), 'ACTIVE')
        self.assertEqual('node2', self.node_of(self._refresh(second)))
        # The guest of node1 runs on, untouched.
        self.assertDomain(first, 'running')
        self.assertUsage('node1', 'ovirt-tiny')

        # The mark is the host's: a new nova-compute process sees it.
        self.compute.stop()
        self.compute = self.start_stopped_compute()
        self._run_periodics()
        self.assertOutOfService('node1')
        self.assertDomain(first, 'running')

        self.assertIn('node1 is in service',
                      self.manage('host', 'maintenance', 'node1', 'off'))
        self._run_periodics()
        self.assertInService('node1')
        third = self._wait_for_state_change(self._boot_on('node1'), 'ACTIVE')
        self.assertEqual('node1', self.node_of(self._refresh(third)))
        for server in (first, second, third, refused):
            self._delete_server(server)


class OvirtHostMaintenanceTest(obase.OvirtPoolFunctionalTestBase):
    """The oVirt cluster node follows its hosts' status in the engine."""

    def inventory(self, cluster):
        return self._get_provider_inventory(self.node_uuids()[cluster])

    def _hosts(self, cluster):
        cluster_id = self.sim.store.by_name('clusters', cluster).id
        return list(self.sim.store.hosts_of(cluster_id))

    def _set_hosts(self, status, *hosts):
        for h in hosts:
            self.sim.admin_set_host_status(h.id, status)
        # The pool reads the hosts at most every inventory TTL; the next
        # resource update after that reports them.
        self.compute.manager.driver._pools[
            obase.OVIRT_POOL].inventory.refresh(force=True)
        self._run_periodics()

    def _boot_on_cluster1(self, expected_state):
        # Aimed by cluster1's CPU trait, as users aim at a cluster
        # (hypervisor_hostname would restrict placement to the cluster's
        # own tree, without the storage domain's sharing provider).
        if not hasattr(self, '_cluster1_flavor'):
            self._cluster1_flavor = self._create_flavor(
                name='e1.cluster1', memory_mb=128, vcpu=1, disk=1, ephemeral=0,
                extra_spec={'trait:%s' % obase.OVIRT_TRAIT: 'required',
                            'trait:CUSTOM_OVIRT_CPU_INTEL_NEHALEM_FAMILY':
                            'required'})
        return self._boot_ovirt(flavor_id=self._cluster1_flavor,
                                expected_state=expected_state)

    def test_cluster_shrinks_then_is_out_until_a_host_returns(self):
        full = self.inventory('cluster1')
        first, second = self._hosts('cluster1')
        # A server of the cluster holds allocations: the inventory must
        # change under them, never be dropped (placement refuses that).
        server = self._boot_on_cluster1('ACTIVE')
        self.assertEqual('cluster1', self.node_of(self._refresh(server)))

        self._set_hosts('non_operational', first)
        half = self.inventory('cluster1')
        self.assertEqual(full['VCPU']['total'] // 2, half['VCPU']['total'])
        self.assertEqual(full['VCPU']['max_unit'], half['VCPU']['max_unit'])
        self.assertLess(half['MEMORY_MB']['total'],
                        full['MEMORY_MB']['total'])
        self.assertEqual(0, half['VCPU']['reserved'])

        # Every host in maintenance: nothing offered, NoValidHost.
        self._set_hosts('maintenance', second)
        out = self.inventory('cluster1')
        for rc in ('VCPU', 'MEMORY_MB'):
            self.assertEqual(out[rc]['total'], out[rc]['reserved'], rc)
        self.assertEqual(1, self.usage('cluster1')['VCPU'])
        refused = self._boot_on_cluster1('ERROR')
        self.assertIn('No valid host', refused['fault']['message'])
        # cluster2 is untouched.
        self.assertEqual(0, self.inventory('cluster2')['VCPU']['reserved'])

        # A host back: the node is offered again.
        self._set_hosts('up', second)
        back = self.inventory('cluster1')
        self.assertEqual(0, back['VCPU']['reserved'])
        self.assertEqual(half['VCPU']['total'], back['VCPU']['total'])
        again = self._boot_on_cluster1('ACTIVE')
        self.assertEqual('cluster1', self.node_of(self._refresh(again)))
        for s in (server, refused, again):
            self._delete_server(s)
