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

"""One engine session: a small pool of SDK connections, shared by threads.

``ovirtsdk4.Connection`` serialises its requests behind one lock, so a
single connection would make the resource updates of several clusters wait
for each other. The session keeps ``connections`` of them in a queue; a
caller borrows one for one call and gives it back.

The first connection logs in; the others reuse its SSO token (one login per
engine, not one per connection). When a token expires the SDK answers the
401 by logging in again with the credentials, once, and repeats the request
(``Connection.__wait``); the tests check that against the simulator.

Reads and idempotent actions are retried on transport errors and 502/503/504
with tenacity; adds never are: a caller that creates something looks for its
first attempt (through the ownership mark) before trying again.
"""

import collections
import contextlib
import re
import threading
import time

from oslo_context import context as oslo_context
from oslo_log import log as logging
import ovirtsdk4 as sdk
from ovirtsdk4 import types
import tenacity

from nova import exception as nova_exception

from nova_ovirt import compat
from nova_ovirt import exception

LOG = logging.getLogger(__name__)

# HTTP codes of an engine that is busy or restarting: worth another try.
_RETRY_CODES = (502, 503, 504)
_TLS_HINTS = ('SSL', 'certificate', 'TLS')
# oVirt accepts correlation ids of at most 50 of these characters.
_CID_BAD = re.compile(r'[^A-Za-z0-9_-]')

_local = threading.local()


# -- errors --------------------------------------------------------------

class BadReply(sdk.Error):
    """A reply that is not the engine's XML (a proxy's error page, a cut
    or garbled body, a fault sent with 200, a listing that is none).

    Without a code or a fault it counts as a transport error: reads are
    retried and callers map it to BackendUnavailable.
    """


def as_list(result):
    """A listing's result, or BadReply if the engine sent no list."""
    if not isinstance(result, list):
        raise BadReply('the engine answered %s where a list was expected'
                       % type(result).__name__)
    return result


# libcurl's (code, 'message') as the SDK formats pycurl errors, with or
# without the pycurl handle's repr in front ("Failed to read response:
# [(<pycurl.Curl object at 0x...>, 7, 'Failed to connect ...')]").
_CURL_ERROR = re.compile(
    r"\(\s*(?:<[^>]*>\s*,\s*)?(\d+)\s*,\s*['\"](.*?)['\"]\s*\)")
_REPR = re.compile(r'<[^<>]* object at 0x[0-9a-fA-F]+>')


def fault_text(error):
    """The engine's own words for a failure: fault reason and detail.

    Errors the SDK makes from libcurl's become libcurl's message alone:
    the user reads it in the instance fault, which must not show library
    objects or their reprs.
    """
    fault = getattr(error, 'fault', None)
    if fault is not None and (fault.reason or fault.detail):
        parts = [p for p in (fault.reason, fault.detail) if p]
        return ': '.join(parts)
    text = str(error) or error.__class__.__name__
    curl = _CURL_ERROR.findall(text)
    if curl:
        return '; '.join(message for _code, message in curl)
    return _REPR.sub('', text).strip() or error.__class__.__name__


def is_transport_error(error):
    return isinstance(error, (sdk.ConnectionError, sdk.TimeoutError)) or (
        isinstance(error, sdk.Error) and error.code is None
        and not isinstance(error, (sdk.AuthError, sdk.NotFoundError))
        and error.fault is None)


def is_tls_error(error):
    text = str(error)
    return any(h in text for h in _TLS_HINTS)


def retryable(error):
    if is_transport_error(error) and not is_tls_error(error):
        return True
    return isinstance(error, sdk.Error) and error.code in _RETRY_CODES


def is_conflict(error):
    return isinstance(error, sdk.Error) and error.code in (400, 409)


def is_locked(error):
    """The engine refused because the VM or disk is locked by other work."""
    return is_conflict(error) and 'lock' in fault_text(error).lower()


def try_remove(session, service_of):
    """Remove the resource of ``service_of(system)``; False while locked.

    Already gone counts as removed, so the removal is idempotent and is
    retried like a read. Callers poll it until it returns True.
    """
    try:
        session.read(lambda system: service_of(system).remove(query=q()))
    except sdk.NotFoundError:
        return True
    except sdk.Error as e:
        if is_locked(e):
            return False
        raise
    return True


