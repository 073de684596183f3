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

"""Claims on oVirt clusters, kept in the cluster's comment.

The engine stores a free-text ``comment`` on every cluster and lets any
API user read and update it (``PUT /clusters/{id}``); custom properties
would need engine-config changes, and tags do not attach to clusters. The
claim is one line of that comment, ``nova-ovirt-claim: {"host": ...,
"heartbeat": ...}``; the operator's own text around it is kept.
See :mod:`nova_ovirt.claims` for the rules.
"""

import json

import ovirtsdk4.types as types

from nova_ovirt import claims

PREFIX = 'nova-ovirt-claim: '


def parse_comment(comment):
    """The claim in a cluster comment, or None."""
    for line in (comment or '').splitlines():
        if line.startswith(PREFIX):
            try:
                data = json.loads(line[len(PREFIX):])
                return claims.Claim(str(data['host']),
                                    float(data['heartbeat']))
            except (ValueError, KeyError, TypeError):
                return None
    return None


def with_claim(comment, claim):
    """``comment`` with its claim line replaced by ``claim`` (None:
    removed)."""
    lines = [line for line in (comment or '').splitlines()
             if not line.startswith(PREFIX)]
    if claim is not None:
        lines.append(PREFIX + json.dumps(
            {'host': claim.host, 'heartbeat': round(claim.heartbeat, 3)},
            sort_keys=True))
    return '\n'.join(lines)


class ClusterClaims(object):
    """Reads and writes the claims of one engine's clusters."""

    def __init__(self, session):
        self._session = session

    def _cluster(self, cluster_id):
        return self._session.read(
            lambda system: system.clusters_service().cluster_service(
                cluster_id).get())

    def _clusters_by_name(self):
        return {c.name: c for c in self._session.read(
            lambda system: system.clusters_service().list())}

    def _write(self, cluster, claim):
        comment = with_claim(cluster.comment, claim)
        self._session.write(
            lambda system: system.clusters_service().cluster_service(
                cluster.id).update(types.Cluster(comment=comment)))

    def acquire(self, clusters, host, group, option, value):
        """Claim every cluster of ``clusters`` (types.Cluster, as the
        bootstrap listed them) for ``host``, or raise PoolConfigError
        naming the first one another service holds, before claiming any."""
        for cluster in clusters:
            claims.check(parse_comment(cluster.comment), host,
                         'oVirt cluster %r' % cluster.name, cluster.name,
                         group, option, value)
        for cluster in clusters:
            self._write(cluster, claims.new_claim(host))

    def heartbeat(self, cluster_id, host):
        """Refresh our claim; False when another service holds it now."""
        cluster = self._cluster(cluster_id)
        existing = parse_comment(cluster.comment)
        if existing is not None and existing.host != host:
            return False
        self._write(cluster, claims.new_claim(host))
        return True

    def read_all(self, names):
        """{cluster name: Claim or None} for the named clusters."""
        by_name = self._clusters_by_name()
        return {name: parse_comment(by_name[name].comment)
                if name in by_name else None for name in names}

    def take_over(self, name, host, force=False):
        cluster = self._clusters_by_name()[name]
        claims.check_takeover(parse_comment(cluster.comment), host,
                              'oVirt cluster %r' % name, force)
        self._write(cluster, claims.new_claim(host))

    def release(self, name, host):
        """Drop ``host``'s claim on a cluster; False if it holds none."""
        cluster = self._clusters_by_name()[name]
        existing = parse_comment(cluster.comment)
        if existing is None or existing.host != host:
            return False
        self._write(cluster, None)
        return True
