"""A tiny RFB 3.8 server behind each running VM's graphics console.

What a real host's QEMU offers an oVirt client: security type 2 (VNC
authentication) only, with the ticket the engine set (``ticket`` action)
as the password, valid until its expiry on the simulator clock. After a
successful login it sends a ServerInit (640x480, true colour, the VM's
name) and answers FramebufferUpdateRequests with a screen drawn for the
VM (its name and id in large type over coloured bars, see `screen`), so
that a client (or nova-novncproxy behind a relay, or a browser) shows
which VM it reached and a blank screen is a failure anyone can see.
Pixels go out in the client's pixel format (SetPixelFormat, 32 bits per
pixel as every current client asks) with the unused byte set to 255:
noVNC 1.3 draws that byte as alpha.

One listening socket per running VM, on the port the console reports
(``graphicsconsoles?current=true``): opened when the VM comes up, closed
(with its connections) when it goes down or is removed, and on
``sim.stop()``. Everything uses the simulator's unpatched socket and
threading modules (compat.py), so it serves inside eventlet-patched
processes too.
"""

import functools
import os
import struct

from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from ovirt_engine_sim import common
from ovirt_engine_sim import compat
from ovirt_engine_sim.compat import socket
from ovirt_engine_sim.compat import threading

try:  # cryptography >= 43 keeps the old ciphers apart
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers import modes

LOG = compat.getLogger(__name__)

VERSION = b'RFB 003.008\n'
SEC_VNC = 2
WIDTH, HEIGHT = 640, 480
# 32 bits per pixel, depth 24, little endian, true colour, 8 bits per channel.
PIXEL_FORMAT = struct.pack('>BBBBHHHBBB3x', 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
# Colour bars across the bottom of the screen, like a test card's.
BARS = [(192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0),
        (192, 0, 192), (192, 0, 0), (0, 0, 192)]
BACKGROUND = (16, 40, 96)
# Bytes that follow the type byte of each client message we accept
# (ClientCutText and SetEncodings have a variable tail, read separately).
FIXED = {0: 19, 2: 3, 3: 9, 4: 7, 5: 5, 6: 7}


def vnc_response(password, challenge):
    """DES of the challenge with the password (bits of each byte mirrored)."""
    key = password.encode('latin-1', 'replace')[:8].ljust(8, b'\0')
    key = bytes(int('{:08b}'.format(b)[::-1], 2) for b in key)
    # TripleDES with an 8-byte key is single DES (k1 = k2 = k3).
    enc = Cipher(TripleDES(key), modes.ECB()).encryptor()
    return enc.update(challenge) + enc.finalize()


class _Closed(Exception):
    pass


def _recv(conn, n):
    data = b''
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise _Closed()
        data += chunk
    return data


def _failure(reason):
    data = reason.encode('utf-8')
    return struct.pack('>I', len(data)) + data


class Console(object):
    """The listening socket of one VM and its open connections."""

    def __init__(self, servers, vm_id, host, family):
        self.servers = servers
        self.vm_id = vm_id
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = set()
        self.closed = False
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True,
                         name='engine-sim-vnc-%d' % self.port).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return       # closed
            with self._lock:
                if self.closed:
                    conn.close()
                    return
                self.conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True,
                             name='engine-sim-vnc-%d-conn' % self.port).start()

    def close(self):
        with self._lock:
            self.closed = True
            conns, self.conns = self.conns, set()
        for s in [self.sock] + list(conns):
            try:
                # shutdown wakes a thread blocked in accept() or recv().
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _serve(self, conn):
        try:
            self._session(conn)
        except (_Closed, OSError):
            pass
        except Exception:
            LOG.exception('VNC console of VM %s failed', self.vm_id)
        finally:
            with self._lock:
                self.conns.discard(conn)
            conn.close()

    def _session(self, conn):
        conn.sendall(VERSION)
        version = _recv(conn, 12)
        if version != VERSION:
            # Only 3.8 (what QEMU and every client of the last decade speak).
            conn.sendall(b'\0' + _failure('Unsupported RFB version %r' % version))
            return
        conn.sendall(bytes([1, SEC_VNC]))
        if _recv(conn, 1)[0] != SEC_VNC:
            conn.sendall(struct.pack('>I', 1) + _failure('Unsupported security type'))
            return
        challenge = os.urandom(16)
        conn.sendall(challenge)
        response = _recv(conn, 16)
        name, error = self.servers.check(self.vm_id, challenge, response)
        if error:
            conn.sendall(struct.pack('>I', 1) + _failure('Authentication failed: ' + error))
            return
        conn.sendall(struct.pack('>I', 0))
        _recv(conn, 1)                              # ClientInit (shared flag)
        title = name.encode('utf-8')
        conn.sendall(struct.pack('>HH', WIDTH, HEIGHT) + PIXEL_FORMAT +
                     struct.pack('>I', len(title)) + title)
        fmt = DEFAULT_FORMAT
        while True:
            kind = _recv(conn, 1)[0]
            if kind not in FIXED:
                return              # unknown message: QEMU drops the client too
            body = _recv(conn, FIXED[kind])
            if kind == 0:           # SetPixelFormat
                try:
                    fmt = parse_pixel_format(body[3:])
                except ValueError as e:
                    LOG.warning('VNC console of VM %s: unsupported %s',
                                self.vm_id, e)
                    return
            elif kind == 2:         # SetEncodings
                _recv(conn, 4 * struct.unpack('>H', body[1:3])[0])
            elif kind == 6:         # ClientCutText
                _recv(conn, struct.unpack('>I', body[3:7])[0])
            elif kind == 3:         # FramebufferUpdateRequest
                self._update(conn, body, pixels(name, self.vm_id, fmt))

    def _update(self, conn, body, pixels):
        incremental, x, y, w, h = struct.unpack('>BHHHH', body)
        if incremental:
            # Nothing ever changes on this screen: like QEMU for an idle
            # guest, answer nothing until something does (an instant empty
            # answer would have noVNC ask again in a busy loop).
            return
        x, y = min(x, WIDTH), min(y, HEIGHT)
        w, h = min(w, WIDTH - x), min(h, HEIGHT - y)
        rows = b''.join(pixels[(row * WIDTH + x) * 4:(row * WIDTH + x + w) * 4]
                        for row in range(y, y + h))
        # One raw rectangle (encoding 0, which every client supports).
        conn.sendall(struct.pack('>BxH', 0, 1) +
                     struct.pack('>HHHHi', x, y, w, h, 0) + rows)


