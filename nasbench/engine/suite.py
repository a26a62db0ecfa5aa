"""Suites: what to run, in TOML. A suite is tasks x strategies x seeds under one budget.

.. code-block:: toml

    [suite]
    name = "nb201-protocol"          # results go to results/<name>/
    seeds = 100                      # 0..99, or an explicit list [0, 7, 42]
    description = "optional text"
    max_evaluations = 10000          # optional caps that end every run (see Limits)
    max_cost_s = 1e8
    max_infeasible_streak = 1000

    [budget]                         # shared by every run (nasbench.core.types.Budget)
    cost_s = 12000                   # and/or evaluations = 200
    sparsity = 0.0
    latency_ms = 4.0                 # optional, with latency_device
    latency_device = "pixel3"
    constraint = "hard"              # or "soft" (soft_weight = -0.07)
    overshoot = "charge"             # or "discard": the evaluation that would cross cost_s
                                     # (nasbench.engine.budget)

    [[task]]
    space = "nb201"                  # a registered space or "package.module:Class"
    space_params = {}                # optional constructor parameters of the space
    evaluator = "tabular"
    fidelity = 12                    # optional: the evaluator's default otherwise
    benchmark = "nb201-cifar10"      # every other key goes to the evaluator
    label = "nb201-c10"              # optional name in tables and file names
    budget = { latency_ms = 2.5 }    # optional: this task's overrides of [budget] fields,
                                     # shared by every strategy on the task

    [[strategy]]
    name = "regularized_evolution"
    tasks = ["nb201-c10"]            # optional: only these tasks (by label; default: all)
    population = 10                  # every other key goes to the strategy
    sample_size = 3

Unknown keys, unknown plugin names and bad values raise NasbenchError naming the valid ones;
:func:`check_suite` builds every role once so a bad suite fails before anything runs. Names
that become file names (the suite name, task and strategy labels) are letters, digits and
``_.-`` only, starting with a letter or digit: no newline, path separator or control character.

Every run ends (:class:`Limits`, set in ``[suite]``): a budget whose ``cost_s`` is above
``max_cost_s`` (default 1e8 simulated seconds, about three years) or whose ``evaluations`` is
above ``max_evaluations`` (default 10,000) is refused when the suite is parsed; a run stops
after ``max_evaluations`` evaluations whatever its budget (a ``cost_s`` budget that evaluations
costing nothing never spend), and after ``max_infeasible_streak`` (default 1,000) infeasible
proposals in a row (a hard limit that no architecture the strategy finds meets). Runs that stop
at a cap record it as their ``stop_reason`` (``max_evaluations``, ``infeasible_streak``), and
``nasbench run`` says so in one note line each. Caps left at their defaults are left out of
the suite's and runs' JSON, so results folders written before the caps existed still resume.

>>> suite = parse_suite('''
... [suite]
... name = "demo"
... seeds = 2
... [budget]
... evaluations = 5
... [[task]]
... space = "nb201"
... evaluator = "tabular"
... [[strategy]]
... name = "random"
... ''')
>>> [(spec.label, seed) for spec, seed in suite.runs()]
[('nb201-tabular__random', 0), ('nb201-tabular__random', 1)]
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasbench.core.errors import NasbenchError
from nasbench.core.types import Budget, Overshoot

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")  # fullmatch: no trailing newline
Params = tuple[tuple[str, Any], ...]


def _frozen(params: dict[str, Any]) -> Params:
    """Hashable, ordered parameters (TOML arrays become tuples)."""

    def freeze(v: Any) -> Any:
        if isinstance(v, list):
            return tuple(freeze(x) for x in v)
        if isinstance(v, dict):
            return tuple(sorted((k, freeze(x)) for k, x in v.items()))
        return v

    return tuple(sorted((k, freeze(v)) for k, v in params.items()))


def _thaw(value: Any) -> Any:
    if (
        isinstance(value, tuple)
        and value
        and all(isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) for x in value)
    ):
        return {k: _thaw(v) for k, v in value}
    if isinstance(value, tuple):
        return [_thaw(x) for x in value]
    return value


def kwargs(params: Params) -> dict[str, Any]:
    """Constructor keyword arguments from frozen parameters (arrays as tuples)."""

    def tup(v: Any) -> Any:
        return tuple(tup(x) for x in v) if isinstance(v, list) else v

    return {k: tup(_thaw(v)) for k, v in params}


@dataclass(frozen=True)
class TaskSpec:
    """A space, an evaluator (with its parameters) and the default fidelity."""

    space: str
    evaluator: str
    space_params: Params = ()
    evaluator_params: Params = ()
    fidelity: float | None = None
    label: str = ""
    budget: Params = ()  # this task's overrides of the suite's [budget] fields


@dataclass(frozen=True)
class StrategySpec:
    name: str
    params: Params = ()
    label: str = ""
    tasks: tuple[str, ...] = ()  # labels of the tasks it runs on (empty: every task)


@dataclass(frozen=True)
class Limits:
    """Caps that end every run of a suite, whatever its budget (``[suite]`` keys; see the
    module docstring): a ``cost_s`` above ``max_cost_s`` or ``evaluations`` above
    ``max_evaluations`` is refused at parse time; a run stops after ``max_evaluations``
    evaluations and after ``max_infeasible_streak`` infeasible proposals in a row."""

    max_evaluations: int = 10_000
    max_cost_s: float = 1e8
    max_infeasible_streak: int = 1_000


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class RunSpec:
    """One (task, strategy) pair of a suite under its budget; ``run(spec, seed)`` runs it."""

    suite: str
    task: TaskSpec
    strategy: StrategySpec
    budget: Budget
    limits: Limits = DEFAULT_LIMITS

    @property
    def label(self) -> str:
        return f"{self.task.label}__{self.strategy.label}"

    def run_id(self, seed: int) -> str:
        return f"{self.label}__seed{seed}"

    def to_json(self) -> str:
        """The resolved spec as canonical JSON (stored in every run's metadata); the task's
        budget overrides are already in ``budget``. The default overshoot rule (``charge``) is
        left out of it, so specs written before the rule existed still match (journals resume);
        the run metadata states the rule either way (``RunMeta.overshoot``)."""
        return json.dumps(_plain(dataclasses.asdict(self)), sort_keys=True, default=str)


@dataclass(frozen=True)
class Suite:
    name: str
    seeds: tuple[int, ...]
    budget: Budget
    tasks: tuple[TaskSpec, ...]
    strategies: tuple[StrategySpec, ...]
    description: str = ""
    limits: Limits = DEFAULT_LIMITS

    def specs(self) -> list[RunSpec]:
        """Every (task, strategy) under the budget, with the task's overrides applied; a
        strategy that names its tasks runs on those only."""
        return [
            RunSpec(self.name, t, s, self.task_budget(t), self.limits)
            for t in self.tasks
            for s in self.strategies
            if not s.tasks or t.label in s.tasks
        ]

    def task_budget(self, task: TaskSpec) -> Budget:
        """The suite's budget with ``task``'s overrides applied."""
        return dataclasses.replace(self.budget, **dict(task.budget))

    def runs(self) -> list[tuple[RunSpec, int]]:
        """Every (spec, seed), tasks outermost, seeds innermost."""
        return [(spec, seed) for spec in self.specs() for seed in self.seeds]

    def to_json(self) -> str:
        return json.dumps(_plain(dataclasses.asdict(self)), sort_keys=True, default=str)


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with empty task budget overrides, strategy task lists, the default budget
    overshoot rule and the default limits left out (the JSON of suites without any is
    unchanged, so their results folders still resume)."""
    budget = data.get("budget")
    if isinstance(budget, dict) and budget.get("overshoot") == Overshoot.CHARGE:
        budget.pop("overshoot")
    if data.get("limits") == dataclasses.asdict(DEFAULT_LIMITS):
        data.pop("limits")
    for key, field in (("task", "budget"), ("tasks", "budget"), ("strategy", "tasks"),
                       ("strategies", "tasks")):  # fmt: skip
        value = data.get(key, [])
        for item in [value] if isinstance(value, dict) else value:
            if not item.get(field):
                item.pop(field, None)
    return data


def _table(data: dict[str, Any], key: str, required: bool) -> dict[str, Any]:
    value = data.get(key, {} if not required else None)
    if not isinstance(value, dict):
        raise NasbenchError(f"suite config needs a [{key}] table")
    return value


def _check_keys(where: str, given: dict[str, Any], valid: list[str]) -> None:
    for key in given:
        if key not in valid:
            raise NasbenchError(f"unknown key {key!r} in {where} (valid: {', '.join(valid)})")


def _seeds(value: Any) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return tuple(range(value))
    if (
        isinstance(value, list)
        and value
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value)
        and len(set(value)) == len(value)
    ):
        return tuple(value)
    raise NasbenchError(
        f"suite seeds must be a count >= 1 or a list of distinct seeds >= 0, got {value!r}"
    )


