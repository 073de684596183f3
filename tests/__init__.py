# Choose nova's concurrency mode before anything imports nova's services:
# OS_NOVA_DISABLE_EVENTLET_PATCHING=1 runs the tests in native threading
# mode (nova 34's default), =0 in eventlet mode. The test command runs the
# nova-based tiers once in each mode.
from nova import monkey_patch

monkey_patch.patch()
