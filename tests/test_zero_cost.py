"""The zero-cost proxies against hand-computed values on tiny networks, and the ``zero_cost``
evaluator: determinism, failures, data-free synflow, every space, and suite runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

import nasbench.evaluation.zero_cost as zero_cost  # registers "zero_cost"
from nasbench.core.errors import NasbenchError
from nasbench.core.plugins import check_measurement
from nasbench.core.registry import evaluators, spaces
from nasbench.core.types import Status
from nasbench.engine.runner import run
from nasbench.engine.suite import parse_suite
from nasbench.evaluation.zero_cost_proxies import (
    JACOB_COV_K,
    PROXIES,
    PROXY_NAMES,
    Batch,
    Proxy,
    fisher,
    grad_norm,
    grasp,
    jacob_cov,
    naswot,
    snip,
    synflow,
)

RNG = np.random.default_rng(0)  # proxies draw nothing: one generator serves every call
W1 = [[1.0, -2.0, 0.5], [0.0, 1.0, -1.0]]
W2 = [[2.0, 1.0], [-1.0, 3.0]]


def linear(w: list[list[float]]) -> nn.Linear:
    layer = nn.Linear(len(w[0]), len(w), bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(w))
    return layer


def two_layers() -> nn.Sequential:
    return nn.Sequential(linear(W1), linear(W2))


def toy_batch() -> Batch:
    x = torch.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5], [-1.5, 1.0, 1.0]])
    return Batch(x, torch.tensor([0, 1, 1]))


def softmax_grads(batch: Batch) -> tuple[np.ndarray, ...]:
    """By hand, for ``out = x W1^T W2^T`` and the mean cross entropy: hidden ``h``, output
    error ``d = (p - onehot) / N`` and the weight gradients ``G1``, ``G2``."""
    x, w1, w2 = batch.x.double().numpy(), np.array(W1), np.array(W2)
    h = x @ w1.T
    out = h @ w2.T
    p = np.exp(out - out.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d = (p - np.eye(2)[batch.y.numpy()]) / len(x)
    return h, d, d.T @ h, (d @ w2).T @ x  # h, d, G2, G1


# ---- each proxy by hand ---------------------------------------------------------------------
def test_synflow_is_layers_times_the_product_formula_and_ignores_data() -> None:
    net = nn.Sequential(linear(W1), nn.ReLU(), linear(W2))
    r = np.ones(2) @ np.abs(W2) @ np.abs(W1) @ np.ones(3)  # R = 1^T |W2| |W1| 1 = 18.5
    assert synflow(net, toy_batch(), F.cross_entropy, RNG) == 2 * r == 37.0
    other = Batch(torch.randn(5, 3, generator=torch.Generator().manual_seed(1)), torch.zeros(5))
    assert synflow(net, other, F.cross_entropy, RNG) == 37.0  # the values are never read
    assert torch.equal(net[0].weight, torch.tensor(W1)) and net[0].weight.grad is None  # a copy


def test_synflow_removes_batch_norm_and_runs_in_double() -> None:
    bn = nn.BatchNorm1d(2)
    with torch.no_grad():
        bn.weight.fill_(5.0)
        bn.running_var.fill_(100.0)
    net = nn.Sequential(linear(W1), bn, nn.ReLU(), linear(W2))
    assert synflow(net, toy_batch(), F.cross_entropy, RNG) == 37.0  # as Abdelfattah's bn=False
    deep = nn.Sequential(*(linear([[10.0] * 4] * 4) for _ in range(40)))  # R = 4 * 40^40 > 3e38
    assert math.isclose(synflow(deep, Batch(torch.zeros(1, 4), torch.zeros(1)), F.cross_entropy,
                                RNG), 40 * 4 * 40.0**40, rel_tol=1e-12)  # fmt: skip


def test_grad_norm_sums_the_layer_norms() -> None:
    _, _, g2, g1 = softmax_grads(toy_batch())
    value = grad_norm(two_layers(), toy_batch(), F.cross_entropy, RNG)
    expected = np.linalg.norm(g1) + np.linalg.norm(g2)
    assert math.isclose(value, expected, rel_tol=1e-5)
    assert not math.isclose(value, math.hypot(np.linalg.norm(g1), np.linalg.norm(g2)),
                            rel_tol=1e-3)  # fmt: skip


def test_snip_is_the_sum_of_weight_times_gradient_magnitudes() -> None:
    _, _, g2, g1 = softmax_grads(toy_batch())
    expected = np.abs(np.array(W1) * g1).sum() + np.abs(np.array(W2) * g2).sum()
    assert math.isclose(snip(two_layers(), toy_batch(), F.cross_entropy, RNG), expected,
                        rel_tol=1e-5)  # fmt: skip


def test_grasp_is_minus_theta_times_hessian_gradient() -> None:
    batch = toy_batch()
    net = linear(W1)  # softmax regression: H g = 1/N sum_n (diag p - p p^T) g x x^T
    x, w = batch.x.double().numpy(), np.array(W1)
    out = x @ w.T
    p = np.exp(out - out.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    g = (p - np.eye(2)[batch.y.numpy()]).T @ x / len(x)
    hg = sum(
        (np.diag(pn) - np.outer(pn, pn)) @ g @ np.outer(xn, xn) for pn, xn in zip(p, x, strict=True)
    ) / len(x)
    expected = float(-(w * hg).sum())
    value = grasp(net, batch, F.cross_entropy, RNG)
    assert math.isclose(value, expected, rel_tol=1e-5) and expected < 0  # the sign is kept


def test_fisher_by_hand_on_a_linear_layer() -> None:
    batch = toy_batch()
    x, w = batch.x.double().numpy(), np.array(W1)
    a = x @ w.T
    p = np.exp(a - a.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    g = (p - np.eye(2)[batch.y.numpy()]) / len(x)  # dL/da
    delta = 0.5 * ((a * g) ** 2).mean(0)  # per output channel
    expected = 3 * delta.sum()  # broadcast to each channel's 3 weights, as the authors' code
    assert math.isclose(fisher(linear(W1), batch, F.cross_entropy, RNG), expected, rel_tol=1e-5)


def test_fisher_sums_conv_activations_over_space() -> None:
    gen = torch.Generator().manual_seed(0)
    net = nn.Sequential(nn.Conv1d(1, 2, 3, padding=1), nn.Flatten(), nn.Linear(10, 3))
    x, y = torch.randn(4, 1, 5, generator=gen), torch.tensor([0, 1, 2, 0])
    conv_out = net[0](x)
    conv_out.retain_grad()
    logits = net[2](net[1](conv_out))
    logits.retain_grad()
    F.cross_entropy(logits, y).backward()
    conv = 0.5 * ((conv_out * conv_out.grad).sum(2) ** 2).mean(0).sum() * 3  # fan-in 1 x 3
    lin = 0.5 * ((logits * logits.grad) ** 2).mean(0).sum() * 10
    assert math.isclose(fisher(net, Batch(x, y), F.cross_entropy, RNG), float((conv + lin).detach()),
                        rel_tol=1e-5)  # fmt: skip


class HalfSquare(nn.Module):
    """``x^2 / 2``: the input gradient of its summed outputs is ``x`` itself."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x**2


