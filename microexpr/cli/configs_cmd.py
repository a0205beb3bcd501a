"""``microexpr configs list|show|copy``: the paper configs that ship with microexpr."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("configs", help="list, show or copy the packaged run configs (papers' tables, demos)")
    sub = p.add_subparsers(dest="configs_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="one line per config: name, paper, table, method, protocol")
    ls.add_argument("--method", default=None, help="only this method (e.g. laenet)")
    ls.add_argument("--paper", default=None, help="only configs whose paper contains this text (e.g. ATNet)")
    ls.set_defaults(func=list_cmd)
    show = sub.add_parser("show", help="print one config's YAML")
    show.add_argument("name", help="config name, e.g. laenet_cde")
    show.set_defaults(func=show_cmd)
    copy = sub.add_parser("copy", help="copy a config to edit it (never overwrites)")
    copy.add_argument("name", help="config name, e.g. laenet_cde")
    copy.add_argument("dir", nargs="?", type=Path, default=Path("."), help="destination folder (default: here)")
    copy.set_defaults(func=copy_cmd)


def list_cmd(args: argparse.Namespace) -> int:
    from ..packaged_configs import list_configs

    rows = [("NAME", "PAPER", "TABLE", "METHOD", "PROTOCOL")]
    rows += [(c.name, c.paper or "-", c.table or "-", c.method, c.protocol)
             for c in list_configs(method=args.method, paper=args.paper)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    print(f"{len(rows) - 1} config(s); run one with `microexpr run NAME --data ...`, edit a copy with "
          "`microexpr configs copy NAME`")
    return 0


def show_cmd(args: argparse.Namespace) -> int:
    from ..packaged_configs import find_config

    print(find_config(args.name).read_text(encoding="utf-8"), end="")
    return 0


def copy_cmd(args: argparse.Namespace) -> int:
    from ..errors import OutputError
    from ..io_utils import atomic_write_text, check_writable
    from ..packaged_configs import find_config

    src = find_config(args.name)
    dest = check_writable(args.dir, "destination folder") / src.name
    if dest.exists():
        raise OutputError(f"{dest} exists already; remove it or copy into another folder")
    atomic_write_text(dest, src.read_text(encoding="utf-8"))
    print(f"copied {src.stem} to {dest}; run it with `microexpr run {dest} --data ...`")
    return 0
