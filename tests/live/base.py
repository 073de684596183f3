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

"""The live tier: OvirtDriver with a libvirt pool on real libvirtd + qemu.

No nova services here (that is the functional tier): a test builds the
driver the way nova-compute does, hands it nova objects and watches the
guests through libvirt and their serial consoles. The only stand-in is
Glance, whose ``API`` serves the test guest image from a local file:
Glance is not what this tier tests.
"""

import logging
import os
import shutil
import time

import fixtures
import libvirt
from oslo_config import fixture as config_fixture
from oslo_utils import uuidutils
from oslotest import base as oslotest_base
from testtools import content

import nova.conf
from nova import context as nova_context
from nova import exception as nova_exception
from nova import objects
from nova.tests.unit import fake_instance
from nova import utils as nova_utils
import nova.virt.node
from nova.virt import fake as fake_virt

from nova_ovirt import conf as ovirt_conf
from nova_ovirt import driver as ovirt_driver
from tests import evidence
from tests.base import STATE_NAMES
from tests.fixtures import guest_image
from tests.fixtures import libvirtd

CONF = nova.conf.CONF

POOL = 'live'
NODES = ('node1', 'node2')
COMPUTE_HOST = 'live-compute'
IMAGE_QCOW2 = '0b6c2c55-2a3e-4e41-9b54-7d1c0f0a1c01'
IMAGE_RAW = '0b6c2c55-2a3e-4e41-9b54-7d1c0f0a1c02'

#: Bound on one guest boot (power-on to the console line). TCG on a busy
#: two-core CI machine with parallel test workers; a kvm boot takes ~1 s.
BOOT_TIMEOUT = 120
#: Bound on a clean (ACPI) shutdown of the test guest; it takes < 1 s.
SHUTDOWN_TIMEOUT = 30
#: Bound on a whole test.
TEST_TIMEOUT = 600


class LocalGlanceAPI(object):
    """``nova.image.glance.API`` serving images from local files."""

    CHUNK = 1024 * 1024
    images = {}

    @classmethod
    def add(cls, image_id, path, disk_format):
        cls.images[image_id] = {
            'id': image_id, 'name': 'live-%s' % disk_format,
            'disk_format': disk_format, 'container_format': 'bare',
            'size': os.path.getsize(path), 'status': 'active',
            'min_disk': 0, 'min_ram': 0, 'properties': {}, 'path': path}

    def _image(self, image_id):
        try:
            return self.images[image_id]
        except KeyError:
            raise nova_exception.ImageNotFound(image_id=image_id)

    def show(self, context, image_id, include_locations=False,
             show_deleted=True):
        return {k: v for k, v in self._image(image_id).items()
                if k != 'path'}

    def _chunks(self, image_id):
        with open(self._image(image_id)['path'], 'rb') as f:
            while True:
                chunk = f.read(self.CHUNK)
                if not chunk:
                    return
                yield chunk

    def download(self, context, image_id, data=None, dst_path=None,
                 trusted_certs=None):
        if data is not None:
            for chunk in self._chunks(image_id):
                data.write(chunk)
            return None
        if dst_path is not None:
            shutil.copyfile(self._image(image_id)['path'], dst_path)
            return None
        return self._chunks(image_id)


def image_meta(image_id):
    info = LocalGlanceAPI().show(None, image_id)
    return objects.ImageMeta.from_dict(info)


