"""Atomic file writes: a reader never sees a half-written file, even if the process dies.

Every result file (fold predictions, cache arrays, metrics, artefacts) goes through these
helpers: the bytes go to a temporary file in the destination folder, are flushed and
fsynced, then renamed over the destination (an atomic operation on POSIX file systems).
Files get the mode an ordinary ``open()`` would give them (0666 less the umask), not the
0600 of a temporary file, so a shared cache or results folder stays readable to the lab.
A full disk or an unwritable folder is a :class:`~microexpr.errors.OutputError` naming the
file: nothing half-written is left, and every file written before stays.
"""

from __future__ import annotations

import codecs
import errno
import functools
import io
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import OutputError


def atomic_write(path: str | os.PathLike[str], write: Callable[[io.BufferedWriter], None]) -> Path:
    """Call ``write(fh)`` on a temporary file beside ``path`` and rename it into place."""
    dest = Path(path)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    except OSError as exc:
        raise output_error(dest, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, dest)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.errno in _OUTPUT_ERRNOS:
            raise output_error(dest, exc) from None
        raise
    return dest


_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS}


def output_error(path: Path, exc: OSError) -> OutputError:
    """The error for an OSError while writing ``path``: disk full, or not writable."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return OutputError(f"disk full while writing {path}: free some space and run the same command again "
                           "(everything written before is kept and reused)")
    return OutputError(f"cannot write {path} ({exc.strerror or exc}); choose a folder you can write to")


def check_writable(folder: str | os.PathLike[str], what: str) -> Path:
    """Create ``folder`` if needed and make sure files can be written in it, before any work."""
    d = Path(folder).expanduser()
    try:
        if d.exists() and not d.is_dir():
            raise OutputError(f"{what} {d} is a file, not a folder; give a folder")
        d.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=d)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{what} {d} is not a writable folder ({exc.strerror or exc}); choose another") from None
    return d


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    """The process umask, read once (reading it means setting it, which is not thread-safe)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically (NaN is written as null-compatible NaN)."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def atomic_save_npz(path: str | os.PathLike[str], **arrays: np.ndarray) -> Path:
    """Save arrays into an uncompressed ``.npz`` atomically."""
    return atomic_write(path, lambda fh: np.savez(fh, **arrays))


def atomic_save_npy(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Save one array as ``.npy`` atomically."""
    return atomic_write(path, lambda fh: np.save(fh, array, allow_pickle=False))


def read_text_file(path: str | os.PathLike[str], what: str) -> str:
    """The text of a user's CSV or list: UTF-8 (with or without BOM) or UTF-16 with a BOM
    (Excel's "Unicode text"); anything else is a DatasetFormatError naming the file and the fix."""
    from .errors import DatasetFormatError

    p = Path(path)
    raw = p.read_bytes()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetFormatError(
            f"{what} {p} is not UTF-8 text (byte {exc.start} is {raw[exc.start:exc.start + 1]!r}: Latin-1 or another "
            "legacy encoding?); save it as UTF-8, e.g. 'CSV UTF-8' in a spreadsheet program"
        ) from None


def file_slug(name: str) -> str:
    """File-name-safe slug of a fold or clip name (``casme2/sub01`` -> ``casme2__sub01``)."""
    return re.sub(r"[^A-Za-z0-9._=+-]", "_", str(name).replace("/", "__"))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")
