"""VM operations and the VM state machine.

    add -> image_locked (disks being created) -> down
    start -> wait_for_launch -> powering_up -> up
    shutdown -> powering_down -> down; stop -> down at once
    suspend -> saving_state -> suspended; start -> restoring_state -> up
    reboot -> reboot_in_progress -> up; migrate -> migrating -> up (other host)

Every transition is a clock timer (see Store.schedule) guarded by a
generation number, so a later operation (stop during shutdown) makes the
pending transitions of an earlier one harmless.
"""

import secrets

from ovirtsdk4 import types

from ovirt_engine_sim import common
from ovirt_engine_sim import cpus
from ovirt_engine_sim import errors
from ovirt_engine_sim import qcow2
from ovirt_engine_sim.common import USER
from ovirt_engine_sim.model import new_id
from ovirt_engine_sim.model import stable_id

S = types.VmStatus
MiB = 1024 * 1024
BLANK_TEMPLATE_ID = '00000000-0000-0000-0000-000000000000'

# VmBase fields a new VM takes from its template unless the request sets them.
INHERITED = ('memory', 'memory_policy', 'cpu', 'os', 'type', 'stateless',
             'high_availability', 'display', 'bios', 'cpu_shares', 'time_zone',
             'usb', 'soundcard_enabled', 'io', 'migration', 'serial_number',
             'start_paused', 'delete_protected', 'console', 'custom_properties',
             'placement_policy', 'virtio_scsi', 'tunnel_migration',
             'storage_error_resume_behaviour', 'migration_downtime', 'sso')

# References the engine fills itself; a request may not set them.
NOT_SETTABLE = ('id', 'href', 'status', 'host', 'start_time', 'stop_time',
                'creation_time', 'disk_attachments', 'nics', 'snapshots',
                'graphics_consoles', 'reported_devices', 'statistics',
                'permissions', 'tags', 'cdroms', 'katello_errata', 'applications',
                'floppies', 'host_devices', 'sessions', 'watchdogs', 'numa_nodes',
                'affinity_labels', 'mediated_devices', 'original_template',
                'run_once', 'next_run_configuration_exists', 'fqdn',
                'guest_operating_system', 'guest_time_zone', 'status_detail')


def _copy(obj):
    import copy
    return copy.deepcopy(obj)


