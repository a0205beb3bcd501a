"""Initialise a pre-activation ResNet-10 from a local ImageNet checkpoint (torchvision layout).

Nothing is downloaded: the user passes the path of a checkpoint file they hold, e.g. the
``resnet18-f37072fd.pth`` that ``torchvision.models.resnet18(weights=...)`` caches. The
file is read with ``torch.load(..., weights_only=True)`` only (no pickled code runs).

Key mapping (torchvision ResNet -> :class:`microexpr.models.resnet10.PreActResNet10`):

=================================  ==========================================
checkpoint key                     model key
=================================  ==========================================
``conv1.weight``                   ``conv1.weight`` (first conv adapted, below)
``bn1.*``                          ``bn1.*`` (BN after the stem conv: same role)
``layerN.0.conv1.weight``          ``layerN.0.conv1.weight``
``layerN.0.bn1.*``                 ``layerN.0.bn1.*`` (BN between the two convs)
``layerN.0.conv2.weight``          ``layerN.0.conv2.weight``
``layerN.0.downsample.0.weight``   ``layerN.0.downsample.0.weight`` (1x1 projection)
=================================  ==========================================

Not used, and reported: ``layerN.0.bn2.*`` and ``layerN.0.downsample.1.*`` (post-activation
BNs that a pre-activation block does not have), ``layerN.K.*`` for K >= 1 (the extra
blocks of ResNet-18/34: ResNet-10 keeps the first block of each stage), ``fc.*`` (the
1000-class ImageNet head; the task head starts fresh). Model parameters without a source
(``input_bn``, ``bn_pre``, ``bn_final``, attention units, ``fc``) keep their
initialisation, and are reported too.

First convolution: an RGB kernel (O, 3, k, k) becomes a greyscale kernel (O, 1, k, k) by
SUMMING over the colour axis (as timm's ``adapt_input_conv`` does). Summing, not averaging,
keeps the response unchanged for a grey image: feeding v to the 1-channel kernel gives
exactly what the RGB kernel gives for (v, v, v), so ImageNet-scale activations carry over.

A checkpoint tensor whose shape differs from the model's (e.g. a model built with
``base_width`` != 64) is refused with a :class:`~microexpr.errors.ModelError` naming the
key; nothing is loaded partially.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn

from ..errors import ModelError

__all__ = ["TransferReport", "adapt_first_conv", "load_imagenet_checkpoint", "map_torchvision_key", "read_state_dict"]

_MAPPED = re.compile(
    r"^(conv1\.weight"
    r"|bn1\.(weight|bias|running_mean|running_var|num_batches_tracked)"
    r"|layer[1-4]\.0\.(conv1\.weight|conv2\.weight|downsample\.0\.weight"
    r"|bn1\.(weight|bias|running_mean|running_var|num_batches_tracked)))$"
)


@dataclass
class TransferReport:
    """What :func:`load_imagenet_checkpoint` did, for the run log."""

    path: Path
    loaded: list[str] = field(default_factory=list)
    adapted: list[str] = field(default_factory=list)
    unused_checkpoint_keys: list[str] = field(default_factory=list)
    model_keys_not_loaded: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"ImageNet initialisation from {self.path}: {len(self.loaded)} tensors loaded",
        ]
        lines += [f"  adapted: {a}" for a in self.adapted]
        if self.unused_checkpoint_keys:
            lines.append(
                f"  checkpoint keys without a counterpart ({len(self.unused_checkpoint_keys)}): "
                + ", ".join(self.unused_checkpoint_keys)
            )
        if self.model_keys_not_loaded:
            lines.append(
                f"  model keys left at their initialisation ({len(self.model_keys_not_loaded)}): "
                + ", ".join(self.model_keys_not_loaded)
            )
        return "\n".join(lines)


def map_torchvision_key(key: str) -> str | None:
    """Model key for a torchvision ResNet checkpoint key, or None when it has no counterpart."""
    return key if _MAPPED.match(key) else None


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a checkpoint safely; unwrap ``{"state_dict": ...}``/``{"model": ...}`` and ``module.``."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(
            f"ImageNet checkpoint {p} does not exist: give the path of a torchvision ResNet "
            "checkpoint file you hold (nothing is downloaded), or set imagenet_checkpoint: null"
        )
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types; re-raised with the file named
        raise ModelError(
            f"cannot read checkpoint {p} with torch.load(weights_only=True): {exc}. "
            "Save a plain state dict (torch.save(model.state_dict(), path))"
        ) from exc
    for wrapper in ("state_dict", "model"):
        if isinstance(obj, dict) and wrapper in obj and isinstance(obj[wrapper], dict):
            obj = obj[wrapper]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelError(f"checkpoint {p} is not a state dict of tensors (got {type(obj).__name__})")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in obj.items()}


def adapt_first_conv(weight: torch.Tensor, in_chans: int) -> torch.Tensor:
    """Adapt an RGB first-conv kernel (O, 3, k, k) to ``in_chans`` (1: sum over colour; 3: as is)."""
    if weight.ndim != 4:
        raise ModelError(f"first conv weight must be 4-d, got shape {tuple(weight.shape)}")
    if weight.shape[1] == in_chans:
        return weight
    if weight.shape[1] == 3 and in_chans == 1:
        return weight.sum(dim=1, keepdim=True)
    raise ModelError(
        f"cannot adapt first conv weight with {weight.shape[1]} input channels to in_chans={in_chans}"
    )


def load_imagenet_checkpoint(
    model: nn.Module, path: str | Path, *, log: logging.Logger | None = None
) -> TransferReport:
    """Load the mappable tensors of a torchvision ResNet checkpoint into ``model``.

    Raises :class:`ModelError` when a mapped tensor's shape differs (naming the key), or
    when no key maps at all (not a torchvision ResNet checkpoint).
    """
    source = read_state_dict(path)
    target = model.state_dict()
    report = TransferReport(path=Path(path))
    new_state: dict[str, torch.Tensor] = {}
    for key, value in source.items():
        dest = map_torchvision_key(key)
        if dest is None or dest not in target:
            report.unused_checkpoint_keys.append(key)
            continue
        if dest == "conv1.weight":
            in_chans = target[dest].shape[1]
            if value.ndim == 4 and value.shape[1] != in_chans:
                adapted = adapt_first_conv(value, in_chans)
                report.adapted.append(
                    f"conv1.weight {tuple(value.shape)} -> {tuple(adapted.shape)} (RGB kernels summed)"
                )
                value = adapted
        if value.shape != target[dest].shape:
            raise ModelError(
                f"checkpoint {path}: key {key!r} has shape {tuple(value.shape)} but the model's "
                f"{dest!r} has {tuple(target[dest].shape)}; the checkpoint must be a torchvision "
                "ResNet with the standard widths (build the model with base_width=64)"
            )
        new_state[dest] = value.to(target[dest].dtype)
    if not new_state:
        raise ModelError(
            f"checkpoint {path} has no key of torchvision's ResNet layout (conv1.weight, "
            f"layer1.0.conv1.weight, ...); first keys: {list(source)[:5]}"
        )
    report.loaded = sorted(new_state)
    report.model_keys_not_loaded = [k for k in target if k not in new_state]
    model.load_state_dict(new_state, strict=False)
    if log is not None:
        log.info("%s", report.summary())
    return report
