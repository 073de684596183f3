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

"""nova-ovirt-manage: operator commands.

``claim``: the driver's claims on clusters and hosts (below).
``host``: libvirt hosts in and out of maintenance (below).
``adopt`` and ``release``: running oVirt VMs into Nova and back
(:mod:`nova_ovirt.cmd.adopt`, which has its own command line).

Run with the nova.conf of the nova-compute service that should manage the
nodes (its ``[DEFAULT] host`` is the claiming service)::

    nova-ovirt-manage --config-file /etc/nova/nova-cpu.conf claim list
    nova-ovirt-manage --config-file ... claim takeover cluster2 [--force]
    nova-ovirt-manage --config-file ... claim release cluster2

``takeover`` replaces another service's claim when that claim is stale
(no heartbeat for :data:`nova_ovirt.claims.STALE_AFTER` seconds), or
always with ``--force`` (after stopping the other service or removing the
node from its configuration). ``release`` drops this service's own claim,
e.g. before moving a node to another service.

::

    nova-ovirt-manage --config-file ... host list
    nova-ovirt-manage --config-file ... host maintenance node1 on \
        [--reason "BIOS update"]
    nova-ovirt-manage --config-file ... host maintenance node1 off

``maintenance on`` marks a libvirt host (on the host, see
:mod:`nova_ovirt.pools.libvirt.maintenance`): at its next resource update
nova-compute reserves the node's whole inventory, so nothing new is
scheduled there while its guests keep running; move them away live with
``nova host-evacuate-live`` (doc/source/live-migration.rst). oVirt
clusters follow their hosts' state in the engine instead.

Exit codes: 0 done, 1 refused (a live claim), 2 bad configuration or node.
"""

import sys
import time

from oslo_config import cfg

import nova.conf

from nova_ovirt import conf as ovirt_conf
from nova_ovirt import events
from nova_ovirt import exception
from nova_ovirt import pools as pool_loader

CONF = nova.conf.CONF
PROG = 'nova-ovirt-manage'


def _add_parsers(subparsers):
    _add_claim_parsers(subparsers)
    _add_host_parsers(subparsers)


def _add_host_parsers(subparsers):
    host = subparsers.add_parser(
        'host', help='libvirt hosts in and out of maintenance')
    actions = host.add_subparsers(dest='action')
    actions.required = True
    actions.add_parser('list', help='every node and its maintenance mark')
    mark = actions.add_parser(
        'maintenance', help='take a libvirt host out of scheduling (on) or '
        'put it back (off); its guests keep running')
    mark.add_argument('node')
    mark.add_argument('state', choices=('on', 'off'))
    mark.add_argument('--reason', default='',
                      help='why, shown by "host list" and in the log')


def _add_claim_parsers(subparsers):
    claim = subparsers.add_parser('claim', help='claims on clusters and hosts')
    actions = claim.add_subparsers(dest='action')
    actions.required = True
    actions.add_parser('list', help='every node and the service claiming it')
    takeover = actions.add_parser(
        'takeover', help='claim a node for this service ([DEFAULT] host)')
    takeover.add_argument('node')
    takeover.add_argument('--force', action='store_true',
                          help='replace a claim that is still alive')
    release = actions.add_parser('release',
                                 help="drop this service's claim on a node")
    release.add_argument('node')


COMMAND_OPT = cfg.SubCommandOpt('category', handler=_add_parsers)


def _pools():
    queue = events.EventQueue(lambda event: None)   # never dispatched
    return pool_loader.load_pools(CONF, CONF.host, queue)


def _pool_of(pools, node):
    for pool in pools.values():
        # The configured nodes (nodes() may not know them before a start).
        if node in pool.read_claims():
            return pool
    raise exception.NodeNotFound(nodename=node)


def claim_list(out):
    now = time.time()
    out.write('%-12s %-20s %-24s %s\n' % ('POOL', 'NODE', 'CLAIMED BY',
                                          'HEARTBEAT'))
    for name, pool in _pools().items():
        for node, claim in sorted(pool.read_claims().items()):
            if claim is None:
                owner, beat = '-', '-'
            else:
                owner = claim.host + (' (this service)'
                                      if claim.host == CONF.host else '')
                beat = '%d s ago%s' % (claim.age(now), ', stale'
                                       if claim.is_stale(now) else '')
            out.write('%-12s %-20s %-24s %s\n' % (name, node, owner, beat))


def claim_takeover(node, force, out):
    _pool_of(_pools(), node).take_over_claim(node, force=force)
    out.write('%s is now claimed by %s\n' % (node, CONF.host))


def claim_release(node, out):
    if _pool_of(_pools(), node).release_claim(node):
        out.write('%s: claim of %s released\n' % (node, CONF.host))
    else:
        out.write('%s: %s holds no claim on it\n' % (node, CONF.host))


def host_list(out):
    out.write('%-12s %-20s %s\n' % ('POOL', 'NODE', 'STATE'))
    for name, pool in _pools().items():
        for node, mark in sorted(pool.read_maintenance().items()):
            out.write('%-12s %-20s %s\n' % (
                name, node, 'in service' if mark is None
                else mark.describe()))


def host_maintenance(node, on, reason, out):
    mark = _pool_of(_pools(), node).set_maintenance(node, on, reason)
    if on:
        out.write('%s is %s; nova-compute reserves its inventory at its '
                  'next resource update\n' % (node, mark.describe()))
    else:
        out.write('%s is in service\n' % node)


#: Commands with a command line of their own (nova_ovirt.cmd.adopt).
ADOPTION_COMMANDS = ('adopt', 'release')


def _command_of(argv):
    """The first word that is neither an option nor an option's value."""
    words = iter(argv)
    for word in words:
        if word in ('--config-file', '--config-dir', '--os-cloud'):
            next(words, None)
        elif not word.startswith('-'):
            return word
    return None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if _command_of(argv) in ADOPTION_COMMANDS:
        from nova_ovirt.cmd import adopt
        return adopt.main(argv)
    ovirt_conf.register_opts(CONF)
    CONF.register_cli_opt(COMMAND_OPT)
    try:
        CONF(argv, project='nova', prog=PROG)
        command = CONF.category
        if command.name == 'host':
            if command.action == 'list':
                host_list(sys.stdout)
            else:
                host_maintenance(command.node, command.state == 'on',
                                 command.reason, sys.stdout)
        elif command.action == 'list':
            claim_list(sys.stdout)
        elif command.action == 'takeover':
            claim_takeover(command.node, command.force, sys.stdout)
        else:
            claim_release(command.node, sys.stdout)
        return 0
    except exception.ClaimIsLive as e:
        sys.stderr.write('%s: %s\n' % (PROG, e))
        return 1
    except (exception.PoolConfigError, exception.NodeNotFound,
            exception.MaintenanceNotSupported,
            exception.BackendOperationFailed, cfg.Error) as e:
        sys.stderr.write('%s: %s\n' % (PROG, e))
        return 2
    finally:
        # Leave nova's CONF as found (tests call main() in-process).
        CONF.reset()
        CONF.unregister_opt(COMMAND_OPT)


if __name__ == '__main__':
    sys.exit(main())
