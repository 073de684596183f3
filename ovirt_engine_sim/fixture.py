"""A fixtures.Fixture running an EngineSimulator for a test."""

import fixtures

from ovirt_engine_sim.simulator import EngineSimulator


class EngineSimFixture(fixtures.Fixture):
    """Starts a simulator in setUp and stops it at cleanup; ``.sim``."""

    def __init__(self, **kwargs):
        super(EngineSimFixture, self).__init__()
        self.kwargs = kwargs
        self.sim = None

    def _setUp(self):
        self.sim = EngineSimulator(**self.kwargs)
        self.sim.start()
        self.addCleanup(self.sim.stop)
