"""STSTNet-style precomputed flow images (PNG, 28x28, channels u, v, optical strain).

Two layouts are accepted (DATASETS.md, "Pre-computed inputs"):

- *flat*: one folder of PNGs named ``<subject>_<clip>.png`` or, as in the published
  copies, ``<subject>_<clip> .png`` (a space before ``.png``);
- *per fold*: ``<subject>/{u_train,u_test}/{0,1,2}/<name>.png`` (the folder digit is the
  composite label: 0 negative, 1 positive, 2 surprise). A clip is read from the
  ``u_test`` folder of its own subject when present, else from any ``u_train`` copy.

A ClipTable row meets a file through the one clip-identity rule of
:mod:`microexpr.identity` (the corpus from the subject spelling, zero padding and ``sNN``
tokens ignored), so ``s01_s01_ne_01`` matches the folder spelling ``s1``/``s1_ne_01`` and
``006`` matches ``6``.

Images are returned as stored, ``(n, H, W, 3)`` uint8 in component order (u, v, strain);
:class:`microexpr.inputs.flow_transform.FlowImageTransform` turns them into model tensors
(pixel conventions are defined there, once).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, DatasetFormatError, DatasetNotFoundError
from ..identity import ClipId, clip_identity, clip_name_identity, composite_corpus, subject_identity


def png_identity(name: str) -> ClipId:
    """Identity of a PNG named ``<subject>_<clip>[ ].png``; the corpus comes from the subject
    spelling (empty when it fits no corpus: then only the subject and clip must match)."""
    stem = name.strip()
    if stem.lower().endswith(".png"):
        stem = stem[:-4].rstrip()
    subject, _, clip = stem.partition("_")
    return ClipId(composite_corpus(subject) or "", subject_identity(subject), clip_name_identity(clip))


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
        self.index: dict[ClipId, tuple[Path, int | None]] = {}
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
        key = png_identity(path.name)
        if key in self.index:
            prev, prev_label = self.index[key]
            if self.layout == "flat":
                raise DatasetFormatError(f"{path} and {prev} name the same clip; keep one of them")
            if prev_label != label:
                raise DatasetFormatError(f"{path} (label {label}) and {prev} (label {prev_label}) disagree on the label of one clip")
            return
        self.index[key] = (path, label)

    def entry(self, dataset: str, subject: str, clip: str) -> tuple[Path, int | None]:
        """File (and folder label) of one clip; ``subject`` namespaced (``samm/006``) or native."""
        ident = clip_identity(dataset, subject, clip)
        hit = self.index.get(ident) or self.index.get(ident._replace(dataset=""))
        if hit is None:
            native = str(subject).split("/", 1)[-1]
            raise DatasetNotFoundError(
                f"clip {dataset}/{native}/{clip}: no flow PNG named '{native}_{clip}.png' (or another spelling of the "
                f"same clip, e.g. without zero padding, or with a space before .png) in {self.root}; add the file or "
                "drop the clip from the clip list"
            )
        return hit

    def paths(self, table: pd.DataFrame) -> list[Path]:
        """The PNG of every row of ``table``, in order."""
        return [self.entry(d, s, c)[0] for d, s, c in zip(table["dataset"], table["subject"], table["clip"])]

    def load(self, table: pd.DataFrame) -> np.ndarray:
        """Images of every row of ``table`` in order, ``(n, H, W, 3)`` uint8 (u, v, strain)."""
        from ..inputs.flow_transform import read_flow_pngs  # late: the inputs package imports this module

        return read_flow_pngs(self.paths(table), str(self.root))

    def labels(self, table: pd.DataFrame) -> np.ndarray:
        """Folder labels of every row (per-fold layout only)."""
        if self.layout != "per_fold":
            raise ConfigError(f"{self.root}: a flat PNG folder carries no labels; use the ground-truth CSV")
        return np.array([self.entry(d, s, c)[1] for d, s, c in zip(table["dataset"], table["subject"], table["clip"])],
                        dtype=np.int64)
