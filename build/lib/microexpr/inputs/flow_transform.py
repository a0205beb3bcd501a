"""The one owner of "flow image on disk or in memory -> model tensor" (STSTNet/LAENet/OFF-ApexNet).

A flow image is ``(H, W, 3)`` uint8 with the components (u, v, optical strain) in that
order: what the ``flow_image`` representation returns, and what an STSTNet-style PNG
stores as (R, G, B). Training, published-weight evaluation, ``export`` and ``predict`` all
turn such images into model tensors through :class:`FlowImageTransform` and nothing else.

Pixel conventions (``convention``):

- ``rgb01``: tensor channels in component order (u, v, strain), values / 255: what models
  trained by microexpr use;
- ``opencv_bgr255``: exactly what the published STSTNet weights were trained on, the array
  ``cv2.imread(path, cv2.IMREAD_COLOR)`` returns, channels first, float32 0..255 with no
  rescaling. OpenCV's BGR order puts the components as (strain, v, u).

``channels`` selects components (0 u, 1 v, 2 strain; OFF-ApexNet uses ``(0, 1)``); the
tensor keeps the convention's order among the selected ones (:meth:`FlowImageTransform.order`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from ..errors import ConfigError, DatasetFormatError

CONVENTIONS: tuple[str, ...] = ("opencv_bgr255", "rgb01")
COMPONENTS: tuple[str, ...] = ("u", "v", "strain")
_ORDER = {"rgb01": (0, 1, 2), "opencv_bgr255": (2, 1, 0)}


@dataclass(frozen=True)
class FlowImageTransform:
    """Pixel convention and flow components of a flow-image model's input tensor."""

    convention: str = "rgb01"
    channels: tuple[int, ...] = (0, 1, 2)

    def __post_init__(self) -> None:
        if self.convention not in CONVENTIONS:
            raise ConfigError(f"pixel convention {self.convention!r} unknown; use one of {CONVENTIONS}")
        chans = tuple(int(c) for c in self.channels)
        if not chans or len(set(chans)) != len(chans) or not all(0 <= c < 3 for c in chans):
            raise ConfigError(f"channels {self.channels!r} must be distinct flow components 0 (u), 1 (v), 2 (strain)")
        object.__setattr__(self, "channels", chans)

    def order(self) -> list[int]:
        """Component index of each tensor channel (``opencv_bgr255`` with all three: [2, 1, 0])."""
        return [c for c in _ORDER[self.convention] if c in self.channels]

    def from_images(self, images: np.ndarray) -> torch.Tensor:
        """``(n, H, W, 3)`` uint8 flow images (u, v, strain) -> ``(n, C, H, W)`` float32 tensor."""
        arr = np.asarray(images)
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise DatasetFormatError(f"flow images must be (n, H, W, 3) with channels (u, v, strain), got {arr.shape}")
        x = arr[..., self.order()].astype(np.float32)
        if self.convention == "rgb01":
            x /= 255.0
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))

    def from_files(self, paths: Sequence[str | Path], where: str) -> torch.Tensor:
        """STSTNet-style PNGs (R, G, B = u, v, strain) -> the model tensor (see :func:`read_flow_pngs`)."""
        return self.from_images(read_flow_pngs(paths, where))

    def as_dict(self) -> dict[str, Any]:
        """The form stored in model artefacts (``input_transform``)."""
        return {"pixel_convention": self.convention, "channels": list(self.channels)}

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> "FlowImageTransform":
        return cls(str(spec["pixel_convention"]), tuple(spec["channels"]))


def read_flow_png(path: str | Path) -> np.ndarray:
    """One STSTNet-style PNG as ``(H, W, 3)`` uint8 in component order (u, v, strain)."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise DatasetFormatError(f"{path}: not a readable image; replace or delete it")
    return np.ascontiguousarray(img[..., ::-1])  # OpenCV decodes to B, G, R = strain, v, u


def read_flow_pngs(paths: Sequence[str | Path], where: str) -> np.ndarray:
    """The PNGs at ``paths`` stacked, ``(n, H, W, 3)`` uint8 (u, v, strain); all must have one
    size (``where`` names their folder in the error)."""
    arrays = [read_flow_png(p) for p in paths]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise DatasetFormatError(f"{where}: flow PNGs of different sizes {sorted(shapes)}; all must be alike (28x28x3)")
    return np.stack(arrays) if arrays else np.zeros((0, 28, 28, 3), np.uint8)
