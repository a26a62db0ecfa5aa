"""The one-shot correlation study's bookkeeping (experiments/one_shot_correlation.py): the noise
ceiling from two training seeds, and the report's rows."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from experiments import one_shot_correlation as study
from nasbench.core.jsonl import append_lines


def test_seed_tau_uses_finite_pairs_only() -> None:
    seeds = [(0.1, 0.2), (0.3, 0.35), (0.5, 0.3), (0.9,), (math.nan, 0.1), (0.7, 0.8)]
    tau, pairs = study._seed_tau(seeds)
    assert pairs == 4  # the single seed and the NaN pair are left out
    assert tau == pytest.approx(2 / 3)  # 5 concordant, 1 discordant of 6 pairs
    assert math.isnan(study._seed_tau([(0.1, 0.2), (0.3,)])[0])


def test_report_rows_give_the_table_size_when_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(study, "OUT", tmp_path)
    row = {"table": "cell-mnist1d", "evaluator": "weight_sharing", "sparsity": 0.8, "archs": 34,
           "epochs": 20, "kendall": 0.25, "spearman": 0.3, "seed_kendall": math.nan,
           "seed_pairs": 0, "one_shot_val_mean": 0.5, "table_val_mean": 0.9,
           "supernet_cost_s": 80.0}  # fmt: skip
    append_lines(tmp_path / "correlation.jsonl", [{**row, "table_archs": 54}])
    append_lines(tmp_path / "correlation.jsonl", [{**row, "table": "chain-mnist1d"}])
    text = study.report()
    lines = text.splitlines()
    assert lines[2].startswith("| cell-mnist1d | weight_sharing | 0.8 | 34 (54) | 20 | 0.250 |")
    assert lines[3].startswith("| chain-mnist1d | weight_sharing | 0.8 | 34 (-) | 20 | 0.250 |")
    assert (tmp_path / "correlation.md").read_text() == text
