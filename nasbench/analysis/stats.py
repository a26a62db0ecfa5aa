"""Statistics over run records: confidence intervals, regret, anytime area, ranks, tests.

Pure functions of the run records (``nasbench report`` and the end of every suite call them).
The score of a run is its final incumbent test accuracy (a fraction; NaN when the run ended
without a feasible incumbent). Feasibility is counted apart from accuracy: a run without a
feasible incumbent is counted per (task, strategy) and left out of every accuracy statistic
(means, intervals, anytime area, ranks, paired tests), never scored as 0.

Per (task, strategy) :func:`score_rows` gives the mean with a 95% Student-t interval over seeds,
the median, the regret to a reference (the best test accuracy of the benchmark table the task's
evaluator answers from, else the best final accuracy observed for the task; beside it, for a
surrogate benchmark, the surrogate's reachable maximum), the area under the anytime curve
(:func:`anytime_auc`) and a paired test against random search. Per task
:func:`nasbench.analysis.power.task_power` states the smallest difference the tests can detect.
Across tasks, strategies are ranked per task by mean score and the ranks averaged; the Friedman test
says whether the mean ranks differ at all, the Nemenyi critical difference which of them do,
and Wilcoxon signed-rank tests paired by seed, with Holm's correction, compare every pair of
strategies per task and pooled over tasks (Demšar 2006, "Statistical Comparisons of Classifiers
over Multiple Data Sets", JMLR 7; Holm 1979).

>>> round(nemenyi_cd(4, 10), 3)
1.483
>>> holm([0.01, 0.04, 0.03]).round(2).tolist()
[0.03, 0.06, 0.06]
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as sps

from nasbench.analysis.curves import RunCurve, curves_of, load_curves
from nasbench.analysis.power import POOLED as POOLED
from nasbench.analysis.power import PairRow as PairRow
from nasbench.analysis.power import Scores as Scores
from nasbench.analysis.power import (
    TaskPower,
    paired,
    paired_test,
    task_power,
    verdict,
    versus_random,
    with_holm,
)
from nasbench.analysis.power import holm as holm
from nasbench.analysis.power import wilcoxon_p as wilcoxon_p
from nasbench.analysis.references import task_reference
from nasbench.analysis.report import SummaryRow, read_runs, summary_rows
from nasbench.core.errors import NasbenchError
from nasbench.core.registry import inert

log = logging.getLogger(__name__)


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
    Raises NasbenchError for a folder without run records or a run present twice with different
    records.
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
    (Demšar 2006, Sec. 3.2.2). Runs without a feasible incumbent (NaN) are left out of the
    means; a strategy none of whose runs on a task has one has no score there.

    Ranks need complete blocks (every strategy scored on every task ranked). When suites
    restrict strategies to some tasks, or a strategy has no score on a task, the tasks are
    grouped by the set of strategies scored on them and the largest group (most tasks, then
    most strategies) is ranked; the other tasks are listed in ``excluded`` (no task and no
    strategy is ranked when no run has a score). Returns :class:`Ranks` with tasks and
    strategies sorted by name. Raises NasbenchError when ``scores`` is empty.
    """
    if not scores:
        raise NasbenchError("no runs to rank")
    ran: dict[str, frozenset[str]] = {}
    for t in sorted({t for t, _ in scores}):
        ran[t] = frozenset(s for task, s in scores if task == t and _scored(scores[(t, s)]))
    blocks: dict[frozenset[str], list[str]] = {}
    for t, names in ran.items():
        blocks.setdefault(names, []).append(t)
    # a block of no scored strategy ranks nothing; it wins only when nothing else is left
    chosen = max(blocks, key=lambda names: (len(names) > 0, len(blocks[names]), len(names),
                                            sorted(names)))  # fmt: skip
    tasks, strategies = (blocks[chosen], sorted(chosen)) if chosen else ([], [])
    excluded = sorted(t for t in ran if t not in tasks)
    ranks = np.zeros((len(tasks), len(strategies)))
    for i, task in enumerate(tasks):
        means = np.array([_mean_or_nan(scores.get((task, s), {})) for s in strategies])
        ranks[i] = rank_row(means)
    mean = ranks.mean(axis=0) if tasks else np.zeros(len(strategies))
    return Ranks(tasks, strategies, ranks, mean, excluded)


