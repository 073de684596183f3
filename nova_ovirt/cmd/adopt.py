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

"""nova-ovirt-manage adopt|release: running VMs into Nova and back.

``adopt`` makes each selected oVirt VM, or libvirt domain on a host of a
libvirt pool, a Nova server without touching it: it offers a one-time
token on the VM (see :mod:`nova_ovirt.adoption`), then boots, as an
admin of the target project, a server targeted at the VM's node
(``host`` and ``hypervisor_hostname``, compute API 2.74) with

- a flavor of the VM's vCPUs and memory (an existing public one with
  that shape and no disk, else a new private one for the project);
- one Neutron port per NIC, made with the NIC's MAC on the network its
  vNIC profile (oVirt) or bridge (libvirt) maps from
  (``vnic_profile_mappings`` or ``bridge_mappings`` read backwards);
- the placeholder image ``nova-ovirt-adopted`` (Nova needs an image to
  boot; the driver never reads its bytes when adopting);
- the VM's id and the token in the server's metadata.

The driver's spawn checks the token and marks the VM as Nova's; Nova then
holds the placement allocations on the node. When anything fails, the
command undoes what it did: the token is withdrawn, the server (whose
destroy never touches a VM that is not marked for it) and the ports are
deleted, and a VM already marked is unmarked first.

``release`` is the inverse: the VM's mark is replaced by its former
description (a domain's is removed), then the server and its ports are
deleted (the driver finds no VM to destroy) and the VM keeps running as
a plain oVirt VM or libvirt domain.

The two backends (:class:`Engine`, :class:`LibvirtHosts`) offer the same
few methods; everything else is one logic for both.

Nova and Neutron are reached with openstacksdk (:class:`OpenStackCloud`)
through one small interface, so the command's logic runs unchanged
against any client that implements it.
"""

import argparse
import sys
import time

import libvirt
from oslo_config import cfg
import ovirtsdk4 as sdk
from ovirtsdk4 import types

from nova_ovirt import adoption
from nova_ovirt import conf as ovirt_conf
from nova_ovirt import exception
from nova_ovirt.pools.libvirt import adopt as libvirt_adopt
from nova_ovirt.pools.libvirt import config as libvirt_config
from nova_ovirt.pools.libvirt import errors as libvirt_errors
from nova_ovirt.pools.libvirt import host as libvirt_host
from nova_ovirt.pools.libvirt import nodes as libvirt_nodes
from nova_ovirt.pools.ovirt import adopt as ovirt_adopt
from nova_ovirt.pools.ovirt import cache as vm_cache
from nova_ovirt.pools.ovirt import session as ovirt_session

PROG = 'nova-ovirt-manage'
PLACEHOLDER_IMAGE = 'nova-ovirt-adopted'
#: The compute API version whose server create takes host and
#: hypervisor_hostname (an admin's targeted boot that the scheduler
#: still checks and that allocates in placement).
TARGETED_BOOT_MICROVERSION = '2.74'
#: Seconds the command waits for an adoption boot to become ACTIVE.
BOOT_TIMEOUT = 300


class CommandError(Exception):
    pass


def openstack_exceptions():
    # Imported when used: nova-compute imports this package, not the SDK.
    from openstack import exceptions
    return exceptions


# -- Nova and Neutron ---------------------------------------------------------

