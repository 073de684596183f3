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

"""The libvirt pool on real libvirtd: out-of-band changes, daemon restart.

Guests boot a 1 MiB image of zeros: qemu runs (the firmware finds nothing
to boot and keeps trying), which is all a running domain needs here; no
guest OS is involved.
"""

import os
import shlex
import shutil
import signal
import tempfile
import time

import fixtures
import libvirt
from oslo_utils import uuidutils
from testtools import content

from nova.compute import power_state
from nova import objects
from nova.tests.unit import fake_instance
from nova import utils as nova_utils
import nova.virt.node
from nova.virt import event as virtevent
from nova.virt import fake as fake_virt

from nova_ovirt import conf as ovirt_conf
from nova_ovirt import driver as ovirt_driver
from tests.fixtures import libvirtd
from tests.live import base as live_base
from tests.resilience import base

CONF = base.CONF
POOL = 'kvm'
IMAGE_ID = '7e3c0a5e-0d8f-4a86-9c1e-5e2b1b0d0001'
COMPUTE_HOST = 'resilience-compute'


def zero_image():
    path = os.path.join(tempfile.gettempdir(),
                        'nova-ovirt-resilience-zero.raw')
    if not os.path.exists(path) or os.path.getsize(path) != 1024 * 1024:
        with open(path + '.tmp', 'wb') as f:
            f.write(bytes(1024 * 1024))
        os.replace(path + '.tmp', path)
    return path


class RestartableHost(libvirtd.LibvirtHost):
    """A libvirt host whose libvirtd can restart while guests run.

    The fixture's host ends its whole namespace (qemu included) when
    libvirtd exits; here bash, the namespace's first process, starts
    libvirtd again instead, as systemd would after ``systemctl restart
    libvirtd``.
    """

    def _script(self):
        script = super()._script()
        q = shlex.quote
        pid_file = q(os.path.join(self.dir, 'libvirtd.pid'))
        loop = ('while true; do libvirtd -p %s; '
                '[ -e %s ] && break; sleep 0.2; done'
                % (pid_file, q(os.path.join(self.dir, 'stop'))))
        lines = script.splitlines()
        index = [i for i, line in enumerate(lines)
                 if line.startswith('libvirtd -p')][0]
        lines[index] = loop
        return '\n'.join(lines)

    def libvirtd_pid(self):
        """The host pid of this host's libvirtd (the pid file holds the
        namespace's)."""
        wanted = os.path.join(self.dir, 'libvirtd.pid').encode()
        for entry in os.listdir('/proc'):
            if not entry.isdigit():
                continue
            try:
                with open('/proc/%s/cmdline' % entry, 'rb') as f:
                    argv = f.read().split(b'\0')
            except OSError:
                continue
            if argv and os.path.basename(argv[0]) == b'libvirtd' and \
                    wanted in argv:
                return int(entry)
        return None

    def restart_libvirtd(self):
        pid = self.libvirtd_pid()
        os.kill(pid, signal.SIGTERM)
        return pid

    def stop(self, timeout=libvirtd.STOP_TIMEOUT):
        try:
            open(os.path.join(self.dir, 'stop'), 'w').close()
        except OSError:
            pass
        super().stop(timeout)


