"""One run at a time in a run directory: an exclusive lock held for the whole run.

``RUN_DIR/.lock`` is locked with ``fcntl.flock`` (the kernel releases it when the holder
dies, even after ``kill -9``) and holds the holder's PID, host and start time. A second run
on the same directory is refused at once, naming the holder. A lock file still naming a
holder although nobody holds the lock was left by a process that died: it is taken over
and that is logged. (``flock`` needs a POSIX system; on a network filesystem it must
support ``flock``, as NFSv4 and Lustre do.)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import MicroexprError

LOCK_NAME = ".lock"


class RunLockedError(MicroexprError):
    """The run directory is in use by another live run."""


def _describe(info: dict) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("started", 0)))
    return f"PID {info.get('pid', '?')} on host {info.get('host', '?')} (started {started})"


def _read_info(fd: int) -> dict:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = b""
    while chunk := os.read(fd, 4096):
        raw += chunk
    try:
        info = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError):
        info = {"pid": "?", "host": "?"}
    return info if isinstance(info, dict) else {}


@contextlib.contextmanager
def run_lock(run_dir: Path, log: logging.Logger | None = None) -> Iterator[None]:
    """Hold the exclusive lock of ``run_dir`` for the ``with`` block (see the module docstring)."""
    import fcntl

    log = log or logging.getLogger("microexpr.runs")
    path = Path(run_dir) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_info(fd)
            raise RunLockedError(
                f"run directory {run_dir} is in use by another run: {_describe(holder)}; wait for it to finish, "
                "or give this run another --out directory"
            ) from None
        stale = _read_info(fd)
        if stale:
            log.warning("run directory %s: took over the lock left by %s, which is no longer running",
                        run_dir, _describe(stale))
        me = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, me, 0)
        os.fsync(fd)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # released cleanly: nothing stale is left to report
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
