"""The boundary where nasbench calls plugin code: a broken plugin fails in one line, never a
traceback.

A plugin (a strategy, evaluator or surrogate, built in or third party) is code the runner does
not control. Every call the runner and the surrogate evaluator make into one goes through this
module, built-ins included, so that:

- an exception the plugin raises becomes a :class:`PluginError` (a NasbenchError: the CLI prints
  it as one line and exits with code 2) naming the role, the plugin's name as configured, the
  method and the exception's first line; the exception itself is chained (``__cause__``) for
  debugging. A NasbenchError the plugin raises is already its own one-line message about bad
  input (an architecture not in a table, a fidelity not offered) and passes unchanged;
- an answer of the wrong type or shape is a PluginError too: ``ask(n)`` must return a list of
  ``n`` :class:`~nasbench.core.types.Proposal` of architectures of the space, ``evaluate`` a
  :class:`~nasbench.core.types.Measurement` (numbers where numbers belong, a finite ``cost_s >=
  0``), ``profile`` a :class:`~nasbench.core.evaluator.Profile`, a surrogate's ``predict`` a
  :class:`~nasbench.core.surrogate.Prediction` of one (mean, std) per input, each finite or NaN;
- a NaN answer fails the trial instead of passing as a result: a Measurement of status ``ok``
  whose validation accuracy is NaN is recorded as ``failed`` (the built-in evaluators already
  answer so), and a surrogate's NaN prediction is a failed measurement of the surrogate
  evaluator.

>>> def fit(X, y, rng):
...     raise ValueError("boom")
>>> call("surrogate", "my.mod:Bad", "fit", fit, None, None, None)
Traceback (most recent call last):
...
nasbench.core.plugins.PluginError: surrogate 'my.mod:Bad' fit raised ValueError: boom
"""

# ruff: noqa: N803  (``X`` for surrogate inputs, the scikit-learn convention)

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from nasbench.core.errors import NasbenchError
from nasbench.core.evaluator import Evaluator, Profile
from nasbench.core.types import Architecture, Measurement, Observation, Proposal, Status

if TYPE_CHECKING:
    import numpy as np

    from nasbench.core.space import SearchSpace
    from nasbench.core.strategy import Strategy
    from nasbench.core.surrogate import InputKind, Prediction, SurrogateInput

P = ParamSpec("P")
R = TypeVar("R")


class PluginError(NasbenchError):
    """A plugin raised, or answered something it must not: ``role``, ``name`` (as configured,
    e.g. ``"my.mod:Bad"``) and ``method`` say whose call it was."""

    def __init__(self, role: str, name: str, method: str, problem: str) -> None:
        super().__init__(f"{role} {name!r} {method} {problem}")
        self.role, self.name, self.method = role, name, method


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (``Type`` alone for an empty message; `` ...``
    marks lines left out): an exception as the one line an error message may hold."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    more = " ..." if len(lines) > 1 else ""
    return f"{type(exc).__name__}: {lines[0][:300]}{more}"


def shown(value: object, limit: int = 60) -> str:
    """A short one-line description of a returned value: its type and the start of its repr."""
    text = " ".join(repr(value).split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(value).__name__} {text}"


def call(
    role: str, name: str, method: str, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs
) -> R:
    """``fn(*args, **kwargs)``, the plugin ``name``'s ``method``: an exception other than
    NasbenchError becomes a :class:`PluginError` ``"<role> '<name>' <method> raised <Type>:
    <message>"`` chained to it."""
    try:
        return fn(*args, **kwargs)
    except NasbenchError:
        raise
    except Exception as exc:
        raise PluginError(role, name, method, f"raised {first_line(exc)}") from exc


def _real(value: object) -> bool:
    kind = type(value)
    if kind is float or kind is int:  # the common case, without the ABC machinery
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _integral(value: object) -> bool:
    if type(value) is int:
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


# ---- strategies -----------------------------------------------------------------------------
def ask(strategy: Strategy, name: str, space: SearchSpace, n: int = 1) -> list[Proposal]:
    """``strategy.ask(n)``, checked: a list (or tuple) of ``n`` Proposals of architectures that
    ``space`` validates, each with a fidelity that is ``None`` or a positive number, a numeric
    ``search_cost_s`` and a boolean ``monitor``. Raises PluginError otherwise."""
    proposals = call("strategy", name, "ask", strategy.ask, n)
    if not isinstance(proposals, list | tuple) or len(proposals) != n:
        raise PluginError("strategy", name, "ask",
                          f"returned {shown(proposals)}, not a list of {n} Proposal")  # fmt: skip
    for proposal in proposals:
        _check_proposal(name, proposal, space)
    return list(proposals)


