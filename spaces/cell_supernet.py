"""The cell space's supernet: DARTS's one-shot network with input-selection decisions.

DARTS (Liu et al. ICLR 2019, Sec. 2.1-2.2) puts a mixed op on every edge ``i -> k`` of a cell
(each earlier state ``i`` into each intermediate node ``k``) and shares the op weights of a cell
type among all cells of that type. The cell space decides, per node ``k`` and slot ``j`` (0, 1),
an input ``{c}.node{k}.in{j}`` and an op ``{c}.node{k}.op{j}``; node ``k`` of the relaxed cell is

    s_k = sum_j sum_i w_in_j[i] * sum_o w_op_j[o] * op_{i,k,o}(s_i)

where ``op_{i,k,o}`` is the candidate ``o`` of edge ``i -> k``. Slot ``j``'s input mixture is not
computed as one state passed through one mixed op (the brief's first sketch): in a reduction
cell the edges from the cell inputs have stride 2 and those from intermediate nodes stride 1,
so the candidate states have different sizes and each source needs its own op. Keeping one
:class:`~nasbench.supernet.MixedOp` per edge ``i -> k`` for both slots is exactly DARTS's
supernet; a path never uses an edge twice because ``in1 != in0`` (the space's rule), so each
edge's candidate ``o`` runs once with coefficient ``sum_j w_in_j[i] * w_op_j[o]`` (only the
slots with ``w_in_j[i] != 0`` contribute).

With one-hot weights the coefficients are exactly 1 and 0, so a path runs the stand-alone
network's two ops per node (their sum is commutative, so the order does not matter bit-wise) and
touches exactly its parameters. Unlike DARTS's search network, pooling candidates carry no extra
batch norm: the supernet's candidates are the stand-alone network's modules, which keeps one-hot
paths exact; batch norm elsewhere is affine with running statistics, as in the stand-alone
network. Cell preprocessing, stem and head are :class:`spaces.cell._Network`'s.

>>> import numpy as np
>>> from nasbench.supernet import softmax_weights, uniform_logits
>>> from nasbench.types import Task
>>> from .cell import CellSpace
>>> space = CellSpace(nodes=2, channels=4, cells_per_stage=1)
>>> net = space.supernet(Task((1, 16), 3), np.random.default_rng(0))
>>> tuple(net(torch.zeros(2, 1, 16), softmax_weights(uniform_logits(space))).shape)
(2, 3)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from nasbench.supernet import MixedOp, Supernet, Weights, active
from nasbench.types import Decision, Task

from .cell import CELLS, _CellSpec, _op_module, _stride
from .ops import FactorizedReduce, ReLUConvBN, batchnorm, conv, global_pool


class SuperCell(nn.Module):
    """One cell of the supernet. ``edges[f"{k}_{i}"]`` is the mixed op of edge ``i -> k``."""

    def __init__(self, d: int, nodes: int, ops: Sequence[str], spec: _CellSpec) -> None:
        super().__init__()
        c = spec.c
        self.nodes = nodes
        self.cell_type = CELLS[spec.reduction]
        self.pre0: nn.Module = (
            FactorizedReduce(d, spec.c_pp, c) if spec.reduction_prev
            else ReLUConvBN(d, spec.c_pp, c, 1)
        )  # fmt: skip
        self.pre1 = ReLUConvBN(d, spec.c_p, c, 1)
        self.edges = nn.ModuleDict(
            {
                f"{k}_{i}": MixedOp(_op_module(op, d, c, _stride(spec, i)) for op in ops)
                for k in range(nodes)
                for i in range(k + 2)
            }
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: Weights) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for k in range(self.nodes):
            name = f"{self.cell_type}.node{k}"
            slots = [
                (set(active(weights[f"{name}.in{j}"])), weights[f"{name}.in{j}"],
                 weights[f"{name}.op{j}"])
                for j in (0, 1)
            ]  # fmt: skip
            total: torch.Tensor | None = None
            for i in range(k + 2):
                coef = self._coefficients(slots, i)
                if coef is None:
                    continue
                out = self.edges[f"{k}_{i}"](states[i], coef)
                total = out if total is None else total + out
            if total is None:
                raise ValueError(f"{name}: every input weight is zero")
            states.append(total)
        return torch.cat(states[2:], dim=1)

    @staticmethod
    def _coefficients(
        slots: Sequence[tuple[set[int], torch.Tensor, torch.Tensor]], i: int
    ) -> torch.Tensor | None:
        """``sum_j w_in_j[i] * w_op_j`` over the slots that select input ``i`` with a nonzero
        weight; ``None`` when none does (edge ``i -> k`` is then not computed)."""
        coef: torch.Tensor | None = None
        for nonzero, w_in, w_op in slots:
            if i in nonzero:
                term = w_in[i] * w_op
                coef = term if coef is None else coef + term
        return coef


class CellSupernet(Supernet):
    """Stem, the macro network's cells as :class:`SuperCell`, global pooling and classifier
    (module layout of :class:`spaces.cell._Network`)."""

    exact_path_params = True

    def __init__(
        self,
        decisions: Sequence[Decision],
        task: Task,
        nodes: int,
        ops: Sequence[str],
        stem_c: int,
        plan: Sequence[_CellSpec],
    ) -> None:
        super().__init__(decisions)
        d = task.spatial_dims
        self.stem = nn.Sequential(conv(d, task.channels, stem_c, 3), batchnorm(d, stem_c))
        self.cells = nn.ModuleList(SuperCell(d, nodes, ops, spec) for spec in plan)
        self.head = nn.Sequential(global_pool(d), nn.Linear(nodes * plan[-1].c, task.num_classes))

    def forward(self, x: torch.Tensor, weights: Weights) -> torch.Tensor:
        self.check_weights(weights)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, weights)
        return self.head(s1)
