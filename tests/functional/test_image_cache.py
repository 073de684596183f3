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

"""nova's image cache periodic task against a real libvirtd host and the
engine simulator: cached images stay while used, go when unused."""

from nova import context as nova_context

from tests import base
from tests.functional import ovirt_base as obase

BASE_VOLUME = 'image-%s' % base.GUEST_IMAGE_ID


class ImageCacheTest(obase.OvirtPoolFunctionalTestBase):

    def run_cache_pass(self):
        """nova's own periodic task (it lists this host's instances)."""
        self.compute.manager._run_image_cache_manager_pass(
            nova_context.get_admin_context())

    def min_age(self, seconds):
        self.flags(remove_unused_original_minimum_age_seconds=seconds,
                   group='image_cache')

    def kvm_volumes(self):
        return self.host_of_node[obase.KVM_NODE].volume_names()

    def test_unused_images_go_used_ones_stay(self):
        self.min_age(0)
        kvm = self._boot(flavor_id='ovirt-pool-kvm')
        ovirt = self._boot_ovirt()
        self.assertEqual(obase.KVM_NODE, self.node_of(kvm))
        template = self.sim_template()
        self.assertIsNotNone(template)

        # In use: both stay, whatever the age.
        self.run_cache_pass()
        self.assertIn(BASE_VOLUME, self.kvm_volumes())
        self.assertIsNotNone(self.sim_template())

        # Unused but younger than the minimum age: both stay.
        self._delete_and_check(kvm)
        self._delete_ovirt(ovirt)
        self.min_age(3600)
        self.run_cache_pass()
        self.assertIn(BASE_VOLUME, self.kvm_volumes())
        self.assertIsNotNone(self.sim_template())

        # Old enough: both go, with the template's disk.
        self.min_age(0)
        template_disks = {a.disk.id for a in
                          self.sim.store.template_disk_attachments.values()
                          if a.template.id == template.id}
        self.assertTrue(template_disks)
        self.run_cache_pass()
        self.assertNotIn(BASE_VOLUME, self.kvm_volumes())
        self.assertIsNone(self.sim_template())
        self.assertEqual(set(), template_disks & self.sim_disk_ids())

        # The next boot uploads the image again and the guest boots.
        kvm = self._boot(flavor_id='ovirt-pool-kvm')
        self.assertGuestBooted(kvm)
        self.assertIn(BASE_VOLUME, self.kvm_volumes())
        self._delete_and_check(kvm)
