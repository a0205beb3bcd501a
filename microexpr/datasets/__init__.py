"""Dataset readers: a native folder (frames + sheets) -> a ClipTable.

``read_dataset(name, root, **options)`` dispatches to one module per dataset; each reader
takes an explicit ``root`` and only the keyword options its ``read`` function declares
(unknown options are errors naming the accepted ones). Common options: ``apex`` (rule for
missing apexes: ``midpoint``, ``middle``, ``flow_peak``, ``dc_rois``), ``repairs`` (extra
keyed repairs), ``on_problem`` (``raise`` default, or ``skip``), ``variant`` where a
dataset has releases (CASME II ``raw``/``cropped``, SMIC ``HS``/``VIS``/``NIR``).

``flow_png`` reads a folder of precomputed STSTNet-style flow images alone (no corpus
needed); its rows carry the corpus each image comes from (casme2/samm/smic) in
``dataset``, see :mod:`microexpr.datasets.flow_png_folder`.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import logging
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .apex_fill import fill_apex
from .base import DatasetRead, Repair, RepairRule

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import numpy as np

    from .check import CheckReport

# name -> module (relative to this package) with read(root, **options) -> DatasetRead
READERS: dict[str, str] = {
    "casme2": "casme2",
    "samm": "samm",
    "smic": "smic",
    "ckplus": "ckplus",
    "casme": "casme",
    "casme_sq": "casme_sq",
    "manifest": "manifest",
    "flow_png": "flow_png_folder",
}


def reader_module(name: str) -> ModuleType:
    """The module implementing dataset ``name``; raise naming the known ones."""
    if name not in READERS:
        raise ConfigError(f"unknown dataset {name!r}; known datasets: {', '.join(READERS)}")
    return importlib.import_module(f"{__name__}.{READERS[name]}")


def reader_options(name: str) -> dict[str, Any]:
    """The keyword options of dataset ``name``'s reader with their defaults."""
    sig = inspect.signature(reader_module(name).read)
    return {p.name: p.default for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY}


def reader_corpora(name: str) -> tuple[str, ...]:
    """Values reader ``name`` writes in the ClipTable's ``dataset`` column: its own name, or
    the corpora it infers (``flow_png`` -> casme2, samm, smic; module attribute ``CORPORA``)."""
    return tuple(getattr(reader_module(name), "CORPORA", (name,)))


def list_datasets() -> list[str]:
    """Registered dataset names."""
    return list(READERS)


def read_dataset(name: str, root: str | Path, /, *, check_frames: bool = True, **options: Any) -> DatasetRead:
    """Read dataset ``name`` from ``root`` into a :class:`DatasetRead` (table, repairs, skipped).

    With ``check_frames`` (the default) every clip's frame files are checked cheaply
    (:func:`microexpr.video.frames.frame_file_problems`: readable header, JPEG end-of-image
    marker, one frame size per clip); a clip that fails is a problem like any other: the
    read stops naming each file (``on_problem: raise``), or leaves the clip out and lists it
    (``skip``). ``datasets check`` passes False and decodes every frame strictly instead.
    """
    allowed = reader_options(name)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(f"{name}: unknown reader option(s) {unknown}; accepted: {sorted(allowed)}")
    result = reader_module(name).read(root, **options)
    if check_frames:
        result = _refuse_bad_frames(name, result, options.get("on_problem", "raise"))
    return dataclasses.replace(result, table=fill_apex(result.table, result.apex_rule))  # after the frames are checked


def _refuse_bad_frames(name: str, result: DatasetRead, on_problem: str) -> DatasetRead:
    from ..video.frames import frame_file_problems
    from .base import problems_error

    bad: list[tuple[str, str]] = []
    for key, frames in zip(result.table["key"], result.table["frames"]):
        msgs = frame_file_problems(list(frames))
        if msgs:
            bad.append((str(key), "; ".join(msgs[:5]) + (f"; and {len(msgs) - 5} more" if len(msgs) > 5 else "")))
    if not bad:
        return result
    if on_problem == "raise":
        raise problems_error(name, bad)
    for key, msg in bad:
        log.warning("%s: leaving out %s: %s", name, key, msg)
    drop = {k for k, _ in bad}
    table = result.table[~result.table["key"].isin(drop)].reset_index(drop=True)
    return dataclasses.replace(result, table=table, problems=[*result.problems, *bad])


def check_dataset(name: str, root: str | Path, /, **options: Any) -> CheckReport:
    """Validate a local copy; see :mod:`microexpr.datasets.check`."""
    from .check import check_dataset as _check

    return _check(name, root, **options)


def load_landmarks(path: str | Path) -> np.ndarray:
    """Landmarks named by a ClipTable's ``landmarks`` cell (``.npy`` file or CK+ folder)."""
    from ..face.landmarks import load_supplied_landmarks  # the one reader of supplied landmarks

    return load_supplied_landmarks(path)


__all__ = [
    "READERS",
    "DatasetRead",
    "Repair",
    "RepairRule",
    "check_dataset",
    "fill_apex",
    "list_datasets",
    "load_landmarks",
    "read_dataset",
    "reader_corpora",
    "reader_options",
]
