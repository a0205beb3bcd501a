"""Input representations: pure functions of (clip, parameters), cached on disk by content.

``load_inputs(table, name, params, cache_dir=...)`` is the one entry point; see
:mod:`microexpr.inputs.representations` for the names and
:mod:`microexpr.inputs.params` for the shared face/flow parameters.
"""

from .clip import ClipJob, FaceGeometry, face_geometry, onset_landmarks
from .load import LoadStats, compute_clip, load_inputs, load_inputs_with_stats, resolve_representation_params
from .representations import REGISTRY, Representation, get_representation

__all__ = [
    "REGISTRY",
    "ClipJob",
    "FaceGeometry",
    "LoadStats",
    "Representation",
    "compute_clip",
    "face_geometry",
    "get_representation",
    "load_inputs",
    "load_inputs_with_stats",
    "onset_landmarks",
    "resolve_representation_params",
]
