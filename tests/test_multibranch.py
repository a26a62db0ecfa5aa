"""Tests of the ENAS macro space (spaces/multibranch.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nasbench.spaces.multibranch  # noqa: F401  (registers "multibranch")
from nasbench.core.errors import NasbenchError
from nasbench.core.modelstats import count_macs, count_params
from nasbench.core.registry import spaces
from nasbench.core.types import Task
from nasbench.spaces.multibranch import OPS, MultiBranchSpace, default_reduce_at
from nasbench.testing.spaces import check_space, enumerate_space

SEQ8 = Task((1, 8), 3, "seq8")


def test_registered_with_defaults() -> None:
    space = spaces.create("multibranch")
    assert isinstance(space, MultiBranchSpace)
    assert (space.layers, space.channels, space.merge, space.reduce_at) == (6, 16, "sum", (1, 3))


def test_conformant_edge_config() -> None:  # (defaults: tests/test_space_conformance.py)
    check_space(MultiBranchSpace(layers=5, channels=3, merge="concat", reduce_at=[0, 1, 2, 3]))


def test_decision_sequence_for_three_layers() -> None:
    space = MultiBranchSpace(layers=3)
    names = [d.name for d in space.decisions()]
    assert names == ["layer0.op", "layer1.op", "layer2.op", "layer2.skip0"]
    assert space.decisions()[0].choices == OPS
    assert space.decisions()[3].choices == ("0", "1")
    assert space.next_decision(["conv3x3", "conv5x5", "max_pool3x3"]) == space.decisions()[3]
    assert space.next_decision(["conv3x3", "conv5x5", "max_pool3x3", "1"]) is None
    assert space.encoding_size == 3 * 6 + 2


@pytest.mark.parametrize("layers", [1, 2, 3, 4])
def test_cardinality_matches_enumeration(layers: int) -> None:
    space = MultiBranchSpace(layers=layers)
    skips = (layers - 1) * (layers - 2) // 2
    assert space.cardinality() == 6**layers * 2**skips
    assert enumerate_space(space, limit=20_000) == space.cardinality()


def test_cardinality_of_default_and_three_layers() -> None:
    assert MultiBranchSpace(layers=3).cardinality() == 432  # 6^3 * 2^1
    assert MultiBranchSpace().cardinality() == 6**6 * 2**10 == 47_775_744


def test_default_reduce_at_follows_enas_pool_layers() -> None:
    # ENAS pools after layers p-1 and 2p-1 with p = L // 3 (12 layers: after layers 3 and 7)
    assert default_reduce_at(12) == (3, 7)
    assert default_reduce_at(6) == (1, 3)
    assert default_reduce_at(4) == (0, 1)
    assert default_reduce_at(2) == (0,)
    assert default_reduce_at(1) == ()
    assert MultiBranchSpace(layers=6, reduce_at=[3, 0]).reduce_at == (0, 3)
    assert MultiBranchSpace(layers=6, reduce_at=()).reduce_at == ()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"layers": 0}, "layers"),
        ({"layers": True}, "layers"),
        ({"layers": "3"}, "layers"),
        ({"channels": 1}, "channels"),
        ({"merge": "add"}, "valid: sum, concat"),
        ({"layers": 6, "reduce_at": (5,)}, "0..4"),
        ({"reduce_at": (-1,)}, "reduce_at entry -1"),
        ({"reduce_at": (1, 1)}, "repeats"),
        ({"reduce_at": "13"}, "list of ints"),
        ({"reduce_at": (1.0,)}, "reduce_at entry 1.0"),
    ],
)
def test_constructor_rejects_bad_values(params: dict[str, object], message: str) -> None:
    with pytest.raises(NasbenchError, match=message):
        MultiBranchSpace(**params)


def test_string_form_round_trips_and_maps_to_decisions() -> None:
    space = MultiBranchSpace(layers=4)
    text = "conv3x3|sep_conv5x5|max_pool3x3+0|avg_pool3x3+0,1"
    arch = space.parse(text)
    assert arch.values == (
        "conv3x3", "sep_conv5x5", "max_pool3x3", "1", "avg_pool3x3", "1", "1",
    )  # fmt: skip
    assert str(arch) == text and arch.key == text
    plain = space.make(["conv3x3", "conv3x3", "conv3x3", "0", "conv5x5", "0", "1"])
    assert plain.text == "conv3x3|conv3x3|conv3x3|conv5x5+1"
    assert space.canonicalize(arch) == arch


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("conv3x3|conv3x3|conv3x3", "3 layers"),
        ("conv3x3|conv3x3|conv3x3|conv3x3|conv3x3", "5 layers"),
        ("conv7x7|conv3x3|conv3x3|conv3x3", "conv7x7"),
        ("conv3x3+0|conv3x3|conv3x3|conv3x3", "layer 0 skip list"),
        ("conv3x3|conv3x3+0|conv3x3|conv3x3", "layer 1 skip list"),
        ("conv3x3|conv3x3|conv3x3+1|conv3x3", "layer 2 skip list '1'"),
        ("conv3x3|conv3x3|conv3x3+|conv3x3", "not comma-separated"),
        ("conv3x3|conv3x3|conv3x3|conv3x3+a", "not comma-separated"),
        ("conv3x3|conv3x3|conv3x3|conv3x3+0,0", "bad or repeated"),
        ("conv3x3|conv3x3|conv3x3|conv3x3+1,0", "canonical spelling"),
        ("conv3x3|conv3x3|conv3x3|conv3x3+0+1", "not comma-separated"),
        ("conv3x3|conv3x3|conv3x3| conv3x3", "' conv3x3'"),
    ],
)
def test_parse_rejects_malformed_strings(text: str, message: str) -> None:
    with pytest.raises(NasbenchError, match=message):
        MultiBranchSpace(layers=4).parse(text)


def test_graph_has_main_chain_and_skip_edges() -> None:
    space = MultiBranchSpace(layers=4)
    g = space.graph(space.parse("conv3x3|sep_conv5x5|max_pool3x3+0|avg_pool3x3+1"))
    assert g.node_labels == (
        "input", "conv3x3", "sep_conv5x5", "max_pool3x3", "avg_pool3x3", "output",
    )  # fmt: skip
    edges = {(int(i), int(j)) for i, j in zip(*np.nonzero(g.adjacency), strict=True)}
    chain = {(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)}
    assert edges == chain | {(1, 3), (2, 4)}
    g0 = space.graph(space.parse("conv3x3|sep_conv5x5|max_pool3x3|avg_pool3x3"))
    assert int(g0.adjacency.sum()) == len(chain)


@pytest.mark.parametrize(
    ("merge", "reduce_at", "params", "macs"),
    [
        # stem 1->4 k3: 12 + BN 8; conv3x3 4->4: 48 + 8; sep_conv3x3: dw 12 + 8, pw 16 + 8;
        # max pool: 0; linear 4*3 + 3. MACs on length 8: 96 + 384 + (96 + 128) + 12.
        ("sum", (), 20 + 56 + 44 + 15, 96 + 384 + 224 + 12),
        # concat: layer 2 merges 2 inputs with a 1x1 ConvBNReLU 8->4: 32 + BN 8, MACs 32 * 8.
        ("concat", (), 135 + 40, 716 + 256),
        # halving after layer 0: one factorized reduction of layer 0 (two 1x1 convs 4->2 =
        # 8 + 8, BN 8; MACs 16 * 4), shared by layer 1 (main) and layer 2 (skip); the
        # sep conv then runs on length 4: (12 + 16) * 4 MACs.
        ("sum", (0,), 135 + 24, 96 + 384 + 64 + 112 + 12),
    ],
)
def test_hand_computed_counts(
    merge: str, reduce_at: tuple[int, ...], params: int, macs: int
) -> None:
    space = MultiBranchSpace(layers=3, channels=4, merge=merge, reduce_at=reduce_at)
    arch = space.parse("conv3x3|sep_conv3x3|max_pool3x3+0")
    counts = space.counts(arch, SEQ8)
    assert (counts.params, counts.macs) == (params, macs)
    net = space.build(arch, SEQ8, np.random.default_rng(0))
    assert (count_params(net), count_macs(net, SEQ8.input_shape)) == (params, macs)


def _outputs(space: MultiBranchSpace, text: str, task: Task) -> torch.Tensor:
    net = space.build(space.parse(text), task, np.random.default_rng(7)).eval()
    x = torch.randn((2, *task.input_shape), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out: torch.Tensor = net(x)
    return out


@pytest.mark.parametrize("task", [SEQ8, Task((3, 8, 8), 5)])
def test_skip_changes_output_with_identical_weights(task: Task) -> None:
    # Without reductions a sum-merge skip adds no parameters, so the same rng gives the same
    # weights and only the wiring differs.
    space = MultiBranchSpace(layers=3, channels=4, reduce_at=())
    without, with_skip = "conv3x3|conv5x5|sep_conv3x3", "conv3x3|conv5x5|sep_conv3x3+0"
    assert space.counts(space.parse(without), task) == space.counts(space.parse(with_skip), task)
    assert not torch.allclose(_outputs(space, without, task), _outputs(space, with_skip, task))


def test_merge_modes_agree_without_skips_and_differ_with_them() -> None:
    sum_space = MultiBranchSpace(layers=4, channels=4, merge="sum")
    cat_space = MultiBranchSpace(layers=4, channels=4, merge="concat")
    plain = "conv3x3|avg_pool3x3|conv5x5|max_pool3x3"
    assert sum_space.counts(sum_space.parse(plain), SEQ8) == cat_space.counts(
        cat_space.parse(plain), SEQ8
    )
    assert torch.equal(_outputs(sum_space, plain, SEQ8), _outputs(cat_space, plain, SEQ8))
    skipped = "conv3x3|avg_pool3x3|conv5x5+0|max_pool3x3+0,1"
    extra = (
        cat_space.counts(cat_space.parse(skipped), SEQ8).params
        - sum_space.counts(sum_space.parse(skipped), SEQ8).params
    )
    # layer 2 concatenates 2 inputs, layer 3 three: 1x1 convs 8->4 and 12->4 plus two BNs
    assert extra == (8 * 4 + 8) + (12 * 4 + 8)


def test_reductions_halve_and_skips_across_them_are_reduced() -> None:
    task = Task((3, 16, 16), 4)
    space = MultiBranchSpace(layers=4, channels=4, reduce_at=(0, 1))
    arch = space.parse("conv3x3|conv3x3|conv3x3+0|conv3x3+0,1")
    net = space.build(arch, task, np.random.default_rng(0))
    # layer 0 feeds levels 1 (layer 1) and 2 (layers 2, 3): a chain of two reductions;
    # layer 1 feeds level 2: one; layers 2 and 3 sit at the coarsest level: none.
    assert [len(chain) for chain in net.reduce] == [2, 1, 0, 0]
    sizes = []
    hooks = [op.register_forward_hook(lambda m, i, o: sizes.append(o.shape[-1])) for op in net.ops]
    net(torch.zeros((1, 3, 16, 16)))
    for h in hooks:
        h.remove()
    assert sizes == [16, 8, 4, 4]
    assert space.counts(arch, task).params == count_params(net)


def test_tiny_inputs_never_shrink_below_one() -> None:
    space = MultiBranchSpace(layers=5, channels=3, merge="concat", reduce_at=(0, 1, 2, 3))
    task = Task((2, 1), 2)
    arch = space.parse("conv5x5|sep_conv5x5|avg_pool3x3+0|max_pool3x3+0,1|conv3x3+0,1,2")
    net = space.build(arch, task, np.random.default_rng(0))
    assert net(torch.randn(2, 2, 1)).shape == (2, 2)
    counts = space.counts(arch, task)
    assert (counts.params, counts.macs) == (count_params(net), count_macs(net, (2, 1)))


def test_counts_match_module_over_many_samples() -> None:
    rng = np.random.default_rng(11)
    for merge in ("sum", "concat"):
        space = MultiBranchSpace(layers=5, channels=5, merge=merge)
        for _ in range(6):
            arch = space.sample(rng)
            for task in (Task((1, 40), 10), Task((3, 8, 8), 10)):
                net = space.build(arch, task, rng)
                counts = space.counts(arch, task)
                assert counts.params == count_params(net), arch
                assert counts.macs == count_macs(net, task.input_shape), arch
