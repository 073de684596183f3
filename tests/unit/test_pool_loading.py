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

"""Configuration mistakes stop nova-compute with one line naming the option."""

from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from nova_ovirt import conf as ovirt_conf
from nova_ovirt import exception
from nova_ovirt import pools


class PoolLoadingTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        ovirt_conf.register_opts(self.conf)
        self.useFixture(config_fixture.Config(self.conf))
        self.conf([], default_config_files=[])

    def _set_pool(self, name, **options):
        ovirt_conf.register_pool_common_opts(self.conf, name)
        for key, value in options.items():
            self.conf.set_override(key, value,
                                   group=ovirt_conf.pool_group_name(name))

    def _load_error(self):
        error = self.assertRaises(exception.PoolConfigError, pools.load_pools,
                                  self.conf, 'compute1', None)
        # One line, naming the option: that is what the operator reads.
        self.assertNotIn('\n', str(error))
        return str(error)

    def test_empty_pool_list(self):
        self.assertIn('[ovirt] pools = []: no pool configured',
                      self._load_error())

    def test_pool_listed_twice(self):
        self.conf.set_override('pools', ['a', 'a'], group='ovirt')
        self.assertIn('pool listed twice: a', self._load_error())

    def test_missing_backend(self):
        self.conf.set_override('pools', ['kvm'], group='ovirt')
        message = self._load_error()
        self.assertIn('[ovirt_pool:kvm] backend = None: missing', message)
        self.assertIn('libvirt', message)

    def test_unknown_backend_names_the_known_ones(self):
        self.conf.set_override('pools', ['kvm'], group='ovirt')
        self._set_pool('kvm', backend='xen')
        message = self._load_error()
        self.assertIn("[ovirt_pool:kvm] backend = 'xen': unknown backend",
                      message)
        self.assertIn('libvirt', message)
        self.assertIn('ovirt', message)

    def test_backends_come_from_the_entry_point(self):
        self.assertEqual(['libvirt', 'ovirt'], pools.available_backends())
