"""Dimension-generic building blocks shared by the spaces, and analytic counting.

Every space builds networks for 1-D inputs ``(N, C, L)`` and 2-D inputs ``(N, C, H, W)``; ``d``
(1 or 2) picks the torch class. Convolutions and pooling use "same" padding
(``dilation * (k - 1) // 2``), so with odd kernels only strides change the spatial size (an even
window ``k`` shortens a dimension by one at stride 1; spaces that allow even pooling windows must
keep them within the input, as the chain space's size bins do).

:class:`Tally` mirrors the module factories to count parameters and MACs without building
anything: a space's ``counts`` walks its network calling the tally in the same order as ``build``
creates modules, and the conformance suite checks both agree with the built module.

>>> t = Tally()
>>> t.bn(t.conv((3, 32, 32), 16, k=3))
(16, 32, 32)
>>> (t.params, t.macs)
(464, 442368)
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from .kernels import BatchNorm1d, Conv1d

Shape = tuple[int, ...]
"""(channels, *spatial) of one sample."""


_CONV: dict[int, type[nn.Module]] = {1: Conv1d, 2: nn.Conv2d}
_BN: dict[int, type[nn.Module]] = {1: BatchNorm1d, 2: nn.BatchNorm2d}
_MAXPOOL: dict[int, type[nn.Module]] = {1: nn.MaxPool1d, 2: nn.MaxPool2d}
_AVGPOOL: dict[int, type[nn.Module]] = {1: nn.AvgPool1d, 2: nn.AvgPool2d}


def same_padding(k: int, dilation: int = 1) -> int:
    return dilation * (k - 1) // 2


def out_size(n: int, k: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Output length of a convolution or pooling window along one dimension."""
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def conv(
    d: int,
    cin: int,
    cout: int,
    k: int,
    stride: int = 1,
    dilation: int = 1,
    groups: int = 1,
    bias: bool = False,
) -> nn.Module:
    """``nn.Conv1d``/``nn.Conv2d`` with same padding."""
    return _CONV[d](
        cin,
        cout,
        k,
        stride=stride,
        padding=same_padding(k, dilation),
        dilation=dilation,
        groups=groups,
        bias=bias,
    )


def batchnorm(d: int, c: int, affine: bool = True) -> nn.Module:
    return _BN[d](c, affine=affine)


def pool(d: int, kind: str, k: int, stride: int = 1) -> nn.Module:
    """Max or average pooling with same padding; average pooling excludes the padding."""
    pad = same_padding(k)
    if kind == "max":
        return _MAXPOOL[d](k, stride=stride, padding=pad)
    if kind == "avg":
        return _AVGPOOL[d](k, stride=stride, padding=pad, count_include_pad=False)
    raise ValueError(f"pool kind must be 'max' or 'avg', got {kind!r}")


def global_pool(d: int) -> nn.Module:
    """Global average pooling to ``(N, C)``."""
    return nn.Sequential(
        nn.AdaptiveAvgPool1d(1) if d == 1 else nn.AdaptiveAvgPool2d(1), nn.Flatten()
    )


