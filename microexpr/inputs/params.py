"""Parameters of input representations: declared once, validated strictly, resolved fully.

Every representation declares its parameters with defaults. User parameters are checked
(unknown keys and bad values are :class:`ConfigError` naming the key and the choices) and
merged over the defaults; the *resolved* dict is what the cache key hashes, so a changed
value of any step never reuses a stale array.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..motion.flow import FLOW_PRESETS


@dataclass(frozen=True)
class Param:
    """One parameter: default value, a predicate on candidate values, and what it means."""

    default: Any
    check: Callable[[Any], bool]
    doc: str


def one_of(*choices: Any) -> Callable[[Any], bool]:
    def check(v: Any) -> bool:
        return any(v == c and type(v) is type(c) for c in choices)

    check.__doc__ = f"one of {list(choices)}"
    return check


def int_in(lo: int, hi: int) -> Callable[[Any], bool]:
    def check(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi

    check.__doc__ = f"an integer in [{lo}, {hi}]"
    return check


def positive_number_or_none(v: Any) -> bool:
    """a positive number or null"""
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0)


def optional_int_in(lo: int, hi: int) -> Callable[[Any], bool]:
    inner = int_in(lo, hi)

    def check(v: Any) -> bool:
        return v is None or inner(v)

    check.__doc__ = f"null or {inner.__doc__}"
    return check


def margins4(v: Any) -> bool:
    """four non-negative numbers [top, bottom, left, right]"""
    return (
        isinstance(v, (list, tuple))
        and len(v) == 4
        and all(isinstance(m, (int, float)) and not isinstance(m, bool) and m >= 0 for m in v)
    )


def upsample_check(v: Any) -> bool:
    """'auto' or an integer 0..3"""
    return v == "auto" or int_in(0, 3)(v)


BOOL = one_of(True, False)

#: Face step: where the onset landmarks come from and how the crop box is built.
FACE_PARAMS: dict[str, Param] = {
    "face_detector": Param("auto", one_of("auto", "supplied", "hog", "mmod"),
                           "auto = the table's supplied landmarks when the clip has them, else dlib HOG"),
    "face_upsample": Param("auto", upsample_check, "dlib upsampling before detection"),
    "face_detect_max_side": Param(None, optional_int_in(64, 8192),
                                  "search for the face on a copy shrunk to this many pixels on its longer side, "
                                  "then fit the landmarks on the full frame (null = search the full frame; 640 "
                                  "makes SAMM's detection ~6x faster; landmarks differ slightly, so it is part of "
                                  "the cache key)"),
    "on_missing_face": Param("error", one_of("error", "nearest"),
                             "no face on the onset frame: error, or use the nearest frame of the clip "
                             "with a face (logged)"),
    "margins": Param((25, 0, 5, 5), margins4, "crop margins (top, bottom, left, right), LAENet"),
    "reference_face_size": Param(180.0, positive_number_or_none,
                                 "face width (px) the margins are meant for; margins scale with the face; "
                                 "null = absolute pixels"),
    "align": Param(False, BOOL, "rotate every frame so the onset eye line is horizontal"),
}

FLOW_PARAMS: dict[str, Param] = {
    "flow_method": Param("tvl1", one_of(*FLOW_PRESETS), "optical flow algorithm"),
    "flow_preset": Param("default", lambda v: isinstance(v, str), "named parameter set of the method"),
}


def resolve_params(rep_name: str, spec: Mapping[str, Param], params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with ``params``; raise on unknown keys and invalid values."""
    params = dict(params or {})
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise ConfigError(
            f"unknown parameter(s) {unknown} for input representation {rep_name!r}; valid: {sorted(spec)}"
        )
    out: dict[str, Any] = {}
    for key, p in spec.items():
        value = params.get(key, p.default)
        if isinstance(value, tuple):
            value = list(value)
        if not p.check(value):
            raise ConfigError(
                f"parameter {key}={value!r} of input representation {rep_name!r} must be "
                f"{p.check.__doc__ or 'valid'} ({p.doc})"
            )
        out[key] = value
    if "flow_method" in out and out["flow_preset"] not in FLOW_PRESETS[out["flow_method"]]:
        raise ConfigError(
            f"flow_preset {out['flow_preset']!r} is not a preset of {out['flow_method']!r} for input "
            f"representation {rep_name!r}; choose one of {sorted(FLOW_PRESETS[out['flow_method']])}"
        )
    return out
