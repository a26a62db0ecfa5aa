"""The DARTS slot-symmetry count (experiments/darts_symmetry.py): same-operation nodes, the count
expected from each slot's operation frequencies, and the shuffled-slot p-value."""

from __future__ import annotations

import pytest

from experiments import darts_symmetry as ds

ARCH = (
    "normal=sep_conv_3x3~0,sep_conv_3x3~1|skip_connect~2,max_pool_3x3~0|"
    "sep_conv_3x3~1,sep_conv_3x3~3|avg_pool_3x3~4,skip_connect~2;"
    "reduce=max_pool_3x3~0,max_pool_3x3~1|avg_pool_3x3~2,max_pool_3x3~1|"
    "skip_connect~0,dil_conv_3x3~3|max_pool_3x3~4,max_pool_3x3~0"
)


def test_nodes_and_same_operation_count() -> None:
    nodes = ds.node_ops(ARCH)
    assert len(nodes) == 8 and nodes[0] == ("normal", "sep_conv_3x3", "sep_conv_3x3")
    assert nodes[4] == ("reduce", "max_pool_3x3", "max_pool_3x3")
    assert ds.same_op_nodes(ARCH) == (4, 8)  # two in each cell


def test_expected_count_keeps_each_slots_frequencies() -> None:
    # first slots a a b b, second slots a b a b: independent draws match with 1/2 per node
    nodes = [("n", "a", "a"), ("n", "a", "b"), ("n", "b", "a"), ("n", "b", "b")]
    assert ds.expected_same(nodes) == pytest.approx(2.0)
    # per cell: a cell of only "c" adds all its nodes, whatever the other cell holds
    assert ds.expected_same([*nodes, ("r", "c", "c"), ("r", "c", "c")]) == pytest.approx(4.0)


def test_shuffled_slots_tell_coupling_from_preference() -> None:
    ops = ["a", "b", "c", "d"]
    coupled = [("n", op, op) for op in ops * 10]  # every node repeats; frequencies uniform
    assert ds.permutation_p(coupled, draws=2000) < 0.01
    rotated = [("n", op, ops[(i + 1) % 4]) for i, op in enumerate(ops * 10)]  # never repeats
    assert ds.permutation_p(rotated, draws=2000) == 1.0
    assert ds.permutation_p(coupled, draws=500) == ds.permutation_p(coupled, draws=500)  # seeded
