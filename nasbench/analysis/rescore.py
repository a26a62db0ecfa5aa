"""Conclusions that survive the surrogate (issue 21): re-score a suite's final incumbents with
another surrogate of the same table, and the highest accuracy each surrogate can give.

A surrogate benchmark ranks strategies by the test accuracy its surrogate predicts for their
final incumbents. Whether a conclusion is a property of the strategies or of one surrogate's
blind spots shows when the same incumbents are scored by a surrogate of another model family
(:func:`~nasbench.tables.surrogate_benchmark.surrogate_family`): :func:`rescore` takes the runs of
results folders, finds every surrogate-benchmark run's final incumbent and its task's evaluator
settings in the record metadata, and scores the incumbents with the table's other recorded
surrogate (the ``second`` when the run used the ``best``, otherwise the ``best``). Per task it
reports the strategy means under both, the Kendall tau between them, whether the best strategy
stays the best, and whether each strategy's verdict against random search holds under both: the
report's own test (:func:`nasbench.analysis.power.versus_random` and
:func:`nasbench.analysis.power.verdict`: Wilcoxon signed-rank, paired by seed, Holm over the task's
comparisons with random search, alpha 0.05), so the verdicts under the run's surrogate are the ``vs
random`` marks of ``nasbench report``. ``nasbench report DIR --rescore [--out FOLDER]`` prints it
(and writes ``rescore.md``).

Reading records never imports what they name: evaluator, space and surrogate names must be
built-in registered names (a ``module:Class`` path or an unknown name is refused with one line),
and the re-scoring surrogate comes from ``nasbench/data/best_surrogates.json``, never from the
record. Everything runs inside :func:`nasbench.core.registry.inert`, so what the built-ins look up
in turn (the space a table file names, the surrogate's own parameters) is not imported either unless
it is built in or installed.

The commands that regenerate ``best_surrogates.json`` (package data, so the generator is code):

    python -m nasbench.analysis.rescore choices [--quality results/surrogates/quality.jsonl]
    [--write] python -m nasbench.analysis.rescore reachable [TABLE ...] [--write]

``choices`` takes the best and the second surrogate per table from the measured quality rows
(:func:`choose_surrogates`); ``reachable`` searches each table's best and second surrogate for
the highest noise-free predictions (:func:`reachable_search`).

>>> builtin_name(surrogates, "gin", "example")
'gin'
>>> builtin_name(surrogates, "evil_module:Thing", "example")
Traceback (most recent call last):
...
nasbench.core.errors.NasbenchError: example: refusing surrogate 'evil_module:Thing': only ...
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from scipy import stats as sps

from nasbench.analysis.curves import curves_of
from nasbench.analysis.power import BASELINE, verdict, versus_random
from nasbench.analysis.report import read_runs
from nasbench.analysis.stats import scores_of
from nasbench.core.errors import NasbenchError
from nasbench.core.registry import NOT_IMPORTED, Registry, evaluators, inert, spaces, surrogates
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.types import Architecture, RunMeta
from nasbench.engine.records import check_new, write_new
from nasbench.engine.suite import Params, kwargs
from nasbench.tables.benchmarks import load_benchmark, resolve
from nasbench.tables.surrogate_benchmark import (
    BEST_FILE,
    CHOICES,
    read_best_file,
    surrogate_choice,
    surrogate_family,
    table_data,
)
from nasbench.training.trainer import isolated

ALPHA = 0.05


# ---- run settings, read without importing anything a record names ------------------------------
def builtin_name(registry: Registry[Any], name: object, where: str) -> str:
    """``name`` if it is a registered name of a class shipped with nasbench; otherwise raise
    NasbenchError (one line, naming ``where``) without importing anything: a ``module:Class``
    path is refused before the registry could import it, and so is an entry-point plugin (its
    module is not imported to tell)."""
    valid = registry.builtin_names()
    if not isinstance(name, str) or ":" in name or name not in valid:
        raise NasbenchError(
            f"{where}: refusing {registry.role} {name!r}: only nasbench's built-in registered "
            f"{registry.role}s are re-scored; {NOT_IMPORTED.split('; ')[1]} "
            f"(valid: {', '.join(valid)})"
        )
    return name


def _frozen(value: Any, where: str) -> Params:
    """Parameters as the run spec JSON stores them (``[[key, value], ...]``) back in the frozen
    form the runner had (:func:`nasbench.engine.suite.kwargs` turns them into keyword arguments)."""

    def tuples(v: Any) -> Any:
        return tuple(tuples(x) for x in v) if isinstance(v, list) else v

    if not isinstance(value, list) or not all(
        isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in value
    ):
        raise NasbenchError(f"{where}: malformed parameters {value!r}")
    frozen: Params = tuples(value)
    return frozen


@dataclass(frozen=True)
class SurrogateTask:
    """What re-scoring needs of a task: its surrogate-benchmark settings, as its runs record
    them (``surrogate`` as given: ``"best"``, ``"second"`` or a name)."""

    task: str
    space: str
    space_params: Params
    benchmark: str
    surrogate: str
    surrogate_params: str  # JSON, sorted keys
    train_size: int | None
    sparsity: float


def surrogate_task(meta: RunMeta) -> SurrogateTask | None:
    """The surrogate settings of one run (None when its evaluator is another built-in one).
    Raises NasbenchError, importing nothing, for a name that is not built in (see
    :func:`builtin_name`) or a malformed run spec."""
    with inert():
        return _surrogate_task(meta)


def _surrogate_task(meta: RunMeta) -> SurrogateTask | None:
    where = f"run {meta.run_id}"
    try:
        spec = json.loads(meta.config_json)
        task, budget = spec["task"], spec["budget"]
        evaluator = builtin_name(evaluators, task["evaluator"], where)
        if evaluator != "surrogate":
            return None
        space = builtin_name(spaces, task["space"], where)
        params = kwargs(_frozen(task["evaluator_params"], where))
        space_params = _frozen(task["space_params"], where)
        sparsity = float(budget["sparsity"])
    except NasbenchError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise NasbenchError(f"{where}: malformed run spec ({exc!r})") from None
    defaults = evaluators.params("surrogate")
    surrogate = params.get("surrogate", defaults["surrogate"])
    if surrogate not in CHOICES:
        builtin_name(surrogates, surrogate, where)
    train_size = params.get("train_size", defaults["train_size"])
    return SurrogateTask(
        meta.task, space, space_params, str(params.get("benchmark", defaults["benchmark"])),
        surrogate, json.dumps(params.get("surrogate_params") or {}, sort_keys=True),
        None if train_size is None else int(train_size), sparsity,
    )  # fmt: skip


# ---- re-scoring ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class StrategyRescore:
    """One strategy of a task under the run's surrogate (``used``) and the ``other``: mean final
    test accuracy (fraction, over seeds with an incumbent) and the verdict against random search
    (``"better"``, ``"worse"``, ``"n.s."``; ``""`` for random search itself and on a task
    without it) with its Holm p."""

    strategy: str
    seeds: int
    mean_used: float
    mean_other: float
    verdict_used: str
    verdict_other: str
    p_used: float
    p_other: float

    @property
    def holds(self) -> bool:
        return self.verdict_used == self.verdict_other


@dataclass(frozen=True)
class TaskRescore:
    """One task re-scored: surrogates (name, family), the Kendall tau between the strategy
    means under both, the best strategy under each, and per strategy a :class:`StrategyRescore`."""

    task: str
    benchmark: str
    sparsity: float
    used: str
    used_family: str
    other: str
    other_family: str
    kendall_tau: float
    best_used: str
    best_other: str
    strategies: tuple[StrategyRescore, ...]

    @property
    def same_best(self) -> bool:
        return self.best_used == self.best_other

    @property
    def verdicts(self) -> tuple[int, int]:
        """(verdicts against the baseline that hold under both surrogates, verdicts)."""
        judged = [s for s in self.strategies if s.verdict_used]
        return sum(s.holds for s in judged), len(judged)


def other_surrogate(
    setting: SurrogateTask, other: str | None = None
) -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
    """(the surrogate the runs used, the one to re-score with), each as (name, params).

    The used one is ``setting.surrogate`` resolved against ``best_surrogates.json`` with the
    record's parameters applied (as the evaluator did). The other is ``other`` when given
    (``"best"``, ``"second"`` or a built-in name, with its recorded or default parameters), else
    the table's ``second`` when the runs used its ``best`` and the ``best`` otherwise."""
    with inert():
        return _other_surrogate(setting, other)


