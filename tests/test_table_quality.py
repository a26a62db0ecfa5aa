"""Label quality of a table (nasbench/tables/table_quality.py) on runs of known structure: the
seed and architecture spreads it measures, and the seeds a reliability target would take."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasbench.tables.table_quality import LabelQuality, label_quality


def runs_of(true: np.ndarray, seed_sd: float, seeds: int, rng: np.random.Generator) -> list[dict]:
    return [
        {"index": i, "sparsity": 0.5, "seed": k, "status": "ok",
         "val_acc": float(true[i] + rng.normal(0, seed_sd)), "job_cpu_s": 36.0}
        for i in range(len(true)) for k in range(seeds)
    ]  # fmt: skip


def test_measures_the_spreads_it_was_given_and_projects_the_split_half_tau() -> None:
    rng = np.random.default_rng(1)
    true = rng.normal(0.8, 0.04, 400)
    q = label_quality(runs_of(true, 0.02, 4, rng))
    assert q.rows == 400 and q.seeds == 4 and q.runs == 1600
    assert q.seed_sd == pytest.approx(0.02, rel=0.05)
    # the spread of 4-seed means: the architectures' own plus a quarter of the seed variance
    assert q.spread_sd == pytest.approx(math.sqrt(np.var(true, ddof=1) + 0.02**2 / 4), rel=0.03)
    assert q.between_var == pytest.approx(np.var(true, ddof=1), rel=0.1)
    assert q.cpu_hours == pytest.approx(1600 * 36 / 3600)
    # two seeds per half: reliability var_a / (var_a + sd^2 / 2) = 0.0016 / 0.0018
    assert q.reliability(2) == pytest.approx(0.0016 / 0.0018, abs=0.02)
    assert q.split_half == pytest.approx(q.predicted_split_half(2), abs=0.03)


def test_seeds_for_a_target_is_the_fewest_that_reach_it() -> None:
    q = LabelQuality(rows=100, seeds=4, seed_sd=0.05, seed_sd_top=0.03, spread_sd=0.04,
                     split_half=0.5, split_half_top=0.2, cpu_hours=1.0, runs=400)  # fmt: skip
    need = q.seeds_for(0.8)
    assert need % 2 == 0
    assert q.predicted_split_half(int(need) // 2) >= 0.8
    assert q.predicted_split_half(int(need) // 2 - 1) < 0.8
    # by hand: between var 0.0016 - 0.0025 / 4 = 0.000975; r = sin(0.4 pi) = 0.95106;
    # per half 0.0025 * r / (0.000975 * (1 - r)) = 49.8 -> 50 seeds, 100 per row
    assert need == 100
    easy = LabelQuality(100, 4, 0.001, 0.001, 0.1, 1.0, 1.0, 1.0, 400)
    assert easy.seeds_for(0.8) == 2  # never fewer than one seed per half


def test_no_spread_between_architectures_means_no_number_of_seeds_reaches_a_target() -> None:
    rng = np.random.default_rng(2)
    flat = label_quality(runs_of(np.full(50, 0.97), 0.002, 4, rng))
    # the seed means still scatter (sd 0.001), which is all noise: no variance left between them
    assert flat.between_var == 0.0 and flat.seeds_for(0.8) == math.inf
    assert abs(flat.split_half) < 0.2
    empty = label_quality([])
    assert math.isnan(empty.seeds_for(0.8)) and empty.rows == 0
