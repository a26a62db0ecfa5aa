"""The training loop: recipe validation, schedules, determinism, isolation of global state,
failure handling, early stopping, data fractions and train/eval modes (tiny data, CPU)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nasbench.core.errors import NasbenchError
from nasbench.core.types import Status, Task
from nasbench.core.weights import materialise
from nasbench.training.datasets import Dataset, Split
from nasbench.training.trainer import (
    Optimizer,
    Recipe,
    Schedule,
    accuracy,
    learning_rate,
    steps_per_epoch,
    train,
    train_subset,
)
from tests.helpers import toy_split

TASK = Task((2, 12), 3, "toy")


@pytest.fixture(scope="module")
def data() -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset("toy", TASK, toy_split(240, rng), toy_split(60, rng), toy_split(60, rng))


def tiny_cnn(seed: int = 0, dropout: float = 0.0) -> nn.Module:
    with torch.device("meta"):
        net = nn.Sequential(
            nn.Conv1d(2, 8, 3, padding=1),
            nn.BatchNorm1d(8),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.AdaptiveAvgPool1d(3),
            nn.Flatten(),
            nn.Linear(24, 3),
        )
    return materialise(net, np.random.default_rng(seed))


FAST = Recipe(epochs=4, batch_size=32)


# ---- recipe and schedule ---------------------------------------------------------------------
def test_recipe_defaults_follow_the_mnist1d_reference_and_strings_become_enums() -> None:
    r = Recipe()
    assert (r.optimizer, r.learning_rate, r.batch_size, r.weight_decay) == ("adam", 1e-2, 100, 0)
    r = Recipe(optimizer="sgd", schedule="step")  # type: ignore[arg-type]
    assert r.optimizer is Optimizer.SGD and r.schedule is Schedule.STEP


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"optimizer": "rmsprop"}, ["rmsprop", "sgd, adam, adamw"]),
        ({"schedule": "linear"}, ["linear", "constant, cosine, step"]),
        ({"epochs": 0}, ["epochs", "0"]),
        ({"batch_size": 2.5}, ["batch_size", "2.5"]),
        ({"learning_rate": 0.0}, ["learning_rate", "> 0"]),
        ({"learning_rate": math.nan}, ["learning_rate"]),
        ({"momentum": 1.0}, ["momentum", "[0, 1)"]),
        ({"weight_decay": -1e-4}, ["weight_decay"]),
        ({"warmup_epochs": 5, "epochs": 4}, ["warmup_epochs", "epochs=4"]),
        ({"label_smoothing": 1.0}, ["label_smoothing"]),
        ({"grad_clip": -1.0}, ["grad_clip"]),
        ({"nesterov": True}, ["nesterov", "sgd"]),
        ({"curve_samples": -1}, ["curve_samples", ">= 0"]),
    ],
)
def test_invalid_recipes_raise_naming_the_value(kwargs: dict, words: list[str]) -> None:
    with pytest.raises(NasbenchError) as err:
        Recipe(**kwargs)
    assert all(w in str(err.value) for w in words)


def test_learning_rate_schedules() -> None:
    lr = 0.1
    cos = Recipe(epochs=10, learning_rate=lr)  # 10 epochs x 10 steps
    assert learning_rate(cos, 0, 10) == lr
    assert learning_rate(cos, 50, 10) == pytest.approx(lr / 2)
    assert learning_rate(cos, 25, 10) == pytest.approx(lr * (1 + math.cos(math.pi / 4)) / 2)
    assert learning_rate(cos, 99, 10) < 1e-3 * lr
    warm = Recipe(epochs=10, learning_rate=lr, warmup_epochs=2)  # 20 warm-up steps
    assert [learning_rate(warm, t, 10) for t in (0, 9, 19)] == pytest.approx([lr / 20, lr / 2, lr])
    assert learning_rate(warm, 20, 10) == pytest.approx(lr)  # cosine restarts from the peak
    assert learning_rate(warm, 60, 10) == pytest.approx(lr / 2)  # half of the 80 cosine steps
    step = Recipe(epochs=8, learning_rate=lr, schedule="step")  # type: ignore[arg-type]
    assert [learning_rate(step, t, 1) for t in (0, 3, 4, 5, 6, 7)] == pytest.approx(
        [lr, lr, lr / 10, lr / 10, lr / 100, lr / 100]
    )
    const = Recipe(epochs=8, learning_rate=lr, schedule="constant")  # type: ignore[arg-type]
    assert {learning_rate(const, t, 3) for t in range(24)} == {lr}


def test_steps_per_epoch_drops_only_a_single_sample_batch() -> None:
    assert [steps_per_epoch(n, 10) for n in (10, 11, 12, 19, 20, 1)] == [1, 1, 2, 2, 2, 1]


# ---- the loop ---------------------------------------------------------------------------------
def test_trains_to_high_accuracy_with_a_complete_result(data: Dataset) -> None:
    model = tiny_cnn()
    result = train(model, data, Recipe(epochs=8, batch_size=32), np.random.default_rng(1))
    assert result.status is Status.OK and result.message == ""
    assert result.epochs_run == 8 and len(result.train_loss) == len(result.val_acc) == 8
    assert result.steps == 8 * math.ceil(240 / 32) and result.train_size == 240
    assert result.train_loss[-1] < result.train_loss[0]
    assert result.val_acc[-1] >= 0.9 and result.test_acc >= 0.9
    assert result.final_val_acc == result.val_acc[-1]
    assert result.params == sum(p.numel() for p in model.parameters())
    assert result.nonzero_params == result.params and result.sparsity == 0.0
    assert result.cost_s > 0


def test_curve_on_a_validation_subset_and_the_final_value_on_the_whole_split(
    data: Dataset,
) -> None:
    recipe = Recipe(epochs=3, batch_size=32, curve_samples=20)
    whole = Recipe(epochs=3, batch_size=32)
    sub = train(tiny_cnn(), data, recipe, np.random.default_rng(1))
    model = tiny_cnn()
    full = train(model, data, whole, np.random.default_rng(1))
    # the same training (the subset only changes what is measured), curves on 20 vs 60 samples
    assert sub.train_loss == full.train_loss
    assert all(round(v * 20) == v * 20 for v in sub.val_acc)
    assert sub.final_val_acc == full.final_val_acc == full.val_acc[-1]
    x, y = torch.tensor(data.val.x), torch.tensor(data.val.y)
    assert sub.final_val_acc == accuracy(model, x, y)
    assert sub.val_acc[-1] == accuracy(model, x[:20], y[:20])


def test_same_rng_gives_bit_identical_curves_and_weights(data: Dataset) -> None:
    runs = []
    for _ in range(2):
        model = tiny_cnn(dropout=0.2)
        runs.append((train(model, data, FAST, np.random.default_rng(7)), model.state_dict()))
    (a, wa), (b, wb) = runs
    assert a.train_loss == b.train_loss and a.val_acc == b.val_acc and a.test_acc == b.test_acc
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    other = train(tiny_cnn(dropout=0.2), data, FAST, np.random.default_rng(8))
    assert other.train_loss != a.train_loss  # the batch order and dropout come from rng


def test_global_rng_and_thread_count_are_restored(data: Dataset) -> None:
    torch.set_num_threads(2)
    seen: list[int] = []

    def record(epoch: int, curve: tuple[float, ...]) -> bool:
        seen.append(torch.get_num_threads())
        return False

    try:
        torch_state, np_state = torch.get_rng_state(), np.random.get_state(legacy=False)  # noqa: NPY002
        train(tiny_cnn(dropout=0.5), data, FAST, np.random.default_rng(0), stop=record)
        assert torch.equal(torch.get_rng_state(), torch_state)
        np_after = np.random.get_state(legacy=False)  # noqa: NPY002
        assert np.array_equal(np_after["state"]["key"], np_state["state"]["key"])
        assert np_after["state"]["pos"] == np_state["state"]["pos"]
        assert torch.get_num_threads() == 2 and set(seen) == {1}
        one = Recipe(epochs=1, batch_size=32)  # short: two threads contend on a loaded machine
        train(tiny_cnn(), data, one, np.random.default_rng(0), threads=None, stop=record)
        assert seen[-1] == 2
    finally:
        torch.set_num_threads(1)  # the test session's setting (conftest)
    with pytest.raises(NasbenchError, match="threads"):
        train(tiny_cnn(), data, FAST, np.random.default_rng(0), threads=0)


def test_global_seed_does_not_change_results(data: Dataset) -> None:
    results = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)  # a test may scramble global state; the library may not
        np.random.seed(global_seed)  # noqa: NPY002
        results.append(train(tiny_cnn(dropout=0.3), data, FAST, np.random.default_rng(3)))
    assert results[0].train_loss == results[1].train_loss


class ModeProbe(nn.Module):
    """Records (training flag, grad enabled, batch size) of every forward pass."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.calls: list[tuple[bool, bool, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append((self.training, torch.is_grad_enabled(), len(x)))
        return self.inner(x)


