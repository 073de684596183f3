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

So the driver returns the address of a relay it runs in nova-compute: the
relay logs in to the VM's VNC server with the ticket, offers the proxy
side the ``none`` security type and copies bytes both ways.

Who may pass the relay
----------------------
A listener that hands out a logged-in console is as good as the VM's
password, so the relay only serves connections that nova-novncproxy
authorized:

* Every ``get_vnc_console`` call mints a random secret (192 bits) and
  returns it as the console's ``internal_access_path``. Nova stores it in
  the console auth token's record (never in the URL the tenant gets);
  nova-novncproxy, after validating the tenant's token, opens the
  connection with ``CONNECT <secret> HTTP/1.1`` (its own handshake for
  consoles with an access path) and the relay answers ``200`` only for a
  secret it minted that has not expired. Anything else gets ``403`` and
  the connection is closed before any RFB byte.
* A secret lives as long as nova's console auth token
  (``[consoleauth] token_ttl``): a reload of the console page with the
  same token connects again, an expired token's secret is refused by the
  relay too, not only by nova-novncproxy.
* One VM has one relay (one port) while any of its secrets lives, because
  nova-novncproxy checks the token's port by calling ``get_vnc_console``
  again (``validate_console_port``); that call mints a secret nova never
  stores, which only keeps the listener open a little longer.
* The relay listens on loopback unless the operator sets
  ``vnc_relay_listen`` (nova-novncproxy on another host).

What an attacker on the network can do: connect to the relay's port and
guess a secret (2**192 values), or read the secret off the wire between
nova-novncproxy and nova-compute, which also shows them the console
traffic itself, as it does for libvirt guests; keep that link on the
management network, as for any VNC server nova-novncproxy reaches.

