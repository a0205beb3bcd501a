"""Clips per second of LBP-TOP and HOOF, against straightforward references, in one run.

    python benchmarks/handcrafted_bench.py [--quick]

Clips are SYNTHETIC (NumPy): grey 128x128 face-crop-sized clips of TIM length 10 and 64 with
a moving smooth texture, and smooth random flow sequences of the same sizes, i.e. the inputs
of the ATNet baseline configs. References, measured in the same process:

- LBP-TOP: scikit-image's ``local_binary_pattern`` called per plane (every XY frame, every XT
  row slice, every YT column slice), then the same block histograms. Its features must equal
  ours (checked here) - the benchmark also guards correctness.
- HOOF: a per-vector Python loop (atan2, binning, weighting) - the plain definition.

Times are wall-clock on whatever machine runs this; only the ratios travel.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.ndimage import gaussian_filter, shift  # noqa: E402
from skimage.feature import local_binary_pattern  # noqa: E402

from microexpr.features._clips import block_index  # noqa: E402
from microexpr.features.hoof import hoof_histograms  # noqa: E402
from microexpr.features.lbp import bin_table  # noqa: E402
from microexpr.features.lbptop import LBPTOP  # noqa: E402

SIZE = 128
LBP_PARAMS = dict(radius_x=3, radius_y=3, radius_t=3, n_points=8, mapping="nri_uniform", grid=(5, 5))


def make_clip(rng: np.random.Generator, length: int) -> np.ndarray:
    """A smooth texture drifting by a sub-pixel amount per frame (uint8, T x 128 x 128)."""
    base = gaussian_filter(rng.random((SIZE, SIZE)), 2.0)
    base = (base - base.min()) / (np.ptp(base) + 1e-9) * 200 + 20
    frames = [shift(base, (0.05 * t, 0.1 * t), order=1, mode="nearest") for t in range(length)]
    noisy = np.stack(frames) + rng.normal(0, 2, (length, SIZE, SIZE))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def make_flows(rng: np.random.Generator, n: int) -> np.ndarray:
    return gaussian_filter(rng.normal(size=(n, SIZE, SIZE, 2)), (0, 3, 3, 0)).astype(np.float32)


def reference_lbptop(clip: np.ndarray) -> np.ndarray:
    """Per-plane scikit-image calls + block histograms (the straightforward implementation)."""
    P, R = LBP_PARAMS["n_points"], LBP_PARAMS["radius_x"]
    T, H, W = clip.shape
    b = int(math.ceil(R))
    xy = np.stack([local_binary_pattern(clip[t], P, R, "nri_uniform") for t in range(T)])
    xt = np.stack([local_binary_pattern(clip[:, y, :], P, R, "nri_uniform") for y in range(H)], axis=1)
    yt = np.stack([local_binary_pattern(clip[:, :, x], P, R, "nri_uniform") for x in range(W)], axis=2)
    blocks = block_index((H, W), LBP_PARAMS["grid"])[b : H - b, b : W - b]
    n_bins = bin_table(P, "nri_uniform")[1]
    n_blocks = LBP_PARAMS["grid"][0] * LBP_PARAMS["grid"][1]
    hists = []
    for codes in (xy, xt, yt):
        c = codes[b : T - b, b : H - b, b : W - b].astype(np.int64)
        h = np.zeros((n_blocks, n_bins))
        for k in range(n_blocks):
            h[k] = np.bincount(c[:, blocks == k].ravel(), minlength=n_bins)
        hists.append(h / h.sum(axis=1, keepdims=True))
    return np.concatenate(hists, axis=1).ravel()


def reference_hoof(flows: np.ndarray, n_bins: int) -> np.ndarray:
    """Per-vector loop: Chaudhry's symmetric bins, magnitude-weighted, one histogram per flow."""
    out = []
    for frame in flows:
        hist = [0.0] * n_bins
        for row in frame:
            for u, v in row:
                mag = math.hypot(u, v)
                if mag == 0:
                    continue
                theta = math.atan2(-v, abs(u))
                hist[min(int((theta + math.pi / 2) // (math.pi / n_bins)), n_bins - 1)] += mag
        total = sum(hist)
        out.extend(h / total if total > 0 else 0.0 for h in hist)
    return np.array(out)


def clips_per_second(fn, items) -> float:
    start = time.perf_counter()
    for it in items:
        fn(it)
    return len(items) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer clips (a smoke run)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    n_ours, n_ref = (2, 1) if args.quick else (8, 2)
    print(f"SYNTHETIC clips ({SIZE}x{SIZE} grey, NumPy-generated); OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    print(f"{'descriptor':<34}{'ours clips/s':>14}{'reference clips/s':>20}{'speed-up':>10}")
    lbptop = LBPTOP(**LBP_PARAMS)
    for length in (10, 64):
        clips = [make_clip(rng, length) for _ in range(n_ours)]
        ours_rate = clips_per_second(lambda c: lbptop.transform([c]), clips)
        ref_rate = clips_per_second(reference_lbptop, clips[:n_ref])
        for c in clips[:n_ref]:  # same numbers, or the comparison means nothing
            np.testing.assert_allclose(lbptop.transform([c])[0], reference_lbptop(c), rtol=0, atol=1e-12)
        name = f"LBP-TOP {{3,3,3,8}} 5x5, TIM={length}"
        print(f"{name:<34}{ours_rate:>14.2f}{ref_rate:>20.2f}{ours_rate / ref_rate:>9.1f}x")
    for length in (10, 64):
        flows_list = [make_flows(rng, length - 1) for _ in range(n_ours)]
        ours_rate = clips_per_second(lambda f: hoof_histograms(f, n_bins=8), flows_list)
        n_loop = 1
        ref_rate = clips_per_second(lambda f: reference_hoof(f, 8), flows_list[:n_loop])
        np.testing.assert_allclose(hoof_histograms(flows_list[0], n_bins=8), reference_hoof(flows_list[0], 8), atol=1e-9)
        name = f"HOOF N=8 per frame, TIM={length}"
        print(f"{name:<34}{ours_rate:>14.2f}{ref_rate:>20.2f}{ours_rate / ref_rate:>9.1f}x")
    print("references: scikit-image per plane (LBP-TOP), per-vector Python loop (HOOF); outputs checked equal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
