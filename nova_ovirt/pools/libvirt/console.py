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

"""Consoles: the serial log and VNC."""

from oslo_utils import units

import nova.conf
from nova.console import type as ctype
from nova import exception as nova_exception

from nova_ovirt.pools.libvirt import config
from nova_ovirt.pools.libvirt import nodes
from nova_ovirt.pools.libvirt import vmops

CONF = nova.conf.CONF

# What nova's libvirt driver returns at most, from the end of the log.
MAX_CONSOLE_BYTES = 100 * units.Ki
_WILDCARDS = ('0.0.0.0', '::', '')


def console_output(host, instance):
    """The tail of the guest's serial log, read over the connection.

    virtlogd writes the log into the storage pool (a volume the pool
    created at spawn), so this works for remote hosts as well.
    """
    domain = host.lookup(instance.uuid)
    storage = host.storage
    volume = storage.lookup(vmops.volume_name(instance.uuid,
                                              vmops.CONSOLE_LOG))
    if volume is None:
        volume = _own_log_volume(host, domain)
    if volume is None:
        return ''
    with host.translated('Reading the console log of %s' % instance.uuid,
                         instance.uuid):
        size = storage.physical_size(volume)
        if not size:
            return ''
        offset = max(0, size - MAX_CONSOLE_BYTES)
        with storage.reader(volume, offset, size - offset) as reader:
            # Text, as nova's drivers return it; latin-1 maps every byte,
            # and nova's compute manager encodes it back the same way.
            return reader.read().decode('latin-1')


def _own_log_volume(host, domain):
    """The serial log an adopted domain was defined with, when it lies in
    one of the host's storage pools (the only files the connection
    reads)."""
    with host.translated('Reading the console log path of %s' %
                         domain.UUIDString()):
        path = config.serial_log_path(domain.XMLDesc(0))
        return host.storage.lookup_path(path) if path else None


def vnc_address(host, conf):
    if conf.vnc_address:
        return conf.vnc_address
    remote = nodes.uri_host(host.uri)
    if remote:
        return remote
    if conf.vnc_listen in _WILDCARDS:
        return CONF.my_ip
    return conf.vnc_listen


def vnc_console(host, instance, conf):
    domain = host.lookup(instance.uuid)
    with host.translated('Reading the VNC port of %s' % instance.uuid,
                         instance.uuid):
        port = config.vnc_port(domain.XMLDesc(0)) if domain.isActive() \
            else None
    if not port:
        raise nova_exception.ConsoleTypeUnavailable(console_type='vnc')
    return ctype.ConsoleVNC(host=vnc_address(host, conf), port=port)