Single DES for the challenge comes from ``cryptography``: TripleDES with
an 8-byte key is single DES (k1 = k2 = k3); no extra library needed.
"""

import hmac
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

RFB_38 = b'RFB 003.008\n'
SEC_NONE = 1
SEC_VNC = 2
_WILDCARDS = ('0.0.0.0', '::', '')
# Bytes of randomness in one console secret (the access path).
SECRET_BYTES = 24
# A proxy sends its CONNECT line at once; anything slower, or longer than
# any access path we mint, is not nova-novncproxy.
CONNECT_SECONDS = 10
MAX_CONNECT_LINE = 1024
# Secrets one relay keeps at most: each console URL and each port check
# adds one; expired ones go first.
MAX_SECRETS = 1024


def token_ttl():
    """Seconds a console auth token of nova lives."""
    return CONF.consoleauth.token_ttl


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


def read_connect_path(sock):
    """The path of nova-novncproxy's ``CONNECT <path> HTTP/1.1`` line.

    Reads byte by byte up to the blank line so that nothing after it (the
    proxy sends nothing before our answer anyway) is consumed. None for
    anything else.
    """
    data = b''
    while not data.endswith(b'\r\n\r\n'):
        if len(data) >= MAX_CONNECT_LINE:
            return None
        chunk = sock.recv(1)
        if not chunk:
            return None
        data += chunk
    words = data.split(b'\r\n', 1)[0].split()
    if len(words) != 3 or words[0] != b'CONNECT' or \
            not words[2].startswith(b'HTTP/'):
        return None
    return words[1].decode('ascii', 'replace')


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
    """The console relay of one VM: one port, one connection per secret
    presented, open while any secret it minted is unexpired."""

    def __init__(self, listen_host, target, password):
        self.target = target
        self.password = password
        self._secrets = {}          # {secret: monotonic expiry}
        self._lock = threading.Lock()
        self.closed = False
        self._sock = socket.socket(
            socket.AF_INET6 if ':' in listen_host else socket.AF_INET)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((listen_host, 0))
        self._sock.listen(8)
        self.port = self._sock.getsockname()[1]

    def start(self):
        compat.start_daemon(self._accept_loop,
                            'nova-ovirt-vnc-%d' % self.port)
        return self

    def mint_secret(self, lifetime):
        """A new access path valid for `lifetime` seconds; None once the
        relay has closed (the caller makes a new relay)."""
        secret = secrets.token_urlsafe(SECRET_BYTES)
        now = time.monotonic()
        with self._lock:
            if self.closed:
                return None
            self._secrets = {s: t for s, t in self._secrets.items()
                             if t > now}
            while len(self._secrets) >= MAX_SECRETS:
                self._secrets.pop(min(self._secrets,
                                      key=self._secrets.get))
            self._secrets[secret] = now + lifetime
        return secret

    def authorized(self, path):
        now = time.monotonic()
        with self._lock:
            live = [s for s, t in self._secrets.items() if t > now]
        # Compare every live secret in constant time: no timing hint about
        # how much of a guess was right.
        found = False
        for secret in live:
            found |= hmac.compare_digest(secret.encode(), path.encode())
        return found

    def _remaining(self):
        """Seconds until the last secret expires (0 when none is left)."""
        with self._lock:
            last = max(self._secrets.values(), default=0)
        return max(0.0, last - time.monotonic())

    def close(self):
        with self._lock:
            self.closed = True
        try:
            self._sock.close()
        except OSError:
            pass

    def _accept_loop(self):
        while True:
            remaining = self._remaining()
            with self._lock:
                if self.closed or not remaining:
                    # The last token expired: nobody may connect any more.
                    self.closed = True
                    break
            try:
                self._sock.settimeout(remaining)
                client, peer = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                # Closed by close() from another thread after the check.
                break
            compat.start_daemon(
                lambda c=client, p=peer: self._serve(c, p),
                'nova-ovirt-vnc-%d-conn' % self.port)
        self.close()

    def _serve(self, client, peer):
        client.settimeout(CONNECT_SECONDS)
        try:
            path = read_connect_path(client)
            if path is None or not self.authorized(path):
                LOG.warning('VNC relay on port %d: refused a connection '
                            'from %s without a valid console token',
                            self.port, peer[0])
                client.sendall(b'HTTP/1.1 403 Forbidden\r\n\r\n')
                client.close()
                return
            client.sendall(b'HTTP/1.1 200 OK\r\n\r\n')
        except OSError:
            client.close()
            return
        self._relay(client)

    def _relay(self, client):
        target, password = self.target, self.password
        server = None
        try:
            server = socket.create_connection(target, CONNECT_SECONDS)
            login_server(server, password)
        except (OSError, RfbError) as e:
            LOG.warning('VNC relay to %s:%s failed: %s', target[0],
                        target[1], e)
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
        self._relays = {}       # {vm id: Relay}
        self._tickets = {}      # {vm id: (password, monotonic expiry)}
        self._lock = threading.Lock()

    def _password(self, vm_id, lifetime):
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
            self._tickets[vm_id] = (password, now + lifetime)
            return password

    def _vnc_console(self, vm_id):
        consoles = self.pool.session.read(
            lambda system: system.vms_service().vm_service(vm_id)
            .graphics_consoles_service().list(current=True))
        for c in consoles:
            if c.protocol == types.GraphicsType.VNC:
                return c
        return None

    def listen_address(self):
        return self.pool.conf.vnc_relay_listen

    def proxy_address(self):
        """The relay's address as nova-novncproxy reaches it."""
        conf = self.pool.conf
        if conf.vnc_relay_address:
            return conf.vnc_relay_address
        if conf.vnc_relay_listen in _WILDCARDS:
            return CONF.vnc.server_proxyclient_address
        return conf.vnc_relay_listen

    def _relay_for(self, vm_id, target, password, lifetime):
        """The VM's live relay (made when there is none) and a new secret
        for it."""
        with self._lock:
            relay = self._relays.get(vm_id)
            if relay is not None:
                relay.target, relay.password = target, password
                secret = relay.mint_secret(lifetime)
                if secret is not None:
                    return relay, secret
            relay = Relay(self.listen_address(), target, password)
            secret = relay.mint_secret(lifetime)
            self._relays[vm_id] = relay.start()
            self._relays = {k: r for k, r in self._relays.items()
                            if not r.closed}
            return relay, secret

    def _close_relay(self, vm_id):
        with self._lock:
            relay = self._relays.pop(vm_id, None)
        if relay is not None:
            relay.close()

    def get_vnc_console(self, instance):
        vm_id = self.pool.vmops.vm_id(instance)
        console = self._vnc_console(vm_id)
        if console is None or not console.port:
            self._close_relay(vm_id)
            raise nova_exception.ConsoleTypeUnavailable(console_type='vnc')
        lifetime = token_ttl()
        password = self._password(vm_id, lifetime)
        ticket = self.pool.session.write(
            lambda system: system.vms_service().vm_service(vm_id).ticket(
                ticket=types.Ticket(value=password, expiry=lifetime),
                query=ovirt_session.q()))
        if ticket is not None and ticket.value:
            password = ticket.value
        relay, secret = self._relay_for(
            vm_id, (console.address, console.port), password, lifetime)
        return ctype.ConsoleVNC(host=self.proxy_address(), port=relay.port,
                                internal_access_path=secret)

    def stop(self):
        with self._lock:
            relays, self._relays = list(self._relays.values()), {}
        for r in relays:
            r.close()
