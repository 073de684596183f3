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

"""Cinder volumes on the oVirt pool through nova's REST API.

nova's CinderFixture stands in for the Cinder API; the connection_info it
hands nova names iSCSI LUNs of the engine simulator's SAN
(:mod:`ovirt_engine_sim.luns`), which the engine's hosts log in to. The
tests check the engine's state: direct LUN disks, their attachments and
the hosts' iSCSI sessions.
"""

import fixtures
from oslo_utils import units
from oslo_utils import uuidutils

from nova.tests import fixtures as nova_fixtures
from nova.tests.functional.api import client as api_client

from ovirt_engine_sim import luns
from tests import base
from tests.functional import ovirt_base as obase

PORTAL = ('192.0.2.50', 3260)
IQN = 'iqn.2026-11.invalid.cinder:volumes'
CHAP = ('cinder-chap', 'chap-pass-ovirt')


class SanCinderFixture(nova_fixtures.CinderFixture):
    """nova's CinderFixture whose volumes are LUNs of the simulator's SAN."""

    def __init__(self, test, az='nova'):
        super().__init__(test, az)
        # Per fixture, not the class's shared dict.
        self.VOLUME_CONNECTION_INFO = dict(self.VOLUME_CONNECTION_INFO)
        self.sizes_gb = {}
        #: Volumes Cinder is migrating (nova's swap API serves only those).
        self.migrating = set()

    def add_volume(self, volume_id, connection_info, size_gb=1):
        self.VOLUME_CONNECTION_INFO[volume_id] = connection_info
        self.sizes_gb[volume_id] = size_gb

    def fake_get(self, context, volume_id, microversion=None):
        volume = super().fake_get(context, volume_id, microversion)
        if volume_id in self.sizes_gb:
            volume['size'] = self.sizes_gb[volume_id]
        if volume_id in self.migrating:
            volume['migration_status'] = 'migrating'
        return volume

    def fake_migrate_volume_completion(self, context, old_volume_id,
                                       new_volume_id, error):
        self.migrating.discard(old_volume_id)
        return {'save_volume_id': old_volume_id}


def iscsi_info(volume_id, lun, iqn=IQN, chap=CHAP):
    data = {'volume_id': volume_id, 'target_portal': '%s:%d' % PORTAL,
            'target_iqn': iqn, 'target_lun': lun, 'access_mode': 'rw'}
    if chap:
        data.update(auth_method='CHAP', auth_username=chap[0],
                    auth_password=chap[1])
    return {'driver_volume_type': 'iscsi', 'data': data}


