"""Declared plugin parameters: one statement per hyperparameter, read by the constructor, the
registry, the error messages and ``nasbench strategies``.

A plugin subclasses :class:`Configurable` and declares each constructor parameter as a class
attribute made by :func:`param`: its default, its allowed values (bounds ``ge``/``gt``/``le``/
``lt``, or ``choices``), and the paper or reason its default comes from (``source``). The
generated constructor takes the parameters by keyword (and positionally, in declaration order),
checks every value, stores it as an attribute of the same name (an ``int`` parameter as ``int``,
a ``float`` one as ``float``, a list as a tuple, a table as a dict) and then calls
:meth:`Configurable.__post_init__`, where a plugin sets up what the values imply. A subclass
inherits its bases' parameters in their order, adds its own after them and changes an inherited
one with :func:`override` (``epochs = override(8, source=...)``) without restating the rest.

>>> class Search(Configurable):
...     epochs: int = param(50, ge=1, source="the paper's 50 epochs")
...     lr: float = param(0.025, gt=0)
>>> class Short(Search):
...     epochs = override(8)
...     order: int = param(1, choices=(1, 2), expect="1 or 2")
>>> from nasbench.core.registry import constructor_params
>>> constructor_params(Short)
{'epochs': 8, 'lr': 0.025, 'order': 1}
>>> s = Short(lr=1)
>>> s.epochs, s.lr, s.order
(8, 1.0, 1)
>>> Short(epochs=0)
Traceback (most recent call last):
...
nasbench.core.params.ParamError: Short: epochs must be an integer >= 1, got 0
>>> Short(order=3)
Traceback (most recent call last):
...
nasbench.core.params.ParamError: Short: order must be 1 or 2, got 3

An error is one :class:`ParamError` line naming the plugin (its registered name, else its class
name), the parameter, what it must be and the value given. :attr:`Configurable.wording` says how
a family of plugins names kinds and ranges (:data:`WHOLE_NUMBERS`: "a whole number >= 1",
"in (0, 1]"). Rules:

- the kind is the default's (``bool``, ``int``, ``float``, ``str``, ``tuple``), or ``kind=``
  (needed when the default is ``None``; ``dict`` for a table; none: any value is taken). A
  default of ``None`` also allows ``None``. ``bool`` is never an ``int`` or ``float``; a
  ``float`` must be finite; numpy scalars count as numbers;
- a bound may name another parameter (``ge="tau_min"``), checked after that one;
- ``choices`` lists the allowed values of a scalar (no kind check: ``1.0`` is the choice ``1``),
  or of each entry of a ``tuple`` parameter, whose entries must be distinct and whose length the
  bounds limit;
- ``expect`` replaces the generated description of the allowed values in messages.

A class that is not a :class:`Configurable` (a third-party plugin) keeps its ``__init__``: the
registry reads its signature (:func:`constructor_params`), as it did before.
"""

from __future__ import annotations

import inspect
import math
import numbers
import operator
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

from nasbench.core.errors import NasbenchError


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""The default of a parameter that must be given (``param(REQUIRED)``), e.g. an evaluator's
``space``."""

_KEEP: Any = object()  # an :func:`override` field left as the base declares it

Bound = float | str | None


@dataclass(frozen=True)
class Param:
    """One declared parameter (made by :func:`param`); see the module docstring."""

    default: Any
    kind: type | None = None
    ge: Bound = None
    gt: Bound = None
    le: Bound = None
    lt: Bound = None
    choices: tuple[Any, ...] | None = None
    expect: str | None = None
    source: str = ""
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def nullable(self) -> bool:
        return self.default is None

    def refs(self) -> list[str]:
        """The other parameters this one's bounds name."""
        return [b for b in (self.ge, self.gt, self.le, self.lt) if isinstance(b, str)]


@dataclass(frozen=True)
class _Override:
    changes: dict[str, Any]


