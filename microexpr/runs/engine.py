"""The protocol engine: config -> folds -> per-fold predictions on disk -> pooled metrics.

Resumability: each fold's predictions are written atomically to
``folds/seed<S>/<fold-slug>.csv`` as soon as the fold ends. Running the same run directory
again (same resolved config, same clips) skips every fold whose file exists, and the final
``predictions.csv``/``metrics.json`` are always rebuilt from the fold files, so an
interrupted-then-resumed run gives the same table as an uninterrupted one.

Determinism: before each fold the global RNGs (``random``, NumPy, and torch when it is
imported) are seeded from the run seed and the fold name, so a fold's result does not
depend on which folds ran before it in the same process. ``RunContext.seed`` is the run
seed itself. Batched methods (``fit_predict_folds``) get the RNGs seeded from the run seed
once for all pending folds; their resumed results are identical only if the method
trains each fold independently of the others.

Leakage guards: folds are verified subject-disjoint before any training; methods see the
test clips without ``label``/``label_name``; auxiliary (pretraining) datasets may not
contain a subject that some fold tests.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..cache_dirs import input_cache_dir
from ..cliptable import subset
from ..config import RunConfig, dump_config, resolve_config, result_relevant
from ..devices import compute_for
from ..errors import ConfigError, ModelError, ProtocolError
from ..io_utils import atomic_write_json, atomic_write_text, check_writable
from ..methods.base import RunContext
from ..protocols import Fold, make_folds, verify_folds
from ..provenance import provenance, version_string
from ..training.audit import AuditRecorder, auditing
from ..training.history import collect_histories, write_history
from .audit import audit_file, summarise_audit, write_audit
from .data import RunData, load_run_data
from .layout import RunPaths, fold_frame, fold_slugs, read_fold_file, write_fold_file
from .lock import run_lock
from .summary import summarise

LOGGER_NAME = "microexpr"
FOLD_LOGGER_NAME = "microexpr.runs.folds"  # per-fold lines: run.log only, not the console
_TEST_HIDDEN_COLUMNS = ("label", "label_name")


@dataclass
class RunResult:
    """What a run produced: its directory, metrics, pooled predictions and folds.

    ``computed`` and ``skipped`` list ``(seed, fold name)`` pairs trained in this call and
    reused from an earlier (interrupted) call.
    """

    run_dir: Path
    metrics: dict[str, Any]
    predictions: pd.DataFrame
    folds: list[Fold]
    computed: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def execute_run(
    config: RunConfig,
    run_dir: str | os.PathLike[str],
    *,
    progress: bool = True,
    data: RunData | None = None,
) -> RunResult:
    """Run ``config`` in ``run_dir`` (created if needed; resumed if it holds the same run).

    ``data`` lets a caller supply the labelled clip table directly instead of reading the
    config's datasets (its ``data.datasets`` roots are then not needed).
    Raises :class:`ConfigError` if ``run_dir`` holds a run with a different config or
    different clips. A config with a ``sweep`` section is run by :func:`execute_sweep`.
    """
    if config.sweep is not None:
        raise ConfigError(f"config {config.name!r} has a sweep section: run it with execute_sweep (`microexpr run` "
                          "does so), which gives each of its points a run directory")
    with contextlib.ExitStack() as stack:
        prepared = _prepare(config, Path(run_dir), data, progress, stack)
        with run_logging(prepared.paths.log) as log:
            computed = dispatch(prepared.jobs, config, log=log, progress=progress)
        return _finish(prepared, computed)


@dataclass
class SweepResult:
    """A finished sweep: its folder, and each point's name and :class:`RunResult`."""

    root: Path
    points: dict[str, RunResult]


