"""Which microexpr produced a result: the package version, and the git commit when it runs
from a checkout (``microexpr --version``; recorded in every run directory's
``metrics.json`` and ``run.log``)."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from . import __version__

_REPO = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def provenance() -> dict[str, object]:
    """``{"version": ..., "git_commit": sha or None, "git_dirty": bool or None}``."""
    commit, dirty = None, None
    if (_REPO / ".git").exists():
        try:
            commit = subprocess.run(["git", "-C", str(_REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                                    timeout=5, check=True).stdout.strip() or None
            status = subprocess.run(["git", "-C", str(_REPO), "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True, timeout=5, check=True).stdout
            dirty = bool(status.strip())
        except (OSError, subprocess.SubprocessError):
            commit, dirty = None, None
    return {"version": __version__, "git_commit": commit, "git_dirty": dirty}


def version_string() -> str:
    """``0.1.0`` or ``0.1.0 (git 1a2b3c4d5e6f, modified)``."""
    info = provenance()
    if not info["git_commit"]:
        return __version__
    return f"{__version__} (git {str(info['git_commit'])[:12]}{', modified' if info['git_dirty'] else ''})"
