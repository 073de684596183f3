import sys

from ovirt_engine_sim.cli import main

sys.exit(main())
