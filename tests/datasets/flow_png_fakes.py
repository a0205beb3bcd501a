"""Fake STSTNet-style flow-PNG folders (flat and per-fold) with the published naming quirks.

The composite-set layout follows DATASETS.md: subjects CASME II sub01-09, 11-17, 19-26;
SMIC s01-06, 08, 09, 11-15, 18-20; SAMM 006, 007, 009-024, 026, 028, 030-037; counts
negative/positive/surprise SMIC 70/51/43, CASME II 88/32/25, SAMM 92/26/15 (442 in all).
Images are tiny random 28x28x3 PNGs (nothing here is a real flow image).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

CLASSES = ("negative", "positive", "surprise")
SUBJECTS = {
    "casme2": [f"sub{n:02d}" for n in [*range(1, 10), *range(11, 18), *range(19, 27)]],
    "smic": [f"s{n:02d}" for n in [*range(1, 7), 8, 9, *range(11, 16), *range(18, 21)]],
    "samm": [f"{n:03d}" for n in [6, 7, *range(9, 25), 26, 28, *range(30, 38)]],
}
COUNTS = {"smic": (70, 51, 43), "casme2": (88, 32, 25), "samm": (92, 26, 15)}


@dataclass(frozen=True)
class FakeClip:
    dataset: str
    subject: str  # native spelling of the other readers (sub01, s01, 006)
    clip: str  # as the other readers name it (EP02_01f, s1_ne_01, 006_1_2)
    label: int

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.subject}/{self.clip}"

    def file_stem(self, i: int) -> str:
        """The published spelling, varied: SMIC as ``s01_s01_ne_01`` (composite) or ``s1_s1_ne_01``."""
        if self.dataset == "smic":
            n = int(self.subject[1:])
            tail = self.clip.split("_", 1)[1]
            return f"s{n:02d}_s{n:02d}_{tail}" if i % 2 == 0 else f"s{n}_s{n}_{tail}"
        return f"{self.subject}_{self.clip}"


def composite_clips() -> list[FakeClip]:
    """The 442-clip composite set: clips dealt round-robin to each corpus's subjects."""
    out = []
    for ds, counts in COUNTS.items():
        subs = SUBJECTS[ds]
        i = 0
        for label, n in enumerate(counts):
            for _ in range(n):
                sub = subs[i % len(subs)]
                k = i // len(subs)
                if ds == "casme2":
                    clip = f"EP{k:02d}_{label}{i % 7}f"
                elif ds == "smic":
                    clip = f"s{int(sub[1:])}_{CLASSES[label][:2]}_{k + 1:02d}"
                else:
                    clip = f"{sub}_{k + 1}_{label}"
                out.append(FakeClip(ds, sub, clip, label))
                i += 1
    return out


def image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (28, 28, 3), dtype=np.uint8)


def write_flat(folder: Path, clips: list[FakeClip], *, images: np.ndarray | None = None) -> dict[str, Path]:
    """``<stem> .png`` (every other file without the space); returns key -> file."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, c in enumerate(clips):
        path = folder / f"{c.file_stem(i)}{' ' if i % 2 == 0 else ''}.png"
        cv2.imwrite(str(path), image(i) if images is None else images[i])
        out[c.key] = path
    (folder / ".DS_Store").write_bytes(b"x")
    return out


def write_per_fold(folder: Path, clips: list[FakeClip]) -> None:
    """``<subject>/{u_train,u_test}/<label>/<stem>.png`` for every subject (LOSO arrangement)."""
    subjects = sorted({c.subject for c in clips})
    for i, c in enumerate(clips):
        img = image(i)
        for s in subjects:
            part = "u_test" if s == c.subject else "u_train"
            d = folder / s / part / str(c.label)
            d.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(d / f"{c.file_stem(i)}.png"), img)


def write_official_labels(path: Path, clips: list[FakeClip], labels: list[int] | None = None) -> Path:
    """The MEGC 2019 list ``dataset,subject,clip,label`` with SAMM subjects unpadded (``samm,6,...``)."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["dataset", "subject", "clip", "label"])
        for i, c in enumerate(clips):
            sub = str(int(c.subject)) if c.dataset == "samm" else c.subject
            clip = c.clip.replace(f"s{int(c.subject[1:])}_", f"{c.subject}_", 1) if c.dataset == "smic" else c.clip
            w.writerow([c.dataset, sub, clip, c.label if labels is None else labels[i]])
    return path
