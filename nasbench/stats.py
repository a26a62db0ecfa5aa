"""Statistics over run records: confidence intervals, regret, anytime area, ranks, tests.

Pure functions of the run records (``nasbench report`` and the end of every suite call them).
The score of a run is its final incumbent test accuracy (a fraction; NaN when the run ended
without a feasible incumbent). Per (task, strategy) :func:`score_rows` gives the mean with a 95%
Student-t interval over seeds, the median, the regret to a reference (the best test accuracy of
the benchmark table the task's evaluator answers from, else the best final accuracy observed for
the task) and the area under the anytime curve (:func:`anytime_auc`). Across tasks, strategies
are ranked per task by mean score and the ranks averaged; the Nemenyi critical difference says
which mean ranks differ significantly, and Wilcoxon signed-rank tests paired by seed, with Holm's
correction, compare every pair of strategies per task and pooled over tasks (Demšar 2006,
"Statistical Comparisons of Classifiers over Multiple Data Sets", JMLR 7; Holm 1979).

>>> round(nemenyi_cd(4, 10), 3)
1.483
>>> holm([0.01, 0.04, 0.03]).round(2).tolist()
[0.03, 0.06, 0.06]
"""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from scipy import stats as sps

from nasbench.benchmarks import load_benchmark
from nasbench.errors import NasbenchError
from nasbench.registry import evaluators
from nasbench.report import SummaryRow, read_runs, summary_rows
from nasbench.types import RunMeta

log = logging.getLogger(__name__)

Scores = dict[tuple[str, str], dict[int, float]]
"""(task, strategy) -> {seed: final incumbent test accuracy (fraction; NaN: no incumbent)}."""

POOLED = "(pooled)"
"""The task name of the pooled comparisons (paired by task and seed)."""


@dataclass(frozen=True)
class RunCurve:
    """What the statistics need of one run: its final score and its anytime curve."""

    task: str
    strategy: str
    seed: int
    cum_cost_s: np.ndarray  # after each trial, nondecreasing
    incumbent_test: np.ndarray  # the incumbent's test accuracy after each trial (NaN: none yet)
    first_fidelity: float  # of the first evaluation (NaN: no evaluation)
    config_json: str  # the resolved run spec (RunMeta.config_json)

    @property
    def final(self) -> float:
        return float(self.incumbent_test[-1]) if len(self.incumbent_test) else math.nan


def load_curves(folders: Path | Sequence[Path]) -> list[RunCurve]:
    """The runs of ``folders`` (see :func:`nasbench.report.run_files`), sorted by file name.
    Raises NasbenchError for a folder without records, an unreadable record, or a run of the
    same (task, strategy, seed) present twice."""
    return curves_of(read_runs(folders))


def curves_of(runs: Sequence[tuple[pa.Table, RunMeta]]) -> list[RunCurve]:
    """:class:`RunCurve` of runs already read (:func:`nasbench.report.read_runs`); raises
    NasbenchError when two runs share (task, strategy, seed)."""
    curves, seen = [], set()
    for table, meta in runs:
        if (meta.task, meta.strategy, meta.seed) in seen:
            raise NasbenchError(f"two runs of task {meta.task!r}, strategy {meta.strategy!r}, "
                                f"seed {meta.seed} (one is {meta.run_id})")  # fmt: skip
        seen.add((meta.task, meta.strategy, meta.seed))
        cost = table.column("cum_cost_s").to_numpy(zero_copy_only=False).astype(float)
        inc = table.column("incumbent_test_acc").to_numpy(zero_copy_only=False).astype(float)
        fid = float(table.column("fidelity")[0].as_py()) if table.num_rows else math.nan
        curves.append(RunCurve(meta.task, meta.strategy, meta.seed, cost, inc, fid,
                               meta.config_json))  # fmt: skip
    return curves


def scores_of(curves: Sequence[RunCurve]) -> Scores:
    """:data:`Scores` of loaded runs, keys sorted."""
    scores: Scores = {}
    for c in curves:
        scores.setdefault((c.task, c.strategy), {})[c.seed] = c.final
    return {k: dict(sorted(v.items())) for k, v in sorted(scores.items())}


def final_scores(folders: Path | Sequence[Path]) -> Scores:
    """The final incumbent test accuracy of every run in ``folders``.

    Returns ``{(task, strategy): {seed: accuracy}}`` with accuracy a fraction, NaN for a run
    that ended without an incumbent (no feasible evaluation) or with no evaluation at all.
    Raises NasbenchError for a folder without run records or a run present twice.
    """
    return scores_of(load_curves(folders))


