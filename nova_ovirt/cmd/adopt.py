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

"""nova-ovirt-manage adopt|release: running oVirt VMs into Nova and back.

``adopt`` makes each selected VM a Nova server without touching it: it
offers a one-time token on the VM (see :mod:`nova_ovirt.adoption`), then
boots, as an admin of the target project, a server targeted at the VM's
node (``host`` and ``hypervisor_hostname``, compute API 2.74) with

- a flavor of the VM's vCPUs and memory (an existing public one with
  that shape and no disk, else a new private one for the project);
- one Neutron port per NIC, made with the NIC's MAC on the network its
  vNIC profile maps from (``vnic_profile_mappings`` read backwards);
- the placeholder image ``nova-ovirt-adopted`` (Nova needs an image to
  boot; the driver never reads its bytes when adopting);
- the VM's id and the token in the server's metadata.

The driver's spawn checks the token and marks the VM as Nova's; Nova then
holds the placement allocations on the node. When anything fails, the
command undoes what it did: the token is withdrawn, the server (whose
destroy never touches a VM that is not marked for it) and the ports are
deleted, and a VM already marked is unmarked first.

``release`` is the inverse: the VM's mark is replaced by its former
description, then the server and its ports are deleted (the driver finds
no VM to destroy) and the VM keeps running as a plain oVirt VM.

Nova and Neutron are reached with openstacksdk (:class:`OpenStackCloud`)
through one small interface, so the command's logic runs unchanged
against any client that implements it.
"""

import argparse
import sys
import time

from oslo_config import cfg
import ovirtsdk4 as sdk
from ovirtsdk4 import types

from nova_ovirt import adoption
from nova_ovirt import conf as ovirt_conf
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
    """What adopting one VM takes, or why it cannot be done."""

    def __init__(self, vm):
        self.vm = vm
        self.node = None
        self.vcpus = ovirt_adopt.vcpus_of(vm)
        self.memory_mb = ovirt_adopt.memory_mb_of(vm)
        self.ports = []          # (mac, network id)
        self.problems = []

    def describe(self):
        if self.problems:
            return 'VM %s (%s): cannot adopt: %s' % (
                self.vm.name, self.vm.id, '; '.join(self.problems))
        return ('VM %s (%s): adopt on node %s, %d vCPU, %d MiB, ports %s'
                % (self.vm.name, self.vm.id, self.node, self.vcpus,
                   self.memory_mb, ', '.join(
                       '%s on %s' % p for p in self.ports) or 'none'))


