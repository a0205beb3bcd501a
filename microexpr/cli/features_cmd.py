"""``microexpr features``: compute hand-crafted descriptors to a file, evaluate a feature file.

``microexpr features extract lbptop|hoof|mdmo --data NAME=DIR ... --out FEATS.npz``
    computes a descriptor for every labelled clip of the datasets and writes an ``.npz``
    (``X``, ``keys``; :mod:`microexpr.sources.feature_npz`).
``microexpr features evaluate FEATS.npz --data NAME=DIR ... --protocol cde --classifier poly``
    builds a run config in memory (method ``features_svm``) and runs it with the protocol
    engine: per-clip predictions, metrics.json and report.md land in the run directory
    (default ``runs/features_<file stem>_<protocol>_<classifier>``), as for ``microexpr run``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import yaml

from ..config import parse_data_items, with_data_options, with_data_overrides
from ..errors import ConfigError

_DESCRIPTORS = {"lbptop": "lbptop_svm", "hoof": "hoof_svm", "mdmo": "mdmo_svm"}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("features", help="hand-crafted descriptors: extract to .npz, evaluate an .npz under a protocol")
    sub = p.add_subparsers(dest="features_command", metavar="ACTION")
    sub.required = True

    ev = sub.add_parser(
        "evaluate",
        help="evaluate a feature file (.npz with X and keys) with an SVM under a protocol",
        description="Match the file's rows to the clips by key, then run an SVM under the protocol "
        "(each fold's scaler/SVM sees its training clips only) and print the metrics.",
    )
    ev.add_argument("features", type=Path, help=".npz with X (n, d) and keys (n,) = clip keys like casme2/sub01/EP02_01f")
    _data_args(ev)
    ev.add_argument("--protocol", default="cde", choices=["cde", "loso", "hde", "kfold"], help="default: cde")
    ev.add_argument("--test", nargs="+", default=None, metavar="DATASET",
                    help="hde: test dataset(s), one fold each (default: every dataset in turn)")
    ev.add_argument("--k", type=int, default=5, help="kfold: number of folds (default 5)")
    ev.add_argument("--clip-level", action="store_true",
                    help="kfold: clip-level folds that mix subjects (TLCNN's protocol; default: subject-grouped)")
    ev.add_argument("--classifier", default="poly", choices=["poly", "linear", "chi2"],
                    help="SVM kernel: poly (degree 2), linear, chi2 (default: poly)")
    ev.add_argument("--C", type=float, default=1.0, help="SVM C (default 1)")
    ev.add_argument("--standardize", action="store_true", help="z-score the features on each training fold")
    ev.add_argument("--class-weight", choices=["balanced"], default=None, help="weight classes by inverse frequency")
    ev.add_argument("--seed", type=int, default=0, help="seed (kfold splits)")
    ev.add_argument("--name", default=None, help="run name (default: features_<stem>_<protocol>_<classifier>)")
    ev.add_argument("--out", type=Path, default=None, metavar="RUN_DIR", help="run directory (default: runs/<name>)")
    ev.add_argument("--synthetic", action="store_true", help="mark the data as synthetic in the report")
    ev.add_argument("--quiet", action="store_true", help="no progress bars")
    ev.set_defaults(func=evaluate)

    ex = sub.add_parser(
        "extract",
        help="compute LBP-TOP, HOOF or MDMO for every labelled clip and write an .npz",
        description="Parameters are those of the methods lbptop_svm / hoof_svm / mdmo_svm "
        "(descriptor and input parameters), given as --param KEY=VALUE (values in YAML syntax).",
    )
    ex.add_argument("descriptor", choices=sorted(_DESCRIPTORS))
    _data_args(ex)
    ex.add_argument("--param", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                    help="e.g. --param tim_length=10 radius_t=4 n_points=4 grid=[5,5]")
    ex.add_argument("--out", type=Path, required=True, metavar="FILE.npz", help="output feature file")
    ex.add_argument("--cache-dir", type=Path, default=None,
                    help="inputs cache (default: <cache root>/inputs; see microexpr.cache_dirs)")
    ex.add_argument("--jobs", type=int, default=None, help="preprocessing processes (default: one per core)")
    ex.add_argument("--quiet", action="store_true", help="no progress bars")
    ex.set_defaults(func=extract)


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", nargs="+", action="extend", required=True, metavar="NAME=DIR",
                   help="dataset root(s), e.g. --data casme2=/data/CASME2 samm=/data/SAMM smic=/data/SMIC")
    p.add_argument("--scheme", default="composite3", help="label scheme (default composite3)")
    p.add_argument("--option", nargs="+", action="extend", default=[], metavar="DATASET.KEY=VALUE",
                   help="dataset reader option, e.g. --option smic.apex=middle")
    p.add_argument("--ground-truth-csv", default=None, help="official clip list fixing the clips")


def _key_values(items: list[str], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{what} {item!r}: write KEY=VALUE")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{what} {item!r}: the value is not valid YAML ({exc})") from exc
    return out


def _data_section(args: argparse.Namespace, synthetic: bool = False) -> dict[str, Any]:
    """The config's data section: the --data names (roots set by :func:`_with_cli_data`, the
    same parsing and checks as ``microexpr run``)."""
    gt = None if args.ground_truth_csv is None else str(Path(args.ground_truth_csv).resolve())
    return {"scheme": args.scheme, "datasets": {n: None for n in parse_data_items(args.data)}, "options": {},
            "ground_truth_csv": gt, "synthetic": synthetic}


def _with_cli_data(config: Any, args: argparse.Namespace) -> Any:
    """``--data`` roots and ``--option`` reader options applied exactly as ``microexpr run`` does."""
    config = with_data_overrides(config, args.data)
    return with_data_options(config, args.option) if args.option else config


def evaluation_config(args: argparse.Namespace) -> dict[str, Any]:
    """The run config (as a mapping) that ``features evaluate`` executes."""
    protocol: dict[str, Any] = {"name": args.protocol}
    data = _data_section(args, args.synthetic)
    if args.protocol == "hde":
        protocol["test"] = list(args.test) if args.test else sorted(data["datasets"])
    elif args.test:
        raise ConfigError("--test is for --protocol hde only")
    if args.protocol == "kfold":
        protocol.update(k=args.k, grouped=not args.clip_level, seed=args.seed)
    name = args.name or f"features_{args.features.stem}_{args.protocol}_{args.classifier}"
    params = {
        "features": str(args.features.expanduser().resolve()),
        "kernel": args.classifier,
        "C": args.C,
        "standardize": args.standardize,
        "class_weight": args.class_weight,
    }
    return {
        "name": name,
        "description": f"feature file {args.features.name} + {args.classifier} SVM under {args.protocol}",
        "data": data,
        "protocol": protocol,
        "method": {"name": "features_svm", "params": params},
        "seeds": [args.seed],
    }


def evaluate(args: argparse.Namespace) -> int:
    from ..config import config_from_dict
    from ..report import build_report, write_report
    from ..runs import execute_run

    config = _with_cli_data(config_from_dict(evaluation_config(args), source="microexpr features evaluate"), args)
    run_dir = args.out if args.out is not None else Path("runs") / config.name
    result = execute_run(config, run_dir, progress=not args.quiet)
    write_report(result.run_dir)
    print(build_report(result.run_dir))
    print(f"run directory: {result.run_dir}")
    return 0


def extract(args: argparse.Namespace) -> int:
    from ..config import config_from_dict
    from ..methods import RunContext, create_method
    from ..runs import load_run_data
    from ..sources.feature_npz import save_feature_file

    method_name = _DESCRIPTORS[args.descriptor]
    params = _key_values(args.param, "--param")
    svm_keys = {"kernel", "C", "degree", "coef0", "gamma", "chi2_gamma", "standardize", "class_weight"}
    if svm_keys & set(params):
        raise ConfigError(f"--param {sorted(svm_keys & set(params))}: classifier options belong to 'features evaluate'")
    method = create_method(method_name, params)
    config = _with_cli_data(config_from_dict(
        {"name": f"extract_{args.descriptor}", "data": _data_section(args), "protocol": {"name": "cde"},
         "method": {"name": method_name, "params": params}},
        source="microexpr features extract",
    ), args)
    data = load_run_data(config)
    out = args.out.expanduser().resolve()
    from ..cache_dirs import input_cache_dir

    cache = input_cache_dir(args.cache_dir)
    ctx = RunContext(run_dir=out.parent, cache_dir=Path(cache), classes=tuple(data.classes),
                     n_jobs=args.jobs or (os.cpu_count() or 1), progress=not args.quiet)
    X = method.features(data.table, ctx)
    save_feature_file(out, X, data.table["key"].astype(str).tolist())
    print(f"wrote {out}: {X.shape[0]} clips x {X.shape[1]} features ({args.descriptor}, {params or 'defaults'})")
    return 0
