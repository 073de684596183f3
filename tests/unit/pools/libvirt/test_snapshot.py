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

"""Which disk a snapshot of an adopted domain copies, and when it refuses.

The copies themselves (a push backup, a pool clone) need qemu: the
functional test of adopted domains drives them through nova's API.
"""

from xml.etree import ElementTree as etree

from oslotest import base as oslotest_base

from nova_ovirt.pools.libvirt import snapshot
from nova_ovirt.pools.libvirt import vmops

DOMAIN = """<domain><devices>%s</devices></domain>"""
CDROM = ("<disk type='file' device='cdrom'><source file='/iso/x.iso'/>"
         "<target dev='hdc' bus='ide'/></disk>")


def disk(target, path='/images/%s.qcow2', kind='file', boot=None):
    source = ("<source file='%s'/>" % (path % target) if kind == 'file'
              else "<source dev='%s'/>" % path if kind == 'block'
              else "<source protocol='iscsi' name='iqn.x/1'/>")
    return ("<disk type='%s' device='disk'>%s<target dev='%s'/>%s</disk>" % (
        kind, source, target,
        "<boot order='%d'/>" % boot if boot else ''))


class RootDiskTest(oslotest_base.BaseTestCase):

    def test_scratch_volume_is_named_like_the_guest_s_volumes(self):
        # "<uuid>_": the guest's delete removes a crashed attempt's copy.
        self.assertEqual('u1_snapshot-i1',
                         vmops.snapshot_volume_name('u1', 'i1'))

    def test_first_disk_device_unless_a_boot_order_says_otherwise(self):
        self.assertEqual('vda', snapshot.root_disk(DOMAIN % (
            CDROM + disk('vda') + disk('vdb'))).target)
        root = snapshot.root_disk(DOMAIN % (
            disk('vda', boot=2) + disk('sdb', boot=1) + disk('vdc')))
        self.assertEqual(('sdb', '/images/sdb.qcow2', 'file'),
                         (root.target, root.path, root.type))
        self.assertIsNone(snapshot.root_disk(DOMAIN % CDROM))

    def test_refusals_say_why_and_what_to_do(self):
        network = snapshot.root_disk(DOMAIN % disk('vda', kind='network'))
        self.assertEqual(
            'its root disk vda has the type network: only file and block '
            'disks are copied (snapshot a network disk in its storage '
            'system)', snapshot.refusal(network, True, 'n1'))
        outside = snapshot.root_disk(DOMAIN % disk('vda', '/srv/vm/%s.img'))
        self.assertEqual(
            'its root disk vda (/srv/vm/vda.img) lies in no storage pool of '
            'node n1, so libvirt cannot read it while the domain is shut '
            'off: define a storage pool for its directory (virsh '
            'pool-define-as NAME dir --target DIRECTORY; virsh pool-start '
            'NAME) or take the snapshot while the server runs',
            snapshot.refusal(outside, False, 'n1'))
        # Running, qemu reads it: no pool needed; shut off, its pool's.
        self.assertIsNone(snapshot.refusal(outside, True, 'n1'))
        self.assertIsNone(snapshot.refusal(outside, False, 'n1',
                                           volume=object()))
        block = snapshot.root_disk(DOMAIN % disk('vda', '/dev/sdz', 'block'))
        self.assertIsNone(snapshot.refusal(block, True, 'n1'))
        self.assertEqual('it has no disk device to copy',
                         snapshot.refusal(None, True, 'n1'))

    def test_backup_copies_the_root_disk_only(self):
        xml = snapshot.backup_xml(
            DOMAIN % (CDROM + disk('vda') + disk('vdb')),
            snapshot.root_disk(DOMAIN % disk('vda')), '/pool/u_snapshot-i')
        backup = etree.fromstring(xml)
        self.assertEqual('push', backup.get('mode'))
        self.assertEqual(
            [('hdc', 'no', None), ('vda', 'yes', '/pool/u_snapshot-i'),
             ('vdb', 'no', None)],
            [(d.get('name'), d.get('backup'),
              d.find('target').get('file') if d.find('target') is not None
              else None) for d in backup.findall('disks/disk')])
        self.assertEqual('qcow2', backup.find('disks/disk/driver').get(
            'type'))
