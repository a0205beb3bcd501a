"""``microexpr datasets``: list the registered readers, check a local copy.

``microexpr datasets check --dataset casme2 --root DIR [--scheme composite3] [--option variant=cropped]``
prints counts per emotion and subject, applied repairs, skipped files and problems; it
exits 1 when there are problems, 0 otherwise (2 on an error such as a missing root).
"""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from ..errors import ConfigError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("datasets", help="list dataset readers, check a local copy")
    sub = parser.add_subparsers(dest="datasets_command", metavar="ACTION")
    lst = sub.add_parser("list", help="registered dataset readers and their options")
    lst.set_defaults(func=_list)
    chk = sub.add_parser("check", help="validate a local copy and list its problems")
    chk.add_argument("--dataset", required=True, help="dataset name (see `microexpr datasets list`)")
    chk.add_argument("--root", required=True, help="folder of the local copy (a manifest: the CSV file)")
    chk.add_argument("--scheme", default=None, help="also apply a label scheme (composite3, objective5, tlcnn4, native)")
    chk.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                     help="reader option, e.g. variant=cropped or apex=middle (repeatable)")
    chk.add_argument("--no-decode", action="store_true", help="do not decode every frame (faster)")
    chk.set_defaults(func=_check)
    parser.set_defaults(func=lambda args: (parser.print_help(), 0)[1])


def _parse_options(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--option {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        out[key.strip()] = yaml.safe_load(value)
    return out


def _list(args: argparse.Namespace) -> int:
    from ..datasets import list_datasets, reader_module, reader_options

    for name in list_datasets():
        doc = (reader_module(name).__doc__ or "").strip().splitlines()[0]
        opts = ", ".join(f"{k}={v!r}" for k, v in reader_options(name).items() if k != "repairs")
        print(f"{name:10s} {doc}\n{'':10s} options: {opts}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from ..datasets.check import check_dataset

    report = check_dataset(
        args.dataset, args.root, scheme=args.scheme, decode=not args.no_decode, progress=True,
        **_parse_options(args.option),
    )
    print(report.summary())
    return 0 if report.ok else 1
