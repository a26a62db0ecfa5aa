"""The supernet-training core of the gradient strategies (DARTS, GDAS, Single-Path NAS, TAS).

>>> from nasbench.core.registry import spaces, strategies
>>> from nasbench.core.seeding import role_rng
>>> from nasbench.core.strategy import SearchInfo
>>> from nasbench.core.types import Budget
>>> space = spaces.create("nb201", channels=4, cells_per_stage=1)
>>> info = SearchInfo(1.0, (), Budget(evaluations=3, sparsity=0.5), dataset="mnist1d")
>>> search = strategies.create("darts", epochs=2, batch_size=16, steps_per_epoch=3)
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> (proposal,) = search.ask(1)  # one supernet epoch, then the derived architecture
>>> space.validate(proposal.arch); proposal.search_cost_s > 0
True

Every ``ask`` trains the space's supernet (:mod:`nasbench.core.supernet`) for one epoch and proposes
the architecture derived from the current architecture parameters; the epoch's simulated cost
is the proposal's ``search_cost_s``, which the runner charges (the strategy never charges
anything itself). The proposal is a *monitor* proposal: the search never learns from its
evaluation, which only draws the anytime curve, so the runner charges the epoch alone and
records the evaluation's cost as ``eval_cost_s`` (:class:`~nasbench.core.types.Proposal`).
An epoch is ``steps_per_epoch`` mini-batches of the dataset's *train* split (0: one pass);
per mini-batch, as in DARTS's alternating bilevel optimisation (Liu et al. ICLR 2019,
Algorithm 1):

1. an architecture step on a mini-batch of the *val* split (Adam, the strategy's loss: cross
   entropy under its relaxed weights plus a cost term for Single-Path NAS and TAS);
2. a weight step on the train mini-batch (the Recipe's SGD with momentum, cosine schedule to
   ``LR_MIN`` over the planned ``epochs``, gradient norm clipped at ``GRAD_CLIP``: DARTS's
   values);
3. SCAS (Algorithm 2): gradual magnitude pruning (Zhu & Gupta 2017,
:mod:`nasbench.training.pruning`) of
   every prunable supernet weight to ``info.budget.sparsity``, reached after 75 % of the
   planned epochs, interleaved with the weight steps.

**Cost.** Simulated, so two runs of a suite give bit-identical records
(:mod:`nasbench.training.simcost`): at the start of every epoch one forward of one train sample
under the strategy's own forward and relaxed weights (the noise generator rewound afterwards, so the
search's streams are untouched) is tallied (:class:`~nasbench.training.simcost.MacTally`): every
candidate with a nonzero weight for DARTS's softmax, the sampled one per decision for GDAS (an
unbiased one-sample estimate of the epoch's paths), the masked superkernels for Single-Path NAS, the
interpolated widths and mixed depths for TAS. The epoch costs those MACs per sample times the
samples of its weight and architecture steps times the passes each step makes
(:meth:`GradientSearch._step_passes`: forward + backward = 3 for each first-order step; see
:mod:`~nasbench.strategies.darts` for the unrolled step), divided by
:data:`~nasbench.training.simcost.MACS_PER_S`. The measured wall time stays in ``last_wall_s_``.

**Relaxation hooks.** ``init_scale`` sets the architecture parameters' start: 0 gives zero
logits (a uniform softmax), a positive value ``init_scale * N(0, 1)`` drawn from ``rng`` (DARTS
and GDAS: 1e-3). With ``edge_wise`` set, the cell space is searched on DARTS's edge-wise DAG
(:class:`~nasbench.spaces.cell_supernet.EdgeCellSupernet`: one op vector per edge, zero op
included) instead of the space's own per-slot supernet, and the architecture is derived as
DARTS does (:func:`~nasbench.spaces.cell_supernet.derive_edges`); every other space uses its
own supernet and :func:`~nasbench.core.supernet.derive`.

After ``epochs`` planned epochs the search goes on at the final temperature, learning rate and
sparsity, so anytime curves continue until the runner's budget ends. Randomness: the supernet's
initial weights, the initial architecture parameters, the batch orders, the Gumbel noise and
a per-epoch seed for torch's (forked) global generator all come from the ``rng`` given to
``start``, through torch generators; the global RNGs are never touched. Observations are not
used (``tell`` only counts them).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from nasbench.core.errors import NasbenchError
from nasbench.core.params import WHOLE_NUMBERS, Configurable, Wording, param
from nasbench.core.seeding import torch_generator
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo
from nasbench.core.supernet import Supernet, build_supernet, derive, path_weights, uniform_logits
from nasbench.core.types import Architecture, Decision, Observation, Proposal, Task
from nasbench.training.datasets import Dataset, load_dataset
from nasbench.training.pruning import Pruner, PruneSchedule
from nasbench.training.simcost import TRAIN_PASSES, counting, training_cost_s
from nasbench.training.trainer import (
    Optimizer,
    Recipe,
    Schedule,
    isolated,
    learning_rate,
    make_optimizer,
    steps_per_epoch,
)

MOMENTUM = 0.9  # DARTS's weight optimiser (Liu et al. 2019, Sec. 3.1.1)
LR_MIN = 1e-3  # DARTS: cosine schedule down to 0.001
GRAD_CLIP = 5.0  # DARTS: weight gradient norm clipped at 5
ARCH_BETAS = (0.5, 0.999)  # DARTS: Adam on the architecture parameters
THREADS = 1  # intra-op threads while training (bit-for-bit reproducible on one machine)


# ---- linear cost models -----------------------------------------------------------------------
@dataclass(frozen=True)
class LinearCost:
    """A cost (latency in ms, MACs) linear in the per-decision weight vectors:
    ``intercept + sum_d coef[d] . w[d]``. On one-hot :func:`path_weights` it predicts an
    architecture's cost; on relaxed weights it is the expected cost under them (the
    differentiable latency of Single-Path NAS, Eq. 6, and the expected FLOPs of TAS, Eq. 7)."""

    intercept: float
    coef: dict[str, torch.Tensor]

    def __call__(self, weights: dict[str, torch.Tensor]) -> torch.Tensor:
        total = torch.tensor(self.intercept)
        for name, c in self.coef.items():
            total = total + (c * weights[name]).sum()
        return total


def fit_linear_cost(
    space: SearchSpace, archs: Sequence[Architecture], costs: Sequence[float]
) -> LinearCost:
    """Least squares of ``costs`` on the one-hot encodings (:func:`path_weights`, all universe
    decisions concatenated, plus an intercept) of ``archs``; the minimum-norm solution where the
    samples leave it underdetermined. Draws nothing."""
    names = [d.name for d in space.decisions()]
    rows = []
    for arch in archs:
        w = path_weights(space, arch)
        rows.append(torch.cat([w[n] for n in names]).double().numpy())
    x = np.hstack([np.stack(rows), np.ones((len(rows), 1))])
    beta = np.linalg.lstsq(x, np.asarray(costs, dtype=np.float64), rcond=None)[0]
    coef, offset = {}, 0
    for d in space.decisions():
        coef[d.name] = torch.tensor(beta[offset : offset + len(d.choices)], dtype=torch.float32)
        offset += len(d.choices)
    return LinearCost(float(beta[-1]), coef)


def annealed(start: float, end: float, epoch: int, epochs: int) -> float:
    """Linear annealing from ``start`` (epoch 0) to ``end`` (epoch ``epochs - 1`` and after)."""
    if epoch >= epochs - 1:
        return end
    return start + (end - start) * epoch / (epochs - 1)


def sgd_virtual_step(
    optimizer: torch.optim.Optimizer,
    params: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor | None],
    lr: float,
) -> list[torch.Tensor]:
    """The weights one step of the SGD ``optimizer`` would give ``params`` for ``grads`` at
    learning rate ``lr``, without changing the parameters or the optimiser's state: per
    parameter, ``d = g + wd * w``; with momentum ``buf' = momentum * buf + (1 - dampening) * d``
    (``buf' = d`` on its first step) and ``d = buf'`` (Nesterov: ``d + momentum * buf'``);
    ``w' = w - lr * d``. A parameter without gradient stays (SGD skips it). This is DARTS's
    unrolled weight step (Liu et al. 2019, Eq. 6, with the momentum and weight decay of the
    real step, as the authors' released code does): ``w - lr * (momentum * buf + g + wd * w)``.
    Raises NasbenchError for an optimiser other than SGD or a parameter it does not hold."""
    if not isinstance(optimizer, torch.optim.SGD):
        kind = type(optimizer).__name__
        raise NasbenchError(f"the unrolled step needs an SGD optimiser, got {kind}")
    groups = {id(p): group for group in optimizer.param_groups for p in group["params"]}
    out = []
    for p, g in zip(params, grads, strict=True):
        group = groups.get(id(p))
        if group is None:
            raise NasbenchError("the unrolled step got a parameter its optimiser does not hold")
        w = p.detach()
        if g is None:
            out.append(w.clone())
            continue
        d = -g.detach() if group.get("maximize", False) else g.detach()
        if group["weight_decay"]:
            d = d + group["weight_decay"] * w
        momentum = group["momentum"]
        if momentum:
            buf = optimizer.state.get(p, {}).get("momentum_buffer")
            buf = d.clone() if buf is None else momentum * buf + (1 - group["dampening"]) * d
            d = d + momentum * buf if group["nesterov"] else buf
        out.append(w - lr * d)
    return out


# ---- the shared core --------------------------------------------------------------------------
class GradientSearch(Configurable):
    """Base of the gradient strategies (not registered itself). Subclasses set ``paper``,
    declare their own hyperparameters (:func:`~nasbench.core.params.param`; these seven are
    inherited) and may override :meth:`_weights` (the relaxation), :meth:`_forward`,
    :meth:`_cost_loss`, :meth:`_arch_step` and :meth:`_derive`.

    ``spaces`` names the spaces a strategy supports (``None``: every space with a supernet);
    ``conformance`` holds tiny hyperparameters the conformance suite uses so that it runs fast;
    ``init_scale`` and ``edge_wise`` choose the relaxation's start and the cell space's
    supernet (module docstring).
    """

    initial_design: ClassVar[str] = "none"
    paper: ClassVar[str] = ""
    spaces: ClassVar[tuple[str, ...] | None] = None
    conformance: ClassVar[dict[str, Any]] = {"epochs": 3, "batch_size": 4, "steps_per_epoch": 1}
    init_scale: ClassVar[float] = 0.0
    edge_wise: ClassVar[bool] = False
    wording: ClassVar[Wording] = WHOLE_NUMBERS

    epochs: int = param(50, ge=1, source="DARTS (Liu et al. 2019, Sec. 3.1.1): 50 search epochs")
    batch_size: int = param(64, ge=1, source="DARTS: batch size 64")
    steps_per_epoch: int = param(
        0, ge=0, source="ours: 0 means one pass over the train split (DARTS's epoch)"
    )
    weight_lr: float = param(
        0.025, gt=0, source="DARTS: SGD learning rate 0.025 (momentum 0.9, cosine to 0.001)"
    )
    weight_decay: float = param(3e-4, ge=0, source="DARTS: weight decay 3e-4")
    arch_lr: float = param(
        3e-4, gt=0, source="DARTS: Adam learning rate 3e-4 for the architecture parameters"
    )
    arch_weight_decay: float = param(
        1e-3, ge=0, source="DARTS: weight decay 1e-3 on the architecture parameters"
    )

    # ---- protocol ---------------------------------------------------------------------------
    def start(
        self,
        space: SearchSpace,
        info: SearchInfo,
        rng: np.random.Generator,
        initial_rng: np.random.Generator,
    ) -> None:
        """Build the supernet (initialised from ``rng``), optimisers, pruner and cost models.
        Never draws from ``initial_rng``. Raises NasbenchError for an unsupported space or when
        ``info.dataset`` is ``None``."""
        name = type(self).__name__
        if self.spaces is not None and space.name not in self.spaces:
            raise NasbenchError(
                f"{name} searches only the spaces {', '.join(self.spaces)}, not {space.name!r}"
            )
        if info.dataset is None:
            raise NasbenchError(f"{name} trains a supernet and needs the task's dataset")
        self.space_, self.info_, self.rng_ = space, info, rng
        data = load_dataset(info.dataset)
        self.train_, self.val_ = _split(data, "train"), _split(data, "val")
        self.edges_ = self.edge_wise and space.name == "cell"
        self.net_: Supernet = self._build_net(space, data.task, rng)
        self.logits_ = {k: v.requires_grad_() for k, v in self._init_logits(rng).items()}
        self.order_, self.val_order_, self.noise_ = (torch_generator(rng) for _ in range(3))
        full = steps_per_epoch(len(self.train_[1]), self.batch_size)
        self.per_epoch_ = min(self.steps_per_epoch, full) if self.steps_per_epoch else full
        self.recipe_ = Recipe(
            Optimizer.SGD, self.weight_lr, MOMENTUM, False, self.weight_decay, self.epochs,
            self.batch_size, Schedule.COSINE,
        )  # fmt: skip
        self.weight_opt_ = make_optimizer(self._weight_parameters(), self.recipe_)
        self.arch_opt_ = self._arch_optimizer()
        target = info.budget.sparsity  # SCAS: prune to the budget's sparsity while searching
        schedule = PruneSchedule(target)
        self.pruner_ = Pruner(self.net_, schedule, self.epochs, self.per_epoch_) if target else None
        self.epoch_ = self.step_ = self.told_ = 0
        self.last_cost_s_ = self.last_wall_s_ = 0.0
        self._setup(data.task, rng)

    def ask(self, n: int = 1) -> list[Proposal]:
        """``n`` proposals, each after one more supernet epoch (draws from ``rng``); each
        proposal's ``search_cost_s`` is that epoch's simulated cost (module docstring), also
        kept as ``last_cost_s_``; its measured wall time is ``last_wall_s_``."""
        if not hasattr(self, "space_"):
            raise RuntimeError(f"{type(self).__name__}.ask called before start")
        if n < 0:
            raise NasbenchError(f"ask needs n >= 0 proposals, got {n}")
        proposals = []
        for _ in range(n):
            begin = time.perf_counter()
            self.last_cost_s_ = self._epoch()
            self.last_wall_s_ = time.perf_counter() - begin
            derived = self._derive()
            proposals.append(Proposal(derived, search_cost_s=self.last_cost_s_, monitor=True))
        return proposals

    def tell(self, observations: Sequence[Observation]) -> None:
        """Counts the observations: the supernet's own losses drive the search."""
        self.told_ += len(observations)

    # ---- one epoch --------------------------------------------------------------------------
    def _epoch(self) -> float:
        """Train one epoch; its simulated cost in seconds (module docstring)."""
        xt, yt = self.train_
        xv, yv = self.val_
        seed = int(self.rng_.integers(0, 2**63 - 1))
        order = torch.randperm(len(yt), generator=self.order_).split(self.batch_size)
        val = torch.randperm(len(yv), generator=self.val_order_).split(self.batch_size)
        self.net_.train()
        train_n = val_n = 0
        with isolated(THREADS, torch.device("cpu"), seed):
            macs = self.epoch_macs()
            for i, idx in enumerate(order[: self.per_epoch_]):
                v = val[i % len(val)]
                self._arch_step(xt[idx], yt[idx], xv[v], yv[v])
                self._weight_step(xt[idx], yt[idx])
                train_n, val_n = train_n + len(idx), val_n + len(v)
        self.epoch_ += 1
        train_passes, val_passes = self._step_passes()
        return training_cost_s(macs, train_n, train_passes) + training_cost_s(
            macs, val_n, val_passes
        )

    def epoch_macs(self) -> int:
        """Forward MACs per sample of the strategy's forward under its current relaxed weights:
        one tallied forward of one train sample in eval mode; draws from no stream (the noise
        generator's state is restored)."""
        state = self.noise_.get_state()
        try:
            with counting(self.net_) as tally:
                self._forward(self.train_[0][:1], self._weights())
        finally:
            self.noise_.set_state(state)
        return tally.macs

    def next_weight_lr(self) -> float:
        """The learning rate of the next weight step: DARTS's cosine schedule from
        ``weight_lr`` down to ``LR_MIN`` over the planned epochs."""
        decay = learning_rate(self.recipe_, self.step_, self.per_epoch_) / self.weight_lr
        return LR_MIN + (self.weight_lr - LR_MIN) * decay

    def _weight_step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        lr = self.next_weight_lr()
        for group in self.weight_opt_.param_groups:
            group["lr"] = lr
        loss = F.cross_entropy(self._forward(x, self._weights()), y)
        self.weight_opt_.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self._weight_parameters(), GRAD_CLIP)
        self.weight_opt_.step()
        self.step_ += 1
        if self.pruner_ is not None:
            self.pruner_.step(self.step_)

    def _arch_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        weights = self._weights()
        return F.cross_entropy(self._forward(x, weights), y) + self._cost_loss(weights)

    def _arch_step(
        self, xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor
    ) -> None:
        """First-order: the architecture gradient of the validation loss at the current weights
        (DARTS Eq. 6 with xi = 0)."""
        self.arch_opt_.zero_grad(set_to_none=True)
        self._arch_loss(xv, yv).backward()
        self.arch_opt_.step()

    # ---- hooks ------------------------------------------------------------------------------
    def _step_passes(self) -> tuple[float, float]:
        """Forward-pass equivalents per sample of one step's train and val mini-batches
        (first order: a weight step on the train batch and an architecture step on the val
        batch, each a forward and a full backward)."""
        return TRAIN_PASSES, TRAIN_PASSES

    def _setup(self, task: Task, rng: np.random.Generator) -> None:
        """Strategy-specific preparation at the end of ``start`` (cost models)."""

    def _arch_optimizer(self) -> torch.optim.Optimizer:
        """The architecture parameters' optimiser: DARTS's Adam (``arch_lr``, betas (0.5,
        0.999), ``arch_weight_decay``)."""
        return torch.optim.Adam(
            self._arch_parameters(), self.arch_lr, ARCH_BETAS, weight_decay=self.arch_weight_decay
        )

    def _build_net(self, space: SearchSpace, task: Task, rng: np.random.Generator) -> Supernet:
        """The supernet (one draw from ``rng``): DARTS's edge-wise search network on the cell
        space when ``edge_wise`` is set, else the space's own."""
        if self.edges_:
            from nasbench.spaces.cell_supernet import edge_supernet

            net: Supernet = edge_supernet(space, task, rng)
            return net
        return build_supernet(space, task, rng)

    def decisions(self) -> tuple[Decision, ...]:
        """The decisions the architecture parameters relax: the supernet's (the space's own, or
        the edges of the edge-wise cell network)."""
        return self.net_.decisions

    def _init_logits(self, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """Zero logits when ``init_scale`` is 0 (draws nothing), else ``init_scale * N(0, 1)``
        per decision, in decision order, from one torch generator seeded from ``rng``."""
        if not self.init_scale:
            if self.edges_:
                return {d.name: torch.zeros(len(d.choices)) for d in self.decisions()}
            return uniform_logits(self.space_)
        gen = torch_generator(rng)
        return {
            d.name: self.init_scale * torch.randn(len(d.choices), generator=gen)
            for d in self.decisions()
        }

    def _weights(self) -> dict[str, torch.Tensor]:
        """The relaxed weight vector per decision (DARTS: softmax of the logits)."""
        return {k: torch.softmax(v, dim=0) for k, v in self.logits_.items()}

    def _forward(self, x: torch.Tensor, weights: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net_(x, weights)

    def _cost_loss(self, weights: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.zeros(())

    def _derive(self) -> Architecture:
        """Per decision the allowed choice of largest logit; on the edge-wise cell network
        DARTS's rule on ``softmax(alpha)`` (module docstring)."""
        if self.edges_:
            from nasbench.spaces.cell_supernet import derive_edges

            probs = {k: torch.softmax(v.detach(), dim=0) for k, v in self.logits_.items()}
            arch: Architecture = derive_edges(self.space_, probs)
            return arch
        return derive(self.space_, self.logits_)

    def _weight_parameters(self) -> list[nn.Parameter]:
        return list(self.net_.parameters())

    def _arch_parameters(self) -> list[torch.Tensor]:
        return list(self.logits_.values())


def _split(data: Dataset, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    split = getattr(data, name)
    x = torch.tensor(np.asarray(split.x), dtype=torch.float32)
    return x, torch.tensor(np.asarray(split.y), dtype=torch.long)
