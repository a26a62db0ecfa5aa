"""Tests of the MnasNet factorised hierarchical space and its Single-Path NAS / TAS presets."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pytest
import torch

import nasbench.spaces.hierarchical  # noqa: F401  (registers "hierarchical")
from nasbench.core.errors import NasbenchError
from nasbench.core.modelstats import count_macs, count_params
from nasbench.core.registry import spaces
from nasbench.core.types import Architecture, Choice, Task
from nasbench.spaces.hierarchical import HierarchicalSpace
from nasbench.spaces.mobile import MobileLayer, align_channels
from nasbench.testing.spaces import check_space, enumerate_space

SEQ = Task((1, 8), 3, "tiny-seq")

# A tiny space with every kind of dependence: a droppable first block (same width as the stem,
# stride 1), a two-layer block, a strided block that keeps >= 1 layer, filter choices that change
# the widths, and id/pool/none skips.
TINY: dict[str, Any] = {
    "blocks": ((8, 1, 1), (8, 2, 1), (12, 1, 2)),
    "stem": (8, 1),
    "head": 0,
    "conv_ops": ("mbconv1", "conv"),
    "kernels": (3,),
    "se_ratios": (0.0, 0.25),
    "skip_ops": ("id", "pool", "none"),
    "filter_multipliers": (1.0, 0.5),
    "layer_deltas": (0, -1),
}


def _all_archs(space: HierarchicalSpace) -> list[Architecture]:
    archs: list[Architecture] = []
    stack: list[tuple[Choice, ...]] = [()]
    while stack:
        prefix = stack.pop()
        decision = space.next_decision(prefix)
        if decision is None:
            archs.append(space.make(prefix))
        else:
            stack.extend((*prefix, c) for c in decision.choices)
    return archs


def _tree_order(space: HierarchicalSpace, arch: Architecture) -> list[int]:
    """Choice indices of ``arch``'s values: sorting by them is decision-tree order."""
    order = []
    for i, value in enumerate(arch.values):
        decision = space.next_decision(arch.values[:i])
        assert decision is not None
        order.append(decision.choices.index(value))
    return order


def _layers(net: torch.nn.Sequential) -> list[Any]:
    return [m for m in net if isinstance(m, MobileLayer)]


def test_tiny_space_conformance() -> None:
    check_space(HierarchicalSpace(**TINY))


def test_hand_counted_mbconv_block() -> None:
    # stem 1->4 k3; block: 2 x MBConv3 k3 with SE 0.5, 4->8 stride 2 then 8->8; linear 8->3.
    space = HierarchicalSpace(
        blocks=((8, 2, 2),), stem=(4, 1), head=0, conv_ops=("mbconv3",), kernels=(3,),
        se_ratios=(0.5,), skip_ops=("id",), filter_multipliers=(1.0,), layer_deltas=(0,),
    )  # fmt: skip
    assert space.decisions() == () and space.cardinality() == 1
    arch = space.make(())
    assert arch.text == "mbconv3-k3-se0.5-id-f1.0-l+0"
    # stem: 12 w + 8 bn, 12*8 MACs.
    # layer 1 (len 8 -> 4, mid 12, SE 4//2=2): expand 48+24, dw 36+24, SE 24+2 and 24+12,
    #   project 96+16; MACs 48*8 + 36*4 + 24 + 24 + 96*4.
    # layer 2 (mid 24, SE 8//2=4): expand 192+48, dw 72+48, SE 96+4 and 96+24, project 192+16;
    #   MACs (192 + 72 + 192)*4 + 96 + 96.  Linear: 24 + 3, 24 MACs.
    params = 20 + (72 + 60 + 26 + 36 + 112) + (240 + 120 + 100 + 120 + 208) + 27
    macs = 96 + (384 + 144 + 24 + 24 + 384) + (768 + 288 + 96 + 96 + 768) + 24
    assert (params, macs) == (1141, 3096)
    counts = space.counts(arch, SEQ)
    assert (counts.params, counts.macs) == (params, macs)
    net = space.build(arch, SEQ, np.random.default_rng(0))
    assert count_params(net) == params and count_macs(net, SEQ.input_shape) == macs
    # Residual rule: the strided first layer has none, the second an identity.
    assert [layer.shortcut for layer in _layers(net)] == ["", "id"]