@dataclass(frozen=True)
class Ranks:
    """Per-task ranks of strategies (rank 1 = best; ties share the mean rank)."""

    tasks: list[str]
    strategies: list[str]
    ranks: np.ndarray  # shape (tasks, strategies)
    mean: np.ndarray  # shape (strategies,): average rank over tasks
    excluded: list[str] = field(default_factory=list)  # tasks left out: not every strategy ran


def rank_row(values: np.ndarray) -> np.ndarray:
    """Ranks of ``values`` (higher is better, rank 1 = best), ties sharing their mean rank and
    NaN ranking last (tied among themselves)."""
    keyed = np.where(np.isnan(values), -np.inf, values)
    # rankdata ranks ascending; negate so that the largest value gets rank 1
    return np.asarray(sps.rankdata(-keyed, method="average"), dtype=float)


def average_ranks(scores: Scores) -> Ranks:
    """Rank strategies on every task by their mean (over seeds) score, then average over tasks
    (Demšar 2006, Sec. 3.2.2). A strategy with only NaN scores on a task ranks last there.

    Ranks need complete blocks (every strategy run on every task ranked). When suites restrict
    strategies to some tasks, the tasks are grouped by the set of strategies run on them and the
    largest group (most tasks, then most strategies) is ranked; the other tasks are listed in
    ``excluded``. Returns :class:`Ranks` with tasks and strategies sorted by name. Raises
    NasbenchError when ``scores`` is empty.
    """
    if not scores:
        raise NasbenchError("no runs to rank")
    ran: dict[str, frozenset[str]] = {}
    for t in sorted({t for t, _ in scores}):
        ran[t] = frozenset(s for task, s in scores if task == t)
    blocks: dict[frozenset[str], list[str]] = {}
    for t, names in ran.items():
        blocks.setdefault(names, []).append(t)
    chosen = max(blocks, key=lambda names: (len(blocks[names]), len(names), sorted(names)))
    tasks, strategies = blocks[chosen], sorted(chosen)
    excluded = sorted(t for t in ran if t not in tasks)
    ranks = np.empty((len(tasks), len(strategies)))
    for i, task in enumerate(tasks):
        means = np.array([_mean_or_nan(scores.get((task, s), {})) for s in strategies])
        ranks[i] = rank_row(means)
    return Ranks(tasks, strategies, ranks, ranks.mean(axis=0), excluded)


def _mean_or_nan(runs: dict[int, float]) -> float:
    values = np.array([v for v in runs.values() if not math.isnan(v)], dtype=float)
    return float(values.mean()) if values.size else math.nan


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Critical difference of the Nemenyi test for ``k`` strategies over ``n`` tasks:
    ``q_alpha * sqrt(k (k + 1) / (6 n))`` with ``q_alpha`` the Studentized range quantile
    (infinite degrees of freedom) divided by sqrt(2) (Demšar 2006, Sec. 3.2.2).

    Two mean ranks differing by at least the returned value differ significantly. Raises
    NasbenchError for ``k < 2``, ``n < 1`` or ``alpha`` outside (0, 1).
    """
    if k < 2 or n < 1:
        raise NasbenchError(f"the Nemenyi test needs k >= 2 strategies and n >= 1 tasks, "
                            f"got k={k}, n={n}")  # fmt: skip
    if not 0.0 < alpha < 1.0:
        raise NasbenchError(f"alpha must be in (0, 1), got {alpha}")
    q = float(sps.studentized_range.ppf(1.0 - alpha, k, math.inf)) / math.sqrt(2.0)
    return q * math.sqrt(k * (k + 1) / (6.0 * n))


# ---- per (task, strategy) ---------------------------------------------------------------------
def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval of the non-NaN ``values``:
    ``mean ± t_{(1+confidence)/2, n-1} * s / sqrt(n)`` with ``s`` the sample standard deviation.
    Returns ``(mean, low, high)``; the bounds are NaN for fewer than two values, all three for
    none."""
    arr = np.array([v for v in values if not math.isnan(v)], dtype=float)
    if arr.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(arr.mean())
    if arr.size < 2:
        return mean, math.nan, math.nan
    t = float(sps.t.ppf(0.5 + confidence / 2, arr.size - 1))
    half = t * float(arr.std(ddof=1)) / math.sqrt(arr.size)
    return mean, mean - half, mean + half


