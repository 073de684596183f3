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

"""Bad input: fuzzed pool options and malformed engine replies."""

import os
import random
import re

import fixtures
from oslo_config import cfg

from nova.compute import power_state

from nova_ovirt import conf as ovirt_conf
from nova_ovirt import exception
from nova_ovirt import pools as pool_loader
from tests.resilience import base

# Values no option expects, and some that look almost right.
BAD_VALUES = [
    '', ' ', 'abc', '-1', '0', '1.5', '99999999999999999999', 'true',
    'no', '${nope}', '$nope', '%(x)s', '%s', 'ünïcødé ☃', '[', ']',
    ',,,',
    ':::', 'a:b:c', '=', '"quoted"', "'", '\\', '../../etc/passwd',
    '/nonexistent/file.pem', 'https://', 'https://[::1', 'ftp://x/',
    'http://127.0.0.1:1/ovirt-engine/api', 'qemu:///system?socket=',
    'k=v,k2', 'a' * 4000, 'x=', '=y', '\t', 'NaN', '0x10', '1e3',
]
_CHARS = ('abcdefghijklmnopqrstuvwxyzABC0123456789 _-.,:;=/\\[]{}()<>'
          '!?@#%&*+|~^`\'"$ü€')

# What an option's error may name besides the option itself.
ALSO_NAMED = {'username': {'password'}}


def random_values(rng, count):
    return [''.join(rng.choice(_CHARS) for _ in range(rng.randint(1, 40)))
            for _ in range(count)]


