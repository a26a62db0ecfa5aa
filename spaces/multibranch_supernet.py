"""The ENAS macro space's supernet: every layer a mixed op, every skip a weighted input.

ENAS (Pham et al. ICML 2018, Sec. 2.3) trains one shared network in which each layer holds all
six operations and any earlier layer can feed it. Here layer ``i`` is a
:class:`~nasbench.core.supernet.MixedOp` over the six ops weighted by ``layer{i}.op``; its skip
input from layer ``j`` enters as ``w['1'] * h_j`` (``w`` the vector of ``layer{i}.skip{j}``;
skipped, not computed, when ``w['1'] == 0``), merged with the main input by the space's mode:

* ``sum``: the inputs are added, in the stand-alone network's order (one ``torch.stack(...).sum``);
* ``concat``: the inputs are concatenated (main first, skips ascending) and reduced to
  ``channels`` by layer ``i``'s 1x1 ``ConvBNReLU`` over *all* ``i`` possible inputs; a path uses
  the input-channel blocks of its active inputs only (gathered in order), which is the
  stand-alone merger of that many inputs. A layer with no active skip takes its main input as it
  is, as in the stand-alone network.

Reductions: layer ``j``'s output gets a chain of ENAS factorized reductions long enough for the
coarsest layer that could consume it; a forward computes a link only when some active input
needs it, so a path computes exactly the stand-alone network's chains.

A one-hot path therefore runs the stand-alone network's math. It touches exactly its parameter
tensors under ``sum``; under ``concat`` the mergers' unused input blocks are parts of touched
tensors (elementwise the path's parameters are still exactly the stand-alone network's).
Batch norm is affine with running statistics, as in the stand-alone network.

>>> import numpy as np
>>> from nasbench.core.supernet import build_supernet, path_weights
>>> from nasbench.core.types import Task
>>> from .multibranch import MultiBranchSpace
>>> space = MultiBranchSpace(layers=4, channels=4, merge="concat")
>>> net = build_supernet(space, Task((1, 16), 3), np.random.default_rng(0))
>>> arch = space.parse("conv3x3|sep_conv5x5|max_pool3x3+0|avg_pool3x3+0,1")
>>> tuple(net(torch.zeros(2, 1, 16), path_weights(space, arch)).shape)
(2, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from nasbench.core.supernet import MixedOp, Supernet, Weights, active, register_supernet
from nasbench.core.types import Decision, Task

from . import kernels
from .multibranch import OPS, Merge, MultiBranchSpace, op_module
from .ops import ConvBNReLU, FactorizedReduce, global_pool


class MultiBranchSupernet(Supernet):
    """Stem, one mixed op (and for ``concat`` one full-width merger) per layer, reduction
    chains, global pooling and classifier. ``levels[i]`` is the number of halvings before
    layer ``i``."""

    def __init__(
        self,
        decisions: Sequence[Decision],
        task: Task,
        channels: int,
        merge: Merge,
        levels: Sequence[int],
    ) -> None:
        super().__init__(decisions)
        d, c, n = task.spatial_dims, channels, len(levels)
        self.merge, self.levels = merge, tuple(levels)
        self.exact_path_params = merge is Merge.SUM  # concat mergers are used in blocks
        self.stem = ConvBNReLU(d, task.channels, c, 3)
        # layer i's possible inputs: main (layer i - 1) plus skips from layers 0 .. i - 2
        self.mergers = nn.ModuleList(
            ConvBNReLU(d, c * i, c, 1) if merge is Merge.CONCAT and i >= 2 else nn.Identity()
            for i in range(n)
        )
        self.ops = nn.ModuleList(MixedOp(op_module(op, d, c) for op in OPS) for _ in range(n))
        self.reduce = nn.ModuleList(
            nn.ModuleList(
                FactorizedReduce(d, c, c, relu=False) for _ in range(levels[-1] - levels[j])
            )
            for j in range(n)
        )
        self.head = nn.Sequential(global_pool(d), nn.Linear(c, task.num_classes))

    def forward(self, x: torch.Tensor, weights: Weights) -> torch.Tensor:
        self.check_weights(weights)
        # feats[j][k]: layer j's output after k halvings (key -1: the stem), extended on demand
        feats: dict[int, list[torch.Tensor]] = {-1: [self.stem(x)]}
        for i, level in enumerate(self.levels):
            main = self._at(feats, i - 1, level)
            ins, blocks = [main], [0]
            for j in range(i - 1):
                w = weights[f"layer{i}.skip{j}"]
                if 1 in active(w):
                    ins.append(w[1] * self._at(feats, j, level))
                    blocks.append(j + 1)
            feats[i] = [self.ops[i](self._merge(i, ins, blocks), weights[f"layer{i}.op"])]
        return self.head(feats[len(self.levels) - 1][0])

    def _at(self, feats: dict[int, list[torch.Tensor]], j: int, level: int) -> torch.Tensor:
        """Layer ``j``'s output brought down to ``level`` halvings (computing missing links)."""
        chain = feats[j]
        have = self.levels[j] if j >= 0 else 0
        while len(chain) <= level - have:
            links = cast(nn.ModuleList, self.reduce[j])
            chain.append(links[len(chain) - 1](chain[-1]))
        return chain[level - have]

    def _merge(self, i: int, ins: list[torch.Tensor], blocks: list[int]) -> torch.Tensor:
        if len(ins) == 1:
            return ins[0]
        if self.merge is Merge.SUM:
            return torch.stack(ins).sum(dim=0)  # as the stand-alone network adds them
        merger = self.mergers[i]
        assert isinstance(merger, ConvBNReLU)
        return _merge_blocks(merger, torch.cat(ins, dim=1), blocks)


@register_supernet("multibranch")
def multibranch_supernet(space: MultiBranchSpace, task: Task) -> MultiBranchSupernet:
    """ENAS's shared network over ``space``; construction only."""
    levels = tuple(sum(1 for r in space.reduce_at if r < i) for i in range(space.layers))
    return MultiBranchSupernet(space.decisions(), task, space.channels, space.merge, levels)


def _merge_blocks(merger: ConvBNReLU, x: torch.Tensor, blocks: Sequence[int]) -> torch.Tensor:
    """``merger`` restricted to the given input blocks of ``channels`` channels each."""
    conv, *rest = merger
    assert isinstance(conv, nn.Conv1d | nn.Conv2d)
    c = conv.out_channels
    index = torch.tensor([b * c + k for b in blocks for k in range(c)], device=x.device)
    pad = conv.padding[0]
    assert isinstance(pad, int)  # same padding, the same along every dimension
    weight = conv.weight.index_select(1, index)
    out = kernels.conv(x, weight, conv.bias, conv.stride[0], pad, 1, 1, conv.training)
    for module in rest:  # batch norm, ReLU
        out = module(out)
    return out
