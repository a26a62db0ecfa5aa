"""Plugin registries: one per role, mapping a snake_case name to a class.

Built-ins register by import (``@spaces.register("chain")`` in ``spaces/chain.py``); third
parties register through the entry-point groups ``nasbench.spaces``, ``nasbench.strategies``,
``nasbench.evaluators`` and ``nasbench.surrogates`` (in their ``pyproject.toml``::

    [project.entry-points."nasbench.spaces"]
    my_space = "my_package.my_module:MySpace"

), or are named in a config as ``"package.module:Class"``. :meth:`Registry.create` checks the
given parameters against the class's declared parameters (:mod:`nasbench.core.params`; the
``__init__`` signature of a class that declares none), so an unknown key is an error naming the
valid ones.

Two lookup modes. A *run* (a suite file, a CLI flag) may name code: a ``module:Class`` path is
imported, and the entry points of every distribution Python can see are loaded. *Reading* is
inert: inside :func:`inert` (``nasbench report``, ``compare``, ``plot``, the statistics and
re-scoring of records) a name read from a file is looked up only among

- the built-ins (the classes nasbench's own packages register when imported) and the classes
  this process registered already (imported by then: looking them up runs nothing new), and
- the entry points of *installed* distributions: those whose metadata lies in the interpreter's
  site-packages (:func:`site_dirs`), so a ``*.dist-info`` folder that sits in a results
  folder or the working directory is never read as a plugin; the one entry point of the name
  asked for is loaded, no other.

A ``module:Class`` name is never imported there, and a name that is neither of the two raises
NasbenchError "<role> '<name>' is not a built-in or installed plugin; not imported"
(:data:`NOT_IMPORTED`). :func:`load_object` (which plugins use for parameters such as the sklearn
adapter's ``estimator``) imports, inside :func:`inert`, only a module whose top-level package is
installed code (nasbench itself, the standard library, site-packages), found without running it.
Imports resolve through ``sys.path`` as every Python import does: a folder that shadows an
installed package (say a ``nasbench/`` folder in the working directory of ``python -m``) is
outside what any lookup rule can guard.

>>> from nasbench.core.registry import spaces
>>> "nb201" in spaces.names()
True
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import re
import site
import sys
import sysconfig
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from importlib.metadata import EntryPoint, distributions, entry_points
from pathlib import Path
from typing import Any, Generic, TypeVar

from nasbench.core.errors import NasbenchError, one_of
from nasbench.core.params import declared, init_params, note_name
from nasbench.core.plugins import PluginError, first_line

log = logging.getLogger(__name__)

T = TypeVar("T")
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")

NOT_IMPORTED = "not a built-in or installed plugin; not imported"
"""How an inert lookup (:func:`inert`) answers a name it will not import."""

_INERT: ContextVar[bool] = ContextVar("nasbench_registry_inert", default=False)


@contextmanager
def inert() -> Iterator[None]:
    """Within the block, registry look-ups import nothing a name could point to: see the
    module docstring. Nests; per thread and per asyncio task (a context variable).

    >>> with inert():
    ...     evaluators.get("evil_module:Thing")
    Traceback (most recent call last):
    ...
    nasbench.core.errors.NasbenchError: evaluator 'evil_module:Thing' is not a built-in or ...
    """
    token = _INERT.set(True)
    try:
        yield
    finally:
        _INERT.reset(token)


def is_inert() -> bool:
    """Whether the caller is inside :func:`inert`."""
    return _INERT.get()


def _existing(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for text in paths:
        path = Path(text).resolve()
        if path.is_dir() and path not in found:
            found.append(path)
    return found


def site_dirs() -> list[Path]:
    """The interpreter's site-packages folders (the user site too when Python enables it),
    resolved, existing ones only: where installed distributions keep their metadata."""
    paths = [*site.getsitepackages(), *(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))]
    if site.ENABLE_USER_SITE:
        paths.append(site.getusersitepackages())
    return _existing(paths)


def installed_dirs() -> list[Path]:
    """The folders whose code counts as installed: :func:`site_dirs` and the standard library."""
    stdlib = [sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")]
    return _existing([*map(str, site_dirs()), *stdlib])


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_entry_points(group: str) -> list[EntryPoint]:
    """The entry points of ``group`` declared by installed distributions (metadata in
    :func:`site_dirs`), the first distribution of a name winning as on ``sys.path``; reads
    metadata only, imports nothing."""
    seen: set[str] = set()
    found: list[EntryPoint] = []
    for dist in distributions(path=[str(d) for d in site_dirs()]):
        name = _normalized(dist.metadata["Name"] or "")
        if name in seen:
            continue
        seen.add(name)
        found.extend(dist.entry_points.select(group=group))
    return found


def _installed_module(module_name: str) -> bool:
    """Whether ``module_name``'s top-level package is nasbench or lies in :func:`installed_dirs`;
    finds it without running it (a top-level spec imports no parent)."""
    top = module_name.split(".")[0]
    if top == "nasbench" or top in sys.builtin_module_names:
        return True
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    if spec.origin in ("built-in", "frozen"):
        return True
    places = [*([spec.origin] if spec.origin else []), *(spec.submodule_search_locations or [])]
    roots = installed_dirs()
    return bool(places) and all(
        any(Path(p).resolve().is_relative_to(root) for root in roots) for p in places
    )


def load_object(path: str) -> Any:
    """Import ``"package.module:Name"`` (or ``"package.module.Name"``, the name after the last
    dot); raise :class:`NasbenchError` when it does not exist or its module raises on import
    (a syntax error included), naming the module and the first line of the error.
    Inside :func:`inert`, only a module of installed code is imported (see the module
    docstring); any other raises NasbenchError without being imported."""
    if ":" not in path and "." in path.strip("."):  # "package.module.Class": the last part
        module_name, _, attr = path.rpartition(".")
    else:
        module_name, _, attr = path.partition(":")
    if not module_name or not attr or module_name.startswith("."):  # no relative imports
        raise NasbenchError(f"expected 'package.module:Class', got {path!r}")
    if _INERT.get() and not _installed_module(module_name):
        raise NasbenchError(f"{path!r} is {NOT_IMPORTED}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise NasbenchError(f"cannot import module {module_name!r} for {path!r}: {exc}") from exc
    except Exception as exc:  # the module's own code raised (or does not parse) on import
        raise NasbenchError(
            f"importing module {module_name!r} for {path!r} raised {first_line(exc)}"
        ) from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise NasbenchError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def constructor_params(cls: type) -> dict[str, Any]:
    """Constructor parameters of ``cls`` with their defaults (``inspect.Parameter.empty`` when
    required), in order: the declared parameters of a :class:`~nasbench.core.params.Configurable`
    (:func:`nasbench.core.params.param`), else the keyword parameters of ``cls.__init__`` (a
    third-party plugin that declares nothing)."""
    specs = declared(cls)
    if specs is None:
        return init_params(cls)
    return {name: inspect.Parameter.empty if spec.required else spec.default
            for name, spec in specs.items()}  # fmt: skip


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
        note_name(cls, name)  # declared parameters' errors name the plugin so

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

    def _inert_names(self) -> list[str]:
        """Built-ins, classes already registered, installed entry points (not loaded)."""
        importlib.import_module(self._builtins)
        return sorted({*self._classes, *(ep.name for ep in installed_entry_points(self.group))})

    def _inert_get(self, name: str) -> type[T]:
        """:meth:`get` inside :func:`inert`: a registered class (the built-ins imported first),
        else the installed entry point of that name, else NasbenchError (nothing imported)."""
        if not isinstance(name, str) or ":" in name or "." in name:
            raise NasbenchError(f"{self.role} {name!r} is {NOT_IMPORTED}")
        if name not in self._classes:
            importlib.import_module(self._builtins)
        if name not in self._classes:
            for ep in installed_entry_points(self.group):
                if ep.name != name:
                    continue
                try:
                    self.add(ep.name, ep.load())
                except Exception as exc:  # a broken plugin: reported like an unknown name
                    raise NasbenchError(f"{self.role} plugin {name!r} from {ep.value} does not "
                                        f"load: {exc}") from None  # fmt: skip
                break
        if name not in self._classes:
            raise NasbenchError(f"{self.role} {name!r} is {NOT_IMPORTED}")
        return self._classes[name]

    def builtin_names(self) -> list[str]:
        """The names of the classes nasbench itself ships for this role (module ``nasbench.*``),
        sorted; imports nasbench's own plugin package only, never an entry point."""
        importlib.import_module(self._builtins)
        return sorted(n for n, c in self._classes.items() if c.__module__.startswith("nasbench."))

    def names(self) -> list[str]:
        """All registered names, sorted (inside :func:`inert`: the names registered already,
        the built-ins among them, and the installed entry points' names, none of their modules
        imported)."""
        if _INERT.get():
            return self._inert_names()
        self._load()
        return sorted(self._classes)

    def get(self, name: str) -> type[T]:
        """The class for a registered name or a ``"package.module:Class"`` path (inside
        :func:`inert`: a built-in or installed plugin only, see the module docstring)."""
        if _INERT.get():
            return self._inert_get(name)
        if ":" in name or "." in name:  # a path; registered names are snake_case, no dots
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
        """Instantiate ``name`` with ``params``; unknown keys raise naming the valid ones. The
        constructor's NasbenchError passes unchanged; any other exception becomes one
        NasbenchError naming the plugin, e.g. ``surrogate 'my.mod:Bad' __init__ raised
        ValueError: boom`` (chained to it)."""
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
        except NasbenchError:  # the plugin's own one-line message about a bad value
            raise
        except TypeError as exc:  # mostly a parameter of the wrong type
            message = first_line(exc).removeprefix("TypeError: ")
            raise NasbenchError(f"bad parameters for {self.role} {name!r}: {message}") from exc
        except Exception as exc:  # a broken plugin: one line naming it, never a traceback
            raise PluginError(self.role, name, "__init__", f"raised {first_line(exc)}") from exc


# One registry per role. The Any type keeps the core free of imports from plugin folders; each
# role's protocol lives in the core module named in the comment.
spaces: Registry[Any] = Registry(
    "space", "nasbench.spaces", "nasbench.spaces", ("parse", "sample", "decisions")
)  # nasbench.core.space
strategies: Registry[Any] = Registry(
    "strategy", "nasbench.strategies", "nasbench.strategies", ("start", "ask", "tell")
)  # nasbench.core.strategy
evaluators: Registry[Any] = Registry(
    "evaluator", "nasbench.evaluators", "nasbench.evaluation", ("evaluate",)
)  # nasbench.core.evaluator
surrogates: Registry[Any] = Registry(
    "surrogate", "nasbench.surrogates", "nasbench.surrogates", ("fit", "predict")
)  # nasbench.core.surrogate
datasets: Registry[Any] = Registry(
    "dataset", "nasbench.training.dataset_files", "nasbench.training.dataset_files", ("load",)
)
