"""PNG pictures of one predicted interval (``microexpr predict --visualise DIR``).

``<prefix>_apex.png``: the apex frame with the face crop box (green, fixed for the window)
and the 68 landmarks (red) fitted on the apex frame (the window's crop landmarks when dlib
finds no face there); ``<prefix>_flow.png``: the model's input flow image (u, v, strain
as R, G, B) enlarged to 224 px with nearest-neighbour pixels (apex-frame models:
``<prefix>_apex_crop.png``, the model's input crop, enlarged the same way); ``<prefix>_probabilities.png``:
a horizontal bar chart of the class probabilities drawn with OpenCV (no plotting library).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import PreprocessingError
from .windows import Candidate


def _write(path: Path, rgb: np.ndarray) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise PreprocessingError(f"cannot write {path}; check that the --visualise folder is writable")
    return str(path)


def draw_face(frame: np.ndarray, box: tuple[int, int, int, int], landmarks: np.ndarray, scale: int = 3) -> np.ndarray:
    """``frame`` enlarged ``scale`` times with the crop box and landmarks drawn."""
    img = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    x0, y0, x1, y1 = (int(v * scale) for v in box)
    cv2.rectangle(img, (x0, y0), (x1, y1), (0, 255, 0), 2)
    for x, y in np.asarray(landmarks):
        cv2.circle(img, (int(round(x * scale)), int(round(y * scale))), 2, (255, 0, 0), -1)
    return img


def bar_chart(probabilities: np.ndarray, classes: tuple[str, ...], width: int = 480) -> np.ndarray:
    """White image with one labelled bar per class, length proportional to its probability."""
    row, left = 40, 130
    img = np.full((row * len(classes) + 20, width, 3), 255, np.uint8)
    best = int(np.argmax(probabilities))
    for i, (name, p) in enumerate(zip(classes, probabilities)):
        y = 10 + i * row
        cv2.putText(img, name[:14], (8, y + 25), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
        length = int(round(float(p) * (width - left - 70)))
        colour = (200, 60, 40) if i == best else (90, 120, 200)
        cv2.rectangle(img, (left, y + 8), (left + max(length, 1), y + row - 8), colour, -1)
        cv2.putText(img, f"{float(p):.3f}", (left + length + 6, y + 25), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1,
                    cv2.LINE_AA)
    return img


def write_visualisations(folder: Path, prefix: str, cand: Candidate, flow_img: np.ndarray, proba: np.ndarray,
                         classes: tuple[str, ...]) -> dict[str, str]:
    """Write the three PNGs of one interval (``flow_img``: the model's input array, a flow image
    or an apex crop); returns {kind: path}."""
    out = {}
    frame = cand.data.get("apex_frame")
    if frame is None:
        raise PreprocessingError("internal: the apex frame was not kept for visualisation")
    landmarks = cand.data.get("apex_landmarks", cand.data["landmarks"])
    out["apex"] = _write(folder / f"{prefix}_apex.png", draw_face(frame, cand.data["geom"].box, landmarks))
    kind = "apex_crop" if flow_img.ndim == 2 or cand.data.get("input") == "apex_crop" else "flow"
    shown = cv2.cvtColor(flow_img, cv2.COLOR_GRAY2RGB) if flow_img.ndim == 2 else flow_img
    out[kind] = _write(folder / f"{prefix}_{kind}.png", cv2.resize(shown, (224, 224), interpolation=cv2.INTER_NEAREST))
    out["probabilities"] = _write(folder / f"{prefix}_probabilities.png", bar_chart(proba, classes))
    return out
