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

"""The nova-ovirt demo: one nova-compute, an oVirt pool and a libvirt pool.

Starts the oVirt engine simulator (scenario ``default``: clusters
``cluster1`` and ``cluster2``) and one real libvirtd host, then nova in
this process (real API, conductor, scheduler, placement and one
nova-compute with ``compute_driver = ovirt.OvirtDriver``, pools ``engine1``
on the simulator and ``kvm`` on the libvirt host; nova's Glance and
Neutron fixtures, Glance with the bytes of a tiny bootable guest image).
Through nova's REST API it lists the hypervisors, boots servers in each
pool, stops, starts, snapshots and deletes them, and checks every step in
the API and in the backend (the engine's VM status, the libvirt domain's
state). It prints one line per step and a report; exit 0 only when every
step did what it says.

Usage: ``tools/demo.sh`` (sets up the machine first), or
``.venv/bin/python tools/demo.py [--config-file FILE] [--sim-listen
HOST:PORT] [--log-file PATH] [--serve [--api-port N] [--novnc-port N]]``;
see ``doc/source/demo.rst``.

With ``--serve`` the demo lists the hypervisors and boots its servers,
then keeps the cloud up: nova's compute API on 127.0.0.1 without keystone
(every request acts as the demo's admin) and nova-novncproxy with noVNC;
it prints the ``openstack`` options that reach it and runs until Ctrl-C.

Exit codes: 0 every step passed; 1 a step failed (it is named); 2 the demo
could not start (missing package, port in use, bad configuration; one
line says what); 130 interrupted.
"""

import argparse
import configparser
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
# nova picks its concurrency mode when first imported: native threading
# (nova 34's default) unless the caller chose otherwise.
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

PROG = 'demo'
DEFAULT_LOG = os.path.join(ROOT, '.test-logs', 'demo.log')

OVIRT_POOL = 'engine1'
KVM_POOL = 'kvm'
KVM_NODE = 'kvm1'
CLUSTERS = ('cluster1', 'cluster2')
COMPUTE_HOST = 'ovirt-compute'
OVIRT_TRAIT = 'CUSTOM_OVIRT_POOL_ENGINE1'
KVM_TRAIT = 'CUSTOM_OVIRT_POOL_KVM'
IMAGE_ID = '6b1a9c8e-5f0e-4c2a-9a43-0e9d2c1f7a10'
IMAGE_NAME = 'nova-ovirt-guest'

#: Flavors: zero root disk (the disk keeps the image's virtual size, so
#: snapshots stay small; zero-disk flavors need the admin API, which the
#: demo uses).
FLAVORS = {
    'demo.engine1': {'trait:%s' % OVIRT_TRAIT: 'required'},
    'demo.kvm': {'trait:%s' % KVM_TRAIT: 'required'},
    'demo.any': {},
}
#: (server name, flavor, what it asks for)
SERVERS = (
    ('web-1', 'demo.engine1', 'pool engine1'),
    ('web-2', 'demo.engine1', 'pool engine1'),
    ('db-1', 'demo.kvm', 'pool kvm'),
    ('db-2', 'demo.kvm', 'pool kvm'),
    ('any-1', 'demo.any', 'any pool'),
)

#: Engine state machine delays (seconds): short, the demo is about nova.
SIM_DELAYS = {k: 0.1 for k in (
    'vm_image_lock', 'vm_launch', 'vm_power_up', 'vm_power_down',
    'vm_save_state', 'vm_restore_state', 'vm_reboot', 'vm_migrate',
    'disk_lock', 'template_lock', 'snapshot_lock', 'transfer_init',
    'transfer_finalize')}

#: Bound on one wait for a server or backend state, in seconds.
WAIT_TIMEOUT = 90
#: Bound on the whole nova part of the demo, in seconds.
RUN_TIMEOUT = 600


class DemoError(Exception):
    """The demo cannot start: one line for the operator."""


class StepFailed(Exception):
    """A step did not do what it says."""


class Console(object):
    """The terminal. While nova runs, the process's own stdout and stderr
    (file descriptors 1 and 2) go to the log file, so that nothing nova,
    libvirt or a library prints reaches the terminal."""

    out = sys.stdout
    err = sys.stderr
    _saved = None

    @classmethod
    def quiet(cls, log_path):
        if cls._saved is not None:
            return
        sys.stdout.flush()
        sys.stderr.flush()
        cls._saved = (os.dup(1), os.dup(2))
        cls.out = os.fdopen(os.dup(1), 'w', buffering=1)
        cls.err = os.fdopen(os.dup(2), 'w', buffering=1)
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)

    @classmethod
    def restore(cls):
        if cls._saved is None:
            return
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(cls._saved[0], 1)
        os.dup2(cls._saved[1], 2)
        for fd in cls._saved:
            os.close(fd)
        cls._saved = None
        cls.out.flush()
        cls.err.flush()
        cls.out, cls.err = sys.stdout, sys.stderr


