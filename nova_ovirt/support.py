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

The one source of the support matrix: the documentation generates its
table from :data:`SUPPORT`, and the conformance tests fail when a method
claimed ``complete`` or ``partial`` here raises NotImplementedError (and
when a method claimed ``missing`` turns out to be implemented, so that the
documentation never under-claims either).

Levels:

``complete``
    works as nova's libvirt driver does it, for every case nova passes in.
``partial``
    works for the common case; :data:`NOTES` says what is left out.
``missing``
    raises NotImplementedError (nova reports the operation as unsupported).
"""

COMPLETE = 'complete'
PARTIAL = 'partial'
MISSING = 'missing'
LEVELS = (COMPLETE, PARTIAL, MISSING)

#: What no backend supports yet: Cinder volumes and live migration.
_NOT_YET = dict.fromkeys(
    ('attach_volume', 'detach_volume', 'swap_volume', 'extend_volume',
     'live_migration', 'live_migration_abort',
     'live_migration_force_complete', 'check_can_live_migrate_destination',
     'check_can_live_migrate_source', 'pre_live_migration',
     'post_live_migration_at_destination'), MISSING)

_LIBVIRT = {
    # nodes and resources
    'get_available_nodes': COMPLETE,
    'get_nodenames_by_uuid': COMPLETE,
    'get_available_resource': COMPLETE,
    'update_provider_tree': COMPLETE,
    # inventory of instances
    'list_instances': COMPLETE,
    'list_instance_uuids': COMPLETE,
    'instance_exists': COMPLETE,
    'get_info': COMPLETE,
    # lifecycle
    'spawn': COMPLETE,
    'destroy': COMPLETE,
    'cleanup': COMPLETE,
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
    # not supported (yet)
    **_NOT_YET,
    # Cinder volumes through qemu's own initiators (doc/source/volumes.rst)
    'attach_volume': PARTIAL,
    'detach_volume': COMPLETE,
    'extend_volume': COMPLETE,
}

_OVIRT = {
    # nodes and resources
    'get_available_nodes': COMPLETE,
    'get_nodenames_by_uuid': COMPLETE,
    'get_available_resource': COMPLETE,
    'update_provider_tree': COMPLETE,
    # inventory of instances
    'list_instances': COMPLETE,
    'list_instance_uuids': COMPLETE,
    'instance_exists': COMPLETE,
    'get_info': COMPLETE,
    # lifecycle
    'spawn': PARTIAL,
    'destroy': COMPLETE,
    'cleanup': COMPLETE,
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
    # not supported (yet)
    **_NOT_YET,
    # Cinder volumes as direct LUN disks (doc/source/volumes.rst)
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
        'attach_volume': 'iSCSI (CHAP included) through qemu\'s libiscsi '
                         'and RBD through librbd, as network disks; also '
                         'the boot volume of a volume-backed server. '
                         'Fibre Channel, NVMe-oF, NFS and other types that '
                         'need a connector on the host are refused; a '
                         'local block device only on a node with a local '
                         'URI.',
        'swap_volume': 'Volume swap (Cinder migration of an attached '
                       'volume) is not supported yet.',
        'rescue': 'The rescue password reaches the rescue system as '
                  'admin_pass on a config drive of the rescue\'s own.',
        'live_migration': 'Live migration is not supported yet; cold '
                          'migration and resize are.',
    },
    'ovirt': {
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
        'attach_volume': 'iSCSI (CHAP included) as direct LUN disks that '
                         'the engine\'s hosts log in to; Fibre Channel by '
                         'WWN and LUN (not tested through the API); rbd '
                         'and other types are refused.',
        'swap_volume': 'Volume swap (Cinder migration of an attached '
                       'volume) is not supported yet.',
        'live_migration': 'Live migration between Nova nodes (clusters) '
                          'is not supported; oVirt still live-migrates '
                          'inside a cluster.',
    },
}


#: Methods the functional tier drives through the Nova REST API, checking
#: the result in libvirt's or the engine simulator's state.
_API_LIBVIRT = (
    'spawn', 'destroy', 'reboot', 'power_off', 'power_on', 'pause',
    'unpause', 'suspend', 'resume', 'snapshot', 'rescue', 'unrescue',
    'migrate_disk_and_power_off', 'finish_migration', 'confirm_migration',
    'finish_revert_migration', 'attach_interface', 'detach_interface',
    'get_console_output', 'get_vnc_console', 'get_available_nodes',
    'get_nodenames_by_uuid', 'update_provider_tree', 'get_info')
_API_OVIRT = (
    'spawn', 'destroy', 'reboot', 'power_off', 'power_on', 'suspend',
    'resume', 'snapshot', 'rescue', 'unrescue', 'migrate_disk_and_power_off',
    'finish_migration', 'confirm_migration', 'finish_revert_migration',
    'attach_interface', 'detach_interface', 'get_vnc_console',
    'get_available_nodes', 'get_nodenames_by_uuid', 'update_provider_tree',
    'get_info', 'attach_volume', 'detach_volume', 'extend_volume')
#: Methods the live tier runs on a real qemu guest through the driver.
_LIVE_LIBVIRT = ('spawn', 'destroy', 'reboot', 'power_off', 'power_on',
                 'get_console_output', 'get_info')

#: {backend: (test tiers, methods)}: where each claimed method is tested.
_TESTED = {
    'libvirt': [
        ('Nova REST API (functional)', _API_LIBVIRT),
        ('real qemu guest (live)', _LIVE_LIBVIRT),
    ],
    'ovirt': [
        ('Nova REST API (functional)', _API_OVIRT),
    ],
}
#: Tiers that cover every claimed method of a backend.
_TESTED_ALL = {
    'libvirt': ('nova\'s driver test case (conformance)',
                'libvirt pool unit tests'),
    'ovirt': ('oVirt pool unit tests against the engine simulator',),
}


def tested_by(backend, method):
    """Test tiers exercising a claimed method (empty for missing ones)."""
    if level(backend, method) == MISSING:
        return []
    tiers = [tier for tier, methods in _TESTED.get(backend, [])
             if method in methods]
    return tiers + list(_TESTED_ALL.get(backend, ()))


def level(backend, method):
    """Level of `method` for `backend`; unlisted methods are missing."""
    return SUPPORT.get(backend, {}).get(method, MISSING)


def claimed(backend):
    """Methods claimed to work (complete or partial) for `backend`."""
    return sorted(m for m, lv in SUPPORT.get(backend, {}).items()
                  if lv in (COMPLETE, PARTIAL))


def missing(backend):
    """Methods listed as missing for `backend`."""
    return sorted(m for m, lv in SUPPORT.get(backend, {}).items()
                  if lv == MISSING)


#: tempest ``[compute-feature-enabled]`` flags and the driver methods each
#: needs. A flag is True only when every configured backend supports all
#: its methods (complete or partial): tempest cannot choose the pool a
#: test server lands in.
TEMPEST_FEATURES = {
    'live_migration': ('live_migration', 'pre_live_migration',
                       'post_live_migration_at_destination'),
    'block_migration_for_live_migration': ('live_migration',),
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