class VmOps(object):

    # -- helpers ----------------------------------------------------------

    def vm(self, vm_id):
        return self.get('vms', vm_id, 'VM')

    def _bump(self, vm):
        vm._sim_gen = getattr(vm, '_sim_gen', 0) + 1
        return vm._sim_gen

    def _later(self, vm, delay_name, fn):
        """Schedule fn(vm) unless another operation changes the VM first."""
        gen = vm._sim_gen
        vm_id = vm.id

        def fire():
            current = self.store.vms.get(vm_id)
            if current is not None and current._sim_gen == gen:
                fn(current)
        self.store.schedule(delay_name, ('vm', vm_id), fire)

    def _locked_disks(self, vm_id):
        names = []
        for disk_id in self.store.vm_disk_ids(vm_id):
            d = self.store.disks.get(disk_id)
            if d is not None and d.status == types.DiskStatus.LOCKED:
                names.append(d.alias or d.name)
        return names

    def _check_not_locked(self, vm, action, type_name='VM'):
        # AppErrors.properties ACTION_TYPE_FAILED_VM_IS_LOCKED and
        # ACTION_TYPE_FAILED_DISKS_LOCKED, both ErrorType.CONFLICT (409 through
        # the REST layer's ErrorMessageHelper).
        if vm.status == S.IMAGE_LOCKED:
            raise errors.conflict('Cannot %s %s: VM is locked. Please try again in a '
                                  'few minutes.' % (action, type_name))
        locked = self._locked_disks(vm.id)
        if locked:
            raise errors.conflict('Cannot %s %s: The following disks are locked: %s. '
                                  'Please try again in a few minutes.'
                                  % (action, type_name, ', '.join(locked)))

    def _check_guest_data(self, vm):
        """A simulator-only check: no disk's guest data is a qcow2 file.

        A real engine starts such a VM (a qcow2 file uploaded in the raw
        format into a qcow2 disk passes vdsm's verification, the volume
        itself being qcow2), and the guest then finds no file system. No
        test could see that, so the simulator refuses the start instead,
        with a fault that says it is the simulator speaking.
        """
        for disk_id in self.store.vm_disk_ids(vm.id):
            disk = self.store.disks.get(disk_id)
            layer = self.volumes.get(disk.image_id) if disk is not None else None
            if layer is not None and qcow2.is_qcow2(layer.read(0, 4)):
                raise errors.conflict(
                    'Cannot run VM. Engine simulator: the guest data of disk %s is a qcow2 '
                    'file (uploaded in the raw format?); its guest would not boot.'
                    % (disk.alias or disk.id))

    def _validate_memory(self, vm, action):
        mp = vm.memory_policy
        if vm.memory is None or mp is None:
            return
        if mp.guaranteed is not None and mp.guaranteed > vm.memory:
            raise errors.conflict('Cannot %s VM. Physical Memory Guaranteed cannot '
                                  'exceed Memory Size.' % action)
        if mp.max is not None and mp.max < vm.memory:
            raise errors.conflict('Cannot %s VM. Maximum memory size must be larger '
                                  'or equal to memory size.' % action)

    def _name_free(self, name, action, ignore_id=None):
        for other in self.store.vms.values():
            if other.name == name and other.id != ignore_id:
                raise errors.conflict('Cannot %s VM. The VM name is already in use by '
                                      'another VM. Please choose a unique name and try '
                                      'again.' % action)

    # -- add / update / remove -----------------------------------------------

    def add_vm(self, vm_in, clone=False, block=False):
        missing = []
        if not vm_in.name:
            missing.append('name')
        if vm_in.cluster is None or not (vm_in.cluster.id or vm_in.cluster.name):
            missing.append('cluster.id|name')
        if vm_in.template is None or not (vm_in.template.id or vm_in.template.name):
            missing.append('template.id|name')
        if missing:
            raise errors.incomplete('Vm', missing)
        cluster = self.resolve('clusters', vm_in.cluster, 'Cluster')
        template = self.resolve('templates', vm_in.template, 'Template')
        if template.status == types.TemplateStatus.LOCKED:
            raise errors.conflict('Cannot add VM. Template is locked. Please try again '
                                  'in a few minutes.')
        self._name_free(vm_in.name, 'add')
        vm = types.Vm()
        for field in INHERITED:
            value = getattr(template, field, None)
            if value is not None:
                setattr(vm, field, _copy(value))
        common.merge(vm, vm_in, skip=NOT_SETTABLE + ('cluster', 'template',
                                                     'initialization'))
        vm.initialization = _copy(vm_in.initialization)
        self._default_memory_policy(vm, vm_in)
        self._validate_memory(vm, 'add')
        vm.id = new_id()
        vm.cluster = types.Cluster(id=cluster.id)
        vm.template = types.Template(id=template.id)
        vm.original_template = types.Template(id=template.id)
        vm.cpu_profile = types.CpuProfile(id=stable_id('cpuprofile', cluster.name))
        vm.creation_time = self.store.now()
        vm.origin = 'ovirt'
        vm.stop_reason = None
        vm.next_run_configuration_exists = False
        vm.has_illegal_images = False
        vm.fqdn = None
        if vm.cpu is not None:
            vm.cpu.architecture = types.Architecture.X86_64
        vm._sim_gen = 0
        vm._sim_clone = bool(clone)
        self.store.vms[vm.id] = vm
        job = self.job('Creating VM %s from Template %s in Cluster %s'
                       % (vm.name, template.name, cluster.name))
        self.event(34, 'VM %s was created by %s.' % (vm.name, USER), vm=vm.id,
                   cluster=cluster.id, template=template.id)
        overrides = {a.disk.id: a.disk for a in (vm_in.disk_attachments or [])
                     if a.disk is not None and a.disk.id}
        disks = self.clone_template_disks(template, vm, clone, overrides)
        for tnic in self.store.template_nics(template.id):
            # As on oVirt: the template's NICs, each with a new MAC.
            self.copy_nic(tnic, vm=types.Vm(id=vm.id), mac=self._new_mac())
        if disks:
            vm.status = S.IMAGE_LOCKED
            self._bump(vm)

            def unlock(v):
                for disk_id in disks:
                    d = self.store.disks.get(disk_id)
                    if d is not None:
                        d.status = types.DiskStatus.OK
                v.status = S.DOWN
                self.store.add_event(53, 'VM %s creation has been completed.' % v.name,
                                     vm=v.id, cluster=v.cluster.id,
                                     correlation_id=job._sim_correlation_id)
                self.done_job(job)
            self._later(vm, 'vm_image_lock', unlock)
            if block:
                self.store.complete(('vm', vm.id))
        else:
            vm.status = S.DOWN
            vm._sim_gen = 0
            self.done_job(job)
        return vm

    def _default_memory_policy(self, vm, vm_in):
        mp = vm.memory_policy or types.MemoryPolicy()
        given = vm_in.memory_policy or types.MemoryPolicy()
        if vm_in.memory is not None:
            # The engine derives the policy from the new memory size unless
            # the request says otherwise.
            if given.guaranteed is None:
                mp.guaranteed = vm.memory
            if given.max is None:
                mp.max = 4 * vm.memory
        if mp.ballooning is None:
            mp.ballooning = True
        vm.memory_policy = mp

    def update_vm(self, vm_id, vm_in):
        vm = self.vm(vm_id)
        if vm.status == S.IMAGE_LOCKED:
            self._check_not_locked(vm, 'update')
        if vm_in.name and vm_in.name != vm.name:
            self._name_free(vm_in.name, 'update', vm.id)
        if vm_in.cluster is not None and (vm_in.cluster.id or vm_in.cluster.name):
            cluster = self.resolve('clusters', vm_in.cluster, 'Cluster')
            if cluster.id != vm.cluster.id and vm.status != S.DOWN:
                raise errors.conflict('Cannot update VM. VM is running.')
            vm.cluster = types.Cluster(id=cluster.id)
        old_memory = vm.memory
        common.merge(vm, vm_in, skip=NOT_SETTABLE + ('cluster', 'template'))
        if vm_in.memory is not None and vm_in.memory != old_memory:
            given = vm_in.memory_policy or types.MemoryPolicy()
            if given.guaranteed is None and vm.memory_policy.guaranteed > vm.memory:
                vm.memory_policy.guaranteed = vm.memory
            if given.max is None and vm.memory_policy.max < vm.memory:
                vm.memory_policy.max = 4 * vm.memory
        self._validate_memory(vm, 'update')
        self.event(35, 'VM %s configuration was updated by %s.' % (vm.name, USER),
                   vm=vm.id, cluster=vm.cluster.id)
        return vm

    def remove_vm(self, vm_id, detach_only=False, force=False):
        vm = self.vm(vm_id)
        self._check_not_locked(vm, 'remove')
        if vm.status in common.RUNNING:
            raise errors.conflict('Cannot remove VM. VM is running.')
        if vm.delete_protected:
            raise errors.conflict('Cannot remove VM. VM is delete protected.')
        thin = vm.template is not None and vm.template.id != BLANK_TEMPLATE_ID \
            and not getattr(vm, '_sim_clone', False)
        if detach_only and thin:
            # Its thin disks need the template (RemoveVmCommand's check);
            # a single disk can still be detached first.
            raise errors.conflict('Cannot remove VM with detaching disks, VM is based '
                                  'from template.')
        self._drop_vm(vm, detach_only)
        self.event(113, 'VM %s was successfully removed.' % vm.name, vm=vm.id,
                   cluster=vm.cluster.id)

    def _drop_vm(self, vm, detach_only=False):
        self.store.cancel(('vm', vm.id))
        self._console_off(vm)
        for disk_id in self.store.vm_disk_ids(vm.id):
            self.store.disk_attachments.pop(disk_id, None)
            if not detach_only:
                self.drop_disk(disk_id)
        for nic in self.store.vm_nics(vm.id):
            self.store.nics.pop(nic.id, None)
        for snap in self.store.vm_snapshots(vm.id):
            self.store.snapshots.pop(snap.id, None)
        self.store.vms.pop(vm.id, None)

    # -- power actions ------------------------------------------------------

    def start_vm(self, vm_id, action):
        vm = self.vm(vm_id)
        self._check_not_locked(vm, 'run')
        self._check_guest_data(vm)
        if vm.status == S.SUSPENDED:
            return self._resume(vm)
        if vm.status != S.DOWN:
            raise errors.conflict('Cannot run VM. VM is running.')
        host = self._pick_host(vm, 'run')
        run_vm = action.vm if action is not None else None
        init = vm.initialization
        if run_vm is not None and run_vm.initialization is not None:
            init = run_vm.initialization
        vm._sim_last_run = {
            'use_cloud_init': bool(action and action.use_cloud_init),
            'use_initialization': bool(action and action.use_initialization),
            'initialization': init,
            'vm': run_vm,
            'pause': bool(action and action.pause),
        }
        vm.run_once = run_vm is not None
        vm.status = S.WAIT_FOR_LAUNCH
        vm.host = types.Host(id=host.id)
        vm.stop_reason = None
        self._bump(vm)
        job = self.job('Launching VM %s' % vm.name)
        self.event(153, 'VM %s was started by %s (Host: %s).' % (vm.name, USER, host.name),
                   vm=vm.id, host=host.id, cluster=vm.cluster.id)

        def powering_up(v):
            v.status = S.POWERING_UP
            self._later(v, 'vm_power_up', up)

        def up(v):
            v.status = S.PAUSED if v._sim_last_run.get('pause') else S.UP
            v.start_time = self.store.now()
            v._sim_vnc_port = self._console_port(v)
            self.store.add_event(32, 'VM %s started on Host %s' % (v.name, self.host_name(v)),
                                 vm=v.id, host=v.host.id, cluster=v.cluster.id,
                                 correlation_id=job._sim_correlation_id)
            self.done_job(job)
        self._later(vm, 'vm_launch', powering_up)
        return vm

    def _resume(self, vm):
        host = self._pick_host(vm, 'run')
        vm.status = S.RESTORING_STATE
        vm.host = types.Host(id=host.id)
        self._bump(vm)
        self.event(153, 'VM %s was started by %s (Host: %s).' % (vm.name, USER, host.name),
                   vm=vm.id, host=host.id, cluster=vm.cluster.id)

        def up(v):
            v.status = S.UP
            v._sim_vnc_port = self._console_port(v)
            self.store.add_event(32, 'VM %s started on Host %s' % (v.name, self.host_name(v)),
                                 vm=v.id, host=v.host.id, cluster=v.cluster.id)
        self._later(vm, 'vm_restore_state', up)
        return vm

    def _console_port(self, vm):
        # A real VNC server listens there (vnc.py): the port is its own.
        return self.vnc.open(vm)

    def _console_off(self, vm):
        # The VM's QEMU is gone, and with it its VNC server and password.
        self.vnc.close(vm.id)
        vm._sim_vnc_port = None
        vm._sim_ticket = None

    def _candidates(self, vm, cluster_id, exclude=None):
        hosts = [h for h in self.store.hosts_of(cluster_id)
                 if h.status == types.HostStatus.UP and h.id != exclude]
        fits = [h for h in hosts if self.store.free_memory(h) >= (vm.memory or 0)]
        return hosts, fits

    def _no_host(self, action, hosts, vm):
        if not hosts:
            return errors.conflict('Cannot %s VM. There are no available running Hosts '
                                   'in the Host Cluster.' % action)
        reasons = ', '.join(
            'The host %s did not satisfy internal filter Memory because its available '
            'memory is too low (%d MB) to run the VM.'
            % (h.name, self.store.free_memory(h) // MiB) for h in hosts)
        return errors.conflict('Cannot %s VM. There is no host that satisfies current '
                               'scheduling constraints. See below for details:, %s'
                               % (action, reasons))

    def _pick_host(self, vm, action, cluster_id=None, exclude=None, wanted=None):
        hosts, fits = self._candidates(vm, cluster_id or vm.cluster.id, exclude)
        if wanted is not None:
            hosts = [h for h in hosts if h.id == wanted.id]
            fits = [h for h in fits if h.id == wanted.id]
        if not fits:
            raise self._no_host(action, hosts, vm)
        # Spread VMs: the host with the most free memory wins (the engine's
        # default "evenly distributed" policy in spirit).
        return max(fits, key=lambda h: (self.store.free_memory(h), h.name))

    def stop_vm(self, vm_id, action=None):
        vm = self.vm(vm_id)
        if vm.status == S.IMAGE_LOCKED:
            self._check_not_locked(vm, 'stop')
        if vm.status == S.DOWN:
            raise errors.conflict('Cannot stop VM. VM is not running.')
        self._power_off(vm, reason=action.reason if action else None)
        return vm

    def _power_off(self, vm, reason=None, by_admin=True,
                   exit_message='Admin shut down from the engine'):
        was_suspended = vm.status == S.SUSPENDED
        host_name = self.host_name(vm)
        vm.status = S.DOWN
        vm.host = None
        vm.stop_time = self.store.now()
        vm.stop_reason = reason
        vm.run_once = False
        vm._sim_cpu_type = None     # the next start takes its cluster's
        self._bump(vm)
        self._console_off(vm)
        if was_suspended:
            self.event(111, 'Suspended VM %s has had its save state cleared by %s.'
                       % (vm.name, USER), vm=vm.id, cluster=vm.cluster.id)
            return
        if by_admin:
            self.event(33, 'VM %s powered off by %s (Host: %s).' % (vm.name, USER, host_name),
                       vm=vm.id, cluster=vm.cluster.id)
        self.event(61, 'VM %s is down. Exit message: %s' % (vm.name, exit_message),
                   vm=vm.id, cluster=vm.cluster.id)

    def shutdown_vm(self, vm_id, action=None):
        vm = self.vm(vm_id)
        if vm.status == S.IMAGE_LOCKED:
            self._check_not_locked(vm, 'shutdown')
        if vm.status == S.SUSPENDED:
            self._power_off(vm)
            return vm
        if vm.status not in (S.UP, S.POWERING_UP, S.REBOOT_IN_PROGRESS, S.PAUSED,
                             S.POWERING_DOWN):
            raise errors.conflict('Cannot shutdown VM. VM is not running.')
        if vm.status == S.POWERING_DOWN:
            return vm
        vm.status = S.POWERING_DOWN
        self._bump(vm)
        job = self.job('Shutting down VM %s' % vm.name)
        self.event(73, 'VM shutdown initiated by %s on VM %s (Host: %s).'
                   % (USER, vm.name, self.host_name(vm)), vm=vm.id, cluster=vm.cluster.id)

        def down(v):
            self._power_off(v, by_admin=False,
                            exit_message='User shut down from within the guest')
            self.done_job(job)
        self._later(vm, 'vm_power_down', down)
        return vm

    def reboot_vm(self, vm_id, action=None):
        vm = self.vm(vm_id)
        if vm.status != S.UP:
            raise errors.conflict('Cannot reboot VM. VM is not running.'
                                  if vm.status not in common.RUNNING else
                                  'Cannot reboot VM. VM is not up.')
        vm.status = S.REBOOT_IN_PROGRESS
        self._bump(vm)
        self.event(157, 'VM %s is rebooting. Initiated by %s.' % (vm.name, USER),
                   vm=vm.id, host=vm.host.id, cluster=vm.cluster.id)

        def up(v):
            v.status = S.UP
        self._later(vm, 'vm_reboot', up)
        return vm

    def suspend_vm(self, vm_id, action=None):
        vm = self.vm(vm_id)
        if vm.status != S.UP:
            raise errors.conflict('Cannot hibernate VM. VM is not up.')
        vm.status = S.SAVING_STATE
        self._bump(vm)
        self.event(501, 'Suspending VM %s was initiated by User %s (Host: %s).'
                   % (vm.name, USER, self.host_name(vm)), vm=vm.id, cluster=vm.cluster.id)

        def suspended(v):
            host_name = self.host_name(v)
            v.status = S.SUSPENDED
            v.host = None
            self._console_off(v)
            self.store.add_event(503, 'VM %s on Host %s is suspended.' % (v.name, host_name),
                                 vm=v.id, cluster=v.cluster.id)
        self._later(vm, 'vm_save_state', suspended)
        return vm

    # -- migration ------------------------------------------------------------
    # The engine's MigrateVmCommand / MigrateVmToServerCommand (host given),
    # their validations in the engine's order, and CancelMigrateVmCommand.
    # A target cluster other than the VM's (4.2+, ``<cluster>`` in the action)
    # goes through ChangeVmClusterValidator: the cluster must be in the VM's
    # data center (so it sees the VM's storage domains, which belong to the
    # data center: VM_CANNOT_MOVE_TO_CLUSTER_IN_OTHER_STORAGE_POOL) and of
    # the same architecture; the scheduler then runs in the target cluster,
    # where the CPU-Level filter drops hosts lacking the VM's CPU flags
    # (cpus.py). After the migration the VM belongs to the target cluster
    # (ChangeVMCluster, with the cluster's CPU profile). The API model calls
    # migration to another cluster "not supported" (a warning: the engine
    # checks no more than the above), see services/VmService.java Migrate.

    #: VmValidator.canMigrate: "isQualifyToMigrate".
    MIGRATABLE = (S.UP, S.POWERING_UP, S.PAUSED, S.REBOOT_IN_PROGRESS)
    #: Set by the simulator: the fault injector (fail_migrations).
    faults = None

    def migrate_vm(self, vm_id, action):
        vm = self.vm(vm_id)
        action = action or types.Action()
        self._check_can_migrate(vm, action)
        source_cluster = self.store.clusters[vm.cluster.id]
        cluster = source_cluster
        if action.cluster is not None and (action.cluster.id or action.cluster.name):
            cluster = self._migration_cluster(vm, action.cluster, source_cluster)
        wanted = None
        if action.host is not None and (action.host.id or action.host.name):
            wanted = self._migration_host(vm, action, cluster)
        target = self._migration_target(vm, cluster, wanted)
        self._start_migration(vm, target, cluster, to_server=wanted is not None)
        return vm

    def _check_can_migrate(self, vm, action):
        self._check_not_locked(vm, 'migrate')
        affinity = vm.placement_policy.affinity if vm.placement_policy else None
        if affinity == types.VmAffinity.PINNED:
            raise errors.conflict('Cannot migrate VM. VM is pinned to Host.')
        if affinity == types.VmAffinity.USER_MIGRATABLE and not action.force:
            raise errors.conflict('Cannot migrate VM. VM is non migratable and user did '
                                  'not specify the force-migration flag')
        if vm.status == S.MIGRATING:
            raise errors.conflict('Cannot migrate VM. VM migration is in progress')
        if vm.status not in self.MIGRATABLE:
            raise errors.conflict('Cannot migrate VM. VM is not running.')

    def _migration_cluster(self, vm, ref, source_cluster):
        try:
            cluster = self.resolve('clusters', ref, 'Cluster')
        except errors.ApiError:
            raise errors.conflict('Cannot migrate VM. Cluster ID is not valid.')
        if cluster.data_center.id != source_cluster.data_center.id:
            raise errors.conflict('VM can be moved only to a Cluster in the same Data '
                                  'Center.')
        if cluster.cpu.architecture != source_cluster.cpu.architecture:
            raise errors.conflict('Cannot migrate VM. The VM and the destination cluster '
                                  'architectures do not match.')
        return cluster

    def _migration_host(self, vm, action, cluster):
        wanted = self.resolve('hosts', action.host, 'Host')
        if wanted.status != types.HostStatus.UP:
            raise errors.conflict('Cannot migrate VM. Operation can be performed only '
                                  'when Host status is Up.')
        if wanted.cluster.id != cluster.id:
            if action.cluster is not None:
                raise errors.conflict('Cannot migrate VM. Destination host is not present '
                                      'in destination cluster.')
            raise errors.conflict(
                'Cannot migrate VM. If target Cluster is not specified VM can be migrated '
                'only between Hosts in the same Cluster. -Please select target Host in '
                'the same Cluster to run the VM or specify a target Cluster.')
        if wanted.id == vm.host.id:
            raise errors.conflict('Cannot migrate VM. source and destination is the same.')
        return wanted

    def vm_cpu_type(self, vm):
        """The CPU type the running VM started with (its cluster's then)."""
        return getattr(vm, '_sim_cpu_type', None) or \
            self.store.clusters[vm.cluster.id].cpu.type

    def _migration_target(self, vm, cluster, wanted):
        """The scheduler in the target cluster: CPU-Level, then Memory."""
        hosts = [h for h in self.store.hosts_of(cluster.id)
                 if h.status == types.HostStatus.UP and h.id != vm.host.id]
        if wanted is not None:
            hosts = [h for h in hosts if h.id == wanted.id]
        if not hosts:
            raise errors.conflict('Cannot migrate VM. There are no available running '
                                  'Hosts in the Host Cluster.')
        vm_cpu = self.vm_cpu_type(vm)
        reasons = []
        fits = []
        for h in hosts:
            lacking = cpus.missing(vm_cpu, h.cpu.type if h.cpu else None)
            if lacking:
                reasons.append('The host %s did not satisfy internal filter CPU-Level '
                               'because its CPU flags are missing VM\'s required CPU '
                               'flags: %s.' % (h.name, ', '.join(lacking)))
            elif self.store.free_memory(h) < (vm.memory or 0):
                reasons.append('The host %s did not satisfy internal filter Memory '
                               'because its available memory is too low (%d MB) to run '
                               'the VM.' % (h.name, self.store.free_memory(h) // MiB))
            else:
                fits.append(h)
        if not fits:
            raise errors.conflict('Cannot migrate VM. There is no host that satisfies '
                                  'current scheduling constraints. See below for details:, '
                                  '%s' % ', '.join(reasons))
        return max(fits, key=lambda h: (self.store.free_memory(h), h.name))

    def _start_migration(self, vm, target, cluster, to_server):
        source = self.store.hosts[vm.host.id]
        previous = vm.status
        vm._sim_cpu_type = self.vm_cpu_type(vm)
        vm.status = S.MIGRATING
        vm._sim_migrating_to = target.id
        self._bump(vm)
        job = self.job('Migrating VM %s to Host %s' % (vm.name, target.name))
        self.event(62, 'Migration started (VM: %s, Source: %s, Destination: %s, User: %s). '
                   % (vm.name, source.name, target.name, USER),
                   vm=vm.id, host=source.id, cluster=vm.cluster.id)

        def done(v):
            v._sim_migrating_to = None
            v.status = previous
            failure = self.faults.take_migration_failure() if self.faults else None
            if failure is not None:
                # vdsm reports the failure; the VM runs on at the source.
                # (The engine may then retry another host of the cluster,
                # MigrateVmCommand.rerun; the simulator does not.)
                self.store.add_event(
                    120 if to_server else 65,
                    'Migration failed due to an Error: %s (VM: %s, Source: %s%s).'
                    % (failure, v.name, source.name,
                       ', Destination: %s' % target.name if to_server else ''),
                    severity='error', vm=v.id, host=source.id, cluster=v.cluster.id,
                    correlation_id=job._sim_correlation_id)
                self.store.end_job(job, ok=False)
                return
            v.host = types.Host(id=target.id)
            if v.cluster.id != cluster.id:
                v.cluster = types.Cluster(id=cluster.id)
                v.cpu_profile = types.CpuProfile(id=stable_id('cpuprofile', cluster.name))
            self.store.add_event(
                63, 'Migration completed (VM: %s, Source: %s, Destination: %s, '
                    'Duration: 1 second, Total: 1 second, Actual downtime: 0ms)'
                    % (v.name, source.name, target.name),
                vm=v.id, host=target.id, cluster=v.cluster.id,
                correlation_id=job._sim_correlation_id)
            self.done_job(job)
        vm._sim_migration_job = job
        self._later(vm, 'vm_migrate', done)

    def cancel_migration(self, vm_id, action=None):
        vm = self.vm(vm_id)
        if vm.status != S.MIGRATING:
            raise errors.conflict('Cannot cancel migration for non migrating VM.')
        vm.status = S.UP
        vm._sim_migrating_to = None
        self._bump(vm)
        job = getattr(vm, '_sim_migration_job', None)
        if job is not None:
            self.store.end_job(job, ok=False)
        self.event(161, 'Migration cancelled (VM: %s, Source: %s, User: %s).'
                   % (vm.name, self.host_name(vm), USER), vm=vm.id, cluster=vm.cluster.id)
        return vm

    def console_ticket(self, vm_id, action):
        vm = self.vm(vm_id)
        if vm.status not in (S.UP, S.POWERING_UP, S.REBOOT_IN_PROGRESS, S.PAUSED,
                             S.MIGRATING, S.POWERING_DOWN):
            raise errors.conflict('Cannot set console ticket. VM is not running.')
        ticket = action.ticket if action is not None and action.ticket else types.Ticket()
        value = ticket.value or secrets.token_urlsafe(9)
        expiry = ticket.expiry if ticket.expiry is not None else 120
        vm._sim_ticket = (value, self.store.clock.time() + expiry)
        return types.Ticket(value=value, expiry=expiry)

    # -- NICs ---------------------------------------------------------------

    def _new_mac(self):
        used = {n.mac.address for n in self.store.nics.values() if n.mac}
        n = len(used)
        while True:
            mac = '56:6f:%02x:%02x:%02x:%02x' % ((n >> 24) & 255, (n >> 16) & 255,
                                                 (n >> 8) & 255, n & 255)
            if mac not in used:
                return mac
            n += 1

    def add_nic(self, vm_id, nic_in):
        vm = self.vm(vm_id)
        if not nic_in.name:
            raise errors.incomplete('Nic', ['name'])
        if vm.status == S.IMAGE_LOCKED:
            self._check_not_locked(vm, 'add', 'Interface')
        for other in self.store.vm_nics(vm.id):
            if other.name == nic_in.name:
                raise errors.conflict('Cannot add Interface. The VM Network Interface '
                                      'name is already in use.')
        profile = None
        if nic_in.vnic_profile is not None and nic_in.vnic_profile.id:
            profile = self.get('vnic_profiles', nic_in.vnic_profile.id, 'VnicProfile')
        mac = nic_in.mac.address if nic_in.mac and nic_in.mac.address else None
        if mac:
            mac = mac.lower()
            if any(n.mac and n.mac.address == mac for n in self.store.nics.values()):
                raise errors.conflict('Cannot add Interface. The MAC address is already '
                                      'in use.')
        nic = types.Nic(
            id=new_id(), name=nic_in.name, description=nic_in.description,
            interface=nic_in.interface or types.NicInterface.VIRTIO,
            linked=True if nic_in.linked is None else nic_in.linked,
            plugged=True if nic_in.plugged is None else nic_in.plugged,
            mac=types.Mac(address=mac or self._new_mac()),
            vnic_profile=types.VnicProfile(id=profile.id) if profile else None,
            vm=types.Vm(id=vm.id), synced=True)
        self.store.nics[nic.id] = nic
        self.event(932, 'Interface %s (%s) was added to VM %s. (User: %s)'
                   % (nic.name, nic.interface.value, vm.name, USER),
                   vm=vm.id, cluster=vm.cluster.id)
        return nic

    def copy_nic(self, src, vm=None, template=None, mac=None):
        nic = types.Nic(
            id=new_id(), name=src.name, description=src.description,
            interface=src.interface, linked=src.linked, plugged=src.plugged,
            mac=types.Mac(address=mac) if mac else None,
            vnic_profile=types.VnicProfile(id=src.vnic_profile.id)
            if src.vnic_profile is not None else None,
            vm=vm, template=template, synced=True if vm else None)
        self.store.nics[nic.id] = nic
        return nic

    def update_vnic_profile(self, profile_id, profile_in):
        profile = self.get('vnic_profiles', profile_id, 'VnicProfile')
        nf = profile_in.network_filter
        if nf is not None and nf.id:
            self.get('network_filters', nf.id, 'NetworkFilter')
        elif nf is not None:
            profile_in.network_filter = None
        common.merge(profile, profile_in, skip=('id', 'network', 'href'))
        return profile

    def update_nic(self, vm_id, nic_id, nic_in):
        vm = self.vm(vm_id)
        nic = self._nic(vm, nic_id)
        if nic_in.vnic_profile is not None and nic_in.vnic_profile.id:
            self.get('vnic_profiles', nic_in.vnic_profile.id, 'VnicProfile')
        common.merge(nic, nic_in, skip=('id', 'vm', 'href'))
        self.event(934, 'Interface %s (%s) was updated for VM %s. (User: %s)'
                   % (nic.name, nic.interface.value, vm.name, USER), vm=vm.id)
        return nic

    def _nic(self, vm, nic_id):
        nic = self.store.nics.get(nic_id)
        if nic is None or nic.vm is None or nic.vm.id != vm.id:
            raise errors.not_found('Nic', nic_id)
        return nic

    def remove_nic(self, vm_id, nic_id):
        vm = self.vm(vm_id)
        nic = self._nic(vm, nic_id)
        if vm.status in common.RUNNING and nic.plugged:
            raise errors.conflict('Cannot remove Interface. The Interface is plugged to '
                                  'a running VM. Please unplug it first.')
        self.store.nics.pop(nic.id)
        self.event(930, 'Interface %s (%s) was removed from VM %s. (User: %s)'
                   % (nic.name, nic.interface.value, vm.name, USER), vm=vm.id)

    def nic_plug(self, vm_id, nic_id, plugged):
        nic = self._nic(self.vm(vm_id), nic_id)
        nic.plugged = plugged
        return nic

    # -- out-of-band administration (sim.admin_*) -----------------------------

    def admin_add_vm(self, name, cluster_name, description=None, status='up',
                     memory=1024 * MiB):
        cluster = self.store.by_name('clusters', cluster_name)
        if cluster is None:
            raise ValueError('no cluster %r' % cluster_name)
        vm = self.add_vm(types.Vm(name=name, description=description, memory=memory,
                                  cluster=types.Cluster(id=cluster.id),
                                  template=types.Template(name='Blank')))
        if status == 'up':
            host = self._pick_host(vm, 'run')
            vm.status = S.UP
            vm.host = types.Host(id=host.id)
            vm.start_time = self.store.now()
            vm._sim_vnc_port = self._console_port(vm)
        else:
            vm.status = S(status)
        return vm