class OpenStackCloud(object):
    """Nova, Neutron and Glance through openstacksdk, scoped to a project.

    The methods are the whole interface the command needs; a test may
    provide another object with the same methods.
    """

    def __init__(self, connection, project_id):
        self.conn = connection
        self.project_id = project_id

    def server_names(self):
        return {s.name for s in self.conn.compute.servers(
            all_projects=True, project_id=self.project_id)}

    def flavor_for(self, vcpus, memory_mb):
        # is_public=none: public and private flavors (admins).
        for flavor in self.conn.compute.flavors(is_public='none'):
            if (flavor.vcpus, flavor.ram, flavor.disk) == (
                    vcpus, memory_mb, 0):
                if not flavor.is_public:
                    self._grant(flavor)
                return flavor.id
        flavor = self.conn.compute.create_flavor(
            name='adopted.%dc%dm' % (vcpus, memory_mb), vcpus=vcpus,
            ram=memory_mb, disk=0, is_public=False)
        self._grant(flavor)
        return flavor.id

    def _grant(self, flavor):
        try:
            self.conn.compute.flavor_add_tenant_access(flavor,
                                                       self.project_id)
        except openstack_exceptions().ConflictException:
            pass        # the project has access already

    def placeholder_image(self):
        image = self.conn.image.find_image(PLACEHOLDER_IMAGE)
        if image is None:
            # One sector of zeros: a valid raw disk that nothing boots.
            image = self.conn.image.create_image(
                name=PLACEHOLDER_IMAGE, disk_format='raw',
                container_format='bare', visibility='public',
                data=b'\0' * 512, wait=True)
        return image.id

    def networks_for_key(self, key):
        """Networks a vnic_profile_mappings key stands for."""
        found = {}
        for query in ({'provider:physical_network': key}, {'name': key},
                      {'id': key}):
            for net in self.conn.network.networks(**query):
                found[net.id] = net
        return sorted(found)

    def create_port(self, network_id, mac, name):
        return self.conn.network.create_port(
            network_id=network_id, mac_address=mac, name=name,
            project_id=self.project_id).id

    def delete_port(self, port_id):
        self.conn.network.delete_port(port_id, ignore_missing=True)

    def server_ports(self, server_id):
        return [p.id for p in self.conn.network.ports(device_id=server_id)]

    def create_server(self, body):
        resp = self.conn.compute.post(
            '/servers', json={'server': body},
            microversion=TARGETED_BOOT_MICROVERSION)
        resp.raise_for_status()
        return resp.json()['server']['id']

    def get_server(self, server_id):
        """{'status', 'fault', 'metadata', 'node'} or None when gone."""
        server = self.conn.compute.find_server(server_id, all_projects=True)
        if server is None:
            return None
        return {'status': server.status, 'fault': server.fault,
                'metadata': dict(server.metadata or {}),
                'node': server.hypervisor_hostname}

    def delete_server(self, server_id):
        self.conn.compute.delete_server(server_id, ignore_missing=True)

    def delete_server_metadata(self, server_id, keys):
        self.conn.compute.delete_server_metadata(server_id, keys)


# -- the engine side ----------------------------------------------------------

class Plan(object):
    """What adopting one VM takes, or why it cannot be done.

    vm: the backend's own object; the rest is backend-neutral.
    """

    def __init__(self, vm, vm_id, name, vcpus, memory_mb, description='',
                 kind='VM'):
        self.vm = vm
        self.vm_id = vm_id
        self.name = name
        self.description = description
        self.kind = kind
        self.node = None
        self.vcpus = vcpus
        self.memory_mb = memory_mb
        self.nics = []           # (NIC name, mac, what maps it: profile...)
        self.ports = []          # (mac, network id)
        self.problems = []

    def describe(self):
        if self.problems:
            return '%s %s (%s): cannot adopt: %s' % (
                self.kind, self.name, self.vm_id, '; '.join(self.problems))
        return ('%s %s (%s): adopt on node %s, %d vCPU, %d MiB, ports %s'
                % (self.kind, self.name, self.vm_id, self.node, self.vcpus,
                   self.memory_mb, ', '.join(
                       '%s on %s' % p for p in self.ports) or 'none'))


class Owned(object):
    """A VM that a server owns, as release sees it."""

    def __init__(self, vm_id, name, state, stable):
        self.vm_id, self.name, self.state, self.stable = (
            vm_id, name, state, stable)


