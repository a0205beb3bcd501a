"""Nuisances of real recordings, each switchable: blinks, head motion, flicker, noise, JPEG.

The defaults are mild, of the order seen in lab recordings of micro-expressions (a
head that is asked to stay still, a flickering lamp at high frame rate, a noisy
high-speed sensor, JPEG-compressed frames). Every value is recorded in the corpus
manifest, and :meth:`Nuisances.off` switches all of them off (used by the tests that
compare recovered flow with the planted displacement).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Nuisances:
    """Per-clip nuisance settings.

    ``blink_prob``: probability that a clip contains a random blink (AU45) unrelated to
    its label. ``head_shift_px``: amplitude of slow head translation over a clip (pixels);
    ``head_roll_deg``: amplitude of slow in-plane rotation (degrees). ``flicker``: relative
    amplitude of frame-to-frame illumination change. ``noise``: sensor noise standard
    deviation (grey levels). ``jpeg_quality``: JPEG round trip applied to every frame in
    memory (``None``: off; the CASME II/SAMM layouts are written as JPEG files in any case,
    as the real corpora are).
    """

    blink_prob: float = 0.2
    head_shift_px: float = 0.4
    head_roll_deg: float = 0.25
    flicker: float = 0.01
    noise: float = 1.5
    jpeg_quality: int | None = 90

    @classmethod
    def off(cls) -> "Nuisances":
        """No blinks, no head motion, no flicker, no noise, no JPEG round trip."""
        return cls(blink_prob=0.0, head_shift_px=0.0, head_roll_deg=0.0, flicker=0.0, noise=0.0, jpeg_quality=None)

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)

    def validate(self) -> None:
        """Raise ``ValueError`` naming a setting out of its range."""
        if not 0.0 <= self.blink_prob <= 1.0:
            raise ValueError(f"blink_prob must be in [0, 1], got {self.blink_prob}")
        for name in ("head_shift_px", "head_roll_deg", "flicker", "noise"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.jpeg_quality is not None and not 1 <= int(self.jpeg_quality) <= 100:
            raise ValueError(f"jpeg_quality must be None or in 1..100, got {self.jpeg_quality}")


def smooth_walk(rng: np.random.Generator, n: int, amplitude: float) -> np.ndarray:
    """A slow random trajectory of ``n`` samples starting at 0, peak |value| <= amplitude."""
    if n <= 1 or amplitude == 0.0:
        return np.zeros(n)
    t = np.linspace(0.0, 1.0, n)
    k = rng.uniform(0.3, 1.0)
    phase = rng.uniform(0, 2 * np.pi)
    walk = np.sin(2 * np.pi * k * t + phase) - np.sin(phase) + 0.5 * rng.standard_normal() * t
    peak = np.abs(walk).max()
    return walk / peak * amplitude * rng.uniform(0.5, 1.0) if peak > 0 else walk


def flicker_gains(rng: np.random.Generator, n: int, fps: float, amplitude: float) -> np.ndarray:
    """Multiplicative illumination gain per frame: mains-like oscillation plus jitter."""
    if amplitude == 0.0:
        return np.ones(n)
    t = np.arange(n) / fps
    freq = rng.choice([50.0, 60.0]) * 2.0 / max(fps / 50.0, 1.0)  # aliased lamp flicker
    return 1.0 + amplitude * (np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi)) + 0.5 * rng.standard_normal(n))


def jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode ``image`` (uint8 grey or RGB) as JPEG at ``quality`` and decode it."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV failure
        raise RuntimeError("JPEG encoding failed")
    flag = cv2.IMREAD_GRAYSCALE if image.ndim == 2 else cv2.IMREAD_COLOR
    return cv2.imdecode(buf, flag)
