"""TAS as in Dong & Yang, "Network Pruning via Transformable Architecture Search" (NeurIPS 2019):
knowledge distillation from the unpruned network (Sec. 3.3; the ``train`` evaluator's
``distill_from``, :func:`nasbench.training.trainer.distillation_loss`), the cost loss of Sec. 3.2, and the
width/depth-only search on the hierarchical ``tas`` preset."""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

import nasbench.evaluation.trained as trained_module
from nasbench.core.errors import NasbenchError
from nasbench.core.registry import evaluators, spaces, strategies
from nasbench.core.seeding import role_rng
from nasbench.core.space import unpruned_architecture
from nasbench.core.strategy import SearchInfo
from nasbench.core.types import Budget, Status, Task
from nasbench.core.weights import materialise
from nasbench.engine.runner import run
from nasbench.engine.suite import parse_suite
from nasbench.strategies.tas import SAMPLED, cost_loss
from nasbench.training.datasets import Dataset
from nasbench.training.trainer import (
    TAS_DISTILL_TEMPERATURE,
    TAS_DISTILL_WEIGHT,
    Recipe,
    distillation_loss,
    train,
)
from tests.helpers import toy_split

TASK = Task((2, 12), 3, "toy")
TAS = {"preset": "tas", "width": 0.25}
FAST = {"batch_size": 100}


@pytest.fixture(scope="module")
def data() -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset("toy", TASK, toy_split(120, rng), toy_split(30, rng), toy_split(30, rng))


def tiny_cnn(seed: int = 0, classes: int = 3) -> nn.Module:
    with torch.device("meta"):
        net = nn.Sequential(
            nn.Conv1d(2, 4, 3, padding=1),
            nn.BatchNorm1d(4),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(3),
            nn.Flatten(),
            nn.Linear(12, classes),
        )
    return materialise(net, np.random.default_rng(seed))


@pytest.fixture(scope="module")
def teacher(data: Dataset) -> nn.Module:
    model = tiny_cnn(seed=5)
    train(model, data, Recipe(epochs=3, batch_size=30), np.random.default_rng(9))
    return model


