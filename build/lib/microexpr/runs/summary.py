"""From the fold files of a run to ``predictions.csv`` and ``metrics.json``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..metrics import mean_over_seeds, per_fold_mean, pooled_metrics

POOLING_NOTE = "pooled over folds (MEGC): TP/FP/FN counted over all test clips of all folds, then averaged over classes"


def summarise(
    predictions: pd.DataFrame,
    classes: Sequence[str],
    *,
    seeds: Sequence[int],
    with_per_fold_mean: bool,
    header: dict[str, Any],
) -> dict[str, Any]:
    """The content of ``metrics.json``.

    ``overall`` and ``per_dataset`` hold the pooled metrics of the single seed, or with
    several seeds the mean of each scalar metric with its ``std`` over seeds (per-class
    scores and confusion matrices are then under ``per_seed``). ``per_fold_mean`` appears
    only when asked for.
    """
    per_seed: dict[str, Any] = {}
    for s in seeds:
        rows = predictions[predictions["seed"] == s]
        m = pooled_metrics(rows, classes)
        if with_per_fold_mean:
            m["per_fold_mean"] = per_fold_mean(rows, classes)
        per_seed[str(s)] = m
    out: dict[str, Any] = dict(header)
    out.update({"classes": list(classes), "seeds": list(seeds), "pooling": POOLING_NOTE})
    if len(seeds) == 1:
        only = per_seed[str(seeds[0])]
        out["overall"] = only["overall"]
        out["per_dataset"] = only["per_dataset"]
        if with_per_fold_mean:
            out["per_fold_mean"] = only["per_fold_mean"]
    else:
        out["overall"] = mean_over_seeds([m["overall"] for m in per_seed.values()])
        datasets = sorted(per_seed[str(seeds[0])]["per_dataset"])
        out["per_dataset"] = {d: mean_over_seeds([m["per_dataset"][d] for m in per_seed.values()]) for d in datasets}
        if with_per_fold_mean:
            out["per_fold_mean"] = {s: m["per_fold_mean"] for s, m in per_seed.items()}
    out["per_seed"] = per_seed
    return jsonable(out)


def jsonable(obj: Any) -> Any:
    """NaN (an undefined score, e.g. of an absent class) becomes ``None`` (JSON ``null``)."""
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj
