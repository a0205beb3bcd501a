"""The one registry type: models, methods, input representations and CLI commands.

A :class:`Registry` maps names to objects registered by decorators in its modules: the ones
it lists, and with ``package=`` every module of that package (so a new model or method is a
new file, with no list to edit). The first lookup imports them all, and a module that fails
to import is an error (never silently skipped: a broken method must not just vanish from
the list). Unknown names are errors listing the known ones; a name registered twice is an
error.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Generic, TypeVar

from .errors import ConfigError, MicroexprError

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Named objects of one ``kind``, registered by the modules in ``modules`` (imported on first use)."""

    def __init__(self, kind: str, *, modules: Sequence[str] = (), package: str | None = None,
                 error: type[MicroexprError] = ConfigError) -> None:
        self.kind = kind
        self.package = package
        self._modules = tuple(modules)
        self.error = error
        self._items: dict[str, T] = {}
        self._loaded = not self._modules and package is None

    @property
    def modules(self) -> tuple[str, ...]:
        """The listed modules, then every public module of ``package``."""
        found: tuple[str, ...] = ()
        if self.package is not None:
            pkg = importlib.import_module(self.package)
            found = tuple(f"{self.package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))
        return tuple(dict.fromkeys(self._modules + found))

    def add(self, name: str, obj: T) -> T:
        """Register ``obj`` under ``name``."""
        if name in self._items:
            raise self.error(f"{self.kind} {name!r} registered twice")
        self._items[name] = obj
        return obj

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@REGISTRY.register("name")``."""
        return lambda obj: self.add(name, obj)

    def load(self) -> None:
        """Import every listed module (once); an import failure is raised, naming the module."""
        if self._loaded:
            return
        for mod in self.modules:
            try:
                importlib.import_module(mod)
            except ImportError as exc:
                raise ImportError(f"microexpr: module {mod}, which registers {self.kind}s, cannot be imported: {exc}") from exc
        self._loaded = True

    def get_or_error(self, name: str) -> T:
        """The object registered as ``name``; an error listing the known names otherwise."""
        self.load()
        if name not in self._items:
            raise self.error(f"unknown {self.kind} {name!r}; available: {', '.join(sorted(self._items))}")
        return self._items[name]

    def __getitem__(self, name: str) -> T:
        return self.get_or_error(name)

    def __iter__(self) -> Iterator[str]:
        self.load()
        return iter(self._items)

    def __len__(self) -> int:
        self.load()
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        self.load()
        return name in self._items

    def names(self) -> list[str]:
        """Registered names, sorted."""
        self.load()
        return sorted(self._items)
