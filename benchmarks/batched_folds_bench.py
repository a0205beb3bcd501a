"""Batched multi-fold training vs a plain per-fold PyTorch loop: full CDE LOSO, STSTNet.

    python benchmarks/batched_folds_bench.py              # 68 folds, 442 clips, 20 epochs
    python benchmarks/batched_folds_bench.py --threads 1  # both paths on one thread
    python benchmarks/batched_folds_bench.py --quick      # first 8 of the 68 folds, 2 epochs
    python benchmarks/batched_folds_bench.py --backend eager   # the PyTorch-ops batched path

Data: synthetic 28x28x3 flow images sized like the composite set (442 clips, 68
subjects, 250/109/83 negative/positive/surprise); timings do not depend on content, and
the predictions say nothing about how STSTNet does on real micro-expressions.
Reference: the way the released STSTNet code trains -- per fold a fresh model,
``DataLoader(TensorDataset)`` with batch 256, Adam lr 5e-5, ``zero_grad/backward/step``
-- with its epoch orders and dropout masks drawn from the same per-fold seeds as the
batched path, so both must give the same predictions (max |dprob| printed; the tests
require <= 1e-4, rounding only).
Both run in this process, alternating block by block (``--fold-chunk`` folds at a time, so
drifting load on a shared machine hits both alike), with the same number of threads:
by default PyTorch's own default (the released code never sets one; 2 on the 2-core
machine this was tuned on), or ``--threads N`` (``torch.set_num_threads(N)``) for both.
The plain loop uses them inside each op; the batched path splits folds across them.
The batched time includes building the fused kernels: they are
compiled into a fresh temporary cache for this run (about 1-2 s with gcc), never reused.
Epochs: the released code trains 800; the default 20 keeps the full run to a few minutes
and both paths scale linearly in epochs (the fixed cost is the compile).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from microexpr.models.ststnet import STSTNet
from microexpr.training import stream_kernels
from microexpr.training.batched import train_folds_batched
from microexpr.training.loop import TrainConfig, predict_proba, set_dropout_generator
from microexpr.training.seeding import FoldSeeds, seeded_init


def composite_like(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, np.ndarray, list[str]]:
    """442 clips of 68 subjects (uneven clip counts), labels 250/109/83."""
    rng = np.random.default_rng(seed)
    n_clips, n_subjects = 442, 68
    subjects = np.sort(np.concatenate([np.arange(n_subjects), rng.integers(0, n_subjects, n_clips - n_subjects)]))
    labels = rng.permutation(np.repeat([0, 1, 2], [250, 109, 83]))
    x = torch.from_numpy(rng.integers(0, 256, (n_clips, 3, 28, 28)).astype(np.float32) / 255.0)
    for c in range(3):  # a class-dependent patch so training has something to learn
        x[torch.from_numpy(labels == c), c, 8:14, 8:14] += 0.5
    keys = [f"subj{s:02d}/clip{i:03d}" for i, s in enumerate(subjects)]
    return x, torch.from_numpy(labels), subjects, keys


def plain_loop(x, y, fold_idx, seeds, cfg: TrainConfig) -> list[np.ndarray]:
    probs = []
    for idx, (tr, te), s in zip(range(len(fold_idx)), fold_idx, seeds):
        with seeded_init(s.init):
            model = STSTNet()
        g_data, g_drop = s.generator("data"), s.generator("dropout")
        set_dropout_generator(model, g_drop)
        ds = TensorDataset(x[tr], y[tr])
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        for epoch in range(cfg.epochs):
            order = torch.randperm(len(ds), generator=g_data).tolist()
            loader = DataLoader(ds, batch_size=cfg.batch_size, sampler=order)
            model.train()
            for xb, yb in loader:
                opt.zero_grad()
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                opt.step()
        probs.append(predict_proba(model, x[te]))
    return probs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="first 8 of the 68 folds, 2 epochs")
    ap.add_argument("--epochs", type=int, default=None, help="default 20 (2 with --quick)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for both paths (default: PyTorch's default)")
    ap.add_argument("--fold-chunk", type=int, default=8)
    ap.add_argument("--backend", choices=("auto", "fused", "eager"), default="auto", help="batched path (default: fused kernels)")
    ap.add_argument("--batch-size", type=int, default=256, help="256 = released code; small values show the overhead-bound regime")
    args = ap.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    n_folds = 8 if args.quick else 68
    epochs = args.epochs or (2 if args.quick else 20)
    x, y, subjects, keys = composite_like()
    folds = [(np.flatnonzero(subjects != s), np.flatnonzero(subjects == s)) for s in range(n_folds)]
    seeds = [FoldSeeds.for_fold(0, [keys[i] for i in tr]) for tr, _ in folds]
    cfg = TrainConfig(epochs=epochs, lr=5e-5, batch_size=args.batch_size)
    print(f"STSTNet, {n_folds} of 68 LOSO folds, {len(y)} synthetic clips, {epochs} epochs, batch {cfg.batch_size}, "
          f"Adam lr 5e-5, {torch.get_num_threads()} thread(s) for both paths"
          f"{'' if args.threads is not None else ' (PyTorch default)'}")

    # The two paths alternate block by block (fold_chunk folds at a time, the batched
    # path's own unit of work), so drifting load on a shared machine hits both alike.
    ref, out, t_plain, t_batched, t_build = [], [], 0.0, 0.0, 0.0
    backend = args.backend
    with tempfile.TemporaryDirectory() as cache:
        os.environ.pop("MICROEXPR_CACHE", None)  # the kernel cache then lives under XDG_CACHE_HOME
        os.environ["XDG_CACHE_HOME"] = cache  # a cold kernel cache: the compile is timed
        stream_kernels._LOADED.clear()
        if backend != "eager":
            t0 = time.perf_counter()
            try:
                stream_kernels.load_stream_kernels(stream_kernels.Geometry(3, 16, 28, 2, 3))
            except RuntimeError as exc:
                print(f"fused kernels unavailable ({exc}); the batched path runs eager")
                backend = "eager"
            t_build = time.perf_counter() - t0
        for start in range(0, n_folds, args.fold_chunk):
            block = slice(start, min(start + args.fold_chunk, n_folds))
            t0 = time.perf_counter()
            ref += plain_loop(x, y, folds[block], seeds[block], cfg)
            t_plain += time.perf_counter() - t0

            t0 = time.perf_counter()
            models = []
            for s in seeds[block]:
                with seeded_init(s.init):
                    models.append(STSTNet())
            train_folds_batched(models, x, y, [torch.from_numpy(tr) for tr, _ in folds[block]], cfg, seeds[block],
                                fold_chunk=args.fold_chunk, backend=backend)
            out += [predict_proba(m, x[te]) for m, (_, te) in zip(models, folds[block])]
            t_batched += time.perf_counter() - t0
    t_batched += t_build

    dprob = max(float(np.abs(a - b).max()) for a, b in zip(ref, out))
    kind = "fused kernels" if backend != "eager" else "eager PyTorch ops"
    print(f"plain per-fold loop : {t_plain:8.2f} s")
    print(f"batched ({kind}, chunk {args.fold_chunk}): {t_batched:8.2f} s (incl. {t_build:.2f} s kernel compile)")
    print(f"speed-up            : {t_plain / t_batched:8.2f}x")
    print(f"max |dprob|         : {dprob:.2e}")


if __name__ == "__main__":
    main()
