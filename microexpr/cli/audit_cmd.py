"""``microexpr audit RUN_DIR --kfold-mixed``: how much a leaky protocol would inflate this run's score.

The best-epoch-per-test-fold side of the audit comes with the run itself (``audit:
{test_every: N}`` in its config); this command measures the other leak: it reruns the
recipe with clip-level k-fold (one subject's clips in training and test) and prints the gap
to the run's own, subject-grouped result.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("audit", help="leakage audit: rerun a run's recipe with subjects mixed across folds, print the gap")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a finished run directory")
    p.add_argument("--kfold-mixed", action="store_true", required=True,
                   help="rerun with clip-level k-fold (subjects mixed) in RUN_DIR/audit/kfold_mixed")
    p.add_argument("--k", type=int, default=5, help="folds of the clip-level k-fold (default 5)")
    p.add_argument("--data", nargs="+", action="extend", default=[], metavar="NAME=DIR",
                   help="dataset roots, when they moved since the run")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..report.tables import fmt
    from ..runs.mixing import COLUMNS, rerun_with_mixed_folds

    res = rerun_with_mixed_folds(args.run_dir, k=args.k, data=args.data, progress=not args.quiet)
    print(f"{'':44}" + "".join(f"{c.upper():>9}" for c in COLUMNS))
    print(f"{'honest: ' + res['grouped_protocol'] + ' (subjects kept apart)':44}" + "".join(f"{fmt(res['grouped'][c]):>9}" for c in COLUMNS))
    print(f"{'leaky: clip-level ' + str(args.k) + '-fold (subjects mixed)':44}" + "".join(f"{fmt(res['mixed'][c]):>9}" for c in COLUMNS))
    print(f"{'gap (leaky - honest)':44}" + "".join(f"{res['gap'][c]:>+9.4f}" for c in COLUMNS))
    print(f"the leaky rerun: {res['mixed_run_dir']}")
    return 0
