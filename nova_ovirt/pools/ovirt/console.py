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

"""VNC consoles of oVirt VMs through nova-novncproxy.

oVirt's VNC servers want a ticket (a short-lived VNC password); the RFB
security type is "VNC authentication" (DES challenge). nova-novncproxy
relays bytes between the browser and the address the driver returns, and
its own security proxy only speaks ``none`` and ``vencrypt``; left as is,
the tenant's browser would ask for a password nobody gave them.

So the driver returns the address of a one-shot relay it runs: it logs in
to the VM's VNC server with the ticket (VNC authentication), then offers
the proxy side the ``none`` security type and copies bytes both ways. The
relay accepts one connection within the ticket's lifetime and listens on
``[vnc] server_proxyclient_address`` (nova-novncproxy already reaches
nova-compute there for libvirt guests).

Single DES for the challenge comes from ``cryptography``: TripleDES with
an 8-byte key is single DES (k1 = k2 = k3); no extra library needed.
"""

import secrets
import socket
import struct
import threading
import time

from oslo_log import log as logging
from ovirtsdk4 import types

import nova.conf
from nova.console import type as ctype
from nova import exception as nova_exception

from nova_ovirt import compat
from nova_ovirt.pools.ovirt import session as ovirt_session

try:  # cryptography >= 43 keeps the old ciphers apart
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers import modes

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

TICKET_SECONDS = 120
RFB_38 = b'RFB 003.008\n'
SEC_NONE = 1
SEC_VNC = 2


# -- VNC authentication ------------------------------------------------------

def _reverse_bits(byte):
    return int('{:08b}'.format(byte)[::-1], 2)


def des_encrypt(key8, data):
    encryptor = Cipher(TripleDES(key8), modes.ECB()).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def vnc_response(password, challenge):
    """RFB VNC-auth response: DES of the challenge, bit-mirrored key."""
    key = password.encode('latin-1')[:8].ljust(8, b'\0')
    key = bytes(_reverse_bits(b) for b in key)
    return des_encrypt(key, challenge)


# -- RFB handshakes ---------------------------------------------------------

class RfbError(Exception):
    pass


def _recv(sock, n):
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise RfbError('connection closed during the RFB handshake')
        data += chunk
    return data


def _reason(sock):
    (length,) = struct.unpack('>I', _recv(sock, 4))
    return _recv(sock, length).decode('utf-8', 'replace')


def login_server(sock, password):
    """Authenticate to a VNC server; leaves it waiting for ClientInit."""
    version = _recv(sock, 12)
    if not version.startswith(b'RFB 003.'):
        raise RfbError('not an RFB server: %r' % version)
    minor = int(version[8:11])
    if minor < 7:
        sock.sendall(b'RFB 003.003\n')
        (sec,) = struct.unpack('>I', _recv(sock, 4))
        offered = [sec]
        if sec == 0:
            raise RfbError(_reason(sock))
    else:
        sock.sendall(RFB_38 if minor >= 8 else b'RFB 003.007\n')
        (count,) = _recv(sock, 1)
        if count == 0:
            raise RfbError(_reason(sock))
        offered = list(_recv(sock, count))
        chosen = SEC_VNC if SEC_VNC in offered else SEC_NONE
        if chosen not in offered:
            raise RfbError('server offers no usable security type: %s'
                           % offered)
        sock.sendall(bytes([chosen]))
        offered = [chosen]
    if offered[0] == SEC_VNC:
        sock.sendall(vnc_response(password, _recv(sock, 16)))
        (result,) = struct.unpack('>I', _recv(sock, 4))
        if result != 0:
            raise RfbError('VNC authentication failed: %s' % (
                _reason(sock) if minor >= 8 else 'wrong ticket'))
    elif offered[0] == SEC_NONE and minor >= 8:
        (result,) = struct.unpack('>I', _recv(sock, 4))
        if result != 0:
            raise RfbError(_reason(sock))


def accept_client(sock):
    """Offer the proxy side RFB 3.8 with security type None."""
    sock.sendall(RFB_38)
    version = _recv(sock, 12)
    if not version.startswith(b'RFB 003.'):
        raise RfbError('not an RFB client: %r' % version)
    minor = int(version[8:11])
    if minor < 7:
        sock.sendall(struct.pack('>I', SEC_NONE))
        return
    sock.sendall(bytes([1, SEC_NONE]))
    _recv(sock, 1)
    if minor >= 8:
        sock.sendall(struct.pack('>I', 0))


