"""DARTS/NASNet cell space: a normal and a reduction cell, each stacked in a fixed macro network.

A cell (Zoph et al. 2018, NASNet; Liu et al. 2019, DARTS) reads the outputs of the two previous
cells, ``c_{k-2}`` (input ``0``) and ``c_{k-1}`` (input ``1``); each of its ``nodes`` intermediate
nodes (``2, 3, ...``) sums two operations applied to two distinct earlier states; the cell outputs
the channel concatenation of all intermediate nodes, as in DARTS.

Decisions, for each cell type ``c`` in ``(normal, reduce)`` and node ``k``:
``{c}.node{k}.in0``, ``.op0``, ``.in1``, ``.op1``. Inputs are ``"0" .. str(k + 1)``. ``in1`` may
not repeat ``in0``: DARTS derives a discrete cell by keeping the two strongest edges *from distinct
nodes* (Liu et al. 2019, Sec. 2.4), so ``next_decision`` offers ``in1`` without ``in0``'s value.

String form (DARTS genotype order, ``op~input``; nodes split by ``|``, cells by ``;``)::

    normal=sep_conv_3x3~0,skip_connect~1|...;reduce=max_pool_3x3~0,max_pool_3x3~1|...

Canonical key: a node's two edges are unordered (a sum), and intermediate nodes may be renumbered
in any order their dependencies allow (the output is a concatenation; the next cell's 1x1
preprocessing absorbs the channel permutation). The key is the text of the canonical member (the
smallest renumbering, each node's edges sorted by input), so two architectures share a key if and
only if their cells are isomorphic edge-labelled DAGs.

Graph form: one block-diagonal adjacency of both cells (normal first), each block ``input0, input1,
node * nodes, output`` labelled with a cell prefix (``"reduce.node"``); ops sit on the edges.

Network (DARTS's ``NetworkCIFAR`` without auxiliary head and drop path): stem 3x3 conv + BN of
``stem_multiplier * channels``; three stages of ``cells_per_stage`` normal cells with a reduction
cell (doubling the channels) between stages; global average pooling; linear classifier. Cell
inputs pass ReLU-1x1 conv-BN, or :class:`FactorizedReduce` after a reduction cell (``c_{k-2}`` is
then twice as large). Ops follow DARTS's discrete network: no BN after pooling (only its search
supernet's mixed op has one).

>>> space = CellSpace(nodes=1, ops=("sep_conv_3x3", "skip_connect"))
>>> arch = space.parse("normal=skip_connect~1,sep_conv_3x3~0;reduce=sep_conv_3x3~0,skip_connect~1")
>>> space.canonicalize(arch).text
'normal=sep_conv_3x3~0,skip_connect~1;reduce=sep_conv_3x3~0,skip_connect~1'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
import torch
from torch import nn

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import spaces
from nasbench.core.space import BaseSpace
from nasbench.core.types import ArchGraph, Architecture, Choice, Decision, ModelCounts, Task

from .ops import FactorizedReduce, ReLUConvBN, Shape, Tally, batchnorm, conv, global_pool, pool

DARTS_OPS = (
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
    "max_pool_3x3", "avg_pool_3x3", "skip_connect",
)  # fmt: skip
"""DARTS's discrete operation set (Liu et al. 2019, Sec. 3.1, without 'none')."""
OPS = (*DARTS_OPS, "conv_1x1", "conv_3x3")
"""Every operation name the space accepts (ReLU-conv-BN convs as in NASNet's op list)."""
CELLS = ("normal", "reduce")

Edge = tuple[int, str]  # (input state, op)
Node = tuple[Edge, Edge]
Genotype = tuple[Node, ...]


# ---- operations ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Conv:
    """A C -> C convolution of an op recipe; ``depthwise`` means groups = C."""

    k: int
    stride: int = 1
    dilation: int = 1
    depthwise: bool = False


def _recipe(op: str, stride: int) -> list[_Conv | str]:
    """Layers ("relu", "bn", or a conv) of a conv op, shared by building and counting."""
    kind, _, size = op.rpartition("_")
    k = int(size.split("x")[0])
    if kind == "sep_conv":  # DARTS SepConv: (ReLU, depthwise, pointwise, BN) twice, stride first
        half: list[_Conv | str] = ["relu", _Conv(k, stride, depthwise=True), _Conv(1), "bn"]
        return [*half, "relu", _Conv(k, depthwise=True), _Conv(1), "bn"]
    if kind == "dil_conv":  # DARTS DilConv: ReLU, depthwise with dilation 2, pointwise, BN
        return ["relu", _Conv(k, stride, dilation=2, depthwise=True), _Conv(1), "bn"]
    return ["relu", _Conv(k, stride), "bn"]  # conv_1x1 / conv_3x3


