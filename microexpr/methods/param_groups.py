"""Parameter groups: settings that several recipes share, declared once and accepted by each.

A group is a set of keyword parameters with types and defaults taken from ONE declaration
(a dataclass such as :class:`~microexpr.methods.macro_pretraining.MacroPretrainParams`, or a
scikit-learn estimator's constructor such as :class:`~microexpr.features.svm.FeatureSVM`).
:func:`accepts` adds a group to a method's constructor: the method's signature (what
``microexpr configs``, typed config checking, ``--set`` and the stage keys read) lists the
group's keys as if written out, and the constructor receives them collected in one object.

Config files keep the keys flat (``method.params.C``, ``method.params.pretrain_epochs``): the
papers and the published configs name them so, and ``--set method.params.pretrain_epochs=5``
stays one dotted key.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

C = TypeVar("C", bound=type)


@dataclass(frozen=True)
class ParamGroup:
    """Keyword parameters declared by ``source`` (a dataclass or a callable), renamed by ``rename``
    (source name -> config key; e.g. ``epochs`` -> ``pretrain_epochs``), without ``exclude``."""

    source: Any
    rename: dict[str, str] = dataclasses.field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    defaults: dict[str, Any] = dataclasses.field(default_factory=dict)  # source name -> this recipe's default

    def parameters(self) -> list[inspect.Parameter]:
        """The group's parameters under their config keys, keyword-only, with their defaults."""
        sig = inspect.signature(self.source)
        return [inspect.Parameter(self.rename.get(n, n), inspect.Parameter.KEYWORD_ONLY,
                                  default=self.defaults.get(n, p.default), annotation=p.annotation)
                for n, p in sig.parameters.items() if n not in self.exclude and n != "self"]

    def annotations(self) -> dict[str, Any]:
        hints = (self.source.__init__ if isinstance(self.source, type) else self.source).__annotations__
        return {self.rename.get(n, n): t for n, t in hints.items() if n not in self.exclude and n != "return"}

    def collect(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Remove the group's keys from ``kwargs``; return them under the source's names."""
        back = {v: k for k, v in self.rename.items()}
        given = {back.get(p.name, p.name): kwargs.pop(p.name) for p in self.parameters() if p.name in kwargs}
        return {**self.defaults, **given}

    def build(self, owner: Any, given: dict[str, Any] | None, **fixed: Any) -> Any:
        """``source(**given, **fixed)`` (the recipe's defaults where not given), each value also kept
        on ``owner`` under its config key (scikit-learn's convention: the stage keys read them)."""
        values = self.source(**{**self.defaults, **(given or {}), **fixed})
        for p in self.parameters():
            source_name = next((k for k, v in self.rename.items() if v == p.name), p.name)
            setattr(owner, p.name, getattr(values, source_name))
        return values


def accepts(group: ParamGroup, *, into: str) -> Callable[[C], C]:
    """Class decorator: the constructor also takes ``group``'s keys (keyword-only); the values given
    (as a dict under the source's names, defaults left to the source) reach the original
    constructor as its keyword ``into``, which is hidden from the signature."""

    def decorate(cls: C) -> C:
        init = cls.__init__
        own = inspect.signature(init)
        if into not in own.parameters:
            raise TypeError(f"{cls.__name__}.__init__ has no parameter {into!r} to receive {group.source!r}")
        kept = [p for n, p in own.parameters.items() if n != into]
        clash = sorted(p.name for p in group.parameters() if p.name in own.parameters)
        if clash:  # the group's value would silently overwrite the method's own attribute of that name
            raise TypeError(f"{cls.__name__}: keys {clash} of {group.source!r} are also the constructor's own (or "
                            "another group's); rename them in the group (ParamGroup.rename) or exclude them")
        added = group.parameters()
        positional = [p for p in kept if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        keyword = [p for p in kept if p.kind == p.KEYWORD_ONLY]
        rest = [p for p in kept if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            values = group.collect(kwargs)
            init(self, *args, **{into: values}, **kwargs)

        __init__.__signature__ = own.replace(parameters=positional + keyword + added + rest)  # type: ignore[attr-defined]
        __init__.__annotations__ = {**{k: v for k, v in init.__annotations__.items() if k != into},
                                    **group.annotations()}
        cls.__init__ = __init__  # type: ignore[misc]
        return cls

    return decorate
