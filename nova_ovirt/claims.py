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

"""Claims: which nova-compute service manages a cluster or a libvirt host.

Several nova-compute services may share the work (doc/source/topology.rst),
but a cluster or a libvirt host managed by two services would be counted
twice in placement and have its guests fought over. So each service
records a claim in the backend itself, naming the service's ``[DEFAULT]
host`` with a heartbeat time: in the cluster's comment on an oVirt engine
(pools/ovirt/claims.py), in the metadata of an inactive libvirt network on
a libvirt host (pools/libvirt/claims.py). Both are kept by the backend and
read remotely by any service.

A service refuses, at start, a node another service claims: one error
line names the node, the other service and its heartbeat's age. Nothing
is taken over automatically, not even a stale claim (its service may only
be cut off from the backend): the operator hands a claim over with
``nova-ovirt-manage claim takeover``, which refuses a live claim unless
forced. This module holds the claim itself and the rule; it does not talk
to any backend.
"""

import dataclasses
import time

from nova_ovirt import exception

#: Seconds between two heartbeats of a claimed node.
HEARTBEAT_INTERVAL = 60
#: A claim whose heartbeat is older than this is stale: its service is
#: probably gone (ten missed heartbeats), but only an operator may say so.
STALE_AFTER = 10 * HEARTBEAT_INTERVAL


@dataclasses.dataclass(frozen=True)
class Claim:
    """A node's claim: the owning service's host and its last heartbeat."""

    host: str
    heartbeat: float   # seconds since the epoch

    def age(self, now=None):
        return max(0.0, (time.time() if now is None else now) -
                   self.heartbeat)

    def is_stale(self, now=None):
        return self.age(now) > STALE_AFTER

    def describe(self, now=None):
        return 'nova-compute service %r (%s heartbeat %d s ago)' % (
            self.host, 'stale:' if self.is_stale(now) else 'last',
            self.age(now))


def new_claim(host, now=None):
    return Claim(host, time.time() if now is None else now)


def check(existing, host, what, node, group, option, value, now=None):
    """Raise PoolConfigError when another service holds ``node``.

    :param what: the node for people, e.g. ``oVirt cluster 'cluster1'``
    """
    if existing is None or existing.host == host:
        return
    raise exception.PoolConfigError(
        group, option, value,
        '%s is managed by %s, not by this service (%r); to hand it over, '
        'run "nova-ovirt-manage --config-file <nova.conf of %s> claim '
        'takeover %s"' % (what, existing.describe(now), host, host, node))


def check_takeover(existing, host, what, force, now=None):
    """A takeover replaces a stale claim, or a live one when forced."""
    if existing is None or existing.host == host or force:
        return
    if not existing.is_stale(now):
        raise exception.ClaimIsLive(node=what, owner=existing.describe(now))


class Heartbeats(object):
    """When each node's claim is due for a fresh heartbeat."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._last = {}

    def due(self, node):
        last = self._last.get(node)
        return last is None or self._clock() - last >= HEARTBEAT_INTERVAL

    def beat(self, node):
        self._last[node] = self._clock()
