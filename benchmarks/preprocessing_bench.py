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

    python benchmarks/preprocessing_bench.py --native [--clips-per-corpus N] [--n-jobs 2]

measures a user's first full run instead (issue 21): the ``native`` synthetic corpus (the same
442 composite clips at CASME II/SMIC 640x480, SAMM 2040x1088 and a real-size CK+ at 640x490,
no landmark files, so every face is detected), and every input every shipped config on those
corpora needs (found by asking the configs' methods, :mod:`native_inputs`), into one fresh
cache as a run fills it: the face step first, then each input; then all of them again warm.
Per input and corpus it prints the cold time (the face step being cached already), the
sequential reference (one clip after another: ``compute_clip`` without cache or pool, face
detected each time) with its stage breakdown (decode, detect, landmarks, crop, flow, rest), and
the ratio of the reference's input step (its time less detection and landmarks) to the
pipeline's time per clip; checks that the pipeline's
arrays equal the reference's, and prints the peak memory. ``--clips-per-corpus N`` measures N
clips of each corpus (spread over its subjects) and scales the times to the full corpora.
Goals (issue 21, 2 cores): flow_image for every composite clip < 3 min; every input together
< 15 min; warm < 5 s; peak < 2 GiB.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
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


def native_tables(corpus_dir: Path, n_jobs: int, size: str = "native") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The native corpus's composite table (442 clips) and CK+ table (labelled sequences); no
    landmark files (``size="quick"`` tries the script in seconds)."""
    roots = generate_corpus(corpus_dir, size=size, seed=0, n_jobs=n_jobs, progress=True, landmarks=False)
    tables = []
    for name in ("casme2", "samm", "smic"):
        options = {"apex": "middle"} if name == "smic" else {}
        t = read_dataset(name, roots[name], **options).table
        tables.append(t.assign(corpus=name))
    table, _, _ = apply_scheme(pd.concat(tables, ignore_index=True), "composite3")
    ck = read_dataset("ckplus", roots["ckplus"]).table
    ck = ck[ck["emotion"].notna()].assign(corpus="ckplus")
    return table.reset_index(drop=True), ck.reset_index(drop=True)


def spread_sample(table: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` clips of ``table`` spread over its subjects (every k-th row in subject order)."""
    if n <= 0 or n >= len(table):
        return table
    ordered = table.sort_values(["subject", "key"]).reset_index(drop=True)
    idx = np.unique(np.linspace(0, len(ordered) - 1, n).round().astype(int))
    return ordered.iloc[idx].reset_index(drop=True)


def load_in_parts(table: pd.DataFrame, name: str, params: dict, cache: str, n_jobs: int) -> np.ndarray:
    """``load_inputs`` over parts of at most 256 MB of arrays, as the methods holding large inputs
    load them (HOOF: ``microexpr.methods.handcrafted.CHUNK_BYTES``); returns the first part (the
    reference check needs only the first clips), so memory stays bounded."""
    from microexpr.methods.handcrafted import CHUNK_BYTES, _clip_bytes

    step = max(1, CHUNK_BYTES // _clip_bytes(name, params))
    first = None
    for i in range(0, len(table), step):
        arr = load_inputs(table.iloc[i:i + step], name, params, cache_dir=cache, n_jobs=n_jobs, progress=False)
        first = arr if first is None else first
    return first


def native_main(args: argparse.Namespace) -> int:
    """``--native``: every shipped input at native size, per corpus, cold / warm / reference."""
    from native_inputs import STAGES, face_survey, shipped_inputs, timed_stages

    from microexpr.inputs.clip import ClipJob
    from microexpr.inputs.load import compute_clip
    from microexpr.inputs.params import FACE_PARAMS

    logging.getLogger("microexpr").setLevel(logging.ERROR)  # fallbacks are counted below, not listed
    t = time.perf_counter()
    table, ck = native_tables(args.corpus, args.n_jobs, args.native_size)
    print(f"native corpus: {len(table)} composite clips + {len(ck)} CK+ sequences, ready in "
          f"{time.perf_counter() - t:.0f} s ({args.corpus})")
    if "landmarks" in table and table["landmarks"].notna().any():
        print("note: this corpus has landmark files, so faces are not detected", file=sys.stderr)
    uses, skipped = shipped_inputs(table.head(2), ck.head(2))
    if args.inputs:
        uses = [u for u in uses if u.name in args.inputs.split(",")]
    if args.set_params:
        print(f"parameters set for every input that has them: {args.set_params}")

    def with_set(use):  # noqa: ANN001, ANN202 - the input's parameters plus the --set ones it accepts
        from microexpr.inputs import get_representation

        accepted = get_representation(use.name).params
        return {**use.params, **{k: v for k, v in args.set_params.items() if k in accepted}}
    print(f"{len(uses)} distinct inputs needed by the shipped configs; skipped (other corpora): {', '.join(skipped)}")
    corpora = {name: g.reset_index(drop=True) for name, g in table.groupby("corpus")}
    corpora["ckplus"] = ck
    samples = {name: spread_sample(g, args.clips_per_corpus) for name, g in corpora.items()}
    scale = {name: len(corpora[name]) / len(samples[name]) for name in corpora}
    if args.clips_per_corpus:
        print("measured clips per corpus: " + ", ".join(f"{n} {len(samples[n])}/{len(corpora[n])}" for n in samples)
              + " (times below are scaled to the full corpora)")

    def groups(use):  # noqa: ANN001, ANN202
        return ("casme2", "samm", "smic") if use.corpus == "composite" else ("ckplus",)

    rows = []
    with PeakRSS() as rss, tempfile.TemporaryDirectory(prefix="microexpr_bench_native_cache_") as cache:
        total_cold = 0.0
        face, fallbacks, faceless = {}, {}, {}
        for name, sample in list(samples.items()):  # the face step, shared by every input (cached per clip)
            t = time.perf_counter()
            face_set = {k: v for k, v in args.set_params.items() if k in FACE_PARAMS}
            notes, missing = face_survey(sample, face_set, cache, args.n_jobs)
            face[name] = (time.perf_counter() - t) * scale[name]
            fallbacks[name], faceless[name] = len(notes), missing
            total_cold += face[name]
            samples[name] = sample[~sample["key"].isin(missing)].reset_index(drop=True)
            scale[name] = len(corpora[name]) / len(samples[name])  # the inputs of the clips with a face, scaled up
        print("\nface step (detect + landmarks, cached for every input), full-corpus seconds: "
              + ", ".join(f"{n} {v:.0f}" for n, v in face.items()))
        print("  clips whose face dlib's HOG missed and its CNN (mmod) found: "
              + ", ".join(f"{n} {fallbacks[n]}/{len(samples[n]) + len(faceless[n])}" for n in samples))
        print("  clips where neither found the synthetic face (left out of the input timings below): "
              + ", ".join(f"{n} {len(faceless[n])}" for n in samples))
        for use in uses:
            for name in groups(use):
                sample = samples[name]
                k = min(args.reference_clips, len(sample))
                with timed_stages() as stages:  # first, so that it too reads its frames from disk
                    t = time.perf_counter()
                    resolved = resolve_representation_params(use.name, with_set(use))
                    ref = [compute_clip(use.name, resolved, ClipJob.from_row(r), None, None)[0]
                           for r in sample.head(k).to_dict("records")]
                    ref_s = (time.perf_counter() - t) / k
                t = time.perf_counter()
                arr = load_in_parts(sample, use.name, with_set(use), cache, args.n_jobs)
                cold = (time.perf_counter() - t) * scale[name]
                total_cold += cold
                if not np.array_equal(np.stack(ref), arr[:k]):
                    print(f"ERROR: {use.label} on {name}: pipeline and reference arrays differ", file=sys.stderr)
                    return 1
                per_clip = cold / len(corpora[name])
                st = {s: stages.get(s, 0.0) / k for s in STAGES}
                rows.append((use, name, cold, ref_s, per_clip, st))
                given_face = ref_s - st["detect"] - st["landmarks"]  # the reference's input step, landmarks known
                label = dataclasses.replace(use, params=with_set(use)).label
                print(f"  {label:70s} {name:7s} cold {cold:7.1f} s  reference {ref_s:6.2f} s/clip  "
                      f"ratio {given_face / per_clip:5.2f}x  [" + " ".join(
                          f"{s} {v:.2f}" for s, v in rows[-1][5].items()) + f" rest {ref_s - sum(rows[-1][5].values()):.2f}]")
        t = time.perf_counter()
        for use in uses:
            for name in groups(use):
                load_in_parts(samples[name], use.name, with_set(use), cache, args.n_jobs)
        warm = (time.perf_counter() - t) * max(scale.values())
    flow_image = sum(face[n] for n in ("casme2", "samm", "smic")) + max(  # the variant that computed the flow
        (sum(r[2] for r in rows if r[0] == u) for u in uses if u.name == "flow_image" and u.corpus == "composite"),
        default=float("nan"))
    print(f"\nflow_image, every composite clip (face step + the first flow_image):   {flow_image:7.0f} s "
          f"(goal < 180 s: {'ok' if flow_image < 180 else 'MISSED'})")
    if args.inputs:
        print(f"(only the inputs named by --inputs {args.inputs}: the totals below are not every input)")
    print(f"every input of every shipped config, cold:                           {total_cold:7.0f} s "
          f"(goal < 900 s: {'ok' if total_cold < 900 else 'MISSED'})")
    print(f"the same, warm (all cached):                                          {warm:7.1f} s "
          f"(goal < 5 s: {'ok' if warm < 5 else 'MISSED'})")
    print(f"peak memory, main process + workers: {rss.peak:.0f} MiB (goal < 2048: {'ok' if rss.peak < 2048 else 'MISSED'})")
    by_stage = {s: sum(r[5][s] * len(corpora[r[1]]) for r in rows) for s in STAGES}
    ref_total = sum(r[3] * len(corpora[r[1]]) for r in rows)
    print("reference loop, CPU-seconds by stage over every input (face detected per input): "
          + ", ".join(f"{s} {v:.0f}" for s, v in by_stage.items()) + f", rest {ref_total - sum(by_stage.values()):.0f}"
          f" (total {ref_total:.0f})")
    print(f"machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; n_jobs={args.n_jobs}")
    print("(synthetic corpus: measures the pipeline's speed, not results on real data)")
    return 0


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
    ap.add_argument("--native", action="store_true",
                    help="every shipped config's inputs on the native-size corpus, faces detected (issue 21)")
    ap.add_argument("--native-size", choices=("native", "quick"), default="native",
                    help="--native: the corpus size (quick: small frames, to try the script)")
    ap.add_argument("--set", dest="set_params", action="append", default=[], metavar="KEY=VALUE",
                    help="--native: a parameter for every input that has it (e.g. face_detect_max_side=640, flow_size=224; "
                         "YAML value): options that change the inputs, to measure what they buy")
    ap.add_argument("--inputs", default="",
                    help="--native: only these representations, comma-separated (e.g. flow_image; none: the face step only)")
    ap.add_argument("--clips-per-corpus", type=int, default=0,
                    help="--native: measure this many clips per corpus and scale to the full corpora (0: all)")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    import yaml

    args.set_params = {k: yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in args.set_params)}
    if args.native:
        if args.corpus == ap.get_default("corpus"):
            args.corpus = Path(tempfile.gettempdir()) / (
                "microexpr_bench_native" if args.native_size == "native" else "microexpr_bench_quick_nolandmarks")
        args.reference_clips = min(args.reference_clips, 3) if args.reference_clips == 40 else args.reference_clips
        return native_main(args)

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
