"""The hierarchical space's supernet: Single-Path NAS superkernels and TAS width/depth mixing.

One module holds every architecture of :class:`~nasbench.spaces.hierarchical.HierarchicalSpace`.
Per block it builds the block's largest layer stack, each layer holding one module of maximal
shape per op kind; every decision of a block is a mixed op driven by its weight vector:

* ``kernel`` and the MBConv expansions of ``op``: Single-Path NAS's superkernel (Stamoulis et al.,
  ECML-PKDD 2019, Sec. 3.2). One depthwise kernel of the largest size; kernel ``k`` is its inner
  ``k x k`` part, mixed as ``sum_k w_k * masked kernel k`` (one conv). ``mbconv3`` is the first
  half of ``mbconv6``'s expanded channels: the expanded features are multiplied by
  ``sum_e w_e * mask_e`` (``mask_e`` keeps the first ``e * cin`` channels). The other ops
  (``mbconv1``, ``dconv``, ``conv``) are separate candidates with superkernels of their own.
  Op output = ``s * mbconv(x; masks weighted w_e / s) + sum_other w_o * op_o(x)``, ``s`` the
  MBConv weights' sum, so the group weighs ``s`` against the others although batch norm
  follows the masks.
* ``filters``: TAS's width (Dong & Yang, NeurIPS 2019, Sec. 3.1): each layer runs at the largest
  nonzero-weight width and its output is ``sum_j w_j * (features masked to the first c_j
  channels)``. TAS aligns widths by channel-wise interpolation; we zero-pad (mask), which keeps
  a subnet's channels where the stand-alone subnet has them.
* ``layers``: TAS's depth: ``sum_d w_d * h_d``, ``h_d`` the block output after ``d`` layers
  (``h_0``: the block input), narrower outputs zero-padded.
* ``se`` (``sum_r w_r * SE_r(h)``, ``SE_0`` the identity) and ``skip`` (``id``/``pool``/``none``
  shortcuts, weighted by the probability that the layer's input width allows them, so
  ``id`` only joins equal widths at stride 1 as in the space) are mixed ops likewise.

Only nonzero-weight candidates, depths and widths are computed, and every slice is taken from the
weights rather than masked, so a one-hot :func:`~nasbench.core.supernet.path_weights` path runs the
stand-alone network of :meth:`HierarchicalSpace.build` on inherited weights, operation for
operation (all multipliers exactly 1). Soft weights mix candidates inside one pass (the TAS and
Single-Path relaxations), not as separate subnets. Batch norm is affine with running statistics,
shared by all slices (the weight-sharing evaluator recalibrates it per subnet).

Single-Path NAS's own mode, :meth:`HierarchicalSupernet.forward_thresholds`, replaces the
``kernel``, MBConv-expansion and (for one-layer-or-none blocks, their skip-op) ``layers`` weights
by indicators ``1(||w|| > t)`` of the superkernel's outer shell / extra channels against
learnable thresholds, with a straight-through sigmoid gradient (Single-Path NAS Eq. 2-5);
:meth:`~HierarchicalSupernet.threshold_choices` reads off what they select.

>>> import numpy as np
>>> from nasbench.spaces.hierarchical import HierarchicalSpace
>>> from nasbench.core.supernet import build_supernet, path_weights
>>> space = HierarchicalSpace(preset="single_path", width=0.25)
>>> net = build_supernet(space, Task((1, 16), 3), np.random.default_rng(0))
>>> arch = space.sample(np.random.default_rng(1))
>>> tuple(net(torch.zeros(2, 1, 16), path_weights(space, arch)).shape)
(2, 3)
>>> net.threshold_choices()["block0.kernel"]  # thresholds start at 0: largest kernel
'5'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import torch
from torch import nn
from torch.nn import functional

from nasbench.core.errors import NasbenchError
from nasbench.core.supernet import Supernet, Weights, active, register_supernet
from nasbench.core.types import Choice, Decision, Task

from .hierarchical import HierarchicalSpace
from .mobile import align_channels
from .ops import ConvBNReLU, global_pool, pool
from .superkernel import (
    SuperConv,
    SuperConvBN,
    SuperMBConv,
    SuperSeparable,
    Weighted,
    indicator,
    inner,
    mix_kernel,
    nested,
    pad_channels,
    plus,
    scale,
)

W = torch.Tensor | None  # a candidate's weight; None: fixed by the configuration (exactly 1)


@dataclass(frozen=True)
class BlockSpec:
    """One block as the supernet sees it: the universe choices of each field (``layers``,
    ``op``, ``kernel``, ``se``, ``filters``, ``skip``; one choice = fixed), the width of each
    ``filters`` choice, the base layer count and the first layer's stride."""

    choices: Mapping[str, tuple[Choice, ...]]
    widths: Mapping[Choice, int]
    layers: int
    stride: int

    def counts(self) -> dict[Choice, int]:
        """Layer count of each ``layers`` choice."""
        return {c: self.layers + int(c) for c in self.choices["layers"]}

    def expansions(self) -> list[int]:
        """MBConv expansion ratios > 1 among the ops (the superkernel's), ascending."""
        return sorted(_expansion(op) for op in self.choices["op"] if _expansion(op) > 1)


