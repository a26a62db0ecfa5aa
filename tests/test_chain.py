"""The chain space: MetaQNN's validity rules, exact cardinality, string form, counts, networks."""

from __future__ import annotations

import doctest
import itertools
import re
from typing import Any

import numpy as np
import pytest
import torch

import nasbench.spaces.chain
from nasbench.core.errors import NasbenchError
from nasbench.core.modelstats import count_macs, count_params
from nasbench.core.registry import spaces
from nasbench.core.types import Decision, Task
from nasbench.spaces.chain import TERMINATE, ChainSpace, size_bin
from nasbench.testing.spaces import enumerate_space

SMALL = {"max_layers": 2, "kernels": (1, 3), "filters": (8,), "pools": ((2, 2),), "input_size": 4}


def test_module_example_runs() -> None:
    result = doctest.testmod(nasbench.spaces.chain)
    assert result.attempted > 0 and result.failed == 0


# Default configuration plus the chain entries of EXTRA_CONFIGS in test_space_conformance.py.
def test_registered_with_defaults() -> None:
    assert spaces.get("chain") is ChainSpace
    assert spaces.params("chain") == {
        "max_layers": 8,
        "kernels": (1, 3, 5),
        "filters": (16, 32, 64, 128),
        "strides": (1, 2),
        "pools": ((2, 2), (3, 2)),
        "input_size": 32,
    }


# ---- validity rules ----------------------------------------------------------------------------
def test_first_layer_is_a_convolution() -> None:
    first = ChainSpace().next_decision(())
    assert first is not None and first.name == "layer0"
    assert len(first.choices) == 2 * 3 * 4 * 2  # conv and sep x kernels x filters x strides
    assert all(c.startswith(("conv", "sep")) for c in first.choices)


def test_no_pooling_after_pooling() -> None:
    space = ChainSpace()
    after_conv = space.next_decision(["conv3-32-s1"])
    after_pool = space.next_decision(["conv3-32-s1", "maxpool2-s2"])
    assert after_conv is not None and after_pool is not None
    pools = {"maxpool2-s2", "maxpool3-s2", "avgpool2-s2", "avgpool3-s2"}
    assert pools <= set(after_conv.choices)
    assert not pools & set(after_pool.choices)
    assert TERMINATE in after_pool.choices and "sep5-128-s2" in after_pool.choices


def test_kernels_follow_the_representation_size_bin() -> None:
    space = ChainSpace()  # nominal 32 -> 16 -> 8 -> 4 -> 2 under stride-2 layers
    prefix = ["conv3-16-s2", "conv3-16-s2"]
    bin8 = space.next_decision(prefix)  # size 8: every kernel
    bin4 = space.next_decision([*prefix, "conv3-16-s2"])  # size 4: kernels <= 4
    bin1 = space.next_decision([*prefix, "conv3-16-s2", "maxpool2-s2"])  # size 2: kernel 1
    assert bin8 is not None and bin4 is not None and bin1 is not None
    assert "conv5-16-s1" in bin8.choices
    assert "conv5-16-s1" not in bin4.choices and "sep5-64-s2" not in bin4.choices
    assert {"conv3-16-s1", "maxpool3-s2", "avgpool2-s2"} <= set(bin4.choices)
    assert set(bin1.choices) == {
        f"{t}1-{f}-s{s}" for t in ("conv", "sep") for f in (16, 32, 64, 128) for s in (1, 2)
    } | {TERMINATE}
    assert [size_bin(n) for n in (1, 3, 4, 7, 8, 40)] == [1, 1, 4, 4, 8, 8]


def test_max_layers_ends_with_an_implicit_terminate() -> None:
    space = ChainSpace(max_layers=2)
    assert space.next_decision(["conv3-32-s1", "conv3-32-s1"]) is None
    assert space.next_decision(["conv3-32-s1", TERMINATE]) is None
    arch = space.parse("conv3-32-s1|sep1-16-s2")
    assert arch.values == ("conv3-32-s1", "sep1-16-s2")
    assert space.parse("conv3-32-s1").values == ("conv3-32-s1", TERMINATE)


