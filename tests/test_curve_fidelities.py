"""Every epoch of a learning curve as a fidelity (issue 26): the own tables answer the recorded
curves, their surrogate benchmarks a predicted curve (NAS-Bench-x11's idea), NAS-Bench-201 and
the final epoch answer as before, and Hyperband climbs the rungs on both."""

from __future__ import annotations

import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import spaces
from nasbench.core.space import SearchSpace
from nasbench.core.types import Architecture
from nasbench.engine.runner import run
from nasbench.engine.suite import parse_suite
from nasbench.evaluation.surrogate import SurrogateEvaluator
from nasbench.evaluation.tabular import TabularEvaluator
from nasbench.spaces.chain import ChainSpace
from nasbench.tables.benchmarks import DATA_DIR, load_benchmark
from nasbench.tables.curve_model import CurveModel, table_curves
from nasbench.tables.surrogate_benchmark import fit_noise_model, split, table_data

CHAIN = {"max_layers": 6, "filters": [8, 16, 32, 64]}
EPOCHS = 6  # the chain table's recipe
TRAIN_SIZE = 150  # architectures the surrogate benchmarks of these tests fit on
SURROGATE = {"surrogate": "random_forest", "surrogate_params": {"n_estimators": 10},
             "train_size": TRAIN_SIZE}  # fmt: skip
LEVELS = (0.0, 0.5, 0.8)


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return spaces.create("chain", **CHAIN)


@pytest.fixture(scope="module")
def recorded() -> dict[str, list]:
    """The chain table's own columns, read without nasbench's table code."""
    columns = ["arch", "sparsity", "curve", "run_curve", "run_status", "val_acc_seeds",
               "train_time_s", "test_acc"]  # fmt: skip
    return pq.read_table(DATA_DIR / "chain-mnist1d.parquet", columns=columns).to_pydict()


@pytest.fixture(scope="module")
def surrogates(space: SearchSpace) -> dict[float, SurrogateEvaluator]:
    """One evaluator per sparsity level; they share one fitted surrogate benchmark."""
    return {
        s: SurrogateEvaluator(space, benchmark="chain-mnist1d", sparsity=s, **SURROGATE)
        for s in LEVELS
    }


# ---- tables ------------------------------------------------------------------------------------
def test_tabular_epoch_answers_the_recorded_curve(space: SearchSpace, recorded: dict) -> None:
    evaluators = {s: TabularEvaluator(space, "chain-mnist1d", sparsity=s) for s in LEVELS}
    assert evaluators[0.0].fidelities == tuple(map(float, range(1, EPOCHS + 1)))
    assert evaluators[0.0].default_fidelity == EPOCHS
    for row in range(0, 1500, 97):
        arch, level = space.parse(recorded["arch"][row]), recorded["sparsity"][row]
        ok = [c for c, s in zip(recorded["run_curve"][row], recorded["run_status"][row],
                                strict=True) if s == "ok"]  # fmt: skip
        for e in (1, 3, EPOCHS - 1, EPOCHS):
            seed = int(np.random.default_rng(row + e).integers(len(ok)))  # the evaluator's draw
            m = evaluators[level].evaluate(arch, float(e), np.random.default_rng(row + e))
            expected = ok[seed][e - 1] if e < EPOCHS else recorded["val_acc_seeds"][row][seed]
            assert m.val_acc == expected
            assert m.cost_s == pytest.approx(recorded["train_time_s"][row] * e / EPOCHS, rel=1e-12)
            assert m.test_acc == recorded["test_acc"][row]  # the final test accuracy
    table = load_benchmark("chain-mnist1d")
    means = np.array(recorded["curve"])
    for e in range(1, EPOCHS):
        assert np.array_equal(table.fidelity(e).val, means[:, e - 1])
    assert table.fidelity(EPOCHS).spec.val == "val_acc"  # the final epoch: the recorded column