def test_batch_norm_trains_in_train_mode_and_evaluation_runs_in_eval_mode(data: Dataset) -> None:
    probe = ModeProbe(tiny_cnn())
    norm = next(m for m in probe.modules() if isinstance(m, nn.BatchNorm1d))
    assert norm.running_mean is not None
    before = norm.running_mean.clone()
    train(probe, data, Recipe(epochs=1, batch_size=100), np.random.default_rng(0))
    # 240 samples: batches of 100, 100, 40; then one pass each over val and test
    assert probe.calls == [(True, True, 100), (True, True, 100), (True, True, 40),
                           (False, False, 60), (False, False, 60)]  # fmt: skip
    assert not torch.equal(norm.running_mean, before)  # batch statistics were used


def test_divergence_fails_without_raising(data: Dataset) -> None:
    x = data.train.x.copy()
    x[5, 0, 0] = np.inf
    bad = Dataset("bad", TASK, Split(x, data.train.y), data.val, data.test)
    result = train(tiny_cnn(), bad, FAST, np.random.default_rng(0))
    assert result.status is Status.FAILED and "diverged in epoch 1" in result.message
    assert result.epochs_run == 1 and math.isnan(result.val_acc[-1])
    assert math.isnan(result.test_acc) and math.isnan(result.final_val_acc)
    huge = Recipe(epochs=3, batch_size=32, optimizer="sgd", learning_rate=1e30)  # type: ignore[arg-type]
    result = train(tiny_cnn(), data, huge, np.random.default_rng(0))
    assert result.status is Status.FAILED and math.isnan(result.test_acc)


