"""Plugin registries: one per role, mapping a snake_case name to a class.

Built-ins register by import (``@spaces.register("chain")`` in ``spaces/chain.py``); third
parties register through the entry-point groups ``nasbench.spaces``, ``nasbench.strategies``,
``nasbench.evaluators`` and ``nasbench.surrogates`` (in their ``pyproject.toml``::

    [project.entry-points."nasbench.spaces"]
    my_space = "my_package.my_module:MySpace"

), or are named in a config as ``"package.module:Class"``. :meth:`Registry.create` checks the
given parameters against the class constructor, so an unknown key is an error naming the valid
ones.

>>> from nasbench.registry import spaces
>>> "nb201" in spaces.names()
True
"""

from __future__ import annotations

import importlib
import inspect
import logging
import re
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from nasbench.errors import NasbenchError, one_of

log = logging.getLogger(__name__)

T = TypeVar("T")
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def load_object(path: str) -> Any:
    """Import ``"package.module:Name"``; raise :class:`NasbenchError` when it does not exist."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr or module_name.startswith("."):  # no relative imports
        raise NasbenchError(f"expected 'package.module:Class', got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise NasbenchError(f"cannot import module {module_name!r} for {path!r}: {exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise NasbenchError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def constructor_params(cls: type) -> dict[str, Any]:
    """Keyword parameters of ``cls.__init__`` with their defaults (``inspect.Parameter.empty``
    when required), in signature order."""
    params = inspect.signature(cls).parameters
    return {
        name: p.default
        for name, p in params.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def _same_definition(a: type, b: type) -> bool:
    """One class statement, possibly imported under two module names (pytest's
    ``--doctest-modules surrogates/`` imports ``surrogates.gin`` beside
    ``nasbench.surrogates.gin``)."""
    try:
        return a is b or (
            a.__qualname__ == b.__qualname__ and inspect.getfile(a) == inspect.getfile(b)
        )
    except TypeError:  # a class without a source file (built in C or made at run time)
        return False


class Registry(Generic[T]):
    """Names to classes for one role; built-ins load lazily on first use."""

    def __init__(self, role: str, group: str, builtins: str, methods: tuple[str, ...] = ()) -> None:
        self.role = role
        self.group = group
        self._builtins = builtins
        self.methods = methods  # what a class named by path must have to play this role
        self._classes: dict[str, type[T]] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        """Class decorator: ``@spaces.register("chain")``."""

        def decorate(cls: type[T]) -> type[T]:
            self.add(name, cls)
            return cls

        return decorate

    def add(self, name: str, cls: type[T]) -> None:
        """Register ``cls`` under ``name``; re-registering the same class is a no-op."""
        if not _SNAKE.match(name):
            raise NasbenchError(f"{self.role} name {name!r} is not snake_case")
        existing = self._classes.get(name)
        if existing is not None and _same_definition(existing, cls):
            return
        if existing is not None:
            raise NasbenchError(f"{self.role} {name!r} is already registered to {existing!r}")
        self._classes[name] = cls

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        importlib.import_module(self._builtins)
        for ep in entry_points(group=self.group):
            if ep.name in self._classes:
                continue
            try:
                self.add(ep.name, ep.load())
            except Exception as exc:  # a broken third-party plugin must not break the others
                log.warning("skipping %s plugin %r from %s: %s", self.role, ep.name, ep.value, exc)

    def names(self) -> list[str]:
        """All registered names, sorted."""
        self._load()
        return sorted(self._classes)

    def get(self, name: str) -> type[T]:
        """The class for a registered name or a ``"package.module:Class"`` path."""
        if ":" in name:
            obj = load_object(name)
            if not isinstance(obj, type):
                raise NasbenchError(f"{name!r} is not a class")
            lacks = [m for m in self.methods if not callable(getattr(obj, m, None))]
            if lacks:
                raise NasbenchError(f"{name!r} is not a {self.role} (no {', '.join(lacks)})")
            return obj
        self._load()
        try:
            return self._classes[name]
        except KeyError:
            raise one_of(self.role, name, self.names()) from None

    def params(self, name: str) -> dict[str, Any]:
        """Constructor parameters and defaults of a registered plugin."""
        return constructor_params(self.get(name))

    def create(self, name: str, **params: Any) -> T:
        """Instantiate ``name`` with ``params``; unknown keys raise naming the valid ones."""
        cls = self.get(name)
        valid = constructor_params(cls)
        for key in params:
            if key not in valid:
                raise NasbenchError(
                    f"unknown parameter {key!r} for {self.role} {name!r} "
                    f"(valid: {', '.join(valid) or 'none'})"
                )
        missing = [k for k, v in valid.items() if v is inspect.Parameter.empty and k not in params]
        if missing:
            raise NasbenchError(f"{self.role} {name!r} needs parameter(s): {', '.join(missing)}")
        try:
            return cls(**params)
        except TypeError as exc:
            raise NasbenchError(f"bad parameters for {self.role} {name!r}: {exc}") from exc


# One registry per role. The Any type keeps the core free of imports from plugin folders; each
# role's protocol lives in the core module named in the comment.
spaces: Registry[Any] = Registry(
    "space", "nasbench.spaces", "nasbench.spaces", ("parse", "sample", "decisions")
)  # nasbench.space
strategies: Registry[Any] = Registry(
    "strategy", "nasbench.strategies", "nasbench.strategies", ("start", "ask", "tell")
)  # nasbench.strategy
evaluators: Registry[Any] = Registry(
    "evaluator", "nasbench.evaluators", "nasbench.evaluation", ("evaluate",)
)  # nasbench.evaluator
surrogates: Registry[Any] = Registry(
    "surrogate", "nasbench.surrogates", "nasbench.surrogates", ("fit", "predict")
)  # nasbench.surrogate
datasets: Registry[Any] = Registry("dataset", "nasbench.datasets", "nasbench.datasets", ("load",))
