"""Method registry: config ``method: {name: ..., params...}`` -> a method instance.

Unknown names and unknown parameters are errors listing what is allowed.
"""

from __future__ import annotations

import importlib
import inspect
import typing
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
    """Instantiate method ``name``; ``params`` are checked against its constructor's names (a run
    config's values are also type-checked, by :func:`typed_params`, when the config is loaded)."""
    cls = method_class(name)
    params = dict(params or {})
    unknown = [k for k in params if k not in method_parameters(name)]
    if unknown:
        raise ConfigError(f"method {name!r}: unknown parameter(s) {unknown}; allowed: {list(method_parameters(name))}")
    return cls(**params)


def method_parameters(name: str) -> dict[str, inspect.Parameter]:
    """The constructor parameters of method ``name`` (keyword parameters, in order)."""
    sig = inspect.signature(method_class(name).__init__).parameters
    return {p: sig[p] for p in sig if p != "self"
            and sig[p].kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)}


def typed_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` checked against method ``name``'s constructor: unknown keys and values of the
    wrong type (``epochs: "30"``, ``eye_mask: 'false'``, ``epochs: 5.7``) are a ConfigError naming
    the key, the value and the declared type. Floats written as YAML 1.1 reads them
    (``lr: 1e-3`` is the string ``"1e-3"`` there) become floats."""
    from ..config import parse_value

    allowed = method_parameters(name)
    unknown = [k for k in params if k not in allowed]
    if unknown:
        raise ConfigError(f"method {name!r}: unknown parameter(s) {unknown}; allowed: {list(allowed)}")
    hints = typing.get_type_hints(method_class(name).__init__)
    return {k: parse_value(hints.get(k, Any), v, f"method.params.{k}", f"method {name!r}") for k, v in params.items()}


def _import_builtin_methods() -> None:
    for mod in _BUILTIN_MODULES:
        try:
            importlib.import_module(f"microexpr.methods.{mod}")
        except ModuleNotFoundError as exc:
            if exc.name != f"microexpr.methods.{mod}":
                raise


# Modules holding registered methods; add yours here.
_BUILTIN_MODULES: tuple[str, ...] = ("simple", "flownets", "handcrafted", "apexnets", "atnet", "tlcnn")