class Engine(object):
    """The oVirt pool's engine, with the pool's own options."""

    #: What a NIC's network is read from, and the option that maps it,
    #: for the command's messages.
    MAPPED_FROM = 'vNIC profile'
    MAPPINGS_OPTION = 'vnic_profile_mappings'

    def __init__(self, pool_conf, session=None):
        self.conf = pool_conf
        self.mappings = pool_conf.vnic_profile_mappings
        self.session = session or ovirt_session.Session(
            pool_conf.url, pool_conf.username, pool_conf.password,
            ca_file=pool_conf.ca_file, insecure=pool_conf.insecure,
            timeout=pool_conf.timeout, connections=1, name='manage')

    def _vm_service(self, system, vm_id):
        return system.vms_service().vm_service(vm_id)

    def clusters(self):
        """{cluster id: name} of the pool's clusters."""
        wanted = set(self.conf.clusters)
        return {c.id: c.name for c in self.session.read(
            lambda system: system.clusters_service().list())
            if c.name in wanted}

    def select(self, vm_ids=(), names=(), search=None):
        vms = {}
        for vm_id in vm_ids:
            vm = self.session.read(
                lambda system: self._vm_service(system, vm_id).get())
            vms[vm.id] = vm
        queries = ['name="%s"' % n for n in names]
        if search:
            queries.append(search)
        for query in queries:
            for vm in self.session.read(
                    lambda system: system.vms_service().list(search=query)):
                vms[vm.id] = vm
        return list(vms.values())

    def get(self, vm_id):
        return self.session.read(
            lambda system: self._vm_service(system, vm_id).get())

    def nics(self, vm_id):
        return ovirt_session.as_list(self.session.read(
            lambda system: self._vm_service(system, vm_id)
            .nics_service().list()))

    def disks(self, vm_id):
        atts = self.session.read(
            lambda system: self._vm_service(system, vm_id)
            .disk_attachments_service().list(follow='disk'))
        return [a.disk for a in atts if a.disk is not None]

    def profile_names(self):
        return {p.id: p.name for p in self.session.read(
            lambda system: system.vnic_profiles_service().list())}

    def update(self, vm_id, **fields):
        self.session.write(
            lambda system: self._vm_service(system, vm_id).update(
                types.Vm(**fields), query=ovirt_session.q()))

    def plans(self, vms):
        clusters = self.clusters()
        profiles = self.profile_names()
        return [self.plan(vm, clusters, profiles) for vm in vms]

    def plan(self, vm, clusters, profiles):
        plan = Plan(vm, vm.id, vm.name, ovirt_adopt.vcpus_of(vm),
                    ovirt_adopt.memory_mb_of(vm), vm.description or '')
        plan.problems = ovirt_adopt.problems(vm, set(clusters),
                                             self.disks(vm.id))
        if vm.cluster is not None:
            plan.node = clusters.get(vm.cluster.id)
        for nic in self.nics(vm.id):
            profile_id = nic.vnic_profile.id if nic.vnic_profile else None
            plan.nics.append((nic.name, nic.mac.address.lower(),
                              profiles.get(profile_id)))
        return plan

    def offer(self, vm, token, ttl):
        self.update(vm.id, comment=adoption.with_record(
            vm.comment, token, ttl))

    def withdraw(self, vm_id):
        """Remove a token record that is still there."""
        vm = self.get(vm_id)
        if adoption.has_record(vm.comment):
            self.update(vm_id, comment=adoption.strip_record(vm.comment))

    def unmark(self, vm_id, instance_uuid, description):
        """Give the VM its description back if it carries the mark."""
        vm = self.get(vm_id)
        if vm_cache.owner_of(vm) == instance_uuid:
            self.update(vm_id, description=description or '')
            return True
        return False

    def find_owned(self, instance_uuid):
        vms = self.session.read(lambda system: system.vms_service().list(
            search=vm_cache.find_search(instance_uuid)))
        return [Owned(v.id, v.name, v.status.value,
                      v.status in ovirt_adopt.STABLE)
                for v in vms if vm_cache.owner_of(v) == instance_uuid]

    def close(self):
        self.session.close()


