"""The runner and suite execution: determinism, fairness rules, budget, constraints, records."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow.parquet as pq
import pytest

from nasbench.analysis.report import summarize
from nasbench.analysis.results import run_suite
from nasbench.core.errors import NasbenchError
from nasbench.core.types import Measurement, Observation, Status
from nasbench.engine.records import read_run
from nasbench.engine.runner import run
from nasbench.engine.suite import parse_suite
from nasbench.strategies.random import RandomSearch

SUITE = """
[suite]
name = "t"
seeds = {seeds}
[budget]
{budget}
[[task]]
space = "nb201"
evaluator = "{evaluator}"
fidelity = {fidelity}
label = "nb"
[[strategy]]
name = "regularized_evolution"
[[strategy]]
name = "{strategy}"
label = "second"
"""


def suite(budget: str = "cost_s = 3000", seeds: int = 2, fidelity: int = 12,
          evaluator: str = "tabular", strategy: str = "random"):  # fmt: skip
    return parse_suite(SUITE.format(seeds=seeds, budget=budget, fidelity=fidelity,
                                    evaluator=evaluator, strategy=strategy))  # fmt: skip


def pure(records) -> list[dict]:
    """Records without the measured wall-clock columns."""
    return [
        {k: v for k, v in dataclasses.asdict(r).items() if not k.endswith("_wall_s")}
        for r in records
    ]


def same(a: list[dict], b: list[dict]) -> bool:
    def norm(x: object) -> object:
        return "nan" if isinstance(x, float) and math.isnan(x) else x

    return [{k: norm(v) for k, v in r.items()} for r in a] == [
        {k: norm(v) for k, v in r.items()} for r in b
    ]


def test_same_seed_same_records_other_seed_differs() -> None:
    spec = suite().specs()[0]
    a, b, c = run(spec, 4), run(spec, 4), run(spec, 5)
    assert same(pure(a.records), pure(b.records))
    assert not same(pure(a.records), pure(c.records))
    assert a.meta.stop_reason == "cost_s" and a.meta.trials == len(a.records)


def test_budget_stops_after_the_evaluation_that_crosses_it() -> None:
    rec = run(suite().specs()[0], 0).records
    costs = [r.cum_cost_s for r in rec]
    assert costs[-1] >= 3000 > costs[-2]
    assert np.allclose(np.cumsum([r.cost_s for r in rec]), costs)
    counted = run(suite(budget="evaluations = 7").specs()[1], 0)
    assert len(counted.records) == 7 and counted.meta.stop_reason == "evaluations"


def test_nb201_protocol_costs_and_answers() -> None:
    rec = run(suite().specs()[1], 0).records
    from nasbench.tables.benchmarks import load_benchmark

    table = load_benchmark("nb201-cifar10")
    for r in rec[:5]:
        row = table.index(r.arch, r.key, 0.0)
        assert r.cost_s == pytest.approx(0.06 * table.fidelity(200.0).cost_s[row])
        assert r.val_acc == table.fidelity(12.0).val[row]
        assert r.test_acc == table.test[row]  # always the 200-epoch CIFAR-10 test accuracy
        assert r.fidelity == 12.0


def test_strategies_share_the_initial_design() -> None:
    evo, rnd = (run(spec, 3).records for spec in suite().specs())
    assert [r.arch for r in evo[:10]] == [r.arch for r in rnd[:10]]
    assert [r.arch for r in evo[10:20]] != [r.arch for r in rnd[10:20]]


class SpyRandom(RandomSearch):
    """Random search that keeps every observation it is told."""

    seen: ClassVar[list[Observation]] = []

    def tell(self, observations) -> None:  # type: ignore[no-untyped-def]
        SpyRandom.seen.extend(observations)
        super().tell(observations)


def test_strategy_never_sees_a_test_metric() -> None:
    assert not [f.name for f in dataclasses.fields(Observation) if "test" in f.name]
    SpyRandom.seen = []
    rec = run(suite(strategy="tests.test_runner:SpyRandom").specs()[1], 0).records
    assert [o.val_acc for o in SpyRandom.seen] == [r.val_acc for r in rec]
    assert all(o.objective == o.val_acc for o in SpyRandom.seen)


def test_incumbent_is_the_best_feasible_so_far() -> None:
    rec = run(suite().specs()[0], 1).records
    best = -1.0
    for r in rec:
        if r.feasible and r.val_acc > best:
            best = r.val_acc
        assert r.incumbent_val_acc == best
        assert rec[r.incumbent_trial].arch == r.incumbent_arch


def test_hard_latency_limit_rejects_without_charging() -> None:
    budget = 'cost_s = 3000\nlatency_ms = 3.6\nlatency_device = "pixel3"'
    rec = run(suite(budget=budget).specs()[1], 0).records
    bad = [r for r in rec if not r.feasible]
    assert bad and all(r.latency_ms > 3.6 for r in bad)
    assert all(r.cost_s == 0 and math.isnan(r.val_acc) and math.isnan(r.objective) for r in bad)
    assert all(r.latency_ms <= 3.6 for r in rec if r.feasible)
    assert all(rec[r.incumbent_trial].feasible for r in rec if r.incumbent_trial >= 0)


def test_soft_latency_limit_scores_the_mnasnet_reward() -> None:
    budget = 'cost_s = 3000\nlatency_ms = 3.6\nlatency_device = "pixel3"\nconstraint = "soft"'
    rec = run(suite(budget=budget).specs()[1], 0).records
    assert all(r.feasible and r.cost_s > 0 for r in rec)
    for r in rec:
        assert r.objective == pytest.approx(r.val_acc * (r.latency_ms / 3.6) ** -0.07)


class NaNEvaluator:
    """Diverges (NaN) on every cell whose first edge is a 3x3 conv; 100 s per evaluation."""

    fidelities = (1.0,)
    default_fidelity = 1.0

    def __init__(self, space, latency_device=None, sparsity=0.0) -> None:  # type: ignore[no-untyped-def]
        self.space = space

    def evaluate(self, arch, fidelity, rng) -> Measurement:  # type: ignore[no-untyped-def]
        if arch.values[0] == "nor_conv_3x3":
            return Measurement(math.nan, math.nan, 100.0, Status.FAILED)
        score = sum(v == "nor_conv_1x1" for v in arch.values) / 6
        return Measurement(score, score, 100.0, params=10)


def test_diverging_evaluations_are_failed_trials_not_crashes() -> None:
    spec = suite(evaluator="tests.test_runner:NaNEvaluator", fidelity=1).specs()[0]
    rec = run(spec, 0).records
    failed = [r for r in rec if r.status == "failed"]
    assert failed and len(rec) == 30
    assert all(math.isnan(r.objective) and r.cost_s == 100.0 for r in failed)
    assert all(rec[r.incumbent_trial].status == "ok" for r in rec if r.incumbent_trial >= 0)
    # no limits in this budget: a failed trial is constraint-feasible, and status says it failed
    assert all(r.feasible for r in failed)


def tables_without_wall(folder: Path) -> dict[str, list[dict]]:
    out = {}
    for path in sorted((folder / "runs").glob("*.parquet")):
        table = pq.read_table(path)
        keep = [c for c in table.column_names if not c.endswith("_wall_s")]
        out[path.name] = table.select(keep).to_pylist()
    return out


def test_workers_do_not_change_records(tmp_path: Path) -> None:
    s = suite(seeds=3)
    run_suite(s, "text", tmp_path / "w1", workers=1)
    run_suite(s, "text", tmp_path / "w2", workers=2)
    one, two = tables_without_wall(tmp_path / "w1"), tables_without_wall(tmp_path / "w2")
    assert len(one) == 6 and one.keys() == two.keys()
    for name in one:
        assert same(one[name], two[name]), name
    assert summarize(tmp_path / "w1") == summarize(tmp_path / "w2")


def test_results_folder_is_never_overwritten(tmp_path: Path) -> None:
    s, out = suite(), tmp_path / "res"
    run_suite(s, "first", out)
    before = {p: p.read_bytes() for p in (out / "runs").iterdir()}
    with pytest.raises(NasbenchError, match="--resume"):
        run_suite(s, "first", out)
    assert {p: p.read_bytes() for p in (out / "runs").iterdir()} == before
    # resume: a finished folder runs nothing; a missing run is recomputed identically
    victim = sorted(before)[0]
    victim.unlink()
    run_suite(s, "first", out, resume=True)
    wall = ["overhead_wall_s", "eval_wall_s"]
    again = pq.read_table(victim).drop_columns(wall).to_pylist()
    original = pq.read_table(_copy_of(before[victim], tmp_path)).drop_columns(wall).to_pylist()
    assert same(again, original)
    with pytest.raises(NasbenchError, match="differs"):
        run_suite(suite(seeds=5), "other", out, resume=True)
    assert (out / "config.toml").read_text() == "first"


def _copy_of(data: bytes, tmp: Path) -> Path:
    path = tmp / "copy.parquet"
    path.write_bytes(data)
    return path


def test_run_metadata_is_in_the_file(tmp_path: Path) -> None:
    out = tmp_path / "m"
    run_suite(suite(seeds=1), "x", out)
    path = sorted((out / "runs").glob("*.parquet"))[0]
    _, meta = read_run(path)
    assert meta.suite == "t" and meta.seed == 0 and meta.nasbench_version
    assert '"cost_s": 3000' in meta.config_json and meta.git_commit


class CostlySearch(RandomSearch):
    """Random search whose every proposal says it cost 7 simulated seconds to make (as a
    gradient strategy's supernet epoch does); records the dataset it was told."""

    datasets: ClassVar[list[str | None]] = []

    def start(self, space, info, rng, initial_rng) -> None:  # type: ignore[no-untyped-def]
        CostlySearch.datasets.append(info.dataset)
        super().start(space, info, rng, initial_rng)

    def ask(self, n: int = 1):  # type: ignore[no-untyped-def]
        return [dataclasses.replace(p, search_cost_s=7.0) for p in super().ask(n)]


def test_strategy_search_cost_is_charged_and_recorded() -> None:
    CostlySearch.datasets = []
    specs = suite(strategy="tests.test_runner:CostlySearch", budget="evaluations = 20").specs()
    plain, costly = run(specs[0], 0).records, run(specs[1], 0).records
    assert CostlySearch.datasets == ["cifar10"]
    search = [dict(r.extra)["search_cost_s"] for r in costly]
    assert search == [7.0] * 20
    evaluated = [r.cost_s - 7.0 for r in costly]
    assert all(c > 0 for c in evaluated) and costly[-1].cum_cost_s == pytest.approx(
        sum(r.cost_s for r in costly)
    )
    assert not any("search_cost_s" in dict(r.extra) for r in plain)


class MonitorSearch(RandomSearch):
    """Proposals a strategy does not learn from (a gradient method's derived architecture)."""

    def ask(self, n: int = 1):  # type: ignore[no-untyped-def]
        return [dataclasses.replace(p, search_cost_s=3.0, monitor=True) for p in super().ask(n)]


def test_monitor_proposals_charge_the_search_cost_alone() -> None:
    monitor = suite(strategy="tests.test_runner:MonitorSearch", budget="cost_s = 30").specs()[1]
    random = suite(strategy="random", budget="evaluations = 10").specs()[1]
    plain, monitored = run(random, 0).records, run(monitor, 0).records
    assert [r.cost_s for r in monitored] == [3.0] * 10
    assert [r.cum_cost_s for r in monitored][-1] == pytest.approx(30.0)
    # the same architectures as random search (same streams), their evaluation cost recorded
    assert [r.arch for r in monitored] == [r.arch for r in plain]
    assert [dict(r.extra)["eval_cost_s"] for r in monitored] == [r.cost_s for r in plain]
    # a gradient method's answer is its latest derived architecture, not the best of its epochs
    assert [r.incumbent_trial for r in monitored] == list(range(10))
    assert [r.incumbent_val_acc for r in monitored] == [r.val_acc for r in monitored]
    assert max(r.val_acc for r in monitored) > monitored[-1].val_acc  # the best was not kept


class StoppingEvaluator(NaNEvaluator):
    """Stops every cell whose first edge is a 3x3 conv early (as learning-curve extrapolation
    does): observed 0.2, predicted final 0.5 +- 0.1, 40 s; the rest train fully, 100 s."""

    def evaluate(self, arch, fidelity, rng) -> Measurement:  # type: ignore[no-untyped-def]
        if arch.values[0] == "nor_conv_3x3":
            return Measurement(0.2, 0.2, 40.0, Status.STOPPED, val_acc_std=0.1, val_acc_pred=0.5)
        score = 0.3 + sum(v == "nor_conv_1x1" for v in arch.values) / 20
        return Measurement(score, score, 100.0, params=10)


def test_a_stopped_run_tells_the_strategy_its_prediction_but_is_never_incumbent() -> None:
    """Domhan et al. (2015) return a terminated run's predicted performance to the optimiser;
    the record keeps the observed accuracy, and the incumbent is a fully trained run."""
    SpyRandom.seen = []
    spec = suite(evaluator="tests.test_runner:StoppingEvaluator", fidelity=1,
                 strategy="tests.test_runner:SpyRandom").specs()[1]  # fmt: skip
    rec = run(spec, 0).records
    stopped = [r for r in rec if r.status == "stopped"]
    assert stopped and len(stopped) < len(rec)
    told = {o.trial: o for o in SpyRandom.seen}
    for r in rec:
        extra = dict(r.extra)
        if r.status == "stopped":
            assert told[r.trial].objective == 0.5 and extra["objective_pred"] == 0.5
            assert r.val_acc == told[r.trial].val_acc == 0.2 and math.isnan(r.objective)
        else:
            assert told[r.trial].objective == r.objective == r.val_acc
            assert "objective_pred" not in extra or math.isnan(extra["objective_pred"])
        assert r.incumbent_trial < 0 or rec[r.incumbent_trial].status == "ok"
    # the prediction (0.5) beats every fully trained run (<= 0.6 only with 6 1x1 convs), yet
    # the incumbent is the best trained one
    assert rec[-1].incumbent_val_acc == max(r.val_acc for r in rec if r.status == "ok")


def test_an_infeasible_derived_architecture_leaves_no_incumbent() -> None:
    budget = 'cost_s = 60\nlatency_ms = 3.6\nlatency_device = "pixel3"'
    rec = run(
        suite(strategy="tests.test_runner:MonitorSearch", budget=budget).specs()[1], 0
    ).records
    assert {r.feasible for r in rec} == {True, False}
    for r in rec:
        assert r.incumbent_trial == (r.trial if r.feasible else -1)


class OneAnswerEvaluator:
    """Answers every architecture with one and the same Measurement object: ``ok`` with a NaN
    validation accuracy (a diverged run that forgot to say so)."""

    fidelities = (1.0,)
    default_fidelity = 1.0
    answer = Measurement(math.nan, math.nan, 100.0, Status.OK)

    def __init__(self, space, latency_device=None, sparsity=0.0) -> None:  # type: ignore[no-untyped-def]
        self.space = space

    def evaluate(self, arch, fidelity, rng) -> Measurement:  # type: ignore[no-untyped-def]
        return self.answer


def test_a_repeated_answer_is_checked_once_and_judged_the_same_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nasbench.core import plugins

    checks: list[object] = []
    check = plugins.check_measurement

    def counting(name: str, m: object) -> Measurement:
        checks.append(m)
        return check(name, m)

    monkeypatch.setattr(plugins, "check_measurement", counting)
    spec = suite(evaluator="tests.test_runner:OneAnswerEvaluator", fidelity=1).specs()[0]
    rec = run(spec, 0).records
    assert len(rec) == 30 and len(checks) == 1  # one object: checked once
    assert all(r.status == "failed" and math.isnan(r.objective) for r in rec)  # every time
    # a table answers a repeated architecture with its memoised Measurement: one check each
    checks.clear()
    rec = run(suite(budget="evaluations = 300").specs()[0], 0).records
    assert len(rec) == 300 and len(checks) == len({r.arch for r in rec}) < 300
