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

"""libvirt errors turned into nova exceptions with readable messages."""

import contextlib

import libvirt
from nova import exception as nova_exception

from nova_ovirt import exception


class NodeUnavailable(nova_exception.ComputeHostNotFound):
    """The libvirt host of a node cannot be reached.

    A ComputeHostNotFound on purpose: nova's periodic resource update
    catches that one and logs a single warning line for the node, instead
    of a traceback every minute, and keeps the node's last inventory.
    """
    msg_fmt = ('Node %(host)s is unavailable: libvirt host %(uri)s cannot '
               'be reached (%(reason)s)')


class UnsupportedVifType(nova_exception.NovaException):
    msg_fmt = ('Port %(port_id)s has VIF type %(vif_type)s, which the libvirt '
               'pool cannot plug (supported: bridge, ovs)')


_CONNECTION_ERRORS = {
    libvirt.VIR_ERR_SYSTEM_ERROR,
    libvirt.VIR_ERR_INTERNAL_ERROR,
    libvirt.VIR_ERR_NO_CONNECT,
    libvirt.VIR_ERR_INVALID_CONN,
    libvirt.VIR_ERR_RPC,
    libvirt.VIR_ERR_AUTH_FAILED,
}
_CONNECTION_DOMAINS = {libvirt.VIR_FROM_REMOTE, libvirt.VIR_FROM_RPC}


def is_connection_error(error):
    return (error.get_error_code() in _CONNECTION_ERRORS and
            error.get_error_domain() in _CONNECTION_DOMAINS) or \
        error.get_error_code() in (libvirt.VIR_ERR_NO_CONNECT,
                                   libvirt.VIR_ERR_INVALID_CONN)


def is_missing_domain(error):
    return error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN


def is_missing_volume(error):
    return error.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL


def is_unsupported(error):
    return error.get_error_code() in (libvirt.VIR_ERR_NO_SUPPORT,
                                      libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED)


def network_or_none(conn, name):
    """The libvirt network called name; None when there is none."""
    try:
        return conn.networkLookupByName(name)
    except libvirt.libvirtError as e:
        if e.get_error_code() == libvirt.VIR_ERR_NO_NETWORK:
            return None
        raise


def message(error):
    return error.get_error_message() or str(error)


@contextlib.contextmanager
def translated(operation, target, instance_uuid=None, on_disconnect=None):
    """Turn a libvirt error inside the block into a nova exception.

    :param operation: what was tried, e.g. "Starting guest instance-..."
    :param target: where, e.g. "node kvm1"
    :param on_disconnect: called when the error means the connection died,
        so the host can mark itself unavailable and reconnect
    """
    try:
        yield
    except libvirt.libvirtError as e:
        if instance_uuid and is_missing_domain(e):
            raise nova_exception.InstanceNotFound(instance_id=instance_uuid)
        if is_connection_error(e) and on_disconnect is not None:
            on_disconnect(message(e))
        raise exception.BackendOperationFailed(
            operation=operation, target=target, reason=message(e))
