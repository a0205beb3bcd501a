"""``microexpr report RUN_DIR [--html]``: print a finished run's tables, write ``report.md``
(and, with ``--html``, the self-contained ``report.html``)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="print a run's result tables (with the paper's numbers when configured) and write report.md",
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory written by `microexpr run`")
    p.add_argument("--markdown", action="store_true", help="print markdown instead of console tables")
    p.add_argument("--html", action="store_true", help="also write RUN_DIR/report.html (self-contained)")
    p.set_defaults(func=report)


def report(args: argparse.Namespace) -> int:
    from ..report import build_report, write_report

    text = build_report(args.run_dir, markdown=args.markdown)
    path = write_report(args.run_dir)
    print(text)
    print(f"written: {path}")
    if args.html:
        from ..report.html import write_html_report

        print(f"written: {write_html_report(args.run_dir)}")
    return 0
