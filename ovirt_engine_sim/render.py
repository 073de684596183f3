"""Turn stored SDK objects into the engine's XML.

The SDK's own writers (``ovirtsdk4.writer.Writer``) produce the element
content; the engine additionally sends ``href`` attributes, ``<link rel>``
elements for sub-collections and an ``<actions>`` element, which the
writers omit, so they are added here with ``xml.etree``. ``follow=``
replaces links and id-only references by the full objects.
"""

import copy
import xml.etree.ElementTree as ET

from ovirtsdk4 import types
from ovirtsdk4 import writer

# Make sure every writer is registered with Writer.
import ovirtsdk4.writers  # noqa: F401

API = '/ovirt-engine/api'


class Kind(object):
    def __init__(self, name, tag, url, store_attr=None, subs=(), actions=(),
                 parent=None, search=True):
        self.name = name
        self.tag = tag            # element name of one object
        self.url = url            # path segment of the collection
        self.store_attr = store_attr
        self.subs = list(subs)    # attribute names of sub-collections
        self.actions = list(actions)
        self.parent = parent      # function obj -> (parent kind, parent id)
        self.search = search


def _vm_parent(obj):
    return 'vm', obj.vm.id


def _nic_parent(obj):
    if obj.template is not None:
        return 'template', obj.template.id
    return 'vm', obj.vm.id


def _attachment_parent(obj):
    if obj.template is not None:
        return 'template', obj.template.id
    return 'vm', obj.vm.id


def _statistic_parent(obj):
    if obj.host is not None:
        return 'host', obj.host.id
    if obj.disk is not None:
        return 'disk', obj.disk.id
    return 'vm', obj.vm.id


KINDS = {k.name: k for k in [
    Kind('datacenter', 'data_center', 'datacenters', 'datacenters',
         subs=['clusters', 'storage_domains', 'networks', 'permissions']),
    # Actions are advertised only when api.Api._action implements them
    # (test_fidelity walks them all).
    Kind('cluster', 'cluster', 'clusters', 'clusters',
         subs=['networks', 'permissions', 'gluster_volumes', 'gluster_hooks',
               'affinity_groups', 'cpu_profiles'],
         actions=['resetemulatedmachine']),
    Kind('host', 'host', 'hosts', 'hosts',
         subs=['statistics', 'nics', 'permissions', 'tags', 'storage'],
         actions=['activate', 'deactivate', 'iscsidiscover', 'iscsilogin', 'refresh']),
    Kind('storage_domain', 'storage_domain', 'storagedomains', 'storage_domains',
         subs=['disks', 'disk_profiles', 'disk_snapshots', 'permissions']),
    Kind('network', 'network', 'networks', 'networks',
         subs=['vnic_profiles', 'permissions']),
    Kind('vnic_profile', 'vnic_profile', 'vnicprofiles', 'vnic_profiles',
         subs=['permissions']),
    Kind('template', 'template', 'templates', 'templates',
         subs=['disk_attachments', 'nics', 'graphics_consoles', 'permissions', 'tags']),
    Kind('vm', 'vm', 'vms', 'vms',
         subs=['disk_attachments', 'nics', 'snapshots', 'graphics_consoles',
               'reported_devices', 'statistics', 'permissions', 'tags', 'cdroms',
               'numa_nodes', 'affinity_labels', 'backups', 'checkpoints'],
         actions=['cancelmigration', 'commitsnapshot', 'migrate', 'previewsnapshot',
                  'reboot', 'shutdown', 'start', 'stop', 'suspend', 'ticket',
                  'undosnapshot']),
    Kind('disk', 'disk', 'disks', 'disks', subs=['statistics', 'permissions'],
         actions=['refreshlun', 'sparsify']),
    Kind('job', 'job', 'jobs', 'jobs', subs=['steps']),
    Kind('event', 'event', 'events', 'events'),
    Kind('image_transfer', 'image_transfer', 'imagetransfers', 'image_transfers',
         actions=['cancel', 'extend', 'finalize', 'pause', 'resume']),
    Kind('cpu_profile', 'cpu_profile', 'cpuprofiles', 'cpu_profiles'),
    # Tags (the root tag only) and affinity labels (none): listable, as on
    # every engine; the simulator has no operations on them.
    Kind('tag', 'tag', 'tags', 'tags'),
    Kind('affinity_label', 'affinity_label', 'affinitylabels', 'affinity_labels'),
    Kind('disk_profile', 'disk_profile', 'diskprofiles', 'disk_profiles'),
    Kind('network_filter', 'network_filter', 'networkfilters',
         'network_filters'),
    # sub-resources
    Kind('nic', 'nic', 'nics', subs=['statistics', 'reported_devices'],
         actions=['activate', 'deactivate'], parent=_nic_parent),
    Kind('disk_attachment', 'disk_attachment', 'diskattachments',
         parent=_attachment_parent),
    Kind('snapshot', 'snapshot', 'snapshots', subs=['disks', 'nics'],
         actions=['restore'], parent=_vm_parent),
    Kind('graphics_console', 'graphics_console', 'graphicsconsoles',
         actions=['ticket'], parent=_vm_parent),
    Kind('reported_device', 'reported_device', 'reporteddevices', parent=_vm_parent),
    Kind('statistic', 'statistic', 'statistics', parent=_statistic_parent),
    # A VM's CD-ROM (services/VmCdromService.java: one, id all zeros, no
    # <file> while empty).
    Kind('cdrom', 'cdrom', 'cdroms', parent=_vm_parent),
    Kind('vm_numa_node', 'vm_numa_node', 'numanodes', parent=_vm_parent),
    Kind('backup', 'backup', 'backups', subs=['disks'], actions=['finalize'],
         parent=_vm_parent),
    Kind('checkpoint', 'checkpoint', 'checkpoints', subs=['disks'], parent=_vm_parent),
    # The LUNs a host sees (services/HostStorageService.java; ovirt_engine_sim.luns).
    Kind('host_storage', 'host_storage', 'storage', parent=lambda o: ('host', o.host.id)),
]}

