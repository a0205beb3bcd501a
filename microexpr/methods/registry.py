"""Method registry: config ``method: {name: ..., params...}`` -> a method instance.

Unknown names and unknown parameters are errors listing what is allowed.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any, Callable, TypeVar

from ..errors import ConfigError
from ..registry import Registry

METHODS: Registry[type] = Registry("method", package="microexpr.methods")
"""Every method class: the ``@register_method`` classes of every module of ``microexpr.methods``."""
C = TypeVar("C", bound=type)


def register_method(name: str) -> Callable[[C], C]:
    """Class decorator registering a method class under ``name``."""
    return METHODS.register(name)


def list_methods() -> list[str]:
    return METHODS.names()


def method_class(name: str) -> type:
    return METHODS.get_or_error(name)


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
