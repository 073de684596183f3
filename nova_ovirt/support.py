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

"""What each pool backend supports, by nova ComputeDriver method.

The one source of the support matrix's levels. Every public method of
nova's ``ComputeDriver`` has a level for each backend: the operations the
driver implements (or deliberately lacks) are listed in :data:`SUPPORT`;
any other method gets its level from the code (:func:`implemented`), so
that a method nova adds tomorrow is classified too.

The documentation renders the table with what the tests reached
(``doc/source/support-evidence.json``, written by ``tools/run_suite.py``
from the functional and live tiers); the test run fails when a method
claimed ``complete`` or ``partial`` here was not reached on its backend,
and the unit tests fail when a claim disagrees with the code.

Levels:

``complete``
    works as nova's libvirt driver does it, for every case nova passes in.
``partial``
    works for the common case; :data:`NOTES` says what is left out.
``untested``
    the driver has code for it, but no functional or live test reaches it
    through nova yet (nova calls it only in paths those tiers do not
    drive); not claimed until one does.
``default``
    OvirtDriver does not override it: nova's own ``ComputeDriver`` answers
    (a no-op, or an answer derived from other methods).
``missing``
    raises NotImplementedError (nova reports the operation as unsupported,
    or falls back to another way, as :data:`NOTES` says).
"""

COMPLETE = 'complete'
PARTIAL = 'partial'
UNTESTED = 'untested'
DEFAULT = 'default'
MISSING = 'missing'
LEVELS = (COMPLETE, PARTIAL, UNTESTED, DEFAULT, MISSING)

#: What no backend supports yet: Cinder volumes.
_NOT_YET = dict.fromkeys(
    ('attach_volume', 'detach_volume', 'swap_volume', 'extend_volume'),
    MISSING)
_LIVE_MIGRATION = ('live_migration', 'live_migration_abort',
                   'live_migration_force_complete',
                   'check_can_live_migrate_destination',
                   'check_can_live_migrate_source', 'pre_live_migration',
                   'post_live_migration_at_destination',
                   'cleanup_live_migration_destination_check',
                   'get_instance_disk_info', 'post_live_migration_at_source',
                   'rollback_live_migration_at_destination')
_NO_VOLUMES_YET = dict.fromkeys(
    ('attach_volume', 'detach_volume', 'swap_volume', 'extend_volume'),
    'Cinder volumes are not supported yet.')
#: Methods every backend shares through the facade and the pool contract.
_COMMON = {
    # service life
    'init_host': COMPLETE,
    'cleanup_host': COMPLETE,
    'node_is_available': COMPLETE,
    'get_host_uptime': COMPLETE,
    'get_host_ip_addr': COMPLETE,
    'plug_vifs': COMPLETE,
    'unplug_vifs': COMPLETE,
    'resume_state_on_host_boot': COMPLETE,
    # nova calls these from periodic tasks, evacuation, cross-cell
    # resize or volume paths, which no test drives yet
    'manage_image_cache': UNTESTED,
    'cleanup': UNTESTED,
    'instance_exists': UNTESTED,
    'get_volume_connector': UNTESTED,
    # nova names the root device of every boot with it
    'default_root_device_name': COMPLETE,
    # NotImplementedError: nova rebuilds by destroy and spawn itself
    'rebuild': MISSING,
    # asked before an evacuation: only a pool sharing the old node's
    # storage says yes (oVirt's engine)
    'instance_on_disk': COMPLETE,
}
_COMMON_NOTES = {
    'manage_image_cache': 'Called by nova-compute\'s image cache periodic '
                          'task.',
    'cleanup': 'Called by nova for cross-cell resizes and for guests of '
               'deleted instances still running.',
    'instance_exists': 'Called by nova before an evacuation.',
    'get_volume_connector': 'Answers the compute host\'s identity; nova asks '
                            'for it only for Cinder volumes.',
    'rebuild': 'No in-place rebuild: the driver raises '
               'NotImplementedError and nova rebuilds by destroy and spawn, '
               'so the server rebuild API works.',
}

