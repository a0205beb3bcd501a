"""Synthetic long videos for spotting, written in the CAS(ME)^2 and SAMM Long Videos layouts.

Each video is several seconds of one subject's neutral face with planted expressions at
known frames: micro-expressions (``micro_s``: under 0.5 s, small displacements) and
macro-expressions (``macro_s``: 0.5-4 s, larger), never overlapping, with distractors
that a spotter must not report: blinks, slow head motion over the whole video, lighting
flicker and sensor noise. The ground truth goes to the layout's annotation sheet and to
``manifest.json`` (intervals as frame numbers). Expressions are rendered by the clip
renderer (:func:`microexpr.synth.clips.render_clip`) on the subject's one neutral face; the
head motion is applied to the assembled video, so it is continuous across expressions.

Synthetic videos show that spotting and its evaluation work; they say nothing about how a
spotter does on real long videos.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..spotting.videos import LongVideoSpec
from .clips import ClipPlan, render_clip
from .emotions import sample_aus
from .faces import neutral_landmarks, render_neutral, sample_identity
from .nuisances import Nuisances, flicker_gains, smooth_walk

LAYOUT_FPS = {"casme_sq_long": 30.0, "samm_long": 200.0}
EMOTIONS = ("happiness", "surprise", "disgust", "sadness", "anger")


@dataclass(frozen=True)
class LongVideoSize:
    """How many subjects and videos, how long, and what is planted in them."""

    subjects: int = 2
    videos_per_subject: int = 2
    seconds: float = 6.0
    micro_per_video: int = 2
    macro_per_video: int = 1
    blinks_per_video: int = 2
    frame_hw: tuple[int, int] = (112, 96)
    scale_px: float = 30.0
    micro_s: tuple[float, float] = (0.2, 0.45)
    macro_s: tuple[float, float] = (0.8, 2.0)
    micro_peak_px: tuple[float, float] = (1.2, 1.8)
    macro_peak_px: tuple[float, float] = (2.5, 4.0)
    head_shift_px: float = 1.5
    flicker: float = 0.01
    noise: float = 1.0


SIZES = {"quick": LongVideoSize(), "tiny": LongVideoSize(subjects=1, videos_per_subject=1, seconds=4.0, micro_per_video=1,
                                                          macro_per_video=1, blinks_per_video=1, macro_s=(0.6, 1.0))}


def _schedule(n: int, fps: float, size: LongVideoSize, rng: np.random.Generator) -> list[tuple[str, int, int]]:
    """Non-overlapping events (kind, start, length) with at least 0.4 s between them."""
    kinds = (["micro"] * size.micro_per_video + ["macro"] * size.macro_per_video + ["blink"] * size.blinks_per_video)
    gap = int(round(0.4 * fps))
    for _attempt in range(200):
        events, ok = [], True
        for kind in rng.permutation(kinds):
            lo, hi = {"micro": size.micro_s, "macro": size.macro_s, "blink": (0.15, 0.3)}[str(kind)]
            length = max(3, int(round(rng.uniform(lo, hi) * fps)))
            placed = False
            for _ in range(100):
                start = int(rng.integers(gap, max(gap + 1, n - length - gap)))
                if all(start + length + gap <= s or e + gap <= start for _, s, e in [(k, s, s + ln) for k, s, ln in events]):
                    events.append((str(kind), start, length))
                    placed = True
                    break
            ok &= placed
        if ok:
            return sorted(events, key=lambda e: e[1])
    raise ValueError(f"cannot place {len(kinds)} events in {n} frames; make the videos longer")


def render_long_video(size: LongVideoSize, fps: float, rng: np.random.Generator, *,
                      colour: bool) -> tuple[list[np.ndarray], list[tuple[str, int, int, int, str]], list[tuple[int, int]], np.ndarray]:
    """Frames of one video, its expressions ``(type, onset, apex, offset, emotion)``, its blinks
    ``(start, end)`` as 0-based positions, and the neutral face's 68 landmarks in every frame
    (n, 68, 2) (dlib finds these drawn faces only sometimes: they are supplied, as the clip
    corpora's are)."""
    n = int(round(size.seconds * fps))
    identity = sample_identity(rng)
    lm0 = neutral_landmarks(identity, size.frame_hw, size.scale_px)
    neutral = render_neutral(identity, lm0, size.frame_hw)
    base = neutral if colour else cv2.cvtColor(neutral.astype(np.float32), cv2.COLOR_RGB2GRAY)
    frames = [base.astype(np.float32) for _ in range(n)]
    truths, blinks = [], []
    for kind, start, length in _schedule(n, fps, size, rng):
        emotion = str(rng.choice(EMOTIONS))
        aus = sample_aus(emotion, rng)
        onset, offset = start, start + length - 1
        apex = onset + int(round((length - 1) * rng.uniform(0.35, 0.6)))
        peak = 0.0 if kind == "blink" else float(rng.uniform(*(size.micro_peak_px if kind == "micro" else size.macro_peak_px)))
        plan = ClipPlan(identity=identity, frame_hw=size.frame_hw, scale_px=size.scale_px, n_frames=length,
                        onset=0, apex=apex - onset, offset=length - 1, aus=tuple(aus),
                        au_weights={a: (1.0, 1.0) for a in aus}, peak_px=max(peak, 1e-6), fps=fps, colour=colour,
                        blink_at=0 if kind == "blink" else None, blink_frames=length if kind == "blink" else 0,
                        seed=int(rng.integers(0, 2**31 - 1)))
        nuis = Nuisances(blink_prob=1.0 if kind == "blink" else 0.0, head_shift_px=0.0, head_roll_deg=0.0, flicker=0.0,
                         noise=0.0, jpeg_quality=None)
        clip = render_clip(plan, nuis, neutral=neutral)
        for i, f in enumerate(clip.frames):
            frames[onset + i] = f.astype(np.float32)
        if kind == "blink":
            blinks.append((onset, offset))
        else:
            truths.append((kind, onset, apex, offset, emotion))
    # distractors over the whole video: slow head motion, flicker, noise
    sx, sy = smooth_walk(rng, n, size.head_shift_px), smooth_walk(rng, n, size.head_shift_px)
    gains = flicker_gains(rng, n, fps, size.flicker)
    h, w = size.frame_hw
    out = []
    landmarks = np.stack([lm0 + np.array([sx[t], sy[t]]) for t in range(n)]).astype(np.float32)
    for t, f in enumerate(frames):
        m = np.float32([[1, 0, sx[t]], [0, 1, sy[t]]])
        img = cv2.warpAffine(f, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT) * np.float32(gains[t])
        img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(size.noise)
        out.append(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    return out, truths, blinks, landmarks


def generate_long_videos(out_dir: str | Path, layout: str, *, size: str | LongVideoSize = "quick", seed: int = 0) -> Path:
    """Write a synthetic long-video corpus in ``layout`` (``casme_sq_long`` or ``samm_long``) under
    ``out_dir``; returns the reader root. ``manifest.json`` there lists every planted interval
    and blink as frame numbers."""
    from ..spotting import casme_sq_long, samm_long

    if layout not in LAYOUT_FPS:
        raise ValueError(f"layout must be one of {sorted(LAYOUT_FPS)}, got {layout!r}")
    spec = SIZES[size] if isinstance(size, str) else size
    fps = LAYOUT_FPS[layout]
    rng = np.random.default_rng(seed)
    root = Path(out_dir)
    specs: list[LongVideoSpec] = []
    manifest: dict[str, Any] = {"layout": layout, "fps": fps, "seed": seed, "size": spec.__dict__, "videos": []}
    for s in range(spec.subjects):
        for v in range(spec.videos_per_subject):
            frames, truths, blinks, landmarks = render_long_video(spec, fps, rng, colour=(layout != "samm_long"))
            first = 1
            as_numbers = [(k, on + first, ap + first, off + first, emo) for k, on, ap, off, emo in truths]
            if layout == "samm_long":
                subject = f"{s + 6:03d}"
                spec_v = LongVideoSpec(subject, f"{subject}_{v + 1}", frames, as_numbers, first, landmarks=landmarks)
            else:
                subject = f"s{s + 15}"
                code = 101 + 100 * v
                spec_v = LongVideoSpec(subject, f"video{v + 1}", frames, as_numbers, first,
                                       extra={"code": code, "stimulus": f"stimulus{v + 1}"}, landmarks=landmarks)
            specs.append(spec_v)
            manifest["videos"].append({"subject": subject, "video": spec_v.video, "n_frames": len(frames),
                                       "intervals": [list(t) for t in as_numbers],
                                       "blinks": [[a + first, b + first] for a, b in blinks]})
    writer = samm_long if layout == "samm_long" else casme_sq_long
    writer.write_fake_layout(root, specs)
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1, default=list))
    return root