@functools.lru_cache(maxsize=16)
def pixels(name, vm_id, fmt):
    """The VM's screen in the client's pixel format (see `encode`)."""
    return encode(screen(name, vm_id), fmt)


def screen(name, vm_id):
    """The VM's screen: its name and id in large type, colour bars."""
    image = Image.new('RGB', (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    bar = WIDTH // len(BARS)
    for i, colour in enumerate(BARS):
        draw.rectangle([i * bar, HEIGHT - 120, (i + 1) * bar - 1, HEIGHT - 1],
                       fill=colour)
    draw.text((24, 24), 'oVirt engine simulator', fill=(255, 255, 255),
              font=ImageFont.load_default(size=28))
    draw.text((24, 120), name or '', fill=(255, 255, 0),
              font=ImageFont.load_default(size=56))
    draw.text((24, 220), 'VM %s' % vm_id, fill=(255, 255, 255),
              font=ImageFont.load_default(size=20))
    return image


def parse_pixel_format(data):
    """The byte positions of red, green and blue in a pixel of the
    format in SetPixelFormat's 16 bytes; ValueError for a format this
    server does not speak (anything but 32 bits, 8 bits per channel)."""
    (bpp, _depth, big_endian, true_colour, r_max, g_max, b_max,
     r_shift, g_shift, b_shift) = struct.unpack('>BBBBHHHBBB3x', data)
    shifts = (r_shift, g_shift, b_shift)
    if (bpp != 32 or not true_colour or (r_max, g_max, b_max) != (255,) * 3
            or any(s % 8 for s in shifts)):
        raise ValueError('pixel format %r' % (data,))
    position = [(3 - s // 8) if big_endian else s // 8 for s in shifts]
    return tuple(position)


def encode(image, fmt):
    """The image as 32-bit pixels: red, green and blue at the byte
    positions of `fmt`, 255 in the fourth byte."""
    n = WIDTH * HEIGHT
    out = bytearray(b'\xff' * (4 * n))
    for channel, position in zip(image.split(), fmt):
        out[position::4] = channel.tobytes()
    return bytes(out)


DEFAULT_FORMAT = parse_pixel_format(PIXEL_FORMAT)


class VncServers(object):
    """The VNC consoles of one simulator, by VM id.

    Sockets exist only while the simulator serves: VMs that run before
    start() (a loaded state, an admin VM) get theirs in start().
    """

    def __init__(self, store):
        self.store = store
        self.consoles = {}
        self.serving = None      # (host, address family) while started

    def start(self, host, family):
        if compat.PATCHER is not None:
            # Draw a screen once here, on the caller's thread: PIL imports
            # modules (which make loggers) on first use, and under
            # eventlet a console's OS thread must not reach logging's
            # green locks.
            encode(screen('', ''), DEFAULT_FORMAT)
        with self.store.lock:
            self.serving = (host, family)
            for vm in self.store.vms.values():
                if vm.status in common.RUNNING and vm.host is not None:
                    vm._sim_vnc_port = self.open(vm)

    def open(self, vm):
        """Start (or keep) the VM's console; its port."""
        with self.store.lock:
            console = self.consoles.get(vm.id)
            if console is None:
                if self.serving is None:
                    return None
                console = Console(self, vm.id, *self.serving)
                self.consoles[vm.id] = console
            return console.port

    def close(self, vm_id):
        with self.store.lock:
            console = self.consoles.pop(vm_id, None)
        if console is not None:
            console.close()

    def stop(self):
        with self.store.lock:
            self.serving = None
            consoles, self.consoles = list(self.consoles.values()), {}
        for c in consoles:
            c.close()

    def check(self, vm_id, challenge, response):
        """(VM name, None) when the response matches the current ticket,
        else (name, reason)."""
        with self.store.lock:
            self.store.tick()
            vm = self.store.vms.get(vm_id)
            if vm is None or vm.status not in common.RUNNING:
                return None, 'the VM is not running'
            ticket = getattr(vm, '_sim_ticket', None)
            if not ticket:
                return vm.name, 'password is not set'
            password, expires = ticket
            if self.store.clock.time() >= expires:
                return vm.name, 'password is expired'
            if response != vnc_response(password, challenge):
                return vm.name, 'wrong password'
            return vm.name, None
