"""``microexpr export RUN_DIR --out model.pt``: the deployable model of a finished run.

Re-fits the run's method on ALL clips of the run (its resolved config, first seed) and
writes one artefact file (weights, preprocessing parameters, class names, versions,
SHA-256 digest) for ``microexpr predict``. The run's LOSO/CDE/HDE folds are for
evaluation only; their per-fold models are not exported.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="re-fit a run's method on all its clips and write a model artefact for `microexpr predict`",
        description=(
            "Re-fit the run's method on every clip of the run (the folds only evaluate the recipe) with the "
            "run's resolved config and first seed, and write one model file: weights, preprocessing "
            "configuration, class names, versions and a SHA-256 digest."
        ),
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory written by `microexpr run`")
    p.add_argument("--out", type=Path, default=None, metavar="FILE", help="artefact path (default RUN_DIR/model.pt)")
    p.add_argument("--data", nargs="*", default=[], metavar="NAME=DIR",
                   help="dataset roots when the run's config leaves them null or they moved")
    p.add_argument("--device", default=None, metavar="DEVICE",
                   help="auto | cpu | cuda | cuda:N | mps (default: the config's, auto = CUDA when available)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import yaml

    from ..artefacts import export_run, load_artefact
    from ..config import config_from_dict, with_data_overrides
    from ..io_utils import check_writable
    from ..runs import load_run_data

    target = args.out or args.run_dir / "model.pt"
    check_writable(target.parent if str(target.parent) else ".", "--out folder")  # before the re-fit, not after
    data = None
    if args.data:
        cfg_path = args.run_dir / "config.yaml"
        from ..errors import ModelError

        if not cfg_path.is_file():
            raise ModelError(f"{args.run_dir} is not a run directory (no config.yaml)")
        config = config_from_dict(yaml.safe_load(cfg_path.read_text(encoding="utf-8")), base_dir=args.run_dir)
        data = load_run_data(with_data_overrides(config, args.data))
    out = args.out or args.run_dir / "model.pt"
    path = export_run(args.run_dir, out, progress=not args.quiet, data=data, device=args.device)
    art = load_artefact(path)
    print(f"written: {path}")
    print(f"model {art.model_name} ({', '.join(art.classes)}), input {art.input_name}, trained on "
          f"{art.training['n_clips']} clips of {', '.join(art.training['datasets'])}; sha256 {art.sha256[:16]}...")
    return 0
