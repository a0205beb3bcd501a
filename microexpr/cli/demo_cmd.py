"""``microexpr demo``: the whole pipeline on a synthetic corpus, no licensed data needed.

Steps: generate (or reuse) the *quick* synthetic corpus in a cache folder, read it with the
same readers a real user's copy goes through, preprocess it, run LAENet (STSTNet while
LAENet is not installed) under CDE and HDE with the package's run configs
(``microexpr/configs/demo_cde.yaml``, ``demo_hde.yaml``), write a run directory per run
(config, per-fold predictions, ``predictions.csv``, ``metrics.json``, ``report.md``,
``report.html``), print the tables, and export the CDE run's method re-fitted on all clips
as ``<out>/model.pt`` for ``microexpr predict`` (methods that can export a model).

Decisions: the cache folder defaults to ``$MICROEXPR_CACHE`` or ``~/.cache/microexpr``
(corpus in ``synth/quick-seed0-v<generator version>``, input arrays in ``inputs``); run
directories go to ``--out`` (default ``runs/demo``); a second ``microexpr demo`` reuses
the corpus, the cached inputs and the finished folds. ``--method NAME`` runs another
registered method instead (with those of the demo config's parameters it accepts, its
defaults otherwise). The demo configs use short training (100 epochs, lr 2e-3, see the
YAML files) so the demo finishes in minutes; the paper's settings are the methods'
defaults and the paper configs'.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
from importlib import resources
from pathlib import Path

from ..errors import ConfigError

DEMO_CONFIGS: tuple[str, ...] = ("demo_cde.yaml", "demo_hde.yaml")
DEMO_SIZE = "quick"
DEMO_SEED = 0
PREFERRED_METHODS: tuple[str, ...] = ("laenet", "ststnet")
DISCLAIMER = (
    "SYNTHETIC DATA: these numbers come from procedurally generated faces with planted action-unit motion. "
    "They show that the pipeline works end to end; they say nothing about accuracy on real micro-expressions."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run the whole pipeline (LAENet, CDE and HDE) on a synthetic corpus; no licensed data needed",
        description=(
            "Generate (or reuse) a small synthetic micro-expression corpus in the native CASME II, SAMM, SMIC "
            "and CK+ layouts, read and preprocess it, run LAENet under CDE and HDE, write run directories with "
            "predictions, metrics and reports, and print the tables. " + DISCLAIMER
        ),
    )
    p.add_argument("--out", type=Path, default=Path("runs") / "demo", metavar="DIR",
                   help="folder for the run directories (default: runs/demo)")
    p.add_argument("--cache", type=Path, default=None, metavar="DIR",
                   help="cache folder for the corpus and input arrays (default: $MICROEXPR_CACHE or ~/.cache/microexpr)")
    p.add_argument("--method", default=None, metavar="NAME",
                   help="run this registered method instead of LAENet/STSTNet (the demo config's parameters it accepts, e.g. epochs; defaults otherwise)")
    p.add_argument("--device", default=None, metavar="DEVICE",
                   help="auto | cpu | cuda | cuda:N | mps (default: the config's, auto = CUDA when available)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def default_cache() -> Path:
    """The cache root (:func:`microexpr.cache_dirs.cache_root`): corpora in ``synth/``, arrays in ``inputs/``."""
    from ..cache_dirs import cache_root

    return cache_root()


def choose_method(requested: str | None) -> str:
    """The method the demo runs: ``requested``, else LAENet, else STSTNet; error naming what is missing."""
    from ..methods.registry import list_methods

    available = list_methods()
    if requested is not None:
        if requested not in available:
            raise ConfigError(f"--method {requested!r} is not a registered method; available: {', '.join(available)}")
        return requested
    for name in PREFERRED_METHODS:
        if name in available:
            return name
    raise ConfigError(
        "microexpr demo runs LAENet (or STSTNet), but neither method is installed in this build "
        f"(registered: {', '.join(available)}); pass --method NAME to run one of those instead"
    )


def demo_configs(method: str, roots: dict[str, Path], cache_dir: Path, device: str | None = None) -> list:  # -> list[RunConfig]
    """The demo's run configs with the corpus roots, the input cache and ``method`` filled in."""
    from ..config import load_config, with_data_overrides
    from ..methods.registry import method_class

    configs = []
    for name in DEMO_CONFIGS:
        with resources.as_file(resources.files("microexpr") / "configs" / name) as path:
            cfg = load_config(path)
        wanted = {k: str(v) for k, v in roots.items() if k in cfg.data.datasets or k in cfg.data.aux}
        cfg = with_data_overrides(cfg, wanted)
        if cfg.method.name != method:
            # Keep the config's parameters the replacement accepts (e.g. fold_chunk); the rest default.
            accepted = inspect.signature(method_class(method).__init__).parameters
            params = {k: v for k, v in cfg.method.params.items() if k in accepted}
            cfg = dataclasses.replace(
                cfg,
                name=cfg.name.replace(cfg.method.name, method),
                description=cfg.description.replace("LAENet", method),
                method=dataclasses.replace(cfg.method, name=method, params=params),
            )
        configs.append(dataclasses.replace(cfg, cache_dir=str(cache_dir), device=device or cfg.device))
    return configs


def run(args: argparse.Namespace) -> int:
    from ..artefacts import export_run
    from ..methods.registry import method_class
    from ..report import build_report, write_report
    from ..report.html import write_html_report
    from ..runs import execute_run
    from ..synth import GENERATOR_VERSION, generate_corpus

    method = choose_method(args.method)
    cache = (args.cache or default_cache()).expanduser().resolve()
    corpus_dir = cache / "synth" / f"{DEMO_SIZE}-seed{DEMO_SEED}-v{GENERATOR_VERSION}"
    print(DISCLAIMER)
    print(f"synthetic corpus: {corpus_dir}")
    roots = generate_corpus(corpus_dir, size=DEMO_SIZE, seed=DEMO_SEED, progress=not args.quiet)
    out = args.out.expanduser().resolve()
    run_dirs = []
    for cfg in demo_configs(method, roots, cache / "inputs", args.device):
        print(f"\n== {cfg.name}: {cfg.description}")
        result = execute_run(cfg, out / cfg.name, progress=not args.quiet)
        write_report(result.run_dir)
        write_html_report(result.run_dir)
        print(build_report(result.run_dir))
        run_dirs.append(result.run_dir)
    print()
    for d in run_dirs:
        print(f"run directory: {d}  (predictions.csv, metrics.json, report.md, report.html)")
    if hasattr(method_class(method), "export_payload"):
        model_path = export_run(run_dirs[0], out / "model.pt", progress=not args.quiet, device=args.device)
        print(f"deployable model (re-fitted on all clips of {run_dirs[0].name}): {model_path}")
        print(f"  try: microexpr predict VIDEO_OR_FRAME_DIR --model {model_path}")
    print(DISCLAIMER)
    return 0