class LibvirtResilienceTestCase(base.ResilienceTestCase):

    def setUp(self):
        super().setUp()
        try:
            libvirtd.check_prerequisites()
        except libvirtd.LibvirtdUnavailable as e:
            self.skipTest(str(e))
        live_base.LocalGlanceAPI.add(IMAGE_ID, zero_image(), 'raw')
        self.useFixture(fixtures.MonkeyPatch('nova.image.glance.API',
                                             live_base.LocalGlanceAPI))
        self.events = []

    def make_driver(self, uris):
        CONF([], project='nova', default_config_files=[],
             default_config_dirs=[])
        ovirt_conf.register_pool_common_opts(CONF, POOL)
        ovirt_conf.register_pool_backend_opts(CONF, POOL,
                                              ovirt_conf.LIBVIRT_POOL_OPTS)
        self.flags.config(host=COMPUTE_HOST)
        self.flags.config(pools=[POOL], group='ovirt')
        self.flags.config(backend='libvirt', uris=uris,
                          domain_type=libvirtd.domain_type(),
                          connection_retry_interval=1,
                          group=ovirt_conf.pool_group_name(POOL))
        nova.virt.node.LOCAL_NODE_UUID = None
        self.addCleanup(setattr, nova.virt.node, 'LOCAL_NODE_UUID', None)
        driver = ovirt_driver.OvirtDriver(fake_virt.FakeVirtAPI())
        driver.register_event_listener(self.events.append)
        driver.init_host(COMPUTE_HOST)
        self.addCleanup(driver.cleanup_host, COMPUTE_HOST)
        return driver

    def make_instance(self, node):
        flavor = objects.Flavor(
            id=1, name='tiny', flavorid='tiny', memory_mb=64, vcpus=1,
            root_gb=1, ephemeral_gb=0, swap=0, rxtx_factor=1.0,
            vcpu_weight=1, disabled=False, is_public=True, extra_specs={},
            projects=[])
        sysmeta = nova_utils.get_system_metadata_from_image(
            live_base.LocalGlanceAPI().show(self.context, IMAGE_ID))
        return fake_instance.fake_instance_obj(
            self.context, uuid=uuidutils.generate_uuid(), node=node,
            host=COMPUTE_HOST, flavor=flavor, image_ref=IMAGE_ID,
            config_drive='', system_metadata=sysmeta,
            display_name='res', expected_attrs=['system_metadata',
                                                'metadata'])

    def spawn(self, driver, instance):
        self.addCleanup(self._destroy_quietly, driver, instance)
        driver.spawn(self.context, instance, live_base.image_meta(IMAGE_ID),
                     injected_files=[], admin_password=None, allocations={},
                     network_info=[], block_device_info=None, power_on=True)

    def _destroy_quietly(self, driver, instance):
        try:
            driver.destroy(self.context, instance, [])
        except Exception:
            pass

    @staticmethod
    def owned_domains(host):
        conn = host.conn()
        try:
            return {d.UUIDString(): d.isActive()
                    for d in conn.listAllDomains(0)}
        finally:
            conn.close()


class TestLibvirtOutOfBand(LibvirtResilienceTestCase):

    def test_domain_destroyed_with_libvirt(self):
        f = self.start_figures('out-of-band changes (libvirt)')
        hosts = self.useFixture(libvirtd.LibvirtHostsFixture(count=1))
        hosts.attach_on_failure(self)
        host = hosts.hosts[0]
        driver = self.make_driver(['n1=%s' % host.uri])
        destroyed, undefined = (self.make_instance('n1') for _ in range(2))
        for inst in (destroyed, undefined):
            ok, error = f.run(self.spawn, driver, inst)
            self.assertTrue(ok, error)
            self.assertEqual(power_state.RUNNING,
                             driver.get_info(inst).state)
        # What an administrator does with virsh destroy / undefine.
        conn = host.conn()
        try:
            conn.lookupByUUIDString(destroyed.uuid).destroy()
            dom = conn.lookupByUUIDString(undefined.uuid)
            dom.destroy()
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
        finally:
            conn.close()
        # The lifecycle event makes the pool list again: the cached
        # answer follows without use_cache=False.
        self.wait_for(lambda: driver.get_info(destroyed).state ==
                      power_state.SHUTDOWN, 10, 'get_info to show SHUTDOWN')
        self.wait_for(lambda: undefined.uuid not in
                      driver.list_instance_uuids(), 10,
                      'the undefined domain to leave the listing')
        self.wait_for(lambda: destroyed.uuid in [
            e.uuid for e in self.events
            if getattr(e, 'transition', None) ==
            virtevent.EVENT_LIFECYCLE_STOPPED], 5, 'a STOPPED event')
        f.notes['stopped_events'] = len(
            [e for e in self.events if getattr(e, 'transition', None) ==
             virtevent.EVENT_LIFECYCLE_STOPPED])
        for inst in (destroyed, undefined):
            ok, error = f.run(driver.destroy, self.context, inst, [])
            self.assertTrue(ok, error)
        left = self.owned_domains(host)
        f.orphans += len(left)
        vols = [v for v in host.volume_names()
                if destroyed.uuid in v or undefined.uuid in v]
        f.notes['instance_volumes_left'] = vols
        self.assertEqual({}, left)
        self.assert_must_be_zero()


