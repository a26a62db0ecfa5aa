"""TAS: transformable architecture search over widths and depths, with a MACs loss.

>>> from nasbench.registry import spaces
>>> from nasbench.seeding import role_rng
>>> from nasbench.strategy import SearchInfo
>>> from nasbench.types import Budget
>>> space = spaces.create("hierarchical", preset="tas", width=0.25)
>>> info = SearchInfo(1.0, (), Budget(evaluations=2), dataset="mnist1d")
>>> search = Tas(epochs=2, batch_size=16, steps_per_epoch=2, cost_samples=50)
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> (proposal,) = search.ask(1)
>>> float(search.expected_macs_m().detach()) > 0
True

Dong & Yang, "Network Pruning via Transformable Architecture Search" (NeurIPS 2019), on the
hierarchical space. Each block's width (``filters``) and depth (``layers``) decision is a
distribution ``softmax(alpha)``; every forward samples it with the Gumbel-softmax at
temperature ``tau`` (Sec. 3.1; annealed linearly from ``tau_max`` to ``tau_min`` over the
planned epochs as in GDAS), and the supernet aligns the sampled widths by channel-wise
interpolation (masking, see :mod:`nasbench.spaces.hierarchical_supernet`) and mixes the depths.
The other decisions of the space (op, kernel, squeeze-excite, skip) are relaxed by a plain
softmax as in DARTS (TAS searches widths and depths only; in the ``tas`` preset they have one
choice). The architecture loss adds the cost loss of Sec. 3.2::

    L_cost = log E[MACs]   if E[MACs] > (1 + tolerance) R
             0             if (1 - tolerance) R <= E[MACs] <= (1 + tolerance) R
            -log E[MACs]   if E[MACs] < (1 - tolerance) R

weighted by ``cost_weight``, ``R`` the target: ``info.budget.macs_m`` if the budget caps MACs,
else ``macs_ratio`` times the largest MACs among the samples below. ``E[MACs]`` (millions) is a
linear model over the choices fitted by least squares to ``space.counts`` of ``cost_samples``
architectures sampled with the strategy's ``rng``, evaluated at the softmax distributions. The
derived architecture takes the most probable width, depth and other choices. TAS's final
knowledge-distillation training of the searched network is the evaluator's business here.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from nasbench.registry import strategies
from nasbench.supernet import gumbel_weights
from nasbench.types import Task

from .gdas import TAU_SOURCES
from .gradient import (
    BASE_SOURCES,
    GradientSearch,
    LinearCost,
    _check,
    _check_int,
    annealed,
    fit_linear_cost,
)

SAMPLED = (".filters", ".layers")  # TAS's searched decisions: width and depth


@strategies.register("tas")
class Tas(GradientSearch):
    """TAS; hyperparameters of :class:`GradientSearch` plus the cost loss and temperature."""

    paper: ClassVar[str] = (
        "Dong & Yang, Network Pruning via Transformable Architecture Search, NeurIPS 2019; "
        "with pruning as SCAS Algorithm 2"
    )
    sources: ClassVar[dict[str, str]] = {
        **BASE_SOURCES,
        **TAU_SOURCES,
        "macs_ratio": "ours: TAS prunes CIFAR ResNets to about half their FLOPs",
        "cost_weight": "TAS Sec. 4: lambda_cost = 2",
        "tolerance": "ours: a 5 % band around the target, TAS's tolerance t",
        "cost_samples": "ours: enough samples to fit one coefficient per choice",
    }
    spaces: ClassVar[tuple[str, ...] | None] = ("hierarchical",)
    conformance: ClassVar[dict[str, Any]] = {**GradientSearch.conformance, "cost_samples": 30}

    def __init__(
        self,
        macs_ratio: float = 0.5,
        cost_weight: float = 2.0,
        tolerance: float = 0.05,
        cost_samples: int = 200,
        tau_max: float = 10.0,
        tau_min: float = 0.1,
        epochs: int = 50,
        batch_size: int = 64,
        steps_per_epoch: int = 0,
        weight_lr: float = 0.025,
        weight_decay: float = 3e-4,
        arch_lr: float = 3e-4,
        arch_weight_decay: float = 1e-3,
    ) -> None:
        _check("macs_ratio", macs_ratio, lambda v: 0 < v <= 1, "in (0, 1]")
        _check("cost_weight", cost_weight, lambda v: v >= 0, ">= 0")
        _check("tolerance", tolerance, lambda v: 0 <= v < 1, "in [0, 1)")
        _check_int("cost_samples", cost_samples, 1)
        _check("tau_min", tau_min, lambda v: v > 0, "> 0")
        _check("tau_max", tau_max, lambda v: v >= tau_min, f">= tau_min ({tau_min})")
        super().__init__(
            epochs, batch_size, steps_per_epoch, weight_lr, weight_decay, arch_lr,
            arch_weight_decay,
        )  # fmt: skip
        self.macs_ratio, self.cost_weight, self.tolerance = macs_ratio, cost_weight, tolerance
        self.cost_samples, self.tau_max, self.tau_min = cost_samples, tau_max, tau_min

    def _setup(self, task: Task, rng: np.random.Generator) -> None:
        archs = [self.space_.sample(rng) for _ in range(self.cost_samples)]
        macs_m = [self.space_.counts(a, task).macs / 1e6 for a in archs]
        self.macs_ = fit_linear_cost(self.space_, archs, macs_m)
        budget = self.info_.budget.macs_m
        self.target_m_ = budget if budget is not None else self.macs_ratio * max(macs_m)

    def tau(self) -> float:
        """The Gumbel temperature of the current epoch."""
        return annealed(self.tau_max, self.tau_min, self.epoch_, self.epochs)

    def _weights(self) -> dict[str, torch.Tensor]:
        weights = {k: torch.softmax(v, dim=0) for k, v in self.logits_.items()}
        sampled = {k: v for k, v in self.logits_.items() if k.endswith(SAMPLED)}
        weights.update(gumbel_weights(sampled, self.tau(), self.noise_, hard=False))
        return weights

    def expected_macs_m(self) -> torch.Tensor:
        """Expected MACs (millions) under the current distributions (differentiable)."""
        return self.macs_({k: torch.softmax(v, dim=0) for k, v in self.logits_.items()})

    def _cost_loss(self, weights: dict[str, torch.Tensor]) -> torch.Tensor:
        expected = self.expected_macs_m().clamp_min(1e-9)
        target, band = self.target_m_, self.tolerance
        value = float(expected.detach())
        if value > (1 + band) * target:
            return self.cost_weight * torch.log(expected)
        if value < (1 - band) * target:
            return -self.cost_weight * torch.log(expected)
        return torch.zeros(())

    def _extra_state(self) -> dict[str, Any]:
        return {"macs": self.macs_.to_json(), "target_m": self.target_m_}

    def _restore_extra(self, state: dict[str, Any]) -> None:
        self.macs_ = LinearCost.from_json(state["macs"])
        self.target_m_ = float(state["target_m"])
