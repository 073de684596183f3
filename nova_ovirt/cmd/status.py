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

"""nova-ovirt-status: check a nova-compute's pools before starting it.

In the spirit of ``nova-status upgrade check``: it reads nova.conf the way
nova-compute does (``--config-file``, ``--config-dir``), builds every pool
with the driver's own pool classes, starts them, and reports for each pool
and node whether the backend answers, TLS and credentials, what the pool
found (clusters, hosts, storage, vNIC profiles; libvirt domain types and
storage pool), the capacity the node will report to placement, and how many
guests Nova already owns there. It also checks the nova settings the driver
depends on.

Exit codes, as nova-status: 0 all checks passed, 1 warnings only, 2 at
least one failure (a configuration error included).

Nothing is changed on the backends beyond what nova-compute's own start
does (a missing libvirt storage pool is created); the oVirt node map that
nova-compute keeps under ``$state_path`` is not written.
"""

import concurrent.futures
import json
import logging
import re
import shutil
import sys
import tempfile
from urllib import parse

from oslo_config import cfg
from oslo_upgradecheck.upgradecheck import Code
import prettytable

import nova.conf

from nova_ovirt import conf as ovirt_conf
from nova_ovirt import events
from nova_ovirt import exception
from nova_ovirt import pools as pool_loader

CONF = nova.conf.CONF
PROG = 'nova-ovirt-status'
DRIVER = 'ovirt.OvirtDriver'

LABELS = {Code.SUCCESS: 'OK', Code.WARNING: 'WARNING',
          Code.FAILURE: 'FAILURE'}

CLI_OPTS = [
    cfg.StrOpt('format',
               default='table',
               choices=[('table', 'readable tables, one per pool and node'),
                        ('json', 'one JSON document, for tools')],
               help='Output format.'),
    cfg.BoolOpt('verbose',
                default=False,
                help='Log what the pools do (debug level) to stderr.'),
]

# The oVirt pool's start checks, in the order the engine bootstrap runs
# them; the option a PoolConfigError names tells which one failed.
OVIRT_STAGES = ('reachable', 'TLS', 'credentials', 'clusters',
                'storage domain', 'vNIC profiles')
OVIRT_STAGE_OF_OPTION = {
    'url': 'reachable',
    'ca_file': 'TLS',
    'insecure': 'TLS',
    'username': 'credentials',
    'password': 'credentials',
    'clusters': 'clusters',
    'storage_domain': 'storage domain',
    'vnic_profile_mappings': 'vNIC profiles',
    'set_mac_anti_spoofing_filter': 'vNIC profiles',
}

RESOURCE_CLASSES = ('VCPU', 'MEMORY_MB', 'DISK_GB')


# -- results ------------------------------------------------------------------

def one_line(error):
    """An exception as one readable line."""
    text = str(error).strip() or error.__class__.__name__
    return re.sub(r'\s+', ' ', text)


class Section(object):
    """The checks of one subject: nova's settings, a pool or a node."""

    def __init__(self, kind, title, pool=None, node=None):
        self.kind = kind
        self.title = title
        self.pool = pool
        self.node = node
        self.checks = []
        self.data = {}

    def add(self, code, check, details):
        self.checks.append((Code(code), check, details))

    def ok(self, check, details):
        self.add(Code.SUCCESS, check, details)

    def warning(self, check, details):
        self.add(Code.WARNING, check, details)

    def failure(self, check, details):
        self.add(Code.FAILURE, check, details)

    @property
    def code(self):
        return max((c for c, _, _ in self.checks), default=Code.SUCCESS)

    def as_dict(self):
        result = {'kind': self.kind, 'title': self.title,
                  'pool': self.pool, 'node': self.node,
                  'result': LABELS[self.code],
                  'checks': [{'check': name, 'result': LABELS[code],
                              'code': int(code), 'details': details}
                             for code, name, details in self.checks]}
        result.update(self.data)
        return result


