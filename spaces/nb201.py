"""NAS-Bench-201: exactly the cell and network of Dong & Yang (ICLR 2020).

A cell is a 4-node DAG; every node ``i`` sums one operation applied to each earlier node ``j``,
so there are 6 edges, each choosing one of ``none``, ``skip_connect``, ``nor_conv_1x1``,
``nor_conv_3x3``, ``avg_pool_3x3``: 5^6 = 15,625 cells. The network is a 3x3 conv stem, three
stages of 5 cells (16/32/64 channels on CIFAR) joined by residual reduction blocks, then BN-ReLU,
global pooling and a linear classifier. Architectures print and parse as NAS-Bench-201 strings:

>>> import numpy as np
>>> space = NB201Space()
>>> arch = space.parse(  # c10_params_M in the benchmark: 0.802426
...     "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
...     "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
... )
>>> space.counts(arch, Task((3, 32, 32), 10)).params
802426
>>> space.cardinality()
15625

Canonical keys follow NAS-Bench-201's notion of isomorphic cells: a node is the sorted sum of its
incoming terms, where ``skip_connect`` passes the source expression through, ``none`` (or any op
applied to a node that is exactly zero) is the zero term ``#``, and every other op wraps its
source, ``(src)@op``; the key is the output node's expression. On all 15,625 cells these keys
equal the benchmark's ``unique_str`` column (6,466 classes).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from itertools import product

import numpy as np
import torch
from torch import nn

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import spaces
from nasbench.core.space import BaseSpace
from nasbench.core.types import ArchGraph, Architecture, Choice, Decision, ModelCounts, Task

from .ops import ReLUConvBN, Shape, Tally, Zero, batchnorm, conv, global_pool, pool

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
"""NAS-Bench-201's operation set, in its own order."""

NODES = 4
EDGES: tuple[tuple[int, int], ...] = tuple((j, i) for i in range(1, NODES) for j in range(i))
"""(source, target) of the 6 edges, in the order of the architecture string."""

_TOKEN = re.compile(r"^([a-z0-9_]+)~(\d+)$")


def edge_module(op: str, d: int, channels: int) -> nn.Module:
    """The module of a cell edge with operation ``op`` (channels and size kept)."""
    if op == "none":
        return Zero()
    if op == "skip_connect":
        return nn.Identity()
    if op == "avg_pool_3x3":
        return pool(d, "avg", 3)
    return ReLUConvBN(d, channels, channels, 1 if op == "nor_conv_1x1" else 3)