class Tally:
    """Running parameter and MAC count; methods return the output shape."""

    def __init__(self) -> None:
        self.params = 0
        self.macs = 0

    def conv(
        self,
        shape: Shape,
        cout: int,
        k: int,
        stride: int = 1,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = False,
    ) -> Shape:
        cin = shape[0]
        pad = same_padding(k, dilation)
        spatial = tuple(out_size(n, k, stride, pad, dilation) for n in shape[1:])
        kernel = k ** (len(shape) - 1)
        weights = cout * (cin // groups) * kernel
        self.params += weights + (cout if bias else 0)
        self.macs += weights * math.prod(spatial)
        return (cout, *spatial)

    def bn(self, shape: Shape, affine: bool = True) -> Shape:
        if affine:
            self.params += 2 * shape[0]
        return shape

    def pool(self, shape: Shape, k: int, stride: int = 1) -> Shape:
        pad = same_padding(k)
        return (shape[0], *(out_size(n, k, stride, pad) for n in shape[1:]))

    def linear(self, fin: int, fout: int, bias: bool = True) -> int:
        self.params += fin * fout + (fout if bias else 0)
        self.macs += fin * fout
        return fout


class ReLUConvBN(nn.Sequential):
    """ReLU → conv → batch norm: the operation order of NAS-Bench-201 and DARTS cells."""

    def __init__(
        self,
        d: int,
        cin: int,
        cout: int,
        k: int,
        stride: int = 1,
        dilation: int = 1,
        affine: bool = True,
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            conv(d, cin, cout, k, stride=stride, dilation=dilation),
            batchnorm(d, cout, affine=affine),
        )

    @staticmethod
    def tally(
        t: Tally,
        shape: Shape,
        cout: int,
        k: int,
        stride: int = 1,
        dilation: int = 1,
        affine: bool = True,
    ) -> Shape:
        return t.bn(t.conv(shape, cout, k, stride=stride, dilation=dilation), affine=affine)


class Zero(nn.Module):
    """The 'none' operation: zeros of the output shape (strided like the operation it replaces)."""

    def __init__(self, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        index = (slice(None), slice(None)) + (slice(None, None, self.stride),) * (x.dim() - 2)
        return x[index].mul(0.0)


class ConvBNReLU(nn.Sequential):
    """conv → batch norm → ReLU (MetaQNN/ENAS-macro/MobileNet layer order)."""

    def __init__(
        self,
        d: int,
        cin: int,
        cout: int,
        k: int,
        stride: int = 1,
        groups: int = 1,
        relu: bool = True,
    ) -> None:
        layers: list[nn.Module] = [
            conv(d, cin, cout, k, stride=stride, groups=groups),
            batchnorm(d, cout),
        ]
        if relu:
            layers.append(nn.ReLU(inplace=False))
        super().__init__(*layers)

    @staticmethod
    def tally(t: Tally, shape: Shape, cout: int, k: int, stride: int = 1, groups: int = 1) -> Shape:
        return t.bn(t.conv(shape, cout, k, stride=stride, groups=groups))


class DepthwiseSeparable(nn.Sequential):
    """Depthwise k×k conv → BN → ReLU → pointwise 1×1 conv → BN → ReLU (MobileNet, Howard et al.
    2017); the stride sits on the depthwise conv."""

    def __init__(self, d: int, cin: int, cout: int, k: int, stride: int = 1) -> None:
        super().__init__(
            ConvBNReLU(d, cin, cin, k, stride=stride, groups=cin),
            ConvBNReLU(d, cin, cout, 1),
        )

    @staticmethod
    def tally(t: Tally, shape: Shape, cout: int, k: int, stride: int = 1) -> Shape:
        shape = ConvBNReLU.tally(t, shape, shape[0], k, stride=stride, groups=shape[0])
        return ConvBNReLU.tally(t, shape, cout, 1)


class FactorizedReduce(nn.Module):
    """Stride-2 reduction that sees every position, 1-D or 2-D (Zoph et al. 2018; ENAS; DARTS):
    [ReLU,] two 1x1 stride-2 convs (``cout // 2`` and the remaining channels; ``cout >= 2``), the
    second reading the input shifted by one position in every spatial dimension, concatenated,
    BN. DARTS and ENAS crop the shifted input, so odd sizes give mismatched branches; here it is
    zero-padded at the end back to length ``n``, so both branches give ``ceil(n / 2)`` (the same
    positions as the originals for even sizes). DARTS applies the ReLU, ENAS's macro network not.
    """

    def __init__(self, d: int, cin: int, cout: int, relu: bool = True) -> None:
        super().__init__()
        self.d = d
        self.relu = nn.ReLU(inplace=False) if relu else nn.Identity()
        self.conv_a = conv(d, cin, cout // 2, 1, stride=2)
        self.conv_b = conv(d, cin, cout - cout // 2, 1, stride=2)
        self.bn = batchnorm(d, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (-1, 1) * self.d)  # crop the first position, pad one zero at the end
        return self.bn(torch.cat([self.conv_a(x), self.conv_b(shifted)], dim=1))

    @staticmethod
    def tally(t: Tally, shape: Shape, cout: int) -> Shape:
        out = t.conv(shape, cout // 2, 1, stride=2)
        t.conv(shape, cout - cout // 2, 1, stride=2)
        return t.bn((cout, *out[1:]))
