"""EngineSimulator: the in-process entry point."""

import ipaddress
import os
import shutil
import tempfile

from ovirt_engine_sim.compat import socket
from ovirt_engine_sim.compat import threading

from ovirtsdk4 import types

from ovirt_engine_sim import api as api_mod
from ovirt_engine_sim import clock as clock_mod
from ovirt_engine_sim import compat
from ovirt_engine_sim import engine as engine_mod
from ovirt_engine_sim import faults as faults_mod
from ovirt_engine_sim import imageio
from ovirt_engine_sim import model
from ovirt_engine_sim import scenarios
from ovirt_engine_sim import server
from ovirt_engine_sim import sso as sso_mod
from ovirt_engine_sim import tls
from ovirt_engine_sim import volumes

LOG = compat.getLogger(__name__)

CONFIG_FILE = 'nova-ovirt.conf'


def parse_listen(listen):
    """'HOST:PORT' (or '[v6]:PORT') -> (host, port)."""
    listen = (listen or '127.0.0.1:0').strip()
    if listen.startswith('['):
        host, _, rest = listen[1:].partition(']')
        port = rest.lstrip(':')
    elif listen.count(':') == 1:
        host, port = listen.split(':')
    elif listen.count(':') == 0:
        host, port = listen, '0'
    else:
        raise ValueError('invalid listen address %r (use HOST:PORT)' % listen)
    try:
        port = int(port or 0)
    except ValueError:
        raise ValueError('invalid port in listen address %r' % listen)
    if not 0 <= port <= 65535:
        raise ValueError('port out of range in %r' % listen)
    return host or '127.0.0.1', port


