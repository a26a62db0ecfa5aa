"""Gradient strategies (DARTS, GDAS, Single-Path NAS, TAS) on tiny supernets and problems."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import datasets, spaces, strategies
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo
from nasbench.core.supernet import derive, path_weights
from nasbench.core.types import Architecture, Budget, Task
from nasbench.engine.runner import run
from nasbench.engine.suite import parse_suite
from nasbench.tables.latency_models import latency_model
from nasbench.training.datasets import Dataset, Split
from nasbench.training.pruning import sparsity
from nasbench.training.simcost import MACS_PER_S, training_cost_s

NB201 = {"channels": 4, "cells_per_stage": 1}


@datasets.register("toy_mean")
class ToyMean:
    """Constructed task: 16 Gaussian samples, class = whether their mean is positive. Averaging
    (``avg_pool_3x3``) keeps exactly the signal and smooths the noise, so it is the op that
    minimises the loss on every NAS-Bench-201 edge."""

    def __init__(self, root: str | None = None) -> None:
        self.root = root

    def load(self) -> Dataset:
        rng = np.random.default_rng(0)

        def split(n: int) -> Split:
            x = rng.normal(size=(n, 1, 16)).astype(np.float32)
            return Split(x, (x.mean(axis=(1, 2)) > 0).astype(np.int64))

        return Dataset("toy_mean", Task((1, 16), 2, "toy_mean"), split(2000), split(500), split(10))


def info(dataset: str = "mnist1d", **budget: float) -> SearchInfo:
    return SearchInfo(1.0, (), Budget(evaluations=10, **budget), dataset=dataset)  # type: ignore[arg-type]


def started(name: str, space_name: str, space_params: dict, search: SearchInfo, **params):
    space = spaces.create(space_name, **space_params)
    strategy = strategies.create(name, **params)
    strategy.start(space, search, role_rng(0, "strategy"), role_rng(0, "initial_design"))
    return strategy, space


def test_darts_moves_toward_the_op_that_minimises_the_loss() -> None:
    # alpha starts at 1e-3 * N(0, 1) (DARTS): after 5 short epochs averaging leads on the
    # average edge and on most edges (skip_connect, which keeps the signal too, is close behind)
    darts, space = started("darts", "nb201", NB201, info("toy_mean"), epochs=5, batch_size=32,
                           steps_per_epoch=30, arch_lr=3e-2)  # fmt: skip
    darts.ask(5)
    ops = space.decisions()[0].choices
    pool = ops.index("avg_pool_3x3")
    probs = torch.stack([torch.softmax(v.detach(), 0) for v in darts.logits_.values()])
    mean = probs.mean(0)
    assert int(mean.argmax()) == pool and mean[pool] > 0.28 > 1 / len(ops)
    best = [ops[int(i)] for i in probs.argmax(1)]
    assert best.count("avg_pool_3x3") >= 4
    assert darts.ask(1)[0].arch.values.count("avg_pool_3x3") >= 4  # derived from the logits


@pytest.mark.slow  # CI runs it (.ci/run: pytest -m slow)
def test_darts_second_order_differs_and_learns() -> None:
    kwargs = {"epochs": 3, "batch_size": 32, "steps_per_epoch": 15, "arch_lr": 3e-2}
    first, space = started("darts", "nb201", NB201, info("toy_mean"), **kwargs)
    second, _ = started("darts", "nb201", NB201, info("toy_mean"), order=2, **kwargs)
    first.ask(3)
    second.ask(3)
    pool = space.decisions()[0].choices.index("avg_pool_3x3")
    mean = torch.stack([torch.softmax(v.detach(), 0) for v in second.logits_.values()]).mean(0)
    assert int(mean.argmax()) == pool and mean[pool] > 0.22, mean
    a = torch.cat([v.detach() for v in first.logits_.values()])
    b = torch.cat([v.detach() for v in second.logits_.values()])
    assert not torch.equal(a, b)  # the unrolled gradient is another gradient


def test_gdas_forward_weights_are_one_hot_with_soft_gradient() -> None:
    gdas, _ = started("gdas", "nb201", NB201, info(), epochs=4, batch_size=8, steps_per_epoch=2)
    seen = []
    forward = gdas._forward
    gdas._forward = lambda x, w: (seen.append(w), forward(x, w))[1]
    gdas.ask(2)
    assert len(seen) == (1 + 2 * 2) * 2  # (cost tally + (arch + weight step) x steps) x epochs
    for weights in seen:
        for w in weights.values():
            assert sorted(w.detach().tolist()).count(1.0) == 1 and float(w.detach().sum()) == 1.0
    w = gdas._weights()
    sum((v * torch.arange(len(v))).sum() for v in w.values()).backward()
    assert all(float(v.grad.abs().sum()) > 0 for v in gdas.logits_.values())
    assert gdas.tau() == pytest.approx(10 - 2 * (10 - 0.1) / 3)


def _all_of(space: SearchSpace, op: str) -> Architecture:
    return space.make([op] * len(space.decisions()))


def test_search_cost_is_the_simulated_epoch_cost() -> None:
    darts, space = started("darts", "nb201", NB201, info(), epochs=2, batch_size=16,
                           steps_per_epoch=8)  # fmt: skip
    # the softmax computes every candidate on every edge: NB-201's edges preserve shapes, so
    # the MACs are the all-conv3x3 network's plus the 1x1 convs (pools, skip and none: 0 MACs)
    task = Task((1, 40), 10)
    conv3, conv1, pool = (space.counts(_all_of(space, op), task).macs
                          for op in ("nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"))  # fmt: skip
    assert darts.epoch_macs() == conv3 + conv1 - pool
    per_epoch = 2 * training_cost_s(conv3 + conv1 - pool, 8 * 16, passes=3.0)  # weight + arch
    for _ in range(3):  # beyond the planned epochs: keeps training and proposing
        begin = time.perf_counter()
        (proposal,) = darts.ask(1)
        wall = time.perf_counter() - begin
        assert proposal.search_cost_s == darts.last_cost_s_ == per_epoch
        assert 0 < darts.last_wall_s_ <= wall  # measured, kept apart
    assert darts.epoch_ == 3 and darts.step_ == 24
    assert per_epoch == pytest.approx(6 * 128 * (conv3 + conv1 - pool) / MACS_PER_S)


def test_second_order_darts_charges_its_extra_passes() -> None:
    kwargs = {"epochs": 2, "batch_size": 16, "steps_per_epoch": 2}
    second, _ = started("darts", "nb201", NB201, info(), order=2, **kwargs)
    macs = second.epoch_macs()
    (proposal,) = second.ask(1)
    # weight step 3 + unrolled step 3 + two finite differences 2 + 2 on train; 3 on val
    expected = training_cost_s(macs, 32, passes=10.0) + training_cost_s(macs, 32, passes=3.0)
    assert proposal.search_cost_s == expected


def test_gdas_charges_its_sampled_path_and_less_than_darts() -> None:
    kwargs = {"epochs": 2, "batch_size": 16, "steps_per_epoch": 4}
    gdas, space = started("gdas", "nb201", NB201, info(), **kwargs)
    darts, _ = started("darts", "nb201", NB201, info(), **kwargs)
    costs = []
    for _ in range(2):
        state = gdas.noise_.get_state()
        sample = gdas._weights()  # the epoch's first sample, as the tally sees it
        gdas.noise_.set_state(state)
        arch = derive(space, {k: v.detach() for k, v in sample.items()})
        macs = space.counts(arch, Task((1, 40), 10)).macs
        assert gdas.epoch_macs() == macs and gdas.noise_.get_state().equal(state)
        (proposal,) = gdas.ask(1)
        assert proposal.search_cost_s == 2 * training_cost_s(macs, 64, passes=3.0)
        costs.append(proposal.search_cost_s)
    dense = [p.search_cost_s for p in darts.ask(2)]
    assert max(costs) < min(dense)  # one path per decision against every candidate


def test_pruning_reaches_the_target_sparsity_and_survives_replay() -> None:
    search = info(sparsity=0.6)
    kwargs = {"epochs": 4, "batch_size": 16, "steps_per_epoch": 5}
    darts, _ = started("darts", "nb201", NB201, search, **kwargs)
    journal = [p.arch for p in darts.ask(2)]
    assert 0 < sparsity(darts.net_) < 0.6  # the cubic schedule is under way
    journal += [p.arch for p in darts.ask(2)]
    assert abs(sparsity(darts.net_) - 0.6) <= 0.005
    copy, _ = started("darts", "nb201", NB201, search, **kwargs)  # a resumed run retrains
    assert [p.arch for p in copy.ask(4)] == journal
    assert [p.arch for p in copy.ask(2)] == [p.arch for p in darts.ask(2)]
    assert abs(sparsity(copy.net_) - 0.6) <= 0.005  # masks hold while training goes on
    for a, b in zip(copy.net_.parameters(), darts.net_.parameters(), strict=True):
        assert torch.equal(a, b)


SINGLE_PATH = {"preset": "single_path", "width": 0.25}


def _arch(space, kernel: str, op: str) -> Architecture:
    values: list[str] = []
    while (d := space.next_decision(values)) is not None:
        field = d.name.split(".")[1]
        values.append({"kernel": kernel, "op": op}.get(field, d.choices[0]))
    return space.make(values)


class MacsLatency:
    """A noise-free stand-in for the ``lut:cpu`` model: 0.5 ms plus 1 ms per million MACs."""

    def __init__(self, device: str, space, **options) -> None:
        self.device, self.space = device, space

    def latency_ms(self, arch, module, task) -> float:
        return 0.5 + self.space.counts(arch, task).macs / 1e6


def test_single_path_expected_latency_is_monotone(monkeypatch) -> None:
    monkeypatch.setattr("nasbench.strategies.single_path.latency_model", MacsLatency)
    sp, space = started("single_path", "hierarchical", SINGLE_PATH, info(), epochs=1,
                        batch_size=8, steps_per_epoch=1, latency_samples=120)  # fmt: skip
    task = Task((1, 40), 10)
    predicted, exact = {}, {}
    for key in (("3", "mbconv3"), ("5", "mbconv3"), ("3", "mbconv6"), ("5", "mbconv6")):
        arch = _arch(space, *key)
        predicted[key] = float(sp.latency_(path_weights(space, arch)))
        exact[key] = MacsLatency("", space).latency_ms(arch, None, task)
        assert predicted[key] == pytest.approx(exact[key], rel=1e-2)  # MACs: nearly additive
    assert predicted["3", "mbconv3"] < predicted["5", "mbconv3"] < predicted["5", "mbconv6"]
    assert predicted["3", "mbconv3"] < predicted["3", "mbconv6"] < predicted["5", "mbconv6"]
    # relaxed: thresholds at 0 open every shell (k5, mbconv6); raising them closes the outer
    # kernel shells first, then the extra expansion channels: the expected latency falls
    soft = {k: torch.softmax(v.detach(), 0) for k, v in sp.logits_.items()}
    steps = [float(sp.expected_latency_ms(soft).detach())]
    for t in sp.net_.thresholds:
        with torch.no_grad():
            t.kernel.fill_(1e6)
    steps.append(float(sp.expected_latency_ms(soft).detach()))
    for t in sp.net_.thresholds:
        with torch.no_grad():
            t.expansion.fill_(1e6)
    steps.append(float(sp.expected_latency_ms(soft).detach()))
    assert steps[0] == pytest.approx(predicted["5", "mbconv6"], rel=1e-4)
    assert steps[0] > steps[1] > steps[2]
    assert steps[2] == pytest.approx(predicted["3", "mbconv3"], rel=1e-4)


def test_single_path_lookup_table_model_fits() -> None:
    sp, space = started("single_path", "hierarchical", SINGLE_PATH, info(), epochs=1,
                        batch_size=8, steps_per_epoch=1, latency_samples=80)  # fmt: skip
    lut, rng = latency_model("lut:cpu", space), np.random.default_rng(1)
    held_out = [space.sample(rng) for _ in range(30)]
    table = [lut.latency_ms(a, None, Task((1, 40), 10)) for a in held_out]
    fitted = [float(sp.latency_(path_weights(space, a))) for a in held_out]
    assert np.corrcoef(table, fitted)[0, 1] > 0.8


def test_single_path_stored_lookup_tables_give_identical_latency_models(tmp_path) -> None:
    def fitted(folder: str):
        sp, _ = started("single_path", "hierarchical", SINGLE_PATH, info(), epochs=1,
                        batch_size=8, steps_per_epoch=1, latency_samples=40,
                        latency_tables=folder)  # fmt: skip
        latency = sp.latency_
        return latency.intercept, {k: v.tolist() for k, v in latency.coef.items()}

    folder = tmp_path / "lut"  # created on first use
    first = fitted(str(folder))
    stored = sorted(p.name for p in folder.iterdir())
    assert len(stored) == 1 and stored[0].startswith("hierarchical-")
    assert stored[0].endswith("-1x40-cpu.json")
    assert fitted(str(folder)) == first  # read back, not re-timed: the same coefficients
    assert sorted(p.name for p in folder.iterdir()) == stored


def test_single_path_latency_term_lowers_the_derived_latency(monkeypatch) -> None:
    monkeypatch.setattr("nasbench.strategies.single_path.latency_model", MacsLatency)
    latencies = []
    for weight in (0.0, 3.0):
        sp, space = started("single_path", "hierarchical", SINGLE_PATH, info(), epochs=3,
                            batch_size=16, steps_per_epoch=10, arch_lr=0.3,
                            latency_weight=weight, latency_samples=80)  # fmt: skip
        (proposal,) = sp.ask(3)[-1:]
        latencies.append(MacsLatency("", space).latency_ms(proposal.arch, None, Task((1, 40), 10)))
    assert latencies[1] < latencies[0]  # thresholds rose: smaller expansions were derived


def test_tas_pulls_expected_macs_toward_the_target() -> None:
    tas, space = started("tas", "hierarchical", {"preset": "tas", "width": 0.25}, info(),
                         epochs=3, batch_size=16, steps_per_epoch=10, arch_lr=0.05,
                         cost_samples=60, macs_ratio=0.15)  # fmt: skip
    before = float(tas.expected_macs_m().detach())
    assert before > 1.05 * tas.target_m_
    tas.ask(3)
    after = float(tas.expected_macs_m().detach())
    assert after < before
    widths = [torch.softmax(v.detach(), 0) for k, v in tas.logits_.items() if "filters" in k]
    choices = space.decisions()[[d.name for d in space.decisions()].index("block0.filters")]
    narrow = choices.choices.index(min(choices.choices, key=float))
    assert all(float(w[narrow]) > 1 / len(w) for w in widths)  # narrowest width gained


def test_unsupported_space_and_missing_dataset_are_errors() -> None:
    nb201 = spaces.create("nb201", **NB201)
    for name in ("single_path", "tas"):
        with pytest.raises(NasbenchError, match="only the spaces hierarchical, not 'nb201'"):
            strategies.create(name).start(nb201, info(), role_rng(0, "s"), role_rng(0, "i"))
    with pytest.raises(NasbenchError, match="needs the task's dataset"):
        no_data = SearchInfo(1.0, (), Budget(evaluations=1))
        strategies.create("darts").start(nb201, no_data, role_rng(0, "s"), role_rng(0, "i"))
    with pytest.raises(NasbenchError, match="order must be 1 or 2"):
        strategies.create("darts", order=3)


def test_runner_charges_the_search_cost() -> None:
    suite = parse_suite("""
[suite]
name = "t"
[budget]
evaluations = 3
sparsity = 0.5
[[task]]
space = "chain"
space_params = { max_layers = 2, filters = [4, 8] }
evaluator = "train"
dataset = "mnist1d"
epochs = 1
recipe = { batch_size = 500 }
[[strategy]]
name = "darts"
epochs = 2
batch_size = 32
steps_per_epoch = 5
""")
    records = run(suite.specs()[0], 0).records
    assert len(records) == 3
    total = 0.0
    for r in records:
        extra = dict(r.extra)
        # a monitor proposal: the epoch is charged, the training evaluation only recorded
        assert extra["search_cost_s"] > 0 and r.cost_s == extra["search_cost_s"]
        assert extra["eval_cost_s"] > 0
        total += r.cost_s
        assert r.cum_cost_s == pytest.approx(total)
        assert r.status == "ok" and r.sparsity > 0.45  # the evaluator prunes its own network
