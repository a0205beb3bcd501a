"""One MTMNet LOSO fold at full width (ResNet-18 64/128/256/512, RGB 224 px, embeddings 256,
decoder 256/128/64/32/16), on the CPU and, when one is visible, a CUDA GPU.

    python benchmarks/mtmnet_bench.py                  # CPU (and GPU if present), 2 timed iterations each
    python benchmarks/mtmnet_bench.py --iterations 5   # more iterations per figure
    python benchmarks/mtmnet_bench.py --quick          # smoke test: tiny widths, 32 px, one iteration

A composite (CDE) fold trains on about 435 of the 442 clips: 5 expression images each = 2,175
images = 68 iterations of batch 32 per epoch, 20 epochs of MicroNet EIDNet pretraining and 20 of
MTMNet fine-tuning (the MacroNet, once per run: CK+'s 327 sequences = 11 iterations per epoch).
Each figure is the mean time of ``--iterations`` timed iterations (after one warm-up iteration)
through the recipe's own loops (:func:`microexpr.training.mtm_train.train_eidnet` with every EIDNet
term; :func:`~microexpr.training.mtm_train.train_mtmnet` with every MTMNet term against a frozen
MacroNet), times the iterations of a fold. The plain reference, measured in the same run, is a bare
PyTorch loop over the same encoder and batches (ImageNet standardisation, forward, cross-entropy,
backward, Adam step): the ratios are what the extra forward passes (neutral, negative, macro
positive), the decoder and the discriminator cost over plain classification. Random images: the
figures are speeds, not accuracy.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from microexpr.devices import compute_for, using
from microexpr.methods.mtmnet import pair_set
from microexpr.models.layers import ImageNetStandardise
from microexpr.models.mtmnet import EIDNet, EmbeddingDiscriminator, ResNet18Encoder
from microexpr.training.mtm_train import EIDConfig, MTMConfig, train_eidnet, train_mtmnet
from microexpr.training.seeding import FoldSeeds

FOLD_IMAGES, MACRO_IMAGES, EPOCHS = 2175, 327, 20


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device) -> float:  # noqa: ANN001
    sync(device)
    t = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t


def per_iteration(run_epoch, warm, batches: int, device: torch.device) -> float:  # noqa: ANN001
    """Seconds per iteration: one epoch of ``batches`` iterations, minus a one-iteration warm-up epoch."""
    timed(warm, device)
    return timed(run_epoch, device) / batches


def plain(encoder_args: dict, n_classes: int, x: torch.Tensor, y: torch.Tensor, batch: int, device: torch.device) -> float:
    """Seconds per iteration of a bare loop: standardise, encoder + linear head, cross-entropy, Adam step."""
    torch.manual_seed(0)
    enc = ResNet18Encoder(**encoder_args)
    model = nn.Sequential(ImageNetStandardise(enc.in_chans), enc, nn.Linear(enc.num_features, n_classes)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    times = []
    for i in range(0, len(x) - batch + 1, batch):  # full batches only (BatchNorm)
        def step() -> None:
            opt.zero_grad()
            F.cross_entropy(model(x[i:i + batch].to(device).float()), y[i:i + batch].to(device)).backward()
            opt.step()
        times.append(timed(step, device))
    model.to("cpu")
    return float(np.mean(times[1:] if len(times) > 1 else times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=2, help="timed iterations per figure (default 2)")
    ap.add_argument("--quick", action="store_true", help="tiny widths, 32 px, one iteration (smoke test)")
    args = ap.parse_args()
    it = 1 if args.quick else max(1, args.iterations)
    if args.quick:
        widths, size, emb, dec, batch = (4, 4, 8, 8), 32, 8, (8, 4, 4), 4
    else:
        widths, size, emb, dec, batch = (64, 128, 256, 512), 224, 256, (256, 128, 64, 32, 16), 32
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    what = "smoke test, tiny widths" if args.quick else "full width"
    print(f"MTMNet {what}: ResNet-18 widths {widths}, RGB {size} px, embedding {emb}, decoder {dec}, batch {batch}; "
          f"threads {torch.get_num_threads()}")
    if len(devices) == 1:
        print("no CUDA GPU visible: CPU figures only")
    g = torch.Generator().manual_seed(0)
    n_clips = (it * batch) // 5 + 1
    labels = np.arange(n_clips) % 3

    def windows(n: int, k: int) -> torch.Tensor:
        return torch.randint(0, 256, (n, k + 1, 3, size, size), dtype=torch.uint8, generator=g)

    micro = pair_set(windows(n_clips, 5), labels, np.arange(n_clips) % 4)
    micro_it = len(micro.labels) // batch
    first = pair_set(windows(3, max(1, batch // 3)), np.arange(3), np.arange(3))  # one warm-up batch, 3 classes
    macro = pair_set(windows(6, 1), np.arange(6) % 3, np.arange(6))
    seeds = FoldSeeds(1, 2, 3, 4)
    eid_cfg = EIDConfig(epochs=1, batch_size=batch)
    mtm_cfg = MTMConfig(epochs=1, batch_size=batch)
    fold_iterations = FOLD_IMAGES // 32 + (FOLD_IMAGES % 32 > 0)
    for device in devices:
        with using(compute_for(str(device), "32")):
            torch.manual_seed(0)
            net = EIDNet(3, 4, in_chans=3, image_size=size, widths=widths, embedding=emb, decoder_widths=dec)
            macro_net = EIDNet(3, 6, in_chans=3, image_size=size, widths=widths, embedding=emb, decoder_widths=dec)
            disc = EmbeddingDiscriminator(emb)
            eid = per_iteration(lambda: train_eidnet(net, micro, eid_cfg, seeds, desc="eid"),
                                lambda: train_eidnet(net, first, eid_cfg, seeds, desc="warm"), micro_it, device)
            mtm = per_iteration(lambda: train_mtmnet(net, macro_net, disc, micro, macro, mtm_cfg, seeds, desc="mtm"),
                                lambda: train_mtmnet(net, macro_net, disc, first, macro, mtm_cfg, seeds, desc="warm"),
                                micro_it, device)
            ref = plain({"in_chans": 3, "widths": widths}, 3, micro.expression, micro.labels, batch, device)
        fold = EPOCHS * fold_iterations * (eid + mtm)
        macro_stage = EPOCHS * (MACRO_IMAGES // 32 + 1) * eid
        print(f"[{device.type}] EIDNet step (L_c + L_rec + L_sim + L_s): {eid:.3f} s/iteration, plain loop {ref:.3f} "
              f"s/iteration, ratio {eid / ref:.2f}")
        print(f"[{device.type}] MTMNet step (L_cls + L_tri + L_adv + L_LIR): {mtm:.3f} s/iteration, ratio to plain "
              f"{mtm / ref:.2f}")
        print(f"[{device.type}] one CDE fold (20 + 20 epochs of {fold_iterations} iterations at batch 32): about "
              f"{fold / 60:.1f} min; 68 folds {68 * fold / 3600:.1f} h, plus the MacroNet once ({macro_stage / 60:.1f} min)")


if __name__ == "__main__":
    main()
