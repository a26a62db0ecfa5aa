"""NAS-Bench-201's supernet: the benchmark network with a DARTS mixed op on every cell edge.

Dong & Yang (ICLR 2020) search NAS-Bench-201 with DARTS (Liu et al. ICLR 2019) and GDAS (Dong &
Yang CVPR 2019) on exactly this relaxation: every edge ``j -> i`` of every cell is a
:class:`~nasbench.core.supernet.MixedOp` over the five operations (``none`` included, as in their
search code), weighted by the vector of decision ``node{i}.in{j}``; all cells share the six
vectors. The macro skeleton is :meth:`NB201Space._build`'s: 3x3 conv stem, three stages of cells
joined by residual reductions, BN-ReLU, global pooling, linear classifier.

Each candidate is the module the stand-alone network uses for that op, so a one-hot path runs
the stand-alone network's math (``1.0 * op(x)`` per edge) and touches exactly its parameters.
Batch norm is affine with running statistics, like the stand-alone network's.

>>> import numpy as np
>>> from nasbench.core.supernet import build_supernet, sample_path
>>> from nasbench.core.types import Task
>>> from .nb201 import NB201Space
>>> space = NB201Space(channels=4, cells_per_stage=1)
>>> net = build_supernet(space, Task((1, 16), 3), np.random.default_rng(0))
>>> arch, weights = sample_path(space, np.random.default_rng(1))
>>> tuple(net(torch.zeros(2, 1, 16), weights).shape)
(2, 3)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from nasbench.core.supernet import MixedOp, Supernet, Weights, register_supernet
from nasbench.core.types import Decision, Task

from .nb201 import EDGES, NODES, OPS, NB201Space, ResidualReduction, edge_module
from .ops import batchnorm, conv, global_pool


class SuperCell(nn.Module):
    """A NAS-Bench-201 cell whose edge ``k`` (in :data:`EDGES` order) is a mixed op over
    :data:`OPS`; ``forward(x, edge_weights)`` takes the six weight vectors in edge order."""

    def __init__(self, d: int, channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            MixedOp(edge_module(op, d, channels) for op in OPS) for _ in EDGES
        )

    def forward(self, x: torch.Tensor, edge_weights: Sequence[torch.Tensor]) -> torch.Tensor:
        # the summation order of NB201Cell.forward, so one-hot paths match it bit for bit
        nodes = [x]
        k = 0
        for i in range(1, NODES):
            total = self.edges[k](nodes[0], edge_weights[k])
            for j in range(1, i):
                total = total + self.edges[k + j](nodes[j], edge_weights[k + j])
            k += i
            nodes.append(total)
        return nodes[-1]


class NB201Supernet(Supernet):
    """``layers`` mirrors the stand-alone ``nn.Sequential`` index for index (stem conv, stem BN,
    cells and reductions, BN, ReLU, pooling, classifier), with :class:`SuperCell` for cells."""

    exact_path_params = True

    def __init__(
        self, decisions: Sequence[Decision], task: Task, channels: int, cells_per_stage: int
    ) -> None:
        super().__init__(decisions)
        d, c = task.spatial_dims, channels
        layers: list[nn.Module] = [conv(d, task.channels, c, 3), batchnorm(d, c)]
        for stage in range(3):
            if stage:
                layers.append(ResidualReduction(d, c, 2 * c))
                c *= 2
            layers.extend(SuperCell(d, c) for _ in range(cells_per_stage))
        layers += [batchnorm(d, c), nn.ReLU(), global_pool(d), nn.Linear(c, task.num_classes)]
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor, weights: Weights) -> torch.Tensor:
        self.check_weights(weights)
        edge_weights = [weights[f"node{i}.in{j}"] for j, i in EDGES]
        for layer in self.layers:
            x = layer(x, edge_weights) if isinstance(layer, SuperCell) else layer(x)
        return x


@register_supernet("nb201")
def nb201_supernet(space: NB201Space, task: Task) -> NB201Supernet:
    """DARTS-style supernet over the six edges of ``space``'s cells; construction only."""
    return NB201Supernet(space.decisions(), task, space.channels, space.cells_per_stage)
