"""Plan a synthetic corpus: every clip's subject, native name, emotion, AUs, timing, quirks.

Planning draws all randomness of the corpus from one seed, in a fixed order, and renders
nothing; :mod:`microexpr.synth.corpus` renders and writes the plan. Tests use the plan to
re-render any clip and get its planted motion (:func:`render_record`).

Native naming (as in the real corpora): CASME II ``sub01/EP02_01f`` with frames
``img<N>.jpg`` starting at an arbitrary number; SAMM ``006/006_1_2`` with frames
``006_05562.jpg`` (a few clips with 4-digit numbers, as some real ones); SMIC
``s1/micro/negative/s1_ne_01`` with ``image<global number>.bmp``; CK+ ``S005/001``.

Ground truth written as the real corpora write it: CASME II/SAMM sheets carry onset,
apex and offset frame numbers, AUs and emotion (a few CASME II apexes are ``/``; their true
apex is in the manifest only); SMIC clips run exactly from onset to offset and carry no
apex; CK+ sequences run from neutral (first frame) to peak (last frame).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .clips import ClipPlan
from .emotions import format_aus, sample_aus
from .faces import Identity, sample_identity
from .nuisances import Nuisances
from .sizes import CKPLUS_CODES, CKPLUS_FPS, COMPOSITE_CLASS, MICRO_FPS, OBJECTIVE_CLASS, SIZES, CorpusSize, FrameGeometry

DATASET_ORDER: tuple[str, ...] = ("casme2", "samm", "smic", "ckplus")
_SMIC_ABBR = {"negative": "ne", "positive": "po", "surprise": "sur"}


@dataclass(frozen=True)
class ClipRecord:
    """One planned clip: native identifiers, labels, and the render plan."""

    dataset: str
    subject: str  # native subject folder id
    clip: str  # native clip name
    emotion: str | int | None  # native label (CK+: int code or None; SMIC: folder name)
    composite_class: str | None  # negative / positive / surprise, or None if excluded
    aus_cell: str  # as written in the sheet ("4+R7")
    objective_class: int | None
    first_frame_number: int
    frame_digits: int | None
    apex_written: bool  # False: the sheet says "/" (CASME II quirk); SMIC never writes one
    plan: ClipPlan
    frame_hw: tuple[int, int] | None = None  # written frame size when the plan renders smaller (upscaled)

    @property
    def onset_number(self) -> int:
        return self.first_frame_number + self.plan.onset

    @property
    def apex_number(self) -> int:
        return self.first_frame_number + self.plan.apex

    @property
    def offset_number(self) -> int:
        return self.first_frame_number + self.plan.offset


def get_size(size: str) -> CorpusSize:
    """The :class:`CorpusSize` named ``size``; ``ValueError`` naming the known sizes."""
    if size not in SIZES:
        raise ValueError(f"unknown corpus size {size!r}; choose one of {', '.join(SIZES)}")
    return SIZES[size]


def _au_weights(aus: list[str], emotion: str, rng: np.random.Generator) -> dict[str, tuple[float, float]]:
    weights: dict[str, tuple[float, float]] = {}
    one_sided = emotion.lower() == "contempt"
    side = int(rng.integers(0, 2))
    for au in aus:
        strength = float(rng.uniform(0.5, 1.0))
        wr = wl = strength
        if one_sided or rng.random() < 0.25:  # asymmetric: one side weaker (or absent)
            weak = float(rng.uniform(0.0, 0.3) if one_sided else rng.uniform(0.1, 0.8))
            wr, wl = (strength, strength * weak) if side == 0 else (strength * weak, strength)
        weights[au] = (wr, wl)
    return weights


def _assign_subjects(emotions: list[str], subjects: tuple[str, ...], excluded: set[str], extra: tuple[str, ...],
                     rng: np.random.Generator, balanced: bool) -> list[str]:
    """A subject per clip: every composite subject gets >= 1 composite clip; extra subjects
    get only excluded emotions."""
    order = rng.permutation(len(emotions))
    owner: list[str | None] = [None] * len(emotions)
    included = [i for i in order if emotions[i] not in excluded]
    excl = [i for i in order if emotions[i] in excluded]
    if len(included) < len(subjects):
        raise ValueError(f"{len(included)} composite clips cannot cover {len(subjects)} subjects")
    weights = np.ones(len(subjects)) if balanced else rng.dirichlet(np.full(len(subjects), 2.0))
    for j, i in enumerate(included):
        owner[i] = subjects[j] if j < len(subjects) else (
            subjects[j % len(subjects)] if balanced else subjects[int(rng.choice(len(subjects), p=weights))])
    for j, i in enumerate(excl):
        if j < len(extra):
            owner[i] = extra[j]
        else:
            pool = subjects + extra
            owner[i] = pool[int(rng.integers(0, len(pool)))]
    return [str(o) for o in owner]


def _timing(size: CorpusSize, fps: float, pad: bool, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """(n_frames, onset, apex, offset) positions of one micro clip."""
    span = max(4, int(round(rng.uniform(*size.micro_seconds) * fps)))  # onset..offset distance
    before = int(rng.integers(size.pad_frames[0], size.pad_frames[1] + 1)) if pad else 0
    after = int(rng.integers(size.pad_frames[0], size.pad_frames[1] + 1)) if pad else 0
    onset = before
    apex = onset + int(round(span * rng.uniform(0.35, 0.6)))
    offset = onset + span
    return offset + after + 1, onset, apex, offset


def _written_hw(geo: FrameGeometry) -> tuple[int, int] | None:
    return None if geo.render_hw == geo.frame_hw else geo.frame_hw


def _placement(rng: np.random.Generator, reach: int, factor: float) -> tuple[int, int]:
    """Static head offset (x, y) pixels: uniform integers in [-reach, reach], scaled with the face
    (drawn the same for every geometry, so a size's plan only changes where it scales)."""
    dx, dy = int(rng.integers(-reach, reach + 1)), int(rng.integers(-reach, reach + 1))
    return (dx, dy) if factor == 1.0 else (int(round(dx * factor)), int(round(dy * factor)))


def _blink(nuis: Nuisances, n: int, fps: float, rng: np.random.Generator) -> tuple[int | None, int]:
    happens = rng.random() < nuis.blink_prob  # always drawn: same plan for any blink_prob
    start = int(rng.integers(0, n))
    length = max(3, int(round(rng.uniform(0.10, 0.20) * fps)))
    return (start, length) if happens else (None, 0)


def plan_corpus(size: str = "quick", seed: int = 0, nuisances: Nuisances | None = None) -> list[ClipRecord]:
    """Every clip of the corpus ``size``/``seed`` in dataset order (casme2, samm, smic, ckplus)."""
    spec = get_size(size)
    nuis = nuisances or Nuisances()
    records: list[ClipRecord] = []
    for d_index, ds in enumerate(DATASET_ORDER):
        rng = np.random.default_rng([int(seed), d_index])
        if ds == "ckplus":
            records += _plan_ckplus(spec, rng, nuis)
        else:
            records += _plan_micro(ds, spec, rng, nuis, balanced=(size == "quick"))
    return records


def _plan_micro(ds: str, spec: CorpusSize, rng: np.random.Generator, nuis: Nuisances, *, balanced: bool) -> list[ClipRecord]:
    dsize = spec.datasets[ds]
    fps = MICRO_FPS[ds]
    geo = spec.frame_geometry(ds)
    emotions = [emo for emo, n in dsize.emotions.items() for _ in range(n)]
    owners = _assign_subjects(emotions, dsize.subjects, set(dsize.excluded), dsize.extra_subjects, rng, balanced)
    identities: dict[str, Identity] = {s: sample_identity(rng) for s in (*dsize.subjects, *dsize.extra_subjects)}
    # Clips sorted by subject then a stable order, so names count up within a subject.
    order = sorted(range(len(emotions)), key=lambda i: (owners[i], i))
    counters: dict[tuple[str, str], int] = {}
    used_names: set[tuple[str, str]] = set()
    missing_apex = set(rng.choice([i for i in order if COMPOSITE_CLASS[ds][emotions[i]] is not None],
                                  size=spec.casme2_missing_apex, replace=False).tolist()) if ds == "casme2" else set()
    four_digit = set(rng.choice(order, size=spec.samm_four_digit_clips, replace=False).tolist()) if ds == "samm" else set()
    out: list[ClipRecord] = []
    for i in order:
        subject, emotion = owners[i], emotions[i]
        n, onset, apex, offset = _timing(spec, fps, pad=(ds != "smic"), rng=rng)
        aus = sample_aus(emotion, rng)
        weights = _au_weights(aus, emotion, rng)
        digits = None
        if ds == "casme2":
            while True:
                name = f"EP{int(rng.integers(1, 20)):02d}_{int(rng.integers(1, 20)):02d}{'f' if rng.random() < 0.3 else ''}"
                if (subject, name) not in used_names and (subject, name.rstrip("f")) not in used_names:
                    break
            first = int(rng.integers(1, 400))
        elif ds == "samm":
            induce = int(rng.integers(1, 8))
            k = counters.get((subject, str(induce)), 0) + 1
            counters[(subject, str(induce))] = k
            name = f"{subject}_{induce}_{k}"
            if i in four_digit:
                digits, first = 4, int(rng.integers(1000, 9999 - n))
            else:
                first = int(rng.integers(10000, 99999 - n))
        else:  # smic
            abbr = _SMIC_ABBR[emotion]
            k = counters.get((subject, abbr), 0) + 1
            counters[(subject, abbr)] = k
            name = f"{subject}_{abbr}_{k:02d}"
            first = int(rng.integers(1000, 900000))
        used_names.add((subject, name))
        blink_at, blink_len = _blink(nuis, n, fps, rng)
        plan = ClipPlan(
            identity=identities[subject], frame_hw=geo.render_hw, scale_px=geo.scale_px, n_frames=n,
            onset=onset, apex=apex, offset=offset, aus=tuple(aus), au_weights=weights,
            peak_px=float(rng.uniform(*spec.micro_peak_px)) * geo.motion_factor, fps=fps, colour=(ds != "samm"),
            profile="micro", placement_px=_placement(rng, 3, geo.motion_factor),
            blink_at=blink_at, blink_frames=blink_len, seed=int(rng.integers(0, 2**31 - 1)),
        )
        plan = dataclasses.replace(plan, fold_depth=spec.fold_depth(plan.peak_px / geo.motion_factor))
        cls = COMPOSITE_CLASS[ds][emotion]
        out.append(ClipRecord(
            dataset=ds, subject=subject, clip=name, emotion=emotion, composite_class=cls,
            aus_cell=format_aus(aus, weights), objective_class=OBJECTIVE_CLASS.get(emotion.lower()) if ds != "smic" else None,
            first_frame_number=first, frame_digits=digits, apex_written=(ds != "smic" and i not in missing_apex),
            plan=plan, frame_hw=_written_hw(geo),
        ))
    # SMIC non_micro clips: live in the non_micro tree, which the reader ignores.
    for j in range(dsize.non_micro):
        subject = dsize.subjects[j % len(dsize.subjects)]
        n, onset, apex, offset = _timing(spec, fps, pad=False, rng=rng)
        aus = sample_aus("others", rng)
        plan = ClipPlan(
            identity=identities[subject], frame_hw=geo.render_hw, scale_px=geo.scale_px, n_frames=n,
            onset=onset, apex=apex, offset=offset, aus=tuple(aus), au_weights={a: (0.5, 0.5) for a in aus},
            peak_px=float(rng.uniform(*spec.micro_peak_px)) * geo.motion_factor, fps=fps, colour=True, seed=int(rng.integers(0, 2**31 - 1)),
        )
        plan = dataclasses.replace(plan, fold_depth=spec.fold_depth(plan.peak_px / geo.motion_factor))
        out.append(ClipRecord(
            dataset=ds, subject=subject, clip=f"{subject}_no_{j + 1:02d}", emotion="non_micro", composite_class=None,
            aus_cell="+".join(aus), objective_class=None, first_frame_number=int(rng.integers(1000, 900000)),
            frame_digits=None, apex_written=False, plan=plan, frame_hw=_written_hw(geo),
        ))
    return out


def _plan_ckplus(spec: CorpusSize, rng: np.random.Generator, nuis: Nuisances) -> list[ClipRecord]:
    ids = sorted(rng.choice(np.arange(5, 1000), size=spec.ckplus_subjects, replace=False).tolist())
    codes = sorted(CKPLUS_CODES)
    # Label frequencies of the real CK+ (327 labelled sequences): anger 45, contempt 18,
    # disgust 59, fear 25, happy 69, sadness 28, surprise 83.
    freq = np.array([45, 18, 59, 25, 69, 28, 83], dtype=float)
    freq /= freq.sum()
    geo = spec.frame_geometry("ckplus")
    out: list[ClipRecord] = []
    for sid in ids:
        subject = f"S{sid:03d}"
        identity = sample_identity(rng)
        n_seq = int(rng.integers(spec.ckplus_sequences[0], spec.ckplus_sequences[1] + 1))
        seqs = sorted(rng.choice(np.arange(1, 12), size=n_seq, replace=False).tolist())
        for seq in seqs:
            code = int(rng.choice(codes, p=freq))
            labelled = rng.random() >= spec.ckplus_unlabelled
            emotion_name = CKPLUS_CODES[code]
            aus = sample_aus(emotion_name, rng)
            weights = _au_weights(aus, emotion_name, rng)
            n = int(rng.integers(spec.ckplus_frames[0], spec.ckplus_frames[1] + 1))
            blink_at, blink_len = _blink(nuis, n, CKPLUS_FPS, rng)
            plan = ClipPlan(
                identity=identity, frame_hw=geo.render_hw, scale_px=geo.scale_px, n_frames=n,
                onset=0, apex=n - 1, offset=n - 1, aus=tuple(aus), au_weights=weights,
                peak_px=float(rng.uniform(*spec.ckplus_peak_px)) * geo.motion_factor, fps=CKPLUS_FPS, colour=False,
                profile="macro", placement_px=_placement(rng, 4, geo.motion_factor),
                blink_at=blink_at, blink_frames=blink_len, seed=int(rng.integers(0, 2**31 - 1)),
            )
            plan = dataclasses.replace(plan, fold_depth=spec.fold_depth(plan.peak_px / geo.motion_factor, macro=True))
            out.append(ClipRecord(
                dataset="ckplus", subject=subject, clip=f"{seq:03d}", emotion=code if labelled else None,
                composite_class={"happiness": "positive", "surprise": "surprise"}.get(emotion_name, "negative") if labelled else None,
                aus_cell=format_aus(aus, weights), objective_class=None, first_frame_number=1, frame_digits=None,
                apex_written=True, plan=plan, frame_hw=_written_hw(geo),
            ))
    return out