def ask_one(strategy: Strategy, name: str, space: SearchSpace) -> Proposal:
    """The one proposal of a checked ``strategy.ask(1)`` (:func:`ask`)."""
    return ask(strategy, name, space, 1)[0]


def _check_proposal(name: str, proposal: object, space: SearchSpace) -> None:
    def bad(problem: str) -> PluginError:
        return PluginError("strategy", name, "ask", problem)

    if not isinstance(proposal, Proposal):
        raise bad(f"returned {shown(proposal)} among its proposals, not a Proposal")
    if not isinstance(proposal.arch, Architecture):
        raise bad(f"proposed {shown(proposal.arch)}, not an Architecture")
    fidelity = proposal.fidelity
    if fidelity is not None and not (_real(fidelity) and 0 < fidelity < math.inf):
        raise bad(f"proposed fidelity {fidelity!r}, not a positive number or None")
    if not _real(proposal.search_cost_s):
        raise bad(f"proposed search_cost_s {proposal.search_cost_s!r}, not a number")
    if not isinstance(proposal.monitor, bool):
        raise bad(f"proposed monitor {proposal.monitor!r}, not True or False")
    parent = proposal.parent
    if parent is not None and not isinstance(parent, Architecture):
        raise bad(f"proposed parent {shown(parent)}, not an Architecture or None")
    for what, arch in (("an architecture", proposal.arch), ("a parent", parent)):
        if arch is None:
            continue
        try:
            space.validate(arch)
        except Exception as exc:  # a space's own check of a malformed architecture
            problem = str(exc) if isinstance(exc, NasbenchError) else first_line(exc)
            raise bad(f"proposed {what} outside space {space.name!r}: {problem}") from exc


def tell(strategy: Strategy, name: str, observations: Sequence[Observation]) -> None:
    """``strategy.tell(observations)`` through :func:`call`."""
    call("strategy", name, "tell", strategy.tell, observations)


# ---- evaluators -----------------------------------------------------------------------------
class Checked:
    """The answers :func:`evaluate` has checked, by id, each kept alive with its verdict (so that
    its id is not reused): an evaluator that answers a repeated proposal with the same frozen
    Measurement (a table look-up) is checked once. At most :attr:`cap` are kept; then it forgets
    them all and starts again."""

    cap = 1 << 16

    def __init__(self) -> None:
        self.seen: dict[int, tuple[object, Measurement]] = {}

    def check(self, name: str, answer: object) -> Measurement:
        """:func:`check_measurement` of ``answer``, or its verdict when checked before."""
        known = self.seen.get(id(answer))
        if known is not None and known[0] is answer:
            return known[1]
        m = check_measurement(name, answer)
        if len(self.seen) >= self.cap:
            self.seen.clear()
        self.seen[id(answer)] = (answer, m)
        return m


def evaluate(
    evaluator: Evaluator,
    name: str,
    arch: Architecture,
    fidelity: float,
    rng: np.random.Generator,
    checked: Checked | None = None,
) -> Measurement:
    """``evaluator.evaluate(arch, fidelity, rng)``, checked by :func:`check_measurement` (through
    ``checked``, which remembers the answers it has seen, when given)."""
    measurement = call("evaluator", name, "evaluate", evaluator.evaluate, arch, fidelity, rng)
    if checked is None:
        return check_measurement(name, measurement)
    return checked.check(name, measurement)


_NUMBERS = ("val_acc", "test_acc", "cost_s", "sparsity", "latency_ms", "val_acc_std",
            "val_acc_pred")  # fmt: skip
_COUNTS = ("params", "nonzero_params", "macs", "effective_macs")
_get_numbers, _get_counts = operator.attrgetter(*_NUMBERS), operator.attrgetter(*_COUNTS)
_PLAIN_NUMBERS, _INTS = frozenset((float, int)), frozenset((int,))