_LIBVIRT = {
    **_COMMON,
    # nodes and resources
    'get_available_nodes': COMPLETE,
    'get_nodenames_by_uuid': COMPLETE,
    'get_available_resource': COMPLETE,
    'update_provider_tree': COMPLETE,
    # inventory of instances
    'list_instances': COMPLETE,
    'list_instance_uuids': COMPLETE,
    'get_info': COMPLETE,
    # lifecycle
    'spawn': COMPLETE,
    'destroy': COMPLETE,
    'manage_image_cache': COMPLETE,
    'reboot': COMPLETE,
    'power_off': COMPLETE,
    'power_on': COMPLETE,
    'pause': COMPLETE,
    'unpause': COMPLETE,
    'suspend': COMPLETE,
    'resume': COMPLETE,
    'snapshot': COMPLETE,
    'rescue': COMPLETE,
    'unrescue': COMPLETE,
    # resize and cold migration
    'migrate_disk_and_power_off': COMPLETE,
    'finish_migration': COMPLETE,
    'confirm_migration': COMPLETE,
    'finish_revert_migration': COMPLETE,
    # networking
    'attach_interface': COMPLETE,
    'detach_interface': COMPLETE,
    # consoles
    'get_console_output': COMPLETE,
    'get_vnc_console': COMPLETE,
    # live migration
    **dict.fromkeys(_LIVE_MIGRATION, PARTIAL),
    # nova calls it only on some live-migration paths no test takes yet
    'post_live_migration_at_source': UNTESTED,
    # Removes the volumes' secrets at the source (VolumeLiveMigrationTest
    # checks that), but nova calls it inside live_migration's callback,
    # which the evidence recorder (outermost driver calls) cannot see.
    'post_live_migration': UNTESTED,
    # evacuation (an in-place rebuild is nova's destroy and spawn)
    'rebuild': PARTIAL,
    'instance_on_disk': COMPLETE,
    'check_instance_shared_storage_local': COMPLETE,
    'check_instance_shared_storage_remote': COMPLETE,
    'check_instance_shared_storage_cleanup': COMPLETE,
    # not supported (yet)
    **_NOT_YET,
    # Cinder volumes through qemu's own initiators (doc/source/volumes.rst)
    'get_volume_connector': COMPLETE,
    'attach_volume': PARTIAL,
    'detach_volume': COMPLETE,
    'extend_volume': COMPLETE,
    'swap_volume': PARTIAL,
}

_OVIRT = {
    **_COMMON,
    # nodes and resources
    'get_available_nodes': COMPLETE,
    'get_nodenames_by_uuid': COMPLETE,
    'get_available_resource': COMPLETE,
    'update_provider_tree': COMPLETE,
    # inventory of instances
    'list_instances': COMPLETE,
    'list_instance_uuids': COMPLETE,
    'get_info': COMPLETE,
    # lifecycle
    'spawn': PARTIAL,
    'destroy': COMPLETE,
    'manage_image_cache': COMPLETE,
    'reboot': COMPLETE,
    'power_off': COMPLETE,
    'power_on': COMPLETE,
    'pause': MISSING,
    'unpause': MISSING,
    'suspend': COMPLETE,
    'resume': COMPLETE,
    'snapshot': PARTIAL,
    'rescue': PARTIAL,
    'unrescue': COMPLETE,
    # resize and cold migration
    'migrate_disk_and_power_off': COMPLETE,
    'finish_migration': PARTIAL,
    'confirm_migration': COMPLETE,
    'finish_revert_migration': COMPLETE,
    # networking
    'attach_interface': COMPLETE,
    'detach_interface': COMPLETE,
    # consoles
    'get_console_output': MISSING,
    'get_vnc_console': PARTIAL,
    # live migration between clusters of one engine (live_migration.py)
    **dict.fromkeys(_LIVE_MIGRATION, PARTIAL),
    # no block migration: the disks stay on the engine's storage domains
    'get_instance_disk_info': MISSING,
    'live_migration_force_complete': MISSING,
    # nova calls rollback_live_migration_at_destination and
    # post_live_migration_at_source on paths oVirt migrate data avoids
    'rollback_live_migration_at_destination': UNTESTED,
    'post_live_migration_at_source': UNTESTED,
    # a no-op for oVirt, called inside live_migration's callback
    'post_live_migration': UNTESTED,
    # evacuation of a VM the engine reports down (evacuation.py)
    'rebuild': PARTIAL,
    'instance_on_disk': PARTIAL,
    # nova's shared-storage checks: the disks stay in the engine
    'check_instance_shared_storage_local': MISSING,
    'check_instance_shared_storage_remote': UNTESTED,
    'check_instance_shared_storage_cleanup': UNTESTED,
    # not supported (yet)
    **_NOT_YET,
    # Cinder volumes as direct LUN disks (doc/source/volumes.rst)
    'get_volume_connector': COMPLETE,
    'attach_volume': PARTIAL,
    'detach_volume': COMPLETE,
    'extend_volume': COMPLETE,
}

