"""Executors on one machine: a 2-seed Micro-Attention sweep, in-process vs worker processes vs Ray.

    python benchmarks/executor_bench.py            # LOSO on the quick synthetic corpus, 2 seeds
    python benchmarks/executor_bench.py --no-ray   # skip the Ray executor

The same run (Micro-Attention ResNet-10, width 32 at 112 px, 20 epochs, no macro pretraining,
LOSO over the quick corpus's CASME II and SAMM subjects, seeds 0 and 1) is executed into fresh
run directories: ``executor: local`` with PyTorch's default threads (what a plain run does) and
with ``threads: 1``, ``processes`` (``n_jobs`` spawned workers, ``threads: 1`` each) and
``ray`` (a local Ray with ``n_jobs`` CPUs, ``threads: 1``). The inputs cache is filled first,
so only training and scheduling are timed. At equal threads the runs give bit-identical
predictions (the fold seeds do not depend on the process); PyTorch's thread count moves
float sums, so the default-thread run differs by rounding, amplified by SGD (printed).
Synthetic data: timings only, not accuracy.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="worker processes / Ray CPUs")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()

    from microexpr.config import config_from_dict
    from microexpr.runs import execute_run
    from microexpr.synth import generate_corpus

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        roots = generate_corpus(base / "synth", size="quick", seed=0, progress=False)

        def config(executor: str):
            return config_from_dict({
                "name": f"bench_{executor}", "description": "executor benchmark (synthetic)",
                "data": {"datasets": {"casme2": str(roots["casme2"]), "samm": str(roots["samm"])},
                         "scheme": "composite3", "synthetic": True},
                "protocol": {"name": "loso"},
                "method": {"name": "micro_attention", "params": {
                    "base_width": 32, "input_size": 112, "load_size": 120, "epochs": args.epochs, "batch_size": 8,
                    "pretrain_macro": False, "save_attention": False}},
                "seeds": [0, 1], "cache_dir": str(base / "cache"), "n_jobs": args.jobs, "executor": executor,
            })

        # fill the inputs cache once (not timed)
        warm = config("local")
        execute_run(config_from_dict({**_raw(warm), "seeds": [0], "method": {"name": "majority", "params": {}}}),
                    base / "warm", progress=False)
        from microexpr.runs.data import load_run_data
        from microexpr.runs.engine import run_context
        from microexpr.methods.registry import create_method

        data = load_run_data(warm)
        ctx = run_context(warm, base / "warm", data, progress=False)
        create_method(warm.method.name, warm.method.params).prepare_inputs(data.table, ctx)

        runs = [("local", None), ("local", 1), ("processes", 1)] + ([] if args.no_ray else [("ray", 1)])
        times, preds = {}, {}
        for ex, threads in runs:
            label = f"{ex}, {'default' if threads is None else threads} thread(s)"
            cfg = config(ex)
            if threads is not None:
                cfg = config_from_dict({**_raw(cfg), "threads": threads})
            t = time.perf_counter()
            result = execute_run(cfg, base / f"{ex}-{threads}", progress=False)
            times[label] = time.perf_counter() - t
            preds[label] = result.predictions.filter(like="p_").to_numpy()
            print(f"{label:28s} {times[label]:7.1f} s  ({len(result.computed)} folds, UF1 {result.metrics['overall']['uf1']:.3f})")
        ref, one = "local, default thread(s)", "local, 1 thread(s)"
        for label in times:
            if label != ref:
                print(f"{label} vs {ref}: {times[ref] / times[label]:.2f}x; vs {one}: {times[one] / times[label]:.2f}x; "
                      f"max |dprob| vs {one}: {float(np.abs(preds[label] - preds[one]).max()):.1e}")
    return 0


def _raw(config) -> dict:
    from microexpr.config import resolve_config

    return resolve_config(config, require_roots=False)


if __name__ == "__main__":
    raise SystemExit(main())