def test_jacob_cov_of_known_correlations_and_its_sign() -> None:
    k = JACOB_COV_K
    ignored = torch.zeros(2, dtype=torch.int64)
    opposite = Batch(torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]), ignored)  # r = -1: 0, 2
    value = jacob_cov(HalfSquare(), opposite, F.cross_entropy, RNG)
    assert math.isclose(value, -(math.log(k) + 1 / k + math.log(2 + k) + 1 / (2 + k)),
                        rel_tol=1e-6)  # fmt: skip
    apart = Batch(torch.tensor([[1.0, 0.0, -1.0], [1.0, -2.0, 1.0]]), ignored)  # r = 0: 1, 1
    value_apart = jacob_cov(HalfSquare(), apart, F.cross_entropy, RNG)
    assert math.isclose(value_apart, -2 * (math.log(1 + k) + 1 / (1 + k)), rel_tol=1e-9)
    assert value_apart > value  # less correlated Jacobians score higher
    flat = Batch(torch.tensor([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]), ignored)
    assert math.isnan(jacob_cov(HalfSquare(), flat, F.cross_entropy, RNG))  # constant row


class DeadBranch(nn.Module):
    """A ReLU whose output never reaches the network's output, beside one that does."""

    def __init__(self) -> None:
        super().__init__()
        self.used, self.dead = nn.ReLU(), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.dead(-x)
        return self.used(x)


