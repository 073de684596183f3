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

"""Configuration options of the nova-ovirt driver.

The ``[ovirt]`` group lists the pools one nova-compute manages.  Every pool
has a section of its own, ``[ovirt_pool:<name>]``, whose options depend on
the pool's ``backend``.  Pool groups are registered at run time, once the
pool names are known, by :func:`register_pool_opts`.
"""

from oslo_config import cfg

OVIRT_GROUP = 'ovirt'
POOL_GROUP_PREFIX = 'ovirt_pool:'

ovirt_group = cfg.OptGroup(
    OVIRT_GROUP,
    title='nova-ovirt driver options',
    help='Options of the nova-ovirt compute driver '
         '(compute_driver = ovirt.OvirtDriver). Each pool listed in '
         '``pools`` has its own [ovirt_pool:<name>] section.')

POOLS_OPT = cfg.ListOpt(
    'pools',
    default=[],
    help='Names of the pools this nova-compute manages. Each name needs a '
         '[ovirt_pool:<name>] section that sets the pool\'s backend and its '
         'options. Every oVirt cluster and every libvirt host of these '
         'pools becomes one Nova hypervisor node.')

OVIRT_OPTS = [
    POOLS_OPT,
    cfg.IntOpt('event_poll_interval',
               default=5,
               min=1,
               help='Seconds between two reads of an oVirt engine\'s '
                    'event feed. One request per engine per interval '
                    'keeps Nova\'s view of power states fresh between '
                    'the periodic power-state syncs.'),
    cfg.IntOpt('spawn_timeout',
               default=600,
               min=10,
               help='Seconds a new guest may take to reach the running '
                    'state before the build fails and what it created '
                    'is removed.'),
    cfg.IntOpt('power_state_cache_ttl',
               default=30,
               min=0,
               help='Seconds a pool may answer get_info from its last '
                    'listing of all Nova-owned guests instead of asking '
                    'the backend again. Events keep the cache fresh in '
                    'between; 0 disables the cache.'),
]

# Options every pool section has, whatever its backend.
POOL_COMMON_OPTS = [
    cfg.StrOpt('backend',
               help='Backend that manages this pool: ``libvirt`` (plain '
                    'KVM hosts driven over libvirt) or ``ovirt`` (the '
                    'clusters of an oVirt engine). Backends are loaded '
                    'from the ``nova_ovirt.pools`` entry point.'),
]

LIBVIRT_POOL_OPTS = [
    cfg.ListOpt('uris',
                default=[],
                help='libvirt connection URIs of this pool\'s hosts, for '
                     'example qemu:///system or qemu+tls://kvm1/system. '
                     'Each host becomes one Nova node, named after the '
                     'URI\'s host part (the compute service\'s host for '
                     'a local URI). Write ``<node name>=<uri>`` to choose '
                     'the node name yourself. Node names must be unique '
                     'across all pools.'),
    cfg.StrOpt('storage_pool',
               default='nova-ovirt',
               help='libvirt storage pool that holds image base volumes '
                    'and instance disks on every host of this pool. A '
                    'missing pool is created as a directory pool at '
                    '``storage_pool_path``.'),
    cfg.StrOpt('storage_pool_path',
               default='/var/lib/libvirt/images/nova-ovirt',
               help='Directory of the storage pool when the driver has '
                    'to create it.'),
    cfg.StrOpt('domain_type',
               default='kvm',
               choices=[('kvm', 'hardware-accelerated guests'),
                        ('qemu', 'software emulation (TCG), for tests')],
               help='libvirt domain type of the guests of this pool.'),
    cfg.StrOpt('vnc_listen',
               default='127.0.0.1',
               help='Address the guests\' VNC servers listen on. Nova\'s '
                    'VNC proxy must reach it; it is also the host '
                    'reported to the proxy unless ``vnc_address`` is '
                    'set.'),
    cfg.StrOpt('vnc_address',
               help='Address of the host that the VNC proxy connects to. '
                    'Defaults to the URI\'s host, or ``vnc_listen`` for a '
                    'local URI.'),
    cfg.StrOpt('ovs_bridge',
               default='br-int',
               help='Open vSwitch integration bridge used for ports whose '
                    'VIF type is ovs and that name no bridge.'),
    cfg.DictOpt('bridge_mappings',
                default={},
                help='For ``nova-ovirt-manage adopt`` only: which host '
                     'bridge or libvirt network of a running domain\'s '
                     'interface carries which Neutron network, as '
                     '``<key>:<bridge or libvirt network>,...``, keyed '
                     'like the oVirt pools\' ``vnic_profile_mappings`` '
                     '(a provider physical network or a network UUID). An '
                     'interface whose source matches no mapping makes the '
                     'domain unadoptable; the command names the '
                     'interface.'),
    cfg.StrOpt('live_migration_inbound_addr',
               help='Address (IP or host name) on which the hosts of this '
                    'pool receive live migrations, when it is not the host '
                    'part of their libvirt URI (a dedicated migration '
                    'network) or the URI is local. Unset: the URI\'s host, '
                    'else the name libvirtd on the destination reports.'),
    cfg.IntOpt('connection_retry_interval',
               default=10,
               min=1,
               help='Seconds between attempts to reconnect to a libvirt '
                    'host that is unreachable or whose daemon restarted.'),
    cfg.StrOpt('iscsi_initiator_prefix',
               default='iqn.2026-01.org.openstack.nova-ovirt',
               help='Prefix of the iSCSI initiator name (IQN) that qemu '
                    'presents to Cinder\'s targets for the guests of a '
                    'node: ``<prefix>:<compute host>.<node name>``. It is '
                    'what ``get_volume_connector`` reports, so Cinder '
                    'exports each volume to that name; keep it stable.'),
]

