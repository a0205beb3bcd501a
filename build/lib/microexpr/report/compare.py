"""Several finished runs in one table, laid out like a paper's results table.

Used for method variants run separately (ATNet's spatial / temporal / fusion runs, a
LAENet ablation) so they can be read the way the paper's Tables II/III present them.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from .build import SYNTHETIC_LINE, load_run
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
