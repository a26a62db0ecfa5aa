"""The cell space's supernet: DARTS's one-shot network with input-selection decisions.

DARTS (Liu et al. ICLR 2019, Sec. 2.1-2.2) puts a mixed op on every edge ``i -> k`` of a cell
(each earlier state ``i`` into each intermediate node ``k``) and shares the op weights of a cell
type among all cells of that type. The cell space decides, per node ``k`` and slot ``j`` (0, 1),
an input ``{c}.node{k}.in{j}`` and an op ``{c}.node{k}.op{j}``; node ``k`` of the relaxed cell is

    s_k = sum_j sum_i w_in_j[i] * sum_o w_op_j[o] * op_{i,k,o}(s_i)

where ``op_{i,k,o}`` is the candidate ``o`` of edge ``i -> k``. Slot ``j``'s input mixture is not
computed as one state passed through one mixed op (the brief's first sketch): in a reduction
cell the edges from the cell inputs have stride 2 and those from intermediate nodes stride 1,
so the candidate states have different sizes and each source needs its own op. One
:class:`~nasbench.core.supernet.MixedOp` per edge ``i -> k`` serves both slots (DARTS's modules, not
its relaxation: see the edge-wise form below); a path never uses an edge twice because
``in1 != in0`` (the space's rule), so each edge's candidate ``o`` runs once with coefficient
``sum_j w_in_j[i] * w_op_j[o]`` (only the slots with ``w_in_j[i] != 0`` contribute). This form
serves the one-hot paths of weight sharing (ENAS, one-shot evaluation).

With one-hot weights the coefficients are exactly 1 and 0, so a path runs the stand-alone
network's two ops per node (their sum is commutative, so the order does not matter bit-wise) and
touches exactly its parameters. Unlike DARTS's search network, pooling candidates carry no extra
batch norm: the supernet's candidates are the stand-alone network's modules, which keeps one-hot
paths exact; batch norm elsewhere is affine with running statistics, as in the stand-alone
network. Cell preprocessing, stem and head are :class:`spaces.cell._Network`'s.

**Edge-wise form (DARTS and GDAS).** The relaxation above is per *slot*: its architecture
parameters are the space's decisions, and a slot's input mixture and op mixture are separate
vectors, so the two slots of a node see one symmetric formula. DARTS's own relaxation
(Liu et al. 2019, Sec. 2.1, Eq. 1-2) is per *edge*: every candidate input ``i`` of node ``k``
is an edge with its own vector ``alpha_{i,k}`` over the candidate ops *plus the zero op*
(``'none'``, "a lack of connection"), and ``s_k = sum_i sum_o softmax(alpha_{i,k})[o] *
op_{i,k,o}(s_i)``. :class:`EdgeCellSupernet` is that network: decisions
``{c}.node{k}.edge{i}`` over ``('none', *ops)`` (:func:`edge_decisions`), built by
:func:`edge_supernet`; as in DARTS's search network, a pooling candidate is followed by a
non-affine batch norm (the searched candidates' scales stay comparable) and ``'none'`` outputs
zeros of the edge's output shape (no MACs). GDAS (Dong & Yang CVPR 2019, Sec. 3.2) samples one
op per edge of the same DAG. :func:`derive_edges` reads the discrete cell off the edge weights
as DARTS does (Sec. 2.4): per node the two incoming edges whose strongest non-zero op is
strongest (hence from distinct inputs), each with that op. The cell space's own op list has no
``'none'`` (its discrete networks never use one): the zero op exists only in this search
network and is never derived.

>>> import numpy as np
>>> from nasbench.core.supernet import build_supernet, softmax_weights, uniform_logits
>>> from nasbench.core.types import Task
>>> from .cell import CellSpace
>>> space = CellSpace(nodes=2, channels=4, cells_per_stage=1)
>>> net = build_supernet(space, Task((1, 16), 3), np.random.default_rng(0))
>>> tuple(net(torch.zeros(2, 1, 16), softmax_weights(uniform_logits(space))).shape)
(2, 3)
>>> edges = edge_supernet(space, Task((1, 16), 3), np.random.default_rng(0))
>>> logits = {d.name: torch.zeros(len(d.choices)) for d in edges.decisions}
>>> tuple(edges(torch.zeros(2, 1, 16), softmax_weights(logits)).shape)
(2, 3)
>>> derive_edges(space, softmax_weights(logits)).text  # ties: first inputs, first op
'normal=sep_conv_3x3~0,sep_conv_3x3~1|sep_conv_3x3~0,sep_conv_3x3~1;reduce=sep_conv_3x3~0,sep_conv_3x3~1|sep_conv_3x3~0,sep_conv_3x3~1'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from nasbench.core.errors import NasbenchError
from nasbench.core.supernet import MixedOp, Supernet, Weights, active, register_supernet
from nasbench.core.types import Architecture, Choice, Decision, Task
from nasbench.core.weights import materialise

from .cell import CELLS, CellSpace, CellSpec, edge_stride, op_module
from .ops import FactorizedReduce, ReLUConvBN, batchnorm, conv, global_pool

NONE = "none"
"""DARTS's zero operation (Liu et al. 2019, Sec. 2.1): a search-only candidate of every edge of
:class:`EdgeCellSupernet`, never derived."""

Candidate = Callable[[str, int, int, int], nn.Module]  # (op, d, c, stride) -> module


class SuperCell(nn.Module):
    """One cell of the supernet. ``edges[f"{k}_{i}"]`` is the mixed op of edge ``i -> k``,
    one ``candidate(op, d, c, stride)`` per op."""

    def __init__(
        self,
        d: int,
        nodes: int,
        ops: Sequence[str],
        spec: CellSpec,
        candidate: Candidate = op_module,
    ) -> None:
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
                f"{k}_{i}": MixedOp(candidate(op, d, c, edge_stride(spec, i)) for op in ops)
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
    cell_class: ClassVar[type[SuperCell]] = SuperCell

    def __init__(
        self,
        decisions: Sequence[Decision],
        task: Task,
        nodes: int,
        ops: Sequence[str],
        stem_c: int,
        plan: Sequence[CellSpec],
    ) -> None:
        super().__init__(decisions)
        d = task.spatial_dims
        self.stem = nn.Sequential(conv(d, task.channels, stem_c, 3), batchnorm(d, stem_c))
        self.cells = nn.ModuleList(self.cell_class(d, nodes, ops, spec) for spec in plan)
        self.head = nn.Sequential(global_pool(d), nn.Linear(nodes * plan[-1].c, task.num_classes))

    def forward(self, x: torch.Tensor, weights: Weights) -> torch.Tensor:
        self.check_weights(weights)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, weights)
        return self.head(s1)


@register_supernet("cell")
def cell_supernet(space: CellSpace, task: Task) -> CellSupernet:
    """DARTS's one-shot network with input selection over ``space``; construction only."""
    stem_c = space.stem_multiplier * space.channels
    return CellSupernet(space.decisions(), task, space.nodes, space.ops, stem_c, space.plan())


