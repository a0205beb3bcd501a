"""Filling missing apexes by a named rule, recorded in the ClipTable's ``apex_source``.

CASME II writes ``/`` for about 21 apexes, CASME leaves some ``ApexF1`` cells empty, SMIC
has no apex at all. Which rule a paper used changes its inputs, so the rule is always
named by the caller (reader option ``apex=``) and written into every filled row.
"""

from __future__ import annotations

import pandas as pd

from ..errors import ConfigError

APEX_RULES: tuple[str, ...] = ("midpoint", "middle", "flow_peak", "dc_rois")


def fill_apex(table: pd.DataFrame, rule: str) -> pd.DataFrame:
    """A copy of ``table`` with missing apexes filled by ``rule``; annotated ones untouched.

    ``midpoint``: (onset + offset) // 2 (default for CASME II's ``/`` cells);
    ``middle``: the middle frame of the clip folder, (n_frames - 1) // 2, kept inside
    onset..offset (what ATNet and Micro-Attention use for SMIC);
    ``flow_peak`` / ``dc_rois``: :func:`microexpr.motion.apex.spot_apex` on the frames
    onset..offset as stored (whole frames, or face crops in the cropped releases; the
    clip's onset landmarks place the D&C-RoIs regions when the clip has them). These read
    every frame, so they are slow on a full corpus.
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
    from ..motion.apex import spot_apex
    from ..video.frames import read_frame

    onset, offset = int(row["onset"]), int(row["offset"])
    frames = [read_frame(p, grey=True) for p in row["frames"][onset : offset + 1]]
    landmarks = None
    lm_path = row.get("landmarks") if hasattr(row, "get") else None
    if rule == "dc_rois" and isinstance(lm_path, str) and lm_path:
        from .ckplus import read_landmarks

        landmarks = read_landmarks(lm_path)[onset]
    return onset + int(spot_apex(frames, method=rule, landmarks=landmarks))
