"""Tests of the hierarchical space's supernet: Single-Path NAS superkernels (kernel and expansion
as slices of one kernel, learned thresholds) and TAS width/depth mixing."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from nasbench.core.errors import NasbenchError
from nasbench.core.supernet import build_supernet, derive, path_weights, softmax_weights
from nasbench.core.types import Architecture, Task
from nasbench.spaces.hierarchical import HierarchicalSpace
from nasbench.spaces.hierarchical_supernet import HierarchicalSupernet, _Plan
from nasbench.spaces.mobile import LayerSpec, MobileLayer, SqueezeExcite
from nasbench.spaces.ops import ConvBNReLU
from nasbench.spaces.superkernel import SuperConvBN, SuperMBConv, SuperSqueezeExcite, inner
from nasbench.testing import supernets

PRESETS = ("tas", "single_path", "mnasnet")
SEQ, IMG = supernets.TASKS
# single_path's and mnasnet's last stages run at 1/8 resolution: on (1, 16) or 8x8 inputs they
# see 2 or 1 positions, where a 5-wide kernel computes what a 3-wide does, so those kernel logits
# rightly get no gradient. A 32-long sequence leaves 4 positions: every kernel decision matters.
LONG = Task((1, 32), 3, "long-seq")
# a small mnasnet-like space with everything threshold mode touches: MBConv 3/6 beside conv,
# kernels 3/5, SE, two widths, a droppable one-layer block (Single-Path's skip-op)
MIXED = {
    "blocks": ((8, 1, 1), (12, 2, 2)),
    "stem": (8, 1),
    "head": 16,
    "conv_ops": ("mbconv3", "mbconv6", "conv"),
    "filter_multipliers": (1.0, 0.5),
    "layer_deltas": (0, -1),
}


def _space(preset: str) -> HierarchicalSpace:
    return HierarchicalSpace(preset=preset, width=0.25)


def _net(space: HierarchicalSpace, task: Task, seed: int = 0) -> HierarchicalSupernet:
    net = build_supernet(space, task, np.random.default_rng(seed))
    assert isinstance(net, HierarchicalSupernet)
    return net


@pytest.mark.parametrize("check", supernets.ALL_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("preset", PRESETS)
def test_conformance(preset: str, check: Callable[..., None]) -> None:
    space = _space(preset)
    if check is supernets.check_softmax_gradients and preset != "tas":
        check(space, task=LONG)
    else:
        check(space)


# ---- a one-hot path is the stand-alone subnet ---------------------------------------------------
def _copy_conv(dst: nn.Module, src: nn.Module) -> None:
    """``dst``'s weights := the leading slice (and inner kernel) of ``src``'s."""
    assert isinstance(dst, nn.Conv1d | nn.Conv2d) and isinstance(src, nn.Conv1d | nn.Conv2d)
    out, cin, *kernel = dst.weight.shape
    dst.weight.copy_(inner(src.weight[:out, :cin], kernel[0], len(kernel)))
    if dst.bias is not None:
        assert src.bias is not None
        dst.bias.copy_(src.bias[:out])


def _copy_bn(dst: nn.Module, src: nn.Module) -> None:
    assert isinstance(dst, nn.modules.batchnorm._BatchNorm)
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(dst, name).copy_(getattr(src, name)[: dst.num_features])


def _copy_step(dst: nn.Module, src: nn.Module) -> None:
    if isinstance(dst, SqueezeExcite):
        assert isinstance(src, SuperSqueezeExcite)
        _copy_conv(dst.gate[1], src.reduce)
        _copy_conv(dst.gate[3], src.expand)
    else:
        assert isinstance(dst, ConvBNReLU) and isinstance(src, SuperConvBN | ConvBNReLU)
        conv, bn = (src.conv, src.bn) if isinstance(src, SuperConvBN) else (src[0], src[1])
        _copy_conv(dst[0], conv)
        _copy_bn(dst[1], bn)


def _path_modules(layer: Any, op: str) -> list[nn.Module]:
    """The supernet modules that make up ``op`` in one layer position, in step order."""
    if op == "conv":
        mods = [layer.others[op].conv, layer.others[op].se]
    elif op in ("mbconv1", "dconv"):
        mods = [layer.others[op].depthwise, layer.others[op].se, layer.others[op].pointwise]
    else:
        m = layer.mbconv
        mods = [m.expand, m.depthwise, m.se, m.project]
    return [m for m in mods if m is not None]


@torch.no_grad()
def _inherit(
    space: HierarchicalSpace, net: HierarchicalSupernet, arch: Architecture, task: Task
) -> nn.Module:
    """``space.build(arch)`` with the weights and batch-norm statistics the one-hot path uses
    copied from ``net``."""
    sub = space.build(arch, task, np.random.default_rng(99))
    _copy_step(sub[0], net.stem)
    layers = iter(m for m in sub if isinstance(m, MobileLayer))
    for b, chosen in enumerate(space._scan(arch.values)[0]):
        for j in range(space.config.blocks[b][1] + int(chosen["layers"])):
            body = list(next(layers).body)
            mods = _path_modules(net.blocks[b].layers[j], chosen["op"])
            if not any(isinstance(m, SqueezeExcite) for m in body):
                mods = [m for m in mods if not isinstance(m, SuperSqueezeExcite)]
            for dst, src in zip(body, mods, strict=True):
                _copy_step(dst, src)
    assert next(layers, None) is None
    if net.head is not None:
        _copy_step(sub[-3], net.head)
    sub[-1].weight.copy_(net.classifier.weight[:, : sub[-1].in_features])
    sub[-1].bias.copy_(net.classifier.bias)
    return sub


@pytest.mark.parametrize("task", [SEQ, IMG], ids=["seq", "img"])
@pytest.mark.parametrize("preset", PRESETS)
def test_one_hot_path_is_the_subnet_bit_for_bit(preset: str, task: Task) -> None:
    """Outputs and batch-norm statistics of a one-hot path equal the stand-alone network's
    with the inherited weights, bit for bit (training mode: batch statistics)."""
    space = _space(preset)
    net = _net(space, task)
    x = torch.randn((4, *task.input_shape), generator=torch.Generator().manual_seed(0))
    for arch in [space.sample(np.random.default_rng(s)) for s in range(6)]:
        sub = _inherit(space, net, arch, task)
        assert torch.equal(net(x, path_weights(space, arch)), sub(x)), arch
        # both updated the same running statistics: inheriting again gives sub's state
        after = _inherit(space, net, arch, task).state_dict()
        for key, value in sub.state_dict().items():
            if not key.endswith("num_batches_tracked"):
                assert torch.equal(value, after[key]), (arch, key)
        net.eval(), sub.eval()  # inference with the running statistics: the same
        assert torch.equal(net(x, path_weights(space, arch)), sub(x)), arch
        net.train()


# ---- the superkernel: kernel and expansion as slices of one kernel -------------------------------
@pytest.mark.parametrize("d", [1, 2])
def test_superkernel_kernel_3_is_the_inner_3x3_conv(d: int) -> None:
    """One-hot kernel 3 of a 5-wide depthwise superkernel on 4 of its 6 channels is the 3x3
    depthwise conv with the inner weights: bit for bit when sliced (weights path), to rounding
    when the 5x5 kernel with a zero shell runs (threshold mode computes every size)."""
    gen = torch.Generator().manual_seed(0)
    layer = SuperConvBN(d, 6, 6, 5, stride=2, depthwise=True)
    with torch.no_grad():
        layer.conv.weight.copy_(torch.randn(layer.conv.weight.shape, generator=gen))
    plain = ConvBNReLU(d, 4, 4, 3, stride=2, groups=4)
    with torch.no_grad():
        plain[0].weight.copy_(inner(layer.conv.weight[:4], 3, d))
    x = torch.randn((3, 4) + (9,) * d, generator=gen)
    one, zero = torch.tensor(1.0), torch.tensor(0.0)
    assert torch.equal(layer(x, 4, [(3, one)]), plain(x))
    dense = layer(x, 4, [(3, one), (5, zero)])
    torch.testing.assert_close(dense, plain(x), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(layer(x, 4, [(5, one)]), plain(x), atol=1e-3)


def _plan(**fields: object) -> _Plan:
    base: dict[str, object] = {
        "depths": [(1, None)],
        "kernels": [(3, None)],
        "ses": [(Fraction(0), None)],
        "widths": [(5, None)],
        "skips": [("none", None)],
    }
    return _Plan(**{**base, **fields})


@pytest.mark.parametrize("d", [1, 2])
def test_expansion_mask_3_is_mbconv3_on_the_first_channels(d: int) -> None:
    """The mbconv6 superkernel with expansion 3 is an mbconv3 whose expand/depthwise/project
    weights are the first 3 * cin expanded channels: exact when sliced, to rounding under the
    dense mask ``1 * mask_3 + 0 * mask_6`` (threshold mode)."""
    cin, cout = 4, 5
    block = build_supernet(
        HierarchicalSpace(
            blocks=((cout, 1, 1),),
            stem=(cin, 1),
            head=0,
            conv_ops=("mbconv3", "mbconv6"),
            kernels=(3,),
            se_ratios=(0.25,),
            filter_multipliers=(1.0,),
            layer_deltas=(0,),
            skip_ops=("none",),
        ),
        Task((cin,) + (6,) * d, 2),
        np.random.default_rng(0),
    )
    assert isinstance(block, HierarchicalSupernet)
    mbconv = block.blocks[0].layers[0].mbconv
    assert isinstance(mbconv, SuperMBConv)
    reference = MobileLayer(LayerSpec("mbconv3", 3, 1, cin, cout, 1, ""), d)
    with torch.no_grad():
        for dst, src in zip(
            reference.body, _path_modules(block.blocks[0].layers[0], "mbconv3"), strict=True
        ):
            _copy_step(dst, src)
    x = torch.randn((3, cin) + (6,) * d, generator=torch.Generator().manual_seed(1))
    ses = [(Fraction(1, 4), None)]
    sliced = mbconv(x, cout, [(3, None)], ses, [(3, None)])
    assert torch.equal(sliced, reference(x))
    one, zero = torch.tensor(1.0), torch.tensor(0.0)
    masked = mbconv(x, cout, [(3, None)], ses, [(3, one), (6, zero)])
    torch.testing.assert_close(masked, reference(x), rtol=1e-5, atol=1e-5)


# ---- TAS: width by channel masks, depth by a weighted sum of block outputs ---------------------
def _tas_block(task: Task = SEQ) -> tuple[HierarchicalSupernet, torch.Tensor]:
    """The tas preset's first block (widths 4/3/2/1, 3 conv layers, id skips) and an input."""
    net = _net(_space("tas"), task)
    x = torch.randn((4, 4, 16), generator=torch.Generator().manual_seed(2))
    return net, x


