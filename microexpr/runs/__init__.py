"""Run directories and the protocol engine (``execute_run``); see ``engine.py`` and ``layout.py``."""

from .data import RunData, load_run_data
from .engine import RunResult, SweepResult, execute_run, execute_sweep
from .layout import RunPaths

__all__ = ["RunData", "RunPaths", "RunResult", "SweepResult", "execute_run", "execute_sweep", "load_run_data"]