class LibvirtHosts(object):
    """The hosts of a libvirt pool, with the pool's own options.

    A connection of its own per host (the command runs outside
    nova-compute); the driver's metadata element is the only thing it
    changes on a domain.
    """

    MAPPED_FROM = 'bridge'
    MAPPINGS_OPTION = 'bridge_mappings'

    def __init__(self, pool_conf, group_name, service_host=None):
        self.conf = pool_conf
        self.mappings = pool_conf.bridge_mappings
        self.specs = libvirt_nodes.parse_nodes(
            group_name, 'uris', pool_conf.uris, service_host)
        self._conns = {}

    def conn(self, spec):
        if spec.name not in self._conns:
            self._conns[spec.name] = libvirt_host.open_connection(spec.uri)
        return self._conns[spec.name]

    def close(self):
        for conn in self._conns.values():
            conn.close()
        self._conns = {}

    def _each(self, lookup, key):
        found = []
        for spec in self.specs:
            try:
                found.append((spec.name, getattr(self.conn(spec), lookup)(
                    key)))
            except libvirt.libvirtError as e:
                if not libvirt_errors.is_missing_domain(e):
                    raise
        return found

    def select(self, vm_ids=(), names=(), search=None):
        """[(node, domain)]: domains by UUID or name on the pool's hosts."""
        if search:
            raise CommandError('--search is for oVirt pools; select '
                               'domains with --vm (UUID) or --name')
        found = {}
        for key, lookup in ([(i, 'lookupByUUIDString') for i in vm_ids] +
                            [(n, 'lookupByName') for n in names]):
            matches = self._each(lookup, key)
            if not matches:
                raise CommandError('no domain %s on the hosts of the pool'
                                   % key)
            for node, domain in matches:
                found[(node, domain.UUIDString())] = (node, domain)
        return list(found.values())

    def plans(self, selected):
        return [self.plan(node, domain) for node, domain in selected]

    def plan(self, node, domain):
        facts = libvirt_adopt.DomainFacts(domain)
        plan = Plan(domain, facts.uuid, facts.name, facts.vcpus,
                    facts.memory_mb, kind='domain')
        plan.node = node
        plan.problems = libvirt_adopt.problems(facts)
        plan.nics = [(mac, mac, source) for mac, source in facts.interfaces]
        return plan

    def _domain(self, vm_id):
        matches = self._each('lookupByUUIDString', vm_id)
        return matches[0][1] if matches else None

    def offer(self, domain, token, ttl):
        libvirt_adopt.set_element(domain, libvirt_config.offer_element(
            adoption.record(token, ttl)))

    def withdraw(self, vm_id):
        domain = self._domain(vm_id)
        if domain is not None and \
                libvirt_adopt.DomainFacts(domain).offer is not None:
            libvirt_adopt.set_element(domain, None)

    def unmark(self, vm_id, instance_uuid, description=None):
        """Remove the mark if it names the instance; a domain's own
        <description> was never touched."""
        domain = self._domain(vm_id)
        if domain is not None and \
                libvirt_adopt.DomainFacts(domain).owner == instance_uuid:
            libvirt_adopt.set_element(domain, None)
            return True
        return False

    def find_owned(self, instance_uuid):
        found = []
        for spec in self.specs:
            for domain in self.conn(spec).listAllDomains(0):
                facts = libvirt_adopt.DomainFacts(domain)
                if facts.owner != instance_uuid:
                    continue
                if facts.uuid == instance_uuid:
                    raise CommandError(
                        'server %s was created by Nova on %s, not adopted: '
                        'delete it instead' % (instance_uuid, spec.name))
                found.append(Owned(facts.uuid, facts.name,
                                   facts.state_text(),
                                   libvirt_adopt.stable(facts)))
        return found


# -- adopt and release -------------------------------------------------------