OVIRT_POOL_OPTS = [
    cfg.URIOpt('url',
               schemes=['https', 'http'],
               help='URL of the oVirt engine API, for example '
                    'https://engine.example.com/ovirt-engine/api.'),
    cfg.StrOpt('username',
               default='admin@internal',
               help='Engine user, with its profile (user@profile).'),
    cfg.StrOpt('password',
               secret=True,
               help='Password of the engine user.'),
    cfg.StrOpt('ca_file',
               help='PEM file with the CA certificate(s) that signed the '
                    'engine\'s certificate. Unset, the system CA store is '
                    'used.'),
    cfg.BoolOpt('insecure',
                default=False,
                help='Do not verify the engine\'s TLS certificate. For '
                     'tests only: it makes the connection open to '
                     'interception. A warning is logged at start.'),
    cfg.ListOpt('clusters',
                default=[],
                help='Names of the oVirt clusters this pool exposes. Each '
                     'cluster becomes one Nova node whose UUID is the '
                     'cluster\'s id.'),
    cfg.StrOpt('storage_domain',
               help='Storage domain that holds image templates and '
                    'instance disks.'),
    cfg.DictOpt('vnic_profile_mappings',
                default={},
                help='Which oVirt vNIC profile carries which Neutron '
                     'network, as ``<key>:<profile>,...``. A key is a '
                     'provider physical network (``physnet1``) or a '
                     'network\'s UUID; the physical network is looked up '
                     'first. Network names are never keys: tenants choose '
                     'them. There is no default profile: a port on a '
                     'network that matches no key fails the boot or the '
                     'interface attach with a fault naming the network and '
                     'this option.'),
    cfg.BoolOpt('set_mac_anti_spoofing_filter',
                default=False,
                help='Let the driver set the engine\'s MAC anti-spoofing '
                     'network filter (``vdsm-no-mac-spoofing``) on every '
                     'vNIC profile of ``vnic_profile_mappings`` that has no '
                     'network filter, at start. With False the profiles '
                     'are left as they are and each one without a filter '
                     'is reported (a warning at start and in '
                     'nova-ovirt-status): its guests can send frames with '
                     'any MAC address.'),
    cfg.IntOpt('timeout',
               default=60,
               min=1,
               help='Seconds one engine request may take.'),
    cfg.IntOpt('connections',
               default=4,
               min=1,
               help='Engine connections this pool keeps open. Resource '
                    'updates of several clusters run in parallel, each '
                    'on its own connection.'),
    cfg.StrOpt('vnc_relay_listen',
               default='127.0.0.1',
               help='Address the VNC console relays of this pool listen '
                    'on, in nova-compute. A relay logs in to a VM\'s VNC '
                    'server with the console ticket and serves only '
                    'connections that present the secret of a live nova '
                    'console auth token (nova-novncproxy does), for as '
                    'long as [consoleauth] token_ttl. Loopback by default: '
                    'set the management address when nova-novncproxy '
                    'runs on another host.'),
    cfg.StrOpt('vnc_relay_address',
               help='Address nova-novncproxy connects to for the relays. '
                    'Defaults to ``vnc_relay_listen``, or to [vnc] '
                    'server_proxyclient_address when that is a wildcard.'),
    cfg.StrOpt('iscsi_initiator_prefix',
               default='iqn.2026-01.org.openstack.nova-ovirt',
               help='Prefix of the iSCSI initiator name (IQN) this pool '
                    'reports to Cinder for the guests of a node (an oVirt '
                    'cluster): ``<prefix>:<pool>.<cluster>``. The engine\'s '
                    'hosts log in to Cinder\'s targets, so give every host '
                    'of the cluster this initiator name '
                    '(/etc/iscsi/initiatorname.iscsi) or let Cinder\'s '
                    'targets accept the hosts\' own names.'),
]


def register_opts(conf):
    conf.register_group(ovirt_group)
    conf.register_opts(OVIRT_OPTS, group=ovirt_group)


def pool_group_name(pool_name):
    return POOL_GROUP_PREFIX + pool_name


def register_pool_common_opts(conf, pool_name):
    """Register the options every pool section has; returns the group."""
    group = pool_group_name(pool_name)
    conf.register_opts(POOL_COMMON_OPTS, group=group)
    return conf[group]


def register_pool_backend_opts(conf, pool_name, backend_opts):
    group = pool_group_name(pool_name)
    conf.register_opts(backend_opts, group=group)
    return conf[group]


def list_opts():
    """Options for oslo-config-generator and the configuration reference.

    Pool sections are named by the operator; the sample shows one pool of
    each backend under the names the README's example uses.
    """
    libvirt_example = cfg.OptGroup(
        pool_group_name('kvm'),
        help='A pool named "kvm" with the libvirt backend: one Nova node per '
             'libvirt host. Every name in [ovirt] pools has a section like '
             'this one.')
    ovirt_example = cfg.OptGroup(
        pool_group_name('engine1'),
        help='A pool named "engine1" with the ovirt backend: one Nova node '
             'per cluster of the engine.')
    return [
        (ovirt_group, OVIRT_OPTS),
        (libvirt_example, POOL_COMMON_OPTS + LIBVIRT_POOL_OPTS),
        (ovirt_example, POOL_COMMON_OPTS + OVIRT_POOL_OPTS),
    ]
