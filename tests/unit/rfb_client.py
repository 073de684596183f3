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

"""Reading RFB messages in console tests (the simulator's and the relay's)."""

import struct


def recv(sock, n):
    """Exactly n bytes, or EOFError saying what arrived before the close."""
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError('closed after %r' % data)
        data += chunk
    return data


def reason(sock):
    """An RFB failure reason: a 32-bit length, then the text."""
    (length,) = struct.unpack('>I', recv(sock, 4))
    return recv(sock, length).decode()
