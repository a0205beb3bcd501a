"""The ClipTable: one row per clip, the single currency between datasets and everything else.

A ClipTable is a plain :class:`pandas.DataFrame` with the columns below. Readers build it,
label schemes add ``label``/``label_name``, protocols split it by ``subject``/``dataset``,
input representations read ``frames``/``onset``/``apex``/``offset``/``landmarks``.

Required columns
----------------
``dataset``   str   dataset name as registered (``casme2``, ``samm``, ``smic``, ``ckplus``...)
``subject``   str   namespaced subject id ``<dataset>/<native id>`` (``casme2/sub01``,
                    ``samm/006``, ``smic/s01``): ids of different datasets never collide
``clip``      str   native clip name (``EP02_01f``, ``006_1_2``, ``s1_ne_01``, ``001``)
``key``       str   ``<subject>/<clip>`` e.g. ``casme2/sub01/EP02_01f``; unique in a table
``frames``    tuple[str, ...]  absolute frame paths in natural order
``fps``       float frames per second of the recording
``onset``     int   0-based position of the onset frame in ``frames``
``apex``      Int64 0-based position of the apex frame; <NA> only before apex filling
``offset``    int   0-based position of the offset frame (inclusive)
``apex_source`` str how ``apex`` was obtained: ``annotated``, ``midpoint`` (of onset and
                    offset), ``middle`` (middle frame of the clip), ``flow_peak``,
                    ``dc_rois``, ``missing``
``emotion``   str   native emotion label exactly as written in the source
``aus``       tuple[str, ...]  parsed action units (``("4", "7")``, ``("R12",)``); alternatives
                    ("A or B") are kept as one item ``"A|B"``

Optional columns
----------------
``objective_class`` Int64   MEGC objective class 1..7 from the dataset's own file/column
``landmarks``       str|None path to dataset-supplied 68-point landmarks: a ``.npy`` of shape
                    (n_frames, 68, 2) (x, y pixels; written by the synthetic generator as
                    ``landmarks68.npy`` in the clip folder) or a CK+ ``Landmarks`` folder
``label`` / ``label_name``  int / str, added by a label scheme (``microexpr.labels``)
``native_onset`` / ``native_apex`` / ``native_offset``  frame numbers as written in the
                    source sheet (before conversion to positions), for reports
``flow_png``        str|None path of a precomputed STSTNet-style flow image standing for the
                    clip (``flow_png`` reader): the row has no video frames (``frames`` is
                    that one PNG, onset = apex = offset = 0); frame-based inputs refuse it
``label_source``    str|None the reader whose vocabulary ``emotion`` uses when it is not
                    ``dataset``'s (``flow_png``: composite class names); label schemes map by it
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from .errors import ClipTableError

REQUIRED_COLUMNS: tuple[str, ...] = (
    "dataset",
    "subject",
    "clip",
    "key",
    "frames",
    "fps",
    "onset",
    "apex",
    "offset",
    "apex_source",
    "emotion",
    "aus",
)
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "objective_class",
    "landmarks",
    "label",
    "label_name",
    "native_onset",
    "native_apex",
    "native_offset",
    "flow_png",
    "label_source",
)
APEX_SOURCES: frozenset[str] = frozenset(
    {"annotated", "midpoint", "middle", "flow_peak", "dc_rois", "missing"}
)


def namespaced_subject(dataset: str, native_subject: str) -> str:
    """Return the collision-free subject id ``<dataset>/<native_subject>``."""
    if not dataset or "/" in dataset:
        raise ClipTableError(f"dataset name {dataset!r} must be non-empty and contain no '/'")
    native = str(native_subject)
    if not native or "/" in native:
        raise ClipTableError(f"subject id {native!r} of dataset {dataset!r} must be non-empty and contain no '/'")
    return f"{dataset}/{native}"


def make_key(subject: str, clip: str) -> str:
    """Return the clip key ``<namespaced subject>/<clip>``."""
    if "/" in str(clip) or not str(clip):
        raise ClipTableError(f"clip name {clip!r} of subject {subject!r} must be non-empty and contain no '/'")
    return f"{subject}/{clip}"


def parse_aus(text: Any) -> tuple[str, ...]:
    """Parse an action-unit cell (``"4+7"``, ``"R12"``, ``"1+2+L10"``, ``"A or B"``, ``12.0``).

    Separators are ``+`` and ``,``; ``"A or B"`` alternatives become one item ``"A|B"``;
    empty cells, ``/``, ``nan`` and ``none`` give an empty tuple.
    """
    if text is None:
        return ()
    if isinstance(text, float):
        if text != text:  # NaN
            return ()
        text = str(int(text)) if text.is_integer() else str(text)
    s = str(text).strip()
    if s.lower() in {"", "/", "nan", "none", "-"}:
        return ()
    items: list[str] = []
    for part in s.replace(",", "+").split("+"):
        part = part.strip()
        if not part:
            continue
        if " or " in part.lower():
            alts = [a.strip() for a in part.lower().replace(" or ", "|").split("|") if a.strip()]
            items.append("|".join(a.upper() for a in alts))
        else:
            items.append(part.upper() if part[:1].isalpha() else part)
    return tuple(items)


def new_clip_table(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Build a ClipTable from row dicts, fixing dtypes, and validate it."""
    df = pd.DataFrame(list(rows))
    if df.empty:
        df = pd.DataFrame(columns=list(REQUIRED_COLUMNS))
    for col in ("onset", "offset", "apex", "objective_class", "native_onset", "native_apex", "native_offset"):
        if col in df.columns:
            df[col] = pd.array(df[col].tolist(), dtype="Int64") if len(df) else df[col].astype("Int64")
    if "fps" in df.columns:
        df["fps"] = df["fps"].astype(float)
    if "frames" in df.columns:
        df["frames"] = [tuple(str(p) for p in f) for f in df["frames"]]
    if "aus" in df.columns:
        df["aus"] = [tuple(a) if not isinstance(a, str) else parse_aus(a) for a in df["aus"]]
    validate_clip_table(df, allow_missing_apex=True)
    return df.reset_index(drop=True)


