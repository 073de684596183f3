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

"""Tenant networks on an oVirt pool: only what the operator mapped.

``vnic_profile_mappings`` here maps nova's Neutron fixture's ``network_1``
by its UUID, and also has an entry keyed ``private``, the *name* a tenant
gave ``network_2`` (nova's fixture names both networks ``private``): names
are never keys, so ``network_2``, on the unmapped physical network
``physnet2``, gets no vNIC, neither at boot nor by an attach. The driver
also sets the engine's MAC anti-spoofing filter on the mapped profile.
"""

import copy
import random

from nova.tests.functional.api import client as api_client

from oslo_utils import uuidutils

from ovirt_engine_sim import scenarios

from tests.functional import ovirt_base as obase

OPTION = '[ovirt_pool:engine1] vnic_profile_mappings'


class TenantNetworkTest(obase.OvirtPoolFunctionalTestBase):

    def configure_ovirt_pool(self, **overrides):
        overrides.setdefault('vnic_profile_mappings', {
            obase.TENANT_NETWORK_ID: obase.TENANT_NETWORK_PROFILE,
            # An old-style key: a network name. It must match nothing.
            'private': 'ovirtmgmt'})
        overrides.setdefault('set_mac_anti_spoofing_filter', True)
        return super().configure_ovirt_pool(**overrides)

    def setUp(self):
        super().setUp()
        # nova's fixture knows network_2 only when a test adds it (copies:
        # the fixture's dicts are class attributes).
        neutron = self.neutron
        neutron._networks[neutron.network_2['id']] = copy.deepcopy(
            neutron.network_2)
        neutron._subnets[neutron.subnet_2['id']] = copy.deepcopy(
            neutron.subnet_2)

    def network_2_port(self):
        """A tenant's port on network_2 (nova's fixture creates ports on
        network_1 only)."""
        neutron = self.neutron
        port = copy.deepcopy(neutron.port_1)
        port.update({
            'id': uuidutils.generate_uuid(),
            'mac_address': 'fa:16:3e:%02x:%02x:%02x' % tuple(
                random.randint(0, 255) for _ in range(3)),
            'network_id': neutron.network_2['id'],
            'fixed_ips': [{'ip_address': '192.168.1.%d' % random.randint(
                10, 250), 'subnet_id': neutron.subnet_2['id']}],
            'binding:vif_type': 'ovs',
            'binding:vif_details': {'port_filter': False},
        })
        neutron._ports[port['id']] = port
        return port

    def compute_log_has(self, text):
        return text in self.stdlog.logger.output

    def nics(self, vm):
        self._tick()
        profiles = {p.id: p.name for p in
                    self.sim.store.vnic_profiles.values()}
        return sorted((n.mac.address.lower(), profiles[n.vnic_profile.id])
                      for n in self.sim.store.vm_nics(vm.id))

    def test_mapped_profile_filters_spoofed_macs(self):
        self._tick()
        profile = self.sim.store.by_name('vnic_profiles',
                                         obase.TENANT_NETWORK_PROFILE)
        nf = self.sim.store.network_filters[profile.network_filter.id]
        self.assertEqual(scenarios.NO_MAC_SPOOFING, nf.name)

    def test_unmapped_network_fails_the_boot_naming_network_and_option(self):
        self.flags(max_attempts=1, group='scheduler')
        vms = set(self.sim.store.vms)
        network_2 = self.neutron.network_2
        failed = self._boot_ovirt(
            networks=[{'port': self.network_2_port()['id']}],
            expected_state='ERROR')
        message = failed['fault']['message']
        self.assertIn(network_2['id'], message)
        self.assertIn('physnet2', message)
        self.assertIn(OPTION, message)
        # Nothing was created in the engine, nothing landed on ovirtmgmt.
        self._tick()
        self.assertEqual(vms, set(self.sim.store.vms))
        self.assertNoVm(failed['id'])
        self.api.delete_server(failed['id'])
        self._wait_until_deleted(failed)
        self.assertNoUsage()

    def test_renamed_network_keeps_its_mapping_and_attach_is_refused(self):
        # The tenant renames network_1 (mapped by UUID) after the mapped
        # name key: the UUID decides, the name does not.
        self.neutron._networks[obase.TENANT_NETWORK_ID] = dict(
            self.neutron.network_1, name='renamed')
        server = self._boot_ovirt()
        vm = self.assertVmStatus(server, 'up')
        port = self.ports_of(server)[0]
        self.assertEqual(
            [(port['mac_addr'].lower(), obase.TENANT_NETWORK_PROFILE)],
            self.nics(vm))

        # An attach on the unmapped network fails and adds no vNIC.
        ex = self.assertRaises(
            api_client.OpenStackApiException,
            self.api.attach_interface, server['id'],
            {'interfaceAttachment': {
                'port_id': self.network_2_port()['id']}})
        self.assertIn(ex.response.status_code, (400, 500))
        self.assertEqual(
            [(port['mac_addr'].lower(), obase.TENANT_NETWORK_PROFILE)],
            self.nics(vm))
        self.assertEqual([port['port_id']],
                         [p['port_id'] for p in self.ports_of(server)])
        # nova-compute logged the driver's reason with the network.
        self.assertTrue(self.compute_log_has(
            'for network %s' % self.neutron.network_2['id']))
        self.assertTrue(self.compute_log_has(OPTION))
        self._delete_ovirt(server)
