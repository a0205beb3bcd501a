"""The 3D-CNN baseline of TLCNN's Table 3 (Wang et al. 2018, §4.3), which follows C3D's
exploration network (Tran et al., ICCV 2015, §3.1).

TLCNN prints: five 3D convolution layers of 64, 128, 256, 256, 256 kernels, fully connected
layers of 2,048, 2,048 and 4 units, input frames 128 x 171. The rest is C3D's, which the
paper's description matches word for word: 3 x 3 x 3 kernels (stride 1, padding 1, ReLU),
each convolution followed by max pooling, 1 x 2 x 2 after the first and 2 x 2 x 2 after the
others (stride = kernel), dropout 0.5 after each hidden FC layer, and 112 x 112 crops of
the 128 x 171 frames (random when training, the centre at test: the crop is the method's,
:mod:`microexpr.methods.c3d`). Input (B, T, C, H, W), the layout of every clip tensor here.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ModelError
from .layers import LinearHeadClassifier, five_widths, he_init
from .registry import register_model

C3D_WIDTHS = (64, 128, 256, 256, 256)


class C3D(LinearHeadClassifier):
    """Five conv3d + pool stages, FC ``fc`` x 2, a linear head (module doc)."""

    def __init__(self, num_classes: int = 4, widths: Sequence[int] = C3D_WIDTHS, fc: int = 2048, dropout: float = 0.5,
                 frames: int = 32, input_size: int = 112, in_chans: int = 3) -> None:
        super().__init__()
        w = five_widths("c3d", widths, fc, dropout)
        self.widths, self.frames, self.input_size, self.in_chans = w, int(frames), int(input_size), int(in_chans)
        self.num_classes = num_classes
        self.convs = nn.ModuleList(nn.Conv3d(c_in, c_out, 3, padding=1) for c_in, c_out in zip((in_chans, *w[:-1]), w))
        t, s = self.out_size()
        if t < 1 or s < 1:
            raise ModelError(f"c3d: {frames} frames of {input_size} px are too small for five poolings "
                             f"(need >= 16 frames and >= 32 px)")
        self.fc6 = nn.Linear(w[-1] * t * s * s, fc)
        self.fc7 = nn.Linear(fc, fc)
        self.drop = nn.Dropout(dropout)
        self.num_features = fc
        self.fc = nn.Linear(fc, num_classes)
        he_init(self)  # as TLCNN's CNN (not given in either paper; C3D itself has no batch normalisation)

    @staticmethod
    def pools() -> list[tuple[int, int, int]]:
        return [(1, 2, 2)] + [(2, 2, 2)] * 4

    def out_size(self) -> tuple[int, int]:
        """(frames, side) after the five poolings (floor, as PyTorch's and Caffe's C3D pooling)."""
        t, s = self.frames, self.input_size
        for kt, ks, _ in self.pools():
            t, s = t // kt, s // ks
        return t, s

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = x.transpose(1, 2)  # (B, T, C, H, W) -> (B, C, T, H, W)
        for conv, pool in zip(self.convs, self.pools()):
            x = F.max_pool3d(F.relu(conv(x)), pool, pool)
        x = self.drop(F.relu(self.fc6(x.flatten(1))))
        return self.drop(F.relu(self.fc7(x)))

    def example_input(self, batch_size: int = 2) -> torch.Tensor:
        return torch.rand(batch_size, self.frames, self.in_chans, self.input_size, self.input_size)


@register_model
def c3d(num_classes: int = 4, widths: Sequence[int] = C3D_WIDTHS, fc: int = 2048, dropout: float = 0.5,
        frames: int = 32, input_size: int = 112, in_chans: int = 3) -> C3D:
    """TLCNN's 3D-CNN baseline (C3D's exploration network; TLCNN's widths by default)."""
    return C3D(num_classes, widths, fc, dropout, frames, input_size, in_chans)


c3d.harness_kwargs = {"widths": (2, 3, 4, 4, 4), "fc": 8, "frames": 16, "input_size": 32}  # type: ignore[attr-defined]
