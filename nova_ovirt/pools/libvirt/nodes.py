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

"""The pool's nodes: one per libvirt URI of ``uris``.

Pure parsing, no connection: configuration mistakes must stop nova-compute
from ``__init__`` with one line naming the option.
"""

import collections
import re
from urllib import parse
import uuid

from nova_ovirt import exception

# Fixed forever: node uuids are uuid5(NODE_NAMESPACE, uri), so a node keeps
# its placement resource provider across restarts and reinstalls.
NODE_NAMESPACE = uuid.UUID('6f0d3c8e-2b5a-5c1e-9d47-0a4e8f6b1c2d')

_SCHEME = re.compile(r'^[a-z][a-z0-9+.\-]*$')
# A node name chosen in "NAME=URI"; URIs themselves contain '=' in their
# query (qemu:///system?socket=...), so only a plain word before the first
# '=' counts as a name.
_NODE_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._\-]*$')

NodeSpec = collections.namedtuple('NodeSpec', 'name uri uuid')


def node_uuid(uri):
    return str(uuid.uuid5(NODE_NAMESPACE, uri))


def uri_host(uri):
    """Host part of a libvirt URI, or None for a local URI."""
    return parse.urlsplit(uri).hostname or None


def _split_entry(entry):
    name, sep, rest = entry.partition('=')
    if sep and _NODE_NAME.match(name.strip()) and '://' in rest:
        return name.strip(), rest.strip()
    return None, entry.strip()


def _check_uri(group, option, value, uri):
    scheme, sep, _ = uri.partition('://')
    if not sep or not _SCHEME.match(scheme):
        raise exception.PoolConfigError(
            group, option, value,
            '%r is not a libvirt URI (expected e.g. qemu:///system or '
            'qemu+tls://host/system)' % uri)
    try:
        parse.urlsplit(uri).port  # raises on a malformed port
    except ValueError as e:
        raise exception.PoolConfigError(
            group, option, value, '%r is not a valid URI: %s' % (uri, e))


def parse_nodes(group, option, entries, host):
    """Return [NodeSpec] for ``uris``; raise PoolConfigError on mistakes."""
    value = list(entries)
    nodes, names, uris = [], {}, set()
    for entry in value:
        if not entry.strip():
            continue
        name, uri = _split_entry(entry)
        _check_uri(group, option, value, uri)
        name = name or uri_host(uri) or host
        if uri in uris:
            raise exception.PoolConfigError(
                group, option, value, 'URI %s is listed twice' % uri)
        if name in names:
            raise exception.PoolConfigError(
                group, option, value,
                'node name %r is used by both %s and %s; name the nodes '
                'with NAME=URI' % (name, names[name], uri))
        names[name] = uri
        uris.add(uri)
        nodes.append(NodeSpec(name, uri, node_uuid(uri)))
    if not nodes:
        raise exception.PoolConfigError(
            group, option, value, 'no libvirt URI configured')
    return nodes
