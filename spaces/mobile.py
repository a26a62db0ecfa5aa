"""MobileNet-family layers for the hierarchical space: MBConv, depthwise-separable and plain conv
bodies with optional squeeze-excite and a skip path.

A :class:`LayerSpec` describes one resolved layer; :func:`layer_steps` turns it into the
``ConvBNReLU``/SE steps that :class:`MobileLayer` builds and the space's ``counts`` tallies, so
the two cannot disagree.

>>> spec = LayerSpec("mbconv3", kernel=3, stride=1, cin=8, cout=8, se=2, shortcut="id")
>>> layer_steps(spec)
[(24, 1, 1, 1, 1), (24, 3, 1, 24, 1), (2,), (8, 1, 1, 1, 0)]
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional

from .ops import ConvBNReLU, conv, pool


class LayerSpec(NamedTuple):
    """One resolved layer; ``se`` is the squeeze width (0: no SE), ``shortcut`` id/pool/''."""

    op: str
    kernel: int
    stride: int
    cin: int
    cout: int
    se: int
    shortcut: str

    @property
    def label(self) -> str:
        return f"{self.op}-k{self.kernel}-se{self.se}-c{self.cout}-s{self.stride}"


def layer_steps(spec: LayerSpec) -> list[tuple[int, ...]]:
    """The layer body as ``(cout, k, stride, groups, relu)`` ConvBNReLU steps and ``(reduced,)``
    SE steps, shared by build and tally. MBConv (Sandler et al. 2018; MnasNet Fig. 7): 1x1 expand
    (omitted at expansion 1) -> depthwise kxk (stride) -> [SE] -> linear 1x1 project. ``dconv``:
    MobileNet's depthwise separable conv (ReLU after the pointwise conv). ``conv``: kxk -> [SE]."""
    if spec.op == "conv":
        steps: list[tuple[int, ...]] = [(spec.cout, spec.kernel, spec.stride, 1, 1)]
    else:
        mid = spec.cin * (int(spec.op[6:]) if spec.op.startswith("mbconv") else 1)
        steps = [(mid, 1, 1, 1, 1)] if mid != spec.cin else []
        steps.append((mid, spec.kernel, spec.stride, mid, 1))
    if spec.se:
        steps.append((spec.se,))
    if spec.op != "conv":
        steps.append((spec.cout, 1, 1, 1, int(spec.op == "dconv")))
    return steps


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018): global pool -> 1x1 conv -> ReLU -> 1x1 conv ->
    sigmoid, scaling the input channels."""

    def __init__(self, d: int, channels: int, reduced: int) -> None:
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool1d(1) if d == 1 else nn.AdaptiveAvgPool2d(1),
            conv(d, channels, reduced, 1, bias=True),
            nn.ReLU(),
            conv(d, reduced, channels, 1, bias=True),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


def align_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """TAS's channel-wise interpolation (Dong & Yang 2019): adaptive average pooling along the
    channel axis, parameter-free, so a shortcut can join a branch of another width."""
    if x.shape[1] == channels:
        return x
    size = (channels, *x.shape[2:])
    interp = functional.adaptive_avg_pool3d if x.dim() == 4 else functional.adaptive_avg_pool2d
    return interp(x.unsqueeze(1), size).squeeze(1)


class MobileLayer(nn.Module):
    """One layer: body plus its skip path. ``id``: identity residual (stride 1, equal widths).
    ``pool``: our reading of MnasNet's pooling SkipOp: a shortcut of 3x3 average pooling with the
    layer's stride, channel-interpolated to the output width, added to the body's output."""

    def __init__(self, spec: LayerSpec, d: int) -> None:
        super().__init__()
        mods: list[nn.Module] = []
        c = spec.cin
        for step in layer_steps(spec):
            if len(step) == 1:
                mods.append(SqueezeExcite(d, c, step[0]))
            else:
                cout, k, stride, groups, relu = step
                mods.append(ConvBNReLU(d, c, cout, k, stride, groups=groups, relu=bool(relu)))
                c = cout
        self.body = nn.Sequential(*mods)
        self.shortcut = spec.shortcut
        self.cout = spec.cout
        self.pool = pool(d, "avg", 3, spec.stride) if spec.shortcut == "pool" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        if self.pool is not None:
            return y + align_channels(self.pool(x), self.cout)
        return y + x if self.shortcut == "id" else y
