"""One TLCNN training epoch at full width (96/384/512/512/384, FC 4096, 227 px crops of 240 x 320
RGB frames), on the CPU and, when one is visible, a CUDA GPU.

    python benchmarks/tlcnn_bench.py                  # CPU (and GPU if present), a few iterations each
    python benchmarks/tlcnn_bench.py --iterations 5   # more iterations per figure
    python benchmarks/tlcnn_bench.py --quick          # smoke test: tiny widths, one iteration

An epoch at the paper's fold size (448 training clips, TIM32) is 64 iterations of stage 2
(frame fine-tuning: 14,336 frames, batch 224) and 28 of stage 3 (CNN + LSTM: batch 16 clips of 16
frames). Each figure is the mean time of ``--iterations`` timed iterations (after one warm-up)
through ``microexpr.training.loop.train_model`` (random crops, ImageNet standardisation, SGD),
times the iterations of an epoch. The plain reference, measured in the same run, is a bare
PyTorch loop over the same network and batches (forward, cross-entropy, backward, SGD step, no
crops): the ratio is our harness's cost over it. Random frames: the figures are speeds, not accuracy.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from microexpr.devices import compute_for, using
from microexpr.methods.tlcnn import FrameInput, RandomCrop
from microexpr.models.tlcnn import TLCNN, TLCNNLSTM
from microexpr.training.loop import TrainConfig, train_model
from microexpr.training.seeding import FoldSeeds


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def ours(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int, crop: int, window: int | None,
         device: torch.device) -> float:
    """Seconds per iteration of train_model (epoch of len(x) / batch iterations, first one excluded)."""
    cfg = TrainConfig(epochs=1, lr=1e-3, batch_size=batch, optimizer="sgd", shuffle=False)
    net = FrameInput(model, crop)
    with using(compute_for(str(device), "32")):
        train_model(net, x[:batch], y[:batch], cfg, FoldSeeds.for_fold(0, ["w"]), augment=RandomCrop(crop, window))
        sync(device)
        t = time.perf_counter()
        train_model(net, x, y, cfg, FoldSeeds.for_fold(0, ["b"]), augment=RandomCrop(crop, window))
        sync(device)
    return (time.perf_counter() - t) / (len(x) // batch)


def plain(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int, crop: int, device: torch.device) -> float:
    """Seconds per iteration of a bare loop: centre crops, float, forward, loss, backward, step."""
    model = model.to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    xs = x[..., :crop, :crop].float().to(device) / 255
    ys = y.to(device)
    times = []
    for i in range(0, len(x), batch):
        sync(device)
        t = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(model(xs[i:i + batch]), ys[i:i + batch]).backward()
        opt.step()
        sync(device)
        times.append(time.perf_counter() - t)
    model.to("cpu")
    return float(np.mean(times[1:] if len(times) > 1 else times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=2, help="timed iterations per figure (default 2)")
    ap.add_argument("--quick", action="store_true", help="tiny widths and frames, one iteration (smoke test)")
    args = ap.parse_args()
    it = 1 if args.quick else max(1, args.iterations)
    if args.quick:
        widths, fc, crop, h, w, frame_batch, clip_batch, frames = (4, 6, 8, 8, 6), 16, 67, 72, 88, 8, 2, 4
    else:
        widths, fc, crop, h, w, frame_batch, clip_batch, frames = (96, 384, 512, 512, 384), 4096, 227, 240, 320, 224, 16, 16
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    what = "smoke test, tiny widths" if args.quick else "full width"
    print(f"TLCNN {what}: widths {widths}, FC {fc}, crops {crop} of {h}x{w} RGB; threads {torch.get_num_threads()}")
    if len(devices) == 1:
        print("no CUDA GPU visible: CPU figures only")
    g = torch.Generator().manual_seed(0)
    frame_x = torch.randint(0, 256, ((it + 1) * frame_batch, 3, h, w), dtype=torch.uint8, generator=g)
    frame_y = torch.randint(0, 4, (len(frame_x),), generator=g)
    clip_x = torch.randint(0, 256, ((it + 1) * clip_batch, frames, 3, h, w), dtype=torch.uint8, generator=g)
    clip_y = torch.randint(0, 4, (len(clip_x),), generator=g)
    for device in devices:
        torch.manual_seed(0)
        cnn = TLCNN(4, widths, fc, 0.5, crop)
        s2 = ours(cnn, frame_x, frame_y, frame_batch, crop, None, device)
        s2_plain = plain(TLCNN(4, widths, fc, 0.5, crop), frame_x, frame_y, frame_batch, crop, device)
        lstm = TLCNNLSTM(TLCNN(4, widths, fc, 0.5, crop), 4, 512, frames)
        s3 = ours(lstm, clip_x, clip_y, clip_batch, crop, frames, device)
        s3_plain = plain(TLCNNLSTM(TLCNN(4, widths, fc, 0.5, crop), 4, 512, frames), clip_x, clip_y, clip_batch, crop,
                         device)
        print(f"[{device.type}] stage 2 (frames, batch {frame_batch}): {s2:.2f} s/iteration -> "
              f"{64 * s2 / 60:.1f} min per epoch (64 iterations); plain loop {s2_plain:.2f} s/iteration, "
              f"ratio {s2 / s2_plain:.2f}")
        print(f"[{device.type}] stage 3 (CNN+LSTM, batch {clip_batch} x {frames} frames): {s3:.2f} s/iteration -> "
              f"{28 * s3 / 60:.1f} min per epoch (28 iterations); plain loop {s3_plain:.2f} s/iteration, "
              f"ratio {s3 / s3_plain:.2f}")
        print(f"[{device.type}] the paper's schedule (156 + 714 epochs per fold) would take about "
              f"{(156 * 64 * s2 + 714 * 28 * s3) / 3600:.1f} h per fold")


if __name__ == "__main__":
    main()
