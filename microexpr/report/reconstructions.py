"""Reconstruction figures (MTMNet's Fig. 3): what an EIDNet's decoder makes of an expression image.

A method that trains a decoder writes one PNG per trained network into
``RUN_DIR/reconstructions/``: one row per clip, three columns (the expression image, its
reconstruction from [f^e of the expression image, f^s of the neutral image], the neutral image).
The HTML report shows every file of that folder (:func:`reconstructions_html`).

Colour convention: the arrays are RGB (the inputs layer's order); PNG files are written through
OpenCV, which expects BGR, so RGB images are converted on the way out (tested by reading the file
back with ``cv2.imread``).
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import MicroexprError
from ..io_utils import atomic_write_bytes

GAP = 2  # white pixels between images


def reconstruction_grid(expression: np.ndarray, reconstruction: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """(k, S, S[, 3]) uint8 x 3 -> one uint8 image of k rows x 3 columns (RGB or grey), white gaps."""
    parts = [np.asarray(a) for a in (expression, reconstruction, neutral)]
    if len({p.shape for p in parts}) != 1 or parts[0].dtype != np.uint8 or parts[0].ndim not in (3, 4):
        raise MicroexprError(f"reconstruction grid: need three uint8 arrays of one shape (k, S, S[, 3]), got "
                             f"{[(p.shape, str(p.dtype)) for p in parts]}")
    k, s = parts[0].shape[:2]
    chans = parts[0].shape[3:]
    out = np.full((k * s + (k - 1) * GAP, 3 * s + 2 * GAP, *chans), 255, np.uint8)
    for r in range(k):
        for c, p in enumerate(parts):
            out[r * (s + GAP): r * (s + GAP) + s, c * (s + GAP): c * (s + GAP) + s] = p[r]
    return out


def write_reconstruction_grid(path: str | os.PathLike[str], expression: np.ndarray, reconstruction: np.ndarray,
                              neutral: np.ndarray) -> Path:
    """Write :func:`reconstruction_grid` as a PNG (RGB converted to OpenCV's BGR) and return its path."""
    grid = reconstruction_grid(expression, reconstruction, neutral)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(grid, cv2.COLOR_RGB2BGR) if grid.ndim == 3 else grid)
    if not ok:
        raise MicroexprError(f"could not encode the reconstruction figure {path}")
    return atomic_write_bytes(path, buf.tobytes())


def reconstruction_files(run_dir: str | os.PathLike[str]) -> list[Path]:
    """The run's reconstruction PNGs: the MacroNet's first, then the MicroNets' in name order."""
    folder = Path(run_dir) / "reconstructions"
    files = sorted(folder.glob("*.png")) if folder.is_dir() else []
    return sorted(files, key=lambda p: (not p.name.startswith("macronet"), p.name))


def reconstructions_html(run_dir: str | os.PathLike[str], limit: int = 6) -> str:
    """The report section of the run's reconstructions ('' when it has none): up to ``limit`` files."""
    files = reconstruction_files(run_dir)
    if not files:
        return ""
    out = ["<h2>Reconstructions (MTMNet Fig. 3)</h2>",
           "<p>Each row: the expression image, the EIDNet decoder's reconstruction from the expression embedding of "
           "that image and the identity embedding of the neutral image (eq. 2), and the neutral image (training "
           f"images of the network named). Files in <code>reconstructions/</code>; {min(limit, len(files))} of "
           f"{len(files)} shown.</p>", '<div class="thumbs">']
    for p in files[:limit]:
        src = "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode("ascii")
        name = html.escape(p.stem)
        out.append(f'<figure class="reconstruction" style="width:auto"><img class="figure" alt="reconstructions of '
                   f'{name}" src="{src}" style="width:auto;height:auto"><figcaption>{name}</figcaption></figure>')
    out.append("</div>")
    return "\n".join(out)
