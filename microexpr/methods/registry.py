"""Method registry: config ``method: {name: ..., params...}`` -> a method instance.

Unknown names and unknown parameters are errors listing what is allowed.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable, TypeVar

from ..errors import ConfigError

_METHODS: dict[str, type] = {}
C = TypeVar("C", bound=type)


def register_method(name: str) -> Callable[[C], C]:
    """Class decorator registering a method class under ``name``."""

    def deco(cls: C) -> C:
        if name in _METHODS:
            raise ConfigError(f"method {name!r} registered twice")
        _METHODS[name] = cls
        return cls

    return deco


def list_methods() -> list[str]:
    _import_builtin_methods()
    return sorted(_METHODS)


def method_class(name: str) -> type:
    _import_builtin_methods()
    if name not in _METHODS:
        raise ConfigError(f"unknown method {name!r}; available: {', '.join(sorted(_METHODS))}")
    return _METHODS[name]


def create_method(name: str, params: dict[str, Any] | None = None) -> Any:
    """Instantiate method ``name``; ``params`` are checked against its constructor."""
    cls = method_class(name)
    params = dict(params or {})
    sig = inspect.signature(cls.__init__).parameters
    allowed = [p for p in sig if p != "self" and sig[p].kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    unknown = [k for k in params if k not in allowed]
    if unknown:
        raise ConfigError(f"method {name!r}: unknown parameter(s) {unknown}; allowed: {allowed}")
    return cls(**params)


def _import_builtin_methods() -> None:
    for mod in _BUILTIN_MODULES:
        try:
            importlib.import_module(f"microexpr.methods.{mod}")
        except ModuleNotFoundError as exc:
            if exc.name != f"microexpr.methods.{mod}":
                raise


# Modules holding registered methods; add yours here.
_BUILTIN_MODULES: tuple[str, ...] = ("simple", "flownets", "handcrafted", "apexnets", "atnet", "tlcnn")