def _budget(data: dict[str, Any], base: Budget | None = None, where: str = "[budget]") -> Budget:
    """The budget ``data`` describes (over ``base``'s values, for a task's overrides)."""
    valid = [f.name for f in dataclasses.fields(Budget)]
    _check_keys(where, data, valid)
    try:
        budget = dataclasses.replace(base, **data) if base else Budget(**data)
    except (TypeError, ValueError) as exc:  # wrong types, unknown constraint mode
        if isinstance(exc, NasbenchError) and base is None:
            raise
        raise NasbenchError(f"bad {where}: {exc}") from None
    if abs(budget.soft_weight) > MAX_SOFT_WEIGHT:
        raise NasbenchError(
            f"bad {where}: soft_weight {budget.soft_weight:g} is outside [-{MAX_SOFT_WEIGHT:g}, "
            f"{MAX_SOFT_WEIGHT:g}] (MnasNet: -0.07); larger powers overflow the soft reward"
        )
    return budget


MAX_SOFT_WEIGHT = 10.0
"""The largest ``soft_weight`` magnitude a suite may give: MnasNet's exponents are -0.07 and
-0.15 (its hard-constraint variant -1); beyond this, ``(latency / limit) ** w`` leaves the float
range for ordinary latencies (the runner still refuses a reward that overflows, in one line)."""