def _scored(runs: dict[int, float]) -> bool:
    return any(not math.isnan(v) for v in runs.values())


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


@dataclass(frozen=True)
class ScoreRow:
    """Final-score statistics of one (task, strategy); accuracies are fractions.

    ``infeasible`` counts the ``seeds`` runs that ended without a feasible incumbent; they are
    left out of every accuracy field. ``regret_mean`` is ``ref_test_acc - test_mean``;
    ``regret_ref`` says where the reference comes from: ``"table"`` (the best in the task's
    benchmark table, :func:`table_reference`, also in ``table_best_acc``, NaN without one) or
    ``"observed"`` (the best final test accuracy of any run of the task in the report).
    ``reachable_acc`` is the surrogate benchmark's reachable maximum (:func:`reachable_reference`
    of surrogate ``reachable_surrogate``; NaN when unknown or not a surrogate task) and
    ``regret_reachable_mean`` the regret to it. ``auc_mean`` is :func:`anytime_auc` averaged
    over the seeds with an incumbent, with the task's cost window ``auc_low_s`` to
    ``auc_high_s``. ``vs_random`` is ``"better"`` or ``"worse"`` when the paired Wilcoxon test
    against random search (:func:`versus_random`) rejects at ``p_holm < alpha`` (direction: the
    larger signed-rank sum), ``"n.s."`` when not, ``""`` for random itself or a task without
    it; ``vs_random_pairs`` and ``vs_random_p_holm`` are that test's pairs and p-value.
    """

    task: str
    strategy: str
    seeds: int
    infeasible: int
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
    table_best_acc: float
    reachable_acc: float
    reachable_surrogate: str
    regret_reachable_mean: float
    vs_random: str
    vs_random_pairs: int
    vs_random_p_holm: float


def _cost_window(runs: list[RunCurve]) -> tuple[float, float]:
    """The anytime window of one task's runs: from the smallest cumulative cost of a first
    charged evaluation (free evaluations, e.g. rejected infeasible ones, do not start it) to
    the largest final cumulative cost; a degenerate ``(high, high)`` when nothing was charged."""
    starts = [float(r.cum_cost_s[r.cum_cost_s > 0][0]) for r in runs if np.any(r.cum_cost_s > 0)]
    high = max((float(r.cum_cost_s[-1]) for r in runs if len(r.cum_cost_s)), default=math.nan)
    return (min(starts) if starts else high), high


def score_rows(curves: Sequence[RunCurve], alpha: float = 0.05) -> list[ScoreRow]:
    """:class:`ScoreRow` per (task, strategy), sorted by task, then strategy; ``alpha`` is the
    level of the test against random search."""
    by_task: dict[str, list[RunCurve]] = defaultdict(list)
    for c in curves:
        by_task[c.task].append(c)
    scores = scores_of(curves)
    versus = {(r.task, r.a): r for r in versus_random(scores)}
    rows = []
    for task, runs in sorted(by_task.items()):
        ref = task_reference(runs)
        low, high = _cost_window(runs)
        by_strategy: dict[str, list[RunCurve]] = defaultdict(list)
        for r in runs:
            by_strategy[r.strategy].append(r)
        for strategy, group in sorted(by_strategy.items()):
            finals = [r.final for r in group]
            mean, ci_low, ci_high = t_interval(finals)
            kept = [v for v in finals if not math.isnan(v)]
            aucs = [anytime_auc(r.cum_cost_s, r.incumbent_test, low, high) for r in group
                    if not math.isnan(r.final)]  # fmt: skip
            test = versus.get((task, strategy))
            rows.append(ScoreRow(
                task=task, strategy=strategy, seeds=len(group),
                infeasible=len(finals) - len(kept), test_mean=mean,
                test_ci_low=ci_low, test_ci_high=ci_high,
                test_median=float(np.median(kept)) if kept else math.nan,
                regret_mean=ref.acc - mean, regret_ref=ref.source, ref_test_acc=ref.acc,
                auc_mean=float(np.mean(aucs)) if aucs else math.nan, auc_low_s=low,
                auc_high_s=high, table_best_acc=ref.table_best, reachable_acc=ref.reachable,
                reachable_surrogate=ref.surrogate, regret_reachable_mean=ref.reachable - mean,
                vs_random=verdict(test, scores, alpha) if test else "",
                vs_random_pairs=test.pairs if test else 0,
                vs_random_p_holm=test.p_holm if test else math.nan,
            ))  # fmt: skip
    return rows


