"""Gradual magnitude pruning: the Zhu & Gupta schedule, masks that keep pruned weights exactly
zero, the final sparsity, and the counts of a pruned network (nonzero params, effective MACs)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn

from nasbench.core.errors import NasbenchError
from nasbench.core.modelstats import count_macs, count_params
from nasbench.core.types import Status, Task
from nasbench.core.weights import materialise
from nasbench.training.datasets import Dataset, Split
from nasbench.training.pruning import (
    Pruner,
    PruneSchedule,
    Scope,
    effective_macs,
    nonzero_params,
    prunable,
    sparsity,
)
from nasbench.training.trainer import Recipe, train

TASK = Task((2, 16), 4, "toy")


def toy_split(n: int, rng: np.random.Generator) -> Split:
    y = rng.integers(0, 4, size=n).astype(np.int64)
    x = rng.normal(scale=0.5, size=(n, 2, 16)).astype(np.float32)
    for i, c in enumerate(y):
        x[i, c % 2, 4 * c : 4 * c + 4] += 1.5
    return Split(x, y)


@pytest.fixture(scope="module")
def data() -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset("toy", TASK, toy_split(200, rng), toy_split(50, rng), toy_split(50, rng))


def net(seed: int = 0) -> nn.Module:
    """Conv (2x16x3 = 96 weights), BN, depthwise conv (16x1x3 = 48), linear (64x4 = 256)."""
    with torch.device("meta"):
        module = nn.Sequential(
            nn.Conv1d(2, 16, 3, padding=1),
            nn.BatchNorm1d(16),
            nn.ReLU(),
            nn.Conv1d(16, 16, 3, padding=1, groups=16),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(4),
            nn.Flatten(),
            nn.Linear(64, 4),
        )
    return materialise(module, np.random.default_rng(seed))


RECIPE = Recipe(epochs=4, batch_size=25)  # 8 steps per epoch, 32 in all


# ---- the schedule ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"target": 1.0}, ["target", "[0, 1)", "1.0"]),
        ({"target": -0.1}, ["target", "-0.1"]),
        ({"target": math.nan}, ["target", "nan"]),
        ({"target": 0.5, "initial": 0.6}, ["initial", "0.6"]),
        ({"target": 0.5, "scope": "channel"}, ["channel", "global, layer"]),
        ({"target": 0.5, "every_steps": 0}, ["every_steps", "0"]),
        ({"target": 0.5, "start_fraction": 0.8, "end_fraction": 0.5}, ["start_fraction"]),
        ({"target": 0.5, "end_fraction": 1.5}, ["end_fraction"]),
        ({"target": 0.5, "start_epoch": 3, "end_epoch": 2}, ["start_epoch", "3"]),
        ({"target": 0.5, "end_epoch": 2.5}, ["end_epoch", "2.5"]),
    ],
)
def test_invalid_schedules_raise_naming_the_value(kwargs: dict, words: list[str]) -> None:
    with pytest.raises(NasbenchError) as err:
        PruneSchedule(**kwargs)
    assert all(w in str(err.value) for w in words)


def test_cubic_schedule_of_zhu_and_gupta() -> None:
    s = PruneSchedule(target=0.8, initial=0.1)
    t0, t_end = 10, 50  # n * dt = 40
    assert s.sparsity_at(9, t0, t_end) == 0.0
    for t in (10, 20, 30, 45, 50):
        expected = 0.8 + (0.1 - 0.8) * (1 - (t - 10) / 40) ** 3  # Eq. 1
        assert s.sparsity_at(t, t0, t_end) == pytest.approx(expected)
    assert s.sparsity_at(30, t0, t_end) == pytest.approx(0.8 - 0.7 / 8)
    assert s.sparsity_at(500, t0, t_end) == 0.8
    levels = [s.sparsity_at(t, t0, t_end) for t in range(10, 51)]
    steps = np.diff(levels)
    assert np.all(steps > 0) and np.all(np.diff(steps) < 0)  # rises ever more slowly


def test_window_from_fractions_or_epochs() -> None:
    assert PruneSchedule(0.5).window(epochs=10, steps_per_epoch=8) == (0, 60)
    assert PruneSchedule(0.5, start_fraction=0.1, end_fraction=0.5).window(10, 8) == (8, 40)
    assert PruneSchedule(0.5, start_epoch=2, end_epoch=6).window(10, 8) == (16, 48)
    assert PruneSchedule(0.5, end_fraction=0.0).window(10, 8) == (0, 1)  # one shot after step 1
    with pytest.raises(NasbenchError, match="end_epoch 12 is after the last epoch"):
        PruneSchedule(0.5, end_epoch=12).window(10, 8)
    assert PruneSchedule(0.5, scope="layer").scope is Scope.LAYER  # type: ignore[arg-type]


# ---- masks ---------------------------------------------------------------------------------
def test_prunable_weights_are_conv_and_linear_weights_only() -> None:
    model = net()
    assert [tuple(w.shape) for w in prunable(model)] == [(16, 2, 3), (16, 1, 3), (4, 64)]


def test_masks_block_gradients_and_survive_optimiser_momentum() -> None:
    model = net()
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    x = torch.randn(8, 2, 16, generator=torch.Generator().manual_seed(0))
    pruner = Pruner(model, PruneSchedule(0.5, every_steps=1), epochs=1, steps_per_epoch=4)
    with pruner:
        for t in range(1, 7):  # the target (0.5) is reached at step 3; Adam keeps momentum
            model(x).pow(2).mean().backward()
            if pruner.masks:
                for w, m in zip(pruner.weights, pruner.masks, strict=True):
                    assert w.grad is not None and torch.all(w.grad[m == 0] == 0)
            opt.step()
            opt.zero_grad()
            pruner.step(t)
            for w, m in zip(pruner.weights, pruner.masks, strict=True):
                assert torch.all(w[m == 0] == 0)
    assert sparsity(model) == pytest.approx(0.5, abs=1 / 400)
    model(x).pow(2).mean().backward()  # hooks are gone: gradients flow to every weight again
    linear, mask = pruner.weights[-1], pruner.masks[-1]
    assert linear.grad is not None and bool((linear.grad[mask == 0] != 0).any())


def test_masks_only_grow_and_pruned_weights_stay_zero_through_training(data: Dataset) -> None:
    snapshots: list[torch.Tensor] = []
    model = net()

    def watch(epoch: int, curve: tuple[float, ...]) -> bool:
        snapshots.append(torch.cat([(w == 0).flatten() for w in prunable(model)]))
        return False

    recipe = Recipe(epochs=6, batch_size=25, optimizer="adamw", weight_decay=0.1)  # type: ignore[arg-type]
    train(model, data, recipe, np.random.default_rng(0), prune=PruneSchedule(0.8), stop=watch)
    zero_counts = [int(s.sum()) for s in snapshots]
    assert zero_counts == sorted(zero_counts) and zero_counts[1] > 0  # first prune: step 10
    for before, after in itertools.pairwise(snapshots):
        assert torch.all(after[before])  # once zero, always zero
    assert zero_counts[-1] == round(0.8 * 400)


@pytest.mark.parametrize("scope", ["global", "layer"])
@pytest.mark.parametrize("target", [0.5, 0.8, 0.9])
def test_final_sparsity_equals_the_target(data: Dataset, scope: str, target: float) -> None:
    model = net()
    schedule = PruneSchedule(target, scope=scope, every_steps=3)  # type: ignore[arg-type]
    result = train(model, data, RECIPE, np.random.default_rng(1), prune=schedule)
    assert result.status is Status.OK
    assert abs(result.sparsity - target) <= 0.005 and result.sparsity == sparsity(model)
    zeros = sum(int((w == 0).sum()) for w in prunable(model))
    assert result.nonzero_params == count_params(model) - zeros == nonzero_params(model)
    biases = [m.bias for m in model.modules() if isinstance(m, nn.Conv1d | nn.Linear)]
    assert all(b is not None and bool((b != 0).all()) for b in biases)
    per_layer = [float((w == 0).float().mean()) for w in prunable(model)]
    if scope == "layer":  # each layer on its own, up to rounding of its size
        assert all(abs(s - target) <= 0.5 / w.numel() + 1e-9
                   for s, w in zip(per_layer, prunable(model), strict=True))  # fmt: skip
    else:  # one global ranking: layers end at different sparsities
        assert max(per_layer) - min(per_layer) > 0.05


def test_pruning_is_deterministic_and_zero_target_prunes_nothing(data: Dataset) -> None:
    runs = []
    for _ in range(2):
        model = net()
        train(model, data, RECIPE, np.random.default_rng(2), prune=PruneSchedule(0.7))
        runs.append([w.detach().clone() for w in prunable(model)])
    assert all(torch.equal(a, b) for a, b in zip(*runs, strict=True))
    result = train(net(), data, RECIPE, np.random.default_rng(2), prune=PruneSchedule(0.0))
    assert result.sparsity == 0.0


def test_pruned_networks_still_learn(data: Dataset) -> None:
    recipe = Recipe(epochs=10, batch_size=25)
    dense = train(net(), data, recipe, np.random.default_rng(3))
    pruned = train(net(), data, recipe, np.random.default_rng(3), prune=PruneSchedule(0.5))
    assert dense.test_acc >= 0.9 and pruned.test_acc >= 0.8


# ---- counts --------------------------------------------------------------------------------
def test_nonzero_params_counts_dense_params_minus_pruned_weights() -> None:
    conv, norm, linear = nn.Conv1d(1, 4, 3), nn.BatchNorm1d(4), nn.Linear(24, 10)
    model = nn.Sequential(conv, norm, nn.Flatten(), linear)
    dense = 12 + 4 + 4 + 4 + 240 + 10  # conv w, conv b, bn weight, bn bias, linear w, linear b
    assert nonzero_params(model) == count_params(model) == dense
    with torch.no_grad():
        conv.weight[:2] = 0.0  # 6 of 12
        linear.weight[:, :6] = 0.0  # 60 of 240
        norm.bias.zero_()  # never pruned: still counted
        linear.bias.zero_()
    assert nonzero_params(model) == dense - 66
    assert sparsity(model) == pytest.approx(66 / 252)


def test_effective_macs_scale_each_layer_by_its_density() -> None:
    conv = nn.Conv1d(2, 4, 3, stride=2, padding=1)  # L 8 -> 4: 16 outputs x (2 x 3) = 96 MACs
    depthwise = nn.Conv1d(4, 4, 3, padding=1, groups=4)  # 16 outputs x 3 = 48 MACs
    linear = nn.Linear(16, 10)  # 160 MACs
    model = nn.Sequential(conv, depthwise, nn.Flatten(), linear)
    assert effective_macs(model, (2, 8)) == count_macs(model, (2, 8)) == 96 + 48 + 160
    with torch.no_grad():
        conv.weight[0] = 0.0  # 6 of 24 weights: density 0.75
        depthwise.weight[:2] = 0.0  # 6 of 12: density 0.5
        linear.weight[:, :12] = 0.0  # 120 of 160: density 0.25
    assert effective_macs(model, (2, 8)) == 72 + 24 + 40
    assert model.training  # the flag is restored


def test_effective_macs_of_a_2d_convolution() -> None:
    conv = nn.Conv2d(1, 2, 3, padding=1)
    model = nn.Sequential(conv, nn.Flatten(), nn.Linear(32, 3))
    with torch.no_grad():
        conv.weight[1] = 0.0  # half the filters: 2 x 16 outputs x 9 = 288 dense -> 144
    assert effective_macs(model, (1, 4, 4)) == 144 + 96


# ---- scope: Zhu & Gupta's layer-wise ranking by default, global as a named option ----------
def test_layer_scope_is_the_default_of_schedules_recipes_and_the_train_evaluator() -> None:
    from nasbench.core.registry import spaces
    from nasbench.evaluation.train import TrainEvaluator

    assert PruneSchedule(0.5).scope is Scope.LAYER
    assert Recipe().prune_scope is Scope.LAYER
    assert Recipe(prune_scope="global").prune_scope is Scope.GLOBAL  # type: ignore[arg-type]
    with pytest.raises(
        NasbenchError, match="unknown prune_scope 'channel' \\(valid: global, layer"
    ):
        Recipe(prune_scope="channel")  # type: ignore[arg-type]
    space = spaces.create("chain", max_layers=2)
    dense = TrainEvaluator(space, epochs=1, sparsity=0.0)
    assert dense.prune_schedule() is None
    schedule = TrainEvaluator(space, epochs=1, sparsity=0.5).prune_schedule()
    assert schedule is not None and (schedule.target, schedule.scope) == (0.5, Scope.LAYER)
    option = TrainEvaluator(space, epochs=1, sparsity=0.5, recipe={"prune_scope": "global"})
    assert option.prune_schedule().scope is Scope.GLOBAL  # type: ignore[union-attr]


def test_layer_and_global_scope_prune_different_weights(data: Dataset) -> None:
    """Global ranking spares the small first conv's large weights and takes more of the
    linear layer's; layer-wise ranking prunes every layer to the target."""
    per_layer = {}
    for scope in ("layer", "global"):
        model = net()
        recipe = Recipe(epochs=2, prune_scope=scope)  # type: ignore[arg-type]
        schedule = PruneSchedule(0.75, scope=recipe.prune_scope)
        train(model, data, recipe, np.random.default_rng(0), prune=schedule)
        per_layer[scope] = [float((w == 0).float().mean()) for w in prunable(model)]
    assert per_layer["layer"] == pytest.approx([0.75, 0.75, 0.75], abs=1 / 48)
    assert per_layer["global"] != pytest.approx(per_layer["layer"], abs=0.03)
