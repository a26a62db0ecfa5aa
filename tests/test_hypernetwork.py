"""The hypernetwork evaluators on a tiny NAS-Bench-201 supernet (4 channels, one cell per stage)
trained for 3 epochs on MNIST-1D: a few seconds per training on one thread.

``hypernetwork`` is SMASH (the HyperNet generates every conv and linear weight from the
architecture's encoding); ``hypernetwork_lowrank`` the cheaper low-rank modulation of shared
weights."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import evaluators, spaces
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.supernet import build_supernet, path_weights
from nasbench.core.types import Architecture, Status
from nasbench.engine.runner import run
from nasbench.engine.suite import parse_suite
from nasbench.evaluation import hypernetwork
from nasbench.evaluation.hypernetwork import (
    HypernetworkEvaluator,
    LowRankHypernetworkEvaluator,
    SmashHyperNet,
)
from nasbench.evaluation.one_shot import clear_supernet_cache, rank_correlation, settings
from nasbench.evaluation.weight_sharing import WeightSharingEvaluator
from nasbench.training.pruning import Pruner, PruneSchedule, Scope, prunable
from nasbench.training.simcost import training_cost_s
from tests.one_shot_helpers import archs, check_trained_once_charged_once

SPACE = {"channels": 4, "cells_per_stage": 1}
SETTINGS = {"epochs": 3, "sparsity": 0.5, "recipe": {"batch_size": 100}}
SMASH = {"chunk": 16, "hidden": 32}


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return spaces.create("nb201", **SPACE)


def make(space: SearchSpace, **changes: Any) -> HypernetworkEvaluator:
    ev = evaluators.create("hypernetwork", space=space, **{**SETTINGS, **SMASH, **changes})
    assert isinstance(ev, HypernetworkEvaluator)
    return ev


def make_lowrank(space: SearchSpace, **changes: Any) -> LowRankHypernetworkEvaluator:
    ev = evaluators.create("hypernetwork_lowrank", space=space, **{**SETTINGS, **changes})
    assert isinstance(ev, LowRankHypernetworkEvaluator)
    return ev


def shared_pair(space: SearchSpace) -> tuple[Architecture, Architecture]:
    """Two architectures that differ in one edge's op only (both use every other tensor)."""
    first = archs(space, 1, seed=1)[0]
    values = list(first.values)
    ops = [c for c in space.decisions()[0].choices if c not in (values[0], "none")]
    values[0] = ops[0]
    return first, space.make(values)


def batch(ev: HypernetworkEvaluator | LowRankHypernetworkEvaluator, n: int = 8) -> torch.Tensor:
    return torch.tensor(np.asarray(ev.data.train.x[:n]), dtype=torch.float32)


def reference_shapes(ev: HypernetworkEvaluator) -> dict[str, tuple[int, ...]]:
    """The prunable tensors of a freshly built supernet of the same space and task."""
    net = build_supernet(ev.space, ev.task, np.random.default_rng(0))
    names = {id(p): n for n, p in net.named_parameters()}
    return {names[id(w)]: tuple(w.shape) for w in prunable(net)}