def test_naswot_is_the_log_determinant_of_the_hamming_kernel() -> None:
    x = torch.tensor([[1.0, 1.0, -1.0], [1.0, -1.0, -1.0]])  # codes 110 and 100: N_A 3, d_H 1
    batch = Batch(x, torch.zeros(2, dtype=torch.int64))
    one = naswot(nn.Sequential(nn.ReLU()), batch, F.cross_entropy, RNG)
    assert math.isclose(one, math.log(3 * 3 - 2 * 2))  # K = [[3, 2], [2, 3]]
    two = naswot(nn.Sequential(nn.ReLU(), nn.ReLU()), batch, F.cross_entropy, RNG)
    assert math.isclose(two, math.log(6 * 6 - 4 * 4))  # the same codes twice: K doubles
    assert naswot(DeadBranch(), batch, F.cross_entropy, RNG) == one  # the dead ReLU is not counted
    same = Batch(torch.tensor([[1.0, -1.0, 2.0], [3.0, -2.0, 1.0]]), batch.y)  # equal codes
    assert naswot(nn.Sequential(nn.ReLU()), same, F.cross_entropy, RNG) == -math.inf
    apart = Batch(torch.tensor([[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]]), batch.y)  # d_H 3: K = 3 I
    assert naswot(nn.Sequential(nn.ReLU()), apart, F.cross_entropy, RNG) == math.log(9) > one


# ---- the evaluator --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chain():
    return spaces.create("chain", max_layers=2)


CNN = "conv3-16-s2|conv5-32-s1"


def test_params_and_flops_are_the_spaces_counts(chain) -> None:
    arch = chain.parse(CNN)
    for name, field in (("params", "params"), ("flops", "macs")):
        ev = evaluators.create("zero_cost", space=chain, proxy=name)
        m = ev.evaluate(arch, 1.0, np.random.default_rng(0))
        assert m.val_acc == getattr(chain.counts(arch, ev.task), field) == getattr(m, field)


def test_same_rng_gives_bit_identical_scores(chain) -> None:
    arch = chain.parse(CNN)
    for name in PROXY_NAMES:
        ev = evaluators.create("zero_cost", space=chain, proxy=name, batch_size=32)
        torch.manual_seed(1)
        first = ev.evaluate(arch, 1.0, np.random.default_rng(7))
        torch.manual_seed(99)  # scrambled global seeds change nothing
        np.random.seed(99)  # noqa: NPY002
        again = ev.evaluate(arch, 1.0, np.random.default_rng(7))
        assert first.status is Status.OK and math.isfinite(first.val_acc), name
        assert first.val_acc == again.val_acc and first.extra == again.extra, name
        assert math.isnan(first.test_acc) and first.cost_s >= 0 and first.sparsity == 0.0
    ev = evaluators.create("zero_cost", space=chain, proxy="snip", batch_size=32)
    other = ev.evaluate(arch, 1.0, np.random.default_rng(8))  # other weights and batch
    assert other.val_acc != ev.evaluate(arch, 1.0, np.random.default_rng(7)).val_acc


