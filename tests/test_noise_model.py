"""The heteroscedastic seed-noise model of the surrogate benchmarks (issue 21, deliverable 3)."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import evaluators
from nasbench.tables.benchmarks import load_benchmark
from nasbench.tables.surrogate_benchmark import (
    NoiseModel,
    fit_noise_model,
    table_space,
    weighted_median,
)


def true_sd(val: np.ndarray) -> np.ndarray:
    """The seed spread of the synthetic tables: 0.005 for the best architectures (val 0.95),
    0.045 for the worst (val 0.55), linear in between."""
    return 0.005 + 0.1 * (0.95 - val)


def synthetic(n: int, seeds: int, seed: int = 0, levels: tuple[float, ...] = (0.0,)) -> tuple:
    """Rows with known heteroscedastic Gaussian seed noise: expected accuracies uniform in
    [0.55, 0.95], ``seeds`` draws each, at every level (the same spread at each)."""
    rng = np.random.default_rng(seed)
    mu = np.tile(rng.uniform(0.55, 0.95, n), len(levels))
    draws = mu[:, None] + true_sd(mu)[:, None] * rng.standard_normal((len(mu), seeds))
    return draws.mean(axis=1), np.repeat(levels, n), [tuple(r) for r in draws]


def test_best_decile_gets_less_noise_than_the_worst() -> None:
    val, sparsity, seeds = synthetic(1000, 2)
    model = fit_noise_model(val, sparsity, seeds)
    assert len(model.centres[0]) == 10  # 1000 rows: the maximum of 10 bins
    low, high = np.quantile(val, [0.05, 0.95])  # the middle of the worst and the best decile
    worst, best = model.std(np.array([low, high]), 0.0)
    assert best < worst / 3
    assert best == pytest.approx(true_sd(high), rel=0.35)
    assert worst == pytest.approx(true_sd(low), rel=0.2)
    grid = np.linspace(0.6, 0.9, 7)
    assert model.std(grid, 0.0) == pytest.approx(true_sd(grid), rel=0.3)


def test_more_seeds_per_row_use_every_pair() -> None:
    val, sparsity, seeds = synthetic(400, 4, seed=1)
    model = fit_noise_model(val, sparsity, seeds)
    grid = np.linspace(0.6, 0.9, 7)
    assert model.std(grid, 0.0) == pytest.approx(true_sd(grid), rel=0.2)
    # a mix of 2 and 3 seeds (NAS-Bench-201's 200-epoch column) works too
    val, sparsity, seeds = synthetic(1000, 3, seed=1)
    mixed = [s[: 2 + i % 2] for i, s in enumerate(seeds)]
    assert fit_noise_model(val, sparsity, mixed).std(grid, 0.0) == pytest.approx(
        true_sd(grid), rel=0.25
    )


def test_failed_seeds_do_not_inflate_the_noise() -> None:
    """One row in ten with a seed whose training failed (accuracy 0.1): the pooled variance
    grows several-fold; the pairwise-difference medians of the rows that trained normally do
    not move (the failed rows' means fall into the lowest bins, which they may dominate)."""
    val, sparsity, seeds = synthetic(500, 2, seed=2)
    at = np.array([0.75, 0.85, 0.9])
    clean = fit_noise_model(val, sparsity, seeds).std(at, 0.0)
    broken = [(s[0], 0.1) if i % 10 == 0 else s for i, s in enumerate(seeds)]
    pooled = np.sqrt(np.mean([np.var(s, ddof=1) for s in broken]))
    assert pooled > 4 * clean.max()
    robust = fit_noise_model(np.mean(broken, axis=1), sparsity, broken).std(at, 0.0)
    assert robust == pytest.approx(clean, rel=0.25)


def test_levels_interpolate_and_the_ends_hold() -> None:
    model = NoiseModel(levels=(0.0, 0.8), centres=((0.5, 0.9), (0.5,)), stds=((0.04, 0.01),
                       (0.02,)))  # fmt: skip
    assert model.std(np.array([0.2, 0.5, 0.9, 0.99]), 0.0) == pytest.approx(
        [0.04, 0.04, 0.01, 0.01]
    )
    assert model.std(0.9, 0.4) == pytest.approx((0.01 + 0.02) / 2)
    assert model.std(0.9, 0.8) == model.std(0.9, 0.95) == pytest.approx(0.02)
    mid = model.std(np.linspace(0.5, 0.9, 41), 0.0)  # PCHIP: monotone between two estimates
    assert np.all(np.diff(mid) <= 0) and mid.min() >= 0.01 - 1e-12
    assert NoiseModel((), (), ()).std(np.array([0.5, 0.7]), 0.3).tolist() == [0.0, 0.0]
    with pytest.raises(NasbenchError, match="malformed noise model"):
        NoiseModel((0.0,), ((0.5, 0.6),), ((0.01,),))


def test_rows_without_several_seeds_and_levels_without_any() -> None:
    val, sparsity, seeds = synthetic(100, 2, levels=(0.0, 0.5))
    single = [s if level == 0.0 else s[:1] for s, level in zip(seeds, sparsity, strict=True)]
    model = fit_noise_model(val, sparsity, single)
    assert model.levels == (0.0,)  # level 0.5 has no row of two seeds: left out
    assert model.std(0.7, 0.5) == model.std(0.7, 0.0) > 0
    nothing = fit_noise_model(val, sparsity, [s[:1] for s in seeds])
    assert nothing.levels == () and nothing.std(0.7, 0.0) == 0.0
    nan_seed = [(s[0], float("nan")) for s in seeds]  # a NaN seed does not count
    assert fit_noise_model(val, sparsity, nan_seed).levels == ()


def test_the_fit_is_deterministic_and_the_median_exact() -> None:
    val, sparsity, seeds = synthetic(300, 2, levels=(0.0, 0.8))
    assert fit_noise_model(val, sparsity, seeds) == fit_noise_model(val, sparsity, seeds)
    x = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0])
    assert weighted_median(x, np.ones(6)) == np.median(x) == 3.5
    assert weighted_median(x[:5], np.ones(5)) == np.median(x[:5]) == 3.0
    assert weighted_median(x, np.array([1, 1, 1, 1, 1, 10.0])) == 9.0


