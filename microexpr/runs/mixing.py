"""How much mixing one subject's clips between training and test inflates a score.

:func:`rerun_with_mixed_folds` reruns a finished run's recipe (same method, parameters, data
and seeds) under clip-level k-fold, where a subject's clips land in both training and test
folds (TLCNN's protocol and several codebases'), and returns both results side by side.
The rerun is a run directory of its own, ``RUN_DIR/audit/kfold_mixed`` (resumable, locked,
labelled leaky in its report).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import yaml

from ..config import ProtocolConfig, config_from_dict, with_data_overrides
from ..errors import ConfigError
from .engine import execute_run

COLUMNS = ("acc", "uf1", "uar")


def rerun_with_mixed_folds(run_dir: str | os.PathLike[str], *, k: int = 5, data: list[str] | None = None,
                           progress: bool = True) -> dict[str, Any]:
    """``{"grouped": metrics, "mixed": metrics, "gap": mixed - grouped, "mixed_run_dir": path}`` (overall)."""
    root = Path(run_dir)
    cfg_path, metrics_path = root / "config.yaml", root / "metrics.json"
    if not cfg_path.is_file() or not metrics_path.is_file():
        raise ConfigError(f"{root} is not a finished run directory (needs config.yaml and metrics.json)")
    import json

    grouped = json.loads(metrics_path.read_text(encoding="utf-8"))["overall"]
    raw = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
    config = config_from_dict(raw, base_dir=root, source=str(cfg_path))
    if data:
        config = with_data_overrides(config, data)
    mixed_cfg = dataclasses.replace(
        config, name=f"{config.name}_kfold_mixed",
        description=f"leakage audit of {config.name}: clip-level {k}-fold (subjects mixed between train and test)",
        protocol=ProtocolConfig("kfold", {"k": k, "grouped": False}), audit=dataclasses.replace(config.audit, test_every=0))
    out = root / "audit" / "kfold_mixed"
    res = execute_run(mixed_cfg, out, progress=progress)
    mixed = res.metrics["overall"]
    return {"grouped": {c: grouped[c] for c in COLUMNS}, "mixed": {c: mixed[c] for c in COLUMNS},
            "gap": {c: mixed[c] - grouped[c] for c in COLUMNS}, "grouped_protocol": config.protocol.name,
            "mixed_run_dir": str(out)}
