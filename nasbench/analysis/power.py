"""Paired comparisons of strategies and their resolving power.

A report compares strategies on a task with paired Wilcoxon signed-rank tests (Wilcoxon 1945),
Holm-corrected over a family of comparisons (Holm 1979): every pair of the task
(:func:`nasbench.analysis.stats.pairwise_tests`), or every strategy against random search
(:func:`versus_random`). Pairs are the seeds where both runs ended with a feasible incumbent
(:func:`paired`); a run without one is never scored. :func:`task_power` states, per task, the
**detectable difference** (minimum detectable difference, MDD): the smallest shift ``delta`` of
the paired differences that the test detects with probability ``power`` (0.8) at the strictest
Holm level ``alpha / m`` (``m`` comparisons: each strategy against random search when the task
has it, else every pair; Holm 1979), given the paired spread the task's runs show.

The method (:func:`detectable_difference`), a Monte Carlo power analysis with common random
numbers:

1. The spread: the paired differences of every comparison (seeds where both runs ended with a
   feasible incumbent), each comparison's differences centred on their own mean and scaled by
   ``sqrt(n_i / (n_i - 1))`` so their mean square is the comparison's sample variance, pooled
   (:func:`centred_pool`). Centring removes the comparisons' own effects; what is left is
   seed-to-seed noise.
2. ``draws`` samples of ``n`` differences (``n``: the fewest pairs of any comparison of the
   task, so the value holds for each of them): drawn with replacement from the pool, smoothed
   by a Gaussian kernel (Silverman's bandwidth) and rescaled to keep the pool's variance (the
   shrunk smoothed bootstrap, Efron & Tibshirani 1993, Sec. 16.5). Smoothing breaks the ties
   that resampling a finite pool makes, so scipy's Wilcoxon test stays exact.
3. ``power(delta)``: the fraction of samples ``+ delta`` whose two-sided Wilcoxon p-value
   (``scipy.stats.wilcoxon``: the exact null distribution up to 50 pairs, the normal
   approximation with continuity correction above, as the report's own tests) lies below
   ``alpha / m``. The same samples serve every ``delta``. The samples have no zero
   differences; where many seeds tie exactly (both runs ending on one table entry) the test
   drops those pairs and the value is optimistic.
4. Bisection on ``delta`` to ``power(delta) = 0.8``, after doubling an upper bracket from the
   pool's standard deviation.

With ``n`` pairs the exact two-sided p-value is at least ``2 / 2**n`` (every difference of one
sign), so when ``2 / 2**n >= alpha / m`` no shift can reach the Holm level: the difference is
not detectable with ``n`` seeds, whatever its size (NaN). Cross-check: for normal differences
with standard deviation ``sd`` Noether's approximation (Noether 1987, "Sample size
determination for some common nonparametric tests", JASA 82) with the Wilcoxon test's
asymptotic relative efficiency 3/pi against the t-test gives :func:`normal_mdd`,
``(z_{1 - alpha/(2m)} + z_{power}) * sd / sqrt(n * 3 / pi)``. The approximation is
optimistic for few pairs: the Monte Carlo value lies above it by about 11% at 20 pairs, 6% at
30 to 50 and 4% at 80 (``m = 5``).

>>> min_p_value(5)
0.0625
>>> round(normal_mdd(1.0, 50, 5), 3)
0.495
>>> pool = np.random.default_rng(1).standard_normal(4000)
>>> round(detectable_difference(pool, 50, 5, np.random.default_rng(0)), 2)
0.52
>>> math.isnan(detectable_difference(pool, 5, 5, np.random.default_rng(0)))  # 2/32 > 0.05/5
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any

import numpy as np
from scipy import stats as sps

POOLED = "(pooled)"
"""The task name of the pooled comparisons (paired by task and seed)."""

BASELINE = "random"
"""The strategy every other one is compared with when a task has it (random search)."""

POWER = 0.8
"""The power at which the detectable difference is stated."""

EXACT_MAX_PAIRS = 50
"""Up to this many pairs scipy's Wilcoxon test (method "auto", no ties) is exact."""


Scores = dict[tuple[str, str], dict[int, float]]
"""(task, strategy) -> {seed: final incumbent test accuracy (fraction; NaN: no incumbent)}."""


