"""The VNC server behind each running VM's console, spoken to over RFB 3.8."""

import socket
import struct

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
        self.assertEqual(bytes(16 * 8 * bpp // 8), recv(sock, 16 * 8 * bpp // 8))
        # An incremental request: nothing changed, an empty update.
        sock.sendall(struct.pack('>BBHHHH', 3, 1, 0, 0, 640, 480))
        self.assertEqual(struct.pack('>BxH', 0, 0), recv(sock, 4))

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
