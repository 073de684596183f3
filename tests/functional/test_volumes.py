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

"""Cinder volumes on the libvirt pool through nova's REST API.

nova's CinderFixture stands in for the Cinder API, but the connection_info
it hands nova is real: an iSCSI target of a private ``tgtd``
(:mod:`tests.fixtures.iscsi_target`) that the guests' qemu logs in to.
"""

import json
from xml.etree import ElementTree as etree

import fixtures
import libvirt
from oslo_utils import units
from oslo_utils import uuidutils

from nova.tests import fixtures as nova_fixtures
from nova.tests.functional.api import client as api_client

from tests import base
from tests.fixtures import guest_image
from tests.fixtures import iscsi_target
from tests.functional import base as fbase

#: Sectors 8-9 of a volume once the test guest has written its mark
#: (tests.fixtures.guest_image).
ASKED = guest_image.GUEST_WRITE_REQUEST.ljust(512, b'\0')
WRITTEN = ASKED + guest_image.GUEST_WRITTEN.ljust(512, b'\0')


class TargetCinderFixture(nova_fixtures.CinderFixture):
    """nova's CinderFixture whose volumes are LUNs of a real target."""

    def __init__(self, test, az='nova'):
        super().__init__(test, az)
        # Per fixture, not the class's shared dict.
        self.VOLUME_CONNECTION_INFO = dict(self.VOLUME_CONNECTION_INFO)
        self.sizes_gb = {}

        #: {volume id: id of the volume Cinder migrates it to}
        self.migrating = {}

    def add_lun(self, volume_id, lun, size_gb=1):
        self.VOLUME_CONNECTION_INFO[volume_id] = lun.connection_info()
        self.sizes_gb[volume_id] = size_gb

    def fake_get(self, context, volume_id, microversion=None):
        volume = super().fake_get(context, volume_id, microversion)
        # As nova's Cinder client translates every volume it reads; the
        # volume-backed snapshot names its snapshot after it.
        volume.setdefault('display_description', '')
        if volume_id in self.sizes_gb:
            volume['size'] = self.sizes_gb[volume_id]
        if volume_id in self.migrating:
            # nova's swap API serves only Cinder's own migrations.
            volume['migration_status'] = 'migrating'
        return volume

    def fake_migrate_volume_completion(self, context, old_volume_id,
                                       new_volume_id, error):
        """As Cinder ends a migration: the old id names the new LUN."""
        self.migrating.pop(old_volume_id, None)
        if not error:
            self.VOLUME_CONNECTION_INFO[old_volume_id] = \
                self.VOLUME_CONNECTION_INFO[new_volume_id]
            self.sizes_gb[old_volume_id] = self.sizes_gb[new_volume_id]
        return {'save_volume_id': old_volume_id}


