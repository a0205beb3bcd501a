"""Corpus sizes as data: how many clips of which native emotion, for which subjects.

``default`` has the shape of the composite (MEGC 2019) set: 442 clips in the composite
classes, 250 negative / 109 positive / 83 surprise, from 68 subjects (SMIC 70/51/43 over
16 subjects, CASME II 88/32/25 over 24, SAMM 92/26/15 over 28; see DATASETS.md), with
the composite's own subject ids, plus the clips and subjects the composite scheme
excludes (CASME II ``others``/``fear``/``sadness`` and subjects 10 and 18; SAMM ``Other``
and subjects 008, 025, 027, 029), as in the real corpora. The native emotions split the
composite "negative" class roughly as the real corpora do.

``quick`` keeps three corpora with five subjects each and 20 composite clips per corpus
(8/6/6), short clips and small frames, so that tests generate it in seconds.

``native`` is ``default``'s plan (same clips, labels, timing and random draws) at each
corpus's native frame size and frame rate, faces at realistic pixel sizes: CASME II
640x480 colour (face ~230 px wide), SMIC-HS 640x480 colour (~190 px), SAMM 2040x1088 grey
(~400 px), CK+ 640x490 grey (~250 px), with a CK+ of real size (123 subjects, ~600
sequences), and *no* landmark files, so preprocessing detects every face as on a licensed
copy (``microexpr synth --landmarks`` writes them anyway). Planted motion and head placement
scale with the face. Frames wider than ``render_max_side`` are rendered at that width and
upscaled (bicubic) to the native size: the files, their decoding and every pixel count
downstream are native, but the fine texture of a 2040-px SAMM face is interpolated (the
generator would otherwise spend ~0.1 s per frame). Used by
``benchmarks/preprocessing_bench.py --native``.

Every size also has a small CK+-like corpus (neutral -> peak, 30 fps) for pretraining.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

# Composite counts per dataset and class (negative, positive, surprise): the one place.
COMPOSITE_COUNTS: dict[str, dict[str, int]] = {
    "smic": {"negative": 70, "positive": 51, "surprise": 43},
    "casme2": {"negative": 88, "positive": 32, "surprise": 25},
    "samm": {"negative": 92, "positive": 26, "surprise": 15},
}

COMPOSITE_SUBJECTS: dict[str, tuple[str, ...]] = {
    "casme2": tuple(f"sub{i:02d}" for i in [*range(1, 10), *range(11, 18), *range(19, 27)]),
    "smic": tuple(f"s{i}" for i in [*range(1, 7), 8, 9, *range(11, 16), *range(18, 21)]),
    "samm": tuple(f"{i:03d}" for i in [6, 7, *range(9, 25), 26, 28, *range(30, 38)]),
}


@dataclass(frozen=True)
class DatasetSize:
    """Clips of one micro-expression corpus.

    ``emotions``: native emotion -> number of clips; ``subjects``: subjects that get at
    least one clip of a composite class; ``extra_subjects``: subjects with only excluded
    emotions; ``excluded``: native emotions the composite scheme drops.
    """

    subjects: tuple[str, ...]
    emotions: dict[str, int]
    excluded: tuple[str, ...] = ()
    extra_subjects: tuple[str, ...] = ()
    non_micro: int = 0  # SMIC non_micro clips (ignored by the reader)


@dataclass(frozen=True)
class CorpusSize:
    """A whole synthetic corpus: frame geometry, clip timing and per-dataset contents."""

    frame_hw: tuple[int, int]  # (height, width) of micro-expression frames
    scale_px: float  # pixels per face unit (jaw half-width)
    micro_seconds: tuple[float, float]  # onset -> offset duration range
    pad_frames: tuple[int, int]  # neutral frames before onset / after offset (CASME II, SAMM)
    micro_peak_px: tuple[float, float]  # planted peak displacement at apex
    datasets: dict[str, DatasetSize]
    ckplus_subjects: int
    ckplus_sequences: tuple[int, int]  # sequences per subject (min, max)
    ckplus_frames: tuple[int, int]  # frames per sequence (min, max)
    ckplus_frame_hw: tuple[int, int]
    ckplus_scale_px: float
    ckplus_peak_px: tuple[float, float]
    ckplus_unlabelled: float  # share of sequences without an emotion file
    casme2_missing_apex: int  # CASME II clips whose apex is written as "/"
    samm_four_digit_clips: int  # SAMM clips with 4-digit frame numbers in file names
    # Skin-fold shading at the apex (relative darkening of the deepest fold, see
    # synth.clips.fold_shading) for a clip of mean peak displacement; scales with the clip's peak.
    micro_fold_depth: float = 0.0
    ckplus_fold_depth: float = 0.0
    # Per-dataset (frame (height, width), scale_px) overriding frame_hw/scale_px (ckplus_* for
    # "ckplus"); planted motion and placement scale by the ratio of scale_px to the reference.
    geometry: dict[str, tuple[tuple[int, int], float]] = field(default_factory=dict)
    render_max_side: int | None = None  # render wider frames at this width, then upscale
    landmark_files: bool = True  # write landmarks68.npy beside each clip's frames

    def frame_geometry(self, dataset: str) -> "FrameGeometry":
        """Where and how large ``dataset``'s clips are drawn (see :class:`FrameGeometry`)."""
        ref_hw, ref_scale = ((self.ckplus_frame_hw, self.ckplus_scale_px) if dataset == "ckplus"
                             else (self.frame_hw, self.scale_px))
        hw, scale = self.geometry.get(dataset, (ref_hw, ref_scale))
        shrink = 1.0
        if self.render_max_side is not None and max(hw) > self.render_max_side:
            shrink = max(hw) / self.render_max_side
        render_hw = (int(round(hw[0] / shrink)), int(round(hw[1] / shrink)))
        return FrameGeometry(hw, render_hw, scale / shrink, scale / ref_scale / shrink)

    def fold_depth(self, peak_px: float, *, macro: bool = False) -> float:
        """Fold depth of a clip with planted peak ``peak_px``: proportional to its intensity."""
        depth, (lo, hi) = ((self.ckplus_fold_depth, self.ckplus_peak_px) if macro
                           else (self.micro_fold_depth, self.micro_peak_px))
        return min(0.9, depth * peak_px / ((lo + hi) / 2.0))


