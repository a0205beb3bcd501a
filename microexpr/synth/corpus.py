"""Generate a synthetic corpus on disk in the native layouts, with a manifest; reuse it.

``generate_corpus(out_dir, size=, seed=)`` renders every clip of the plan
(:mod:`microexpr.synth.plan`) and writes CASME II, SAMM, SMIC and CK+ -like corpora with
:func:`microexpr.datasets.layouts.write_layout` under ``out_dir/<dataset>``, plus
``out_dir/synth_manifest.json``: seed, size, generator version, nuisance settings and,
per clip, the planted AUs, per-side intensities, peak displacement, true onset/apex/offset
frame numbers (also for the ``/`` apexes), blinks. Each clip folder also holds
``landmarks68.npy`` (n_frames, 68, 2; x, y pixels), the exact landmarks of every frame,
which the readers put in the ClipTable's ``landmarks`` column, unless the size writes none
(``native``) or ``landmarks=False``: then preprocessing detects the faces, as on a real copy.

Atomic: the corpus is generated in a temporary sibling folder and renamed into place, so
``out_dir`` either holds a complete corpus or does not exist. An existing complete corpus
with the same seed, size, nuisances and generator version is reused, not regenerated.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import ConfigError
from ..io_utils import atomic_write_json
from .clips import RenderedClip, blink_profile, render_clip
from .faces import neutral_landmarks, render_neutral
from .nuisances import Nuisances
from .plan import DATASET_ORDER, ClipRecord, get_size, plan_corpus

GENERATOR_VERSION = "2"  # 2: skin-fold shading (appearance change at the apex)
MANIFEST_NAME = "synth_manifest.json"
_log = logging.getLogger("microexpr.synth")


def render_record(record: ClipRecord, nuisances: Nuisances | None = None, *,
                  neutral: np.ndarray | None = None) -> RenderedClip:
    """Render one planned clip (frames, landmarks, planted fields), as the generator does.

    A record whose ``frame_hw`` differs from its plan's (native sizes) is rendered at the plan's
    size and upscaled: frames bicubic, landmarks with OpenCV's pixel-centre convention
    ``x' = (x + 0.5) * s - 0.5``. The planted fields stay at the rendered size."""
    clip = render_clip(record.plan, nuisances or Nuisances(), neutral=neutral)
    if record.frame_hw is None or tuple(record.frame_hw) == tuple(record.plan.frame_hw):
        return clip
    (h, w), (rh, rw) = record.frame_hw, record.plan.frame_hw
    clip.frames = [cv2.resize(f, (w, h), interpolation=cv2.INTER_CUBIC) for f in clip.frames]
    s = np.array([w / rw, h / rh], dtype=np.float64)
    clip.landmarks = ((clip.landmarks.astype(np.float64) + 0.5) * s - 0.5).astype(np.float32)
    return clip


def read_manifest(corpus_dir: str | Path) -> dict[str, Any] | None:
    """The manifest of a generated corpus, or ``None`` if there is none."""
    path = Path(corpus_dir) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); delete {corpus_dir} and generate again") from exc


def _matches(manifest: dict[str, Any] | None, size: str, seed: int, nuisances: Nuisances, landmarks: bool) -> bool:
    return bool(
        manifest
        and manifest.get("complete") is True
        and manifest.get("generator_version") == GENERATOR_VERSION
        and manifest.get("size") == size
        and manifest.get("seed") == seed
        and manifest.get("nuisances") == nuisances.to_dict()
        and manifest.get("landmark_files", True) == landmarks
    )


def _roots(out_dir: Path, manifest: dict[str, Any]) -> dict[str, Path]:
    return {name: out_dir / rel for name, rel in manifest["roots"].items()}


