"""Supernets: the public conformance suite over nb201, cell, multibranch and chain, and checks
with numbers: one-hot paths are the stand-alone networks bit for bit (after copying weights),
GDAS/DARTS weight vectors, derive under the chain's validity rules, the chain's relaxed depth."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from nasbench.core import supernet as supernet_module
from nasbench.core.errors import NasbenchError
from nasbench.core.registry import spaces
from nasbench.core.space import BaseSpace, SearchSpace
from nasbench.core.supernet import (
    Supernet,
    build_supernet,
    derive,
    gumbel_weights,
    path_weights,
    register_supernet,
    sample_path,
    softmax_weights,
    supernet_factories,
    uniform_logits,
)
from nasbench.core.types import Architecture, Decision, Task
from nasbench.core.weights import materialise
from nasbench.spaces.cell import CellSpace
from nasbench.spaces.chain import TERMINATE, ChainSpace
from nasbench.spaces.multibranch import OPS as MB_OPS
from nasbench.spaces.multibranch import MultiBranchSpace
from nasbench.spaces.nb201 import OPS as NB201_OPS
from nasbench.spaces.nb201 import NB201Space
from nasbench.spaces.nb201_supernet import NB201Supernet, SuperCell
from nasbench.testing.supernets import ALL_CHECKS, TASKS

CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("nb201", {"channels": 4, "cells_per_stage": 1}),
    ("cell", {"channels": 4, "cells_per_stage": 1}),
    ("multibranch", {"layers": 4, "channels": 4}),
    ("multibranch", {"layers": 4, "channels": 4, "merge": "concat"}),
    ("chain", {"max_layers": 3, "filters": [4, 8]}),
]


@cache
def _space(index: int) -> SearchSpace:
    name, params = CONFIGS[index]
    space: SearchSpace = spaces.create(name, **params)
    return space


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("index", range(len(CONFIGS)), ids=[f"{n}{p}" for n, p in CONFIGS])
def test_supernet_conformance(index: int, check: Any) -> None:
    check(_space(index))


# ---- one-hot paths are the stand-alone networks ---------------------------------------------
def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _copy(src: nn.Module, dst: nn.Module) -> None:
    """``dst``'s parameters and buffers from the leading slices of ``src``'s (same names)."""
    source = src.state_dict()
    with torch.no_grad():
        for name, t in dst.state_dict().items():
            s = source[name]
            t.copy_(s[tuple(slice(0, n) for n in t.shape)] if t.dim() else s)


def _assert_same_outputs(
    alone: nn.Module, net: Supernet, space: Any, arch: Architecture, task: Task
) -> None:
    """Bit-identical logits in train mode (batch statistics; both update their running
    statistics alike), then in eval mode (running statistics, sliced ones included)."""
    weights = path_weights(space, arch)
    x = torch.randn((4, *task.input_shape), generator=torch.Generator().manual_seed(0))
    for mode in (True, False):
        alone.train(mode)
        net.train(mode)
        assert torch.equal(alone(x), net(x, weights)), f"{arch} (train={mode})"


def _archs(space: SearchSpace, n: int, seed: int = 0) -> list[Architecture]:
    rng = _rng(seed)
    return [space.sample(rng) for _ in range(n)]


@pytest.mark.parametrize("task", TASKS, ids=["1d", "2d"])
def test_nb201_one_hot_path_is_the_standalone_network(task: Task) -> None:
    space = NB201Space(channels=4, cells_per_stage=2)
    net = build_supernet(space, task, _rng(0))
    fixed = space.parse(  # a dead node 1 (its output only meets 'none'), pooling, all ops
        "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"
    )
    for arch in [fixed, *_archs(space, 3)]:
        alone = space.build(arch, task, _rng(1))
        for a, b in zip(alone, net.layers, strict=True):
            if isinstance(b, SuperCell):
                for k, op in enumerate(arch.values):
                    _copy(b.edges[k].candidates[NB201_OPS.index(op)], a.edges[k])
            else:
                _copy(b, a)
        _assert_same_outputs(alone, net, space, arch, task)


@pytest.mark.parametrize("task", TASKS, ids=["1d", "2d"])
def test_cell_one_hot_path_is_the_standalone_network(task: Task) -> None:
    space = CellSpace(channels=4, cells_per_stage=1, nodes=3)
    net = build_supernet(space, task, _rng(0))
    for arch in _archs(space, 3):
        alone = space.build(arch, task, _rng(1))
        _copy(net.stem, alone.stem)
        _copy(net.head, alone.head)
        genotypes = space.genotypes(arch.values)
        for a, b in zip(alone.cells, net.cells, strict=True):
            _copy(b.pre0, a.pre0)
            _copy(b.pre1, a.pre1)
            genotype = genotypes[b.cell_type == "reduce"]
            for k, node in enumerate(genotype):
                for j, (i, op) in enumerate(node):
                    _copy(b.edges[f"{k}_{i}"].candidates[space.ops.index(op)], a.edges[2 * k + j])
        _assert_same_outputs(alone, net, space, arch, task)


@pytest.mark.parametrize("merge", ["sum", "concat"])
@pytest.mark.parametrize("task", TASKS, ids=["1d", "2d"])
def test_multibranch_one_hot_path_is_the_standalone_network(task: Task, merge: str) -> None:
    space = MultiBranchSpace(layers=5, channels=4, merge=merge, reduce_at=(0, 2))
    net = build_supernet(space, task, _rng(0))
    dense = space.make([v for i in range(5) for v in (MB_OPS[i], *["1"] * max(i - 1, 0))])
    for arch in [dense, *_archs(space, 3)]:
        alone = space.build(arch, task, _rng(1))
        plan = space._plan(arch)
        _copy(net.stem, alone.stem)
        _copy(net.head, alone.head)
        for i, op in enumerate(plan.ops):
            _copy(net.ops[i].candidates[MB_OPS.index(op)], alone.ops[i])
            for k, link in enumerate(alone.reduce[i]):
                _copy(net.reduce[i][k], link)
            if isinstance(alone.mergers[i], nn.Sequential):  # concat with skips
                blocks = [0] + [j + 1 for j in plan.inputs[i][1:]]
                conv = net.mergers[i][0].weight
                index = torch.tensor([b * 4 + c for b in blocks for c in range(4)])
                with torch.no_grad():
                    alone.mergers[i][0].weight.copy_(conv.index_select(1, index))
                _copy(net.mergers[i][1], alone.mergers[i][1])
        _assert_same_outputs(alone, net, space, arch, task)


@pytest.mark.parametrize("task", TASKS, ids=["1d", "2d"])
def test_chain_one_hot_path_is_the_standalone_network(task: Task) -> None:
    space = ChainSpace(max_layers=4, filters=(4, 8))
    net = build_supernet(space, task, _rng(0))
    short = space.parse("sep3-4-s2|maxpool3-s2")  # terminates at layer 2; narrow separable
    for arch in [short, *_archs(space, 5)]:
        alone = space.build(arch, task, _rng(1))
        for i, value in enumerate(v for v in arch.values if v != TERMINATE):
            k = net.decisions[i].choices.index(value)
            _copy(net.positions[i][k], alone.features[i])
        _copy(net.classifier, alone.classifier)  # the shared head, sliced to the width
        _assert_same_outputs(alone, net, space, arch, task)


# ---- weight vectors -------------------------------------------------------------------------
def _logits(sizes: Sequence[int], seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        f"d{i}": torch.randn(n, generator=gen).requires_grad_(True) for i, n in enumerate(sizes)
    }


def test_gumbel_weights_are_exactly_one_hot_with_the_soft_sample_gradient() -> None:
    logits = _logits([5, 2, 7], seed=0)
    hard = gumbel_weights(logits, tau=0.5, generator=torch.Generator().manual_seed(3))
    soft = gumbel_weights(logits, 0.5, torch.Generator().manual_seed(3), hard=False)
    for name, w in hard.items():
        one_hot = torch.zeros_like(w)
        one_hot[int(soft[name].argmax())] = 1.0
        assert torch.equal(w, one_hot)  # exact values, from the same noise as the soft sample
    probe = {name: torch.arange(len(w), dtype=torch.float32) for name, w in hard.items()}
    grads_hard = torch.autograd.grad(
        sum((hard[k] * probe[k]).sum() for k in hard), list(logits.values())
    )
    grads_soft = torch.autograd.grad(
        sum((soft[k] * probe[k]).sum() for k in soft), list(logits.values())
    )
    for g_hard, g_soft in zip(grads_hard, grads_soft, strict=True):
        assert g_hard.abs().sum() > 0
        assert torch.allclose(g_hard, g_soft, atol=1e-7)


def test_gumbel_argmax_follows_the_softmax() -> None:
    """The Gumbel-max trick: argmax frequencies approach softmax(logits)."""
    logits = {"d": torch.tensor([1.0, 0.0, -1.0, 2.0])}
    gen = torch.Generator().manual_seed(0)
    counts = torch.zeros(4)
    for _ in range(4000):
        counts += gumbel_weights(logits, tau=1.0, generator=gen)["d"]
    assert torch.allclose(counts / 4000, torch.softmax(logits["d"], 0), atol=0.025)
    again = gumbel_weights(logits, 1.0, torch.Generator().manual_seed(5))["d"]
    assert torch.equal(again, gumbel_weights(logits, 1.0, torch.Generator().manual_seed(5))["d"])


def test_softmax_weights_sum_to_one_and_sharpen_with_temperature() -> None:
    logits = _logits([5, 2, 7], seed=1)
    for temperature in (1.0, 0.3):
        for w in softmax_weights(logits, temperature).values():
            assert torch.allclose(w.sum(), torch.tensor(1.0)) and (w > 0).all()
    cold = softmax_weights(logits, temperature=1e-3)
    for name, w in cold.items():
        assert float(w[int(logits[name].argmax())].detach()) == pytest.approx(1.0)
    with pytest.raises(NasbenchError, match="temperature"):
        softmax_weights(logits, 0.0)
    with pytest.raises(NasbenchError, match="tau"):
        gumbel_weights(logits, 0.0, torch.Generator())


def test_path_weights_one_hot_for_used_decisions_zero_after_terminate() -> None:
    space = ChainSpace(max_layers=4, filters=(4, 8))
    arch = space.parse("conv3-8-s1|avgpool2-s2")  # layer2 = terminate, layer3 unused
    weights = path_weights(space, arch)
    assert [float(weights[f"layer{p}"].sum()) for p in range(4)] == [1.0, 1.0, 1.0, 0.0]
    assert weights["layer2"][space.decisions()[2].choices.index(TERMINATE)] == 1.0
    arch2, weights2 = sample_path(space, _rng(4))
    assert arch2 == space.sample(_rng(4))
    assert all(torch.equal(weights2[k], path_weights(space, arch2)[k]) for k in weights2)
    with pytest.raises(NasbenchError):
        path_weights(space, NB201Space().sample(_rng(0)))


# ---- derive ---------------------------------------------------------------------------------
def test_chain_derive_obeys_the_validity_rules() -> None:
    space = ChainSpace(max_layers=3, filters=(4, 8))
    favour = {"maxpool": 10.0, "avgpool": 10.0, "terminate": 9.0}
    logits = {
        d.name: torch.tensor(
            [next((v for k, v in favour.items() if c.startswith(k)), 0.0) for c in d.choices]
        )
        for d in space.decisions()
    }
    # layer0 allows neither pooling nor terminate (first conv of the ties); layer1 pools; layer2
    # may not pool again, so terminate (the next-largest logit)
    assert derive(space, logits).values == ("conv1-4-s1", "maxpool2-s2", TERMINATE)
    gen = torch.Generator().manual_seed(0)
    for _ in range(40):
        random_logits = {
            d.name: 3 * torch.randn(len(d.choices), generator=gen) for d in space.decisions()
        }
        layers = [
            space.layer_table[v] for v in derive(space, random_logits).values if v != TERMINATE
        ]
        assert layers and not layers[0].is_pool
        assert not any(a.is_pool and b.is_pool for a, b in itertools.pairwise(layers))


def test_derive_requires_logits_for_every_decision_it_reaches() -> None:
    space = NB201Space()
    logits = uniform_logits(space)
    del logits["node2.in1"]
    with pytest.raises(NasbenchError, match=r"node2\.in1"):
        derive(space, logits)


# ---- the chain's relaxed depth --------------------------------------------------------------
def test_chain_depth_coefficients_sum_to_one() -> None:
    """With a constant head (zero weight, bias b) the output is (sum of head coefficients) * b:
    b under softmax weights (a convex combination of depths), b exactly under a path."""
    space = ChainSpace(max_layers=3, filters=(4, 8))
    task = TASKS[1]
    net = build_supernet(space, task, _rng(0))
    bias = torch.tensor([0.5, -1.0, 2.0])
    with torch.no_grad():
        net.classifier.weight.zero_()
        net.classifier.bias.copy_(bias)
    x = torch.randn((4, *task.input_shape), generator=torch.Generator().manual_seed(0))
    for seed in range(3):
        logits = {
            d.name: torch.randn(len(d.choices), generator=torch.Generator().manual_seed(seed))
            for d in space.decisions()
        }
        out = net(x, softmax_weights(logits))
        assert torch.allclose(out, bias.expand(4, 3), atol=1e-6)
    out = net(x, path_weights(space, space.parse("conv3-8-s2")))
    assert torch.equal(out, bias.expand(4, 3))


def test_chain_layers_after_terminate_are_not_computed() -> None:
    space = ChainSpace(max_layers=4, filters=(4, 8))
    task = TASKS[0]
    net = build_supernet(space, task, _rng(0))
    arch = space.parse("conv3-8-s1|sep3-4-s2")
    x = torch.randn((4, *task.input_shape))
    net(x, path_weights(space, arch)).sum().backward()
    used = [
        p
        for m in (net.positions[0], net.positions[1])
        for p in m.parameters()
        if p.grad is not None
    ]
    assert len(used) == 3 + 2 * 3  # conv, BN weight and bias; separable: twice that
    for later in (net.positions[2], net.positions[3]):
        assert all(p.grad is None for p in later.parameters())


# ---- the interface --------------------------------------------------------------------------
def test_multibranch_skip_weight_scales_the_skip_input() -> None:
    """Only w['1'] enters the forward: under softmax weights w['0'] gets a zero gradient."""
    space = MultiBranchSpace(layers=4, channels=4)
    net = build_supernet(space, TASKS[0], _rng(0))
    weights = {
        k: w.clone().requires_grad_(True) for k, w in softmax_weights(uniform_logits(space)).items()
    }
    net(torch.randn(4, 1, 16), weights).square().sum().backward()
    grad = weights["layer3.skip0"].grad
    assert grad is not None and grad[0] == 0 and grad[1] != 0


class Tiny(BaseSpace):
    """A one-decision space without a supernet module."""

    name = "tiny"

    def decisions(self) -> tuple[Decision, ...]:
        return (Decision("a", ("x", "y")),)

    def next_decision(self, prefix: Sequence[str]) -> Decision | None:
        return None if prefix else self.decisions()[0]


class TinySupernet(Supernet):
    """One linear layer per choice of ``a`` (a weighted sum of their logits)."""

    exact_path_params = True

    def __init__(self, decisions: Sequence[Decision], task: Task) -> None:
        super().__init__(decisions)
        n = int(np.prod(task.input_shape))
        self.candidates = nn.ModuleList(nn.Linear(n, task.num_classes) for _ in range(2))

    def forward(self, x: torch.Tensor, weights: Any) -> torch.Tensor:
        self.check_weights(weights)
        w = weights["a"]
        return sum(w[k] * m(x.flatten(1)) for k, m in enumerate(self.candidates))


def _tiny_factory(space: Tiny, task: Task) -> TinySupernet:
    return TinySupernet(space.decisions(), task)


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The supernet registry, restored after the test (registrations made in it vanish)."""
    copy = dict(supernet_module._FACTORIES)
    monkeypatch.setattr(supernet_module, "_FACTORIES", copy)
    return copy


