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

"""Real qemu guests through OvirtDriver's libvirt pool."""

import time

from nova.compute import power_state

from tests.fixtures import guest_image
from tests.live import base


class GuestLifecycleTest(base.LiveTestCase):

    def test_boot_console_power_cycle_reboot_destroy(self):
        instance = self.make_instance(node='node1')
        started = time.monotonic()
        self.spawn(instance)
        self.assertEqual(power_state.RUNNING, self.power_state(instance))
        boot = self.wait_for_boot(instance)
        self.addDetail('boot seconds', base.content.text_content(
            '%s: spawn %.1f s, boot %.1f s' % (
                self.hosts.domain_type, time.monotonic() - started - boot,
                boot)))

        # The domain is the instance: its UUID, on the node nova chose.
        self.assertEqual(['instance-%s' % instance.uuid],
                         self.domains('node1'))
        self.assertEqual([], self.domains('node2'))
        self.assertIn(instance.uuid, self.driver.list_instance_uuids())
        self.assertIn(guest_image.GUEST_OK_LINE, self.console(instance))

        # A clean power-off: the guest answers the ACPI power button.
        started = time.monotonic()
        self.driver.power_off(instance, timeout=base.SHUTDOWN_TIMEOUT,
                              retry_interval=5)
        self.assertLess(time.monotonic() - started, base.SHUTDOWN_TIMEOUT)
        self.assertEqual(power_state.SHUTDOWN, self.power_state(instance))
        self.assertIn(guest_image.GUEST_POWEROFF_LINE,
                      self.console(instance))
        self.assertIn('Guest shut down cleanly', self.log.output)

        self.driver.power_on(self.context, instance, [])
        self.assertEqual(power_state.RUNNING, self.power_state(instance))
        self.wait_for_boot(instance)

        # A soft reboot is a clean shutdown and a start, not a reset.
        self.driver.reboot(self.context, instance, [], 'SOFT')
        self.assertIn('Guest rebooted softly', self.log.output)
        self.wait_for_boot(instance)

        self.driver.reboot(self.context, instance, [], 'HARD')
        self.assertEqual(power_state.RUNNING, self.power_state(instance))
        self.wait_for_boot(instance)

        self.driver.destroy(self.context, instance, [])
        self.assertEqual([], self.domains('node1'))
        self.assertEqual([], self.instance_volumes('node1', instance))
        self.assertNotIn(instance.uuid, self.driver.list_instance_uuids())
        # What stays is the image's base volume, the pool's image cache.
        self.assertEqual(['image-%s' % base.IMAGE_QCOW2],
                         self.hosts.hosts[0].volume_names())
        self.assertEqual({}, {k: v for k, v in self.hosts.leftovers().items()
                              if v[0]})

    def test_second_boot_reuses_base_volume(self):
        first = self.make_instance(node='node2')
        second = self.make_instance(node='node2')
        self.spawn(first)
        self.spawn(second)
        stats = self.pool.stats['nodes']['node2']
        self.assertEqual(1, stats['image_uploads'])
        self.assertEqual(1, stats['image_reuses'])
        self.wait_for_boot(first)
        self.wait_for_boot(second)
        self.assertEqual(sorted(['instance-%s' % first.uuid,
                                 'instance-%s' % second.uuid]),
                         self.domains('node2'))
        self.driver.destroy(self.context, first, [])
        # The other guest keeps running on the shared base volume.
        self.assertEqual(power_state.RUNNING, self.power_state(second))
        self.driver.destroy(self.context, second, [])
        self.assertEqual([], self.domains('node2'))
        self.assertEqual(['image-%s' % base.IMAGE_QCOW2],
                         self.hosts.hosts[1].volume_names())

    def test_boot_raw_image(self):
        instance = self.make_instance(node='node2')
        self.spawn(instance, image_id=base.IMAGE_RAW)
        self.wait_for_boot(instance)
        self.driver.destroy(self.context, instance, [])
        self.assertEqual([], self.domains('node2'))
        self.assertEqual([], self.instance_volumes('node2', instance))

    def test_spawn_powered_off(self):
        instance = self.make_instance(node='node1')
        self.spawn(instance, power_on=False)
        self.assertEqual(power_state.SHUTDOWN, self.power_state(instance))
        self.assertNotIn(guest_image.GUEST_OK_LINE, self.console(instance))
        self.driver.power_on(self.context, instance, [])
        self.wait_for_boot(instance)
        self.driver.destroy(self.context, instance, [])
        self.assertEqual([], self.domains('node1'))
