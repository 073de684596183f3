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

"""Exceptions of the driver, all derived from nova's own.

Deriving from nova's exceptions lets the compute manager record them as the
instance's fault with their message, which is what the tenant and the
operator read.
"""

from nova import exception


class PoolConfigError(exception.InvalidConfiguration):
    """A configuration mistake that must stop nova-compute at start.

    The message always names the option and its value, so the one line
    nova-compute logs before exiting tells the operator what to fix.
    """

    def __init__(self, group, option, value, reason):
        self.group = group
        self.option = option
        self.value = value
        message = '[%s] %s = %r: %s' % (group, option, value, reason)
        super().__init__(message)


class NodeNotFound(exception.NovaException):
    msg_fmt = 'Node %(nodename)s is not managed by this nova-compute.'


class BackendUnavailable(exception.NovaException):
    """The backend of a node (engine or libvirt host) cannot be reached."""
    msg_fmt = '%(backend)s %(target)s is unavailable: %(reason)s'


class BackendUnavailableDuring(BackendUnavailable):
    """The backend could not be reached while doing an operation."""
    msg_fmt = ('%(operation)s failed on %(target)s: %(backend)s is '
               'unavailable: %(reason)s')


class BackendOperationFailed(exception.NovaException):
    """The backend refused or failed an operation; its reason is kept."""
    msg_fmt = '%(operation)s failed on %(target)s: %(reason)s'


class UnmappedNetwork(exception.InvalidInput):
    """A port's network has no vNIC profile: the boot or attach fails
    (InvalidInput: nova aborts the build instead of rescheduling it)."""
    # Short: nova keeps 255 characters of a fault, after its own prefix.
    msg_fmt = ('No oVirt vNIC profile for network %(network)s: set one '
               'in %(option)s')


class OwnershipConflict(exception.NovaException):
    """Two engine VMs carry one instance's ownership mark."""
    msg_fmt = ('Instance %(instance)s: the engine has %(count)d VMs marked '
               'as this instance (%(vm_ids)s); nothing is changed until an '
               'engine administrator removes the mark from the copies')


class ClaimIsLive(exception.NovaException):
    """A takeover of a claim whose service still sends heartbeats."""
    msg_fmt = ('%(node)s is managed by %(owner)s, which is alive: stop that '
               'service or remove the node from its configuration first, '
               'or pass --force')


class MaintenanceNotSupported(exception.NovaException):
    """nova-ovirt-manage host maintenance on a node without a mark."""
    msg_fmt = ('Node %(nodename)s of pool %(pool)s cannot be put in '
               'maintenance by nova-ovirt: %(reason)s')