def refuse_client(sock, reason):
    """Tell the proxy side, in RFB, that there is no console to give."""
    sock.sendall(RFB_38)
    version = _recv(sock, 12)
    message = reason.encode('utf-8')
    count = struct.pack('>I', 0) if version < b'RFB 003.007' else b'\0'
    sock.sendall(count + struct.pack('>I', len(message)) + message)


def _pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Relay(object):
    """One console session: listen once, log in with the ticket, copy."""

    def __init__(self, listen_host, target, password, timeout=TICKET_SECONDS):
        self.target = target
        self._password = password
        self._timeout = timeout
        self._sock = socket.socket(
            socket.AF_INET6 if ':' in listen_host else socket.AF_INET)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((listen_host, 0))
        self._sock.listen(1)
        self._sock.settimeout(timeout)
        self.port = self._sock.getsockname()[1]

    def start(self):
        compat.start_daemon(self._serve, 'nova-ovirt-vnc-%d' % self.port)
        return self

    def close(self):
        try:
            self._sock.close()
        except OSError:
            pass

    def _serve(self):
        try:
            client, _ = self._sock.accept()
        except OSError:
            return      # nobody came within the ticket's lifetime
        finally:
            self.close()
        client.settimeout(self._timeout)
        server = None
        try:
            server = socket.create_connection(self.target, self._timeout)
            login_server(server, self._password)
        except (OSError, RfbError) as e:
            LOG.warning('VNC relay to %s:%s failed: %s', self.target[0],
                        self.target[1], e)
            if server is not None:
                server.close()
            # An RFB failure the browser shows (nova-novncproxy passes the
            # reason on), not a dropped connection; the details stay in
            # the compute log, as nova's security proxy does it.
            try:
                refuse_client(client, 'Cannot log in to the console of the '
                              'instance; request a new console URL')
            except (OSError, RfbError):
                pass
            client.close()
            return
        try:
            accept_client(client)
        except (OSError, RfbError) as e:
            LOG.warning('VNC relay: the proxy side went away: %s', e)
            client.close()
            server.close()
            return
        client.settimeout(None)
        server.settimeout(None)
        compat.start_daemon(lambda: _pipe(server, client),
                            'nova-ovirt-vnc-%d-down' % self.port)
        _pipe(client, server)


class Consoles(object):
    def __init__(self, pool):
        self.pool = pool
        self._relays = []
        self._tickets = {}      # {vm id: (password, monotonic expiry)}
        self._lock = threading.Lock()

    def _password(self, vm_id):
        """The VM's console password: the current one while it is valid.

        Setting a ticket replaces the VM's VNC password, so a new random
        one per request would lock out the relay of a console URL handed
        out a moment earlier. The ticket set with it extends the expiry.
        """
        now = time.monotonic()
        with self._lock:
            self._tickets = {k: v for k, v in self._tickets.items()
                             if v[1] > now}
            current = self._tickets.get(vm_id)
            password = current[0] if current else \
                secrets.token_urlsafe(6)[:8]
            self._tickets[vm_id] = (password, now + TICKET_SECONDS)
            return password

    def _vnc_console(self, vm_id):
        consoles = self.pool.session.read(
            lambda system: system.vms_service().vm_service(vm_id)
            .graphics_consoles_service().list(current=True))
        for c in consoles:
            if c.protocol == types.GraphicsType.VNC:
                return c
        return None

    def get_vnc_console(self, instance):
        vmops = self.pool.vmops
        vm_id = vmops.vm_id(instance)
        console = self._vnc_console(vm_id)
        if console is None or not console.port:
            raise nova_exception.ConsoleTypeUnavailable(console_type='vnc')
        password = self._password(vm_id)
        ticket = self.pool.session.write(
            lambda system: system.vms_service().vm_service(vm_id).ticket(
                ticket=types.Ticket(value=password, expiry=TICKET_SECONDS),
                query=ovirt_session.q()))
        if ticket is not None and ticket.value:
            password = ticket.value
        listen = CONF.vnc.server_proxyclient_address
        relay = Relay(listen, (console.address, console.port),
                      password).start()
        with self._lock:
            self._relays.append(relay)
            self._relays = self._relays[-64:]
        return ctype.ConsoleVNC(host=listen, port=relay.port)

    def stop(self):
        with self._lock:
            relays, self._relays = self._relays, []
        for r in relays:
            r.close()