# ---- the edge-wise form (DARTS, GDAS) ---------------------------------------------------------
class Zero(nn.Module):
    """DARTS's zero op: zeros shaped like the edge's other candidates' output (every
    ``stride``-th position of each spatial dimension, as a same-padded stride-``stride`` op)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return torch.zeros_like(x)
        step = slice(None, None, self.stride)
        return torch.zeros_like(x[(slice(None), slice(None), *[step] * (x.dim() - 2))])


def search_candidate(op: str, d: int, c: int, stride: int) -> nn.Module:
    """An edge candidate of DARTS's search network: :data:`NONE` is :class:`Zero`, pooling is
    followed by a non-affine batch norm, every other op is the stand-alone network's."""
    if op == NONE:
        return Zero(stride)
    module = op_module(op, d, c, stride)
    if op.endswith("pool_3x3"):
        return nn.Sequential(module, batchnorm(d, c, affine=False))
    return module


class EdgeSuperCell(SuperCell):
    """A cell of :class:`EdgeCellSupernet`: node ``k`` sums the mixed ops of all its incoming
    edges ``i -> k``, each under its own weight vector ``{c}.node{k}.edge{i}``."""

    def __init__(self, d: int, nodes: int, ops: Sequence[str], spec: CellSpec) -> None:
        super().__init__(d, nodes, ops, spec, search_candidate)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: Weights) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for k in range(self.nodes):
            name = f"{self.cell_type}.node{k}"
            total: torch.Tensor | None = None
            for i in range(k + 2):
                out = self.edges[f"{k}_{i}"](states[i], weights[f"{name}.edge{i}"])
                total = out if total is None else total + out
            assert total is not None  # every node has at least two incoming edges
            states.append(total)
        return torch.cat(states[2:], dim=1)


