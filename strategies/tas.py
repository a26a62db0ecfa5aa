"""TAS: transformable architecture search over widths and depths, with a MACs loss.

>>> from nasbench.core.registry import spaces
>>> from nasbench.core.seeding import role_rng
>>> from nasbench.core.strategy import SearchInfo
>>> from nasbench.core.types import Budget
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
planned epochs, TAS's 10 to 0.1), and the supernet aligns the sampled widths by channel-wise
interpolation (masking, see :mod:`nasbench.spaces.hierarchical_supernet`) and mixes the depths.
TAS searches widths and depths only: on the hierarchical ``tas`` preset those are the only
decisions (op, kernel, squeeze-excite and skip have one choice), which is the paper's search.
On another preset the other decisions are relaxed by a plain softmax as in DARTS (an extension
beyond the paper, not TAS). The architecture loss adds the cost loss of Sec. 3.2::

    L_cost = log E[MACs]   if F(A) > (1 + tolerance) R
             0             if (1 - tolerance) R <= F(A) <= (1 + tolerance) R
            -log E[MACs]   if F(A) < (1 - tolerance) R

(:func:`cost_loss`) weighted by ``cost_weight`` (TAS: lambda_cost = 2). As in the paper the case
is decided by ``F(A)``, the MACs of the architecture derived from the current distributions (the
most probable width and depth of every block, exact ``space.counts``), and the gradient flows
through ``log E[MACs]``, the expected MACs under them. ``R`` is the target: ``macs_ratio`` times
the MACs of the unpruned network (the largest width and depth of every block,
:func:`nasbench.core.space.unpruned_architecture`), as TAS sets its FLOPs target as a
ratio of the unpruned network's; ``info.budget.macs_m`` instead when the budget caps MACs; on a
preset with other decisions, which has no single unpruned network, ``macs_ratio`` times the
largest MACs among the cost samples below. The band is the paper's, symmetric around ``R``
(the authors' released search code tests ``F(A) > R`` and ``F(A) < R - tolerance * F_max``).
``E[MACs]`` (millions) is a linear model over the choices fitted by least squares to
``space.counts`` of ``cost_samples`` architectures sampled with the strategy's ``rng``, evaluated
at the softmax distributions (ours; TAS sums per-layer expectations). The derived architecture
takes the most probable width, depth and other choices.

TAS then trains the searched network with knowledge distillation from the unpruned one (Sec.
3.3): that is the ``train`` evaluator's ``distill_from = "unpruned"``
(:mod:`nasbench.evaluation.train`), which trains the unpruned network once per run and distils
it into every architecture it evaluates (TAS's KD weight 0.9 and temperature 4). A table or
surrogate evaluator answers with plain, undistilled training.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from nasbench.core.errors import NasbenchError
from nasbench.core.params import param
from nasbench.core.registry import strategies
from nasbench.core.space import SearchSpace, unpruned_architecture
from nasbench.core.supernet import gumbel_weights
from nasbench.core.types import Architecture, Task

from .gdas import TAU_MAX, TAU_MIN
from .gradient import GradientSearch, annealed, fit_linear_cost

SAMPLED = (".filters", ".layers")  # TAS's searched decisions: width and depth


def cost_loss(
    expected_m: torch.Tensor, actual_m: float, target_m: float, tolerance: float, weight: float
) -> torch.Tensor:
    """TAS's cost loss (Sec. 3.2), times ``weight``: ``weight * log(expected_m)`` when the derived
    architecture's cost ``actual_m`` exceeds ``(1 + tolerance) * target_m`` (pull the expected
    cost down), ``-weight * log(expected_m)`` when it is below ``(1 - tolerance) * target_m``
    (push it up), else 0. ``expected_m`` is the differentiable expected cost (positive)."""
    if actual_m > (1 + tolerance) * target_m:
        return weight * torch.log(expected_m)
    if actual_m < (1 - tolerance) * target_m:
        return -weight * torch.log(expected_m)
    return torch.zeros(())


def unpruned(space: SearchSpace) -> Architecture | None:
    """The space's unpruned network (largest width and depth everywhere), or ``None`` when the
    space decides more than widths and depths."""
    try:
        return unpruned_architecture(space)
    except NasbenchError:
        return None


@strategies.register("tas")
class Tas(GradientSearch):
    """TAS; hyperparameters of :class:`GradientSearch` plus the cost loss and temperature."""

    paper: ClassVar[str] = (
        "Dong & Yang, Network Pruning via Transformable Architecture Search, NeurIPS 2019; "
        "with pruning as SCAS Algorithm 2"
    )
    spaces: ClassVar[tuple[str, ...] | None] = ("hierarchical",)
    conformance: ClassVar[dict[str, Any]] = {**GradientSearch.conformance, "cost_samples": 30}

    macs_ratio: float = param(0.5, gt=0, le=1, source=(
        "TAS Sec. 3.2: the target R as a ratio of the unpruned network's FLOPs; "
        "ours: half, TAS prunes CIFAR ResNets to about half their FLOPs"
    ))  # fmt: skip
    cost_weight: float = param(
        2.0, ge=0, source="TAS Sec. 4: lambda_cost = 2 (its released search scripts: FLOP_weight 2)"
    )
    tolerance: float = param(
        0.05, ge=0, lt=1, source="TAS Sec. 3.2: the tolerance ratio t; its released search "
        "scripts: 0.05"
    )  # fmt: skip
    cost_samples: int = param(
        200, ge=1, source="ours: enough samples to fit one coefficient per choice"
    )
    tau_max: float = TAU_MAX
    tau_min: float = TAU_MIN

    def _setup(self, task: Task, rng: np.random.Generator) -> None:
        self.task_ = task
        archs = [self.space_.sample(rng) for _ in range(self.cost_samples)]
        macs_m = [self.space_.counts(a, task).macs / 1e6 for a in archs]
        self.macs_ = fit_linear_cost(self.space_, archs, macs_m)
        self.unpruned_ = unpruned(self.space_)
        full = self.unpruned_
        self.unpruned_m_ = (
            max(macs_m) if full is None else self.space_.counts(full, task).macs / 1e6
        )
        budget = self.info_.budget.macs_m
        self.target_m_ = budget if budget is not None else self.macs_ratio * self.unpruned_m_

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

    def derived_macs_m(self) -> float:
        """MACs (millions) of the architecture derived from the current distributions: TAS's
        F_cost(A), which picks the case of the cost loss."""
        return self.space_.counts(self._derive(), self.task_).macs / 1e6

    def _cost_loss(self, weights: dict[str, torch.Tensor]) -> torch.Tensor:
        expected = self.expected_macs_m().clamp_min(1e-9)
        return cost_loss(
            expected, self.derived_macs_m(), self.target_m_, self.tolerance, self.cost_weight
        )
