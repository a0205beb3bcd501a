"""``microexpr doctor``: is this install complete? One check per required or optional part.

Required (a run cannot work without them): Python >= 3.11, the core libraries, OpenCV
contrib's TV-L1 optical flow (the default flow), dlib with the landmark and CNN detector
model files of ``face-recognition-models``. Optional (a feature is slower or absent without
them): a C compiler for the fused STSTNet/LAENet training kernels (checked by compiling and
training two tiny folds against plain PyTorch), Chromium (the HTML-report browser test),
CUDA/MPS devices, Ray. The cache folders are reported with their size and free space.
Each failed check says how to fix it; :func:`run_checks` never raises.
"""

from __future__ import annotations

import importlib
import os
import platform
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    required: bool
    ok: bool
    detail: str
    fix: str = ""


def _version(module: str) -> str:
    mod = importlib.import_module(module)
    return str(getattr(mod, "__version__", getattr(mod, "VERSION", "?")))


def _libraries() -> list[Check]:
    out = []
    for module, pip in (("numpy", "numpy"), ("pandas", "pandas"), ("openpyxl", "openpyxl"), ("sklearn", "scikit-learn"),
                        ("skimage", "scikit-image"), ("cv2", "opencv-contrib-python-headless"), ("dlib", "dlib-bin"),
                        ("torch", "torch"), ("yaml", "pyyaml"), ("tqdm", "tqdm"), ("matplotlib", "matplotlib")):
        try:
            out.append(Check(f"library {pip}", True, True, _version(module)))
        except Exception as exc:  # any import failure is reported, never raised
            out.append(Check(f"library {pip}", True, False, f"cannot import {module}: {exc}", f"pip install {pip}"))
    return out


def _tvl1() -> Check:
    try:
        import cv2

        cv2.optflow.DualTVL1OpticalFlow_create()
        return Check("TV-L1 optical flow (OpenCV contrib)", True, True, f"cv2.optflow in OpenCV {cv2.__version__}")
    except Exception as exc:
        return Check("TV-L1 optical flow (OpenCV contrib)", True, False, str(exc).splitlines()[0][:120],
                     "pip uninstall opencv-python opencv-python-headless; pip install opencv-contrib-python-headless")


def _dlib_models() -> list[Check]:
    from .face.models import MMOD_DETECTOR, SHAPE_PREDICTOR_68, model_path

    out = []
    for label, name in (("68-point landmark model", SHAPE_PREDICTOR_68), ("CNN (mmod) face detector", MMOD_DETECTOR)):
        try:
            out.append(Check(f"dlib {label}", True, True, str(model_path(name))))
        except Exception as exc:
            out.append(Check(f"dlib {label}", True, False, str(exc)[:160], "pip install face-recognition-models"))
    return out


def _fused() -> Check:
    try:
        from .training.batched import fused_self_check

        reason = fused_self_check()
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
    if reason is None:
        return Check("fused training kernels (C compiler)", False, True, "compiled; two tiny folds equal PyTorch's")
    return Check("fused training kernels (C compiler)", False, False, reason[:200],
                 "install gcc or clang (Debian: apt-get install gcc) or set CC; without it STSTNet/LAENet train "
                 "fold by fold (same results, ~6x slower)")


def _chromium() -> Check:
    found = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if found:
        return Check("Chromium (HTML-report browser test)", False, True, found)
    return Check("Chromium (HTML-report browser test)", False, False, "not found",
                 "apt-get install chromium (only the browser test of the HTML report needs it)")


def _devices() -> Check:
    import torch

    found = []
    if torch.cuda.is_available():
        found += [f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    if found:
        return Check("GPU devices", False, True, ", ".join(found))
    return Check("GPU devices", False, False, f"none (torch {torch.__version__}, CPU build or no GPU)",
                 "optional: a CUDA build of PyTorch on a machine with an NVIDIA GPU; everything runs on the CPU")


def _ray() -> Check:
    try:
        return Check("Ray (scale-out)", False, True, _version("ray"))
    except Exception:
        return Check("Ray (scale-out)", False, False, "not installed", "optional: pip install ray")


def _folder_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def _caches() -> list[Check]:
    from .cache_dirs import cache_root, input_cache_dir, kernel_cache_dir

    out = []
    for label, path in (("input cache", input_cache_dir()), ("kernel cache", kernel_cache_dir()),
                        ("synthetic corpora", cache_root() / "synth")):
        probe = path if path.exists() else next((p for p in path.parents if p.exists()), Path("/"))
        free = shutil.disk_usage(probe).free
        size = _folder_size(path) if path.exists() else 0
        detail = f"{path} ({size / 2**20:.1f} MiB used, {free / 2**30:.1f} GiB free)"
        out.append(Check(label, False, free > 2**30, detail, "" if free > 2**30 else "free some disk space, or set "
                         "$MICROEXPR_CACHE to a folder on a larger disk"))
    return out


def run_checks(*, fused: bool = True) -> list[Check]:
    """Every check, in report order (``fused=False`` skips compiling the kernels)."""
    py_ok = sys.version_info >= (3, 11)
    checks = [Check("Python", True, py_ok, platform.python_version(), "" if py_ok else "use Python 3.11 or newer")]
    from .provenance import version_string

    checks.append(Check("microexpr", True, True, version_string()))
    steps: list[Callable[[], Check | list[Check]]] = [_libraries, _tvl1, _dlib_models]
    steps += [_fused] if fused else []
    steps += [_chromium, _devices, _ray, _caches]
    for step in steps:
        try:
            res = step()
        except Exception as exc:  # a broken optional part must not hide the others
            res = Check(step.__name__.strip("_"), False, False, f"{type(exc).__name__}: {exc}")
        checks += res if isinstance(res, list) else [res]
    return checks


def render(checks: list[Check]) -> str:
    """One screen: ``ok`` / ``MISSING`` (required) / ``missing`` (optional), the detail, the fix."""
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        mark = "ok     " if c.ok else ("MISSING" if c.required else "missing")
        lines.append(f"{mark}  {c.name.ljust(width)}  {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"{'':9}{''.ljust(width)}  fix: {c.fix}")
    bad = [c for c in checks if c.required and not c.ok]
    lines.append("all required parts present" if not bad else f"{len(bad)} required part(s) missing: "
                 + ", ".join(c.name for c in bad))
    return "\n".join(lines)
