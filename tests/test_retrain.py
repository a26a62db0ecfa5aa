"""The retraining script of the gradient-vs-black-box study (experiments/retrain.py): which final
architectures it trains, that a table's own runs are read instead of retrained, and its report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from experiments import retrain
from nasbench.analysis.results import run_suite
from nasbench.core.jsonl import read_lines as read_jsonl
from nasbench.engine.suite import parse_suite
from nasbench.tables import tablebuild
from nasbench.tables.tablebuild import build_table
from tests.helpers import SURROGATE_SPEC as SPEC
from tests.helpers import surrogate_fake_run as fake_run

SUITE = """
[suite]
name = "r"
seeds = 2
[budget]
evaluations = 6
sparsity = 0.8
[[task]]
space = "chain"
space_params = {{ max_layers = 3 }}
evaluator = "surrogate"
surrogate = "random_forest"
benchmark = "{table}"
label = "toy"
[[strategy]]
name = "random"
[[strategy]]
name = "regularized_evolution"
population = 3
sample_size = 2
"""


def test_retrain_trains_each_groups_best_final_incumbent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = tmp_path / "toy-chain.parquet"
    monkeypatch.setattr(tablebuild, "train_run", fake_run)
    build_table(SPEC, table, n=30, sparsities=(0.0, 0.8), seeds=1)
    text = SUITE.format(table=table)
    out = tmp_path / "results"
    run_suite(parse_suite(text), text, out)

    jobs = retrain.jobs(out, top=1, seeds=2)
    assert [(j.strategy, j.seed, j.rank) for j in jobs] == [
        ("random", 0, 0), ("random", 1, 0), ("regularized_evolution", 0, 0),
        ("regularized_evolution", 1, 0),
    ]  # fmt: skip
    for job in jobs:
        finals = []
        for path in sorted((out / "runs").glob(f"toy__{job.strategy}__seed*.parquet")):
            rows = pq.read_table(path).to_pylist()
            finals.append((rows[-1]["incumbent_val_acc"], rows[-1]["incumbent_arch"]))
        assert (job.bench_val, job.arch) == max(finals)  # the better seed's final incumbent
        assert job.sparsity == 0.8 and job.benchmark == str(table)
    assert retrain.jobs(out, top=1, seeds=2, tasks=frozenset({"toy"})) == jobs
    with pytest.raises(SystemExit, match=r"no runs of task other in .* \(tasks: toy\)"):
        retrain.jobs(out, top=1, seeds=2, tasks=frozenset({"other"}))
    two = retrain.jobs(out, top=2, seeds=1)
    assert {j.rank for j in two} == {0, 1} and len({(j.strategy, j.arch) for j in two}) == 4

    calls: list[tuple] = []

    def counted(*args: object) -> dict:
        calls.append(args)
        return fake_run(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(retrain, "train_run", counted)
    retrain.run(out, top=1, seeds=2, workers=1)
    rows = read_jsonl(out / "retrain.jsonl")
    assert len(rows) == 4
    trained = {(r["arch"], r["seed"]) for r in rows if r["source"] == "trained"}
    assert sorted((a[2], a[4]) for a in calls) == sorted(trained)  # each one once
    in_table = {(r["key"], r["seed"]) for r in tablebuild.read_runs(table)[1].values()
                if r["sparsity"] == 0.8}  # fmt: skip
    space = SPEC.create_space()
    for row in rows:
        expected = fake_run(SPEC.to_json(), -1, row["arch"], 0.8, row["seed"])
        assert row["val_acc"] == pytest.approx(expected["val_acc"])
        key = space.parse(row["arch"]).key
        assert row["source"] == ("table" if (key, row["seed"]) in in_table else "trained")
    retrain.run(out, top=1, seeds=2, workers=1)  # resumable: nothing left to train
    assert len(read_jsonl(out / "retrain.jsonl")) == 4
    md = retrain.report(out)
    assert (out / "retrain.md").read_text() == md
    # two group rows, the task's agreement row (strategies ranked under both) and a
    # strategy-means row per strategy; one retrained run per group pairs nothing by seed
    assert md.count("| toy |") == 5 and "tau of strategy means" in md
    assert "Against random search: not tested (at most one retrained run" in md
    lines = md.splitlines()
    agreement = lines[lines.index(next(x for x in lines if "tau of strategy means" in x)) + 2]
    assert agreement.startswith("| toy | ") and agreement.split(" | ")[3] == "2"  # both ranked
    head = lines.index(
        "| task | strategy | runs | benchmark | retrained | rank (benchmark / retrained) |"
    )
    means = {line.split(" | ")[1]: line.split(" | ") for line in lines[head + 2 : head + 4]}
    assert set(means) == {"random", "regularized_evolution"}
    for strategy, cells in means.items():
        mine = [r for r in rows if r["strategy"] == strategy]
        assert float(cells[4]) == pytest.approx(
            100 * np.mean([r["test_acc"] for r in mine]), abs=0.01
        )
    every = retrain.jobs(out, top=0, seeds=1)  # --top 0: every run's final incumbent
    per_group = {(j.strategy, j.arch): j.found for j in every}
    assert sum(per_group.values()) == 4  # 2 strategies x 2 seeds, one final incumbent each
    retrain.run(out, top=0, seeds=1, workers=1)
    md = retrain.report(out)
    verdict = md.rsplit("\n| toy | regularized_evolution | ", 1)[1].split(" | ")
    # two seeds: no Wilcoxon test can reject at 0.05, on either answer, so they agree
    assert verdict[0] == "2" and "n.s." in verdict[1] and "n.s." in verdict[2]
    assert verdict[3].startswith("yes")


def test_answers_beyond_the_tables_best_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report splits the retrained architectures at the table's best test label: how many
    the benchmark answered above it, their retrained mean against as many answered just below,
    and the tau with the answers as given and bounded to the labels."""
    table = tmp_path / "toy-chain.parquet"
    monkeypatch.setattr(tablebuild, "train_run", fake_run)
    build_table(SPEC, table, n=12, sparsities=(0.0, 0.8), seeds=1)
    data = retrain.table_data(retrain.load_benchmark(table))
    best = data.label_range(0.8)[1][1]
    answers = [
        best + 0.03,
        best + 0.02,
        best + 0.01,
        best - 0.01,
        best - 0.02,
        best - 0.03,
        best - 0.2,
    ]
    real = [0.97, 0.96, 0.95, 0.90, 0.91, 0.80, 0.5]
    rows = [{"task": "toy", "strategy": "random", "arch": f"a{i}", "sparsity": 0.8,
             "benchmark": str(table), "bench_test": b, "test_acc": r - d, "seed": k}
            for i, (b, r) in enumerate(zip(answers, real, strict=True))
            for k, d in enumerate((0.01, -0.01))]  # fmt: skip
    line = retrain.beyond_table(rows)[-1].split(" | ")
    assert line[0] == "| toy" and float(line[1]) == pytest.approx(best * 100, abs=0.005)
    assert line[2] == "3 of 7"
    assert float(line[3]) == pytest.approx(96.0) and float(line[4]) == pytest.approx(87.0)
    assert float(line[5]) == pytest.approx(1.0)  # in the answers' order
    as_given, bounded = (float(x) for x in line[6].rstrip(" |").split(" / "))
    assert as_given == pytest.approx(19 / 21, abs=1e-3)  # one discordant pair of 21
    assert bounded < as_given  # the three above tie at the label
    assert retrain.beyond_table(rows[:4]) == []  # fewer than 3 architectures: no row