def execute_sweep(config: RunConfig, out_dir: str | os.PathLike[str], *, progress: bool = True,
                  data: RunData | None = None) -> SweepResult:
    """Run every point of ``config``'s sweep (methods x parameter grid; each point with all the
    config's seeds) as ONE job on the config's executor: ``OUT/<point>/`` is an ordinary,
    resumable run directory, ``OUT/sweep.json`` lists the points (``microexpr report OUT``
    lays them out as one table, mean +- std over seeds)."""
    from .sweeps import expand_sweep, write_sweep_index

    root = Path(out_dir)
    check_writable(root, "sweep directory (--out)")
    points = expand_sweep(config)
    write_sweep_index(root, config, points)  # first: a sweep that dies is still a sweep folder to resume and report
    if data is None:
        with run_logging(root / "sweep.log") as log:
            data = load_run_data(points[0][1], log)  # every point reads the same data section
    with contextlib.ExitStack() as stack:
        prepared = [_prepare(cfg, root / name, data, progress, stack) for name, cfg in points]
        jobs = [job for prep in prepared for job in prep.jobs]
        with run_logging(root / "sweep.log") as log:
            log.info("sweep %s: %d point(s), %d unit(s) of work on executor %s", config.name, len(points), len(jobs),
                     config.executor)
            computed = dispatch(jobs, config, log=log, progress=progress, per_run_logs=True)
        results = {name: _finish(prep, [c for c in computed if c[0] == prep.paths.root])
                   for (name, _), prep in zip(points, prepared)}
    return SweepResult(root, results)


@dataclass
class _Prepared:
    config: RunConfig
    paths: RunPaths
    data: RunData
    folds: list[Fold]
    slugs: dict[str, str]
    notes: list[str]
    compute: Any
    jobs: list["UnitJob"]
    skipped: list[tuple[int, str]]


def _prepare(config: RunConfig, run_dir: Path, data: RunData | None, progress: bool,
             stack: contextlib.ExitStack) -> _Prepared:
    """Bind ``run_dir`` to the run (lock held on ``stack`` until the caller is done, config and
    clips checked and written, folds made and verified) and plan the units still to compute."""
    paths = RunPaths(run_dir)
    resolved = resolve_config(config, require_roots=data is None)
    compute = compute_for(config.device, config.precision)  # a missing GPU is named before anything is read or written
    check_writable(paths.root, "run directory (--out)")
    with run_logging(paths.log) as log:
        stack.enter_context(run_lock(paths.root, log))
        _check_same_run(paths, resolved)
        config_text = dump_config(resolved)
        atomic_write_text(paths.config, config_text)
        log.info("run %s in %s (method %s, protocol %s, seeds %s)", config.name, paths.root, config.method.name, config.protocol.name, config.seeds)
        log.info("microexpr %s", version_string())
        if data is None:
            data = load_run_data(config, log)
        data.check()
        _check_same_clips(paths, data.table)
        folds = make_folds(data.table, config.protocol.name, **config.protocol.params)
        verify_folds(data.table, folds, every_clip_tested=config.protocol.name != "hde")
        _check_aux_disjoint(data, folds)
        slugs = fold_slugs(folds)
        notes = list(dict.fromkeys(f.note for f in folds if f.note))
        for note in notes:
            log.warning("%s", note)
        _write_folds_json(paths, config, folds, slugs, data.table, notes)

        ctx = run_context(config, paths.root, data, progress=progress, log=log)
        log.info("device %s, precision %s (torch %s)", compute.device, compute.precision, torch_version())
        skipped: list[tuple[int, str]] = []
        jobs: list[UnitJob] = []
        for seed in config.seeds:
            _assert_config_unchanged(paths, config_text)
            done = [f for f in folds if paths.fold_file(seed, slugs[f.name]).exists()]
            pending = [f for f in folds if not paths.fold_file(seed, slugs[f.name]).exists()]
            skipped += [(seed, f.name) for f in done]
            if done:
                log.info("seed %d: %d fold(s) already finished, skipping them", seed, len(done))
            jobs += plan_units(config, paths.root, data, pending, slugs, seed, config_text, progress)
        if jobs:
            warm_inputs(config, data, ctx, log)  # cached inputs reach every unit by path, computed once
    return _Prepared(config, paths, data, folds, slugs, notes, compute, jobs, skipped)