def anytime_auc(
    cum_cost_s: np.ndarray, incumbent: np.ndarray, low_s: float, high_s: float
) -> float:
    """Area under one run's anytime curve, normalised: the mean incumbent test accuracy over
    simulated cost on a log scale from ``low_s`` to ``high_s`` seconds,
    ``1 / ln(high/low) * integral_low^high acc(c) d(ln c)``.

    ``acc(c)`` is the incumbent after the last trial with ``cum_cost_s <= c``: 0 before the
    first trial and while there is no incumbent (NaN), the final incumbent after the run ends.
    :func:`score_rows` takes ``low_s`` as the smallest positive cumulative cost of a first
    evaluation among the task's runs and ``high_s`` as their largest final cumulative cost, so
    every strategy of a task is averaged over the same window. Returns a fraction in [0, 1];
    when ``high_s <= low_s`` the accuracy at ``high_s``.
    """
    acc = np.nan_to_num(np.asarray(incumbent, dtype=float), nan=0.0)
    cost = np.asarray(cum_cost_s, dtype=float)
    if not high_s > low_s:
        last = int(np.searchsorted(cost, high_s, side="right")) - 1
        return float(acc[last]) if last >= 0 else 0.0
    edges = np.log(np.concatenate([[low_s], np.clip(cost, low_s, high_s), [high_s]]))
    values = np.concatenate([[0.0], acc])  # segment k runs from edges[k] to edges[k + 1]
    return float(np.sum(np.diff(edges) * values) / (edges[-1] - edges[0]))


def table_reference(config_json: str, fidelity: float) -> float | None:
    """The best test accuracy in the benchmark table a run's evaluator answers from, or None
    when the evaluator takes no ``benchmark`` parameter (it does not answer from a table) or
    the table does not record the budget's sparsity level.

    The table is the run's ``benchmark`` evaluator parameter, else the evaluator's default
    (found through the evaluator registry); rows count at the budget's sparsity with a finite
    test accuracy and, when ``fidelity`` is one of the table's, a finite validation accuracy
    there (other rows cannot become an incumbent). Constraints are not applied: the reference
    is the table's unconstrained best. Raises NasbenchError for an unknown evaluator or table.
    """
    spec = json.loads(config_json)
    task, budget = spec["task"], spec["budget"]
    name = dict(task["evaluator_params"]).get("benchmark")
    if name is None:  # the evaluator's default, if it takes a table at all
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


@dataclass(frozen=True)
class ScoreRow:
    """Final-score statistics of one (task, strategy); accuracies are fractions.

    ``regret_mean`` is ``ref_test_acc - test_mean``; ``regret_ref`` says where the reference
    comes from: ``"table"`` (the best in the task's benchmark table, :func:`table_reference`)
    or ``"observed"`` (the best final test accuracy of any run of the task in the report).
    ``auc_mean`` is :func:`anytime_auc` averaged over seeds, with the task's cost window
    ``auc_low_s`` to ``auc_high_s``.
    """

    task: str
    strategy: str
    seeds: int
    test_mean: float
    test_ci_low: float
    test_ci_high: float
    test_median: float
    regret_mean: float
    regret_ref: str
    ref_test_acc: float
    auc_mean: float
    auc_low_s: float
    auc_high_s: float


def _task_reference(runs: list[RunCurve]) -> tuple[float, str]:
    """The regret reference of one task's runs and its source (see :class:`ScoreRow`): the
    table's best when every run names the same table reference, else the best observed."""
    refs: dict[tuple[str, float], float | None] = {}
    for run in runs:
        spec = json.loads(run.config_json)
        fidelity = float(spec["task"].get("fidelity") or run.first_fidelity)
        key = (json.dumps([spec["task"], spec["budget"]], sort_keys=True), fidelity)
        if key in refs:
            continue
        try:
            refs[key] = table_reference(run.config_json, fidelity)
        except NasbenchError as exc:  # e.g. a table path that does not resolve from here
            log.warning("task %s: no table reference (%s); using the best observed", run.task, exc)
            refs[key] = None
    found = set(refs.values())
    if len(found) == 1 and None not in found:
        return float(found.pop() or 0.0), "table"
    finals = [r.final for r in runs if not math.isnan(r.final)]
    return (max(finals) if finals else math.nan), "observed"