# Element names of references whose href is a top-level collection.
REF_TAGS = {
    'vm': 'vm', 'cluster': 'cluster', 'host': 'host', 'template': 'template',
    'storage_domain': 'storage_domain', 'data_center': 'datacenter',
    'network': 'network', 'vnic_profile': 'vnic_profile', 'disk': 'disk',
    'job': 'job', 'event': 'event', 'image_transfer': 'image_transfer',
    'cpu_profile': 'cpu_profile', 'disk_profile': 'disk_profile',
    'base_template': 'template', 'original_template': 'template',
}
_REF_URLS = dict((tag, KINDS[k].url) for tag, k in REF_TAGS.items())
_REF_URLS.update({'user': 'users', 'scheduling_policy': 'schedulingpolicies',
                  'blank_template': 'templates', 'root_tag': 'tags',
                  'authenticated_user': 'users', 'effective_user': 'users',
                  'quota': None, 'owner': 'users'})


def rel_of(attr):
    return attr.replace('_', '')


def href_of(kind_name, obj, store=None):
    kind = KINDS[kind_name]
    if kind.parent is None:
        return '%s/%s/%s' % (API, kind.url, obj.id)
    pkind, pid = kind.parent(obj)
    return '%s/%s/%s/%s/%s' % (API, KINDS[pkind].url, pid, kind.url, obj.id)


