"""The engine: operations (from vms.py / storage.py) plus the read views.

Views compute what the engine derives on read (host free memory, storage
domain usage, disk sizes, statistics, consoles) and list sub-collections
for the renderer and ``follow=``.
"""

import copy

from ovirtsdk4 import types

from ovirt_engine_sim import common
from ovirt_engine_sim import dirty
from ovirt_engine_sim.backups import BackupOps
from ovirt_engine_sim import errors
from ovirt_engine_sim.luns import LunOps
from ovirt_engine_sim import search
from ovirt_engine_sim import vnc
from ovirt_engine_sim.common import USER
from ovirt_engine_sim.model import stable_id
from ovirt_engine_sim.storage import StorageOps
from ovirt_engine_sim.vms import VmOps

GiB = 1024 ** 3
EMPTY_ID = '00000000-0000-0000-0000-000000000000'
VNC_CONSOLE_ID = 'vnc'.encode().hex()   # the engine's console ids are hex protocol names


class Tickets(object):
    """Active image transfer tickets by ticket id (for the imageio side)."""

    def __init__(self):
        self.by_ticket = {}

    def add(self, it):
        self.by_ticket[it._sim_ticket] = it

    def remove(self, it):
        self.by_ticket.pop(getattr(it, '_sim_ticket', None), None)

    def get(self, ticket):
        return self.by_ticket.get(ticket)


