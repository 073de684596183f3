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

"""The oVirt pool's image cache pass against the engine simulator."""

import time

from ovirtsdk4 import types

from nova_ovirt.pools.ovirt import images
from tests.unit.pools.ovirt import test_vmops


class TestImageCache(test_vmops.FlowTestCase):

    def setUp(self):
        super().setUp()
        self.flags.config(remove_unused_original_minimum_age_seconds=0,
                          group='image_cache')

    def template(self, image_id=None):
        return self.sim.store.by_name(
            'templates', images.template_name(image_id or self.image_id))

    def run_pass(self, instances=()):
        self.pool.manage_image_cache(self.context, list(instances))

    def test_template_stays_while_a_vm_uses_it(self):
        inst = self.spawn(image_ref=self.image_id)
        self.run_pass()   # no instance listed: the VM child still counts
        self.assertIsNotNone(self.template())
        self.pool.destroy(self.context, inst, [])
        # nova still lists an instance of the image (a spawn in progress).
        self.run_pass([inst])
        self.assertIsNotNone(self.template())
        self.run_pass()
        self.assertIsNone(self.template())
        # The next boot uploads the image again.
        self.spawn()
        self.assertEqual(2, self.images.downloads)

    def test_minimum_age(self):
        inst = self.spawn()
        self.pool.destroy(self.context, inst, [])
        self.flags.config(remove_unused_original_minimum_age_seconds=1,
                          group='image_cache')
        self.run_pass()            # first seen unused now
        self.assertIsNotNone(self.template())
        time.sleep(1.1)
        self.run_pass()
        self.assertIsNone(self.template())

    def test_disabled_keeps_everything(self):
        inst = self.spawn()
        self.pool.destroy(self.context, inst, [])
        self.flags.config(remove_unused_base_images=False,
                          group='image_cache')
        self.run_pass()
        self.assertIsNotNone(self.template())

    def test_operator_template_and_operator_child_are_respected(self):
        inst = self.spawn()
        tpl = self.template()
        # An operator's VM thin-cloned from our template keeps it.
        with self.sim.store.lock:
            cluster = next(iter(self.sim.store.clusters.values()))
            self.sim.engine.add_vm(types.Vm(
                name='operator-vm', cluster=types.Cluster(id=cluster.id),
                template=types.Template(id=tpl.id)))
        self.pool.destroy(self.context, inst, [])
        self.run_pass()
        self.assertIsNotNone(self.template())
        # A template named like ours without our mark is not ours.
        other = self.sim.admin_add_vm('operator-base', 'cluster1',
                                      status='down')
        with self.sim.store.lock:
            self.sim.engine.add_template(types.Template(
                name=images.template_name('0' * 8), vm=types.Vm(id=other.id),
                comment='made by the operator'))
        time.sleep(0.2)
        self.assertEqual({self.image_id},
                         set(self.pool.images.cached_templates()))
        self.run_pass()
        self.assertIsNotNone(self.template('0' * 8))
