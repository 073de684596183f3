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

"""OvirtPool: the clusters of one oVirt engine as Nova nodes.

Thin: configuration checks, the engine bootstrap (names -> ids), and the
routing of each call to the module of its concern (vmops, images,
snapshot, migration, inventory, cache, console).

Node identity: a node is a cluster, named after it, whose UUID is the
cluster's id. The name -> id map is kept in ``$state_path/nova-ovirt/
ovirt-pool-<name>.json`` so a restart while the engine is down still
reports the same nodes (unavailable until the engine answers).
"""

import contextlib
import functools
import json
import os
import threading
import time

from cryptography import x509
from cryptography.x509 import oid as x509_oid
from oslo_log import log as logging
import ovirtsdk4 as sdk
from ovirtsdk4 import types

import nova.conf
from nova.compute import task_states
from nova import exception as nova_exception
from nova import objects

from nova_ovirt import claims as claims_mod
from nova_ovirt import conf as ovirt_conf
from nova_ovirt import exception
from nova_ovirt import imagecache
from nova_ovirt.pools import base
from nova_ovirt.pools.ovirt import cache as vm_cache
from nova_ovirt.pools.ovirt import claims as cluster_claims
from nova_ovirt.pools.ovirt import console
from nova_ovirt.pools.ovirt import evacuation
from nova_ovirt.pools.ovirt import images
from nova_ovirt.pools.ovirt import inventory
from nova_ovirt.pools.ovirt import live_migration
from nova_ovirt.pools.ovirt import migration
from nova_ovirt.pools.ovirt import rescue
from nova_ovirt.pools.ovirt import session as ovirt_session
from nova_ovirt.pools.ovirt import snapshot
from nova_ovirt.pools.ovirt import transfer
from nova_ovirt.pools.ovirt import vif as ovirt_vif
from nova_ovirt.pools.ovirt import vmops
from nova_ovirt.pools.ovirt import volumeops

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

ovirt_conf.register_opts(CONF)

RETRY_SECONDS = 10
MAX_TIMEOUT = 86400


