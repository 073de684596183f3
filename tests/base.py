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

"""Helpers shared by the nova-based test tiers (conformance, functional).

These tiers run nova's own test classes against OvirtDriver with a libvirt
pool whose hosts are the real libvirtd daemons of
:mod:`tests.fixtures.libvirtd`. Nothing here mocks libvirt, the pool or
nova's compute manager; the fixtures only give nova's fake Glance real
image bytes and point the pool at the test hosts.
"""

import configparser
import io
import os
import threading
import time

# nova.test.TestCase poisons "import libvirt" for modules not yet loaded
# (ImportModulePoisonFixture): the real binding must be loaded before any
# nova test starts, which importing it here does.
import libvirt  # noqa: F401

from oslo_utils import units

import nova.conf
from nova.tests import fixtures as nova_fixtures

from nova_ovirt import conf as ovirt_conf
from nova_ovirt import pools as pool_loader

CONF = nova.conf.CONF

#: The image nova's conformance test case boots (``image_ref`` of
#: nova.tests.unit.utils.get_test_instance, GlanceFixture's image4).
NOVA_TEST_IMAGE_ID = 'cedef40a-ed67-4d10-800e-17455edce175'
#: The image the functional tests boot and rebuild from.
GUEST_IMAGE_ID = '6b1a9c8e-5f0e-4c2a-9a43-0e9d2c1f7a10'
GUEST_IMAGE_NAME = 'nova-ovirt-guest'

# -- guest image -------------------------------------------------------------

_image_lock = threading.Lock()
_image_paths = {}


def _pin_image_cache_dir():
    """Fix the image cache directory for the whole test process.

    nova's and oslotest's test cases point HOME at a temporary directory
    for each test, and the image fixture's default cache lives under HOME:
    asked from inside a test, it would build (and download) the image again
    for every test, and so would the libvirt host fixture's kvm probe.
    Decided at import, before any test runs.
    """
    from tests.fixtures import guest_image as gi

    os.environ.setdefault('NOVA_OVIRT_TEST_CACHE', gi.default_cache_dir())
    return os.environ['NOVA_OVIRT_TEST_CACHE']


IMAGE_CACHE_DIR = _pin_image_cache_dir()


def guest_image(fmt='qcow2'):
    """Path of the tiny bootable test image, built once per process.

    Its serial console prints ``tests.fixtures.guest_image.GUEST_OK_LINE``.
    The image fixture caches it between runs (``NOVA_OVIRT_TEST_CACHE``).
    """
    from tests.fixtures import guest_image as gi

    with _image_lock:
        path = _image_paths.get(fmt)
        if path is None or not os.path.exists(path):
            path = gi.build_guest_image(cache_dir=IMAGE_CACHE_DIR, fmt=fmt)
            _image_paths[fmt] = path
        return path


def guest_ok_line():
    from tests.fixtures import guest_image as gi

    return gi.GUEST_OK_LINE


# -- Glance with image data ---------------------------------------------------

class DataGlanceFixture(nova_fixtures.GlanceFixture):
    """nova's GlanceFixture, with image bytes that behave as Glance's.

    nova's fixture keeps no bytes for its stock images, returns nothing from
    ``download`` without a destination (real Glance returns an iterator of
    chunks) and drops the data given to ``update`` (which is how a snapshot
    uploads). This subclass fixes those three for the images a test gives
    data with :meth:`set_image_data`, and for snapshots.
    """

    CHUNK = 64 * units.Ki

    def set_image_data(self, image_id, path, disk_format='qcow2',
                       **properties):
        """Make `image_id` (existing or new) a `disk_format` image of the
        bytes of `path`."""
        with open(path, 'rb') as f:
            data = f.read()
        meta = {
            'disk_format': disk_format,
            'container_format': 'bare',
            'size': len(data),
            'status': 'active',
        }
        if image_id in self.images:
            image = self.images[image_id]
            image.update(meta)
            props = image.setdefault('properties', {})
            # nova's stock images point at kernels that do not exist.
            for key in ('kernel_id', 'ramdisk_id'):
                props.pop(key, None)
            props.update(properties)
        else:
            meta.update(id=image_id, name=properties.pop('name', image_id),
                        visibility='public', min_ram=0, min_disk=0,
                        properties=dict(properties))
            self.create(None, meta)
        self._imagedata[image_id] = data
        return self.images[image_id]

    def image_data(self, image_id):
        return self._imagedata.get(image_id)

    @staticmethod
    def _read_all(data):
        if hasattr(data, 'read'):
            return data.read()
        return b''.join(bytes(c) for c in data)

    def download(self, context, image_id, data=None, dst_path=None,
                 trusted_certs=None):
        if data is not None or dst_path is not None:
            return super().download(context, image_id, data=data,
                                    dst_path=dst_path,
                                    trusted_certs=trusted_certs)
        self.show(context, image_id)
        blob = self._imagedata.get(image_id, b'')
        return iter([blob[i:i + self.CHUNK]
                     for i in range(0, len(blob), self.CHUNK)])

    def create(self, context, metadata, data=None):
        if data is not None and not hasattr(data, 'read'):
            data = io.BytesIO(self._read_all(data))
        return super().create(context, metadata, data=data)

    def update(self, context, image_id, metadata, data=None,
               purge_props=False):
        image = super().update(context, image_id, metadata, data=None,
                               purge_props=purge_props)
        if data is not None:
            blob = self._read_all(data)
            self._imagedata[image_id] = blob
            image['size'] = len(blob)
            image['status'] = 'active'
        return image


