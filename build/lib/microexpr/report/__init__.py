"""Reports of a run: tables (console, markdown) built from the run directory's files.

``report_tables(load_run(run_dir))`` gives the tables as data for any renderer.
"""

from .build import SYNTHETIC_LINE, RunRecord, build_report, load_run, report_tables, write_report
from .tables import Table, render, render_markdown, render_text

__all__ = [
    "SYNTHETIC_LINE",
    "RunRecord",
    "Table",
    "build_report",
    "load_run",
    "render",
    "render_markdown",
    "render_text",
    "report_tables",
    "write_report",
]
