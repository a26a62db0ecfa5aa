"""Superkernel building blocks: layers of maximal shape that run on a leading slice of their
weights, and the straight-through threshold indicator of Single-Path NAS.

Single-Path NAS (Stamoulis et al., ECML-PKDD 2019, Sec. 3.2) stores one depthwise kernel of the
largest size per layer; a smaller kernel is its inner ``k x k`` (1-D: length ``k``) part, and a
smaller expansion ratio the first channels of the expanded layer. TAS (Dong & Yang, NeurIPS 2019,
Sec. 3.1) likewise runs one layer of the largest width and keeps the first ``c`` channels for a
width ``c``. :class:`SuperConvBN` is such a conv -> BN (-> ReLU): its forward slices the weights
to the input's channels and the requested output channels, and :func:`mix_kernel` mixes kernel
sizes. With one kernel size it is the stand-alone ``ConvBNReLU`` math on the sliced weights,
operation for operation. :class:`SuperSqueezeExcite`, and the MnasNet ops built from these
(:class:`SuperMBConv`: the superkernel MBConv, :class:`SuperSeparable`: ``mbconv1``/``dconv``,
:class:`SuperConv`: ``conv``), work the same way.

A *weighted list* ``[(choice, w), ...]`` carries the candidates of one decision that run, with
their weights: ``w`` is a 0-d tensor, or ``None`` for a decision the configuration fixes (weight
exactly 1, no multiplication).

>>> import torch
>>> layer = SuperConvBN(2, cin=4, cout=6, k=5)
>>> y = layer(torch.randn(2, 3, 8, 8), cout=5, kernels=[(3, None)])  # 3 in, 5 out, 3x3
>>> tuple(y.shape)
(2, 5, 8, 8)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import TypeVar

import torch
from torch import nn
from torch.nn import functional

from . import kernels as fast
from .ops import batchnorm, conv, same_padding

T = TypeVar("T")
Weighted = Sequence[tuple[T, torch.Tensor | None]]
"""Candidates that run and their weights (``None``: fixed, exactly 1)."""


def param(module: nn.Module, name: str) -> torch.Tensor:
    """``module.name`` as a tensor (a typed view of a parameter or buffer)."""
    value = getattr(module, name)
    assert isinstance(value, torch.Tensor), f"{type(module).__name__}.{name} is not a tensor"
    return value


def scale(x: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    """``w * x``, or ``x`` itself for a fixed (``None``) weight."""
    return x if w is None else w * x


def plus(total: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
    """``total + x`` where ``None`` is an empty sum."""
    return x if total is None else total + x


def pad_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """``x`` zero-padded along dim 1 to ``channels`` (TAS's alignment of narrower features by
    zero channels; ``x`` itself when already that wide)."""
    extra = channels - x.shape[1]
    return x if extra == 0 else functional.pad(x, (0, 0) * (x.dim() - 2) + (0, extra))


def inner(weight: torch.Tensor, k: int, d: int) -> torch.Tensor:
    """The centred ``k``-wide part of a superkernel's last ``d`` dimensions (Single-Path NAS:
    the 3x3 kernel is the 5x5 kernel without its outer shell)."""
    lo = (weight.shape[-1] - k) // 2
    if lo == 0:
        return weight
    index = (Ellipsis,) + (slice(lo, lo + k),) * d
    return weight[index]


def mix_kernel(weight: torch.Tensor, kernels: Weighted[int], d: int) -> torch.Tensor:
    """``sum_k w_k * (inner k x k of weight, zero-padded)`` over the listed kernel sizes, of the
    largest listed size (Single-Path NAS Eq. 2 as a weighted sum: with ``w = (1 - g, g)`` it is
    ``w_3x3 + g * w_shell``). A single entry gives the inner kernel itself, unpadded."""
    if len(kernels) == 1:
        k, w = kernels[0]
        return scale(inner(weight, k, d), w)
    size = max(k for k, _ in kernels)
    total: torch.Tensor | None = None
    for k, w in kernels:
        margin = (size - k) // 2
        part = functional.pad(scale(inner(weight, k, d), w), (margin, margin) * d)
        total = plus(total, part)
    assert total is not None
    return total


def sliced_batchnorm(bn: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``bn`` (a BatchNorm of maximal width) applied to ``x``'s channels only: the first
    ``x.shape[1]`` entries of its affine parameters and running statistics, which it updates in
    place in training mode exactly like a BatchNorm of that width."""
    assert isinstance(bn, nn.modules.batchnorm._BatchNorm)
    assert bn.running_mean is not None and bn.running_var is not None
    c = x.shape[1]
    momentum = 0.0 if bn.momentum is None else bn.momentum
    if bn.training and bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
        if bn.momentum is None:  # a cumulative moving average, as BatchNorm's
            momentum = 1.0 / float(bn.num_batches_tracked)
    return fast.batch_norm(
        x,
        bn.running_mean[:c],
        bn.running_var[:c],
        bn.weight[:c],
        bn.bias[:c],
        bn.training,
        momentum,
        bn.eps,
    )


