"""``microexpr doctor``: check the install, one line per part, with the fix for what is missing."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("doctor", help="check that every required and optional part of the install works")
    p.add_argument("--no-kernels", action="store_true", help="skip compiling and checking the fused training kernels")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..doctor import render, run_checks

    checks = run_checks(fused=not args.no_kernels)
    print(render(checks))
    return 1 if any(c.required and not c.ok for c in checks) else 0