class TestLibvirtdRestart(LibvirtResilienceTestCase):

    GUESTS = 2

    def test_libvirtd_restart_with_running_guests(self):
        f = self.start_figures('libvirtd restart')
        parent = os.environ.get('NOVA_OVIRT_TEST_STATE') or '/tmp'
        work = tempfile.mkdtemp(prefix='nova-ovirt-rs-', dir=parent)
        if not os.environ.get('NOVA_OVIRT_TEST_KEEP_STATE'):
            self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        libvirtd.ensure_bridge()
        host = RestartableHost(os.path.join(work, 'r1'), name='r1')
        host.start()
        self.addCleanup(host.stop)
        self.addOnException(lambda exc_info: self.addDetail(
            'libvirtd', content.text_content(host.diagnostics())))
        driver = self.make_driver(['r1=%s' % host.uri])
        pool = driver._pools[POOL]
        node = pool.node_host('r1')
        guests = [self.make_instance('r1') for _ in range(self.GUESTS)]
        for inst in guests:
            ok, error = f.run(self.spawn, driver, inst)
            self.assertTrue(ok, error)
        ids = {}
        conn = host.conn()
        try:
            for inst in guests:
                ids[inst.uuid] = conn.lookupByUUIDString(inst.uuid).ID()
        finally:
            conn.close()

        seen_down = {'down': False}
        old_pid = host.restart_libvirtd()
        started = time.monotonic()

        def back():
            if not node.available:
                seen_down['down'] = True
                return False
            pid = host.libvirtd_pid()
            return pid is not None and pid != old_pid and node.available
        self.wait_for(back, 30, 'the pool to reconnect to the new libvirtd',
                      interval=0.05)
        # The close callback marked the node down before it came back
        # (unless the reconnect beat the first look).
        f.notes['reconnect_seconds'] = round(time.monotonic() - started, 1)
        f.notes['node_seen_unavailable'] = seen_down['down']

        # No guest lost: the same qemu processes, still running.
        conn = host.conn()
        try:
            for inst in guests:
                dom = conn.lookupByUUIDString(inst.uuid)
                self.assertTrue(dom.isActive())
                self.assertEqual(ids[inst.uuid], dom.ID())
        finally:
            conn.close()
        uuids = self.wait_for(
            lambda: set(driver.list_instance_uuids()) >=
            {i.uuid for i in guests}, 10, 'the guests in the listing')
        self.assertTrue(uuids)
        for inst in guests:
            ok, error = f.run(lambda: self.assertEqual(
                power_state.RUNNING,
                driver.get_info(inst, use_cache=False).state))
            self.assertTrue(ok, error)
        f.lost += len([i for i in guests
                       if i.uuid not in driver.list_instance_uuids()])

        # Events resume on the new connection.
        del self.events[:]
        conn = host.conn()
        try:
            conn.lookupByUUIDString(guests[0].uuid).destroy()
        finally:
            conn.close()
        self.wait_for(lambda: guests[0].uuid in [
            e.uuid for e in self.events
            if getattr(e, 'transition', None) ==
            virtevent.EVENT_LIFECYCLE_STOPPED], 10,
            'a lifecycle event after the restart')
        self.assertEqual(power_state.SHUTDOWN,
                         driver.get_info(guests[0]).state)
        ok, error = f.run(driver.power_on, self.context, guests[0], [])
        self.assertTrue(ok, error)
        for inst in guests:
            ok, error = f.run(driver.destroy, self.context, inst, [])
            self.assertTrue(ok, error)
        left = self.owned_domains(host)
        f.orphans += len(left)
        self.assertEqual({}, left)
        self.assert_must_be_zero()