class VolumeTest(fbase.OvirtFunctionalTestBase):

    def setUp(self):
        # Before nova's services: the target outlives every qemu session.
        self.target = self.useFixture(iscsi_target.IscsiTargetFixture())
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.CinderFixture', TargetCinderFixture))
        super().setUp()

    def _new_volume(self, name, size_gb=1, lun_size=None, **lun_args):
        """A Cinder volume of size_gb on a LUN of lun_size bytes (as big).

        A smaller LUN keeps copies short where only the data matters.
        """
        volume_id = uuidutils.generate_uuid()
        lun = self.target.create_lun(name, lun_size or size_gb * units.Gi,
                                     **lun_args)
        self.cinder.add_lun(volume_id, lun, size_gb)
        return volume_id, lun

    def volume_disk(self, server, volume_id, flags=0):
        xml = self.domain(server).xml(flags)
        for disk in etree.fromstring(xml).findall('devices/disk'):
            if disk.findtext('serial') == volume_id:
                return disk
        return None

    def secret_usages(self, server):
        conn = self.host_of_node[self.node_of(server)].conn()
        try:
            return [s.usageID() for s in conn.listAllSecrets(0)]
        finally:
            conn.close()

    def volume_status(self, volume_id):
        return self.cinder.fake_get(None, volume_id)['status']

    def wait_guest_sees(self, server, dev, size, sectors):
        """The guest's console shows dev of size holding sectors 8-9."""
        md5 = guest_image.probe_md5(sectors)

        def seen():
            disks = guest_image.parse_disks_line(
                self.console_log(server) or '') or {}
            return disks.get(dev) == (size, md5)
        base.wait_until(seen, 90, interval=0.5,
                        message='the guest of %s to see %s of %d bytes '
                        'holding its mark' % (server['id'], dev, size))

    def assertAttached(self, server, volume_id, lun, running=True):
        disk = self.volume_disk(server, volume_id,
                                libvirt.VIR_DOMAIN_XML_INACTIVE)
        self.assertIsNotNone(disk, 'volume %s not in the definition of %s'
                             % (volume_id, server['id']))
        source = disk.find('source')
        self.assertEqual(('network', 'iscsi', '%s/1' % lun.iqn),
                         (disk.get('type'), source.get('protocol'),
                          source.get('name')))
        initiator = source.find('initiator/iqn').get('name')
        self.assertEqual('iqn.2026-01.org.openstack.nova-ovirt:%s.%s' % (
            fbase.COMPUTE_HOST, self.node_of(server)), initiator)
        if running:
            self.assertIsNotNone(self.volume_disk(server, volume_id))
            # qemu itself logged in to the target, as the node's initiator.
            base.wait_until(lambda: self.target.sessions(lun) == [initiator],
                            30, message='a session of %s' % initiator)
        return disk

    def test_attach_lifecycle_detach_delete(self):
        server = self._boot()
        data_id, data_lun = self._new_volume('data', username='chap',
                                             password='chap-pass-2')
        other_id, other_lun = self._new_volume('other')

        self._attach_volume(server, data_id)
        disk = self.assertAttached(server, data_id, data_lun)
        self.assertEqual('chap', disk.find('source/auth').get('username'))
        self.assertNotIn('chap-pass-2', self.domain(server).xml(
            libvirt.VIR_DOMAIN_XML_SECURE))
        self.assertEqual(['nova-ovirt/%s/%s' % (server['id'], data_id)],
                         [u for u in self.secret_usages(server)
                          if server['id'] in u])
        self.assertEqual('in-use', self.volume_status(data_id))
        self.assertUsage(self.node_of(server), 'ovirt-tiny')

        # Stop, start, hard reboot: the volume stays, qemu logs in again.
        server = self._stop_server(server)
        self.assertEqual([], self.target.sessions(data_lun))
        self.assertAttached(server, data_id, data_lun, running=False)
        server = self._start_server(server)
        self.assertAttached(server, data_id, data_lun)
        self.wait_for_boot(server)
        mark = self.console_mark(server)
        self.api.post_server_action(server['id'],
                                    {'reboot': {'type': 'HARD'}})
        self._wait_for_notification('instance.reboot.end', 1)
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.wait_for_boot(server, mark)
        self.assertAttached(server, data_id, data_lun)

        # Online extend: Cinder grew the LUN and tells nova.
        self.target.resize_lun(data_lun, 2 * units.Gi)
        self.cinder.sizes_gb[data_id] = 2
        self.admin_api.api_post('/os-server-external-events', {'events': [{
            'name': 'volume-extended', 'server_uuid': server['id'],
            'tag': data_id}]})
        view = self.domain(server)
        target = self.volume_disk(server, data_id).find('target').get('dev')
        base.wait_until(
            lambda: view._with_domain(
                lambda d: d.blockInfo(target)[0]) == 2 * units.Gi,
            60, message='qemu to see the 2 GiB of the extended volume')

        # Detach through the API: gone from qemu, the definition, the
        # target's sessions and the host's secrets; the volume is free.
        self.api.delete_server_volume(server['id'], data_id)
        self._wait_for_volume_detach(server['id'], data_id)
        base.wait_until(lambda: self.volume_status(data_id) == 'available',
                        60, message='volume %s available' % data_id)
        self.assertIsNone(self.volume_disk(server, data_id))
        self.assertIsNone(self.volume_disk(server, data_id,
                                           libvirt.VIR_DOMAIN_XML_INACTIVE))
        self.assertEqual([], self.target.sessions(data_lun))
        self.assertEqual([], [u for u in self.secret_usages(server)
                              if server['id'] in u])

        # Delete with a volume attached: nova frees the volume.
        self._attach_volume(server, other_id)
        self.assertAttached(server, other_id, other_lun)
        self._delete_and_check(server)
        self.assertEqual('available', self.volume_status(other_id))
        self.assertEqual([], self.target.sessions(other_lun))
        self.assertNoUsage()

    def _boot_from_guest_volume(self, name, lun_name):
        """A server booted from a new 64 MiB volume holding the test
        guest (no image), ACTIVE; (server, volume id, LUN)."""
        volume_id, lun = self._new_volume(
            lun_name, lun_size=64 * units.Mi,
            content=guest_image.build_guest_image(fmt='raw'))
        server = self.api.post_server({'server': {
            'name': name, 'imageRef': '', 'flavorRef': 'ovirt-tiny',
            'networks': 'none', 'block_device_mapping_v2': [{
                'boot_index': 0, 'uuid': volume_id, 'source_type': 'volume',
                'destination_type': 'volume'}]}})
        return (self._wait_for_state_change(server, 'ACTIVE'), volume_id,
                lun)

    def test_boot_from_volume(self):
        server, volume_id, lun = self._boot_from_guest_volume(
            'bfv', 'root')
        server = self._refresh(server)
        self.assertGuestBooted(server)
        disk = self.assertAttached(server, volume_id, lun)
        self.assertEqual('vda', disk.find('target').get('dev'))
        # No image on the host and no root disk claimed in placement.
        host = self.host_of_node[self.node_of(server)]
        self.assertEqual([], [v for v in host.volume_names()
                              if v.startswith('image-') or
                              v == '%s_disk' % server['id']])
        usage = self.usage(self.node_of(server))
        self.assertEqual((1, 128, 0), (usage.get('VCPU'),
                                       usage.get('MEMORY_MB'),
                                       usage.get('DISK_GB', 0)))
        self._delete_server(server)
        self.assertNoDomain(server['id'])
        self.assertEqual('available', self.volume_status(volume_id))
        self.assertNoUsage()

    def test_snapshot_of_a_volume_backed_server(self):
        """nova snapshots the root volume in Cinder; the image maps it.

        The driver has no quiesce (no guest agent): nova goes on without
        it unless the image requires it.
        """
        server, volume_id, lun = self._boot_from_guest_volume(
            'bfv-snap', 'snaproot')
        before = self.domain(server).xml(libvirt.VIR_DOMAIN_XML_INACTIVE)
        image_id = self.api.post_server_action(
            server['id'], {'createImage': {'name': 'bfv-snap'}})['image_id']
        image = self.glance.show(None, image_id)
        self.assertEqual('active', image['status'])
        mappings = image['properties']['block_device_mapping']
        if isinstance(mappings, str):
            mappings = json.loads(mappings)
        snapshots = [m for m in mappings if m.get('source_type') == 'snapshot']
        self.assertEqual(1, len(snapshots), mappings)
        self.assertEqual(volume_id, self.cinder.volume_snapshots[
            snapshots[0]['snapshot_id']]['volume_id'])
        # The guest went on, untouched, and its volume stays attached.
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertIsNone(server['OS-EXT-STS:task_state'])
        self.assertDomain(server, 'running')
        self.assertEqual(before, self.domain(server).xml(
            libvirt.VIR_DOMAIN_XML_INACTIVE))
        self.assertEqual('in-use', self.volume_status(volume_id))
        self._delete_server(server)
        self.assertNoDomain(server['id'])

    def _swap(self, server, old_id, new_id):
        """Cinder migrates old_id to new_id: it asks nova to swap them."""
        self.cinder.migrating[old_id] = new_id
        try:
            self.admin_api.put_server_volume(server['id'], old_id, new_id)
        except api_client.OpenStackApiException as e:
            # CastAsCall: the compute's failure comes back to the API call.
            return e
        return None

    def test_swap_volume_online(self):
        """Cinder migrates an attached volume: qemu copies, then pivots."""
        server = self._boot()
        old_id, old_lun = self._new_volume('swap-old', lun_size=64 * units.Mi,
                                           username='old',
                                           password='old-pass')
        new_id, new_lun = self._new_volume('swap-new', size_gb=2,
                                           lun_size=128 * units.Mi,
                                           username='new',
                                           password='new-pass')
        bad_id, _ = self._new_volume('swap-bad', lun_size=64 * units.Mi,
                                     username='bad', password='bad-pass')
        self.cinder.VOLUME_CONNECTION_INFO[bad_id]['data'][
            'auth_password'] = 'not-the-chap-password'
        old_lun.write(guest_image.PROBE_OFFSET, ASKED)
        self._attach_volume(server, old_id)
        self.assertAttached(server, old_id, old_lun)
        self.wait_guest_sees(server, 'vdb', 64 * units.Mi, WRITTEN)
        definition = self.domain(server).xml(libvirt.VIR_DOMAIN_XML_INACTIVE)

        # A target that refuses the login: the guest goes on with the old
        # volume, its definition and secrets as they were.
        self.assertIsNotNone(self._swap(server, old_id, bad_id))
        self.notifier.wait_for_versioned_notifications(
            'instance.volume_swap.error')
        self.assertIn('VolumeRebaseFailed', self.stdlog.logger.output)
        self.assertEqual(definition, self.domain(server).xml(
            libvirt.VIR_DOMAIN_XML_INACTIVE))
        self.assertAttached(server, old_id, old_lun)
        self.assertEqual(['nova-ovirt/%s/%s' % (server['id'], old_id)],
                         [u for u in self.secret_usages(server)
                          if server['id'] in u])
        self.assertEqual(('in-use', 'available'),
                         (self.volume_status(old_id),
                          self.volume_status(bad_id)))
        self.assertEqual({}, self.cinder.migrating)

        # The swap: the guest's vdb now reads the new, larger LUN, which
        # holds what the guest wrote on the old one.
        self.assertIsNone(self._swap(server, old_id, new_id))
        self.notifier.wait_for_versioned_notifications(
            'instance.volume_swap.end')
        self.assertEqual(WRITTEN, new_lun.read(guest_image.PROBE_OFFSET,
                                               guest_image.PROBE_LENGTH))
        # qemu copies onto a target of the source's size only: a slice of
        # the new LUN until the guest's next start (qemu 7 cannot grow a
        # sliced disk live); the definition has the whole LUN.
        self.wait_guest_sees(server, 'vdb', 64 * units.Mi, WRITTEN)
        for flags, slices in ((0, 1), (libvirt.VIR_DOMAIN_XML_INACTIVE, 0)):
            # Same device and serial for the guest (Cinder gave the new LUN
            # the volume's id); the new LUN as its source.
            disk = self.volume_disk(server, old_id, flags)
            self.assertEqual(('vdb', '%s/1' % new_lun.iqn, 'new', slices), (
                disk.find('target').get('dev'),
                disk.find('source').get('name'),
                disk.find('source/auth').get('username'),
                len(disk.findall('source/slices/slice'))))
        base.wait_until(lambda: self.target.sessions(old_lun) == [], 30,
                        message='qemu to log out of the old volume')
        self.assertEqual(1, len(self.target.sessions(new_lun)))
        # The new LUN's secret (named after the volume it was made for).
        self.assertEqual(['nova-ovirt/%s/%s' % (server['id'], new_id)],
                         [u for u in self.secret_usages(server)
                          if server['id'] in u])
        self.assertEqual([old_id], [a['volumeId'] for a in
                                    self.api.get_server_volumes(
                                        server['id'])])

        # Detached by the volume's id, the disk and the new LUN's secret go.
        self.api.delete_server_volume(server['id'], old_id)
        self._wait_for_volume_detach(server['id'], old_id)
        self.assertIsNone(self.volume_disk(server, old_id,
                                           libvirt.VIR_DOMAIN_XML_INACTIVE))
        self.assertEqual([], self.target.sessions(new_lun))
        self.assertEqual([], [u for u in self.secret_usages(server)
                              if server['id'] in u])
        self._delete_and_check(server)

    def test_unknown_volume_type_fails_cleanly(self):
        server = self._boot()
        before = self.domain(server).xml(libvirt.VIR_DOMAIN_XML_INACTIVE)
        volume_id = uuidutils.generate_uuid()
        self.cinder.VOLUME_CONNECTION_INFO[volume_id] = {
            'driver_volume_type': 'fibre_channel',
            'data': {'target_wwn': ['500a0981891b8dc5'], 'target_lun': 1}}
        try:
            self.api.post_server_volume(
                server['id'], {'volumeAttachment': {'volumeId': volume_id}})
        except api_client.OpenStackApiException as e:
            # The tests' CastAsCall turns nova's cast into a call: the
            # driver's fault comes back here instead of only in the
            # server's actions as in a real cloud.
            self.assertIn('UnsupportedVolumeType', str(e))
        self.notifier.wait_for_versioned_notifications(
            'instance.volume_attach.error')
        event = self._wait_for_instance_action_event(
            server, 'attach_volume', 'compute_attach_volume', 'Error')
        self.assertIn('UnsupportedVolumeType', event.get('traceback') or
                      self.stdlog.logger.output)
        self.assertIn('Volume %s has driver_volume_type fibre_channel, which '
                      'the libvirt pool kvm cannot attach' % volume_id,
                      self.stdlog.logger.output)
        self._wait_for_volume_detach(server['id'], volume_id)
        self.assertEqual('available', self.volume_status(volume_id))
        # Detaching a volume the server does not have: a clear 404.
        e = self.assertRaises(api_client.OpenStackApiNotFoundException,
                              self.api.delete_server_volume, server['id'],
                              volume_id)
        self.assertIn('is not attached to volume %s' % volume_id,
                      e.response.text)
        server = self._refresh(server)
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual(before, self.domain(server).xml(
            libvirt.VIR_DOMAIN_XML_INACTIVE))
        self._delete_and_check(server)

    def test_cold_migrate_with_a_volume(self):
        server = self._boot()
        source = self.node_of(server)
        volume_id, lun = self._new_volume('moved', username='mig',
                                          password='mig-pass')
        self._attach_volume(server, volume_id)
        self.assertAttached(server, volume_id, lun)
        self.admin_api.post_server_action(server['id'], {'migrate': None})
        server = self._wait_for_state_change(server, 'VERIFY_RESIZE')
        server = self._confirm_resize(server)
        dest = self.node_of(server)
        self.assertNotEqual(source, dest)
        # On the destination, logged in as the destination's initiator;
        # nothing of the volume left on the source host.
        self.assertAttached(server, volume_id, lun)
        conn = self.host_of_node[source].conn()
        try:
            self.assertEqual([], [s.usageID() for s in conn.listAllSecrets(0)
                                  if server['id'] in s.usageID()])
        finally:
            conn.close()
        self._delete_and_check(server)
        self.assertEqual('available', self.volume_status(volume_id))
        self.assertNoUsage()
