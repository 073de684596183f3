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

"""Adopted domains in a libvirt pool, against libvirt's test driver.

A foreign domain keeps its own UUID: every operation must reach it
through the instance's UUID all the same (Host.find_domain), and only
while our mark names both.
"""

import types

import libvirt

from nova.compute import power_state
from nova import exception as nova_exception
from nova.network import model as network_model
from nova.virt import event as virtevent

from nova_ovirt import adoption
from nova_ovirt import exception
from nova_ovirt.pools.libvirt import adopt as libvirt_adopt
from nova_ovirt.pools.libvirt import config
from tests.unit.pools.libvirt import base

FOREIGN_UUID = '5e1f0000-aaaa-bbbb-cccc-000000000001'
MAC = '52:54:00:00:00:01'
FOREIGN_XML = """<domain type='test'><name>legacy</name><uuid>%s</uuid>
<memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os>
<devices>
 <disk type='file' device='disk'><source file='/legacy.img'/>
  <target dev='vda' bus='virtio'/></disk>
 <interface type='bridge'><mac address='%s'/><source bridge='br0'/>
 </interface>
</devices></domain>""" % (FOREIGN_UUID, MAC)


def vif(mac=MAC):
    return network_model.VIF(id='port-1', address=mac, type='bridge',
                             network=network_model.Network(id='net',
                                                           bridge='br0'))


class AdoptedDomainTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.pool = self.make_pool(['n1=' + self.private_uri()])
        self.host = self.pool.node_host('n1')
        self.conn = self.host.connection
        self.domain = self.conn.defineXML(FOREIGN_XML)
        self.domain.create()
        self.domain_id = self.live_id()

    def live_id(self):
        # A fresh lookup: a virDomain object keeps the id it was made with.
        return self.conn.lookupByUUIDString(FOREIGN_UUID).ID()

    def offer(self, token='token', ttl=adoption.DEFAULT_TTL):
        libvirt_adopt.set_element(self.domain, config.offer_element(
            adoption.record(token, ttl)))

    def adoption_instance(self, token='token', **kwargs):
        instance = self.make_instance('n1', root_gb=0, **kwargs)
        instance.metadata = {adoption.META_VM: FOREIGN_UUID,
                             adoption.META_TOKEN: token}
        return instance

    def spawn(self, instance, network_info=None):
        self.pool.spawn(self.context, instance, self.image_meta(), [], None,
                        {}, network_info if network_info is not None
                        else [vif()])

    def adopt(self):
        self.offer()
        instance = self.adoption_instance()
        self.spawn(instance)
        return instance

    def mark(self):
        return self.domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                                    config.METADATA_NS, 0)

    def test_adopted_domain_is_found_under_the_instance_uuid(self):
        instance = self.adopt()
        self.assertEqual(self.domain_id, self.live_id())
        self.assertEqual([instance.uuid], self.pool.list_instance_uuids())
        self.assertTrue(self.pool.instance_exists(instance))
        self.assertEqual(power_state.RUNNING,
                         self.pool.get_info(instance, use_cache=False).state)
        self.assertEqual((instance.uuid, 'vm'),
                         config.metadata_owner(self.mark(), FOREIGN_UUID))
        # No second domain was made.
        self.assertEqual(['legacy'], sorted(
            d.name() for d in self.conn.listAllDomains()))

    def test_operations_reach_the_adopted_domain(self):
        instance = self.adopt()
        self.pool.power_off(instance)
        self.assertFalse(self.domain.isActive())
        self.pool.power_on(self.context, instance, [])
        self.assertTrue(self.domain.isActive())
        started = self.live_id()
        self.pool.reboot(self.context, instance, [], 'HARD')
        self.assertTrue(self.domain.isActive())
        self.assertNotEqual(started, self.live_id())
        self.pool.pause(instance)
        self.assertEqual(power_state.PAUSED,
                         self.pool.get_info(instance, use_cache=False).state)
        self.pool.unpause(instance)
        self.pool.suspend(self.context, instance)
        self.assertTrue(self.domain.hasManagedSaveImage(0))
        self.pool.resume(self.context, instance, [])
        self.assertTrue(self.domain.isActive())
        self.assertEqual(['legacy'], sorted(
            d.name() for d in self.conn.listAllDomains()))

    def test_lifecycle_events_name_the_instance(self):
        instance = self.adopt()
        self.pool.list_instance_uuids()
        self.domain.destroy()

        def stopped():
            self.queue.drain()
            return any(e.uuid == instance.uuid and
                       e.transition == virtevent.EVENT_LIFECYCLE_STOPPED
                       for e in self.events)
        self.wait_for(stopped, message='stopped event')
        self.assertNotIn(FOREIGN_UUID, [e.uuid for e in self.events])

    def test_delete_removes_the_domain_only(self):
        instance = self.adopt()
        self.pool.destroy(self.context, instance, [])
        self.assertRaises(libvirt.libvirtError, self.conn.lookupByUUIDString,
                          FOREIGN_UUID)
        self.assertEqual([], self.pool.list_instance_uuids())

    def test_released_domain_is_no_longer_nova_s(self):
        instance = self.adopt()
        self.assertEqual([instance.uuid], self.pool.list_instance_uuids())
        libvirt_adopt.set_element(self.domain, None)   # the command's part
        self.pool.destroy(self.context, instance, [])
        self.assertTrue(self.domain.isActive())
        self.host.invalidate()
        self.assertEqual([], self.pool.list_instance_uuids())

    def test_a_copied_mark_owns_nothing(self):
        instance = self.adopt()
        copy = self.conn.defineXML(FOREIGN_XML.replace(
            FOREIGN_UUID, '5e1f0000-aaaa-bbbb-cccc-000000000002').replace(
            'legacy', 'copy').replace(MAC, '52:54:00:00:00:02'))
        libvirt_adopt.set_element(copy, config.metadata_element(
            instance.uuid, 'vm', instance.flavor, 'p', 'u', 'p', 'n1',
            adopted_domain=FOREIGN_UUID))
        self.host.invalidate()
        self.assertEqual([instance.uuid], self.pool.list_instance_uuids())
        self.assertEqual(FOREIGN_UUID,
                         self.host.find_domain(instance.uuid).UUIDString())

    def test_redefining_an_adopted_domain_is_refused(self):
        instance = self.adopt()
        e = self.assertRaises(
            exception.BackendOperationFailed, self.pool.rescue,
            self.context, instance, [], self.image_meta(), None, None, None)
        self.assertIn('adopted domain', str(e))
        self.assertTrue(self.domain.isActive())
        self.assertEqual(self.domain_id, self.live_id())

    def test_snapshot_of_a_disk_outside_storage_pools_is_refused(self):
        # Shut off, its disk (/legacy.img) is read through a storage pool
        # of the host; none holds it.
        instance = self.adopt()
        self.pool.power_off(instance)
        before = self.domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        e = self.assertRaises(
            exception.BackendOperationFailed, self.pool.snapshot,
            self.context, instance, 'image-1', lambda **kwargs: None)
        self.assertIn('Snapshot of the adopted domain %s (legacy)' %
                      FOREIGN_UUID, str(e))
        self.assertIn('its root disk vda (/legacy.img) lies in no storage '
                      'pool of node n1', str(e))
        self.assertIn('define a storage pool for its directory', str(e))
        self.assertEqual([], [n for n in self.host.storage.names()
                              if n.startswith(instance.uuid)])
        self.assertEqual(before,
                         self.domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))

    def test_failed_snapshot_of_a_running_domain_leaves_nothing(self):
        # libvirt's test driver has no backups: the copy fails after the
        # scratch volume was made.
        instance = self.adopt()
        e = self.assertRaises(
            exception.BackendOperationFailed, self.pool.snapshot,
            self.context, instance, 'image-1', lambda **kwargs: None)
        self.assertIn('Backup of vda (/legacy.img) of the adopted domain',
                      str(e))
        self.assertIn('virDomainBackupBegin', str(e))
        self.assertEqual([], [n for n in self.host.storage.names()
                              if n.startswith(instance.uuid)])
        self.assertEqual(self.domain_id, self.live_id())

    def test_resize_to_another_node_is_rolled_back(self):
        instance = self.adopt()
        # The node of nova's migration record, as the driver passes it.
        e = self.assertRaises(
            nova_exception.InstanceFaultRollback,
            self.pool.migrate_disk_and_power_off, self.context, instance,
            'dest', instance.flavor, [], dest_node='n2')
        self.assertIn('cannot move from n1 to n2: nova-ovirt moves an '
                      'adopted domain by resize or cold migration between '
                      'hosts of one libvirt pool only (n2 is not one of '
                      'pool p)', str(e.inner_exception))
        self.assertEqual(self.domain_id, self.live_id())

    def test_refusals_change_nothing(self):
        self.offer()
        before = self.domain.XMLDesc(0)
        cases = [
            (self.adoption_instance('forged'), [vif()],
             'the adoption token does not match'),
            (self.adoption_instance(memory_mb=128), [vif()],
             'flavor f128 has 1 vCPUs and 128 MiB'),
            (self.adoption_instance(), [vif('52:54:00:99:99:99')],
             'are not the VM\'s NICs'),
        ]
        for instance, network_info, reason in cases:
            e = self.assertRaises(adoption.AdoptionRefused, self.spawn,
                                  instance, network_info)
            self.assertIn(reason, str(e))
            self.assertEqual(before, self.domain.XMLDesc(0))
            self.assertEqual([], self.pool.list_instance_uuids())
        # Used once, the token is gone.
        self.spawn(self.adoption_instance())
        e = self.assertRaises(adoption.AdoptionRefused, self.spawn,
                              self.adoption_instance())
        self.assertIn('already owned by Nova instance', str(e))

    def test_expired_offer_is_refused(self):
        self.offer(ttl=-1)
        e = self.assertRaises(adoption.AdoptionRefused, self.spawn,
                              self.adoption_instance())
        self.assertIn('expired', str(e))

    def test_missing_domain_is_refused_without_creating_one(self):
        instance = self.adoption_instance()
        instance.metadata[adoption.META_VM] = \
            '5e1f0000-aaaa-bbbb-cccc-00000000ffff'
        e = self.assertRaises(adoption.AdoptionRefused, self.spawn, instance)
        self.assertIn('node n1 has no domain with this UUID', str(e))
        self.assertEqual([], self.pool.list_instance_uuids())