class SuperConvBN(nn.Module):
    """conv -> BN (-> ReLU) of maximal shape (``cin`` in, ``cout`` out, ``k`` wide), run on the
    input's channels and the first ``cout`` outputs asked for. ``depthwise``: a depthwise conv
    (output channels = input channels). Batch norm is affine with running statistics, shared by
    every slice (the weight-sharing evaluator recalibrates it per subnet)."""

    def __init__(
        self,
        d: int,
        cin: int,
        cout: int,
        k: int,
        stride: int = 1,
        depthwise: bool = False,
        relu: bool = True,
    ) -> None:
        super().__init__()
        self.d, self.stride, self.depthwise, self.relu = d, stride, depthwise, relu
        self.conv = conv(
            d, cin, cin if depthwise else cout, k, stride, groups=cin if depthwise else 1
        )
        self.bn = batchnorm(d, cin if depthwise else cout)

    @property
    def weight(self) -> torch.Tensor:
        """The conv's full (maximal) weight."""
        return param(self.conv, "weight")

    def forward(
        self, x: torch.Tensor, cout: int, kernels: Weighted[int] | None = None
    ) -> torch.Tensor:
        """``x``: ``(N, c, ...)``, ``c`` at most the built ``cin``; ``cout`` output channels
        (ignored for a depthwise conv); ``kernels``: kernel sizes to mix (default: the full
        kernel)."""
        n = x.shape[1]
        weight = self.weight[:n] if self.depthwise else self.weight[:cout, :n]
        if kernels is not None:
            weight = mix_kernel(weight, kernels, self.d)
        k = weight.shape[-1]
        groups = n if self.depthwise else 1
        y = fast.conv(x, weight, None, self.stride, same_padding(k), 1, groups, self.training)
        y = sliced_batchnorm(self.bn, y)
        return functional.relu(y) if self.relu else y


class SuperSqueezeExcite(nn.Module):
    """Squeeze-excite (Hu et al. 2018) of maximal widths, run on the input's channels with the
    first ``reduced`` squeeze channels (MnasNet's SE ratio picks ``reduced``)."""

    def __init__(self, d: int, channels: int, reduced: int) -> None:
        super().__init__()
        self.d = d
        self.reduce = conv(d, channels, reduced, 1, bias=True)
        self.expand = conv(d, reduced, channels, 1, bias=True)

    def forward(self, x: torch.Tensor, reduced: int) -> torch.Tensor:
        n = x.shape[1]
        pool = functional.adaptive_avg_pool1d if self.d == 1 else functional.adaptive_avg_pool2d
        z = pool(x, 1)
        reduce_w, reduce_b = param(self.reduce, "weight"), param(self.reduce, "bias")
        expand_w, expand_b = param(self.expand, "weight"), param(self.expand, "bias")
        z = fast.conv(z, reduce_w[:reduced, :n], reduce_b[:reduced], 1, 0, 1, 1, self.training)
        z = functional.relu(z)
        z = fast.conv(z, expand_w[:n, :reduced], expand_b[:n], 1, 0, 1, 1, self.training)
        return x * torch.sigmoid(z)


def squeeze_excite_mix(
    se: SuperSqueezeExcite | None, h: torch.Tensor, ses: Weighted[Fraction], cin: int
) -> torch.Tensor:
    """``sum_r w_r * SE_r(h)``; ratio ``r`` squeezes to ``max(1, floor(cin * r))`` (MnasNet:
    a ratio of the layer input), ratio 0 is the identity."""
    total: torch.Tensor | None = None
    for ratio, w in ses:
        y = h
        if ratio:
            assert se is not None
            y = se(h, max(1, math.floor(cin * ratio)))
        total = plus(total, scale(y, w))
    assert total is not None
    return total