def test_invalid_sequences_are_rejected_naming_the_decision() -> None:
    space = ChainSpace()
    with pytest.raises(NasbenchError, match=r"'layer2' got 'avgpool2-s2' \(valid here: conv1"):
        space.make(["conv3-32-s1", "maxpool2-s2", "avgpool2-s2", TERMINATE])
    with pytest.raises(NasbenchError, match="'layer0' got 'terminate'"):
        space.make([TERMINATE])
    with pytest.raises(NasbenchError, match="'layer0' got 'maxpool2-s2'"):
        space.make(["maxpool2-s2", TERMINATE])
    with pytest.raises(NasbenchError, match="incomplete"):
        space.make(["conv3-32-s1"])
    with pytest.raises(NasbenchError, match="values follow 'terminate'"):
        space.next_decision(["conv3-32-s1", TERMINATE, "conv3-32-s1"])


def test_universe_is_the_union_of_reachable_choices() -> None:
    space = ChainSpace(strides=(2,), pools=())  # sizes 32, 16, 8, 4, 2, ...: kernels shrink
    universe = {d.name: d.choices for d in space.decisions()}
    assert list(universe) == [f"layer{i}" for i in range(8)]
    assert TERMINATE not in universe["layer0"] and TERMINATE in universe["layer1"]
    # layer i sees size 32 / 2**i: kernel 5 needs size >= 8 (layers 0-2), kernel 3 size >= 4.
    assert "conv5-16-s2" in universe["layer2"] and "conv5-16-s2" not in universe["layer3"]
    assert "conv3-16-s2" in universe["layer3"] and "conv3-16-s2" not in universe["layer4"]
    assert "conv1-16-s2" in universe["layer7"]


def test_positions_end_where_no_kernel_fits() -> None:
    # Only 3x3 stride-2 convolutions: sizes 32, 16, 8, 4 take them, size 2 takes none, so a chain
    # has 1 to 4 layers (conv or sep each), layer4 can only terminate, and layer5 never occurs.
    space = ChainSpace(kernels=(3,), filters=(4,), strides=(2,), pools=())
    assert [d.name for d in space.decisions()] == [f"layer{i}" for i in range(5)]
    assert space.decisions()[4].choices == (TERMINATE,)
    assert space.cardinality() == enumerate_space(space, 100) == 2 + 4 + 8 + 16
    assert space.next_decision(["conv3-4-s2"] * 4) == Decision("layer4", (TERMINATE,))
    assert space.parse("|".join(["conv3-4-s2"] * 4)).values[-1] == TERMINATE


# ---- cardinality ---------------------------------------------------------------------------------
def test_cardinality_by_hand() -> None:
    # layer0: 8 layers (conv/sep x k 1,3 x stride 1,2; no pooling first). After stride 1 the size
    # stays 4 (bin 4): 8 layers + 2 pools + terminate = 11; after stride 2 it is 2 (bin 1): the 4
    # kernel-1 layers + terminate = 5. Total 4 * 11 + 4 * 5 = 64.
    assert ChainSpace(**SMALL).cardinality() == 64
    # max_layers=3, defaults: 48 first layers, then terminate, 48 convs (each then 53 choices)
    # or 4 pools (each then 49 choices): 48 * (1 + 48 * 53 + 4 * 49).
    assert ChainSpace(max_layers=3).cardinality() == 48 * (1 + 48 * 53 + 4 * 49)
    assert ChainSpace().cardinality() == 17_275_203_867_120


@pytest.mark.parametrize(
    "params",
    [
        SMALL,
        {**SMALL, "max_layers": 4},
        {"max_layers": 1},
        {"max_layers": 4, "kernels": (1, 5), "filters": (8,), "strides": (2,), "input_size": 16},
        {
            "max_layers": 5,
            "kernels": (1, 3),
            "filters": (4,),
            "strides": (1, 2),
            "pools": ((3, 2),),
            "input_size": 8,
        },
        {"max_layers": 3, "kernels": (3,), "filters": (4, 8), "pools": (), "input_size": 5},
        {"kernels": (3,), "filters": (4,), "strides": (2,), "pools": ((3, 3),)},
    ],
)
def test_cardinality_equals_enumeration(params: dict[str, Any]) -> None:
    space = ChainSpace(**params)
    assert enumerate_space(space, 10**6) == space.cardinality()


