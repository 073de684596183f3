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

"""Shared helpers: pools against libvirt's built-in test driver.

Each test gets its own ``test:///<file>`` host, whose state is private to
the connection, so tests never see each other's domains.
"""

import os
import time

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from oslotest import base as oslotest_base

import nova.conf
from nova import context as nova_context
from nova import objects
from nova.tests.unit import fake_instance

from nova_ovirt import conf as ovirt_conf
from nova_ovirt import events
from nova_ovirt.pools.libvirt import images
from nova_ovirt.pools.libvirt import pool as libvirt_pool

CONF = nova.conf.CONF
objects.register_all()
ovirt_conf.register_opts(CONF)

NODE_XML = """<node>
  <cpu><mhz>2000</mhz><model>x86_64</model><nodes>1</nodes>
       <sockets>1</sockets><cores>4</cores><threads>2</threads></cpu>
  <memory>8388608</memory>
</node>
"""
IMAGE_ID = 'aaaaaaaa-1111-2222-3333-444444444444'
IMAGE_SIZE = 4 * 1024 * 1024


class TestCase(oslotest_base.BaseTestCase):
    """A pool named 'p' whose hosts are private test-driver connections."""

    def setUp(self):
        super().setUp()
        self.conf_fixture = self.useFixture(config_fixture.Config(CONF))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.events = []
        self.queue = events.EventQueue(self.events.append)
        self.context = nova_context.get_admin_context()

    def private_uri(self, name='host'):
        path = os.path.join(self.tmp, name + '.xml')
        with open(path, 'w') as f:
            f.write(NODE_XML)
        return 'test://' + path

    def pool_conf(self, name='p', **overrides):
        """The pool's option group, registered on a private ConfigOpts."""
        conf = cfg.ConfigOpts()
        conf([], project='nova-ovirt-test')
        group = ovirt_conf.pool_group_name(name)
        conf.register_opts(ovirt_conf.LIBVIRT_POOL_OPTS, group=group)
        overrides.setdefault('connection_retry_interval', 1)
        overrides.setdefault('storage_pool_path', '/nova-ovirt-pool')
        for key, value in overrides.items():
            conf.set_override(key, value, group=group)
        return conf[group]

    def make_pool(self, uris, name='p', start=True, **overrides):
        pool = libvirt_pool.LibvirtPool(
            name, self.pool_conf(name, uris=uris, **overrides), 'compute1',
            self.queue)
        if start:
            pool.start()
            self.addCleanup(pool.stop)
        return pool

    def make_instance(self, node, root_gb=1, ephemeral_gb=0, swap=0,
                      memory_mb=64, vcpus=1, **kwargs):
        flavor = objects.Flavor(name='f%d' % memory_mb, memory_mb=memory_mb,
                                vcpus=vcpus, root_gb=root_gb,
                                ephemeral_gb=ephemeral_gb, swap=swap,
                                extra_specs={})
        instance = fake_instance.fake_instance_obj(
            self.context, flavor=flavor, node=node, config_drive='',
            display_name='vm', **kwargs)
        instance.system_metadata = {}
        return instance

    def image_meta(self, disk_format='qcow2', image_id=IMAGE_ID,
                   size=IMAGE_SIZE):
        return objects.ImageMeta.from_dict({
            'id': image_id, 'disk_format': disk_format, 'size': size,
            'container_format': 'bare'})

    def seed_base_image(self, host, image_id=IMAGE_ID, size=IMAGE_SIZE):
        """A complete base volume, as an earlier boot would have left it.

        The test driver cannot upload, so tests of the reuse path put the
        volume there themselves (its allocation equals its capacity).
        """
        xml = ("<volume><name>%s</name><capacity>%d</capacity>"
               "<allocation>%d</allocation><target><format type='qcow2'/>"
               "</target></volume>" % (images.base_volume_name(image_id),
                                       size, size))
        return host.storage.pool.createXML(xml, 0)

    def wait_for(self, predicate, timeout=10, message='condition'):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        self.fail('timed out waiting for %s' % message)
