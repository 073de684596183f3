# Choose nova's concurrency mode before anything imports nova's services:
# OS_NOVA_DISABLE_EVENTLET_PATCHING=1 runs the tests in native threading
# mode (nova 34's default), =0 in eventlet mode. The test command runs the
# nova-based tiers once in each mode.
import faulthandler
import signal
import sys
import traceback

from nova import monkey_patch

monkey_patch.patch()

from tests import green_locks  # noqa: E402

if monkey_patch.is_patched():
    green_locks.install()


def _dump_greenlets(signum, frame):
    """Print every green thread's stack (eventlet mode): faulthandler sees
    OS threads only, where a green thread waiting is just the hub."""
    import gc

    import greenlet
    for g in gc.get_objects():
        if isinstance(g, greenlet.greenlet) and g.gr_frame is not None:
            print('--- green thread %r' % g, file=sys.stderr)
            traceback.print_stack(g.gr_frame, file=sys.stderr)
    sys.stderr.flush()


# tools/run_suite.py sends these to a tier's workers that outlive its time
# limit, so that CI's log shows where a hung test waits.
faulthandler.register(signal.SIGUSR1, all_threads=True)
signal.signal(signal.SIGUSR2, _dump_greenlets)
