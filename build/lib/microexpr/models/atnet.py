"""ATNet, the Apex-Time Network (Peng, Shi, Wang, Zhou, Bi & Chen, ACII 2019).

Two streams (paper §III-B, Fig. 1; METHODS.md "ATNet"):

* **spatial**: the pre-activation ResNet-10 of :mod:`microexpr.models.resnet10` on the
  greyscale apex face crop, globally pooled to ``8 * base_width`` features (512 at full
  width). Its own classifier is replaced by ``nn.Identity`` so every parameter of the
  stream is used (and a macro-pretrained ResNet-10 loads into it without its head);
* **temporal**: a ``lstm_layers``-layer vanilla LSTM (``lstm_hidden`` units, 512 in the
  paper) over the ADM sequence ``(T, D) = adm_shape`` (64 x 128), its top-layer outputs
  averaged over all T time steps -> ``lstm_hidden`` features. The zero rows that pad short
  clips are fed like any other row and take part in the average, as in the authors'
  left-padded data (see :mod:`microexpr.motion.adm`).

Variants (``variant``):

* ``"fusion"``: each stream's vector L2-normalised (paper eq. 7), concatenated
  (``num_features`` = 1024 at full width) -> Dropout(``dropout``) -> Linear;
* ``"spatial"``: ResNet-10 features -> Linear (the plain ResNet-10 of [12]);
* ``"temporal"``: averaged LSTM outputs -> Linear.

Decision where the paper is silent: normalisation and dropout belong to the fusion head
(the paper puts both at the concatenation); single-stream variants feed their stream's
raw features to the linear layer, and ``dropout`` does not apply to them.

Call convention: ``model(apex, adm)`` and ``model.forward_features(apex, adm)`` with
``apex`` (B, in_chans, H, W) and ``adm`` (B, T, D) float tensors; the input a variant
does not use may be ``None`` (and is ignored if given), so a spatial-only run never needs
the ADM sequences. ``example_input(batch_size)`` returns ``(apex 32x32, adm)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ModelError
from .layers import SeededDropout
from .registry import register_model
from .resnet10 import PreActResNet10, _widths

__all__ = ["ATNet", "VARIANTS", "atnet"]

VARIANTS: tuple[str, ...] = ("fusion", "spatial", "temporal")


class ATNet(nn.Module):
    """Apex (ResNet-10) + time (LSTM over ADM) network; see the module docstring."""

    def __init__(
        self,
        *,
        variant: str = "fusion",
        num_classes: int = 3,
        in_chans: int = 1,
        widths: Sequence[int] = (64, 128, 256, 512),
        lstm_hidden: int = 512,
        lstm_layers: int = 2,
        adm_shape: tuple[int, int] = (64, 128),
        dropout: float = 0.5,
        input_bn: bool = True,
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ModelError(f"unknown ATNet variant {variant!r}; choose one of {VARIANTS}")
        if num_classes < 1:
            raise ModelError(f"num_classes must be >= 1, got {num_classes}")
        if lstm_hidden < 1 or lstm_layers < 1:
            raise ModelError(f"lstm_hidden and lstm_layers must be >= 1, got {lstm_hidden}, {lstm_layers}")
        adm_shape = tuple(int(s) for s in adm_shape)  # type: ignore[assignment]
        if len(adm_shape) != 2 or min(adm_shape) < 1:
            raise ModelError(f"adm_shape must be (time steps, values per step), got {adm_shape}")
        self.variant = variant
        self.in_chans = in_chans
        self.adm_shape: tuple[int, int] = adm_shape  # type: ignore[assignment]
        self.spatial: PreActResNet10 | None = None
        self.temporal: nn.LSTM | None = None
        dims = []
        if variant in ("spatial", "fusion"):
            widths = tuple(int(w) for w in widths)
            self.spatial = PreActResNet10(num_classes=1, in_chans=in_chans, stem_width=widths[0], widths=widths,
                                          attention=False, input_bn=input_bn)
            self.spatial.fc = nn.Identity()  # type: ignore[assignment]  # the ATNet head replaces it
            dims.append(self.spatial.num_features)
        if variant in ("temporal", "fusion"):
            self.temporal = nn.LSTM(adm_shape[1], lstm_hidden, num_layers=lstm_layers, batch_first=True)
            dims.append(lstm_hidden)
        self.stream_dims: tuple[int, ...] = tuple(dims)
        self.num_features = sum(dims)
        self.dropout = SeededDropout(dropout) if variant == "fusion" else nn.Identity()
        self.fc = nn.Linear(self.num_features, num_classes)

    # ----------------------------------------------------------------- streams
    def spatial_features(self, apex: torch.Tensor) -> torch.Tensor:
        """(B, in_chans, H, W) -> (B, 8 * base_width) pooled ResNet-10 features."""
        if self.spatial is None:
            raise ModelError(f"the {self.variant!r} ATNet has no spatial stream")
        if apex is None:
            raise ModelError(f"the {self.variant!r} ATNet needs the apex image (got None)")
        return self.spatial.forward_features(apex)

    def temporal_features(self, adm: torch.Tensor) -> torch.Tensor:
        """(B, T, D) ADM sequences -> (B, lstm_hidden) top-layer LSTM outputs averaged over T."""
        if self.temporal is None:
            raise ModelError(f"the {self.variant!r} ATNet has no temporal stream")
        if adm is None:
            raise ModelError(f"the {self.variant!r} ATNet needs the ADM sequence (got None)")
        if adm.ndim != 3 or tuple(adm.shape[1:]) != self.adm_shape:
            raise ModelError(
                f"ATNet expects ADM input of shape (B, {self.adm_shape[0]}, {self.adm_shape[1]}), got {tuple(adm.shape)}; "
                "set adm_shape to the representation's (2 * half_window, 2 * grid**2)"
            )
        out, _ = self.temporal(adm)
        return out.mean(dim=1)

    # --------------------------------------------------------- model interface
    def forward_features(self, apex: torch.Tensor | None, adm: torch.Tensor | None = None) -> torch.Tensor:
        """Head input (B, num_features): one stream's features, or both L2-normalised and concatenated."""
        if self.variant == "spatial":
            return self.spatial_features(apex)  # type: ignore[arg-type]
        if self.variant == "temporal":
            return self.temporal_features(adm)  # type: ignore[arg-type]
        s = F.normalize(self.spatial_features(apex), p=2, dim=1)  # type: ignore[arg-type]
        t = F.normalize(self.temporal_features(adm), p=2, dim=1)  # type: ignore[arg-type]
        return torch.cat([s, t], dim=1)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Dropout (fusion only) then the linear classifier."""
        return self.fc(self.dropout(features))

    def forward(self, apex: torch.Tensor | None, adm: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_head(self.forward_features(apex, adm))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head by a freshly initialised one with ``num_classes`` outputs."""
        if num_classes < 1:
            raise ModelError(f"num_classes must be >= 1, got {num_classes}")
        self.fc = nn.Linear(self.num_features, num_classes)

    def example_input(self, batch_size: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
        """A small random input ``(apex (B, in_chans, 32, 32), adm (B, T, D))`` for every variant."""
        apex = torch.rand(batch_size, self.in_chans, 32, 32) * 255.0
        adm = torch.rand(batch_size, *self.adm_shape)
        return apex, adm


@register_model
def atnet(
    variant: str = "fusion",
    num_classes: int = 3,
    in_chans: int = 1,
    base_width: int = 64,
    widths: Sequence[int] | None = None,
    lstm_hidden: int = 512,
    lstm_layers: int = 2,
    adm_shape: Sequence[int] = (64, 128),
    dropout: float = 0.5,
    input_bn: bool = True,
) -> ATNet:
    """ATNet (``variant``: ``fusion``, ``spatial`` or ``temporal``); widths (w, 2w, 4w, 8w) from ``base_width``."""
    return ATNet(
        variant=variant, num_classes=num_classes, in_chans=in_chans, widths=_widths(base_width, widths),
        lstm_hidden=lstm_hidden, lstm_layers=lstm_layers, adm_shape=tuple(adm_shape),  # type: ignore[arg-type]
        dropout=dropout, input_bn=input_bn,
    )


# Small widths for the registry-wide test harness.
atnet.harness_kwargs = {"base_width": 4, "lstm_hidden": 8, "adm_shape": (6, 10)}  # type: ignore[attr-defined]