def _other_surrogate(
    setting: SurrogateTask, other: str | None
) -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
    table = load_benchmark(setting.benchmark).name
    name, params = surrogate_choice(table, setting.surrogate)
    used = (name, {**params, **json.loads(setting.surrogate_params)})
    if other is None:
        best = surrogate_choice(table, "best")
        other = "second" if setting.surrogate == "best" or used == best else "best"
    elif other not in CHOICES:
        builtin_name(surrogates, other, "other")
    return used, surrogate_choice(table, other)


def _final_incumbent(table: pa.Table) -> str | None:
    """The final incumbent's architecture string (None: the run ended without one)."""
    if table.num_rows == 0 or int(table.column("incumbent_trial")[-1].as_py()) < 0:
        return None
    return str(table.column("incumbent_arch")[-1].as_py())


def _score_task(
    setting: SurrogateTask, texts: list[str], other: tuple[str, dict[str, Any]]
) -> dict[str, float]:
    """Noise-free test accuracy (fraction, clipped to [0, 1]) the other surrogate gives each
    distinct incumbent, fitted as the task's evaluator would be (one torch thread, the fixed
    fitting stream), so the same surrogate reproduces the recorded values."""
    space: SearchSpace = spaces.create(setting.space, **kwargs(setting.space_params))
    archs = [space.parse(t) for t in texts]
    with isolated(1, torch.device("cpu"), 0):
        ev = evaluators.create(
            "surrogate", space=space, benchmark=setting.benchmark, surrogate=other[0],
            surrogate_params=other[1], noise=False, sparsity=setting.sparsity,
            train_size=setting.train_size,
        )  # fmt: skip
        test = np.clip(ev.evaluate_many(archs)["test"], 0.0, 1.0) if archs else np.zeros(0)
    return {t: float(v) for t, v in zip(texts, test, strict=True)}


