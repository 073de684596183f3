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

"""Reading Cinder's connection_info, the same for both backends.

What each backend makes of a volume (a libvirt network disk, an oVirt
direct LUN disk) lives in its own ``pools/<backend>/volumeops.py``.
"""

import re

from nova import exception as nova_exception

#: The iSCSI port a portal without one means (RFC 7143).
ISCSI_PORT = 3260

_PORTAL = re.compile(r'^\[(?P<v6>[^\]]+)\](:(?P<p6>\d+))?$|'
                     r'^(?P<host>[^:]+)(:(?P<port>\d+))?$')


def split_portal(portal):
    """('host', port) of an iSCSI portal 'a.b.c.d:p' or '[v6]:p'."""
    portal = portal.split(',')[0]  # "ip:port,tpgt" from some backends
    match = _PORTAL.match(portal)
    if not match:
        raise ValueError('%r is not host:port' % portal)
    host = match.group('v6') or match.group('host')
    port = match.group('p6') or match.group('port') or ISCSI_PORT
    return host, int(port)


class InvalidConnectionInfo(nova_exception.InvalidBDM):
    msg_fmt = ('Volume %(volume_id)s: connection_info of type '
               '%(driver_type)s lacks or has a bad %(field)s: %(reason)s')


def volume_id_of(connection_info):
    """The Cinder volume a connection_info is for, '?' when it says not."""
    connection_info = connection_info or {}
    data = connection_info.get('data') or {}
    return data.get('volume_id') or connection_info.get('serial') or '?'


def require(data, field, volume_id, driver_type):
    """A connection_info data field that must be given (not empty)."""
    value = data.get(field)
    if value in (None, '', []):
        raise InvalidConnectionInfo(volume_id=volume_id,
                                    driver_type=driver_type, field=field,
                                    reason='missing')
    return value
