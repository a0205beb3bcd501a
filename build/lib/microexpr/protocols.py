"""Evaluation protocols as splitters over group columns: LOSO, composite CDE, hold-out HDE, k-fold.

Every protocol turns a labelled ClipTable into a list of :class:`Fold` objects (train keys,
test keys) and refuses to run without its group column (``subject``; ``dataset`` for HDE).
Every list of folds is checked by :func:`verify_folds` before anyone trains on it: a test
subject that also appears in the training set is an error, never a warning. The only
declared exception is clip-level k-fold (``kfold`` with ``grouped: false``, the TLCNN
paper's protocol), which mixes subjects by design; it says so through ``warnings.warn``
and through :attr:`Fold.note`, which the run engine copies into the report.

Protocols and their parameters
------------------------------
``loso``   Leave-one-subject-out. ``per_dataset`` (default ``true``): when the table holds
           several datasets, a fold trains only on the other subjects of the test subject's
           own dataset, so the result is the per-dataset LOSO of each dataset (reported per
           dataset). With ``per_dataset: false`` it trains on every other subject of every
           dataset, which is ``cde``.
``cde``    Composite database evaluation (MEGC 2019): LOSO over the namespaced subjects of
           all datasets pooled; a fold trains on every other subject of every dataset.
``hde``    Holdout database evaluation: ``test`` (a dataset name, or a list giving one fold
           per test dataset) and ``train`` (a list of dataset names; default: every other
           dataset of the table). Training on the test dataset is refused.
``kfold``  ``k`` folds (default 5), ``seed`` (default 0), ``grouped`` (default ``true``:
           subject-grouped folds, no subject in two folds), ``stratified`` (default
           ``true``: keep class proportions when a ``label`` column exists).

Fold names: the subject id for LOSO/CDE (``casme2/sub01``), ``train=casme2+samm_test=smic``
for HDE, ``fold1`` .. ``foldk`` for k-fold.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import ProtocolError
from .identity import canonical_dataset

PROTOCOLS: dict[str, tuple[str, ...]] = {
    "loso": ("per_dataset",),
    "cde": (),
    "hde": ("train", "test"),
    "kfold": ("k", "seed", "grouped", "stratified"),
}
"""Protocol name -> the parameters it accepts."""

PROTOCOL_DEFAULTS: dict[str, dict[str, Any]] = {
    "loso": {"per_dataset": True},
    "cde": {},
    "hde": {"train": None},
    "kfold": {"k": 5, "seed": 0, "grouped": True, "stratified": True},
}
"""Default parameter values (``hde`` ``train: null`` means every other dataset; ``test`` has none)."""

CLIP_LEVEL_KFOLD_WARNING = (
    "clip-level k-fold (grouped: false) puts clips of the same subject in both the training "
    "and the test folds: subjects mix, so the numbers are optimistic and not comparable with "
    "LOSO/CDE results (this is the TLCNN paper's protocol; use grouped: true to keep subjects apart)"
)


class ClipLevelFoldsWarning(UserWarning):
    """Issued when clip-level k-fold mixes subjects between training and test folds."""


@dataclass(frozen=True)
class Fold:
    """One train/test split, by clip key.

    ``note`` is a human-readable caveat the report must show (empty for clean splits);
    ``subjects_may_mix`` is true only for declared clip-level k-fold.
    """

    name: str
    train_keys: tuple[str, ...]
    test_keys: tuple[str, ...]
    note: str = ""
    subjects_may_mix: bool = False


def make_folds(table: pd.DataFrame, protocol: str, **params: Any) -> list[Fold]:
    """Split ``table`` by ``protocol`` (``loso``, ``cde``, ``hde``, ``kfold``) and verify the folds.

    ``params`` are the protocol's parameters (see the module docstring); unknown ones are
    errors. Raises :class:`ProtocolError` when the group column is missing, a named dataset
    is absent, or a split would leak subjects.
    """
    if protocol not in PROTOCOLS:
        raise ProtocolError(f"unknown protocol {protocol!r}; available: {', '.join(PROTOCOLS)}")
    unknown = [p for p in params if p not in PROTOCOLS[protocol]]
    if unknown:
        raise ProtocolError(
            f"protocol {protocol!r}: unknown parameter(s) {unknown}; allowed: {list(PROTOCOLS[protocol]) or 'none'}"
        )
    _require_columns(table, protocol, ["key", "subject"] + (["dataset"] if protocol in ("hde", "loso") else []))
    if table.empty:
        raise ProtocolError(f"protocol {protocol!r}: the clip table is empty; nothing to split")
    if table["key"].duplicated().any():
        dup = table["key"][table["key"].duplicated()].tolist()[:5]
        raise ProtocolError(f"protocol {protocol!r}: duplicate clip keys {dup}")
    if protocol == "loso":
        folds = _loso(table, per_dataset=_bool(params.get("per_dataset", True), "per_dataset"))
    elif protocol == "cde":
        folds = _loso(table, per_dataset=False)
    elif protocol == "hde":
        folds = _hde(table, params.get("train"), params.get("test"))
    else:
        folds = _kfold(
            table,
            k=_int(params.get("k", 5), "k"),
            seed=_int(params.get("seed", 0), "seed"),
            grouped=_bool(params.get("grouped", True), "grouped"),
            stratified=_bool(params.get("stratified", True), "stratified"),
        )
    verify_folds(table, folds, every_clip_tested=protocol != "hde")
    return folds


def verify_folds(table: pd.DataFrame, folds: Sequence[Fold], *, every_clip_tested: bool = True) -> None:
    """Raise :class:`ProtocolError` unless the folds are leak-free.

    Checks: keys known; no key in both train and test of a fold; train and test subjects
    disjoint (unless the fold declares ``subjects_may_mix``); with ``every_clip_tested``,
    every clip of ``table`` is tested exactly once over all folds.
    """
    _require_columns(table, "verify", ["key", "subject"])
    subject_of = dict(zip(table["key"], table["subject"]))
    seen: dict[str, str] = {}
    for fold in folds:
        unknown = [k for k in (*fold.train_keys, *fold.test_keys) if k not in subject_of]
        if unknown:
            raise ProtocolError(f"fold {fold.name!r}: unknown clip keys {unknown[:5]}")
        if not fold.test_keys:
            raise ProtocolError(f"fold {fold.name!r} has no test clips")
        if not fold.train_keys:
            raise ProtocolError(f"fold {fold.name!r} has no training clips")
        both = set(fold.train_keys) & set(fold.test_keys)
        if both:
            raise ProtocolError(f"fold {fold.name!r}: clips {sorted(both)[:5]} are in both train and test")
        if not fold.subjects_may_mix:
            train_subjects = {subject_of[k] for k in fold.train_keys}
            test_subjects = {subject_of[k] for k in fold.test_keys}
            leak = sorted(train_subjects & test_subjects)
            if leak:
                raise ProtocolError(
                    f"fold {fold.name!r}: subject(s) {leak[:5]} are in both the training and the test set"
                )
        for k in fold.test_keys:
            if k in seen:
                if every_clip_tested:
                    raise ProtocolError(f"clip {k} is tested twice (folds {seen[k]!r} and {fold.name!r})")
            seen[k] = fold.name
    if every_clip_tested:
        untested = [k for k in table["key"] if k not in seen]
        if untested:
            raise ProtocolError(f"{len(untested)} clip(s) never tested, e.g. {untested[:5]}")


def _require_columns(table: pd.DataFrame, protocol: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ProtocolError(
            f"protocol {protocol!r} needs the group column(s) {missing} in the clip table "
            f"(it has {list(table.columns)}); build the table with a dataset reader or add the column"
        )


def _loso(table: pd.DataFrame, *, per_dataset: bool) -> list[Fold]:
    from sklearn.model_selection import LeaveOneGroupOut

    keys = table["key"].to_numpy()
    subjects = table["subject"].astype(str).to_numpy()
    datasets = table["dataset"].astype(str).to_numpy() if "dataset" in table.columns else None
    folds: list[Fold] = []
    for train_idx, test_idx in LeaveOneGroupOut().split(keys, groups=subjects):
        test_subject = subjects[test_idx[0]]
        if per_dataset and datasets is not None:
            ds = datasets[test_idx[0]]
            train_idx = train_idx[datasets[train_idx] == ds]
        if len(train_idx) == 0:
            raise ProtocolError(
                f"LOSO fold {test_subject!r}: no training clips left (its dataset has a single subject)"
            )
        folds.append(Fold(test_subject, tuple(keys[train_idx]), tuple(keys[test_idx])))
    return folds


def _hde(table: pd.DataFrame, train: Any, test: Any) -> list[Fold]:
    present = sorted(table["dataset"].astype(str).unique())
    if test is None:
        raise ProtocolError(f"protocol 'hde' needs 'test' (a dataset name or a list of them); datasets here: {present}")
    tests = [test] if isinstance(test, str) else list(test)
    if train is not None and (isinstance(train, str) or not all(isinstance(t, str) for t in train)):
        raise ProtocolError(f"protocol 'hde': 'train' must be a list of dataset names, got {train!r}")
    for name in tests + list(train or []):
        if not isinstance(name, str) or canonical_dataset(name) not in present:
            raise ProtocolError(f"protocol 'hde': dataset {name!r} is not in the clip table (datasets: {present})")
    tests = [canonical_dataset(t) for t in tests]  # "SMIC", "CASME II" name the readers' smic, casme2
    train = None if train is None else [canonical_dataset(t) for t in train]
    if len(set(tests)) != len(tests):
        raise ProtocolError(f"protocol 'hde': test datasets {tests} repeat")
    keys = table["key"].to_numpy()
    datasets = table["dataset"].astype(str).to_numpy()
    folds: list[Fold] = []
    for t in tests:
        train_sets = list(train) if train is not None else [d for d in present if d != t]
        if t in train_sets:
            raise ProtocolError(
                f"protocol 'hde': test dataset {t!r} is also a training dataset {train_sets}; "
                "HDE never trains on the dataset it tests"
            )
        if not train_sets:
            raise ProtocolError(f"protocol 'hde': no training dataset left for test dataset {t!r}")
        name = f"train={'+'.join(train_sets)}_test={t}"
        folds.append(Fold(name, tuple(keys[np.isin(datasets, train_sets)]), tuple(keys[datasets == t])))
    ds_of = dict(zip(table["key"], table["dataset"]))
    for fold in folds:  # belt and braces: HDE never trains on the test dataset
        test_ds = {ds_of[k] for k in fold.test_keys}
        if test_ds & {ds_of[k] for k in fold.train_keys}:
            raise ProtocolError(f"fold {fold.name!r} trains on its test dataset {sorted(test_ds)}")
    return folds


def _kfold(table: pd.DataFrame, *, k: int, seed: int, grouped: bool, stratified: bool) -> list[Fold]:
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    keys = table["key"].to_numpy()
    n = len(keys)
    if k < 2:
        raise ProtocolError(f"protocol 'kfold': k must be at least 2, got {k}")
    use_labels = stratified and "label" in table.columns
    y = table["label"].to_numpy() if use_labels else np.zeros(n, dtype=int)
    groups = table["subject"].astype(str).to_numpy()
    if grouped:
        n_groups = len(set(groups))
        if n_groups < k:
            raise ProtocolError(f"protocol 'kfold': k={k} subject-grouped folds need at least {k} subjects, found {n_groups}")
        if use_labels:
            _check_stratifiable(y, k)
            splitter: Any = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        else:
            # GroupKFold cannot shuffle before scikit-learn 1.6; permute the group names instead
            rng = np.random.default_rng(seed)
            uniq = np.unique(groups)
            groups = dict(zip(uniq, rng.permutation(len(uniq))))
            groups = np.array([groups[g] for g in table["subject"].astype(str)])
            splitter = GroupKFold(n_splits=k)
        splits = splitter.split(keys, y, groups)
        note, mix = "", False
    else:
        if n < k:
            raise ProtocolError(f"protocol 'kfold': k={k} folds need at least {k} clips, found {n}")
        if use_labels:
            splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        else:
            splitter = KFold(n_splits=k, shuffle=True, random_state=seed)
        splits = splitter.split(keys, y)
        note, mix = CLIP_LEVEL_KFOLD_WARNING, True
        warnings.warn(f"WARNING: {CLIP_LEVEL_KFOLD_WARNING}", ClipLevelFoldsWarning, stacklevel=3)
    return [
        Fold(f"fold{i}", tuple(keys[tr]), tuple(keys[te]), note=note, subjects_may_mix=mix)
        for i, (tr, te) in enumerate(splits, start=1)
    ]


def _check_stratifiable(y: np.ndarray, k: int) -> None:
    values, counts = np.unique(y, return_counts=True)
    small = [int(v) for v, c in zip(values, counts) if c < k]
    if small:
        raise ProtocolError(
            f"protocol 'kfold': label(s) {small} have fewer than k={k} clips, so subject-grouped folds cannot be "
            "stratified; lower k or set stratified: false"
        )


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ProtocolError(f"protocol parameter {name!r} must be true or false, got {value!r}")
    return value


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ProtocolError(f"protocol parameter {name!r} must be an integer, got {value!r}")
    return int(value)
