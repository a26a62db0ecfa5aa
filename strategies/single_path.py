"""Single-Path NAS: superkernel thresholds and a differentiable latency loss.

>>> from nasbench.registry import spaces
>>> from nasbench.seeding import role_rng
>>> from nasbench.strategy import SearchInfo
>>> from nasbench.types import Budget
>>> space = spaces.create("hierarchical", preset="single_path", width=0.25)
>>> info = SearchInfo(1.0, (), Budget(evaluations=2), dataset="mnist1d")
>>> search = SinglePath(latency_weight=0.0, epochs=2, batch_size=16, steps_per_epoch=2)
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> (proposal,) = search.ask(1)
>>> space.format(proposal.arch) == space.format(search._derive())
True

Stamoulis et al., "Single-Path NAS: Designing Hardware-Efficient ConvNets in less than 4 Hours"
(ECML-PKDD 2019), on the hierarchical space only (its supernet holds the superkernels). The
supernet runs in threshold mode (:meth:`HierarchicalSupernet.forward_thresholds`): kernel size,
MBConv expansion and the skip-op of one-layer blocks are chosen by indicators
``1(||w_shell|| > t)`` of the superkernel's weights against learnable thresholds ``t``
(Eq. 2-5); decisions the thresholds do not govern (squeeze-excite, width, skip paths, non-MBConv
ops) are relaxed by a softmax of logits as in DARTS. Thresholds and logits are the architecture
parameters, learned on the validation split; the loss is Eq. 6::

    CE + latency_weight * log(E[latency_ms])                     (no latency budget)
    CE + latency_weight * max(0, log(E[latency_ms] / T))         (budget latency_ms = T)

**Differentiable latency.** ``E[latency_ms]`` is a linear model over the decisions' choices,
evaluated on the current relaxed weights (the threshold indicators, straight-through, for
governed decisions; the softmax for the others). Single-Path NAS sums per-layer lookup-table
latencies weighted by the indicators; here the model is fitted once in ``start``: the
``lut:cpu`` latency (:class:`nasbench.latency_models.LookupTableLatency`) of
``latency_samples`` architectures sampled with the strategy's ``rng``, regressed by least
squares on their one-hot encodings (:func:`~nasbench.strategies.gradient.fit_linear_cost`).
The lookup table times ops on this machine, so the fitted coefficients (and, through them, the
search) can differ slightly between machines and processes, unless ``latency_tables`` names a
folder of stored tables (:class:`~nasbench.latency_models.LookupTableLatency`'s ``table_dir``):
a table found there is read, not re-timed, and one built is saved there for the next search.
``latency_weight = 0`` skips the model. The derived architecture takes the thresholds' choices
and the largest logit elsewhere.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from nasbench.latency_models import latency_model
from nasbench.registry import strategies
from nasbench.supernet import derive
from nasbench.types import Architecture, Task

from .gradient import BASE_SOURCES, GradientSearch, LinearCost, _check, _check_int, fit_linear_cost


@strategies.register("single_path")
class SinglePath(GradientSearch):
    """Single-Path NAS; hyperparameters of :class:`GradientSearch` plus the latency term's."""

    paper: ClassVar[str] = (
        "Stamoulis et al., Single-Path NAS: Designing Hardware-Efficient ConvNets in less than "
        "4 Hours, ECML-PKDD 2019; with pruning as SCAS Algorithm 2"
    )
    sources: ClassVar[dict[str, str]] = {
        **BASE_SOURCES,
        "epochs": "Single-Path NAS Sec. 4: the search takes 8 epochs",
        "latency_weight": "ours: the paper tunes lambda per latency target (Eq. 6)",
        "latency_samples": "ours: enough samples to fit one coefficient per choice",
        "latency_tables": "ours: a folder of stored lookup tables ('' times ops in-process)",
    }
    spaces: ClassVar[tuple[str, ...] | None] = ("hierarchical",)
    conformance: ClassVar[dict[str, Any]] = {**GradientSearch.conformance, "latency_weight": 0.0}

    def __init__(
        self,
        latency_weight: float = 0.1,
        latency_samples: int = 200,
        epochs: int = 8,
        batch_size: int = 64,
        steps_per_epoch: int = 0,
        weight_lr: float = 0.025,
        weight_decay: float = 3e-4,
        arch_lr: float = 3e-4,
        arch_weight_decay: float = 1e-3,
        latency_tables: str = "",
    ) -> None:
        _check("latency_weight", latency_weight, lambda v: v >= 0, ">= 0")
        _check_int("latency_samples", latency_samples, 1)
        super().__init__(
            epochs, batch_size, steps_per_epoch, weight_lr, weight_decay, arch_lr,
            arch_weight_decay,
        )  # fmt: skip
        self.latency_weight, self.latency_samples = latency_weight, latency_samples
        self.latency_tables = latency_tables

    def _setup(self, task: Task, rng: np.random.Generator) -> None:
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
        if self.latency_ is None:
            return torch.zeros(())
        log_latency = torch.log(self.expected_latency_ms(weights).clamp_min(1e-6))
        target = self.info_.budget.latency_ms
        if target is None:
            return self.latency_weight * log_latency
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

    def _extra_state(self) -> dict[str, Any]:
        return {"latency": None if self.latency_ is None else self.latency_.to_json()}

    def _restore_extra(self, state: dict[str, Any]) -> None:
        raw = state["latency"]
        self.latency_ = None if raw is None else LinearCost.from_json(raw)
