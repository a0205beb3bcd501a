"""The ``microexpr`` command: a thin layer that parses arguments and calls the library.

Each sub-command lives in its own module exposing ``register(subparsers)``, which adds a
parser whose ``func`` attribute is called with the parsed arguments and returns the exit
code. Errors of type :class:`~microexpr.errors.MicroexprError` are printed (without a
traceback) and give exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from ..provenance import version_string
from ..errors import MicroexprError

# Sub-command modules, in the order they appear in --help.
_COMMAND_MODULES: tuple[str, ...] = (
    "demo_cmd",
    "datasets_cmd",
    "synth_cmd",
    "run_cmd",
    "configs_cmd",
    "report_cmd",
    "audit_cmd",
    "features_cmd",
    "predict_cmd",
    "export_cmd",
    "spot_cmd",
    "doctor_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (every registered sub-command)."""
    parser = argparse.ArgumentParser(
        prog="microexpr",
        description="Facial micro-expression recognition: datasets, protocols, methods, reports, inference.",
    )
    parser.add_argument("--version", action="version", version=f"microexpr {version_string()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _COMMAND_MODULES:  # explicit: a command module that fails to import is an error
        importlib.import_module(f"microexpr.cli.{mod}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``microexpr`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except MicroexprError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (e.g. `| head`): not an error of ours
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def with_compute_options(config: "object", args: argparse.Namespace) -> "object":
    """``config`` with the command line's ``--device``, ``--precision``, ``--executor``,
    ``--address`` and ``--threads`` where given (checked like the config's own keys)."""
    import dataclasses

    from ..config import EXECUTORS, _check_values

    changes = {key: getattr(args, attr) for key, attr in (("device", "device"), ("precision", "precision"),
                                                           ("executor", "executor"), ("ray_address", "address"),
                                                           ("threads", "threads"))
               if getattr(args, attr, None) is not None}
    if not changes:
        return config
    if changes.get("ray_address") and changes.get("executor", getattr(config, "executor")) != "ray":
        raise MicroexprError(f"--address is for --executor ray (executors: {', '.join(EXECUTORS)})")
    out = dataclasses.replace(config, **changes)  # type: ignore[type-var]
    _check_values(out, "command line")  # type: ignore[arg-type]
    return out
