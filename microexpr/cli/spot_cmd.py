"""``microexpr spot CONFIG``: spot micro- and macro-expressions in long videos, MEGC-scored."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "spot",
        help="spot micro- and macro-expressions in long videos (CAS(ME)^2, SAMM-LV, or synthetic) and score them as MEGC does",
        description="Run a spotter over every long video of the config's corpora into a resumable run directory "
                    "and print precision, recall and F1 (IoU >= 0.5) per type beside published figures.",
    )
    p.add_argument("config", metavar="CONFIG", help="a spot config path, or a packaged name (roi_flow_synthetic, roi_flow, ...)")
    p.add_argument("--data", nargs="+", action="extend", default=[], metavar="NAME=DIR",
                   help="long-video corpus roots, e.g. casme_sq_long=/data/CASME_sq samm_long=/data/SAMM_LV")
    p.add_argument("--out", type=Path, default=None, metavar="RUN_DIR", help="run directory (default runs/spot/<name>)")
    p.add_argument("--markdown", action="store_true", help="print the table as markdown")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config import parse_data_items
    from ..report.tables import render
    from ..spotting.engine import execute_spot, load_spot_config, spot_table, with_roots

    cfg = load_spot_config(args.config)
    if args.data:
        cfg = with_roots(cfg, parse_data_items(args.data))
    out = args.out or Path("runs") / "spot" / cfg.name
    metrics = execute_spot(cfg, out, progress=not args.quiet)
    print(render([spot_table(metrics, cfg)], markdown=args.markdown))
    print(f"run directory: {out} ({metrics['computed']} of {metrics['n_videos']} video(s) spotted in this call)")
    return 0