def param(
    default: Any,
    *,
    kind: type | None = None,
    ge: Bound = None,
    gt: Bound = None,
    le: Bound = None,
    lt: Bound = None,
    choices: Sequence[Any] | None = None,
    expect: str | None = None,
    source: str = "",
    doc: str = "",
) -> Any:
    """Declare one constructor parameter of a :class:`Configurable` (module docstring).

    ``default`` (:data:`REQUIRED`: none); ``kind`` when the default does not tell it; inclusive
    (``ge``, ``le``) or exclusive (``gt``, ``lt``) bounds, numbers or the name of another
    parameter; ``choices``; ``expect``, the allowed values in words for messages; ``source``,
    where the default comes from (``nasbench strategies`` prints it); ``doc``, a short note.
    Typed ``Any`` so that ``epochs: int = param(50, ge=1)`` type-checks as an ``int``."""
    if isinstance(default, list | dict | set):
        raise TypeError(f"param default {default!r} is mutable: use a tuple or None")
    if kind is None and default is not None and default is not REQUIRED:
        kind = type(default)
    if (ge is not None and gt is not None) or (le is not None and lt is not None):
        raise TypeError("param takes one lower bound (ge or gt) and one upper (le or lt)")
    return Param(default, kind, ge, gt, le, lt, None if choices is None else tuple(choices),
                 expect, source, doc)  # fmt: skip


def override(default: Any = _KEEP, **changes: Any) -> Any:
    """Change an inherited parameter in a subclass (``epochs = override(8, source=...)``): the
    fields given replace the base's declaration, the others stay; its place in the order too."""
    names = {f.name for f in fields(Param)}
    unknown = sorted(set(changes) - names)
    if unknown:
        raise TypeError(f"override got unknown field(s) {', '.join(unknown)}")
    if default is not _KEEP:
        changes["default"] = default
    return _Override(changes)


@dataclass(frozen=True)
class Wording:
    """How an error names a kind and a range: ``integer`` and ``number`` are the nouns of an
    ``int`` and a ``float`` parameter ("" for the bare range, "> 0"); ``interval`` writes two
    bounds as ``in (0, 1]`` rather than ``> 0 and <= 1``."""

    integer: str = "an integer"
    number: str = "a number"
    interval: bool = False


WHOLE_NUMBERS = Wording("a whole number", "", True)
"""The training plugins' wording: "a whole number >= 1", "> 0", "in [0, 1)"."""


class ParamError(NasbenchError):
    """A declared parameter's value is not allowed: one line naming the plugin, the parameter,
    what it must be and the value given."""

    def __init__(self, message: str, plugin: str, name: str, value: Any) -> None:
        super().__init__(message)
        self.plugin, self.name, self.value = plugin, name, value


class Configurable:
    """Base of a plugin whose parameters are declared with :func:`param` (module docstring).

    Class attributes made here: ``param_specs`` (name -> :class:`Param`, in constructor order),
    ``sources`` (name -> source, what :class:`~nasbench.core.strategy.Strategy` asks for) and
    ``__signature__`` (so :func:`inspect.signature` shows the declared constructor). A subclass
    that writes its own ``__init__`` keeps it (and its signature), calling
    ``super().__init__(**params)``."""

    param_specs: ClassVar[dict[str, Param]] = {}
    sources: ClassVar[dict[str, str]] = {}
    wording: ClassVar[Wording] = Wording()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specs: dict[str, Param] = {}
        for base in reversed(cls.__mro__[1:]):
            specs.update(base.__dict__.get("param_specs", {}))
        for name, value in list(cls.__dict__.items()):
            if isinstance(value, _Override):
                if name not in specs:
                    raise TypeError(f"{cls.__name__}.{name} overrides no inherited parameter")
                value = replace(specs[name], **value.changes)  # the base's kind stays
            if isinstance(value, Param):
                specs[name] = value
                if value.required:
                    delattr(cls, name)
                else:
                    setattr(cls, name, value.default)
        for name, spec in specs.items():
            for ref in spec.refs():
                if ref not in specs or ref == name:
                    raise TypeError(f"{cls.__name__}.{name}: bound names no parameter {ref!r}")
        cls.param_specs = specs
        cls.sources = {name: spec.source for name, spec in specs.items()}
        cls._signature = _signature(specs)
        # inspect.signature(cls) shows the declared constructor, unless an __init__ is written
        own = declared(cls) is None
        cls.__signature__ = None if own else cls._signature  # type: ignore[attr-defined]

    _signature: ClassVar[inspect.Signature] = inspect.Signature()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        bound = cls._signature.bind(*args, **kwargs)  # TypeError as for any call
        values = {name: bound.arguments.get(name, spec.default)
                  for name, spec in cls.param_specs.items()}  # fmt: skip
        for name, value in check_params(cls, values).items():
            setattr(self, name, value)
        self.__post_init__()

    def __post_init__(self) -> None:
        """Set up what the checked parameters imply (a subclass calls ``super()``'s)."""


