"""Single-Path NAS: superkernel thresholds and a differentiable latency loss.

>>> from nasbench.core.registry import spaces
>>> from nasbench.core.seeding import role_rng
>>> from nasbench.core.strategy import SearchInfo
>>> from nasbench.core.types import Budget
>>> space = spaces.create("hierarchical", preset="single_path", width=0.25)
>>> info = SearchInfo(1.0, (), Budget(evaluations=2), dataset="mnist1d")
>>> search = SinglePath(latency_weight=0.0, epochs=2, batch_size=16, steps_per_epoch=2)
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> (proposal,) = search.ask(1)
>>> space.format(proposal.arch) == space.format(search._derive())
True
>>> [g["weight_decay"] for g in search.arch_opt_.param_groups]  # logits, thresholds
[0.001, 0.0]

Stamoulis et al., "Single-Path NAS: Designing Hardware-Efficient ConvNets in less than 4 Hours"
(ECML-PKDD 2019), on the hierarchical space only (its supernet holds the superkernels).

**Superkernel and thresholds (paper Sec. 3.2).** The supernet runs in threshold mode
(:meth:`HierarchicalSupernet.forward_thresholds`): kernel size, MBConv expansion and the skip-op
of one-layer blocks are chosen by indicators ``1(||w_shell|| > t)`` of the superkernel's weights
against learnable thresholds ``t`` (Eq. 2-5): the 5x5 kernel is the 3x3 kernel plus its outer
shell, kept iff the shell's norm exceeds ``t_k``; expansion 6 keeps the channels beyond 3x iff
their norm (under the chosen kernel) exceeds ``t_e``; the layer is kept iff the first 3x
channels' norm exceeds ``t_skip``. The indicator's forward value is exactly 0 or 1; its backward
pass is the sigmoid's, straight through (:func:`~nasbench.spaces.superkernel.indicator`): the
paper relaxes ``1(.)`` to a sigmoid to get threshold gradients, and the authors' released code
uses ``1(x >= 0)`` forward with the sigmoid's gradient, as here (``x > 0``; equal unless a norm
equals its threshold exactly). The norm is the Frobenius norm ``||w||`` (the released code's; the
paper writes ``||w||^2``). Decisions the thresholds do not govern (squeeze-excite, width, skip
paths, non-MBConv ops; none in the ``single_path`` preset) are relaxed by a softmax of logits as
in DARTS.

**Training the thresholds.** They start at 0 (every indicator open: the largest kernel and
expansion, no layer skipped), as the authors' released code initialises them. They are
architecture parameters, stepped on the validation mini-batch of the base's alternating scheme
(:mod:`~nasbench.strategies.gradient`), in an Adam parameter group of their own: learning rate
``threshold_lr``, *no* weight decay. Weight decay pulls a threshold toward 0, i.e. toward the
open, largest choice, and DARTS's ``arch_lr = 3e-4`` moves a threshold about 3e-4 per step while
the superkernel norms it must cross are 1.5-6 here (width 0.25-0.5): with the logits' settings
the thresholds never close. Adam steps about ``threshold_lr`` per step whatever the gradient's
scale, so ``threshold_lr * steps`` bounds how far a threshold can travel in a search (0.1 x 60
steps: 6, about the largest norm of the preset at width 0.5). The logits keep DARTS's
``arch_lr`` and ``arch_weight_decay``.

Differences from the authors' code, kept on purpose: they train the thresholds jointly with the
weights on the training split with one RMSProp optimiser (the weights' learning rate, 0.064 at
batch 1024, and their L2 of 1e-5 on every non-batch-norm variable, thresholds included), with a
warm-up (the first 5 of 8 epochs with lambda = 0 and dropout on the indicators). Here the
thresholds follow the base's bilevel scheme (validation split, own optimiser) with no warm-up,
so that searches of a few epochs still move them.

**Latency loss (paper Sec. 3.4).** The architecture loss is ``latency_loss``:

* ``"log"`` (default; the paper's)::

      CE + latency_weight * log(E[latency_ms])

  ``latency_weight`` is the paper's lambda. The paper has no latency target in the loss: lambda
  trades accuracy for latency, and the authors launch one search per lambda value and keep the
  one whose architecture has the latency wanted (lambda tuned per target;
  ``experiments/single_path_latency.py`` does this sweep: the lambda of a grid whose found
  latency is closest to the target from below). The budget's ``latency_ms`` is not read.
  (The authors' code writes the term as ``lambda_val * 1e3 * log(R)``; our lambda is
  ``1e3 * lambda_val``.) The default, 1, is the sweep's choice for the space's median latency
  at width 0.5 with 7 epochs x 16 steps; lambda depends on the space, the search length and
  ``threshold_lr``, so a suite sets its own from a sweep at its settings.
* ``"hinge"`` (ours, not in the paper)::

      CE + latency_weight * max(0, log(E[latency_ms] / T))

  with ``T`` the budget's ``latency_ms`` (a search without one is an error): no latency pressure
  once the expected latency is below the target. ``T`` must be in the latency model's units
  (``lut:cpu`` ms on this machine's or the stored tables' op timings), which a budget measured
  on another device is not.

**Differentiable latency.** ``E[latency_ms]`` is a linear model over the decisions' choices,
evaluated on the current relaxed weights (the threshold indicators, straight-through, for
governed decisions; the softmax for the others). Single-Path NAS sums per-layer lookup-table
latencies weighted by the indicators; here the model is fitted once in ``start``: the
``lut:cpu`` latency (:class:`nasbench.tables.latency_models.LookupTableLatency`) of
``latency_samples`` architectures sampled with the strategy's ``rng``, regressed by least
squares on their one-hot encodings (:func:`~nasbench.strategies.gradient.fit_linear_cost`).
The lookup table times ops on this machine, so the fitted coefficients (and, through them, the
search) can differ slightly between machines and processes, unless ``latency_tables`` names a
folder of stored tables (:class:`~nasbench.tables.latency_models.LookupTableLatency`'s
``table_dir``): a table found there is read, not re-timed, and one built is saved there for the next
search. ``latency_weight = 0`` skips the model. The derived architecture takes the thresholds'
choices and the largest logit elsewhere.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from nasbench.core.errors import NasbenchError
from nasbench.core.params import override, param
from nasbench.core.registry import strategies
from nasbench.core.supernet import derive
from nasbench.core.types import Architecture, Task
from nasbench.tables.latency_models import latency_model

from .gradient import ARCH_BETAS, GradientSearch, LinearCost, fit_linear_cost

LATENCY_LOSSES = ("log", "hinge")
"""The forms of the latency term (module docstring): the paper's ``log`` and our ``hinge``."""