def _finish(prep: _Prepared, computed: list[tuple[Any, ...]]) -> RunResult:
    """Pool the fold files of a prepared run into ``predictions.csv`` and ``metrics.json``."""
    config, paths, data, folds, slugs = prep.config, prep.paths, prep.data, prep.folds, prep.slugs
    with run_logging(paths.log) as log:
        frames = [read_fold_file(paths.fold_file(seed, slugs[f.name]), f, data.classes)
                  for seed in config.seeds for f in folds]
        predictions = pd.concat(frames, ignore_index=True)
        atomic_write_text(paths.predictions, predictions.to_csv(index=False, float_format="%.17g"))
        header = {
            "name": config.name,
            "method": config.method.name,
            "protocol": config.protocol.name,
            "synthetic": bool(config.data.synthetic or data.synthetic),
            "notes": prep.notes + list(data.notes),
            "microexpr": provenance(),
            "compute": prep.compute.describe(),
        }
        metrics = summarise(predictions, data.classes, seeds=config.seeds, with_per_fold_mean=config.per_fold_mean, header=header)
        if config.audit.test_every:
            audit = summarise_audit(paths.root, config.seeds, [slugs[f.name] for f in folds], data.classes,
                                    metrics["per_seed"], config.audit.test_every)
            if audit is not None:
                metrics["audit"] = audit
                log.info("leakage audit: honest UF1 %.4f, best epoch per test fold %.4f (inflation %+.4f)",
                         audit["honest"]["uf1"], audit["oracle"]["uf1"], audit["inflation"]["uf1"])
        atomic_write_json(paths.metrics, metrics)
        o = metrics["overall"]
        log.info("finished: N=%d acc=%.4f uf1=%.4f uar=%.4f", o["n"], o["acc"], o["uf1"], o["uar"])
    pairs = [(c[-2], c[-1]) for c in computed]
    return RunResult(paths.root, metrics, predictions, folds, pairs, prep.skipped)


# --------------------------------------------------------------------------- folds


def run_context(config: RunConfig, run_dir: Path, data: RunData, *, progress: bool,
                log: logging.Logger | None = None) -> RunContext:
    """The context a run's methods see (also what ``microexpr export`` re-fits in): classes,
    auxiliary tables, process count, and the inputs cache of :func:`microexpr.cache_dirs.input_cache_dir`."""
    cache = input_cache_dir(config.cache_dir)
    check_writable(cache, "cache_dir")  # before any worker process needs it
    n_jobs = config.n_jobs or os.cpu_count() or 1
    return RunContext(
        run_dir=Path(run_dir),
        cache_dir=cache,
        classes=tuple(data.classes),
        n_jobs=n_jobs,
        progress=progress,
        aux_tables=dict(data.aux_tables),
        log=log or logging.getLogger(f"{LOGGER_NAME}.runs"),
    )


@dataclass
class UnitJob:
    """One unit of work: one fold, or one batched group of folds, of one seed of one run. It
    carries everything a worker process or a Ray task needs (config, clips, folds, run
    directory); the inputs cache is reached by path. A unit writes each fold's files atomically
    and skips folds whose file already exists, so a retried unit never writes a fold twice."""

    config: RunConfig
    run_dir: Path
    data: RunData
    folds: tuple[Fold, ...]
    slugs: dict[str, str]
    seed: int
    batched: bool
    config_text: str
    progress: bool = False

    def describe(self) -> str:
        what = f"{len(self.folds)} batched folds" if self.batched else f"fold {self.folds[0].name}"
        return f"{self.config.name} seed {self.seed} {what}"


