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

"""The libvirt pool's image cache pass on libvirt's test driver."""

from nova_ovirt.pools.libvirt import images
from nova_ovirt.pools.libvirt import vmops
from tests.unit.pools.libvirt import base
from tests.unit.pools.libvirt import test_guests


class ImageCacheTest(test_guests.GuestTestCase):

    def setUp(self):
        super().setUp()
        self.conf_fixture.config(
            remove_unused_original_minimum_age_seconds=0,
            group='image_cache')
        self.base_volume = images.base_volume_name(base.IMAGE_ID)

    def run_pass(self, instances=()):
        self.pool.manage_image_cache(self.context, list(instances))

    def test_base_volume_stays_while_an_overlay_rests_on_it(self):
        instance = self.spawn()
        self.run_pass()
        self.assertIn(self.base_volume, self.volume_names())
        self.pool.destroy(self.context, instance, [])
        self.run_pass()
        self.assertNotIn(self.base_volume, self.volume_names())

    def test_resize_backup_keeps_the_base_volume(self):
        instance = self.spawn()
        storage = self.host.storage
        root = storage.lookup(vmops.volume_name(instance.uuid, vmops.ROOT))
        backup = vmops.backup_name(instance.uuid, vmops.ROOT)
        storage.create(backup, storage.virtual_size(root), 'qcow2',
                       storage.lookup(self.base_volume), 'raw')
        self.pool.destroy(self.context, instance, [])
        self.run_pass()
        self.assertIn(self.base_volume, self.volume_names())
        storage.delete(backup)
        self.run_pass()
        self.assertNotIn(self.base_volume, self.volume_names())

    def test_instance_of_the_image_keeps_it(self):
        instance = self.spawn()
        self.pool.destroy(self.context, instance, [])
        instance.image_ref = base.IMAGE_ID
        self.run_pass([instance])
        self.assertIn(self.base_volume, self.volume_names())

    def test_minimum_age_and_switch(self):
        instance = self.spawn()
        self.pool.destroy(self.context, instance, [])
        self.conf_fixture.config(
            remove_unused_original_minimum_age_seconds=3600,
            group='image_cache')
        self.run_pass()
        self.assertIn(self.base_volume, self.volume_names())
        self.conf_fixture.config(
            remove_unused_original_minimum_age_seconds=0,
            remove_unused_base_images=False, group='image_cache')
        self.run_pass()
        self.assertIn(self.base_volume, self.volume_names())
        self.conf_fixture.config(remove_unused_base_images=True,
                                 group='image_cache')
        self.run_pass()
        self.assertNotIn(self.base_volume, self.volume_names())