class TestConfigFuzz(base.ResilienceTestCase):
    """Random and malformed values of every pool option."""

    RANDOM_PER_OPTION = 6

    def _conf_file(self, text):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.conf')
        with open(path, 'w') as f:
            f.write(text)
        return path

    def _load(self, sections):
        """load_pools over a private ConfigOpts read from a file."""
        lines = []
        for group, options in sections.items():
            lines.append('[%s]' % group)
            for key, value in options.items():
                # A value that spans lines would be a different file.
                lines.append('%s = %s' % (key, value.replace('\n', ' ')))
        conf = cfg.ConfigOpts()
        conf.register_opts(ovirt_conf.OVIRT_OPTS, group='ovirt')
        conf(['--config-file', self._conf_file('\n'.join(lines) + '\n')],
             project='nova-ovirt-fuzz', default_config_files=[],
             default_config_dirs=[])
        return pool_loader.load_pools(conf, 'compute1', self.queue)

    def _fuzz(self, f, backend, valid, opts, start):
        rng = random.Random(20260 + len(backend))
        outcomes = {'accepted': 0, 'config_error': 0}
        wrong = []
        not_ready = self.not_ready = []
        for opt in opts:
            values = BAD_VALUES + random_values(rng, self.RANDOM_PER_OPTION)
            for value in values:
                options = dict(valid, backend=backend)
                options[opt.name] = value
                sections = {'ovirt': {'pools': 'fz'},
                            'ovirt_pool:fz': options}

                def attempt():
                    pools = self._load(sections)
                    if start:
                        pool = pools['fz']
                        try:
                            pool.start()
                            if not pool.node_is_available('cluster1'):
                                # Accepted, but the engine is not reached:
                                # fine for an unreachable URL, suspicious
                                # otherwise (shown in the report).
                                not_ready.append('%s=%r: %s' % (
                                    opt.name, value[:30],
                                    (pool.last_error or '')[:80]))
                        finally:
                            pool.stop()
                ok, error = f.run(
                    attempt, clean=lambda e: isinstance(
                        e, exception.PoolConfigError))
                if ok:
                    outcomes['accepted'] += 1
                    continue
                if isinstance(error, exception.PoolConfigError):
                    outcomes['config_error'] += 1
                    named = {opt.name} | ALSO_NAMED.get(opt.name, set())
                    if error.option not in named:
                        wrong.append('%s=%r -> names %s: %s' % (
                            opt.name, value[:40], error.option,
                            str(error)[:200]))
                    if opt.secret and value and len(value) > 2 and \
                            value in str(error):
                        wrong.append('%s: the secret value is in the '
                                     'message' % opt.name)
        return outcomes, wrong

    def test_ovirt_pool_options(self):
        f = self.start_figures('bad input: ovirt pool options')
        sim = self.start_sim()
        valid = {'url': sim.url, 'username': sim.username,
                 'password': sim.password, 'ca_file': sim.ca_file,
                 'clusters': 'cluster1,cluster2', 'storage_domain': 'data',
                 'timeout': '5'}
        opts = [o for o in ovirt_conf.OVIRT_POOL_OPTS]
        outcomes, wrong = self._fuzz(f, 'ovirt', valid, opts, start=True)
        f.notes.update(outcomes)
        f.notes['accepted_engine_not_reached'] = len(self.not_ready)
        f.notes['accepted_engine_not_reached_samples'] = self.not_ready[:8]
        f.notes['options'] = len(opts)
        f.notes['misnamed'] = wrong[:10]
        # An error naming another option would send the operator to the
        # wrong line: count it as unclean.
        f.unclean += len(wrong)
        self.assertEqual([], f.errors[:10])
        self.assertEqual([], wrong)
        self.assertGreater(outcomes['config_error'], 0)
        self.assert_must_be_zero()

    def test_libvirt_pool_options(self):
        f = self.start_figures('bad input: libvirt pool options')
        valid = {'uris': 'n1=test:///default',
                 'storage_pool_path': '/nonexistent/nova-ovirt'}
        opts = [o for o in ovirt_conf.LIBVIRT_POOL_OPTS]
        # Built only (start would dial whatever a fuzzed URI names).
        outcomes, wrong = self._fuzz(f, 'libvirt', valid, opts, start=False)
        f.notes.update(outcomes)
        f.notes['options'] = len(opts)
        f.notes['misnamed'] = wrong[:10]
        f.unclean += len(wrong)
        self.assertEqual([], f.errors[:10])
        self.assertEqual([], wrong)
        self.assertGreater(outcomes['config_error'], 0)
        self.assert_must_be_zero()

    def test_pool_section_keys(self):
        f = self.start_figures('bad input: pool list and backend')
        for pools, backend in (('', 'ovirt'), ('fz,fz', 'ovirt'),
                               ('fz', ''), ('fz', 'vmware'),
                               ('fz', 'ironic'), ('fz', '${x}'),
                               ('fz', 'ünï')):
            sections = {'ovirt': {'pools': pools},
                        'ovirt_pool:fz': {'backend': backend}}
            ok, error = f.run(self._load, sections,
                              clean=lambda e: isinstance(
                                  e, exception.PoolConfigError))
            self.assertFalse(ok)
        self.assert_must_be_zero()


