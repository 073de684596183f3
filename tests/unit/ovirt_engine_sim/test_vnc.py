"""The VNC server behind each running VM's console, spoken to over RFB 3.8."""

import os
import socket
import struct
import subprocess
import sys

import fixtures
from PIL import Image

from ovirtsdk4 import types

from ovirt_engine_sim import vnc
from tests.unit.ovirt_engine_sim import base
from tests.unit.rfb_client import reason
from tests.unit.rfb_client import recv


def login(address, port, password):
    """RFB 3.8 with VNC authentication: (socket, 0) or (socket, reason)."""
    sock = socket.create_connection((address, port), 10)
    assert recv(sock, 12) == b'RFB 003.008\n'
    sock.sendall(b'RFB 003.008\n')
    count = recv(sock, 1)[0]
    types_ = list(recv(sock, count))
    assert types_ == [2], types_
    sock.sendall(b'\x02')
    challenge = recv(sock, 16)
    sock.sendall(vnc.vnc_response(password, challenge))
    (result,) = struct.unpack('>I', recv(sock, 4))
    return sock, (reason(sock) if result else 0)


class VncServerTest(base.SimTestCase):

    def setUp(self):
        super().setUp()
        self.vm = self.add_vm(name='vnc-vm')
        self.start_and_wait(self.vm.id)
        self.console_svc = self.vm_service(self.vm.id).graphics_consoles_service()
        self.console = self.console_svc.list(current=True)[0]

    def ticket(self, value='s3cret', expiry=120):
        return self.console_svc.console_service(self.console.id).ticket(
            ticket=types.Ticket(value=value, expiry=expiry))

    def connect_vnc(self, password):
        sock, result = login(self.console.address, self.console.port, password)
        self.addCleanup(sock.close)
        return sock, result

    def test_login_server_init_and_update(self):
        self.ticket('s3cret')
        sock, result = self.connect_vnc('s3cret')
        self.assertEqual(0, result)
        sock.sendall(b'\x01')                               # ClientInit, shared
        width, height = struct.unpack('>HH', recv(sock, 4))
        self.assertEqual((640, 480), (width, height))
        bpp = recv(sock, 16)[0]
        (n,) = struct.unpack('>I', recv(sock, 4))
        self.assertEqual('vnc-vm', recv(sock, n).decode())
        # SetEncodings (raw), then a full update of a small region.
        sock.sendall(struct.pack('>BxHi', 2, 1, 0))
        sock.sendall(struct.pack('>BBHHHH', 3, 0, 0, 0, 16, 8))
        kind, rects = struct.unpack('>BxH', recv(sock, 4))
        self.assertEqual((0, 1), (kind, rects))
        x, y, w, h, enc = struct.unpack('>HHHHi', recv(sock, 12))
        self.assertEqual((0, 0, 16, 8, 0), (x, y, w, h, enc))
        pixels = recv(sock, 16 * 8 * bpp // 8)
        # The screen's background (BGRX with X = 255, the server's format).
        self.assertEqual(bytes([96, 40, 16, 255]) * (16 * 8), pixels)
        # An incremental request: nothing changed, nothing is sent (as
        # QEMU does for an idle screen).
        sock.sendall(struct.pack('>BBHHHH', 3, 1, 0, 0, 640, 480))
        sock.settimeout(0.5)
        self.assertRaises(socket.timeout, sock.recv, 1)

    def test_client_pixel_format(self):
        # noVNC's format: red in the first byte (shift 0), blue in the third.
        self.ticket('s3cret')
        sock, _ = self.connect_vnc('s3cret')
        sock.sendall(b'\x01')
        recv(sock, 20)
        recv(sock, struct.unpack('>I', recv(sock, 4))[0])
        sock.sendall(b'\0\0\0\0' + struct.pack(
            '>BBBBHHHBBB3x', 32, 24, 0, 1, 255, 255, 255, 0, 8, 16))
        sock.sendall(struct.pack('>BBHHHH', 3, 0, 0, 479, 1, 1))
        recv(sock, 16)
        self.assertEqual(bytes([192, 192, 192, 255]), recv(sock, 4))

    def test_wrong_password(self):
        self.ticket('s3cret')
        _, result = self.connect_vnc('other')
        self.assertEqual('Authentication failed: wrong password', result)

    def test_no_ticket(self):
        _, result = self.connect_vnc('')
        self.assertEqual('Authentication failed: password is not set', result)

    def test_ticket_expires_on_sim_clock(self):
        self.ticket('s3cret', expiry=30)
        self.assertEqual(0, self.connect_vnc('s3cret')[1])
        self.clock.advance(31)
        _, result = self.connect_vnc('s3cret')
        self.assertEqual('Authentication failed: password is expired', result)

    def test_only_vnc_auth_offered(self):
        sock = socket.create_connection((self.console.address, self.console.port), 10)
        self.addCleanup(sock.close)
        recv(sock, 12)
        sock.sendall(b'RFB 003.008\n')
        self.assertEqual(b'\x01\x02', recv(sock, 2))
        sock.sendall(b'\x01')                               # "none": refused
        self.assertEqual(struct.pack('>I', 1), recv(sock, 4))
        self.assertIn('security type', reason(sock))

    def _refused(self, port):
        sock = socket.socket()
        self.addCleanup(sock.close)
        sock.settimeout(5)
        try:
            sock.connect((self.console.address, port))
            return sock.recv(1) == b''
        except OSError:
            return True

    def test_closed_when_vm_goes_down(self):
        self.ticket('s3cret')
        sock, _ = self.connect_vnc('s3cret')
        port = self.console.port
        self.vm_service(self.vm.id).stop()
        self.assertEqual(b'', sock.recv(1))                 # session ends
        self.assertTrue(self._refused(port))
        self.assertIsNone(self.console_svc.list(current=True)[0].port)
        # A new run has a new server (and needs a new ticket).
        self.start_and_wait(self.vm.id)
        self.console = self.console_svc.list(current=True)[0]
        self.assertEqual('Authentication failed: password is not set',
                         self.connect_vnc('s3cret')[1])

    def test_closed_when_vm_removed_and_on_stop(self):
        port = self.console.port
        other = self.add_vm(name='vnc-vm2')
        self.start_and_wait(other.id)
        other_port = self.vm_service(other.id).graphics_consoles_service().list(
            current=True)[0].port
        self.assertNotEqual(port, other_port)
        self.sim.admin_remove_vm(self.vm.id)
        self.assertTrue(self._refused(port))
        self.assertFalse(self._refused(other_port))
        self.sim.stop()
        self.assertTrue(self._refused(other_port))

    def test_suspend_closes_console(self):
        port = self.console.port
        self.vm_service(self.vm.id).suspend()
        self.settle()
        self.assertTrue(self._refused(port))


class IndependentClientTest(base.SimTestCase):
    """vncdotool, an RFB client this project did not write (PyPI), logs
    in to the VM's console with the engine's ticket as VNC password and
    captures the screen."""

    def setUp(self):
        super().setUp()
        self.vm = self.add_vm(name='vncdotool-vm')
        self.start_and_wait(self.vm.id)
        svc = self.vm_service(self.vm.id).graphics_consoles_service()
        self.console = svc.list(current=True)[0]
        svc.console_service(self.console.id).ticket(
            ticket=types.Ticket(value='Tick3t!', expiry=120))

    def capture(self, password):
        out = os.path.join(self.useFixture(fixtures.TempDir()).path,
                           'screen.png')
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), 'vncdotool'),
             '--server', '%s::%d' % (self.console.address,
                                     self.console.port),
             '--password', password, '--timeout', '60', 'capture', out],
            capture_output=True, text=True, timeout=120)
        return proc, out

    def test_ticket_password_logs_in_and_screen_is_drawn(self):
        proc, out = self.capture('Tick3t!')
        self.assertEqual(0, proc.returncode, proc.stderr)
        image = Image.open(out).convert('RGB')
        self.assertEqual((640, 480), image.size)
        colours = image.getcolors(maxcolors=1 << 16)
        # The VM's name in yellow, white text, seven colour bars: far from
        # a blank screen.
        self.assertGreater(len(colours), 10)
        self.assertEqual((192, 0, 0), image.getpixel((5 * 91 + 40, 470)))
        yellow = sum(n for n, c in colours if c == (255, 255, 0))
        self.assertGreater(yellow, 500)

    def test_wrong_password_is_refused(self):
        proc, out = self.capture('wrong')
        self.assertNotEqual(0, proc.returncode)
        self.assertFalse(os.path.exists(out))