# ---- the distillation loss -----------------------------------------------------------------------
def test_distillation_loss_is_hintons_on_hand_values() -> None:
    student = torch.tensor([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]])
    teacher = torch.tensor([[3.0, 1.0, 0.0], [0.0, 0.0, 4.0]])
    target = torch.tensor([0, 2])
    a, t = 0.75, 2.0

    def softmax(z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    s, te = student.double().numpy(), teacher.double().numpy()
    ce = -np.mean(np.log(softmax(s)[np.arange(2), target.numpy()]))
    p, q = softmax(te / t), softmax(s / t)
    kl = np.sum(p * (np.log(p) - np.log(q))) / 2  # summed over classes, mean over the batch
    expected = (1 - a) * ce + a * t * t * kl
    got = float(distillation_loss(student, teacher, target, a, t))
    assert got == pytest.approx(expected, rel=1e-6)
    # weight 0 is the plain cross entropy; weight 1 the distillation term alone
    assert float(distillation_loss(student, teacher, target, 0.0, t)) == pytest.approx(ce)
    assert float(distillation_loss(student, teacher, target, 1.0, t)) == pytest.approx(t * t * kl)
    # the teacher's logits carry no gradient
    leaf = teacher.clone().requires_grad_()
    distillation_loss(student.requires_grad_(), leaf, target, a, t).backward()
    assert leaf.grad is None and student.grad is not None
    assert (TAS_DISTILL_WEIGHT, TAS_DISTILL_TEMPERATURE) == (0.9, 4.0)  # TAS's released code
    assert Recipe().distill_weight == 0.0 and Recipe().distill_temperature == 4.0


def test_the_loss_at_step_zero_is_the_formula(data: Dataset, teacher: nn.Module) -> None:
    """One epoch of one batch of every sample: the recorded loss is the distillation loss of the
    untrained student (train mode) against the teacher (eval mode) on that batch."""
    recipe = Recipe(epochs=1, batch_size=120, distill_weight=0.6, distill_temperature=3.0)
    student = tiny_cnn(seed=1)
    before = copy.deepcopy(student).train()
    x, y = torch.tensor(data.train.x), torch.tensor(data.train.y)
    teacher.eval()
    with torch.no_grad():
        expected = distillation_loss(before(x), teacher(x), y, 0.6, 3.0)
    result = train(student, data, recipe, np.random.default_rng(0), teacher=teacher)
    assert result.steps == 1
    assert result.train_loss[0] == pytest.approx(float(expected), rel=1e-5)
    plain = train(tiny_cnn(seed=1), data, replace(recipe, distill_weight=0.0),
                  np.random.default_rng(0), teacher=teacher)  # fmt: skip
    assert plain.train_loss[0] != pytest.approx(result.train_loss[0], rel=1e-3)


def test_distillation_changes_training_and_weight_zero_is_bit_identical(
    data: Dataset, teacher: nn.Module
) -> None:
    recipe = Recipe(epochs=2, batch_size=30)
    teacher_state = {k: v.clone() for k, v in teacher.state_dict().items()}
    teacher.train()  # its flag is restored after the logits are taken in eval mode
    runs = {}
    for name, weight, given in (("plain", 0.0, None), ("zero", 0.0, teacher),
                                ("kd", 0.9, teacher), ("kd_again", 0.9, teacher)):  # fmt: skip
        model, rng = tiny_cnn(seed=2), np.random.default_rng(4)
        result = train(model, data, replace(recipe, distill_weight=weight), rng, teacher=given)
        runs[name] = (result, model.state_dict(), int(rng.integers(2**62)))
    plain, zero, kd, again = (runs[k] for k in ("plain", "zero", "kd", "kd_again"))

    def same(a: tuple, b: tuple) -> bool:
        return (a[0].train_loss == b[0].train_loss and a[0].val_acc == b[0].val_acc
                and all(torch.equal(a[1][k], b[1][k]) for k in a[1]))  # fmt: skip

    assert same(plain, zero)  # distill_weight 0: the plain loop, bit for bit
    assert same(kd, again)  # deterministic
    assert not same(plain, kd)  # the distillation term changed the weights
    assert not torch.equal(plain[1]["5.weight"], kd[1]["5.weight"])
    assert plain[2] == kd[2]  # the teacher draws nothing from rng
    assert teacher.training and all(torch.equal(v, teacher_state[k])
                                    for k, v in teacher.state_dict().items())  # fmt: skip


def test_bad_distillation_settings_raise_one_clear_line(data: Dataset) -> None:
    with pytest.raises(NasbenchError, match=r"recipe distill_weight must be in \[0, 1\], got -0.1"):
        Recipe(distill_weight=-0.1)
    with pytest.raises(NasbenchError, match="recipe distill_temperature must be > 0"):
        Recipe(distill_temperature=0.0)
    wrong = tiny_cnn(classes=5)
    with pytest.raises(NasbenchError, match="the task has 3 classes"):
        train(tiny_cnn(), data, Recipe(epochs=1, distill_weight=0.5), np.random.default_rng(0),
              teacher=wrong)  # fmt: skip


# ---- the unpruned network as the evaluator's teacher ---------------------------------------------
def test_the_unpruned_network_is_the_largest_width_and_depth() -> None:
    space = spaces.create("hierarchical", **TAS)
    arch = unpruned_architecture(space)
    assert arch.values == ("+0", "1.0") * 3
    task = Task((1, 40), 10, "mnist1d")
    top = space.counts(arch, task).macs
    rng = np.random.default_rng(0)
    assert all(space.counts(space.sample(rng), task).macs <= top for _ in range(100))
    for name, params in (("chain", {}), ("hierarchical", {"width": 0.5})):
        with pytest.raises(NasbenchError, match="has no unpruned network: it decides"):
            unpruned_architecture(spaces.create(name, **params))


def test_distill_from_settings_are_checked() -> None:
    tas = spaces.create("hierarchical", **TAS)
    with pytest.raises(NasbenchError, match="unknown distill_from 'big'"):
        evaluators.create("train", space=tas, distill_from="big")
    with pytest.raises(NasbenchError, match="has no unpruned network"):
        evaluators.create("train", space=spaces.create("chain"), distill_from="unpruned")
    with pytest.raises(NasbenchError, match="trains a teacher for nothing"):
        evaluators.create("train", space=tas, distill_from="unpruned",
                          recipe={"distill_weight": 0.0})  # fmt: skip
    with pytest.raises(NasbenchError, match="needs a teacher: set distill_from"):
        evaluators.create("train", space=tas, recipe={"distill_weight": 0.5})
    with pytest.raises(NasbenchError, match="teacher_seed must be a whole number"):
        evaluators.create("train", space=tas, distill_from="unpruned", teacher_seed=-1)
    ev = evaluators.create("train", space=tas, distill_from="unpruned")
    assert ev.recipe.distill_weight == TAS_DISTILL_WEIGHT  # TAS's weight unless the recipe says
    given = evaluators.create("train", space=tas, distill_from="unpruned",
                              recipe={"distill_weight": 0.5, "distill_temperature": 2.0})  # fmt: skip
    assert (given.recipe.distill_weight, given.recipe.distill_temperature) == (0.5, 2.0)


def test_the_teacher_is_trained_once_and_charged_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[0])
        return train(*args, **kwargs)

    monkeypatch.setattr(trained_module, "train", counting)
    space = spaces.create("hierarchical", **TAS)
    ev = evaluators.create("train", space=space, epochs=1, distill_from="unpruned", recipe=FAST)
    small = space.make(("-2", "0.5") * 3)
    first = ev.evaluate(small, 1.0, np.random.default_rng(0))
    second = ev.evaluate(small, 1.0, np.random.default_rng(0))
    teacher, result = ev.teacher()
    assert len(calls) == 1 and calls[0] is teacher  # trained once, on first use
    extra = dict(first.extra)
    assert extra["teacher_cost_s"] == result.cost_s > 0
    assert extra["teacher_val_acc"] == result.final_val_acc
    assert extra["teacher_test_acc"] == result.test_acc
    assert first.cost_s > result.cost_s  # the teacher plus the student's own training
    assert second.extra == () and second.status is Status.OK
    assert second.val_acc == first.val_acc and second.curve == first.curve  # same rng, same run
    # the teacher is a function of the settings: another evaluator trains the same network
    other = evaluators.create("train", space=space, epochs=1, distill_from="unpruned", recipe=FAST)
    other.replay(small, 1.0, first)  # a resumed run: its first evaluation paid for the teacher
    third = other.evaluate(small, 1.0, np.random.default_rng(0))
    assert third.extra == () and third.val_acc == first.val_acc and len(calls) == 2
    twin = other.teacher()[0].state_dict()
    assert all(torch.equal(v, twin[k]) for k, v in teacher.state_dict().items())
    # distilling differs from plain training of the same architecture with the same rng
    plain = evaluators.create("train", space=space, epochs=1, recipe=FAST)
    assert plain.evaluate(small, 1.0, np.random.default_rng(0)).curve != first.curve


