"""Result tables built from a run's ``metrics.json``/``folds.json``/config, and their renderers.

Tables are plain data (:class:`Table`: title, header, rows of strings) so every output
format -- console text, markdown, the HTML report -- renders the same numbers. Scores are
printed as fractions with 4 decimals (``0.7353``), ``mean ± std`` over seeds when a run has
several seeds, and ``n/a`` for an undefined score (e.g. recall of a class with no clips).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_COLUMNS: tuple[str, ...] = ("acc", "f1", "uf1", "uar")
COLUMN_TITLES: dict[str, str] = {
    "acc": "Acc",
    "f1": "F1",
    "uf1": "UF1",
    "uar": "UAR",
    "macro_f1": "macro-F1",
    "macro_precision": "macro-P",
    "f1_macro_pr": "F1(P,R)",
}
MISSING = "—"


@dataclass
class Table:
    """A titled table of strings (first column = row labels), with optional footnotes."""

    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def fmt(value: Any, std: Any = None) -> str:
    """A score as ``0.7353`` (``0.7353 ± 0.0120`` with a std), ``n/a`` when undefined."""
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    text = f"{float(value):.4f}"
    if std is not None:
        text += f" ± {float(std):.4f}"
    return text


def results_table(metrics: dict[str, Any], config: dict[str, Any]) -> Table:
    """Acc, F1, UF1, UAR and N, overall and per dataset; the paper's rows beside ours.

    ``config`` is the resolved run config; its ``paper_reference`` (if any) adds, under each
    scope, one row per paper method that reports numbers for that scope.
    """
    ref = config.get("paper_reference") or None
    columns = list(ref.get("metric_names") or DEFAULT_COLUMNS) if ref else list(DEFAULT_COLUMNS)
    header = ["Scope", "Source", *[COLUMN_TITLES.get(c, c) for c in columns], "N"]
    method = config.get("method", {}).get("name", metrics.get("method", "?"))
    scopes: list[tuple[str, dict[str, Any]]] = [("overall", metrics["overall"])]
    scopes += sorted(metrics.get("per_dataset", {}).items())
    rows: list[list[str]] = []
    for scope, m in scopes:
        std = m.get("std", {})
        rows.append([scope, f"ours: {method}", *[fmt(m.get(c), std.get(c)) for c in columns], str(m.get("n", ""))])
        if ref:
            for paper_method, by_scope in ref.get("rows", {}).items():
                if scope in by_scope:
                    vals = by_scope[scope]
                    rows.append([scope, f"paper: {paper_method}", *[fmt(vals[c]) if c in vals else MISSING for c in columns], MISSING])
    notes = []
    if len(metrics.get("seeds", [])) > 1:
        notes.append(f"mean ± std over seeds {metrics['seeds']} (std over seeds, population)")
    if ref:
        notes.append(f"paper numbers: {ref.get('source', '')}")
        notes += definition_notes(ref, columns)
    notes.append(metrics.get("pooling", ""))
    return Table("Results", header, rows, [n for n in notes if n])


def definition_notes(ref: dict[str, Any], columns: Sequence[str]) -> list[str]:
    """Footnotes saying which definition each column uses (ours and the paper's alike), the
    names the paper printed where they differ, and the config's notes on how that was checked."""
    from ..metrics import METRIC_DEFINITIONS

    notes = ["columns (ours computed exactly as the paper's column is defined): "
             + "; ".join(METRIC_DEFINITIONS[c] for c in columns if c in METRIC_DEFINITIONS)]
    for method, names in (ref.get("printed_as") or {}).items():
        shown = ", ".join(f"{COLUMN_TITLES.get(m, m)} as {label!r}" for m, label in names.items())
        notes.append(f"paper: {method} printed {shown}")
    notes += [str(n) for n in ref.get("notes") or []]
    return notes


def per_class_table(metrics: dict[str, Any], seed: str) -> Table:
    """Precision, recall, F1, support and predicted count per class (one seed, overall)."""
    m = metrics["per_seed"][seed]["overall"]
    rows = [
        [c, fmt(v["precision"]), fmt(v["recall"]), fmt(v["f1"]), str(v["support"]), str(v["predicted"])]
        for c, v in m["per_class"].items()
    ]
    notes = []
    if m.get("absent_classes"):
        notes.append(f"absent from truth and predictions (excluded from UF1/UAR): {m['absent_classes']}")
    if m.get("classes_without_truth"):
        notes.append(f"predicted but never true (F1 = 0 counted in UF1, excluded from UAR): {m['classes_without_truth']}")
    return Table(f"Per class (seed {seed}, all datasets)", ["Class", "Precision", "Recall", "F1", "Support", "Predicted"], rows, notes)


def confusion_table(metrics: dict[str, Any], seed: str, scope: str = "overall") -> Table:
    """Confusion matrix (rows = true class, columns = predicted class) of one seed and scope."""
    block = metrics["per_seed"][seed]
    m = block["overall"] if scope == "overall" else block["per_dataset"][scope]
    classes = m["classes"]
    rows = [[c, *[str(x) for x in row]] for c, row in zip(classes, m["confusion"])]
    return Table(f"Confusion matrix (seed {seed}, {scope}; rows: true, columns: predicted)", ["true \\ pred", *classes], rows)


def fold_sizes_table(folds: dict[str, Any]) -> Table:
    """Train/test sizes per fold, from ``folds.json``."""
    rows = [[f["name"], str(f["n_train"]), str(f["n_test"])] for f in folds["folds"]]
    return Table(f"Folds ({folds['protocol']}, {len(rows)} folds)", ["Fold", "Train", "Test"], rows, list(folds.get("notes", [])))


def per_fold_mean_table(metrics: dict[str, Any]) -> Table | None:
    """Per-fold means (only when the run asked for them), labelled as not the MEGC metric."""
    pfm = metrics.get("per_fold_mean")
    if not pfm:
        return None
    blocks = {"": pfm} if "label" in pfm else pfm
    rows = [
        [f"seed {s}" if s else "all folds", *[fmt(b[c], b.get(f"{c}_std")) for c in DEFAULT_COLUMNS], str(b["n_folds"])]
        for s, b in blocks.items()
    ]
    return Table(
        "per_fold_mean (mean ± std over folds; NOT the pooled MEGC metric)",
        ["", *[COLUMN_TITLES[c] for c in DEFAULT_COLUMNS], "Folds"],
        rows,
    )


def render_markdown(table: Table) -> str:
    """A GitHub-flavoured markdown table with a ``###`` title and footnotes."""
    esc = [[c.replace("|", "\\|") for c in r] for r in [table.header, *table.rows]]
    lines = [f"### {table.title}", "", "| " + " | ".join(esc[0]) + " |", "|" + "|".join("---" for _ in table.header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in esc[1:]]
    if table.notes:
        lines.append("")
        lines += ["- " + n.replace("\n", "\n  ") for n in table.notes]
    return "\n".join(lines) + "\n"


def render_text(table: Table) -> str:
    """A fixed-width console table."""
    cells = [table.header, *table.rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(table.header))]
    line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    out = [table.title, line(table.header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in table.rows]
    out += [f"  * {n}" for n in table.notes]
    return "\n".join(out) + "\n"


def render(tables: Sequence[Table], *, markdown: bool) -> str:
    """Render several tables, separated by blank lines."""
    return "\n".join(render_markdown(t) if markdown else render_text(t) for t in tables)


def audit_table(metrics: dict[str, Any]) -> Table | None:
    """Honest result beside the best-epoch-per-test-fold result of the leakage audit, if run."""
    audit = metrics.get("audit")
    if not audit:
        return None
    cols = ("acc", "uf1", "uar")
    rows = [["honest: last epoch / inner validation (this run)", *[fmt(audit["honest"][c]) for c in cols]],
            ["leaky: best epoch per test fold", *[fmt(audit["oracle"][c]) for c in cols]],
            ["oracle inflation", *[f"{audit['inflation'][c]:+.4f}" for c in cols]]]
    return Table(f"Leakage audit (test fold scored every {audit['test_every']} epoch(s); never used to choose anything)",
                 ["", *[COLUMN_TITLES[c] for c in cols]], rows, [audit["note"]])