def plan_units(config: RunConfig, run_dir: Path, data: RunData, pending: list[Fold], slugs: dict[str, str], seed: int,
               config_text: str, progress: bool) -> list[UnitJob]:
    """The units of ``pending`` folds of one seed: groups of the method's ``fold_chunk`` (all
    pending folds if it has none) for a batched method (``batched_folds``), else one per fold."""
    from ..methods.registry import create_method

    if not pending:
        return []
    probe = create_method(config.method.name, config.method.params)
    if config.batched_folds and hasattr(probe, "fit_predict_folds"):
        group = max(1, int(getattr(probe, "fold_chunk", 0) or len(pending)))
        return [UnitJob(config, run_dir, data, tuple(pending[i:i + group]), slugs, seed, True, config_text, progress)
                for i in range(0, len(pending), group)]
    return [UnitJob(config, run_dir, data, (f,), slugs, seed, False, config_text, progress) for f in pending]


def run_unit(job: UnitJob, *, n_jobs: int | None = None) -> list[tuple[int, str]]:
    """Compute the folds of ``job`` that have no fold file yet, under the run's device and
    precision; returns the ``(seed, fold)`` pairs written. ``n_jobs`` overrides the
    preprocessing process count (workers of an executor use 1: the parent warmed the cache)."""
    from ..devices import compute_for, using

    paths = RunPaths(job.run_dir)
    log = logging.getLogger(f"{LOGGER_NAME}.runs")
    todo = [f for f in job.folds if not paths.fold_file(job.seed, job.slugs[f.name]).exists()]
    if not todo:
        return []
    ctx = replace(run_context(job.config, paths.root, job.data, progress=job.progress, log=log), seed=job.seed)
    if n_jobs is not None:
        ctx = replace(ctx, n_jobs=n_jobs)
    with using(compute_for(job.config.device, job.config.precision)):
        if job.batched:
            return _run_batched(job, paths, todo, ctx, log)
        return [_run_fold(job, paths, fold, ctx) for fold in todo]


def _run_batched(job: UnitJob, paths: RunPaths, part_folds: list[Fold], ctx: RunContext,
                 log: logging.Logger) -> list[tuple[int, str]]:
    from ..methods.registry import create_method

    config, data, seed, slugs = job.config, job.data, job.seed, job.slugs
    subject_of = dict(zip(data.table["key"], data.table["subject"]))
    part = [(f, subset(data.table, list(f.train_keys)), subset(data.table, list(f.test_keys))) for f in part_folds]
    method = create_method(config.method.name, config.method.params)
    test_subjects = frozenset(subject_of[k] for f, _, _ in part for k in f.test_keys)
    bctx = ctx.for_fold(f"{len(part)} batched folds", test_subjects)
    seed_everything(seed)
    log.info("seed %d: training %d fold(s) at once (fit_predict_folds): %s ... %s", seed, len(part),
             part[0][0].name, part[-1][0].name)
    recorders = _audit_recorders(config, [te for _, _, te in part])
    with collect_histories() as histories, auditing(recorders):
        outputs = method.fit_predict_folds([(tr, _hide_labels(te)) for _, tr, te in part], bctx)
    if len(outputs) != len(part):
        raise ModelError(f"method {config.method.name!r}: fit_predict_folds returned {len(outputs)} results "
                         f"for {len(part)} folds")
    done: list[tuple[int, str]] = []
    for i, ((fold, _, test), proba) in enumerate(zip(part, outputs)):
        # history and audit first: the fold file, written last, marks the fold done
        write_history(paths.history_file(seed, slugs[fold.name]), [e for e in histories if e[1] in (i, None)])
        _save_audit(config, paths, seed, slugs[fold.name], test, recorders, i, data.classes, log)
        _finish_fold(config, paths, data, fold, slugs, seed, test, proba, log, job.config_text)
        done.append((seed, fold.name))
    return done


