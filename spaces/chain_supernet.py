"""The chain space's supernet: MetaQNN layers of any width, stride and depth in one network.

Position ``p`` holds one candidate module per choice of decision ``layer{p}`` (conv, separable
conv, pooling, ``terminate``). The candidates of one position differ in width, stride and kind,
and ``terminate`` ends the chain, so three things need care beyond a plain mixed op:

* **Width: sliced input channels.** Every candidate of position ``p >= 1`` is built for the
  widest possible input, ``max(filters)`` channels (position 0 for the task's channels); a
  candidate reading ``c`` channels uses the first ``c`` input channels of its weights (and of its
  depthwise batch norm). This is the zero-padding design (narrower features padded with zeros to
  ``max(filters)``) without the zeros: a padded channel contributes nothing to a convolution,
  and slicing also keeps padded channels from passing a depthwise batch norm, whose bias would
  make them nonzero. So a one-hot path runs exactly the stand-alone network (same shapes, same
  math) and reads exactly ``space.counts(arch, task).params`` parameter elements; the tensors
  it touches are larger (hence ``exact_path_params = False``).
* **Mixing.** Under soft weights the continuing candidates' outputs are zero-padded to the
  widest of them and, where their stride gives another size than the largest-weight
  candidate's, resized to that size by adaptive average pooling; neither happens under one-hot
  weights. The mixture is normalised by the continuing mass ``q_p`` (all weights but
  ``terminate``'s): ``h_{p+1} = sum_c (w_p[c] / q_p) op_c(h_p)``.
* **Depth.** ``terminate`` at position ``p`` routes ``h_p`` to the head. The output is the
  expected head under the relaxed stopping distribution,
  ``sum_p R_p t_p head(h_p) + R_L head(h_L)`` with ``t_p = w_p[terminate]`` and
  ``R_p = q_0 ... q_{p-1}`` (for softmax weights the coefficients sum to one). One head of
  ``max(filters)`` inputs is shared by every depth, sliced to the features' width. A position
  whose continuing weights are all zero ends the forward: later positions (all-zero vectors
  under :func:`~nasbench.core.supernet.path_weights`, ignored Gumbel samples under GDAS) are not
  computed. Under one-hot weights every coefficient is exactly 1, so the output is
  bit-for-bit the stand-alone network's.

Validity (no pooling after pooling, no ``terminate`` at layer 0, kernel size bins) stays the
space's: soft weights may mix any universe choices, and
:func:`~nasbench.core.supernet.derive` walks ``next_decision``. Batch norm is affine with running
statistics; a sliced batch norm updates the first ``c`` entries of its running statistics.

>>> import numpy as np
>>> from nasbench.core.supernet import build_supernet, path_weights
>>> from nasbench.core.types import Task
>>> from .chain import ChainSpace
>>> space = ChainSpace(max_layers=3, filters=(4, 8))
>>> net = build_supernet(space, Task((1, 16), 3), np.random.default_rng(0))
>>> arch = space.parse("sep3-4-s2|maxpool3-s2")  # then terminate at layer2
>>> tuple(net(torch.zeros(2, 1, 16), path_weights(space, arch)).shape)
(2, 3)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from nasbench.core.supernet import Supernet, Weights, active, register_supernet
from nasbench.core.types import Decision, Task

from . import kernels
from .chain import TERMINATE, ChainSpace, Layer, LayerKind, pool_fits
from .ops import ConvBNReLU, DepthwiseSeparable, global_pool, pool

_BN = nn.modules.batchnorm._BatchNorm


class ChainSupernet(Supernet):
    """``positions[p][k]`` is the module of choice ``k`` of ``decisions[p]`` (an ``Identity``
    placeholder for ``terminate``); ``head`` is global pooling and the shared classifier."""

    exact_path_params = False

    def __init__(
        self, decisions: Sequence[Decision], task: Task, layers: Mapping[str, Layer]
    ) -> None:
        super().__init__(decisions)
        d = task.spatial_dims
        self.width = max(layer.filters for layer in layers.values())
        self.layers = {c: layers[c] for dec in decisions for c in dec.choices if c != TERMINATE}
        self.positions = nn.ModuleList(
            nn.ModuleList(
                _candidate(self.layers.get(c), d, task.channels if p == 0 else self.width)
                for c in dec.choices
            )
            for p, dec in enumerate(decisions)
        )
        self.pool = global_pool(d)
        self.classifier = nn.Linear(self.width, task.num_classes)

    def forward(self, x: torch.Tensor, weights: Weights) -> torch.Tensor:
        self.check_weights(weights)
        h, reach, out = x, None, None
        for p, dec in enumerate(self.decisions):
            w = weights[dec.name]
            nonzero = active(w)
            stop = dec.choices.index(TERMINATE) if TERMINATE in dec.choices else None
            if stop in nonzero:
                term = self._head(h) * (w[stop] if reach is None else reach * w[stop])
                out = term if out is None else out + term
            going = [k for k in nonzero if k != stop]
            if not going:
                return _require(out)
            q = w.sum() if stop is None else w.sum() - w[stop]
            reach = q if reach is None else reach * q
            h = self._mix(p, h, w, going, q)
        assert reach is not None
        full = self._head(h) * reach
        return full if out is None else out + full

    def _mix(
        self, p: int, h: torch.Tensor, w: torch.Tensor, going: list[int], q: torch.Tensor
    ) -> torch.Tensor:
        """``sum_k (w[k] / q) op_k(h)`` over the continuing candidates ``going``."""
        choices = self.decisions[p].choices
        candidates = cast(nn.ModuleList, self.positions[p])
        outs = [self._run(self.layers[choices[k]], candidates[k], h) for k in going]
        if len(outs) == 1:
            return outs[0] * (w[going[0]] / q)
        values = w.detach().tolist()
        reference = max(range(len(going)), key=lambda i: values[going[i]])  # first of ties
        size = outs[reference].shape[2:]
        width = max(o.shape[1] for o in outs)
        total: torch.Tensor | None = None
        for k, o in zip(going, outs, strict=True):
            if o.shape[2:] != size:
                o = _adaptive_avg(o, size)
            if o.shape[1] < width:
                o = F.pad(o, (0, 0) * (o.dim() - 2) + (0, width - o.shape[1]))
            total = o * (w[k] / q) if total is None else total + o * (w[k] / q)
        assert total is not None
        return total

    def _run(self, layer: Layer, module: nn.Module, h: torch.Tensor) -> torch.Tensor:
        if layer.is_pool:  # an even window on a size-1 dimension is skipped (chain.pool_fits)
            return module(h) if pool_fits(layer, tuple(h.shape[1:])) else h
        return _sliced(module, h)

    def _head(self, h: torch.Tensor) -> torch.Tensor:
        c = h.shape[1]
        weight = self.classifier.weight
        if c < self.width:
            weight = weight[:, :c].contiguous()
        return F.linear(self.pool(h), weight, self.classifier.bias)


@register_supernet("chain")
def chain_supernet(space: ChainSpace, task: Task) -> ChainSupernet:
    """The chain space's supernet (width-sliced layers, relaxed depth); construction only."""
    return ChainSupernet(space.decisions(), task, space.layer_table)


