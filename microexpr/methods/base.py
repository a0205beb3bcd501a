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

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Protocol, TypeVar, runtime_checkable

import numpy as np
import pandas as pd

from ..errors import ConfigError, ProtocolError
from ..io_utils import atomic_write_json

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
        key: Any,
        suffix: str = ".pt",
    ) -> T:
        """Build a per-run stage once (per seed), save it in the run dir, reuse it after.

        ``key`` is everything that determines the stage (its settings, its data's
        fingerprint: :func:`stage_key`); with the seed and the code version it is hashed and
        stored in ``RUN_DIR/stage_keys/<file>.json``. A stage built under another key is rebuilt, never reused; an
        unreadable stage file (a killed write, a full disk) is named in the log and rebuilt.
        The file is written atomically (a temporary file renamed into place).
        """
        from .. import __version__

        path = self.run_dir / "stages" / f"{name}-seed{self.seed}{suffix}"
        key_path = self.run_dir / "stage_keys" / f"{path.name}.json"
        digest = hashlib.sha256(json.dumps({"name": name, "seed": self.seed, "microexpr": __version__, "key": key},
                                           sort_keys=True, default=str).encode()).hexdigest()
        if path.exists():
            try:
                stored = json.loads(key_path.read_text(encoding="utf-8")).get("digest")
            except (OSError, ValueError, AttributeError):
                stored = None
            if stored == digest:
                try:
                    obj = load(path)
                except Exception as exc:  # any failure to read it back: the file is named and rebuilt
                    self.log.warning("stage file %s is unreadable (%s: %s); rebuilding it", path, type(exc).__name__, exc)
                else:
                    self.log.info("reusing %s from %s", name, path)
                    return obj
            else:
                self.log.info("stage %s in %s was built under other settings or code; rebuilding it", name, path)
        from ..training.history import collect_histories, write_history

        from ..training.audit import auditing

        with collect_histories() as histories, auditing(None):  # the stage's own curve; never audited as a fold
            obj = build()
        write_history(self.run_dir / "history" / f"seed{self.seed}" / f"stage-{name}.csv", histories)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            save(obj, tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        atomic_write_json(key_path, {"digest": digest, "key": key})
        return obj


def training_labels(train: pd.DataFrame, ctx: RunContext, method: str) -> np.ndarray:
    """The ``label`` column of a training table as int64 class indices, checked: present,
    non-empty, within the run's classes (the one check every method uses)."""
    where = f"method {method!r}, fold {ctx.fold!r}" if ctx.fold else f"method {method!r}"
    if "label" not in train.columns:
        raise ConfigError(f"{where}: the training table has no 'label' column (apply a label scheme first)")
    y = train["label"].to_numpy().astype(np.int64)
    if len(y) == 0:
        raise ConfigError(f"{where}: no training clips")
    if y.min() < 0 or y.max() >= ctx.n_classes:
        raise ConfigError(f"{where}: training labels {sorted(set(y.tolist()))} outside 0..{ctx.n_classes - 1}")
    return y


def key_digest(obj: Any) -> str:
    """SHA-256 of ``obj`` as sorted JSON (values JSON cannot hold as their ``str``): a stage key's digest."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def fold_data_key(train: pd.DataFrame) -> str:
    """The training clips and their labels, as a digest: a per-fold stage built on another split
    (or on other labels) is rebuilt, never reused."""
    return key_digest(sorted(zip(train["key"].astype(str), train["label"].astype(int))))


def stage_key(method: Any, ctx: RunContext, *, params: Any = None) -> dict[str, Any]:
    """What determines a method's per-run stage: ``params`` (default: every constructor
    parameter of ``method``, stored under its own name as scikit-learn does), the run's
    classes, and the content fingerprint of every auxiliary table (clip annotations and the
    sizes and times of their frame files, :func:`microexpr.inputs.clip.table_fingerprint`)."""
    import inspect

    from ..inputs.clip import file_stat, table_fingerprint

    if params is None:
        names = [p for p in inspect.signature(type(method).__init__).parameters if p != "self"]
        params = {n: getattr(method, n, None) for n in names}
    files = {k: [v, *file_stat(v)] for k, v in params.items() if isinstance(v, str) and os.path.isfile(v)}
    return {"method": type(method).__name__, "params": params, "classes": list(ctx.classes),
            "files": files, "aux": {n: table_fingerprint(t) for n, t in sorted(ctx.aux_tables.items())}}


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