def generate_corpus(
    out_dir: str | Path,
    *,
    size: str = "quick",
    seed: int = 0,
    nuisances: Nuisances | None = None,
    landmarks: bool | None = None,
    progress: bool = False,
    n_jobs: int = 1,
) -> dict[str, Path]:
    """Write (or reuse) the synthetic corpus; return dataset name -> root for ``read_dataset``.

    ``out_dir`` must not exist, be empty, or hold a corpus generated with the same
    ``size``, ``seed``, ``nuisances``, ``landmarks`` and generator version (then it is reused
    as is). ``landmarks``: write each clip's exact ``landmarks68.npy`` (None: the size's
    default, which is yes except for ``native``). ``n_jobs`` > 1 renders clips in that many
    worker processes while this one writes the files (the corpus is identical for any value).
    """
    out = Path(out_dir)
    nuis = nuisances or Nuisances()
    try:
        spec = get_size(size)
        nuis.validate()
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if not isinstance(n_jobs, int) or n_jobs < 1:
        raise ConfigError(f"n_jobs must be a positive integer, got {n_jobs!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    with_landmarks = spec.landmark_files if landmarks is None else bool(landmarks)
    manifest = read_manifest(out) if out.is_dir() else None
    if _matches(manifest, size, seed, nuis, with_landmarks):
        _log.info("reusing synthetic corpus in %s (size %s, seed %d)", out, size, seed)
        return _roots(out, manifest)  # type: ignore[arg-type]
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        what = (f"a synthetic corpus with different settings ({_describe(manifest)})" if manifest
                else "other files")
        raise ConfigError(
            f"{out} already holds {what}; pass an empty or new folder, or delete it to regenerate "
            f"(wanted size={size}, seed={seed}, landmark files {'yes' if with_landmarks else 'no'}, "
            f"generator version {GENERATOR_VERSION})"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        manifest = _write_corpus(tmp, size, seed, nuis, with_landmarks, progress, n_jobs)
        if out.exists():
            out.rmdir()  # empty (checked above)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _roots(out, manifest)


def _describe(manifest: dict[str, Any] | None) -> str:
    if not manifest:
        return "unknown"
    return (f"size={manifest.get('size')}, seed={manifest.get('seed')}, landmark files "
            f"{'yes' if manifest.get('landmark_files', True) else 'no'}, version {manifest.get('generator_version')}")


def _write_corpus(root: Path, size: str, seed: int, nuis: Nuisances, landmarks: bool, progress: bool,
                  n_jobs: int = 1) -> dict[str, Any]:
    from ..datasets.layouts import ClipSpec, write_layout

    t0 = time.time()
    records = plan_corpus(size, seed, nuis)
    pool = _RenderPool(records, nuis, n_jobs) if n_jobs > 1 else None
    neutral_cache: dict[tuple[str, str], np.ndarray] = {}
    specs: dict[str, list[ClipSpec]] = {ds: [] for ds in DATASET_ORDER}
    clip_entries: list[dict[str, Any]] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(records), desc="synthetic clips", unit="clip")
    for index, rec in enumerate(records):
        neutral = None
        if pool is None:
            key = (rec.dataset, rec.subject)
            if key not in neutral_cache:
                p = rec.plan
                neutral_cache[key] = render_neutral(p.identity, neutral_landmarks(p.identity, p.frame_hw, p.scale_px),
                                                    p.frame_hw)
            neutral = neutral_cache[key]
        lazy = _LazyClip(rec, nuis, neutral, keep_for_landmarks=landmarks, pool=pool, index=index, bar=bar)
        specs[rec.dataset].append(ClipSpec(
            subject=rec.subject, clip=rec.clip, frames=_LazyFrames(lazy), first_frame_number=rec.first_frame_number,
            onset=rec.onset_number, apex=rec.apex_number if rec.apex_written else None, offset=rec.offset_number,
            emotion=rec.emotion, aus=rec.aus_cell, objective_class=rec.objective_class,
            landmarks=_LazyLandmarks(lazy) if landmarks else None,  # type: ignore[arg-type]
            frame_digits=rec.frame_digits,
            extra={"Inducement Code": int(rec.clip.split("_")[1])} if rec.dataset == "samm" else {},
        ))
        clip_entries.append(_manifest_entry(rec, nuis))
    roots: dict[str, str] = {}
    try:
        for ds in DATASET_ORDER:
            written = write_layout(ds, root / ds, specs[ds])
            roots[ds] = str(written.relative_to(root))
            specs[ds].clear()  # free the frames
    finally:
        if pool is not None:
            pool.close()
        if bar is not None:
            bar.close()
    manifest = {
        "generator": "microexpr.synth",
        "generator_version": GENERATOR_VERSION,
        "size": size,
        "seed": seed,
        "nuisances": nuis.to_dict(),
        "landmark_files": landmarks,
        "roots": roots,
        "synthetic": True,
        "note": "Synthetic faces with planted action-unit motion: results on this corpus show that the "
                "pipeline works and say nothing about accuracy on real micro-expressions.",
        "seconds_to_generate": round(time.time() - t0, 2),
        "clips": clip_entries,
        "complete": True,
    }
    atomic_write_json(root / "synth_manifest.json", manifest)
    return manifest


class _LazyClip:
    """Renders a clip when the layout writer first asks for its frames; frees it after.

    The writer takes every clip of a dataset at once (one sheet per dataset); rendering
    them all up front would hold the whole default corpus (GBs) in memory. The writer reads
    a clip's frames, then its landmarks: the rendering is dropped after the landmarks
    are taken, or after the last frame when no landmark file is written (rendering is
    deterministic, so any other access order is only slower).
    """

    def __init__(self, record: ClipRecord, nuisances: Nuisances, neutral: np.ndarray | None, *,
                 keep_for_landmarks: bool = True, pool: "_RenderPool | None" = None, index: int = 0,
                 bar: Any = None) -> None:
        self.record, self.nuisances, self.neutral = record, nuisances, neutral
        self.keep_for_landmarks = keep_for_landmarks
        self.pool, self.index, self.bar = pool, index, bar
        self._clip: RenderedClip | None = None
        self._counted = False

    def get(self) -> RenderedClip:
        if self._clip is None:
            if self.pool is not None:
                self._clip = self.pool.get(self.index)
            else:
                self._clip = render_record(self.record, self.nuisances, neutral=self.neutral)
            if self.bar is not None and not self._counted:
                self._counted = True
                self.bar.update(1)
        return self._clip

    def release(self) -> None:
        self._clip = None


class _RenderPool:
    """Renders clips in worker processes, ahead of the layout writer and in record order.

    The writer asks for clip ``i``; clips ``i .. i + 2 * n_jobs`` are then being rendered, so
    the writer (JPEG/BMP encoding in this process) and the renderers work at once. Each
    clip is rendered exactly as :func:`render_record` renders it in-process (workers cache
    each subject's neutral face), so the corpus does not depend on ``n_jobs``. A clip asked
    for twice is rendered again (the writer asks once)."""

    def __init__(self, records: list[ClipRecord], nuisances: Nuisances, n_jobs: int) -> None:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
        self.records, self.nuisances, self.ahead = records, nuisances, 2 * n_jobs
        self._pool = ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx)
        self._futures: dict[int, Any] = {}

    def get(self, index: int) -> RenderedClip:
        for j in range(index, min(index + self.ahead + 1, len(self.records))):
            if j not in self._futures:
                self._futures[j] = self._pool.submit(_render_in_worker, self.records[j], self.nuisances)
        frames, lm = self._futures.pop(index).result()
        return RenderedClip(frames=frames, landmarks=lm, expression_field=np.zeros(0), true_flow=np.zeros(0),
                            moving_mask=np.zeros(0, bool), intensity=np.zeros(0), blink=np.zeros(0))

    def close(self) -> None:
        for fut in self._futures.values():
            fut.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)


