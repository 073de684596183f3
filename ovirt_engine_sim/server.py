"""HTTPS front end: TLS, keep-alive HTTP/1.1, SSO, auth, faults, routing."""

import json
import urllib.parse

from ovirt_engine_sim.compat import http_server
from ovirt_engine_sim.compat import socket
from ovirt_engine_sim.compat import ssl
from ovirt_engine_sim.compat import threading
from ovirt_engine_sim.compat import time

from ovirt_engine_sim import compat
from ovirt_engine_sim import errors
from ovirt_engine_sim import imageio
from ovirt_engine_sim import render

LOG = compat.getLogger(__name__)

SSO_TOKEN = '/ovirt-engine/sso/oauth/token'
SSO_LOGOUT = '/ovirt-engine/services/sso-logout'
API = '/ovirt-engine/api'


class Handler(http_server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'nova-ovirt-engine-sim/1.0'
    sys_version = ''
    timeout = 120   # idle keep-alive connections do not pin threads forever
    # Headers and body go out in two writes: with Nagle the body waits for
    # the client's delayed ACK (40 ms a reply once the client idles).
    disable_nagle_algorithm = True

    # -- plumbing -----------------------------------------------------------

    def log_message(self, fmt, *args):
        LOG.debug('%s - %s', self.address_string(), fmt % args)

    def send_body(self, status, body, content_type, extra=None):
        if isinstance(body, str):
            body = body.encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)
            self.server.sim.requests.add_bytes(replied=len(body))

    def send_text(self, status, text):
        self.send_body(status, text, 'text/plain; charset=utf-8')

    def send_json(self, status, data, extra=None):
        self.send_body(status, json.dumps(data), 'application/json', extra)

    def send_xml(self, status, body, extra=None):
        if not body:
            self.send_body(status, b'', 'application/xml', extra)
        else:
            self.send_body(status, body, 'application/xml;charset=UTF-8', extra)

    def send_fault(self, status, reason, detail, extra=None):
        self.send_xml(status, render.fault_xml(reason, detail), extra)

    def iter_body(self, size, chunked=False, chunk=1024 * 1024):
        if chunked:
            while True:
                line = self.rfile.readline(65537)
                n = int(line.split(b';')[0].strip() or b'0', 16)
                if n == 0:
                    while self.rfile.readline(65537) not in (b'\r\n', b'\n', b''):
                        pass
                    return
                left = n
                while left:
                    data = self.rfile.read(min(chunk, left))
                    if not data:
                        raise ConnectionError('client went away')
                    left -= len(data)
                    yield data
                self.rfile.readline(3)
        left = size or 0
        while left > 0:
            data = self.rfile.read(min(chunk, left))
            if not data:
                raise ConnectionError('client went away')
            left -= len(data)
            yield data

    def read_body(self):
        chunked = 'chunked' in (self.headers.get('Transfer-Encoding') or '').lower()
        size = int(self.headers.get('Content-Length') or 0)
        return b''.join(self.iter_body(size, chunked))

    def discard_body(self, size):
        for _ in self.iter_body(size):
            pass

    # -- methods --------------------------------------------------------------

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_GET

    def _handle(self):
        sim = self.server.sim
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        method = self.command
        sim.requests.record(method, path)
        delay = sim.faults.latency_for(method, path)
        if delay:
            time.sleep(delay)
        try:
            injected = sim.faults.fault_for(method, path)
            if path.startswith('/images/'):
                if injected:
                    self.discard_request_body()
                    return self.send_text(injected[0], injected[2])
                return sim.imageio.handle(self, method, path, query)
            body = self.read_body() if method in ('POST', 'PUT', 'PATCH') else b''
            if injected:
                if path.startswith('/ovirt-engine/sso') or path == SSO_LOGOUT:
                    return self.send_json(injected[0], {'error_code': 'server_error',
                                                        'error': injected[2]})
                return self.send_fault(*injected)
            if path == SSO_TOKEN:
                return self._sso_token(body)
            if path == SSO_LOGOUT:
                form = dict(urllib.parse.parse_qsl(body.decode('utf-8', 'replace')))
                sim.sso.logout(form.get('token'))
                return self.send_json(200, {})
            if path == API or path.startswith(API + '/'):
                return self._api(method, path, query, body)
            return self.send_text(404, 'Not found: %s' % path)
        except imageio.Abort:
            self._drop()
        except (ConnectionError, ssl.SSLError, socket.timeout, BrokenPipeError):
            self.close_connection = True
        except Exception as e:  # never a traceback or a hung connection to the client
            LOG.exception('engine simulator: %s %s failed', method, path)
            try:
                self.send_fault(500, 'Internal Server Error', 'Simulator error: %s' % e)
            except Exception:
                self.close_connection = True

    def discard_request_body(self):
        size = int(self.headers.get('Content-Length') or 0)
        if size:
            self.discard_body(size)

    def _drop(self):
        """Reset the connection (an injected transfer failure)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _sso_token(self, body):
        form = dict(urllib.parse.parse_qsl(body.decode('utf-8', 'replace'),
                                           keep_blank_values=True))
        status, data = self.server.sim.sso.login(form)
        self.send_json(status, data)

    def _api(self, method, path, query, body):
        sim = self.server.sim
        auth = self.headers.get('Authorization') or ''
        token = auth[7:].strip() if auth.lower().startswith('bearer ') else None
        if not token or not sim.sso.valid(token):
            return self.send_fault(401, 'Unauthorized',
                                   'The request requires a valid access token.',
                                   {'WWW-Authenticate': 'Bearer'})
        try:
            status, xml = sim.api.handle(method, path, query, self.headers,
                                         body.decode('utf-8', 'replace'))
        except errors.ApiError as e:
            return self.send_fault(e.status, e.reason, e.detail)
        self.send_xml(status, xml)


class HTTPSServer(http_server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, ssl_ctx, sim, family=socket.AF_INET):
        self.address_family = family
        self.ssl_ctx = ssl_ctx
        self.sim = sim
        self.active = set()
        self.active_lock = threading.Lock()
        super(HTTPSServer, self).__init__(address, Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the connection's own thread so a slow
        # or broken client cannot stall the accept loop.
        request.settimeout(30)
        try:
            # Headers and body go out as separate writes; without NODELAY
            # Nagle + delayed ACK add ~40 ms to every response.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        try:
            conn = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            LOG.debug('TLS handshake with %s failed: %s', client_address, e)
            return
        with self.active_lock:
            self.active.add(conn)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            with self.active_lock:
                self.active.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        LOG.debug('connection from %s ended with an error', client_address, exc_info=True)

    def drop_connections(self):
        with self.active_lock:
            conns = list(self.active)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
