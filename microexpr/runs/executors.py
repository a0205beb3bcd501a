"""Where a run's units of work run: ``executor: local | processes | ray`` (``--executor``).

A unit (:class:`~microexpr.runs.engine.UnitJob`) is one fold, or one batched group of folds,
of one seed of one run; it writes each fold's history, audit and prediction files atomically
and skips folds whose file exists. So every executor gives the same run directory: a fold
appears exactly once whatever crashed or was retried, and a rerun computes only what is
missing. We use the engines that exist for this and write no scheduler:

- ``local`` — in this process, one unit after another (the default; what CI tests most).
- ``processes`` — a :class:`concurrent.futures.ProcessPoolExecutor` of ``n_jobs`` workers
  (default: one per core), started with ``spawn`` (no fork of a process that holds OpenMP or
  CUDA state). Each worker uses ``threads`` PyTorch threads (default ``cores // workers``) and
  one preprocessing process; the parent fills the inputs cache first for methods that declare their input. A
  worker that dies (killed, out of memory) breaks the pool: its units are resubmitted to a
  fresh pool, up to :data:`RETRIES` times.
- ``ray`` — each unit a Ray task declaring ``num_cpus=1`` (and ``num_gpus=1`` when the run's
  device is CUDA, or ``auto`` on a cluster that has GPUs), retried by Ray when its worker dies
  (``max_retries``); the clip table goes through Ray's object store, cached inputs by path
  (``cache_dir`` must then be on a filesystem every node sees, as must the run directory).
  ``ray_address`` (``--address``): ``null`` starts a local Ray for the run and stops it
  afterwards; ``auto`` or ``HOST:PORT`` joins a running cluster. Ray is an optional extra:
  ``pip install microexpr[ray]``.

Failpoint for tests (documented so that nobody wonders): with the environment variable
``MICROEXPR_FAILPOINT_KILL_UNIT`` set to a file path, the first unit to start in a worker
creates that file and kills its own process (SIGKILL), as a crashed node would; later units
see the file and run normally. Without the variable nothing happens.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MicroexprError
from .engine import UnitJob, run_logging, run_unit

RETRIES = 3
FAILPOINT_ENV = "MICROEXPR_FAILPOINT_KILL_UNIT"


def run_jobs(jobs: Sequence[UnitJob], executor: str, *, workers: int | None, address: str | None,
             log: logging.Logger, progress: bool, per_run_logs: bool = False,
             threads: int | None = None) -> list[tuple[Any, ...]]:
    """Run every unit on ``executor``; the ``(seed, fold)`` pairs computed, in job order, or with
    ``per_run_logs`` (sweeps: units of several runs) ``(run_dir, seed, fold)`` and each local
    unit's log lines in its own run's ``run.log`` (workers always log there). ``threads``: PyTorch
    threads per unit (default: PyTorch's own in this process, cores/workers in workers)."""
    if not jobs:
        return []
    if executor == "local":
        import torch

        before = torch.get_num_threads()
        try:
            if threads:
                torch.set_num_threads(threads)
            triples = _run_local(jobs, progress, per_run_logs)
        finally:
            torch.set_num_threads(before)
    else:
        triples = _run_elsewhere(jobs, executor, workers, address, log, progress, threads)
    return triples if per_run_logs else [(seed, fold) for _, seed, fold in triples]


def _run_elsewhere(jobs: Sequence[UnitJob], executor: str, workers: int | None, address: str | None,
                   log: logging.Logger, progress: bool, threads: int | None) -> list[tuple[Any, ...]]:
    n = max(1, min(int(workers or os.cpu_count() or 1), len(jobs)))
    log.info("executor %s: %d unit(s) of work on %s", executor, len(jobs),
             f"{n} worker process(es)" if executor == "processes" else f"Ray ({address or 'local instance'})")
    if executor == "processes":
        return _run_processes(jobs, n, log, progress, threads or max(1, (os.cpu_count() or 1) // n))
    if executor == "ray":
        return _run_ray(jobs, n, address, log, progress, threads)
    raise ConfigError(f"executor {executor!r} unknown; use local, processes or ray")


def _bar(total: int, progress: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="unit", disable=not progress)


def _run_local(jobs: Sequence[UnitJob], progress: bool, per_run_logs: bool) -> list[tuple[Any, ...]]:
    import contextlib

    done: list[tuple[Any, ...]] = []
    bar = _bar(len(jobs), progress and len(jobs) > 1, jobs[0].config.name)
    try:
        for job in jobs:
            bar.set_postfix_str(job.describe())
            with run_logging(Path(job.run_dir) / "run.log") if per_run_logs else contextlib.nullcontext():
                done += [(job.run_dir, seed, fold) for seed, fold in run_unit(job)]
            bar.update(1)
    finally:
        bar.close()
    return done


# --------------------------------------------------------------------------- worker side


def worker_unit(job: UnitJob, threads: int) -> list[tuple[int, str]]:
    """A unit in a worker process: its log lines go to the run's ``run.log``, PyTorch uses
    ``threads`` threads, preprocessing one process (the parent filled the cache)."""
    import torch

    _failpoint()
    torch.set_num_threads(max(1, threads))
    with run_logging(Path(job.run_dir) / "run.log", tag=f"worker {os.getpid()}"):
        return run_unit(job, n_jobs=1)


def _failpoint() -> None:
    marker = os.environ.get(FAILPOINT_ENV)
    if not marker:
        return
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, f"killed worker {os.getpid()}\n".encode())
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)


# --------------------------------------------------------------------------- processes


def _run_processes(jobs: Sequence[UnitJob], n: int, log: logging.Logger, progress: bool,
                   threads: int) -> list[tuple[Any, ...]]:
    import multiprocessing

    results: dict[int, list[tuple[Any, ...]]] = {}
    remaining = list(range(len(jobs)))
    bar = _bar(len(jobs), progress, f"{jobs[0].config.name} ({n} processes)")
    try:
        for attempt in range(RETRIES + 1):
            broken = False
            with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = {pool.submit(worker_unit, jobs[i], threads): i for i in remaining}
                pending = set(futures)
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        i = futures[fut]
                        try:
                            results[i] = [(jobs[i].run_dir, seed, fold) for seed, fold in fut.result()]
                            bar.update(1)
                        except BrokenProcessPool:
                            broken = True
                        except BaseException:
                            for other in pending:
                                other.cancel()  # units already running finish and keep their files
                            raise
            remaining = [i for i in remaining if i not in results]
            if not remaining:
                break
            if not broken or attempt == RETRIES:
                raise MicroexprError(f"{len(remaining)} unit(s) of work were lost with their worker process "
                                     f"{RETRIES + 1} times; finished folds are kept: rerun the same command to compute "
                                     "the rest")
            log.warning("a worker process died (killed or out of memory); resubmitting %d unit(s) to a fresh pool",
                        len(remaining))
    finally:
        bar.close()
    return [pair for i in range(len(jobs)) for pair in results.get(i, [])]


# --------------------------------------------------------------------------- Ray


def _run_ray(jobs: Sequence[UnitJob], n: int, address: str | None, log: logging.Logger,
             progress: bool, threads: int | None) -> list[tuple[Any, ...]]:
    try:
        import ray
    except ImportError:
        raise ConfigError("executor ray needs Ray: pip install 'microexpr[ray]' (or pip install ray), or use "
                          "executor local or processes") from None
    started = not ray.is_initialized()
    if started:
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address:
            kwargs["address"] = address
        else:
            kwargs["num_cpus"] = n
        env = {k: os.environ[k] for k in (FAILPOINT_ENV, "MICROEXPR_CACHE") if k in os.environ}
        if env:
            kwargs["runtime_env"] = {"env_vars": env}
        ray.init(**kwargs)
    try:
        gpus = _gpus_per_unit(jobs[0].config.device, ray.cluster_resources())
        cpus = max(1.0, float(ray.cluster_resources().get("CPU", n)))
        task = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=RETRIES, retry_exceptions=False)(_ray_unit)
        data_refs: dict[int, Any] = {}
        refs = {}
        for i, job in enumerate(jobs):
            key = id(job.data)
            if key not in data_refs:  # one copy of each run's clips in the object store
                data_refs[key] = ray.put(job.data)
            per_unit = threads or int(max(1, cpus // min(n, len(jobs))))
            refs[task.remote(_without_data(job), data_refs[key], per_unit)] = i
        log.info("ray: %d task(s) submitted (num_cpus=1, num_gpus=%s, max_retries=%d)", len(refs), gpus, RETRIES)
        results: dict[int, list[tuple[Any, ...]]] = {}
        bar = _bar(len(jobs), progress, f"{jobs[0].config.name} (ray)")
        try:
            pending = list(refs)
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    try:
                        results[refs[ref]] = [(jobs[refs[ref]].run_dir, seed, fold) for seed, fold in ray.get(ref)]
                    except ray.exceptions.RayTaskError as exc:
                        cause = getattr(exc, "cause", None)
                        raise (cause if isinstance(cause, BaseException) else exc) from None
                    except ray.exceptions.WorkerCrashedError as exc:
                        raise MicroexprError(f"a Ray worker died {RETRIES + 1} times running "
                                             f"{jobs[refs[ref]].describe()}; finished folds are kept: rerun the same "
                                             "command to compute the rest") from exc
                    bar.update(1)
        finally:
            bar.close()
        return [pair for i in range(len(jobs)) for pair in results.get(i, [])]
    finally:
        if started:
            ray.shutdown()


def _gpus_per_unit(device: str, resources: dict[str, float]) -> float:
    d = str(device).lower()
    if d.startswith("cuda"):
        return 1.0
    if d == "auto" and resources.get("GPU", 0) > 0:
        return 1.0
    return 0.0


def _without_data(job: UnitJob) -> UnitJob:
    import dataclasses

    return dataclasses.replace(job, data=None)  # type: ignore[arg-type]


def _ray_unit(job: UnitJob, data: Any, threads: int) -> list[tuple[int, str]]:
    import dataclasses

    return worker_unit(dataclasses.replace(job, data=data), threads)