def validate_clip_table(df: pd.DataFrame, *, allow_missing_apex: bool = False) -> None:
    """Raise :class:`ClipTableError` naming the clip and column of the first schema violation.

    Checks: required columns present, keys unique and equal to ``subject/clip``, subjects
    namespaced by their dataset, onset <= apex <= offset inside the frame list, known
    ``apex_source`` values, ``fps`` positive.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ClipTableError(f"ClipTable lacks required column(s) {missing}; it has {list(df.columns)}")
    dup = df["key"][df["key"].duplicated()].tolist()
    if dup:
        raise ClipTableError(f"duplicate clip keys {dup[:5]}: keys must be unique across datasets")
    for row in df.itertuples(index=False):
        key = row.key
        if not str(row.subject).startswith(f"{row.dataset}/"):
            raise ClipTableError(f"clip {key}: subject {row.subject!r} is not namespaced as '{row.dataset}/<id>'")
        if key != f"{row.subject}/{row.clip}":
            raise ClipTableError(f"clip {key}: key must equal subject/clip = {row.subject}/{row.clip}")
        n = len(row.frames)
        if n == 0:
            raise ClipTableError(f"clip {key}: no frames")
        if not (row.fps > 0):
            raise ClipTableError(f"clip {key}: fps must be positive, got {row.fps}")
        if row.apex_source not in APEX_SOURCES:
            raise ClipTableError(f"clip {key}: apex_source {row.apex_source!r} not in {sorted(APEX_SOURCES)}")
        onset, offset = row.onset, row.offset
        if pd.isna(onset) or pd.isna(offset):
            raise ClipTableError(f"clip {key}: onset/offset missing")
        if not (0 <= onset <= offset < n):
            raise ClipTableError(f"clip {key}: need 0 <= onset ({onset}) <= offset ({offset}) < n_frames ({n})")
        if pd.isna(row.apex):
            if not allow_missing_apex:
                raise ClipTableError(f"clip {key}: apex missing; fill it (see microexpr.datasets.fill_apex)")
        elif not (onset <= row.apex <= offset):
            raise ClipTableError(f"clip {key}: apex ({row.apex}) outside onset..offset ({onset}..{offset})")


def subset(df: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Rows of ``df`` for ``keys`` in that order; raises naming unknown keys."""
    idx = df.set_index("key", drop=False)
    unknown = [k for k in keys if k not in idx.index]
    if unknown:
        raise ClipTableError(f"unknown clip keys {unknown[:5]} ({len(unknown)} in all)")
    return idx.loc[list(keys)].reset_index(drop=True)
