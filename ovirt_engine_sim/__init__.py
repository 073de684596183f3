"""A stateful simulator of the oVirt engine's v4 REST API (see
doc/source/engine-simulator.rst)."""

from ovirt_engine_sim.clock import ManualClock  # noqa: F401
from ovirt_engine_sim.clock import RealClock  # noqa: F401
from ovirt_engine_sim.simulator import EngineSimulator  # noqa: F401

__all__ = ['EngineSimulator', 'ManualClock', 'RealClock']
