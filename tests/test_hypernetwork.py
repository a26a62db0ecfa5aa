"""The hypernetwork evaluator on a tiny NAS-Bench-201 supernet (4 channels, one cell per stage)
trained for 3 epochs on MNIST-1D: about 3 s per hypernetwork training on one thread."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from nasbench.errors import NasbenchError
from nasbench.evaluation import hypernetwork
from nasbench.evaluation.hypernetwork import HypernetworkEvaluator
from nasbench.evaluation.one_shot import clear_supernet_cache, rank_correlation
from nasbench.evaluation.weight_sharing import WeightSharingEvaluator
from nasbench.pruning import prunable
from nasbench.registry import evaluators, spaces
from nasbench.runner import run
from nasbench.simcost import training_cost_s
from nasbench.space import SearchSpace
from nasbench.suite import parse_suite
from nasbench.types import Architecture, Status
from tests.one_shot_helpers import archs, check_trained_once_charged_once

SPACE = {"channels": 4, "cells_per_stage": 1}
SETTINGS = {"epochs": 3, "sparsity": 0.5, "recipe": {"batch_size": 100}}


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return spaces.create("nb201", **SPACE)


def make(space: SearchSpace, **changes: Any) -> HypernetworkEvaluator:
    ev = evaluators.create("hypernetwork", space=space, **{**SETTINGS, **changes})
    assert isinstance(ev, HypernetworkEvaluator)
    return ev


def shared_pair(space: SearchSpace) -> tuple[Architecture, Architecture]:
    """Two architectures that differ in one edge's op only (both use every other tensor)."""
    first = archs(space, 1, seed=1)[0]
    values = list(first.values)
    ops = [c for c in space.decisions()[0].choices if c not in (values[0], "none")]
    values[0] = ops[0]
    return first, space.make(values)


def test_generated_weights_depend_on_the_architecture(space: SearchSpace) -> None:
    ev = make(space)
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
    assert not torch.equal(ga[stem], gb[stem])
    differ = sum(not torch.equal(ga[n], gb[n]) for n in hyper.targets)
    assert differ == len(hyper.targets)  # the embedding conditions every tensor
    # weights of the same architecture are a function of it
    assert all(torch.equal(ga[n], w) for n, w in hyper.generate(a).items())
    # with A zeroed again the generated tensors are the trained W_0, pruned zeros included
    with torch.no_grad():
        saved = [head.detach().clone() for head in hyper.heads]
        for head in hyper.heads:
            head.zero_()
        try:
            for name, w in hyper.generate(b).items():
                assert torch.equal(w, base[name])
        finally:
            for head, value in zip(hyper.heads, saved, strict=True):
                head.copy_(value)
    assert hyper.embed.shape == (8, space.encoding_size)
    assert [h.shape for h in hyper.heads] == [(base[n].numel(), 8) for n in hyper.targets]


def test_only_the_sampled_path_gets_gradients(space: SearchSpace) -> None:
    ev = make(space)
    hyper = ev.hyper
    arch = archs(space, 1, seed=2)[0]
    hyper.reference = arch
    hyper.train(False)  # runs the reference architecture
    x = torch.as_tensor(np.asarray(ev.data.train.x[:8]), dtype=torch.float32)
    hyper(x).sum().backward()
    base = dict(ev._net.named_parameters())
    on = {n for n in hyper.targets if base[n].grad is not None}
    # A and W_0 of a tensor get a gradient exactly when the path uses it; B always does
    assert on == {n for n, h in zip(hyper.targets, hyper.heads, strict=True) if h.grad is not None}
    assert 0 < len(on) < len(hyper.targets) and hyper.embed.grad is not None
    stand_alone = prunable(space.build(arch, ev.task, np.random.default_rng(0)))
    assert sum(base[n].numel() for n in on) == sum(w.numel() for w in stand_alone)