def test_unknown_proxy_is_one_line_naming_the_valid_ones(chain) -> None:
    with pytest.raises(NasbenchError) as err:
        evaluators.create("zero_cost", space=chain, proxy="synflw")
    text = str(err.value)
    assert "\n" not in text and "'synflw'" in text and ", ".join(PROXY_NAMES) in text
    with pytest.raises(NasbenchError, match="batch_size 5000 exceeds the 3000"):
        evaluators.create("zero_cost", space=chain, proxy="snip", batch_size=5000)


def test_synflow_never_touches_the_data() -> None:
    nb = spaces.create("nb201", channels=4, cells_per_stage=1)
    arch = nb.sample(np.random.default_rng(2))
    ev = evaluators.create("zero_cost", space=nb, proxy="synflow", dataset="cifar10",
                           data_root="/nonexistent/cifar")  # fmt: skip
    rng, built = np.random.default_rng(0), np.random.default_rng(0)
    m = ev.evaluate(arch, 1.0, rng)
    nb.build(arch, ev.task, built)  # the build's one draw is all the evaluation took
    assert ev.data is None and ev.task.input_shape == (3, 32, 32)
    assert m.status is Status.OK and m.val_acc > 0
    assert rng.bit_generator.state == built.bit_generator.state
    with pytest.raises(NasbenchError):  # a proxy that reads data needs the files
        evaluators.create("zero_cost", space=nb, proxy="snip", dataset="cifar10",
                          data_root="/nonexistent/cifar")  # fmt: skip


def test_a_non_finite_score_is_a_failed_trial(chain, monkeypatch) -> None:
    monkeypatch.setitem(PROXIES, "params", Proxy(lambda *_: math.inf, False, "test"))
    ev = evaluators.create("zero_cost", space=chain, proxy="params")
    m = check_measurement("zero_cost", ev.evaluate(chain.parse(CNN), 1.0, RNG))
    assert m.status is Status.FAILED and math.isnan(m.val_acc) and math.isnan(m.test_acc)
    assert m.extra == (("proxy_params", math.inf),)


SPACES = {"nb201": {"channels": 4, "cells_per_stage": 1}, "chain": {},
          "multibranch": {"channels": 8}, "cell": {"channels": 4, "cells_per_stage": 1},
          "hierarchical": {"width": 0.25}}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SPACES))
def test_every_proxy_scores_every_space(name: str) -> None:
    space = spaces.create(name, **SPACES[name])
    arch = space.sample(np.random.default_rng(3))
    for proxy in PROXY_NAMES:
        ev = evaluators.create("zero_cost", space=space, proxy=proxy, batch_size=8)
        m = ev.evaluate(arch, 1.0, np.random.default_rng(0))
        assert m.status is Status.OK and math.isfinite(m.val_acc), (name, proxy)


SUITE = """
[suite]
name = "zc"
[budget]
evaluations = 3
sparsity = {sparsity}
[[task]]
space = "{space}"
space_params = {params}
evaluator = "zero_cost"
proxy = "{proxy}"
batch_size = 16
[[strategy]]
name = "random"
"""


@pytest.mark.parametrize(
    ("space", "params", "proxy", "sparsity"),
    [("nb201", "{ channels = 4, cells_per_stage = 1 }", "snip", 0.0),
     ("chain", "{ max_layers = 2 }", "synflow", 0.5)],
)  # fmt: skip
def test_a_suite_runs_and_maximises_the_score(space, params, proxy, sparsity) -> None:
    text = SUITE.format(space=space, params=params, proxy=proxy, sparsity=sparsity)
    records = run(parse_suite(text).specs()[0], 0).records
    assert len(records) == 3
    for r in records:
        assert r.status == "ok" and r.evaluator == "zero_cost" and r.cost_s >= 0
        assert r.objective == r.val_acc == dict(r.extra)[f"proxy_{proxy}"]
        assert math.isnan(r.test_acc) and r.sparsity == 0.0  # the dense network is scored
    best = max(records, key=lambda r: r.objective)
    assert records[-1].incumbent_trial == best.trial
    assert zero_cost.ZeroCostEvaluator is evaluators.get("zero_cost")
