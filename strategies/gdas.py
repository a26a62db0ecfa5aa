"""GDAS: gradient-based search with differentiable (Gumbel) architecture sampling.

>>> from nasbench.core.registry import spaces
>>> from nasbench.core.seeding import role_rng
>>> from nasbench.core.strategy import SearchInfo
>>> from nasbench.core.types import Budget
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
of an architecture step alike, runs one architecture sampled with the straight-through
Gumbel-softmax (Sec. 3.2, Eq. 3-5): per decision ``soft = softmax((alpha + g) / tau)``,
``g = -log(-log(U))``, and the forward weight is ``h = one_hot(argmax soft) - soft.detach() +
soft``, computed as ``one_hot + (soft - soft.detach())``, which is exactly one-hot in value (so
only the sampled candidate is computed) and has the soft sample's gradient. The gradient reaches
``alpha`` through the sampled candidate's output only (the other candidates are not computed).

**Valid paths only.** On the cell space GDAS samples on DARTS's edge-wise DAG, as the paper's
cell does (Fig. 1: "among the intermediate features between every two nodes, GDAS samples one
feature"): one op per edge ``i -> k`` over the space's ops and the zero op ``'none'``, every
earlier state feeding node ``k`` through exactly one sampled op
(:class:`~nasbench.spaces.cell_supernet.EdgeCellSupernet`); the discrete cell is derived as
DARTS does from ``softmax(alpha)`` (:func:`~nasbench.spaces.cell_supernet.derive_edges`: the two
strongest edges, each with its strongest non-``'none'`` op). On every other space the sample
walks the space's decisions in order (:func:`gumbel_path`): each decision is sampled over the
choices the space allows after the earlier ones (Gumbel-max over the allowed choices only),
decisions the path does not reach get zero weights, so every forward runs a valid architecture;
the derived architecture takes the allowed choice of largest ``alpha`` per decision.

``alpha`` starts at ``1e-3 * N(0, 1)`` (as DARTS; the authors' released code does the same),
drawn from the strategy's ``rng``. The temperature ``tau`` falls linearly from ``tau_max = 10``
(epoch 0) to ``tau_min = 0.1`` (the last planned epoch, Sec. 4.1) and stays there. The noise
comes from a torch generator seeded from the strategy's ``rng``.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from nasbench.core.errors import NasbenchError
from nasbench.core.params import param
from nasbench.core.registry import strategies
from nasbench.core.space import SearchSpace
from nasbench.core.supernet import Weights, gumbel_weights
from nasbench.core.types import Choice

from .gradient import GradientSearch, annealed

INIT_SCALE = 1e-3  # alpha = 1e-3 * N(0, 1), as DARTS
TAU_MAX = param(10.0, ge="tau_min", source="GDAS Sec. 4.1: tau decays linearly from 10")
TAU_MIN = param(0.1, gt=0, source="GDAS Sec. 4.1: tau decays linearly to 0.1")
"""The Gumbel temperature's range, declared once for GDAS and TAS."""


def gumbel_path(
    space: SearchSpace, logits: Weights, tau: float, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """A straight-through Gumbel sample of one *valid* architecture of ``space``.

    Noise ``g = -log(E)``, ``E ~ Exp(1)``, is drawn from ``generator`` for every universe
    decision in universe order (the same draws whatever the path). Walking
    :meth:`SearchSpace.next_decision`, each reached decision gets
    ``soft = softmax((logits + g) / tau)`` over its allowed choices (0 elsewhere) and the weight
    ``one_hot(argmax soft) + (soft - soft.detach())``; unreached decisions get zero vectors.
    Raises NasbenchError when ``tau <= 0`` or a decision's logits are missing.
    """
    if not tau > 0:
        raise NasbenchError(f"Gumbel temperature tau must be positive, got {tau}")
    universe = space.decisions()
    noise, out = {}, {}
    for d in universe:
        v = logits.get(d.name)
        if v is None:
            raise NasbenchError(f"{space.name}: logits lack decision {d.name!r}")
        noise[d.name] = -torch.empty_like(v).exponential_(generator=generator).log()
        out[d.name] = torch.zeros_like(v.detach())
    choices = {d.name: d.choices for d in universe}
    values: list[Choice] = []
    while (decision := space.next_decision(values)) is not None:
        name, every = decision.name, choices[decision.name]
        allowed = torch.tensor([c in decision.choices for c in every], device=out[name].device)
        scores = ((logits[name] + noise[name]) / tau).masked_fill(~allowed, float("-inf"))
        soft = torch.softmax(scores, dim=0)
        k = int(torch.argmax(soft.detach()))
        one_hot = torch.zeros_like(soft.detach())
        one_hot[k] = 1.0
        out[name] = one_hot + (soft - soft.detach())
        values.append(every[k])
    return out


@strategies.register("gdas")
class Gdas(GradientSearch):
    """GDAS; hyperparameters of :class:`GradientSearch` plus the temperature range."""

    paper: ClassVar[str] = (
        "Dong & Yang, Searching for a Robust Neural Architecture in Four GPU Hours (GDAS), "
        "CVPR 2019; with pruning as SCAS Algorithm 2"
    )
    init_scale: ClassVar[float] = INIT_SCALE
    edge_wise: ClassVar[bool] = True

    tau_max: float = TAU_MAX
    tau_min: float = TAU_MIN

    def tau(self) -> float:
        """The Gumbel temperature of the current epoch: ``tau_max`` at epoch 0, linearly down to
        ``tau_min`` at the last planned epoch (``epochs - 1``) and after."""
        return annealed(self.tau_max, self.tau_min, self.epoch_, self.epochs)

    def _weights(self) -> dict[str, torch.Tensor]:
        """One straight-through sample: one op per edge on the edge-wise cell network (every
        edge is used, each input once), else one valid path (:func:`gumbel_path`)."""
        if self.edges_:
            return gumbel_weights(self.logits_, self.tau(), self.noise_, hard=True)
        return gumbel_path(self.space_, self.logits_, self.tau(), self.noise_)
