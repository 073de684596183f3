"""Shared set-up: a simulator on a manual clock and a real SDK connection."""

import ovirtsdk4 as sdk
import pycurl
from ovirtsdk4 import types
import testtools

from ovirt_engine_sim import ManualClock
from ovirt_engine_sim.fixture import EngineSimFixture

GiB = 1024 ** 3
MiB = 1024 ** 2


class SimTestCase(testtools.TestCase):
    scenario = 'default'
    delays = None

    def setUp(self):
        super(SimTestCase, self).setUp()
        self.clock = ManualClock()
        self.sim = self.useFixture(EngineSimFixture(
            clock=self.clock, scenario=self.scenario, delays=self.delays)).sim
        self.conn = self.connect()
        self.system = self.conn.system_service()

    def connect(self, password='secret', ca_file=None, **kw):
        conn = sdk.Connection(url=self.sim.url, username='admin@internal',
                              password=password, ca_file=ca_file or self.sim.ca_file, **kw)
        self.addCleanup(self._close, conn)
        return conn

    @staticmethod
    def _close(conn):
        try:
            conn.close()
        except (sdk.Error, pycurl.error):
            pass        # a test stopped the simulator: nobody to log out from

    # -- helpers ------------------------------------------------------------

    def settle(self, seconds=10):
        self.clock.advance(seconds)

    def add_vm(self, name='vm1', cluster='cluster1', template='Blank', memory=1 * GiB,
               **kw):
        return self.system.vms_service().add(types.Vm(
            name=name, cluster=types.Cluster(name=cluster),
            template=types.Template(name=template), memory=memory, **kw))

    def vm_service(self, vm_id):
        return self.system.vms_service().vm_service(vm_id)

    def add_disk(self, name='disk1', size=10 * MiB, fmt=types.DiskFormat.COW):
        return self.system.disks_service().add(types.Disk(
            name=name, format=fmt, provisioned_size=size,
            storage_domains=[types.StorageDomain(name='data')]))

    def start_and_wait(self, vm_id):
        self.vm_service(vm_id).start()
        self.settle()
        vm = self.vm_service(vm_id).get()
        self.assertEqual(types.VmStatus.UP, vm.status)
        return vm

    def assertFault(self, code, fn, *args, **kw):
        err = self.assertRaises(sdk.Error, fn, *args, **kw)
        self.assertEqual(code, err.code, str(err))
        return err