def _signature(specs: dict[str, Param]) -> inspect.Signature:
    """Positional-or-keyword parameters in order, keyword-only from the first required one
    that follows a defaulted one."""
    out, keyword_only, seen_default = [], False, False
    for name, spec in specs.items():
        keyword_only = keyword_only or (spec.required and seen_default)
        seen_default = seen_default or not spec.required
        kind = inspect.Parameter.KEYWORD_ONLY if keyword_only else (
            inspect.Parameter.POSITIONAL_OR_KEYWORD)  # fmt: skip
        default = inspect.Parameter.empty if spec.required else spec.default
        out.append(inspect.Parameter(name, kind, default=default))
    return inspect.Signature(out)


def declared(cls: type) -> dict[str, Param] | None:
    """The declared parameters of ``cls``, or ``None`` when its constructor is its own
    ``__init__`` (not a :class:`Configurable`, or one that writes ``__init__``)."""
    if not isinstance(cls, type) or not issubclass(cls, Configurable):
        return None
    if any("__init__" in c.__dict__ for c in cls.__mro__[: cls.__mro__.index(Configurable)]):
        return None
    return cls.param_specs


_NAMES: weakref.WeakKeyDictionary[type, str] = weakref.WeakKeyDictionary()


def note_name(cls: type, name: str) -> None:
    """Remember the name ``cls`` is registered under (the registries call this; the first
    name stays), for :func:`plugin_label`."""
    _NAMES.setdefault(cls, name)


def plugin_label(cls: type) -> str:
    """The name ``cls`` is registered under (:func:`note_name`), else its class name."""
    return _NAMES.get(cls, cls.__name__)


