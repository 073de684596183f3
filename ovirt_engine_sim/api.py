"""The v4 REST API: routing of /ovirt-engine/api requests to the engine."""

from ovirtsdk4 import reader
from ovirtsdk4 import types
from ovirtsdk4 import writer

# Make sure every reader is registered with Reader.
import ovirtsdk4.readers  # noqa: F401

from ovirt_engine_sim import compat
from ovirt_engine_sim import errors
from ovirt_engine_sim import render
from ovirt_engine_sim import validate
from ovirt_engine_sim.render import KINDS

LOG = compat.getLogger(__name__)

PREFIX = '/ovirt-engine/api'

# URL segment -> kind
TOP = {k.url: name for name, k in KINDS.items() if k.parent is None}

# The type a POST/PUT body must have, by kind.
BODY_TYPES = {
    'vm': types.Vm, 'disk': types.Disk, 'template': types.Template,
    'image_transfer': types.ImageTransfer, 'nic': types.Nic,
    'disk_attachment': types.DiskAttachment, 'snapshot': types.Snapshot,
    'host': types.Host, 'cluster': types.Cluster, 'event': types.Event,
    'vnic_profile': types.VnicProfile,
}

SUB_KINDS = {'nics': 'nic', 'diskattachments': 'disk_attachment', 'snapshots': 'snapshot',
             'graphicsconsoles': 'graphics_console', 'reporteddevices': 'reported_device',
             'statistics': 'statistic', 'vnicprofiles': 'vnic_profile',
             'cpuprofiles': 'cpu_profile', 'diskprofiles': 'disk_profile',
             'cdroms': 'cdrom', 'numanodes': 'vm_numa_node', 'backups': 'backup',
             'checkpoints': 'checkpoint',
             'clusters': 'cluster', 'networks': 'network', 'storagedomains': 'storage_domain',
             'disks': 'disk', 'storage': 'host_storage'}


def _bool(query, name, default=False):
    value = query.get(name)
    if value is None:
        return default
    return value.lower() == 'true'


def parse_body(body, expected, service=None, method=None):
    """The body as an SDK object, after the engine's own checks of it.

    service and method (``vms``, ``add``) name the API model's method:
    validate.check() applies its field types and required fields to the
    raw XML before the (lenient) SDK reader sees it.
    """
    if not body or not body.strip():
        if expected is types.Action:
            return types.Action()
        raise errors.bad_request('The request body is empty.',
                                 reason='Request syntactically incorrect.')
    if service is not None:
        validate.check(body, service, method)
    try:
        obj = reader.Reader.read(body)
    except Exception as e:  # the SDK reader raises various errors on bad XML
        raise errors.bad_request('Request syntactically incorrect. See the description '
                                 'below for details: %s' % e,
                                 reason='Request syntactically incorrect.')
    if not isinstance(obj, expected):
        raise errors.bad_request('Request syntactically incorrect: expected <%s>, got %s.'
                                 % (_tag(expected), type(obj).__name__),
                                 reason='Request syntactically incorrect.')
    return obj


def _tag(cls):
    import re
    return re.sub(r'(?<!^)(?=[A-Z])', '_', cls.__name__).lower()