class TestEngineReplyFuzz(base.ResilienceTestCase):
    """Malformed XML, missing fields and unknown statuses from the engine.

    The simulator has no hook for a malformed 200 body, so the test wraps
    its API dispatcher (``sim.api.handle``) for the listing and the GET of
    a VM.
    """

    def _replies(self, inst_uuid, vm_id):
        mark = base.vm_cache.mark(inst_uuid)
        return {
            'truncated XML': lambda xml: xml[:len(xml) // 2],
            'not XML': lambda xml: b'<html><body>Proxy Error</body></html',
            'empty body': lambda xml: b'',
            'garbage bytes': lambda xml: bytes(range(256)) * 4,
            'wrong root': lambda xml: xml.replace(b'<vms>', b'<hosts>')
            .replace(b'</vms>', b'</hosts>'),
            'fault with 200': lambda xml: (
                b'<fault><reason>Operation Failed</reason>'
                b'<detail>[Internal Engine Error]</detail></fault>'),
            'missing fields': lambda xml: (
                '<vms><vm id="%s"><description>%s</description></vm>'
                '</vms>' % (vm_id, mark)).encode()
            if xml.lstrip().startswith(b'<vms') else (
                '<vm id="%s"><description>%s</description></vm>'
                % (vm_id, mark)).encode(),
            'unknown status': lambda xml: re.sub(
                rb'<status>[a-z_]+</status>', b'<status>exploded</status>',
                xml),
            'empty status': lambda xml: re.sub(
                rb'<status>[a-z_]+</status>', b'<status></status>', xml),
            'no id': lambda xml: re.sub(rb' id="[^"]*"', b'', xml),
            'duplicate VM': lambda xml: xml.replace(
                b'</vms>', xml[xml.find(b'<vm '):xml.rfind(b'</vm>') + 5]
                + b'</vms>') if b'<vm ' in xml else xml,
            'huge number': lambda xml: re.sub(
                rb'<memory>\d+</memory>', b'<memory>' + b'9' * 400 +
                b'</memory>', xml),
        }

    def test_malformed_vm_replies(self):
        f = self.start_figures('bad input: engine replies')
        sim = self.start_sim()
        pool = self.make_pool(sim)
        # A VM whose status never reads "down" makes power_off wait for
        # it: two seconds are enough here.
        pool.spawn_timeout = 2
        meta = self.add_image()
        inst = self.instance()
        pool.spawn(self.request_context(), inst, meta, [], None, {}, [])
        vm_id = pool.vmops.vm_id(inst)
        # The event poller keeps running through the garbage (interval 1
        # s): its loop must survive every reply.
        handle = sim.api.handle
        current = {'mangle': None}
        vm_paths = re.compile(r'/ovirt-engine/api/vms(/[^/]+)?$')

        def mangled(method, path, query, headers, body):
            status, xml = handle(method, path, query, headers, body)
            mangle = current['mangle']
            if mangle is not None and method == 'GET' and \
                    vm_paths.search(path) and status == 200:
                data = xml.encode() if isinstance(xml, str) else xml
                xml = mangle(data or b'')
            return status, xml
        sim.api.handle = mangled

        results = {}
        unknown_state = {}
        for name, mangle in sorted(self._replies(inst.uuid, vm_id).items()):
            current['mangle'] = mangle
            seen = []
            calls = (
                ('list_instance_uuids', lambda: (
                    pool.cache.invalidate(), pool.list_instance_uuids())),
                ('get_info', lambda: pool.get_info(inst, use_cache=False)),
                ('instance_exists', lambda: pool.instance_exists(inst)),
                ('power_off', lambda: pool.power_off(inst)),
                ('get_available_resource', lambda: (
                    pool.inventory.refresh(force=True),
                    pool.get_available_resource('cluster1'))),
            )
            for call, func in calls:
                ok, error = f.run(func)
                seen.append('%s:%s' % (call, 'ok' if ok else
                                       type(error).__name__))
            current['mangle'] = None
            results[name] = seen
            if name in ('unknown status', 'empty status'):
                current['mangle'] = mangle
                try:
                    unknown_state[name] = pool.get_info(
                        inst, use_cache=False).state
                finally:
                    current['mangle'] = None
            # Between cases the engine answers properly again.
            pool.cache.refresh(max_age=0)
            pool.power_on(self.request_context(), inst, [])
        f.notes['replies'] = results
        self.assertTrue(pool.poller._thread.is_alive(),
                        'the event poller died')
        # The engine's unknown status is nova's NOSTATE.
        self.assertEqual({'unknown status': power_state.NOSTATE,
                          'empty status': power_state.NOSTATE},
                         unknown_state)
        # The instance survived all of it.
        self.assertEqual(power_state.RUNNING,
                         pool.get_info(inst, use_cache=False).state)
        pool.destroy(self.request_context(), inst, [])
        f.audit(self.audit_engine(sim, set()))
        self.assertEqual([], f.errors)
        self.assert_must_be_zero()