# ---- the search ----------------------------------------------------------------------------------
def test_cost_loss_three_cases_on_hand_values() -> None:
    expected = torch.tensor(4.0, requires_grad=True)
    target, band, weight = 10.0, 0.05, 2.0
    high = cost_loss(expected, 10.6, target, band, weight)  # F(A) > 1.05 R: log E, pull down
    assert float(high.detach()) == pytest.approx(2 * math.log(4.0))
    high.backward()
    assert expected.grad is not None and float(expected.grad) == pytest.approx(2 / 4.0)
    low = cost_loss(expected, 9.4, target, band, weight)  # F(A) < 0.95 R: -log E, push up
    assert float(low.detach()) == pytest.approx(-2 * math.log(4.0))
    for inside in (9.5, 10.0, 10.5):  # within the band (its edges included): no cost loss
        assert float(cost_loss(expected, inside, target, band, weight)) == 0.0
    # the case follows the derived architecture's cost, not the expected one
    assert float(cost_loss(torch.tensor(50.0), 1.0, target, band, weight)) < 0


def started(params: dict, **kwargs: float):  # type: ignore[no-untyped-def]
    space = spaces.create("hierarchical", **params)
    info = SearchInfo(1.0, (), Budget(evaluations=3), dataset="mnist1d")
    tas = strategies.create("tas", epochs=2, batch_size=16, steps_per_epoch=1, cost_samples=40,
                            **kwargs)  # fmt: skip
    tas.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
    return tas, space


