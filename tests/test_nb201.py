"""NAS-Bench-201: strings, network size and isomorphism classes against the real benchmark."""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np
import pytest
import torch

import nasbench.spaces.nb201  # noqa: F401  (registers the space)
from nasbench.core.errors import NasbenchError
from nasbench.core.registry import spaces
from nasbench.core.tasks import task_for
from nasbench.core.types import Task

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
TASKS = {
    "c10": task_for("cifar10"),
    "c100": task_for("cifar100"),
    "in16": task_for("imagenet16_120"),
}


@pytest.fixture(scope="module")
def space():
    return spaces.create("nb201")


def test_hand_counted_parameters(space) -> None:
    # index 0 of the benchmark: two 1x1 convs (ReLU-conv-BN) per cell, 5 cells per stage
    arch = space.parse(
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    )
    stem = 3 * 16 * 9 + 32
    cells = 5 * 2 * sum(c * c + 2 * c for c in (16, 32, 64))
    reductions = sum(
        ci * co * 9 + 2 * co + co * co * 9 + 2 * co + ci * co for ci, co in ((16, 32), (32, 64))
    )
    head = 2 * 64 + 64 * 10 + 10
    assert space.counts(arch, TASKS["c10"]).params == stem + cells + reductions + head == 129306


def test_all_strings_round_trip(space, nb201_reference) -> None:
    assert len(nb201_reference) == space.cardinality() == 15625
    for row in nb201_reference:
        assert space.format(space.parse(row["arch_str"])) == row["arch_str"]


def test_parameter_counts_match_the_benchmark(space, nb201_reference) -> None:
    archs = [space.parse(r["arch_str"]) for r in nb201_reference]
    for prefix, task in TASKS.items():
        ours = np.array([space.counts(a, task).params for a in archs]) / 1e6
        theirs = np.array([r[f"{prefix}_params_M"] for r in nb201_reference])
        exact = np.isclose(ours, theirs, rtol=0, atol=5e-7)  # the column has 6 decimals
        # the documented quirk: 150 cells carry the count of an isomorphic cell trained instead
        assert (~exact).sum() == 150
        by_key = defaultdict(set)
        for a, n in zip(archs, ours, strict=True):
            by_key[a.key].add(round(n, 6))
        for a, n in zip(archs, theirs, strict=True):
            assert round(n, 6) in by_key[a.key]


def test_canonical_keys_are_the_benchmarks_unique_strings(space, nb201_reference) -> None:
    keys = [space.parse(r["arch_str"]).key for r in nb201_reference]
    assert keys == [r["unique_str"] for r in nb201_reference]
    assert len(set(keys)) == 6466


def test_canonicalize_picks_the_first_member_in_op_order(space) -> None:
    # a skip edge into a node whose only other input is zero: all-none cells collapse to one class
    a = space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    b = space.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert a.key == b.key
    assert space.canonicalize(b) == a == space.canonicalize(a)
    c = space.parse(BEST)
    assert space.canonicalize(c) == c


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "3 '+'-separated nodes"),
        ("|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'conv_7x7'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "expected 'op~0'"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 needs 2 inputs"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must look like"),
    ],
)
def test_malformed_strings_name_the_problem(space, text, message) -> None:
    with pytest.raises(NasbenchError, match=re.escape(message)):
        space.parse(text)


def test_network_structure(space) -> None:
    net = space.build(space.parse(BEST), Task((3, 32, 32), 10), np.random.default_rng(0))
    cells = [m for m in net if type(m).__name__ == "NB201Cell"]
    assert len(cells) == 15
    assert [c.edges[0][1].out_channels for c in cells[::5]] == [16, 32, 64]
    out = net(torch.zeros(4, 3, 32, 32))
    assert out.shape == (4, 10)


def test_one_dimensional_network_halves_length_twice(space) -> None:
    net = space.build(space.parse(BEST), task_for("mnist1d"), np.random.default_rng(0))
    seen = []
    x = torch.zeros(1, 1, 40)
    for layer in net:
        x = layer(x)
        if x.dim() == 3:
            seen.append(x.shape[-1])
    assert seen[0] == 40 and seen[-1] == 10


def test_none_and_skip_cells_differ_in_output(space) -> None:
    rng = np.random.default_rng(0)
    task = Task((3, 8, 8), 10)
    zero = space.build(space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"), task, rng)
    skip = space.build(
        space.parse("|skip_connect~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|"), task, rng
    )
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(2, 3, 8, 8, generator=gen), torch.randn(2, 3, 8, 8, generator=gen)
    zero.eval()
    skip.eval()
    # a zero cell makes the output independent of the input
    assert torch.allclose(zero(x), zero(y), atol=1e-6)
    assert not torch.allclose(skip(x), skip(y))
