"""The one interface every method (deep or hand-crafted) implements, and the run context.

A method is constructed from keyword parameters only (its config section), then the
protocol engine calls ``fit(train, ctx)`` and ``predict_proba(test, ctx)`` once per fold.
``train``/``test`` are ClipTable slices carrying ``label`` (int, 0..n_classes-1); a method
fetches its inputs from the (cached) inputs layer itself, using ``ctx.cache_dir``.

Work that must happen once per run (e.g. CK+ or macro-expression pretraining) goes through
``ctx.once(...)``: the result is saved in the run directory and reused by every fold and by
a resumed run. Pretraining on subjects that are in the current test fold is an error:
call ``ctx.check_disjoint(pretrain_subjects, what="CK+ pretraining")``.

Small networks may also implement ``fit_predict_folds`` to train every fold at once
(batched multi-fold training); the engine uses it when present and the config allows it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Protocol, TypeVar, runtime_checkable

import numpy as np
import pandas as pd

from ..errors import ProtocolError

T = TypeVar("T")


@dataclass(frozen=True)
class RunContext:
    """What a method may know about the run it is part of (never the test labels)."""

    run_dir: Path
    cache_dir: Path
    classes: tuple[str, ...]
    seed: int = 0
    n_jobs: int = 1
    progress: bool = True
    aux_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    test_subjects: frozenset[str] = frozenset()
    fold: str = ""
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("microexpr"))

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def for_fold(self, fold: str, test_subjects: frozenset[str]) -> "RunContext":
        """A copy of this context for one fold."""
        return replace(self, fold=fold, test_subjects=frozenset(test_subjects))

    def check_disjoint(self, other_subjects: set[str] | frozenset[str], *, what: str) -> None:
        """Raise if any subject of ``other_subjects`` is a test subject of this fold."""
        leak = sorted(set(other_subjects) & set(self.test_subjects))
        if leak:
            raise ProtocolError(
                f"{what} uses subject(s) {leak[:5]} that are in test fold {self.fold!r}: "
                "remove them from the pretraining data or change the protocol"
            )

    def once(
        self,
        name: str,
        build: Callable[[], T],
        save: Callable[[T, Path], None],
        load: Callable[[Path], T],
        *,
        suffix: str = ".pt",
    ) -> T:
        """Build a per-run artefact once (per seed), save it in the run dir, reuse it after."""
        path = self.run_dir / "stages" / f"{name}-seed{self.seed}{suffix}"
        if path.exists():
            self.log.info("reusing %s from %s", name, path)
            return load(path)
        obj = build()
        path.parent.mkdir(parents=True, exist_ok=True)
        save(obj, path)
        return obj


@runtime_checkable
class Method(Protocol):
    """What the protocol engine needs from a method."""

    def fit(self, train: pd.DataFrame, ctx: RunContext) -> Any: ...

    def predict_proba(self, test: pd.DataFrame, ctx: RunContext) -> np.ndarray: ...


@runtime_checkable
class BatchedFoldsMethod(Protocol):
    """A method that can train all folds of a protocol at once."""

    def fit_predict_folds(
        self, folds: list[tuple[pd.DataFrame, pd.DataFrame]], ctx: RunContext
    ) -> list[np.ndarray]: ...