def test_nb201_answers_as_before() -> None:
    table = load_benchmark("nb201-cifar10")
    assert table.epochs is None and table.fidelities == table.recorded_fidelities == (12.0, 200.0)
    ev = TabularEvaluator(spaces.create("nb201"))
    assert ev.fidelities == (12.0, 200.0) and ev.default_fidelity == 12.0
    arch = ev.space.parse(table.arch[6111])
    rng = np.random.default_rng(0)
    twelve = ev.evaluate(arch, 12.0, rng)
    assert rng.bit_generator.state == np.random.default_rng(0).bit_generator.state  # no draw
    assert twelve.val_acc == table.fidelity(12).val[6111]
    assert twelve.cost_s == table.fidelity(12).cost_s[6111]
    with pytest.raises(NasbenchError, match=r"valid: 12\.0, 200\.0"):
        ev.evaluate(arch, 100.0, rng)


# ---- surrogate benchmarks ----------------------------------------------------------------------
# Answers of the code before curves were offered (same evaluator as the fixture at sparsity 0.5
# with latency on the cpu, rng seed 11): the final epoch must answer them bit for bit.
BEFORE = {
    "conv1-16-s2|sep3-64-s1|conv5-16-s1|sep1-16-s1|sep3-16-s2|conv3-32-s1":
        (0.5121492579878174, 0.5100840094372989, 2.894391910018729, 0.6790414429896815, 9066,
         4834, 148320, 73327, 0.18267463562301145),
    "sep3-8-s1|sep5-16-s1|conv1-8-s2|sep5-16-s1|sep1-8-s1|sep1-16-s2":
        (0.3102665553796859, 0.3093223587283978, 6.160187535533017, 1.4567637261419668, 1151,
         678, 17480, 9081, 0.14743785979184587),
}  # fmt: skip


def test_surrogate_final_epoch_answers_bit_for_bit(space: SearchSpace) -> None:
    ev = SurrogateEvaluator(space, benchmark="chain-mnist1d", sparsity=0.5,
                            latency_device="cpu", **SURROGATE)  # fmt: skip
    assert ev.fidelities == tuple(map(float, range(1, EPOCHS + 1)))
    assert ev.default_fidelity == EPOCHS
    for text, expected in BEFORE.items():
        arch = space.parse(text)
        ev.evaluate(arch, 2.0, np.random.default_rng(3))  # a low fidelity first changes nothing
        m = ev.evaluate(arch, float(EPOCHS), np.random.default_rng(11))
        got = (m.val_acc, m.test_acc, m.cost_s, m.latency_ms, m.params, m.nonzero_params, m.macs,
               m.effective_macs, m.val_acc_std)  # fmt: skip
        assert got == expected


def test_surrogate_epoch_noise_and_cost(surrogates: dict[float, SurrogateEvaluator]) -> None:
    ev = surrogates[0.5]
    arch = ev.space.parse(ev.table.arch[1])
    final = ev.evaluate_many([arch])
    for e in (1.0, 3.0):
        noise_free = ev.evaluate_many([arch], e)
        rng, twin = np.random.default_rng(4), np.random.default_rng(4)
        m = ev.evaluate(arch, e, rng)
        expected = noise_free["val"][0] + noise_free["noise_std"][0] * twin.standard_normal()
        assert m.val_acc == min(max(expected, 0.0), 1.0)  # one normal draw, the epoch's sd
        assert rng.bit_generator.state == twin.bit_generator.state
        assert m.cost_s == pytest.approx(math.exp(final["log_cost"][0]) * e / EPOCHS, rel=1e-12)
        assert m.test_acc == pytest.approx(final["test"][0])  # the final test accuracy
        assert 0.0 < noise_free["noise_std"][0] < 0.2
    # the noise sd at epoch e: the noise model fitted to the seeds' accuracies after e epochs
    data = table_data(ev.table)
    curves = table_curves(data)
    for e in (1, 4):
        seeds = curves.seeds[e - 1]
        assert seeds is not None  # the chain table records every seed's curve
        epoch = fit_noise_model(curves.values[:, e - 1], data.sparsity, seeds)
        at_e = ev.evaluate_many([arch], float(e))
        assert at_e["noise_std"][0] == pytest.approx(float(epoch.std(at_e["val"][0], 0.5)))
    assert final["noise_std"][0] == float(ev.noise_std(final["val"][0]))
    with pytest.raises(NasbenchError, match="fidelity"):
        ev.evaluate(arch, 2.5, np.random.default_rng(0))