def test_space_without_supernet_raises_and_protocol_is_unchanged() -> None:
    assert "tiny" not in supernet_factories()
    with pytest.raises(NasbenchError, match="space 'tiny' has no supernet"):
        build_supernet(Tiny(), TASKS[0], _rng(0))
    assert isinstance(Tiny(), SearchSpace)  # a supernet is optional, not a protocol member
    assert not hasattr(BaseSpace, "supernet") and not hasattr(BaseSpace, "_build_supernet")
    assert isinstance(build_supernet(NB201Space(), TASKS[0], _rng(0)), Supernet)


def test_a_space_with_its_own_supernet_method_is_asked() -> None:
    calls: list[tuple[Task, np.random.Generator]] = []

    class Own(Tiny):
        name = "tiny-own"

        def supernet(self, task: Task, rng: np.random.Generator) -> Supernet:
            calls.append((task, rng))
            return TinySupernet(self.decisions(), task)

    rng = _rng(0)
    net = build_supernet(Own(), TASKS[0], rng)
    assert isinstance(net, TinySupernet) and calls == [(TASKS[0], rng)]

    class Wrong(Tiny):
        name = "tiny-wrong"

        def supernet(self, task: Task, rng: np.random.Generator) -> nn.Module:
            return nn.Linear(1, 1)

    with pytest.raises(TypeError, match="tiny-wrong"):
        build_supernet(Wrong(), TASKS[0], _rng(0))


