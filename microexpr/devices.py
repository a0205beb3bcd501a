"""Where and in which precision torch code runs: ``device`` and ``precision`` of a run, ``--device``.

``device``: ``auto`` (CUDA when ``torch.cuda.is_available()``, else Apple's MPS when
available, else the CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``. Asking for a device this
machine lacks is a :class:`~microexpr.errors.ConfigError` that says what to do; nothing ever
needs a GPU to install or to pass the tests.

``precision``: ``32`` (default: float32 everywhere), ``bf16`` (autocast to bfloat16; CPU and
CUDA) or ``16-mixed`` (autocast to float16 with a gradient scaler; CUDA only).

The setting is process-wide while a run, an export or a prediction is going on
(:func:`using`): every training loop (:func:`microexpr.training.loop.train_model`, the batched
fold trainer, pretraining stages) and inference (:func:`~microexpr.training.loop.predict_proba`)
reads :func:`current`. Models go to the device for training and inference and come back to
the CPU afterwards, so methods, stage files and exported artefacts hold CPU tensors; random
draws (epoch order, dropout masks, augmentation) stay on CPU generators, so a fold sees the
same draws on any device and differs only by floating-point rounding.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import torch

from .errors import ConfigError

DEVICES_HELP = "auto | cpu | cuda | cuda:N | mps"
PRECISIONS: tuple[str, ...] = ("32", "bf16", "16-mixed")


def valid_device_spec(spec: str) -> bool:
    """Whether ``spec`` is spelled as a device (whether this machine has it is :func:`resolve_device`'s question)."""
    s = str(spec).strip().lower()
    return s in ("auto", "cpu", "cuda", "mps") or (s.startswith("cuda:") and s[5:].isdigit())


def resolve_device(spec: str | None) -> torch.device:
    """The torch device ``spec`` names on this machine; ConfigError when it is not there."""
    s = str(spec or "auto").strip().lower()
    if s == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if s == "cpu":
        return torch.device("cpu")
    if s == "cuda" or s.startswith("cuda:"):
        if not valid_device_spec(s):
            raise ConfigError(f"device {spec!r} unknown; use one of {DEVICES_HELP} (N a GPU number, e.g. cuda:0)")
        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
            raise ConfigError(f"device {spec!r}: no CUDA GPU is visible to PyTorch here (torch {torch.__version__}, "
                              f"{build}; torch.cuda.is_available() is False). Use device: auto or cpu, or install a "
                              "CUDA build of PyTorch on a machine with an NVIDIA GPU and driver")
        index = s.partition(":")[2]
        if index:
            if int(index) >= torch.cuda.device_count():
                raise ConfigError(f"device {spec!r}: this machine has {torch.cuda.device_count()} CUDA GPU(s), "
                                  f"numbered 0..{torch.cuda.device_count() - 1}")
        return torch.device(s)
    if s == "mps":
        if not _mps_available():
            raise ConfigError(f"device {spec!r}: Apple's MPS backend is not available here; use device: auto or cpu")
        return torch.device("mps")
    raise ConfigError(f"device {spec!r} unknown; use one of {DEVICES_HELP}")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


@dataclass(frozen=True)
class Compute:
    """A resolved device and precision."""

    device: torch.device = torch.device("cpu")
    precision: str = "32"

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision {self.precision!r} unknown; use one of {PRECISIONS}")
        if self.precision == "16-mixed" and self.device.type != "cuda":
            raise ConfigError(f"precision 16-mixed needs a CUDA device (float16 autocast with a gradient scaler); "
                              f"this run is on {self.device}: use precision bf16 or 32")

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The forward pass's autocast region (a no-op at precision 32)."""
        if self.precision == "32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def grad_scaler(self) -> Any:
        """A ``torch.amp.GradScaler`` for ``16-mixed`` (float16 gradients underflow without one), else None."""
        return torch.amp.GradScaler("cuda") if self.precision == "16-mixed" else None

    def describe(self) -> dict[str, Any]:
        """What ``metrics.json`` and the run log record."""
        out: dict[str, Any] = {"device": str(self.device), "precision": self.precision, "torch": torch.__version__,
                               "cuda": torch.version.cuda}
        if self.device.type == "cuda":
            out["gpu"] = torch.cuda.get_device_name(self.device)
        return out


def compute_for(device: str | None, precision: str | None = "32") -> Compute:
    """:class:`Compute` of a config's (or a command line's) ``device`` and ``precision``."""
    return Compute(resolve_device(device), str(precision if precision is not None else "32"))


_CURRENT: ContextVar[Compute] = ContextVar("microexpr_compute", default=Compute())


def current() -> Compute:
    """The device and precision torch code should use now (the CPU at float32 by default)."""
    return _CURRENT.get()


@contextlib.contextmanager
def using(compute: Compute) -> Iterator[Compute]:
    """Run the block with ``compute`` as :func:`current`."""
    token = _CURRENT.set(compute)
    try:
        yield compute
    finally:
        _CURRENT.reset(token)