def say(text=''):
    print(text, file=Console.out, flush=True)


def complain(text):
    print('%s: %s' % (PROG, text), file=Console.err, flush=True)


def one_line(error):
    text = ' '.join(str(error).split())
    return text or error.__class__.__name__


# -- arguments and configuration ----------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='tools/demo.py',
        description='Boot, stop, start, snapshot and delete servers on an '
                    'oVirt pool (engine simulator) and a libvirt pool (a '
                    'real libvirtd) through nova\'s REST API.')
    parser.add_argument(
        '--config-file', metavar='FILE',
        help='nova.conf-style overrides applied on top of the embedded '
             'configuration, e.g. "[ovirt] spawn_timeout = 120" or '
             '"[DEFAULT] shutdown_timeout = 20"')
    parser.add_argument(
        '--sim-listen', default='127.0.0.1:0', metavar='HOST:PORT',
        help='address of the engine simulator (default: a free port on '
             '127.0.0.1)')
    parser.add_argument(
        '--log-file', default=DEFAULT_LOG, metavar='PATH',
        help='where nova\'s and the driver\'s log goes (default: '
             '.test-logs/demo.log)')
    parser.add_argument(
        '--serve', action='store_true',
        help='boot the servers, then keep the cloud up for the openstack '
             'CLI and a browser (nova\'s API and nova-novncproxy on '
             '127.0.0.1, no keystone) until Ctrl-C')
    parser.add_argument(
        '--api-port', type=int, default=8774, metavar='PORT',
        help='with --serve: port of nova\'s compute API (default 8774)')
    parser.add_argument(
        '--novnc-port', type=int, default=6080, metavar='PORT',
        help='with --serve: port of nova-novncproxy (default 6080)')
    return parser.parse_args(argv)


def read_overrides(path):
    """[(group, name, value)] of a nova.conf-style file, checked against
    the options nova and nova-ovirt register (pool groups included)."""
    if not path:
        return []
    if not os.path.isfile(path):
        raise DemoError('config file %s does not exist' % path)
    parser = configparser.ConfigParser(interpolation=None,
                                       default_section='__none__')
    parser.optionxform = str
    try:
        with open(path) as f:
            parser.read_file(f)
    except (configparser.Error, UnicodeDecodeError, OSError) as e:
        raise DemoError('config file %s: %s' % (path, one_line(e)))
    overrides = []
    for section in parser.sections():
        for name, value in parser.items(section):
            overrides.append((section, name, value))
    check_overrides(path, overrides)
    return overrides


def _conf_for_checking():
    """A ConfigOpts with nova's options and the driver's, pools included."""
    import nova.conf

    from nova_ovirt import conf as ovirt_conf

    conf = nova.conf.CONF
    ovirt_conf.register_opts(conf)
    for pool, backend in ((OVIRT_POOL, ovirt_conf.OVIRT_POOL_OPTS),
                          (KVM_POOL, ovirt_conf.LIBVIRT_POOL_OPTS)):
        ovirt_conf.register_pool_common_opts(conf, pool)
        ovirt_conf.register_pool_backend_opts(conf, pool, backend)
    return conf


def check_overrides(path, overrides):
    conf = _conf_for_checking()
    for group, name, value in overrides:
        gname = None if group == 'DEFAULT' else group
        try:
            info = conf._get_opt_info(name, gname)
        except Exception:
            raise DemoError('config file %s: unknown option [%s] %s' % (
                path, group, name))
        opt = info['opt']
        try:
            opt.type(value)
        except (ValueError, TypeError) as e:
            raise DemoError('config file %s: [%s] %s = %r: %s' % (
                path, group, name, value, one_line(e)))


# -- logging ------------------------------------------------------------------

def open_log(path):
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        open(path, 'w').close()
        handler = logging.FileHandler(path, mode='a')
    except OSError as e:
        raise DemoError('cannot write the log file %s: %s' % (
            path, one_line(e)))
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter(
        '%(asctime)s %(threadName)s %(levelname)s %(name)s %(message)s'))
    return handler


def attach_log(handler):
    """Send every log record (and Python warnings) to the file only."""
    root = logging.getLogger()
    if handler not in root.handlers:
        root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.captureWarnings(True)
    # Nothing of the log reaches the console: nova's fixtures capture the
    # rest in memory.
    for h in list(root.handlers):
        if isinstance(h, logging.StreamHandler) and getattr(
                h, 'stream', None) in (sys.stdout, sys.stderr):
            root.removeHandler(h)


# -- the backends -------------------------------------------------------------

