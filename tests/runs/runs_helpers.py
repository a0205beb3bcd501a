"""Builders for the run-engine tests: small labelled ClipTables and matching feature files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from microexpr.cliptable import new_clip_table
from microexpr.config import config_from_dict
from microexpr.runs import RunData
from microexpr.sources.feature_npz import save_feature_file

CLASSES = ("negative", "positive", "surprise")


def labelled_table(spec: dict[str, int], clips_per_subject: int = 4, seed: int = 0) -> pd.DataFrame:
    """A ClipTable with ``spec[dataset]`` subjects per dataset and random labels 0..2."""
    rng = np.random.default_rng(seed)
    rows = []
    for ds, n_subjects in spec.items():
        for s in range(n_subjects):
            subject = f"{ds}/s{s:02d}"
            for c in range(clips_per_subject):
                label = int(rng.integers(0, len(CLASSES)))
                rows.append(
                    dict(dataset=ds, subject=subject, clip=f"c{c}", key=f"{subject}/c{c}", frames=(f"/nowhere/{ds}/{s}/{c}.jpg",),
                         fps=100.0, onset=0, apex=0, offset=0, apex_source="annotated", emotion=CLASSES[label], aus=(),
                         label=label, label_name=CLASSES[label])
                )
    return new_clip_table(rows)


def feature_file(path: Path, table: pd.DataFrame, seed: int = 0, d: int = 6) -> Path:
    """Features separating the classes (class mean + noise), rows shuffled against the table."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2.0, size=(len(CLASSES), d))
    X = centres[table["label"].to_numpy()] + rng.normal(0, 1.5, size=(len(table), d))
    order = rng.permutation(len(table))
    return save_feature_file(path, X[order], table["key"].to_numpy()[order])


def run_config(method: dict, protocol: dict, name: str = "t", datasets: tuple[str, ...] = ("casme2", "samm"), **extra: object):
    """A config for data passed directly to execute_run (dataset roots left null)."""
    data = {"scheme": "composite3", "synthetic": True, "datasets": {d: None for d in datasets}}
    raw = {"name": name, "data": data, "protocol": protocol, "method": method}
    raw.update(extra)
    return config_from_dict(raw)


def run_data(table: pd.DataFrame, aux: dict[str, pd.DataFrame] | None = None) -> RunData:
    return RunData(table, CLASSES, aux or {}, synthetic=True)
