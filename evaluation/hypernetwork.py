"""One-shot hypernetworks: score architectures with weights generated from their encoding.

Two evaluators:

- ``hypernetwork``: SMASH (Brock, Lim, Ritchie & Weston, "SMASH: One-Shot Model Architecture
  Search through HyperNetworks", ICLR 2018): a HyperNet maps the architecture's encoding to the
  weights of the sampled network. The weights are the HyperNet's output; no conv weight of the
  supernet is a trained parameter.
- ``hypernetwork_lowrank``: a cheaper stand-in (the ``hypernetwork`` of earlier versions): the
  supernet's own shared weights plus a low-rank, architecture-conditioned modulation.

Both are trained once per task settings like ``weight_sharing`` (:mod:`nasbench.evaluation.
one_shot`), so every run and strategy scores against the same trained model: the loop is
:func:`~nasbench.training.trainer.train` unchanged, with one uniformly sampled architecture per step
from weight sharing's fixed streams (seed 0, roles ``"supernet", ...``: the same paths and
batches, i.e. common random numbers), and a candidate is then ranked by its validation accuracy
with generated weights, without further training (SMASH's Algorithm 1).

**SMASH's encoding.** SMASH describes an architecture by a tensor laid out along the network,
one slice per layer, whose channels say what that layer reads, writes and computes (its
"dimensionality-augmented" embedding). Here ``c(arch)`` lays out one one-hot row per
decision of the space's universe over that decision's choices (all zeros where the
architecture does not use the decision), concatenated in universe order:
:func:`~nasbench.core.supernet.path_weights`, the same vectors that select the path in the supernet.

**The generator.** Every prunable tensor ``W_s`` of the space's supernet (each conv weight,
depthwise included, and the classifier's weight: :func:`nasbench.training.pruning.prunable`) is a
generated *slot*. SMASH's HyperNet emits its output as weight chunks, one per position, and
reads each layer's weights off as a slice; here slot ``s`` (``n_s`` entries) is the first
``n_s`` entries of ``m_s = ceil(n_s / chunk)`` chunks, each produced by one small network
shared by all chunks of all slots (a stack of 1x1 convolutions over the chunk positions)::

    a   = P c(arch)                          # architecture code, P: (hidden, len(c))
    h_j = lrelu(z_j + a + b)                 # z_j: chunk j's code, (hidden,)
    g_j = lrelu(R h_j)                       # R: (hidden, hidden)
    w_j = O g_j                              # O: (chunk, hidden): the chunk's entries
    W_s(arch) = gain_s * reshape(w_{s,1} ... w_{s,m_s})[:n_s]

with Leaky ReLU slope 0.02 (SMASH's). The codes ``z_j`` of a slot's chunks are its slot
embedding. SMASH draws them once, ``z ~ N(0, I)``, and keeps them fixed; here they are learned
from that draw (the learned layer embeddings of Ha et al., "HyperNetworks", ICLR 2017, which
SMASH builds on), so the generator's capacity grows with the supernet instead of compressing a
large one into a few shared matrices (tiny NB-201, 3 epochs, sparsity 0.5, chunk and hidden
64: mean val accuracy of 10 architectures 0.236 learned, 0.185 fixed; fixed codes caught up only
at hidden 128, 0.249, where the shared matrices outnumber that supernet's weights 4 to 1).
``gain_s = 1 / sqrt(3 fan_in)`` is the standard deviation of the supernet's own
initialisation, so generated weights start at that scale. ``P``, ``R``, ``O`` and the codes
are drawn from stream ``"hypernetwork", "smash"`` of seed 0.

**What stays static** (ordinary shared parameters, trained directly as in weight sharing):
batch norm (affine and statistics) and every bias. SMASH keeps layers static too (its stem,
batch norm, the classifier and the freely learned spatial convolutions). Each generated slot's
module holds a zero placeholder buffer instead of its weight (not saved, never trained, used
only to count MACs); every forward runs the supernet through
:func:`torch.func.functional_call` with the generated tensors, so the loss's gradient reaches
``P``, ``R``, ``O``, ``b`` and the codes only through the generated weights. All slots are
generated at every step, as SMASH generates its whole network; slots off the sampled path do
not reach the loss, so their codes get a zero gradient.

**Sparsity budget** (SCAS: SMASH interleaved with pruning). At every training step the
sampled architecture's generated tensors are pruned by magnitude to the current level of the
budget's gradual schedule (Zhu & Gupta 2017, Eq. 1;
:class:`~nasbench.training.pruning.PruneSchedule` with the recipe's ``prune_scope``: each tensor
alone, or all at once; the level follows the schedule's pruning steps, as
:class:`~nasbench.training.pruning.Pruner` computes it) and the pruned network's loss is
back-propagated to the HyperNet: the mask is a constant, so the gradient reaches the kept entries
and nothing else. The masks depend on the generated weights, hence on the architecture, and are
recomputed at every step (nothing persistent: the cache stores no masks). An evaluation prunes the
architecture's generated tensors to the target sparsity, so every scored network meets the budget.

**Evaluation and cost** are the one-shot modes' (:mod:`nasbench.evaluation.one_shot`): an
evaluation generates the architecture's weights, recalibrates batch norm on ``bn_batches``
fixed training batches and measures val and test accuracy; the training cost is charged to a
run's first evaluation, the generation, recalibration and validation to each, all simulated
from MACs (:mod:`nasbench.training.simcost`), the generator's MACs per generation (``hidden x
len(c)`` plus ``hidden x (hidden + chunk)`` per chunk,
:meth:`HypernetworkEvaluator._generator_macs`) added to weight sharing's cost (3 passes per training
step, 1 per evaluation). The record's ``sparsity`` is that of the reference architecture's generated
tensors at the target.

**The low-rank variant** (``hypernetwork_lowrank``, :class:`LowRankHyperNet`): for every
prunable tensor ``W`` of the supernet, with ``e = space.encode(arch)``::

    h = tanh(B e) / sqrt(rank)                     # B: (rank, len(e)), one for all tensors
    W(arch) = M * (W_0 + reshape(A_W h))           # A_W: (numel(W), rank), one per tensor

``W_0`` is the supernet's own tensor (a shared base: with ``A = 0`` the model *is* the
weight-sharing supernet), ``A`` starts at zero, ``B`` is drawn. The ``1 / sqrt(rank)`` keeps a
generated entry's change per Adam step at the scale of ``W_0``'s (unscaled, tiny NB-201, 8
epochs, sparsity 0.5: mean val accuracy of 10 paths 0.329, scaled 0.353, ``A`` frozen at 0,
i.e. weight sharing, 0.338). Gradual magnitude pruning runs on ``W_0`` inside
:func:`~nasbench.training.trainer.train`, as weight sharing prunes the supernet; masked entries of
``W_0`` stay exactly zero, so ``M = (W_0 != 0)`` is the mask and every generated tensor has
``W_0``'s zeros. The generator costs ``rank x (numel + len(e))`` MACs per generation.

Against SMASH on one small measured comparison (nasbench's MNIST-1D multibranch table, its first
40 architectures per sparsity, 20 epochs, the table's recipe; Kendall tau between one-shot and
stand-alone validation accuracy): at sparsity 0, SMASH -0.02 and low-rank -0.11; at 0.8, SMASH
0.26 and low-rank 0.02. The low-rank networks are more accurate (mean one-shot val accuracy 0.46
and 0.43 against SMASH's 0.24 and 0.23) and cheaper (15.2 against 19.3 simulated seconds of
training); with 40 architectures tau's standard error is near 0.1, so SMASH's better ranking
here is a hint, not a verdict.

>>> from nasbench.core.registry import spaces
>>> space = spaces.create("chain", max_layers=2, filters=(4, 8))
>>> ev = HypernetworkEvaluator(space, epochs=1, chunk=16, hidden=16, bn_batches=2,
...                            recipe={"batch_size": 500})
>>> arch = space.parse("conv3-8-s2|conv3-8-s1")
>>> first = ev.evaluate(arch, 1.0, np.random.default_rng(0))
>>> second = ev.evaluate(arch, 1.0, np.random.default_rng(1))
>>> first.val_acc == second.val_acc, first.cost_s > second.cost_s, first.extra[0][0]
(True, True, 'supernet_cost_s')

Suite use::

    [[task]]
    space = "nb201"
    evaluator = "hypernetwork"   # or "hypernetwork_lowrank" with rank = 8
    dataset = "mnist1d"
    epochs = 20                 # HyperNet epochs; the only fidelity
    chunk = 64                  # entries per generated weight chunk
    hidden = 64                 # generator width
    bn_batches = 10
    cache_dir = "cache/hypernetworks"
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F  # noqa: N812

from nasbench.core.errors import NasbenchError
from nasbench.core.params import param
from nasbench.core.registry import evaluators
from nasbench.core.seeding import role_rng, torch_generator
from nasbench.core.space import SearchSpace
from nasbench.core.supernet import Supernet, Weights, build_supernet, path_weights
from nasbench.core.types import Architecture, Status
from nasbench.training.pruning import PruneSchedule, Scope, prunable
from nasbench.training.trainer import steps_per_epoch, train

from .one_shot import SUPERNET_SEED, OneShotBase, TrainedSupernet, settings

LOWRANK_FORMAT = 1  # bump when the low-rank generator changes
SMASH_FORMAT = 1  # bump when SMASH's generator changes


LEAK = 0.02  # Leaky ReLU slope of the generator (SMASH's HyperNet uses 0.02)


def _placeholders(net: nn.Module, names: tuple[str, ...]) -> None:
    """Replace the parameters ``names`` of ``net`` by zero buffers of their shape, not saved in
    the state dict and never trained (every module that held one gets the same buffer)."""
    holders: dict[int, list[tuple[nn.Module, str]]] = {}
    for module in net.modules():
        for key, value in module._parameters.items():
            if value is not None:
                holders.setdefault(id(value), []).append((module, key))
    for name in names:
        path, _, attr = name.rpartition(".")
        param = net.get_submodule(path)._parameters[attr]
        assert param is not None
        zeros = torch.zeros_like(param, requires_grad=False)
        for module, key in holders[id(param)]:
            del module._parameters[key]
            module.register_buffer(key, zeros, persistent=False)


def _prune(tensors: list[torch.Tensor], level: float, scope: Scope) -> list[torch.Tensor]:
    """``tensors`` with their ``round(level * n)`` smallest-magnitude entries zeroed, ranked
    within each tensor (``Scope.LAYER``) or over all at once (``Scope.GLOBAL``); the mask is a
    constant for the gradient, which reaches the kept entries unchanged."""
    if level <= 0.0:
        return tensors
    groups = [[t] for t in tensors] if scope is Scope.LAYER else [tensors]
    out = []
    for group in groups:
        flat = torch.cat([t.detach().abs().reshape(-1) for t in group])
        keep = torch.ones_like(flat)
        k = round(level * flat.numel())
        if k > 0:
            keep[torch.topk(flat, k, largest=False, sorted=False).indices] = 0.0
        offset = 0
        for t in group:
            out.append(t * keep[offset : offset + t.numel()].view_as(t))
            offset += t.numel()
    return out


class SmashHyperNet(nn.Module):
    """SMASH's HyperNet over a supernet ``net`` (module docstring): ``targets`` are the generated
    tensors (every prunable tensor of ``net``, named as in ``net.named_parameters()`` before
    they became placeholders), cut into ``chunk``-entry weight chunks; ``codes`` holds one code
    per chunk, ``arch`` is ``P``, ``mid`` is ``R``, ``out`` is ``O``. Everything is drawn from
    ``rng`` (one draw).

    ``forward(x)`` runs, in train mode with a ``sampler``, a freshly sampled architecture per
    call with its generated weights pruned to the schedule's level (``prune``: the schedule and
    its step window, or ``None``), otherwise ``reference`` at the current level.
    """

    def __init__(
        self, net: Supernet, space: SearchSpace, chunk: int, hidden: int,
        rng: np.random.Generator,
    ) -> None:  # fmt: skip
        super().__init__()
        self.net, self.space, self.chunk, self.hidden = net, space, chunk, hidden
        names = {id(p): n for n, p in net.named_parameters()}
        tensors = prunable(net)
        self.targets = tuple(names[id(w)] for w in tensors)
        self.shapes = tuple(tuple(w.shape) for w in tensors)
        # the standard deviation of the supernet's own initialisation, U(+-1/sqrt(fan_in))
        self.gains = tuple(1.0 / math.sqrt(3.0 * max(1, w[0].numel())) for w in tensors)
        self.counts = tuple(-(-w.numel() // chunk) for w in tensors)  # chunks per tensor
        _placeholders(net, self.targets)
        gen = torch_generator(rng)
        width = sum(len(d.choices) for d in space.decisions())
        n = sum(self.counts)
        self.arch = nn.Parameter(
            torch.randn(hidden, width, generator=gen) / math.sqrt(2.0 * len(space.decisions()))
        )
        self.codes = nn.Parameter(torch.randn(n, hidden, generator=gen) / math.sqrt(2.0))
        self.bias = nn.Parameter(torch.zeros(hidden))
        self.mid = nn.Parameter(
            torch.randn(hidden, hidden, generator=gen) * math.sqrt(2.0 / hidden)
        )
        self.out = nn.Parameter(torch.randn(chunk, hidden, generator=gen) * math.sqrt(2.0 / hidden))
        self.sampler: np.random.Generator | None = None
        self.reference: Architecture | None = None
        self.prune: tuple[PruneSchedule, int, int] | None = None
        self.steps = 0  # training forwards so far
        self.scope = Scope.LAYER

    def encoding(self, arch: Architecture) -> torch.Tensor:
        """``c``: one one-hot row per universe decision (zeros where ``arch`` does not use it),
        concatenated in the universe's order."""
        rows = path_weights(self.space, arch, self.arch.device)
        return torch.cat([rows[d.name] for d in self.space.decisions()])

    def generate(self, arch: Architecture, level: float = 0.0) -> dict[str, torch.Tensor]:
        """``{name: W(arch)}`` for every target, pruned to sparsity ``level`` (the budget's
        scope), differentiable in the generator's parameters."""
        a = self.arch @ self.encoding(arch)
        h = F.leaky_relu(self.codes + a + self.bias, LEAK)
        h = F.leaky_relu(h @ self.mid.T, LEAK)
        chunks = (h @ self.out.T).split(self.counts)
        tensors = [
            gain * c.reshape(-1)[: math.prod(shape)].view(shape)
            for c, shape, gain in zip(chunks, self.shapes, self.gains, strict=True)
        ]
        return dict(zip(self.targets, _prune(tensors, level, self.scope), strict=True))

    def level(self, t: int) -> float:
        """The sparsity after ``t`` optimiser steps: Zhu & Gupta's Eq. 1 at the last pruning
        step due (every ``every_steps`` from ``t0``, and ``t_end``), as the Pruner computes it."""
        if self.prune is None:
            return 0.0
        schedule, t0, t_end = self.prune
        if t < t0:
            return 0.0
        due = t if t >= t_end else t0 + (t - t0) // schedule.every_steps * schedule.every_steps
        return schedule.sparsity_at(due, t0, t_end)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        arch = self.reference
        level = self.level(self.steps)
        if self.training and self.sampler is not None:
            arch = self.space.sample(self.sampler)
            self.steps += 1
        if arch is None:
            raise ValueError("SmashHyperNet needs a sampler (training) or a reference arch")
        weights = path_weights(self.space, arch, x.device)
        return functional_call(self.net, self.generate(arch, level), (x, weights))