def check_measurement(name: str, m: object) -> Measurement:
    """``m`` if it is a well-formed Measurement of the evaluator ``name``; status ``failed``
    (accuracies NaN) if it says ``ok`` with a NaN validation accuracy. Raises PluginError for
    another type, a status that is not a :class:`~nasbench.core.types.Status`, a non-number where a
    number belongs, or a ``cost_s`` that is not finite and >= 0 (the ledger adds it up)."""

    def bad(problem: str) -> PluginError:
        return PluginError("evaluator", name, "evaluate", problem)

    if not isinstance(m, Measurement):
        raise bad(f"returned {shown(m)}, not a Measurement")
    if not isinstance(m.status, Status):
        raise bad(f"returned status {m.status!r}, not one of {', '.join(map(str, Status))}")
    if not _PLAIN_NUMBERS.issuperset(map(type, _get_numbers(m))):  # the fast path, in C
        for field in _NUMBERS:
            if not _real(getattr(m, field)):
                raise bad(f"returned {field} {shown(getattr(m, field))}, not a number")
    if not _INTS.issuperset(map(type, _get_counts(m))):
        for field in _COUNTS:
            if not _integral(getattr(m, field)):
                raise bad(f"returned {field} {shown(getattr(m, field))}, not a whole number")
    if not (math.isfinite(m.cost_s) and m.cost_s >= 0):
        raise bad(f"returned cost_s {m.cost_s}, not a finite number >= 0")
    if not _numbers_ok(m.curve, m.extra):
        raise bad(f"returned curve {shown(m.curve)} and extra {shown(m.extra)}: the curve must "
                  "be numbers, the extra (name, number) pairs")  # fmt: skip
    if m.status is Status.OK and math.isnan(m.val_acc):  # a NaN answer fails the trial
        return replace(m, status=Status.FAILED, test_acc=math.nan)
    return m


def _numbers_ok(curve: Any, extra: Any) -> bool:
    try:
        return all(_real(v) for v in curve) and all(isinstance(k, str) and _real(v)
                                                    for k, v in extra)  # fmt: skip
    except (TypeError, ValueError):  # not iterable, or not pairs
        return False


def profile(evaluator: Any, name: str, arch: Architecture) -> Profile:
    """``evaluator.profile(arch)`` (a :class:`~nasbench.core.evaluator.Profiling` evaluator),
    checked: a Profile with a numeric latency and whole-number params and MACs."""
    answer = call("evaluator", name, "profile", evaluator.profile, arch)
    if not isinstance(answer, Profile):
        raise PluginError("evaluator", name, "profile", f"returned {shown(answer)}, not a Profile")
    if not (_real(answer.latency_ms) and _integral(answer.params) and _integral(answer.macs)):
        raise PluginError("evaluator", name, "profile",
                          f"returned {shown(answer)}: latency_ms must be a number, params "
                          "and macs whole numbers")  # fmt: skip
    return answer


# ---- surrogates -----------------------------------------------------------------------------
def input_kind(surrogate: object, name: str) -> InputKind:
    """The surrogate's ``input_kind`` (``vector`` when it declares none); PluginError for a
    value that is not one of :class:`~nasbench.core.surrogate.InputKind`."""
    from nasbench.core.surrogate import InputKind

    kind = getattr(surrogate, "input_kind", InputKind.VECTOR)
    try:
        return InputKind(kind)
    except ValueError:
        valid = ", ".join(k.value for k in InputKind)
        raise PluginError("surrogate", name, "input_kind",
                          f"is {shown(kind)}, not one of {valid}") from None  # fmt: skip


def fit(
    surrogate: Any, name: str, X: SurrogateInput, y: np.ndarray, rng: np.random.Generator
) -> None:
    """``surrogate.fit(X, y, rng)`` through :func:`call` (what it returns is not used)."""
    call("surrogate", name, "fit", surrogate.fit, X, y, rng)


def predict(surrogate: Any, name: str, X: SurrogateInput, n: int) -> Prediction:
    """``surrogate.predict(X)`` for ``n`` inputs, checked: a Prediction of ``n`` means and
    ``n`` standard deviations, each finite or NaN (NaN: no answer for that input, which the
    caller turns into a failed measurement); PluginError for another type or length, or an
    infinite value."""
    import numpy as np

    from nasbench.core.surrogate import Prediction

    def bad(problem: str) -> PluginError:
        return PluginError("surrogate", name, "predict", problem)

    answer = call("surrogate", name, "predict", surrogate.predict, X)
    if not isinstance(answer, Prediction):
        raise bad(f"returned {shown(answer)}, not a Prediction (mean, std)")
    if len(answer.mean) != n:
        raise bad(f"returned a Prediction of {len(answer.mean)} values for {n} inputs")
    if np.isinf(answer.mean).any() or np.isinf(answer.std).any():
        raise bad("returned an infinite mean or std (NaN marks an input it cannot answer)")
    return answer
