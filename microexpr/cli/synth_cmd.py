"""``microexpr synth OUT_DIR``: write a synthetic micro-expression corpus in the native layouts."""

from __future__ import annotations

import argparse
import os

from ..synth.nuisances import Nuisances
from ..synth.sizes import SIZES

_SWITCHES = {
    "blinks": ("blink_prob", 0.0),
    "head-motion": None,
    "flicker": ("flicker", 0.0),
    "noise": ("noise", 0.0),
    "jpeg": ("jpeg_quality", None),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "synth",
        help="write a synthetic corpus (CASME II, SAMM, SMIC, CK+ layouts) with known ground truth",
        description=(
            "Render procedural faces with planted action-unit motion and write them in the native folder "
            "layouts of CASME II, SAMM, SMIC and CK+ (spreadsheets included), plus synth_manifest.json with the "
            "planted ground truth. An existing corpus with the same settings is reused. Synthetic results show "
            "that the pipeline works; they say nothing about accuracy on real micro-expressions."
        ),
    )
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to create (new or empty), or an existing corpus to reuse")
    p.add_argument("--size", choices=sorted(SIZES), default="default",
                   help="quick: 3 corpora x 5 subjects, 60 composite clips + a small CK+ (seconds); default: "
                        "composite-shaped (442 composite clips from 68 subjects, plus excluded ones; small frames); "
                        "native: default's clips at each corpus's native frame size (CASME II/SMIC 640x480, SAMM "
                        "2040x1088, CK+ 640x490, real-size CK+) without landmark files (~10 min on 2 cores, ~11 GB)")
    p.add_argument("--landmarks", action=argparse.BooleanOptionalAction, default=None,
                   help="write each clip's exact landmarks68.npy (default: yes, except for --size native, whose "
                        "faces are then detected by preprocessing as on a licensed copy)")
    p.add_argument("--seed", type=int, default=0, help="random seed (the corpus is identical for a seed)")
    p.add_argument("--n-jobs", type=int, default=None,
                   help="processes rendering clips while the main one writes files (default: one per core; "
                        "the corpus does not depend on it)")
    for name in _SWITCHES:
        p.add_argument(f"--no-{name}", action="store_true", help=f"switch off {name.replace('-', ' ')}")
    p.set_defaults(func=run)


def nuisances_from_args(args: argparse.Namespace) -> Nuisances:
    """The :class:`Nuisances` selected by the ``--no-*`` switches."""
    values = Nuisances().to_dict()
    for name, target in _SWITCHES.items():
        if getattr(args, f"no_{name.replace('-', '_')}"):
            if target is None:
                values["head_shift_px"] = 0.0
                values["head_roll_deg"] = 0.0
            else:
                values[target[0]] = target[1]
    return Nuisances(**values)  # type: ignore[arg-type]


def run(args: argparse.Namespace) -> int:
    from ..synth import generate_corpus, read_manifest

    roots = generate_corpus(args.out_dir, size=args.size, seed=args.seed, nuisances=nuisances_from_args(args),
                            landmarks=args.landmarks, progress=True, n_jobs=args.n_jobs or os.cpu_count() or 1)
    manifest = read_manifest(args.out_dir) or {}
    clips = manifest.get("clips", [])
    landmarks = "with" if manifest.get("landmark_files", True) else "without"
    print(f"synthetic corpus (size {args.size}, seed {args.seed}, {landmarks} landmark files) in {args.out_dir}:")
    for name, root in roots.items():
        n = sum(1 for c in clips if c["dataset"] == name)
        print(f"  {name:7s} {n:4d} clips  root {root}")
    print("Read it like a licensed copy, e.g.: microexpr datasets check --dataset casme2 --root "
          f"{roots['casme2']}")
    print("Synthetic data: results show that the pipeline works, not how a method does on real micro-expressions.")
    return 0
