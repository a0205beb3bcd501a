"""Synthetic flow images and ClipTables for the flow-network tests (no preprocessing layer).

Every clip is a 28x28x3 uint8 image (u, v, strain) with a class-specific motion patch
(negative: brows in v; positive: mouth corners in u; surprise: nose in u and v), a
per-subject offset, pixel noise, and optional "eye blink" noise in the eye boxes that
eye masking zeroes. Numbers measured on these images show the pipeline works, not how
a method does on real micro-expressions.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from microexpr.cliptable import new_clip_table

CLASSES = ("negative", "positive", "surprise")
EYES = ((slice(9, 13), slice(5, 11)), (slice(9, 13), slice(17, 23)))
NATIVE = {"casme2": "sub{:02d}", "samm": "{:03d}", "smic": "s{:d}"}


def clip_table(n_subjects: int = 4, clips_per_class: int = 2, seed: int = 0, datasets=("casme2", "samm", "smic")) -> pd.DataFrame:
    """A labelled ClipTable over ``datasets`` (frames point at a dummy path; never read)."""
    rows = []
    for d in datasets:
        for s in range(1, n_subjects + 1):
            native = NATIVE[d].format(s + 5 if d == "samm" else s)
            for c, name in enumerate(CLASSES):
                for k in range(clips_per_class):
                    clip = f"{native}_{name[:2]}_{k:02d}" if d == "smic" else f"EP{c}{k}_{native}"
                    rows.append(dict(dataset=d, subject=f"{d}/{native}", clip=clip, key=f"{d}/{native}/{clip}",
                                     frames=("/nonexistent/f0.png", "/nonexistent/f1.png"), fps=100.0, onset=0, apex=1,
                                     offset=1, apex_source="annotated", emotion=name, aus=(), label=c, label_name=name))
    return new_clip_table(rows)


def flow_images(table: pd.DataFrame, *, eye_mask: bool = False, blink: float = 0.0, seed: int = 0,
                labels: np.ndarray | None = None) -> np.ndarray:
    """(n, 28, 28, 3) uint8 images for ``table`` (deterministic per clip key and ``seed``)."""
    out = np.zeros((len(table), 28, 28, 3), np.uint8)
    labels = table["label"].to_numpy() if labels is None else labels
    for i, (key, subject, y) in enumerate(zip(table["key"], table["subject"], labels)):
        rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
        srng = np.random.default_rng(zlib.crc32(subject.encode()))
        img = 100.0 + srng.normal(0, 10, 3)[None, None, :] + rng.normal(0, 25, (28, 28, 3))
        amp = rng.uniform(50, 90)
        if y == 0:
            img[4:8, 6:22, 1] += amp
        elif y == 1:
            img[19:23, 4:9, 0] += amp
            img[19:23, 19:24, 0] += amp
        else:
            img[14:18, 8:20, 0] += amp
            img[14:18, 8:20, 1] += amp
        img[..., 2] += 0.5 * np.abs(img[..., 0] - 100)
        if blink:
            for r, c in EYES:
                img[r, c, :] += rng.normal(0, blink, img[r, c, :].shape)
        if eye_mask:
            for r, c in EYES:
                img[r, c, :] = 0
        out[i] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def write_pngs(table: pd.DataFrame, images: np.ndarray, folder: Path, *, space: bool = True) -> Path:
    """Flat STSTNet-style folder: ``<native subject>_<clip> .png`` written RGB=(u, v, strain)."""
    folder.mkdir(parents=True, exist_ok=True)
    for (subject, clip), img in zip(zip(table["subject"], table["clip"]), images):
        name = f"{subject.split('/', 1)[1]}_{clip}{' ' if space else ''}.png"
        cv2.imwrite(str(folder / name), img[..., ::-1])  # cv2 writes BGR: store R=u, G=v, B=strain
    return folder


def loso_folds(table: pd.DataFrame) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Leave-one-subject-out (train, test) tables, test labels kept (tests score them)."""
    return [(table[table.subject != s].reset_index(drop=True), table[table.subject == s].reset_index(drop=True))
            for s in sorted(table.subject.unique())]


def write_labels_csv(table: pd.DataFrame, path: Path, labels: np.ndarray | None = None) -> Path:
    """The ``subject,clip,label`` CSV the ``flow_png`` reader takes for a flat folder
    (``labels``: class indices to write instead of the table's, e.g. shuffled ones)."""
    import csv

    labels = table["label"].to_numpy() if labels is None else labels
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["subject", "clip", "label"])
        for s, c, y in zip(table["subject"], table["clip"], labels):
            w.writerow([s.split("/")[1], c, CLASSES[y]])
    return path
