"""Regret references: the best accuracy a task's benchmark can answer (the table's best, or a
surrogate benchmark's reachable maximum), looked up from the records' resolved config without
importing anything they name, else the best observed final incumbent."""

from __future__ import annotations

import inspect
import json
import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasbench.analysis.curves import RunCurve
from nasbench.analysis.power import POOLED as POOLED
from nasbench.analysis.power import PairRow as PairRow
from nasbench.analysis.power import Scores as Scores
from nasbench.analysis.power import holm as holm
from nasbench.analysis.power import wilcoxon_p as wilcoxon_p
from nasbench.core.errors import NasbenchError
from nasbench.core.registry import NOT_IMPORTED, evaluators, inert
from nasbench.tables.benchmarks import load_benchmark

log = logging.getLogger(__name__)


def table_reference(config_json: str, fidelity: float) -> float | None:
    """The best test accuracy in the benchmark table a run's evaluator answers from, or None
    when the evaluator takes no ``benchmark`` parameter (it does not answer from a table) or
    the table does not record the budget's sparsity level.

    The table is the run's ``benchmark`` evaluator parameter, else the default of a built-in or
    installed evaluator, looked up inertly (:func:`nasbench.core.registry.inert`: a ``module:Class``
    evaluator named by the record is never imported: None; another unknown name raises
    NasbenchError, nothing imported); rows
    count at the budget's sparsity with a finite test accuracy and, when ``fidelity`` is one of
    the table's, a finite validation accuracy there (other rows cannot become an incumbent).
    Constraints are not applied: the reference is the table's unconstrained best. Raises
    NasbenchError for an unknown evaluator or table.
    """
    spec = json.loads(config_json)
    task, budget = spec["task"], spec["budget"]
    name = dict(task["evaluator_params"]).get("benchmark")
    if name is None:  # the evaluator's default, if it takes a table at all
        if ":" in task["evaluator"]:  # records must not make the report import their plugins
            return None
        with inert():
            name = evaluators.params(task["evaluator"]).get("benchmark")
        if not isinstance(name, str):
            return None
    table = load_benchmark(name)
    if not table.has_sparsity(budget["sparsity"]):
        return None
    ok = np.isfinite(table.test) & np.isclose(table.sparsity, budget["sparsity"])
    if fidelity in table.fidelities:
        ok &= np.isfinite(table.fidelity(fidelity).val)
    return float(table.test[ok].max()) if ok.any() else None


def reachable_reference(config_json: str) -> tuple[float | None, str]:
    """The best test accuracy the surrogate benchmark a run's evaluator queries can answer
    (:func:`nasbench.tables.surrogate_benchmark.reachable_max`) and the surrogate's name; ``(None,
    "")`` for an evaluator other than the built-in ``surrogate``, ``(None, name)`` when the
    value is unknown (no ``reachable_max``, no value stored for the table, surrogate and the
    budget's sparsity, or a ``module:Class`` surrogate, which is never imported).
    ``surrogate = "best"`` (or another choice) resolves as the evaluator does
    (:func:`nasbench.tables.surrogate_benchmark.surrogate_choice`). Raises NasbenchError for a table
    that does not resolve or a choice not recorded for it."""
    spec = json.loads(config_json)
    task = spec["task"]
    if task["evaluator"] != "surrogate":
        return None, ""
    params = dict(task["evaluator_params"])
    with inert():
        default = evaluators.params("surrogate")["benchmark"]
    table = load_benchmark(params.get("benchmark") or default)
    from nasbench.tables import surrogate_benchmark

    surrogate = str(params.get("surrogate", "best"))
    choice = getattr(surrogate_benchmark, "surrogate_choice", None)
    if choice is not None and surrogate in getattr(surrogate_benchmark, "CHOICES", ()):
        surrogate = str(choice(table.name, surrogate)[0])  # reads a JSON file, imports nothing
    if ":" in surrogate:
        return None, surrogate
    lookup = getattr(surrogate_benchmark, "reachable_max", None)
    if lookup is None:
        return None, surrogate
    at = {"sparsity": float(spec["budget"]["sparsity"])}
    if "sparsity" not in inspect.signature(lookup).parameters:
        at = {}  # the reachable maximum over the table's levels
    value = lookup(table.name, surrogate, **at)
    return (float(value) if value is not None and math.isfinite(value) else None), surrogate


@dataclass(frozen=True)
class Reference:
    """The regret references of one task (see :class:`ScoreRow`)."""

    acc: float
    source: str
    table_best: float
    reachable: float
    surrogate: str


def _unique(found: set[Any]) -> Any:
    return next(iter(found)) if len(found) == 1 and None not in found else None


def task_reference(runs: list[RunCurve]) -> Reference:
    """The regret references of one task's runs: the table's best when every run names the
    same table reference, else the best observed; the reachable maximum when every run names
    the same one."""
    refs: dict[tuple[str, float], float | None] = {}
    reach: dict[str, tuple[float | None, str]] = {}
    unresolved: set[str] = set()  # module:Class evaluators, said once per task
    for run in runs:
        spec = json.loads(run.config_json)
        evaluator = spec["task"]["evaluator"]
        params = dict(spec["task"]["evaluator_params"])
        if ":" in str(evaluator) and "benchmark" not in params and evaluator not in unresolved:
            unresolved.add(evaluator)
            log.warning("task %s: no table reference (evaluator %r is %s); using the best "
                        "observed", run.task, evaluator, NOT_IMPORTED)  # fmt: skip
        fidelity = float(spec["task"].get("fidelity") or run.first_fidelity)
        settings = json.dumps([spec["task"], spec["budget"]], sort_keys=True)
        if (settings, fidelity) not in refs:
            try:
                refs[(settings, fidelity)] = table_reference(run.config_json, fidelity)
            except NasbenchError as exc:  # e.g. a table path that does not resolve from here
                log.warning("task %s: no table reference (%s); using the best observed",
                            run.task, exc)  # fmt: skip
                refs[(settings, fidelity)] = None
        if settings not in reach:
            try:
                reach[settings] = reachable_reference(run.config_json)
            except NasbenchError as exc:
                log.warning("task %s: no reachable maximum (%s)", run.task, exc)
                reach[settings] = (None, "")
    table = _unique(set(refs.values()))
    reachable = _unique({r for r, _ in reach.values()})
    names = sorted({name for _, name in reach.values()})
    surrogate = names[0] if len(names) == 1 else ""
    top = math.nan if table is None else float(table)
    up = math.nan if reachable is None else float(reachable)
    if table is not None:
        return Reference(float(table), "table", top, up, surrogate)
    finals = [r.final for r in runs if not math.isnan(r.final)]
    return Reference(max(finals) if finals else math.nan, "observed", top, up, surrogate)


def task_references(curves: Sequence[RunCurve]) -> dict[str, float]:
    """The regret reference of each task, as ``stats.md`` uses it (:class:`ScoreRow`'s
    ``ref_test_acc``): the best of the task's benchmark table, else the best observed final
    incumbent; the regret figure draws against the same."""
    by_task: dict[str, list[RunCurve]] = defaultdict(list)
    for c in curves:
        by_task[c.task].append(c)
    return {task: task_reference(runs).acc for task, runs in by_task.items()}