def test_ops_and_se_structure() -> None:
    space = HierarchicalSpace(**TINY)
    task = Task((2, 8, 8), 4)
    # block0 dropped; block1: mbconv1 with SE at half width (4 channels) + pool; block2 conv.
    text = "l-1|mbconv1-k3-se0.25-pool-f0.5-l+0|conv-k3-se0.0-none-f1.0-l+0"
    net = space.build(space.parse(text), task, np.random.default_rng(0))
    layers = _layers(net)
    assert len(layers) == 3
    first = layers[0].body  # mbconv1: no expand conv; depthwise, SE, linear project
    assert [type(m).__name__ for m in first] == ["ConvBNReLU", "SqueezeExcite", "ConvBNReLU"]
    assert first[0][0].groups == 8 and len(first[-1]) == 2  # project has no ReLU
    se = first[1].gate
    assert (se[1].in_channels, se[1].out_channels, se[1].bias is not None) == (8, 2, True)
    assert layers[0].pool is not None and layers[1].pool is not None
    assert layers[2].shortcut == "" and len(layers[2].body) == 1  # regular conv, no SE
    assert net(torch.zeros((2, 2, 8, 8))).shape == (2, 4)
    counts = space.counts(space.parse(text), task)
    assert counts.params == count_params(net)
    assert counts.macs == count_macs(net, task.input_shape)


def test_dconv_keeps_relu_after_pointwise() -> None:
    space = HierarchicalSpace(**{**TINY, "conv_ops": ("dconv",)})
    arch = space.parse(
        "dconv-k3-se0.0-id-f1.0-l+0|dconv-k3-se0.0-id-f1.0-l-1|dconv-k3-se0.0-none-f1.0-l+0"
    )
    body = _layers(space.build(arch, SEQ, np.random.default_rng(0)))[0].body
    assert len(body) == 2 and body[0][0].groups == 8 and len(body[1]) == 3


def test_identity_withheld_only_where_it_adds_nothing() -> None:
    space = HierarchicalSpace(**TINY)
    # block2 (stride 2, one layer): id can never add a residual, so only pool/none.
    prefix = ["-1", "+0", "conv", "0.0", "1.0", "id", "conv", "0.0", "1.0"]
    decision = space.next_decision(prefix)
    assert decision is not None and decision.name == "block2.skip"
    assert decision.choices == ("pool", "none")
    # block1 with one layer keeps id only when its width equals the input width (8).
    same = space.next_decision(["-1", "-1", "conv", "0.0", "1.0"])
    other = space.next_decision(["-1", "-1", "conv", "0.0", "0.5"])
    assert same is not None and same.choices == ("id", "pool", "none")
    assert other is not None and other.choices == ("pool", "none")
    # Without "none" on offer, "id" stays: it is then the only way to have no skip path.
    no_none = HierarchicalSpace(**{**TINY, "skip_ops": ("id", "pool")})
    kept = no_none.next_decision(["-1", "-1", "conv", "0.0", "0.5"])
    assert kept is not None and kept.choices == ("id", "pool")


def test_pool_shortcut_interpolates_channels() -> None:
    # TAS's channel-wise interpolation: adaptive average pooling along the channels.
    x = torch.arange(4.0).reshape(1, 4, 1)
    assert align_channels(x, 2).flatten().tolist() == [0.5, 2.5]
    assert align_channels(x, 8).flatten().tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert align_channels(x.reshape(1, 4, 1, 1), 2).shape == (1, 2, 1, 1)


def test_cardinality_matches_enumeration() -> None:
    space = HierarchicalSpace(**TINY)
    archs = _all_archs(space)
    # 13 ways to leave block0 at width 8, 8 at width 4; block1 and block2 by hand likewise.
    assert space.cardinality() == enumerate_space(space, 10**6) == len(archs) == 14784
    assert len({a.text for a in archs}) == len(archs)


def test_canonicalize_merges_layers_traded_between_blocks() -> None:
    # Blocks 0 and 1 share width 8 and stride 1, so "block0 dropped, block1 with 2 layers" and
    # "block0 with 1 layer, block1 with 1 layer" build the same net when their fields agree;
    # those are the only isomorphisms here, and canonicalize picks one member per class.
    space = HierarchicalSpace(**TINY)
    groups: dict[str, list[Architecture]] = defaultdict(list)
    for arch in _all_archs(space):
        groups[arch.key].append(arch)
    assert len(groups) == 14400
    merged = [g for g in groups.values() if len(g) > 1]
    assert len(merged) == 384 and all(len(g) == 2 for g in merged)
    for a, b in merged:
        assert {a.values[0], b.values[0]} == {"-1", "+0"}
        assert (
            space.canonicalize(a)
            == space.canonicalize(b)
            == min(a, b, key=lambda x: _tree_order(space, x))
        )
    c, d = (
        space.parse("l-1|conv-k3-se0.25-none-f0.5-l+0|conv-k3-se0.25-pool-f0.5-l+0"),
        space.parse(
            "conv-k3-se0.25-none-f0.5-l+0|conv-k3-se0.25-none-f0.5-l-1|conv-k3-se0.25-pool-f0.5-l+0"
        ),
    )
    assert c.key == d.key and space.canonicalize(c) == d