def check_ca_file(group, path):
    """The file exists and holds at least one PEM CA certificate."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        raise exception.PoolConfigError(group, 'ca_file', path,
                                        'cannot be read: %s' % e.strerror)
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise exception.PoolConfigError(
            group, 'ca_file', path, 'is not a PEM file of certificates')
    for cert in certs:
        try:
            bc = cert.extensions.get_extension_for_oid(
                x509_oid.ExtensionOID.BASIC_CONSTRAINTS).value
        except x509.ExtensionNotFound:
            continue
        if bc.ca:
            return
    raise exception.PoolConfigError(
        group, 'ca_file', path, 'holds no CA certificate (basic '
        'constraints CA:TRUE); give the CA that signed the engine\'s '
        'certificate, e.g. /etc/pki/ovirt-engine/ca.pem of the engine')


def _engine(method):
    """Run a pool method tagged with the request id, errors translated.

    A failure names the operation, the node and the engine's reason.
    """
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        context = args[0] if args and hasattr(args[0], 'request_id') \
            else None
        instance = kwargs.get('instance') or next(
            (a for a in args if isinstance(a, objects.Instance)), None)
        nodename = getattr(instance, 'node', None) or next(
            (a for a in args[:1] if isinstance(a, str)), None)
        where = self.where(nodename)
        self._require_ready(method.__name__, where)
        with ovirt_session.correlated(context):
            try:
                return method(self, *args, **kwargs)
            except sdk.NotFoundError as e:
                if instance is not None:
                    raise nova_exception.InstanceNotFound(
                        instance_id=instance.uuid)
                raise ovirt_session.translate(e, method.__name__, where)
            except sdk.Error as e:
                raise ovirt_session.translate(e, method.__name__, where)
    return wrapper


class OvirtPool(base.Pool):
    OPTS = ovirt_conf.OVIRT_POOL_OPTS
    NODES_OPTION = 'clusters'
    # The API model (services/DiskService.java) copies and moves only
    # disks on storage domains; a LUN disk has none, and its lun_storage
    # cannot be changed while it is attached.
    SWAP_VOLUME_REFUSAL = (
        'The oVirt pool cannot swap a Cinder volume of a VM: the engine has '
        'no API to move a direct LUN disk\'s data to another LUN or to '
        'point the disk at another LUN (disk copy and move work only '
        'between storage domains); detach the volume, copy it in Cinder, '
        'and attach the copy')

    def __init__(self, name, conf, host, event_queue, image_api=None):
        super().__init__(name, conf, host, event_queue)
        self._check_static()
        self.session = ovirt_session.Session(
            conf.url, conf.username, conf.password, ca_file=conf.ca_file,
            insecure=conf.insecure, timeout=conf.timeout,
            connections=conf.connections, name=name)
        self.spawn_timeout = CONF.ovirt.spawn_timeout
        self._image_api = image_api
        self._nodes = self._load_nodes()     # {cluster name: cluster id}
        self._clusters = {}                  # {cluster id: types.Cluster}
        self._profiles = {}                  # {vnic profile name: id}
        #: Mapped profiles without a network filter (guests may spoof MACs).
        self.unfiltered_profiles = []
        self.storage_domain_id = None
        self.engine_version = 0
        self._ready = False
        self._started = False
        #: Why the engine is not ready (last bootstrap failure), or None.
        self.last_error = None
        #: The exception behind last_error (PoolConfigError names the
        #: option to fix).
        self.last_failure = None
        #: The reason of the current outage already logged (see
        #: _outage_reason), None while the engine answers.
        self._logged_reason = None
        self._last_attempt = -RETRY_SECONDS
        self.claims = cluster_claims.ClusterClaims(self.session)
        self._heartbeats = claims_mod.Heartbeats()
        #: Nodes whose claim another service took over while we ran.
        self._handed_over = set()
        self._boot_lock = threading.Lock()
        self.cache = vm_cache.VmCache(
            self.session, self.cluster_ids, CONF.ovirt.power_state_cache_ttl,
            emit=event_queue.put)
        self.poller = vm_cache.EventPoller(
            self.session, self.cache, CONF.ovirt.event_poll_interval,
            on_tick=self._reconnect, name=name)
        self.transfers = transfer.Transfers(
            self.session, ca_file=conf.ca_file, insecure=conf.insecure,
            timeout=conf.timeout)
        self.inventory = None
        self.images = None
        self.vmops = vmops.VmOps(self)
        self.live_migrations = live_migration.LiveMigrationOps(self)
        self.evacuations = evacuation.Evacuations(self)
        self.volumes = volumeops.VolumeOps(self)
        self.snapshots = None
        self.migrations = None
        self.rescues = None
        self.consoles = console.Consoles(self)
        self._unused_images = imagecache.UnusedSince()

    # -- configuration --------------------------------------------------------

    def _check_static(self):
        c, g = self.conf, self.group_name
        if not c.url:
            raise exception.PoolConfigError(
                g, 'url', c.url, 'missing; set the engine API URL, e.g. '
                'https://engine.example.com/ovirt-engine/api')
        if not c.password:
            raise exception.PoolConfigError(g, 'password', '***',
                                            'missing')
        if c.ca_file is not None and not c.ca_file.strip():
            raise exception.PoolConfigError(
                g, 'ca_file', c.ca_file, 'empty; name the PEM file of the '
                'engine\'s CA, or remove the line to use the system CA '
                'store')
        if c.ca_file:
            check_ca_file(g, c.ca_file)
        elif not c.insecure and c.url.startswith('https'):
            LOG.info('Pool %s: no ca_file, the system CA store verifies '
                     'the engine', self.name)
        if not [n for n in c.clusters if n.strip()]:
            raise exception.PoolConfigError(
                g, 'clusters', c.clusters, 'missing; list the oVirt '
                'clusters this pool exposes')
        if not c.storage_domain:
            raise exception.PoolConfigError(
                g, 'storage_domain', c.storage_domain,
                'missing; name the data storage domain for images and '
                'instance disks')
        # An empty value in the file reads as None, not as the default.
        for option in ('timeout', 'connections'):
            if getattr(c, option) is None:
                raise exception.PoolConfigError(
                    g, option, None, 'empty; give a whole number (or '
                    'remove the line for the default)')
        if c.timeout > MAX_TIMEOUT:
            # libcurl takes a C long; a day is more than any request needs.
            raise exception.PoolConfigError(
                g, 'timeout', c.timeout, 'too large; at most %d seconds'
                % MAX_TIMEOUT)

    @property
    def _state_file(self):
        return os.path.join(CONF.state_path, 'nova-ovirt',
                            'ovirt-pool-%s.json' % self.name)

    def _load_nodes(self):
        try:
            with open(self._state_file) as f:
                data = json.load(f)
        except (OSError, ValueError):
            return {}
        if data.get('url') != self.conf.url:
            return {}   # another engine now: what we knew is wrong
        wanted = set(self._cluster_names())
        return {n: i for n, i in data.get('clusters', {}).items()
                if n in wanted}

    def _save_nodes(self):
        path = self._state_file
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = path + '.tmp'
            with open(tmp, 'w') as f:
                json.dump({'url': self.conf.url, 'clusters': self._nodes}, f)
            os.replace(tmp, path)
        except OSError as e:
            LOG.warning('Pool %s: could not save the node map to %s: %s',
                        self.name, path, e)

    def _cluster_names(self):
        return [n.strip() for n in self.conf.clusters if n.strip()]

    # -- engine bootstrap -----------------------------------------------------

    def _bootstrap(self):
        """Learn the ids of everything configured by name; check them."""
        g = self.group_name
        api = self.session.login()
        self.engine_version = inventory.hypervisor_version(
            api.product_info.version if api.product_info else None)
        clusters = self.session.read(
            lambda system: system.clusters_service().list())
        by_name = {c.name: c for c in clusters}
        by_id = {c.id: c for c in clusters}
        for name in self._cluster_names():
            if name not in by_name:
                error = exception.PoolConfigError(
                    g, 'clusters', self.conf.clusters,
                    'the engine has no cluster %r (it has: %s)' % (
                        name, ', '.join(sorted(by_name)) or 'none'))
                known = by_id.get(self._nodes.get(name))
                if known is not None:
                    # The node existed: the engine changed under it, no
                    # typo. Only this pool waits for the configuration.
                    error = exception.PoolConfigError(
                        g, 'clusters', self.conf.clusters,
                        'cluster %r (id %s) was renamed to %r in the '
                        'engine; its node stays unavailable until the '
                        'option names it again' % (name, known.id,
                                                   known.name))
                    error.engine_changed = True
                raise error
        sds = self.session.read(
            lambda system: system.storage_domains_service().list())
        sd = [s for s in sds if s.name == self.conf.storage_domain]
        if not sd:
            raise exception.PoolConfigError(
                g, 'storage_domain', self.conf.storage_domain,
                'the engine has no such storage domain (it has: %s)' %
                ', '.join(sorted(s.name for s in sds)))
        profiles = self.session.read(
            lambda system: system.vnic_profiles_service().list())
        self._check_profiles({p.name: p for p in profiles})
        if self._started:
            # Only a started pool (nova-compute, the preflight) claims.
            self.claims.acquire(
                [by_name[n] for n in self._cluster_names()], self.host, g,
                'clusters', self.conf.clusters)
            for name in self._cluster_names():
                self._heartbeats.beat(name)
        self._clusters = {by_name[n].id: by_name[n]
                          for n in self._cluster_names()}
        self._nodes = {n: by_name[n].id for n in self._cluster_names()}
        self._save_nodes()
        self.storage_domain_id = sd[0].id
        self.inventory = inventory.Inventory(self.session, sd[0].id)
        self.images = images.ImageCache(
            self.session, self.transfers, self.image_api, sd[0].id,
            timeout=self.spawn_timeout)
        self.snapshots = snapshot.Snapshots(
            self.vmops, self.transfers, self.image_api, self.spawn_timeout)
        self.migrations = migration.Migrations(self)
        self.rescues = rescue.Rescue(self)
        # The feed's position first: a change between the two is then
        # both in the listing and read again from the feed, never lost.
        self.poller.prime()
        self.cache.refresh(max_age=0)
        self._ready = True
        LOG.info('Pool %s: engine %s ready, clusters %s', self.name,
                 self.conf.url, ', '.join(sorted(self._nodes)))

    def _check_profiles(self, known):
        g = self.group_name
        for key, name in self.conf.vnic_profile_mappings.items():
            if name not in known:
                raise exception.PoolConfigError(
                    g, 'vnic_profile_mappings',
                    self.conf.vnic_profile_mappings,
                    'the engine has no vNIC profile %r (for %r; it has: %s)'
                    % (name, key, ', '.join(sorted(known))))
        mapped = sorted(set(self.conf.vnic_profile_mappings.values()))
        unfiltered = [n for n in mapped if known[n].network_filter is None]
        if unfiltered and self.conf.set_mac_anti_spoofing_filter:
            self._set_mac_filter([known[n] for n in unfiltered])
            unfiltered = []
        for name in unfiltered:
            LOG.warning('Pool %s: vNIC profile %s has no network filter: '
                        'guests on it can send frames with any MAC '
                        'address. Set the engine\'s %s filter on it, or '
                        'let the driver do it ([%s] '
                        'set_mac_anti_spoofing_filter = True)', self.name,
                        name, ovirt_vif.NO_MAC_SPOOFING, g)
        self.unfiltered_profiles = unfiltered
        self._profiles = {name: p.id for name, p in known.items()}

    def _set_mac_filter(self, profiles):
        filters = self.session.read(
            lambda system: system.network_filters_service().list())
        nf = [f for f in filters if f.name == ovirt_vif.NO_MAC_SPOOFING]
        if not nf:
            raise exception.PoolConfigError(
                self.group_name, 'set_mac_anti_spoofing_filter', True,
                'the engine has no network filter %s' %
                ovirt_vif.NO_MAC_SPOOFING)
        change = types.VnicProfile(
            network_filter=types.NetworkFilter(id=nf[0].id))
        for profile in profiles:
            self.session.read(
                lambda system, pid=profile.id: system.vnic_profiles_service()
                .profile_service(pid).update(change,
                                             query=ovirt_session.q()))
            LOG.info('Pool %s: vNIC profile %s now filters spoofed MAC '
                     'addresses (%s)', self.name, profile.name,
                     ovirt_vif.NO_MAC_SPOOFING)

    def _try_bootstrap(self, fatal):
        """Connect and bootstrap; False (reason in last_error) if not.

        ``fatal`` (at start): a configuration mistake raises, which stops
        nova-compute. Anything the engine's side causes (unreachable, a
        certificate that does not verify, a cluster renamed there) leaves
        only this pool's nodes unavailable, with one log line per reason.
        """
        with self._boot_lock:
            if self._ready:
                return True
            try:
                self._bootstrap()
                self.last_error = self.last_failure = None
                self._logged_reason = None
                return True
            except Exception as e:
                failure = self._failure(e)
            if fatal and isinstance(failure, exception.PoolConfigError) \
                    and not getattr(failure, 'engine_changed', False):
                self.last_error, self.last_failure = str(failure), failure
                raise failure
            text = str(failure) if isinstance(
                failure, exception.PoolConfigError) else \
                ovirt_session.fault_text(failure)
            reason = self._outage_reason(failure, text)
            if reason != self._logged_reason:
                # One line per reason and outage, not one per retry: the
                # poller, the requests and the resource update all retry,
                # and libcurl words each refusal a little differently
                # ("after 0 ms", "after 1 ms").
                self._logged_reason = reason
                LOG.error('Pool %s: engine %s unavailable, the pool\'s '
                          'nodes are unavailable until it answers: %s',
                          self.name, self.conf.url, text)
            self.last_error, self.last_failure = text, failure
            return False

    @staticmethod
    def _outage_reason(failure, text):
        """What makes two bootstrap failures the same reason to log.

        Any transport failure is the engine not answering, whatever
        libcurl's words; other failures are told apart by their text.
        """
        if not isinstance(failure, exception.PoolConfigError) and \
                ovirt_session.is_transport_error(failure):
            return 'engine unreachable'
        return text

    def _failure(self, error):
        """The bootstrap's error as what the operator must act on."""
        if isinstance(error, exception.PoolConfigError):
            return error
        if isinstance(error, sdk.AuthError):
            return exception.PoolConfigError(
                self.group_name, 'password', '***',
                'the engine refused user %s: %s' % (
                    self.conf.username, ovirt_session.fault_text(error)))
        if isinstance(error, sdk.Error) and \
                ovirt_session.is_tls_error(error) and \
                ovirt_session.is_transport_error(error):
            failure = exception.PoolConfigError(
                self.group_name, 'ca_file', self.conf.ca_file,
                'the engine\'s certificate does not verify: %s'
                % ovirt_session.fault_text(error))
            # The engine's certificate may have changed (or the CA file
            # was not renewed): the other pools keep serving.
            failure.engine_changed = True
            return failure
        return error

    def _reconnect(self):
        """Poller tick: True when the engine is ready for event reads."""
        return self._ready or self._try_bootstrap(fatal=False)

    def _require_ready(self, operation='connect', where=None):
        # Requests made while the engine is away try to reconnect at most
        # every RETRY_SECONDS; the poller keeps trying in the background.
        now = time.monotonic()
        if not self._ready and now - self._last_attempt >= RETRY_SECONDS:
            self._last_attempt = now
            self._try_bootstrap(fatal=False)
        if not self._ready:
            raise exception.BackendUnavailableDuring(
                operation=operation, target=where or self.where(),
                backend='the oVirt engine',
                reason=self.last_error or 'not connected yet')

    def where(self, nodename=None):
        """How faults name the place of a failure."""
        if nodename:
            return 'node %s (pool %s)' % (nodename, self.name)
        return 'pool %s' % self.name

    @property
    def image_api(self):
        if self._image_api is None:
            from nova.image import glance
            self._image_api = glance.API()
        return self._image_api

    # -- nodes ----------------------------------------------------------------

    def start(self):
        self._started = True
        self._try_bootstrap(fatal=True)
        self.poller.start()

    def stop(self):
        self.poller.stop()
        self.consoles.stop()
        self.session.close()
        self._ready = False

    def nodes(self):
        return dict(self._nodes)

    def cluster_ids(self):
        return set(self._nodes.values())

    def cluster_id(self, nodename):
        try:
            return self._nodes[nodename]
        except KeyError:
            raise exception.NodeNotFound(nodename=nodename)

    def node_is_available(self, nodename):
        return (self._ready and nodename in self._nodes and
                nodename not in self._handed_over)

    # -- claims (nova-ovirt-manage claim) ----------------------------------

    def read_claims(self):
        """{node: Claim or None} for the configured clusters."""
        return self.claims.read_all(self._cluster_names())

    def take_over_claim(self, nodename, force=False):
        self._check_node_name(nodename)
        self.claims.take_over(nodename, self.host, force)

    def release_claim(self, nodename):
        self._check_node_name(nodename)
        return self.claims.release(nodename, self.host)

    def _check_node_name(self, nodename):
        if nodename not in self._cluster_names():
            raise exception.NodeNotFound(nodename=nodename)

    def _heartbeat(self, nodename):
        """Refresh this service's claim on the node's cluster, once a
        minute (the resource tracker asks every node every minute)."""
        if not self._heartbeats.due(nodename):
            return
        if not self.claims.heartbeat(self.cluster_id(nodename), self.host):
            if nodename not in self._handed_over:
                LOG.error('[%s] clusters: oVirt cluster %r was handed over '
                          'to another nova-compute service; node %s is '
                          'unavailable here', self.group_name, nodename,
                          nodename)
            self._handed_over.add(nodename)
            raise exception.NodeNotFound(nodename=nodename)
        self._heartbeats.beat(nodename)

    def describe(self):
        """What the engine bootstrap found, for nova-ovirt-status.

        Plain data: the engine, the TLS settings, and per cluster its id,
        hosts and Nova-owned VMs; the storage domain and the vNIC profiles
        the pool uses. Only the url and TLS keys before the engine is ready.
        """
        found = {'url': self.conf.url, 'ready': self._ready,
                 'last_error': self.last_error,
                 'ca_file': self.conf.ca_file,
                 'insecure': self.conf.insecure,
                 'username': self.conf.username}
        if not self._ready:
            return found
        owned = {cid: self.cache.owned(cid) for cid in self._nodes.values()}
        clusters = {}
        for name, cluster_id in self._nodes.items():
            cluster = self._clusters[cluster_id]
            hosts = self.inventory.hosts(cluster_id)
            clusters[name] = {
                'id': cluster_id,
                'cpu_type': cluster.cpu.type if cluster.cpu else None,
                'hosts': len(hosts),
                'hosts_up': len([h for h in hosts if inventory.usable(h)]),
                'nova_vms': owned[cluster_id],
            }
        sd = self.inventory.storage_domain()
        used = dict(self.conf.vnic_profile_mappings)
        found.update(
            engine_version=self.engine_version,
            clusters=clusters,
            storage_domain={
                'name': sd.name, 'id': sd.id,
                'type': sd.type.value if sd.type else None,
                'available_gb': (sd.available or 0) // inventory.GiB,
                'used_gb': (sd.used or 0) // inventory.GiB},
            vnic_profiles={key: {'name': name,
                                 'id': self._profiles.get(name),
                                 'mac_filter': name not in
                                 self.unfiltered_profiles}
                           for key, name in used.items()})
        return found

    def _cluster(self, nodename):
        return self._clusters[self.cluster_id(nodename)]

    def _nova_memory_mb(self, cluster_id):
        """Memory Nova's running guests in the cluster hold, in MiB."""
        try:
            return self.cache.memory_held(cluster_id) // inventory.MiB
        except sdk.Error as e:
            raise ovirt_session.translate(e, 'list instances', self.name)

    @_engine
    def get_available_resource(self, nodename):
        self._heartbeat(nodename)
        cluster = self._cluster(nodename)
        return inventory.resources(
            cluster, self.inventory.hosts(cluster.id),
            self.inventory.storage_domain(), self.engine_version,
            self._nova_memory_mb(cluster.id))

    @_engine
    def get_inventory(self, nodename):
        cluster_id = self.cluster_id(nodename)
        return self.inventory.hardware(cluster_id,
                                       self._nova_memory_mb(cluster_id))

    @_engine
    def shared_inventory(self, nodename):
        self.cluster_id(nodename)
        return self.inventory.shared()

    def node_traits(self, nodename):
        cluster = self._clusters.get(self._nodes.get(nodename))
        if cluster is None or cluster.cpu is None:
            return set()
        trait = inventory.cpu_trait(cluster.cpu.type)
        return {trait} if trait else set()

    def profile_id_for(self, vif):
        """The vNIC profile id of a port; UnmappedNetwork if its network
        has no mapping."""
        name = ovirt_vif.profile_name(vif, self.conf.vnic_profile_mappings,
                                      self.group_name)
        try:
            return self._profiles[name]
        except KeyError:
            raise exception.BackendOperationFailed(
                operation='plug vif', target=vif.get('id'),
                reason='no vNIC profile %r on the engine' % name)

    # -- instances ------------------------------------------------------------

    def _listing(self):
        """{uuid: VmRecord} of the cache; engine errors as nova's."""
        try:
            return self.cache.all()
        except sdk.Error as e:
            raise ovirt_session.translate(e, 'list instances', self.name)

    def list_instance_uuids(self):
        if not self._ready:
            # Never claim instances are gone because the engine is away.
            # (Why it is away was logged once, when it went.)
            LOG.debug('Pool %s: engine unavailable, listing no '
                      'instances', self.name)
            return []
        return sorted(self._listing())

    def list_instances(self):
        if not self._ready:
            return []
        return sorted(r.name for r in self._listing().values())

    def instance_exists(self, instance):
        if not self._ready:
            return False
        try:
            self.vmops.info(instance)
            return True
        except nova_exception.InstanceNotFound:
            return False
        except sdk.Error as e:
            raise ovirt_session.translate(e, 'instance_exists',
                                          instance.uuid)

    @_engine
    def get_info(self, instance, use_cache=True):
        return self.vmops.info(instance, use_cache)

    @_engine
    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        self.vmops.spawn(context, instance, image_meta, admin_password,
                         network_info, power_on, block_device_info)

    @_engine
    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        reverting = instance.task_state == task_states.RESIZE_REVERTING
        self.vmops.destroy(instance, keep_for_revert=reverting,
                           keep_disks=not destroy_disks)

    @_engine
    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True):
        self.vmops.cleanup(instance, destroy_disks)

    @_engine
    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None, share_info=None):
        self.vmops.reboot(instance, reboot_type)

    @_engine
    def power_off(self, instance, timeout=0, retry_interval=0):
        self.vmops.power_off(instance, timeout)

    @_engine
    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None, share_info=None):
        self.vmops.start(self.vmops.vm_id(instance))

    @_engine
    def suspend(self, context, instance):
        self.vmops.suspend(instance)

    @_engine
    def resume(self, context, instance, network_info,
               block_device_info=None, share_info=None):
        self.vmops.resume(instance)

    @_engine
    def resume_state_on_host_boot(self, context, instance, network_info,
                                  share_info, block_device_info=None):
        # The engine keeps VMs running across nova-compute restarts; only
        # one that is down while nova thinks it runs is started.
        info = self.vmops.info(instance, use_cache=False)
        if info.state != vm_cache.power_state.RUNNING:
            self.vmops.start(self.vmops.vm_id(instance))

    @_engine
    def snapshot(self, context, instance, image_id, update_task_state):
        self.snapshots.to_glance(context, instance, image_id,
                                 update_task_state)

    @_engine
    def rescue(self, context, instance, network_info, image_meta,
               rescue_password, block_device_info, share_info):
        self.rescues.rescue(context, instance, image_meta, rescue_password)

    @_engine
    def unrescue(self, context, instance):
        self.rescues.unrescue(instance)

    @_engine
    def attach_interface(self, context, instance, image_meta, vif):
        self.vmops.attach_interface(instance, vif, image_meta)

    @_engine
    def detach_interface(self, context, instance, vif):
        self.vmops.detach_interface(instance, vif)

    @_engine
    def get_vnc_console(self, context, instance):
        return self.consoles.get_vnc_console(instance)

    # -- volumes (pools/ovirt/volumeops.py) ----------------------------------

    def get_volume_connector(self, instance):
        return self.volumes.connector(instance)

    @_engine
    def attach_volume(self, context, connection_info, instance, mountpoint,
                      disk_bus=None, device_type=None, encryption=None):
        self.volumes.attach(instance, connection_info, disk_bus)

    @_engine
    def detach_volume(self, context, connection_info, instance, mountpoint,
                      encryption=None):
        self.volumes.detach(instance, connection_info)

    @_engine
    def extend_volume(self, context, connection_info, instance,
                      requested_size):
        return self.volumes.extend(instance, connection_info, requested_size)

    # -- moves ----------------------------------------------------------------

    warm_export = True

    @_engine
    def migrate_disk_and_power_off(self, context, instance, dest, flavor,
                                   network_info, block_device_info=None,
                                   timeout=0, retry_interval=0,
                                   dest_node=None, leaves_pool=False,
                                   open_warm_target=None):
        return self.migrations.migrate_disk_and_power_off(
            instance, flavor, timeout, leaves_pool, open_warm_target)

    @_engine
    def finish_migration(self, context, migration, instance, disk_info,
                         network_info, image_meta, resize_instance,
                         allocations, block_device_info=None, power_on=True,
                         source_pool=None):
        self.migrations.finish(context, migration, instance, network_info,
                               resize_instance, power_on, source_pool)

    @_engine
    def confirm_migration(self, context, migration, instance, network_info):
        self.migrations.confirm(migration, instance)

    @_engine
    def finish_revert_migration(self, context, instance, network_info,
                                migration, block_device_info=None,
                                power_on=True):
        self.migrations.finish_revert(migration, instance, power_on)

    @contextlib.contextmanager
    def open_root_disk_export(self, instance):
        self._require_ready()
        with self.migrations.open_root_disk_export(instance) as export:
            yield export

    # -- live migration (pools/ovirt/live_migration.py) -----------------------

    def owns_live_migration(self, migrate_data):
        return live_migration.dest_cluster_id(migrate_data) in \
            self.cluster_ids()

    @_engine
    def check_can_live_migrate_destination(self, context, instance, nodename,
                                           block_migration,
                                           disk_over_commit):
        return self.live_migrations.check_destination(nodename, instance,
                                                      block_migration)

    def cleanup_live_migration_destination_check(self, context, data):
        """The destination's check left nothing behind."""

    @_engine
    def check_can_live_migrate_source(self, context, instance, data):
        return self.live_migrations.check_source(instance, data)

    @_engine
    def pre_live_migration(self, context, instance, network_info, disk_info,
                           data, block_device_info=None):
        return self.live_migrations.pre_live_migration(instance, data)

    @_engine
    def live_migration(self, context, instance, dest, post_method,
                       recover_method, block_migration, data):
        self.live_migrations.live_migration(
            context, instance, dest, post_method, recover_method,
            block_migration, data)

    @_engine
    def live_migration_abort(self, instance):
        self.live_migrations.abort(instance)

    @_engine
    def post_live_migration_at_destination(self, context, instance):
        self.live_migrations.post_live_migration_at_destination(instance)

    def rollback_live_migration_at_destination(self, context, instance,
                                               destroy_disks, data):
        """Nothing was made at the destination (nova does not even call
        this for oVirt migrate data)."""

    # -- evacuation (pools/ovirt/evacuation.py) -------------------------------

    def instance_on_disk(self, instance):
        """True if this pool's engine holds the instance's VM, stopped;
        refused if the engine does not report it down."""
        if not self._ready:
            return False
        try:
            return self.evacuations.stopped_vm(instance) is not None
        except sdk.Error as e:
            raise ovirt_session.translate(e, 'evacuation check', self.where())

    @_engine
    def check_can_evacuate(self, context, instance):
        # Again, right before the move: the VM may have started meanwhile.
        if self.evacuations.stopped_vm(instance) is None:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)

    @_engine
    def rebuild(self, context, instance, image_meta, injected_files,
                admin_password, allocations, bdms, detach_block_devices,
                attach_block_devices, network_info=None, evacuate=False,
                block_device_info=None, preserve_ephemeral=False,
                accel_uuids=None, reimage_boot_volume=False):
        """Evacuation: the stopped VM moves to this service's cluster and
        starts there; a rebuild in place is nova's default."""
        if not evacuate:
            raise NotImplementedError()
        nodename = self._node_of_allocations(allocations)
        self.evacuations.evacuate(
            context, instance, nodename, bdms, detach_block_devices,
            attach_block_devices)

    def _node_of_allocations(self, allocations):
        for nodename, cluster_id in self._nodes.items():
            if cluster_id in (allocations or {}):
                return nodename
        raise exception.NodeNotFound(
            nodename='(none of pool %s among %s)' % (
                self.name, sorted(allocations or {})))

    # -- housekeeping ---------------------------------------------------------

    def get_host_ip_addr(self):
        return None

    @_engine
    def manage_image_cache(self, context, all_instances):
        if not imagecache.enabled():
            return
        removed, freed, kept = self.images.manage(
            imagecache.used_image_ids(all_instances),
            imagecache.minimum_age(), self._unused_images)
        imagecache.log_pass(self.name, 'engine %s' % self.conf.url, removed,
                            freed, kept)
