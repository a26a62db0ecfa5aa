"""Faster CPU training kernels for the small 1-D networks of the MNIST-1D spaces.

PyTorch's CPU kernels handle three shapes of these networks slowly: a depthwise convolution that
is dilated or has a kernel of 5 or more, a pointwise (kernel 1) convolution, and batch
normalisation of many channels over short sequences (at least 8 channels per position, e.g. 48
channels of length 5: the feature maps at the end of a network), whose kernel walks every
channel in runs of L values. While training (the table builder's hot loop)
:func:`conv` and :func:`batch_norm` compute those as plain tensor arithmetic instead; every other
shape, every 2-D input and evaluation mode (so latency measurements see the standard operators)
go to PyTorch's kernels. The results are the same up to floating-point summation order.

Measured on MNIST-1D shapes (batch 100, one CPU thread, forward and backward;
``python -m benchmarks.bench_table_training --ops``): dilated depthwise 1.4x-5.7x faster,
pointwise 1.2x-1.9x, batch norm of 48-180 channels of length 5 1.5x-4.0x (below 8 channels per
position the channels-last view is no faster, and is not used). A depthwise kernel of 3 without
dilation is faster in PyTorch's kernel and stays there.

:class:`Conv1d` and :class:`BatchNorm1d` are ``nn.Conv1d`` and ``nn.BatchNorm1d`` (weights,
hooks, pruning, state dicts unchanged) that train through these; supernets that slice shared
weights call the functions directly, so a one-hot path computes bit for bit what the stand-alone
network computes.

>>> x = torch.randn(4, 6, 12, generator=torch.Generator().manual_seed(0))
>>> w = torch.randn(6, 1, 5, generator=torch.Generator().manual_seed(1))
>>> fast = conv(x, w, None, stride=1, padding=4, dilation=2, groups=6, training=True)
>>> ref = F.conv1d(x, w, None, 1, 4, 2, 6)
>>> bool((fast - ref).abs().max() < 1e-5)
True
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

CHANNELS_PER_POSITION = 8
"""Feature maps with at least this many channels per position (C >= 8 L) are batch-normalised in
the (N * L, C) layout while training."""


def _wide(x: torch.Tensor) -> bool:
    return x.dim() == 3 and x.shape[1] >= CHANNELS_PER_POSITION * x.shape[2]


def conv(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int,
    padding: int, dilation: int, groups: int, training: bool,
) -> torch.Tensor:  # fmt: skip
    """A 1-D or 2-D convolution with zero padding, as ``F.conv1d``/``F.conv2d`` compute it
    (integer ``stride``, ``padding``, ``dilation``), through the fast paths above when
    ``training`` and the input is 1-D."""
    if training and x.dim() == 3:
        cout, per_group, k = weight.shape
        if k == 1 and groups == 1 and padding == 0:
            out = torch.matmul(weight[:, :, 0], x[:, :, ::stride])
            return out if bias is None else out + bias[:, None]
        if per_group == 1 and groups == x.shape[1] == cout and (dilation > 1 or k >= 5):
            return _depthwise_taps(x, weight, bias, stride, padding, dilation)
    fn = F.conv1d if x.dim() == 3 else F.conv2d
    return fn(x, weight, bias, stride, padding, dilation, groups)


def _depthwise_taps(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, pad: int,
    dilation: int,
) -> torch.Tensor:  # fmt: skip
    """Depthwise 1-D convolution of ``x`` (N, C, L) with ``weight`` (C, 1, k): the sum over the
    taps of shifted, strided slices of the zero-padded input times the tap's weights."""
    k = weight.shape[2]
    n_out = (x.shape[2] + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    padded = F.pad(x, (pad, pad))
    taps = weight[:, 0, :, None]  # (C, k, 1): tap j broadcast over positions
    span = (n_out - 1) * stride + 1
    out = padded[:, :, :span:stride] * taps[:, 0]
    for j in range(1, k):
        start = j * dilation
        out = out + padded[:, :, start : start + span : stride] * taps[:, j]
    return out if bias is None else out + bias[:, None]


def batch_norm(
    x: torch.Tensor, running_mean: torch.Tensor | None, running_var: torch.Tensor | None,
    weight: torch.Tensor | None, bias: torch.Tensor | None, training: bool, momentum: float,
    eps: float,
) -> torch.Tensor:  # fmt: skip
    """``F.batch_norm`` with the same arguments; a 1-D input with many channels per position
    (:data:`CHANNELS_PER_POSITION`) in training mode is normalised as its ``(N * L, C)`` view."""
    if training and _wide(x):
        n, c, length = x.shape
        flat = x.transpose(1, 2).reshape(n * length, c)
        out = F.batch_norm(flat, running_mean, running_var, weight, bias, True, momentum, eps)
        return out.view(n, length, c).transpose(1, 2)
    return F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)


class Conv1d(nn.Conv1d):
    """``nn.Conv1d`` (zero padding) that trains through :func:`conv`."""

    def _conv_forward(
        self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        if self.padding_mode != "zeros" or isinstance(self.padding, str):
            return super()._conv_forward(input, weight, bias)
        (stride,), (pad,), (dilation,) = self.stride, self.padding, self.dilation
        return conv(input, weight, bias, stride, pad, dilation, self.groups, self.training)


class BatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` that trains through :func:`batch_norm` (the same statistics, running
    averages and parameters)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if self.training and _wide(input):
            n, c, length = input.shape
            flat = input.transpose(1, 2).reshape(n * length, c)
            return super().forward(flat).view(n, length, c).transpose(1, 2)
        return super().forward(input)
