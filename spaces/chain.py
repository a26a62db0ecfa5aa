"""Chain space: MetaQNN-style sequences of convolution, separable convolution and pooling layers.

MetaQNN (Baker et al., "Designing Neural Network Architectures using Reinforcement Learning",
ICLR 2017) builds a CNN one *whole layer per action*: the agent picks a convolution (kernel,
filters, stride), a pooling layer or ``terminate`` at every depth, and a set of validity rules
prunes the actions (their Table 1 and the state-space rules around it). This space follows that
design, adds MobileNet's depthwise-separable convolution (Howard et al. 2017) as a layer type,
and drops fully connected layers (the head is fixed: global average pooling and a linear
classifier).

Decisions are ``layer0``, ``layer1``, ... ``layer{max_layers-1}``; each choice is a layer token:

- ``conv{k}-{f}-s{s}``: conv → BN → ReLU (:class:`spaces.ops.ConvBNReLU`)
- ``sep{k}-{f}-s{s}``: depthwise-separable conv (:class:`spaces.ops.DepthwiseSeparable`)
- ``maxpool{k}-s{s}`` / ``avgpool{k}-s{s}``: pooling with window ``k`` and stride ``s``
- ``terminate``: the chain ends; after ``max_layers`` layers it ends implicitly.

Validity rules (MetaQNN's, adapted), applied by :meth:`ChainSpace.next_decision`:

1. ``layer0`` is neither ``terminate`` nor pooling (a network has at least one layer, and the
   first is a convolution: MetaQNN forbids initial pooling);
2. no pooling directly after pooling (MetaQNN forbids consecutive pooling);
3. a layer's kernel (or pooling window) must not exceed the current *representation size*. As
   in MetaQNN the size is binned, into ``[8, ∞)``, ``[4, 8)`` and ``[1, 4)`` (:data:`SIZE_BINS`),
   and a kernel is allowed when it is at most the lower edge of the current bin. The size is the
   *nominal* length ``input_size`` (default 32, MetaQNN's CIFAR size) passed through the strides
   of the layers so far, so the decision tree does not depend on the task a network is built for.

The string form joins the layer tokens with ``|`` and leaves out the trailing ``terminate``:

>>> from nasbench.core.types import Task
>>> space = ChainSpace(max_layers=3)
>>> arch = space.parse("conv3-32-s1|maxpool2-s2|sep5-64-s1")
>>> arch.values
('conv3-32-s1', 'maxpool2-s2', 'sep5-64-s1')
>>> "maxpool3-s2" in space.next_decision(["conv3-32-s1", "maxpool2-s2"]).choices
False
>>> space.counts(arch, Task((1, 40), 10))
ModelCounts(params=3210, macs=48640)
>>> space.cardinality()
131568
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from torch import nn

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import spaces
from nasbench.core.space import BaseSpace
from nasbench.core.types import ArchGraph, Architecture, Choice, Decision, ModelCounts, Task

from .ops import (
    ConvBNReLU,
    DepthwiseSeparable,
    Shape,
    Tally,
    global_pool,
    out_size,
    pool,
    same_padding,
)

TERMINATE: Choice = "terminate"
"""The choice that ends the chain (never written in the string form)."""

SIZE_BINS: tuple[int, ...] = (8, 4, 1)
"""Lower edges of MetaQNN's representation-size bins, largest first (Baker et al. 2017, Table 1:
sizes (∞, 8], (8, 4], (4, 1]; their released code buckets > 7, > 3 and the rest)."""

_State = tuple[int, bool]
"""(nominal representation size, whether the previous layer was pooling or the input)."""


class LayerKind(StrEnum):
    CONV = "conv"
    SEP = "sep"
    MAXPOOL = "maxpool"
    AVGPOOL = "avgpool"


@dataclass(frozen=True)
class Layer:
    """One layer action. ``filters`` is 0 for pooling layers."""

    kind: LayerKind
    kernel: int
    stride: int
    filters: int = 0

    @property
    def is_pool(self) -> bool:
        return self.kind in (LayerKind.MAXPOOL, LayerKind.AVGPOOL)

    @property
    def token(self) -> str:
        if self.is_pool:
            return f"{self.kind}{self.kernel}-s{self.stride}"
        return f"{self.kind}{self.kernel}-{self.filters}-s{self.stride}"


def size_bin(size: int) -> int:
    """Lower edge of the representation-size bin that holds ``size`` (>= 1)."""
    return next(b for b in SIZE_BINS if size >= b)


@spaces.register("chain")
class ChainSpace(BaseSpace):
    """Chains of up to ``max_layers`` layers under MetaQNN's validity rules (module docstring).

    Parameters (stored as given; bad values raise :class:`NasbenchError`):

    - ``max_layers``: most layers in a chain (MetaQNN's layer limit);
    - ``kernels``: odd kernel sizes of (separable) convolutions, MetaQNN's {1, 3, 5}; odd because
      the same padding of :mod:`spaces.ops` keeps the size only for odd kernels;
    - ``filters``: output channels of (separable) convolutions. MetaQNN used {64, 128, 256, 512}
      for 32x32 images; the smaller defaults suit MNIST-1D and CPU-sized training;
    - ``strides``: convolution strides (MetaQNN used stride 1 only and pooled to downsample);
    - ``pools``: (window, stride) pairs with stride <= window, each as max and as average pooling
      (MetaQNN: (5, 3), (3, 2), (2, 2), max only);
    - ``input_size``: nominal input length the representation size is tracked from (rule 3).
    """

    name = "chain"

    def __init__(
        self,
        max_layers: int = 8,
        kernels: Sequence[int] = (1, 3, 5),
        filters: Sequence[int] = (16, 32, 64, 128),
        strides: Sequence[int] = (1, 2),
        pools: Sequence[Sequence[int]] = ((2, 2), (3, 2)),
        input_size: int = 32,
    ) -> None:
        self.max_layers = max_layers
        self.kernels = kernels
        self.filters = filters
        self.strides = strides
        self.pools = pools
        self.input_size = input_size
        _check_positive("max_layers", max_layers)
        _check_positive("input_size", input_size)
        kernel_values = _positive_ints("kernels", kernels)
        even = [k for k in kernel_values if k % 2 == 0]
        if even:
            raise NasbenchError(f"chain: kernels must be odd, got {even} in {kernels!r}")
        if min(kernel_values) > size_bin(input_size):
            raise NasbenchError(
                f"chain: no kernel in {kernels!r} fits input_size={input_size} (kernels must be "
                f"<= {size_bin(input_size)}, the lower edge of its size bin {SIZE_BINS})"
            )
        self._layers = _layer_table(
            kernel_values,
            _positive_ints("filters", filters),
            _positive_ints("strides", strides),
            _pool_pairs(pools),
        )
        self._allowed_by_key = {
            (first, b, after_pool): self._allowed_in_bin(first, b, after_pool)
            for first in (True, False)
            for b in SIZE_BINS
            for after_pool in (True, False)
        }
        self._universe, self._count = self._explore()

    # ---- the rules ------------------------------------------------------------------------
    def _allowed_in_bin(self, first: bool, bin_edge: int, after_pool: bool) -> tuple[Choice, ...]:
        layers = tuple(
            token
            for token, layer in self._layers.items()
            if layer.kernel <= bin_edge and not (layer.is_pool and after_pool)  # rules 3 and 2
        )
        return layers if first else (*layers, TERMINATE)  # rule 1

    def _allowed(self, position: int, state: _State) -> tuple[Choice, ...]:
        size, after_pool = state
        return self._allowed_by_key[(position == 0, size_bin(size), after_pool)]

    def _start(self) -> _State:
        # The input counts as "pooling" so that rule 2 also forbids an initial pooling layer.
        return (self.input_size, True)

    def _step(self, state: _State, layer: Layer) -> _State:
        size = out_size(state[0], layer.kernel, layer.stride, same_padding(layer.kernel))
        return (size, layer.is_pool)

    def _explore(self) -> tuple[tuple[Decision, ...], int]:
        """Walk the reachable (position, state) pairs once: the universe of each position (the
        union of the choices allowed there, in token order) and the exact number of chains (a
        dynamic programme over the states: chains ending at a position, plus full-length ones)."""
        order = {c: i for i, c in enumerate((*self._layers, TERMINATE))}
        ways: Counter[_State] = Counter({self._start(): 1})
        universe: list[Decision] = []
        total = 0
        for position in range(self.max_layers):
            if not ways:  # every chain has ended (only kernels too large for the size are left)
                break
            seen: set[Choice] = set()
            following: Counter[_State] = Counter()
            for state, n in ways.items():
                for choice in self._allowed(position, state):
                    seen.add(choice)
                    if choice == TERMINATE:
                        total += n
                    else:
                        following[self._step(state, self._layers[choice])] += n
            universe.append(
                Decision(f"layer{position}", tuple(sorted(seen, key=order.__getitem__)))
            )
            ways = following
        return tuple(universe), total + sum(ways.values())

    # ---- the decision view ----------------------------------------------------------------
    def decisions(self) -> tuple[Decision, ...]:
        """``layer0``, ``layer1``, ... up to the last reachable position (``max_layers`` unless
        the allowed kernels run out first), each with the union of its allowed choices."""
        return self._universe

    def next_decision(self, prefix: Sequence[Choice]) -> Decision | None:
        """The next layer position with the choices the rules allow after ``prefix``; ``None``
        after ``terminate`` or ``max_layers`` layers. Raises NasbenchError on an invalid prefix."""
        state = self._start()
        for position, value in enumerate(prefix):
            if position >= self.max_layers:
                raise NasbenchError(f"chain: more than max_layers={self.max_layers} layers")
            allowed = self._allowed(position, state)
            if value not in allowed:
                raise NasbenchError(
                    f"chain: decision 'layer{position}' got {value!r} "
                    f"(valid here: {', '.join(allowed)})"
                )
            if value == TERMINATE:
                if position != len(prefix) - 1:
                    raise NasbenchError(f"chain: values follow 'terminate' at layer{position}")
                return None
            state = self._step(state, self._layers[value])
        if len(prefix) == self.max_layers:
            return None
        return Decision(f"layer{len(prefix)}", self._allowed(len(prefix), state))

    def _default_choice(self, decision: Decision) -> Choice:
        # Deterministic repair (neighbours) ends the chain where a value must be filled in, so a
        # neighbour that turns `terminate` into a layer adds exactly that layer.
        return TERMINATE if TERMINATE in decision.choices else decision.choices[0]

    def cardinality(self) -> int:
        return self._count

    # ---- string and graph forms -----------------------------------------------------------
    def _format(self, values: tuple[Choice, ...]) -> str:
        return "|".join(v for v in values if v != TERMINATE)

    def _parse(self, text: str) -> tuple[Choice, ...]:
        tokens = tuple(text.split("|"))
        for i, token in enumerate(tokens):
            if token == TERMINATE:
                raise NasbenchError(
                    f"chain: {text!r}: 'terminate' is implicit; write the layers only"
                )
            if token not in self._layers:
                what = "an empty layer" if not token.strip() else f"unknown layer {token!r}"
                raise NasbenchError(
                    f"chain: {text!r} has {what} at position {i} (valid: {', '.join(self._layers)})"
                )
        return tokens if len(tokens) >= self.max_layers else (*tokens, TERMINATE)

    @property
    def layer_table(self) -> Mapping[str, Layer]:
        """Token → layer for every layer action, in the order of the decisions' choices."""
        return self._layers

    def layers(self, arch: Architecture) -> tuple[Layer, ...]:
        """The layers of ``arch`` in order (without ``terminate``); validates ``arch``."""
        self.validate(arch)
        return tuple(self._layers[v] for v in arch.values if v != TERMINATE)

    def graph(self, arch: Architecture) -> ArchGraph:
        """A path ``input → layer tokens → output``."""
        labels = ("input", *(layer.token for layer in self.layers(arch)), "output")
        return ArchGraph(np.eye(len(labels), k=1, dtype=np.int8), labels)

    # ---- networks -------------------------------------------------------------------------
    def _trace(
        self, arch: Architecture, task: Task
    ) -> tuple[list[tuple[Layer, Shape]], Shape, Tally]:
        """Each layer with its (actual) input shape, the head's input shape, and the tally of the
        whole network, walking it exactly as :meth:`_build` constructs it."""
        tally, shape = Tally(), task.input_shape
        steps = []
        for layer in self.layers(arch):
            steps.append((layer, shape))
            if layer.kind is LayerKind.CONV:
                shape = ConvBNReLU.tally(tally, shape, layer.filters, layer.kernel, layer.stride)
            elif layer.kind is LayerKind.SEP:
                shape = DepthwiseSeparable.tally(
                    tally, shape, layer.filters, layer.kernel, layer.stride
                )
            elif pool_fits(layer, shape):
                shape = tally.pool(shape, layer.kernel, layer.stride)
        tally.linear(shape[0], task.num_classes)
        return steps, shape, tally

    def counts(self, arch: Architecture, task: Task) -> ModelCounts:
        _, _, tally = self._trace(arch, task)
        return ModelCounts(tally.params, tally.macs)

    def _build(self, arch: Architecture, task: Task) -> nn.Module:
        d = task.spatial_dims
        steps, head_shape, _ = self._trace(arch, task)
        return nn.Sequential(
            OrderedDict(
                features=nn.Sequential(*(_module(layer, d, shape) for layer, shape in steps)),
                pool=global_pool(d),
                classifier=nn.Linear(head_shape[0], task.num_classes),
            )
        )


def _module(layer: Layer, d: int, shape: Shape) -> nn.Module:
    cin = shape[0]
    if layer.kind is LayerKind.CONV:
        return ConvBNReLU(d, cin, layer.filters, layer.kernel, stride=layer.stride)
    if layer.kind is LayerKind.SEP:
        return DepthwiseSeparable(d, cin, layer.filters, layer.kernel, stride=layer.stride)
    if not pool_fits(layer, shape):
        return nn.Identity()
    kind = "max" if layer.kind is LayerKind.MAXPOOL else "avg"
    return pool(d, kind, layer.kernel, stride=layer.stride)


def pool_fits(layer: Layer, shape: Shape) -> bool:
    """Whether pooling gives a non-empty output on the actual ``shape``. It does not only for an
    even window on a size-1 dimension (the nominal size of rule 3 can exceed a tiny task's real
    size); such a layer is skipped, which is what pooling one element with the padding excluded
    gives anyway."""
    pad = same_padding(layer.kernel)
    return all(out_size(n, layer.kernel, layer.stride, pad) >= 1 for n in shape[1:])


def _layer_table(
    kernels: tuple[int, ...],
    filters: tuple[int, ...],
    strides: tuple[int, ...],
    pools: tuple[tuple[int, int], ...],
) -> dict[str, Layer]:
    """Token → layer for every layer action, in the order of the decisions' choices."""
    layers = [
        Layer(kind, k, s, f)
        for kind in (LayerKind.CONV, LayerKind.SEP)
        for k in kernels
        for f in filters
        for s in strides
    ]
    layers += [
        Layer(kind, k, s) for kind in (LayerKind.MAXPOOL, LayerKind.AVGPOOL) for k, s in pools
    ]
    return {layer.token: layer for layer in layers}


def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise NasbenchError(f"chain: {name} must be a positive integer, got {value!r}")


def _positive_ints(name: str, values: object) -> tuple[int, ...]:
    """``values`` as a tuple of distinct positive ints; raises NasbenchError otherwise."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
        raise NasbenchError(
            f"chain: {name} must be a non-empty sequence of integers, got {values!r}"
        )
    for v in values:
        _check_positive(f"every entry of {name}", v)
    result = tuple(int(v) for v in values)
    if len(set(result)) != len(result):
        raise NasbenchError(f"chain: {name} repeats a value: {values!r}")
    return result


def _pool_pairs(pools: object) -> tuple[tuple[int, int], ...]:
    """``pools`` as distinct (window, stride) pairs with 1 <= stride <= window (MetaQNN's pooling
    strides never exceed the window, so no input is skipped); may be empty (no pooling)."""
    if isinstance(pools, str | bytes) or not isinstance(pools, Sequence):
        raise NasbenchError(f"chain: pools must be a sequence of (window, stride), got {pools!r}")
    pairs = []
    for pair in pools:
        if isinstance(pair, str | bytes) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise NasbenchError(f"chain: pools entries are (window, stride) pairs, got {pair!r}")
        for v in pair:
            _check_positive("a pools window and stride", v)
        window, stride = int(pair[0]), int(pair[1])
        if stride > window:
            raise NasbenchError(f"chain: pool {pair!r} has stride > window")
        pairs.append((window, stride))
    if len(set(pairs)) != len(pairs):
        raise NasbenchError(f"chain: pools repeats a pair: {pools!r}")
    return tuple(pairs)