class Backends(object):
    """The engine simulator, the libvirt host and the guest image."""

    def __init__(self, work_dir, sim_listen):
        self.work_dir = work_dir
        self.sim_listen = sim_listen
        self.sim = None
        self.hosts = None
        self.image = None
        self.domain_type = None

    def check(self):
        from tests.fixtures import guest_image
        from tests.fixtures import libvirtd

        try:
            libvirtd.check_prerequisites()
        except libvirtd.LibvirtdUnavailable as e:
            raise DemoError('cannot run a libvirt host: %s' % one_line(e))
        try:
            guest_image.check_prerequisites()
        except guest_image.GuestImageError as e:
            raise DemoError('cannot build the guest image: %s' % one_line(e))
        try:
            import ovirtsdk4  # noqa: F401
        except ImportError as e:
            raise DemoError('the oVirt SDK is missing (%s): run '
                            'tools/setup-env.sh' % one_line(e))

    def start_image(self):
        from tests.fixtures import guest_image

        try:
            self.image = guest_image.build_guest_image(fmt='qcow2')
        except Exception as e:
            raise DemoError('cannot build the guest image: %s' % one_line(e))
        return self.image

    def start_sim(self):
        from ovirt_engine_sim import EngineSimulator

        try:
            self.sim = EngineSimulator(
                listen=self.sim_listen,
                state_dir=os.path.join(self.work_dir, 'engine-sim'),
                scenario='default', delays=dict(SIM_DELAYS))
            self.sim.start()
        except OSError as e:
            self.sim = None
            raise DemoError('the engine simulator cannot listen on %s: %s' % (
                self.sim_listen, one_line(e)))
        except ValueError as e:
            self.sim = None
            raise DemoError('--sim-listen %s: %s' % (self.sim_listen,
                                                     one_line(e)))
        return self.sim

    def start_host(self):
        from tests.fixtures import libvirtd

        try:
            self.domain_type = libvirtd.domain_type()
            self.hosts = libvirtd.LibvirtHosts(
                count=1, base_dir=os.path.join(self.work_dir, 'hosts'))
            os.makedirs(self.hosts.base_dir, exist_ok=True)
            self.hosts.start()
        except Exception as e:
            self.hosts = None
            raise DemoError('cannot start the libvirt host: %s' % one_line(e))
        return self.hosts.hosts[0]

    def stop(self):
        """Stop what runs; returns what was stopped."""
        stopped = []
        if self.sim is not None:
            stopped.append('engine simulator')
            try:
                self.sim.stop()
            except Exception:
                logging.getLogger(PROG).exception('stopping the simulator')
            self.sim = None
        if self.hosts is not None:
            stopped.append('libvirt host')
            try:
                self.hosts.stop()
            except Exception:
                logging.getLogger(PROG).exception('stopping the libvirt host')
            self.hosts = None
        return stopped


# -- the report ---------------------------------------------------------------

class Step(object):
    def __init__(self, number, title):
        self.number = number
        self.title = title
        self.ok = None
        self.detail = ''
        self.seconds = 0.0
        self.requests = 0
        self.event_polls = 0


class Report(object):
    def __init__(self, planned):
        self.planned = planned
        self.steps = []
        self.images = []     # (server, node, glance bytes, engine bytes)
        self.image_size = 0
        self.failed = None

    def table(self):
        """Wall time and engine requests of every step: one row per
        server, one column per operation."""
        lines = []
        ops = ('boot', 'stop', 'start', 'snapshot', 'delete')
        cells = {}
        nodes = {name: node for name, node, _, _ in self.images}
        for s in self.steps:
            op, _, rest = s.title.partition(' ')
            name = rest.split(' ')[0]
            cells[(name, op)] = '%s%5.1fs %3d' % (
                '' if s.ok else '!', s.seconds, s.requests)
            if op not in ops:
                lines.append('%s: %.1fs, %d engine requests%s' % (
                    s.title, s.seconds, s.requests,
                    '' if s.ok else ' FAILED'))
        lines.append('')
        lines.append('wall time and engine requests per step '
                     '(! = failed):')
        lines.append('  %-6s %-9s' % ('server', 'node') + ''.join(
            '%12s' % op for op in ops))
        for name, _, _ in SERVERS:
            if not any((name, op) in cells for op in ops):
                continue
            lines.append('  %-6s %-9s' % (name, nodes.get(name, '-')) +
                         ''.join('%12s' % cells.get((name, op), '-')
                                 for op in ops))
        return lines


# -- nova, in this process ----------------------------------------------------