def op_module(op: str, d: int, c: int, stride: int) -> nn.Module:
    """A C -> C operation; stride 2 on reduction-cell edges that read a cell input."""
    if op == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(d, c, c)
    if op.endswith("pool_3x3"):
        return pool(d, op[:3], 3, stride)
    layers: list[nn.Module] = []
    for layer in _recipe(op, stride):
        if isinstance(layer, _Conv):
            groups = c if layer.depthwise else 1
            layers.append(conv(d, c, c, layer.k, layer.stride, layer.dilation, groups=groups))
        else:
            layers.append(nn.ReLU(inplace=False) if layer == "relu" else batchnorm(d, c))
    return nn.Sequential(*layers)


def _op_tally(t: Tally, op: str, shape: Shape, stride: int) -> Shape:
    """Mirror of :func:`op_module`."""
    if op == "skip_connect":
        return shape if stride == 1 else FactorizedReduce.tally(t, shape, shape[0])
    if op.endswith("pool_3x3"):
        return t.pool(shape, 3, stride)
    for layer in _recipe(op, stride):
        if isinstance(layer, _Conv):
            groups = shape[0] if layer.depthwise else 1
            shape = t.conv(shape, shape[0], layer.k, layer.stride, layer.dilation, groups=groups)
        elif layer == "bn":
            t.bn(shape)
    return shape


# ---- network ------------------------------------------------------------------------------------
class CellSpec(NamedTuple):
    """One cell of the macro network: its type (and its predecessor's), input and node widths."""

    reduction: bool
    reduction_prev: bool
    c_pp: int
    c_p: int
    c: int


def edge_stride(spec: CellSpec, source: int) -> int:
    """Stride of an edge from state ``source``: 2 where a reduction cell reads a cell input."""
    return 2 if spec.reduction and source < 2 else 1


