"""The engine: runs rules over an index and picks causes."""

from podmortem.engine.run import EngineResult, choose, run

__all__ = ["EngineResult", "choose", "run"]
