"""Direct LUN disks and the iSCSI "SAN" the engine's hosts log in to.

As the API model describes them (ovirt-engine-api-model):
- types/Disk.java ``lun_storage`` (a HostStorage) makes a disk a direct LUN
  disk: no storage domain, no image, the LUN's data is the disk's data;
- types/HostStorage.java / LogicalUnit.java / IscsiDetails.java: a LUN is
  named by its WWID (``id``) and reached through portal address, port,
  target IQN and LUN number (``lun_mapping``), CHAP user/password optional;
- services/HostService.java ``iscsilogin`` / ``iscsidiscover`` and
  services/HostStorageService.java (GET /hosts/{id}/storage lists the LUNs
  the host sees);
- services/DiskService.java ``refreshlun`` re-reads the LUN size through a
  host.

Tests configure the SAN (``san(store).add_target(...)``, ``add_fc_lun``);
the engine side is the LunOps mixin of the Engine. Fibre Channel LUNs are
zoned to every host: hosts list them without a login, and an FCP logical
unit has no portal (address, port, target), as vdsm reports it.
"""

from ovirtsdk4 import types

from ovirt_engine_sim import errors
from ovirt_engine_sim.common import USER
from ovirt_engine_sim.model import new_id

DS = types.DiskStatus


class Lun(object):
    def __init__(self, wwid, number, size):
        self.wwid = wwid
        self.number = number
        self.size = size


class Target(object):
    def __init__(self, address, port, iqn, username=None, password=None):
        self.address = address
        self.port = int(port)
        self.iqn = iqn
        self.username = username
        self.password = password
        self.luns = {}   # lun number -> Lun

    def add_lun(self, number, wwid, size):
        self.luns[int(number)] = Lun(wwid, int(number), int(size))
        return self.luns[int(number)]


class San(object):
    """The iSCSI targets the simulated SAN exports, and host sessions."""

    def __init__(self):
        self.targets = {}        # iqn -> Target
        self.sessions = set()    # (host id, target iqn)
        self.fc = FcFabric()

    def add_fc_lun(self, number, wwid, size):
        """A Fibre Channel LUN every host sees."""
        return self.fc.add_lun(number, wwid, size)

    def add_target(self, address, port, iqn, luns=(), username=None, password=None):
        """luns: (number, wwid, size in bytes) triples."""
        target = Target(address, port, iqn, username, password)
        for number, wwid, size in luns:
            target.add_lun(number, wwid, size)
        self.targets[iqn] = target
        return target

    def find_lun(self, wwid):
        for target in list(self.targets.values()) + [self.fc]:
            for lun in target.luns.values():
                if lun.wwid == wwid:
                    return target, lun
        return None, None

    def resize(self, wwid, size):
        """The SAN admin grows a LUN (the engine learns it on refreshlun)."""
        _, lun = self.find_lun(wwid)
        lun.size = int(size)

    def logged_in(self, host_id):
        return sorted(iqn for h, iqn in self.sessions if h == host_id)


class FcFabric(Target):
    """Fibre Channel LUNs: no portal, no login."""

    def __init__(self):
        super().__init__(None, 0, None)
        self.luns = {}   # wwid -> Lun (FC LUN numbers repeat per target)

    def add_lun(self, number, wwid, size):
        self.luns[wwid] = Lun(wwid, int(number), int(size))
        return self.luns[wwid]


def san(store):
    """The store's SAN (created on first use)."""
    value = getattr(store, '_sim_san', None)
    if value is None:
        value = store._sim_san = San()
    return value


def is_lun_disk(disk):
    return disk.storage_type == types.DiskStorageType.LUN


