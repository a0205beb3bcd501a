"""Sweeps: several methods and/or a parameter grid, each point with all the config's seeds,
scheduled on the run's executor as one job (:func:`microexpr.runs.engine.execute_sweep`).

A config's ``sweep`` section (:class:`microexpr.config.SweepConfig`) expands to points named
``<method>[_<key>-<value>...]``; each point is an ordinary run config (``sweep`` removed,
``name`` = ``<sweep name>-<point>``) with its own resumable run directory ``OUT/<point>/``.
``OUT/sweep.json`` lists the points; ``microexpr report OUT`` lays them out as one table with
the mean +- standard deviation over seeds (:func:`sweep_table`).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any

from ..config import RunConfig, with_values
from ..errors import ConfigError, MicroexprError
from ..io_utils import atomic_write_json, file_slug

SWEEP_INDEX = "sweep.json"


def _value_label(value: Any) -> str:
    """A grid value in a point's name: a list as its items joined by ``+`` (``losses-cls+tri``)."""
    return "+".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def expand_sweep(config: RunConfig) -> list[tuple[str, RunConfig]]:
    """The points of ``config``'s sweep as ``(point name, run config)``, methods outer, grid inner."""
    from ..methods.registry import list_methods, method_parameters

    if config.sweep is None:
        raise ConfigError(f"config {config.name!r} has no sweep section")
    methods = list(config.sweep.methods) or [config.method.name]
    unknown = [m for m in methods if m not in list_methods()]
    if unknown:
        raise ConfigError(f"sweep.methods: {unknown} are not registered methods; available: {', '.join(list_methods())}")
    for key, vals in config.sweep.grid.items():
        if not isinstance(vals, list) or not vals:
            raise ConfigError(f"sweep.grid.{key}: give a non-empty list of values, e.g. [0.1, 1.0]")
        if key.split(".")[0] in ("sweep", "name", "seeds"):
            raise ConfigError(f"sweep.grid: {key!r} cannot be swept (seeds are listed in `seeds`)")
    base = dataclasses.replace(config, sweep=None)
    points: list[tuple[str, RunConfig]] = []
    for method in methods:
        accepted = method_parameters(method)
        params = {k: v for k, v in config.method.params.items() if k in accepted}
        keys = [k for k in config.sweep.grid
                if not k.startswith("method.params.") or k.split(".")[2] in accepted]
        for combo in itertools.product(*(config.sweep.grid[k] for k in keys)):
            values = dict(zip(keys, combo))
            label = method + "".join(f"_{k.split('.')[-1]}-{_value_label(v)}" for k, v in values.items())
            name = file_slug(label)
            point = with_values(dataclasses.replace(base, method=dataclasses.replace(base.method, name=method, params=params)),
                                {**values, "name": f"{config.name}-{name}"}, source=f"sweep point {label}")
            points.append((name, point))
    names = [n for n, _ in points]
    if len(set(names)) != len(names):
        raise ConfigError(f"sweep {config.name!r}: two points have the same name ({names}); give distinct values")
    return points


def write_sweep_index(root: Path, config: RunConfig, points: list[tuple[str, RunConfig]]) -> Path:
    """``OUT/sweep.json``: the sweep's name, executor, seeds, grid and its points' folders."""
    grid = dict(config.sweep.grid) if config.sweep else {}
    return atomic_write_json(root / SWEEP_INDEX, {
        "name": config.name, "executor": config.executor, "seeds": list(config.seeds), "grid": grid,
        "points": [{"name": name, "run_dir": name, "method": cfg.method.name,
                    "values": {k: _get(cfg, k) for k in grid if _get(cfg, k, _MISSING) is not _MISSING}}
                   for name, cfg in points],
    })


_MISSING = object()


def _get(cfg: RunConfig, dotted: str, default: Any = None) -> Any:
    node: Any = dataclasses.asdict(cfg)
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def _paper_reference(root: Path, index: dict[str, Any]) -> dict[str, Any]:
    """The ``paper_reference`` of the sweep (every point's ``config.yaml`` carries the sweep config's),
    read from the first point whose config can be read; {} when there is none."""
    import yaml

    for point in index.get("points", []):
        try:
            cfg = yaml.safe_load((root / point["run_dir"] / "config.yaml").read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        return cfg.get("paper_reference") or {}
    return {}


def is_sweep(path: str | Path) -> bool:
    return (Path(path) / SWEEP_INDEX).is_file()


def sweep_table(root: str | Path) -> Any:
    """One row per point: method, swept values, number of seeds, Acc/UF1/UAR as mean +- std over
    seeds (the pooled metrics of each seed; ``metrics.json`` of the point's run); then the overall
    rows of the config's ``paper_reference`` (e.g. a paper's ablation table), labelled ``paper:``."""
    from ..report.tables import MISSING, Table, fmt

    root = Path(root)
    try:
        index = json.loads((root / SWEEP_INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MicroexprError(f"{root / SWEEP_INDEX} cannot be read ({exc}); rerun the sweep") from None
    keys = list(index.get("grid", {}))
    header = ["Point", "Method", *[k.split(".")[-1] for k in keys], "Seeds", "Acc", "UF1", "UAR"]
    rows, missing = [], []
    for point in index["points"]:
        metrics_path = root / point["run_dir"] / "metrics.json"
        if not metrics_path.is_file():
            missing.append(point["name"])
            continue
        m = json.loads(metrics_path.read_text(encoding="utf-8"))
        o, std = m["overall"], m["overall"].get("std", {})
        rows.append([point["name"], point["method"], *[_value_label(point["values"].get(k, "-")) for k in keys],
                     str(len(m.get("seeds", [])) or 1), *[fmt(o.get(c), std.get(c)) for c in ("acc", "uf1", "uar")]])
    notes = ["mean ± standard deviation over seeds (each seed's metrics pooled over folds)"]
    ref = _paper_reference(root, index)
    for name, scopes in (ref.get("rows") or {}).items():
        vals = scopes.get("overall") if isinstance(scopes, dict) else None
        if vals:  # the paper's overall numbers (e.g. its ablation rows) below the points
            rows.append([f"paper: {name}", "", *["" for _ in keys], "",
                         *[fmt(vals[c]) if c in vals else MISSING for c in ("acc", "uf1", "uar")]])
    if ref.get("rows"):
        notes.append(f"paper rows: {ref.get('source', '')}")
    if missing:
        notes.append(f"not finished (no metrics.json): {', '.join(missing)}; rerun the sweep to complete them")
    return Table(f"Sweep {index['name']} ({len(index['points'])} points, seeds {index['seeds']})", header, rows, notes)