def test_canonicalize_merges_se_ratios_of_equal_width() -> None:
    # With 8 input channels, SE ratios 0.25 and 0.3 both squeeze to 2 channels.
    space = HierarchicalSpace(**{**TINY, "se_ratios": (0.25, 0.3), "layer_deltas": (0,)})
    a = space.parse(
        "conv-k3-se0.3-id-f1.0-l+0|conv-k3-se0.25-id-f1.0-l+0|conv-k3-se0.25-none-f1.0-l+0"
    )
    b = space.parse(
        "conv-k3-se0.25-id-f1.0-l+0|conv-k3-se0.25-id-f1.0-l+0|conv-k3-se0.25-none-f1.0-l+0"
    )
    assert a != b and a.key == b.key
    assert space.canonicalize(a) == b == space.canonicalize(b)


def test_filter_multipliers_that_round_alike_are_offered_once() -> None:
    # 8 x {0.25, 0.3} rounds to 2 both times: only the first multiplier is offered.
    space = HierarchicalSpace(**{**TINY, "filter_multipliers": (1.0, 0.25, 0.3)})
    assert {d.name: d.choices for d in space.decisions()}["block0.filters"] == ("1.0", "0.25")


def test_mnasnet_preset_decisions() -> None:
    space = HierarchicalSpace()
    universe = {d.name: d.choices for d in space.decisions()}
    assert len(universe) == 7 * 6
    assert set(universe["block3.op"]) == {"conv", "dconv", "mbconv1", "mbconv3", "mbconv6"}
    assert universe["block3.kernel"] == ("3", "5") and universe["block3.se"] == ("0.0", "0.25")
    assert universe["block3.skip"] == ("id", "none", "pool")
    assert universe["block3.filters"] == ("1.0", "0.75", "1.25")
    assert universe["block3.layers"] == ("+0", "-1", "+1")
    assert universe["block0.layers"] == ("+0", "-1", "+1")  # 16 -> 16, stride 1: droppable
    assert universe["block6.layers"] == ("+0", "+1")  # 80 -> 96 keeps its one layer
    assert space.cardinality() == 3191807877120000000


def test_single_path_preset_matches_the_paper() -> None:
    # Single-Path NAS: each searchable layer picks kernel {3, 5} x expansion {3, 6} or the
    # skip-op; the first layer of each stage (stride/width change) cannot be skipped.
    space = HierarchicalSpace(preset="single_path")
    universe = {d.name: d.choices for d in space.decisions()}
    assert {name.split(".")[1] for name in universe} == {"op", "kernel", "layers"}
    assert all(universe[f"block{b}.op"] == ("mbconv3", "mbconv6") for b in range(12))
    assert all(universe[f"block{b}.kernel"] == ("3", "5") for b in range(12))
    skippable = sorted(int(n[5:].split(".")[0]) for n in universe if n.endswith("layers"))
    assert skippable == [1, 2, 4, 5, 7, 8, 10, 11]
    assert all(universe[f"block{b}.layers"] == ("+0", "-1") for b in skippable)
    assert space.cardinality() == 4**4 * 5**8
    kept = "mbconv6-k5-se0.0-id-f1.0-l+0"
    tokens = [kept] * 12
    tokens[2] = tokens[5] = "l-1"  # skip-ops
    arch = space.parse("|".join(tokens))
    assert len(arch.values) == 4 * 2 + 8 * 3 - 2 * 2
    net = space.build(arch, Task((3, 16, 16), 10), np.random.default_rng(0))
    assert [layer.shortcut for layer in _layers(net)] == ["", "id", "", "id"] + ["", "id", "id"] * 2
    tokens[3] = "l-1"  # the first layer of a stage changes stride and width: not skippable
    with pytest.raises(NasbenchError, match="block3"):
        space.parse("|".join(tokens))