class Engine(object):
    """The oVirt pool's engine, with the pool's own options."""

    def __init__(self, pool_conf, session=None):
        self.conf = pool_conf
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
        return [v for v in vms if vm_cache.owner_of(v) == instance_uuid]


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

    def plan(self, vm, clusters, profiles, names_taken):
        plan = Plan(vm)
        disks = self.engine.disks(vm.id)
        plan.problems = ovirt_adopt.problems(vm, set(clusters), disks)
        if vm.cluster is not None:
            plan.node = clusters.get(vm.cluster.id)
        if vm.name in names_taken:
            plan.problems.append('a Nova server of the project is already '
                                 'named %s' % vm.name)
        for nic in self.engine.nics(vm.id):
            profile_id = nic.vnic_profile.id if nic.vnic_profile else None
            profile = profiles.get(profile_id)
            networks = self._networks_of(profile)
            if len(networks) != 1:
                plan.problems.append(
                    'NIC %s: %s' % (nic.name, 'no Neutron network maps to '
                                    'vNIC profile %s' % profile if
                                    not networks else 'vNIC profile %s '
                                    'maps from several networks %s' % (
                                        profile, ', '.join(networks))))
                continue
            plan.ports.append((nic.mac.address.lower(), networks[0]))
        return plan

    def _networks_of(self, profile):
        if profile is None:
            return []
        keys = [k for k, v in self.engine.conf.vnic_profile_mappings.items()
                if v == profile]
        found = set()
        for key in keys:
            found.update(self.cloud.networks_for_key(key))
        return sorted(found)

    def plans(self, vms):
        clusters = self.engine.clusters()
        profiles = self.engine.profile_names()
        names = self.cloud.server_names()
        return [self.plan(vm, clusters, profiles, names) for vm in vms]

    def adopt(self, vms, host, dry_run=False, ttl=adoption.DEFAULT_TTL):
        """Adopt each VM; returns {vm id: server id or None}."""
        results = {}
        names_taken = set()
        for plan in self.plans(vms):
            if plan.vm.name in names_taken:
                plan.problems.append('a Nova server of the project is '
                                     'already named %s' % plan.vm.name)
            self.say(plan.describe())
            if plan.problems or dry_run:
                results[plan.vm.id] = None
                continue
            try:
                results[plan.vm.id] = self.adopt_one(plan, host, ttl)
                names_taken.add(plan.vm.name)
                self.say('VM %s is server %s' % (plan.vm.name,
                                                 results[plan.vm.id]))
            except CommandError as e:
                self.say('VM %s: adoption failed, nothing changed: %s'
                         % (plan.vm.name, e))
                results[plan.vm.id] = None
        return results

    def adopt_one(self, plan, host, ttl):
        vm = plan.vm
        token = adoption.new_token()
        ports, server_id = [], None
        self.engine.offer(vm, token, ttl)
        try:
            flavor_id = self.cloud.flavor_for(plan.vcpus, plan.memory_mb)
            for mac, network_id in plan.ports:
                ports.append(self.cloud.create_port(
                    network_id, mac, 'adopted-%s' % vm.name))
            server_id = self.cloud.create_server({
                'name': vm.name,
                'flavorRef': flavor_id,
                'imageRef': self.cloud.placeholder_image(),
                'networks': [{'port': p} for p in ports] or 'none',
                'host': host,
                'hypervisor_hostname': plan.node,
                'metadata': {
                    adoption.META_VM: vm.id,
                    adoption.META_TOKEN: token,
                    adoption.META_DESCRIPTION: (vm.description or '')[:255],
                }})
            self._wait_active(server_id)
            # Used up; and a later spawn of the server (rebuild, evacuate)
            # must be an ordinary one, not another adoption.
            self.cloud.delete_server_metadata(
                server_id, [adoption.META_VM, adoption.META_TOKEN])
            return server_id
        except Exception as e:
            self._undo(vm, server_id, ports)
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

    def _undo(self, vm, server_id, ports):
        """Back to how the VM was: unmarked, no token, no server or port."""
        if server_id is not None:
            # Unmark first, so that the server's destroy finds no VM.
            self.engine.unmark(vm.id, server_id, vm.description)
            self.cloud.delete_server(server_id)
            self._wait_gone(server_id)
        self.engine.withdraw(vm.id)
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
            raise CommandError('server %s has %d VMs in this pool\'s engine;'
                               ' release needs exactly one' % (
                                   server_id, len(vms)))
        vm = vms[0]
        if vm.status not in ovirt_adopt.STABLE:
            raise CommandError('VM %s is in the transient state %s' % (
                vm.name, vm.status.value))
        ports = self.cloud.server_ports(server_id)
        self.engine.unmark(vm.id, server_id,
                           server['metadata'].get(adoption.META_DESCRIPTION))
        self.cloud.delete_server(server_id)
        self._wait_gone(server_id)
        for port in ports:
            self.cloud.delete_port(port)
        self.say('Server %s deleted; VM %s (%s) released, %s' % (
            server_id, vm.name, vm.id, vm.status.value))
        return vm.id


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
    adopt.add_argument('--pool', required=True, help='oVirt pool name')
    adopt.add_argument('--host', required=True,
                       help='compute service host of the pool')
    adopt.add_argument('--project', required=True, help='target project')
    adopt.add_argument('--vm', action='append', default=[], help='VM id')
    adopt.add_argument('--name', action='append', default=[],
                       help='VM name')
    adopt.add_argument('--search', help='engine search, e.g. '
                       '"cluster=prod and status=up"')
    adopt.add_argument('--ttl', type=int, default=adoption.DEFAULT_TTL,
                       help='seconds an adoption token stays valid')
    adopt.add_argument('--dry-run', action='store_true',
                       help='list what would be done, change nothing')
    release = sub.add_parser('release', help='give servers back to oVirt')
    release.add_argument('--pool', required=True, help='oVirt pool name')
    release.add_argument('server', nargs='+', help='server id')
    args = parser.parse_args(argv)
    if args.action == 'adopt' and not (args.vm or args.name or args.search):
        parser.error('adopt: select VMs with --vm, --name or --search')
    return args


def pool_conf(config_files, pool):
    conf = cfg.ConfigOpts()
    ovirt_conf.register_pool_common_opts(conf, pool)
    ovirt_conf.register_pool_backend_opts(conf, pool,
                                          ovirt_conf.OVIRT_POOL_OPTS)
    conf([], project='nova', default_config_files=config_files or [
        '/etc/nova/nova.conf'])
    group = conf[ovirt_conf.pool_group_name(pool)]
    if group.backend != 'ovirt':
        raise CommandError('pool %s is a %s pool; adopt handles ovirt pools'
                           % (pool, group.backend))
    return group


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
        engine = Engine(pool_conf(args.config_file, args.pool))
        if args.action == 'adopt':
            manager = Manager(engine, connect(args.os_cloud, args.project))
            results = manager.adopt(
                engine.select(args.vm, args.name, args.search), args.host,
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
    except (CommandError, cfg.Error) as e:
        sys.stderr.write('%s: %s\n' % (PROG, e))
        return 2