class EdgeCellSupernet(CellSupernet):
    """DARTS's search network over the cell space (module docstring): decisions are
    :func:`edge_decisions`, ``ops`` start with :data:`NONE`."""

    exact_path_params = False  # a one-hot edge vector is no architecture of the space
    cell_class = EdgeSuperCell


def edge_decisions(space: CellSpace) -> tuple[Decision, ...]:
    """One decision per edge ``i -> k`` of each cell type, ``{c}.node{k}.edge{i}`` over
    ``('none', *space.ops)``, cell type by cell type, node by node, input by input."""
    ops = (NONE, *space.ops)
    return tuple(
        Decision(f"{c}.node{k}.edge{i}", ops)
        for c in CELLS
        for k in range(space.nodes)
        for i in range(k + 2)
    )


def edge_supernet(space: CellSpace, task: Task, rng: np.random.Generator) -> EdgeCellSupernet:
    """The edge-wise search network of ``space`` for ``task`` on the CPU, its weights
    initialised from ``rng`` (one draw), constructed on the meta device like the space's own
    supernet."""
    stem_c = space.stem_multiplier * space.channels
    ops = (NONE, *space.ops)
    with torch.device("meta"):
        net = EdgeCellSupernet(edge_decisions(space), task, space.nodes, ops, stem_c, space.plan())
    materialise(net, rng)
    return net


def derive_edges(space: CellSpace, weights: Weights) -> Architecture:
    """The discrete cell DARTS derives (Liu et al. 2019, Sec. 2.4) from per-edge op weights
    (``softmax(alpha)``, keyed as :func:`edge_decisions`): for every node, the strength of an
    incoming edge is its largest weight over the non-``'none'`` ops; the two strongest edges are
    kept (distinct inputs by construction), each with its strongest non-``'none'`` op, the
    stronger edge first (``in0``/``op0``). Ties go to the earlier input and the earlier op.
    Raises NasbenchError when an edge's vector is missing or has the wrong size."""
    ops = (NONE, *space.ops)
    values: list[Choice] = []
    for c in CELLS:
        for k in range(space.nodes):
            best: list[tuple[float, int]] = []  # (strength, op index) per incoming edge
            for i in range(k + 2):
                name = f"{c}.node{k}.edge{i}"
                w = weights.get(name)
                if w is None or w.dim() != 1 or w.shape[0] != len(ops):
                    raise NasbenchError(
                        f"cell: edge weights need {name!r} as a vector over {len(ops)} ops"
                    )
                row = w.detach().cpu().tolist()
                o = max((o for o in range(len(ops)) if ops[o] != NONE), key=lambda o: row[o])
                best.append((row[o], o))
            kept = sorted(range(k + 2), key=lambda i: -best[i][0])[:2]  # stable: ties keep order
            for i in kept:
                values += [str(i), ops[best[i][1]]]
    return space.make(values)
