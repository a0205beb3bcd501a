"""``microexpr report RUN_DIR [RUN_DIR ...] [--html]``: print a finished run's tables, write
``report.md`` (and, with ``--html``, the self-contained ``report.html``); with several runs,
also one table of all of them beside the paper's rows (e.g. ATNet's three variants)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="print a run's result tables (with the paper's numbers when configured) and write report.md",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory written by `microexpr run`")
    p.add_argument("more_runs", type=Path, nargs="*", metavar="RUN_DIR",
                   help="further runs (e.g. the other variants): also print one table of all runs beside the paper's rows")
    p.add_argument("--markdown", action="store_true", help="print markdown instead of console tables")
    p.add_argument("--html", action="store_true",
                   help="also write RUN_DIR/report.html (self-contained; figures; with several runs, a chart comparing them)")
    p.set_defaults(func=report)


def report(args: argparse.Namespace) -> int:
    from ..report import build_report, write_report
    from ..runs.sweeps import is_sweep

    from ..spotting.engine import is_spot_run

    if is_spot_run(args.run_dir):  # spot runs: one table of every run given, side by side
        from ..report.tables import render
        from ..spotting.engine import spot_comparison_table

        print(render([spot_comparison_table([args.run_dir, *args.more_runs])], markdown=args.markdown))
        return 0
    if is_sweep(args.run_dir):  # a sweep folder: one table of its points, mean +- std over seeds
        from ..report.tables import render
        from ..runs.sweeps import sweep_table

        print(render([sweep_table(args.run_dir)], markdown=args.markdown))
        return 0

    text = build_report(args.run_dir, markdown=args.markdown)
    path = write_report(args.run_dir)
    print(text)
    print(f"written: {path}")
    if args.html:
        from ..report.html import write_html_report

        # with several runs, the first run's page also carries the chart comparing them all
        print(f"written: {write_html_report(args.run_dir, compare_with=list(args.more_runs) or None)}")
    if args.more_runs:
        from ..report.compare import comparison_table
        from ..report.tables import render

        runs = [args.run_dir, *args.more_runs]
        labels = [r.resolve().name for r in runs]
        if len(set(labels)) != len(labels):
            labels = [str(r) for r in runs]
        print(render([comparison_table(dict(zip(labels, runs)))], markdown=args.markdown))
    return 0