LIMIT_KEYS = [f.name for f in dataclasses.fields(Limits)]


def _limits(head: dict[str, Any]) -> Limits:
    """The ``[suite]`` caps (defaults for those not given); raises NasbenchError for a cap that
    is not a positive whole number (``max_cost_s``: a positive finite number)."""
    given = {k: head[k] for k in LIMIT_KEYS if k in head}
    for key, value in given.items():
        whole = key != "max_cost_s"
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not (number and 0 < value < math.inf and (isinstance(value, int) or not whole)):
            kind = "a positive whole number" if whole else "positive and finite"
            raise NasbenchError(f"[suite] {key} must be {kind}, got {value!r}")
    return Limits(**given)


def _check_caps(spec: RunSpec) -> None:
    """Refuse a budget above the suite's caps (one line naming the task and the cap)."""
    b, caps = spec.budget, spec.limits
    where = f"task {spec.task.label!r}: budget"
    if b.cost_s is not None and b.cost_s > caps.max_cost_s:
        raise NasbenchError(
            f"{where} cost_s = {b.cost_s:g} is above [suite] max_cost_s = {caps.max_cost_s:g} "
            "simulated seconds; lower cost_s, or raise max_cost_s in [suite] to run it"
        )
    if b.evaluations is not None and b.evaluations > caps.max_evaluations:
        raise NasbenchError(
            f"{where} evaluations = {b.evaluations} is above [suite] max_evaluations = "
            f"{caps.max_evaluations}; lower evaluations, or raise max_evaluations in [suite]"
        )


TASK_KEYS = ("space", "evaluator", "space_params", "fidelity", "label", "budget")
"""The keys a ``[[task]]`` table has of its own; any other key is a parameter of its evaluator."""
STRATEGY_KEYS = ("name", "label", "tasks")
"""The keys a ``[[strategy]]`` table has of its own; any other is a parameter of the strategy."""


def _task(i: int, data: dict[str, Any], budget: Budget) -> TaskSpec:
    for key in ("space", "evaluator"):
        if not isinstance(data.get(key), str):
            raise NasbenchError(f'[[task]] {i + 1} needs {key} = "name"')
    space_params = data.get("space_params", {})
    if not isinstance(space_params, dict):
        raise NasbenchError(f"[[task]] {i + 1}: space_params must be a table")
    fidelity = data.get("fidelity")
    if fidelity is not None and (
        isinstance(fidelity, bool) or not isinstance(fidelity, int | float) or fidelity <= 0
    ):
        raise NasbenchError(f"[[task]] {i + 1}: fidelity must be positive, got {fidelity!r}")
    overrides = data.get("budget", {})
    if not isinstance(overrides, dict):
        raise NasbenchError(f"[[task]] {i + 1}: budget must be a table of [budget] fields")
    _budget(overrides, budget, f"[[task]] {i + 1} budget")  # validated against the suite's
    rest = {k: v for k, v in data.items() if k not in TASK_KEYS}
    label = _label(
        f"[[task]] {i + 1}",
        data.get("label"),
        "its space, evaluator, benchmark and dataset",
        [data["space"].replace(":", "."), data["evaluator"].replace(":", ".")]
        + [_label_part(rest[k]) for k in ("benchmark", "dataset") if k in rest]
        + ([f"f{fidelity:g}"] if fidelity is not None else []),
    )
    return TaskSpec(
        data["space"], data["evaluator"], _frozen(space_params), _frozen(rest),
        None if fidelity is None else float(fidelity), str(label), _frozen(overrides),
    )  # fmt: skip