def test_a_registered_factory_builds_on_meta_and_materialises(registry: dict[str, Any]) -> None:
    seen: list[torch.device] = []

    def factory(space: Tiny, task: Task) -> TinySupernet:
        net = _tiny_factory(space, task)
        seen.append(next(net.parameters()).device)
        return net

    assert register_supernet("tiny")(factory) is factory
    assert supernet_factories()["tiny"] is factory
    net = build_supernet(Tiny(), TASKS[1], _rng(3))
    assert seen == [torch.device("meta")]  # constructed without allocating or drawing
    with torch.device("meta"):
        manual = _tiny_factory(Tiny(), TASKS[1])
    manual = materialise(manual, _rng(3))
    assert isinstance(net, TinySupernet)
    assert net.state_dict().keys() == manual.state_dict().keys()
    for name, tensor in net.state_dict().items():
        assert tensor.device.type == "cpu"
        assert torch.equal(tensor, manual.state_dict()[name]), name
    other = build_supernet(Tiny(), TASKS[1], _rng(4))
    assert not torch.equal(other.candidates[0].weight, net.candidates[0].weight)


def test_a_registered_factory_wins_over_the_space_method(registry: dict[str, Any]) -> None:
    class Own(Tiny):
        def supernet(self, task: Task, rng: np.random.Generator) -> Supernet:
            raise AssertionError("the registered factory comes first")

    register_supernet("tiny")(_tiny_factory)
    assert isinstance(build_supernet(Own(), TASKS[0], _rng(0)), TinySupernet)