@strategies.register("single_path")
class SinglePath(GradientSearch):
    """Single-Path NAS; hyperparameters of :class:`GradientSearch` plus the thresholds' learning
    rate and the latency term's (module docstring)."""

    paper: ClassVar[str] = (
        "Stamoulis et al., Single-Path NAS: Designing Hardware-Efficient ConvNets in less than "
        "4 Hours, ECML-PKDD 2019; with pruning as SCAS Algorithm 2"
    )
    spaces: ClassVar[tuple[str, ...] | None] = ("hierarchical",)
    conformance: ClassVar[dict[str, Any]] = {**GradientSearch.conformance, "latency_weight": 0.0}

    epochs = override(8, source="Single-Path NAS Sec. 4: the search takes 8 epochs")
    latency_weight: float = param(1.0, ge=0, source=(
        "Single-Path NAS Sec. 3.4: lambda of CE + lambda * log(R), tuned per latency target "
        "(the authors launch one search per lambda; their code's term is "
        "lambda_val * 1e3 * log R, so their lambda_val is 1e-3 times this); the default 1 "
        "is what experiments/single_path_latency.py chose for the space's median latency "
        "at width 0.5, 7 epochs x 16 steps (results/single_path/latency-targets.md)"
    ))  # fmt: skip
    latency_samples: int = param(
        200, ge=1, source="ours: enough samples to fit one coefficient per choice"
    )
    latency_tables: str = param(
        "", source="ours: a folder of stored lookup tables ('' times ops in-process)"
    )
    threshold_lr: float = param(0.1, gt=0, source=(
        "ours: Adam on the thresholds alone, no weight decay; the authors' code initialises "
        "the thresholds to 0 and steps them with the weights' RMSProp (lr 0.064 at batch "
        "1024); 0.1 lets a threshold cross the preset's superkernel norms (1.5-6) within "
        "about 60 steps"
    ))  # fmt: skip
    latency_loss: str = param("log", choices=LATENCY_LOSSES, source=(
        "Single-Path NAS Sec. 3.4: 'log' (CE + lambda * log R); 'hinge' "
        "(CE + lambda * max(0, log(R / T))) is ours"
    ))  # fmt: skip

    def _arch_optimizer(self) -> torch.optim.Adam:
        """Adam over two groups: the logits (``arch_lr``, ``arch_weight_decay``, DARTS) and the
        thresholds (``threshold_lr``, weight decay 0)."""
        thresholds = list(self.net_.threshold_parameters())  # type: ignore[operator]
        groups: list[dict[str, Any]] = [
            {"params": list(self.logits_.values())},
            {"params": thresholds, "lr": self.threshold_lr, "weight_decay": 0.0},
        ]
        return torch.optim.Adam(
            groups, self.arch_lr, ARCH_BETAS, weight_decay=self.arch_weight_decay
        )

    def _setup(self, task: Task, rng: np.random.Generator) -> None:
        """The latency model; raises NasbenchError for the ``hinge`` loss without a latency
        limit in the budget."""
        hinge = self.latency_loss == "hinge" and self.latency_weight > 0
        if hinge and self.info_.budget.latency_ms is None:
            raise NasbenchError("latency_loss 'hinge' needs the budget's latency_ms (the target T)")
        self.universe_ = {d.name: d.choices for d in self.space_.decisions()}
        self.latency_: LinearCost | None = None
        if self.latency_weight > 0:
            model = latency_model("lut:cpu", self.space_, table_dir=self.latency_tables or None)
            archs = [self.space_.sample(rng) for _ in range(self.latency_samples)]
            latencies = [model.latency_ms(a, None, task) for a in archs]
            self.latency_ = fit_linear_cost(self.space_, archs, latencies)

    def _forward(self, x: torch.Tensor, weights: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net_.forward_thresholds(x, weights)  # type: ignore[operator]

    def _weight_parameters(self) -> list[nn.Parameter]:
        return list(self.net_.weight_parameters())  # type: ignore[operator]

    def _arch_parameters(self) -> list[torch.Tensor]:
        return [*self.logits_.values(), *self.net_.threshold_parameters()]  # type: ignore[operator]

    def relaxed(self, weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``weights`` with the threshold-governed decisions replaced by their indicator
        weights; in ``op`` the MBConv group keeps its softmax mass, split by the indicators."""
        out = dict(weights)
        for name, gates in self.net_.threshold_weights().items():  # type: ignore[operator]
            choices = self.universe_[name]
            zero = torch.zeros(())
            vec = torch.stack([gates.get(c, zero) for c in choices])
            if name.endswith(".op"):
                group = torch.tensor([c in gates for c in choices])
                base = weights[name]
                vec = torch.where(group, base[group].sum() * vec, base)
            out[name] = vec
        return out

    def expected_latency_ms(self, weights: dict[str, torch.Tensor]) -> torch.Tensor:
        """The linear latency model at the relaxed ``weights`` (differentiable)."""
        if self.latency_ is None:
            return torch.full((), math.nan)
        return self.latency_(self.relaxed(weights))

    def _cost_loss(self, weights: dict[str, torch.Tensor]) -> torch.Tensor:
        """``latency_weight * log(E[latency_ms])`` (``"log"``, the paper's) or
        ``latency_weight * max(0, log(E[latency_ms] / T))`` (``"hinge"``, ``T`` the budget's
        ``latency_ms``); 0 without a latency model."""
        if self.latency_ is None:
            return torch.zeros(())
        log_latency = torch.log(self.expected_latency_ms(weights).clamp_min(1e-6))
        if self.latency_loss == "log":
            return self.latency_weight * log_latency
        target = self.info_.budget.latency_ms
        assert target is not None  # checked in start
        return self.latency_weight * torch.relu(log_latency - math.log(target))

    def _derive(self) -> Architecture:
        logits = {k: v.detach().clone() for k, v in self.logits_.items()}
        gates = self.net_.threshold_weights()  # type: ignore[operator]
        for name, choice in self.net_.threshold_choices().items():  # type: ignore[operator]
            choices, v = self.universe_[name], logits[name]
            governed = torch.tensor([c in gates[name] for c in choices])
            top = v[governed].max() if name.endswith(".op") else torch.zeros(())
            v[governed] = -math.inf
            v[choices.index(choice)] = top
        return derive(self.space_, logits)