@dataclass(frozen=True)
class FrameGeometry:
    """One dataset's frames: ``frame_hw`` as written; ``render_hw`` and ``scale_px`` as rendered
    (equal to the written size unless the generator upscales); ``motion_factor`` multiplies the
    planted displacement and placement drawn for the reference geometry (1.0 for quick/default)."""

    frame_hw: tuple[int, int]
    render_hw: tuple[int, int]
    scale_px: float
    motion_factor: float


MICRO_FPS: dict[str, float] = {"casme2": 200.0, "samm": 200.0, "smic": 100.0}
CKPLUS_FPS = 30.0

SIZES: dict[str, CorpusSize] = {
    "quick": CorpusSize(
        frame_hw=(168, 144),
        scale_px=46.0,
        micro_seconds=(0.08, 0.12),
        pad_frames=(1, 3),
        micro_peak_px=(0.9, 1.4),
        datasets={
            "casme2": DatasetSize(
                subjects=("sub01", "sub02", "sub03", "sub04", "sub05"),
                emotions={"disgust": 5, "repression": 3, "happiness": 6, "surprise": 6, "others": 2},
                excluded=("others", "fear", "sadness"),
            ),
            "samm": DatasetSize(
                subjects=("006", "007", "009", "010", "011"),
                emotions={"Anger": 4, "Contempt": 2, "Disgust": 2, "Happiness": 6, "Surprise": 6, "Other": 2},
                excluded=("Other",),
            ),
            "smic": DatasetSize(
                subjects=("s1", "s2", "s3", "s4", "s5"),
                emotions={"negative": 8, "positive": 6, "surprise": 6},
                non_micro=1,
            ),
        },
        ckplus_subjects=6,
        ckplus_sequences=(3, 3),
        ckplus_frames=(8, 10),
        ckplus_frame_hw=(168, 144),
        ckplus_scale_px=46.0,
        ckplus_peak_px=(3.0, 5.0),
        ckplus_unlabelled=0.15,
        casme2_missing_apex=2,
        samm_four_digit_clips=1,
        micro_fold_depth=0.2,
        ckplus_fold_depth=0.35,
    ),
    "default": CorpusSize(
        frame_hw=(224, 192),
        scale_px=62.0,
        micro_seconds=(0.20, 0.45),
        pad_frames=(3, 10),
        micro_peak_px=(0.8, 1.5),
        datasets={
            "casme2": DatasetSize(
                subjects=COMPOSITE_SUBJECTS["casme2"],
                emotions={"disgust": 61, "repression": 27, "happiness": 32, "surprise": 25,
                          "others": 40, "fear": 2, "sadness": 7},
                excluded=("others", "fear", "sadness"),
                extra_subjects=("sub10", "sub18"),
            ),
            "samm": DatasetSize(
                subjects=COMPOSITE_SUBJECTS["samm"],
                emotions={"Anger": 57, "Contempt": 12, "Disgust": 9, "Fear": 8, "Sadness": 6,
                          "Happiness": 26, "Surprise": 15, "Other": 26},
                excluded=("Other",),
                extra_subjects=("008", "025", "027", "029"),
            ),
            "smic": DatasetSize(
                subjects=COMPOSITE_SUBJECTS["smic"],
                emotions={"negative": 70, "positive": 51, "surprise": 43},
                non_micro=8,
            ),
        },
        ckplus_subjects=40,
        ckplus_sequences=(2, 4),
        ckplus_frames=(10, 20),
        ckplus_frame_hw=(224, 192),
        ckplus_scale_px=62.0,
        ckplus_peak_px=(4.0, 7.0),
        ckplus_unlabelled=0.3,
        casme2_missing_apex=21,
        samm_four_digit_clips=3,
        micro_fold_depth=0.2,
        ckplus_fold_depth=0.35,
    ),
}