def _logical_unit(target, lun, host_id=None):
    if isinstance(target, FcFabric):
        return types.LogicalUnit(
            id=lun.wwid, lun_mapping=lun.number, size=lun.size, paths=1,
            status=types.LunStatus.USED if host_id is None else
            types.LunStatus.FREE, vendor_id='SIM-FC', product_id='sim-lun',
            serial='SSIM-FC_%s' % lun.wwid, storage_domain_id=None)
    return types.LogicalUnit(
        id=lun.wwid, lun_mapping=lun.number, address=target.address, port=target.port,
        target=target.iqn, size=lun.size, paths=1, status=types.LunStatus.USED
        if host_id is None else types.LunStatus.FREE,
        vendor_id='LIO-ORG', product_id='sim-lun', serial='SLIO-ORG_%s' % lun.wwid,
        storage_domain_id=None)


class LunOps(object):
    """Engine operations on direct LUN disks and host iSCSI sessions."""

    @property
    def san(self):
        return san(self.store)

    # -- hosts ----------------------------------------------------------------

    def iscsi_login(self, host_id, action):
        host = self.get('hosts', host_id, 'Host')
        iscsi = action.iscsi
        missing = [f for f in ('address', 'target') if iscsi is None or
                   getattr(iscsi, f) is None]
        if missing:
            raise errors.incomplete('Action', ['iscsi.%s' % f for f in missing],
                                    'iscsiLogin')
        if host.status != types.HostStatus.UP:
            raise errors.conflict('Cannot login to iSCSI target. Host %s is not up.'
                                  % host.name)
        target = self._reachable_target(iscsi)
        if target.username is not None and (iscsi.username != target.username or
                                            iscsi.password != target.password):
            # vdsm: iSCSI login failed (error 24, authentication failure).
            raise errors.bad_request('Failed to connect Host %s to Storage Servers: '
                                     'iSCSI login through target %s failed: '
                                     'authentication failure.' % (host.name, target.iqn))
        self.san.sessions.add((host.id, target.iqn))
        self.event(9000, 'Host %s logged in to iSCSI target %s (User %s).'
                   % (host.name, target.iqn, USER))

    def iscsi_discover(self, host_id, action):
        """The target IQNs the portal offers (IscsiDetails list)."""
        self.get('hosts', host_id, 'Host')
        iscsi = action.iscsi
        if iscsi is None or iscsi.address is None:
            raise errors.incomplete('Action', ['iscsi.address'], 'iscsiDiscover')
        port = int(iscsi.port or 3260)
        return [t.iqn for t in self.san.targets.values()
                if t.address == iscsi.address and t.port == port]

    def _reachable_target(self, iscsi):
        target = self.san.targets.get(iscsi.target)
        port = int(iscsi.port or 3260)
        if target is None or target.address != iscsi.address or target.port != port:
            raise errors.bad_request('Failed to connect Host to Storage Servers: no '
                                     'iSCSI target %s at %s:%d.'
                                     % (iscsi.target, iscsi.address, port))
        return target

    def _sub_host_storage(self, host):
        items = []
        for iqn in self.san.logged_in(host.id):
            target = self.san.targets.get(iqn)
            if target is None:
                continue
            for number in sorted(target.luns):
                lun = target.luns[number]
                items.append(('host_storage', types.HostStorage(
                    id=lun.wwid, type=types.StorageType.ISCSI, address=target.address,
                    port=target.port, target=target.iqn,
                    logical_units=[_logical_unit(target, lun, host.id)],
                    host=types.Host(id=host.id))))
        for lun in self.san.fc.luns.values():
            items.append(('host_storage', types.HostStorage(
                id=lun.wwid, type=types.StorageType.FCP,
                logical_units=[_logical_unit(self.san.fc, lun, host.id)],
                host=types.Host(id=host.id))))
        return items

    # -- disks ----------------------------------------------------------------

    def add_lun_disk(self, disk_in):
        storage = disk_in.lun_storage
        missing = []
        if storage.type is None:
            missing.append('lunStorage.type')
        if not storage.logical_units:
            missing.append('lunStorage.logicalUnits')
        if missing:
            raise errors.incomplete('Disk', missing)
        unit = storage.logical_units[0]
        if storage.type == types.StorageType.ISCSI:
            missing = ['lunStorage.logicalUnits.logicalUnit.%s' % f
                       for f in ('id', 'address', 'port', 'target')
                       if getattr(unit, f) is None]
        elif unit.id is None:
            missing = ['lunStorage.logicalUnits.logicalUnit.id']
        if missing:
            raise errors.incomplete('Disk', missing)
        target, lun = self.san.find_lun(unit.id)
        if lun is None:
            raise errors.conflict('Cannot add Virtual Disk. LUN %s is not visible to any '
                                  'host.' % unit.id)
        if (storage.type == types.StorageType.FCP) != (target is self.san.fc):
            raise errors.conflict('Cannot add Virtual Disk. LUN %s is not a %s LUN.'
                                  % (unit.id, storage.type.value))
        if storage.type == types.StorageType.ISCSI and (
                unit.target != target.iqn or unit.address != target.address or
                int(unit.port) != target.port):
            raise errors.conflict('Cannot add Virtual Disk. LUN %s is not exported by '
                                  'target %s at %s:%s.' % (unit.id, unit.target,
                                                           unit.address, unit.port))
        shareable = bool(disk_in.shareable)
        for other in self.store.disks.values():
            if other.lun_storage is not None and is_lun_disk(other) and \
                    other.lun_storage.logical_units[0].id == unit.id and \
                    not (shareable and other.shareable):
                # AppErrors ACTION_TYPE_FAILED_DISK_LUN_IS_ALREADY_IN_USE
                raise errors.conflict('Cannot add Virtual Disk. The provided LUN is '
                                      'already used by disk %s.' % other.alias)
        disk_id = new_id()
        name = disk_in.alias or disk_in.name or 'lun_%s' % disk_id[:8]
        disk = types.Disk(
            id=disk_id, name=name, alias=name, description=disk_in.description,
            comment=disk_in.comment, storage_type=types.DiskStorageType.LUN,
            status=DS.OK, shareable=shareable, provisioned_size=lun.size,
            content_type=types.DiskContentType.DATA, propagate_errors=False,
            wipe_after_delete=False, sgio=disk_in.sgio,
            lun_storage=types.HostStorage(
                type=storage.type, logical_units=[types.LogicalUnit(
                    id=lun.wwid, lun_mapping=lun.number, address=target.address,
                    port=target.port or None, target=target.iqn, size=lun.size,
                    username=unit.username)]))
        self.store.disks[disk.id] = disk
        self.event(2020, 'Add-Disk operation of %s was initiated by %s.' % (name, USER))
        return disk

    def lock_lun_while_attaching(self, disk):
        """The engine hot-plugs a LUN through a host: the disk is locked."""
        disk.status = DS.LOCKED
        self._unlock_later(disk, 'disk_lock')

    def remove_lun_disk(self, disk):
        """Only the engine's record goes: the LUN's data stays on the SAN."""
        self.store.disk_attachments.pop(disk.id, None)
        self.store.disks.pop(disk.id, None)
        self.store.cancel(('disk', disk.id))
        self.event(2014, 'Disk %s was successfully removed (User %s).' % (disk.alias, USER))

    def refresh_lun(self, disk_id, action):
        disk = self.disk(disk_id)
        if not is_lun_disk(disk):
            raise errors.conflict('Cannot refresh LUN size. Disk %s is not a direct LUN '
                                  'disk.' % disk.alias)
        if action.host is None:
            raise errors.incomplete('Action', ['host.id|name'], 'refreshLun')
        host = self.resolve('hosts', action.host, 'Host')
        unit = disk.lun_storage.logical_units[0]
        target, lun = self.san.find_lun(unit.id)
        if lun is None or (target is not self.san.fc and
                           (host.id, target.iqn) not in self.san.sessions):
            raise errors.conflict('Cannot refresh LUN size. LUN %s is not visible to host '
                                  '%s.' % (unit.id, host.name))
        unit.size = lun.size
        disk.provisioned_size = lun.size
