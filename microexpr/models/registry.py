"""A tiny model registry in the style of timm.

``@register_model`` on a factory function makes it available as ``create_model(name, **kw)``.
Unknown names and unknown keyword arguments are errors that list what is allowed, so a
typo in a config never silently falls back to a default.
"""

from __future__ import annotations

import inspect
from typing import Callable, TypeVar

import torch.nn as nn

from ..errors import ModelError
from ..registry import Registry

MODELS: Registry[Callable[..., nn.Module]] = Registry("model", package="microexpr.models", error=ModelError)
"""Every model factory: the ``@register_model`` functions of every module of ``microexpr.models``."""
_REGISTRY = MODELS  # the name the registry-wide test harness reads factories' harness_kwargs from
F = TypeVar("F", bound=Callable[..., nn.Module])


def register_model(fn: F) -> F:
    """Register ``fn`` under its function name; names must be unique."""
    return MODELS.add(fn.__name__, fn)


def list_models() -> list[str]:
    """Names of every registered model, sorted."""
    return MODELS.names()


def create_model(name: str, **kwargs: object) -> nn.Module:
    """Build model ``name`` with keyword arguments checked against its factory's signature."""
    fn = MODELS.get_or_error(name)
    params = inspect.signature(fn).parameters
    allowed = [p for p in params if params[p].kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    unknown = [k for k in kwargs if k not in allowed]
    if unknown:
        raise ModelError(f"model {name!r} got unknown keyword argument(s) {unknown}; allowed: {allowed}")
    return fn(**kwargs)
