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

"""destroy(destroy_disks=False) and cleanup on libvirt's test driver."""

from unittest import mock

import libvirt

from nova_ovirt import exception
from nova_ovirt.pools.libvirt import images
from tests.unit.pools.libvirt import base
from tests.unit.pools.libvirt import test_guests


class CleanupTest(test_guests.GuestTestCase):

    def setUp(self):
        super().setUp()
        self.instance = self.spawn()
        self.base_volume = images.base_volume_name(base.IMAGE_ID)

    def own_volumes(self):
        return [v for v in self.volume_names()
                if v.startswith(self.instance.uuid)]

    def test_kept_disks_go_with_cleanup(self):
        self.pool.destroy(self.context, self.instance, [],
                          destroy_disks=False)
        self.assertFalse(self.pool.instance_exists(self.instance))
        self.assertIn(self.instance.uuid + '_disk', self.own_volumes())
        self.pool.cleanup(self.context, self.instance, [],
                          destroy_disks=True)
        self.assertEqual([], self.own_volumes())
        self.assertIn(self.base_volume, self.volume_names())

    def test_cleanup_after_failed_destroy_leaves_nothing(self):
        # The disks' removal fails after the domain went (a host error).
        error = libvirt.libvirtError('injected: cannot delete volume')
        with mock.patch.object(self.host.storage, 'delete_prefixed',
                               side_effect=error):
            self.assertRaises(exception.BackendOperationFailed,
                              self.pool.destroy, self.context,
                              self.instance, [])
        self.assertTrue(self.own_volumes())
        self.pool.cleanup(self.context, self.instance, [],
                          destroy_disks=True)
        self.assertFalse(self.pool.instance_exists(self.instance))
        self.assertEqual([], self.own_volumes())

    def test_cleanup_keeping_disks_still_removes_the_domain(self):
        self.pool.cleanup(self.context, self.instance, [],
                          destroy_disks=False)
        self.assertFalse(self.pool.instance_exists(self.instance))
        self.assertIn(self.instance.uuid + '_disk', self.own_volumes())