def test_tas_preset_searches_width_and_depth_only() -> None:
    space = HierarchicalSpace(preset="tas")
    universe = {d.name: d.choices for d in space.decisions()}
    assert universe == {
        **{f"block{b}.layers": ("+0", "-1", "-2") for b in range(3)},
        **{f"block{b}.filters": ("1.0", "0.75", "0.5", "0.25") for b in range(3)},
    }
    assert space.cardinality() == 12**3 == enumerate_space(space, 10**4)
    arch = space.parse(
        "conv-k3-se0.0-id-f0.5-l-2|conv-k3-se0.0-id-f1.0-l+0|conv-k3-se0.0-id-f0.25-l-1"
    )
    net = space.build(arch, Task((3, 16, 16), 10), np.random.default_rng(0))
    widths = [(layer.body[0][0].out_channels, layer.shortcut) for layer in _layers(net)]
    assert widths == [(8, ""), (32, ""), (32, "id"), (32, "id"), (16, ""), (16, "id")]


def test_graph_has_residual_and_pool_edges() -> None:
    space = HierarchicalSpace(**TINY)
    g = space.graph(space.parse("l-1|conv-k3-se0.0-id-f1.0-l+0|conv-k3-se0.0-pool-f1.0-l+0"))
    assert g.node_labels == (
        "input", "stem-conv-k3-c8-s1",
        "conv-k3-se0-c8-s1", "node", "conv-k3-se0-c8-s1", "node",
        "conv-k3-se0-c12-s2", "avgpool3-s2-c12", "node", "output",
    )  # fmt: skip
    edges = {(int(i), int(j)) for i, j in zip(*np.nonzero(g.adjacency), strict=True)}
    assert edges == {
        (0, 1), (1, 2), (2, 3), (1, 3), (3, 4), (4, 5), (3, 5),
        (5, 6), (5, 7), (6, 8), (7, 8), (8, 9),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("l-1|l-1", "expected 3"),
        ("l-1|conv-k3|l+0", "is not"),
        ("l-1|conv-k3-se0.0-id-f1.0-l+0|l-1", "block2.op is missing"),  # strided block can't drop
        ("l-1|conv-k3-se0.0-id-f1.0-l+0|conv-k3-se0.0-id-f1.0-l+0", "block2.skip"),
        ("l-1|conv-k5-se0.0-id-f1.0-l+0|conv-k3-se0.0-none-f1.0-l+0", "malformed"),  # k fixed
        ("l+0|conv-k3-se0.0-id-f1.0-l+0|conv-k3-se0.0-none-f1.0-l+0", "block0.op"),
    ],
)
def test_parse_rejects_malformed_strings(text: str, message: str) -> None:
    with pytest.raises(NasbenchError, match=message):
        HierarchicalSpace(**TINY).parse(text)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"preset": "darts"}, "mnasnet, single_path, tas"),
        ({"conv_ops": ("mbconv4",)}, "conv, dconv, mbconv1, mbconv3, mbconv6"),
        ({"skip_ops": ("id", "id")}, "distinct"),
        ({"kernels": (4,)}, "odd positive"),
        ({"blocks": ((16, 1),)}, "triples"),
        ({"layer_deltas": (-1,)}, "no layer delta"),
        ({"width": 0}, "width"),
        ({"conv_ops": "conv"}, "must be a tuple"),
        ({"se_ratios": (0.0, 1e-5)}, "ratios in"),
        ({"filter_multipliers": (float("inf"),)}, "positive numbers"),
        ({"head": -1}, "head"),
    ],
)
def test_constructor_rejects_bad_values(params: dict[str, Any], message: str) -> None:
    with pytest.raises(NasbenchError, match=message):
        spaces.create("hierarchical", **params)


def test_width_scales_every_layer() -> None:
    half = HierarchicalSpace(preset="tas", width=0.5)
    arch = half.make(["+0", "1.0"] * 3)
    layers = ["conv-k3-se0-c8-s1+id"] * 3
    for c in (16, 32):
        layers += [
            f"conv-k3-se0-c{c}-s2+none",
            f"conv-k3-se0-c{c}-s1+id",
            f"conv-k3-se0-c{c}-s1+id",
        ]
    assert arch.key == "|".join(["stem8", *layers, "head0"])


def test_config_lists_from_toml_are_accepted() -> None:
    as_lists = spaces.create(
        "hierarchical", **{k: [list(v) if isinstance(v, tuple) else v for v in val]
                           if isinstance(val, tuple) else val for k, val in TINY.items()}
    )  # fmt: skip
    assert as_lists.config == HierarchicalSpace(**TINY).config
    assert as_lists.cardinality() == 14784
