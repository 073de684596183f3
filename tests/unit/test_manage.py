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

"""nova-ovirt-manage's command line and configuration errors."""

import contextlib
import io
import os
import tempfile

import testtools

from nova_ovirt.cmd import manage


class CommandLineTest(testtools.TestCase):

    def run_main(self, argv):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                code = manage.main(argv)
            except SystemExit as e:
                code = e.code
        return code, err.getvalue()

    def config(self, text):
        fd, path = tempfile.mkstemp(suffix='.conf')
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        self.addCleanup(os.unlink, path)
        return path

    def test_adopt_needs_a_selection(self):
        code, err = self.run_main(['adopt', '--pool', 'e', '--host', 'h',
                                   '--project', 'p'])
        self.assertEqual(2, code)
        self.assertIn('select VMs with --vm, --name or --search', err)

    def test_libvirt_pool_without_hosts_is_named_in_the_error(self):
        path = self.config('[ovirt_pool:kvm]\nbackend = libvirt\n')
        code, err = self.run_main(['--config-file', path, 'release',
                                   '--pool', 'kvm', 'server-id'])
        self.assertEqual(2, code)
        self.assertIn('[ovirt_pool:kvm] uris = []: no libvirt URI '
                      'configured', err)

    def test_search_is_refused_for_libvirt_pools(self):
        path = self.config('[ovirt_pool:kvm]\nbackend = libvirt\n'
                           'uris = test:///default\n')
        code, err = self.run_main([
            '--config-file', path, 'adopt', '--pool', 'kvm', '--host',
            'compute1', '--project', 'demo', '--search', 'status=up'])
        self.assertEqual(2, code)
        self.assertIn('--search is for oVirt pools', err)