class Api(object):
    def __init__(self, engine, store):
        self.engine = engine
        self.store = store
        self.render = render.Renderer(store, engine)

    def handle(self, method, path, query, headers, body):
        """Returns (status, xml bytes)."""
        segs = [s for s in path[len(PREFIX):].split('/') if s]
        e = self.engine
        block = '201-created' in (headers.get('Expect') or '').lower()
        with self.store.lock:
            # One request at a time owns the engine (and its correlation id).
            e.correlation_id = headers.get('Correlation-Id') or query.get('correlation_id')
            self.store.tick()
            try:
                return self._dispatch(method, segs, query, body, block)
            finally:
                e.correlation_id = None

    # -- dispatch -------------------------------------------------------------

    def _dispatch(self, method, segs, query, body, block):
        follow = render.parse_follow(query.get('follow'))
        if not segs:
            if method in ('GET', 'HEAD'):
                return 200, self._root()
            raise errors.ApiError(405, 'Method Not Allowed', 'Method %s not allowed' % method)
        kind = TOP.get(segs[0])
        if kind is None:
            raise errors.ApiError(404, 'Not Found', 'Resource not found: /%s' % '/'.join(segs))
        n = len(segs)
        if n == 1:
            if method == 'GET':
                return 200, self._list(kind, query, follow)
            if method == 'POST':
                return self._add(kind, None, body, query, block)
            raise self._not_allowed(method)
        obj = self._lookup_top(kind, segs[1])
        if n == 2:
            if method == 'GET':
                return 200, self.render.one(kind, obj, follow)
            if method == 'PUT':
                return 200, self._update(kind, obj, None, body)
            if method == 'DELETE':
                # Exactly 200: the SDK's _internal_remove accepts nothing else.
                self._remove(kind, obj, None, query)
                return 200, b''
            raise self._not_allowed(method)
        seg = segs[2]
        if n == 3 and method == 'POST' and seg in KINDS[kind].actions:
            return 200, self._action(kind, obj, None, seg, body)
        attr = self._sub_attr(kind, seg)
        if n == 3:
            if method == 'GET':
                return 200, self._sub_list(kind, obj, attr, query, follow)
            if method == 'POST':
                return self._add(kind, (obj, attr), body, query, block)
            raise self._not_allowed(method)
        sub_kind, sub = self._lookup_sub(kind, obj, attr, segs[3], query)
        if n == 4:
            if method == 'GET':
                return 200, self.render.one(sub_kind, sub, follow)
            if method == 'PUT':
                return 200, self._update(sub_kind, sub, obj, body)
            if method == 'DELETE':
                self._remove(sub_kind, sub, obj, query)
                return 200, b''
            raise self._not_allowed(method)
        if n == 5 and method == 'POST' and segs[4] in KINDS[sub_kind].actions:
            return 200, self._action(sub_kind, sub, obj, segs[4], body)
        if n == 5 and method == 'GET' and sub_kind == 'snapshot' and segs[4] == 'disks':
            return 200, self.render.many('disk', self.engine.snapshot_disks(obj.id, sub),
                                         follow)
        if n == 5 and method == 'GET':
            # Sub-collections of a sub-resource (a NIC's statistics).
            attr = self._sub_attr(sub_kind, segs[4])
            return 200, self._sub_list(sub_kind, sub, attr, query, follow)
        raise errors.ApiError(404, 'Not Found', 'Resource not found: /%s' % '/'.join(segs))

    def _not_allowed(self, method):
        return errors.ApiError(405, 'Method Not Allowed', 'Method %s not allowed' % method)

    def _lookup_top(self, kind, ident):
        obj = self.engine.lookup(kind, ident)
        if obj is None:
            raise errors.not_found(kind, ident)
        return obj

    def _sub_attr(self, kind, seg):
        for attr in KINDS[kind].subs:
            if render.rel_of(attr) == seg:
                return attr
        raise errors.ApiError(404, 'Not Found', 'Resource not found: %s' % seg)

    def _sub_objs(self, kind, obj, attr, query):
        if kind == 'vm' and attr == 'graphics_consoles':
            return [('graphics_console', self.engine.console(
                obj, _bool(query, 'current')))]
        return self.engine.sub_items(kind, obj, attr)

    def _lookup_sub(self, kind, obj, attr, ident, query):
        for sub_kind, sub in self._sub_objs(kind, obj, attr, query):
            if sub.id == ident:
                return sub_kind, sub
        if kind == 'vm' and attr == 'snapshots':
            # A snapshot being removed is still addressable until it is gone.
            snap = self.store.snapshots.get(ident)
            if snap is not None and snap.vm.id == obj.id:
                return 'snapshot', snap
        raise errors.not_found(SUB_KINDS.get(render.rel_of(attr), attr), ident)

    # -- reads ----------------------------------------------------------------

    def _root(self):
        s = self.store
        major, minor, build, rev = s.product_version
        hosts = list(s.hosts.values())
        vms = list(s.vms.values())
        api = types.Api(
            product_info=types.ProductInfo(
                name='oVirt Engine', vendor='ovirt.org',
                instance_id=s.extra.get('instance_id'),
                version=types.Version(build=build, major=major, minor=minor, revision=0,
                                      full_version='%d.%d.%d-1.el8' % (major, minor, build))),
            special_objects=types.SpecialObjects(
                blank_template=types.Template(id='00000000-0000-0000-0000-000000000000'),
                root_tag=types.Tag(id='00000000-0000-0000-0000-000000000000')),
            summary=types.ApiSummary(
                hosts=types.ApiSummaryItem(
                    active=len([h for h in hosts if h.status == types.HostStatus.UP]),
                    total=len(hosts)),
                storage_domains=types.ApiSummaryItem(active=len(s.storage_domains),
                                                     total=len(s.storage_domains)),
                users=types.ApiSummaryItem(active=1, total=1),
                vms=types.ApiSummaryItem(
                    active=len([v for v in vms if v.status == types.VmStatus.UP]),
                    total=len(vms))),
            time=s.now(),
            authenticated_user=types.User(id=s.extra.get('user_id')),
            effective_user=types.User(id=s.extra.get('user_id')))
        elem = render.ET.fromstring(writer.Writer.write(api))
        render._add_ref_hrefs(elem)
        children = list(elem)
        for c in children:
            elem.remove(c)
        searchable = ('clusters', 'datacenters', 'events', 'hosts', 'storagedomains',
                      'templates', 'vms', 'disks', 'jobs')
        for rel in sorted(('clusters', 'datacenters', 'disks', 'events', 'hosts',
                           'imagetransfers', 'jobs', 'networks', 'storagedomains',
                           'templates', 'vms', 'vnicprofiles', 'cpuprofiles',
                           'diskprofiles', 'tags', 'affinitylabels')):
            render.ET.SubElement(elem, 'link', href='%s/%s' % (PREFIX, rel), rel=rel)
            if rel in searchable:
                render.ET.SubElement(elem, 'link', href='%s/%s?search={query}' % (PREFIX, rel),
                                     rel='%s/search' % rel)
        elem.extend(children)
        return render.tostring(elem)

    def _list(self, kind, query, follow):
        table = getattr(self.store, KINDS[kind].store_attr)
        objs = list(table.values())
        if kind == 'event':
            objs.sort(key=lambda ev: -int(ev.id))
            since = query.get('from')
            if since is not None:
                try:
                    since = int(since)
                except ValueError:
                    raise errors.bad_request("Invalid value '%s' for parameter 'from'"
                                             % since, reason='Invalid value')
                objs = [ev for ev in objs if int(ev.id) > since]
        objs = self.engine.filter(kind, objs, query)
        return self.render.many(kind, objs, follow)

    def _sub_list(self, kind, obj, attr, query, follow):
        items = self._sub_objs(kind, obj, attr, query)
        max_results = query.get('max')
        if max_results is not None and max_results.lstrip('-').isdigit() and \
                int(max_results) >= 0:
            items = items[:int(max_results)]
        # The collection element is the plural of the item's element
        # (<vm_numa_nodes> for /numanodes).
        root = render.ET.Element({'numa_nodes': 'vm_numa_nodes',
                                  'storage': 'host_storages'}.get(attr, attr))
        for sub_kind, sub in items:
            root.append(self.render.element(sub_kind, sub, follow))
        return render.tostring(root)

    # -- writes ---------------------------------------------------------------

    def _add(self, kind, parent, body, query, block):
        e = self.engine
        if parent is None:
            if kind == 'vm':
                obj = e.add_vm(parse_body(body, types.Vm, 'vms', 'add'),
                               clone=_bool(query, 'clone'), block=block)
                locked = obj.status == types.VmStatus.IMAGE_LOCKED
            elif kind == 'disk' and '<lun_storage' in (body or ''):
                # A direct LUN disk: no image, no storage domain (luns.py).
                obj = e.add_lun_disk(parse_body(body, types.Disk))
                locked = False
            elif kind == 'disk':
                obj = e.add_disk(parse_body(body, types.Disk, 'disks', 'add'), block=block)
                locked = obj.status == types.DiskStatus.LOCKED
            elif kind == 'template':
                obj = e.add_template(parse_body(body, types.Template, 'templates', 'add'),
                                     block=block)
                locked = obj.status == types.TemplateStatus.LOCKED
            elif kind == 'image_transfer':
                obj = e.add_transfer(parse_body(body, types.ImageTransfer,
                                                'imagetransfers', 'add'))
                locked = False
            else:
                raise self._not_allowed('POST')
            # 202 while storage work runs (engine restapi
            # AbstractBackendCollectionResource: async unless Expect: 201-created).
            return (202 if locked else 201), self.render.one(kind, obj)
        owner, attr = parent
        if kind == 'vm' and attr == 'nics':
            sub_kind, obj = 'nic', e.add_nic(owner.id, parse_body(
                body, types.Nic, 'nics', 'add'))
            locked = False
        elif kind == 'vm' and attr == 'disk_attachments':
            att_in = parse_body(body, types.DiskAttachment, 'diskattachments', 'add')
            obj = e.add_attachment(owner.id, att_in, block=block)
            sub_kind = 'disk_attachment'
            locked = self.store.disks[obj.id].status == types.DiskStatus.LOCKED
        elif kind == 'vm' and attr == 'backups':
            obj = e.add_backup(owner.id, parse_body(body, types.Backup, 'backups', 'add'))
            sub_kind = 'backup'
            locked = True   # the engine answers 202 while the backup starts
        elif kind == 'vm' and attr == 'snapshots':
            obj = e.add_snapshot(owner.id, parse_body(body, types.Snapshot, 'snapshots', 'add'),
                                 block=block)
            sub_kind = 'snapshot'
            locked = obj.snapshot_status == types.SnapshotStatus.LOCKED
        else:
            raise self._not_allowed('POST')
        return (202 if locked else 201), self.render.one(sub_kind, obj)

    def _update(self, kind, obj, owner, body):
        e = self.engine
        if kind == 'vm':
            obj = e.update_vm(obj.id, parse_body(body, types.Vm, 'vm', 'update'))
        elif kind == 'disk':
            obj = e.update_disk(obj.id, parse_body(body, types.Disk, 'disk', 'update'))
        elif kind == 'template':
            obj = e.update_template(obj.id, parse_body(body, types.Template,
                                                       'template', 'update'))
        elif kind == 'nic':
            obj = e.update_nic(owner.id, obj.id, parse_body(body, types.Nic, 'nic', 'update'))
        elif kind == 'disk_attachment' and owner is not None and obj.vm is not None:
            obj = e.update_attachment(owner.id, obj.id,
                                      parse_body(body, types.DiskAttachment,
                                                 'disk_attachment', 'update'))
        elif kind == 'vnic_profile':
            obj = e.update_vnic_profile(obj.id, parse_body(
                body, types.VnicProfile, 'vnic_profile', 'update'))
        elif kind == 'host':
            host_in = parse_body(body, types.Host, 'host', 'update')
            for field in ('name', 'description', 'comment'):
                if getattr(host_in, field) is not None:
                    setattr(obj, field, getattr(host_in, field))
        elif kind == 'cluster':
            # The engine keeps a cluster's comment (nova-ovirt's claims).
            cluster_in = parse_body(body, types.Cluster)
            for field in ('description', 'comment'):
                if getattr(cluster_in, field) is not None:
                    setattr(obj, field, getattr(cluster_in, field))
        else:
            raise self._not_allowed('PUT')
        return self.render.one(kind, obj)

    def _remove(self, kind, obj, owner, query):
        e = self.engine
        if kind == 'vm':
            e.remove_vm(obj.id, detach_only=_bool(query, 'detach_only'),
                        force=_bool(query, 'force'))
        elif kind == 'disk':
            e.remove_disk(obj.id)
        elif kind == 'template':
            e.remove_template(obj.id)
        elif kind == 'nic':
            e.remove_nic(owner.id, obj.id)
        elif kind == 'disk_attachment' and obj.vm is not None:
            e.remove_attachment(owner.id, obj.id,
                                detach_only=_bool(query, 'detach_only', True))
        elif kind == 'snapshot':
            e.remove_snapshot(owner.id, obj.id)
        elif kind == 'checkpoint':
            e.remove_checkpoint(owner.id, obj.id)
        else:
            raise self._not_allowed('DELETE')

    def _action(self, kind, obj, owner, name, body):
        e = self.engine
        action = parse_body(body, types.Action, KINDS[kind].tag, name)
        result = {}
        if kind == 'vm':
            handlers = {
                'start': e.start_vm, 'stop': e.stop_vm, 'shutdown': e.shutdown_vm,
                'reboot': e.reboot_vm, 'suspend': e.suspend_vm, 'migrate': e.migrate_vm,
                'cancelmigration': e.cancel_migration,
                'previewsnapshot': e.preview_snapshot,
                'commitsnapshot': lambda vm_id, a: e.end_preview(vm_id, True),
                'undosnapshot': lambda vm_id, a: e.end_preview(vm_id, False),
            }
            if name == 'ticket':
                result['ticket'] = e.console_ticket(obj.id, action)
            elif name in handlers:
                handlers[name](obj.id, action)
            else:
                raise self._not_allowed('POST')
        elif kind == 'graphics_console' and name == 'ticket':
            result['ticket'] = e.console_ticket(owner.id, action)
        elif kind == 'image_transfer':
            if name == 'finalize':
                e.finalize_transfer(obj.id)
            elif name == 'cancel':
                e.cancel_transfer(obj.id)
            elif name in ('pause', 'resume'):
                e.pause_transfer(obj.id, name == 'pause')
            elif name == 'extend':
                e.transfer(obj.id)   # tickets here do not expire: nothing to extend
        elif kind == 'host' and name in ('deactivate', 'activate'):
            e.set_host_status(obj.id, 'maintenance' if name == 'deactivate' else 'up')
        elif kind == 'host' and name == 'iscsilogin':
            e.iscsi_login(obj.id, action)
        elif kind == 'host' and name == 'iscsidiscover':
            result['iscsi_targets'] = e.iscsi_discover(obj.id, action)
        elif kind == 'disk' and name == 'refreshlun':
            e.refresh_lun(obj.id, action)
        elif kind == 'host' and name == 'refresh':
            e.get('hosts', obj.id, 'Host')   # capabilities do not change here
        elif kind == 'cluster' and name == 'resetemulatedmachine':
            # VMs here have no emulated machine of their own to reset.
            e.get('clusters', obj.id, 'Cluster')
        elif kind == 'disk' and name == 'sparsify':
            e.sparsify_disk(obj.id)
        elif kind == 'nic' and name in ('activate', 'deactivate'):
            e.nic_plug(owner.id, obj.id, name == 'activate')
        elif kind == 'backup' and name == 'finalize':
            e.finalize_backup(owner.id, obj.id)
        elif kind == 'snapshot' and name == 'restore':
            e.preview_snapshot(owner.id, types.Action(snapshot=types.Snapshot(id=obj.id)),
                               commit=True)
        else:
            raise self._not_allowed('POST')
        return render.action_xml(action, **result)
