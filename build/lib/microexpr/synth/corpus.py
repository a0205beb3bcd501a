"""Generate a synthetic corpus on disk in the native layouts, with a manifest; reuse it.

``generate_corpus(out_dir, size=, seed=)`` renders every clip of the plan
(:mod:`microexpr.synth.plan`) and writes CASME II, SAMM, SMIC and CK+ -like corpora with
:func:`microexpr.datasets.layouts.write_layout` under ``out_dir/<dataset>``, plus
``out_dir/synth_manifest.json``: seed, size, generator version, nuisance settings and,
per clip, the planted AUs, per-side intensities, peak displacement, true onset/apex/offset
frame numbers (also for the ``/`` apexes), blinks. Each clip folder also holds
``landmarks68.npy`` (n_frames, 68, 2; x, y pixels), the exact landmarks of every frame,
which the readers put in the ClipTable's ``landmarks`` column.

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


def render_record(record: ClipRecord, nuisances: Nuisances | None = None) -> RenderedClip:
    """Render one planned clip (frames, landmarks, planted fields), as the generator does."""
    return render_clip(record.plan, nuisances or Nuisances())


def read_manifest(corpus_dir: str | Path) -> dict[str, Any] | None:
    """The manifest of a generated corpus, or ``None`` if there is none."""
    path = Path(corpus_dir) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); delete {corpus_dir} and generate again") from exc


def _matches(manifest: dict[str, Any] | None, size: str, seed: int, nuisances: Nuisances) -> bool:
    return bool(
        manifest
        and manifest.get("complete") is True
        and manifest.get("generator_version") == GENERATOR_VERSION
        and manifest.get("size") == size
        and manifest.get("seed") == seed
        and manifest.get("nuisances") == nuisances.to_dict()
    )


def _roots(out_dir: Path, manifest: dict[str, Any]) -> dict[str, Path]:
    return {name: out_dir / rel for name, rel in manifest["roots"].items()}


def generate_corpus(
    out_dir: str | Path,
    *,
    size: str = "quick",
    seed: int = 0,
    nuisances: Nuisances | None = None,
    progress: bool = False,
) -> dict[str, Path]:
    """Write (or reuse) the synthetic corpus; return dataset name -> root for ``read_dataset``.

    ``out_dir`` must not exist, be empty, or hold a corpus generated with the same
    ``size``, ``seed``, ``nuisances`` and generator version (then it is reused as is).
    """
    out = Path(out_dir)
    nuis = nuisances or Nuisances()
    try:
        get_size(size)
        nuis.validate()
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    manifest = read_manifest(out) if out.is_dir() else None
    if _matches(manifest, size, seed, nuis):
        _log.info("reusing synthetic corpus in %s (size %s, seed %d)", out, size, seed)
        return _roots(out, manifest)  # type: ignore[arg-type]
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        what = (f"a synthetic corpus with different settings ({_describe(manifest)})" if manifest
                else "other files")
        raise ConfigError(
            f"{out} already holds {what}; pass an empty or new folder, or delete it to regenerate "
            f"(wanted size={size}, seed={seed}, generator version {GENERATOR_VERSION})"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        manifest = _write_corpus(tmp, size, seed, nuis, progress)
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
    return f"size={manifest.get('size')}, seed={manifest.get('seed')}, version {manifest.get('generator_version')}"


def _write_corpus(root: Path, size: str, seed: int, nuis: Nuisances, progress: bool) -> dict[str, Any]:
    from ..datasets.layouts import ClipSpec, write_layout

    t0 = time.time()
    records = plan_corpus(size, seed, nuis)
    neutral_cache: dict[tuple[str, str], np.ndarray] = {}
    specs: dict[str, list[ClipSpec]] = {ds: [] for ds in DATASET_ORDER}
    clip_entries: list[dict[str, Any]] = []
    iterator: Any = records
    if progress:
        from tqdm import tqdm

        iterator = tqdm(records, desc="synthetic clips", unit="clip")
    for rec in iterator:
        key = (rec.dataset, rec.subject)
        if key not in neutral_cache:
            p = rec.plan
            neutral_cache[key] = render_neutral(p.identity, neutral_landmarks(p.identity, p.frame_hw, p.scale_px), p.frame_hw)
        lazy = _LazyClip(rec, nuis, neutral_cache[key])
        specs[rec.dataset].append(ClipSpec(
            subject=rec.subject, clip=rec.clip, frames=_LazyFrames(lazy), first_frame_number=rec.first_frame_number,
            onset=rec.onset_number, apex=rec.apex_number if rec.apex_written else None, offset=rec.offset_number,
            emotion=rec.emotion, aus=rec.aus_cell, objective_class=rec.objective_class,
            landmarks=_LazyLandmarks(lazy), frame_digits=rec.frame_digits,  # type: ignore[arg-type]
            extra={"Inducement Code": int(rec.clip.split("_")[1])} if rec.dataset == "samm" else {},
        ))
        clip_entries.append(_manifest_entry(rec, nuis))
    roots: dict[str, str] = {}
    for ds in DATASET_ORDER:
        written = write_layout(ds, root / ds, specs[ds])
        roots[ds] = str(written.relative_to(root))
        specs[ds].clear()  # free the frames
    manifest = {
        "generator": "microexpr.synth",
        "generator_version": GENERATOR_VERSION,
        "size": size,
        "seed": seed,
        "nuisances": nuis.to_dict(),
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
    are taken (rendering is deterministic, so any other access order is only slower).
    """

    def __init__(self, record: ClipRecord, nuisances: Nuisances, neutral: np.ndarray) -> None:
        self.record, self.nuisances, self.neutral = record, nuisances, neutral
        self._clip: RenderedClip | None = None

    def get(self) -> RenderedClip:
        if self._clip is None:
            self._clip = render_clip(self.record.plan, self.nuisances, neutral=self.neutral)
        return self._clip

    def release(self) -> None:
        self._clip = None


class _LazyFrames(Sequence):
    """The frames of a :class:`_LazyClip` as a sequence (length known without rendering)."""

    def __init__(self, clip: _LazyClip) -> None:
        self._clip = clip

    def __len__(self) -> int:
        return self._clip.record.plan.n_frames

    def __getitem__(self, i):  # noqa: ANN001, ANN204 - Sequence protocol
        return self._clip.get().frames[i]


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