# ---- SMASH: the generator -------------------------------------------------------------------
def test_every_conv_and_linear_weight_is_generated_none_is_a_parameter(space: SearchSpace) -> None:
    ev = make(space)
    hyper = ev.hyper
    shapes = reference_shapes(ev)
    assert set(hyper.targets) == set(shapes) and len(shapes) == 44  # 43 convs + the classifier
    params = dict(hyper.net.named_parameters())
    buffers = dict(hyper.net.named_buffers())
    state = hyper.state_dict()
    for name in hyper.targets:  # a zero placeholder buffer, neither trained nor saved
        assert name not in params and f"net.{name}" not in state
        assert not buffers[name].requires_grad and not buffers[name].any()
    # what stays static: batch norm and biases, nothing else
    static = {n.rpartition(".")[0] for n in params}
    norms = {n for n, m in hyper.net.named_modules() if isinstance(m, nn.BatchNorm1d)}
    assert static - norms == {"layers.10"} and "layers.10.bias" in params  # the classifier's
    assert sum(p.numel() for p in params.values()) == 10 + 2 * sum(  # classifier bias + BN
        m.num_features for m in hyper.net.modules() if isinstance(m, nn.BatchNorm1d)
    )
    # the generator: P (hidden x len(c)), one code per 16-entry chunk, R, O, b
    chunks = sum(-(-math.prod(s) // 16) for s in shapes.values())
    assert hyper.counts == tuple(-(-math.prod(shapes[n]) // 16) for n in hyper.targets)
    assert hyper.arch.shape == (32, space.encoding_size) and hyper.codes.shape == (chunks, 32)
    assert hyper.mid.shape == (32, 32) and hyper.out.shape == (16, 32)
    assert ev._generator_macs() == 32 * space.encoding_size + chunks * 32 * (32 + 16)


def test_generated_weights_are_a_function_of_parameters_and_encoding(space: SearchSpace) -> None:
    ev = make(space)
    hyper = ev.hyper
    a, b = shared_pair(space)
    ea, eb = hyper.encoding(a), hyper.encoding(b)
    # the encoding: one one-hot row per decision, the two differ in the first decision only
    assert ea.shape == (space.encoding_size,) and float(ea.sum()) == len(space.decisions())
    assert int((ea != eb).sum()) == 2 and not torch.equal(ea[:5], eb[:5])
    ga, gb = hyper.generate(a), hyper.generate(b)
    shapes = reference_shapes(ev)
    assert {n: tuple(w.shape) for n, w in ga.items()} == shapes
    # the encoding conditions every generated tensor, the stem conv and classifier included
    assert all(not torch.equal(ga[n], gb[n]) for n in hyper.targets)
    # the same encoding and parameters give the same weights, bit for bit ...
    assert all(torch.equal(ga[n], w) for n, w in hyper.generate(a).items())
    # ... in another HyperNet too: drawn from another stream, loaded with these parameters
    other_net = build_supernet(space, ev.task, np.random.default_rng(1))
    other = SmashHyperNet(other_net, space, 16, 32, np.random.default_rng(7))
    assert not torch.equal(other.generate(a)[hyper.targets[0]], ga[hyper.targets[0]])
    other.load_state_dict(hyper.state_dict())
    assert all(torch.equal(ga[n], w) for n, w in other.generate(a).items())
    # the generated entries start at the supernet's initial scale, 1 / sqrt(3 fan_in)
    for name, gain in zip(hyper.targets, hyper.gains, strict=True):
        w = ga[name].detach()
        assert gain == pytest.approx(1 / math.sqrt(3 * w[0].numel()))
        if w.numel() >= 256:
            assert 0.3 < float(w.std()) / gain < 3


def test_gradients_reach_the_hypernet_only_through_generated_weights(space: SearchSpace) -> None:
    ev = make(space)
    hyper = ev.hyper
    arch = archs(space, 1, seed=2)[0]
    x = batch(ev)
    hyper.reference = arch
    hyper.train(False)  # runs the reference architecture
    hyper(x).square().sum().backward()
    direct = {n: p.grad.clone() for n, p in hyper.named_parameters() if p.grad is not None}
    hyper.zero_grad(set_to_none=True)
    # the same gradient, in two halves: the loss's gradient with respect to the generated
    # tensors (as leaves), then pushed back through the generator alone
    generated = hyper.generate(arch)
    leaves = {n: w.detach().requires_grad_() for n, w in generated.items()}
    loss = functional_call(hyper.net, leaves, (x, path_weights(space, arch))).square().sum()
    loss.backward()
    reached = [n for n in generated if leaves[n].grad is not None]  # the path's tensors
    torch.autograd.backward([generated[n] for n in reached], [leaves[n].grad for n in reached])
    split = {n: p.grad for n, p in hyper.named_parameters() if p.grad is not None}
    assert set(split) == set(direct)
    for name in ("arch", "codes", "bias", "mid", "out"):
        assert torch.allclose(direct[name], split[name], rtol=1e-4, atol=1e-6)
        assert float(direct[name].abs().sum()) > 0
    # no conv or linear weight of the supernet gets a gradient: none is a parameter
    assert not any(n.removeprefix("net.") in hyper.targets for n in direct)
    assert 0 < len(reached) < len(hyper.targets)
    # the codes of exactly the chunks the path reads get a gradient
    rows = direct["codes"].abs().sum(dim=1) > 0
    used = [bool(part.all()) for part in rows.split(hyper.counts)]
    assert [bool(part.any()) for part in rows.split(hyper.counts)] == used  # whole slots
    stand_alone = prunable(space.build(arch, ev.task, np.random.default_rng(0)))
    shapes = reference_shapes(ev)
    assert 0 < sum(used) < len(used)
    assert sum(math.prod(shapes[n]) for n, u in zip(hyper.targets, used, strict=True) if u) == sum(
        w.numel() for w in stand_alone
    )


def test_generated_weights_are_pruned_to_the_budget(space: SearchSpace) -> None:
    ev = make(space)
    hyper = ev.hyper
    arch = archs(space, 1, seed=4)[0]
    dense = hyper.generate(arch)
    assert all(int((w == 0).sum()) == 0 for w in dense.values())
    for level in (0.5, 0.8):  # each tensor alone (the default scope), exactly after rounding
        pruned = hyper.generate(arch, level)
        for name, w in pruned.items():
            assert int((w == 0).sum()) == round(level * w.numel())
            kept = w != 0  # the largest magnitudes survive, unchanged
            assert torch.equal(w[kept], dense[name].detach()[kept])
            if (~kept).any():
                assert float(dense[name].detach().abs()[~kept].max()) <= float(
                    w.detach().abs()[kept].min()
                )
    hyper.scope = Scope.GLOBAL  # one ranking over all tensors
    total = sum(w.numel() for w in dense.values())
    pruned = hyper.generate(arch, 0.5)
    assert sum(int((w == 0).sum()) for w in pruned.values()) == round(0.5 * total)
    hyper.scope = Scope.LAYER
    # the mask is a constant: the gradient reaches the kept entries unchanged, no pruned one
    w = torch.tensor([0.3, -2.0, 0.1, 1.0, -0.2, 0.5], requires_grad=True)
    (out,) = hypernetwork._prune([w], 0.5, Scope.LAYER)
    assert out.tolist() == [0.0, -2.0, 0.0, 1.0, 0.0, 0.5]
    (out * torch.arange(1.0, 7.0)).sum().backward()
    assert w.grad is not None and w.grad.tolist() == [0.0, 2.0, 0.0, 4.0, 0.0, 6.0]


def test_training_forwards_use_weights_pruned_to_the_schedules_level(
    space: SearchSpace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ev = make(space)
    hyper = ev.hyper
    schedule = PruneSchedule(0.5)
    hyper.prune = (schedule, *schedule.window(3, 30))
    # the level follows the Pruner's: Eq. 1 at the pruning steps due
    pruner = Pruner(nn.Linear(4, 4), schedule, epochs=3, steps_per_epoch=30)
    for t in range(1, 91):
        pruner.step(t)
        assert hyper.level(t) == pruner.level
    pruner.remove()
    assert hyper.level(0) == 0.0 and 0 < hyper.level(30) < 0.5 == hyper.level(68)
    seen: list[dict[str, torch.Tensor]] = []
    real = hypernetwork.functional_call

    def spy(module: nn.Module, params: dict[str, torch.Tensor], args: tuple) -> Any:
        seen.append(params)
        return real(module, params, args)

    monkeypatch.setattr(hypernetwork, "functional_call", spy)
    hyper.train(True)
    hyper.sampler = np.random.default_rng(0)
    x = batch(ev)
    for steps, level in ((0, 0.0), (30, hyper.level(30)), (68, 0.5), (500, 0.5)):
        hyper.steps = steps
        hyper(x)
        assert hyper.steps == steps + 1 and len(seen) == 1
        for w in seen.pop().values():  # the network the step trains meets the level
            assert w.requires_grad and int((w == 0).sum()) == round(level * w.numel())
    hyper.train(False)  # an evaluation forward: the reference at the current level, no step
    hyper.reference = archs(space, 1)[0]
    hyper(x)
    assert hyper.steps == 501 and all(
        int((w == 0).sum()) == round(0.5 * w.numel()) for w in seen.pop().values()
    )
    hyper.sampler = None


# ---- SMASH: training, pruning, caching, ranking ---------------------------------------------
def test_trained_once_charged_once_and_cached_on_disk(
    space: SearchSpace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first, arch, m1, calls, trained_s = check_trained_once_charged_once(
        hypernetwork, make, space, tmp_path, monkeypatch
    )
    assert isinstance(first, HypernetworkEvaluator)
    # a different key from weight sharing's, the low-rank one's and another chunk size
    ws = evaluators.create("weight_sharing", space=space, **SETTINGS)
    assert isinstance(ws, WeightSharingEvaluator)
    keys = {first.key, ws.key, make_lowrank(space).key, make(space, chunk=8).key}
    assert len(keys) == 4
    pt, js = tmp_path / f"{first.key}.pt", tmp_path / f"{first.key}.json"
    saved = torch.load(pt, weights_only=True)
    info = json.loads(js.read_text())
    assert info["settings"]["smash"] == {"format": 1, "chunk": 16, "hidden": 32}
    assert info["cost_s"] == trained_s and info["sparsity"] == pytest.approx(0.5, abs=1e-3)
    assert {"arch", "codes", "bias", "mid", "out"} <= set(saved["state"])
    assert not any(n.removeprefix("net.") in first.hyper.targets for n in saved["state"])
    assert saved["masks"] == {}  # a generated tensor's mask depends on the architecture
    # charged as weight sharing (the same paths and samples) plus the generator's MACs per
    # generation, 3 passes, 30 steps per epoch
    assert trained_s == ws.training_cost_s(3) + training_cost_s(first._generator_macs(), 3 * 30)
    assert m1.cost_s > trained_s
    clear_supernet_cache()  # a later process: loaded, not trained, the same answers
    later = make(space, cache_dir=str(tmp_path))
    m4 = later.evaluate(arch, 3.0, np.random.default_rng(2))
    assert len(calls) == 1 and later.supernet == first.supernet
    assert (m4.val_acc, m4.test_acc, m4.sparsity) == (m1.val_acc, m1.test_acc, m1.sparsity)


def test_same_settings_give_identical_answers(space: SearchSpace) -> None:
    sample = archs(space, 4, seed=7)
    ev = make(space)
    a = [ev.evaluate(arch, 3.0, np.random.default_rng(0)) for arch in sample]
    b = ev.evaluate(sample[0], 3.0, np.random.default_rng(99))  # rng is not drawn from
    clear_supernet_cache()  # retrain from scratch under scrambled global seeds
    random.seed(3)
    np.random.seed(3)  # noqa: NPY002 (scrambling global state on purpose)
    torch.manual_seed(3)
    again = make(space)
    c = [again.evaluate(arch, 3.0, np.random.default_rng(5)) for arch in sample]
    assert again.supernet.train_loss == ev.supernet.train_loss
    assert all(
        torch.equal(p, q)
        for p, q in zip(again.hyper.parameters(), ev.hyper.parameters(), strict=True)
    )
    for m, n in [(a[0], b), *zip(a, c, strict=True)]:
        assert (m.val_acc, m.test_acc, m.sparsity, m.nonzero_params, m.effective_macs) == (
            n.val_acc, n.test_acc, n.sparsity, n.nonzero_params, n.effective_macs)  # fmt: skip
    # the ranking of the four is the same, and the HyperNet learned: above chance (0.1)
    assert [m.val_acc for m in a] == [m.val_acc for m in c]
    assert all(m.status is Status.OK for m in a) and max(m.val_acc for m in a) > 0.15
    losses = ev.supernet.train_loss
    assert losses[-1] < losses[0] < math.log(10) + 0.1


def test_every_scored_network_meets_the_budget(space: SearchSpace) -> None:
    ev = make(space)
    assert ev.supernet.status is Status.OK
    assert ev.supernet.sparsity == pytest.approx(0.5, abs=1e-3)  # the reference architecture's
    for arch in archs(space, 3):
        m = ev.evaluate(arch, 3.0, np.random.default_rng(0))
        counts = space.counts(arch, ev.task)
        assert m.params == counts.params and m.macs == counts.macs
        stand_alone = prunable(space.build(arch, ev.task, np.random.default_rng(0)))
        zeros = sum(round(0.5 * w.numel()) for w in stand_alone)  # each tensor to the target
        assert m.nonzero_params == m.params - zeros
        assert m.sparsity == zeros / sum(w.numel() for w in stand_alone)
        assert abs(m.sparsity - 0.5) < 1e-3 and m.effective_macs < m.macs
    dense = make(space, sparsity=0.0, epochs=1)
    m = dense.evaluate(archs(space, 1)[0], 1.0, np.random.default_rng(0))
    assert m.sparsity == 0.0 and m.nonzero_params == m.params and dense.hyper.prune is None


def test_diverged_training_fails_every_evaluation(space: SearchSpace) -> None:
    recipe = {"batch_size": 100, "optimizer": "sgd", "learning_rate": 1e30}
    ev = make(space, epochs=1, recipe=recipe)
    arch = archs(space, 1)[0]
    first = ev.evaluate(arch, 1.0, np.random.default_rng(0))
    later = ev.evaluate(arch, 1.0, np.random.default_rng(0))
    assert ev.supernet.status is Status.FAILED and math.isnan(ev.supernet.sparsity)
    assert first.status is later.status is Status.FAILED and math.isnan(first.val_acc)
    assert first.cost_s == ev.supernet.cost_s > 0 and later.cost_s == 0.0


def test_parameters_are_checked(space: SearchSpace) -> None:
    ev = make(space)
    with pytest.raises(NasbenchError, match="hypernetwork answers fidelity 3"):
        ev.evaluate(archs(space, 1)[0], 2.0, np.random.default_rng(0))
    for key in ("chunk", "hidden"):
        for bad in (0, 1.5, True):
            with pytest.raises(NasbenchError, match=f"{key} must be"):
                make(space, **{key: bad})
    with pytest.raises(NasbenchError, match="use evaluator 'hypernetwork_lowrank'"):
        make(space, rank=8)
    with pytest.raises(NasbenchError, match="bn_batches"):
        make(space, bn_batches=-1)
    with pytest.raises(NasbenchError, match="unknown recipe key"):
        make(space, recipe={"lr": 0.1})


def test_rank_correlation(space: SearchSpace) -> None:
    ev = make(space)
    sample = archs(space, 5, seed=3)
    accs = [ev.evaluate(a, 3.0, np.random.default_rng(0)).val_acc for a in sample]
    assert len(set(accs)) > 1
    assert rank_correlation(ev, sample, accs) == pytest.approx(1.0)
    assert rank_correlation(ev, sample, [-a for a in accs]) == pytest.approx(-1.0)


SUITE = """
[suite]
name = "hn"
[budget]
evaluations = 3
sparsity = 0.5
[[task]]
space = "nb201"
space_params = { channels = 4, cells_per_stage = 1 }
evaluator = "EVALUATOR"
dataset = "mnist1d"
epochs = 3
PARAMS
bn_batches = 10
recipe = { batch_size = 100 }
[[strategy]]
name = "random"
"""


@pytest.mark.parametrize("name", ["hypernetwork", "hypernetwork_lowrank"])
def test_suite_runs_through_the_runner(space: SearchSpace, name: str) -> None:
    params = "chunk = 16\nhidden = 32" if name == "hypernetwork" else "rank = 8"
    suite = parse_suite(SUITE.replace("EVALUATOR", name).replace("PARAMS", params))
    rec = run(suite.specs()[0], 0).records
    ev = make(space) if name == "hypernetwork" else make_lowrank(space)
    trained_s = ev.supernet.cost_s  # the same settings: the cached hypernetwork
    assert len(rec) == 3 and all(r.status == "ok" and r.fidelity == 3.0 for r in rec)
    assert rec[0].cost_s > trained_s > max(r.cost_s for r in rec[1:])
    assert dict(rec[0].extra)["supernet_cost_s"] == trained_s
    assert all(abs(r.sparsity - 0.5) < 0.02 and 0.0 < r.val_acc < 1.0 for r in rec)


# ---- the low-rank variant -------------------------------------------------------------------
def test_lowrank_generated_weights_depend_on_the_architecture(space: SearchSpace) -> None:
    ev = make_lowrank(space)
    hyper = ev.hyper
    a, b = shared_pair(space)
    base = dict(ev._net.named_parameters())
    # before training A = 0: every generated tensor is exactly W_0, for every architecture
    for arch in (a, b):
        for name, w in hyper.generate(arch).items():
            assert torch.equal(w, base[name])
    assert ev.supernet.status is Status.OK
    ga, gb = hyper.generate(a), hyper.generate(b)
    stem = "layers.0.weight"  # the stem conv: on every path
    assert stem in hyper.targets and len(ga) == len(hyper.targets) == len(prunable(ev._net))
    assert sum(not torch.equal(ga[n], gb[n]) for n in hyper.targets) == len(hyper.targets)
    assert all(torch.equal(ga[n], w) for n, w in hyper.generate(a).items())
    # the generated tensors are the trained W_0 modulated: W_0 is a parameter, unlike SMASH's
    assert all(base[n].requires_grad and base[n].any() for n in hyper.targets)
    assert hyper.embed.shape == (8, space.encoding_size)
    assert [h.shape for h in hyper.heads] == [(base[n].numel(), 8) for n in hyper.targets]


def test_lowrank_only_the_sampled_path_gets_gradients(space: SearchSpace) -> None:
    ev = make_lowrank(space)
    hyper = ev.hyper
    arch = archs(space, 1, seed=2)[0]
    hyper.reference = arch
    hyper.train(False)
    hyper(batch(ev)).sum().backward()
    base = dict(ev._net.named_parameters())
    on = {n for n in hyper.targets if base[n].grad is not None}
    assert on == {n for n, h in zip(hyper.targets, hyper.heads, strict=True) if h.grad is not None}
    assert 0 < len(on) < len(hyper.targets) and hyper.embed.grad is not None
    stand_alone = prunable(space.build(arch, ev.task, np.random.default_rng(0)))
    assert sum(base[n].numel() for n in on) == sum(w.numel() for w in stand_alone)


def test_lowrank_pruned_base_masks_every_generated_network(space: SearchSpace) -> None:
    ev = make_lowrank(space)
    assert ev.name == "hypernetwork_lowrank" and ev.supernet.status is Status.OK
    assert abs(ev.supernet.sparsity - 0.5) <= 0.005
    base = dict(ev._net.named_parameters())
    for arch in archs(space, 2):
        for name, w in ev.hyper.generate(arch).items():  # zero exactly where W_0 is pruned
            assert torch.equal(w == 0, base[name] == 0)
        m = ev.evaluate(arch, 3.0, np.random.default_rng(0))
        assert 0.3 < m.sparsity < 0.7 and m.effective_macs < m.macs and 0.0 < m.val_acc < 1.0
    # the settings (and so the cache key) of the former `hypernetwork`: its files still load
    assert settings(ev)["hypernetwork"] == {"format": 1, "rank": 8} and "smash" not in settings(ev)
    numel = sum(w.numel() for w in prunable(ev._net))
    assert ev._generator_macs() == 8 * (numel + space.encoding_size)
    with pytest.raises(NasbenchError, match="rank must be"):
        make_lowrank(space, rank=0)


def test_smash_and_lowrank_share_streams_not_weights(space: SearchSpace) -> None:
    smash, low = make(space), make_lowrank(space)
    # the same static parameters drawn from the supernet's stream (biases, batch norm) ...
    static = dict(smash.hyper.net.named_parameters())
    assert static and all(
        torch.equal(w, dict(build_supernet(space, smash.task, role_rng(0, "supernet", "init"))
                            .named_parameters())[n]) for n, w in static.items()
    )  # fmt: skip
    # ... but only the low-rank HyperNet trains a copy of every conv weight
    count = sum(p.numel() for p in smash.hyper.parameters())
    conv = sum(w.numel() for w in prunable(low._net))
    assert sum(p.numel() for p in low._net.parameters()) - conv == sum(
        p.numel() for p in smash.hyper.net.parameters()
    )
    assert count == sum(p.numel() for p in static.values()) + (
        smash.hyper.arch.numel() + smash.hyper.codes.numel() + 32 + 32 * 32 + 16 * 32
    )