class EngineSimulator(object):
    def __init__(self, listen='127.0.0.1:0', state_dir=None, scenario='default',
                 username='admin@internal', password='secret', clock=None,
                 delays=None):
        self.host, self.port = parse_listen(listen)
        self._httpd = None
        self._thread = None
        self._lock = threading.RLock()
        self._outage = False
        self._outage_until = None
        self._outage_timer = None
        self._started = False
        self.clock = clock or clock_mod.RealClock()
        self._own_state_dir = state_dir is None
        self.state_dir = state_dir or tempfile.mkdtemp(prefix='engine-sim-')
        os.makedirs(self.state_dir, exist_ok=True)
        self.username = username
        self.password = password
        self.scenario = scenario
        self.requests = faults_mod.RequestCounter()
        self.volumes = volumes.VolumeStore(os.path.join(self.state_dir, 'images'))
        self.store = model.Store(self.clock, delays, self.volumes, self.requests)
        scenarios.build(self.store, scenario)
        self.store.api_user = username
        self.store.extra['user_id'] = model.stable_id('user', username)
        self.store.extra['instance_id'] = model.stable_id('engine', scenario)
        self.engine = engine_mod.Engine(self.store, self.volumes, self.requests,
                                        self._data_url)
        self.engine.console_address = self.console_host
        self.api = api_mod.Api(self.engine, self.store)
        self.sso = sso_mod.SSO(self.clock, username, password,
                               lambda: self.store.delays['token_lifetime'])
        self.faults = faults_mod.FaultInjector(self)
        self.engine.faults = self.faults
        self.imageio = imageio.ImageIO(self.engine, self.store, self.requests, self.faults)
        self.ca_file, self._ssl_ctx = tls.setup(self.state_dir, self.host)

    # -- addresses ------------------------------------------------------------

    @property
    def url_host(self):
        host = self.host
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return host
        if ip.is_unspecified:
            return '127.0.0.1' if ip.version == 4 else '[::1]'
        return '[%s]' % host if ip.version == 6 else host

    @property
    def console_host(self):
        """The address graphics consoles report: a bare IP, as the engine
        gives it (no URL brackets)."""
        return self.url_host.strip('[]')

    @property
    def base_url(self):
        return 'https://%s:%d' % (self.url_host, self.port)

    @property
    def url(self):
        return self.base_url + '/ovirt-engine/api'

    def _data_url(self):
        return self.base_url

    # -- lifecycle ------------------------------------------------------------

    def _family(self):
        try:
            return socket.AF_INET6 if ipaddress.ip_address(self.host).version == 6 \
                else socket.AF_INET
        except ValueError:
            return socket.AF_INET

    def _serve(self):
        httpd = server.HTTPSServer((self.host, self.port), self._ssl_ctx, self,
                                   self._family())
        self.port = httpd.server_address[1]
        thread = threading.Thread(target=httpd.serve_forever, kwargs={'poll_interval': 0.1},
                                  name='engine-sim-%d' % self.port, daemon=True)
        thread.start()
        self._httpd, self._thread = httpd, thread

    def start(self):
        with self._lock:
            if self._started:
                return self
            self._serve()
            self._started = True
            # VNC consoles listen where the API does (real hosts would be
            # elsewhere; one address keeps the simulator one process).
            self.engine.vnc.start(self.host, self._family())
            self.clock.add_listener(self._check_outage)
            with open(os.path.join(self.state_dir, CONFIG_FILE), 'w') as f:
                f.write(self.config_snippet())
            compat.start_log_relay()
            LOG.info('engine simulator serving %s', self.url)
            return self

    def _close_httpd(self):
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            httpd.drop_connections()
            self._thread.join(5)

    def stop(self):
        with self._lock:
            if self._outage_timer is not None:
                self._outage_timer.cancel()
            self.clock.remove_listener(self._check_outage)
            self.clock.remove_listener(self.store.tick)
            self._close_httpd()
            self.engine.vnc.stop()
            self._started = False
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- outages --------------------------------------------------------------

    def in_outage(self):
        return self._outage

    def outage_start(self):
        """Close the listening socket and reset open connections."""
        with self._lock:
            if self._outage or not self._started:
                return
            self._outage = True
            self._close_httpd()

    def outage_end(self):
        with self._lock:
            self._outage_until = None
            if self._outage_timer is not None:
                self._outage_timer.cancel()
                self._outage_timer = None
            if not self._outage:
                return
            self._outage = False
            if self._started:
                self._serve()

    def outage_for(self, seconds):
        self.outage_start()
        with self._lock:
            self._outage_until = self.clock.time() + seconds
            if not getattr(self.clock, 'manual', False):
                self._outage_timer = threading.Timer(seconds, self.outage_end)
                self._outage_timer.daemon = True
                self._outage_timer.start()

    def _check_outage(self):
        until = self._outage_until
        if until is not None and self.clock.time() >= until:
            self.outage_end()

    # -- configuration --------------------------------------------------------

    def config_snippet(self, pool_name='engine1'):
        clusters = ', '.join(c.name for c in self.store.clusters.values())
        return ('[ovirt_pool:%s]\n'
                'backend = ovirt\n'
                'url = %s\n'
                'username = %s\n'
                'password = %s\n'
                'ca_file = %s\n'
                'clusters = %s\n'
                'storage_domain = %s\n'
                % (pool_name, self.url, self.username, self.password, self.ca_file,
                   clusters, self.store.extra.get('storage_domain', 'data')))

    # -- out-of-band administration (what an oVirt admin does in the UI) ------

    def admin_stop_vm(self, vm_id):
        with self.store.lock:
            self.store.tick()
            vm = self.engine.vm(vm_id)
            if vm.status.value != 'down':
                self.engine._power_off(vm)
            return vm

    def admin_remove_vm(self, vm_id):
        with self.store.lock:
            vm = self.engine.vm(vm_id)
            if vm.status.value != 'down':
                self.engine._power_off(vm)
            self.engine._drop_vm(vm)
            # Like the engine's, the event links the VM that is gone.
            self.engine.event(113, 'VM %s was successfully removed.' % vm.name,
                              vm=vm.id, cluster=vm.cluster.id)

    def admin_set_host_status(self, host_id, status):
        with self.store.lock:
            return self.engine.set_host_status(host_id, status, stop_stuck=True)

    def admin_add_vm(self, name, cluster_name, description=None, status='up', **kw):
        with self.store.lock:
            return self.engine.admin_add_vm(name, cluster_name, description, status, **kw)

    def admin_clone_vm(self, vm_id, name):
        """What "Clone VM" in the admin portal leaves: a new VM (down) with
        the source's description and configuration, in its cluster. The
        disks are not copied: tests look at ownership, not data."""
        with self.store.lock:
            self.store.tick()
            source = self.engine.vm(vm_id)
            cluster = self.store.clusters[source.cluster.id]
            return self.engine.admin_add_vm(
                name, cluster.name, source.description, 'down',
                memory=source.memory)

    def guest_write(self, vm_id, offset, data, disk_id=None):
        """Write data at offset of a running VM's disk, as its guest would
        (the bootable disk unless disk_id is given). Tracked as dirty for
        the disk's checkpoints."""
        with self.store.lock:
            self.store.tick()
            vm = self.engine.vm(vm_id)
            if vm.status.value != 'up':
                raise ValueError('VM %s is %s: only a running guest writes'
                                 % (vm.name, vm.status.value))
            atts = [a for a in self.store.disk_attachments.values()
                    if a.vm.id == vm_id and (a.id == disk_id if disk_id
                                             else a.bootable)]
            if not atts:
                raise ValueError('VM %s has no such disk' % vm.name)
            disk = self.store.disks[atts[0].id]
            layer = self.engine.layer(disk)
            if offset + len(data) > layer.size:
                raise ValueError('write beyond the end of disk %s' % disk.id)
            layer.write(offset, data)
            return disk.id

    def admin_edit_vm(self, vm_id, **fields):
        """Edit name, description or comment as an admin would."""
        with self.store.lock:
            self.store.tick()
            return self.engine.update_vm(vm_id, types.Vm(**fields))