class ProblemsTest(base.TestCase):
    """The adoptability rule on domain facts libvirt reports."""

    def facts(self, **overrides):
        values = dict(owner=None, offer=None, persistent=True,
                      state=libvirt.VIR_DOMAIN_RUNNING, reason=1,
                      job=None, disks=[])
        values.update(overrides)
        facts = types.SimpleNamespace(**values)
        facts.state_text = lambda: libvirt_adopt.DomainFacts.state_text(
            facts)
        return facts

    def test_stable_states(self):
        for state, reason in ((libvirt.VIR_DOMAIN_RUNNING, 1),
                              (libvirt.VIR_DOMAIN_SHUTOFF, 1),
                              (libvirt.VIR_DOMAIN_PAUSED,
                               libvirt.VIR_DOMAIN_PAUSED_USER)):
            self.assertEqual([], libvirt_adopt.problems(
                self.facts(state=state, reason=reason)))

    def test_transient_states(self):
        self.assertEqual(
            ['it is in the transient state paused (migration)'],
            libvirt_adopt.problems(self.facts(
                state=libvirt.VIR_DOMAIN_PAUSED,
                reason=libvirt.VIR_DOMAIN_PAUSED_MIGRATION)))
        self.assertEqual(
            ['it is in the transient state running with a migration job '
             'running'],
            libvirt_adopt.problems(self.facts(job='migration')))
        self.assertIn('transient state shutting down',
                      libvirt_adopt.problems(self.facts(
                          state=libvirt.VIR_DOMAIN_SHUTDOWN))[0])

    def test_ownership_offer_persistence_and_disks(self):
        self.assertEqual(
            ['already owned by Nova instance x',
             'it is a transient domain (Nova stops and starts guests: '
             'define it persistently first)',
             'disk vdb has the unsupported type network'],
            libvirt_adopt.problems(self.facts(
                owner='x', persistent=False,
                disks=[('file', 'disk', 'vda'),
                       ('network', 'disk', 'vdb')])))
        self.assertEqual(
            ['an adoption is already in progress (token present)'],
            libvirt_adopt.problems(self.facts(offer='[...]')))
        self.assertEqual([], libvirt_adopt.problems(
            self.facts(offer='[...]'), offered=True))


class NotFoundTest(base.TestCase):

    def test_instance_without_domain(self):
        pool = self.make_pool(['n1=' + self.private_uri()])
        instance = self.make_instance('n1')
        self.assertFalse(pool.instance_exists(instance))
        self.assertRaises(nova_exception.InstanceNotFound, pool.get_info,
                          instance)
