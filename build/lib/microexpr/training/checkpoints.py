"""State-dict files of trained stages and fold models: atomic writes, safe loads.

Stages shared by every fold (macro pretraining) and per-fold models are written with
:func:`save_state` (atomically, so a killed run never leaves a half-written file that a
resumed run would trust) and read back with :func:`load_state` (``weights_only``: a state
file cannot run code).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..io_utils import atomic_write


def save_state(state: dict[str, torch.Tensor], path: Path) -> None:
    """Write a state dict to ``path`` atomically."""
    atomic_write(path, lambda fh: torch.save(state, fh))


def load_state(path: Path) -> dict[str, torch.Tensor]:
    """Read a state dict written by :func:`save_state` (tensors only, on the CPU)."""
    return torch.load(path, map_location="cpu", weights_only=True)
