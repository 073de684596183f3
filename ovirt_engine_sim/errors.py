"""Errors the simulator answers with an engine-style <fault>."""


class ApiError(Exception):
    def __init__(self, status, reason, detail):
        super(ApiError, self).__init__('%s %s: %s' % (status, reason, detail))
        self.status = status
        self.reason = reason
        self.detail = detail


def not_found(what='entity', ident=None):
    # The engine answers unknown ids with 404 and this detail text.
    return ApiError(404, 'Operation Failed',
                    'Entity not found: %s' % (ident if ident is not None else what))


def conflict(message):
    """A failed validation ("can do action"): 409 Operation Failed."""
    return ApiError(409, 'Operation Failed', '[%s]' % message)


def incomplete(type_name, fields, action='add'):
    return ApiError(400, 'Incomplete parameters',
                    '%s [%s] required for %s' % (type_name, ', '.join(fields), action))


def bad_request(detail, reason='Operation Failed'):
    return ApiError(400, reason, detail)