def test_trained_once_charged_once_and_cached_on_disk(
    space: SearchSpace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first, arch, m1, calls, trained_s = check_trained_once_charged_once(
        hypernetwork, make, space, tmp_path, monkeypatch
    )
    # a different key from weight sharing's supernet of the same settings, and from rank 4
    ws = evaluators.create("weight_sharing", space=space, **SETTINGS)
    assert isinstance(ws, WeightSharingEvaluator)
    assert len({first.key, ws.key, make(space, rank=4).key}) == 3
    pt, js = tmp_path / f"{first.key}.pt", tmp_path / f"{first.key}.json"
    saved = torch.load(pt, weights_only=True)
    info = json.loads(js.read_text())
    assert info["settings"]["hypernetwork"] == {"format": 1, "rank": 8}
    assert info["cost_s"] == trained_s and info["sparsity"] == 0.5
    # charged as weight sharing (the same paths and samples) plus the generator's MACs: 8 x
    # (every prunable element + the encoding) per generation, 3 passes, 30 steps per epoch
    numel = sum(w.numel() for w in prunable(ws._net))
    assert first._generator_macs() == 8 * (numel + space.encoding_size)
    assert trained_s == ws.training_cost_s(3) + training_cost_s(first._generator_macs(), 3 * 30)
    assert {"embed", "heads.0"} <= set(saved["state"]) and all(
        n.startswith("net.") for n in saved["masks"])  # fmt: skip
    clear_supernet_cache()  # a later process: loaded, not trained, the same answers
    later = make(space, cache_dir=str(tmp_path))
    m4 = later.evaluate(arch, 3.0, np.random.default_rng(2))
    assert len(calls) == 1 and later.supernet == first.supernet
    assert (m4.val_acc, m4.test_acc, m4.sparsity) == (m1.val_acc, m1.test_acc, m1.sparsity)


def test_same_settings_give_identical_answers(space: SearchSpace) -> None:
    arch = archs(space, 1, seed=7)[0]
    ev = make(space)
    a = ev.evaluate(arch, 3.0, np.random.default_rng(0))
    b = ev.evaluate(arch, 3.0, np.random.default_rng(99))  # rng is not drawn from
    clear_supernet_cache()  # retrain from scratch under scrambled global seeds
    random.seed(3)
    np.random.seed(3)  # noqa: NPY002 (scrambling global state on purpose)
    torch.manual_seed(3)
    again = make(space)
    c = again.evaluate(arch, 3.0, np.random.default_rng(0))
    assert again.supernet.train_loss == ev.supernet.train_loss
    assert all(torch.equal(a, b) for a, b in zip(again.hyper.heads, ev.hyper.heads, strict=True))
    for m in (b, c):
        assert (m.val_acc, m.test_acc, m.sparsity, m.nonzero_params, m.effective_macs) == (
            a.val_acc, a.test_acc, a.sparsity, a.nonzero_params, a.effective_macs)  # fmt: skip
    assert 0.1 < a.val_acc < 1 and a.status is Status.OK


def test_pruned_base_masks_every_generated_network(space: SearchSpace) -> None:
    ev = make(space)
    assert ev.supernet.status is Status.OK and abs(ev.supernet.sparsity - 0.5) <= 0.005
    w0 = prunable(ev._net)
    assert abs(sum(int((w == 0).sum()) for w in w0) / sum(w.numel() for w in w0) - 0.5) < 1e-3
    base = dict(ev._net.named_parameters())
    for arch in archs(space, 3):
        generated = ev.hyper.generate(arch)
        for name, w in generated.items():  # zero exactly where W_0 is pruned
            assert torch.equal(w == 0, base[name] == 0)
        m = ev.evaluate(arch, 3.0, np.random.default_rng(0))
        counts = space.counts(arch, ev.task)
        assert m.params == counts.params and m.macs == counts.macs
        assert 0.3 < m.sparsity < 0.7 and m.effective_macs < m.macs
        stand_alone = prunable(space.build(arch, ev.task, np.random.default_rng(0)))
        zeros = round(m.sparsity * sum(w.numel() for w in stand_alone))
        assert m.nonzero_params == m.params - zeros


def test_diverged_training_fails_every_evaluation(space: SearchSpace) -> None:
    recipe = {"batch_size": 100, "optimizer": "sgd", "learning_rate": 1e30}
    ev = make(space, epochs=1, recipe=recipe)
    arch = archs(space, 1)[0]
    first = ev.evaluate(arch, 1.0, np.random.default_rng(0))
    later = ev.evaluate(arch, 1.0, np.random.default_rng(0))
    assert ev.supernet.status is Status.FAILED
    assert first.status is later.status is Status.FAILED and math.isnan(first.val_acc)
    assert first.cost_s == ev.supernet.cost_s > 0 and later.cost_s == 0.0


def test_parameters_are_checked(space: SearchSpace) -> None:
    ev = make(space)
    with pytest.raises(NasbenchError, match="hypernetwork answers fidelity 3"):
        ev.evaluate(archs(space, 1)[0], 2.0, np.random.default_rng(0))
    for bad in (0, 1.5, True):
        with pytest.raises(NasbenchError, match="rank must be"):
            make(space, rank=bad)
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


def test_suite_runs_through_the_runner(space: SearchSpace) -> None:
    suite = parse_suite("""
[suite]
name = "hn"
[budget]
evaluations = 3
sparsity = 0.5
[[task]]
space = "nb201"
space_params = { channels = 4, cells_per_stage = 1 }
evaluator = "hypernetwork"
dataset = "mnist1d"
epochs = 3
rank = 8
bn_batches = 10
recipe = { batch_size = 100 }
[[strategy]]
name = "random"
""")
    rec = run(suite.specs()[0], 0).records
    trained_s = make(space).supernet.cost_s  # the same settings: the cached hypernetwork
    assert len(rec) == 3 and all(r.status == "ok" and r.fidelity == 3.0 for r in rec)
    assert rec[0].cost_s > trained_s > max(r.cost_s for r in rec[1:])
    assert dict(rec[0].extra)["supernet_cost_s"] == trained_s
    assert all(0.3 < r.sparsity < 0.7 and 0.0 < r.val_acc < 1.0 for r in rec)
