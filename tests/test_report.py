"""Report functions: Pareto fronts, hypervolume, anytime tables, several folders."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from nasbench.analysis.report import (
    anytime,
    format_pareto,
    hypervolume,
    pareto,
    pareto_front,
    summarize,
)
from nasbench.analysis.results import run_suite
from nasbench.core.errors import NasbenchError
from nasbench.engine.suite import parse_suite


def test_pareto_front_keeps_the_non_dominated_points() -> None:
    pts = np.array([[0.9, 5.0], [0.8, 2.0], [0.85, 6.0], [0.7, 1.0], [0.8, 3.0], [0.95, 9.0]])
    front = pareto_front(pts)
    assert pts[front].tolist() == [[0.7, 1.0], [0.8, 2.0], [0.9, 5.0], [0.95, 9.0]]


def test_hypervolume_by_hand() -> None:
    pts = np.array([[0.5, 1.0], [0.8, 3.0]])
    # reference cost 4: [1, 3) x 0.5 + [3, 4) x 0.8
    assert hypervolume(pts, 4.0) == pytest.approx(0.5 * 2 + 0.8 * 1)
    assert hypervolume(pts, 2.0) == pytest.approx(0.5 * 1)  # the costly point is beyond ref
    assert hypervolume(np.array([[0.6, 1.0], [0.5, 2.0]]), 4.0) == pytest.approx(0.6 * 3)


SUITE = """
[suite]
name = "{name}"
seeds = {seeds}
[budget]
evaluations = 20
latency_ms = 12.0
latency_device = "pixel3"
[[task]]
space = "nb201"
evaluator = "tabular"
fidelity = 12
label = "nb"
[[strategy]]
name = "{strategy}"
"""


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("rep")
    a, b = root / "a", root / "b"
    run_suite(parse_suite(SUITE.format(name="a", seeds=2, strategy="random")), "", a)
    run_suite(parse_suite(SUITE.format(name="b", seeds=2, strategy="regularized_evolution")),
              "", b)  # fmt: skip
    return a, b


def test_several_folders_make_one_table(folders) -> None:
    a, b = folders
    rows = summarize([a, b])
    assert [(r.strategy, r.seeds) for r in rows] == [("random", 2), ("regularized_evolution", 2)]
    assert rows[0] == summarize(a)[0]


def test_a_run_in_two_folders_is_read_once_when_its_records_agree(folders, tmp_path) -> None:
    a, _ = folders
    assert summarize([a, a]) == summarize(a)
    same = tmp_path / "same"  # another suite whose random runs are a's (the suite name aside)
    run_suite(parse_suite(SUITE.format(name="same", seeds=2, strategy="random")), "", same)
    assert summarize([a, same]) == summarize(a)
    other = tmp_path / "other"  # the same run names, other records
    text = SUITE.format(name="other", seeds=2, strategy="random").replace("= 20", "= 5")
    run_suite(parse_suite(text), "", other)
    with pytest.raises(NasbenchError, match=r"run nb__random__seed0.parquet is in both .*a and "
                                            r".*other, with different records"):  # fmt: skip
        summarize([a, other])


def test_anytime_reads_the_incumbent_after_n_evaluations(folders) -> None:
    import pyarrow.parquet as pq

    a, _ = folders
    rows = anytime(a, [1, 5, 20, 50])
    assert [r.evaluations for r in rows] == [1, 5, 20, 50]
    runs = [pq.read_table(p).to_pydict() for p in sorted((a / "runs").glob("*.parquet"))]
    for row in rows:
        k = min(row.evaluations, 20) - 1
        vals = [r["incumbent_val_acc"][k] for r in runs]
        assert row.val_mean == pytest.approx(np.nanmean(vals))
    assert rows[-1].test_mean == rows[-2].test_mean  # 50 > 20 evaluations: the final incumbent


def test_pareto_rows(folders) -> None:
    rows = pareto(list(folders), "latency_ms")
    assert [r.strategy for r in rows] == ["random", "regularized_evolution"]
    for r in rows:
        costs = [c for _, c in r.front]
        accs = [a for a, _ in r.front]
        assert costs == sorted(costs) and accs == sorted(accs)  # a front: both increase
        assert all(c <= 12.0 for c in costs)  # only feasible evaluations
        assert 0 < r.hypervolume_mean <= r.ref_cost


def test_pareto_without_the_objective_has_no_hypervolume_not_zero(folders, monkeypatch) -> None:
    """Records without latency (NaN everywhere) give an undefined hypervolume and say why."""
    import nasbench.analysis.report as report_module

    real = report_module.read_run

    def no_latency(path):  # type: ignore[no-untyped-def]
        table, meta = real(path)
        nan = pa.array([float("nan")] * table.num_rows)
        return table.set_column(table.column_names.index("latency_ms"), "latency_ms", nan), meta

    monkeypatch.setattr(report_module, "read_run", no_latency)
    rows = pareto(list(folders), "latency_ms")
    assert rows and all(math.isnan(r.hypervolume_mean) and not r.front for r in rows)
    text = format_pareto(rows)
    assert "- (no feasible evaluation records latency_ms)" in text and "0 ±" not in text
