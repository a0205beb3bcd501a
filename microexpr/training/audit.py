"""The leakage audit's hook into training: score a fold's model on its own test fold every N
epochs, to show what picking epochs on the test fold (as several published codebases do)
would report. The scores are stored apart (``RUN_DIR/audit/``) and never decide anything:
the run keeps its last-epoch (or inner-validation) model either way.

The run engine opens :func:`auditing` around a fold (or a batched group of folds) with one
:class:`AuditRecorder` per fold; a method that supports the audit calls :func:`bind` in
``fit`` with a function turning its model into test-fold probabilities (its own input
pipeline); the training loops call :func:`after_epoch`. Outside :func:`auditing` all of
this does nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Scorer = Callable[[Any], np.ndarray]


@dataclass
class AuditRecorder:
    """Test-fold probabilities of one fold's model every ``every`` epochs (and at the last one).

    ``test`` is the fold's test table as the method sees it (labels hidden)."""

    every: int
    test: Any = None
    scorer: Scorer | None = None
    epochs: list[int] = field(default_factory=list)
    probabilities: list[np.ndarray] = field(default_factory=list)

    def after_epoch(self, epoch: int, n_epochs: int, model: Any) -> None:
        if self.scorer is None or not ((epoch + 1) % self.every == 0 or epoch == n_epochs - 1):
            return
        if self.epochs and self.epochs[-1] == epoch:
            return
        was_training = getattr(model, "training", False)
        try:
            proba = np.asarray(self.scorer(model), dtype=np.float64)
        finally:
            if was_training:
                model.train()
        self.epochs.append(epoch)
        self.probabilities.append(proba)


_RECORDERS: contextvars.ContextVar[Sequence[AuditRecorder] | None] = contextvars.ContextVar("microexpr_audit", default=None)


@contextlib.contextmanager
def auditing(recorders: Sequence[AuditRecorder] | None) -> Iterator[None]:
    """Audit the training inside the block (one recorder per fold of the call; None: no audit)."""
    token = _RECORDERS.set(recorders)
    try:
        yield
    finally:
        _RECORDERS.reset(token)


def _fold(fold: int | None) -> int:
    """``fold``, else the one :func:`microexpr.training.history.fold_index` set, else 0."""
    from .history import current_fold

    return fold if fold is not None else (current_fold() or 0)


def active() -> bool:
    """Whether the current training is audited (a method then calls :func:`bind`)."""
    return bool(_RECORDERS.get())


def bind(make_scorer: Callable[[Any], Scorer], fold: int | None = None) -> None:
    """Give the audit of fold ``fold`` (default: the current one) its scoring function, made by
    ``make_scorer(test_table)`` (the method computes the test inputs its own way)."""
    recs = _RECORDERS.get()
    if recs:
        rec = recs[_fold(fold)]
        rec.scorer = make_scorer(rec.test)


def after_epoch(epoch: int, n_epochs: int, model: Any, fold: int | None = None) -> None:
    """Called by the training loops after each epoch; scores the model when due."""
    recs = _RECORDERS.get()
    if recs:
        recs[_fold(fold)].after_epoch(epoch, n_epochs, model)


def proba_scorer(x: Any, batch_size: int = 1024) -> Scorer:
    """The usual scoring function: eval-mode softmax of the model on test inputs ``x``."""
    from .loop import predict_proba

    return lambda model: predict_proba(model, x, batch_size=batch_size)


def pending_folds() -> list[int]:
    """Folds of the current call whose audit is bound (the batched trainer scores only those)."""
    recs = _RECORDERS.get() or []
    return [i for i, r in enumerate(recs) if r.scorer is not None]