def _verdicts(scores: dict[str, dict[int, float]], task: str) -> dict[str, tuple[str, float]]:
    """Strategy -> (verdict against random search, Holm p) on one task's scores, as
    ``nasbench report`` marks them (none without random search on the task)."""
    keyed = {(task, s): v for s, v in scores.items()}
    return {r.a: (verdict(r, keyed, ALPHA), r.p_holm) for r in versus_random(keyed)}


def _mean(values: dict[int, float]) -> float:
    kept = [v for v in values.values() if not math.isnan(v)]
    return float(np.mean(kept)) if kept else math.nan


def _summarise(setting: SurrogateTask, used: tuple[str, dict[str, Any]],
               other: tuple[str, dict[str, Any]], runs: dict[str, dict[int, tuple[float, float]]]
               ) -> TaskRescore:  # fmt: skip
    """A :class:`TaskRescore` from ``runs``: strategy -> seed -> (used score, other score)."""
    strategies = sorted(runs)
    scores = [{s: {seed: v[k] for seed, v in runs[s].items()} for s in strategies} for k in (0, 1)]
    means = [[_mean(by[s]) for s in strategies] for by in scores]
    verdicts = [_verdicts(by, setting.task) for by in scores]
    rows = []
    for s, mean_used, mean_other in zip(strategies, *means, strict=True):
        (v_used, p_used), (v_other, p_other) = (v.get(s, ("", math.nan)) for v in verdicts)
        rows.append(StrategyRescore(s, len(runs[s]), mean_used, mean_other, v_used, v_other,
                                    p_used, p_other))  # fmt: skip
    tau = math.nan
    if len(strategies) > 1:
        tau = float(sps.kendalltau(means[0], means[1], nan_policy="omit")[0])
    best = [strategies[int(np.argmax(np.nan_to_num(m, nan=-np.inf)))] for m in means]
    return TaskRescore(
        setting.task, setting.benchmark, setting.sparsity, used[0], surrogate_family(*used),
        other[0], surrogate_family(*other), tau, best[0], best[1], tuple(rows),
    )  # fmt: skip