def translate(error, operation, target):
    """An SDK error as the nova exception that keeps the engine's reason.

    ``target`` names where it failed (``node cluster1 (pool engine1)``).
    """
    if isinstance(error, nova_exception.NovaException):
        return error
    if isinstance(error, sdk.Error) and (
            is_transport_error(error) or error.code in _RETRY_CODES):
        return exception.BackendUnavailableDuring(
            operation=operation, backend='the oVirt engine', target=target,
            reason=fault_text(error))
    return exception.BackendOperationFailed(
        operation=operation, target=target, reason=fault_text(error))


# -- correlation ids -------------------------------------------------------

def correlation_id():
    """Correlation id of the current call, from nova's request id.

    The engine tags its jobs and events with it, so an operator can find
    in the engine what a Nova request did (``/jobs?search=correlation_id=``).
    """
    cid = getattr(_local, 'cid', None)
    if cid is None:
        ctx = oslo_context.get_current()
        cid = getattr(ctx, 'request_id', None)
    if not cid:
        return None
    return _CID_BAD.sub('', cid)[:50] or None


@contextlib.contextmanager
def correlated(context):
    """Tag the engine requests made inside with context's request id."""
    previous = getattr(_local, 'cid', None)
    _local.cid = getattr(context, 'request_id', None) or previous
    try:
        yield
    finally:
        _local.cid = previous


def q():
    """Query parameters every changing request carries."""
    cid = correlation_id()
    return {'correlation_id': cid} if cid else None


# -- the session -----------------------------------------------------------

class _Waiter(object):
    """A thread waiting for a connection, and the one it was given."""

    def __init__(self):
        self.ready = threading.Event()
        self.conn = None


