"""``load_inputs``: one array per table row, computed in parallel, cached on disk.

Flow of a call: resolve and validate the parameters -> compute each clip's cache key ->
load the cached arrays in the main process (a warm run starts no worker) -> compute the
missing clips in a process pool (``n_jobs`` processes, default one per core; ``n_jobs=1``
runs in-process), each worker reading only its clip's frames, writing its array to the
cache atomically, and returning it -> stack in table order. At most ``2 * n_jobs`` clips
are in flight, so memory is bounded by a few clips plus the output array.

Worker processes come from a ``forkserver`` (POSIX; ``spawn`` elsewhere) and limit OpenCV
to one thread each: the parallelism is across clips.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing as mp
import os
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import __version__
from ..errors import ConfigError, MicroexprError, PreprocessingError
from ..io_utils import check_writable
from ..sources.flow_png import png_rows
from .cache import cache_key, load_cached, save_cached
from .clip import ClipJob, cached_face_note, face_cache_path, face_geometry, onset_landmarks
from .params import resolve_params
from .representations import STEP_CACHE, expected_array, get_representation

log = logging.getLogger(__name__)


@dataclass
class LoadStats:
    """What a :func:`load_inputs_with_stats` call did (counts of clips)."""

    cached: int = 0
    computed: int = 0
    face_computed: int = 0
    computed_keys: list[str] = field(default_factory=list)
    face_notes: list[str] = field(default_factory=list)
    """Clips whose face was found only by a fallback (dlib's CNN after a HOG miss, another frame)."""


def resolve_representation_params(name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The fully resolved parameter dict of representation ``name`` (defaults filled in)."""
    return resolve_params(name, get_representation(name).params, params)


def refuse_flow_png_rows(table: pd.DataFrame, name: str) -> None:
    """Raise when ``table`` holds rows read from precomputed flow PNGs (``flow_png`` column):
    they have no video frames, so no representation can be computed from them."""
    png = png_rows(table)
    if png.any():
        keys = table.loc[png, "key"].tolist()
        raise ConfigError(
            f"representation {name!r} needs video frames, but {len(keys)} clip(s) (e.g. {keys[0]}) come from a folder "
            f"of precomputed flow images (dataset reader flow_png) and have none; use a method that reads those "
            f"images (ststnet, laenet, off_apexnet) or read the corpora themselves (casme2, samm, smic)"
        )


def _array_key(name: str, resolved: dict[str, Any], job: ClipJob) -> str:
    rep = get_representation(name)
    return cache_key({
        "representation": name,
        "version": rep.version,
        "steps": rep.steps,
        "microexpr": __version__,
        "params": resolved,
        "clip": job.fingerprint(),
    })


def compute_clip(name: str, resolved: dict[str, Any], job: ClipJob, cache_dir: str | None,
                 out_path: str | None) -> tuple[np.ndarray, bool, str | None]:
    """Compute one clip's array (and cache it); returns (array, face step computed, face-step note)."""
    rep = get_representation(name)
    lm, face_computed, note = onset_landmarks(job, resolved, None if cache_dir is None else Path(cache_dir))
    token = STEP_CACHE.set(None if cache_dir is None else Path(cache_dir))
    try:
        arr = rep.compute(job, face_geometry(lm, resolved), resolved)
    except MicroexprError as exc:
        if job.key in str(exc):
            raise
        raise type(exc)(f"clip {job.key}: {exc}") from exc
    finally:
        STEP_CACHE.reset(token)
    expect = expected_array(name, resolved)
    if arr.dtype != expect[0] or arr.shape != expect[1]:
        raise PreprocessingError(f"clip {job.key}: representation {name!r} computed {arr.dtype} {arr.shape}, "
                                 f"expected {expect[0]} {expect[1]} (a bug: please report it)")
    if out_path is not None:
        save_cached(Path(out_path), arr)
    return arr, face_computed, note


def _pool_context() -> mp.context.BaseContext:
    """``forkserver`` where available (workers fork from a clean, thread-free server that has
    imported this module once), else ``spawn``. Plain ``fork`` is unsafe here: forking a
    parent whose OpenCV/dlib thread pools are running deadlocks the children."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        return ctx
    return mp.get_context("spawn")


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def load_inputs_with_stats(
    table: pd.DataFrame,
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None,
    n_jobs: int | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, LoadStats]:
    """Like :func:`load_inputs`, also returning :class:`LoadStats` (for tests and logs)."""
    resolved = resolve_representation_params(name, params)
    if n_jobs is None:
        n_jobs = os.cpu_count() or 1
    if not isinstance(n_jobs, int) or n_jobs < 1:
        raise ConfigError(f"n_jobs must be a positive integer or None, got {n_jobs!r}")
    refuse_flow_png_rows(table, name)
    jobs = [ClipJob.from_row(row) for row in table.to_dict("records")]
    if not jobs:
        raise PreprocessingError(f"load_inputs({name!r}): the table has no rows")
    cache = None if cache_dir is None else check_writable(cache_dir, "cache_dir")  # before the workers need it
    paths: list[str | None] = [
        None if cache is None else str(cache / name / f"{_array_key(name, resolved, j)}.npy") for j in jobs
    ]
    stats = LoadStats()
    results: list[np.ndarray | None] = [None] * len(jobs)
    expect = expected_array(name, resolved)
    for i, p in enumerate(paths):
        if p is not None:
            results[i] = load_cached(Path(p), expect)
    todo = [i for i, r in enumerate(results) if r is None]
    stats.cached = len(jobs) - len(todo)
    cache_arg = None if cache is None else str(cache)
    bar = tqdm(total=len(todo), desc=f"inputs {name}", unit="clip", disable=not progress or not todo)

    if cache is not None and "face_detector" in resolved:  # arrays from the cache: their face step's notes
        stats.face_notes += [n for i, r in enumerate(results) if r is not None
                             for n in [cached_face_note(face_cache_path(jobs[i], resolved, cache))] if n]

    def done(i: int, arr: np.ndarray, face_computed: bool, note: str | None) -> None:
        results[i] = arr
        stats.computed += 1
        stats.face_computed += int(face_computed)
        if note:
            stats.face_notes.append(note)
        stats.computed_keys.append(jobs[i].key)
        bar.update(1)

    try:
        if n_jobs == 1 or len(todo) <= 1:
            for i in todo:
                done(i, *compute_clip(name, resolved, jobs[i], cache_arg, paths[i]))
        else:
            ctx = _pool_context()
            with ProcessPoolExecutor(max_workers=min(n_jobs, len(todo)), mp_context=ctx,
                                     initializer=_init_worker) as pool:
                pending: dict[Future, int] = {}
                queue = iter(todo)

                def submit(i: int) -> None:
                    pending[pool.submit(compute_clip, name, resolved, jobs[i], cache_arg, paths[i])] = i

                try:
                    for i in itertools.islice(queue, 2 * n_jobs):  # bounded: a few clips in flight
                        submit(i)
                    while pending:
                        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in finished:
                            done(pending.pop(fut), *fut.result())
                            nxt = next(queue, None)
                            if nxt is not None:
                                submit(nxt)
                except BaseException:
                    for fut in pending:
                        fut.cancel()
                    raise
    finally:
        bar.close()
    if stats.face_notes:
        log.warning("%s: %d clip(s) whose face needed a fallback:\n  %s", name, len(stats.face_notes),
                    "\n  ".join(stats.face_notes))
    shapes = {r.shape for r in results if r is not None}
    if len(shapes) != 1:
        raise PreprocessingError(f"representation {name!r} gave arrays of different shapes {sorted(shapes)}")
    return np.stack(results), stats  # type: ignore[arg-type]


def load_inputs(
    table: pd.DataFrame,
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None,
    n_jobs: int | None = None,
    progress: bool = True,
) -> np.ndarray:
    """Representation ``name`` of every clip of ``table``, stacked in row order.

    ``params`` override the representation's defaults (unknown keys are errors; see
    ``microexpr.inputs.REGISTRY[name].params``). Arrays are cached under ``cache_dir``
    (``None`` disables caching) by clip content, resolved parameters and code version.
    """
    return load_inputs_with_stats(table, name, params, cache_dir=cache_dir, n_jobs=n_jobs, progress=progress)[0]