class SuperMBConv(nn.Module):
    """The Single-Path superkernel MBConv: 1x1 expand -> depthwise -> [SE] -> linear 1x1
    project, expanded to the largest ratio; smaller ratios keep the first channels."""

    def __init__(self, d: int, cin: int, cout: int, k: int, stride: int, ratio: int, se: int):
        super().__init__()
        mid = ratio * cin
        self.d = d
        self.expand = SuperConvBN(d, cin, mid, 1)
        self.depthwise = SuperConvBN(d, mid, mid, k, stride, depthwise=True)
        self.se = SuperSqueezeExcite(d, mid, se) if se else None
        self.project = SuperConvBN(d, mid, cout, 1, relu=False)

    def forward(
        self,
        x: torch.Tensor,
        cout: int,
        kernels: Weighted[int],
        ses: Weighted[Fraction],
        expansions: Weighted[int],
    ) -> torch.Tensor:
        """``cout`` outputs of ``x``; kernels, SE ratios and expansion ratios as weighted
        lists (several expansions: ``sum_e w_e * mask_e`` on the expanded channels)."""
        n = x.shape[1]
        mid = max(e for e, _ in expansions) * n
        h = self.depthwise(self.expand(x, mid), mid, kernels)
        if len(expansions) == 1:
            h = scale(h, expansions[0][1])
        else:  # sum_e w_e * mask_e: the first e * n expanded channels
            position = torch.arange(mid, device=h.device)
            mask = sum(scale((position < e * n).to(h.dtype), w) for e, w in expansions)
            assert isinstance(mask, torch.Tensor)
            h = h * mask.view(1, -1, *(1,) * self.d)
        return self.project(squeeze_excite_mix(self.se, h, ses, n), cout)


class SuperSeparable(nn.Module):
    """``mbconv1`` (depthwise -> [SE] -> linear 1x1) or ``dconv`` (MobileNet's depthwise
    separable conv: the 1x1 conv followed by ReLU)."""

    def __init__(self, d: int, cin: int, cout: int, k: int, stride: int, se: int, relu: bool):
        super().__init__()
        self.depthwise = SuperConvBN(d, cin, cin, k, stride, depthwise=True)
        self.se = SuperSqueezeExcite(d, cin, se) if se else None
        self.pointwise = SuperConvBN(d, cin, cout, 1, relu=relu)

    def forward(
        self, x: torch.Tensor, cout: int, kernels: Weighted[int], ses: Weighted[Fraction]
    ) -> torch.Tensor:
        h = self.depthwise(x, x.shape[1], kernels)
        return self.pointwise(squeeze_excite_mix(self.se, h, ses, x.shape[1]), cout)


class SuperConv(nn.Module):
    """``conv``: a regular k x k conv -> BN -> ReLU -> [SE]."""

    def __init__(self, d: int, cin: int, cout: int, k: int, stride: int, se: int):
        super().__init__()
        self.conv = SuperConvBN(d, cin, cout, k, stride)
        self.se = SuperSqueezeExcite(d, cout, se) if se else None

    def forward(
        self, x: torch.Tensor, cout: int, kernels: Weighted[int], ses: Weighted[Fraction]
    ) -> torch.Tensor:
        return squeeze_excite_mix(self.se, self.conv(x, cout, kernels), ses, x.shape[1])


def indicator(x: torch.Tensor) -> torch.Tensor:
    """Single-Path NAS's ``1(x > 0)`` with its sigmoid relaxation as a straight-through
    estimator: the value is exactly 0 or 1, the gradient ``sigmoid'(x)`` (so a threshold ``t``
    in ``x = ||w|| - t`` learns even while the indicator is 0)."""
    soft = torch.sigmoid(x)
    return (x > 0).to(soft.dtype) + (soft - soft.detach())


def nested(gates: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Weights of ``m`` nested choices (smallest first) from ``m - 1`` gates, ``gates[i]``
    opening choice ``i + 1`` (Single-Path NAS Eq. 2/5, nested for more sizes): choice ``i`` has
    weight ``gates[0] * ... * gates[i - 1] * (1 - gates[i])`` (no last factor for the largest),
    so ``w_small + g * (w_big - w_small)`` generalises to ``sum_i weight_i * w_i``. Needs at
    least one gate."""
    weights = []
    reach: torch.Tensor | None = None  # product of the gates so far
    for i in range(len(gates) + 1):
        stop = 1 - gates[i] if i < len(gates) else None
        term = reach if stop is None else scale(stop, reach)
        weights.append(term if term is not None else torch.ones(()))
        if i < len(gates):
            reach = scale(gates[i], reach)
    return weights
