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

"""What the benchmarks share: the engine simulator in its own process.

Driver CPU and memory are measured in the benchmark's process; the
simulator runs in a child, so its work is not counted as the driver's.
"""

import multiprocessing
import os
import resource
import sys

os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

FAST = {k: 0.01 for k in (
    'vm_image_lock', 'vm_launch', 'vm_power_up', 'vm_power_down',
    'disk_lock', 'template_lock', 'snapshot_lock', 'transfer_init',
    'transfer_finalize')}


def _serve(conn, kwargs, setup, prepare):
    from ovirt_engine_sim import EngineSimulator
    if prepare is not None:
        prepare()
    sim = EngineSimulator(**kwargs).start()
    if setup is not None:
        setup(sim)
    conn.send(dict(url=sim.url, username=sim.username,
                   password=sim.password, ca_file=sim.ca_file,
                   imageio=getattr(sim, 'imageio_url', None)))
    while True:
        msg = conn.recv()
        if msg == 'stop':
            break
        name, args = msg
        try:
            target = sim
            for part in name.split('.'):
                target = getattr(target, part)
            conn.send(('ok', target(*args) if args is not None else target))
        except Exception as e:      # the bench prints it
            conn.send(('error', repr(e)))
    sim.stop()
    conn.send('stopped')


class RemoteSim(object):
    """An EngineSimulator in a child process; ``call`` runs its methods."""

    def __init__(self, setup=None, prepare=None, **kwargs):
        kwargs.setdefault('delays', FAST)
        ctx = multiprocessing.get_context('fork')
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_serve, args=(child, kwargs, setup, prepare), daemon=True)
        self._proc.start()
        info = self._conn.recv()
        self.__dict__.update(info)

    @property
    def pid(self):
        return self._proc.pid

    def call(self, name, *args):
        """sim.<name>(*args); a dotted name reaches sim.requests etc."""
        self._conn.send((name, args))
        return self._answer(name)

    def get(self, name):
        """The value of sim.<name> (dotted), e.g. 'requests.total'."""
        self._conn.send((name, None))
        return self._answer(name)

    def _answer(self, name):
        status, value = self._conn.recv()
        if status != 'ok':
            raise RuntimeError('simulator %s failed: %s' % (name, value))
        return value

    def stop(self):
        try:
            self._conn.send('stop')
            self._conn.recv()
        finally:
            self._proc.join(10)


MiB = 1024 * 1024
#: A half-zero image alternates data and zero segments of this size.
SEGMENT = 64 * MiB


def make_image(path, size, half_zero, zeros_as_holes=True):
    """A file of random data, or half random and half zeros.

    zeros_as_holes=False writes the zeros, like a Glance stream that has
    them to read (``virsh vol-upload --sparse`` cannot skip them then).
    """
    with open(path, 'wb') as f:
        pos = 0
        while pos < size:
            n = min(SEGMENT, size - pos)
            zero = half_zero and (pos // SEGMENT) % 2
            if zero and zeros_as_holes:
                f.seek(n, os.SEEK_CUR)
            else:
                for i in range(0, n, 4 * MiB):
                    piece = min(4 * MiB, n - i)
                    f.write(bytes(piece) if zero else os.urandom(piece))
            pos += n
        f.truncate(size)


def cpu_seconds(pid=None):
    """CPU seconds of this process, or of process pid (the simulator)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def load():
    """The load averages (1, 5, 15 minutes), for the record."""
    return '%.1f %.1f %.1f' % os.getloadavg()


def rss_mib():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024.0
    return 0.0


def peak_rss_mib():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024.0
    return 0.0


def reset_peak_rss():
    """Make VmHWM start from the current RSS (Linux >= 4.0)."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        pass