def build_case_class():
    """The nova test case the demo runs in (imports nova lazily)."""
    import fixtures
    import libvirt  # noqa: F401  (the real binding, before nova's poison)
    import nova.conf
    from nova.tests.functional.api import client as api_client
    from nova.tests.functional import integrated_helpers
    import nova.virt.node

    from nova_ovirt import conf as ovirt_conf
    from nova_ovirt.pools.libvirt import nodes as libvirt_nodes
    from nova_ovirt.pools.ovirt import cache as ovirt_cache

    from tests import base
    # Imported before nova's fixtures run: websockify imports numpy, which
    # calls os.uname, which nova's test fixtures forbid.
    from tests.fixtures import api_server
    from tests.fixtures import novncproxy
    from tests.functional import base as fbase
    from tests.functional import ovirt_base as obase

    CONF = nova.conf.CONF

    class CountingGlance(base.DataGlanceFixture):
        """Glance with real bytes that counts the image bytes it serves."""

        bytes_served = 0

        def download(self, context, image_id, data=None, dst_path=None,
                     trusted_certs=None):
            result = super().download(context, image_id, data=data,
                                      dst_path=dst_path,
                                      trusted_certs=trusted_certs)
            if data is None and dst_path is None:
                return self._count(result)
            self.bytes_served += len(self._imagedata.get(image_id) or b'')
            return result

        def _count(self, chunks):
            for chunk in chunks:
                self.bytes_served += len(chunk)
                yield chunk

    class DemoCase(integrated_helpers._IntegratedTestBase):
        microversion = 'latest'
        ADMIN_API = True
        STUB_COMPUTE_ID = False

        #: set by run_demo
        backends = None
        report = None
        overrides = ()
        log_handler = None
        serve = None        # the parsed arguments with --serve

        def setUp(self):
            self.useFixture(fixtures.Timeout(RUN_TIMEOUT, gentle=True))
            self.state_path = os.path.join(self.backends.work_dir, 'nova')
            os.makedirs(self.state_path, exist_ok=True)
            self.useFixture(fixtures.MonkeyPatch(
                'nova.tests.fixtures.GlanceFixture', CountingGlance))
            self.useFixture(fixtures.MonkeyPatch(
                'nova.tests.fixtures.NeutronFixture',
                fbase.OvsNeutronFixture))
            nova.virt.node.LOCAL_NODE_UUID = None
            self.addCleanup(setattr, nova.virt.node, 'LOCAL_NODE_UUID', None)
            self.sim = self.backends.sim
            self.host = self.backends.hosts.hosts[0]
            super().setUp()

        def _setup_services(self):
            attach_log(self.log_handler)
            say('  nova: starting API, conductor, scheduler, placement and '
                'nova-compute (compute_driver = ovirt.OvirtDriver)')
            self.flags(state_path=self.state_path,
                       compute_driver='ovirt.OvirtDriver',
                       allow_resize_to_same_host=True,
                       shutdown_timeout=30)
            self.flags(shutdown_retry_interval=2, group='compute')
            self.flags(api_paste_config=fbase.api_paste_config(),
                       group='wsgi')
            # Spread by instance count: each new server goes to the node
            # with the fewest servers among those its flavor allows.
            self.flags(weight_classes=[
                'nova.scheduler.weights.num_instances.NumInstancesWeigher'],
                num_instances_weight_multiplier=-1.0,
                group='filter_scheduler')
            base.configure_libvirt_pool(
                self, KVM_POOL, [(KVM_NODE, self.host.uri)],
                self.backends.domain_type)
            group = ovirt_conf.pool_group_name(OVIRT_POOL)
            ovirt_conf.register_pool_common_opts(CONF, OVIRT_POOL)
            ovirt_conf.register_pool_backend_opts(
                CONF, OVIRT_POOL, ovirt_conf.OVIRT_POOL_OPTS)
            self.flags(group=group, backend='ovirt', url=self.sim.url,
                       username=self.sim.username,
                       password=self.sim.password, ca_file=self.sim.ca_file,
                       clusters=list(CLUSTERS), storage_domain='data',
                       # The demo's tenant network, mapped by its UUID to
                       # a vNIC profile of the simulated engine (tenant
                       # networks are never mapped by name).
                       vnic_profile_mappings={
                           fbase.OvsNeutronFixture.network_1['id']:
                               obase.TENANT_NETWORK_PROFILE})
            self.flags(pools=[OVIRT_POOL, KVM_POOL], event_poll_interval=2,
                       spawn_timeout=120, group=ovirt_conf.OVIRT_GROUP)
            if self.serve:
                # Console URLs point at the nova-novncproxy --serve runs.
                self.flags(novncproxy_base_url=(
                    'http://127.0.0.1:%d/vnc_lite.html'
                    % self.serve.novnc_port), group='vnc')
            for group, name, value in self.overrides:
                CONF.set_override(name, value,
                                  None if group == 'DEFAULT' else group)
                self.addCleanup(CONF.clear_override, name,
                                None if group == 'DEFAULT' else group)
            self.glance.set_image_data(IMAGE_ID, self.backends.image,
                                       name=IMAGE_NAME)
            self.report.image_size = os.path.getsize(self.backends.image)
            super()._setup_services()
            for flavor, spec in FLAVORS.items():
                self._create_flavor(id=flavor, name=flavor, memory_mb=128,
                                    vcpu=1, disk=0, ephemeral=0,
                                    extra_spec=spec or None)

        def _setup_compute_service(self):
            return self._start_compute(COMPUTE_HOST)

        # -- the demo ------------------------------------------------------

        def test_demo(self):
            try:
                self.run_steps()
            except StepFailed:
                pass

        def step(self, title, func):
            report = self.report
            s = Step(len(report.steps) + 1, title)
            report.steps.append(s)
            requests_before = self.sim.requests.snapshot()
            started = time.monotonic()
            try:
                s.detail = func() or ''
                s.ok = True
            except Exception as e:
                s.ok = False
                s.detail = one_line(e)
                logging.getLogger(PROG).error(
                    'step %s failed:\n%s', title, traceback.format_exc())
            s.seconds = time.monotonic() - started
            after = self.sim.requests.snapshot()
            delta = {k: after.get(k, 0) - requests_before.get(k, 0)
                     for k in after}
            s.requests = sum(delta.values())
            s.event_polls = sum(v for (m, p), v in delta.items()
                                if p.rstrip('/').endswith('/events'))
            say('[%2d/%d] %-44s %s  %5.1fs  %3d engine requests%s' % (
                s.number, report.planned, title,
                'ok    ' if s.ok else 'FAILED', s.seconds, s.requests,
                ('  ' + s.detail) if s.detail else ''))
            if not s.ok:
                report.failed = s
                raise StepFailed(title)

        def run_steps(self):
            self.servers = {}
            self.step('list hypervisors', self.check_hypervisors)
            for name, flavor, wants in SERVERS:
                self.step('boot %s (%s)' % (name, wants),
                          lambda n=name, f=flavor: self.boot(n, f))
            if self.serve:
                self.step('serve the API and nova-novncproxy until Ctrl-C',
                          self.serve_until_stopped)
                return
            for name, _, _ in SERVERS:
                self.step('stop %s' % name, lambda n=name: self.stop(n))
            for name, _, _ in SERVERS:
                self.step('start %s' % name, lambda n=name: self.start(n))
            for name, _, _ in SERVERS:
                self.step('snapshot %s' % name,
                          lambda n=name: self.snapshot(n))
            for name, _, _ in SERVERS:
                self.step('delete %s' % name, lambda n=name: self.delete(n))

        # -- --serve ---------------------------------------------------------

        def serve_until_stopped(self):
            """nova's API and nova-novncproxy on loopback until a signal."""
            import threading

            api = self.useFixture(api_server.LoopbackComputeApi(
                self.api_fixture, port=self.serve.api_port))
            novnc = self.useFixture(novncproxy.NoVncProxy(
                port=self.serve.novnc_port))
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            say()
            say('The demo cloud is up: nova\'s compute API at %s (no '
                'keystone: every request acts as the demo\'s admin), '
                'nova-novncproxy at %s.' % (api.endpoint, novnc.base_url))
            say('python-openstackclient (%s, or pip install '
                'python-openstackclient) reaches it with:' % os.path.join(
                    os.path.dirname(sys.executable), 'openstack'))
            say()
            for key, value in sorted(api.openstack_env().items()):
                say('  export %s=%s' % (key, value))
            say()
            say('  openstack hypervisor list')
            say('  openstack server list')
            say('  openstack server show web-1')
            say('  openstack server stop web-1; openstack server start '
                'web-1')
            say('  openstack server reboot db-1')
            say('  openstack console url show --novnc web-1   (open it in '
                'a browser on this machine)')
            say('  openstack server delete --wait any-1')
            say()
            say('Ctrl-C stops the cloud and removes what it made.')
            while not stop.wait(1):
                pass
            say('stopping')
            return 'served until a signal'

        # -- hypervisors ----------------------------------------------------

        def check_hypervisors(self):
            hypervisors = self.api.api_get(
                '/os-hypervisors/detail').body['hypervisors']
            found = {h['hypervisor_hostname']: h for h in hypervisors}
            expected = set(CLUSTERS) | {KVM_NODE}
            if set(found) != expected:
                raise AssertionError('hypervisors %s, expected %s' % (
                    sorted(found), sorted(expected)))
            for name in CLUSTERS:
                cluster = self.sim.store.by_name('clusters', name)
                if found[name]['id'] != cluster.id:
                    raise AssertionError(
                        'node %s has uuid %s, the engine\'s cluster id is '
                        '%s' % (name, found[name]['id'], cluster.id))
            kvm_uuid = libvirt_nodes.node_uuid(self.host.uri)
            if found[KVM_NODE]['id'] != kvm_uuid:
                raise AssertionError('node %s has uuid %s, expected %s' % (
                    KVM_NODE, found[KVM_NODE]['id'], kvm_uuid))
            for h in hypervisors:
                if h['state'] != 'up' or h['status'] != 'enabled':
                    raise AssertionError('hypervisor %s is %s/%s' % (
                        h['hypervisor_hostname'], h['state'], h['status']))
            for name in sorted(found):
                h = found[name]
                say('         %-9s %s  %s' % (
                    name, h['id'], h.get('hypervisor_type', '')))
            return '%d hypervisors' % len(found)

        # -- backend views --------------------------------------------------

        def is_ovirt(self, server):
            return self.node_of(server) in CLUSTERS

        @staticmethod
        def node_of(server):
            return server['OS-EXT-SRV-ATTR:hypervisor_hostname']

        def sim_vms(self, server):
            with self.sim.store.lock:
                self.sim.store.tick()
            return self.sim.store.find_vms(
                description=ovirt_cache.mark(server['id']))

        def sim_vm(self, server):
            vms = self.sim_vms(server)
            if len(vms) != 1:
                raise AssertionError('%d VMs of server %s in the engine' % (
                    len(vms), server['id']))
            return vms[0]

        def backend_state(self, server):
            """(where, state) the backend reports for the server."""
            if self.is_ovirt(server):
                vm = self.sim_vm(server)
                cluster = self.sim.store.clusters[vm.cluster.id].name
                return cluster, 'VM %s' % vm.status.value
            view = base.DomainView(self.host, server['id'])
            state = view.state
            if state is None:
                raise AssertionError('no libvirt domain for server %s' %
                                     server['id'])
            return KVM_NODE, 'domain %s' % state

        def wait_backend(self, server, ovirt_status, domain_state):
            want = ('VM %s' % ovirt_status if self.is_ovirt(server)
                    else 'domain %s' % domain_state)
            seen = [None]

            def reached():
                where, state = self.backend_state(server)
                seen[0] = state
                if where != self.node_of(server):
                    raise AssertionError(
                        'server %s is on %s for nova, on %s in the '
                        'backend' % (server['id'], self.node_of(server),
                                     where))
                return state == want
            try:
                base.wait_until(reached, WAIT_TIMEOUT, interval=0.2)
            except AssertionError:
                raise AssertionError('backend: %s, expected %s' % (
                    seen[0], want))
            return want

        def wait_guest_up(self, server):
            """libvirt: the guest's serial console shows it booted."""
            if self.is_ovirt(server):
                return
            line = base.guest_ok_line()
            try:
                base.wait_until(
                    lambda: line in (self.api.post_server_action(
                        server['id'], {'os-getConsoleOutput': {}}
                    )['output'] or ''), WAIT_TIMEOUT, interval=0.5)
            except AssertionError:
                raise AssertionError('the guest of %s did not boot (no %r '
                                     'on its console)' % (server['id'],
                                                          line))

        def _wait_for_server_parameter(self, server, expected_params,
                                       max_retries=10, api=None,
                                       wait_for_fault_key=True):
            api = api or self.api
            deadline = time.monotonic() + WAIT_TIMEOUT
            while True:
                server = api.get_server(server['id'])
                if all(server.get(k) == v
                       for k, v in expected_params.items()):
                    return server
                if (server.get('status') == 'ERROR' and
                        expected_params.get('status') != 'ERROR'):
                    fault = (server.get('fault') or {}).get('message')
                    raise AssertionError('server went to ERROR: %s' % fault)
                if time.monotonic() >= deadline:
                    raise AssertionError(
                        'server has status %s (task %s) after %ss, '
                        'expected %s' % (
                            server.get('status'),
                            server.get('OS-EXT-STS:task_state'),
                            WAIT_TIMEOUT, expected_params))
                time.sleep(0.2)

        def refresh(self, name):
            server = self.api.get_server(self.servers[name]['id'])
            self.servers[name] = server
            return server

        # -- operations ------------------------------------------------------

        def boot(self, name, flavor):
            glance_before = self.glance.bytes_served
            engine_before = self.sim.requests.bytes_uploaded
            networks = [{'uuid': self.neutron.network_1['id']}]
            if not fbase.HAVE_OVS and flavor == 'demo.kvm':
                # nova 34 hands libvirt ovs ports only; no Open vSwitch
                # here, so the libvirt pool's server boots without a NIC.
                networks = 'none'
            server = self.api.post_server({'server': self._build_server(
                name=name, image_uuid=IMAGE_ID, flavor_id=flavor,
                networks=networks)})
            self.servers[name] = server
            server = self._wait_for_state_change(server, 'ACTIVE')
            self.servers[name] = server = self.refresh(name)
            node = self.node_of(server)
            if flavor == 'demo.engine1' and node not in CLUSTERS:
                raise AssertionError('placed on %s, not in pool %s' % (
                    node, OVIRT_POOL))
            if flavor == 'demo.kvm' and node != KVM_NODE:
                raise AssertionError('placed on %s, not in pool %s' % (
                    node, KVM_POOL))
            state = self.wait_backend(server, 'up', 'running')
            self.wait_guest_up(server)
            glance = self.glance.bytes_served - glance_before
            engine = self.sim.requests.bytes_uploaded - engine_before
            self.report.images.append((name, node, glance, engine))
            return 'on %s: ACTIVE, %s' % (node, state)

        def stop(self, name):
            server = self.refresh(name)
            self.api.post_server_action(server['id'], {'os-stop': None})
            server = self._wait_for_server_parameter(
                server, {'status': 'SHUTOFF', 'OS-EXT-STS:task_state': None})
            if server['OS-EXT-STS:power_state'] != 4:
                raise AssertionError('power state %s, expected 4 (shutdown)'
                                     % server['OS-EXT-STS:power_state'])
            return 'SHUTOFF, %s' % self.wait_backend(server, 'down',
                                                     'shutoff')

        def start(self, name):
            server = self.refresh(name)
            self.api.post_server_action(server['id'], {'os-start': None})
            server = self._wait_for_server_parameter(
                server, {'status': 'ACTIVE', 'OS-EXT-STS:task_state': None})
            state = self.wait_backend(server, 'up', 'running')
            self.wait_guest_up(server)
            return 'ACTIVE, %s' % state

        def snapshot(self, name):
            server = self.refresh(name)
            downloaded = self.sim.requests.bytes_downloaded
            resp = self.api.api_post(
                '/servers/%s/action' % server['id'],
                {'createImage': {'name': '%s-snap' % name}}).body
            image_id = resp['image_id']
            # The API answers once the snapshot is asked for; the compute
            # clears the task state when the image is uploaded.
            server = self._wait_for_server_parameter(
                server, {'status': 'ACTIVE', 'OS-EXT-STS:task_state': None})
            image = self.glance.show(None, image_id)
            data = self.glance.image_data(image_id)
            if image.get('status') != 'active' or not data:
                raise AssertionError('snapshot image %s is %s with %s' % (
                    image_id, image.get('status'), human(len(data or b''))))
            state = self.wait_backend(server, 'up', 'running')
            fmt = self.glance.show(None, image_id).get('disk_format')
            source = ''
            if self.is_ovirt(server):
                moved = self.sim.requests.bytes_downloaded - downloaded
                if moved <= 0:
                    raise AssertionError('no bytes downloaded from the '
                                         'engine')
                source = ', %s from the engine' % human(moved)
            return 'image %s: %s %s%s; %s' % (
                image_id[:8], human(len(data)), fmt, source, state)

        def delete(self, name):
            server = self.refresh(name)
            ovirt = self.is_ovirt(server)
            self.api.delete_server(server['id'])
            deadline = time.monotonic() + WAIT_TIMEOUT
            while True:
                try:
                    found = self.api.get_server(server['id'])
                except api_client.OpenStackApiNotFoundException:
                    break
                if found['status'] == 'ERROR':
                    raise AssertionError('server went to ERROR: %s' % (
                        found.get('fault') or {}).get('message'))
                if time.monotonic() > deadline:
                    raise AssertionError('still there after %ss' %
                                         WAIT_TIMEOUT)
                time.sleep(0.2)
            if ovirt:
                left = self.sim_vms(server)
                if left:
                    raise AssertionError('%d VMs left in the engine' %
                                         len(left))
                return 'gone from the API and the engine'
            if base.DomainView(self.host, server['id']).exists:
                raise AssertionError('the libvirt domain is still defined')
            return 'gone from the API and libvirt'

    return DemoCase