def _expansion(op: str) -> int:
    return int(op[6:]) if op.startswith("mbconv") else 1


@dataclass
class _Plan:
    """The candidates of one block that run, with their weights (see :data:`Weighted`)."""

    depths: list[tuple[int, W]]
    kernels: list[tuple[int, W]] = field(default_factory=list)
    ses: list[tuple[Fraction, W]] = field(default_factory=list)
    widths: list[tuple[int, W]] = field(default_factory=list)
    skips: list[tuple[str, W]] = field(default_factory=list)
    others: list[tuple[str, W]] = field(default_factory=list)  # ops outside the superkernel
    expansions: list[tuple[int, W]] = field(default_factory=list)  # within the superkernel
    group: W = None  # the superkernel's total weight s


class _Layer(nn.Module):
    """One layer position of a block: every op kind at maximal shape, and its skip paths."""

    def __init__(self, d: int, spec: BlockSpec, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        choices = spec.choices
        k = max(int(c) for c in choices["kernel"])
        ratios = [Fraction(r) for r in choices["se"]]
        squeeze = max(1, math.floor(cin * max(ratios))) if any(ratios) else 0
        expansions = spec.expansions()
        self.cin, self.stride = cin, stride
        self.mbconv = (
            SuperMBConv(d, cin, cout, k, stride, expansions[-1], squeeze) if expansions else None
        )
        others: dict[str, nn.Module] = {}
        for op in choices["op"]:
            if op in ("mbconv1", "dconv"):
                others[op] = SuperSeparable(d, cin, cout, k, stride, squeeze, relu=op == "dconv")
            elif op == "conv":
                others[op] = SuperConv(d, cin, cout, k, stride, squeeze)
        self.others = nn.ModuleDict(others)
        self.pool = pool(d, "avg", 3, stride) if "pool" in choices["skip"] else None

    def forward(
        self, x: torch.Tensor, plan: _Plan, dist: list[tuple[int, W]] | None
    ) -> torch.Tensor:
        """``dist``: the input's width distribution for the block's first layer (its width is
        another block's decision); ``None`` inside the block (input width = output width)."""
        n_out = max(c for c, _ in plan.widths)
        body: torch.Tensor | None = None
        if plan.expansions:
            assert self.mbconv is not None
            mbconv = self.mbconv(x, n_out, plan.kernels, plan.ses, plan.expansions)
            body = scale(mbconv, plan.group)
        for op, w in plan.others:
            body = plus(body, scale(self.others[op](x, n_out, plan.kernels, plan.ses), w))
        assert body is not None
        pooled = self.pool(x) if self.pool is not None else None
        if len(plan.widths) == 1:
            ((c, w),) = plan.widths
            short = self._shortcut(x, pooled, c, plan.skips, dist)
            return scale(body if short is None else body + short, w)
        position = torch.arange(n_out, device=body.device)
        mask = sum(scale((position < c).to(body.dtype), w) for c, w in plan.widths)
        assert isinstance(mask, torch.Tensor)
        out = body * mask.view(1, -1, *(1,) * (body.dim() - 2))
        for c, w in plan.widths:
            if (short := self._shortcut(x, pooled, c, plan.skips, dist)) is not None:
                out = out + scale(pad_channels(short, n_out), w)
        return out

    def _shortcut(
        self,
        x: torch.Tensor,
        pooled: torch.Tensor | None,
        cout: int,
        skips: Weighted[str],
        dist: list[tuple[int, W]] | None,
    ) -> torch.Tensor | None:
        """``sum_s w_s * sum_c p_c * shortcut_s(x[:, :c] -> cout)``: ``id`` where ``c == cout``
        at stride 1, ``pool``: 3x3 average pooling, channel-interpolated to ``cout`` (as
        :class:`~nasbench.spaces.mobile.MobileLayer`)."""
        sources = dist if dist is not None else [(cout, None)]
        total: torch.Tensor | None = None
        for skip, ws in skips:
            part: torch.Tensor | None = None
            for c, p in sources:
                if skip == "id" and self.stride == 1 and c == cout:
                    part = plus(part, scale(_first(x, c), p))
                elif skip == "pool":
                    assert pooled is not None
                    part = plus(part, scale(align_channels(_first(pooled, c), cout), p))
            if part is not None:
                total = plus(total, scale(part, ws))
        return total


def _first(x: torch.Tensor, c: int) -> torch.Tensor:
    return x if x.shape[1] == c else x[:, :c]


def _times(a: W, b: W) -> W:
    return b if a is None else scale(a, b)


class _Block(nn.Module):
    """A block's largest layer stack; forward mixes its depths (TAS)."""

    def __init__(self, d: int, spec: BlockSpec, cin: int, cout: int) -> None:
        super().__init__()
        depth = max(spec.counts().values())
        self.layers = nn.ModuleList(
            _Layer(d, spec, cin if j == 0 else cout, cout, spec.stride if j == 0 else 1)
            for j in range(depth)
        )

    def superkernels(self) -> list[tuple[torch.Tensor, int]]:
        """Each layer's MBConv depthwise superkernel and largest input width."""
        out = []
        for layer in self.layers:
            assert isinstance(layer, _Layer) and layer.mbconv is not None
            out.append((layer.mbconv.depthwise.weight, layer.cin))
        return out

    def forward(
        self, x: torch.Tensor, dist: list[tuple[int, W]], plan: _Plan
    ) -> tuple[torch.Tensor, list[tuple[int, W]]]:
        """The mixed block output and its width distribution (width -> probability)."""
        after = [x]
        for j in range(max(n for n, _ in plan.depths)):
            after.append(self.layers[j](after[-1], plan, dist if j == 0 else None))
        if len(plan.depths) == 1:
            n, w = plan.depths[0]
            widths = dist if n == 0 else plan.widths
            return scale(after[n], w), [(c, _times(p, w)) for c, p in widths]
        channels = max(after[n].shape[1] for n, _ in plan.depths)
        out: torch.Tensor | None = None
        merged: dict[int, torch.Tensor] = {}
        for n, w in plan.depths:
            assert w is not None  # several depths come from a decision vector
            out = plus(out, w * pad_channels(after[n], channels))
            for c, p in dist if n == 0 else plan.widths:
                merged[c] = plus(merged.get(c), w if p is None else w * p)
        assert out is not None
        return out, list(merged.items())


class _Thresholds(nn.Module):
    """Single-Path NAS's learnable thresholds of one block: ``kernel`` (one per kernel size
    above the smallest), ``expansion`` (one per MBConv ratio above the smallest) and ``drop``
    (its skip-op: keep the layer(s) iff the smallest MBConv's weights are large enough)."""

    kernel: nn.Parameter | None
    expansion: nn.Parameter | None
    drop: nn.Parameter | None

    def __init__(self, kernels: int, expansions: int, drop: int) -> None:
        super().__init__()
        for name, size in (("kernel", kernels), ("expansion", expansions), ("drop", drop)):
            self.register_parameter(name, nn.Parameter(torch.empty(size)) if size else None)

    def init_parameters(self, generator: torch.Generator) -> None:
        """Zeros, as the Single-Path NAS authors' released code initialises them: every
        indicator starts open (largest kernel and expansion, no layer skipped), and the
        strategy's thresholds optimiser (:class:`~nasbench.strategies.single_path.SinglePath`:
        ``threshold_lr``, no weight decay) raises them. Draws nothing."""
        for p in self.parameters(recurse=False):
            p.zero_()


@dataclass
class _Gates:
    """What a block's thresholds decide (``None``: not threshold-governed)."""

    kernels: list[tuple[int, W]] | None = None
    expansions: list[tuple[int, W]] | None = None
    depths: list[tuple[int, W]] | None = None


class HierarchicalSupernet(Supernet):
    """The supernet of a hierarchical space (see the module docstring); built by
    :func:`~nasbench.core.supernet.build_supernet` through :func:`hierarchical_supernet`.
    ``blocks`` describe the space's blocks in order; ``stem`` is (filters, stride) of the 3x3
    stem, ``head`` the 1x1 head conv width (0: none)."""

    def __init__(
        self,
        decisions: Sequence[Decision],
        blocks: Sequence[BlockSpec],
        task: Task,
        stem: tuple[int, int],
        head: int,
    ) -> None:
        super().__init__(decisions)
        d = self.d = task.spatial_dims
        self.specs = tuple(blocks)
        self.stem = ConvBNReLU(d, task.channels, stem[0], 3, stem[1])
        self.stem_width = stem[0]
        cin, mods, thresholds = stem[0], [], []
        for spec in self.specs:
            cout = max(spec.widths.values())
            mods.append(_Block(d, spec, cin, cout))
            counts = sorted(set(spec.counts().values()))
            grouped = bool(spec.expansions()) and counts[-1] > 0
            thresholds.append(
                _Thresholds(
                    len(spec.choices["kernel"]) - 1 if grouped else 0,
                    len(spec.expansions()) - 1 if grouped else 0,
                    int(grouped and len(counts) == 2 and counts[0] == 0),
                )
            )
            cin = max(cin, cout) if 0 in counts else cout
        self.blocks = nn.ModuleList(mods)
        self.thresholds = nn.ModuleList(thresholds)
        self.head = SuperConvBN(d, cin, head, 1) if head else None
        self.head_width = head
        self.pool = global_pool(d)
        self.classifier = nn.Linear(head or cin, task.num_classes)

    # ---- forward --------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, weights: Weights) -> torch.Tensor:
        """Logits ``(N, num_classes)`` of ``x`` ``(N, *input_shape)`` under one weight vector
        per universe decision; raises NasbenchError for missing or misshapen vectors, or a
        decision with no nonzero weight in a block whose depth weights keep layers."""
        self.check_weights(weights)
        return self._run(x, [self._plan(b, weights, _Gates()) for b in range(len(self.specs))])

    def forward_thresholds(self, x: torch.Tensor, weights: Weights) -> torch.Tensor:
        """Single-Path NAS's forward: ``kernel``, the MBConv expansions of ``op`` and the
        skip-op ``layers`` come from the threshold indicators (all sizes computed, so the
        thresholds get gradients while an indicator is 0); the other decisions from
        ``weights`` as in :meth:`forward`. Where ``op`` also offers non-MBConv ops, the
        thresholds split the MBConv ops' summed weight among the expansions."""
        self.check_weights(weights)
        plans = [self._plan(b, weights, self._gates(b)) for b in range(len(self.specs))]
        return self._run(x, plans)

    def _run(self, x: torch.Tensor, plans: list[_Plan]) -> torch.Tensor:
        h = self.stem(x)
        dist: list[tuple[int, W]] = [(self.stem_width, None)]
        for block, plan in zip(self.blocks, plans, strict=True):
            h, dist = block(h, dist, plan)
        if self.head is not None:
            h = self.head(h, self.head_width)
        h = self.pool(h)
        return functional.linear(h, self.classifier.weight[:, : h.shape[1]], self.classifier.bias)

    def _pick(self, b: int, field: str, weights: Weights) -> list[tuple[Choice, W]]:
        choices = self.specs[b].choices[field]
        if len(choices) == 1:
            return [(choices[0], None)]
        name = f"block{b}.{field}"
        w = weights[name]
        picked: list[tuple[Choice, W]] = [(choices[k], w[k]) for k in active(w)]
        if not picked and field != "layers":
            raise NasbenchError(
                f"supernet weights for {name!r} are all zero, but block {b} keeps layers"
            )
        return picked

    def _plan(self, b: int, weights: Weights, gates: _Gates) -> _Plan:
        spec = self.specs[b]
        counts = spec.counts()
        depths = gates.depths or [(counts[c], w) for c, w in self._pick(b, "layers", weights)]
        if not depths:
            raise NasbenchError(f"supernet weights for 'block{b}.layers' are all zero")
        plan = _Plan(depths)
        if max(n for n, _ in depths) == 0:
            return plan  # no layer runs: the block's other decisions are unused
        plan.kernels = gates.kernels or [(int(k), w) for k, w in self._pick(b, "kernel", weights)]
        plan.ses = [(Fraction(r), w) for r, w in self._pick(b, "se", weights)]
        plan.widths = [(spec.widths[c], w) for c, w in self._pick(b, "filters", weights)]
        plan.skips = self._pick(b, "skip", weights)
        self._plan_ops(plan, b, weights, gates.expansions)
        return plan

    def _plan_ops(
        self, plan: _Plan, b: int, weights: Weights, gated: list[tuple[int, W]] | None
    ) -> None:
        """Split ``op`` into the superkernel's expansions, weighted ``w_e / s`` within it and
        ``s`` (their sum) as a whole, and the other ops. ``gated``: the thresholds' expansion
        weights, which replace the MBConv ops' (all of ``op`` when it offers nothing else)."""
        ratios = self.specs[b].expansions()
        if gated is not None and len(self.specs[b].choices["op"]) == len(ratios):
            plan.expansions = gated  # the thresholds decide the whole op: weights unread
            return
        picked = self._pick(b, "op", weights)
        plan.others = [(op, w) for op, w in picked if _expansion(op) not in ratios]
        group = [(_expansion(op), w) for op, w in picked if _expansion(op) in ratios]
        if len(group) == 1 and gated is None:
            plan.expansions, plan.group = [(group[0][0], None)], group[0][1]
        elif group:
            parts = [w for _, w in group if w is not None]
            assert len(parts) == len(group)  # several ops come from a decision vector
            total = torch.stack(parts).sum()
            plan.group = total
            plan.expansions = gated or [(e, scale(1 / total, w)) for e, w in group]

    # ---- Single-Path NAS thresholds -------------------------------------------------------
    def _gates(self, b: int) -> _Gates:
        """The indicator-derived weights of block ``b`` (Single-Path NAS Eq. 2-5): Frobenius
        norms of the MBConv superkernel's depthwise weights, taken jointly over the block's
        layers at their largest input widths, against the thresholds. The paper writes
        ``||w||^2``; its released code (and this) compares ``||w||``, which saturates the
        sigmoid far less."""
        t = self.thresholds[b]
        assert isinstance(t, _Thresholds)
        spec, gates, d = self.specs[b], _Gates(), self.d
        if t.kernel is None and t.expansion is None and t.drop is None:
            return gates
        block = self.blocks[b]
        assert isinstance(block, _Block)
        layers = block.superkernels()
        sizes = sorted(int(k) for k in spec.choices["kernel"])
        kernels: list[tuple[int, W]] = [(sizes[0], None)]
        if t.kernel is not None:  # 1(||outer shell of size i|| > t_i), Eq. 2
            shells = [
                _norm([_shell(w, sizes[i - 1], sizes[i], d) for w, _ in layers]) - t.kernel[i - 1]
                for i in range(1, len(sizes))
            ]
            kernels = list(zip(sizes, nested([indicator(x) for x in shells]), strict=True))
            gates.kernels = kernels
        chosen = [(mix_kernel(w, kernels, d), cin) for w, cin in layers]
        ratios = spec.expansions()
        if t.expansion is not None:  # 1(||channels e_{i-1} c .. e_i c|| > t_i), Eq. 5
            extra = [
                _norm([w[ratios[i - 1] * c : ratios[i] * c] for w, c in chosen])
                - t.expansion[i - 1]
                for i in range(1, len(ratios))
            ]
            gates.expansions = list(zip(ratios, nested([indicator(x) for x in extra]), strict=True))
        if t.drop is not None:  # the skip-op: 1(||smallest expansion's channels|| > t), Eq. 5
            keep = indicator(_norm([w[: ratios[0] * c] for w, c in chosen]) - t.drop[0])
            low, high = sorted(set(spec.counts().values()))
            gates.depths = [(low, 1 - keep), (high, keep)]
        return gates

    def threshold_parameters(self) -> list[nn.Parameter]:
        """Every Single-Path threshold (for an optimiser of their own)."""
        return list(self.thresholds.parameters())

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every parameter but the thresholds."""
        skip = {id(p) for p in self.threshold_parameters()}
        return [p for p in self.parameters() if id(p) not in skip]

    def threshold_weights(self) -> dict[str, dict[Choice, torch.Tensor]]:
        """The indicator weights of the choices the thresholds govern (the decisions of
        :meth:`threshold_choices`; for ``op`` its MBConv expansions only), each a 0-d tensor
        exactly 0 or 1 in value with the straight-through gradient of :func:`indicator`, so a
        cost that is linear in them (Single-Path NAS's latency, Eq. 6) is differentiable in the
        thresholds."""
        out: dict[str, dict[Choice, torch.Tensor]] = {}
        for b, spec in enumerate(self.specs):
            gates = self._gates(b)
            picks = (
                ("kernel", gates.kernels, {int(c): c for c in spec.choices["kernel"]}),
                ("op", gates.expansions, {_expansion(c): c for c in spec.choices["op"]}),
                ("layers", gates.depths, {n: c for c, n in spec.counts().items()}),
            )
            for name, weighted, choice in picks:
                if weighted is not None:
                    one = torch.ones(())
                    out[f"block{b}.{name}"] = {
                        choice[v]: one if w is None else w for v, w in weighted
                    }
        return out

    @torch.no_grad()
    def threshold_choices(self) -> dict[str, Choice]:
        """The choices the thresholds currently select, for the decisions they govern:
        ``block{b}.kernel``, ``block{b}.op`` (the MBConv expansion; where ``op`` offers other
        ops too, the choice within the superkernel) and ``block{b}.layers`` (skip-op)."""
        out: dict[str, Choice] = {}
        for b, spec in enumerate(self.specs):
            gates = self._gates(b)
            picks = (
                ("kernel", gates.kernels, {int(c): c for c in spec.choices["kernel"]}),
                ("op", gates.expansions, {_expansion(c): c for c in spec.choices["op"]}),
                ("layers", gates.depths, {n: c for c, n in spec.counts().items()}),
            )
            for name, weighted, choice in picks:
                if weighted is not None:
                    value = next(v for v, w in weighted if w is not None and float(w) == 1.0)
                    out[f"block{b}.{name}"] = choice[value]
        return out


def _norm(parts: Sequence[torch.Tensor]) -> torch.Tensor:
    """The Frobenius norm of all ``parts`` together."""
    return torch.linalg.vector_norm(torch.cat([p.flatten() for p in parts]))


def _shell(weight: torch.Tensor, small: int, big: int, d: int) -> torch.Tensor:
    """The ``big``-wide kernel's weights outside its inner ``small``-wide part (zeros there)."""
    margin = (big - small) // 2
    return inner(weight, big, d) - functional.pad(inner(weight, small, d), (margin, margin) * d)


@register_supernet("hierarchical")
def hierarchical_supernet(space: HierarchicalSpace, task: Task) -> HierarchicalSupernet:
    """Single-Path NAS superkernels and TAS width/depth mixing over every block of ``space``;
    construction only."""
    blocks = [
        BlockSpec(universe, widths, layers, stride)
        for universe, widths, (_, layers, stride) in zip(
            space.block_choices, space.block_widths, space.config.blocks, strict=True
        )
    ]
    stem = (space.stem_width, space.config.stem[1])
    return HierarchicalSupernet(space.decisions(), blocks, task, stem, space.head_width)