def _candidate(layer: Layer | None, d: int, cin: int) -> nn.Module:
    if layer is None:  # terminate
        return nn.Identity()
    if layer.kind is LayerKind.CONV:
        return ConvBNReLU(d, cin, layer.filters, layer.kernel, stride=layer.stride)
    if layer.kind is LayerKind.SEP:
        return DepthwiseSeparable(d, cin, layer.filters, layer.kernel, stride=layer.stride)
    kind = "max" if layer.kind is LayerKind.MAXPOOL else "avg"
    return pool(d, kind, layer.kernel, stride=layer.stride)


def _sliced(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Run a ConvBNReLU / DepthwiseSeparable built for more input channels on ``x``, using the
    first ``x.shape[1]`` input channels of every layer that reads them."""
    if isinstance(module, nn.Sequential):
        for child in module:
            x = _sliced(child, x)
        return x
    c = x.shape[1]
    if isinstance(module, nn.Conv1d | nn.Conv2d) and module.in_channels != c:
        depthwise = module.groups > 1  # groups == in_channels: one filter per channel
        weight = (module.weight[:c] if depthwise else module.weight[:, :c]).contiguous()
        groups = c if depthwise else 1
        stride, pad, dilation = module.stride[0], module.padding[0], module.dilation[0]
        assert isinstance(pad, int)  # same padding, the same along every dimension
        return kernels.conv(x, weight, None, stride, pad, dilation, groups, module.training)
    if isinstance(module, _BN) and module.num_features != c:
        return _sliced_bn(module, x)
    return module(x)


def _sliced_bn(bn: nn.modules.batchnorm._BatchNorm, x: torch.Tensor) -> torch.Tensor:
    """``bn`` on its first ``x.shape[1]`` channels (nn.BatchNorm's training/eval logic)."""
    c = x.shape[1]
    momentum = 0.0 if bn.momentum is None else bn.momentum
    if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
        if bn.momentum is None:
            momentum = 1.0 / float(bn.num_batches_tracked)
    mean = None if bn.running_mean is None else bn.running_mean[:c]
    var = None if bn.running_var is None else bn.running_var[:c]
    return kernels.batch_norm(
        x,
        mean,
        var,
        None if bn.weight is None else bn.weight[:c],
        None if bn.bias is None else bn.bias[:c],
        bn.training or mean is None,
        momentum,
        bn.eps,
    )


def _adaptive_avg(x: torch.Tensor, size: torch.Size) -> torch.Tensor:
    if x.dim() == 3:
        return F.adaptive_avg_pool1d(x, size[0])
    return F.adaptive_avg_pool2d(x, (size[0], size[1]))


def _require(out: torch.Tensor | None) -> torch.Tensor:
    if out is None:
        raise ValueError("chain supernet: the weights neither continue nor terminate the chain")
    return out