def test_registering_a_name_twice(registry: dict[str, Any]) -> None:
    register_supernet("tiny")(_tiny_factory)
    register_supernet("tiny")(_tiny_factory)  # the same function again (a reload): fine

    def another(space: Tiny, task: Task) -> TinySupernet:
        return _tiny_factory(space, task)

    with pytest.raises(NasbenchError, match="tiny"):
        register_supernet("tiny")(another)
    assert registry["tiny"] is _tiny_factory
    with pytest.raises(NasbenchError, match="nb201"):
        register_supernet("nb201")(another)
    with pytest.raises(NasbenchError):
        register_supernet("")


def test_the_built_in_supernets_are_registered() -> None:
    import nasbench.spaces  # noqa: F401  (registers them)
    from nasbench.spaces import hierarchical_supernet, superkernel

    assert superkernel.SuperMBConv is not None
    factories = supernet_factories()
    for name in ("cell", "chain", "hierarchical", "multibranch", "nb201"):
        assert name in factories, name
        assert factories[name].__module__ == f"nasbench.spaces.{name}_supernet"
    assert factories["hierarchical"] is hierarchical_supernet.hierarchical_supernet
    # the nb201 factory is the stand-alone construction, built on meta and materialised
    space, task = NB201Space(channels=4, cells_per_stage=2), TASKS[1]
    with torch.device("meta"):
        manual = NB201Supernet(space.decisions(), task, 4, 2)
    manual = materialise(manual, _rng(5))
    built = build_supernet(space, task, _rng(5)).state_dict()
    assert built.keys() == manual.state_dict().keys()
    assert all(torch.equal(t, manual.state_dict()[k]) for k, t in built.items())
    with pytest.raises(TypeError):
        supernet_factories()["tiny"] = _tiny_factory  # type: ignore[index]


def test_supernet_rejects_incomplete_weights() -> None:
    space = NB201Space(channels=4, cells_per_stage=1)
    net = build_supernet(space, TASKS[0], _rng(0))
    weights = uniform_logits(space)
    weights["node1.in0"] = torch.ones(3)
    with pytest.raises(NasbenchError, match=r"node1\.in0"):
        net(torch.zeros(1, 1, 16), weights)
    del weights["node1.in0"]
    with pytest.raises(NasbenchError, match=r"node1\.in0"):
        net(torch.zeros(1, 1, 16), weights)
