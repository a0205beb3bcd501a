"""Several finished runs in one table, laid out like a paper's results table.

Used for method variants run separately (ATNet's spatial / temporal / fusion runs, a
LAENet ablation) so they can be read the way the paper's Tables II/III present them.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ConfigError
from .build import SYNTHETIC_LINE, RunRecord, load_run
from .tables import COLUMN_TITLES, MISSING, Table, definition_notes, fmt


def comparison_table(run_dirs: dict[str, str | Path]) -> Table:
    """One table in the layout of the paper's Tables II/III: a row per run, then the paper's rows.

    ``run_dirs`` maps a row label (e.g. ``"ATNet fusion (ours)"``) to a finished run directory;
    the runs should share a protocol. Column groups are the scopes (``overall`` = Full, then
    each corpus) and, within a group, the metrics of the first run's ``paper_reference``
    (Table II: Acc, UF1, UAR; Table III: UF1, UAR; ``acc, uf1, uar`` without a reference).
    The paper's rows (e.g. ATNet's baselines and variants) follow ours.
    Render it with :func:`microexpr.report.tables.render`; ``microexpr report RUN1 RUN2 ...`` prints it.
    """
    if not run_dirs:
        raise ConfigError("comparison_table needs at least one run directory")
    records = {label: load_run(d) for label, d in run_dirs.items()}
    first = next(iter(records.values()))
    ref = first.config.get("paper_reference") or {}
    if any(is_fold_scope(s) for r in (ref.get("rows") or {}).values() for s in r):
        return fold_table(records, ref)
    metric_names = list(ref.get("metric_names") or ["acc", "uf1", "uar"])
    scopes: list[str] = []
    for rec in records.values():
        for s in ["overall", *sorted(rec.metrics.get("per_dataset", {}))]:
            if s not in scopes:
                scopes.append(s)
    ref_rows: dict[str, dict[str, dict[str, float]]] = ref.get("rows", {})
    if ref_rows and not any("overall" in r for r in ref_rows.values()):
        scopes = [s for s in scopes if s != "overall"]  # Table III has no "Full" column
    header = ["Method", *[f"{s} {COLUMN_TITLES.get(m, m)}" for s in scopes for m in metric_names]]
    rows = []
    for label, rec in records.items():
        by_scope = {"overall": rec.metrics["overall"], **rec.metrics.get("per_dataset", {})}
        rows.append([label, *[fmt(by_scope.get(s, {}).get(m)) if s in by_scope else MISSING
                              for s in scopes for m in metric_names]])
    for name, vals in ref_rows.items():
        rows.append([f"paper: {name}", *[fmt(vals[s][m]) if m in vals.get(s, {}) else MISSING
                                         for s in scopes for m in metric_names]])
    protocols = sorted({str(r.metrics.get("protocol")) for r in records.values()})
    notes = [f"protocol: {', '.join(protocols)}; scores pooled over folds (overall = the paper's Full column)"]
    if ref:
        notes.append(f"paper numbers: {ref.get('source', '')}")
        notes += definition_notes(ref, metric_names)
    if any(r.synthetic for r in records.values()):
        notes.insert(0, SYNTHETIC_LINE)
    return Table("Runs beside the paper's table", header, rows, notes)


def is_fold_scope(scope: str) -> bool:
    """``fold1``, ``fold2``...: a paper row's per-fold value (TLCNN's Table 3)."""
    return re.fullmatch(r"fold\d+", scope) is not None


def fold_scores(record: RunRecord, metric: str) -> list[float | None]:
    """Our per-fold ``metric`` in fold order (mean over seeds), from ``per_fold_mean``; [] if absent."""
    per_seed = [m.get("per_fold_mean", {}).get("folds") for m in record.metrics.get("per_seed", {}).values()]
    per_seed = [p for p in per_seed if p]
    if not per_seed:
        return []
    folds = list(per_seed[0])
    vals = [[p.get(f, {}).get(metric) for p in per_seed] for f in folds]
    return [None if any(v is None for v in vs) else sum(vs) / len(vs) for vs in vals]


def fold_table(records: dict[str, RunRecord], ref: dict) -> Table:
    """TLCNN's Table 3 layout: per-fold accuracy, their mean, then pooled Acc / UF1 / UAR.

    The paper prints per-fold accuracies and their mean only; ours add the pooled metrics (one
    confusion matrix over every fold: the MEGC definition). Our fold i is not the paper's fold
    i (other clips, other splits): compare means, not columns. Runs need ``per_fold_mean: true``.
    """
    metric = (ref.get("metric_names") or ["acc"])[0]
    ref_rows: dict[str, dict[str, dict[str, float]]] = ref.get("rows", {})
    k = max([len([s for s in r if is_fold_scope(s)]) for r in ref_rows.values()]
            + [len(fold_scores(r, metric)) for r in records.values()])
    title = COLUMN_TITLES.get(metric, metric)
    pooled = ["acc", "uf1", "uar"]
    header = ["Method", *[f"Fold{i} {title}" for i in range(1, k + 1)], f"Mean {title}",
              *[f"pooled {COLUMN_TITLES.get(m, m)}" for m in pooled]]
    rows, missing_folds = [], []
    for label, rec in records.items():
        folds = fold_scores(rec, metric)
        if not folds:
            missing_folds.append(label)
        cells = [fmt(v) for v in folds] + [MISSING] * (k - len(folds))
        mean = MISSING if not folds or None in folds else fmt(sum(folds) / len(folds))  # type: ignore[operator]
        rows.append([label, *cells, mean, *[fmt(rec.metrics["overall"].get(m)) for m in pooled]])
    for name, vals in ref_rows.items():
        cells = [fmt(vals[f"fold{i}"][metric]) if metric in vals.get(f"fold{i}", {}) else MISSING
                 for i in range(1, k + 1)]
        mean = fmt(vals["overall"][metric]) if metric in vals.get("overall", {}) else MISSING
        rows.append([f"paper: {name}", *cells, mean, *[MISSING] * len(pooled)])
    protocols = sorted({str(r.metrics.get("protocol")) for r in records.values()})
    notes = [f"protocol: {', '.join(protocols)}; Mean = mean of the per-fold values (the paper's Mean column); "
             "pooled = one confusion matrix over every fold (MEGC definitions)",
             "our fold i holds other clips than the paper's fold i: compare the means, not single folds"]
    mixed = [label for label, r in records.items() if not (r.config.get("protocol") or {}).get("grouped", True)]
    if mixed:
        notes.append(f"LEAKY: {mixed} used clip-level folds (subjects in both training and test, as the paper); "
                     "the others kept each subject in one fold")
    if missing_folds:
        notes.append(f"no per-fold scores for {missing_folds}: rerun with per_fold_mean: true")
    notes.append(f"paper numbers: {ref.get('source', '')}")
    notes += [str(n) for n in ref.get("notes") or []]
    if any(r.synthetic for r in records.values()):
        notes.insert(0, SYNTHETIC_LINE)
    return Table("Runs beside the paper's table (per fold)", header, rows, notes)
