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

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
F = TypeVar("F", bound=Callable[..., nn.Module])


def register_model(fn: F) -> F:
    """Register ``fn`` under its function name; names must be unique."""
    name = fn.__name__
    if name in _REGISTRY:
        raise ModelError(f"model {name!r} registered twice")
    _REGISTRY[name] = fn
    return fn


def list_models() -> list[str]:
    """Names of every registered model, sorted."""
    _import_builtin_models()
    return sorted(_REGISTRY)


def create_model(name: str, **kwargs: object) -> nn.Module:
    """Build model ``name`` with keyword arguments checked against its factory's signature."""
    _import_builtin_models()
    if name not in _REGISTRY:
        raise ModelError(f"unknown model {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    fn = _REGISTRY[name]
    params = inspect.signature(fn).parameters
    allowed = [p for p in params if params[p].kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    unknown = [k for k in kwargs if k not in allowed]
    if unknown:
        raise ModelError(f"model {name!r} got unknown keyword argument(s) {unknown}; allowed: {allowed}")
    return fn(**kwargs)


def _import_builtin_models() -> None:
    """Import the model modules so their ``@register_model`` decorators run."""
    import importlib

    for mod in _BUILTIN_MODULES:
        try:
            importlib.import_module(f"microexpr.models.{mod}")
        except ModuleNotFoundError as exc:  # only a module not written yet is tolerated
            if exc.name != f"microexpr.models.{mod}":
                raise


# Modules holding registered models; add yours here.
_BUILTIN_MODULES: tuple[str, ...] = ("ststnet", "laenet", "resnet10", "atnet", "tlcnn")
