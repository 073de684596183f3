"""Initial inventories. Ids are uuid5 of names, stable per scenario."""

from ovirtsdk4 import types

from ovirt_engine_sim.model import stable_id

GiB = 1024 ** 3
MiB = 1024 ** 2
BLANK_ID = '00000000-0000-0000-0000-000000000000'

_CLUSTERS = [
    # name, cpu type, host shape (sockets, cores, threads, memory)
    ('cluster1', 'Intel Nehalem Family', (2, 4, 1, 32 * GiB)),
    ('cluster2', 'Secure AMD EPYC', (1, 8, 2, 64 * GiB)),
]

# Memory a host keeps for itself; the rest can be scheduled to VMs.
HOST_RESERVED = 1 * GiB


def _datacenter(store, name='Default'):
    dc = types.DataCenter(
        id=stable_id('dc', name), name=name,
        description='The default Data Center', local=False,
        status=types.DataCenterStatus.UP,
        storage_format=types.StorageFormat.V5,
        version=types.Version(major=4, minor=7),
        supported_versions=[types.Version(major=4, minor=7)],
        quota_mode=types.QuotaModeType.DISABLED)
    store.datacenters[dc.id] = dc
    return dc


def _cluster(store, dc, name, cpu_type):
    c = types.Cluster(
        id=stable_id('cluster', name), name=name, description='',
        cpu=types.Cpu(architecture=types.Architecture.X86_64, type=cpu_type),
        version=types.Version(major=4, minor=7),
        data_center=types.DataCenter(id=dc.id),
        ballooning_enabled=True, gluster_service=False, virt_service=True,
        ha_reservation=False, threads_as_cores=False, trusted_service=False,
        tunnel_migration=False,
        memory_policy=types.MemoryPolicy(
            over_commit=types.MemoryOverCommit(percent=100),
            transparent_huge_pages=types.TransparentHugePages(enabled=True)),
        error_handling=types.ErrorHandling(on_error=types.MigrateOnError.MIGRATE),
        switch_type=types.SwitchType.LEGACY,
        firewall_type=types.FirewallType.FIREWALLD,
        scheduling_policy=types.SchedulingPolicy(id=stable_id('policy', 'evenly_distributed')))
    store.clusters[c.id] = c
    cp = types.CpuProfile(id=stable_id('cpuprofile', name), name=name,
                          cluster=types.Cluster(id=c.id))
    store.cpu_profiles[cp.id] = cp
    return c


def _host(store, cluster, name, shape, index, status='up'):
    sockets, cores, threads, memory = shape
    h = types.Host(
        id=stable_id('host', name), name=name, comment='',
        address='192.0.2.%d' % (10 + index),
        status=types.HostStatus(status),
        cluster=types.Cluster(id=cluster.id),
        cpu=types.Cpu(name=cluster.cpu.type, speed=2600.0,
                      type=cluster.cpu.type,
                      topology=types.CpuTopology(sockets=sockets, cores=cores,
                                                 threads=threads)),
        memory=memory,
        max_scheduling_memory=memory - HOST_RESERVED,
        type=types.HostType.RHEL, port=54321,
        protocol=types.HostProtocol.STOMP,
        spm=types.Spm(priority=5, status=types.SpmStatus.SPM if index == 0
                      else types.SpmStatus.NONE),
        os=types.OperatingSystem(type='RHEL', version=types.Version(
            full_version='8.7 - 1.el8', major=8, minor=7)),
        version=types.Version(full_version='vdsm-4.50.3.4-1.el8', major=4, minor=50,
                              build=3, revision=4),
        libvirt_version=types.Version(full_version='libvirt-8.0.0-10', major=8,
                                      minor=0, build=0, revision=0),
        summary=types.VmSummary(active=0, migrating=0, total=0),
        hardware_information=types.HardwareInformation(
            manufacturer='nova-ovirt', product_name='engine-sim host',
            serial_number='SIM-%04d' % index, uuid=stable_id('hw', name)),
        ksm=types.Ksm(enabled=False),
        transparent_huge_pages=types.TransparentHugePages(enabled=True),
        external_status=types.ExternalStatus.OK,
        update_available=False, reinstallation_required=False)
    h._sim_sched_capacity = memory - HOST_RESERVED
    store.hosts[h.id] = h
    return h


def _storage_domain(store, dc, name='data', available=500 * GiB):
    sd = types.StorageDomain(
        id=stable_id('sd', name), name=name, description='',
        type=types.StorageDomainType.DATA, master=True,
        status=None, external_status=types.ExternalStatus.OK,
        storage=types.HostStorage(type=types.StorageType.NFS,
                                  address='192.0.2.2', path='/exports/%s' % name),
        storage_format=types.StorageFormat.V5,
        available=available, used=20 * GiB, committed=0,
        warning_low_space_indicator=10, critical_space_action_blocker=5,
        wipe_after_delete=False, discard_after_delete=False,
        supports_discard=False, backup=False, block_size=512,
        data_centers=[types.DataCenter(id=dc.id)])
    sd._sim_status = types.StorageDomainStatus.ACTIVE
    store.storage_domains[sd.id] = sd
    dp = types.DiskProfile(id=stable_id('diskprofile', name), name=name,
                           storage_domain=types.StorageDomain(id=sd.id))
    store.disk_profiles[dp.id] = dp
    store.extra.setdefault('storage_domain', name)
    return sd


