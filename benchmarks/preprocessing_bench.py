"""Preprocessing benchmark: onset->apex TV-L1 flow images for a composite-sized corpus.

    python benchmarks/preprocessing_bench.py [--corpus DIR] [--n-jobs 2] [--reference-clips 40]

Generates (or reuses) the synthetic ``default`` corpus (CASME II + SAMM + SMIC in their
native layouts), reads it, keeps the 442 composite 3-class clips, then measures in one run:

* cold: ``load_inputs(table, "flow_image")`` into an empty cache with ``--n-jobs`` processes;
* warm: the same call again (everything cached);
* reference: a plain sequential loop (read two frames, crop, TV-L1, flow image; no cache,
  no pool, one OpenCV thread) over the first ``--reference-clips`` clips, whose arrays must
  equal the pipeline's; its clips/s is the baseline of the printed ratio;
* peak RSS of the main process and its workers together (sampled from /proc, Linux).

Targets (issue 4): cold < 120 s, warm < 5 s, peak RSS < 2 GB. All numbers are measured on
synthetic faces: they show the pipeline's speed, not anything about real data.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from microexpr.datasets import read_dataset
from microexpr.face import crop, face_box, load_supplied_landmarks
from microexpr.inputs import load_inputs, resolve_representation_params
from microexpr.labels import apply_scheme
from microexpr.motion import compute_flow, flow_image
from microexpr.synth import generate_corpus
from microexpr.video import read_frame


def composite_table(corpus_dir: Path, size: str) -> pd.DataFrame:
    roots = generate_corpus(corpus_dir, size=size, seed=0)
    tables = []
    for name in ("casme2", "samm", "smic"):
        options = {"apex": "middle"} if name == "smic" else {}
        tables.append(read_dataset(name, roots[name], **options).table)
    table = pd.concat(tables, ignore_index=True)
    table, _, _ = apply_scheme(table, "composite3")
    return table.reset_index(drop=True)


def _tree_rss_mib(root: int) -> float:
    """Summed resident memory (MiB) of process ``root`` and all its descendants (Linux /proc)."""
    parent: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    parent[int(d)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # the process ended while we looked
    tree, frontier = {root}, [root]
    while frontier:
        kids = [p for p, pp in parent.items() if pp in frontier and p not in tree]
        tree.update(kids)
        frontier = kids
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/status") as fh:
                total += next((int(line.split()[1]) for line in fh if line.startswith("VmRSS:")), 0)
        except OSError:
            continue
    return total / 1024


def tree_cpu_seconds() -> float:
    """CPU seconds used so far by this process and its children, including the pool's workers.

    Workers are children of the forkserver, which reaps them: their time shows up in the
    forkserver's cumulative child time (``cutime``/``cstime`` in /proc/<pid>/stat).
    """
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    tick = os.sysconf("SC_CLK_TCK")
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                f = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(f[1]) == me:
            total += sum(int(x) for x in f[11:15]) / tick  # utime, stime, cutime, cstime
    return total


class PeakRSS:
    """Samples the whole process tree's RSS every 0.1 s in a thread; ``.peak`` in MiB."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss_mib(os.getpid()))
            self._stop.wait(0.1)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def reference_loop(table: pd.DataFrame, params: dict) -> tuple[np.ndarray, float]:
    """The plain way: one clip after another, no cache, no processes."""
    p = resolve_representation_params("flow_image", params)
    out = []
    t0 = time.perf_counter()
    for row in table.itertuples(index=False):
        lm = load_supplied_landmarks(row.landmarks, len(row.frames))[row.onset]
        box = face_box(lm, tuple(p["margins"]), p["reference_face_size"])
        on = crop(read_frame(row.frames[row.onset], grey=True), box)
        ap = crop(read_frame(row.frames[row.apex], grey=True), box)
        out.append(flow_image(compute_flow(on, ap, p["flow_method"], p["flow_preset"]), size=p["size"]))
    return np.stack(out), time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "microexpr_bench_corpus",
                    help="where the synthetic default corpus is generated / reused")
    ap.add_argument("--size", default="default",
                    help="synthetic corpus size: 'default' = composite-sized (442 clips); 'quick' to try the script")
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--flow-preset", default="default", help="TV-L1 preset (default | fast | accurate)")
    ap.add_argument("--reference-clips", type=int, default=40,
                    help="clips timed in the sequential reference loop (its clips/s is extrapolated)")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)

    t = time.perf_counter()
    table = composite_table(args.corpus, args.size)
    print(f"corpus: {len(table)} composite clips (synthetic, {args.size!r} size) ready in {time.perf_counter() - t:.1f} s")
    if "landmarks" not in table or table["landmarks"].isna().any():
        print("ERROR: the benchmark needs the corpus's supplied landmarks (landmarks68.npy) for every clip",
              file=sys.stderr)
        return 1

    params = {"flow_method": "tvl1", "flow_preset": args.flow_preset}
    with PeakRSS() as rss, tempfile.TemporaryDirectory(prefix="microexpr_bench_cache_") as cache:
        t = time.perf_counter()
        cpu0 = tree_cpu_seconds()
        cold = load_inputs(table, "flow_image", params, cache_dir=cache, n_jobs=args.n_jobs, progress=True)
        t_cold = time.perf_counter() - t
        cpu_cold = tree_cpu_seconds() - cpu0
        t = time.perf_counter()
        warm = load_inputs(table, "flow_image", params, cache_dir=cache, n_jobs=args.n_jobs, progress=True)
        t_warm = time.perf_counter() - t
    if not np.array_equal(cold, warm):
        print("ERROR: warm-cache arrays differ from the cold run", file=sys.stderr)
        return 1

    k = min(args.reference_clips, len(table))
    ref_cpu0 = sum(os.times()[:2])
    ref, t_ref = reference_loop(table.iloc[:k], params)
    if not np.array_equal(ref, cold[:k]):
        print("ERROR: the reference loop and the pipeline disagree", file=sys.stderr)
        return 1
    ref_rate = k / t_ref
    cpu_ref = sum(os.times()[:2]) - ref_cpu0
    cold_rate = len(table) / t_cold

    peak = rss.peak
    print(f"\nflow_image (onset->apex, TV-L1 {args.flow_preset!r}, 28x28), {len(table)} clips, n_jobs={args.n_jobs}")
    print(f"  cold:      {t_cold:7.1f} s  {cold_rate:6.2f} clips/s   (target < 120 s: {'ok' if t_cold < 120 else 'MISSED'})")
    print(f"  warm:      {t_warm:7.2f} s                  (target < 5 s:   {'ok' if t_warm < 5 else 'MISSED'})")
    print(f"  reference: {ref_rate:6.2f} clips/s sequential loop on {k} clips "
          f"(would take {len(table) / ref_rate:.0f} s for all)")
    print(f"  ratio:     {cold_rate / ref_rate:5.2f}x pipeline (cold) vs reference")
    print(f"  CPU time:  pipeline {cpu_cold / len(table):.3f} s/clip (main + workers), reference "
          f"{cpu_ref / k:.3f} s/clip; on {args.n_jobs} otherwise idle cores the cold run would take about "
          f"{cpu_cold / args.n_jobs:.0f} s")
    print(f"  peak RSS:  {peak:.0f} MiB, main process + pool workers summed, sampled every 0.1 s "
          f"(target < 2048 MiB: {'ok' if peak < 2048 else 'MISSED'})")
    print(f"  machine load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(other processes slow every figure above)")
    print("  (synthetic corpus: measures the pipeline's speed, not results on real data)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
