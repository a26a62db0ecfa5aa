"""Tests of the DARTS/NASNet cell space (spaces/cell.py)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

import nasbench.spaces.cell  # registers "cell"
from nasbench.core.errors import NasbenchError
from nasbench.core.modelstats import count_macs, count_params
from nasbench.core.registry import spaces
from nasbench.core.types import Task
from nasbench.core.weights import materialise
from nasbench.spaces.cell import DARTS_OPS, CellSpace, canonical_cell
from nasbench.spaces.ops import FactorizedReduce
from nasbench.testing.spaces import enumerate_space

SMALL_OPS = ("sep_conv_3x3", "max_pool_3x3", "skip_connect")

# DARTS_V2, the cell of Liu et al. 2019 (Table 1), in this space's string form.
DARTS_V2 = (
    "normal=sep_conv_3x3~0,sep_conv_3x3~1|sep_conv_3x3~0,sep_conv_3x3~1|"
    "sep_conv_3x3~1,skip_connect~0|skip_connect~0,dil_conv_3x3~2;"
    "reduce=max_pool_3x3~0,max_pool_3x3~1|skip_connect~2,max_pool_3x3~1|"
    "max_pool_3x3~0,skip_connect~2|skip_connect~2,max_pool_3x3~1"
)


def test_registered_and_defaults() -> None:
    space = spaces.create("cell")
    assert spaces.get("cell") is nasbench.spaces.cell.CellSpace
    assert (space.nodes, space.cells_per_stage, space.channels, space.stem_multiplier) == (
        4, 2, 16, 3,
    )  # fmt: skip
    assert space.ops == DARTS_OPS


# ---- decisions and cardinality --------------------------------------------------------------
def test_decision_names_and_universe() -> None:
    space = CellSpace(nodes=2, ops=SMALL_OPS)
    names = [d.name for d in space.decisions()]
    assert names[:5] == [
        "normal.node0.in0", "normal.node0.op0", "normal.node0.in1", "normal.node0.op1",
        "normal.node1.in0",
    ]  # fmt: skip
    assert names[8] == "reduce.node0.in0" and len(names) == 16
    assert space.decisions()[4].choices == ("0", "1", "2")
    assert space.decisions()[1].choices == SMALL_OPS


def test_second_input_is_distinct_from_the_first() -> None:
    space = CellSpace(nodes=2, ops=SMALL_OPS)
    decision = space.next_decision(["1", "skip_connect"])
    assert decision is not None and decision.name == "normal.node0.in1"
    assert decision.choices == ("0",)
    decision = space.next_decision(["0", "skip_connect", "1", "skip_connect", "1", "skip_connect"])
    assert decision is not None and decision.choices == ("0", "2")


def test_cardinality_formula() -> None:
    # Per node k: (k + 2) first inputs, (k + 1) distinct second inputs, |ops|^2 op pairs.
    assert CellSpace().cardinality() == (2 * 6 * 12 * 20 * 7**8) ** 2
    assert CellSpace().cardinality() == 275_647_219_316_498_534_400
    assert CellSpace(nodes=2, ops=SMALL_OPS).cardinality() == (2 * 6 * 3**4) ** 2


@pytest.mark.parametrize(
    ("nodes", "ops", "expected"),
    [
        (1, ("sep_conv_3x3", "skip_connect"), 64),
        (1, SMALL_OPS, 324),
        (2, ("sep_conv_3x3", "skip_connect"), 36_864),
    ],
)
def test_cardinality_matches_enumeration(nodes: int, ops: tuple[str, ...], expected: int) -> None:
    space = CellSpace(nodes=nodes, ops=ops)
    assert space.cardinality() == expected
    assert enumerate_space(space, 10**6) == expected


# ---- string form ----------------------------------------------------------------------------
def test_format_is_genotype_like() -> None:
    space = CellSpace(nodes=2, ops=SMALL_OPS)
    values = ["0", "sep_conv_3x3", "1", "skip_connect", "2", "max_pool_3x3", "0", "skip_connect"]
    values += ["1", "max_pool_3x3", "0", "sep_conv_3x3", "0", "skip_connect", "2", "skip_connect"]
    arch = space.make(values)
    assert arch.text == (
        "normal=sep_conv_3x3~0,skip_connect~1|max_pool_3x3~2,skip_connect~0;"
        "reduce=max_pool_3x3~1,sep_conv_3x3~0|skip_connect~0,skip_connect~2"
    )
    assert space.parse(arch.text) == arch


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("normal=sep_conv_3x3~0,skip_connect~1", "normal=...;reduce="),
        ("normal=sep_conv_3x3~0,skip_connect~1;reduce=skip_connect~0,skip_connect~1", "2 nodes"),
        ("reduce=a~0,b~1|a~0,b~1;normal=a~0,b~1|a~0,b~1", "expected 'normal='"),
        ("normal=sep_conv_3x3~0|x;reduce=a~0,b~1|a~0,b~1", "op~input,op~input"),
        ("normal=sep_conv_3x3 0,skip_connect~1|x~0,y~1;reduce=a~0,b~1|a~0,b~1", "op~input"),
    ],
)
def test_parse_rejects_malformed_strings(text: str, message: str) -> None:
    with pytest.raises(NasbenchError, match=message.replace(".", r"\.")):
        CellSpace(nodes=2, ops=SMALL_OPS).parse(text)


def test_parse_rejects_bad_values() -> None:
    space = CellSpace(nodes=1, ops=SMALL_OPS)
    tail = ";reduce=sep_conv_3x3~0,skip_connect~1"
    with pytest.raises(NasbenchError, match=r"'normal.node0.in1' got '0' \(valid here: 1\)"):
        space.parse("normal=sep_conv_3x3~0,skip_connect~0" + tail)
    with pytest.raises(NasbenchError, match="valid here: 0, 1"):
        space.parse("normal=sep_conv_3x3~2,skip_connect~1" + tail)
    with pytest.raises(NasbenchError, match=r"got 'conv_3x3' .*sep_conv_3x3, max_pool_3x3"):
        space.parse("normal=conv_3x3~0,skip_connect~1" + tail)


# ---- canonical key --------------------------------------------------------------------------
def test_key_ignores_the_order_of_a_nodes_two_edges() -> None:
    space = CellSpace(nodes=2, ops=SMALL_OPS)
    reduce = ";reduce=max_pool_3x3~0,max_pool_3x3~1|skip_connect~2,max_pool_3x3~1"
    a = space.parse("normal=sep_conv_3x3~0,skip_connect~1|max_pool_3x3~2,sep_conv_3x3~1" + reduce)
    b = space.parse("normal=skip_connect~1,sep_conv_3x3~0|sep_conv_3x3~1,max_pool_3x3~2" + reduce)
    assert a != b and a.key == b.key


def test_key_ignores_renumbering_independent_nodes() -> None:
    space = CellSpace(nodes=3, ops=SMALL_OPS)
    reduce = ";reduce=" + "|".join(["max_pool_3x3~0,max_pool_3x3~1"] * 3)
    a = space.parse(
        "normal=sep_conv_3x3~0,skip_connect~1|max_pool_3x3~0,sep_conv_3x3~1|"
        "skip_connect~2,max_pool_3x3~3" + reduce
    )
    # nodes 2 and 3 swapped; node 4 follows them
    b = space.parse(
        "normal=max_pool_3x3~0,sep_conv_3x3~1|sep_conv_3x3~0,skip_connect~1|"
        "skip_connect~3,max_pool_3x3~2" + reduce
    )
    assert a != b and a.key == b.key
    # a different op on one edge is a different architecture
    c = space.parse(
        "normal=sep_conv_3x3~0,skip_connect~1|max_pool_3x3~0,sep_conv_3x3~1|"
        "skip_connect~3,max_pool_3x3~2" + reduce
    )
    assert c.key != a.key


def test_key_tells_apart_cells_that_share_expressions() -> None:
    # Nodes 2 and 3 compute the same expression. Reading node 2 twice (x) or each once (y) gives
    # the same expression trees but different DAGs: an exact key separates them.
    space = CellSpace(nodes=4, ops=SMALL_OPS)
    twins = (
        "sep_conv_3x3~0,sep_conv_3x3~1|sep_conv_3x3~0,sep_conv_3x3~1|max_pool_3x3~2,skip_connect~0"
    )
    reduce = ";reduce=" + "|".join(["max_pool_3x3~0,max_pool_3x3~1"] * 4)
    x = space.parse(f"normal={twins}|skip_connect~2,max_pool_3x3~1{reduce}")
    y = space.parse(f"normal={twins}|skip_connect~3,max_pool_3x3~1{reduce}")
    y_swapped = space.parse(
        "normal=sep_conv_3x3~0,sep_conv_3x3~1|sep_conv_3x3~0,sep_conv_3x3~1|"
        f"max_pool_3x3~3,skip_connect~0|skip_connect~2,max_pool_3x3~1{reduce}"
    )
    assert x.key != y.key
    assert y.key == y_swapped.key


def _all_cells(nodes: int, ops: tuple[str, ...]) -> list[tuple]:
    per_node = [
        [
            ((a, p), (b, q))
            for a in range(k + 2)
            for b in range(k + 2)
            if a != b
            for p in ops
            for q in ops
        ]
        for k in range(nodes)
    ]
    return list(itertools.product(*per_node))


def _brute_force_key(cell: tuple) -> tuple:
    """Smallest description over every renumbering of the intermediate nodes (as a graph)."""
    n, keys = len(cell), []
    for perm in itertools.permutations(range(n)):
        new = {0: 0, 1: 1} | {j + 2: perm[j] + 2 for j in range(n)}
        keys.append(tuple(sorted((new[j + 2], tuple(sorted((new[i], op) for i, op in node)))
                                 for j, node in enumerate(cell))))  # fmt: skip
    return min(keys)


@pytest.mark.parametrize(
    ("nodes", "ops", "size"),
    [(3, ("sep_conv_3x3", "skip_connect"), 2 * 6 * 12 * 2**6), (4, ("skip_connect",), 2880)],
)
def test_canonical_cell_is_exact_against_brute_force(
    nodes: int, ops: tuple[str, ...], size: int
) -> None:
    cells = _all_cells(nodes, ops)
    assert len(cells) == size
    classes: dict[tuple, tuple] = {}
    for cell in cells:
        canon, ref = canonical_cell(cell), _brute_force_key(cell)
        assert classes.setdefault(ref, canon) == canon  # isomorphic cells share the canonical form
    assert len(set(classes.values())) == len(classes)  # non-isomorphic cells do not


def test_canonicalize_sorts_pairs_and_is_a_fixed_point() -> None:
    space = CellSpace()
    rng = np.random.default_rng(7)
    for _ in range(20):
        arch = space.sample(rng)
        canon = space.canonicalize(arch)
        assert canon.key == arch.key == canon.text
        assert space.canonicalize(canon) == canon
        for cell in space.genotypes(canon.values):
            assert all(a[0] < b[0] for a, b in cell)


# ---- graph ----------------------------------------------------------------------------------
def test_graph_holds_both_cells_block_diagonally() -> None:
    space = CellSpace(nodes=2, ops=SMALL_OPS)
    arch = space.parse(
        "normal=sep_conv_3x3~0,skip_connect~1|max_pool_3x3~2,skip_connect~0;"
        "reduce=max_pool_3x3~1,sep_conv_3x3~0|skip_connect~0,skip_connect~2"
    )
    g = space.graph(arch)
    assert g.node_labels[:5] == (
        "normal.input0", "normal.input1", "normal.node", "normal.node", "normal.output",
    )  # fmt: skip
    assert g.node_labels[5] == "reduce.input0" and len(g.node_labels) == 10
    assert g.edge_labels == (
        (0, 2, "sep_conv_3x3"), (1, 2, "skip_connect"), (2, 3, "max_pool_3x3"),
        (0, 3, "skip_connect"), (6, 7, "max_pool_3x3"), (5, 7, "sep_conv_3x3"),
        (5, 8, "skip_connect"), (7, 8, "skip_connect"),
    )  # fmt: skip
    assert g.adjacency[2, 4] == g.adjacency[3, 4] == g.adjacency[7, 9] == 1
    assert not g.adjacency[:5, 5:].any() and not g.adjacency[5:, :5].any()
    assert int(g.adjacency.sum()) == 8 + 4


# ---- networks -------------------------------------------------------------------------------
def test_hand_computed_parameter_and_mac_counts() -> None:
    space = CellSpace(
        nodes=1, ops=("conv_1x1", "skip_connect"), cells_per_stage=1, channels=2, stem_multiplier=1
    )
    arch = space.parse("normal=conv_1x1~0,skip_connect~1;reduce=conv_1x1~0,skip_connect~1")
    task = Task((1, 8), 3)
    # Cells (C = per-node width): normal C=2, reduce C=4, normal C=4, reduce C=8, normal C=8.
    # ReLUConvBN(a, b) = a*b + 2b; conv_1x1 on C = C*C + 2C; FactorizedReduce(a, b) = a*b + 2b.
    params = [
        3 * 2 + 4,  # stem conv 1->2 k3 + BN
        8 + 8 + 8,  # normal: pre0, pre1 (2->2), conv_1x1, identity
        16 + 16 + 24 + 24,  # reduce: pre0, pre1 (2->4), conv_1x1 s2, skip = FactorizedReduce(4, 4)
        16 + 24 + 24,  # normal after reduce: pre0 = FactorizedReduce(2, 4), pre1 4->4, conv_1x1
        48 + 48 + 80 + 80,  # reduce: pre0, pre1 (4->8), conv_1x1 s2, FactorizedReduce(8, 8)
        48 + 80 + 80,  # normal: FactorizedReduce(4, 8), pre1 8->8, conv_1x1
        8 * 3 + 3,  # classifier
    ]
    # Conv weights times output length; lengths 8, 8, 4, 4, 2, 2 through the network.
    macs = [
        6 * 8,
        4 * 8 + 4 * 8 + 4 * 8,
        8 * 8 + 8 * 8 + 16 * 4 + 16 * 4,
        8 * 4 + 16 * 4 + 16 * 4,
        32 * 4 + 32 * 4 + 64 * 2 + 64 * 2,
        32 * 2 + 64 * 2 + 64 * 2,
        8 * 3,
    ]
    assert (sum(params), sum(macs)) == (669, 1416)
    counts = space.counts(arch, task)
    assert (counts.params, counts.macs) == (669, 1416)
    net = space.build(arch, task, np.random.default_rng(0))
    assert (count_params(net), count_macs(net, task.input_shape)) == (669, 1416)


def test_darts_v2_has_the_published_parameter_count() -> None:
    # DARTS (second order) on CIFAR-10: 20 cells, 36 channels, 3.3M parameters (Liu et al. 2019,
    # Table 1); the authors' train.py logs 3.349342 MB without the auxiliary head.
    space = CellSpace(channels=36, cells_per_stage=6)
    assert space.counts(space.parse(DARTS_V2), Task((3, 32, 32), 10)).params == 3_349_342


def _cell_output_shapes(space: CellSpace, task: Task) -> list[tuple[int, ...]]:
    net = space.build(space.sample(np.random.default_rng(1)), task, np.random.default_rng(2))
    shapes: list[tuple[int, ...]] = []
    for cell in net.cells:
        cell.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape[1:])))
    assert net(torch.randn(2, *task.input_shape)).shape == (2, task.num_classes)
    return shapes


@pytest.mark.parametrize(
    ("input_shape", "sizes"),
    [
        ((3, 16, 16), [(16, 16), (8, 8), (8, 8), (4, 4), (4, 4)]),
        ((1, 15), [(15,), (8,), (8,), (4,), (4,)]),
        ((2, 5, 3), [(5, 3), (3, 2), (3, 2), (2, 1), (2, 1)]),
        ((1, 2), [(2,), (1,), (1,), (1,), (1,)]),
    ],
)
def test_reduction_cells_halve_the_resolution_and_double_the_width(
    input_shape: tuple[int, ...], sizes: list[tuple[int, ...]]
) -> None:
    space = CellSpace(nodes=2, ops=SMALL_OPS, cells_per_stage=1, channels=4)
    shapes = _cell_output_shapes(space, Task(input_shape, 3))
    assert [s[1:] for s in shapes] == sizes
    assert [s[0] for s in shapes] == [8, 16, 16, 32, 32]  # nodes * C, C doubling at reductions


def _materialised_fr(d: int, cin: int, cout: int) -> FactorizedReduce:
    with torch.device("meta"):
        module = FactorizedReduce(d, cin, cout)
    module = materialise(module, np.random.default_rng(0)).eval()
    assert isinstance(module, FactorizedReduce)
    return module


@pytest.mark.parametrize(
    ("shape", "out"), [((7,), (4,)), ((1,), (1,)), ((5, 7), (3, 4)), ((6, 9), (3, 5))]
)
def test_factorized_reduce_handles_odd_sizes(shape: tuple[int, ...], out: tuple[int, ...]) -> None:
    fr = _materialised_fr(len(shape), 3, 5)  # odd cout too: 2 + 3 channels
    assert fr(torch.randn(2, 3, *shape)).shape == (2, 5, *out)


@pytest.mark.parametrize("shape", [(8,), (6, 4)])
def test_factorized_reduce_equals_darts_on_even_sizes(shape: tuple[int, ...]) -> None:
    fr = _materialised_fr(len(shape), 3, 4)
    x = torch.randn(2, 3, *shape)
    crop = (slice(None), slice(None)) + (slice(1, None),) * len(shape)
    with torch.no_grad():
        relu = torch.relu(x)
        expected = fr.bn(torch.cat([fr.conv_a(relu), fr.conv_b(relu[crop])], dim=1))
        assert torch.allclose(fr(x), expected)


def test_factorized_reduce_counts() -> None:
    fr = _materialised_fr(2, 6, 8)
    assert count_params(fr) == 2 * 6 * 4 + 2 * 8
    assert count_macs(fr, (6, 5, 5)) == 2 * 6 * 4 * 9  # two 6->4 1x1 convs at 3x3


# ---- constructor validation -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"nodes": 0}, "nodes must be a positive integer, got 0"),
        ({"nodes": True}, "nodes must be a positive integer"),
        ({"cells_per_stage": 0}, "cells_per_stage must be"),
        ({"channels": 2.5}, "channels must be"),
        ({"stem_multiplier": -1}, "stem_multiplier must be"),
        ({"ops": ("sep_conv_3x3", "none")}, "unknown op 'none' .*conv_1x1, conv_3x3"),
        ({"ops": ()}, "non-empty"),
        ({"ops": "sep_conv_3x3"}, "non-empty tuple"),
        ({"ops": ("skip_connect", "skip_connect")}, "repeat"),
    ],
)
def test_constructor_rejects_bad_values(params: dict[str, object], message: str) -> None:
    with pytest.raises(NasbenchError, match=message):
        spaces.create("cell", **params)


def test_unknown_parameter_names_the_valid_ones() -> None:
    with pytest.raises(NasbenchError, match="nodes, ops, cells_per_stage, channels"):
        spaces.create("cell", layers=3)


def test_conv_ops_build_and_count() -> None:
    space = CellSpace(nodes=2, ops=("conv_1x1", "conv_3x3", "dil_conv_5x5", "avg_pool_3x3"))
    arch = space.sample(np.random.default_rng(3))
    task = Task((2, 9, 9), 4)
    net = space.build(arch, task, np.random.default_rng(4))
    counts = space.counts(arch, task)
    assert counts.params == count_params(net) and counts.macs == count_macs(net, (2, 9, 9))
    with torch.no_grad():
        assert math.isfinite(float(net(torch.randn(1, 2, 9, 9)).sum()))
