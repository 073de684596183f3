import sys

from nova_ovirt.engine_sim.cli import main

sys.exit(main())