def _run_fold(job: UnitJob, paths: RunPaths, fold: Fold, ctx: RunContext) -> tuple[int, str]:
    from ..methods.registry import create_method

    config, data, seed, slugs = job.config, job.data, job.seed, job.slugs
    subject_of = dict(zip(data.table["key"], data.table["subject"]))
    train, test = subset(data.table, list(fold.train_keys)), subset(data.table, list(fold.test_keys))
    method = create_method(config.method.name, config.method.params)
    fctx = ctx.for_fold(fold.name, frozenset(subject_of[k] for k in fold.test_keys))
    seed_everything(_fold_seed(seed, fold.name))
    recorders = _audit_recorders(config, [test])
    with collect_histories() as histories, auditing(recorders):
        method.fit(train, fctx)
    proba = method.predict_proba(_hide_labels(test), fctx)
    write_history(paths.history_file(seed, slugs[fold.name]), histories)  # before the fold file that marks it done
    _save_audit(config, paths, seed, slugs[fold.name], test, recorders, 0, data.classes, ctx.log)
    _finish_fold(config, paths, data, fold, slugs, seed, test, proba, ctx.log, job.config_text)
    return seed, fold.name


def warm_inputs(config: RunConfig, data: RunData, ctx: RunContext, log: logging.Logger) -> None:
    """Fill the inputs cache for every clip before units are dispatched to other processes, for
    methods that can (``prepare_inputs(table, ctx)``): workers then only read it."""
    if config.executor == "local":
        return  # the first fold fills the cache with the run's process pool, as before
    from ..methods.registry import create_method

    method = create_method(config.method.name, config.method.params)
    if hasattr(method, "prepare_inputs"):
        log.info("filling the inputs cache for %d clips before dispatching units", len(data.table))
        method.prepare_inputs(data.table, ctx)


def dispatch(jobs: list[UnitJob], config: RunConfig, *, log: logging.Logger, progress: bool,
             per_run_logs: bool = False) -> list[tuple[Any, ...]]:
    """Run ``jobs`` on the config's executor (:mod:`microexpr.runs.executors`); the pairs computed
    (``(seed, fold)``; with ``per_run_logs``, for sweeps, ``(run_dir, seed, fold)`` and each
    unit's lines go to its own run's ``run.log``)."""
    from .executors import run_jobs

    return run_jobs(jobs, config.executor, workers=config.n_jobs, address=config.ray_address, log=log,
                    progress=progress, per_run_logs=per_run_logs, threads=config.threads)


def _audit_recorders(config: RunConfig, tests: list[pd.DataFrame]) -> list[AuditRecorder] | None:
    """One leakage-audit recorder per fold (test labels hidden from the method), or None."""
    every = config.audit.test_every
    return [AuditRecorder(every, test=_hide_labels(t)) for t in tests] if every else None


def _save_audit(config: RunConfig, paths: RunPaths, seed: int, slug: str, test: pd.DataFrame,
                recorders: list[AuditRecorder] | None, i: int, classes: Any, log: logging.Logger) -> None:
    if not recorders:
        return
    rec = recorders[i]
    if rec.scorer is None or not rec.epochs:
        log.warning("leakage audit: method %r does not support it (its training was not audited)", config.method.name)
        return
    write_audit(audit_file(paths.root, seed, slug), rec, test, classes)


def _finish_fold(
    config: RunConfig, paths: RunPaths, data: RunData, fold: Fold, slugs: dict[str, str], seed: int,
    test: pd.DataFrame, proba: Any, log: logging.Logger, config_text: str,
) -> None:
    proba = _check_proba(proba, len(test), len(data.classes), config.method.name, fold.name)
    _assert_config_unchanged(paths, config_text)
    frame = fold_frame(test, fold.name, seed, proba, test["label"].to_numpy(), data.classes)
    write_fold_file(paths.fold_file(seed, slugs[fold.name]), frame)
    acc = float(np.mean(frame["y_true"] == frame["y_pred"]))
    logging.getLogger(FOLD_LOGGER_NAME).info("seed %d fold %s: %d train, %d test, fold accuracy %.3f", seed, fold.name, len(fold.train_keys), len(test), acc)


