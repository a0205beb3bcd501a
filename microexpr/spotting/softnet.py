"""SOFTNet (Liong et al., 2021, "Shallow Optical Flow Three-Stream CNN for Macro- and
Micro-Expression Spotting from Long Videos"): a learned spotter, trained leave-one-subject-out.

Per type (micro pass with ``k_micro_s``, macro pass with ``k_macro_s``; k about half an
expression's length) and per frame t: the optical flow from frame t to frame t+k on the face
crop (Farneback; the crop's median flow, i.e. head motion, subtracted), its u, v and optical
strain resized to 42 x 42, go into three shallow streams (3x3 convolutions with 3, 5 and 8
filters, ReLU, 3x3 max pooling with stride 3), concatenated, 2x2 max pooling, a 400-unit dense
layer and one linear output: a score regressed (mean squared error) on the pseudo-label "the
window t..t+k overlaps an expression of this type" (1) or not (0). Training: Adam (``lr``),
``epochs`` epochs, batches of ``batch_size``, every positive window and at most ``neg_ratio``
times as many negatives drawn per epoch (the long videos are mostly neutral). Spotting: the
scores smoothed over 2k+1 frames, peaks above ``mean + p * (max - mean)`` at least k apart,
each giving an interval: for micro the peak's own window ``peak .. peak + k``; for macro, whose
lengths vary far more, where the score stays above half the peak's height over the median.

Decisions where the paper leaves room (said here and in the config): Farneback instead of
TV-L1 (speed on a CPU), negatives subsampled per epoch, the interval rules above (the paper
takes peak +- k; ours were chosen on the synthetic long videos),
epochs and learning rate as parameters with the paper's batch size. Training runs under the
run's device (:mod:`microexpr.devices`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ConfigError
from ..motion.flow import compute_flow
from ..motion.strain import optical_strain
from .metric import Interval
from .spotters import SpotResult, VideoCrops, register_spotter

SIDE = 42


class SoftNetModel(nn.Module):
    """Three shallow streams over (u, v, strain) 42x42 -> one score."""

    def __init__(self) -> None:
        super().__init__()
        self.streams = nn.ModuleList(nn.Conv2d(1, w, 3, padding=1) for w in (3, 5, 8))
        self.fc1 = nn.Linear(16 * 7 * 7, 400)
        self.fc2 = nn.Linear(400, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = [F.max_pool2d(F.relu(conv(x[:, i:i + 1])), 3, 3, 1) for i, conv in enumerate(self.streams)]
        h = F.max_pool2d(torch.cat(maps, 1), 2, 2)
        return self.fc2(F.relu(self.fc1(h.flatten(1)))).squeeze(1)


def flow_features(crops: np.ndarray, k: int) -> np.ndarray:
    """(n, 3, 42, 42) float32: u, v, strain of the flow from frame t to t+k (zeros where t+k >= n)."""
    n = len(crops)
    out = np.zeros((n, 3, SIDE, SIDE), np.float32)
    for t in range(max(0, n - k)):
        flow = compute_flow(crops[t], crops[t + k], "farneback")
        flow = flow - np.median(flow.reshape(-1, 2), axis=0)
        for c, channel in enumerate((flow[..., 0], flow[..., 1], optical_strain(flow))):
            out[t, c] = cv2.resize(channel.astype(np.float32), (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    return out


def pseudo_labels(n: int, k: int, truths: Sequence[Interval]) -> np.ndarray:
    """1 where the window t..t+k overlaps one of ``truths``, else 0 (SOFTNet's pseudo-labels)."""
    y = np.zeros(n, np.float32)
    for iv in truths:
        y[max(0, iv.onset - k):min(n, iv.offset + 1)] = 1.0
    return y


@register_spotter("softnet")
class SoftNet:
    """SOFTNet, a learned spotter (module doc); ``fit`` on the training subjects' videos first."""

    learned = True

    def __init__(self, k_micro_s: float = 0.2, k_macro_s: float = 0.8, epochs: int = 8, lr: float = 5e-4,
                 batch_size: int = 48, neg_ratio: float = 2.0, p: float = 0.4, macro: bool = True, seed: int = 0) -> None:
        if not 0 < k_micro_s < k_macro_s or epochs < 1 or lr <= 0 or batch_size < 1 or neg_ratio <= 0 or not 0 <= p < 1:
            raise ConfigError("softnet: need 0 < k_micro_s < k_macro_s, epochs >= 1, lr > 0, batch_size >= 1, "
                              "neg_ratio > 0 and 0 <= p < 1")
        self.k_micro_s, self.k_macro_s, self.epochs, self.lr = k_micro_s, k_macro_s, epochs, lr
        self.batch_size, self.neg_ratio, self.p, self.macro, self.seed = batch_size, neg_ratio, p, macro, seed
        self.models_: dict[str, SoftNetModel] = {}

    def kinds(self) -> list[tuple[str, float]]:
        return [("micro", self.k_micro_s)] + ([("macro", self.k_macro_s)] if self.macro else [])

    def fit(self, videos: Sequence[tuple[VideoCrops, Sequence[Interval]]], features: Any = None) -> "SoftNet":
        """Train one model per type on ``videos`` (crops and their truths). ``features(video, k)``
        may supply cached flow features."""
        from ..devices import current

        get = features or (lambda v, k: flow_features(v.crops, k))
        device = current().device
        for kind, k_s in self.kinds():
            xs, ys = [], []
            for video, truths in videos:
                k = max(1, int(round(k_s * video.fps)))
                xs.append(get(video, k))
                ys.append(pseudo_labels(len(video.crops), k, [t for t in truths if t.kind == kind]))
            x, y = torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))
            gen = torch.Generator().manual_seed(self.seed)
            torch.manual_seed(self.seed)
            model = SoftNetModel().to(device)
            opt = torch.optim.Adam(model.parameters(), lr=self.lr)
            pos, neg = torch.nonzero(y > 0.5).flatten(), torch.nonzero(y <= 0.5).flatten()
            for _ in range(self.epochs):
                take = neg[torch.randperm(len(neg), generator=gen)[:int(self.neg_ratio * max(1, len(pos)))]]
                order = torch.cat([pos, take])[torch.randperm(len(pos) + len(take), generator=gen)]
                model.train()
                for s in range(0, len(order), self.batch_size):
                    b = order[s:s + self.batch_size]
                    opt.zero_grad()
                    loss = F.mse_loss(model(x[b].to(device)), y[b].to(device))
                    loss.backward()
                    opt.step()
            self.models_[kind] = model.cpu().eval()
        return self

    def scores(self, video: VideoCrops, kind: str, k: int, features: Any = None) -> np.ndarray:
        from ..devices import current

        x = torch.from_numpy((features or (lambda v, kk: flow_features(v.crops, kk)))(video, k))
        model = self.models_[kind].to(current().device)
        with torch.no_grad():
            out = torch.cat([model(x[s:s + 512].to(current().device)).cpu() for s in range(0, len(x), 512)])
        self.models_[kind] = model.cpu()
        return out.numpy().astype(np.float64)

    def spot(self, video: VideoCrops, features: Any = None) -> SpotResult:
        from scipy.signal import find_peaks

        if not self.models_:
            raise ConfigError("softnet is a learned spotter: fit it on the training subjects' videos first")
        intervals: list[Interval] = []
        curve = np.zeros(len(video.crops))
        n = len(video.crops)
        for kind, k_s in self.kinds():
            k = max(1, int(round(k_s * video.fps)))
            s = self.scores(video, kind, k, features)
            s = np.convolve(s, np.ones(2 * k + 1) / (2 * k + 1), mode="same")
            if kind == "micro":
                curve = s
            thr = float(s.mean() + self.p * (s.max() - s.mean()))
            peaks, _ = find_peaks(s, height=thr, distance=k)
            base = float(np.median(s))
            for pk in peaks:
                a, b = int(pk), int(min(n - 1, pk + k))  # micro: the peak's own window t..t+k
                if kind == "macro":  # macro lengths vary widely: where the score stays above half its peak
                    half = base + 0.5 * (s[pk] - base)
                    a, b = int(pk), int(pk)
                    while a > 0 and s[a - 1] > half:
                        a -= 1
                    while b < n - 1 and s[b + 1] > half:
                        b += 1
                intervals.append(Interval(a, b, kind, float(s[pk]), int(pk)))
        macro = [(i.onset, i.offset) for i in intervals if i.kind == "macro"]
        kept = [i for i in intervals if i.kind == "macro" or not any(i.onset <= b and a <= i.offset for a, b in macro)]
        return SpotResult(sorted(kept, key=lambda i: i.onset), curve)
