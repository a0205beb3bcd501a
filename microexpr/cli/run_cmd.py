"""``microexpr run CONFIG``: execute (or resume) a run and print its result tables."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a method under a protocol from a YAML config (resumes an interrupted run)",
        description=(
            "Read the config's datasets, apply the label scheme, split by the protocol, train and "
            "predict fold by fold (each finished fold is saved; rerunning resumes), then write "
            "predictions.csv, metrics.json and report.md into the run directory and print the tables."
        ),
    )
    p.add_argument("config", metavar="CONFIG",
                   help="a packaged config name (`microexpr configs list`, e.g. laenet_cde) or the path of a YAML run config")
    p.add_argument("--data", nargs="+", action="extend", default=[], metavar="NAME=DIR",
                   help="dataset root(s), e.g. --data casme2=/data/CASME2 samm=/data/SAMM")
    p.add_argument("--option", nargs="+", action="extend", default=[], metavar="NAME.KEY=VALUE",
                   help="reader option of one dataset, e.g. --option flow_png.labels=gt.csv or smic.apex=middle (repeatable)")
    p.add_argument("--set", nargs="+", action="extend", default=[], metavar="DOTTED.KEY=VALUE", dest="overrides",
                   help="override any config value (YAML-typed, checked against the schema, recorded in config.yaml), "
                        "e.g. --set method.params.epochs=50 method.params.weights_dir=/w")
    p.add_argument("--out", type=Path, default=None, metavar="RUN_DIR", help="run directory (default: runs/<config name>)")
    p.add_argument("--seeds", nargs="+", type=int, default=None, metavar="S", help="seeds to run (overrides the config)")
    p.add_argument("--device", default=None, metavar="DEVICE",
                   help="auto | cpu | cuda | cuda:N | mps (default: the config's, auto = CUDA when available)")
    p.add_argument("--precision", default=None, choices=("32", "bf16", "16-mixed"),
                   help="training precision (default: the config's, 32)")
    p.add_argument("--executor", default=None, choices=("local", "processes", "ray"),
                   help="where folds run: this process, worker processes, or a Ray cluster (default: the config's, local)")
    p.add_argument("--threads", default=None, type=int, metavar="N",
                   help="PyTorch threads per unit of work (default: PyTorch's own locally, cores/workers in workers)")
    p.add_argument("--address", default=None, metavar="auto|HOST:PORT",
                   help="with --executor ray: the cluster to join (default: start a local Ray)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config import load_config, with_data_options, with_data_overrides, with_overrides, with_seeds
    from . import with_compute_options
    from ..report import build_report, write_report
    from ..runs import execute_run

    from ..packaged_configs import find_config

    config = load_config(find_config(args.config))
    if args.data:
        config = with_data_overrides(config, args.data)
    if args.option:
        config = with_data_options(config, args.option)
    if args.overrides:
        config = with_overrides(config, args.overrides)
    if args.seeds:
        config = with_seeds(config, args.seeds)
    config = with_compute_options(config, args)
    run_dir = args.out if args.out is not None else Path("runs") / config.name
    if config.sweep is not None:
        from ..report.tables import render
        from ..runs import execute_sweep
        from ..runs.sweeps import sweep_table

        sweep = execute_sweep(config, run_dir, progress=not args.quiet)
        for point in sweep.points.values():
            write_report(point.run_dir)
        print(render([sweep_table(sweep.root)], markdown=False))
        n_done = sum(len(p.computed) for p in sweep.points.values())
        print(f"sweep directory: {sweep.root} ({len(sweep.points)} points, {n_done} fold(s) computed); "
              f"`microexpr report {sweep.root}` prints this table again")
        return 0
    result = execute_run(config, run_dir, progress=not args.quiet)
    write_report(result.run_dir)
    print(build_report(result.run_dir))
    print(f"run directory: {result.run_dir} ({len(result.computed)} fold(s) computed, {len(result.skipped)} reused)")
    return 0
