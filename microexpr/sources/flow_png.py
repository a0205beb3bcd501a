"""STSTNet-style precomputed flow images (PNG, 28x28, channels u, v, optical strain).

Two layouts are accepted (DATASETS.md, "Pre-computed inputs"):

- *flat*: one folder of PNGs named ``<subject>_<clip>.png`` or, as in the published
  copies, ``<subject>_<clip> .png`` (a space before ``.png``);
- *per fold*: ``<subject>/{u_train,u_test}/{0,1,2}/<name>.png`` (the folder digit is the
  composite label: 0 negative, 1 positive, 2 surprise). A clip is read from the
  ``u_test`` folder of its own subject when present, else from any ``u_train`` copy.

Matching a ClipTable row to a file uses ``<native subject>_<clip>`` with zero padding
ignored in numeric tokens and in SMIC-style ``sNN`` tokens, so ``s01_s01_ne_01`` matches
the folder spelling ``s1``/``s1_ne_01`` and ``006`` matches ``6``.

Pixel conventions (``convention``):

- ``opencv_bgr255``: exactly what the published STSTNet weights were trained on -- the
  array ``cv2.imread`` returns (BGR channel order), as float32 0..255, no rescaling;
- ``rgb01``: the file's stored channel order (u, v, strain as R, G, B), divided by 255,
  the convention of models trained by microexpr on ``flow_image`` inputs.

Both return ``(n, 3, H, W)`` float32 (channels first).
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ..errors import ConfigError, DatasetFormatError, DatasetNotFoundError

CONVENTIONS = ("opencv_bgr255", "rgb01")
_NUM_TOKEN = re.compile(r"^(s?)0*(\d+)$", re.IGNORECASE)


def normalise_name(name: str) -> str:
    """Canonical match key of a file stem or ``<subject>_<clip>`` (see module docstring)."""
    stem = name.strip()
    if stem.lower().endswith(".png"):
        stem = stem[:-4].rstrip()
    tokens = []
    for tok in stem.lower().split("_"):
        m = _NUM_TOKEN.match(tok)
        tokens.append(f"{m.group(1)}{int(m.group(2))}" if m else tok)
    return "_".join(tokens)


def convert_uvs(images: np.ndarray, convention: str) -> np.ndarray:
    """``(n, H, W, 3)`` uint8 images in (u, v, strain) order -> ``(n, 3, H, W)`` float32."""
    if convention not in CONVENTIONS:
        raise ConfigError(f"pixel convention {convention!r} unknown; use one of {CONVENTIONS}")
    arr = np.asarray(images)
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise DatasetFormatError(f"flow images must be (n, H, W, 3), got {arr.shape}")
    arr = arr.astype(np.float32)
    if convention == "opencv_bgr255":
        arr = arr[..., ::-1]
    else:
        arr = arr / 255.0
    return np.ascontiguousarray(arr.transpose(0, 3, 1, 2))


def read_png(path: Path, convention: str) -> np.ndarray:
    """One PNG as ``(3, H, W)`` float32 in ``convention``."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise DatasetFormatError(f"{path}: not a readable image; replace or delete it")
    return convert_uvs(img[None, ..., ::-1], convention)[0]  # cv2 gives BGR; convert_uvs wants RGB = (u, v, strain)


def read_pngs(paths: list[Path], convention: str, where: str) -> np.ndarray:
    """The PNGs at ``paths`` stacked, ``(n, 3, H, W)`` float32 in ``convention``; all must have
    one size (``where`` names their folder in the error)."""
    arrays = [read_png(Path(p), convention) for p in paths]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise DatasetFormatError(f"{where}: flow PNGs of different sizes {sorted(shapes)}; all must be alike (28x28x3)")
    return np.stack(arrays) if arrays else np.zeros((0, 3, 28, 28), np.float32)


def png_rows(table: pd.DataFrame) -> np.ndarray:
    """Per row, whether it was read by the ``flow_png`` dataset reader (a non-empty
    ``flow_png`` path: an image, no video frames)."""
    if "flow_png" not in table.columns:
        return np.zeros(len(table), dtype=bool)
    return np.array([isinstance(v, str) and bool(v) for v in table["flow_png"]], dtype=bool)


class FlowPngFolder:
    """Index of a flow-PNG folder (flat or per-fold layout); see the module docstring."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetNotFoundError(f"flow PNG folder {self.root} not found: give the folder of <subject>_<clip>.png "
                                       "files or of <subject>/u_train|u_test/<label>/ folders")
        self.index: dict[str, tuple[Path, int | None]] = {}
        flat = sorted(p for p in self.root.glob("*.png") if p.is_file())
        if flat:
            self.layout = "flat"
            for p in flat:
                self._add(p, None)
        else:
            fold_pngs = sorted(self.root.glob("*/u_test/*/*.png")) + sorted(self.root.glob("*/u_train/*/*.png"))
            if not fold_pngs:
                raise DatasetNotFoundError(f"{self.root}: no *.png files and no <subject>/u_test/<label>/*.png folders")
            self.layout = "per_fold"
            for p in fold_pngs:
                label_dir = p.parent.name
                if not label_dir.isdigit():
                    raise DatasetFormatError(f"{p}: label folder {label_dir!r} is not a class number (0, 1, 2); rename it "
                                           "0 (negative), 1 (positive) or 2 (surprise)")
                self._add(p, int(label_dir))

    def _add(self, path: Path, label: int | None) -> None:
        key = normalise_name(path.name)
        if key in self.index:
            prev, prev_label = self.index[key]
            if self.layout == "flat":
                raise DatasetFormatError(f"{path} and {prev} name the same clip; keep one of them")
            if prev_label != label:
                raise DatasetFormatError(f"{path} (label {label}) and {prev} (label {prev_label}) disagree on the label of one clip")
            return
        self.index[key] = (path, label)

    def entry(self, subject: str, clip: str) -> tuple[Path, int | None]:
        """File (and folder label) of one clip; ``subject`` namespaced (``samm/006``) or native."""
        native = str(subject).split("/", 1)[-1]
        key = normalise_name(f"{native}_{clip}")
        if key not in self.index:
            raise DatasetNotFoundError(
                f"clip {subject}/{clip}: no flow PNG named '{native}_{clip}.png' (or with a space before .png) "
                f"in {self.root}; add the file or drop the clip from the clip list"
            )
        return self.index[key]

    def load(self, table: pd.DataFrame, convention: str) -> np.ndarray:
        """Images of every row of ``table`` in order, ``(n, 3, H, W)`` float32."""
        paths = [self.entry(s, c)[0] for s, c in zip(table["subject"], table["clip"])]
        return read_pngs(paths, convention, str(self.root))

    def labels(self, table: pd.DataFrame) -> np.ndarray:
        """Folder labels of every row (per-fold layout only)."""
        if self.layout != "per_fold":
            raise ConfigError(f"{self.root}: a flat PNG folder carries no labels; use the ground-truth CSV")
        return np.array([self.entry(s, c)[1] for s, c in zip(table["subject"], table["clip"])], dtype=np.int64)