def _cost_window(runs: list[RunCurve]) -> tuple[float, float]:
    """The anytime window of one task's runs: from the smallest cumulative cost of a first
    charged evaluation (free evaluations, e.g. rejected infeasible ones, do not start it) to
    the largest final cumulative cost; a degenerate ``(high, high)`` when nothing was charged."""
    starts = [float(r.cum_cost_s[r.cum_cost_s > 0][0]) for r in runs if np.any(r.cum_cost_s > 0)]
    high = max((float(r.cum_cost_s[-1]) for r in runs if len(r.cum_cost_s)), default=math.nan)
    return (min(starts) if starts else high), high


def score_rows(curves: Sequence[RunCurve]) -> list[ScoreRow]:
    """:class:`ScoreRow` per (task, strategy), sorted by task, then strategy."""
    by_task: dict[str, list[RunCurve]] = defaultdict(list)
    for c in curves:
        by_task[c.task].append(c)
    rows = []
    for task, runs in sorted(by_task.items()):
        ref, source = _task_reference(runs)
        low, high = _cost_window(runs)
        by_strategy: dict[str, list[RunCurve]] = defaultdict(list)
        for r in runs:
            by_strategy[r.strategy].append(r)
        for strategy, group in sorted(by_strategy.items()):
            finals = [r.final for r in group]
            mean, ci_low, ci_high = t_interval(finals)
            kept = [v for v in finals if not math.isnan(v)]
            aucs = [anytime_auc(r.cum_cost_s, r.incumbent_test, low, high) for r in group
                    if len(r.cum_cost_s)]  # fmt: skip
            rows.append(ScoreRow(
                task=task, strategy=strategy, seeds=len(group), test_mean=mean,
                test_ci_low=ci_low, test_ci_high=ci_high,
                test_median=float(np.median(kept)) if kept else math.nan,
                regret_mean=ref - mean, regret_ref=source, ref_test_acc=ref,
                auc_mean=float(np.mean(aucs)) if aucs else math.nan, auc_low_s=low,
                auc_high_s=high,
            ))  # fmt: skip
    return rows


# ---- paired tests -----------------------------------------------------------------------------
def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979, "A Simple Sequentially Rejective Multiple
    Test Procedure"): the i-th smallest of m p-values becomes ``max_{j <= i} min(1, (m - j + 1)
    p_(j))``. Returns them in the input order; rejecting where adjusted < alpha controls the
    family-wise error rate at alpha."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (len(p) - np.arange(len(p))) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.maximum.accumulate(scaled) if len(p) else scaled
    return adjusted