def rescore(
    runs: Sequence[tuple[pa.Table, RunMeta]], other: str | None = None
) -> tuple[list[TaskRescore], list[str]]:
    """Re-score the final incumbents of surrogate-benchmark runs (read with
    :func:`nasbench.analysis.report.read_runs`) with another surrogate of their table (see
    :func:`other_surrogate`; ``other`` forces one). A run's score under its own surrogate is its
    recorded final incumbent test accuracy; a run without a feasible incumbent scores NaN under
    both and is left out of the means and the pairs, as in ``nasbench report``.

    Returns the tasks sorted by name and notes on the tasks left out (another evaluator).
    Raises NasbenchError, having imported nothing a record names, for a record naming a
    non-built-in evaluator, space or surrogate, a task whose runs disagree on their settings,
    a table without a recorded second surrogate, or no surrogate-benchmark run at all. Fits
    one surrogate per task (seconds to minutes); draws no randomness of its own. Inert
    (:func:`nasbench.core.registry.inert`): imports nothing but nasbench and installed code.
    """
    with inert():
        return _rescore(runs, other)


def _rescore(
    runs: Sequence[tuple[pa.Table, RunMeta]], other: str | None
) -> tuple[list[TaskRescore], list[str]]:
    settings: dict[str, SurrogateTask] = {}
    incumbents: dict[str, dict[tuple[str, int], str | None]] = defaultdict(dict)
    skipped: dict[str, str] = {}
    for table, meta in runs:
        setting = surrogate_task(meta)
        if setting is None:
            skipped[meta.task] = json.loads(meta.config_json)["task"]["evaluator"]
            continue
        if settings.setdefault(meta.task, setting) != setting:
            raise NasbenchError(f"task {meta.task!r}: runs differ in their surrogate settings "
                                f"({settings[meta.task]} vs {setting})")  # fmt: skip
        incumbents[meta.task][meta.strategy, meta.seed] = _final_incumbent(table)
    if not settings:
        raise NasbenchError("no run answers from a surrogate benchmark (evaluator = 'surrogate')")
    recorded = scores_of(curves_of([r for r in runs if r[1].task in settings]))
    results = []
    for task, setting in sorted(settings.items()):
        used, alternative = other_surrogate(setting, other)
        texts = sorted({t for t in incumbents[task].values() if t is not None})
        scored = _score_task(setting, texts, alternative)
        table_runs: dict[str, dict[int, tuple[float, float]]] = defaultdict(dict)
        for (strategy, seed), text in sorted(incumbents[task].items()):
            again = scored[text] if text is not None else math.nan
            table_runs[strategy][seed] = (recorded[(task, strategy)][seed], again)
        results.append(_summarise(setting, used, alternative, table_runs))
    notes = [f"task {t}: evaluator {e!r} is not a surrogate benchmark; left out"
             for t, e in sorted(skipped.items()) if t not in settings]  # fmt: skip
    return results, notes


def _pct(x: float) -> str:
    return "nan" if math.isnan(x) else f"{100 * x:.2f}"


