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

"""Test helpers: an engine simulator, a configured pool, fake Glance.

The pool talks to the simulator with the real ovirtsdk4 over HTTPS; only
Glance and nova's objects are stand-ins.
"""

import hashlib
import itertools
import os
import threading
import uuid

import fixtures
from oslo_config import fixture as config_fixture
from oslotest import base as oslotest_base

import nova.conf
from nova import context as nova_context
from nova import objects

from nova_ovirt import conf as ovirt_conf
from ovirt_engine_sim import EngineSimulator
from nova_ovirt.pools.ovirt import pool as ovirt_pool

CONF = nova.conf.CONF
objects.register_all()

# Fast state machines: the flows are what the tests check, not timing.
FAST = {k: 0.02 for k in (
    'vm_image_lock', 'vm_launch', 'vm_power_up', 'vm_power_down',
    'vm_save_state', 'vm_restore_state', 'vm_reboot', 'vm_migrate',
    'disk_lock', 'template_lock', 'snapshot_lock', 'transfer_init',
    'transfer_finalize')}

MiB = 1024 ** 2
_IDS = itertools.count(int.from_bytes(os.urandom(2), 'big') * 1000)


#: The tenant network of the tests' ports, mapped by its UUID.
NET_ID = '3cb9bc59-5699-4588-a4b1-b87f96708bc6'


class FakeImageAPI(object):
    """Glance as nova's image API shows it: chunks out, a reader in."""

    def __init__(self):
        self.images = {}
        self.uploads = {}
        self.downloads = 0
        self.lock = threading.Lock()

    def add(self, data, disk_format='raw'):
        image_id = str(uuid.uuid4())
        self.images[image_id] = (data, disk_format)
        return image_id

    def download(self, context, image_id, data=None, dst_path=None,
                 trusted_certs=None):
        with self.lock:
            self.downloads += 1
        content = self.images[image_id][0]
        return (content[i:i + 65536] for i in range(0, len(content), 65536))

    def update(self, context, image_id, metadata, data=None,
               purge_props=True):
        # Keep a digest, not the bytes: a snapshot is the whole disk.
        digest, size = hashlib.sha256(), 0
        while True:
            block = data.read(1024 * 1024)
            if not block:
                break
            digest.update(block)
            size += len(block)
        self.uploads[image_id] = (metadata, size, digest.hexdigest())
        return metadata


def image_meta(image_id, size, disk_format='raw'):
    return objects.ImageMeta.from_dict({
        'id': image_id, 'disk_format': disk_format,
        'container_format': 'bare', 'size': size, 'name': 'img'})


def image_bytes(mib=2):
    # Data, then zeros: exercises both PUT and zero requests.
    head = bytes(range(256)) * (4096 * mib)
    return head + bytes(len(head))


class Queue(object):
    def __init__(self):
        self.events = []

    def put(self, event):
        self.events.append(event)


class SimTestCase(oslotest_base.BaseTestCase):
    """A started simulator and a pool configured for it (not started)."""

    scenario = 'default'
    delays = FAST
    pool_name = 'engine1'

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_NOVA_DISABLE_EVENTLET_PATCHING', '1'))
        self.flags = self.useFixture(config_fixture.Config(CONF))
        state = self.useFixture(fixtures.TempDir()).path
        self.flags.config(state_path=state)
        ovirt_conf.register_opts(CONF)
        self.flags.config(event_poll_interval=1, spawn_timeout=30,
                          group='ovirt')
        self.sim = EngineSimulator(scenario=self.scenario,
                                   delays=dict(self.delays))
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.images = FakeImageAPI()
        self.queue = Queue()
        self.context = nova_context.RequestContext(
            'user', 'project', is_admin=True,
            request_id='req-%s' % uuid.uuid4())

    def configure(self, name=None, **overrides):
        name = name or self.pool_name
        group = ovirt_conf.pool_group_name(name)
        ovirt_conf.register_pool_common_opts(CONF, name)
        ovirt_conf.register_pool_backend_opts(
            CONF, name, ovirt_conf.OVIRT_POOL_OPTS)
        values = dict(backend='ovirt', url=self.sim.url,
                      username=self.sim.username,
                      password=self.sim.password, ca_file=self.sim.ca_file,
                      clusters=['cluster1', 'cluster2'],
                      storage_domain='data',
                      vnic_profile_mappings={'physnet1': 'physnet1',
                                             NET_ID: 'ovirtmgmt'})
        values.update(overrides)
        for key, value in values.items():
            self.flags.config(group=group, **{key: value})
        return CONF[group]

    def make_pool(self, name=None, start=True, **overrides):
        name = name or self.pool_name
        conf = self.configure(name, **overrides)
        pool = ovirt_pool.OvirtPool(name, conf, 'compute1', self.queue,
                                    image_api=self.images)
        if start:
            pool.start()
            self.addCleanup(pool.stop)
        return pool

    def instance(self, node='cluster1', vcpus=2, memory_mb=512, root_gb=1,
                 **kw):
        flavor = objects.Flavor(
            name='m1', flavorid='1', vcpus=vcpus, memory_mb=memory_mb,
            root_gb=root_gb, ephemeral_gb=0, swap=0, extra_specs={})
        inst_uuid = str(uuid.uuid4())
        values = dict(uuid=inst_uuid, id=next(_IDS), display_name='vm',
                      node=node,
                      host='compute1', flavor=flavor, user_data=None,
                      key_data=None, hostname='vm', project_id='project',
                      task_state=None, vm_state='building')
        values.update(kw)
        return objects.Instance(**values)

    def vif(self, physnet=None, address=None):
        port = str(uuid.uuid4())
        return {'id': port,
                'address': address or '52:54:00:%02x:%02x:%02x' % tuple(
                    os.urandom(3)),
                'network': {'id': NET_ID, 'label': 'private',
                            'meta': {'physical_network': physnet}
                            if physnet else {}}}