def human(n):
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if abs(n) < 1024 or unit == 'GiB':
            return ('%d %s' % (n, unit)) if unit == 'B' else (
                '%.1f %s' % (n, unit))
        n /= 1024.0


# -- main ---------------------------------------------------------------------

def print_report(report, log_path):
    say()
    say('Report')
    say('------')
    for line in report.table():
        say(line)
    if report.images:
        say()
        say('Image bytes per boot (guest image: %s qcow2):' %
            human(report.image_size))
        say('  %-7s %-9s %16s %18s' % ('server', 'node', 'read from Glance',
                                       'uploaded to engine'))
        for name, node, glance, engine in report.images:
            say('  %-7s %-9s %16s %18s' % (name, node, human(glance),
                                           human(engine)))
        firsts = {}
        for name, node, glance, engine in report.images:
            pool = OVIRT_POOL if node in CLUSTERS else KVM_POOL
            firsts.setdefault(pool, []).append((name, glance, engine))
        for pool, boots in sorted(firsts.items()):
            if len(boots) >= 2:
                (n1, g1, e1), (n2, g2, e2) = boots[0], boots[1]
                say('  pool %s: first boot (%s) moved %s, second boot (%s) '
                    '%s' % (pool, n1, human(max(g1, e1)), n2,
                            human(max(g2, e2))))
    total = sum(s.requests for s in report.steps)
    say()
    say('%d of %d steps passed, %d engine requests in all; nova\'s log: %s' %
        (sum(1 for s in report.steps if s.ok), report.planned, total,
         log_path))


