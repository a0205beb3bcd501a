"""Where the dlib model files live: inside the installed ``face-recognition-models`` package.

``import face_recognition_models`` fails on setuptools >= 81 (it imports ``pkg_resources``),
so we locate the package folder with :func:`importlib.util.find_spec` without importing it.
Nothing is ever downloaded.

Licence caveat: ``shape_predictor_68_face_landmarks.dat`` was trained on the iBUG 300-W
data set, whose licence excludes commercial use; treat the 68-point landmarks (and every
crop derived from them) as research-only unless you retrain the predictor or supply your
own landmarks.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import PreprocessingError

SHAPE_PREDICTOR_68 = "shape_predictor_68_face_landmarks.dat"
MMOD_DETECTOR = "mmod_human_face_detector.dat"


def model_path(filename: str) -> Path:
    """Absolute path of a model file shipped by ``face-recognition-models``; raise if absent."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise PreprocessingError(
            "the package face-recognition-models is not installed; install it with "
            "`pip install face-recognition-models` (it ships the dlib landmark models)"
        )
    for root in spec.submodule_search_locations:
        path = Path(root) / "models" / filename
        if path.is_file():
            return path
    raise PreprocessingError(
        f"model file {filename} not found in face-recognition-models at "
        f"{list(spec.submodule_search_locations)}; reinstall that package"
    )