def format_rescore(tasks: Sequence[TaskRescore], notes: Sequence[str] = ()) -> str:
    """:func:`rescore`'s result as a Markdown section: one summary row per task, then one row
    per (task, strategy)."""
    lines = [
        "## Re-scored with the other surrogate", "",
        "The final incumbents of every run, scored again by the table's other surrogate (the "
        "best of another model family when the runs used the best, else the best; "
        "nasbench/data/best_surrogates.json). Noise-free expected test accuracy; a conclusion "
        f"that holds under both is one of the strategies, not of one surrogate. Verdicts: "
        f"Wilcoxon signed-rank against {BASELINE} search, paired by seed (runs with a feasible "
        f"incumbent), Holm over the task's comparisons with {BASELINE} search, alpha "
        f"{ALPHA:g} (the report's vs-random marks).", "",
        "| task | benchmark | sparsity | surrogate used (family) | other (family) | Kendall tau "
        "of strategy means | best strategy used / other | same best | verdicts vs random held |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for t in tasks:
        held, total = t.verdicts
        lines.append(
            f"| {t.task} | {t.benchmark} | {t.sparsity:g} | {t.used} ({t.used_family}) | "
            f"{t.other} ({t.other_family}) | {t.kendall_tau:.3f} | {t.best_used} / "
            f"{t.best_other} | {'yes' if t.same_best else 'no'} | {held}/{total} |"
        )
    lines += ["", "| task | strategy | seeds | test acc used (%) | other (%) | vs random used "
              "(p Holm) | other (p Holm) | holds |", "| --- | --- | --- | --- | --- | --- | --- "
              "| --- |"]  # fmt: skip
    for t in tasks:
        for s in t.strategies:
            judged = [f"{v} ({p:.3g})" if v else "" for v, p in
                      ((s.verdict_used, s.p_used), (s.verdict_other, s.p_other))]  # fmt: skip
            lines.append(
                f"| {t.task} | {s.strategy} | {s.seeds} | {_pct(s.mean_used)} | "
                f"{_pct(s.mean_other)} | {judged[0]} | {judged[1]} | "
                f"{('yes' if s.holds else 'no') if s.verdict_used else ''} |"
            )
    return "\n".join(lines + ([""] + [f"- {n}" for n in notes] if notes else []))


def print_rescore(folders: Sequence[Path], fmt: str = "md", out: Path | None = None,
                  overwrite: bool = False) -> None:  # fmt: skip
    """``nasbench report DIR... --rescore [--out FOLDER [--overwrite]]``: print
    :func:`format_rescore` and, with ``out``, write it to ``out/rescore.md``. Checks first and
    raises NasbenchError (no file written) for another format, an ``out`` that is a file, or an
    existing ``rescore.md`` unless ``overwrite``: nasbench never overwrites results unasked."""
    if fmt != "md":
        raise NasbenchError(f"--rescore prints Markdown only, not --format {fmt}")
    target = None if out is None else Path(out) / "rescore.md"
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise NasbenchError(f"--out {out} is a file, not a folder")
    if target is not None:
        check_new([target], overwrite)
    text = format_rescore(*rescore(read_runs(list(folders))))
    print(text)
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_new(target, text + "\n", overwrite)  # a file that appeared meanwhile stays
        print(target)


# ---- best_surrogates.json: the choices and the reachable maxima ---------------------------------
def choose_surrogates(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per table, the ``best`` and ``second`` surrogate from held-out quality rows (the JSON
    lines of ``experiments/surrogate_quality.py``: benchmark, surrogate, train_archs, kendall):
    mean Kendall tau per (table, surrogate, training size); the best has the highest at the
    table's largest training size (the rule of ``surrogate_quality report``), the second the
    highest among surrogates of another :func:`surrogate_family`. NaN taus never win."""
    groups: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for r in rows:
        groups[(r["benchmark"], r["surrogate"], int(r["train_archs"]))].append(float(r["kendall"]))
    chosen: dict[str, dict[str, dict[str, Any]]] = {}
    for table in sorted({t for t, _, _ in groups}):
        size = max(n for t, _, n in groups if t == table)
        ranked = sorted(((float(np.mean(v)), s) for (t, s, n), v in groups.items()
                         if t == table and n == size and math.isfinite(float(np.mean(v)))),
                        key=lambda x: (-x[0], x[1]))  # fmt: skip
        if not ranked:
            continue
        entry = {}
        for which, (tau, name) in zip(CHOICES, [ranked[0], *[
                r for r in ranked if surrogate_family(r[1]) != surrogate_family(ranked[0][1])][:1]],
                strict=False):  # fmt: skip
            entry[which] = {"surrogate": name, "params": {}, "family": surrogate_family(name),
                            "kendall": round(tau, 4), "train_archs": size}  # fmt: skip
        chosen[table] = entry
    return chosen


@dataclass(frozen=True)
class ReachableSearch:
    """How :func:`reachable_search` looks for a surrogate's highest prediction: every recorded
    architecture of the table, ``uniform`` uniform samples of the space (drawn from
    ``role_rng(seed, "reachable", table)``, the same for every surrogate and level), then a
    greedy beam search: the ``beam`` best so far, every neighbour of them evaluated
    (``space.neighbours``), for at most ``rounds`` rounds or until a round finds nothing better.
    The objective is the predicted validation accuracy (what a strategy climbs); the test
    prediction is an increasing affine map of it (``surrogate`` evaluator), so one search serves
    both. Unconstrained: no latency or size limit, like the table's own best."""

    seed: int = 0
    uniform: int = 20000
    beam: int = 8
    rounds: int = 8
    batch: int = 4096


def _predict(ev: Any, archs: list[Architecture], batch: int) -> dict[str, tuple[float, float]]:
    """Architecture string -> (predicted validation accuracy, test accuracy clipped to [0, 1]
    as ``evaluate`` reports it); the validation value unclipped, so the search can still rank
    beyond 1 (``evaluate`` clips it after adding noise)."""
    out: dict[str, tuple[float, float]] = {}
    for i in range(0, len(archs), batch):
        part = archs[i : i + batch]
        pred = ev.evaluate_many(part)
        test = np.clip(pred["test"], 0.0, 1.0).tolist()
        out.update(zip([a.text for a in part], zip(pred["val"].tolist(), test, strict=True),
                       strict=True))  # fmt: skip
    return out


def _climb(ev: Any, space: SearchSpace, seen: dict[str, tuple[float, float]],
           search: ReachableSearch) -> None:  # fmt: skip
    """Greedy beam search from the best of ``seen`` (updated in place), see
    :class:`ReachableSearch`; each architecture's neighbours are listed once."""
    expanded: set[str] = set()
    for _ in range(search.rounds):
        beam = sorted(seen, key=lambda t: (-seen[t][0], t))[: search.beam]
        new: dict[str, Architecture] = {}
        for text in beam:
            if text not in expanded:
                expanded.add(text)
                new.update((n.text, n) for n in space.neighbours(space.parse(text))
                           if n.text not in seen)  # fmt: skip
        if not new:
            return
        found = _predict(ev, list(new.values()), search.batch)
        seen.update(found)
        if max(v for v, _ in found.values()) <= seen[beam[0]][0]:
            return


def reachable_search(table: str, surrogate: str, params: dict[str, Any],
                     search: ReachableSearch = ReachableSearch()) -> dict[str, Any]:  # fmt: skip
    """The highest noise-free validation and test accuracy (fractions, clipped to [0, 1] as the
    ``surrogate`` evaluator answers) that ``surrogate`` (with ``params``, fitted on the whole
    table) predicts at each sparsity level of ``table`` (keys ``str(level)``), found by
    ``search`` (:class:`ReachableSearch`); beside them the arg-max architecture of the test
    prediction, the number of architectures evaluated, and the maxima over the recorded and
    uniformly sampled architectures alone (``*_sampled``: what the beam search added is the
    surrogate's own extrapolation). Deterministic (one torch thread, fixed streams); fits the
    surrogate once (seconds to minutes)."""
    data = table_data(load_benchmark(table))
    space = data.space
    rng = role_rng(search.seed, "reachable", data.table.name)
    pool = {a.text: a for a in data.archs}
    for _ in range(search.uniform):
        arch = space.sample(rng)
        pool.setdefault(arch.text, arch)
    keys = ("val", "test", "arch", "evaluated", "val_sampled", "test_sampled")
    found: dict[str, dict[str, Any]] = {k: {} for k in keys}
    with isolated(1, torch.device("cpu"), 0):
        for level in data.levels:
            ev = evaluators.create(
                "surrogate", space=space, benchmark=table, surrogate=surrogate,
                surrogate_params=params, sparsity=level, noise=False,
            )  # fmt: skip
            seen = _predict(ev, list(pool.values()), search.batch)
            key = str(float(level))
            for name, column in (("val_sampled", 0), ("test_sampled", 1)):
                found[name][key] = round(min(max(v[column] for v in seen.values()), 1.0), 6)
            _climb(ev, space, seen, search)
            top = max(seen, key=lambda t: (seen[t][1], seen[t][0], t))
            found["val"][key] = round(min(max(v for v, _ in seen.values()), 1.0), 6)
            found["test"][key] = round(seen[top][1], 6)
            found["arch"][key], found["evaluated"][key] = top, len(seen)
    return {"params": params, **found, "search": asdict(search)}


def _write_best(entries: dict[str, dict[str, Any]]) -> None:
    BEST_FILE.write_text(json.dumps(entries, indent=1, sort_keys=True) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m nasbench.analysis.rescore choices|reachable ...`` (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m nasbench.analysis.rescore")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("choices", help="best and second surrogate per table from quality rows")
    p.add_argument("--quality", default="results/surrogates/quality.jsonl")
    p.add_argument("--write", action="store_true", help=f"update {BEST_FILE.name}")
    p = sub.add_parser("reachable", help="the highest prediction of the best and second")
    p.add_argument("tables", nargs="*", help="default: every table with a recorded choice")
    p.add_argument("--uniform", type=int, default=ReachableSearch.uniform)
    p.add_argument("--write", action="store_true", help=f"update {BEST_FILE.name}")
    args = parser.parse_args(argv)
    try:
        entries = read_best_file()
        if args.command == "choices":
            path = Path(args.quality)
            if not path.is_file():
                raise NasbenchError(f"no quality rows at {path}")
            rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            for table, chosen in choose_surrogates(rows).items():
                keep = {c["surrogate"] for c in chosen.values()}
                reach = {k: v for k, v in entries.get(table, {}).get("reachable", {}).items()
                         if k in keep}  # fmt: skip
                entries[table] = {**chosen, **({"reachable": reach} if reach else {})}
                print(table, {w: (c["surrogate"], c["kendall"]) for w, c in chosen.items()})
        else:
            for table in args.tables or sorted(entries):
                resolve(table)  # an unknown table: one line, before any fitting
                reach = entries.setdefault(table, {}).setdefault("reachable", {})
                for which in CHOICES:
                    name, params = surrogate_choice(table, which)
                    search = ReachableSearch(uniform=args.uniform)
                    reach[name] = reachable_search(table, name, params, search)
                    print(table, which, name, "val", reach[name]["val"], "test",
                          reach[name]["test"], flush=True)  # fmt: skip
                if args.write:  # table by table: a long search keeps what it finished
                    _write_best(entries)
    except NasbenchError as exc:
        print(f"nasbench.analysis.rescore: error: {exc}", file=sys.stderr)
        return 2
    if args.write:
        _write_best(entries)
        print(BEST_FILE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