class Report(object):
    def __init__(self, config_files=()):
        self.config_files = list(config_files)
        self.sections = []

    def section(self, kind, title, pool=None, node=None):
        section = Section(kind, title, pool, node)
        self.sections.append(section)
        return section

    @property
    def code(self):
        return max((s.code for s in self.sections), default=Code.SUCCESS)

    def counts(self):
        codes = [c for s in self.sections for c, _, _ in s.checks]
        return {label: codes.count(code) for code, label in LABELS.items()}

    def as_dict(self):
        return {'name': PROG,
                'config_files': self.config_files,
                'result': LABELS[self.code],
                'exit_code': int(self.code),
                'counts': self.counts(),
                'sections': [s.as_dict() for s in self.sections]}

    def render_json(self):
        return json.dumps(self.as_dict(), indent=2, sort_keys=False)

    def render_table(self):
        out = ['%s: preflight check of the nova-ovirt driver' % PROG,
               'Configuration: %s' % (', '.join(self.config_files) or
                                      '(no configuration file found)'),
               '']
        for section in self.sections:
            table = prettytable.PrettyTable(['Result', 'Check', 'Details'])
            table.title = section.title
            table.align = 'l'
            table.min_width['Result'] = 7
            table.min_width['Check'] = 25
            table.min_width['Details'] = 64
            table.max_width['Details'] = 64
            for code, name, details in section.checks:
                table.add_row([LABELS[code], name, details])
            out.append(table.get_string())
            out.append('')
        counts = self.counts()
        out.append('Result: %s (exit code %d): %d OK, %d warning(s), '
                   '%d failure(s)' % (LABELS[self.code], int(self.code),
                                      counts['OK'], counts['WARNING'],
                                      counts['FAILURE']))
        return '\n'.join(out)


# -- nova settings ------------------------------------------------------------

def check_nova_settings(report):
    section = report.section('nova', 'nova settings ([DEFAULT])')
    driver = CONF.compute_driver
    if driver == DRIVER:
        section.ok('compute_driver', 'compute_driver = %s' % DRIVER)
    else:
        section.warning('compute_driver',
                        '[DEFAULT] compute_driver = %r: nova-compute will not '
                        'load this driver; set it to %s' % (driver, DRIVER))
    if CONF.allow_resize_to_same_host:
        section.ok('allow_resize_to_same_host',
                   'True: resizes and moves between nodes can run')
    else:
        section.warning('allow_resize_to_same_host',
                        '[DEFAULT] allow_resize_to_same_host = False: every '
                        'node of this service is on one nova-compute host, '
                        'so resizes between them need it True in nova-api\'s '
                        'configuration (nova-api reads it), or one service '
                        'per cluster (see the topology guide)')
    return section


def check_node_names(section, node_names):
    """node_names: [(pool, [node names])]; a name may be used once."""
    owner = {}
    duplicates = []
    for pool, names in node_names:
        for name in names:
            other = owner.setdefault(name, pool)
            if other is not pool:
                duplicates.append('[%s] %s: node %r is also a node of pool '
                                  '%s' % (pool.group_name, pool.NODES_OPTION,
                                          name, other.name))
    if duplicates:
        section.failure('node names', 'node names must be unique across '
                        'pools; %s' % '; '.join(duplicates))
    else:
        section.ok('node names', '%d node(s), all names unique' % len(owner))


# -- helpers shared by the backends -------------------------------------------

def _version(number):
    """8002000 -> '8.2.0' (libvirt and the engine encode versions so)."""
    number = int(number or 0)
    return '%d.%d.%d' % (number // 1000000, number // 1000 % 1000,
                         number % 1000)


def _capacity(inventory, shared=()):
    data, parts = {}, []
    for rc in RESOURCE_CLASSES:
        record = inventory.get(rc)
        if record is None:
            continue
        data[rc] = {'total': record.get('total', 0),
                    'max_unit': record.get('max_unit', 0),
                    'reserved': record.get('reserved', 0)}
        parts.append('%s %d (max_unit %d%s)' % (
            rc, data[rc]['total'], data[rc]['max_unit'],
            ', %d reserved' % data[rc]['reserved']
            if data[rc]['reserved'] else ''))
    for storage in shared:
        for rc, record in storage.hardware.items():
            data[rc] = {'total': record.get('total', 0),
                        'max_unit': record.get('max_unit', 0),
                        'reserved': record.get('reserved', 0),
                        'shared_by': storage.uuid}
            parts.append('%s %d, %d reserved, shared by the nodes of '
                         'provider %s' % (rc, data[rc]['total'],
                                          data[rc]['reserved'],
                                          storage.uuid))
    return data, ', '.join(parts)


