"""The files of a run directory, and reading/writing per-fold prediction files.

::

    <run_dir>/
      config.yaml          resolved config (every default filled in)
      clips.csv            the evaluated clips: key, dataset, subject, label, label_name
      folds.json           protocol, fold names, file slugs, train/test sizes, notes
      folds/seed<S>/<fold-slug>.csv   one file per finished fold (written atomically)
      predictions.csv      all folds and seeds: key, dataset, subject, fold, seed, y_true,
                           y_pred, p_<class>...
      metrics.json         pooled metrics, overall and per dataset (per seed, mean over seeds)
      run.log              the log of every execution of the run (appended)
      report.md            written by ``microexpr report``
      stages/              per-run artefacts of methods (``RunContext.once``)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MicroexprError, ProtocolError
from ..io_utils import atomic_write_text, file_slug
from ..protocols import Fold

PREDICTION_COLUMNS: tuple[str, ...] = ("key", "dataset", "subject", "fold", "seed", "y_true", "y_pred")
"""Columns of fold files and ``predictions.csv`` before the ``p_<class>`` columns."""


@dataclass(frozen=True)
class RunPaths:
    """Paths of the files of one run directory."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def clips(self) -> Path:
        return self.root / "clips.csv"

    @property
    def folds_json(self) -> Path:
        return self.root / "folds.json"

    @property
    def predictions(self) -> Path:
        return self.root / "predictions.csv"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def log(self) -> Path:
        return self.root / "run.log"

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"

    def fold_file(self, seed: int, slug: str) -> Path:
        return self.root / "folds" / f"seed{seed}" / f"{slug}.csv"

    def history_file(self, seed: int, slug: str) -> Path:
        """Per-epoch training history of one fold (:mod:`microexpr.training.history`)."""
        return self.root / "history" / f"seed{seed}" / f"{slug}.csv"


def fold_slugs(folds: Sequence[Fold]) -> dict[str, str]:
    """File-name-safe slug per fold name (``casme2/sub01`` -> ``casme2__sub01``); unique."""
    out: dict[str, str] = {}
    for f in folds:
        out[f.name] = file_slug(f.name)
    if len(set(out.values())) != len(out):
        seen: dict[str, str] = {}
        for name, slug in out.items():
            if slug in seen:
                raise ProtocolError(f"folds {seen[slug]!r} and {name!r} map to the same file name {slug!r}; rename a subject")
            seen[slug] = name
    return out


def prob_columns(classes: Sequence[str]) -> list[str]:
    """``p_<class>`` column names, one per class in order."""
    cols = [f"p_{c}" for c in classes]
    if len(set(cols)) != len(cols):
        raise MicroexprError(f"class names {list(classes)} repeat")
    return cols


def fold_frame(test: pd.DataFrame, fold: str, seed: int, proba: np.ndarray, y_true: np.ndarray, classes: Sequence[str]) -> pd.DataFrame:
    """The prediction rows of one fold (``y_pred`` = argmax of ``proba``, ties to the lower class)."""
    df = pd.DataFrame(
        {
            "key": test["key"].to_numpy(),
            "dataset": test["dataset"].to_numpy(),
            "subject": test["subject"].to_numpy(),
            "fold": fold,
            "seed": int(seed),
            "y_true": np.asarray(y_true, dtype=np.int64),
            "y_pred": np.argmax(proba, axis=1).astype(np.int64),
        }
    )
    for j, col in enumerate(prob_columns(classes)):
        df[col] = proba[:, j]
    return df


def write_fold_file(path: Path, frame: pd.DataFrame) -> None:
    """Write one fold's predictions atomically (full float precision)."""
    atomic_write_text(path, frame.to_csv(index=False, float_format="%.17g"))


def read_fold_file(path: Path, fold: Fold, classes: Sequence[str]) -> pd.DataFrame:
    """Read a finished fold file and check it holds exactly the fold's test clips."""
    df = pd.read_csv(path, dtype={"key": str, "dataset": str, "subject": str, "fold": str})
    expected = [*PREDICTION_COLUMNS, *prob_columns(classes)]
    if list(df.columns) != expected:
        raise MicroexprError(f"fold file {path} has columns {list(df.columns)}, expected {expected}; delete it to recompute the fold")
    if sorted(df["key"]) != sorted(fold.test_keys):
        raise MicroexprError(
            f"fold file {path} does not hold the test clips of fold {fold.name!r} (the data or protocol changed); "
            "delete it to recompute the fold"
        )
    return df