def _check_proba(proba: Any, n: int, k: int, method: str, fold: str) -> np.ndarray:
    arr = np.asarray(proba, dtype=np.float64)
    where = f"method {method!r}, fold {fold!r}: predict_proba"
    if arr.shape != (n, k):
        raise ModelError(f"{where} returned shape {arr.shape}, expected ({n} test clips, {k} classes)")
    if not np.all(np.isfinite(arr)):
        raise ModelError(f"{where} returned non-finite probabilities")
    if (arr < -1e-9).any():
        raise ModelError(f"{where} returned negative probabilities (min {arr.min():.3g})")
    sums = arr.sum(axis=1)
    bad = np.where(np.abs(sums - 1.0) > 1e-5)[0]
    if len(bad):
        raise ModelError(f"{where}: rows must sum to 1, but {len(bad)} row(s) do not (e.g. row {bad[0]} sums to {sums[bad[0]]:.6g})")
    return arr


def _hide_labels(test: pd.DataFrame) -> pd.DataFrame:
    return test.drop(columns=[c for c in _TEST_HIDDEN_COLUMNS if c in test.columns])


def _fold_seed(seed: int, fold: str) -> int:
    return zlib.crc32(f"{seed}:{fold}".encode()) & 0x7FFFFFFF


def torch_version() -> str:
    import torch

    return torch.__version__