def check_node_capacity(section, pool, nodename):
    try:
        inventory = pool.get_inventory(nodename)
        shared = pool.shared_inventory(nodename)
    except Exception as e:
        section.failure('capacity', 'reading the inventory failed: %s' %
                        one_line(e))
        return
    data, text = _capacity(inventory, shared)
    section.data['inventory'] = data
    # A node out of service (no usable host, a libvirt host in
    # maintenance) keeps its records with everything reserved.
    empty = [rc for rc in RESOURCE_CLASSES
             if rc in data and data[rc]['total'] - data[rc]['reserved'] <= 0]
    if empty:
        section.warning('capacity', '%s; no %s: nothing can be scheduled '
                        'here' % (text, ', '.join(empty)))
    else:
        section.ok('capacity', text)


def _instances_line(section, count, what):
    section.data['nova_instances'] = count
    section.ok('Nova instances', '%d %s owned by Nova' % (count, what))


# -- libvirt pools ------------------------------------------------------------

def libvirt_transport(uri):
    """(code, details) for the transport of a libvirt URI."""
    split = parse.urlsplit(uri)
    scheme = split.scheme
    transport = scheme.partition('+')[2]
    query = parse.parse_qs(split.query)
    no_verify = query.get('no_verify', ['0'])[0] not in ('0', '')
    if scheme == 'test':
        return Code.SUCCESS, 'libvirt test driver (no real host)'
    if transport in ('', 'unix') and not split.hostname:
        return Code.SUCCESS, 'local UNIX socket'
    if transport == 'tls':
        if no_verify:
            return Code.WARNING, ('TLS with no_verify=1: the host\'s '
                                  'certificate is not verified')
        return Code.SUCCESS, ('TLS, certificate verified by libvirt '
                              '(its PKI files)')
    if transport in ('ssh', 'libssh', 'libssh2', 'ext'):
        if no_verify:
            return Code.WARNING, ('%s with no_verify=1: the host key is '
                                  'not verified' % transport.upper())
        return Code.SUCCESS, '%s tunnel' % transport.upper()
    if transport == 'tcp':
        return Code.WARNING, ('plain TCP: unencrypted unless libvirtd '
                              'enforces SASL encryption; prefer qemu+tls '
                              'or qemu+ssh')
    return Code.SUCCESS, 'transport %s' % (transport or scheme)


def check_libvirt_node(section, pool, nodename):
    group = pool.group_name
    found = pool.describe_node(nodename)
    uri = found['uri']
    section.data['uri'] = uri
    code, details = libvirt_transport(uri)
    section.add(code, 'transport', details)
    if not found['available']:
        section.failure('reachable', '[%s] uris: cannot connect to %s: %s' % (
            group, uri, found['reason']))
        return False
    section.ok('reachable', 'connected to %s (%s %s)' % (
        uri, found['hypervisor'], _version(found['version'])))
    wanted, offered = found['domain_type'], found['domain_types']
    if found['hypervisor'].upper() == 'TEST':
        section.ok('domain type', 'test driver: domain_type = %s not '
                   'checked' % wanted)
    elif wanted in offered:
        section.ok('domain type', '%s guests offered for x86_64 (host '
                   'offers: %s)' % (wanted, ', '.join(offered)))
    else:
        hint = (' (is /dev/kvm present and the kvm module loaded?)'
                if wanted == 'kvm' else '')
        section.failure('domain type', '[%s] domain_type = %r: the host '
                        'offers %s for x86_64 guests%s' % (
                            group, wanted,
                            ', '.join(offered) or 'no domain type', hint))
    section.ok('storage pool', '%s at %s' % (
        found['storage_pool'], found.get('storage_path')))
    section.data['nova_guests'] = found['nova_guests']
    return True


def node_section(report, pool, nodename, node_uuid):
    """The report's section of one node, with the node's uuid."""
    section = report.section(
        'node', 'Node %s (pool %s, uuid %s)' % (
            nodename, pool.name, node_uuid),
        pool=pool.name, node=nodename)
    section.data['uuid'] = node_uuid
    return section


