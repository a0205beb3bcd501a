"""Where microexpr keeps what it can recompute: one rule, used by every command.

The cache root is ``$MICROEXPR_CACHE`` when set, else ``$XDG_CACHE_HOME/microexpr``, else
``~/.cache/microexpr``. Inside it: ``inputs/`` (input arrays, content-keyed: safe to share
between runs, demos and users of one machine), ``synth/`` (the demo's synthetic corpora)
and ``kernels/`` (the compiled fused training kernels). A config's ``cache_dir`` (or a
command's ``--cache``) names the inputs folder instead. ``run``, ``demo``, ``export``,
``features`` and the HTML report all resolve it here, so they share one cache.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$MICROEXPR_CACHE``, else ``$XDG_CACHE_HOME/microexpr``, else ``~/.cache/microexpr``."""
    env = os.environ.get("MICROEXPR_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "microexpr"


def input_cache_dir(configured: str | os.PathLike[str] | None = None) -> Path:
    """The input-array cache: ``configured`` (a config's ``cache_dir``) or ``<cache root>/inputs``."""
    return Path(configured).expanduser() if configured else cache_root() / "inputs"


def kernel_cache_dir() -> Path:
    """Where the fused training kernels are compiled to."""
    return cache_root() / "kernels"
