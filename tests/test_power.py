"""Paired tests against random search and the detectable difference (nasbench.analysis.power)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from nasbench.analysis.power import (
    BASELINE,
    centred_pool,
    comparisons_of,
    detectable_at,
    detectable_difference,
    holm,
    min_p_value,
    normal_mdd,
    paired,
    rejection_rate,
    signed_rank_balance,
    smoothed_samples,
    task_power,
    verdict,
    versus_random,
)

NAN = math.nan


def test_mdd_of_a_normal_spread_matches_the_normal_approximation() -> None:
    sd = 0.02  # 2 percentage points of paired spread
    pool = np.random.default_rng(7).normal(0.0, sd, 5000)
    pool -= pool.mean()
    mdd = detectable_difference(pool, 50, 5, np.random.default_rng(0))
    approx = normal_mdd(float(np.sqrt(np.mean(pool**2))), 50, 5)
    # (z_{1 - 0.05/10} + z_{0.8}) * sd / sqrt(50 * 3 / pi)
    z = sps.norm.ppf(1 - 0.05 / 10) + sps.norm.ppf(0.8)
    assert normal_mdd(sd, 50, 5) == pytest.approx(z * sd / math.sqrt(50 * 3 / math.pi))
    assert mdd == pytest.approx(approx, rel=0.10)
    assert mdd > approx  # Noether's approximation is optimistic at 50 pairs (about 6%)
    # at the detectable difference the power is 0.8, a tenth below it clearly less
    samples = smoothed_samples(pool, 50, 2000, np.random.default_rng(0))
    assert rejection_rate(samples, mdd, 0.01) >= 0.8
    assert rejection_rate(samples, 0.9 * mdd, 0.01) < 0.75
    # more comparisons (a stricter Holm level) or fewer pairs: a larger difference
    assert detectable_difference(pool, 50, 10, np.random.default_rng(0)) > mdd
    assert detectable_difference(pool, 20, 5, np.random.default_rng(0)) > mdd


def test_not_detectable_when_no_shift_reaches_the_holm_level() -> None:
    pool = np.random.default_rng(1).standard_normal(500)
    # n = 5, m = 5: the smallest exact p-value 2/2^5 = 0.0625 is above 0.05/5 = 0.01
    assert min_p_value(5) == 0.0625 and not detectable_at(5, 0.01)
    assert math.isnan(detectable_difference(pool, 5, 5, np.random.default_rng(0)))
    assert not detectable_at(7, 0.01) and detectable_at(8, 0.01)  # 2/128 > 0.01 > 2/256
    assert detectable_at(51, 1e-30)  # normal approximation above 50 pairs
    assert math.isfinite(detectable_difference(pool, 8, 5, np.random.default_rng(0)))
    rng = np.random.default_rng(3)
    scores = {("t", s): dict(enumerate(rng.normal(0.9, 0.01, 5))) for s in
              ["random", "a", "b", "c", "d", "e"]}  # fmt: skip
    power = task_power(scores, "t")
    assert (power.baseline, power.comparisons, power.pairs) == (BASELINE, 5, 5)
    assert math.isnan(power.mdd) and math.isnan(power.mdd_normal)
    assert power.note.startswith("not detectable with 5 seeds")
    assert "2/2^5 = 0.0625" in power.note and "0.05/5 = 0.01" in power.note


def test_rejection_rate_is_the_rate_of_exact_wilcoxon_p_values_below_the_level() -> None:
    samples = np.random.default_rng(2).normal(0.5, 1.0, (40, 10))
    expected = np.mean([sps.wilcoxon(row, method="exact").pvalue < 0.05 for row in samples])
    assert rejection_rate(samples, 0.0, 0.05) == expected
    assert rejection_rate(samples, 0.3, 0.05) >= expected


def test_centred_pool_and_smoothed_samples() -> None:
    pool = centred_pool([np.array([1.0, 2.0, 3.0]), np.array([10.0, 14.0]), np.array([5.0])])
    expected = [-math.sqrt(1.5), 0.0, math.sqrt(1.5), -2 * math.sqrt(2), 2 * math.sqrt(2)]
    assert pool.tolist() == pytest.approx(expected)  # one value alone carries no spread
    assert centred_pool([np.array([1.0])]).size == 0
    # the mean square of each part is its sample variance
    assert np.mean(pool[:3] ** 2) == pytest.approx(np.var([1, 2, 3], ddof=1))
    wide = np.random.default_rng(4).choice([-1.0, 0.0, 2.0], 300)
    wide -= wide.mean()
    samples = smoothed_samples(wide, 20, 3000, np.random.default_rng(0))
    assert samples.shape == (3000, 20)
    assert np.mean(samples**2) == pytest.approx(np.mean(wide**2), rel=0.03)
    assert all(len(set(row)) == 20 for row in samples[:50])  # smoothing breaks the ties
    assert detectable_difference(np.zeros(10), 10, 1, np.random.default_rng(0)) == 0.0
    assert math.isnan(detectable_difference(np.zeros(0), 10, 1, np.random.default_rng(0)))


def test_paired_values_leave_out_runs_without_an_incumbent() -> None:
    x, y = paired({0: 0.9, 1: NAN, 2: 0.8, 3: 0.7}, {0: 0.85, 1: 0.8, 2: NAN, 4: 0.1})
    assert (x.tolist(), y.tolist()) == ([0.9], [0.85])
    assert comparisons_of(["b", "random", "a"]) == [("a", "random"), ("b", "random")]
    assert comparisons_of(["c", "a", "b"]) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert signed_rank_balance(np.array([0.0, 1.0, -2.0, 3.0])) == 1 - 2 + 3
    assert signed_rank_balance(np.zeros(3)) == 0.0


def test_versus_random_marks_direction_with_holm_over_the_comparisons() -> None:
    rng = np.random.default_rng(5)
    base = rng.normal(0.80, 0.02, 12)
    noise = rng.normal(0.0, 0.002, (3, 12))
    scores = {
        ("t", "random"): dict(enumerate(base)),
        ("t", "good"): dict(enumerate(base + 0.01 + noise[0])),
        ("t", "bad"): dict(enumerate(base - 0.01 + noise[1])),
        ("t", "same"): dict(enumerate(base + noise[2] - noise[2].mean())),
        ("u", "a"): {0: 0.5}, ("u", "b"): {0: 0.6},  # no random on u: nothing to mark
    }  # fmt: skip
    scores[("t", "good")][11] = NAN  # a run without incumbent: one pair fewer, never a 0
    rows = versus_random(scores)
    assert [(r.task, r.a, r.b, r.pairs) for r in rows] == [
        ("t", "bad", "random", 12), ("t", "good", "random", 11), ("t", "same", "random", 12)]  # fmt: skip
    raw = [sps.wilcoxon(*paired(scores[("t", r.a)], scores[("t", "random")])).pvalue
           for r in rows]  # fmt: skip
    assert [r.p_value for r in rows] == pytest.approx(raw)
    assert [r.p_holm for r in rows] == pytest.approx(holm(raw).tolist())
    assert [verdict(r, scores, 0.05) for r in rows] == ["worse", "better", "n.s."]
    power = task_power(scores, "t")
    assert (power.comparisons, power.pairs, power.baseline) == (3, 11, "random")
    assert power.mdd == task_power(scores, "t").mdd  # a fixed generator: the same value
    # the pool: each comparison's differences centred, so the +-1 pp effects are not spread
    assert power.spread_sd < 0.004
    everyone = task_power(scores, "u")  # without random: all pairs, here one
    assert (everyone.baseline, everyone.comparisons, everyone.pairs) == ("", 1, 1)
    assert everyone.note.startswith("not detectable with 1 seeds")
    alone = task_power({("v", "random"): {0: 0.5}}, "v")
    assert alone.comparisons == 0 and alone.note == "one strategy: nothing to compare"


def test_task_power_touches_no_global_random_state() -> None:
    rng = np.random.default_rng(6)
    scores = {("t", s): dict(enumerate(rng.normal(0.9, 0.01, 10))) for s in ["random", "a", "b"]}
    np.random.seed(123)  # noqa: NPY002  (checking that the library leaves it alone)
    expected = np.random.random_sample()  # noqa: NPY002  (the next global draw)
    np.random.seed(123)  # noqa: NPY002
    first = task_power(scores, "t")
    assert np.random.random_sample() == expected  # noqa: NPY002  (nothing drawn from it)
    np.random.seed(999)  # noqa: NPY002
    assert task_power(scores, "t") == first
    assert math.isfinite(first.mdd) and first.mdd > 0


def test_seeds_for_is_the_fewest_seeds_whose_detectable_difference_reaches_the_target() -> None:
    from nasbench.analysis.power import detectable_difference, normal_mdd, seeds_for

    pool = np.random.default_rng(1).standard_normal(4000)
    n = seeds_for(pool, 0.5, 5)
    assert n is not None

    def mdd(k: int) -> float:
        return detectable_difference(pool, k, 5, np.random.default_rng(0))

    assert mdd(n) <= 0.5 < mdd(n - 1)
    # Noether's approximation needs fewer seeds (it is optimistic), but not many fewer
    normal = min(k for k in range(2, 200) if normal_mdd(1.0, k, 5) <= 0.5)
    assert normal <= n <= 1.3 * normal
    assert seeds_for(pool, 10.0, 5) == 8  # the fewest that can reach 0.05/5: 2/2**8 < 0.01
    assert seeds_for(pool, 1e-4, 5, max_seeds=50) is None
    assert seeds_for(np.zeros(0), 0.5, 5) is None


def test_report_seeds_for_refuses_a_bad_target(capsys) -> None:
    from nasbench.cli.main import main

    assert main(["report", "results/default", "--seeds-for", "0"]) == 2
    assert "--seeds-for takes points in (0, 100), got 0.0" in capsys.readouterr().err