def check_libvirt_pool(report, pool_section, pool, start_error):
    names = list(pool.nodes())
    pool_section.ok('nodes', '%d libvirt host(s): %s' % (
        len(names), ', '.join(names)))
    for nodename, node_uuid in pool.nodes().items():
        section = node_section(report, pool, nodename, node_uuid)
        try:
            reachable = check_libvirt_node(section, pool, nodename)
        except Exception as e:
            section.failure('host', one_line(e))
            continue
        if reachable:
            check_node_capacity(section, pool, nodename)
            _instances_line(section, section.data.pop('nova_guests'),
                            'domain(s)')


# -- oVirt pools --------------------------------------------------------------

def ovirt_tls(pool):
    """(code, details) for the TLS settings of an oVirt pool."""
    c, group = pool.conf, pool.group_name
    if c.url.startswith('http:'):
        return Code.WARNING, ('[%s] url = %r: plain HTTP, the credentials '
                              'and tokens cross the network in clear; use '
                              'https' % (group, c.url))
    if c.insecure:
        return Code.WARNING, ('[%s] insecure = True: the engine\'s '
                              'certificate is not verified%s; set ca_file '
                              'to the engine CA' % (
                                  group, ' (ca_file is ignored)'
                                  if c.ca_file else ''))
    if c.ca_file:
        return Code.SUCCESS, 'certificate verified with ca_file %s' % (
            c.ca_file)
    return Code.SUCCESS, ('certificate verified with the system CA store '
                          '(no ca_file)')


def _ovirt_passed_stage(pool, stage):
    """Details of a stage that passed, when the bootstrap stopped later."""
    c = pool.conf
    return {
        'reachable': 'the engine answered at %s' % c.url,
        'credentials': 'user %s logged in' % c.username,
        'clusters': 'found: %s' % ', '.join(
            n.strip() for n in c.clusters if n.strip()),
        'storage domain': 'found: %s' % c.storage_domain,
    }.get(stage)