def test_tas_one_hot_width_is_the_masked_layer() -> None:
    """Width ``c`` run on ``c`` input channels is the full-width layer on the input masked to
    ``c`` channels, cut to ``c`` (the width decision keeps leading channels); a soft width
    vector gives ``sum_j w_j * (full output masked to c_j)``."""
    net, x = _tas_block()
    layer = net.blocks[0].layers[1]  # stride 1, width-preserving: an identity residual
    conv = [("conv", None)]
    one = torch.tensor(1.0)
    full = layer(x, _plan(widths=[(4, one)], skips=[("id", None)], others=conv), None)
    for c in (1, 2, 3):
        masked = x * (torch.arange(4) < c).view(1, -1, 1)
        narrow = layer(x[:, :c], _plan(widths=[(c, one)], skips=[("id", None)], others=conv), None)
        reference = layer(masked, _plan(widths=[(4, one)], skips=[("id", None)], others=conv), None)
        torch.testing.assert_close(narrow, reference[:, :c], rtol=1e-5, atol=1e-6)
    a, b = torch.tensor(0.7), torch.tensor(0.3)
    soft = layer(x, _plan(widths=[(4, a), (2, b)], skips=[("id", None)], others=conv), None)
    expected = full * (a + b * (torch.arange(4) < 2).view(1, -1, 1))
    torch.testing.assert_close(soft, expected, rtol=1e-5, atol=1e-6)


