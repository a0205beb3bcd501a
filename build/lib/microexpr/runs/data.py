"""The data of a run: the labelled clip table, class names and auxiliary (pretraining) tables."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..cliptable import validate_clip_table
from ..config import RunConfig
from ..errors import ClipTableError


@dataclass
class RunData:
    """A labelled ClipTable to evaluate, its class names, and auxiliary tables.

    ``table`` must carry ``label`` (0..len(classes)-1) and ``label_name``. Build one yourself
    to run a protocol on clips you assembled in Python; :func:`load_run_data` builds it from
    a config. ``notes`` are lines for the report (reader repairs, excluded clips).
    """

    table: pd.DataFrame
    classes: tuple[str, ...]
    aux_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    synthetic: bool = False

    def with_shuffled_labels(self, seed: int) -> RunData:
        """A copy whose clips carry a random permutation of the labels (``label`` and
        ``label_name`` together; ``np.random.default_rng(seed)``): the label-permutation
        control, which a sound pipeline scores near chance on."""
        perm = np.random.default_rng(seed).permutation(len(self.table))
        table = self.table.assign(label=self.table["label"].to_numpy()[perm],
                                  label_name=self.table["label_name"].to_numpy()[perm])
        return dataclasses.replace(self, table=table)

    def check(self) -> None:
        """Raise :class:`ClipTableError` if the table is not a labelled ClipTable for ``classes``."""
        validate_clip_table(self.table)
        for col in ("label", "label_name"):
            if col not in self.table.columns:
                raise ClipTableError(f"the run's clip table has no {col!r} column; apply a label scheme (microexpr.labels.apply_scheme)")
        if not self.classes:
            raise ClipTableError("a run needs at least one class")
        labels = self.table["label"]
        if labels.isna().any() or (labels < 0).any() or (labels >= len(self.classes)).any():
            bad = self.table.loc[labels.isna() | (labels < 0) | (labels >= len(self.classes)), "key"].tolist()
            raise ClipTableError(f"clips {bad[:5]} have labels outside 0..{len(self.classes) - 1} (classes {list(self.classes)})")
        for _, row in self.table[["label", "label_name"]].drop_duplicates().iterrows():
            if self.classes[int(row["label"])] != str(row["label_name"]):
                raise ClipTableError(
                    f"label {int(row['label'])} is named {row['label_name']!r} in the table but {self.classes[int(row['label'])]!r} in classes"
                )


def load_run_data(config: RunConfig, log: logging.Logger | None = None) -> RunData:
    """Read every dataset of ``config``, apply its label scheme, read the auxiliary datasets.

    Reader repairs and skipped items, and the scheme's report, are logged and returned as
    ``notes`` (nothing is dropped silently).
    """
    from ..datasets import read_dataset
    from ..labels import apply_scheme

    log = log or logging.getLogger("microexpr.runs")
    notes: list[str] = []
    tables = []
    for name, root in config.data.datasets.items():
        read = read_dataset(name, root, **config.data.options.get(name, {}))
        _note_read(name, read, notes, log)
        tables.append(read.table)
    if not tables:
        raise ClipTableError("the config lists no dataset under data.datasets")
    table = pd.concat(tables, ignore_index=True)
    table, classes, report = apply_scheme(table, config.data.scheme, ground_truth_csv=config.data.ground_truth_csv)
    text = report.summary() if hasattr(report, "summary") else str(report)
    log.info("%s", text)
    notes.append(text)
    aux: dict[str, pd.DataFrame] = {}
    for name, root in config.data.aux.items():
        read = read_dataset(name, root, **config.data.options.get(name, {}))
        _note_read(name, read, notes, log)
        aux[name] = read.table
    return RunData(table.reset_index(drop=True), tuple(str(c) for c in classes), aux, notes, config.data.synthetic)


def _note_read(name: str, read: object, notes: list[str], log: logging.Logger) -> None:
    table = read.table  # type: ignore[attr-defined]
    repairs = list(getattr(read, "repairs", []))
    skipped = list(getattr(read, "skipped", []))
    log.info("read %s: %d clips, %d annotation repair(s), %d skipped item(s)", name, len(table), len(repairs), len(skipped))
    for r in repairs:
        log.info("  repair %s", r)
    for s in skipped:
        log.info("  skipped %s", s)
    notes.append(f"{name}: {len(table)} clips read, {len(repairs)} annotation repair(s), {len(skipped)} item(s) skipped (see run.log)")