def test_tas_searches_only_width_and_depth_on_its_preset() -> None:
    tas, space = started(TAS)
    names = [d.name for d in space.decisions()]
    assert len(names) == 6 and all(n.endswith(SAMPLED) for n in names)
    assert sorted(tas.logits_) == sorted(names)  # no op, kernel, SE or skip to relax
    weights = tas._weights()
    for name, logits in tas.logits_.items():  # every decision is Gumbel-sampled
        assert not torch.allclose(weights[name], torch.softmax(logits, 0))
    (proposal,) = tas.ask(1)
    assert all(v in ("+0", "-1", "-2", "1.0", "0.75", "0.5", "0.25") for v in proposal.arch.values)
    # on another preset the other decisions are there too (relaxed by a softmax)
    wide, _ = started({"width": 0.25})
    assert any(not n.endswith(SAMPLED) for n in wide.logits_)


def test_tas_target_is_a_ratio_of_the_unpruned_network() -> None:
    tas, space = started(TAS, macs_ratio=0.4)
    full = unpruned_architecture(space)
    assert tas.unpruned_ == full
    assert tas.unpruned_m_ == space.counts(full, tas.task_).macs / 1e6
    assert tas.target_m_ == pytest.approx(0.4 * tas.unpruned_m_)
    # uniform logits derive the first choices: the unpruned network, above the target
    assert tas.derived_macs_m() == tas.unpruned_m_
    expected = tas.expected_macs_m().clamp_min(1e-9)
    assert float(tas._cost_loss({}).detach()) == pytest.approx(
        2.0 * math.log(float(expected.detach()))
    )
    with torch.no_grad():  # the narrowest, shallowest network: below the target
        for logits in tas.logits_.values():
            logits.zero_()
            logits[-1] = 5.0
    assert tas.derived_macs_m() < 0.95 * tas.target_m_
    expected = tas.expected_macs_m().clamp_min(1e-9)
    assert float(tas._cost_loss({}).detach()) == pytest.approx(
        -2.0 * math.log(float(expected.detach()))
    )
    # a preset without one unpruned network: the largest sampled MACs
    other, _ = started({"width": 0.25}, macs_ratio=0.4)
    assert other.unpruned_ is None
    assert other.target_m_ == pytest.approx(0.4 * other.unpruned_m_)


def test_tas_with_a_distilling_evaluator_in_a_suite() -> None:
    suite = parse_suite("""
[suite]
name = "t"
[budget]
evaluations = 2
[[task]]
space = "hierarchical"
space_params = { preset = "tas", width = 0.25 }
evaluator = "train"
dataset = "mnist1d"
epochs = 1
distill_from = "unpruned"
recipe = { batch_size = 500 }
[[strategy]]
name = "tas"
epochs = 2
steps_per_epoch = 1
batch_size = 16
cost_samples = 30
""")
    rec = run(suite.specs()[0], 0).records
    assert len(rec) == 2 and all(r.status == "ok" for r in rec)
    first, second = (dict(r.extra) for r in rec)
    assert first["teacher_cost_s"] > 0 and "teacher_cost_s" not in second
    # monitor proposals: the runner charges the supernet epoch, the evaluation (teacher
    # included) is recorded as eval_cost_s
    assert first["eval_cost_s"] > first["teacher_cost_s"]
    assert rec[0].cost_s == first["search_cost_s"]


def test_a_table_of_another_preset_refuses_the_tas_preset() -> None:
    """The hierarchical table records only its width; its space check compares decisions, so
    the tas preset (widths and depths only) is refused instead of answered wrongly."""
    from nasbench.core.errors import NasbenchError
    from nasbench.core.registry import evaluators, spaces

    tas = spaces.create("hierarchical", preset="tas", width=0.5)
    for mode in ("surrogate", "tabular"):
        with pytest.raises(NasbenchError, match="decisions differ from this space's"):
            evaluators.create(mode, space=tas, benchmark="hierarchical-mnist1d")
    same = spaces.create("hierarchical", width=0.5)  # the table's own space still passes
    evaluators.create("tabular", space=same, benchmark="hierarchical-mnist1d")
