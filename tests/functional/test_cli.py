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

"""The CLI path: python-openstackclient (the real ``openstack`` command,
from PyPI) against nova's API served on loopback, as ``tools/demo.sh
--serve`` serves it, with servers on an oVirt pool and a libvirt pool.

Each command runs as a subprocess and its JSON output is checked, and so
is the state of the engine's VM or the libvirt domain behind it.
"""

import json
import os
import subprocess
import sys

from tests.fixtures import api_server
from tests.functional import base as fbase
from tests.functional import ovirt_base

OPENSTACK = os.path.join(os.path.dirname(sys.executable), 'openstack')
#: Seconds one CLI command may take (python-openstackclient starts slowly
#: on a busy machine).
CLI_TIMEOUT = 120


class OpenstackClientTest(ovirt_base.OvirtPoolFunctionalTestBase):

    TEST_TIMEOUT = 600

    def setUp(self):
        super().setUp()
        self.served = self.useFixture(
            api_server.LoopbackComputeApi(self.api_fixture))

    def openstack(self, *args, parse=True):
        """Run ``openstack ARGS``; its JSON output when parse is true."""
        command = [OPENSTACK] + self.served.openstack_args() + list(args)
        if parse:
            command += ['-f', 'json']
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        proc = subprocess.run(command, capture_output=True, text=True,
                              timeout=CLI_TIMEOUT, env=env)
        self.assertEqual(0, proc.returncode, '%s failed: %s' % (
            ' '.join(args), proc.stderr))
        return json.loads(proc.stdout) if parse else proc.stdout

    def wait_settled(self, server):
        self._wait_for_server_parameter(
            server, {'status': 'ACTIVE', 'OS-EXT-STS:task_state': None})

    def cli_status(self, name):
        return self.openstack('server', 'show', name)['status']

    def test_cli_on_both_pools(self):
        ovirt = self._boot_ovirt(name='cli-ovirt')
        kvm = self._boot(flavor_id='ovirt-pool-kvm', name='cli-kvm')

        hypervisors = self.openstack('hypervisor', 'list')
        self.assertEqual(sorted(ovirt_base.ALL_NODES),
                         sorted(h['Hypervisor Hostname']
                                for h in hypervisors))

        listed = {s['Name']: s for s in self.openstack('server', 'list')}
        self.assertEqual({'cli-ovirt', 'cli-kvm'}, set(listed))
        self.assertEqual({'ACTIVE'}, {s['Status'] for s in listed.values()})

        shown = self.openstack('server', 'show', 'cli-ovirt')
        self.assertEqual(ovirt['id'], shown['id'])
        self.assertIn(shown['OS-EXT-SRV-ATTR:hypervisor_hostname'],
                      ovirt_base.CLUSTERS)

        for name, server in (('cli-ovirt', ovirt), ('cli-kvm', kvm)):
            self.openstack('server', 'stop', name, parse=False)
            self._wait_for_state_change(server, 'SHUTOFF')
            self.assertEqual('SHUTOFF', self.cli_status(name))
            self.openstack('server', 'start', name, parse=False)
            self._wait_for_state_change(server, 'ACTIVE')
        self.assertVmStatus(ovirt, 'up')
        self.assertDomain(kvm, 'running')

        mark = self.console_mark(kvm)
        self.openstack('server', 'reboot', '--hard', 'cli-kvm', parse=False)
        self.wait_for_boot(kvm, mark)       # the guest really booted again
        self.wait_settled(kvm)
        self.openstack('server', 'reboot', 'cli-ovirt', parse=False)
        self.wait_settled(ovirt)
        self.assertVmStatus(ovirt, 'up')
        self.assertEqual('ACTIVE', self.cli_status('cli-ovirt'))

        for name in ('cli-ovirt', 'cli-kvm'):
            console = self.openstack('console', 'url', 'show', '--novnc',
                                     name)
            self.assertEqual('novnc', console['type'])
            self.assertIn('token', console['url'])

        for name, server in (('cli-ovirt', ovirt), ('cli-kvm', kvm)):
            self.openstack('server', 'delete', '--wait', name, parse=False)
            self._wait_until_deleted(server)
        self.assertNoVm(ovirt['id'])
        self.assertNoDomain(kvm['id'])
        self.assertEqual([], self.openstack('server', 'list'))