def _independent_rules(tokens: tuple[str, ...], input_size: int) -> bool:
    """MetaQNN's rules written out directly from the module docstring."""
    size, after_pool = input_size, True
    for token in tokens:
        m = re.fullmatch(r"(conv|sep|maxpool|avgpool)(\d+)(?:-\d+)?-s(\d+)", token)
        assert m is not None
        is_pool, k, s = m[1].endswith("pool"), int(m[2]), int(m[3])
        edge = 8 if size >= 8 else 4 if size >= 4 else 1
        if k > edge or (is_pool and after_pool):
            return False
        size, after_pool = (size + 2 * ((k - 1) // 2) - k) // s + 1, is_pool
    return True


def test_enumerated_chains_are_exactly_those_obeying_the_rules() -> None:
    params = {**SMALL, "max_layers": 3, "pools": ((2, 2), (3, 3))}
    space = ChainSpace(**params)
    tokens = [f"{t}{k}-8-s{s}" for t in ("conv", "sep") for k in (1, 3) for s in (1, 2)]
    tokens += [f"{t}pool{k}-s{k}" for t in ("max", "avg") for k in (2, 3)]
    accepted = set()
    for n in range(1, 4):
        for seq in itertools.product(tokens, repeat=n):
            try:
                space.parse("|".join(seq))
            except NasbenchError:
                continue
            accepted.add(seq)
    expected = {
        seq
        for n in range(1, 4)
        for seq in itertools.product(tokens, repeat=n)
        if _independent_rules(seq, 4)
    }
    assert accepted == expected
    assert len(expected) == space.cardinality()


# ---- string form ---------------------------------------------------------------------------------
def test_string_form_leaves_out_terminate() -> None:
    space = ChainSpace()
    arch = space.make(["conv3-32-s1", "maxpool2-s2", "sep5-64-s1", TERMINATE])
    assert str(arch) == arch.key == "conv3-32-s1|maxpool2-s2|sep5-64-s1"
    assert space.parse(str(arch)) == arch


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("conv3-32-s1|terminate", "'terminate' is implicit"),
        ("conv3-32-s1||sep5-64-s1", "empty layer at position 1"),
        ("conv3-32-s1|", "empty layer at position 1"),
        ("conv7-32-s1", r"unknown layer 'conv7-32-s1' at position 0 \(valid: conv1-16-s1, "),
        ("conv3-32-s1|maxpool4-s2", "unknown layer 'maxpool4-s2'.*avgpool3-s2"),
        ("  ", "empty architecture string"),
        ("conv3-32-s1|maxpool2-s2|maxpool3-s2", "'layer2' got 'maxpool3-s2'"),
        ("|".join(["conv1-16-s1"] * 9), "complete after 8 decisions"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(NasbenchError, match=message):
        ChainSpace().parse(text)


# ---- graph, counts and networks ---------------------------------------------------------------
def test_graph_is_a_labelled_path() -> None:
    space = ChainSpace()
    g = space.graph(space.parse("conv3-32-s1|avgpool3-s2"))
    assert g.node_labels == ("input", "conv3-32-s1", "avgpool3-s2", "output")
    assert np.array_equal(g.adjacency, np.eye(4, k=1, dtype=np.int8))


@pytest.mark.parametrize(
    ("task", "params", "macs"),
    [
        # conv3-32: 1*32*3 + BN 64 = 160 params, 96*40 MACs; maxpool2-s2: 40 -> 20;
        # sep5-64: depthwise 32*5 + BN 64 + pointwise 32*64 + BN 128 = 2400, (160+2048)*20 MACs;
        # linear 64 -> 10: 650 params, 640 MACs.
        (Task((1, 40), 10), 160 + 2400 + 650, 96 * 40 + 2208 * 20 + 640),
        # 2-D: conv 3*32*9 + 64 = 928, 864*256 MACs; 16 -> 8; sep 32*25 + 64 + 2048 + 128 = 3040,
        # (800 + 2048)*64 MACs; linear 64 -> 7: 455 params, 448 MACs.
        (Task((3, 16, 16), 7), 928 + 3040 + 455, 864 * 256 + 2848 * 64 + 448),
    ],
)
def test_counts_by_hand(task: Task, params: int, macs: int) -> None:
    space = ChainSpace()
    arch = space.parse("conv3-32-s1|maxpool2-s2|sep5-64-s1")
    counts = space.counts(arch, task)
    assert (counts.params, counts.macs) == (params, macs)
    net = space.build(arch, task, np.random.default_rng(0))
    assert count_params(net) == params and count_macs(net, task.input_shape) == macs


def test_pooling_a_single_element_is_skipped_on_tiny_inputs() -> None:
    # Nominal sizes 32 -> 16 -> 8 -> 4 allow 2x2 pooling, but on an 8x8 input the real size is
    # already 1, where an even window would give an empty output.
    space = ChainSpace()
    arch = space.parse("conv3-16-s2|conv3-16-s2|conv3-16-s2|maxpool2-s2|conv1-32-s1")
    task = Task((1, 8, 8), 10)
    net = space.build(arch, task, np.random.default_rng(0))
    assert isinstance(net.features[3], torch.nn.Identity)
    assert isinstance(
        space.build(arch, Task((1, 32, 32), 10), np.random.default_rng(0)).features[3],
        torch.nn.MaxPool2d,
    )
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    assert space.counts(arch, task).macs == count_macs(net, task.input_shape)


def test_network_layers_in_order() -> None:
    space = ChainSpace()
    net = space.build(
        space.parse("sep3-16-s2|avgpool3-s2"), Task((1, 40), 4), np.random.default_rng(1)
    )
    sep, avg = net.features
    assert sep[0][0].groups == 1 and sep[0][0].stride == (2,) and sep[1][0].out_channels == 16
    assert isinstance(avg, torch.nn.AvgPool1d) and avg.kernel_size == (3,)
    assert net.classifier.in_features == 16 and net.classifier.out_features == 4


# ---- repair and neighbours ---------------------------------------------------------------------
def test_neighbours_append_one_layer_not_a_random_tail() -> None:
    space = ChainSpace(max_layers=3)
    arch = space.parse("conv3-32-s1")
    hood = space.neighbours(arch)
    # 47 other first layers, and 48 convolutions + 4 pools appended as a second layer.
    assert len(hood) == 47 + 52
    assert all(len(str(nb).split("|")) <= 2 for nb in hood)
    assert space.parse("conv3-32-s1|avgpool3-s2") in hood


def test_repair_after_a_stride_change_ends_the_chain() -> None:
    space = ChainSpace(kernels=(1, 5), pools=())
    arch = space.parse("conv1-16-s1|conv1-16-s1|conv1-16-s1|conv5-16-s1|conv1-16-s1")
    # Striding layer 2 makes the nominal size 32 -> 32 -> 16 -> 8: kernel 5 still fits.
    assert space.parse("conv1-16-s1|conv1-16-s1|conv1-16-s2|conv5-16-s1|conv1-16-s1") in (
        space.neighbours(arch)
    )
    arch = space.parse("conv1-16-s2|conv1-16-s2|conv1-16-s1|conv5-16-s1|conv1-16-s1")
    # Striding layer 2 now gives size 4, where kernel 5 is not allowed: the chain ends there.
    assert space.parse("conv1-16-s2|conv1-16-s2|conv1-16-s2") in space.neighbours(arch)


# ---- constructor -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_layers": 0}, "max_layers must be a positive integer, got 0"),
        ({"max_layers": True}, "max_layers must be a positive integer"),
        ({"max_layers": 2.0}, "max_layers must be a positive integer"),
        ({"input_size": -1}, "input_size must be a positive integer"),
        ({"kernels": ()}, "kernels must be a non-empty sequence"),
        ({"kernels": "3"}, "kernels must be a non-empty sequence"),
        ({"kernels": (3, 4)}, r"kernels must be odd, got \[4\]"),
        ({"kernels": (3, 3)}, "kernels repeats a value"),
        ({"kernels": (3,), "input_size": 3}, "no kernel in .* fits input_size=3"),
        ({"filters": (16, 0)}, "every entry of filters must be a positive integer, got 0"),
        ({"strides": (1, "2")}, "every entry of strides must be a positive integer"),
        ({"pools": ((2, 3),)}, r"pool \(2, 3\) has stride > window"),
        ({"pools": ((2,),)}, "pairs"),
        ({"pools": ((2, 2), [2, 2])}, "pools repeats a pair"),
        ({"pools": 2}, "pools must be a sequence"),
    ],
)
def test_bad_parameters(params: dict[str, Any], message: str) -> None:
    with pytest.raises(NasbenchError, match=message):
        spaces.create("chain", **params)


def test_parameters_are_stored_as_given() -> None:
    space = spaces.create("chain", kernels=[3, 1], pools=[[3, 2]], max_layers=2)
    assert space.kernels == [3, 1] and space.pools == [[3, 2]] and space.max_layers == 2
    first = space.next_decision(())
    assert first is not None and first.choices[0] == "conv3-16-s1"
    assert ChainSpace(pools=()).cardinality() < ChainSpace().cardinality()