def init_params(cls: type) -> dict[str, Any]:
    """The keyword parameters of ``cls``'s own ``__init__`` with their defaults
    (``inspect.Parameter.empty`` when required), in signature order."""
    params = inspect.signature(cls).parameters
    return {
        name: p.default
        for name, p in params.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


# ---- checking ---------------------------------------------------------------------------------
def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    return "''" if value == "" else str(value)


def _bound_text(bound: Bound, values: Mapping[str, Any] | None) -> str:
    if isinstance(bound, str):
        return bound if values is None else f"{bound} ({values[bound]!r})"
    return str(bound)


def _range(spec: Param, wording: Wording, values: Mapping[str, Any] | None) -> str:
    """The bounds in words: ">= 1", "in (0, 1]", "> 0.0 and <= 1.0" (empty without bounds)."""
    low = ("[", ">=", spec.ge) if spec.ge is not None else ("(", ">", spec.gt)
    high = ("]", "<=", spec.le) if spec.le is not None else (")", "<", spec.lt)
    has_low, has_high = low[2] is not None, high[2] is not None
    if has_low and has_high and wording.interval:
        return f"in {low[0]}{_bound_text(low[2], values)}, {_bound_text(high[2], values)}{high[0]}"
    parts = [f"{op} {_bound_text(b, values)}" for _, op, b in (low, high) if b is not None]
    return " and ".join(parts)


def describe(spec: Param, wording: Wording = Wording(), values: Mapping[str, Any] | None = None,
             ) -> str:  # fmt: skip
    """What a value of ``spec`` must be, in words (bounds naming other parameters show their
    values when ``values`` are given): e.g. "an integer >= 1", "one of log, hinge"."""
    if spec.expect is not None:
        text = spec.expect
    elif spec.kind is tuple:
        what = "distinct entries" if spec.choices is None else (
            f"distinct entries of {', '.join(map(_shown, spec.choices))}")  # fmt: skip
        size = _range(spec, Wording(), values)
        text = f"a list of {what}" + (f" (length {size})" if size else "")
    elif spec.choices is not None:
        text = f"one of {', '.join(map(_shown, spec.choices))}"
    elif spec.kind in (int, float):
        noun = wording.integer if spec.kind is int else wording.number
        bounds = _range(spec, wording, values)
        if not bounds:
            text = noun if spec.kind is int else "a finite number"
        else:
            text = f"{noun} {bounds}".strip()
    elif spec.kind is bool:
        text = "true or false"
    elif spec.kind is str:
        text = "a string"
    elif spec.kind is dict:
        text = "a table (dict)"
    elif spec.kind is not None:
        text = f"a {spec.kind.__name__}"
    else:
        text = "any value"
    return f"None or {text}" if spec.nullable and spec.kind is not None else text


def _within(spec: Param, number: float, values: Mapping[str, Any]) -> bool:
    """Whether ``number`` lies within ``spec``'s bounds (a bound naming a parameter whose value
    is ``None`` does not bind)."""
    bounds = ((spec.ge, operator.ge), (spec.gt, operator.gt), (spec.le, operator.le),
              (spec.lt, operator.lt))  # fmt: skip
    for bound, ok in bounds:
        limit = values[bound] if isinstance(bound, str) else bound
        if limit is not None and not ok(number, float(limit)):
            return False
    return True


def _check_one(spec: Param, value: Any, values: Mapping[str, Any]) -> tuple[bool, Any]:
    """Whether ``value`` is allowed, and the value to store."""
    if value is None and spec.nullable:
        return True, None
    if spec.kind is tuple:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
            return False, value
        entries = tuple(value)
        if _unknown_entry(spec, entries) is not None:
            return False, value
        if any(e == f for i, e in enumerate(entries) for f in entries[i + 1 :]):
            return False, value
        return _within(spec, len(entries), values), entries
    if spec.choices is not None:
        as_bool = isinstance(value, bool) and not any(isinstance(c, bool) for c in spec.choices)
        return (not as_bool and any(value == c for c in spec.choices)), value
    if spec.kind is int:
        if not _is_int(value):
            return False, value
        return _within(spec, float(value), values), int(value)
    if spec.kind is float:
        if not _is_number(value) or not math.isfinite(float(value)):
            return False, value
        return _within(spec, float(value), values), float(value)
    if spec.kind is dict:
        return isinstance(value, Mapping), dict(value) if isinstance(value, Mapping) else value
    if spec.kind is not None:
        return isinstance(value, spec.kind), value
    return True, value


def _unknown_entry(spec: Param, value: Any) -> tuple[Any] | None:
    """The first entry of a list parameter's ``value`` that is not among its choices."""
    if spec.kind is not tuple or spec.choices is None or isinstance(value, str | bytes):
        return None
    if not isinstance(value, Sequence):
        return None
    return next(((e,) for e in value if not any(e == c for c in spec.choices)), None)


def check_params(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` checked against ``cls.param_specs`` (a parameter whose bounds name another
    after that one) and converted to what is stored; raises :class:`ParamError`."""
    specs: dict[str, Param] = cls.param_specs  # type: ignore[attr-defined]
    wording: Wording = getattr(cls, "wording", Wording())
    ordered = sorted(specs, key=lambda n: bool(specs[n].refs()))
    out = dict(values)
    for name in ordered:
        spec, value = specs[name], values[name]
        ok, stored = _check_one(spec, value, out)
        if ok:
            out[name] = stored
            continue
        label = plugin_label(cls)
        unknown = _unknown_entry(spec, value)
        if unknown is not None:
            shown = ", ".join(map(_shown, spec.choices or ()))
            message = f"{label}: unknown {name} entry {unknown[0]!r} (valid: {shown})"
        elif spec.choices is not None and spec.kind is not tuple and spec.expect is None:
            message = (f"{label}: unknown {name} {value!r} "
                       f"({name} must be {describe(spec, wording, out)})")  # fmt: skip
        else:
            message = f"{label}: {name} must be {describe(spec, wording, out)}, got {value!r}"
        raise ParamError(message, label, name, value)
    return out


def hyperparameters(cls: type) -> list[dict[str, Any]]:
    """Name, default, source and allowed values (``range``, in words) of every constructor
    parameter of ``cls``, in order: the declarations of a :class:`Configurable`, else its
    ``__init__`` signature with the class's ``sources`` dict (``range`` empty)."""
    specs = declared(cls)
    if specs is None:
        sources = getattr(cls, "sources", {}) or {}
        return [{"name": name, "default": default, "source": sources.get(name, ""), "range": ""}
                for name, default in init_params(cls).items()]  # fmt: skip
    wording = getattr(cls, "wording", Wording())
    return [{"name": name, "default": spec.default, "source": spec.source,
             "range": describe(spec, wording)} for name, spec in specs.items()]  # fmt: skip
