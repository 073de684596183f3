"""Helpers shared by the engine operation modules."""

from ovirtsdk4 import List
from ovirtsdk4 import Struct
from ovirtsdk4 import types

from ovirt_engine_sim import errors

USER = 'admin@internal-authz'

RUNNING = (types.VmStatus.UP, types.VmStatus.POWERING_UP,
           types.VmStatus.REBOOT_IN_PROGRESS, types.VmStatus.MIGRATING,
           types.VmStatus.POWERING_DOWN, types.VmStatus.WAIT_FOR_LAUNCH,
           types.VmStatus.SAVING_STATE, types.VmStatus.RESTORING_STATE,
           types.VmStatus.PAUSED, types.VmStatus.NOT_RESPONDING)


def merge(dst, src, skip=()):
    """Copy the non-None attributes of SDK struct src onto dst, recursively.

    Nested structs are merged field by field (a PUT of memory_policy.max
    keeps memory_policy.guaranteed); lists and scalars replace.
    """
    for key, value in vars(src).items():
        if value is None or key in ('_href',) or key.lstrip('_') in skip:
            continue
        if key.startswith('_sim_'):
            continue
        current = getattr(dst, key, None)
        if _mergeable(current, value):
            merge(current, value)
        else:
            setattr(dst, key, value)
    return dst


def _mergeable(current, value):
    if not isinstance(value, Struct) or isinstance(value, List):
        return False
    if type(current) is not type(value):
        return False
    # References to other entities (anything with an id) are replaced.
    return getattr(value, 'id', None) is None and getattr(current, 'id', None) is None


def fields_set(obj):
    return {k.lstrip('_') for k, v in vars(obj).items() if v is not None}


class Base(object):
    """Lookup helpers over the store, mixed into Engine."""

    def get(self, collection, ident, type_name=None):
        obj = getattr(self.store, collection).get(ident)
        if obj is None:
            raise errors.not_found(type_name, ident)
        return obj

    def resolve(self, collection, ref_obj, type_name):
        """An entity by the id or the name of a reference, or 404."""
        if ref_obj is None:
            return None
        table = getattr(self.store, collection)
        if ref_obj.id:
            obj = table.get(ref_obj.id)
            if obj is None:
                raise errors.not_found(type_name, ref_obj.id)
            return obj
        name = getattr(ref_obj, 'name', None) or getattr(ref_obj, 'alias', None)
        if name:
            for obj in table.values():
                if obj.name == name:
                    return obj
            raise errors.ApiError(
                404, 'Operation Failed',
                'Entity not found: %s: name=%s' % (type_name, name))
        return None

    def event(self, code, description, severity='normal', **links):
        return self.store.add_event(code, description, severity=severity,
                                    correlation_id=self.correlation_id, **links)

    def job(self, description):
        return self.store.start_job(description, self.correlation_id)

    def done_job(self, job, ok=True):
        self.store.end_job(job, ok)

    def host_name(self, vm):
        host = self.store.hosts.get(vm.host.id) if vm.host else None
        return host.name if host else 'N/A'