def test_surrogate_curves_fit_their_training_architectures(
    surrogates: dict[float, SurrogateEvaluator],
) -> None:
    data = table_data(surrogates[0.0].table)
    curves = table_curves(data).values
    train = split(data, TRAIN_SIZE, 0, None)[0]  # the rows the evaluator fit
    predicted = np.empty((len(train), EPOCHS))
    for level, ev in surrogates.items():
        rows = data.sparsity[train] == level
        archs = [data.archs[i] for i in train[rows]]
        for e in range(1, EPOCHS + 1):
            predicted[rows, e - 1] = ev.evaluate_many(archs, float(e))["val"]
    rmse = np.sqrt(np.mean((predicted - curves[train]) ** 2, axis=0))
    spread = curves[train].std(axis=0)  # the error of answering every epoch's mean
    assert np.all(rmse < 0.08), rmse
    assert np.all(rmse < 0.6 * spread), (rmse, spread)
    model = surrogates[0.0].curve_model  # three components keep nearly all of the curves
    assert model.components_.shape == (3, EPOCHS) and model.explained_[-1] > 0.98
    assert model.beta_[-1] == 1.0 and np.all(np.diff(model.beta_) > 0)


def test_curve_model_checks_its_input() -> None:
    with pytest.raises(NasbenchError, match="n_components"):
        CurveModel(n_components=0)
    with pytest.raises(NasbenchError, match="shape"):
        CurveModel().fit(np.zeros((20, 2)), np.zeros((20, 1)), np.random.default_rng(0))
    with pytest.raises(NasbenchError, match="no learning curves"):
        table_curves(table_data(load_benchmark("nb201-cifar10")))


# ---- Hyperband on the epochs ---------------------------------------------------------------------
class TableChain(ChainSpace):
    """The chain space drawing only the architectures its table records, the only ones a
    tabular evaluator answers (a suite names it as ``tests.test_curve_fidelities:TableChain``)."""

    def sample(self, rng: np.random.Generator) -> Architecture:
        archs = sorted(set(load_benchmark("chain-mnist1d").arch))
        return self.parse(archs[int(rng.integers(len(archs)))])


SUITE = """
[suite]
name = "curves"
seeds = 1
[budget]
cost_s = {cost_s}
sparsity = 0.5
[[task]]
space = "{space}"
space_params = {{ max_layers = 6, filters = [8, 16, 32, 64] }}
benchmark = "chain-mnist1d"
label = "chain"
{evaluator}
[[strategy]]
name = "hyperband"
"""


@pytest.mark.parametrize(
    "evaluator",
    [
        'evaluator = "tabular"',
        'evaluator = "surrogate"\nsurrogate = "random_forest"\n'
        "surrogate_params = { n_estimators = 10 }\ntrain_size = 150",
    ],
    ids=["tabular", "surrogate"],
)
def test_hyperband_climbs_the_epochs(evaluator: str) -> None:
    space = "tests.test_curve_fidelities:TableChain" if "tabular" in evaluator else "chain"
    spec = parse_suite(SUITE.format(cost_s=80, evaluator=evaluator, space=space)).specs()[0]
    records = run(spec, 0).records
    fidelities = [r.fidelity for r in records]
    assert sorted(set(fidelities)) == [2.0, 6.0]  # eta = 3 on epochs 1..6: rungs 2 and 6
    assert fidelities[:3] == [2.0] * 3 and fidelities[3] == 6.0  # bracket s = 1 promotes one
    last = records[-1]
    assert records[last.incumbent_trial].fidelity == 6.0  # the incumbent is at the top rung
    final_cost = {r.arch: r.cost_s for r in records if r.fidelity == 6.0}
    promoted = [r for r in records if r.fidelity == 2.0 and r.arch in final_cost]
    assert promoted  # charged 2/6 of the training at 2 epochs
    for r in promoted:
        assert r.cost_s == pytest.approx(final_cost[r.arch] * 2 / 6, rel=1e-12)