#: {backend: {nova ComputeDriver method: level}}
SUPPORT = {
    'libvirt': _LIBVIRT,
    'ovirt': _OVIRT,
}

#: {backend: {method: text}}: what a ``partial`` level leaves out, or why
#: a method is missing.
NOTES = {
    'libvirt': {
        **_COMMON_NOTES,
        'attach_volume': 'iSCSI (CHAP included) through qemu\'s libiscsi '
                         'and RBD through librbd, as network disks; also '
                         'the boot volume of a volume-backed server. '
                         'Fibre Channel, NVMe-oF, NFS and other types that '
                         'need a connector on the host are refused; a '
                         'local block device only on a node with a local '
                         'URI.',
        'swap_volume': 'Online only (nova allows it for active, paused '
                       'and resized servers): qemu copies the running '
                       'guest\'s disk into the new volume (libvirt block '
                       'copy) and pivots; a stopped guest\'s swap is '
                       'refused. A larger new volume shows its full size '
                       'from the guest\'s next start (qemu 7 cannot grow '
                       'the slice it copied through).',
        'spawn': 'Also adopts a running foreign domain (nova-ovirt-manage '
                 'adopt: one-time token in the domain\'s metadata, no '
                 'restart). Adopted servers support stop, start, reboot, '
                 'pause, suspend, console, delete (which '
                 'keeps their disks), snapshot (a backup while running), '
                 'interface and volume attach, resize and cold migration '
                 'within the pool (vCPUs and memory of their own '
                 'definition; disk files copied to the same paths, no '
                 'qcow2 overlays) and live migration (their own '
                 'definition; disks copied into pre-made files at the '
                 'same paths unless shared); rescue is refused.',
        'rescue': 'The rescue password reaches the rescue system as '
                  'admin_pass on a config drive of the rescue\'s own.',
        'rebuild': 'Evacuation only: the guest starts on its own disks '
                   'when the destination\'s storage pool holds them '
                   '(shared storage), else it is rebuilt from its image; '
                   'an in-place rebuild is nova\'s destroy and spawn.',
        **dict.fromkeys(
            _LIVE_MIGRATION,
            'Between nodes of two nova-compute services (nova\'s rule), '
            'client-managed; block migration or shared storage, detected. '
            'Cinder volumes (iSCSI, CHAP) follow the guest uncopied, their '
            'secrets defined on the destination first. No NUMA, PCI or '
            'vTPM guests.'),
    },
    'ovirt': {
        **_COMMON_NOTES,
        'spawn': 'Images (raw or qcow2) or a Cinder iSCSI root volume '
                 '(boot from volume, a direct LUN disk). User '
                 'data reaches the guest as the cloud-init custom script, '
                 'with the host name and SSH key; injected files and '
                 'config drives are not passed. hw_qemu_guest_agent '
                 'cannot turn off the agent channel the engine adds.',
        'pause': 'The oVirt engine has no pause action.',
        'unpause': 'The oVirt engine has no pause action.',
        'snapshot': 'The root disk only, stored in Glance as a qcow2 '
                    'image of its data (holes are not transferred).',
        'rescue': 'The rescue image boots from a thin disk on its '
                  'template, the root disk stays attached (not bootable); '
                  'the rescue password reaches the guest through '
                  'cloud-init (run once). The image properties '
                  'hw_rescue_bus and hw_rescue_device are not honoured.',
        'migrate_disk_and_power_off': 'Towards a libvirt pool a running '
                                      'VM whose root disk has incremental '
                                      'backup enabled is pre-copied warm '
                                      '(backup rounds, a cutover of the '
                                      'last delta only, no resize '
                                      'snapshot); '
                                      'otherwise the move is cold.',
        'finish_migration': 'Within one engine the VM changes cluster in '
                            'place, also between two nova-compute services '
                            'sharing the engine; from another engine or a '
                            'libvirt pool the root disk is streamed as raw '
                            'guest data into a sparse qcow2 disk (other '
                            'disks are not moved).',
        'get_console_output': 'The oVirt engine offers no serial console '
                              'log through its API.',
        'update_provider_tree': 'DISK_GB is the storage domain\'s, offered '
                                'once by a sharing provider in an '
                                'aggregate with the clusters.',
        'attach_interface': 'Only networks mapped in vnic_profile_mappings '
                            '(physical network or UUID); others fail.',
        'get_vnc_console': 'Through a relay in nova-compute that logs in '
                           'with the VM\'s console ticket and serves only '
                           'nova-novncproxy connections with a live '
                           'console token\'s secret; VNC over TLS to the '
                           'host is not used.',
        'attach_volume': 'iSCSI (CHAP included) and Fibre Channel as '
                         'direct LUN disks that the engine\'s hosts reach; '
                         'rbd and other types are refused (the engine\'s '
                         'managed block storage domains cannot take over '
                         'a volume Cinder made).',
        'swap_volume': 'The engine has no API to move a running VM\'s '
                       'direct LUN disk onto another LUN (disk copy and '
                       'move work between storage domains only): the swap '
                       'fails with that reason and the volume stays.',
        **dict.fromkeys(
            _LIVE_MIGRATION,
            'Between clusters of one engine, which are nodes of two '
            'nova-compute services (nova\'s rule): the engine\'s migrate '
            'action; the clusters must be in one data center and have the '
            'same CPU type (doc/source/live-migration.rst). No block '
            'migration; no Cinder volumes, NUMA or PCI guests.'),
        'get_instance_disk_info': 'No block migration: the disks stay on '
                                  'the engine\'s storage domains.',
        'live_migration_force_complete': 'The engine converges a migration '
                                         'by its own migration policy.',
        'rebuild': 'Evacuation only, and only of a VM the engine reports '
                   'down: the same VM moves to the new cluster and starts; '
                   'a running one is refused. An in-place rebuild is '
                   'nova\'s destroy and spawn.',
        'instance_on_disk': 'Refuses an evacuation unless the engine '
                            'reports the VM down.',
    },
}