class LiveTestCase(oslotest_base.BaseTestCase):
    """OvirtDriver with pool ``live`` over the shared libvirt test hosts."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(TEST_TIMEOUT, gentle=True))
        # Which driver methods the test reaches, for the support matrix.
        self.useFixture(evidence.DriverEvidenceFixture(self.id()))
        self.hosts = self.useFixture(libvirtd.LibvirtHostsFixture(count=2))
        self.hosts.attach_on_failure(self)
        self.host_of_node = dict(zip(NODES, self.hosts.hosts))
        self.addOnException(self._attach_console_logs)
        self.log = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO,
            format='%(asctime)s %(levelname)s %(name)s %(message)s'))

        LocalGlanceAPI.add(IMAGE_QCOW2, guest_image.build_guest_image(
            fmt='qcow2'), 'qcow2')
        LocalGlanceAPI.add(IMAGE_RAW, guest_image.build_guest_image(
            fmt='raw'), 'raw')
        self.useFixture(fixtures.MonkeyPatch('nova.image.glance.API',
                                             LocalGlanceAPI))

        self._configure()
        objects.register_all()
        self.context = nova_context.get_admin_context()
        nova.virt.node.LOCAL_NODE_UUID = None
        self.addCleanup(setattr, nova.virt.node, 'LOCAL_NODE_UUID', None)
        self.driver = ovirt_driver.OvirtDriver(fake_virt.FakeVirtAPI())
        self.driver.init_host(COMPUTE_HOST)
        self.addCleanup(self.driver.cleanup_host, COMPUTE_HOST)
        self.pool = self.driver._pools[POOL]

    def _configure(self):
        # nova reads CONF.config_file (the node identity file lives next
        # to it): parse an empty command line as nova-compute would.
        CONF([], project='nova', default_config_files=[],
             default_config_dirs=[])
        conf = self.useFixture(config_fixture.Config(CONF))
        ovirt_conf.register_opts(CONF)
        ovirt_conf.register_pool_common_opts(CONF, POOL)
        ovirt_conf.register_pool_backend_opts(CONF, POOL,
                                              ovirt_conf.LIBVIRT_POOL_OPTS)
        state = self.useFixture(fixtures.TempDir()).path
        conf.config(host=COMPUTE_HOST, state_path=state,
                    allow_resize_to_same_host=True)
        conf.config(pools=[POOL], group=ovirt_conf.OVIRT_GROUP)
        conf.config(backend='libvirt',
                    uris=['%s=%s' % (n, u)
                          for n, u in zip(NODES, self.hosts.uris)],
                    domain_type=self.hosts.domain_type,
                    group=ovirt_conf.pool_group_name(POOL))
        # A soft reboot that falls back to a hard one must not hide for
        # the default two minutes.
        conf.config(wait_soft_reboot_seconds=SHUTDOWN_TIMEOUT,
                    group='libvirt')

    # -- helpers -----------------------------------------------------------

    def make_instance(self, node='node1', memory_mb=128, root_gb=1,
                      image_id=IMAGE_QCOW2, **updates):
        flavor = objects.Flavor(
            id=1, name='live.tiny', flavorid='live-tiny',
            memory_mb=memory_mb, vcpus=1, root_gb=root_gb, ephemeral_gb=0,
            swap=0, rxtx_factor=1.0, vcpu_weight=1, disabled=False,
            is_public=True, extra_specs={}, projects=[])
        uuid = uuidutils.generate_uuid()
        updates.setdefault('display_name', 'live-%s' % uuid[:8])
        # The instance's image_meta comes from its system metadata, as in
        # nova, where the API copies the image's properties there.
        sysmeta = nova_utils.get_system_metadata_from_image(
            LocalGlanceAPI().show(self.context, image_id))
        return fake_instance.fake_instance_obj(
            self.context, uuid=uuid, node=node, host=COMPUTE_HOST,
            flavor=flavor, image_ref=image_id, config_drive='',
            system_metadata=sysmeta,
            expected_attrs=['system_metadata', 'metadata'], **updates)

    def spawn(self, instance, image_id=IMAGE_QCOW2, power_on=True):
        self.addCleanup(self._destroy_quietly, instance)
        self.driver.spawn(self.context, instance, image_meta(image_id),
                          injected_files=[], admin_password=None,
                          allocations={}, network_info=[],
                          block_device_info=None, power_on=power_on)

    def _destroy_quietly(self, instance):
        try:
            self.driver.destroy(self.context, instance, [])
        except Exception:
            pass

    def console(self, instance):
        out = self.driver.get_console_output(self.context, instance)
        if isinstance(out, bytes):
            out = out.decode('utf-8', 'replace')
        return out

    def power_state(self, instance):
        return self.driver.get_info(instance, use_cache=False).state

    def wait_for(self, predicate, timeout, what, interval=0.25):
        """Poll predicate until it returns something true; fail on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                self.fail('timed out after %ss waiting for %s'
                          % (timeout, what))
            time.sleep(interval)

    def domain_state(self, instance):
        """(state, reason) of the instance's domain as libvirt sees it."""
        conn = self.host_of_node[instance.node].conn()
        try:
            return tuple(conn.lookupByUUIDString(instance.uuid).state())
        finally:
            conn.close()

    def wait_for_boot(self, instance, timeout=BOOT_TIMEOUT):
        """Wait for the guest's console line of a fresh boot.

        The console log restarts with every start of the domain, so the
        power-off line of a previous boot must be gone as well. A domain
        that stops running meanwhile (qemu pauses a guest on a KVM
        emulation failure) fails the wait at once.
        """
        start = time.monotonic()

        def booted():
            out = self.console(instance)
            if (guest_image.GUEST_OK_LINE in out
                    and guest_image.GUEST_POWEROFF_LINE not in out):
                return True
            state, reason = self.domain_state(instance)
            if state != libvirt.VIR_DOMAIN_RUNNING:
                self.fail('the domain of %s stopped running before the '
                          'guest was up: libvirt state %s (%s), reason %s'
                          % (instance.uuid, state,
                             STATE_NAMES.get(state, '?'), reason))
            return False

        self.wait_for(booted, timeout, 'the console line %r of %s'
                      % (guest_image.GUEST_OK_LINE, instance.uuid))
        return time.monotonic() - start

    def instance_volumes(self, node, instance):
        return [v for v in self.host_of_node[node].volume_names()
                if v.startswith(instance.uuid)]

    def domains(self, node):
        return self.host_of_node[node].domain_names()

    def _attach_console_logs(self, exc_info):
        for node, host in self.host_of_node.items():
            for name in sorted(os.listdir(host.images_dir)):
                if name.endswith('console.log'):
                    path = os.path.join(host.images_dir, name)
                    with open(path, 'rb') as f:
                        data = f.read()[-8192:]
                    self.addDetail('console %s %s' % (node, name),
                                   content.text_content(
                                       data.decode('utf-8', 'replace')))