class Manager(object):
    def __init__(self, engine, cloud, out=sys.stdout,
                 boot_timeout=BOOT_TIMEOUT):
        self.engine = engine
        self.cloud = cloud
        self.out = out
        self.boot_timeout = boot_timeout

    def say(self, text):
        self.out.write(text + '\n')

    def plan_ports(self, plan, names_taken):
        if plan.name in names_taken:
            plan.problems.append('a Nova server of the project is already '
                                 'named %s' % plan.name)
        for nic, mac, source in plan.nics:
            networks = self._networks_of(source)
            if len(networks) == 1:
                plan.ports.append((mac, networks[0]))
            else:
                plan.problems.append(self._nic_problem(nic, source,
                                                       networks))
        return plan

    def _nic_problem(self, nic, source, networks):
        where = '%s %s' % (self.engine.MAPPED_FROM, source)
        if networks:
            return 'NIC %s: %s maps from several networks %s' % (
                nic, where, ', '.join(networks))
        return 'NIC %s: no Neutron network maps to %s (the pool\'s %s)' % (
            nic, where, self.engine.MAPPINGS_OPTION)

    def _networks_of(self, source):
        if source is None:
            return []
        keys = [k for k, v in self.engine.mappings.items() if v == source]
        found = set()
        for key in keys:
            found.update(self.cloud.networks_for_key(key))
        return sorted(found)

    def plans(self, vms):
        names = self.cloud.server_names()
        return [self.plan_ports(plan, names)
                for plan in self.engine.plans(vms)]

    def adopt(self, vms, host, dry_run=False, ttl=adoption.DEFAULT_TTL):
        """Adopt each VM; returns {vm id: server id or None}."""
        results = {}
        names_taken = set()
        for plan in self.plans(vms):
            if plan.name in names_taken:
                plan.problems.append('a Nova server of the project is '
                                     'already named %s' % plan.name)
            self.say(plan.describe())
            if plan.problems or dry_run:
                results[plan.vm_id] = None
                continue
            try:
                results[plan.vm_id] = self.adopt_one(plan, host, ttl)
                names_taken.add(plan.name)
                self.say('%s %s is server %s' % (plan.kind, plan.name,
                                                 results[plan.vm_id]))
            except CommandError as e:
                self.say('%s %s: adoption failed, nothing changed: %s'
                         % (plan.kind, plan.name, e))
                results[plan.vm_id] = None
        return results

    def adopt_one(self, plan, host, ttl):
        token = adoption.new_token()
        ports, server_id = [], None
        self.engine.offer(plan.vm, token, ttl)
        try:
            flavor_id = self.cloud.flavor_for(plan.vcpus, plan.memory_mb)
            for mac, network_id in plan.ports:
                ports.append(self.cloud.create_port(
                    network_id, mac, 'adopted-%s' % plan.name))
            server_id = self.cloud.create_server({
                'name': plan.name,
                'flavorRef': flavor_id,
                'imageRef': self.cloud.placeholder_image(),
                'networks': [{'port': p} for p in ports] or 'none',
                'host': host,
                'hypervisor_hostname': plan.node,
                'metadata': {
                    adoption.META_VM: plan.vm_id,
                    adoption.META_TOKEN: token,
                    adoption.META_DESCRIPTION: plan.description[:255],
                }})
            self._wait_active(server_id)
            # Used up; and a later spawn of the server (rebuild, evacuate)
            # must be an ordinary one, not another adoption.
            self.cloud.delete_server_metadata(
                server_id, [adoption.META_VM, adoption.META_TOKEN])
            return server_id
        except Exception as e:
            self._undo(plan, server_id, ports)
            if isinstance(e, CommandError):
                raise
            raise CommandError(str(e))

    def _wait_active(self, server_id):
        deadline = time.monotonic() + self.boot_timeout
        while time.monotonic() < deadline:
            server = self.cloud.get_server(server_id)
            if server and server['status'] == 'ACTIVE':
                return
            if server is None or server['status'] == 'ERROR':
                fault = (server or {}).get('fault') or {}
                raise CommandError('server %s: %s' % (
                    server_id, fault.get('message', 'gone')))
            time.sleep(1)
        raise CommandError('server %s not ACTIVE within %ss' % (
            server_id, self.boot_timeout))

    def _undo(self, plan, server_id, ports):
        """Back to how the VM was: unmarked, no token, no server or port."""
        if server_id is not None:
            # Unmark first, so that the server's destroy finds no VM.
            self.engine.unmark(plan.vm_id, server_id, plan.description)
            self.cloud.delete_server(server_id)
            self._wait_gone(server_id)
        self.engine.withdraw(plan.vm_id)
        for port in ports:
            self.cloud.delete_port(port)

    def _wait_gone(self, server_id):
        deadline = time.monotonic() + self.boot_timeout
        while self.cloud.get_server(server_id) is not None:
            if time.monotonic() > deadline:
                raise CommandError('server %s not deleted within %ss' % (
                    server_id, self.boot_timeout))
            time.sleep(1)

    def release(self, server_id):
        """The server's VM back to plain oVirt: unmarked, still running."""
        server = self.cloud.get_server(server_id)
        if server is None:
            raise CommandError('no server %s' % server_id)
        vms = self.engine.find_owned(server_id)
        if len(vms) != 1:
            raise CommandError('server %s has %d VMs in this pool;'
                               ' release needs exactly one' % (
                                   server_id, len(vms)))
        vm = vms[0]
        if not vm.stable:
            raise CommandError('VM %s is in the transient state %s' % (
                vm.name, vm.state))
        ports = self.cloud.server_ports(server_id)
        self.engine.unmark(vm.vm_id, server_id,
                           server['metadata'].get(adoption.META_DESCRIPTION))
        self.cloud.delete_server(server_id)
        self._wait_gone(server_id)
        for port in ports:
            self.cloud.delete_port(port)
        self.say('Server %s deleted; VM %s (%s) released, %s' % (
            server_id, vm.name, vm.vm_id, vm.state))
        return vm.vm_id