def test_evaluator_gives_the_best_architectures_less_noise() -> None:
    """On the multibranch table at sparsity 0 the best quarter varies about 3x less between
    seeds than the worst; the evaluator's draws follow the fitted sd at the prediction."""
    table = load_benchmark("multibranch-mnist1d")
    space = table_space(table)
    ev = evaluators.create("surrogate", space=space, benchmark="multibranch-mnist1d",
                           surrogate="random_forest", surrogate_params={"n_estimators": 10})  # fmt: skip
    dense = table.fidelity(max(table.fidelities)).val[table.sparsity == 0.0]
    top, median = (float(np.quantile(dense, q)) for q in (0.99, 0.5))
    assert ev.noise_std(top) < 0.5 * ev.noise_std(median) < 0.5 * ev.noise_std(0.88)
    archs = [space.parse(t) for t in table.arch[:300]]
    pred = ev.evaluate_many(archs)
    i, j = int(np.argmax(pred["val"])), int(np.argmin(pred["val"]))
    assert pred["noise_std"][i] < pred["noise_std"][j]
    assert pred["noise_std"] == pytest.approx(ev.noise_std(pred["val"]))
    for k, rel in ((i, 0.15), (j, 0.15)):
        draws = [ev.evaluate(archs[k], 6.0, np.random.default_rng(s)).val_acc for s in range(300)]
        assert np.std(draws) == pytest.approx(pred["noise_std"][k], rel=rel)
    again = [ev.evaluate(archs[i], 6.0, np.random.default_rng(7)) for _ in range(2)]
    assert again[0] == again[1]  # bit-identical for the same stream
    assert ev.noise_model.levels == (0.0, 0.5, 0.8)