def wilcoxon_p(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray
) -> tuple[float, float]:
    """Two-sided Wilcoxon signed-rank test of paired samples (Wilcoxon 1945) with scipy's
    defaults (zero differences dropped, exact distribution for small samples without ties).
    Returns ``(statistic, p)``; ``(0, 1)`` when every difference is zero or there is no pair."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if not np.any(d != 0):
        return 0.0, 1.0
    result = sps.wilcoxon(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    return float(result.statistic), float(result.pvalue)


@dataclass(frozen=True)
class PairRow:
    """One paired comparison of strategies ``a`` and ``b`` on a task (or :data:`POOLED`).

    ``pairs`` counts the seeds (pooled: the (task, seed) pairs) both ran; a run without an
    incumbent scores 0 here. ``mean_diff`` is the mean of ``a - b`` (fraction); ``p_holm`` is
    ``p_value`` adjusted over all pairs of the same task (:func:`holm`).
    """

    task: str
    a: str
    b: str
    pairs: int
    a_better: int
    b_better: int
    mean_diff: float
    statistic: float
    p_value: float
    p_holm: float


def _paired(task: str, a: str, b: str, x: np.ndarray, y: np.ndarray) -> PairRow:
    stat, p = wilcoxon_p(x, y)
    diff = float(np.mean(x - y)) if len(x) else math.nan
    return PairRow(task, a, b, len(x), int(np.sum(x > y)), int(np.sum(y > x)), diff, stat, p, p)


def _with_holm(rows: list[PairRow]) -> list[PairRow]:
    adjusted = holm([r.p_value for r in rows])
    return [replace(r, p_holm=float(q)) for r, q in zip(rows, adjusted, strict=True)]


def _common(x: dict[Any, float], y: dict[Any, float]) -> tuple[np.ndarray, np.ndarray]:
    keys = sorted(x.keys() & y.keys())
    return (np.nan_to_num(np.array([x[k] for k in keys], dtype=float), nan=0.0),
            np.nan_to_num(np.array([y[k] for k in keys], dtype=float), nan=0.0))  # fmt: skip


def pairwise_tests(scores: Scores) -> list[PairRow]:
    """Wilcoxon signed-rank tests of every pair of strategies on every task, paired by seed,
    Holm-adjusted within each task; rows sorted by task, then ``a``, then ``b`` (``a < b``)."""
    rows = []
    for task in sorted({t for t, _ in scores}):
        names = sorted(s for t, s in scores if t == task)
        task_rows = []
        for a, b in combinations(names, 2):
            x, y = _common(scores[(task, a)], scores[(task, b)])
            task_rows.append(_paired(task, a, b, x, y))
        rows += _with_holm(task_rows)
    return rows


def pooled_tests(scores: Scores) -> list[PairRow]:
    """Wilcoxon signed-rank tests of every pair of strategies over all tasks at once, paired by
    (task, seed), Holm-adjusted over the pairs; task :data:`POOLED`."""
    by_strategy: dict[str, dict[Any, float]] = defaultdict(dict)
    for (task, strategy), runs in scores.items():
        for seed, value in runs.items():
            by_strategy[strategy][(task, seed)] = value
    rows = []
    for a, b in combinations(sorted(by_strategy), 2):
        x, y = _common(by_strategy[a], by_strategy[b])
        rows.append(_paired(POOLED, a, b, x, y))
    return _with_holm(rows)


# ---- critical difference ----------------------------------------------------------------------
@dataclass(frozen=True)
class CriticalDifference:
    """The data of a critical-difference diagram (Demšar 2006, Fig. 1).

    ``strategies`` sorted by ``mean_ranks`` (best first); ``cd`` the Nemenyi critical difference
    at ``alpha`` for them over ``tasks`` tasks (NaN for fewer than two strategies); ``cliques``
    the maximal groups of strategies (consecutive in rank order, singletons included) whose
    mean ranks differ by less than ``cd``: strategies not sharing a clique differ
    significantly.
    """

    strategies: list[str]
    mean_ranks: list[float]
    tasks: int
    alpha: float
    cd: float
    cliques: list[list[str]]


def cliques(mean_ranks: Sequence[float], cd: float) -> list[list[int]]:
    """Maximal runs ``[i, j]`` of ascending ``mean_ranks`` with ``rank[j] - rank[i] < cd``, as
    index lists (every index is in at least one)."""
    ranks = list(mean_ranks)
    groups: list[list[int]] = []
    for i in range(len(ranks)):
        j = i
        while j + 1 < len(ranks) and ranks[j + 1] - ranks[i] < cd:
            j += 1
        if not groups or j > groups[-1][-1]:
            groups.append(list(range(i, j + 1)))
    return groups


def critical_difference(ranks: Ranks, alpha: float = 0.05) -> CriticalDifference:
    """Mean ranks in order, the Nemenyi CD and the cliques of :class:`CriticalDifference`."""
    order = np.argsort(ranks.mean, kind="stable")
    names = [ranks.strategies[i] for i in order]
    means = [float(ranks.mean[i]) for i in order]
    k, n = len(names), len(ranks.tasks)
    cd = nemenyi_cd(k, n, alpha) if k >= 2 else math.nan
    groups = [[names[i] for i in g] for g in cliques(means, cd)] if k >= 2 else [names]
    return CriticalDifference(names, means, n, alpha, cd, groups)


# ---- the whole report -------------------------------------------------------------------------
@dataclass(frozen=True)
class StatsReport:
    """Every statistics section of ``nasbench report`` (rendered by :mod:`nasbench.report`)."""

    summary: list[SummaryRow]
    scores: list[ScoreRow]
    ranks: Ranks
    critical_difference: CriticalDifference
    pairwise: list[PairRow]
    pooled: list[PairRow]


def build_report(
    folders: Path | Sequence[Path], alpha: float = 0.05, summary: list[SummaryRow] | None = None
) -> StatsReport:
    """All statistics of the runs in ``folders`` (``summary``: the summary rows when already
    built, to skip reading the records twice for them). Reads the records; draws no randomness.
    Raises NasbenchError for folders without records or with unreadable ones."""
    runs = read_runs(folders)
    curves = curves_of(runs)
    scores = scores_of(curves)
    ranks = average_ranks(scores)
    return StatsReport(
        summary=summary_rows(runs) if summary is None else summary,
        scores=score_rows(curves),
        ranks=ranks,
        critical_difference=critical_difference(ranks, alpha),
        pairwise=pairwise_tests(scores),
        pooled=pooled_tests(scores),
    )