def driver_methods():
    """Public methods of nova's ComputeDriver, by introspection."""
    from nova.virt import driver as nova_driver

    return sorted(name for name in dir(nova_driver.ComputeDriver)
                  if not name.startswith('_') and
                  callable(getattr(nova_driver.ComputeDriver, name)))


def _raises_not_implemented(func):
    """Call `func` (a plain function of a class) with a bare object for
    self and None arguments: does it raise NotImplementedError?

    Used only on nova's ComputeDriver and the Pool contract's defaults,
    which are one-liners (raise, pass, or an answer derived from other
    methods): whatever else they raise on a bare object means they do
    have an implementation.
    """
    import inspect
    import types

    # classmethod and staticmethod objects as vars() holds them.
    func = getattr(func, '__func__', func)
    params = list(inspect.signature(func).parameters.values())[1:]
    args = [None for p in params if p.default is p.empty and p.kind in (
        p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    try:
        func(types.SimpleNamespace(), *args)
    except NotImplementedError:
        return True
    except Exception:
        return False
    return False


def _defined_by(cls, name):
    """The class of cls's MRO that defines attribute `name`."""
    return next(k for k in cls.__mro__ if name in vars(k))


def overrides(method):
    """True when OvirtDriver has its own `method` (not nova's)."""
    from nova.virt import driver as nova_driver

    from nova_ovirt import driver as ovirt_driver

    return (_defined_by(ovirt_driver.OvirtDriver, method) is not
            nova_driver.ComputeDriver)


def implemented(backend, method):
    """Whether `method` works for `backend`, decided by the code.

    OvirtDriver's own method delegates to the pool's method of the same
    name (when the Pool contract has one): the backend implements it when
    its pool class overrides the contract's default or that default does
    not raise NotImplementedError. A method OvirtDriver does not override
    is nova's, implemented unless nova's raises NotImplementedError.
    """
    from nova.virt import driver as nova_driver

    from nova_ovirt import pools as pool_loader
    from nova_ovirt.pools import base as pool_base

    if not overrides(method):
        return not _raises_not_implemented(
            vars(nova_driver.ComputeDriver)[method])
    if method not in vars(pool_base.Pool):
        return True  # answered by the facade alone
    pool_cls = pool_loader.backend_class(backend, 'support-matrix')
    if _defined_by(pool_cls, method) is not pool_base.Pool:
        return True
    return not _raises_not_implemented(vars(pool_base.Pool)[method])


def level(backend, method):
    """Level of `method` for `backend`.

    Listed methods have their listed level; any other ComputeDriver method
    is ``default`` or ``missing``, as :func:`implemented` finds.
    """
    listed = SUPPORT.get(backend, {}).get(method)
    if listed is not None:
        return listed
    if backend not in SUPPORT:
        return MISSING
    if overrides(method):
        # OvirtDriver's own methods are listed (the unit tests hold that).
        return MISSING
    return DEFAULT if implemented(backend, method) else MISSING


def matrix():
    """{backend: {method: level}} for every ComputeDriver method."""
    return {backend: {m: level(backend, m) for m in driver_methods()}
            for backend in sorted(SUPPORT)}


def claimed(backend):
    """Methods claimed to work (complete or partial) for `backend`."""
    return sorted(m for m, lv in SUPPORT.get(backend, {}).items()
                  if lv in (COMPLETE, PARTIAL))


def missing(backend):
    """Methods listed as missing for `backend`."""
    return sorted(m for m, lv in SUPPORT.get(backend, {}).items()
                  if lv == MISSING)


#: Test tiers whose records are evidence for the matrix: they drive the
#: driver as nova-compute does (through nova's REST API, or a real guest).
EVIDENCE_TIERS = ('functional', 'live')


def unreached(backend, evidence):
    """Claimed methods of `backend` that no evidence tier reached.

    :param evidence: ``{backend: {method: {tier: [test ids]}}}`` as
        ``tools/run_suite.py`` records it
    """
    reached = evidence.get(backend, {})
    return [m for m in claimed(backend)
            if not any(reached.get(m, {}).get(t) for t in EVIDENCE_TIERS)]


#: tempest ``[compute-feature-enabled]`` flags and the driver methods each
#: needs. A flag is True only when every configured backend supports all
#: its methods (complete or partial): tempest cannot choose the pool a
#: test server lands in.
TEMPEST_FEATURES = {
    'live_migration': ('live_migration', 'pre_live_migration',
                       'post_live_migration_at_destination'),
    # nova asks the source for its disks to copy them.
    'block_migration_for_live_migration': ('live_migration',
                                           'get_instance_disk_info'),
    'pause': ('pause', 'unpause'),
    'suspend': ('suspend', 'resume'),
    'resize': ('migrate_disk_and_power_off', 'finish_migration',
               'confirm_migration', 'finish_revert_migration'),
    'cold_migration': ('migrate_disk_and_power_off', 'finish_migration',
                       'confirm_migration', 'finish_revert_migration'),
    'rescue': ('rescue', 'unrescue'),
    'snapshot': ('snapshot',),
    # Shelve snapshots the server and boots it again from the snapshot.
    'shelve': ('snapshot', 'spawn', 'destroy'),
    'interface_attach': ('attach_interface', 'detach_interface'),
    'console_output': ('get_console_output',),
    'vnc_console': ('get_vnc_console',),
    'swap_volume': ('swap_volume',),
    'extend_attached_volume': ('extend_volume',),
    'attach_encrypted_volume': ('attach_volume', 'detach_volume'),
}


#: tempest flags that need complete support, because they test exactly
#: what a partial entry leaves out: stable_rescue boots the rescue image
#: on hw_rescue_bus/hw_rescue_device (ignored by the oVirt backend);
#: shelve_migrate unshelves and then cold-migrates the server with all its
#: disks (oVirt's snapshot and move carry the root disk only).
TEMPEST_COMPLETE_FEATURES = {
    'stable_rescue': ('rescue', 'unrescue'),
    'shelve_migrate': ('snapshot', 'spawn', 'migrate_disk_and_power_off',
                       'finish_migration'),
}

#: tempest flags a backend fails although it has the methods: tempest's
#: live migration tests name the destination host, and nova's scheduler
#: then asks placement ``in_tree`` of that node, which leaves out the
#: sharing provider of an oVirt node's DISK_GB: the migration ends in
#: NoValidHost (doc/source/live-migration.rst).
TEMPEST_NOT_ON = {'live_migration': ('ovirt',)}

#: tempest's section of each flag not under [compute-feature-enabled].
TEMPEST_SECTIONS = {'extend_attached_volume': 'volume-feature-enabled'}


def tempest_flags(backends):
    """{tempest compute-feature-enabled option: bool} for a set of pool
    backends (e.g. ``['ovirt', 'libvirt']``)."""
    backends = sorted(set(backends))
    if not backends:
        raise ValueError('no backend given')
    unknown = [b for b in backends if b not in SUPPORT]
    if unknown:
        raise ValueError('unknown backend(s): %s (known: %s)' % (
            ', '.join(unknown), ', '.join(sorted(SUPPORT))))
    flags = {flag: all(level(b, m) in (COMPLETE, PARTIAL)
                       for b in backends for m in methods)
             for flag, methods in TEMPEST_FEATURES.items()}
    flags.update({flag: all(level(b, m) == COMPLETE
                            for b in backends for m in methods)
                  for flag, methods in TEMPEST_COMPLETE_FEATURES.items()})
    for flag, excluded in TEMPEST_NOT_ON.items():
        flags[flag] = flags[flag] and not set(excluded) & set(backends)
    return dict(sorted(flags.items()))


def main(argv=None):
    """``python -m nova_ovirt.support tempest-flags BACKEND...``: one line
    ``<tempest section> <option> True|False`` per tempest flag."""
    import sys

    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) < 2 or args[0] != 'tempest-flags':
        print('usage: python -m nova_ovirt.support tempest-flags '
              'BACKEND [BACKEND...]', file=sys.stderr)
        return 2
    try:
        flags = tempest_flags(args[1:])
    except ValueError as e:
        print('nova_ovirt.support: %s' % e, file=sys.stderr)
        return 2
    for flag, value in sorted(flags.items()):
        print('%s %s %s' % (TEMPEST_SECTIONS.get(
            flag, 'compute-feature-enabled'), flag, value))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
