"""Image augmentations for apex-frame networks, as plain tensor functions.

Every function takes a float batch ``x`` of shape (N, C, H, W) on the 0-255 intensity
scale (so a colour shift of 20 means 20 grey levels, as in the papers), draws its random
numbers from the ``torch.Generator`` it is given (same generator state -> same output),
and applies its transform to each sample independently with probability ``p``.
:class:`ApexAugment` chains them with the Micro-Attention paper's settings.

Decisions where the paper is silent:

* colour shift: one uniform offset in [-max_shift, max_shift] per sample and channel,
  result clipped to [0, 255];
* rotation: uniform angle in [-max_degrees, max_degrees] about the image centre, bilinear,
  borders replicated (black wedges would be a cue that only augmented images carry);
  positive angles turn the image counter-clockwise on screen (OpenCV's convention);
* smoothing: a box (mean) filter whose window is drawn from the odd sizes 3..max_window
  (a centred window needs an odd size; max 6 -> 3 or 5), borders reflected as OpenCV's
  default ``BORDER_REFLECT_101``;
* four-corner crops: one of the four corners, drawn uniformly, of the (larger) loaded
  image; the test-time counterpart is :func:`center_crop`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import ConfigError

__all__ = ["ApexAugment", "box_blur", "center_crop", "colour_shift", "corner_crop", "rotate", "smooth"]


def _check(x: torch.Tensor, p: float) -> None:
    if x.ndim != 4 or not x.is_floating_point():
        raise ConfigError(f"augmentations take a float batch (N, C, H, W), got {x.dtype} {tuple(x.shape)}")
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"augmentation probability must be in [0, 1], got {p}")


def _chosen(n: int, p: float, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=generator) < p


def colour_shift(x: torch.Tensor, max_shift: float, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Add a random offset in [-max_shift, max_shift] per sample and channel; clip to [0, 255]."""
    _check(x, p)
    n, c = x.shape[:2]
    on = _chosen(n, p, generator).to(x.dtype).view(n, 1, 1, 1)
    shift = (torch.rand(n, c, 1, 1, generator=generator) * 2 - 1).to(x.dtype) * max_shift
    return (x + on * shift).clamp(0.0, 255.0)


def rotate(x: torch.Tensor, max_degrees: float, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Rotate each chosen sample by a uniform angle in [-max_degrees, max_degrees] about its centre."""
    _check(x, p)
    n = x.shape[0]
    on = _chosen(n, p, generator)
    angles = (torch.rand(n, generator=generator) * 2 - 1) * max_degrees
    angles = torch.where(on, angles, torch.zeros_like(angles))
    return rotate_by(x, angles)


def rotate_by(x: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Rotate sample i by ``degrees[i]`` (counter-clockwise on screen), bilinear, borders replicated."""
    n, _, h, w = x.shape
    t = degrees.to(torch.float64) * math.pi / 180.0
    cos, sin = torch.cos(t), torch.sin(t)
    # affine_grid works in normalised coordinates; correct for non-square images.
    theta = torch.zeros(n, 2, 3, dtype=torch.float64)
    theta[:, 0, 0] = cos
    theta[:, 0, 1] = -sin * h / w
    theta[:, 1, 0] = sin * w / h
    theta[:, 1, 1] = cos
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def box_blur(x: torch.Tensor, window: int) -> torch.Tensor:
    """Mean filter with an odd square ``window``, borders reflected (OpenCV BORDER_REFLECT_101)."""
    if window < 1 or window % 2 == 0:
        raise ConfigError(f"box blur window must be odd and >= 1, got {window}")
    if window == 1:
        return x
    r = window // 2
    padded = F.pad(x, (r, r, r, r), mode="reflect")
    return F.avg_pool2d(padded, window, stride=1)


def smooth(x: torch.Tensor, max_window: int, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Box-blur each chosen sample with an odd window drawn from 3..max_window."""
    _check(x, p)
    sizes = list(range(3, max_window + 1, 2))
    if not sizes:
        raise ConfigError(f"smoothing max window must be >= 3, got {max_window}")
    n = x.shape[0]
    on = _chosen(n, p, generator)
    pick = torch.randint(len(sizes), (n,), generator=generator)
    out = x.clone()
    for j, size in enumerate(sizes):
        idx = torch.nonzero(on & (pick == j)).flatten()
        if idx.numel():
            out[idx] = box_blur(x[idx], size)
    return out


def corner_crop(x: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """Crop each sample to ``size`` x ``size`` at one of its four corners, drawn uniformly."""
    _check(x, 0.0)
    n, _, h, w = x.shape
    if size > h or size > w:
        raise ConfigError(f"crop size {size} is larger than the images ({h}x{w})")
    corner = torch.randint(4, (n,), generator=generator)
    out = x.new_empty((n, x.shape[1], size, size))
    for i in range(n):
        top = 0 if int(corner[i]) in (0, 1) else h - size
        left = 0 if int(corner[i]) in (0, 2) else w - size
        out[i] = x[i, :, top : top + size, left : left + size]
    return out


def center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """The central ``size`` x ``size`` window (test-time counterpart of :func:`corner_crop`)."""
    h, w = x.shape[-2:]
    if size > h or size > w:
        raise ConfigError(f"crop size {size} is larger than the images ({h}x{w})")
    top, left = (h - size) // 2, (w - size) // 2
    return x[..., top : top + size, left : left + size]


@dataclass(frozen=True)
class ApexAugment:
    """The Micro-Attention augmentation chain; a zero setting switches a step off.

    Order: corner crop (to ``crop_size``, when set), colour shift, rotation, smoothing.
    """

    colour_shift: float = 20.0
    max_rotation: float = 8.0
    smooth_window: int = 0
    crop_size: int | None = None
    p: float = 0.5

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.crop_size is not None:
            x = corner_crop(x, self.crop_size, generator)
        if self.colour_shift > 0:
            x = colour_shift(x, self.colour_shift, generator, self.p)
        if self.max_rotation > 0:
            x = rotate(x, self.max_rotation, generator, self.p)
        if self.smooth_window >= 3:
            x = smooth(x, self.smooth_window, generator, self.p)
        return x
