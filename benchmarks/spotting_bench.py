"""Spotting speed: frames per second of each spotter on a 60 s, 200 fps synthetic long video.

    python benchmarks/spotting_bench.py               # 60 s at 200 fps (SAMM Long Videos layout)
    python benchmarks/spotting_bench.py --seconds 10  # shorter

One synthetic SAMM-LV-layout video (``microexpr.synth.long_videos``, 112x96 frames) is
written once (not timed); then, in this process: reading the frames and cutting the face
crops (``video_crops``, the step every spotter shares), each registered spotter on those
crops (a learned one after one untimed epoch of training on the same video: its flow features
and inference are timed), and a plain reference measured in the same run: Farneback flow between consecutive
full frames, its mean magnitude per frame (the straightforward first attempt at a motion
curve). Goal: the ROI-flow spotter faster than real time (> 200 fps) on 2 cores. Synthetic
video: timings only.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    from microexpr.spotting import samm_long
    from microexpr.spotting.spotters import SPOTTERS, create_spotter, video_crops
    from microexpr.synth.long_videos import LongVideoSize, generate_long_videos

    with tempfile.TemporaryDirectory() as tmp:
        size = LongVideoSize(subjects=1, videos_per_subject=1, seconds=args.seconds,
                             micro_per_video=max(1, int(args.seconds / 6)), macro_per_video=max(1, int(args.seconds / 12)),
                             blinks_per_video=max(1, int(args.seconds / 5)))
        root = generate_long_videos(Path(tmp) / "samm", "samm_long", size=size, seed=0)
        row = next(samm_long.read(root).videos.itertuples())
        n = len(row.frames)
        t = time.perf_counter()
        crops = video_crops(row.frames, row.fps, landmarks=row.landmarks)
        t_crop = time.perf_counter() - t
        print(f"video: {n} frames at {row.fps:.0f} fps ({n / row.fps:.0f} s), face crops {crops.crops.shape[1:]}")
        print(f"{'read + crop':24s} {n / t_crop:8.0f} fps")
        t = time.perf_counter()
        prev = cv2.cvtColor(cv2.imread(row.frames[0]), cv2.COLOR_BGR2GRAY)
        curve = np.zeros(n)
        for i in range(1, n):
            cur = cv2.cvtColor(cv2.imread(row.frames[i]), cv2.COLOR_BGR2GRAY)
            f = cv2.calcOpticalFlowFarneback(prev, cur, None, 0.5, 3, 15, 3, 5, 1.2, 0)
            curve[i] = float(np.linalg.norm(f, axis=-1).mean())
            prev = cur
        t_ref = time.perf_counter() - t
        print(f"{'reference (Farneback)':24s} {n / t_ref:8.0f} fps  (full frames, consecutive pairs, read included)")
        for name in SPOTTERS.names():
            spotter = create_spotter(name, {"epochs": 1} if name == "softnet" else {})
            if getattr(spotter, "learned", False):  # trained (not timed) on this video, 1 epoch: spotting is timed
                spotter.fit([(crops, samm_long.read(root).intervals(row.key))])
            t = time.perf_counter()
            spotter.spot(crops)
            dt = time.perf_counter() - t
            total = t_crop + dt
            print(f"{name:24s} {n / dt:8.0f} fps on crops; {n / total:6.0f} fps with read + crop "
                  f"({'faster' if n / total > row.fps else 'slower'} than real time); {t_ref / total:.2f}x the reference")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
