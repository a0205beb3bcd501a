"""Assemble a run's report (console text or markdown) from its run directory."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import MicroexprError
from ..io_utils import atomic_write_text
from .tables import Table, audit_table, confusion_table, fold_sizes_table, per_class_table, per_fold_mean_table, render, results_table

SYNTHETIC_LINE = (
    "Synthetic data: these numbers show the pipeline works; they say nothing about accuracy on real micro-expressions."
)


@dataclass
class RunRecord:
    """The files of a finished run that reports are built from."""

    run_dir: Path
    metrics: dict[str, Any]
    config: dict[str, Any]
    folds: dict[str, Any]

    @property
    def synthetic(self) -> bool:
        return bool(self.metrics.get("synthetic") or (self.config.get("data") or {}).get("synthetic"))


def load_run(run_dir: str | os.PathLike[str]) -> RunRecord:
    """Read ``metrics.json``, ``config.yaml`` and ``folds.json`` of a run directory."""
    root = Path(run_dir)
    if not root.is_dir():
        raise MicroexprError(f"run directory {root} not found")
    files = {n: root / n for n in ("metrics.json", "config.yaml", "folds.json")}
    missing = [n for n, p in files.items() if not p.is_file()]
    if "config.yaml" in missing:  # never started here: nothing to resume
        raise MicroexprError(f"{root} is not a run directory: it lacks {missing}; give a folder that `microexpr run` wrote")
    if missing:
        raise MicroexprError(
            f"run directory {root} lacks {missing}: the run has not finished; "
            f"resume it with `microexpr run CONFIG --out {root}`"
        )
    try:
        metrics = json.loads(files["metrics.json"].read_text(encoding="utf-8"))
        config = yaml.safe_load(files["config.yaml"].read_text(encoding="utf-8")) or {}
        folds = json.loads(files["folds.json"].read_text(encoding="utf-8"))
    except (ValueError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MicroexprError(f"run directory {root}: a result file is damaged ({type(exc).__name__}: {exc}); rerun "
                             f"`microexpr run CONFIG --out {root}` to rebuild metrics.json from the fold files") from None
    shapes = ((metrics, dict, "metrics.json"), (config, dict, "config.yaml"), (folds, dict, "folds.json"))
    bad = [name for obj, tp, name in shapes if not isinstance(obj, tp)]
    if bad or not {"overall", "per_seed"} <= set(metrics) or "folds" not in folds:
        raise MicroexprError(f"run directory {root}: {bad or ['metrics.json']} is not what `microexpr run` writes (empty or "
                             f"edited); rerun `microexpr run CONFIG --out {root}` to rebuild it from the fold files")
    return RunRecord(root, metrics, config, folds)


def report_tables(record: RunRecord) -> list[Table]:
    """Every table of the report, in order (reusable by other renderers, e.g. HTML)."""
    m = record.metrics
    tables = [results_table(m, record.config)]
    audit = audit_table(m)
    if audit is not None:
        tables.append(audit)
    pfm = per_fold_mean_table(m)
    if pfm is not None:
        tables.append(pfm)
    for seed in m["per_seed"]:
        tables.append(per_class_table(m, seed))
        tables.append(confusion_table(m, seed))
    tables.append(fold_sizes_table(record.folds))
    return tables


def header_lines(record: RunRecord) -> list[str]:
    """Run name, method, protocol, seeds; the synthetic-data line; the run's notes."""
    m, c = record.metrics, record.config
    lines = []
    if record.synthetic:
        lines.append(SYNTHETIC_LINE)
    lines.append(f"Run {m.get('name', c.get('name', '?'))}: method {m.get('method')}, protocol {m.get('protocol')}, seeds {m.get('seeds')}")
    if c.get("description"):
        lines.append(str(c["description"]))
    lines += [f"Note: {n}" for n in m.get("notes", [])]
    return lines


def build_report(run_dir: str | os.PathLike[str], *, markdown: bool = False) -> str:
    """The whole report as console text, or as markdown."""
    record = load_run(run_dir)
    head = header_lines(record)
    if markdown:
        body = [f"**{line}**\n" if line == SYNTHETIC_LINE else "- " + line.replace("\n", "\n  ") for line in head]
        top = f"# Report: {record.metrics.get('name', record.run_dir.name)}\n\n" + "\n".join(body)
    else:
        top = "\n".join(head)
    return top + "\n\n" + render(report_tables(record), markdown=markdown)


def write_report(run_dir: str | os.PathLike[str]) -> Path:
    """Write ``report.md`` into the run directory and return its path."""
    path = Path(run_dir) / "report.md"
    atomic_write_text(path, build_report(run_dir, markdown=True))
    return path