def check_ovirt_pool(report, section, pool, start_error):
    c = pool.conf
    tls_code, tls_details = ovirt_tls(pool)
    found = pool.describe()
    section.data['found'] = found
    failed_stage = None
    if start_error is None and isinstance(pool.last_failure,
                                          exception.PoolConfigError):
        # Started, but the engine's side keeps the pool unavailable (a
        # renamed cluster, a certificate that does not verify): nova-compute
        # runs the other pools and reports this one's nodes unavailable.
        start_error = pool.last_failure
    if isinstance(start_error, exception.PoolConfigError):
        failed_stage = OVIRT_STAGE_OF_OPTION.get(start_error.option,
                                                 'reachable')
        failure = str(start_error)
    elif start_error is not None:
        failed_stage, failure = 'reachable', one_line(start_error)
    elif not found['ready']:
        failed_stage = 'reachable'
        failure = '[%s] url = %r: the engine does not answer: %s' % (
            pool.group_name, c.url, found['last_error'] or 'unknown reason')
    if failed_stage is not None:
        for stage in OVIRT_STAGES:
            if stage == failed_stage:
                section.failure(stage, failure)
                break
            if stage == 'TLS':
                section.add(tls_code, stage, tls_details)
            elif stage == 'reachable' and failed_stage == 'TLS':
                section.ok(stage, 'a TLS server answered at %s' % c.url)
            else:
                section.ok(stage, _ovirt_passed_stage(pool, stage))
        # The nodes this pool would have, so their names are checked too.
        return [n.strip() for n in c.clusters if n.strip()]

    section.ok('reachable', 'engine %s answered at %s' % (
        _version(found['engine_version']), c.url))
    section.add(tls_code, 'TLS', tls_details)
    section.ok('credentials', 'user %s logged in' % c.username)
    section.ok('clusters', ', '.join(
        '%s (id %s, CPU %s)' % (name, info['id'], info['cpu_type'])
        for name, info in found['clusters'].items()))
    sd = found['storage_domain']
    sd_text = '%s (id %s, type %s, %d GiB free, %d GiB used)' % (
        sd['name'], sd['id'], sd['type'], sd['available_gb'], sd['used_gb'])
    if sd['type'] not in (None, 'data'):
        section.failure('storage domain', '[%s] storage_domain = %r: a %s '
                        'domain; images and disks need a data domain' % (
                            pool.group_name, sd['name'], sd['type']))
    else:
        section.ok('storage domain', sd_text)
    profiles = sorted(found['vnic_profiles'].items())
    text = ', '.join('%s -> %s' % (key, p['name']) for key, p in profiles)
    unfiltered = sorted({p['name'] for _key, p in profiles
                         if not p['mac_filter']})
    if not profiles:
        section.warning('vNIC profiles', 'none configured: every port fails '
                        'until [%s] vnic_profile_mappings maps its network'
                        % pool.group_name)
    elif unfiltered:
        section.warning('vNIC profiles', '%s; without a MAC anti-spoofing '
                        'network filter: %s (set vdsm-no-mac-spoofing on '
                        'them, or [%s] set_mac_anti_spoofing_filter = True)'
                        % (text, ', '.join(unfiltered), pool.group_name))
    else:
        section.ok('vNIC profiles', text)
    try:
        count = len(pool.list_instance_uuids())
        section.ok('Nova instances', '%d VM(s) in the pool\'s clusters owned '
                   'by Nova' % count)
        section.data['nova_instances'] = count
    except Exception as e:
        section.failure('Nova instances', 'listing failed: %s' % one_line(e))

    for nodename, node_uuid in pool.nodes().items():
        node = node_section(report, pool, nodename, node_uuid)
        info = found['clusters'].get(nodename, {})
        if not pool.node_is_available(nodename):
            node.failure('available', 'cluster %s is not available' %
                         nodename)
            continue
        node.ok('available', 'cluster %s (id %s)' % (nodename, node_uuid))
        if info.get('hosts_up'):
            node.ok('hosts', '%d of %d host(s) up' % (info['hosts_up'],
                                                      info['hosts']))
        else:
            node.warning('hosts', 'no host of cluster %s is up (%d in '
                         'it): the node reports no capacity until one is' % (
                             nodename, info.get('hosts', 0)))
        check_node_capacity(node, pool, nodename)
        _instances_line(node, info.get('nova_vms', 0), 'VM(s)')
    return list(pool.nodes())


# -- other backends -----------------------------------------------------------

def check_generic_pool(report, section, pool, start_error):
    if start_error is not None:
        section.failure('start', one_line(start_error))
        return list(pool.nodes())
    try:
        section.ok('Nova instances', '%d guest(s) owned by Nova' %
                   len(pool.list_instance_uuids()))
    except Exception as e:
        section.failure('Nova instances', 'listing failed: %s' % one_line(e))
    for nodename, node_uuid in pool.nodes().items():
        node = node_section(report, pool, nodename, node_uuid)
        if not pool.node_is_available(nodename):
            node.failure('available', 'the backend of node %s is not '
                         'available' % nodename)
            continue
        node.ok('available', 'node %s is available' % nodename)
        check_node_capacity(node, pool, nodename)
    return list(pool.nodes())


def check_pool(report, pool, backend, start_error):
    section = report.section('pool', 'Pool %s (backend %s)' % (
        pool.name, backend), pool=pool.name)
    section.data['backend'] = backend
    try:
        if backend == 'ovirt':
            return check_ovirt_pool(report, section, pool, start_error)
        if backend == 'libvirt':
            if start_error is not None:
                section.failure('start', one_line(start_error))
                return list(pool.nodes())
            check_libvirt_pool(report, section, pool, start_error)
            return list(pool.nodes())
        return check_generic_pool(report, section, pool, start_error)
    except Exception as e:
        section.failure('checks', 'checking the pool failed: %s' %
                        one_line(e))
        return []


# -- running the checks -------------------------------------------------------

def _start(pool):
    try:
        pool.start()
    except Exception as e:
        return e
    return None


