"""Pre-activation ResNet-10 and its Micro-Attention variant (Wang, Peng, Bi & Chen).

The backbone follows the authors' released Caffe prototxt (a pre-activation ResNet-10 of
the cvjena model zoo kind):

* ``input_bn``: BatchNorm on the input image (the prototxt's ``data_bn``);
* stem ``conv1`` 7x7/2 -> ``bn1`` -> ReLU -> max-pool 3/2;
* four stages ``layer1``..``layer4`` of ONE basic block each. A block pre-activates its
  input (``bn_pre`` -> ReLU; skipped in ``layer1`` whose input is the already activated
  stem output), applies ``conv1`` 3x3 (stride 2 in stages 2-4) -> ``bn1`` -> ReLU ->
  ``conv2`` 3x3, and adds a shortcut: identity, or a 1x1 projection ``downsample.0`` of
  the pre-activated input when the shape changes;
* ``bn_final`` -> ReLU -> global average pooling -> ``fc``.

At full width (64, 128, 256, 512) this has about 4.9 M parameters (paper Table 3).

Micro-attention unit (paper §3.2, eq. 1-2): per block, the shortcut branch L1, the first
conv output L2 and the second conv output L3 are concatenated (3C channels), embedded by
a bias-free 1x1 conv to C channels, averaged over channels (the release uses a frozen 1x1
conv with weights 1/C; a plain mean is the same function with no stored weights), passed
through a sigmoid, and used as ``out = T(x) * (1 + M(x))`` with ``T = L1 + L3``. This adds
3*C^2 weights per stage, about 1.04 M in all (5.9 M total).

Module names follow torchvision's ResNet (``conv1``, ``bn1``, ``layerN.0.conv1`` ...,
``layerN.0.downsample.0``, ``fc``) wherever the layer has the same role, so
:mod:`microexpr.training.transfer` maps an ImageNet checkpoint by name; layers that only
exist in the pre-activation design have names torchvision does not use (``input_bn``,
``bn_pre``, ``bn_final``, ``attention``) so nothing is loaded into them by accident.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ModelError
from .registry import register_model

__all__ = ["MicroAttentionUnit", "PreActBlock", "PreActResNet10", "resnet10", "micro_attention_resnet10"]


class MicroAttentionUnit(nn.Module):
    """Spatial attention map from a block's own multi-scale features (eq. 1).

    ``forward(l1, l2, l3) -> (B, 1, H, W)`` with values in (0, 1).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3 * channels, channels, kernel_size=1, bias=False)

    def forward(self, l1: torch.Tensor, l2: torch.Tensor, l3: torch.Tensor) -> torch.Tensor:
        z = self.embed(torch.cat([l1, l2, l3], dim=1))
        return torch.sigmoid(z.mean(dim=1, keepdim=True))


class PreActBlock(nn.Module):
    """One pre-activation basic block, optionally with a micro-attention unit."""

    def __init__(self, in_ch: int, out_ch: int, *, stride: int, preact: bool, attention: bool) -> None:
        super().__init__()
        self.bn_pre = nn.BatchNorm2d(in_ch) if preact else None
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, stride=1, padding=1, bias=False)
        if stride != 1 or in_ch != out_ch:
            self.downsample: nn.Sequential | None = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False)
            )
        else:
            self.downsample = None
        self.attention = MicroAttentionUnit(out_ch) if attention else None
        self.last_attention: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = F.relu(self.bn_pre(x)) if self.bn_pre is not None else x
        l2 = self.conv1(a)
        l3 = self.conv2(F.relu(self.bn1(l2)))
        l1 = self.downsample(a) if self.downsample is not None else x
        t = l1 + l3
        if self.attention is None:
            return t
        m = self.attention(l1, l2, l3)
        self.last_attention = m.detach()
        return t * (1.0 + m)