class LowRankHyperNet(nn.Module):
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
            raise ValueError("LowRankHyperNet needs a sampler (training) or a reference arch")
        weights = path_weights(self.space, arch, x.device)
        return functional_call(self.net, self.generate(arch), (x, weights))


class Generated(nn.Module):
    """The supernet with fixed generated tensors: ``forward(x, weights)`` runs
    ``net(x, weights)`` with ``params`` in place of the tensors of those names (the other
    parameters and buffers stay ``net``'s)."""

    def __init__(self, net: Supernet, params: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.net, self.params = net, params

    def forward(self, x: torch.Tensor, weights: Weights) -> torch.Tensor:
        return functional_call(self.net, self.params, (x, weights))


@evaluators.register("hypernetwork_lowrank")
class LowRankHypernetworkEvaluator(OneShotBase):
    """Score architectures with weights the low-rank hypernetwork generates for them (module
    docstring, the low-rank variant).

    ``epochs`` are the hypernetwork's training epochs and the only fidelity; ``rank`` the width
    ``r`` of the architecture embedding (whole number >= 1); ``bn_batches``, ``cache_dir`` and
    the other parameters as for ``weight_sharing``. :meth:`evaluate` draws nothing from
    ``rng``. Raises NasbenchError for a space without a supernet and for invalid parameters.
    """

    name = "hypernetwork_lowrank"

    rank: int = param(8, ge=1)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._net = build_supernet(
            self.space, self.task, role_rng(SUPERNET_SEED, "supernet", "init")
        )
        embedding = role_rng(SUPERNET_SEED, "hypernetwork", "embedding")
        self.hyper = LowRankHyperNet(self._net, self.space, self.rank, embedding)
        self._model = self.hyper
        self._finish_init()

    def extra_settings(self) -> dict[str, Any]:
        return {"hypernetwork": {"format": LOWRANK_FORMAT, "rank": self.rank}}

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


@evaluators.register("hypernetwork")
class HypernetworkEvaluator(OneShotBase):
    """SMASH: score architectures with weights a trained HyperNet generates from their encoding
    (module docstring).

    ``epochs`` are the HyperNet's training epochs and the only fidelity; ``chunk`` the entries
    per generated weight chunk and ``hidden`` the generator's width (whole numbers >= 1);
    ``bn_batches``, ``cache_dir`` and the other parameters as for ``weight_sharing``. ``rank``
    belonged to the low-rank generator, now ``hypernetwork_lowrank``, and is refused here.
    :meth:`evaluate` draws nothing from ``rng``. Raises NasbenchError for a space without a
    supernet and for invalid parameters.
    """

    name = "hypernetwork"

    chunk: int = param(64, ge=1)
    hidden: int = param(64, ge=1)
    rank: None = param(None, doc="refused: the low-rank generator's ('hypernetwork_lowrank')")

    def __post_init__(self) -> None:
        if self.rank is not None:
            raise NasbenchError(
                "rank is a parameter of the low-rank generator: use evaluator "
                "'hypernetwork_lowrank', or chunk and hidden for SMASH's 'hypernetwork'"
            )
        super().__post_init__()
        self._net = build_supernet(
            self.space, self.task, role_rng(SUPERNET_SEED, "supernet", "init")
        )
        generator = role_rng(SUPERNET_SEED, "hypernetwork", "smash")
        self.hyper = SmashHyperNet(self._net, self.space, self.chunk, self.hidden, generator)
        self.hyper.scope = self.recipe.prune_scope
        self._model = self.hyper
        self._finish_init()

    def extra_settings(self) -> dict[str, Any]:
        return {"smash": {"format": SMASH_FORMAT, "chunk": self.chunk, "hidden": self.hidden}}

    def _train(self) -> tuple[TrainedSupernet, dict[str, torch.Tensor]]:
        """One uniformly sampled architecture per step, its generated weights pruned to the
        schedule's level, from the fixed streams (weight sharing's)."""
        hyper = self.hyper
        hyper.reference = self.space.sample(role_rng(SUPERNET_SEED, "supernet", "reference"))
        hyper.sampler = role_rng(SUPERNET_SEED, "supernet", "paths")
        hyper.steps = 0
        schedule = self.prune_schedule()
        if schedule is not None:
            per_epoch = steps_per_epoch(len(self.data.train.y), self.recipe.batch_size)
            hyper.prune = (schedule, *schedule.window(self.epochs, per_epoch))
        try:
            result = train(hyper, self.data, self.recipe,
                           role_rng(SUPERNET_SEED, "supernet", "train"),
                           device=self.device)  # fmt: skip
        finally:
            hyper.sampler = None
        record = self._result_record(result)
        return replace(record, sparsity=self._reference_sparsity(record)), self._state()

    def _reference_sparsity(self, record: TrainedSupernet) -> float:
        """Zeros among all tensors generated for the reference architecture at the target
        sparsity (``nan`` after a failed training)."""
        if record.status is Status.FAILED or self.hyper.reference is None:
            return math.nan
        with torch.no_grad():
            tensors = self.hyper.generate(self.hyper.reference, self.sparsity).values()
        zeros = sum(int((t == 0).sum()) for t in tensors)
        return zeros / sum(t.numel() for t in tensors)

    def _generator_macs(self) -> float:
        """MACs of one generation: ``P c`` once, ``R`` and ``O`` for every chunk."""
        h, chunks = self.hidden, sum(self.hyper.counts)
        return float(h * self.hyper.arch.shape[1] + chunks * h * (h + self.chunk))

    def _network(self, arch: Architecture) -> nn.Module:
        """The supernet with ``arch``'s generated tensors at the target sparsity (computed
        once, without gradients)."""
        self.space.validate(arch)
        with torch.no_grad():
            params = {k: v.detach() for k, v in self.hyper.generate(arch, self.sparsity).items()}
        return Generated(self._net, params)

    def _save(self, record: TrainedSupernet, state: dict[str, torch.Tensor]) -> None:
        """Write the HyperNet's parameters and the record, as the other one-shot evaluators do,
        with no pruning masks: a generated tensor's mask depends on the architecture."""
        paths = self._paths()
        if paths is None:
            return
        pt, js = paths
        pt.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"state": state, "masks": {}}, f"{pt}.tmp")
        os.replace(f"{pt}.tmp", pt)
        info = {**asdict(record), "status": record.status.value, "settings": settings(self)}
        Path(f"{js}.tmp").write_text(json.dumps(info, indent=1))
        os.replace(f"{js}.tmp", js)
