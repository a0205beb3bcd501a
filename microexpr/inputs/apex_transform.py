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
COLOURS = ("grey", "rgb")


def check_colour(colour: str) -> int:
    """The channel count of an apex-crop colour (grey 1, rgb 3); ConfigError for any other."""
    if colour not in COLOURS:
        raise ConfigError(f"colour must be 'grey' or 'rgb', got {colour!r}")
    return 3 if colour == "rgb" else 1


def crops_tensor(images: np.ndarray, colour: str, *, size: int | None = None, min_size: int = 1) -> torch.Tensor:
    """``(n, S, S)`` or ``(n, S, S, 3)`` uint8 apex crops as a float tensor ``(n, C, S, S)`` on the
    0-255 scale; ``size``: the side S must have, else at least ``min_size``."""
    chans = check_colour(colour)
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim == 4 and arr.shape[-1] in (1, 3):
        arr = arr.transpose(0, 3, 1, 2)
    side_ok = arr.ndim == 4 and (arr.shape[2] == arr.shape[3] == size if size is not None
                                 else min(arr.shape[2:]) >= min_size)
    if arr.ndim != 4 or arr.shape[1] != chans or not side_ok:
        want = f"{size}" if size is not None else f"S >= {min_size}"
        raise ModelError(f"apex crops have shape {np.asarray(images).shape}; expected (n, {want}, {want}"
                         f"{', 3' if chans == 3 else ''}) (colour: {colour})")
    return torch.from_numpy(np.ascontiguousarray(arr)).float()


@dataclass(frozen=True)
class ApexImageTransform:
    """Centre crop to ``input_size`` and ImageNet standardisation of ``colour`` (grey | rgb) crops."""

    input_size: int
    colour: str = "grey"

    def __post_init__(self) -> None:
        check_colour(self.colour)
        if int(self.input_size) < 1:
            raise ConfigError(f"input_size must be >= 1, got {self.input_size}")

    def from_images(self, images: np.ndarray) -> torch.Tensor:
        """``(n, S, S)`` or ``(n, S, S, 3)`` uint8 crops (S >= input_size) -> ``(n, C, input_size, input_size)``."""
        from ..models.layers import ImageNetStandardise
        from ..training.augment import center_crop

        x = center_crop(crops_tensor(images, self.colour, min_size=self.input_size), self.input_size)
        return ImageNetStandardise(check_colour(self.colour))(x)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": KIND, "input_size": int(self.input_size), "colour": self.colour}

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> "ApexImageTransform":
        return cls(int(spec["input_size"]), str(spec["colour"]))