# ---- tests across tasks ----------------------------------------------------------------------
def pairwise_tests(scores: Scores) -> list[PairRow]:
    """Wilcoxon signed-rank tests of every pair of strategies on every task, paired by seed,
    Holm-adjusted within each task; rows sorted by task, then ``a``, then ``b`` (``a < b``)."""
    rows = []
    for task in sorted({t for t, _ in scores}):
        names = sorted(s for t, s in scores if t == task)
        task_rows = []
        for a, b in combinations(names, 2):
            x, y = paired(scores[(task, a)], scores[(task, b)])
            task_rows.append(paired_test(task, a, b, x, y))
        rows += with_holm(task_rows)
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
        x, y = paired(by_strategy[a], by_strategy[b])
        rows.append(paired_test(POOLED, a, b, x, y))
    return with_holm(rows)


@dataclass(frozen=True)
class Friedman:
    """The Friedman test of equal mean ranks (Friedman 1937; Demšar 2006, Sec. 3.2.2), run
    before the Nemenyi post-hoc test on the blocks :func:`average_ranks` ranks: each task is a
    block, the strategies' mean scores on it the treatments (tasks as blocks, as Demšar runs
    it over data sets, so the test and the critical difference see the same ranks).

    ``statistic`` is scipy's chi-square with ties corrected, ``df = strategies - 1``;
    ``rejects`` says ``p_value < alpha``. When the test does not reject, a critical-difference
    diagram of the same ranks is not evidence of any difference. ``note`` says why there is no
    test (fewer than 3 strategies or 2 tasks, or every task tying every strategy), else ``""``.
    """

    tasks: int
    strategies: int
    statistic: float
    df: int
    p_value: float
    alpha: float
    rejects: bool
    note: str


def friedman(ranks: Ranks, alpha: float = 0.05) -> Friedman:
    """:class:`Friedman` of the ranked block (``scipy.stats.friedmanchisquare`` over the rows
    of ``ranks.ranks``: ranking ranks again changes nothing, so this is the test of the mean
    scores). Draws no randomness."""
    n, k = ranks.ranks.shape
    note = ""
    if k < 3 or n < 2:
        note = f"needs at least 3 strategies and 2 tasks, got {k} and {n}"
    elif np.all(ranks.ranks == ranks.ranks[:, :1]):
        note = "every task ties every strategy"
    if note:
        return Friedman(n, k, math.nan, max(k - 1, 0), math.nan, alpha, False, note)
    result = sps.friedmanchisquare(*ranks.ranks.T)
    stat, p = float(result.statistic), float(result.pvalue)
    return Friedman(n, k, stat, k - 1, p, alpha, p < alpha, "")


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
    """Every statistics section of ``nasbench report`` (rendered by
    :mod:`nasbench.analysis.report`)."""

    summary: list[SummaryRow]
    scores: list[ScoreRow]
    power: list[TaskPower]
    ranks: Ranks
    friedman: Friedman
    critical_difference: CriticalDifference
    pairwise: list[PairRow]
    pooled: list[PairRow]


def build_report(
    folders: Path | Sequence[Path], alpha: float = 0.05, summary: list[SummaryRow] | None = None
) -> StatsReport:
    """All statistics of the runs in ``folders`` (``summary``: the summary rows when already
    built, to skip reading the records twice for them). Reads the records; the detectable
    differences draw from fixed generators (:func:`nasbench.analysis.power.task_power`), so the same
    records give the same report. Raises NasbenchError for folders without records or with
    unreadable ones. Inert (:func:`nasbench.core.registry.inert`): no name a record holds is
    imported
    unless it is built in or an installed plugin."""
    with inert():
        runs = read_runs(folders)
        curves = curves_of(runs)
        scores = scores_of(curves)
        ranks = average_ranks(scores)
        return StatsReport(
            summary=summary_rows(runs) if summary is None else summary,
            scores=score_rows(curves, alpha),
            power=[task_power(scores, t, alpha) for t in sorted({t for t, _ in scores})],
            ranks=ranks,
            friedman=friedman(ranks, alpha),
            critical_difference=critical_difference(ranks, alpha),
            pairwise=pairwise_tests(scores),
            pooled=pooled_tests(scores),
        )
