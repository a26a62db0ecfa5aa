"""DARTS and GDAS pinned to their papers' defining behaviour (issue 22, items 1, 2 and 10).

DARTS (Liu et al. ICLR 2019): alphas start at 1e-3 * N(0, 1) from the strategy's generator; on
the cell space the relaxation is edge-wise with a zero op, and the cell is derived per node from
the two strongest edges (Sec. 2.4); the unrolled step is one step of the real SGD optimiser
(momentum and weight decay included). GDAS (Dong & Yang CVPR 2019): one straight-through
Gumbel sample per forward, of a valid path, and a temperature falling linearly from 10 to 0.1.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch.nn import functional as F  # noqa: N812

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import spaces, strategies
from nasbench.core.seeding import role_rng
from nasbench.core.strategy import SearchInfo
from nasbench.core.supernet import gumbel_weights
from nasbench.core.types import Budget, Task
from nasbench.spaces.cell import CELLS
from nasbench.spaces.cell_supernet import NONE, derive_edges, edge_decisions, edge_supernet
from nasbench.strategies.darts import Darts
from nasbench.strategies.gdas import Gdas, gumbel_path
from nasbench.strategies.gradient import MOMENTUM, sgd_virtual_step

CELL = {"nodes": 2, "channels": 4, "cells_per_stage": 1,
        "ops": ("sep_conv_3x3", "max_pool_3x3", "skip_connect")}  # fmt: skip
TINY = {"epochs": 3, "batch_size": 4, "steps_per_epoch": 2}
INFO = SearchInfo(1.0, (), Budget(evaluations=10), dataset="mnist1d")


def started(name: str, seed: int = 0, space_params: dict | None = None, space_name: str = "cell",
            **params):  # fmt: skip
    space = spaces.create(space_name, **(CELL if space_params is None else space_params))
    strategy = strategies.create(name, **{**TINY, **params})
    strategy.start(space, INFO, role_rng(seed, "strategy"), role_rng(seed, "initial_design"))
    return strategy, space


def flat(logits: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([v.detach() for v in logits.values()])


def hand_derive(space, probs: dict[str, torch.Tensor]) -> list[str]:
    """DARTS Sec. 2.4 written out: per node the two edges of largest non-'none' weight."""
    ops = (NONE, *space.ops)
    values = []
    for c in CELLS:
        for k in range(space.nodes):
            rows = [probs[f"{c}.node{k}.edge{i}"].tolist() for i in range(k + 2)]
            strength = [max(r[1:]) for r in rows]
            order = sorted(range(k + 2), key=lambda i: (-strength[i], i))[:2]
            for i in order:
                values += [str(i), ops[1 + int(np.argmax(rows[i][1:]))]]
    return values


# ---- DARTS: initialisation ----------------------------------------------------------------------
def test_darts_alphas_start_small_nonzero_and_from_the_generator() -> None:
    big = {"nodes": 4, "channels": 4, "cells_per_stage": 1}  # 2 x 14 edges x 8 ops
    global_state = torch.random.get_rng_state()
    a, space = started("darts", 0, big)
    assert torch.equal(torch.random.get_rng_state(), global_state)  # no global RNG drawn
    b, _ = started("darts", 0, big)
    c, _ = started("darts", 1, big)
    assert list(a.logits_) == [d.name for d in edge_decisions(space)]
    assert all(d.choices == (NONE, *space.ops) for d in a.decisions())
    alpha = flat(a.logits_)
    assert alpha.numel() == 2 * 14 * 8 and bool((alpha != 0).all())
    assert torch.equal(alpha, flat(b.logits_))  # same seed, same alphas
    assert not torch.equal(alpha, flat(c.logits_))  # another seed, other alphas
    assert 0.7e-3 < float(alpha.std()) < 1.3e-3 and abs(float(alpha.mean())) < 3e-4


def test_gdas_alphas_start_like_darts_and_other_strategies_keep_zero_logits() -> None:
    gdas, _ = started("gdas", 0)
    alpha = flat(gdas.logits_)
    assert bool((alpha != 0).all()) and float(alpha.abs().max()) < 1e-2
    tas = strategies.get("tas")
    assert tas.init_scale == 0.0 and not tas.edge_wise  # TAS, Single-Path NAS: unchanged


# ---- DARTS: edge-wise relaxation and derivation -------------------------------------------------
def test_darts_edges_diverge_from_a_symmetric_start() -> None:
    darts, _ = started("darts", 0, steps_per_epoch=3)
    with torch.no_grad():
        for v in darts.logits_.values():
            v.zero_()  # the exactly symmetric start the old zero initialisation gave
    darts.ask(1)
    for c in CELLS:
        for k in range(2):
            edges = [darts.logits_[f"{c}.node{k}.edge{i}"].detach() for i in range(k + 2)]
            for i in range(len(edges)):
                assert len(set(edges[i].tolist())) == len(edges[i])  # ops moved apart
                for j in range(i):
                    assert not torch.equal(edges[i], edges[j])  # edges moved apart


def test_darts_derives_cells_as_darts_and_not_with_op1_equal_op0() -> None:
    differs = 0
    for seed in range(5):
        darts, space = started("darts", seed)
        (proposal,) = darts.ask(1)
        probs = {k: torch.softmax(v.detach(), 0) for k, v in darts.logits_.items()}
        assert list(proposal.arch.values) == hand_derive(space, probs)
        values = proposal.arch.values
        differs += sum(values[j + 1] != values[j + 3] for j in range(0, len(values), 4))
        assert NONE not in values
    assert differs > 0  # the old symmetric relaxation gave op1 == op0 in every node


def test_derive_edges_ranks_edges_by_their_strongest_non_zero_op() -> None:
    space = spaces.create("cell", **CELL)  # ops: none, sep_conv_3x3, max_pool_3x3, skip_connect
    t = torch.tensor
    probs = {
        # node 0: edge 0 is mostly 'none' (strength 0.05), edge 1 is strong on max_pool
        "normal.node0.edge0": t([0.90, 0.05, 0.03, 0.02]),
        "normal.node0.edge1": t([0.10, 0.20, 0.60, 0.10]),
        # node 1: edges 2 and 0 strongest; edge 1's 'none' weight does not count
        "normal.node1.edge0": t([0.10, 0.10, 0.10, 0.70]),
        "normal.node1.edge1": t([0.95, 0.02, 0.02, 0.01]),
        "normal.node1.edge2": t([0.00, 0.80, 0.10, 0.10]),
    }
    for name in [d.name for d in edge_decisions(space)]:
        probs.setdefault(name, torch.full((4,), 0.25))
    arch = derive_edges(space, probs)
    assert arch.values[:8] == ("1", "max_pool_3x3", "0", "sep_conv_3x3",
                               "2", "sep_conv_3x3", "0", "skip_connect")  # fmt: skip
    assert list(arch.values) == hand_derive(space, probs)
    del probs["reduce.node1.edge2"]
    with pytest.raises(NasbenchError, match=r"reduce\.node1\.edge2"):
        derive_edges(space, probs)


def test_edge_supernet_runs_every_edge_and_keeps_shapes_on_odd_lengths() -> None:
    space = spaces.create("cell", **CELL)
    net = edge_supernet(space, Task((1, 15), 3), np.random.default_rng(0))
    weights = {d.name: torch.softmax(torch.zeros(len(d.choices)), 0) for d in net.decisions}
    assert tuple(net(torch.randn(2, 1, 15), weights).shape) == (2, 3)
    only_none = {k: torch.eye(len(w))[0] for k, w in weights.items()}  # every edge 'none'
    assert tuple(net(torch.randn(2, 1, 15), only_none).shape) == (2, 3)


# ---- DARTS: the unrolled step -------------------------------------------------------------------
def test_virtual_step_is_one_step_of_the_real_sgd_optimiser() -> None:
    w0 = torch.tensor([1.0, -2.0])
    g0, g1 = torch.tensor([0.5, 0.25]), torch.tensor([-1.0, 2.0])
    lr, wd, m, xi = 0.1, 0.01, 0.9, 0.05
    p = torch.nn.Parameter(w0.clone())
    opt = torch.optim.SGD([p], lr=lr, momentum=m, weight_decay=wd)
    p.grad = g0.clone()
    opt.step()  # buf = g0 + wd * w0
    w1 = w0 - lr * (g0 + wd * w0)
    buf = g0 + wd * w0
    assert torch.allclose(p.detach(), w1)
    (virtual,) = sgd_virtual_step(opt, [p], [g1], xi)
    by_hand = w1 - xi * (m * buf + g1 + wd * w1)  # DARTS: w - xi * (momentum*buf + dL/dw + wd*w)
    assert torch.allclose(virtual, by_hand, atol=1e-7)
    assert torch.allclose(p.detach(), w1) and torch.equal(opt.state[p]["momentum_buffer"], buf)
    real = copy.deepcopy(opt)  # the real step at the same learning rate gives the same weights
    q = real.param_groups[0]["params"][0]
    real.param_groups[0]["lr"] = xi
    q.grad = g1.clone()
    real.step()
    assert torch.allclose(q.detach(), virtual, atol=1e-7)
    nesterov = torch.optim.SGD([p], lr=lr, momentum=m, weight_decay=wd, nesterov=True)
    (first,) = sgd_virtual_step(nesterov, [p], [g1], xi)  # no buffer yet: buf' = d
    d = g1 + wd * w1
    assert torch.allclose(first, w1 - xi * (d + m * d), atol=1e-7)
    assert torch.equal(sgd_virtual_step(opt, [p], [None], xi)[0], p.detach())  # no gradient
    with pytest.raises(NasbenchError, match="needs an SGD optimiser"):
        sgd_virtual_step(torch.optim.Adam([p]), [p], [g1], xi)


def test_darts_unrolled_step_uses_momentum_and_weight_decay() -> None:
    darts, _ = started("darts", 0, {"channels": 4, "cells_per_stage": 1}, "nb201", order=2,
                       weight_decay=1e-2)  # fmt: skip
    darts.ask(1)  # fills the momentum buffers
    xt, yt = darts.train_[0][:4], darts.train_[1][:4]
    xv, yv = darts.val_[0][:4], darts.val_[1][:4]
    darts.net_.train()
    params = [p for p in darts._weight_parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    loss = F.cross_entropy(darts._forward(xt, darts._weights()), yt)
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    xi = darts.next_weight_lr()
    expected = []
    for p, w, g in zip(params, before, grads, strict=True):
        buf = darts.weight_opt_.state[p]["momentum_buffer"]
        expected.append(w - xi * (MOMENTUM * buf + g + 1e-2 * w))
    seen = []
    arch_loss = darts._arch_loss
    darts._arch_loss = lambda x, y: (seen.append([p.detach().clone() for p in params]),
                                     arch_loss(x, y))[1]  # fmt: skip
    darts._arch_step(xt, yt, xv, yv)
    assert len(seen) == 1  # the validation loss at w'
    for got, want in zip(seen[0], expected, strict=True):
        assert torch.allclose(got, want, atol=1e-6)
    plain = [w - xi * g for w, g in zip(before, grads, strict=True)]  # the old virtual step
    assert not all(torch.allclose(a, b, atol=1e-6) for a, b in zip(seen[0], plain, strict=True))
    for p, w in zip(params, before, strict=True):
        assert torch.equal(p.detach(), w)  # the real weights are back


# ---- GDAS ---------------------------------------------------------------------------------------
def test_gdas_samples_one_op_per_edge_on_the_cell_dag() -> None:
    gdas, space = started("gdas", 0)
    names = [d.name for d in edge_decisions(space)]
    for _ in range(1000):
        w = gdas._weights()
        assert list(w) == names  # every edge of every node: each input exactly once
        for v in w.values():
            values = v.detach()
            assert float(values.sum()) == 1.0 and int((values == 1.0).sum()) == 1


def test_gumbel_path_never_repeats_a_nodes_input() -> None:
    space = spaces.create("cell", **CELL)
    logits = {d.name: torch.zeros(len(d.choices)) for d in space.decisions()}
    gen = torch.Generator().manual_seed(0)
    free = torch.Generator().manual_seed(0)
    repeats = 0
    for _ in range(1000):
        w = gumbel_path(space, logits, 1.0, gen)
        values = []
        for d in space.decisions():
            (k,) = torch.nonzero(w[d.name].detach() == 1.0).flatten().tolist()
            values.append(d.choices[k])
        for j in range(0, len(values), 4):
            assert values[j] != values[j + 2]  # in0 != in1
        space.validate(space.make(values))
        independent = gumbel_weights(logits, 1.0, free)  # what sampling per decision gives
        pairs = [(int(independent[f"{c}.node{k}.in0"].argmax()),
                  int(independent[f"{c}.node{k}.in1"].argmax())) for c in CELLS for k in range(2)]  # fmt: skip
        repeats += sum(a == b for a, b in pairs)
    assert repeats > 100  # the check above is not vacuous


def test_gumbel_path_zeroes_decisions_the_path_does_not_reach() -> None:
    space = spaces.create("chain", max_layers=3, kernels=(1, 3), filters=(4, 8))
    logits = {d.name: torch.zeros(len(d.choices)) for d in space.decisions()}
    logits["layer0"] = torch.tensor([0.0 if c != "terminate" else -1e9
                                     for c in space.decisions()[0].choices])  # fmt: skip
    logits["layer1"] = torch.tensor([0.0 if c != "terminate" else 1e9
                                     for c in space.decisions()[1].choices])  # fmt: skip
    w = gumbel_path(space, logits, 1.0, torch.Generator().manual_seed(1))
    assert float(w["layer0"].sum()) == 1.0 and float(w["layer1"].sum()) == 1.0
    assert float(w["layer2"].abs().sum()) == 0.0  # after 'terminate': not on the path


def test_gdas_straight_through_sample_and_its_gradient() -> None:
    gdas, _ = started("gdas", 0)
    name = "normal.node1.edge2"
    state = gdas.noise_.get_state()
    hard = gdas._weights()[name]
    gdas.noise_.set_state(state)
    noise = {k: -torch.empty_like(v).exponential_(generator=gdas.noise_).log()
             for k, v in gdas.logits_.items()}  # fmt: skip
    soft = torch.softmax((gdas.logits_[name] + noise[name]) / gdas.tau(), 0)
    k = int(soft.detach().argmax())
    assert torch.equal(hard.detach(), torch.eye(len(soft))[k])  # exactly one-hot in value
    c = torch.tensor([0.3, -1.0, 2.0, 0.5])
    (g_hard,) = torch.autograd.grad((c * hard).sum(), gdas.logits_[name])
    (g_soft,) = torch.autograd.grad((c * soft).sum(), gdas.logits_[name])
    assert torch.allclose(g_hard, g_soft)  # h = one_hot - soft.detach() + soft
    # through the network: the loss reaches every sampled (non-'none') op's logit
    gdas.noise_.set_state(state)
    weights = gdas._weights()
    x, y = gdas.train_[0][:8], gdas.train_[1][:8]
    F.cross_entropy(gdas._forward(x, weights), y).backward()
    checked = 0
    for key, w in weights.items():
        sampled = int(w.detach().argmax())
        if sampled == 0:  # 'none' outputs zeros: no gradient by design
            continue
        assert float(gdas.logits_[key].grad[sampled]) != 0.0
        checked += 1
    assert checked > 0


def test_gdas_temperature_falls_linearly_from_10_to_0_1() -> None:
    gdas = Gdas(epochs=5)
    assert (gdas.tau_max, gdas.tau_min) == (10.0, 0.1)
    taus = []
    for epoch in range(7):
        gdas.epoch_ = epoch
        taus.append(gdas.tau())
    assert taus[0] == 10.0 and taus[4] == pytest.approx(0.1) and taus[5:] == [0.1, 0.1]
    assert taus[2] == pytest.approx((10.0 + 0.1) / 2)
    assert np.allclose(np.diff(taus[:5]), -(10.0 - 0.1) / 4)


def test_gdas_derives_like_darts_on_the_cell_space() -> None:
    gdas, space = started("gdas", 3)
    (proposal,) = gdas.ask(1)
    probs = {k: torch.softmax(v.detach(), 0) for k, v in gdas.logits_.items()}
    assert list(proposal.arch.values) == hand_derive(space, probs)


def test_same_seed_same_search() -> None:
    for cls in (Darts, Gdas):
        runs = []
        for _ in range(2):
            strategy, _ = started(cls.__name__.lower(), 4)
            archs = [p.arch for p in strategy.ask(2)]
            runs.append((archs, flat(strategy.logits_)))
        assert runs[0][0] == runs[1][0] and torch.equal(runs[0][1], runs[1][1])
