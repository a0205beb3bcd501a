"""Filling missing apexes by a named rule, recorded in the ClipTable's ``apex_source``.

CASME II writes ``/`` for about 21 apexes, CASME leaves some ``ApexF1`` cells empty, SMIC
has no apex at all. Which rule a paper used changes its inputs, so the rule is always
named by the caller (reader option ``apex=``) and written into every filled row.
"""

from __future__ import annotations

import logging

import pandas as pd

from ..errors import ConfigError

log = logging.getLogger(__name__)

APEX_RULES: tuple[str, ...] = ("midpoint", "middle", "flow_peak", "dc_rois")


def fill_apex(table: pd.DataFrame, rule: str) -> pd.DataFrame:
    """A copy of ``table`` with missing apexes filled by ``rule``; annotated ones untouched.

    ``midpoint``: (onset + offset) // 2 (default for CASME II's ``/`` cells);
    ``middle``: the middle frame of the clip folder, (n_frames - 1) // 2, kept inside
    onset..offset (what ATNet and Micro-Attention use for SMIC);
    ``flow_peak`` / ``dc_rois``: :func:`microexpr.motion.apex.spot_apex` on the *face* in
    the frames onset..offset: the onset landmarks (the clip's supplied ones, else dlib's
    HOG detector, then its CNN where HOG finds no face: :mod:`microexpr.inputs.clip`) give
    the LAENet crop box (default face parameters of :mod:`microexpr.inputs.params`) that
    cuts every frame, and place the D&C-RoIs regions (eyes + brows, mouth). On raw SMIC-HS
    frames (640x480, the face a part of the frame) spotting on the whole frame would follow
    the background or the fixed fractions of :func:`~microexpr.motion.apex.default_rois`
    instead of the face. These read every frame, so they are slow on a full corpus.
    """
    if rule not in APEX_RULES:
        raise ConfigError(f"apex rule {rule!r} is not one of {list(APEX_RULES)}")
    out = table.copy()
    missing = out["apex"].isna()
    if not missing.any():
        return out
    rows = out.index[missing]
    if rule == "midpoint":
        values = [(int(out.at[i, "onset"]) + int(out.at[i, "offset"])) // 2 for i in rows]
    elif rule == "middle":
        values = [
            min(max((len(out.at[i, "frames"]) - 1) // 2, int(out.at[i, "onset"])), int(out.at[i, "offset"]))
            for i in rows
        ]
    else:
        values = [_spot(out.loc[i], rule) for i in rows]
    out.loc[missing, "apex"] = pd.array(values, dtype="Int64")
    out.loc[missing, "apex_source"] = rule
    return out


def _spot(row: pd.Series, rule: str) -> int:
    from ..face.crop import landmarks_in_crop
    from ..inputs.clip import ClipJob, detect_onset_landmarks, face_geometry
    from ..inputs.params import FACE_PARAMS, resolve_params
    from ..motion.apex import spot_apex
    from ..video.source import iter_frames

    onset, offset = int(row["onset"]), int(row["offset"])
    lm_path = row.get("landmarks") if hasattr(row, "get") else None
    job = ClipJob(str(row["key"]), tuple(str(f) for f in row["frames"]), onset, onset, offset,
                  str(lm_path) if isinstance(lm_path, str) and lm_path else None)
    params = resolve_params(f"apex rule {rule}", FACE_PARAMS, None)
    landmarks, note = detect_onset_landmarks(job, params)
    if note:
        log.warning("apex %s: %s", rule, note)
    geom = face_geometry(landmarks, params)
    crops = [geom.crop_frame(f, None) for _, f in iter_frames(job.frames, list(range(onset, offset + 1)), grey=True)]
    crop_landmarks = landmarks_in_crop(geom.landmarks, geom.box, None)
    return onset + int(spot_apex(crops, method=rule, landmarks=crop_landmarks if rule == "dc_rois" else None))