class PreActResNet10(nn.Module):
    """Pre-activation ResNet-10, greyscale or RGB, with optional micro-attention units.

    ``forward_features(x)`` returns the globally pooled ``num_features``-d vector (512 at
    full width), which is what the ATNet spatial stream reuses; ``forward_head`` is the
    linear classifier. ``attention_maps()`` returns the maps of the last forward pass.
    """

    def __init__(
        self,
        *,
        num_classes: int = 5,
        in_chans: int = 1,
        stem_width: int = 64,
        widths: Sequence[int] = (64, 128, 256, 512),
        attention: bool = False,
        input_bn: bool = True,
    ) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if len(widths) != 4 or min(widths) < 1 or stem_width < 1:
            raise ModelError(f"ResNet-10 needs 4 positive stage widths and a positive stem width, got {widths}, {stem_width}")
        if in_chans not in (1, 3):
            raise ModelError(f"ResNet-10 takes greyscale (in_chans=1) or RGB (in_chans=3) input, got in_chans={in_chans}")
        if num_classes < 1:
            raise ModelError(f"num_classes must be >= 1, got {num_classes}")
        self.in_chans = in_chans
        self.has_attention = attention
        self.input_bn = nn.BatchNorm2d(in_chans) if input_bn else None
        self.conv1 = nn.Conv2d(in_chans, stem_width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_width)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        chans = (stem_width,) + widths
        for i in range(4):
            block = PreActBlock(
                chans[i], chans[i + 1], stride=1 if i == 0 else 2, preact=i > 0, attention=attention
            )
            self.add_module(f"layer{i + 1}", nn.Sequential(block))
        self.bn_final = nn.BatchNorm2d(widths[-1])
        self.num_features = widths[-1]
        self.fc = nn.Linear(self.num_features, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def blocks(self) -> list[PreActBlock]:
        """The four residual blocks, stage 1 first."""
        return [getattr(self, f"layer{i}")[0] for i in range(1, 5)]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_chans, H, W) -> pooled features (B, num_features)."""
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ModelError(f"ResNet-10 expects input of shape (B, {self.in_chans}, H, W), got {tuple(x.shape)}")
        if self.input_bn is not None:
            x = self.input_bn(x)
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        for block in self.blocks():
            x = block(x)
        x = F.relu(self.bn_final(x))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head by a freshly initialised one with ``num_classes`` outputs."""
        if num_classes < 1:
            raise ModelError(f"num_classes must be >= 1, got {num_classes}")
        self.fc = nn.Linear(self.num_features, num_classes)

    def attention_maps(self) -> list[torch.Tensor]:
        """Per-stage attention maps (B, 1, h_s, w_s) of the last forward pass, stage 1 first.

        Values are in (0, 1); each map is aligned with the input image (stage ``s`` has
        the feature map's resolution, input / 4, 8, 16, 32): upsample with
        :func:`upsample_attention` to overlay it. Detached from the autograd graph.
        A model built without attention units has none and returns ``[]``.
        """
        if not self.has_attention:
            return []
        maps = [b.last_attention for b in self.blocks()]
        if any(m is None for m in maps):
            raise ModelError("attention_maps() called before any forward pass")
        return [m for m in maps if m is not None]

    def example_input(self, batch_size: int = 2) -> torch.Tensor:
        """A small random input (32x32) that every width setting accepts."""
        return torch.randn(batch_size, self.in_chans, 32, 32)


def upsample_attention(att: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize attention maps (B, 1, h, w) to the input's (H, W) for overlays."""
    return F.interpolate(att, size=size, mode="bilinear", align_corners=False)


def _widths(base_width: int, widths: Sequence[int] | None) -> tuple[int, ...]:
    if widths is not None:
        return tuple(int(w) for w in widths)
    if base_width < 1:
        raise ModelError(f"base_width must be >= 1, got {base_width}")
    return (base_width, 2 * base_width, 4 * base_width, 8 * base_width)


@register_model
def resnet10(
    num_classes: int = 5,
    in_chans: int = 1,
    base_width: int = 64,
    widths: Sequence[int] | None = None,
    stem_width: int | None = None,
    input_bn: bool = True,
) -> PreActResNet10:
    """Plain pre-activation ResNet-10 (Peng et al. 2018, [17] of the Micro-Attention paper).

    Stage widths default to (w, 2w, 4w, 8w) for ``base_width`` w; ``widths`` and
    ``stem_width`` override them individually (``stem_width`` defaults to the first stage).
    """
    w = _widths(base_width, widths)
    return PreActResNet10(
        num_classes=num_classes, in_chans=in_chans, stem_width=stem_width or w[0], widths=w,
        attention=False, input_bn=input_bn,
    )


@register_model
def micro_attention_resnet10(
    num_classes: int = 5,
    in_chans: int = 1,
    base_width: int = 64,
    widths: Sequence[int] | None = None,
    stem_width: int | None = None,
    input_bn: bool = True,
) -> PreActResNet10:
    """Pre-activation ResNet-10 with a micro-attention unit in each of its four blocks."""
    w = _widths(base_width, widths)
    return PreActResNet10(
        num_classes=num_classes, in_chans=in_chans, stem_width=stem_width or w[0], widths=w,
        attention=True, input_bn=input_bn,
    )


# Small widths for the registry-wide test harness.
resnet10.harness_kwargs = {"base_width": 8}  # type: ignore[attr-defined]
micro_attention_resnet10.harness_kwargs = {"base_width": 8}  # type: ignore[attr-defined]