class OvirtVolumeTest(obase.OvirtPoolFunctionalTestBase):

    def setUp(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.CinderFixture', SanCinderFixture))
        super().setUp()
        self.san = luns.san(self.sim.store)
        self.target = self.san.add_target(PORTAL[0], PORTAL[1], IQN,
                                          username=CHAP[0], password=CHAP[1])

    def _new_volume(self, lun, size_gb=1, **info_args):
        volume_id = uuidutils.generate_uuid()
        wwid = '36001405%024x' % lun
        with self.sim.store.lock:
            self.target.add_lun(lun, wwid, size_gb * units.Gi)
        self.cinder.add_volume(volume_id, iscsi_info(volume_id, lun,
                                                     **info_args), size_gb)
        return volume_id, wwid

    def volume_status(self, volume_id):
        return self.cinder.fake_get(None, volume_id)['status']

    def lun_disks(self):
        self._tick()
        with self.sim.store.lock:
            return [d for d in self.sim.store.disks.values()
                    if d.storage_type is not None and
                    d.storage_type.value == 'lun']

    def assertLunAttached(self, server, volume_id, wwid, size=units.Gi):
        vm = self.sim_vm(server)
        disks = [d for d in self.lun_disks()
                 if d.lun_storage.logical_units[0].id == wwid]
        self.assertEqual(1, len(disks), 'LUN disks of %s' % wwid)
        disk = disks[0]
        self.assertEqual('nova-volume-%s' % volume_id, disk.alias)
        self.assertIn(server['id'], disk.description)
        unit = disk.lun_storage.logical_units[0]
        self.assertEqual((IQN, PORTAL[0], PORTAL[1]),
                         (unit.target, unit.address, unit.port))
        self.assertEqual(size, unit.size)
        with self.sim.store.lock:
            att = self.sim.store.disk_attachments.get(disk.id)
        self.assertIsNotNone(att, 'LUN disk %s not attached' % disk.id)
        self.assertEqual(vm.id, att.vm.id)
        self.assertTrue(att.active)
        # The root disk's bus.
        self.assertEqual('virtio', att.interface.value)
        # A host of the VM's cluster logged in to the target.
        hosts = {h.id for h in self.sim.store.hosts_of(vm.cluster.id)}
        self.assertTrue({h for h, iqn in self.san.sessions if iqn == IQN} &
                        hosts, 'no host of the cluster logged in to %s' % IQN)
        return disk

    def test_attach_lifecycle_extend_detach_delete(self):
        server = self._boot_ovirt(name='vol')
        data_id, data_wwid = self._new_volume(1)
        other_id, other_wwid = self._new_volume(2)

        self._attach_volume(server, data_id)
        disk = self.assertLunAttached(server, data_id, data_wwid)
        self.assertEqual('in-use', self.volume_status(data_id))

        # Stop, start, reboot: the LUN disk stays attached.
        server = self._stop_server(server)
        self.assertVmStatus(server, 'down')
        self.assertLunAttached(server, data_id, data_wwid)
        server = self._start_server(server)
        self.assertVmStatus(server, 'up')
        self.api.post_server_action(server['id'],
                                    {'reboot': {'type': 'HARD'}})
        self._wait_for_notification('instance.reboot.end', 1)
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertVmStatus(server, 'up')
        self.assertEqual(disk.id, self.assertLunAttached(
            server, data_id, data_wwid).id)

        # Online extend: the SAN grew the LUN, Cinder tells nova, the
        # engine refreshes the LUN's size.
        with self.sim.store.lock:
            self.san.resize(data_wwid, 2 * units.Gi)
        self.cinder.sizes_gb[data_id] = 2
        self.admin_api.api_post('/os-server-external-events', {'events': [{
            'name': 'volume-extended', 'server_uuid': server['id'],
            'tag': data_id}]})
        base.wait_until(
            lambda: self.lun_disks()[0].lun_storage.logical_units[0].size ==
            2 * units.Gi, 60, message='the engine to see the 2 GiB LUN')
        self.assertLunAttached(server, data_id, data_wwid, size=2 * units.Gi)

        # Detach: the LUN disk leaves the VM and the engine; the LUN stays.
        self.api.delete_server_volume(server['id'], data_id)
        self._wait_for_volume_detach(server['id'], data_id)
        base.wait_until(lambda: self.volume_status(data_id) == 'available',
                        60, message='volume %s available' % data_id)
        self.assertEqual([], self.lun_disks())
        self.assertIsNotNone(self.san.find_lun(data_wwid)[1])
        self.assertVmStatus(server, 'up')

        # Delete with a volume attached: its LUN disk goes with the VM,
        # nova frees the volume.
        self._attach_volume(server, other_id)
        self.assertLunAttached(server, other_id, other_wwid)
        self._delete_server(server)
        self.assertNoVm(server['id'])
        self.assertEqual([], self.lun_disks())
        self.assertEqual('available', self.volume_status(other_id))
        self.assertIsNotNone(self.san.find_lun(other_wwid)[1])

    def _attach_fails(self, server, volume_id, message):
        try:
            self.api.post_server_volume(
                server['id'], {'volumeAttachment': {'volumeId': volume_id}})
        except api_client.OpenStackApiException as e:
            # The tests' CastAsCall turns nova's cast into a call: the
            # driver's fault comes back here (by class) instead of only in
            # the server's actions as in a real cloud.
            self.assertIn('BackendOperationFailed', str(e))
        self._wait_for_instance_action_event(
            server, 'attach_volume', 'compute_attach_volume', 'Error')
        self.assertIn('attach_volume failed on node %s (pool %s): '
                      % (self.node_of(server), obase.OVIRT_POOL),
                      self.stdlog.logger.output)
        self.assertIn(message, self.stdlog.logger.output)
        self._wait_for_volume_detach(server['id'], volume_id)
        self.assertEqual('available', self.volume_status(volume_id))
        self.assertEqual([], self.lun_disks())
        server = self._refresh(server)
        self.assertEqual('ACTIVE', server['status'])
        self.assertVmStatus(server, 'up')

    def test_bad_chap_and_unknown_target_leave_server_as_it_was(self):
        server = self._boot_ovirt(name='refused')
        disks_before = self.sim_disk_ids()
        bad_chap, _ = self._new_volume(3, chap=(CHAP[0], 'wrong-pass'))
        self._attach_fails(server, bad_chap, 'authentication failure')
        self.assertEqual(set(), self.san.sessions)
        nowhere, _ = self._new_volume(4, iqn='iqn.2026-11.invalid:nowhere')
        self._attach_fails(server, nowhere,
                           'no iSCSI target iqn.2026-11.invalid:nowhere')
        self.assertEqual(disks_before, self.sim_disk_ids())
        self._delete_server(server)
        self.assertNoVm(server['id'])

    def test_boot_from_volume(self):
        volume_id, wwid = self._new_volume(5)
        uploaded = self.sim.requests.bytes_uploaded
        server = self.api.post_server({'server': {
            'name': 'bfv', 'imageRef': '', 'flavorRef': obase.E1_TINY,
            'networks': [{'uuid': self.neutron.network_1['id']}],
            'block_device_mapping_v2': [{
                'boot_index': 0, 'uuid': volume_id, 'source_type': 'volume',
                'destination_type': 'volume'}]}})
        server = self._wait_for_state_change(server, 'ACTIVE')
        server = self.admin_api.get_server(server['id'])
        vm = self.assertVmStatus(server, 'up')
        self.assertVmOnNode(server)
        # The VM comes from the Blank template; its only disk is the LUN,
        # bootable; no image reached the engine.
        self.assertEqual('00000000-0000-0000-0000-000000000000',
                         vm.template.id)
        disk = self.assertLunAttached(server, volume_id, wwid)
        with self.sim.store.lock:
            self.assertEqual([disk.id], self.sim.store.vm_disk_ids(vm.id))
            self.assertTrue(self.sim.store.disk_attachments[disk.id].bootable)
        self.assertIsNone(self.sim_template())
        self.assertEqual(uploaded, self.sim.requests.bytes_uploaded)
        self.assertEqual('in-use', self.volume_status(volume_id))
        # No DISK_GB claimed for a volume-backed root, on any provider.
        allocations = self._get_allocations_by_server_uuid(server['id'])
        self.assertEqual(0, sum(a['resources'].get('DISK_GB', 0)
                                for a in allocations.values()))
        self.assertUsage(self.node_of(server), obase.E1_TINY)

        self._delete_server(server)
        self.assertNoVm(server['id'])
        self.assertEqual([], self.lun_disks())
        self.assertEqual('available', self.volume_status(volume_id))

    def _new_fc_volume(self, lun, size_gb=1):
        volume_id = uuidutils.generate_uuid()
        wwid = '3600a0980%023x' % lun
        with self.sim.store.lock:
            self.san.add_fc_lun(lun, wwid, size_gb * units.Gi)
        self.cinder.add_volume(volume_id, {
            'driver_volume_type': 'fibre_channel',
            'data': {'volume_id': volume_id, 'target_lun': lun,
                     'target_wwn': ['500a0981891b8dc5', '500a0981991b8dc5'],
                     'access_mode': 'rw'}}, size_gb)
        return volume_id, wwid

    def attachment_of(self, wwid):
        """(disk, attachment) of the LUN disk on wwid."""
        disks = [d for d in self.lun_disks()
                 if d.lun_storage.logical_units[0].id == wwid]
        self.assertEqual(1, len(disks), 'LUN disks of %s' % wwid)
        with self.sim.store.lock:
            return disks[0], self.sim.store.disk_attachments.get(disks[0].id)

    def test_fc_and_iscsi_volumes_through_resize_swap_refused(self):
        server = self._boot_ovirt(name='fc')
        iscsi_id, iscsi_wwid = self._new_volume(6)
        fc_id, fc_wwid = self._new_fc_volume(7)
        self._attach_volume(server, iscsi_id)
        self._attach_volume(server, fc_id)
        vm = self.sim_vm(server)
        # Fibre Channel: a direct LUN disk of type fcp, no portal.
        disk, att = self.attachment_of(fc_wwid)
        unit = disk.lun_storage.logical_units[0]
        self.assertEqual(('fcp', None, None, None, 7), (
            disk.lun_storage.type.value, unit.address, unit.port,
            unit.target, unit.lun_mapping))
        self.assertEqual('nova-volume-%s' % fc_id, disk.alias)
        self.assertEqual(vm.id, att.vm.id)

        # Resize (the VM changes shape, and cluster, in place) and its
        # revert: both volumes stay attached to the same VM.
        self._run_periodics()
        server = self._resize_server(server, obase.E1_SMALL)
        self.assertVmShape(server, obase.E1_SMALL)
        for wwid in (iscsi_wwid, fc_wwid):
            self.assertEqual(vm.id, self.attachment_of(wwid)[1].vm.id)
        server = self._revert_resize(server)
        server = self._refresh(server)
        self.assertVmShape(server, obase.E1_TINY)
        self.assertVmStatus(server, 'up')
        self.assertEqual(vm.id, self.sim_vm(server).id)
        self.assertLunAttached(server, iscsi_id, iscsi_wwid)
        self.assertEqual(vm.id, self.attachment_of(fc_wwid)[1].vm.id)

        # Swap (Cinder migrating the volume): refused with the engine's
        # reason; the LUN disk and the server as they were.
        new_id, _ = self._new_volume(8)
        self.cinder.migrating.add(iscsi_id)
        try:
            self.admin_api.put_server_volume(server['id'], iscsi_id, new_id)
        except api_client.OpenStackApiException:
            pass  # CastAsCall: the compute's fault comes back here
        self.notifier.wait_for_versioned_notifications(
            'instance.volume_swap.error')
        self.assertIn('the engine has no API to move a direct LUN disk',
                      self.stdlog.logger.output)
        self.assertLunAttached(server, iscsi_id, iscsi_wwid)
        self.assertEqual(('in-use', 'available'),
                         (self.volume_status(iscsi_id),
                          self.volume_status(new_id)))
        self.assertEqual(sorted([fc_id, iscsi_id]), sorted(
            a['volumeId'] for a in self.api.get_server_volumes(server['id'])))

        # rbd: refused, naming the type.
        rbd_id = uuidutils.generate_uuid()
        self.cinder.add_volume(rbd_id, {
            'driver_volume_type': 'rbd',
            'data': {'volume_id': rbd_id, 'name': 'volumes/volume-%s' % rbd_id,
                     'hosts': ['192.0.2.60'], 'ports': ['6789']}})
        try:
            self.api.post_server_volume(
                server['id'], {'volumeAttachment': {'volumeId': rbd_id}})
        except api_client.OpenStackApiException:
            pass
        self._wait_for_instance_action_event(
            server, 'attach_volume', 'compute_attach_volume', 'Error')
        self.assertIn('Volume %s has driver_volume_type rbd, which the oVirt '
                      'pool' % rbd_id, self.stdlog.logger.output)
        self._wait_for_volume_detach(server['id'], rbd_id)
        self.assertEqual('available', self.volume_status(rbd_id))
        # Detaching a volume the server does not have: a clear 404, the
        # LUN disks as they were.
        disks = sorted(d.id for d in self.lun_disks())
        e = self.assertRaises(api_client.OpenStackApiNotFoundException,
                              self.api.delete_server_volume, server['id'],
                              rbd_id)
        self.assertIn('is not attached to volume %s' % rbd_id,
                      e.response.text)
        self.assertEqual(disks, sorted(d.id for d in self.lun_disks()))

        # Detach the FC volume; delete with the iSCSI one attached.
        self.api.delete_server_volume(server['id'], fc_id)
        self._wait_for_volume_detach(server['id'], fc_id)
        self.assertEqual([iscsi_wwid], [
            d.lun_storage.logical_units[0].id for d in self.lun_disks()])
        self._delete_server(server)
        self.assertNoVm(server['id'])
        self.assertEqual([], self.lun_disks())
        self.assertEqual(('available', 'available'),
                         (self.volume_status(fc_id),
                          self.volume_status(iscsi_id)))
