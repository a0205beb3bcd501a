"""Per-fold seeds, so fold-by-fold and batched multi-fold training draw the same numbers.

A fold's seeds are derived from the run seed and the fold's *training clip keys* (not
from a fold name or position): both training paths see the training table, so they
agree without having to share fold names, and a fold's numbers do not change when
other folds are added or reordered. Three independent streams per fold:

- ``init``    weight initialisation (global RNG seeded inside ``seeded_init``),
- ``data``    validation split, epoch order / resampling,
- ``dropout`` dropout masks (via ``SeededDropout`` generators; the global RNG is also
  seeded with it for models using ``nn.Dropout``),
- ``augment`` per-batch augmentation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any printable parts (stable across runs and platforms)."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "little") & ((1 << 63) - 1)


@dataclass(frozen=True)
class FoldSeeds:
    """The seeds of one fold's training run."""

    init: int
    data: int
    dropout: int
    augment: int

    @classmethod
    def for_fold(cls, seed: int, train_keys: Iterable[str]) -> "FoldSeeds":
        """Seeds for the fold whose training set is ``train_keys`` (order ignored)."""
        digest = hashlib.sha256("\n".join(sorted(map(str, train_keys))).encode()).hexdigest()
        return cls(*(derive_seed(seed, digest, stream) for stream in ("init", "data", "dropout", "augment")))

    def generator(self, stream: str) -> torch.Generator:
        """A fresh CPU generator for ``stream`` (``data``, ``dropout`` or ``augment``)."""
        g = torch.Generator()
        g.manual_seed(getattr(self, stream))
        return g


@contextmanager
def seeded_init(seed: int) -> Iterator[None]:
    """Seed the global torch RNG inside the block only (for model construction)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