def run_checks(report):
    """Fill the report; raises PoolConfigError and cfg.Error on mistakes."""
    nova_section = check_nova_settings(report)
    queue = events.EventQueue(lambda event: None)   # never dispatched
    pools = pool_loader.load_pools(CONF, CONF.host, queue)
    try:
        # Pools start in parallel: one unreachable backend's timeouts do not
        # add up with the others'.
        with concurrent.futures.ThreadPoolExecutor(len(pools)) as executor:
            errors = dict(zip(pools, executor.map(_start, pools.values())))
        node_names = []
        for name, pool in pools.items():
            backend = CONF[ovirt_conf.pool_group_name(name)].backend
            node_names.append(
                (pool, check_pool(report, pool, backend, errors[name])))
        check_node_names(nova_section, node_names)
    finally:
        for pool in pools.values():
            try:
                pool.stop()
            except Exception:
                logging.getLogger(__name__).debug(
                    'Stopping pool %s failed', pool.name, exc_info=True)


def _secrets():
    """Configured passwords, to scrub from anything printed."""
    secrets = []
    for name in CONF.ovirt.pools:
        group = ovirt_conf.pool_group_name(name.strip())
        try:
            value = CONF[group].password
        except (cfg.Error, KeyError, AttributeError):
            continue
        if value and len(value) >= 4:
            secrets.append(value)
    return secrets


def _scrub(text, secrets):
    for secret in secrets:
        text = text.replace(secret, '***')
    return text


class _Logging(object):
    """Keep the pools' log lines off the report unless --verbose."""

    def __init__(self, verbose):
        self.verbose = verbose
        self.handler = None
        self.level = None

    def __enter__(self):
        root = logging.getLogger()
        if self.verbose:
            self.handler = logging.StreamHandler(sys.stderr)
            self.handler.setFormatter(logging.Formatter(
                '%(asctime)s %(levelname)s %(name)s: %(message)s'))
            self.level = root.level
            root.setLevel(logging.DEBUG)
        else:
            # Without a handler Python prints warnings to stderr.
            self.handler = logging.NullHandler()
        root.addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        root = logging.getLogger()
        root.removeHandler(self.handler)
        if self.level is not None:
            root.setLevel(self.level)


def _config_error(message, fmt, report):
    sys.stderr.write('%s: ERROR: %s\n' % (PROG, message))
    if fmt == 'json':
        report.section('configuration', 'configuration').failure(
            'configuration', message)
        sys.stdout.write(report.render_json() + '\n')
    return int(Code.FAILURE)


def _format_from_argv(argv):
    for i, arg in enumerate(argv):
        if arg == '--format' and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith('--format='):
            return arg.split('=', 1)[1]
    return 'table'


def _register_opts():
    ovirt_conf.register_opts(CONF)
    CONF.register_cli_opts(CLI_OPTS)


def main(argv=None):
    """Entry point of nova-ovirt-status; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    _register_opts()
    state_dir = tempfile.mkdtemp(prefix='nova-ovirt-status-')
    try:
        try:
            CONF(argv, project='nova', prog=PROG,
                 description='Preflight check of the nova-ovirt driver: '
                             'reads nova.conf, connects every pool and '
                             'reports per pool and node. Exit code 0: all '
                             'OK, 1: warnings, 2: failures.')
        except cfg.Error as e:
            return _config_error(one_line(e), _format_from_argv(argv),
                                 Report())
        except SystemExit as e:
            if e.code in (0, None):
                raise       # --help
            # oslo.config printed why (without a newline) and exits 1; a
            # bad command line is a configuration error here: 2.
            sys.stderr.write('\n')
            return int(Code.FAILURE)
        report = Report(CONF.config_file + (
            [CONF.config_dir] if CONF.config_dir else []))
        # nova-compute keeps the oVirt node map under $state_path; a
        # preflight (often run as root) must not write it.
        CONF.set_override('state_path', state_dir)
        with _Logging(CONF.verbose):
            try:
                run_checks(report)
            except (exception.PoolConfigError, cfg.Error) as e:
                return _config_error(_scrub(one_line(e), _secrets()),
                                     CONF.format, report)
        output = (report.render_json() if CONF.format == 'json'
                  else report.render_table())
        sys.stdout.write(_scrub(output, _secrets()) + '\n')
        return int(report.code)
    finally:
        CONF.clear_override('state_path')
        # Leave nova's CONF as it was found (tests call main() in-process).
        CONF.clear()
        CONF.unregister_opts(CLI_OPTS)
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