# The default plan at the corpora's native sizes (see the module docstring). scale_px is the
# jaw half-width: a face ~2 * scale_px wide.
SIZES["native"] = replace(
    SIZES["default"],
    geometry={"casme2": ((480, 640), 115.0), "smic": ((480, 640), 95.0), "samm": ((1088, 2040), 200.0),
              "ckplus": ((490, 640), 125.0)},
    render_max_side=640,
    landmark_files=False,
    ckplus_subjects=123,
    ckplus_sequences=(2, 8),
    ckplus_frames=(10, 40),
)

# Native emotion -> composite class (None: excluded); mirrors DATASETS.md.
COMPOSITE_CLASS: dict[str, dict[str, str | None]] = {
    "casme2": {"happiness": "positive", "surprise": "surprise", "disgust": "negative",
               "repression": "negative", "others": None, "fear": None, "sadness": None},
    "samm": {"Happiness": "positive", "Surprise": "surprise", "Anger": "negative", "Contempt": "negative",
             "Disgust": "negative", "Fear": "negative", "Sadness": "negative", "Other": None},
    "smic": {"negative": "negative", "positive": "positive", "surprise": "surprise"},
}

# MEGC 2018 objective classes (I..VII) from the emotion prototypes (AU-based by design).
OBJECTIVE_CLASS: dict[str, int] = {
    "happiness": 1, "surprise": 2, "anger": 3, "disgust": 4, "sadness": 5, "fear": 6,
    "contempt": 7, "repression": 7, "others": 7, "other": 7,
}

# CK+ emotion codes and the share of labelled sequences per code (neutral 0 never labelled).
CKPLUS_CODES: dict[int, str] = {1: "anger", 2: "contempt", 3: "disgust", 4: "fear", 5: "happiness", 6: "sadness", 7: "surprise"}


def composite_totals(size: CorpusSize) -> dict[str, dict[str, int]]:
    """Clips per dataset and composite class implied by ``size`` (for checks and docs)."""
    out: dict[str, dict[str, int]] = {}
    for ds, spec in size.datasets.items():
        counts = {"negative": 0, "positive": 0, "surprise": 0}
        for emo, n in spec.emotions.items():
            cls = COMPOSITE_CLASS[ds][emo]
            if cls is not None:
                counts[cls] += n
        out[ds] = counts
    return out