# -- command line ------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split(
        '\n\n')[0])
    parser.add_argument('--config-file', action='append', default=[],
                        help='nova.conf of the nova-compute that runs the '
                             'pool (default: /etc/nova/nova.conf)')
    parser.add_argument('--os-cloud', help='clouds.yaml entry with admin '
                        'credentials (default: the OS_* variables)')
    sub = parser.add_subparsers(dest='action', required=True)
    adopt = sub.add_parser('adopt', help='adopt running VMs')
    adopt.add_argument('--pool', required=True,
                       help='pool name (oVirt or libvirt)')
    adopt.add_argument('--host', required=True,
                       help='compute service host of the pool')
    adopt.add_argument('--project', required=True, help='target project')
    adopt.add_argument('--vm', action='append', default=[],
                       help='VM id (libvirt: domain UUID)')
    adopt.add_argument('--name', action='append', default=[],
                       help='VM (domain) name')
    adopt.add_argument('--search', help='engine search (oVirt pools), '
                       'e.g. "cluster=prod and status=up"')
    adopt.add_argument('--ttl', type=int, default=adoption.DEFAULT_TTL,
                       help='seconds an adoption token stays valid')
    adopt.add_argument('--dry-run', action='store_true',
                       help='list what would be done, change nothing')
    release = sub.add_parser('release', help='give servers back to oVirt '
                             'or libvirt')
    release.add_argument('--pool', required=True,
                         help='pool name (oVirt or libvirt)')
    release.add_argument('server', nargs='+', help='server id')
    args = parser.parse_args(argv)
    if args.action == 'adopt' and not (args.vm or args.name or args.search):
        parser.error('adopt: select VMs with --vm, --name or --search')
    return args


BACKEND_OPTS = {'ovirt': ovirt_conf.OVIRT_POOL_OPTS,
                'libvirt': ovirt_conf.LIBVIRT_POOL_OPTS}


def pool_conf(config_files, pool):
    conf = cfg.ConfigOpts()
    ovirt_conf.register_pool_common_opts(conf, pool)
    conf([], project='nova', default_config_files=config_files or [
        '/etc/nova/nova.conf'])
    group = conf[ovirt_conf.pool_group_name(pool)]
    if group.backend not in BACKEND_OPTS:
        raise CommandError('pool %s is a %s pool; adopt handles %s pools'
                           % (pool, group.backend,
                              ' and '.join(sorted(BACKEND_OPTS))))
    ovirt_conf.register_pool_backend_opts(conf, pool,
                                          BACKEND_OPTS[group.backend])
    return group


def backend_of(config_files, pool, service_host=None):
    """The pool's Engine or LibvirtHosts."""
    group = pool_conf(config_files, pool)
    if group.backend == 'libvirt':
        return LibvirtHosts(group, ovirt_conf.pool_group_name(pool),
                            service_host)
    return Engine(group)


def connect(os_cloud, project):
    import openstack   # only the command needs it, not nova-compute
    conn = openstack.connect(cloud=os_cloud)
    if project is None:
        return OpenStackCloud(conn, None)
    project_id = conn.identity.find_project(project, ignore_missing=False).id
    return OpenStackCloud(conn.connect_as_project(project_id), project_id)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        engine = backend_of(args.config_file, args.pool,
                            getattr(args, 'host', None))
        if args.action == 'adopt':
            selected = engine.select(args.vm, args.name, args.search)
            manager = Manager(engine, connect(args.os_cloud, args.project))
            results = manager.adopt(selected, args.host,
                                    dry_run=args.dry_run, ttl=args.ttl)
            return 0 if args.dry_run or all(results.values()) else 1
        manager = Manager(engine, connect(args.os_cloud, None))
        for server_id in args.server:
            manager.release(server_id)
        return 0
    except sdk.Error as e:
        sys.stderr.write('%s: the engine: %s\n' % (
            PROG, ovirt_session.fault_text(e)))
        return 2
    except libvirt.libvirtError as e:
        sys.stderr.write('%s: libvirt: %s\n' % (
            PROG, libvirt_errors.message(e)))
        return 2
    except (CommandError, cfg.Error, exception.PoolConfigError) as e:
        sys.stderr.write('%s: %s\n' % (PROG, e))
        return 2
