"""Test clips with motion planted by hand (no dependency on microexpr.synth).

A textured face (the astronaut photo of scikit-image, a public-domain NASA portrait) is
warped with a smooth displacement field whose amplitude follows a known time course, so
the apex and every flow are known in advance.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from skimage.data import astronaut

# Eye centres (x, y) of the astronaut measured once with dlib's HOG + 68-point model at
# full resolution (512x512): subject's right eye (image left), then left eye.
ASTRONAUT_EYES = np.array([[203.2, 101.5], [246.8, 104.0]])
FACE_WINDOW = (130, 30, 330, 230)  # x0, y0, x1, y1: 200x200 window around the face


def face_image() -> np.ndarray:
    """200x200 RGB window of the astronaut around her face."""
    x0, y0, x1, y1 = FACE_WINDOW
    return np.ascontiguousarray(astronaut()[y0:y1, x0:x1])


def warp(image: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Image whose content moved by (dx, dy): out(x + d) = image(x) (approximately, via remap)."""
    h, w = image.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, xs - dx.astype(np.float32), ys - dy.astype(np.float32), cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REFLECT)


def smile_field(shape: tuple[int, int], centres: list[tuple[float, float]], sigma: float = 14.0) -> tuple[np.ndarray, np.ndarray]:
    """Unit displacement: Gaussian bumps at ``centres`` pushing outwards and up (a 'smile')."""
    h, w = shape
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    dx = np.zeros((h, w))
    dy = np.zeros((h, w))
    cx_mid = np.mean([c[0] for c in centres])
    for cx, cy in centres:
        g = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2))
        dx += np.sign(cx - cx_mid) * g
        dy -= 0.6 * g
    return dx, dy


def planted_clip(n_frames: int = 31, apex: int = 19, peak_px: float = 2.5, noise: float = 1.0,
                 seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """RGB frames of a clip whose motion amplitude peaks at ``apex``; and the amplitudes."""
    rng = np.random.default_rng(seed)
    base = face_image()
    # mouth corners and brows of the 200x200 window (face coordinates of the astronaut)
    dx, dy = smile_field(base.shape[:2], [(71, 110), (115, 111), (80, 60), (112, 61)])
    t = np.arange(n_frames, dtype=np.float64)
    amp = np.where(t <= apex, np.sin(0.5 * np.pi * t / apex) ** 2,
                   np.cos(0.5 * np.pi * (t - apex) / max(1, n_frames - 1 - apex) * 0.8) ** 2)
    frames = []
    for a in amp:
        f = warp(base, peak_px * a * dx, peak_px * a * dy).astype(np.float64)
        f += rng.normal(0, noise, f.shape)
        frames.append(np.clip(np.rint(f), 0, 255).astype(np.uint8))
    return frames, peak_px * amp


def write_clip(folder: Path, frames: list[np.ndarray], landmarks: np.ndarray | None = None) -> list[str]:
    """Write frames as PNG ``img1.png..`` (+ ``landmarks68.npy``); return frame paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, f in enumerate(frames, start=1):
        p = folder / f"img{i}.png"
        cv2.imwrite(str(p), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        paths.append(str(p))
    if landmarks is not None:
        np.save(folder / "landmarks68.npy", landmarks.astype(np.float32))
    return paths


def clip_row(key: str, paths: list[str], onset: int, apex: int, offset: int, landmarks: str | None = None) -> dict:
    dataset, subject, clip = key.split("/")
    return dict(dataset=dataset, subject=f"{dataset}/{subject}", clip=clip, key=key, frames=tuple(paths),
                fps=100.0, onset=onset, apex=apex, offset=offset, apex_source="annotated",
                emotion="happiness", aus=(), landmarks=landmarks)
