"""Training histories, collected wherever a model trains and written by the run engine.

Every training loop (:func:`~microexpr.training.loop.train_model`, the batched multi-fold
trainer) hands its per-epoch :class:`~microexpr.training.loop.TrainHistory` to
:func:`record`. Whoever wants them opens :func:`collect_histories` around the work: the run
engine around each fold (``RUN_DIR/history/seed<S>/<fold>.csv``, written as the fold
finishes) and ``RunContext.once`` around a per-run stage (``stage-<name>.csv``). Outside
such a block :func:`record` does nothing, so library users pay nothing.

Columns: ``stage`` (the loop's description: "LAENet CK+ pretraining", "laenet casme2/sub01",
"macro pretraining", ...), ``epoch`` (0-based), ``train_loss`` and ``train_acc`` (mean over
the epoch's training batches, in training mode: dropout and augmentation on), ``val_loss``
and ``val_acc`` (the inner validation split carved from the training subjects, when the
config asks for one; empty otherwise), ``kept`` (1 on the epoch whose weights were kept).
A loop with several loss terms (MTMNet's) also records each term's per-epoch mean as a stage
of its own, ``"<stage> [<term>]"`` (:func:`is_loss_term`; its ``train_acc`` is empty).
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .loop import TrainHistory

Entry = tuple[str, "int | None", "TrainHistory"]
_SINK: contextvars.ContextVar[list[Entry] | None] = contextvars.ContextVar("microexpr_history_sink", default=None)
_FOLD: contextvars.ContextVar[int | None] = contextvars.ContextVar("microexpr_history_fold", default=None)
COLUMNS = ("stage", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "kept")


def is_loss_term(stage: str) -> bool:
    """Whether ``stage`` is one loss term of another stage's training (``"<stage> [L_rec]"``: a loop
    with several loss terms records the total under its own name and each term beside it)."""
    return stage.endswith("]") and " [" in stage


@contextlib.contextmanager
def collect_histories() -> Iterator[list[Entry]]:
    """Collect every history recorded inside the block, as ``(stage, fold, history)``."""
    entries: list[Entry] = []
    token = _SINK.set(entries)
    try:
        yield entries
    finally:
        _SINK.reset(token)


@contextlib.contextmanager
def fold_index(i: int) -> Iterator[None]:
    """Training inside the block is fold ``i`` of a batched call: the histories recorded there and
    its leakage audit (:mod:`microexpr.training.audit`) belong to fold ``i``."""
    token = _FOLD.set(i)
    try:
        yield
    finally:
        _FOLD.reset(token)


def current_fold() -> int | None:
    """The fold :func:`fold_index` set (None outside one)."""
    return _FOLD.get()


def record(stage: str, hist: TrainHistory, fold: int | None = None) -> None:
    """Hand one loop's history to the collector, if any (``fold``: its index in a batched call)."""
    sink = _SINK.get()
    if sink is not None:
        sink.append((stage, _FOLD.get() if fold is None else fold, hist))


def history_csv(entries: list[Entry]) -> str:
    """The CSV text of ``entries`` (see the module docstring for the columns)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for stage, _, h in entries:
        for e in range(len(h.train_loss)):
            w.writerow([stage, e, _num(h.train_loss, e), _num(h.train_acc, e), _num(h.val_loss, e), _num(h.val_acc, e),
                        int(e == h.kept_epoch)])
    return out.getvalue()


def write_history(path: Path, entries: list[Entry]) -> None:
    """Write ``entries`` to ``path`` atomically (nothing when there are none)."""
    from ..io_utils import atomic_write_text

    if entries:
        atomic_write_text(path, history_csv(entries))


def _num(values: list[float], e: int) -> str:
    if e >= len(values) or values[e] is None or (isinstance(values[e], float) and math.isnan(values[e])):
        return ""
    return f"{values[e]:.6g}"
