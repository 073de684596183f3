"""The engine's SSO token service (the part the SDK uses)."""

import secrets

from ovirt_engine_sim.compat import threading


class SSO(object):
    def __init__(self, clock, username, password, lifetime):
        self.clock = clock
        self.username = username
        self.password = password
        self.lifetime = lifetime        # function -> seconds
        self._tokens = {}
        self._lock = threading.Lock()
        self.logins = 0

    def login(self, form):
        """(status, json dict) for POST /ovirt-engine/sso/oauth/token."""
        grant = form.get('grant_type')
        if grant != 'password':
            return 400, {'error_code': 'unsupported_grant_type',
                         'error': 'The grant type %s is not supported.' % grant}
        if 'ovirt-app-api' not in (form.get('scope') or '').split():
            return 400, {'error_code': 'invalid_scope',
                         'error': 'The requested scope is invalid: %s' % form.get('scope')}
        user = form.get('username')
        if user != self.username or form.get('password') != self.password:
            # The engine's shape: a code plus a message (the SDK shows both).
            return 400, {'error_code': 'access_denied',
                         'error': "Cannot authenticate user '%s': The username or "
                                  "password is incorrect.." % user}
        token = secrets.token_urlsafe(48)
        expires = self.clock.time() + self.lifetime()
        with self._lock:
            self._tokens[token] = expires
            self.logins += 1
        return 200, {'access_token': token, 'token_type': 'bearer',
                     'scope': 'ovirt-app-api ovirt-ext=token-info:authz-search '
                              'ovirt-ext=token-info:public-authz-search '
                              'ovirt-ext=token-info:validate ovirt-ext=token:password-access',
                     'exp': str(int(expires * 1000))}

    def valid(self, token):
        with self._lock:
            expires = self._tokens.get(token)
            if expires is None:
                return False
            if expires <= self.clock.time():
                del self._tokens[token]
                return False
            return True

    def logout(self, token):
        with self._lock:
            self._tokens.pop(token, None)

    def invalidate_all(self):
        with self._lock:
            self._tokens.clear()