def paired(x: dict[Any, float], y: dict[Any, float]) -> tuple[np.ndarray, np.ndarray]:
    """Values of the seeds both ``x`` and ``y`` scored (NaN, no feasible incumbent, is not a
    score), in seed order."""
    keys = sorted(k for k in x.keys() & y.keys() if not (math.isnan(x[k]) or math.isnan(y[k])))
    return np.array([x[k] for k in keys], dtype=float), np.array([y[k] for k in keys], dtype=float)


def comparisons_of(strategies: Sequence[str]) -> list[tuple[str, str]]:
    """The pairs ``(a, b)`` a task's Holm family compares: ``(s, random)`` for every other
    strategy when :data:`BASELINE` ran on the task, else every pair (sorted)."""
    names = sorted(strategies)
    if BASELINE in names:
        return [(s, BASELINE) for s in names if s != BASELINE]
    return list(combinations(names, 2))


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

    ``pairs`` counts the seeds (pooled: the (task, seed) pairs) where both runs ended with a
    feasible incumbent: only those are paired (a run without one is never scored as 0).
    ``mean_diff`` is the mean of ``a - b`` (fraction); ``p_holm`` is ``p_value`` adjusted over
    the comparisons of the same family (:func:`holm`): all pairs of the task
    (:func:`pairwise_tests`), all pairs pooled (:func:`pooled_tests`) or every strategy against
    random search on the task (:func:`versus_random`).
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


def paired_test(task: str, a: str, b: str, x: np.ndarray, y: np.ndarray) -> PairRow:
    """:class:`PairRow` of the paired values ``x`` (of ``a``) and ``y`` (of ``b``), with
    ``p_holm`` still the raw p-value (:func:`with_holm` adjusts a family)."""
    stat, p = wilcoxon_p(x, y)
    diff = float(np.mean(x - y)) if len(x) else math.nan
    return PairRow(task, a, b, len(x), int(np.sum(x > y)), int(np.sum(y > x)), diff, stat, p, p)


def with_holm(rows: list[PairRow]) -> list[PairRow]:
    """``rows`` with ``p_holm`` adjusted over them as one family (:func:`holm`)."""
    adjusted = holm([r.p_value for r in rows])
    return [replace(r, p_holm=float(q)) for r, q in zip(rows, adjusted, strict=True)]


def versus_random(scores: Scores) -> list[PairRow]:
    """Wilcoxon signed-rank tests of every strategy (``a``) against random search (``b``,
    :data:`nasbench.analysis.power.BASELINE`) on each task that has it, paired by seed,
    Holm-adjusted over the task's comparisons with random search (the family of
    :func:`nasbench.analysis.power.task_power`); sorted by task, then ``a``."""
    rows = []
    for task in sorted({t for t, _ in scores}):
        names = [s for t, s in scores if t == task]
        if BASELINE in names:
            pairs = [(a, b, *paired(scores[(task, a)], scores[(task, b)]))
                     for a, b in comparisons_of(names)]  # fmt: skip
            rows += with_holm([paired_test(task, *pair) for pair in pairs])
    return rows


def signed_rank_balance(d: np.ndarray) -> float:
    """``T+ - T-`` of the differences ``d``: the sum of the ranks of ``|d|`` (zeros dropped,
    ties sharing their mean rank) signed by ``d``; positive when ``d`` leans positive."""
    d = np.asarray(d, dtype=float)
    d = d[d != 0]
    return float(np.sum(np.sign(d) * sps.rankdata(np.abs(d)))) if d.size else 0.0


def verdict(test: PairRow, scores: Scores, alpha: float) -> str:
    """``"better"``/``"worse"`` (``a`` against ``b``) when ``test`` rejects, else ``"n.s."``."""
    if not test.p_holm < alpha:
        return "n.s."
    x, y = paired(scores[(test.task, test.a)], scores[(test.task, test.b)])
    return "better" if signed_rank_balance(x - y) > 0 else "worse"


# ---- detectable difference --------------------------------------------------------------------
def min_p_value(n: int) -> float:
    """The smallest two-sided exact Wilcoxon signed-rank p-value with ``n`` nonzero pairs,
    ``2 / 2**n`` (all differences of one sign); 1 for ``n < 1``."""
    return min(1.0, 2.0 / 2.0**n) if n >= 1 else 1.0


