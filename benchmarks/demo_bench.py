"""Benchmark: wall time of ``microexpr demo`` from a cold cache (as on a fresh clone).

One command::

    python benchmarks/demo_bench.py [--method NAME] [--keep DIR]

Runs ``python -m microexpr demo --quiet`` in a subprocess with an empty cache and output
folder (nothing reused: corpus generation, preprocessing, training and reports all run),
checks that every run directory holds predictions.csv, metrics.json and report.md, and
prints the wall time against the 5-minute budget of the demo, plus a ratio against a
plain reference measured in the same run: generating the same synthetic corpus alone
(``microexpr synth --size quick``), i.e. how many "corpus generations" the whole demo
costs. The target machine is 2 cores; say what else ran on the machine when you quote it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_S = 300.0


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", default=None, help="passed to `microexpr demo --method`")
    ap.add_argument("--keep", type=Path, default=None, help="work in this (new) folder and keep it")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="microexpr-demo-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.pop("MICROEXPR_CACHE", None)

    ref = _timed([sys.executable, "-m", "microexpr", "synth", str(work / "reference-corpus"), "--size", "quick"], env)
    cmd = [sys.executable, "-m", "microexpr", "demo", "--quiet", "--cache", str(work / "cache"), "--out", str(work / "runs")]
    if args.method:
        cmd += ["--method", args.method]
    demo = _timed(cmd, env)

    run_dirs = sorted(p for p in (work / "runs").iterdir() if p.is_dir())
    missing = [f"{d.name}/{f}" for d in run_dirs for f in ("predictions.csv", "metrics.json", "report.md") if not (d / f).is_file()]
    if len(run_dirs) < 2 or missing:
        raise SystemExit(f"demo left {len(run_dirs)} run dir(s) in {work / 'runs'}; missing: {missing}")

    print(f"machine: {os.cpu_count()} cores; load average at end {os.getloadavg()}")
    print(f"reference: `microexpr synth --size quick` (corpus only)   {ref:8.1f} s")
    print(f"microexpr demo, cold cache (corpus, inputs, 2 runs)      {demo:8.1f} s")
    print(f"ratio demo / reference                                   {demo / ref:8.2f}x")
    print(f"ratio demo / budget ({BUDGET_S:.0f} s)                            {demo / BUDGET_S:8.2f}  "
          f"({'within' if demo <= BUDGET_S else 'OVER'} budget)")
    print(f"run directories: {', '.join(str(d) for d in run_dirs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
