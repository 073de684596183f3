"""Unit tests of the search language, volumes and the clock."""

import fixtures
import testtools

from ovirt_engine_sim import ManualClock
from ovirt_engine_sim import model
from ovirt_engine_sim import search
from ovirt_engine_sim import volumes


class SearchParseTest(testtools.TestCase):
    FIELDS = {'name': lambda o: o['name'], 'status': lambda o: o['status'],
              'memory': lambda o: o['memory']}
    OBJS = [{'name': 'a1', 'status': 'up', 'memory': 512},
            {'name': 'A2', 'status': 'down', 'memory': 2048},
            {'name': 'b', 'status': 'up', 'memory': 1024}]

    def names(self, text, **kw):
        return [o['name'] for o in search.run(self.OBJS, text, self.FIELDS, **kw)]

    def test_queries(self):
        self.assertEqual(['a1', 'A2'], self.names('name=a*'))
        self.assertEqual(['a1'], self.names('name=a* and status=up'))
        self.assertEqual(['a1', 'b'], self.names('Vms: status=up'))
        self.assertEqual(['A2', 'b'], self.names('memory>=1024'))
        self.assertEqual(['A2', 'b'], self.names('status!=up or name=b'))
        self.assertEqual(['b', 'a1'], self.names('status=up sortby name desc'))
        self.assertEqual(['a1', 'b'], self.names('(name=b or name=a1) and status=up'))
        self.assertEqual(['a1'], self.names('a1'))
        self.assertEqual([], self.names('name=a2', case_sensitive=True))

    def test_errors(self):
        for bad in ('name=', 'nope=1', 'name=a and', '(name=a', 'name=a sortby nope',
                    '=a', 'name=a)'):
            self.assertRaises(search.SearchError, search.parse, bad, self.FIELDS)


class VolumeTest(testtools.TestCase):

    def setUp(self):
        super(VolumeTest, self).setUp()
        self.vols = volumes.VolumeStore(self.useFixture(fixtures.TempDir()).path)

    def test_cow_chain(self):
        base = self.vols.create('base', 100)
        base.write(0, b'a' * 50)
        top = self.vols.create('top', 120, base=base)
        top.write(40, b'b' * 20)
        self.assertEqual(b'a' * 40 + b'b' * 20 + b'\0' * 60, top.read(0, 120))
        self.assertEqual(20, top.allocated())
        top.zero(0, 10)
        self.assertEqual(b'\0' * 10 + b'a' * 30, top.read(0, 40))
        copy, copied = self.vols.copy('copy', top)
        self.assertEqual(top.read(0, 120), copy.read(0, 120))
        self.assertEqual(50, copied)
        ext = top.extents()
        self.assertEqual(120, sum(e['length'] for e in ext))
        self.assertEqual([True, False, True], [e['zero'] for e in ext])

    def test_read_into_matches_read_across_the_chain(self):
        """The GET path reads into a reused buffer: whatever was in it
        before, every byte is the chain's (data, zeros, the base's,
        beyond a smaller base, beyond the end)."""
        base = self.vols.create('base', 100)
        base.write(0, bytes(range(1, 61)))
        top = self.vols.create('top', 130, base=base)
        top.write(40, b'b' * 20)
        top.zero(5, 10)
        top.write(110, b'c' * 5)
        for offset, size in ((0, 130), (3, 50), (95, 30), (120, 20)):
            buf = bytearray(b'\xff' * size)
            top.read_into(offset, buf)
            want = top.read(offset, size).ljust(size, b'\0')
            self.assertEqual(want, bytes(buf), (offset, size))

    def test_zero_chunks_stay_sparse(self):
        layer = self.vols.create('l', 10)
        layer.write(0, b'\0' * 10)
        self.assertEqual(0, layer.allocated())


class TimerTest(testtools.TestCase):

    def test_chains_run_in_one_advance(self):
        clock = ManualClock()
        store = model.Store(clock, {'vm_launch': 1, 'vm_power_up': 2})
        seen = []

        def first():
            seen.append(('first', clock.time()))
            store.schedule('vm_power_up', 'k', lambda: seen.append('second'))
        store.schedule('vm_launch', 'k', first)
        clock.advance(0.5)
        self.assertEqual([], seen)
        clock.advance(10)
        self.assertEqual(2, len(seen))
        self.assertFalse(store.pending('k'))
