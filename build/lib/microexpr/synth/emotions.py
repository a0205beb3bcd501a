"""Emotion -> action-unit prototypes (FACS-typical) and per-clip AU sampling.

Each emotion has AUs that are always present (``core``; when there are several, one
may be dropped) and AUs that appear with probability 0.5 (``optional``), following the
usual FACS/EMFACS prototypes and the AU codings of CASME II and SAMM (e.g. happiness =
AU6+AU12, surprise = AU1+AU2 (+AU5, AU25/26), disgust = AU9/AU10 (+AU4), repression =
AU14/AU15/AU17, SMIC "negative" = AU4+AU7 ...). Emotion names are keyed in lower case;
datasets write them in their native spelling (see :mod:`microexpr.synth.plan`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Prototype:
    core: tuple[str, ...]
    optional: tuple[str, ...] = ()
    core_choice: int | None = None  # if set: pick this many of ``core`` instead of all


PROTOTYPES: dict[str, Prototype] = {
    "happiness": Prototype(("6", "12"), ("25",)),
    "positive": Prototype(("6", "12"), ("25",)),
    "surprise": Prototype(("1", "2"), ("5", "26", "25")),
    "disgust": Prototype(("9", "10"), ("4", "7", "17")),
    "repression": Prototype(("14", "15", "17"), ("23",), core_choice=2),
    "sadness": Prototype(("1", "4", "15"), ("17",)),
    "fear": Prototype(("1", "2", "4", "20"), ("5", "25"), core_choice=3),
    "anger": Prototype(("4", "7"), ("23", "17")),
    "contempt": Prototype(("14",), ("12",)),
    "negative": Prototype(("4", "7"), ("9", "15", "17", "23")),
    # "others": an AU or two that do not form a prototype (CASME II codes such clips "others").
    "others": Prototype(("4", "7", "17", "1", "25", "14"), (), core_choice=1),
    "other": Prototype(("4", "7", "17", "1", "25", "14"), (), core_choice=1),  # SAMM spelling
}


def sample_aus(emotion: str, rng: np.random.Generator) -> list[str]:
    """The AUs of one clip of ``emotion``: a random subset around the prototype, sorted."""
    key = emotion.lower()
    if key not in PROTOTYPES:
        raise ValueError(f"no AU prototype for emotion {emotion!r}; known: {sorted(PROTOTYPES)}")
    proto = PROTOTYPES[key]
    if proto.core_choice is not None:
        core = list(rng.choice(proto.core, size=proto.core_choice, replace=False))
    else:
        core = list(proto.core)
        if len(core) >= 2 and rng.random() < 0.25:  # per-clip variability: one core AU missing
            core.pop(int(rng.integers(0, len(core))))
    extra = [au for au in proto.optional if rng.random() < 0.5]
    return sorted(set(core + extra), key=int)


def format_aus(aus: list[str], side_weights: dict[str, tuple[float, float]]) -> str:
    """The sheet's ``Action Units`` cell: ``"6+12"``; a one-sided AU is written ``R12``/``L12``.

    An AU counts as one-sided when one side's weight is below 0.35 of the other's (R =
    subject's right = image left).
    """
    parts = []
    for au in aus:
        wr, wl = side_weights.get(au, (1.0, 1.0))
        if wl < 0.35 * wr:
            parts.append(f"R{au}")
        elif wr < 0.35 * wl:
            parts.append(f"L{au}")
        else:
            parts.append(au)
    return "+".join(parts)