class Session(object):
    """Connections to one engine, for any number of threads."""

    def __init__(self, url, username, password, ca_file=None, insecure=False,
                 timeout=60, connections=4, name=None):
        self.url = url
        self.name = name or url
        self._username = username
        self._password = password
        self._ca_file = ca_file
        self._insecure = insecure
        self._timeout = timeout
        self._size = max(1, connections)
        self._idle = []              # the warmest connection last
        # Threads waiting for a connection, oldest first: a returned
        # connection goes to the oldest, never back to the thread that
        # returned it (see _give_back).
        self._waiters = collections.deque()
        self._created = 0
        self._token = None
        self._lock = threading.Lock()
        self._login_lock = threading.Lock()
        self._closed = False
        if insecure:
            LOG.warning('Pool %s: TLS verification of the oVirt engine %s '
                        'is off ([ovirt_pool] insecure = True); the '
                        'connection can be intercepted. Use ca_file.',
                        self.name, url)

    def _new_connection(self):
        # Never log these arguments: they hold the password.
        return sdk.Connection(
            url=self.url, username=self._username, password=self._password,
            token=self._token, ca_file=self._ca_file,
            insecure=self._insecure, timeout=self._timeout, connections=1)

    def _borrow(self):
        waiter = None
        with self._lock:
            if self._idle and not self._waiters:
                return self._idle.pop()
            create = self._created < self._size
            if create:
                self._created += 1
            else:
                waiter = _Waiter()
                self._waiters.append(waiter)
        if waiter is not None:
            return self._wait(waiter)
        try:
            with self._login_lock:
                # The first connection logs in; the others wait and then
                # reuse its token.
                conn = self._new_connection()
                if self._token is None:
                    self._token = compat.call_blocking(conn.authenticate)
        except Exception:
            with self._lock:
                self._created -= 1
            raise
        return conn

    def _wait(self, waiter):
        if not waiter.ready.wait(self._timeout * 2):
            with self._lock:
                if waiter.conn is None:
                    self._waiters.remove(waiter)
                    raise sdk.ConnectionError(
                        'no connection to %s free in %ds' % (
                            self.url, self._timeout * 2))
        return waiter.conn

    def _give_back(self, conn):
        """Hand conn to the oldest waiter, else keep it idle.

        First come, first served: with a queue that lets the returning
        thread take its connection straight back, a thread keeps it for
        its whole chain of requests (a spawn is six) while the others
        wait, and concurrent boots finish in waves of ``connections``
        with the connections idle in the last one (measured: 2.6 s for
        50 boots on 16 connections where 300 requests of 100 ms need
        1.9 s).
        """
        with self._lock:
            if self._waiters:
                waiter = self._waiters.popleft()
                waiter.conn = conn
                waiter.ready.set()
                return
            self._idle.append(conn)

    @contextlib.contextmanager
    def connection(self):
        if self._closed:
            raise sdk.ConnectionError('session to %s is closed' % self.url)
        conn = self._borrow()
        try:
            yield conn
        finally:
            self._give_back(conn)

    def _call(self, func):
        cid = correlation_id()

        def run(system):
            # In eventlet mode func runs on an OS thread of eventlet's
            # pool, which does not see this green thread's locals: the
            # correlation id goes along explicitly.
            previous = getattr(_local, 'cid', None)
            _local.cid = cid
            try:
                result = func(system)
            except Exception as e:
                if type(e) is not Exception:
                    raise
                # The SDK's XML reader fails with bare Exceptions ("Can't
                # read first node") on a reply that is not the engine's
                # XML: a cut body, a proxy's error page.
                raise BadReply('unreadable reply from the engine: %s' % e)
            finally:
                _local.cid = previous
            if isinstance(result, types.Fault):
                raise BadReply('the engine answered a fault with a '
                               'success code', fault=result)
            return result
        with self.connection() as conn:
            try:
                return compat.call_blocking(run, conn.system_service())
            except sdk.AuthError as e:
                if e.code != 401:
                    raise
                # The SDK logged in again after a 401 and was refused
                # again: the new token was invalidated too (SSO sessions
                # purged, an engine restart). A 401 comes before the
                # engine does anything, so one more try is safe, also for
                # a change; wrong credentials fail at the login instead.
                LOG.info('Engine %s refused a fresh token; trying once '
                         'more', self.name)
                return compat.call_blocking(run, conn.system_service())

    def read(self, func):
        """func(system_service) for a read or an idempotent action.

        Retried on transport errors and on a busy engine: the request
        changes nothing, or changes it to the same end state.
        """
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(retryable),
            stop=tenacity.stop_after_attempt(3),
            wait=tenacity.wait_exponential(multiplier=0.2, max=2),
            reraise=True)
        return retrying(self._call, func)

    def write(self, func):
        """func(system_service) for a change that is never retried blindly."""
        return self._call(func)

    def login(self):
        """Log in and ask for the API root (what the engine is)."""
        return self.read(lambda system: system.get())

    def close(self):
        self._closed = True
        first = True
        while True:
            with self._lock:
                if not self._idle:
                    break
                conn = self._idle.pop()
            try:
                # Connections share one token: revoke it once. The revoke
                # is a request: off eventlet's hub like every other one.
                compat.call_blocking(conn.close, logout=first)
            except Exception as e:
                LOG.debug('Closing an engine connection failed: %s', e)
            first = False
        with self._lock:
            self._created = 0
            self._token = None


# -- waiting -----------------------------------------------------------------

class WaitTimeout(nova_exception.NovaException):
    msg_fmt = '%(what)s: not done after %(timeout)s seconds'


def wait_for(fetch, done, timeout, what, failed=None, first=0.1,
             longest=2.0):
    """Poll fetch() with backoff until done(result); returns the result.

    Backoff keeps a long wait (a 10 GiB template copy) from hammering the
    engine while a short one (a VM leaving image_locked) ends quickly.
    ``failed(result)`` may return a message to stop waiting with.
    """
    deadline = time.monotonic() + timeout
    delay = first
    while True:
        result = fetch()
        if done(result):
            return result
        if failed is not None:
            message = failed(result)
            if message:
                raise exception.BackendOperationFailed(
                    operation=what, target='oVirt engine', reason=message)
        if time.monotonic() + delay > deadline:
            raise WaitTimeout(what=what, timeout=timeout)
        time.sleep(delay)
        delay = min(longest, delay * 1.5)