_WORKER_NEUTRALS: dict[tuple[str, str], np.ndarray] = {}


def _render_in_worker(record: ClipRecord, nuisances: Nuisances) -> tuple[list[np.ndarray], np.ndarray]:
    """(frames, landmarks) of ``record`` (what the writer needs), as :func:`render_record` gives them."""
    key = (record.dataset, record.subject)
    if key not in _WORKER_NEUTRALS:
        if len(_WORKER_NEUTRALS) > 8:
            _WORKER_NEUTRALS.clear()
        p = record.plan
        _WORKER_NEUTRALS[key] = render_neutral(p.identity, neutral_landmarks(p.identity, p.frame_hw, p.scale_px),
                                               p.frame_hw)
    clip = render_record(record, nuisances, neutral=_WORKER_NEUTRALS[key])
    return clip.frames, clip.landmarks


class _LazyFrames(Sequence):
    """The frames of a :class:`_LazyClip` as a sequence (length known without rendering)."""

    def __init__(self, clip: _LazyClip) -> None:
        self._clip = clip

    def __len__(self) -> int:
        return self._clip.record.plan.n_frames

    def __getitem__(self, i):  # noqa: ANN001, ANN204 - Sequence protocol
        if isinstance(i, int) and not -len(self) <= i < len(self):
            raise IndexError(i)  # before rendering: iteration ends by asking for frame n
        frame = self._clip.get().frames[i]
        if not self._clip.keep_for_landmarks and isinstance(i, int) and i == len(self) - 1:
            self._clip.release()
        return frame


class _LazyLandmarks:
    """The landmarks of a :class:`_LazyClip`; ``np.asarray`` renders (if needed) and releases."""

    def __init__(self, clip: _LazyClip) -> None:
        self._clip = clip

    def __array__(self, dtype=None, copy=None):  # noqa: ANN001, ANN204 - NumPy protocol
        lm = self._clip.get().landmarks
        self._clip.release()
        return lm if dtype is None else lm.astype(dtype)


def _manifest_entry(rec: ClipRecord, nuis: Nuisances) -> dict[str, Any]:
    p = rec.plan
    blink = blink_profile(p.n_frames, p.blink_at if nuis.blink_prob > 0 else None, p.blink_frames)
    return {
        "dataset": rec.dataset,
        "subject": rec.subject,
        "clip": rec.clip,
        "emotion": rec.emotion,
        "composite_class": rec.composite_class,
        "aus": list(p.aus),
        "aus_cell": rec.aus_cell,
        "au_weights": {au: list(w) for au, w in p.au_weights.items()},
        "objective_class": rec.objective_class,
        "fps": p.fps,
        "n_frames": p.n_frames,
        "first_frame_number": rec.first_frame_number,
        "frame_hw": list(rec.frame_hw or p.frame_hw),  # as written; displacements are in rendered pixels
        "rendered_hw": list(p.frame_hw),
        "onset_frame": rec.onset_number,
        "apex_frame": rec.apex_number,
        "offset_frame": rec.offset_number,
        "apex_written": rec.apex_written,
        "peak_displacement_px": round(p.peak_px, 4),
        "fold_depth": round(p.fold_depth, 4),
        "profile": p.profile,
        "colour": p.colour,
        "blink_frames": [int(i) for i in np.flatnonzero(blink > 0)],
    }