def test_stop_callback_ends_training_early(data: Dataset) -> None:
    calls: list[tuple[int, tuple[float, ...]]] = []

    def stop(epoch: int, curve: tuple[float, ...]) -> bool:
        calls.append((epoch, curve))
        return epoch == 2

    result = train(tiny_cnn(), data, FAST, np.random.default_rng(0), stop=stop)
    assert result.status is Status.STOPPED and result.epochs_run == 2
    assert [c[0] for c in calls] == [1, 2] and calls[-1][1] == result.val_acc
    assert math.isfinite(result.test_acc)
    full = train(tiny_cnn(), data, FAST, np.random.default_rng(0), stop=lambda e, c: e == 4)
    assert full.status is Status.OK and full.epochs_run == 4  # True after the last epoch
    assert full.val_acc[:2] == result.val_acc  # stopping does not change the epochs before


def test_data_fraction_is_a_fixed_nested_stratified_subset(data: Dataset) -> None:
    y = data.train.y
    quarter, half = train_subset(y, 0.25), train_subset(y, 0.5)
    assert set(quarter) <= set(half) and len(np.unique(half)) == len(half)
    for c in range(3):
        assert (y[half] == c).sum() == round(0.5 * (y == c).sum())
    assert np.array_equal(train_subset(y, 1.0), np.arange(len(y)))
    a = train(tiny_cnn(), data, FAST, np.random.default_rng(0), data_fraction=0.5)
    assert a.train_size == len(half) and a.steps == 4 * math.ceil(len(half) / 32)
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(NasbenchError, match="data_fraction"):
            train_subset(y, bad)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_every_optimizer_learns(data: Dataset, optimizer: str) -> None:
    lr = 0.1 if optimizer == "sgd" else 1e-2
    recipe = Recipe(optimizer=optimizer, learning_rate=lr, epochs=6, batch_size=32,  # type: ignore[arg-type]
                    weight_decay=1e-4, label_smoothing=0.1, grad_clip=5.0, warmup_epochs=1)  # fmt: skip
    result = train(tiny_cnn(), data, recipe, np.random.default_rng(0))
    assert result.status is Status.OK and result.test_acc >= 0.8