def detectable_at(n: int, level: float) -> bool:
    """Whether some shift can bring ``n`` pairs' Wilcoxon p-value below ``level``: above
    :data:`EXACT_MAX_PAIRS` always (normal approximation), else ``2 / 2**n < level``."""
    return n > EXACT_MAX_PAIRS or (n >= 1 and min_p_value(n) < level)


def normal_mdd(sd: float, n: int, comparisons: int, alpha: float = 0.05,
               power: float = POWER) -> float:  # fmt: skip
    """Noether's normal approximation of the detectable difference (the module docstring's
    cross-check): ``(z_{1 - alpha/(2m)} + z_{power}) * sd / sqrt(n * 3 / pi)``, in the units of
    ``sd``. NaN for ``n < 1``."""
    if n < 1:
        return math.nan
    z = float(sps.norm.ppf(1.0 - alpha / (2 * comparisons)) + sps.norm.ppf(power))
    return z * sd / math.sqrt(n * 3.0 / math.pi)


def centred_pool(differences: Sequence[np.ndarray]) -> np.ndarray:
    """Pool paired differences after centring each array on its own mean and scaling it by
    ``sqrt(n_i / (n_i - 1))`` (the pool's mean square is then the pooled sample variance).
    Arrays of fewer than two values carry no spread and are left out; returns a float array,
    empty when nothing is left."""
    parts = [
        (d - d.mean()) * math.sqrt(len(d) / (len(d) - 1))
        for d in (np.asarray(x, dtype=float) for x in differences)
        if len(d) >= 2
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


def smoothed_samples(pool: np.ndarray, n: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """``(draws, n)`` values from the shrunk smoothed bootstrap of a centred ``pool`` (step 2 of
    the module docstring): ``(pool[i] + h z) / sqrt(1 + h^2 / s^2)`` with ``i`` uniform,
    ``z`` standard normal, ``s`` the pool's root mean square and ``h`` Silverman's bandwidth
    ``0.9 min(s, IQR / 1.34) N^(-1/5)``. Draws ``draws * n`` integers, then as many normals,
    from ``rng``."""
    s = float(np.sqrt(np.mean(pool**2)))
    q75, q25 = np.percentile(pool, [75, 25])
    spread = min(s, (q75 - q25) / 1.34) if q75 > q25 else s
    h = 0.9 * spread * len(pool) ** -0.2
    picked = pool[rng.integers(0, len(pool), size=(draws, n))]
    return (picked + h * rng.standard_normal((draws, n))) / math.sqrt(1.0 + (h / s) ** 2)


def rejection_rate(samples: np.ndarray, shift: float, level: float) -> float:
    """The fraction of rows of ``samples + shift`` whose two-sided Wilcoxon signed-rank p-value
    (``scipy.stats.wilcoxon``, method "auto") is below ``level``."""
    p = sps.wilcoxon(samples + shift, axis=1).pvalue
    return float(np.mean(np.asarray(p) < level))


def detectable_difference(
    pool: np.ndarray,
    n: int,
    comparisons: int,
    rng: np.random.Generator,
    alpha: float = 0.05,
    power: float = POWER,
    draws: int = 2000,
) -> float:
    """The smallest shift of ``n`` paired differences, spread like the centred ``pool``, that a
    two-sided Wilcoxon signed-rank test detects with probability ``power`` at the strictest
    Holm level ``alpha / comparisons`` (the module docstring's method), in the units of
    ``pool``, to a relative precision of 1e-3 of the pool's spread.

    NaN when no shift can reach that level (:func:`detectable_at`) or the pool is empty;
    0 when the pool has no spread. Draws from ``rng`` once (``draws * n`` integers and normals);
    the same ``rng`` state gives the same value."""
    level = alpha / comparisons
    if len(pool) == 0 or not detectable_at(n, level):
        return math.nan
    s = float(np.sqrt(np.mean(pool**2)))
    if s == 0.0:
        return 0.0
    samples = smoothed_samples(pool, n, draws, rng)
    low, high = 0.0, s
    for _ in range(64):  # the rate reaches 1 as every difference turns positive
        if rejection_rate(samples, high, level) >= power:
            break
        low, high = high, 2.0 * high
    while high - low > 1e-3 * s:
        mid = 0.5 * (low + high)
        if rejection_rate(samples, mid, level) >= power:
            high = mid
        else:
            low = mid
    return high


@dataclass(frozen=True)
class TaskPower:
    """The detectable difference of one task (accuracy differences as fractions).

    ``baseline`` is :data:`BASELINE` when the task's comparisons are each strategy against it,
    ``""`` when they are all pairs; ``comparisons`` their number ``m`` (Holm's family);
    ``pairs`` the fewest paired seeds (both runs with a feasible incumbent) of any comparison;
    ``spread_sd`` the root mean square of the centred pool; ``mdd`` the detectable difference
    (NaN when not detectable); ``mdd_normal`` Noether's approximation; ``note`` why there is
    no value, else ``""``.
    """

    task: str
    baseline: str
    comparisons: int
    pairs: int
    alpha: float
    power: float
    spread_sd: float
    mdd: float
    mdd_normal: float
    note: str


def task_power(scores: Scores, task: str, alpha: float = 0.05, power: float = POWER) -> TaskPower:
    """:class:`TaskPower` of ``task`` in ``scores`` (``{(task, strategy): {seed: accuracy}}``).
    Draws from a fixed ``np.random.default_rng(0)``: the same scores give the same value."""
    names = [s for t, s in scores if t == task]
    pairs = [paired(scores[(task, a)], scores[(task, b)]) for a, b in comparisons_of(names)]
    m = len(pairs)
    baseline = BASELINE if BASELINE in names else ""
    n = min((len(x) for x, _ in pairs), default=0)
    pool, _ = task_pool(scores, task)
    sd = float(np.sqrt(np.mean(pool**2))) if len(pool) else math.nan
    note = ""
    if m == 0:
        note = "one strategy: nothing to compare"
    elif n == 0:
        note = "no seed on which both runs of a comparison have a feasible incumbent"
    elif not detectable_at(n, alpha / m):
        note = (f"not detectable with {n} seeds: the smallest two-sided exact Wilcoxon p-value, "
                f"2/2^{n} = {min_p_value(n):.3g}, is not below alpha/m = {alpha:g}/{m} = "
                f"{alpha / m:.3g}")  # fmt: skip
    if note:  # (detectable with n >= 2 pairs in every comparison: the pool is not empty)
        return TaskPower(task, baseline, m, n, alpha, power, sd, math.nan, math.nan, note)
    mdd = detectable_difference(pool, n, m, np.random.default_rng(0), alpha, power)
    normal = normal_mdd(sd, n, m, alpha, power)
    return TaskPower(task, baseline, m, n, alpha, power, sd, mdd, normal, note)


def seeds_for(
    pool: np.ndarray, target: float, comparisons: int, alpha: float = 0.05, power: float = POWER,
    max_seeds: int = 5000,
) -> int | None:  # fmt: skip
    """The fewest paired seeds whose detectable difference (:func:`detectable_difference`,
    ``np.random.default_rng(0)`` at every ``n``) is at most ``target`` for differences spread
    like the centred ``pool``: how many seeds a suite needs to resolve ``target`` (in the units
    of ``pool``). Bisection between the fewest detectable seeds and ``max_seeds``, bracketed by
    Noether's approximation; None when even ``max_seeds`` does not reach it or the pool is
    empty. Pure: draws only from its own fixed generators."""
    if len(pool) == 0 or target <= 0:
        return None
    level = alpha / comparisons
    low = 1
    while not detectable_at(low, level):
        low += 1

    def mdd(n: int) -> float:
        return detectable_difference(pool, n, comparisons, np.random.default_rng(0), alpha, power)

    if mdd(low) <= target:
        return low
    sd = float(np.sqrt(np.mean(pool**2)))
    guess = math.ceil((normal_mdd(sd, 1, comparisons, alpha, power) / target) ** 2)
    high = min(max(2 * guess + 2, low + 1), max_seeds)
    while mdd(high) > target:
        if high >= max_seeds:
            return None
        low, high = high, min(2 * high, max_seeds)
    while high - low > 1:  # mdd(low) > target >= mdd(high)
        mid = (low + high) // 2
        if mdd(mid) <= target:
            high = mid
        else:
            low = mid
    return high


def task_pool(scores: Scores, task: str) -> tuple[np.ndarray, int]:
    """The centred pool of ``task``'s paired differences (as :func:`task_power` builds it) and
    the number of comparisons in its Holm family."""
    names = [s for t, s in scores if t == task]
    pairs = [paired(scores[(task, a)], scores[(task, b)]) for a, b in comparisons_of(names)]
    return centred_pool([x - y for x, y in pairs]), len(pairs)
