"""The one owner of "apex face crop -> model tensor" (Micro-Attention, ResNet-10).

An ``apex_crop`` array is ``(S, S)`` (grey) or ``(S, S, 3)`` (RGB) uint8 at the recipe's
``load_size``. At test time, in ``export``ed models and in ``predict`` alike, the tensor is the
central ``input_size`` window, scaled to [0, 1] and standardised with ImageNet statistics
(grey: mean 0.449, std 0.226, the averages of the RGB values), so ImageNet weights see
familiar inputs. Training crops corners instead (augmentation) and standardises inside the
network (:class:`microexpr.models.layers.ImageNetStandardise`), with the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError, ModelError

KIND = "apex_image"


@dataclass(frozen=True)
class ApexImageTransform:
    """Centre crop to ``input_size`` and ImageNet standardisation of ``colour`` (grey | rgb) crops."""

    input_size: int
    colour: str = "grey"

    def __post_init__(self) -> None:
        if self.colour not in ("grey", "rgb"):
            raise ConfigError(f"colour must be 'grey' or 'rgb', got {self.colour!r}")
        if int(self.input_size) < 1:
            raise ConfigError(f"input_size must be >= 1, got {self.input_size}")

    @property
    def in_chans(self) -> int:
        return 3 if self.colour == "rgb" else 1

    def from_images(self, images: np.ndarray) -> torch.Tensor:
        """``(n, S, S)`` or ``(n, S, S, 3)`` uint8 crops (S >= input_size) -> ``(n, C, input_size, input_size)``."""
        from ..models.layers import ImageNetStandardise
        from ..training.augment import center_crop

        arr = np.asarray(images)
        if arr.ndim == 3:
            arr = arr[:, None]
        elif arr.ndim == 4 and arr.shape[-1] in (1, 3):
            arr = arr.transpose(0, 3, 1, 2)
        if arr.ndim != 4 or arr.shape[1] != self.in_chans or min(arr.shape[2:]) < self.input_size:
            raise ModelError(f"apex crops have shape {np.asarray(images).shape}; expected (n, S, S"
                             f"{', 3' if self.in_chans == 3 else ''}) with S >= {self.input_size} (colour: {self.colour})")
        x = center_crop(torch.from_numpy(np.ascontiguousarray(arr)).float(), self.input_size)
        return ImageNetStandardise(self.in_chans)(x)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": KIND, "input_size": int(self.input_size), "colour": self.colour}

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> "ApexImageTransform":
        return cls(int(spec["input_size"]), str(spec["colour"]))
