"""The leakage audit of a run: what a "best epoch per test fold" codebase would report.

With ``audit: {test_every: N}`` in the config, each fold's model is scored on its own test
fold every N epochs while it trains (:mod:`microexpr.training.audit`); those scores land in
``RUN_DIR/audit/seed<S>/<fold>.csv`` (one row per audited epoch and test clip) and never
decide anything. :func:`summarise_audit` then picks, for every fold, the epoch with the best
accuracy *on that fold's test clips* (ties: the earliest), pools those predictions like the
real ones and computes the metrics: the "oracle" result that leaky codebases publish. The
report shows it beside the honest result (last epoch, or the inner-validation choice) and
the difference ("oracle inflation"). On shuffled labels the honest score stays at chance
while the oracle one does not: the leak made visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..io_utils import atomic_write_text
from ..metrics import compute_metrics
from ..training.audit import AuditRecorder

AUDIT_METRICS = ("acc", "uf1", "uar")


def audit_file(run_dir: Path, seed: int, slug: str) -> Path:
    return Path(run_dir) / "audit" / f"seed{seed}" / f"{slug}.csv"


def write_audit(path: Path, rec: AuditRecorder, test: pd.DataFrame, classes: Sequence[str]) -> None:
    """One fold's audited epochs: ``epoch, key, y_true, y_pred, p_<class>...`` (atomic)."""
    frames = []
    for epoch, proba in zip(rec.epochs, rec.probabilities):
        df = pd.DataFrame({"epoch": epoch, "key": test["key"].to_numpy(), "y_true": test["label"].to_numpy(),
                           "y_pred": np.argmax(proba, axis=1)})
        for i, c in enumerate(classes):
            df[f"p_{c}"] = proba[:, i]
        frames.append(df)
    atomic_write_text(path, pd.concat(frames, ignore_index=True).to_csv(index=False, float_format="%.9g"))


def summarise_audit(run_dir: Path, seeds: Sequence[int], fold_slugs: Sequence[str], classes: Sequence[str],
                    per_seed_honest: dict[str, dict[str, Any]], test_every: int) -> dict[str, Any] | None:
    """Honest vs best-epoch-per-test-fold metrics (mean over seeds); None when no fold was audited."""
    honest: dict[str, list[float]] = {m: [] for m in AUDIT_METRICS}
    oracle: dict[str, list[float]] = {m: [] for m in AUDIT_METRICS}
    audited_folds = 0
    for seed in seeds:
        chosen = []
        for slug in fold_slugs:
            path = audit_file(run_dir, seed, slug)
            if not path.is_file():
                continue
            df = pd.read_csv(path, dtype={"key": str})
            acc = df.assign(hit=df["y_true"] == df["y_pred"]).groupby("epoch")["hit"].mean()
            best = int(acc.index[np.argmax(acc.to_numpy())])  # first maximum: the earliest best epoch
            chosen.append(df[df["epoch"] == best])
        if len(chosen) != len(fold_slugs):
            continue  # a seed whose folds were not all audited (e.g. resumed) is left out, and said so
        audited_folds += len(chosen)
        pooled = pd.concat(chosen, ignore_index=True)
        m = compute_metrics(pooled["y_true"].to_numpy(), pooled["y_pred"].to_numpy(), classes)
        h = per_seed_honest[str(seed)]["overall"]
        for k in AUDIT_METRICS:
            oracle[k].append(float(m[k]))
            honest[k].append(float(h[k]))
    if not audited_folds:
        return None
    hon = {k: float(np.mean(v)) for k, v in honest.items()}
    ora = {k: float(np.mean(v)) for k, v in oracle.items()}
    return {
        "test_every": test_every,
        "seeds": len(honest["acc"]),
        "honest": hon,
        "oracle": ora,
        "inflation": {k: ora[k] - hon[k] for k in AUDIT_METRICS},
        "note": "oracle = for every fold, the epoch with the best accuracy on that fold's own test clips (a leak "
                "several published codebases commit); honest = the run's own result. The audit never chose a model.",
    }