def test_tas_depth_is_the_weighted_sum_of_block_outputs() -> None:
    """Soft depth weights give ``sum_d w_d * h_d`` with ``h_d`` the output after d layers."""
    net, x = _tas_block()
    block, dist = net.blocks[0], [(4, None)]
    common = {"widths": [(4, None)], "skips": [("id", None)], "others": [("conv", None)]}
    one = torch.tensor(1.0)
    outputs = {n: block(x, dist, _plan(depths=[(n, one)], **common))[0] for n in (1, 2, 3)}
    w = {3: torch.tensor(0.5), 2: torch.tensor(0.3), 1: torch.tensor(0.2)}
    soft, width = block(x, dist, _plan(depths=list(w.items()), **common))
    torch.testing.assert_close(soft, sum(w[n] * outputs[n] for n in w), rtol=1e-5, atol=1e-6)
    assert [c for c, _ in width] == [4]


def test_a_used_decision_with_all_zero_weights_is_an_error() -> None:
    space = _space("tas")
    net = _net(space, SEQ)
    arch = space.sample(np.random.default_rng(0))
    weights = path_weights(space, arch)
    weights["block0.filters"] = torch.zeros_like(weights["block0.filters"])
    with pytest.raises(NasbenchError, match=r"block0\.filters"):
        net(torch.zeros(2, 1, 16), weights)


