"""Building blocks shared by the small optical-flow networks (STSTNet, LAENet).

``SeededDropout`` draws its mask from an explicit :class:`torch.Generator` when one is
attached. That is what lets batched multi-fold training (``microexpr.training.batched``)
reproduce the dropout masks of fold-by-fold training exactly: every fold owns a
generator, and both paths draw the same masks, in the same order, from it.

``ParallelStreamNet`` is the architecture family of STSTNet and LAENet: parallel 3x3
convolution streams over the same 28x28x3 flow image, each ReLU -> BatchNorm ->
MaxPool -> Dropout, concatenated, average-pooled, one linear layer. Layers are named
``conv1..k``, ``bn1..k``, ``fc`` so the published STSTNet weights load strictly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from ..errors import ModelError


def dropout_scale_mask(shape: Sequence[int], p: float, generator: torch.Generator | None,
                       dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Inverted-dropout multiplier: 0 with probability ``p``, else ``1/(1-p)``."""
    keep = torch.empty(tuple(shape), dtype=dtype).bernoulli_(1.0 - p, generator=generator)
    return keep.mul_(1.0 / (1.0 - p))


class SeededDropout(nn.Module):
    """Dropout whose mask comes from ``self.generator`` (global RNG when ``None``).

    Has no parameters or buffers, so state-dict keys are those of ``nn.Dropout``-free
    models (the published STSTNet files have no dropout entries either).
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ModelError(f"dropout rate must be in [0, 1), got {p}")
        self.p = float(p)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        # drawn on the CPU generator (same masks on every device), then moved to the input's device
        return x * dropout_scale_mask(x.shape, self.p, self.generator, x.dtype).to(x.device)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class ParallelStreamNet(nn.Module):
    """Parallel conv streams over one image; the STSTNet/LAENet family.

    Per stream ``i``: ``conv{i}`` (3x3, ``widths[i]`` filters, ``padding``) -> ReLU ->
    ``bn{i}`` -> MaxPool(3, stride 3, pad 1) -> Dropout; streams concatenated ->
    AvgPool(2, 2) -> flatten -> ``fc``. Input ``(N, in_chans, input_size, input_size)``.
    """


    def __init__(self, widths: Sequence[int], *, padding: int, num_classes: int = 3,
                 in_chans: int = 3, input_size: int = 28, drop_rate: float = 0.5) -> None:
        super().__init__()
        if num_classes < 1 or in_chans < 1 or input_size < 6:
            raise ModelError(f"bad sizes: num_classes={num_classes}, in_chans={in_chans}, input_size={input_size}")
        self.widths = tuple(int(w) for w in widths)
        self.padding = int(padding)
        self.in_chans = int(in_chans)
        self.input_size = int(input_size)
        self.drop_rate = float(drop_rate)
        for i, w in enumerate(self.widths, start=1):
            self.add_module(f"conv{i}", nn.Conv2d(in_chans, w, kernel_size=3, padding=self.padding))
        for i, w in enumerate(self.widths, start=1):
            self.add_module(f"bn{i}", nn.BatchNorm2d(w))
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=3, padding=1)
        self.avgpool = nn.AvgPool2d(kernel_size=2, stride=2, padding=0)
        self.dropout = SeededDropout(self.drop_rate)
        conv_size = self.input_size + 2 * self.padding - 2
        self.pooled_size = (conv_size + 2 - 3) // 3 + 1
        self.feature_size = self.pooled_size // 2
        self.num_features = sum(self.widths) * self.feature_size ** 2
        self.num_classes = int(num_classes)
        self.fc = nn.Linear(self.num_features, self.num_classes)

    def streams(self) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
        return [(getattr(self, f"conv{i}"), getattr(self, f"bn{i}")) for i in range(1, len(self.widths) + 1)]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Flattened pooled features ``(N, num_features)`` (before the classifier)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ModelError(f"{type(self).__name__} expects (N, {self.in_chans}, H, W) input, got {tuple(x.shape)}")
        outs = []
        for conv, bn in self.streams():
            outs.append(self.dropout(self.maxpool(bn(self.relu(conv(x))))))
        return torch.flatten(self.avgpool(torch.cat(outs, dim=1)), 1)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace ``fc`` with a fresh linear layer of ``num_classes`` outputs."""
        self.num_classes = int(num_classes)
        self.fc = nn.Linear(self.num_features, self.num_classes)

    def example_input(self, batch_size: int = 2) -> torch.Tensor:
        return torch.rand(batch_size, self.in_chans, self.input_size, self.input_size) * 255.0


IMAGENET_GREY_MEAN, IMAGENET_GREY_STD = 0.449, 0.226  # averages of the RGB values below
IMAGENET_RGB_MEAN, IMAGENET_RGB_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class ImageNetStandardise(nn.Module):
    """0-255 pixels -> [0, 1] -> ImageNet standardisation (grey: mean 0.449, std 0.226).

    Applied in front of networks that may start from ImageNet weights, so those weights see
    inputs scaled as in their training.
    """

    def __init__(self, in_chans: int) -> None:
        super().__init__()
        mean, std = ((IMAGENET_GREY_MEAN,), (IMAGENET_GREY_STD,)) if in_chans == 1 else (IMAGENET_RGB_MEAN, IMAGENET_RGB_STD)
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x / 255.0 - self.mean) / self.std


def he_init(module: nn.Module) -> None:
    """He (Kaiming) normal weights (fan in, ReLU gain) and zero biases for every convolution and
    linear layer of ``module`` (LSTMs keep PyTorch's own initialisation)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class LinearHeadClassifier(nn.Module):
    """The registry's model interface for a network whose head is one linear layer ``fc`` on
    ``forward_features`` (TLCNN's two networks, the 3D-CNN); subclasses set ``num_features`` and ``fc``."""

    num_features: int
    num_classes: int

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        self.num_classes = num_classes
        self.fc = nn.Linear(self.num_features, num_classes)


def five_widths(name: str, widths: Sequence[int], fc: int, dropout: float) -> tuple[int, ...]:
    """``widths`` as a tuple of 5 positive ints, after checking ``fc`` >= 1 and ``dropout`` in [0, 1)
    (TLCNN's CNN and its 3D-CNN baseline: five conv layers, two hidden FC layers)."""
    w = tuple(int(v) for v in widths)
    if len(w) != 5 or min(w) < 1 or fc < 1 or not 0 <= dropout < 1:
        raise ModelError(f"{name}: widths must be 5 positive channel counts, fc >= 1 and dropout in [0, 1); got "
                         f"{widths}, {fc}, {dropout}")
    return w
