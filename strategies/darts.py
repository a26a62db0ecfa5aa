"""DARTS: differentiable architecture search, with SCAS's interleaved pruning.

>>> from nasbench.core.registry import spaces
>>> from nasbench.core.seeding import role_rng
>>> from nasbench.core.strategy import SearchInfo
>>> from nasbench.core.types import Budget
>>> space = spaces.create("nb201", channels=4, cells_per_stage=1)
>>> info = SearchInfo(1.0, (), Budget(evaluations=2), dataset="mnist1d")
>>> search = Darts(order=2, epochs=2, batch_size=16, steps_per_epoch=2)
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> proposals = search.ask(2)  # two epochs, unrolled (second-order) architecture steps
>>> proposals[-1].arch == search._derive(), [p.search_cost_s > 0 for p in proposals]
(True, [True, True])

Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search" (ICLR 2019). Every decision
is relaxed to ``softmax(alpha)`` over its choices (Eq. 2); weights ``w`` and logits ``alpha``
are learned alternately on the train and validation splits (Algorithm 1, the core in
:mod:`nasbench.strategies.gradient`).

**Initialisation.** ``alpha = 1e-3 * N(0, 1)`` per entry, as the authors' released code
initialises them, drawn from the strategy's ``rng`` (one torch generator): zero logits would be
an exactly symmetric start, and on a cell whose two input slots share one formula both would
get the same gradient forever.

**Relaxation on the cell space.** DARTS's own edge-wise DAG (Sec. 2.1-2.2): every earlier
state ``i`` of node ``k`` is an edge with a mixed op over the space's ops plus the zero op
``'none'``, ``s_k = sum_i sum_o softmax(alpha_{i,k})[o] * op_o(s_i)``
(:class:`~nasbench.spaces.cell_supernet.EdgeCellSupernet`). The discrete cell is derived as in
Sec. 2.4 (:func:`~nasbench.spaces.cell_supernet.derive_edges`): per node the two incoming edges
whose strongest non-``'none'`` op weight is largest, each with that op. On every other space each
decision is relaxed on the space's own supernet and the derived architecture takes, decision by
decision, the allowed choice of largest ``alpha`` (:func:`nasbench.core.supernet.derive`).

**Order.** ``order = 1`` takes the first-order approximation (the validation gradient at the
current ``w``, ``xi = 0``); ``order = 2`` the unrolled one: the gradient at the virtual weights
``w'`` of one step of the real weight optimiser (Eq. 6, with the SGD momentum and weight decay
the real step uses, as the authors' released code unrolls it; ``xi`` the learning rate of the
coming weight step; no gradient clipping, and pruned weights stay zero)::

    w' = w - xi * (momentum * buf + grad_w L_train(w, alpha) + wd * w)

(:func:`~nasbench.strategies.gradient.sgd_virtual_step`; ``buf`` the optimiser's momentum
buffer), minus the second-order term of Eq. 7, estimated by finite differences (Eq. 8; the
momentum and decay terms do not depend on ``alpha``, so the term is unchanged)::

    xi * (grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)) / (2 eps),
    w+- = w +- eps * grad_w' L_val(w', alpha),  eps = 0.01 / ||grad_w' L_val(w', alpha)||

**Cost** (:mod:`~nasbench.strategies.gradient`): every candidate is computed under the softmax,
so an epoch is priced at the whole supernet's MACs. Per step, in forward-pass equivalents
(:mod:`nasbench.training.simcost`: forward 1, backward 2, backward to the architecture only 2 with
the forward): first order, 3 on the train batch (weight step) and 3 on the val batch (architecture
step). Second order adds on the train batch the gradient of the virtual step (forward and full
backward, 3) and the two finite-difference gradients at ``w+`` and ``w-`` (Eq. 8, forward and
backward to ``alpha`` only, 2 each): 3 + 3 + 2 x 2 = 10 on the train batch, and 3 on the val
batch (the gradient at ``w'`` to both ``alpha`` and ``w``).

With a sparsity budget this is SCAS's Algorithm 2 (sparsity-constrained DARTS).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch.nn import functional as F  # noqa: N812

from nasbench.core.params import param
from nasbench.core.registry import strategies
from nasbench.training.simcost import ARCH_GRAD_PASSES, TRAIN_PASSES

from .gradient import GradientSearch, sgd_virtual_step

FD_SCALE = 0.01  # DARTS Eq. 8: eps = 0.01 / ||grad||
INIT_SCALE = 1e-3  # DARTS: alpha = 1e-3 * N(0, 1) (the authors' released code)


@strategies.register("darts")
class Darts(GradientSearch):
    """DARTS (first or second order); hyperparameters of :class:`GradientSearch` plus
    ``order`` (1 or 2)."""

    paper: ClassVar[str] = (
        "Liu, Simonyan & Yang, DARTS: Differentiable Architecture Search, ICLR 2019; with "
        "pruning as SCAS Algorithm 2 (Sparse CNN Architecture Search, 2020)"
    )
    init_scale: ClassVar[float] = INIT_SCALE
    edge_wise: ClassVar[bool] = True

    order: int = param(
        1, choices=(1, 2), expect="1 or 2",
        source="DARTS Sec. 2.3: first-order approximation (order 1) or unrolled (order 2)",
    )  # fmt: skip

    def _step_passes(self) -> tuple[float, float]:
        """First order: 3 and 3; second order: 10 on the train batch (module docstring)."""
        if self.order == 1:
            return super()._step_passes()
        # weight step + virtual step's gradient (3 each) + the two finite differences (2 each)
        return 2 * TRAIN_PASSES + 2 * ARCH_GRAD_PASSES, TRAIN_PASSES

    def _arch_step(
        self, xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor
    ) -> None:
        if self.order == 1:
            super()._arch_step(xt, yt, xv, yv)
            return
        params = [p for p in self._weight_parameters() if p.requires_grad]
        alphas = self._arch_parameters()
        xi = self.next_weight_lr()  # the learning rate of the coming weight step
        saved = [p.detach().clone() for p in params]
        train_loss = F.cross_entropy(self._forward(xt, self._weights()), yt)
        grads = torch.autograd.grad(train_loss, params, allow_unused=True)
        virtual = sgd_virtual_step(self.weight_opt_, params, grads, xi)
        with torch.no_grad():  # the virtual step to w' (Eq. 6), masks kept as the real step does
            for p, w in zip(params, virtual, strict=True):
                p.copy_(w)
            if self.pruner_ is not None and self.pruner_.masks:
                torch._foreach_mul_(self.pruner_.weights, self.pruner_.masks)
        val_loss = self._arch_loss(xv, yv)
        found = torch.autograd.grad(val_loss, [*alphas, *params], allow_unused=True)
        d_alpha, d_w = found[: len(alphas)], found[len(alphas) :]
        squares = [(g * g).sum() for g in d_w if g is not None]
        norm = float(torch.stack(squares).sum().sqrt()) if squares else 0.0
        eps = FD_SCALE / max(norm, 1e-12)
        hessian = []
        for sign in (1.0, -1.0):  # grad_alpha L_train at w+ and w- (Eq. 8)
            with torch.no_grad():
                for p, w, g in zip(params, saved, d_w, strict=True):
                    p.copy_(w if g is None else w + sign * eps * g)
            loss = F.cross_entropy(self._forward(xt, self._weights()), yt)
            hessian.append(torch.autograd.grad(loss, alphas, allow_unused=True))
        with torch.no_grad():
            for p, w in zip(params, saved, strict=True):
                p.copy_(w)
        self.arch_opt_.zero_grad(set_to_none=True)
        for a, da, hp, hm in zip(alphas, d_alpha, *hessian, strict=True):
            grad = torch.zeros_like(a) if da is None else da.clone()
            if hp is not None and hm is not None:
                grad -= xi * (hp - hm) / (2 * eps)
            a.grad = grad
        self.arch_opt_.step()
