"""Writers of the *native* on-disk layouts of the corpora (frames + sheets + quirks).

Used by the synthetic corpus generator (``microexpr synth``/``demo``) and by the tests'
fake-data writers, so the readers are exercised on exactly the layout a licensed copy has.

Contract (shared with ``microexpr.synth``):

``write_layout(dataset, root, clips, *, variant=None) -> Path`` writes ``clips`` (a list of
:class:`ClipSpec`) under ``root`` in the native layout of ``dataset`` and returns the
folder to pass to the reader as its ``root``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np


@dataclass
class ClipSpec:
    """One clip to write in a native layout.

    ``subject`` is the native folder id (``sub01``, ``006``, ``s1``, ``S005``); ``clip`` the
    native clip name (``EP02_01f``, ``006_1_2``, ``s1_ne_01``, ``001``). ``frames`` are uint8
    arrays (H, W) or (H, W, 3) RGB. ``first_frame_number`` is the number in the first frame
    file name; ``onset``/``apex``/``offset`` are *frame numbers* as a sheet writes them
    (``apex=None`` is written as ``/`` where the dataset does so). ``emotion`` is the native
    label (CK+: the integer code 0..7, or ``None`` for an unlabelled sequence; SMIC: the
    folder name). ``landmarks`` (n_frames, 68, 2) is written as ``landmarks68.npy`` in the
    clip folder when given. ``extra`` holds any other native sheet column by its header.
    """

    subject: str
    clip: str
    frames: Sequence[np.ndarray]
    first_frame_number: int = 1
    onset: int | None = None
    apex: int | None = None
    offset: int | None = None
    emotion: Any = None
    aus: str = ""
    objective_class: int | None = None
    landmarks: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)