def _strategy(i: int, data: dict[str, Any]) -> StrategySpec:
    if not isinstance(data.get("name"), str):
        raise NasbenchError(f'[[strategy]] {i + 1} needs name = "..."')
    rest = {k: v for k, v in data.items() if k not in STRATEGY_KEYS}
    label = _label(f"[[strategy]] {i + 1}", data.get("label"), f"name {data['name']!r}",
                   [data["name"].replace(":", ".")])  # fmt: skip
    tasks = data.get("tasks", [])
    if not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks):
        raise NasbenchError(f"[[strategy]] {i + 1}: tasks must be a list of task labels")
    return StrategySpec(data["name"], _frozen(rest), label, tuple(tasks))


def _label_part(value: Any) -> str:
    """A benchmark (or dataset) in a made task label; one given as a file path by its stem."""
    text = str(value)
    return Path(text).stem if "/" in text else text


def _label(where: str, given: Any, source: str, parts: list[str]) -> str:
    """``given``, else ``parts`` joined by '-'; raises NasbenchError naming ``source`` when the
    made label is not file-name safe (an explicit label is checked in :func:`parse_suite`)."""
    if given is not None and not isinstance(given, str):
        raise NasbenchError(f"{where}: label must be a string, got {given!r}")
    if given:
        return given
    label = "-".join(parts)
    if not _NAME.fullmatch(label):
        raise NasbenchError(
            f"{where}: label {label!r} made from {source} is not file-name safe; "
            'fix the names or set label = "..."'
        )
    return label


def parse_suite(text: str) -> Suite:
    """Parse a suite from TOML text (no plugin is built: see :func:`check_suite`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise NasbenchError(f"suite config is not valid TOML: {exc}") from None
    _check_keys("the suite config", data, ["suite", "budget", "task", "strategy"])
    head = _table(data, "suite", required=True)
    _check_keys("[suite]", head, ["name", "seeds", "description", *LIMIT_KEYS])
    name = head.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise NasbenchError(
            f"[suite] name must be a file-name-safe string (letters, digits, '_', '.', '-'), "
            f"got {name!r}"
        )
    limits = _limits(head)
    tasks, strats = data.get("task"), data.get("strategy")
    if not isinstance(tasks, list) or not tasks:
        raise NasbenchError("suite config needs at least one [[task]]")
    if not isinstance(strats, list) or not strats:
        raise NasbenchError("suite config needs at least one [[strategy]]")
    budget = _budget(_table(data, "budget", required=True))
    suite = Suite(
        name=name,
        seeds=_seeds(head.get("seeds", 1)),
        budget=budget,
        tasks=tuple(_task(i, t, budget) for i, t in enumerate(tasks)),
        strategies=tuple(_strategy(i, s) for i, s in enumerate(strats)),
        description=str(head.get("description", "")),
        limits=limits,
    )
    for spec in suite.specs():
        _check_caps(spec)
    for kind, labels in (
        ("task", [t.label for t in suite.tasks]),
        ("strategy", [s.label for s in suite.strategies]),
    ):
        dup = {x for x in labels if labels.count(x) > 1}
        if dup:
            raise NasbenchError(f"two {kind}s share the label {sorted(dup)[0]!r}: set label = ...")
        bad = [x for x in labels if not _NAME.fullmatch(x)]
        if bad:
            raise NasbenchError(
                f"{kind} label {bad[0]!r} is not file-name safe (letters, digits, '_', '.', "
                "'-'; no newline, '/' or control character)"
            )
    known = {t.label for t in suite.tasks}
    for strategy in suite.strategies:
        unknown = [t for t in strategy.tasks if t not in known]
        if unknown:
            raise NasbenchError(f"strategy {strategy.label!r} names unknown task {unknown[0]!r} "
                                f"(tasks: {', '.join(sorted(known))})")  # fmt: skip
    return suite


def load_suite(path: str | Path) -> tuple[Suite, str]:
    """Parse a suite file; returns the suite and the file's text (kept with the results)."""
    try:
        text = Path(path).read_text(encoding="utf-8")  # TOML files are UTF-8
    except OSError as exc:
        raise NasbenchError(f"cannot read suite config {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise NasbenchError(f"suite config {path} is not UTF-8 text (byte {exc.start})") from None
    return parse_suite(text), text