def seed_everything(seed: int) -> None:
    """Seed ``random``, NumPy and torch (when imported) from ``seed``: before each fold, and
    before ``microexpr export`` re-fits a run's recipe."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


# --------------------------------------------------------------------------- checks and files


def _assert_config_unchanged(paths: RunPaths, config_text: str) -> None:
    """Refuse to reuse or write a fold when ``config.yaml`` is no longer this run's config
    (another run wrote it despite the lock, e.g. on a filesystem without working locks)."""
    try:
        now = paths.config.read_text(encoding="utf-8")
    except OSError:
        now = None
    if now != config_text:
        raise ConfigError(f"run directory {paths.root}: config.yaml was changed by someone else while this run was "
                          "going on; nothing more is written. Give each run its own --out directory")


def _has_results(paths: RunPaths) -> bool:
    """True once some fold has finished: from then on the run dir is bound to its config and clips."""
    return any((paths.root / "folds").rglob("*.csv"))


def _check_same_run(paths: RunPaths, resolved: dict[str, Any]) -> None:
    if not paths.config.exists() or not _has_results(paths):
        return  # nothing computed yet (e.g. a first attempt failed on a wrong path): start afresh
    old = yaml.safe_load(paths.config.read_text(encoding="utf-8")) or {}
    a, b = result_relevant(old), result_relevant(resolved)
    if a != b:
        diffs = _diff(a, b)
        raise ConfigError(
            f"run directory {paths.root} holds a run with a different config "
            f"({'; '.join(diffs[:5])}); resume it with the same config, or choose another --out directory"
        )


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b)):
            out += _diff(a.get(k, "<absent>"), b.get(k, "<absent>"), f"{path}.{k}" if path else str(k))
        return out
    return [] if a == b else [f"{path}: {a!r} in the run dir vs {b!r} now"]


def _check_same_clips(paths: RunPaths, table: pd.DataFrame) -> None:
    """Bind the run directory to its clips: ``clips.csv`` holds each clip's key, dataset,
    subject, label and a fingerprint of everything that feeds its inputs (onset, apex,
    offset, every frame file's size and time, landmarks: :func:`clip_fingerprint`). A resume
    whose clips, labels or fingerprints differ is refused, listing the clips that differ."""
    from ..inputs.clip import clip_fingerprint

    cols = ["key", "dataset", "subject", "label", "label_name"]
    now = table[cols].reset_index(drop=True).astype({"label": "int64"})
    now["fingerprint"] = [clip_fingerprint(r) for r in table.to_dict("records")]
    if paths.clips.exists() and _has_results(paths):
        old = pd.read_csv(paths.clips, dtype={"key": str, "dataset": str, "subject": str, "label_name": str,
                                              "fingerprint": str})
        compared = [c for c in now.columns if c in old.columns]  # runs started before fingerprints: the rest
        if list(old.columns) not in (cols, cols + ["fingerprint"]) or not old[compared].astype({"label": "int64"}).equals(now[compared]):
            a, b = old.set_index("key"), now.set_index("key")
            gone, new = sorted(set(a.index) - set(b.index)), sorted(set(b.index) - set(a.index))
            both = sorted(set(a.index) & set(b.index))
            relabelled = [k for k in both if [str(a.at[k, c]) for c in ("label", "label_name")] != [str(b.at[k, c]) for c in ("label", "label_name")]]
            changed = [k for k in both if "fingerprint" in a.columns and a.at[k, "fingerprint"] != b.at[k, "fingerprint"]]
            parts = [f"{what}: {ks[:5]}{' ...' if len(ks) > 5 else ''}" for what, ks in (
                ("clips no longer present", gone), ("new clips", new), ("labels changed", relabelled),
                ("annotations or frame files changed (onset/apex/offset, frames, landmarks)", changed)) if ks]
            raise ConfigError(
                f"run directory {paths.root}: the clips or their labels changed since the run started, so its "
                f"finished folds cannot be combined with new ones ({'; '.join(parts) or 'clip order differs'}); "
                "use another --out directory, or restore the copy the run started with"
            )
        return
    atomic_write_text(paths.clips, now.to_csv(index=False))


def _check_aux_disjoint(data: RunData, folds: list[Fold]) -> None:
    subject_of = dict(zip(data.table["key"], data.table["subject"]))
    tested = {subject_of[k] for f in folds for k in f.test_keys}
    for name, aux in data.aux_tables.items():
        if "subject" not in aux.columns:
            raise ProtocolError(f"auxiliary dataset {name!r} has no 'subject' column; it cannot be checked for leakage")
        leak = sorted(tested & set(aux["subject"].astype(str)))
        if leak:
            raise ProtocolError(
                f"auxiliary dataset {name!r} contains subject(s) {leak[:5]} that are tested by the protocol; "
                "pretraining on test subjects leaks: remove them from the auxiliary data"
            )


def _write_folds_json(paths: RunPaths, config: RunConfig, folds: list[Fold], slugs: dict[str, str], table: pd.DataFrame, notes: list[str]) -> None:
    subject_of = dict(zip(table["key"], table["subject"]))
    dataset_of = dict(zip(table["key"], table["dataset"]))
    atomic_write_json(
        paths.folds_json,
        {
            "protocol": config.protocol.name,
            "params": config.protocol.params,
            "notes": notes,
            "folds": [
                {
                    "name": f.name,
                    "file": slugs[f.name],
                    "n_train": len(f.train_keys),
                    "n_test": len(f.test_keys),
                    "train_datasets": sorted({dataset_of[k] for k in f.train_keys}),
                    "test_datasets": sorted({dataset_of[k] for k in f.test_keys}),
                    "n_test_subjects": len({subject_of[k] for k in f.test_keys}),
                    "subjects_may_mix": f.subjects_may_mix,
                }
                for f in folds
            ],
        },
    )


@contextlib.contextmanager
def run_logging(path: Path, tag: str = "") -> Iterator[logging.Logger]:
    """Append this execution's log to ``run.log`` (a FileHandler on the ``microexpr`` logger);
    ``tag`` marks each line (a worker process: ``worker <pid>``)."""
    logger = logging.getLogger(LOGGER_NAME)
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s %(name)s{f' [{tag}]' if tag else ''}: %(message)s"))
    old_level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    fold_logger = logging.getLogger(FOLD_LOGGER_NAME)
    old_fold = (fold_logger.level, fold_logger.propagate)
    fold_logger.setLevel(logging.INFO)
    fold_logger.propagate = False
    fold_logger.addHandler(handler)
    try:
        yield logging.getLogger(f"{LOGGER_NAME}.runs")
    finally:
        fold_logger.removeHandler(handler)
        fold_logger.setLevel(old_fold[0])
        fold_logger.propagate = old_fold[1]
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(old_level)
