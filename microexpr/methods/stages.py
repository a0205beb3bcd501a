"""The shared shape of a per-run pretraining stage (LAENet's CK+ stage, the macro-expression
stage of ResNet-10 / Micro-Attention and ATNet's spatial stream): its data must be there,
must not hold a subject the current fold tests, and the stage is built once per run and
seed under a key of everything that determines it (``RunContext.once`` + ``stage_key``),
written atomically and read back with PyTorch's safe loader."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import torch

from ..errors import ConfigError
from ..training.checkpoints import load_state, save_state
from .base import RunContext, stage_key


def pretraining_stage(
    ctx: RunContext,
    method: Any,
    *,
    name: str,
    tables: Sequence[pd.DataFrame] | None,
    build: Callable[[], dict[str, torch.Tensor]],
    what: str,
    missing: str,
    extra_key: dict[str, Any] | None = None,
) -> dict[str, torch.Tensor]:
    """The state dict of stage ``name``, built once per run (and seed) from ``tables``.

    ``tables`` None or empty: a ConfigError saying ``missing`` (what to add or switch off).
    A subject of ``tables`` in the current test fold: a ProtocolError naming ``what``.
    ``extra_key`` joins :func:`stage_key` (settings the method's parameters do not show).
    """
    if not tables:
        raise ConfigError(missing)
    ctx.check_disjoint(set().union(*(set(t["subject"]) for t in tables)), what=what)
    key = {**stage_key(method, ctx), **({"extra": extra_key} if extra_key else {})}
    return ctx.once(name, build, save_state, load_state, key=key)
