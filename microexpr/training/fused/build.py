"""Compile ``kernels.c`` with the system C compiler into a cached shared library.

One library per set of ``-D`` defines (the network's geometry) and flags, in
:func:`microexpr.cache_dirs.kernel_cache_dir`. The cache key covers the source, the flags
and the CPU (``-march=native`` depends on it), so a cache shared between machines never
hands one CPU's build to another. Builds are atomic (compiled to a temporary file, then
renamed). The test suite compiles the source with ``-Wall -Wextra -Werror`` and, in the
slow suite, runs a training step under AddressSanitizer.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

KERNEL_SOURCE = Path(__file__).resolve().parent / "kernels.c"
FLAGS: tuple[str, ...] = ("-O3", "-march=native", "-fPIC", "-shared", "-std=gnu11", "-Werror=implicit-function-declaration")
STRICT_FLAGS: tuple[str, ...] = ("-Wall", "-Wextra", "-Werror")
ASAN_FLAGS: tuple[str, ...] = ("-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address", "-fPIC", "-shared", "-std=gnu11")


def cpu_tag() -> str:
    """What ``-march=native`` depends on (the CPU model and its feature flags)."""
    try:
        with open("/proc/cpuinfo") as fh:
            lines = [ln for ln in fh if ln.startswith(("model name", "flags", "Features", "CPU part"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.machine() + platform.processor()


def compilers() -> list[str]:
    """``$CC``, then ``cc``, ``gcc``, ``clang``: those found on the PATH."""
    names = [os.environ["CC"]] if os.environ.get("CC") else []
    names += ["cc", "gcc", "clang"]
    return [n for n in dict.fromkeys(names) if shutil.which(n.split()[0])]


def compile_kernels(defines: Sequence[str], *, flags: Sequence[str] = FLAGS, out_dir: Path | None = None,
                    find_compilers: Callable[[], list[str]] = compilers) -> Path:
    """The shared library of ``kernels.c`` built with ``flags`` and ``defines`` (cached);
    raises ``RuntimeError`` naming the compiler's complaint when no compiler can build it."""
    from ...cache_dirs import kernel_cache_dir

    source = KERNEL_SOURCE.read_text(encoding="utf-8")
    all_flags = [*flags, *defines]
    key = hashlib.sha256("\0".join([source, " ".join(all_flags), cpu_tag()]).encode()).hexdigest()[:20]
    out = (out_dir or kernel_cache_dir()) / f"stream_{key}.so"
    if out.exists():
        return out
    found = find_compilers()
    if not found:
        raise RuntimeError("no C compiler found (set CC, or install gcc/clang)")
    out.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        for cc in found:
            tmp_out = Path(tmp) / "stream.so"
            proc = subprocess.run([*cc.split(), *all_flags, str(KERNEL_SOURCE), "-o", str(tmp_out), "-lm"],
                                  capture_output=True, text=True, check=False)
            if proc.returncode == 0:
                os.replace(tmp_out, out)  # atomic: concurrent builders cannot see a partial file
                return out
            errors.append(f"{cc}: {proc.stderr.strip()[-500:]}")
    raise RuntimeError("compiling the fused kernels failed: " + " | ".join(errors))
