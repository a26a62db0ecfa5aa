"""Single-Path NAS as the paper describes it (issue 22): thresholds that train (own learning rate,
no weight decay), the paper's loss ``CE + lambda * log E[latency]`` by default with the hinge as
an option, and the per-target choice of lambda of ``experiments/single_path_latency.py``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.nn import functional as F  # noqa: N812

from experiments import single_path_latency as sweep
from nasbench.core.errors import NasbenchError
from nasbench.core.registry import spaces
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo
from nasbench.core.types import Architecture, Budget, Task
from nasbench.strategies.gradient import LinearCost
from nasbench.strategies.single_path import SinglePath

SPACE = {"preset": "single_path", "width": 0.25}
TASK = Task((1, 40), 10)


class MacsLatency:
    """A noise-free, fast stand-in for ``lut:cpu``: 0.5 ms plus 1 ms per million MACs."""

    def __init__(self, device: str, space: SearchSpace, **options: Any) -> None:
        self.device, self.space = device, space

    def latency_ms(self, arch: Architecture, module: Any, task: Task) -> float:
        return 0.5 + self.space.counts(arch, task).macs / 1e6


def _info(latency_ms: float | None = None) -> SearchInfo:
    device = None if latency_ms is None else "lut:cpu"
    budget = Budget(evaluations=10, latency_ms=latency_ms, latency_device=device)
    return SearchInfo(1.0, (), budget, dataset="mnist1d")


def _started(latency_ms: float | None = None, **params: Any) -> SinglePath:
    space = spaces.create("hierarchical", **SPACE)
    defaults = {"epochs": 2, "batch_size": 8, "steps_per_epoch": 1, "latency_weight": 0.0}
    search = SinglePath(**{**defaults, **params})
    search.start(space, _info(latency_ms), role_rng(0, "strategy"), role_rng(0, "initial"))
    return search


def _hand_latency(search: SinglePath) -> None:
    """E[latency] = 2 + (0.5 if block0's kernel is 3 else 1.5) ms, at lambda 0.7."""
    search.latency_weight = 0.7
    search.latency_ = LinearCost(2.0, {"block0.kernel": torch.tensor([0.5, 1.5])})


def _thresholds(search: SinglePath) -> list[torch.Tensor]:
    return [p.detach().clone() for p in search.net_.threshold_parameters()]


def test_log_loss_is_cross_entropy_plus_lambda_log_latency() -> None:
    search = _started()
    _hand_latency(search)
    x, y = search.val_[0][:8], search.val_[1][:8]
    search.net_.eval()
    weights = search._weights()
    # thresholds at 0: every indicator open, block0 runs the 5-wide kernel
    assert search.expected_latency_ms(weights).detach().item() == pytest.approx(3.5, abs=1e-6)
    assert search._cost_loss(weights).item() == pytest.approx(0.7 * math.log(3.5), rel=1e-6)
    ce = F.cross_entropy(search._forward(x, weights), y)
    total = search._arch_loss(x, y)
    assert total.item() == pytest.approx(ce.item() + 0.7 * math.log(3.5), rel=1e-6)
    with torch.no_grad():
        search.net_.thresholds[0].kernel.fill_(1e3)  # block0's shell closed: kernel 3
    assert search._cost_loss(search._weights()).item() == pytest.approx(0.7 * math.log(2.5))


def test_log_loss_ignores_the_budget_target() -> None:
    search = _started(latency_ms=1.0)  # far below E[latency]: the paper's loss has no target
    _hand_latency(search)
    assert search._cost_loss(search._weights()).item() == pytest.approx(0.7 * math.log(3.5))


def test_hinge_is_zero_below_the_target_and_log_ratio_above() -> None:
    below = _started(latency_ms=10.0, latency_loss="hinge")
    _hand_latency(below)
    assert below._cost_loss(below._weights()).item() == 0.0
    above = _started(latency_ms=2.0, latency_loss="hinge")
    _hand_latency(above)
    expected = 0.7 * math.log(3.5 / 2.0)
    assert above._cost_loss(above._weights()).item() == pytest.approx(expected, rel=1e-6)


def test_bad_loss_settings_are_errors() -> None:
    with pytest.raises(NasbenchError, match="latency_loss must be one of log, hinge"):
        SinglePath(latency_loss="square")
    with pytest.raises(NasbenchError, match="threshold_lr must be > 0"):
        SinglePath(threshold_lr=0.0)
    with pytest.raises(NasbenchError, match="'hinge' needs the budget's latency_ms"):
        _started(latency_loss="hinge", latency_weight=1.0)


def test_thresholds_have_their_own_learning_rate_and_no_weight_decay() -> None:
    search = _started(threshold_lr=0.2, arch_lr=1e-3, arch_weight_decay=0.5)
    logits, thresholds = search.arch_opt_.param_groups
    assert (thresholds["lr"], thresholds["weight_decay"]) == (0.2, 0.0)
    assert (logits["lr"], logits["weight_decay"]) == (1e-3, 0.5)
    assert {id(p) for p in thresholds["params"]} == {
        id(p) for p in search.net_.threshold_parameters()
    }
    with torch.no_grad():
        for p in [*thresholds["params"], *logits["params"]]:
            p.fill_(2.0)
    for p in [*thresholds["params"], *logits["params"]]:
        p.grad = torch.zeros_like(p)
    search.arch_opt_.step()  # a step with zero gradient: only weight decay could move them
    assert all(torch.equal(p.detach(), torch.full_like(p, 2.0)) for p in thresholds["params"])
    assert all(float(p.detach().max()) < 2.0 for p in logits["params"])  # decayed


def test_thresholds_start_at_zero_receive_gradients_and_move(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("nasbench.strategies.single_path.latency_model", MacsLatency)
    search = _started(latency_weight=1.0, latency_samples=80, threshold_lr=0.1)
    assert all(float(t.abs().max()) == 0.0 for t in _thresholds(search))  # authors' init
    x, y = search.val_[0][:8], search.val_[1][:8]
    search._arch_loss(x, y).backward()
    for p in search.net_.threshold_parameters():
        assert p.grad is not None and float(p.grad.abs().min()) > 0
    search.ask(1)  # one arch step at threshold_lr: Adam's first step moves each by about 0.1
    moved = torch.cat([t.flatten() for t in _thresholds(search)]).abs()
    assert float(moved.min()) > 0.05


def _found(monkeypatch: pytest.MonkeyPatch, **params: Any) -> tuple[str, float]:
    monkeypatch.setattr("nasbench.strategies.single_path.latency_model", MacsLatency)
    search = _started(**{"epochs": 2, "batch_size": 16, "steps_per_epoch": 10,
                         "threshold_lr": 0.3, "latency_samples": 80, **params})  # fmt: skip
    (proposal,) = search.ask(2)[-1:]
    space = search.space_
    return space.format(proposal.arch), MacsLatency("", space).latency_ms(proposal.arch, None, TASK)


@pytest.mark.parametrize("loss", ["log", "hinge"])
def test_large_lambda_under_a_tight_target_closes_the_thresholds(
    monkeypatch: pytest.MonkeyPatch, loss: str
) -> None:
    free_arch, free_ms = _found(monkeypatch, latency_weight=0.0)
    # a target below every architecture of the space (the log loss does not read it)
    tight_arch, tight_ms = _found(
        monkeypatch, latency_weight=10.0, latency_loss=loss, latency_ms=0.1
    )

    def smaller(text: str) -> int:
        return sum(b == "l-1" or "k3" in b or "mbconv3" in b for b in text.split("|"))

    assert tight_ms - 0.5 < 0.7 * (free_ms - 0.5)  # MACs: 0.5 ms is MacsLatency's intercept
    assert smaller(tight_arch) >= smaller(free_arch) + 6  # 12 blocks: most closed


def test_replay_keeps_the_threshold_group() -> None:
    first = _started(threshold_lr=0.2)
    journal = [p.arch for p in first.ask(1)]
    second = _started(threshold_lr=0.2)  # a resumed run: the same generators, retrained
    assert [g["lr"] for g in second.arch_opt_.param_groups] == [3e-4, 0.2]
    assert [p.arch for p in second.ask(1)] == journal
    assert [p.arch for p in second.ask(1)] == [p.arch for p in first.ask(1)]
    for a, b in zip(
        second.net_.threshold_parameters(), first.net_.threshold_parameters(), strict=True
    ):
        assert torch.equal(a, b)


# ---- the per-target choice of lambda (experiments/single_path_latency.py) -----------------
def _f(weight: float, seed: int, ms: float) -> sweep.Found:
    return sweep.Found(weight, seed, "", ms, 0.0)


def test_pick_is_closest_to_the_target_from_below() -> None:
    found = [_f(0.0, 0, 4.0), _f(0.5, 0, 2.9), _f(1.0, 0, 2.0), _f(2.0, 0, 1.5)]
    assert sweep.pick(found, 3.0) == (found[1], True)
    assert sweep.pick(found, 2.0) == (found[2], True)  # equal to the target: met
    assert sweep.pick(found, 1.0) == (found[3], False)  # none meets it: the fastest


def test_choose_wants_every_seed_to_meet_the_target() -> None:
    found = [
        *(_f(0.5, s, ms) for s, ms in enumerate((2.9, 3.2))),  # one seed above 3
        *(_f(1.0, s, ms) for s, ms in enumerate((2.5, 2.7))),  # both below: mean 2.6
        *(_f(2.0, s, ms) for s, ms in enumerate((1.5, 1.6))),
    ]
    assert sweep.choose(found, 3.0) == 1.0
    assert sweep.choose(found, 10.0) == 0.5  # every lambda meets it: the largest latency
    assert sweep.choose(found, 1.55) == 2.0  # none on every seed: the most seeds met
    with pytest.raises(NasbenchError, match="at least one search"):
        sweep.choose([], 1.0)


def test_write_section_replaces_its_own_settings_only(tmp_path: Path) -> None:
    path = tmp_path / "latency-targets.md"
    sweep.write_section(path, "## width 0.25\n\nfirst\n")
    sweep.write_section(path, "## width 0.5\n\nother\n")
    sweep.write_section(path, "## width 0.25\n\nsecond\n")
    text = path.read_text()
    assert text.startswith(sweep.TITLE)
    assert "second" in text and "first" not in text and "other" in text
    assert text.index("## width 0.25") < text.index("## width 0.5")
