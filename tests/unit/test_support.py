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

"""nova_ovirt/support.py classifies every ComputeDriver method, and its
claims agree with the code (decided by overrides and by calling the
contract's defaults, not by reading source text)."""

import testtools

from nova.virt import driver as nova_driver

from nova_ovirt import driver as ovirt_driver
from nova_ovirt import support


class SupportMatrixTestCase(testtools.TestCase):

    def test_every_driver_method_has_a_level_per_backend(self):
        methods = support.driver_methods()
        # Introspected, not a list: nova's own count of public methods.
        self.assertEqual(
            sorted(n for n in vars(nova_driver.ComputeDriver)
                   if not n.startswith('_') and
                   callable(getattr(nova_driver.ComputeDriver, n))),
            methods)
        for backend, levels in support.matrix().items():
            self.assertEqual(methods, sorted(levels), backend)
            self.assertEqual(set(), set(levels.values()) -
                             set(support.LEVELS), backend)

    def test_listed_methods_are_driver_methods_with_notes(self):
        for backend, methods in support.SUPPORT.items():
            for method, level in methods.items():
                self.assertIn(method, support.driver_methods(),
                              '%s is not a nova ComputeDriver method' %
                              method)
                self.assertIn(level, (support.COMPLETE, support.PARTIAL,
                                      support.UNTESTED, support.MISSING),
                              '%s.%s' % (backend, method))
                if level == support.PARTIAL:
                    self.assertIn(method, support.NOTES.get(backend, {}),
                                  'a partial level needs a note')

    def test_overridden_methods_are_listed(self):
        # OvirtDriver's own methods are classified by hand (what they do is
        # a claim a test must back), never left to the default rule.
        own = [m for m in support.driver_methods() if support.overrides(m)]
        self.assertIn('spawn', own)
        for backend, methods in support.SUPPORT.items():
            self.assertEqual([], [m for m in own if m not in methods],
                             'OvirtDriver implements these; classify them '
                             'for %s in nova_ovirt/support.py' % backend)

    def test_claimed_and_untested_methods_are_implemented(self):
        for backend, methods in sorted(support.SUPPORT.items()):
            self.assertEqual(
                [], [m for m, lv in sorted(methods.items())
                     if lv != support.MISSING and
                     not support.implemented(backend, m)],
                'claimed for %s in nova_ovirt/support.py but the code '
                'raises NotImplementedError' % backend)

    def test_missing_methods_are_not_implemented(self):
        for backend in sorted(support.SUPPORT):
            self.assertEqual(
                [], [m for m in support.missing(backend)
                     if support.implemented(backend, m)],
                'implemented for %s but listed as missing in '
                'nova_ovirt/support.py: update the matrix' % backend)

    def test_implemented_reads_the_pool_and_nova(self):
        # The pool overrides the contract's NotImplementedError...
        self.assertTrue(support.implemented('libvirt', 'pause'))
        # ...or keeps it (the engine has no pause action).
        self.assertFalse(support.implemented('ovirt', 'pause'))
        # OvirtDriver keeps nova's raising default.
        self.assertFalse(support.overrides('set_admin_password'))
        self.assertFalse(support.implemented('ovirt', 'set_admin_password'))
        # OvirtDriver keeps nova's working default.
        self.assertFalse(support.overrides('get_num_instances'))
        self.assertEqual(support.DEFAULT,
                         support.level('ovirt', 'get_num_instances'))
        # Answered by the facade alone.
        self.assertIsNone(getattr(ovirt_driver.OvirtDriver, 'nodes', None))
        self.assertTrue(support.implemented('ovirt', 'get_nodenames_by_uuid'))

    def test_unreached_counts_only_functional_and_live(self):
        claimed = support.claimed('ovirt')
        reached = {m: {'functional': ['t']} for m in claimed}
        self.assertEqual([], support.unreached('ovirt', {'ovirt': reached}))
        reached['spawn'] = {'conformance': ['t']}
        reached['reboot'] = {'live': ['t']}
        self.assertEqual(['spawn'],
                         support.unreached('ovirt', {'ovirt': reached}))
        self.assertEqual(claimed, support.unreached('ovirt', {}))

    def test_tempest_live_migration_only_where_a_named_host_works(self):
        # tempest names the destination host: fine on libvirt nodes, a
        # NoValidHost on oVirt nodes (their disk is a sharing provider's).
        self.assertTrue(support.tempest_flags(['libvirt'])['live_migration'])
        self.assertFalse(support.tempest_flags(['ovirt'])['live_migration'])
        self.assertFalse(support.tempest_flags(
            ['ovirt', 'libvirt'])['live_migration'])
        # Block migration: oVirt has none.
        self.assertFalse(support.tempest_flags(['ovirt'])[
            'block_migration_for_live_migration'])
