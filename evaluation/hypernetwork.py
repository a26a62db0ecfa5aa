"""One-shot hypernetwork: score architectures with weights generated from their encoding.

SMASH (Brock et al., "SMASH: One-Shot Model Architecture Search through HyperNetworks", ICLR
2018) trains a hypernetwork that maps an architecture's encoding to the weights of that
architecture, sampling a random architecture per step; a candidate is then ranked by its
validation accuracy with the generated weights. Unlike weight sharing (``weight_sharing``), a
tensor two architectures both use gets different values in each: the weights are conditioned on
the whole architecture (SMASH, Sec. 3).

**The generator.** For every prunable tensor ``W`` of the space's supernet (conv and linear
weights, :func:`nasbench.pruning.prunable`; biases and batch norm stay ordinary shared
parameters), with ``e = space.encode(arch)`` (the fixed-length one-hot of all decisions)::

    h = tanh(B e) / sqrt(rank)                     # B: (rank, len(e)), one for all tensors
    W(arch) = M * (W_0 + reshape(A_W h))           # A_W: (numel(W), rank), one per tensor

a low-rank stand-in for SMASH's convolutional hypernetwork: ``h`` is an architecture
embedding, ``W_0`` the supernet's own tensor (a shared base, so with ``A = 0`` the model *is*
the weight-sharing supernet) and ``A_W h`` the architecture-conditioned part. ``A`` starts at
zero (training starts from weight sharing and learns the conditioning; ``B`` is drawn, so
``h`` already separates architectures). The ``1 / sqrt(rank)`` keeps a generated entry's
change per Adam step (each entry of ``A`` moves by about the learning rate) at the scale of
``W_0``'s; unscaled, the conditioned part moved up to ``rank`` times faster and trained worse
(tiny NB-201, 8 epochs, sparsity 0.5: mean val accuracy of 10 paths 0.329 unscaled, 0.353
scaled, 0.338 with ``A`` frozen at 0, i.e. weight sharing).

Every tensor is generated at each step (``numel x rank`` multiply-adds, small next to a batch's
forward pass, but charged: :meth:`HypernetworkEvaluator._generator_macs`); tensors off the
sampled path do not reach the loss, so their ``A_W`` and ``W_0`` get no gradient (``None``: the
optimiser skips them, and Adam's moments do not carry them on), as in weight sharing. The
supernet then runs the path through :func:`torch.func.functional_call` with the generated
tensors.

**Sparsity budget.** Gradual magnitude pruning (Zhu & Gupta 2017, :class:`~nasbench.pruning.
Pruner`) runs on ``W_0`` inside :func:`nasbench.training.train`, as weight sharing prunes the
supernet. The pruner keeps masked entries of ``W_0`` exactly zero (masks re-applied after every
optimiser step, their gradients blocked), so ``M = (W_0 != 0)`` *is* the pruning mask, and every
generated tensor has exactly ``W_0``'s zeros: each architecture's network meets the budget.

**Training and evaluation** are ``weight_sharing``'s (:mod:`nasbench.evaluation.one_shot`):
:func:`~nasbench.training.train` unchanged with one uniformly sampled path per step (so
determinism, divergence handling and the recipe apply), trained once per task settings from
fixed streams (seed 0) and never a run's seed, so every run and strategy is scored by the same
hypernetwork; the supernet's initialisation, the sampled paths and the batch order are weight
sharing's streams (common random numbers: the two evaluators differ only in the generator).
An evaluation generates the path's weights, recalibrates batch norm on ``bn_batches`` fixed
training batches and measures val and test accuracy; the training cost is charged to a run's
first evaluation, the generation, recalibration and validation to each, all simulated from
MACs (:mod:`nasbench.simcost`) with the generator's ``rank x (numel + len(e))`` MACs per
generation added to weight sharing's cost (3 passes per training step, 1 per evaluation).

>>> from nasbench.registry import spaces
>>> space = spaces.create("chain", max_layers=2, filters=(4, 8))
>>> ev = HypernetworkEvaluator(space, epochs=1, rank=2, bn_batches=2, recipe={"batch_size": 500})
>>> arch = space.parse("conv3-8-s2|conv3-8-s1")
>>> first = ev.evaluate(arch, 1.0, np.random.default_rng(0))
>>> second = ev.evaluate(arch, 1.0, np.random.default_rng(1))
>>> first.val_acc == second.val_acc, first.cost_s > second.cost_s, first.extra[0][0]
(True, True, 'supernet_cost_s')

Suite use::

    [[task]]
    space = "nb201"
    evaluator = "hypernetwork"
    dataset = "mnist1d"
    epochs = 20                 # hypernetwork epochs; the only fidelity
    rank = 8
    bn_batches = 10
    cache_dir = "cache/hypernetworks"
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from nasbench.errors import NasbenchError
from nasbench.pruning import prunable
from nasbench.registry import evaluators
from nasbench.seeding import role_rng, torch_generator
from nasbench.space import SearchSpace
from nasbench.supernet import Supernet, Weights, build_supernet, path_weights
from nasbench.training import train
from nasbench.types import Architecture

from .one_shot import SUPERNET_SEED, OneShotBase, TrainedSupernet

HYPERNETWORK_FORMAT = 1  # bump when the generator changes


class HyperNetwork(nn.Module):
    """A supernet ``net`` plus the low-rank generator of its prunable tensors (module
    docstring): ``embed`` is ``B`` (``rank x space.encoding_size``, drawn from ``rng`` with
    standard deviation ``1 / sqrt(#decisions)``, one draw); ``heads[i]`` is the ``A`` of tensor
    ``targets[i]`` (``numel x rank``, zeros).

    ``forward(x)`` runs, in train mode with a ``sampler``, a freshly sampled architecture
    (``space.sample(sampler)``) per call, otherwise ``reference``, with generated weights.
    """

    def __init__(
        self, net: Supernet, space: SearchSpace, rank: int, rng: np.random.Generator
    ) -> None:
        super().__init__()
        self.net, self.space, self.rank = net, space, rank
        names = {id(p): n for n, p in net.named_parameters()}
        tensors = prunable(net)
        self.targets = tuple(names[id(w)] for w in tensors)
        scale = 1.0 / math.sqrt(len(space.decisions()))
        draw = torch.randn(rank, space.encoding_size, generator=torch_generator(rng))
        self.embed = nn.Parameter(draw * scale)
        # one A per tensor (not one stacked matrix): the A of a tensor off the sampled path then
        # gets no gradient at all, and the optimiser leaves it alone, as it leaves that W_0
        self.heads = nn.ParameterList(torch.zeros(w.numel(), rank) for w in tensors)
        self.sampler: np.random.Generator | None = None
        self.reference: Architecture | None = None

    def generate(self, arch: Architecture) -> dict[str, torch.Tensor]:
        """``{name: W(arch)}`` for every prunable tensor of ``net`` (names as in
        ``net.named_parameters()``), differentiable in ``W_0``, ``A`` and ``B``."""
        e = torch.as_tensor(self.space.encode(arch), device=self.embed.device)
        h = torch.tanh(self.embed @ e) / math.sqrt(self.rank)
        base = dict(self.net.named_parameters())
        out = {}
        for name, head in zip(self.targets, self.heads, strict=True):
            w0 = base[name]
            out[name] = (w0 + (head @ h).view_as(w0)) * (w0 != 0)  # W_0 != 0: the pruning mask
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        arch = self.reference
        if self.training and self.sampler is not None:
            arch = self.space.sample(self.sampler)
        if arch is None:
            raise ValueError("HyperNetwork needs a sampler (training) or a reference arch")
        weights = path_weights(self.space, arch, x.device)
        return functional_call(self.net, self.generate(arch), (x, weights))


class Generated(nn.Module):
    """The supernet with fixed generated tensors: ``forward(x, weights)`` runs
    ``net(x, weights)`` with ``params`` in place of its own (buffers stay ``net``'s)."""

    def __init__(self, net: Supernet, params: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.net, self.params = net, params

    def forward(self, x: torch.Tensor, weights: Weights) -> torch.Tensor:
        return functional_call(self.net, self.params, (x, weights))


@evaluators.register("hypernetwork")
class HypernetworkEvaluator(OneShotBase):
    """Score architectures with weights a trained hypernetwork generates for them (module
    docstring).

    ``epochs`` are the hypernetwork's training epochs and the only fidelity; ``rank`` the width
    ``r`` of the architecture embedding (whole number >= 1); ``bn_batches``, ``cache_dir`` and
    the other parameters as for ``weight_sharing``. :meth:`evaluate` draws nothing from
    ``rng``. Raises NasbenchError for a space without a supernet and for invalid parameters.
    """

    name = "hypernetwork"

    def __init__(
        self,
        space: SearchSpace,
        dataset: str = "mnist1d",
        epochs: int = 20,
        rank: int = 8,
        bn_batches: int = 10,
        cache_dir: str | None = None,
        latency_device: str | None = None,
        sparsity: float = 0.0,
        data_root: str | None = None,
        device: str = "cpu",
        recipe: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(space, dataset, epochs, bn_batches, cache_dir, latency_device,
                         sparsity, data_root, device, recipe)  # fmt: skip
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
            raise NasbenchError(f"rank must be a whole number >= 1, got {rank!r}")
        self.rank = rank
        self._net = build_supernet(space, self.task, role_rng(SUPERNET_SEED, "supernet", "init"))
        embedding = role_rng(SUPERNET_SEED, "hypernetwork", "embedding")
        self.hyper = HyperNetwork(self._net, space, rank, embedding)
        self._model = self.hyper
        self._finish_init()

    def extra_settings(self) -> dict[str, Any]:
        return {"hypernetwork": {"format": HYPERNETWORK_FORMAT, "rank": self.rank}}

    def _train(self) -> tuple[TrainedSupernet, dict[str, torch.Tensor]]:
        """One uniformly sampled path per step (with the budget's pruning of ``W_0``) from the
        fixed streams."""
        self.hyper.reference = self.space.sample(role_rng(SUPERNET_SEED, "supernet", "reference"))
        self.hyper.sampler = role_rng(SUPERNET_SEED, "supernet", "paths")
        try:
            result = train(self.hyper, self.data, self.recipe,
                           role_rng(SUPERNET_SEED, "supernet", "train"),
                           prune=self.prune_schedule(), device=self.device)  # fmt: skip
        finally:
            self.hyper.sampler = None
        return self._result_record(result), self._state()

    def _generator_macs(self) -> float:
        """MACs of one generation: ``B e`` and ``A_W h`` for every prunable tensor ``W``."""
        numel = sum(head.shape[0] for head in self.hyper.heads)
        return float(self.rank * (numel + self.space.encoding_size))

    def _network(self, arch: Architecture) -> nn.Module:
        """The supernet with ``arch``'s generated tensors (computed once, without gradients)."""
        self.space.validate(arch)
        with torch.no_grad():
            params = {k: v.detach() for k, v in self.hyper.generate(arch).items()}
        return Generated(self._net, params)