class Renderer(object):
    """Renders objects of a store; views (computed fields) come from views."""

    def __init__(self, store, views):
        self.store = store
        self.views = views   # engine.Views: prepare(kind, obj), sub_items(), lookup()

    # -- single objects -----------------------------------------------------

    def element(self, kind_name, obj, follow=None):
        kind = KINDS[kind_name]
        view = self.views.prepare(kind_name, obj)
        if view is obj:
            view = copy.copy(obj)
        href = href_of(kind_name, obj)
        view.href = href
        elem = ET.fromstring(writer.Writer.write(view, root=kind.tag))
        if elem.tag != kind.tag:
            elem.tag = kind.tag
        _add_ref_hrefs(elem)
        self._decorate(elem, kind, href)
        if follow:
            self._follow(elem, kind_name, obj, follow)
        return elem

    def _decorate(self, elem, kind, href):
        children = list(elem)
        for c in children:
            elem.remove(c)
        if kind.actions:
            actions = ET.SubElement(elem, 'actions')
            for a in kind.actions:
                ET.SubElement(actions, 'link', href='%s/%s' % (href, a), rel=a)
        # Links go after the identity fields, like the engine's output.
        head = [c for c in children if c.tag in ('name', 'description', 'comment')]
        tail = [c for c in children if c not in head]
        elem.extend(head)
        for attr in kind.subs:
            ET.SubElement(elem, 'link', href='%s/%s' % (href, rel_of(attr)),
                          rel=rel_of(attr))
        elem.extend(tail)

    # -- follow ---------------------------------------------------------------

    def _follow(self, elem, kind_name, obj, paths):
        groups = {}
        for path in paths:
            if path:
                groups.setdefault(path[0], []).append(path[1:])
        kind = KINDS[kind_name]
        for seg, rests in groups.items():
            rests = [r for r in rests if r]
            if seg in kind.subs:
                items = self.views.sub_items(kind_name, obj, seg)
                for link in elem.findall('link'):
                    if link.get('rel') == rel_of(seg):
                        elem.remove(link)
                coll = ET.SubElement(elem, seg)
                for sub_kind, sub_obj in items:
                    coll.append(self.element(sub_kind, sub_obj, rests))
                continue
            child = elem.find(seg)
            if child is None:
                continue
            targets = [child] if child.get('id') else list(child)
            for target in targets:
                ref_kind = REF_TAGS.get(target.tag)
                found = self.views.lookup(ref_kind, target.get('id')) if ref_kind else None
                if found is None:
                    continue
                full = self.element(ref_kind, found, rests)
                full.tag = target.tag
                parent = child if target is not child else elem
                idx = list(parent).index(target)
                parent.remove(target)
                parent.insert(idx, full)

    # -- documents ------------------------------------------------------------

    def one(self, kind_name, obj, follow=None):
        return tostring(self.element(kind_name, obj, follow))

    def many(self, kind_name, objs, follow=None, root=None):
        kind = KINDS[kind_name]
        root_elem = ET.Element(root or _plural(kind.tag))
        for o in objs:
            root_elem.append(self.element(kind_name, o, follow))
        return tostring(root_elem)


def _plural(tag):
    return tag + 's'


def _add_ref_hrefs(elem):
    """Give id-only references (<cluster id=".."/>) their href."""
    for child in elem.iter():
        if child is elem:
            continue
        ident = child.get('id')
        if ident is None or child.get('href') is not None:
            continue
        url = _REF_URLS.get(child.tag)
        if url:
            # Keep href before id, as the engine prints them.
            attrs = dict(child.attrib)
            child.attrib.clear()
            child.set('href', '%s/%s/%s' % (API, url, ident))
            child.attrib.update(attrs)


def tostring(elem):
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + \
        ET.tostring(elem, encoding='utf-8')


def parse_follow(value):
    if not value:
        return None
    return [p.strip().split('.') for p in value.split(',') if p.strip()]


def action_xml(action=None, **fields):
    """An <action> reply with status complete (plus given fields)."""
    a = action or types.Action()
    for k, v in fields.items():
        setattr(a, k, v)
    a.status = 'complete'
    elem = ET.fromstring(writer.Writer.write(a, root='action'))
    _add_ref_hrefs(elem)
    return tostring(elem)


def fault_xml(reason, detail):
    elem = ET.fromstring(writer.Writer.write(types.Fault(reason=reason, detail=detail)))
    return tostring(elem)