# ---- Single-Path NAS: learned thresholds ---------------------------------------------------------
def _depthwise(net: HierarchicalSupernet, b: int) -> torch.Tensor:
    mbconv = net.blocks[b].layers[0].mbconv
    assert isinstance(mbconv, SuperMBConv)
    return mbconv.depthwise.conv.weight.detach()


def test_thresholds_select_the_small_kernel_below_the_shell_norm() -> None:
    """Kernel 5 iff the 5-wide kernel's outer shell has norm above the threshold; expansion 6
    iff the channels beyond 3 * cin (of the selected kernel) do; the layer iff the first
    3 * cin channels do (Single-Path NAS's skip-op)."""
    net = _net(_space("single_path"), LONG)
    t = net.thresholds[1]  # a one-layer block that may be dropped
    w = _depthwise(net, 1)
    cin = net.blocks[1].layers[0].cin
    shell = torch.linalg.vector_norm(w - torch.nn.functional.pad(w[..., 1:4], (1, 1)))
    with torch.no_grad():
        t.kernel.fill_(shell + 1e-3)
        assert net.threshold_choices()["block1.kernel"] == "3"
        t.kernel.fill_(shell - 1e-3)
        assert net.threshold_choices()["block1.kernel"] == "5"
        extra = torch.linalg.vector_norm(w[3 * cin :])  # kernel 5 selected: the whole kernel
        t.expansion.fill_(extra + 1e-3)
        assert net.threshold_choices()["block1.op"] == "mbconv3"
        t.expansion.fill_(extra - 1e-3)
        assert net.threshold_choices()["block1.op"] == "mbconv6"
        kept = torch.linalg.vector_norm(w[: 3 * cin])
        t.drop.fill_(kept - 1e-3)
        assert net.threshold_choices()["block1.layers"] == "+0"
        t.drop.fill_(kept + 1e-3)
        assert net.threshold_choices()["block1.layers"] == "-1"


def test_threshold_forward_is_the_architecture_the_thresholds_select() -> None:
    """With thresholds closing some kernels, expansions and layers, the threshold forward (every
    size computed, zero-weighted) equals the one-hot forward of the read-off architecture."""
    space = _space("single_path")
    net = _net(space, LONG)
    with torch.no_grad():
        for b, t in enumerate(net.thresholds):
            if b % 2:
                t.kernel.fill_(1e3)  # kernel 3
            if b % 3 == 1:
                t.expansion.fill_(1e3)  # mbconv3
            if t.drop is not None and b % 4 == 2:
                t.drop.fill_(1e3)  # skip-op
    choices = net.threshold_choices()
    arch = derive(
        space,
        {
            d.name: 10.0 * torch.tensor([c == choices[d.name] for c in d.choices])
            for d in space.decisions()
        },
    )
    assert {"-1"} <= set(arch.values) and {"3", "5", "mbconv3", "mbconv6"} <= set(arch.values)
    x = torch.randn((4, *LONG.input_shape), generator=torch.Generator().manual_seed(3))
    weights = path_weights(space, arch)
    torch.testing.assert_close(
        net.forward_thresholds(x, weights), net(x, weights), rtol=1e-4, atol=1e-5
    )


def test_gradients_reach_thresholds_and_weight_vectors() -> None:
    """Threshold mode on a space mixing MBConv 3/6 with a conv op: every threshold and the
    logits of every decision the thresholds do not govern get a gradient; the logits of the
    governed ones (kernel, the droppable block's layers) are unused."""
    space = HierarchicalSpace(**MIXED)
    net = _net(space, LONG)
    rng = np.random.default_rng(4)
    logits = {
        d.name: torch.tensor(
            rng.normal(size=len(d.choices)), dtype=torch.float32, requires_grad=True
        )
        for d in space.decisions()
    }
    x, y = torch.randn((4, *LONG.input_shape)), torch.tensor([0, 1, 2, 0])
    loss = torch.nn.functional.cross_entropy(net.forward_thresholds(x, softmax_weights(logits)), y)
    loss.backward()
    named = {n: p for n, p in net.named_parameters() if n.startswith("thresholds.")}
    assert sorted(named) == [
        "thresholds.0.drop",
        "thresholds.0.expansion",
        "thresholds.0.kernel",
        "thresholds.1.expansion",
        "thresholds.1.kernel",
    ]
    for name, p in named.items():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    governed = {"block0.kernel", "block1.kernel", "block0.layers"}
    for name, v in logits.items():
        if name in governed:
            assert v.grad is None, name
        else:
            assert v.grad is not None and v.grad.abs().sum() > 0, name
    assert {id(p) for p in net.threshold_parameters()} == {id(p) for p in named.values()}
    assert len(net.weight_parameters()) + len(named) == len(list(net.parameters()))