class NB201Cell(nn.Module):
    """One cell: node ``i`` is the sum over ``j < i`` of ``op(j -> i)`` applied to node ``j``."""

    def __init__(self, ops: Sequence[str], d: int, channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(edge_module(op, d, channels) for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        k = 0
        for i in range(1, NODES):
            total = self.edges[k](nodes[0])
            for j in range(1, i):
                total = total + self.edges[k + j](nodes[j])
            k += i
            nodes.append(total)
        return nodes[-1]


class ResidualReduction(nn.Module):
    """NAS-Bench-201's reduction block: a stride-2 basic residual block whose shortcut is 2x2
    average pooling then a 1x1 conv. ``ceil_mode`` keeps the shortcut's length equal to the
    strided conv's on odd input sizes (identical to the original on even sizes)."""

    def __init__(self, d: int, cin: int, cout: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(d, cin, cout, 3, stride=2)
        self.conv_b = ReLUConvBN(d, cout, cout, 3)
        avg = nn.AvgPool1d if d == 1 else nn.AvgPool2d
        self.shortcut = nn.Sequential(avg(2, 2, ceil_mode=True), conv(d, cin, cout, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))

    @staticmethod
    def tally(t: Tally, shape: Shape, cout: int) -> Shape:
        out = ReLUConvBN.tally(t, shape, cout, 3, stride=2)
        out = ReLUConvBN.tally(t, out, cout, 3)
        t.conv((shape[0], *out[1:]), cout, 1)  # shortcut conv at the pooled size
        return out


@spaces.register("nb201")
class NB201Space(BaseSpace):
    """The NAS-Bench-201 space. ``channels`` and ``cells_per_stage`` default to the benchmark's
    network (16 and 5); smaller values give cheaper networks with the same cell space."""

    name = "nb201"
    fixed_decisions = True

    def __init__(self, channels: int = 16, cells_per_stage: int = 5) -> None:
        if channels < 1 or cells_per_stage < 1:
            raise NasbenchError(
                f"nb201: channels and cells_per_stage must be >= 1, got {channels}, "
                f"{cells_per_stage}"
            )
        self.channels = channels
        self.cells_per_stage = cells_per_stage
        self._decisions = tuple(Decision(f"node{i}.in{j}", OPS) for j, i in EDGES)
        self._terms: dict[tuple, tuple[tuple[int, int], dict[str, tuple[int, int]]]] = {}

    # ---- decision view ---------------------------------------------------------------------
    def decisions(self) -> tuple[Decision, ...]:
        return self._decisions

    def next_decision(self, prefix: Sequence[Choice]) -> Decision | None:
        return self._decisions[len(prefix)] if len(prefix) < len(EDGES) else None

    def cardinality(self) -> int:
        return len(OPS) ** len(EDGES)

    # ---- strings and keys ------------------------------------------------------------------
    def _format(self, values: tuple[Choice, ...]) -> str:
        parts, k = [], 0
        for i in range(1, NODES):
            parts.append("|" + "|".join(f"{values[k + j]}~{j}" for j in range(i)) + "|")
            k += i
        return "+".join(parts)

    def _parse(self, text: str) -> tuple[Choice, ...]:
        nodes = text.split("+")
        if len(nodes) != NODES - 1:
            raise NasbenchError(
                f"nb201: expected {NODES - 1} '+'-separated nodes like '|op~0|', got {text!r}"
            )
        values: list[Choice] = []
        for i, node in enumerate(nodes, start=1):
            if not (node.startswith("|") and node.endswith("|")) or len(node) < 2:
                raise NasbenchError(f"nb201: node {i} {node!r} must look like '|op~0|...|'")
            tokens = node[1:-1].split("|")
            if len(tokens) != i:
                raise NasbenchError(f"nb201: node {i} needs {i} inputs, got {node!r}")
            for j, token in enumerate(tokens):
                match = _TOKEN.match(token)
                if match is None or int(match.group(2)) != j:
                    raise NasbenchError(f"nb201: bad edge {token!r} (expected 'op~{j}')")
                if match.group(1) not in OPS:
                    raise NasbenchError(
                        f"nb201: unknown operation {match.group(1)!r} (valid: {', '.join(OPS)})"
                    )
                values.append(match.group(1))
        return tuple(values)

    def _canonical(self, values: tuple[Choice, ...]) -> str:
        return _expression_key(tuple(values))

    def canonicalize(self, arch: Architecture) -> Architecture:
        """The member of ``arch``'s class whose values come first in :data:`OPS` order."""
        self.validate(arch)
        return self.make(_representatives()[arch.key])

    # ---- graph, counts, network ---------------------------------------------------------------
    def graph(self, arch: Architecture) -> ArchGraph:
        """Cell DAG with ops on edges; ``none`` edges are absent (they carry nothing)."""
        adj = np.zeros((NODES, NODES), dtype=np.int8)
        labels = []
        for (j, i), op in zip(EDGES, arch.values, strict=True):
            if op != "none":
                adj[j, i] = 1
                labels.append((j, i, op))
        return ArchGraph(adj, ("input", "node", "node", "output"), tuple(labels))

    def counts(self, arch: Architecture, task: Task) -> ModelCounts:
        """Analytic params and MACs. Only the convolutions differ between cells, and every edge
        of a stage sees the same shape, so a count is the cell-free network's plus, per
        convolution op, its count in every cell of every stage times how many edges use it:
        tallied once per task (:meth:`_tally`) and then summed exactly in integers."""
        base, per_op = self._count_terms(task)
        params, macs = base
        for op in arch.values:
            if op in per_op:
                params, macs = params + per_op[op][0], macs + per_op[op][1]
        return ModelCounts(params, macs)

    def _count_terms(self, task: Task) -> tuple[tuple[int, int], dict[str, tuple[int, int]]]:
        key = (task.input_shape, task.num_classes)
        terms = self._terms.get(key)
        if terms is None:
            base = self._tally(task, ())
            per_op = {}
            for op in ("nor_conv_1x1", "nor_conv_3x3"):
                one = self._tally(task, (op,))
                per_op[op] = (one[0] - base[0], one[1] - base[1])
            terms = self._terms[key] = (base, per_op)
        return terms

    def _tally(self, task: Task, ops: tuple[str, ...]) -> tuple[int, int]:
        """Params and MACs of the network whose every cell has the edges ``ops`` (the others
        none), walking the modules in :meth:`_build`'s order."""
        t = Tally()
        c = self.channels
        shape = t.bn(t.conv(task.input_shape, c, 3))
        for stage in range(3):
            if stage:
                c *= 2
                shape = ResidualReduction.tally(t, shape, c)
            for _ in range(self.cells_per_stage):
                for op in ops:
                    if op in ("nor_conv_1x1", "nor_conv_3x3"):
                        ReLUConvBN.tally(t, shape, c, 1 if op == "nor_conv_1x1" else 3)
        t.bn(shape)
        t.linear(c, task.num_classes)
        return t.params, t.macs

    def _build(self, arch: Architecture, task: Task) -> nn.Module:
        d, c = task.spatial_dims, self.channels
        layers: list[nn.Module] = [conv(d, task.channels, c, 3), batchnorm(d, c)]
        for stage in range(3):
            if stage:
                layers.append(ResidualReduction(d, c, 2 * c))
                c *= 2
            layers.extend(NB201Cell(arch.values, d, c) for _ in range(self.cells_per_stage))
        layers += [batchnorm(d, c), nn.ReLU(), global_pool(d), nn.Linear(c, task.num_classes)]
        return nn.Sequential(*layers)


def _expression_key(values: tuple[str, ...]) -> str:
    nodes = ["0"]
    k = 0
    for i in range(1, NODES):
        terms = []
        for j in range(i):
            op = values[k + j]
            if op == "none" or nodes[j] == "#":  # any op of the zero node is zero
                terms.append("#")
            elif op == "skip_connect":
                terms.append(nodes[j])
            else:
                terms.append(f"({nodes[j]})@{op}")
        k += i
        nodes.append("+".join(sorted(terms)))
    return nodes[-1]


@cache
def _representatives() -> dict[str, tuple[str, ...]]:
    """Key -> the class member first in OPS order (enumerates all 15,625 cells once)."""
    reps: dict[str, tuple[str, ...]] = {}
    for values in product(OPS, repeat=len(EDGES)):
        reps.setdefault(_expression_key(values), values)
    return reps
