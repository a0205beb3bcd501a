"""Run directories and the protocol engine (``execute_run``); see ``engine.py`` and ``layout.py``."""

from .data import RunData, load_run_data
from .engine import RunResult, execute_run
from .layout import RunPaths

__all__ = ["RunData", "RunPaths", "RunResult", "execute_run", "load_run_data"]