def run_demo(args, work_dir, backends):
    overrides = read_overrides(args.config_file)
    handler = open_log(args.log_file)
    log_path = os.path.abspath(args.log_file)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.captureWarnings(True)
    Console.quiet(log_path)

    t0 = time.monotonic()
    say('nova-ovirt demo (log: %s)' % log_path)
    backends.check()
    image = backends.start_image()
    say('  guest image: %s (%s)' % (image, human(os.path.getsize(image))))
    sim = backends.start_sim()
    say('  engine simulator: %s (scenario default: %s)' % (
        sim.url, ', '.join(CLUSTERS)))
    host = backends.start_host()
    say('  libvirt host: %s (domain type %s)' % (host.uri,
                                                 backends.domain_type))

    try:
        DemoCase = build_case_class()
    except ImportError as e:
        raise DemoError('cannot import nova\'s test helpers (%s): run '
                        'tools/setup-env.sh' % one_line(e))
    planned = 1 + (len(SERVERS) + 1 if args.serve else 5 * len(SERVERS))
    report = Report(planned)
    DemoCase.backends = backends
    DemoCase.report = report
    DemoCase.overrides = overrides
    DemoCase.log_handler = handler
    DemoCase.serve = args if args.serve else None

    import testtools

    case = DemoCase('test_demo')
    result = testtools.TestResult()
    case.run(result)
    problems = result.errors + result.failures
    if problems and not report.steps:
        # nova did not come up: the setUp failed.
        _, text = problems[-1]
        logging.getLogger(PROG).error('nova did not start:\n%s', text)
        last = [ln for ln in text.strip().splitlines() if ln.strip()][-1]
        raise DemoError('nova did not start: %s (see %s)' % (
            one_line(last), log_path))
    for _, text in problems:
        logging.getLogger(PROG).error('demo test case:\n%s', text)
    print_report(report, log_path)
    say('total %.0fs' % (time.monotonic() - t0))
    if report.failed is not None:
        say('FAILED: step %d "%s": %s' % (report.failed.number,
                                          report.failed.title,
                                          report.failed.detail))
        return 1
    if problems:
        _, text = problems[-1]
        last = [ln for ln in text.strip().splitlines() if ln.strip()][-1]
        say('FAILED: cleaning up nova: %s (see %s)' % (one_line(last),
                                                       log_path))
        return 1
    if len(report.steps) != planned:
        say('FAILED: only %d of %d steps ran' % (len(report.steps), planned))
        return 1
    say('demo passed')
    return 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    work_dir = tempfile.mkdtemp(prefix='nova-ovirt-demo-')
    backends = Backends(work_dir, args.sim_listen)

    def interrupted(signum, frame):
        raise KeyboardInterrupt()
    # Also when started with SIGINT ignored (a background job of a script).
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)

    code = 2
    try:
        code = run_demo(args, work_dir, backends)
    except DemoError as e:
        if logging.getLogger().handlers:
            logging.getLogger(PROG).error('%s', e)
        complain(e)
        code = 2
    except KeyboardInterrupt:
        complain('interrupted, cleaning up')
        code = 130
    except Exception as e:
        logging.getLogger(PROG).exception('unexpected error')
        complain('unexpected error: %s (see %s)' % (
            one_line(e), os.path.abspath(args.log_file)))
        code = 1
    finally:
        # A second Ctrl-C must not cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stopped = backends.stop()
        shutil.rmtree(work_dir, ignore_errors=True)
        if stopped:
            say('cleaned up: %s stopped, %s removed' % (
                ', '.join(stopped), work_dir))
        logging.shutdown()
        Console.restore()
    # nova's services may leave non-daemon threads behind; everything the
    # demo started is stopped, so leave now.
    os._exit(code)


if __name__ == '__main__':
    main()
