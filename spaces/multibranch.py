"""ENAS macro search space: a chain of layers, each with one operation and any skip inputs.

Pham et al., "Efficient Neural Architecture Search via Parameter Sharing", ICML 2018, Sec. 2.3:
a network of ``L`` layers where the controller picks, for every layer, one of six operations
(3x3/5x5 convolution, 3x3/5x5 depthwise-separable convolution, 3x3 max/average pooling) and which
earlier layers it takes as additional inputs (skip connections).

Decisions, in order, for each layer ``i = 0 .. L-1``: ``layer{i}.op`` (the six op names), then
``layer{i}.skip{j}`` for each ``j < i - 1`` with choices ``("0", "1")``. Layer ``i - 1`` (the
stem for layer 0) is always the main input, so it needs no decision; the stem is never a skip
source (ENAS's skip decisions range over the searched layers only). Hence
``cardinality = 6**L * 2**((L-1)(L-2)/2)``.

Network: stem ``ConvBNReLU`` 3x3 to ``channels``; each layer merges its inputs, then applies its
op, keeping ``channels`` channels; global average pooling; linear classifier.

* ``merge="sum"``: the inputs are added (residual style).
* ``merge="concat"``: the inputs are concatenated along channels (main input first, then skips
  in ascending order) and brought back to ``channels`` by a 1x1 ``ConvBNReLU``, as ENAS does
  after a concatenation. A layer without skip inputs takes its main input as it is (no 1x1
  conv), so both modes build the same network for a skip-free architecture.
* Reductions: after each layer in ``reduce_at`` the spatial size halves (ENAS's pooling layers,
  by default after layers ``L//3 - 1`` and ``2*(L//3) - 1``, counting from 0). The width stays
  ``channels`` throughout. A layer's output that a later, coarser layer consumes (as main or
  skip input) is brought down by a chain of ENAS factorized reductions (two strided 1x1 convs
  on the input and on the input shifted by one step, concatenated, then BN), one per halving;
  the chain of a source is shared by all its consumers.

String form: the layers joined by ``|``; each layer is its op name, followed by ``+`` and the
comma-separated indices of its skip sources when it has any, e.g.
``conv3x3|sep_conv5x5|max_pool3x3+0|avg_pool3x3+0,1``.

Canonical form: every architecture is its own. The chain fixes the layer order, so two different
decision sequences always give different labelled graphs (no isomorphisms to merge).

>>> import numpy as np
>>> space = MultiBranchSpace(layers=4, merge="concat")
>>> arch = space.parse("conv3x3|sep_conv5x5|max_pool3x3+0|avg_pool3x3+0,1")
>>> arch.values[-3:]
('avg_pool3x3', '1', '1')
>>> space.cardinality()
10368
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import cast

import numpy as np
import torch
from torch import nn

from nasbench.core.errors import NasbenchError, one_of
from nasbench.core.registry import spaces
from nasbench.core.space import BaseSpace
from nasbench.core.types import ArchGraph, Architecture, Choice, Decision, ModelCounts, Task

from .ops import (
    ConvBNReLU,
    DepthwiseSeparable,
    FactorizedReduce,
    Shape,
    Tally,
    global_pool,
    pool,
)

OPS: tuple[str, ...] = (
    "conv3x3",
    "conv5x5",
    "sep_conv3x3",
    "sep_conv5x5",
    "max_pool3x3",
    "avg_pool3x3",
)
"""The six ENAS macro operations (Pham et al. 2018, Sec. 2.3); the first is the default fill."""

_KERNEL = {"conv3x3": 3, "conv5x5": 5, "sep_conv3x3": 3, "sep_conv5x5": 5}
_SKIP = ("0", "1")


class Merge(StrEnum):
    """How a layer combines its main input with its skip inputs."""

    SUM = "sum"  # residual: element-wise sum
    CONCAT = "concat"  # dense: channel concatenation, then a 1x1 ConvBNReLU back to `channels`


def default_reduce_at(layers: int) -> tuple[int, ...]:
    """ENAS's pooling positions: after layers ``p - 1`` and ``2p - 1`` with ``p = L // 3``
    (at least 1), dropping any position at or after the last layer."""
    p = max(layers // 3, 1)
    return tuple(sorted({r for r in (p - 1, 2 * p - 1) if r < layers - 1}))


@dataclass(frozen=True)
class _Plan:
    """The wiring of one architecture, shared by ``_build``, ``counts`` and ``graph``.

    ``inputs[i]`` lists layer ``i``'s sources, main input first (``-1`` is the stem), then skips
    ascending; ``levels[i]`` is the number of halvings before layer ``i``; ``chains[j]`` is how
    many successive factorized reductions layer ``j``'s output needs for its consumers.
    """

    ops: tuple[str, ...]
    inputs: tuple[tuple[int, ...], ...]
    levels: tuple[int, ...]
    chains: tuple[int, ...]


def op_module(op: str, d: int, c: int) -> nn.Module:
    """The C -> C module of the ENAS operation ``op`` (spatial size kept)."""
    if op.startswith("sep_conv"):
        return DepthwiseSeparable(d, c, c, _KERNEL[op])
    if op.startswith("conv"):
        return ConvBNReLU(d, c, c, _KERNEL[op])
    return pool(d, "max" if op.startswith("max") else "avg", 3)


def _op_tally(t: Tally, op: str, shape: Shape) -> Shape:
    if op.startswith("sep_conv"):
        return DepthwiseSeparable.tally(t, shape, shape[0], _KERNEL[op])
    if op.startswith("conv"):
        return ConvBNReLU.tally(t, shape, shape[0], _KERNEL[op])
    return t.pool(shape, 3)


class _MultiBranchNet(nn.Module):
    """Stem, merged layers with their reduction chains, global pooling and classifier."""

    def __init__(self, plan: _Plan, merge: Merge, task: Task, channels: int) -> None:
        super().__init__()
        d, c = task.spatial_dims, channels
        self.plan, self.merge = plan, merge
        self.stem = ConvBNReLU(d, task.channels, c, 3)
        self.mergers = nn.ModuleList(
            ConvBNReLU(d, c * len(src), c, 1)
            if merge is Merge.CONCAT and len(src) > 1
            else nn.Identity()
            for src in plan.inputs
        )
        self.ops = nn.ModuleList(op_module(op, d, c) for op in plan.ops)
        self.reduce = nn.ModuleList(
            nn.ModuleList(FactorizedReduce(d, c, c, relu=False) for _ in range(n))
            for n in plan.chains
        )
        self.head = nn.Sequential(global_pool(d), nn.Linear(c, task.num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        plan = self.plan
        # feats[j][k]: layer j's output after k halvings (index -1 of the dict is the stem)
        feats: dict[int, list[torch.Tensor]] = {-1: [self.stem(x)]}
        levels = (0, *plan.levels)
        for i, sources in enumerate(plan.inputs):
            ins = [feats[j][plan.levels[i] - levels[j + 1]] for j in sources]
            out = self.ops[i](self.mergers[i](self._merge(ins)))
            feats[i] = [out]
            for reduce in cast(nn.ModuleList, self.reduce[i]):
                feats[i].append(reduce(feats[i][-1]))
        return self.head(feats[len(plan.inputs) - 1][0])

    def _merge(self, ins: list[torch.Tensor]) -> torch.Tensor:
        if len(ins) == 1:
            return ins[0]
        if self.merge is Merge.CONCAT:
            return torch.cat(ins, dim=1)  # the layer's 1x1 merger brings it back to `channels`
        return torch.stack(ins).sum(dim=0)


@spaces.register("multibranch")
class MultiBranchSpace(BaseSpace):
    """ENAS macro space (see module docstring).

    Parameters: ``layers`` (L >= 1), ``channels`` (width of every layer, >= 2), ``merge``
    (``"sum"`` or ``"concat"``), ``reduce_at`` (layer indices ``0 .. L-2`` after which the
    spatial size halves; ``None`` means :func:`default_reduce_at`). Bad values raise
    NasbenchError. All methods are pure; only ``sample``/``mutate``/``build`` draw, from ``rng``.
    """

    name = "multibranch"
    fixed_decisions = True

    def __init__(
        self,
        layers: int = 6,
        channels: int = 16,
        merge: str = "sum",
        reduce_at: Sequence[int] | None = None,
    ) -> None:
        if isinstance(layers, bool) or not isinstance(layers, int) or layers < 1:
            raise NasbenchError(f"multibranch: layers must be an integer >= 1, got {layers!r}")
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 2:
            raise NasbenchError(f"multibranch: channels must be an integer >= 2, got {channels!r}")
        if merge not in tuple(Merge):
            raise one_of("multibranch merge mode", merge, [m.value for m in Merge])
        self.layers = layers
        self.channels = channels
        self.merge = Merge(merge)
        self.reduce_at = self._check_reduce_at(reduce_at, layers)
        self._decisions = self._make_decisions()

    @staticmethod
    def _check_reduce_at(reduce_at: Sequence[int] | None, layers: int) -> tuple[int, ...]:
        if reduce_at is None:
            return default_reduce_at(layers)
        if isinstance(reduce_at, str | bytes) or not isinstance(reduce_at, Sequence):
            raise NasbenchError(f"multibranch: reduce_at must be a list of ints, got {reduce_at!r}")
        valid = range(layers - 1)
        for r in reduce_at:
            if isinstance(r, bool) or not isinstance(r, int) or r not in valid:
                raise NasbenchError(
                    f"multibranch: reduce_at entry {r!r} is not a layer index in 0..{layers - 2} "
                    "(a reduction after the last layer would have no effect)"
                )
        if len(set(reduce_at)) != len(reduce_at):
            raise NasbenchError(f"multibranch: reduce_at repeats a position: {list(reduce_at)}")
        return tuple(sorted(reduce_at))

    def _make_decisions(self) -> tuple[Decision, ...]:
        result: list[Decision] = []
        for i in range(self.layers):
            result.append(Decision(f"layer{i}.op", OPS))
            result.extend(Decision(f"layer{i}.skip{j}", _SKIP) for j in range(i - 1))
        return tuple(result)

    # ---- decision view ----------------------------------------------------------------------
    def decisions(self) -> tuple[Decision, ...]:
        return self._decisions

    def next_decision(self, prefix: Sequence[Choice]) -> Decision | None:
        # The sequence has a fixed shape: no decision depends on an earlier value.
        return self._decisions[len(prefix)] if len(prefix) < len(self._decisions) else None

    def cardinality(self) -> int:
        skips = (self.layers - 1) * (self.layers - 2) // 2
        return len(OPS) ** self.layers * 2**skips

    def _layers_of(self, values: Sequence[Choice]) -> list[tuple[str, tuple[int, ...]]]:
        """(op, skip sources) of each layer of a validated value sequence."""
        result, pos = [], 0
        for i in range(self.layers):
            skips = tuple(j for j in range(i - 1) if values[pos + 1 + j] == "1")
            result.append((values[pos], skips))
            pos += 1 + max(i - 1, 0)
        return result

    def _plan(self, arch: Architecture) -> _Plan:
        self.validate(arch)
        layers = self._layers_of(arch.values)
        inputs = tuple((i - 1, *skips) for i, (_, skips) in enumerate(layers))
        levels = tuple(sum(1 for r in self.reduce_at if r < i) for i in range(self.layers))
        chains = [0] * self.layers
        for i, sources in enumerate(inputs):
            for j in sources:
                if j >= 0:
                    chains[j] = max(chains[j], levels[i] - levels[j])
        return _Plan(tuple(op for op, _ in layers), inputs, levels, tuple(chains))

    # ---- string form ------------------------------------------------------------------------
    def _format(self, values: tuple[Choice, ...]) -> str:
        return "|".join(
            op + ("+" + ",".join(map(str, skips)) if skips else "")
            for op, skips in self._layers_of(values)
        )

    def _parse(self, text: str) -> tuple[Choice, ...]:
        parts = text.split("|")
        if len(parts) != self.layers:
            raise NasbenchError(
                f"multibranch: {text!r} has {len(parts)} layers separated by '|', "
                f"expected {self.layers}"
            )
        values: list[Choice] = []
        for i, part in enumerate(parts):
            op, plus, tail = part.partition("+")
            skips = self._parse_skips(i, tail) if plus else set()
            values.append(op)
            values.extend("1" if j in skips else "0" for j in range(i - 1))
        return tuple(values)

    def _parse_skips(self, i: int, tail: str) -> set[int]:
        valid = list(range(i - 1))
        items = tail.split(",")
        if not all(item.isdigit() and item.isascii() for item in items):
            raise NasbenchError(
                f"multibranch: layer {i} skip list {tail!r} is not comma-separated layer "
                f"indices (valid: {valid or 'none, layer 0 and 1 take no skips'})"
            )
        skips = [int(item) for item in items]
        bad = [j for j in skips if j not in valid]
        if bad or len(set(skips)) != len(skips):
            raise NasbenchError(
                f"multibranch: layer {i} skip list {tail!r} names bad or repeated sources "
                f"(valid: distinct indices from {valid or 'none, layer 0 and 1 take no skips'})"
            )
        return set(skips)

    # ---- graph, counts, network -------------------------------------------------------------
    def graph(self, arch: Architecture) -> ArchGraph:
        """Nodes: 0 = input (stem), ``i + 1`` = layer ``i`` labelled with its op, ``L + 1`` =
        output. Edges: the main chain plus one edge per skip connection."""
        plan = self._plan(arch)
        n = self.layers + 2
        adj = np.zeros((n, n), dtype=np.int8)
        for i, sources in enumerate(plan.inputs):
            for j in sources:
                adj[j + 1, i + 1] = 1
        adj[n - 2, n - 1] = 1
        return ArchGraph(adj, ("input", *plan.ops, "output"))

    def counts(self, arch: Architecture, task: Task) -> ModelCounts:
        """Analytic parameters and MACs, walking the network in ``_build``'s module order."""
        plan, c, t = self._plan(arch), self.channels, Tally()
        shape = ConvBNReLU.tally(t, task.input_shape, c, 3)
        sizes = [shape]  # spatial shape at each level
        for level in range(max(plan.levels, default=0)):
            sizes.append(FactorizedReduce.tally(Tally(), sizes[level], c))
        for sources, level in zip(plan.inputs, plan.levels, strict=True):
            if self.merge is Merge.CONCAT and len(sources) > 1:
                ConvBNReLU.tally(t, (c * len(sources), *sizes[level][1:]), c, 1)
        for op, level in zip(plan.ops, plan.levels, strict=True):
            _op_tally(t, op, sizes[level])
        for chain, level in zip(plan.chains, plan.levels, strict=True):
            for k in range(chain):
                FactorizedReduce.tally(t, sizes[level + k], c)
        t.linear(c, task.num_classes)
        return ModelCounts(t.params, t.macs)

    def _build(self, arch: Architecture, task: Task) -> nn.Module:
        return _MultiBranchNet(self._plan(arch), self.merge, task, self.channels)
