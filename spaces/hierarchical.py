"""MnasNet's factorised hierarchical search space, with Single-Path NAS and TAS as presets.

MnasNet (Tan et al., CVPR 2019, Sec. 4.1) splits a MobileNetV2-like network into B blocks and
searches, per block, one layer type that is repeated N_i times: ConvOp (regular conv, depthwise
separable conv, MBConv with expansion 1/3/6), kernel size {3, 5}, squeeze-excite ratio {0, 0.25},
SkipOp (pooling, identity residual, no skip), output filters F_i (multiplier {0.75, 1.0, 1.25} of
the base) and layers N_i (base {-1, +0, +1}). Presets (``preset=``):

* ``"mnasnet"``: the space above on a narrow 7-block layout for small inputs (3 strides of 2).
* ``"single_path"``: Single-Path NAS (Stamoulis et al. 2019): every searchable layer is its own
  block choosing MBConv expansion {3, 6} x kernel {3, 5}, or the skip-op (layer delta ``-1``: 0
  layers); layers that change stride or width cannot be skipped. The paper searches MobileNetV2's
  stages of 4 layers; for small inputs we use 4 stages of 3 layers.
* ``"tas"``: TAS (Dong & Yang 2019) width/depth search on a CIFAR-ResNet-like layout: 3 stages
  of 3x3 conv layers with identity residuals (a layer is one conv, where TAS's ResNets use
  two-conv basic blocks). Per stage, the filter multiplier {1, 0.75, 0.5, 0.25} plays TAS's
  channel distribution (coarsened from per-layer to per-stage width) and the layer delta
  {+0, -1, -2} its depth distribution (3, 2 or 1 layers). Op, kernel, SE and skip are fixed.

Decisions, per block b in order: ``block{b}.layers`` (delta to the base layer count), then, only
when the block keeps at least one layer, ``.op``, ``.kernel``, ``.se``, ``.filters``, ``.skip``.
A decision whose choice is fixed by the configuration (one choice) is omitted and its value
implied. Choices that always build the same network are not offered: filter multipliers that
round to one width keep only the first, and ``id`` is withheld (when ``none`` is offered) where
it cannot add a residual, i.e. a one-layer block that changes stride or width. The isomorphisms
left (neighbouring blocks of one width at stride 1 trading a layer, as MnasNet's N_i choices
overlap there; SE ratios squeezing to one width) share the canonical key, the resolved layer
list, and :meth:`HierarchicalSpace.canonicalize` picks the first of them in decision-tree order.

String form: one token per block joined by ``|``, ``op-kK-seR-SKIP-fM-lD`` (``l`` = layer delta),
or ``lD`` alone for a block reduced to 0 layers, e.g. ``mbconv6-k5-se0.25-id-f1.0-l+1``.

>>> import numpy as np
>>> space = HierarchicalSpace(preset="tas")
>>> space.cardinality()
1728
>>> arch = space.sample(np.random.default_rng(0))
>>> space.parse(str(arch)) == arch
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from fractions import Fraction
from typing import ClassVar

import numpy as np
from torch import nn

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import spaces
from nasbench.core.space import BaseSpace
from nasbench.core.types import ArchGraph, Architecture, Choice, Decision, ModelCounts, Task

from .hierarchical_config import choice_text, resolve_config
from .mobile import LayerSpec, MobileLayer, layer_steps
from .ops import ConvBNReLU, Shape, Tally, global_pool

FIELDS = ("layers", "op", "kernel", "se", "filters", "skip")  # decision order within a block
_TOKEN = re.compile(
    r"(?P<op>[a-z]+\d*)-k(?P<kernel>\d+)-se(?P<se>[\d.]+)-(?P<skip>[a-z]+)"
    r"-f(?P<filters>[\d.]+)-l(?P<layers>[+-]\d+)|l(?P<dropped>[+-]\d+)"
)


_ScanState = tuple[
    tuple[Choice, ...], int, int, int, int, tuple[dict[str, Choice], ...], dict[str, Choice]
]
"""Where a scan stopped: (prefix, value index, block, field index, in-channels, done blocks,
fields chosen in the current block)."""


@spaces.register("hierarchical")
class HierarchicalSpace(BaseSpace):
    """MnasNet factorised hierarchical space (see the module docstring).

    ``preset`` is ``"mnasnet"``, ``"single_path"`` or ``"tas"``; every other parameter defaults
    to ``None`` = the preset's value. ``blocks``: (base filters, base layers, first-layer stride)
    per block. Choice tuples: ``conv_ops`` from :data:`CONV_OPS`, odd ``kernels``, ``se_ratios``
    in [0, 1], ``skip_ops`` from :data:`SKIP_OPS`, ``filter_multipliers`` > 0, ``layer_deltas``
    (a block that changes stride or base width keeps >= 1 layer; others may drop to 0).
    ``width`` scales stem, base filters and head; widths round half up to whole numbers >= 1.
    ``stem``: (filters, stride) of the 3x3 stem; ``head``: 1x1 head conv channels (0: none).
    Bad values raise NasbenchError naming the valid ones.
    """

    name: ClassVar[str] = "hierarchical"

    def __init__(
        self,
        preset: str = "mnasnet",
        blocks: Sequence[Sequence[int]] | None = None,
        conv_ops: Sequence[str] | None = None,
        kernels: Sequence[int] | None = None,
        se_ratios: Sequence[float] | None = None,
        skip_ops: Sequence[str] | None = None,
        filter_multipliers: Sequence[float] | None = None,
        layer_deltas: Sequence[int] | None = None,
        width: float | None = None,
        stem: Sequence[int] | None = None,
        head: int | None = None,
    ) -> None:
        self.preset = preset
        overrides = {k: v for k, v in locals().items() if k not in ("self", "preset")}
        self.config = cfg = resolve_config(preset, overrides)
        self._stem = self._round(cfg.stem[0])
        self._resume: _ScanState | None = None
        self._head = self._round(cfg.head) if cfg.head else 0
        self._universe: list[dict[str, tuple[Choice, ...]]] = []
        self._channels: list[dict[Choice, int]] = []  # per block: filters choice -> width
        prev = cfg.stem[0]
        for b, (filters, layers, stride) in enumerate(cfg.blocks):
            # Single-Path NAS: only layers that keep stride and width may become the skip-op.
            least = 1 if stride > 1 or filters != prev else 0
            prev = filters
            deltas = tuple(f"{n:+d}" for n in cfg.layer_deltas if layers + n >= least)
            if not deltas:
                raise NasbenchError(
                    f"block {b} {cfg.blocks[b]}: no layer delta in "
                    f"{cfg.layer_deltas} leaves it >= {least} layers"
                )
            widths: dict[Choice, int] = {}
            for m in cfg.filter_multipliers:
                if (c := self._round(filters, m)) not in widths.values():
                    widths[choice_text(m)] = c
            self._channels.append(widths)
            self._universe.append(
                {
                    "layers": deltas,
                    "op": cfg.conv_ops,
                    "kernel": tuple(map(str, cfg.kernels)),
                    "se": tuple(map(choice_text, cfg.se_ratios)),
                    "filters": tuple(widths),
                    "skip": cfg.skip_ops,
                }
            )

    @property
    def stem_width(self) -> int:
        """Output channels of the 3x3 stem (scaled by ``width``)."""
        return self._stem

    @property
    def head_width(self) -> int:
        """Channels of the 1x1 head conv (scaled by ``width``; 0: no head conv)."""
        return self._head

    @property
    def block_choices(self) -> tuple[dict[str, tuple[Choice, ...]], ...]:
        """Per block, the universe choices of each field (one choice: fixed, not decided)."""
        return tuple(self._universe)

    @property
    def block_widths(self) -> tuple[dict[Choice, int], ...]:
        """Per block, the width of each ``filters`` choice."""
        return tuple(self._channels)

    def _round(self, filters: int, multiplier: float = 1.0) -> int:
        """Width of ``filters`` x multiplier x width, rounded half up to a whole number >= 1.
        MobileNet/MnasNet round to multiples of 8 for mobile hardware; on these narrow layouts
        that would merge the multiplier choices, so we keep whole numbers."""
        exact = filters * Fraction(str(multiplier)) * Fraction(str(self.config.width))
        return max(1, math.floor(exact + Fraction(1, 2)))

    # ---- decision sequence ----------------------------------------------------------------
    def _layers(self, b: int, chosen: dict[str, Choice]) -> int:
        return self.config.blocks[b][1] + int(chosen["layers"])

    def _options(self, b: int, field: str, chosen: dict[str, Choice], cin: int) -> tuple[str, ...]:
        """Choices of block ``b``'s ``field`` after its earlier fields ``chosen`` with ``cin``
        input channels; ``()`` when the block has 0 layers. ``id`` is withheld (for ``none``)
        where no layer could take an identity residual: one layer changing stride or width."""
        if field != "layers" and self._layers(b, chosen) == 0:
            return ()
        options = self._universe[b][field]
        if field == "skip" and "none" in options and self._layers(b, chosen) == 1:
            cout = self._channels[b][chosen["filters"]]
            if self.config.blocks[b][2] > 1 or cin != cout:
                return tuple(s for s in options if s != "id")
        return options

    def _completions(self, b: int, cin: int) -> list[tuple[tuple[Choice, ...], dict[str, Choice]]]:
        """Every completion of block ``b`` as (its decision values, all its fields), in
        decision-tree order."""
        partial: list[tuple[tuple[Choice, ...], dict[str, Choice]]] = [((), {})]
        for field in FIELDS:
            grown = []
            for values, chosen in partial:
                options = self._options(b, field, chosen, cin)
                if not options:  # the block has 0 layers: nothing more to choose
                    grown.append((values, chosen))
                elif len(self._universe[b][field]) == 1:  # fixed: implied, not asked
                    grown.append((values, {**chosen, field: options[0]}))
                else:
                    grown += [((*values, c), {**chosen, field: c}) for c in options]
            partial = grown
        return partial

    def _scan(self, values: Sequence[Choice]) -> tuple[list[dict[str, Choice]], Decision | None]:
        """Per-block fields (fixed ones filled in) of ``values``, and the next decision (None
        once all blocks are complete). Raises NasbenchError on a value not allowed.

        A walk asks ``next_decision`` of ever longer prefixes; to keep that linear, the scan
        resumes from the state it stopped in last time when ``values`` extends that prefix
        (an immutable snapshot, so concurrent callers at worst rescan)."""
        snap = self._resume
        if snap is not None and tuple(values[: len(snap[0])]) == snap[0]:
            _, i, b, f, cin, done, current = snap
            blocks, chosen = list(done), dict(current)
        else:
            i, b, f, cin, blocks, chosen = 0, 0, 0, self._stem, [], {}
        while b < len(self._universe):
            while f < len(FIELDS):
                field = FIELDS[f]
                if not (options := self._options(b, field, chosen, cin)):
                    break
                if len(self._universe[b][field]) == 1:
                    chosen[field] = options[0]
                elif i == len(values):
                    self._resume = (tuple(values), i, b, f, cin, tuple(blocks), dict(chosen))
                    return blocks, Decision(f"block{b}.{field}", options)
                elif values[i] not in options:
                    raise NasbenchError(
                        f"{self.name}: block{b}.{field} got {values[i]!r} "
                        f"(valid here: {', '.join(options)})"
                    )
                else:
                    chosen[field], i = values[i], i + 1
                f += 1
            blocks.append(chosen)
            cin = self._channels[b][chosen["filters"]] if len(chosen) > 1 else cin
            b, f, chosen = b + 1, 0, {}
        return blocks, None

    def decisions(self) -> tuple[Decision, ...]:
        return tuple(
            Decision(f"block{b}.{field}", universe[field])
            for b, universe in enumerate(self._universe)
            for field in FIELDS
            if len(universe[field]) > 1
        )

    def next_decision(self, prefix: Sequence[Choice]) -> Decision | None:
        return self._scan(prefix)[1]

    def cardinality(self) -> int:
        """Exact count of decision sequences by dynamic programming over the block input width
        (the only state later blocks depend on, through the ``id`` rule)."""
        counts = {self._stem: 1}
        for b in range(len(self._universe)):
            after: dict[int, int] = {}
            for cin, n in counts.items():
                for _, chosen in self._completions(b, cin):
                    cout = self._channels[b][chosen["filters"]] if len(chosen) > 1 else cin
                    after[cout] = after.get(cout, 0) + n
            counts = after
        return sum(counts.values())

    # ---- the network ----------------------------------------------------------------------
    def _block_layers(self, b: int, chosen: dict[str, Choice], cin: int) -> list[LayerSpec]:
        """The layers block ``b`` builds from ``cin`` channels (none when dropped)."""
        if len(chosen) == 1:
            return []
        cout = self._channels[b][chosen["filters"]]
        ratio = Fraction(chosen["se"])
        specs = []
        for j in range(self._layers(b, chosen)):
            stride = self.config.blocks[b][2] if j == 0 else 1
            skip = chosen["skip"]
            if skip == "none" or (skip == "id" and not (stride == 1 and cin == cout)):
                skip = ""
            se = max(1, math.floor(cin * ratio)) if ratio else 0  # MnasNet: ratio of the input
            kernel = int(chosen["kernel"])
            specs.append(LayerSpec(chosen["op"], kernel, stride, cin, cout, se, skip))
            cin = cout
        return specs

    def _network(self, values: Sequence[Choice]) -> list[LayerSpec]:
        """The resolved layers after the stem; raises NasbenchError if ``values`` is invalid."""
        blocks, pending = self._scan(values)
        if pending is not None:
            raise NasbenchError(f"{self.name}: incomplete architecture, {pending.name!r} missing")
        specs: list[LayerSpec] = []
        for b, chosen in enumerate(blocks):
            specs += self._block_layers(b, chosen, specs[-1].cout if specs else self._stem)
        return specs

    def _build(self, arch: Architecture, task: Task) -> nn.Module:
        d, stride = task.spatial_dims, self.config.stem[1]
        mods: list[nn.Module] = [ConvBNReLU(d, task.channels, self._stem, 3, stride)]
        specs = self._network(arch.values)
        mods += [MobileLayer(spec, d) for spec in specs]
        last = specs[-1].cout if specs else self._stem
        if self._head:
            mods.append(ConvBNReLU(d, last, self._head, 1))
            last = self._head
        return nn.Sequential(*mods, global_pool(d), nn.Linear(last, task.num_classes))

    def counts(self, arch: Architecture, task: Task) -> ModelCounts:
        """Analytic params/MACs, walking the modules in :meth:`_build`'s order."""
        self.validate(arch)
        t = Tally()
        shape: Shape = ConvBNReLU.tally(t, task.input_shape, self._stem, 3, self.config.stem[1])
        ones = (1,) * task.spatial_dims
        for spec in self._network(arch.values):
            for step in layer_steps(spec):
                if len(step) == 1:  # SE convs run on the globally pooled (c, 1, ...) tensor
                    t.conv((shape[0], *ones), step[0], 1, bias=True)  # reduce
                    t.conv((step[0], *ones), shape[0], 1, bias=True)  # expand
                else:
                    cout, k, stride, groups, _ = step
                    shape = ConvBNReLU.tally(t, shape, cout, k, stride, groups=groups)
        if self._head:
            shape = ConvBNReLU.tally(t, shape, self._head, 1)
        t.linear(shape[0], task.num_classes)
        return ModelCounts(t.params, t.macs)

    def graph(self, arch: Architecture) -> ArchGraph:
        """A path: input, stem, one node per layer, head, output. A layer with a skip path
        ends in a sum node ``"node"`` fed by the layer and by its input (through a side node
        ``avgpool3-sS-cC`` for the pooling skip)."""
        labels = ["input", f"stem-conv-k3-c{self._stem}-s{self.config.stem[1]}"]
        edges, prev = [(0, 1)], 1
        for spec in self._network(arch.values):
            labels.append(spec.label)
            node = len(labels) - 1
            edges.append((prev, node))
            if spec.shortcut:
                side = prev
                if spec.shortcut == "pool":
                    labels.append(f"avgpool3-s{spec.stride}-c{spec.cout}")
                    side = len(labels) - 1
                    edges.append((prev, side))
                labels.append("node")
                edges += [(node, len(labels) - 1), (side, len(labels) - 1)]
            prev = len(labels) - 1
        for label in ([f"head-conv-k1-c{self._head}"] if self._head else []) + ["output"]:
            labels.append(label)
            edges.append((prev, len(labels) - 1))
            prev = len(labels) - 1
        adj = np.zeros((len(labels), len(labels)), dtype=np.int8)
        for i, j in edges:
            adj[i, j] = 1
        return ArchGraph(adj, tuple(labels))

    # ---- string form and canonical key ----------------------------------------------------
    def _format(self, values: tuple[Choice, ...]) -> str:
        tokens = []
        for c in self._scan(values)[0]:
            body = "{op}-k{kernel}-se{se}-{skip}-f{filters}-".format(**c) if len(c) > 1 else ""
            tokens.append(f"{body}l{c['layers']}")
        return "|".join(tokens)

    def _parse(self, text: str) -> tuple[Choice, ...]:
        tokens = text.split("|")
        if len(tokens) != len(self._universe):
            raise NasbenchError(
                f"{self.name}: expected {len(self._universe)} '|'-separated block "
                f"tokens, got {len(tokens)} in {text!r}"
            )
        fields: list[dict[str, str]] = []
        for b, token in enumerate(tokens):
            if (match := _TOKEN.fullmatch(token)) is None:
                raise NasbenchError(
                    f"{self.name}: block {b} token {token!r} is not "
                    "'op-kK-seR-skip-fM-l+D' or 'l-D'"
                )
            found = {k: v for k, v in match.groupdict().items() if v is not None}
            found["layers"] = found.pop("dropped", found.get("layers", ""))
            fields.append(found)
        values: list[Choice] = []
        while (decision := self.next_decision(values)) is not None:
            block, field = decision.name.split(".")
            token = tokens[int(block[5:])]
            value = fields[int(block[5:])].get(field)
            if value is None:
                raise NasbenchError(f"{self.name}: {decision.name} is missing from {token!r}")
            if value not in decision.choices:
                raise NasbenchError(
                    f"{self.name}: {decision.name} is {value!r} in {text!r} "
                    f"(valid here: {', '.join(decision.choices)})"
                )
            values.append(value)
        return tuple(values)

    def _canonical(self, values: tuple[Choice, ...]) -> str:
        """The resolved network (stem, layers with widths and shortcuts): equal keys build the
        same module."""
        layers = [f"{s.label}+{s.shortcut or 'none'}" for s in self._network(values)]
        return "|".join([f"stem{self._stem}", *layers, f"head{self._head}"])

    def canonicalize(self, arch: Architecture) -> Architecture:
        """The first architecture in decision-tree order that builds the same layers. Besides
        SE ratios that squeeze to one width, isomorphisms come from neighbouring blocks of
        equal width and stride 1 trading layers (MnasNet's N_i choices overlap there)."""
        self.validate(arch)
        found = self._first_building(0, self._stem, self._network(arch.values))
        assert found is not None  # arch itself builds the target
        return self.make(found)

    def _first_building(
        self, b: int, cin: int, target: list[LayerSpec]
    ) -> tuple[Choice, ...] | None:
        """Depth-first over blocks ``b..``: the first decision values building ``target``."""
        if b == len(self._universe):
            return () if not target else None
        for values, chosen in self._completions(b, cin):
            if len(chosen) > 1 and (not target or target[0].op != chosen["op"]):
                continue  # cheap test first: most completions differ in the first op
            layers = self._block_layers(b, chosen, cin)
            if target[: len(layers)] == layers:
                rest = self._first_building(
                    b + 1, layers[-1].cout if layers else cin, target[len(layers) :]
                )
                if rest is not None:
                    return values + rest
        return None