# -- pool configuration -------------------------------------------------------

def configure_libvirt_pool(test, name, node_uris, domain_type, **options):
    """Configure ``[ovirt] pools = name`` as a libvirt pool.

    :param test: a nova.test.TestCase (its ``flags`` are undone at cleanup)
    :param node_uris: [(node name, uri)] of the pool's hosts
    :param options: further options of ``[ovirt_pool:<name>]``
    """
    ovirt_conf.register_opts(CONF)
    group = ovirt_conf.pool_group_name(name)
    ovirt_conf.register_pool_common_opts(CONF, name)
    backend = pool_loader.backend_class('libvirt', group)
    ovirt_conf.register_pool_backend_opts(CONF, name, backend.OPTS)
    test.flags(pools=[name], group=ovirt_conf.OVIRT_GROUP)
    test.flags(backend='libvirt',
               uris=['%s=%s' % (node, uri) for node, uri in node_uris],
               domain_type=domain_type, group=group, **options)
    return group


def engine_pool_options(sim, name):
    """``[ovirt_pool:<name>]`` registered, and the engine simulator's own
    config snippet for it: (group, {option: string}); oslo.config converts
    the strings by each option's type when a test sets them as flags."""
    group = ovirt_conf.pool_group_name(name)
    ovirt_conf.register_pool_common_opts(CONF, name)
    ovirt_conf.register_pool_backend_opts(CONF, name,
                                          ovirt_conf.OVIRT_POOL_OPTS)
    snippet = configparser.ConfigParser(interpolation=None)
    snippet.read_string(sim.config_snippet(name))
    return group, dict(snippet[group])


# -- libvirt state ------------------------------------------------------------

STATE_NAMES = {
    libvirt.VIR_DOMAIN_NOSTATE: 'nostate',
    libvirt.VIR_DOMAIN_RUNNING: 'running',
    libvirt.VIR_DOMAIN_BLOCKED: 'blocked',
    libvirt.VIR_DOMAIN_PAUSED: 'paused',
    libvirt.VIR_DOMAIN_SHUTDOWN: 'shutdown',
    libvirt.VIR_DOMAIN_SHUTOFF: 'shutoff',
    libvirt.VIR_DOMAIN_CRASHED: 'crashed',
    libvirt.VIR_DOMAIN_PMSUSPENDED: 'pmsuspended',
}


class DomainView(object):
    """What one test host's libvirtd says about one domain."""

    def __init__(self, host, uuid):
        self.host = host
        self.uuid = uuid

    def _lookup(self, conn):
        try:
            return conn.lookupByUUIDString(self.uuid)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise

    def _with_domain(self, func, default=None):
        conn = self.host.conn()
        try:
            dom = self._lookup(conn)
            return default if dom is None else func(dom)
        finally:
            conn.close()

    @property
    def exists(self):
        return self._with_domain(lambda d: True, False)

    @property
    def state(self):
        """'running', 'paused', 'shutoff', ... or None without a domain."""
        return self._with_domain(
            lambda d: STATE_NAMES.get(d.state()[0], str(d.state()[0])))

    @property
    def domain_id(self):
        """libvirt's id of the running domain (new on every start)."""
        return self._with_domain(lambda d: d.ID() if d.isActive() else None)

    @property
    def has_managed_save(self):
        return self._with_domain(lambda d: bool(d.hasManagedSaveImage(0)),
                                 False)

    def xml(self, flags=0):
        return self._with_domain(lambda d: d.XMLDesc(flags))


def find_domain(hosts, uuid):
    """The hosts (of a LibvirtHostsFixture) that have a domain `uuid`."""
    return [h for h in hosts if DomainView(h, uuid).exists]


def wait_until(predicate, timeout, interval=0.25, message=None):
    """Poll `predicate` until it returns a true value or `timeout` ends.

    Returns the value; raises AssertionError with `message` on timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(
                'timed out after %ss waiting for %s' %
                (timeout, message or getattr(predicate, '__name__', '?')))
        time.sleep(interval)
