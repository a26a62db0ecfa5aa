"""GDAS: gradient-based search with differentiable (Gumbel) architecture sampling.

>>> from nasbench.registry import spaces
>>> from nasbench.seeding import role_rng
>>> from nasbench.strategy import SearchInfo
>>> from nasbench.types import Budget
>>> space = spaces.create("nb201", channels=4, cells_per_stage=1)
>>> info = SearchInfo(1.0, (), Budget(evaluations=2), dataset="mnist1d")
>>> search = Gdas(epochs=2, batch_size=16, steps_per_epoch=2)
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> sorted({float(v) for w in search._weights().values() for v in w.detach()})  # one-hot
[0.0, 1.0]
>>> search.tau(), (search.ask(2), search.tau())[1]
(10.0, 0.1)

Dong & Yang, "Searching for a Robust Neural Architecture in Four GPU Hours" (CVPR 2019). Like
DARTS (the core in :mod:`nasbench.strategies.gradient`), but every forward, of a weight step and
of an architecture step alike, runs one architecture sampled per decision with the
straight-through Gumbel-softmax (Eq. 3-5, :func:`nasbench.supernet.gumbel_weights`): the value
is the exact one-hot of ``argmax((alpha + g) / tau)``, so only the sampled candidate is
computed, and the gradient is the soft sample's. The temperature ``tau`` falls linearly from
``tau_max = 10`` to ``tau_min = 0.1`` over the planned epochs (Sec. 4.1) and stays there.
The noise comes from a torch generator seeded from the strategy's ``rng``. The derived
architecture takes the largest ``alpha`` per decision.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from nasbench.registry import strategies
from nasbench.supernet import gumbel_weights

from .gradient import BASE_SOURCES, GradientSearch, _check, annealed

TAU_SOURCES = {
    "tau_max": "GDAS Sec. 4.1: tau decays linearly from 10",
    "tau_min": "GDAS Sec. 4.1: tau decays linearly to 0.1",
}


@strategies.register("gdas")
class Gdas(GradientSearch):
    """GDAS; hyperparameters of :class:`GradientSearch` plus the temperature range."""

    paper: ClassVar[str] = (
        "Dong & Yang, Searching for a Robust Neural Architecture in Four GPU Hours (GDAS), "
        "CVPR 2019; with pruning as SCAS Algorithm 2"
    )
    sources: ClassVar[dict[str, str]] = {**BASE_SOURCES, **TAU_SOURCES}

    def __init__(
        self,
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
        _check("tau_min", tau_min, lambda v: v > 0, "> 0")
        _check("tau_max", tau_max, lambda v: v >= tau_min, f">= tau_min ({tau_min})")
        super().__init__(
            epochs, batch_size, steps_per_epoch, weight_lr, weight_decay, arch_lr,
            arch_weight_decay,
        )  # fmt: skip
        self.tau_max, self.tau_min = tau_max, tau_min

    def tau(self) -> float:
        """The Gumbel temperature of the current epoch."""
        return annealed(self.tau_max, self.tau_min, self.epoch_, self.epochs)

    def _weights(self) -> dict[str, torch.Tensor]:
        return gumbel_weights(self.logits_, self.tau(), self.noise_, hard=True)