class _Cell(nn.Module):
    def __init__(self, d: int, genotype: Genotype, spec: CellSpec) -> None:
        super().__init__()
        c = spec.c
        self.pre0: nn.Module = (
            FactorizedReduce(d, spec.c_pp, c) if spec.reduction_prev
            else ReLUConvBN(d, spec.c_pp, c, 1)
        )  # fmt: skip
        self.pre1 = ReLUConvBN(d, spec.c_p, c, 1)
        self.sources = tuple(i for node in genotype for i, _ in node)
        self.edges = nn.ModuleList(
            op_module(op, d, c, edge_stride(spec, i)) for node in genotype for i, op in node
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for e in range(0, len(self.sources), 2):
            a, b = self.sources[e], self.sources[e + 1]
            states.append(self.edges[e](states[a]) + self.edges[e + 1](states[b]))
        return torch.cat(states[2:], dim=1)


def _cell_tally(t: Tally, genotype: Genotype, spec: CellSpec, s0: Shape, s1: Shape) -> Shape:
    """Mirror of :class:`_Cell`: count it and return its output shape."""
    if spec.reduction_prev:
        x0 = FactorizedReduce.tally(t, s0, spec.c)
    else:
        x0 = ReLUConvBN.tally(t, s0, spec.c, 1)
    states = [x0, ReLUConvBN.tally(t, s1, spec.c, 1)]
    for node in genotype:
        outs = [_op_tally(t, op, states[i], edge_stride(spec, i)) for i, op in node]
        states.append(outs[0])
    return (len(genotype) * spec.c, *states[2][1:])


class _Network(nn.Module):
    def __init__(self, task: Task, stem_c: int, cells: list[tuple[Genotype, CellSpec]]) -> None:
        super().__init__()
        d = task.spatial_dims
        self.stem = nn.Sequential(conv(d, task.channels, stem_c, 3), batchnorm(d, stem_c))
        self.cells = nn.ModuleList(_Cell(d, genotype, spec) for genotype, spec in cells)
        width = len(cells[-1][0]) * cells[-1][1].c
        self.head = nn.Sequential(global_pool(d), nn.Linear(width, task.num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.head(s1)


# ---- canonical form -----------------------------------------------------------------------------
def _swap_is_automorphism(cell: Genotype, u: int, v: int) -> bool:
    """Whether exchanging states ``u`` and ``v`` maps the cell onto itself."""

    def swap(i: int) -> int:
        return v if i == u else u if i == v else i

    edges = {j + 2: frozenset(node) for j, node in enumerate(cell)}
    return all(frozenset((swap(i), op) for i, op in edges[x]) == edges[swap(x)] for x in edges)


def canonical_cell(cell: Genotype) -> Genotype:
    """The lexicographically smallest renumbering of ``cell`` in dependency order, each node's
    edges sorted by input. Greedy: the next node is the smallest ready one; ties (nodes with the
    same edges) are explored, except those an automorphism makes equivalent. Cost grows
    factorially only with twin nodes read by different consumers (6 such twins: ~35 ms)."""
    best: list[Genotype] = []

    def search(label: dict[int, int], order: list[Node]) -> None:
        if len(order) == len(cell):
            if not best or tuple(order) < best[0]:
                best[:] = [tuple(order)]
            return
        ready: dict[int, Node] = {}
        for j, node in enumerate(cell):
            if j + 2 not in label and all(i in label for i, _ in node):
                a, b = sorted((label[i], op) for i, op in node)
                ready[j + 2] = (a, b)
        low = min(ready.values())
        if best and (*order, low) > best[0][: len(order) + 1]:
            return
        tied = [u for u, node in ready.items() if node == low]
        for x, u in enumerate(tied):
            if any(_swap_is_automorphism(cell, v, u) for v in tied[:x]):
                continue  # same result as the branch of v
            label[u] = len(order) + 2
            search(label, [*order, low])
            del label[u]

    search({0: 0, 1: 1}, [])
    return best[0]


# ---- the space ----------------------------------------------------------------------------------
def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise NasbenchError(f"cell: {name} must be a positive integer, got {value!r}")
    return value


@spaces.register("cell")
class CellSpace(BaseSpace):
    """DARTS/NASNet normal + reduction cell space (see the module docstring).

    ``nodes`` intermediate nodes per cell; ``ops`` the operation set (a subset of :data:`OPS`, in
    the order its choices are offered: the first is the default fill); ``cells_per_stage`` normal
    cells in each of the three stages (DARTS's 20-cell CIFAR network is 6); ``channels`` the
    first stage's per-node width (doubled at each reduction cell); ``stem_multiplier`` the stem's
    width in units of ``channels``. Raises NasbenchError for a bad value, naming the valid ones.
    """

    name: ClassVar[str] = "cell"

    def __init__(
        self,
        nodes: int = 4,
        ops: tuple[str, ...] = DARTS_OPS,
        cells_per_stage: int = 2,
        channels: int = 16,
        stem_multiplier: int = 3,
    ) -> None:
        self.nodes = _positive("nodes", nodes)
        self.cells_per_stage = _positive("cells_per_stage", cells_per_stage)
        self.channels = _positive("channels", channels)
        self.stem_multiplier = _positive("stem_multiplier", stem_multiplier)
        if isinstance(ops, str) or not isinstance(ops, Sequence) or not ops:
            raise NasbenchError(f"cell: ops must be a non-empty tuple of names from {OPS}")
        if unknown := [op for op in ops if op not in OPS]:
            raise NasbenchError(f"cell: unknown op {unknown[0]!r} (valid: {', '.join(OPS)})")
        if len(set(ops)) != len(ops):
            raise NasbenchError(f"cell: ops repeat a name: {tuple(ops)}")
        self.ops = tuple(ops)
        sources = [tuple(str(i) for i in range(k + 2)) for k in range(self.nodes)]
        self._universe = tuple(
            Decision(f"{c}.node{k}.{slot}", self.ops if slot[:2] == "op" else sources[k])
            for c in CELLS
            for k in range(self.nodes)
            for slot in ("in0", "op0", "in1", "op1")
        )

    def decisions(self) -> tuple[Decision, ...]:
        return self._universe

    def next_decision(self, prefix: Sequence[Choice]) -> Decision | None:
        i = len(prefix)
        if i >= len(self._universe):
            return None
        decision = self._universe[i]
        if i % 4 == 2:  # in1: two distinct predecessors (Liu et al. 2019, Sec. 2.4)
            return Decision(decision.name, tuple(c for c in decision.choices if c != prefix[i - 2]))
        return decision

    def cardinality(self) -> int:
        """Ordered distinct input pairs times op pairs, per node, per cell."""
        per_cell = math.prod((k + 2) * (k + 1) * len(self.ops) ** 2 for k in range(self.nodes))
        return per_cell**2

    # ---- views of the values ------------------------------------------------------------------
    def genotypes(self, values: Sequence[Choice]) -> tuple[Genotype, Genotype]:
        """(normal, reduce) as DARTS-style genotypes: per node ``((in0, op0), (in1, op1))``."""
        v, n = values, 4 * self.nodes
        normal, reduce = (
            tuple(((int(v[j]), v[j + 1]), (int(v[j + 2]), v[j + 3])) for j in range(s, s + n, 4))
            for s in (0, n)
        )
        return normal, reduce

    @staticmethod
    def _values(cells: Sequence[Genotype]) -> tuple[Choice, ...]:
        return tuple(x for cell in cells for node in cell for i, op in node for x in (str(i), op))

    def _format(self, values: tuple[Choice, ...]) -> str:
        return ";".join(
            f"{c}=" + "|".join(",".join(f"{op}~{i}" for i, op in node) for node in cell)
            for c, cell in zip(CELLS, self.genotypes(values), strict=True)
        )

    def _parse(self, text: str) -> tuple[Choice, ...]:
        parts = text.split(";")
        if len(parts) != 2:
            raise NasbenchError(f"cell: expected 'normal=...;reduce=...', got {text!r}")
        values: list[Choice] = []
        for cell, part in zip(CELLS, parts, strict=True):
            head, eq, body = part.partition("=")
            nodes = body.split("|")
            if head != cell or not eq or len(nodes) != self.nodes:
                raise NasbenchError(
                    f"cell: expected '{cell}=' and {self.nodes} nodes split by '|', got {part!r}"
                )
            for node in nodes:
                edges = [e.partition("~") for e in node.split(",")]
                if len(edges) != 2 or not all(tilde for _, tilde, _ in edges):
                    raise NasbenchError(f"cell: a node is 'op~input,op~input', got {node!r}")
                values += [x for op, _, src in edges for x in (src, op)]
        return tuple(values)

    def _canonical_values(self, values: Sequence[Choice]) -> tuple[Choice, ...]:
        return self._values([canonical_cell(cell) for cell in self.genotypes(values)])

    def _canonical(self, values: tuple[Choice, ...]) -> str:
        return self._format(self._canonical_values(values))

    def canonicalize(self, arch: Architecture) -> Architecture:
        """The canonical member of ``arch``'s class (its text is the key)."""
        self.validate(arch)
        return self.make(self._canonical_values(arch.values))

    def graph(self, arch: Architecture) -> ArchGraph:
        self.validate(arch)
        size = self.nodes + 3
        adjacency = np.zeros((2 * size, 2 * size), dtype=np.int8)
        labels: list[str] = []
        edges: list[tuple[int, int, str]] = []
        for base, c, cell in zip((0, size), CELLS, self.genotypes(arch.values), strict=True):
            labels += [f"{c}.input0", f"{c}.input1", *[f"{c}.node"] * self.nodes, f"{c}.output"]
            for k, node in enumerate(cell):
                for i, op in node:
                    adjacency[base + i, base + k + 2] = 1
                    edges.append((base + i, base + k + 2, op))
                adjacency[base + k + 2, base + size - 1] = 1
        return ArchGraph(adjacency, tuple(labels), tuple(edges))

    # ---- networks -----------------------------------------------------------------------------
    def plan(self) -> list[CellSpec]:
        """The cells of DARTS's macro network: N normal, reduce, N normal, reduce, N normal."""
        n = self.cells_per_stage
        c_pp = c_p = self.stem_multiplier * self.channels
        c, reduction_prev, plan = self.channels, False, []
        for reduction in ([False] * n + [True]) * 2 + [False] * n:
            c = 2 * c if reduction else c
            plan.append(CellSpec(reduction, reduction_prev, c_pp, c_p, c))
            c_pp, c_p, reduction_prev = c_p, self.nodes * c, reduction
        return plan

    def _build(self, arch: Architecture, task: Task) -> nn.Module:
        cells = self.genotypes(arch.values)
        plan = [(cells[spec.reduction], spec) for spec in self.plan()]
        return _Network(task, self.stem_multiplier * self.channels, plan)

    def counts(self, arch: Architecture, task: Task) -> ModelCounts:
        self.validate(arch)
        cells = self.genotypes(arch.values)
        t = Tally()
        s0 = s1 = t.bn(t.conv(task.input_shape, self.stem_multiplier * self.channels, 3))
        for spec in self.plan():
            s0, s1 = s1, _cell_tally(t, cells[spec.reduction], spec, s0, s1)
        t.linear(s1[0], task.num_classes)
        return ModelCounts(t.params, t.macs)
