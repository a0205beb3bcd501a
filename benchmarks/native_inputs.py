"""What ``preprocessing_bench.py --native`` measures: every input of every shipped config, at the
corpora's native frame sizes, faces detected (no landmark files), per corpus and stage.

* :func:`shipped_inputs` finds the inputs by asking each packaged config's method for them
  (``prepare_inputs`` on the composite corpora; its CK+ pretraining input when the config names
  CK+ in ``data.aux``) with ``load_inputs`` replaced by a recorder, so the list follows the configs.
* :func:`timed_stages` wraps the functions every representation goes through (frame decoding,
  dlib's detector and shape predictor, crop/warp, optical flow) with timers: the sequential
  reference loop reports where its time goes.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

COMPOSITE = ("casme2", "samm", "smic")


@dataclass(frozen=True)
class InputUse:
    """One distinct input: representation ``name`` with resolved ``params`` on ``corpus``
    (``composite`` or ``ckplus``), and the shipped configs that need it."""

    corpus: str
    name: str
    params: dict[str, Any]
    configs: tuple[str, ...]

    @property
    def label(self) -> str:
        keys = [k for k in ("length", "size", "height", "width", "flow_size", "flow_method", "colour", "eye_mask")
                if k in self.params]
        return f"{self.name}(" + ", ".join(f"{k}={self.params[k]}" for k in keys) + ")"


def shipped_inputs(probe: pd.DataFrame, ckplus: pd.DataFrame | None) -> tuple[list[InputUse], list[str]]:
    """Distinct inputs of the packaged configs on the composite corpora (and CK+), and the names
    of the configs skipped (other corpora: CASME, precomputed flow PNGs)."""
    import microexpr.inputs as inputs_mod
    from microexpr.config import load_config
    from microexpr.inputs import resolve_representation_params
    from microexpr.inputs.representations import expected_array
    from microexpr.methods.base import RunContext
    from microexpr.methods.registry import create_method
    from microexpr.packaged_configs import CONFIG_DIR, config_names

    seen: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    current: dict[str, str] = {}

    def record(table: pd.DataFrame, name: str, params: dict | None = None, **_: Any) -> np.ndarray:
        resolved = resolve_representation_params(name, params)
        key = (current["corpus"], name, json.dumps(resolved, sort_keys=True))
        if current["config"] not in seen[key]:
            seen[key].append(current["config"])
        dtype, shape = expected_array(name, resolved)
        return np.zeros((len(table), *shape), dtype)

    skipped = []
    real = inputs_mod.load_inputs
    inputs_mod.load_inputs = record  # methods import it from microexpr.inputs when they need it
    try:
        for cname in config_names():
            cfg = load_config(CONFIG_DIR / f"{cname}.yaml")
            if not set(cfg.data.datasets) <= set(COMPOSITE):
                skipped.append(cname)
                continue
            method = create_method(cfg.method.name, cfg.method.params)
            ctx = RunContext(run_dir=Path("/nonexistent"), cache_dir=Path("/nonexistent"),
                             classes=("negative", "positive", "surprise"), progress=False)
            current.update(config=cname, corpus="composite")
            if hasattr(method, "prepare_inputs"):
                method.prepare_inputs(probe, ctx)
            if ckplus is not None and "ckplus" in cfg.data.aux:
                current["corpus"] = "ckplus"
                if getattr(method, "pretrain_ckplus", False):
                    method.images(ckplus, ctx)  # LAENet: CK+ flow images
                if getattr(method, "pretrain_macro", False):
                    method.apex_input.images(ckplus, ctx)  # apex-frame nets: CK+ peak-frame crops
    finally:
        inputs_mod.load_inputs = real
    uses = [InputUse(c, n, json.loads(p), tuple(cfgs)) for (c, n, p), cfgs in seen.items()]
    return sorted(uses, key=lambda u: (u.corpus != "composite", u.name, u.label)), skipped


# --------------------------------------------------------------------------- face step
def _face_of(job: Any, params: dict[str, Any], cache: str) -> tuple[str, str | None, str | None]:
    """(clip key, fallback note, error): the face step of one clip, cached as a run caches it."""
    from microexpr.errors import PreprocessingError
    from microexpr.inputs.clip import onset_landmarks

    try:
        _, _, note = onset_landmarks(job, params, Path(cache))
    except PreprocessingError as exc:
        return job.key, None, str(exc)
    return job.key, note, None


def face_survey(table: pd.DataFrame, params: dict[str, Any] | None, cache: str,
                n_jobs: int) -> tuple[list[str], list[str]]:
    """Run (and cache) the face step of every clip in ``n_jobs`` processes, as ``load_inputs``
    does, but carry on past a clip whose face no detector finds: (fallback notes, clips without
    a face). Synthetic faces are harder for dlib than real ones; such clips are reported and
    left out of the input timings, never silently."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from microexpr.inputs import resolve_representation_params
    from microexpr.inputs.clip import ClipJob

    resolved = resolve_representation_params("crop_landmarks", params)
    jobs = [ClipJob.from_row(r) for r in table.to_dict("records")]
    ctx = mp.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx) as pool:
        results = list(pool.map(_face_of, jobs, [resolved] * len(jobs), [cache] * len(jobs)))
    return [n for _, n, _ in results if n], [k for k, _, e in results if e]


# --------------------------------------------------------------------------- stage timers
STAGES = ("decode", "detect", "landmarks", "crop", "flow")


@contextlib.contextmanager
def timed_stages() -> Iterator[dict[str, float]]:
    """Within the block, seconds spent in each of :data:`STAGES` accumulate in the yielded dict.

    decode: frame files read and decoded (``iter_frames``); detect: dlib's face detector;
    landmarks: dlib's 68-point shape predictor; crop: eye-line warp, crop and resize; flow:
    optical flow. The stages do not nest, so their sum is at most the wall time."""
    import microexpr.inputs.clip as clip_mod
    import microexpr.motion.flow as flow_mod
    from microexpr.face.landmarks import LandmarkDetector
    from microexpr.inputs.clip import FaceGeometry

    acc: dict[str, float] = defaultdict(float)

    def timed(stage: str, fn: Callable) -> Callable:
        def wrapper(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                acc[stage] += time.perf_counter() - t
        return wrapper

    def timed_iter(fn: Callable) -> Callable:
        def wrapper(*a: Any, **k: Any) -> Iterator:
            it = iter(fn(*a, **k))
            while True:
                t = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    acc["decode"] += time.perf_counter() - t
                    return
                acc["decode"] += time.perf_counter() - t
                yield item
        return wrapper

    patches: list[tuple[Any, str, Any]] = [
        (clip_mod, "iter_frames", timed_iter(clip_mod.iter_frames)),
        (LandmarkDetector, "detect_box", timed("detect", LandmarkDetector.detect_box)),
        (LandmarkDetector, "landmarks_in_box", timed("landmarks", LandmarkDetector.landmarks_in_box)),
        (FaceGeometry, "crop_frame", timed("crop", FaceGeometry.crop_frame)),
    ]
    flow = flow_mod.compute_flow
    for mod in list(sys.modules.values()):  # every module that imported compute_flow by name
        if getattr(mod, "__name__", "").startswith("microexpr") and getattr(mod, "compute_flow", None) is flow:
            patches.append((mod, "compute_flow", timed("flow", flow)))
    originals = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    for obj, name, new in patches:
        setattr(obj, name, new)
    try:
        yield acc
    finally:
        for obj, name, old in originals:
            setattr(obj, name, old)