class Engine(common.Base, VmOps, StorageOps, BackupOps, LunOps):

    def __init__(self, store, volumes, counter, data_url):
        self.store = store
        self.volumes = volumes
        self.counter = counter
        self.data_url = data_url       # function -> 'https://host:port'
        self.tickets = Tickets()
        self.correlation_id = None     # set per request by the API layer
        self.console_address = '127.0.0.1'
        self.vnc = vnc.VncServers(store)
        self.dirty = dirty.DirtyTracker()
        volumes.on_write = self._disk_written

    # -- hosts ------------------------------------------------------------

    def set_host_status(self, host_id, status, stop_stuck=False):
        host = self.get('hosts', host_id, 'Host')
        status = types.HostStatus(status)
        if status == host.status:
            return host
        if status == types.HostStatus.MAINTENANCE:
            self._evacuate(host, stop_stuck)
            host.status = status
            self.event(600, 'Host %s was switched to Maintenance mode by %s.'
                       % (host.name, USER), host=host.id, cluster=host.cluster.id)
        else:
            host.status = status
            self.event(16 if status == types.HostStatus.UP else 12,
                       'Status of host %s was set to %s.' % (host.name, status.value),
                       host=host.id, cluster=host.cluster.id)
        return host

    def _evacuate(self, host, stop_stuck=False):
        """Running VMs leave a host going to maintenance (live migration).

        A VM with nowhere to go makes the API's deactivate fail; the
        out-of-band admin helper (stop_stuck) powers such VMs off instead.
        """
        for vm in list(self.store.vms.values()):
            if vm.host is None or vm.host.id != host.id or vm.status not in common.RUNNING:
                continue
            try:
                target = self._pick_host(vm, 'migrate', exclude=host.id)
            except errors.ApiError:
                if stop_stuck:
                    self._power_off(vm, exit_message='Host %s was switched to '
                                    'maintenance' % host.name, by_admin=False)
                    continue
                raise errors.conflict('Cannot switch Host %s to Maintenance mode. There '
                                      'is no host to migrate VM %s to.' % (host.name, vm.name))
            vm.host = types.Host(id=target.id)
            self.event(63, 'Migration completed (VM: %s, Source: %s, Destination: %s)'
                       % (vm.name, host.name, target.name), vm=vm.id, host=target.id)

    # -- views --------------------------------------------------------------

    def prepare(self, kind, obj):
        fn = getattr(self, '_view_' + kind, None)
        if fn is None:
            return obj
        view = copy.copy(obj)
        fn(view)
        return view

    def _view_host(self, h):
        h.max_scheduling_memory = max(0, self.store.free_memory(h))
        vms = [v for v in self.store.vms.values()
               if v.host is not None and v.host.id == h.id and v.status in common.RUNNING]
        h.summary = types.VmSummary(
            active=len(vms), total=len(vms),
            migrating=len([v for v in vms if v.status == types.VmStatus.MIGRATING]))

    def _view_storage_domain(self, sd):
        disks = [d for d in self.store.disks.values()
                 if d.storage_domains and d.storage_domains[0].id == sd.id]
        actual = sum(self._actual_size(d) for d in disks)
        sd.committed = sum(d.provisioned_size or 0 for d in disks)
        sd.used = (sd.used or 0) + actual
        sd.available = max(0, (sd.available or 0) - actual)

    def _actual_size(self, disk):
        layer = self.volumes.get(disk.image_id)
        return layer.allocated() if layer is not None else 0

    def _view_disk(self, d):
        d.actual_size = d.total_size = self._actual_size(d)
        if self.store.disk_attachments.get(d.id) is not None:
            d.vms = [types.Vm(id=self.store.disk_attachments[d.id].vm.id)]

    def _view_vm(self, vm):
        if vm.status in common.RUNNING and vm.host is not None:
            vm.fqdn = '%s.sim.invalid' % vm.name
        vm.next_run_configuration_exists = False

    def lookup(self, kind, ident):
        table = {'vm': 'vms', 'cluster': 'clusters', 'host': 'hosts',
                 'template': 'templates', 'storage_domain': 'storage_domains',
                 'datacenter': 'datacenters', 'network': 'networks',
                 'vnic_profile': 'vnic_profiles', 'disk': 'disks', 'job': 'jobs',
                 'event': 'events', 'image_transfer': 'image_transfers',
                 'cpu_profile': 'cpu_profiles', 'disk_profile': 'disk_profiles',
                 'tag': 'tags', 'affinity_label': 'affinity_labels'}.get(kind)
        return getattr(self.store, table).get(ident) if table else None

    def sub_items(self, kind, obj, attr):
        """[(kind, obj)] of the sub-collection attr of obj."""
        fn = getattr(self, '_sub_%s_%s' % (kind, attr), None)
        return fn(obj) if fn else []

    def _sub_vm_nics(self, vm):
        return [('nic', n) for n in self.store.vm_nics(vm.id)]

    def _sub_template_nics(self, tpl):
        return [('nic', n) for n in self.store.template_nics(tpl.id)]

    def _sub_vm_disk_attachments(self, vm):
        return [('disk_attachment', self.store.disk_attachments[i])
                for i in self.store.vm_disk_ids(vm.id)]

    def _sub_template_disk_attachments(self, tpl):
        return [('disk_attachment', self.store.template_disk_attachments[i])
                for i in self.template_disk_ids(tpl.id)]

    def _sub_vm_snapshots(self, vm):
        snaps = sorted(self.store.vm_snapshots(vm.id), key=lambda s: s.date)
        return [('snapshot', self.active_snapshot(vm))] + [('snapshot', s) for s in snaps]

    def _sub_vm_graphics_consoles(self, vm, current=False):
        return [('graphics_console', self.console(vm, current))]

    def console(self, vm, current=False):
        c = types.GraphicsConsole(id=VNC_CONSOLE_ID, protocol=types.GraphicsType.VNC,
                                  vm=types.Vm(id=vm.id))
        if current and vm.status in common.RUNNING and vm.host is not None:
            c.address = self.console_address
            c.port = getattr(vm, '_sim_vnc_port', None)
            cluster = self.store.clusters.get(vm.cluster.id)
            if cluster is not None and cluster.vnc_encryption:
                c.tls_port = c.port
        return c

    def _sub_vm_cdroms(self, vm):
        # Every VM has one CD-ROM device; empty here (no ISO domain).
        return [('cdrom', types.Cdrom(id=EMPTY_ID, vm=types.Vm(id=vm.id)))]

    def _sub_vm_backups(self, vm):
        return [('backup', b) for b in self.vm_backups(vm.id)]

    def _sub_vm_checkpoints(self, vm):
        return [('checkpoint', c) for c in self.vm_checkpoints(vm.id)]

    def _sub_backup_disks(self, b):
        return [('disk', self.store.disks[d.id]) for d in b.disks or []
                if d.id in self.store.disks]

    _sub_checkpoint_disks = _sub_backup_disks

    def _sub_vm_numa_nodes(self, vm):
        # No NUMA pinning is configured, so the engine lists no vNUMA nodes.
        return []

    def _sub_vm_reported_devices(self, vm):
        if vm.status != types.VmStatus.UP:
            return []
        out = []
        for i, nic in enumerate(self.store.vm_nics(vm.id)):
            out.append(('reported_device', types.ReportedDevice(
                id=stable_id('reported', nic.id), name='eth%d' % i,
                type=types.ReportedDeviceType.NETWORK, mac=types.Mac(address=nic.mac.address),
                ips=[types.Ip(address='192.0.2.%d' % (100 + i),
                              version=types.IpVersion.V4)],
                vm=types.Vm(id=vm.id))))
        return out

    def _sub_network_vnic_profiles(self, net):
        return [('vnic_profile', p) for p in self.store.vnic_profiles.values()
                if p.network.id == net.id]

    def _sub_cluster_cpu_profiles(self, c):
        return [('cpu_profile', p) for p in self.store.cpu_profiles.values()
                if p.cluster.id == c.id]

    def _sub_cluster_networks(self, c):
        return [('network', n) for n in self.store.networks.values()]

    def _sub_datacenter_clusters(self, dc):
        return [('cluster', c) for c in self.store.clusters.values()
                if c.data_center.id == dc.id]

    def _sub_datacenter_storage_domains(self, dc):
        out = []
        for sd in self.store.storage_domains.values():
            view = copy.copy(sd)
            view.status = getattr(sd, '_sim_status', None)
            out.append(('storage_domain', view))
        return out

    def _sub_datacenter_networks(self, dc):
        return [('network', n) for n in self.store.networks.values()]

    def _sub_storage_domain_disks(self, sd):
        return [('disk', d) for d in self.store.disks.values()
                if d.storage_domains and d.storage_domains[0].id == sd.id]

    def _sub_storage_domain_disk_profiles(self, sd):
        return [('disk_profile', p) for p in self.store.disk_profiles.values()
                if p.storage_domain.id == sd.id]

    def _sub_snapshot_disks(self, snap):
        return [('disk', d) for d in self.snapshot_disks(snap.vm.id, snap)]

    def _sub_host_statistics(self, h):
        used = self.store.used_memory(h.id) + 2 * GiB
        values = [
            ('memory.total', 'Total memory', types.StatisticUnit.BYTES, h.memory),
            ('memory.used', 'Used memory', types.StatisticUnit.BYTES, used),
            ('memory.free', 'Free memory', types.StatisticUnit.BYTES, max(0, h.memory - used)),
            ('memory.shared', 'Shared memory', types.StatisticUnit.BYTES, 0),
            ('swap.total', 'Total swap', types.StatisticUnit.BYTES, 8 * GiB),
            ('swap.free', 'Free swap', types.StatisticUnit.BYTES, 8 * GiB),
            ('swap.used', 'Used swap', types.StatisticUnit.BYTES, 0),
            ('ksm.cpu.current', 'KSM CPU usage', types.StatisticUnit.PERCENT, 0),
            ('cpu.current.user', 'User CPU usage', types.StatisticUnit.PERCENT, 2),
            ('cpu.current.system', 'System CPU usage', types.StatisticUnit.PERCENT, 1),
            ('cpu.current.idle', 'Idle CPU usage', types.StatisticUnit.PERCENT, 97),
            ('cpu.load.avg.5m', 'CPU 5 minute load average', types.StatisticUnit.NONE, 0.1),
        ]
        return [('statistic', self._stat(h.id, 'host', name, desc, unit, v))
                for name, desc, unit, v in values]

    def _sub_vm_statistics(self, vm):
        running = vm.status in common.RUNNING
        values = [
            ('memory.installed', 'Total memory configured', types.StatisticUnit.BYTES,
             vm.memory or 0),
            ('memory.used', 'Memory used (agent)', types.StatisticUnit.BYTES,
             (vm.memory or 0) // 4 if running else 0),
            ('cpu.current.guest', 'CPU used by guest', types.StatisticUnit.PERCENT,
             5 if running else 0),
            ('cpu.current.total', 'Total CPU used', types.StatisticUnit.PERCENT,
             6 if running else 0),
            ('elapsed.time', 'Elapsed VM runtime', types.StatisticUnit.SECONDS,
             int(self.store.clock.time() - vm.start_time.timestamp())
             if running and vm.start_time else 0),
        ]
        return [('statistic', self._stat(vm.id, 'vm', name, desc, unit, v))
                for name, desc, unit, v in values]

    def _stat(self, owner_id, owner_kind, name, desc, unit, value):
        st = types.Statistic(
            id=stable_id('statistic', owner_id, name), name=name, description=desc,
            kind=types.StatisticKind.GAUGE, unit=unit,
            type=types.ValueType.DECIMAL if isinstance(value, float) else
            types.ValueType.INTEGER,
            values=[types.Value(datum=float(value))])
        if owner_kind == 'host':
            st.host = types.Host(id=owner_id)
        else:
            st.vm = types.Vm(id=owner_id)
        return st

    # -- searching ------------------------------------------------------------

    def _name_of(self, collection, ref_obj):
        if ref_obj is None or not ref_obj.id:
            return None
        obj = getattr(self.store, collection).get(ref_obj.id)
        return obj.name if obj is not None else None

    def _vm_storage_names(self, vm):
        # A multi-valued field: search.run matches any of a list's values.
        names = set()
        for disk_id in self.store.vm_disk_ids(vm.id):
            disk = self.store.disks.get(disk_id)
            if disk is not None and disk.storage_domains:
                names.add(self._name_of('storage_domains', disk.storage_domains[0]))
        return sorted(n for n in names if n)

    def _disk_vm_names(self, disk):
        att = self.store.disk_attachments.get(disk.id)
        return [self._name_of('vms', att.vm)] if att is not None else []

    def search_fields(self, kind):
        enum = lambda v: v.value if v is not None else None  # noqa: E731
        common_fields = {
            'name': lambda o: o.name,
            'id': lambda o: o.id,
            'description': lambda o: getattr(o, 'description', None),
            'comment': lambda o: getattr(o, 'comment', None),
        }
        extra = {
            'vm': {
                'status': lambda o: enum(o.status),
                'cluster': lambda o: self._name_of('clusters', o.cluster),
                'host': lambda o: self._name_of('hosts', o.host),
                'template': lambda o: self._name_of('templates', o.template),
                'type': lambda o: enum(o.type),
                'memory': lambda o: (o.memory or 0) // (1024 * 1024),
                'creationdate': lambda o: o.creation_time.isoformat()
                if o.creation_time else None,
                'datacenter': lambda o: 'Default',
                # Related entities, as the engine's search grammar names them
                # (Vms: host.name=, cluster.name=, storage=).
                'host.name': lambda o: self._name_of('hosts', o.host),
                'cluster.name': lambda o: self._name_of('clusters', o.cluster),
                'template.name': lambda o: self._name_of('templates', o.template),
                'storage': lambda o: self._vm_storage_names(o),
            },
            'host': {
                'status': lambda o: enum(o.status),
                'cluster': lambda o: self._name_of('clusters', o.cluster),
                'address': lambda o: o.address,
                'datacenter': lambda o: 'Default',
            },
            'cluster': {'datacenter': lambda o: self._name_of('datacenters', o.data_center)},
            'template': {
                'status': lambda o: enum(o.status),
                'cluster': lambda o: self._name_of('clusters', o.cluster),
            },
            'disk': {
                'alias': lambda o: o.alias,
                'status': lambda o: enum(o.status),
                'format': lambda o: enum(o.format),
                'storage': lambda o: self._name_of('storage_domains', o.storage_domains[0])
                if o.storage_domains else None,
                'provisioned_size': lambda o: o.provisioned_size,
                'vm_names': lambda o: self._disk_vm_names(o),
            },
            'storage_domain': {
                'type': lambda o: enum(o.type),
                'datacenter': lambda o: 'Default',
            },
            'network': {'datacenter': lambda o: 'Default'},
            'datacenter': {'status': lambda o: enum(o.status)},
            'event': {
                'severity': lambda o: enum(o.severity),
                'type': lambda o: o.code,
                'code': lambda o: o.code,
                'message': lambda o: o.description,
                'correlation_id': lambda o: o.correlation_id,
                'vm': lambda o: self._name_of('vms', o.vm),
                'vm.name': lambda o: self._name_of('vms', o.vm),
                'host': lambda o: self._name_of('hosts', o.host),
                'cluster': lambda o: self._name_of('clusters', o.cluster),
                'time': lambda o: o.time.isoformat(),
            },
            'job': {
                'status': lambda o: enum(o.status),
                'correlation_id': lambda o: o._sim_correlation_id,
            },
        }
        fields = dict(common_fields)
        fields.update(extra.get(kind, {}))
        return fields

    def filter(self, kind, objs, query):
        """Apply search=, case_sensitive=, max= of a list request."""
        text = query.get('search')
        case_sensitive = (query.get('case_sensitive') or 'false').lower() == 'true'
        max_results = query.get('max')
        if max_results is not None:
            try:
                max_results = int(max_results)
            except ValueError:
                raise errors.bad_request("Invalid value '%s' for parameter 'max'"
                                         % max_results, reason='Invalid value')
            if max_results < 0:
                max_results = None
        if not text:
            return objs[:max_results] if max_results is not None else objs
        try:
            return search.run(objs, text, self.search_fields(kind),
                              case_sensitive, max_results)
        except search.SearchError as e:
            raise errors.bad_request('[Cannot search: %s (query: %s)]' % (e, text),
                                     reason='Operation Failed')