#: The engine's network filter that drops frames with another MAC.
NO_MAC_SPOOFING = 'vdsm-no-mac-spoofing'


def _network(store, dc, name, vlan=None):
    n = types.Network(
        id=stable_id('network', name), name=name,
        description='Management Network' if name == 'ovirtmgmt' else '',
        data_center=types.DataCenter(id=dc.id), mtu=0, stp=False,
        usages=[types.NetworkUsage.VM] + ([types.NetworkUsage.MANAGEMENT]
                                          if name == 'ovirtmgmt' else []),
        vlan=types.Vlan(id=vlan) if vlan else None)
    store.networks[n.id] = n
    # The engine gives a new network's default profile its MAC
    # anti-spoofing filter; profiles an admin made by hand may lack it.
    nf = store.network_filters.get(stable_id('networkfilter', NO_MAC_SPOOFING))
    if nf is None:
        nf = types.NetworkFilter(id=stable_id('networkfilter', NO_MAC_SPOOFING),
                                 name=NO_MAC_SPOOFING)
        store.network_filters[nf.id] = nf
    p = types.VnicProfile(id=stable_id('vnicprofile', name), name=name,
                          network=types.Network(id=n.id), pass_through=types.VnicPassThrough(
                              mode=types.VnicPassThroughMode.DISABLED),
                          port_mirroring=False,
                          network_filter=types.NetworkFilter(id=nf.id)
                          if name == 'ovirtmgmt' else None)
    store.vnic_profiles[p.id] = p
    return n, p


def _blank_template(store):
    t = types.Template(
        id=BLANK_ID, name='Blank', description='Blank template', comment='',
        status=types.TemplateStatus.OK, memory=1 * GiB,
        memory_policy=types.MemoryPolicy(guaranteed=1 * GiB, max=4 * GiB, ballooning=True),
        cpu=types.Cpu(architecture=types.Architecture.X86_64,
                      topology=types.CpuTopology(sockets=1, cores=1, threads=1)),
        os=types.OperatingSystem(type='other', boot=types.Boot(
            devices=[types.BootDevice.HD])),
        type=types.VmType.SERVER, stateless=False, delete_protected=False,
        high_availability=types.HighAvailability(enabled=False, priority=0),
        display=types.Display(type=types.DisplayType.VNC, monitors=1),
        origin='ovirt', creation_time=store.now(),
        version=types.TemplateVersion(version_number=1, version_name='base version',
                                      base_template=types.Template(id=BLANK_ID)))
    store.templates[t.id] = t


def build_default(store, hosts_per_cluster=2, clusters=_CLUSTERS, host_status='up'):
    dc = _datacenter(store)
    index = 0
    for name, cpu_type, shape in clusters:
        c = _cluster(store, dc, name, cpu_type)
        for i in range(hosts_per_cluster):
            _host(store, c, '%s-host%d' % (name, i + 1), shape, index, host_status)
            index += 1
    _storage_domain(store, dc)
    _network(store, dc, 'ovirtmgmt')
    _network(store, dc, 'physnet1', vlan=100)
    _blank_template(store)
    store.add_event(1, 'Starting oVirt Engine.')   # VDC_START
    return store


def build_large(store):
    return build_default(store, hosts_per_cluster=50)


def build_empty_cluster(store):
    """Cluster 'cluster1' exists but none of its hosts is up."""
    build_default(store, clusters=_CLUSTERS[:1], host_status='maintenance')
    return store


def build_migration(store):
    """Live migration between clusters (one host each): ``cluster3`` has
    ``cluster1``'s CPU type, ``cluster2`` another vendor's; ``remote1`` is
    in data center ``Remote``, which sees only its own storage domain."""
    shape = _CLUSTERS[0][2]
    build_default(store, hosts_per_cluster=1, clusters=list(_CLUSTERS) + [
        ('cluster3', 'Intel Nehalem Family', shape)])
    remote = _datacenter(store, 'Remote')
    remote.description = 'A second site'
    cluster = _cluster(store, remote, 'remote1', 'Intel Nehalem Family')
    _host(store, cluster, 'remote1-host1', shape, len(store.hosts))
    _storage_domain(store, remote, 'remote-data')
    return store


SCENARIOS = {
    'migration': build_migration,
    'default': build_default,
    'large': build_large,
    'empty-cluster': build_empty_cluster,
}


def build(store, name):
    try:
        builder = SCENARIOS[name]
    except KeyError:
        raise ValueError('unknown scenario %r (known: %s)'
                         % (name, ', '.join(sorted(SCENARIOS))))
    with store.lock:
        builder(store)
        # Every engine has the root tag (the API root's special object).
        root = types.Tag(id='00000000-0000-0000-0000-000000000000', name='root',
                         description='root')
        store.tags[root.id] = root
        store.extra['scenario'] = name
    return store
