"""Core types, seeding and the plugin registry."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest

from nasbench.core import registry
from nasbench.core.errors import NasbenchError
from nasbench.core.seeding import role_rng, seed_sequence, torch_generator
from nasbench.core.types import ArchGraph, Architecture, Budget, Constraint, Decision, Task


def test_architecture_equality_ignores_derived_fields() -> None:
    a = Architecture("s", ("x", "y"), text="x|y", key="k1")
    b = Architecture("s", ("x", "y"), text="other", key="k2")
    assert a == b and hash(a) == hash(b)
    assert a != Architecture("t", ("x", "y"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.values = ("z",)  # type: ignore[misc]


def test_decision_rejects_empty_and_repeated_choices() -> None:
    with pytest.raises(NasbenchError, match="no choices"):
        Decision("d", ())
    with pytest.raises(NasbenchError, match="repeats"):
        Decision("d", ("a", "a"))


def test_task_shapes() -> None:
    assert Task((1, 40), 10).spatial_dims == 1
    assert Task((3, 32, 32), 10).spatial_dims == 2
    for bad in ((40,), (1, 2, 3, 4), (0, 40)):
        with pytest.raises(NasbenchError, match="input shape"):
            Task(bad, 10)
    with pytest.raises(NasbenchError, match="2 classes"):
        Task((1, 40), 1)


@pytest.mark.parametrize("sparsity", [-0.1, 1.0, 1.5, math.nan])
def test_budget_rejects_sparsity_outside_unit_interval(sparsity: float) -> None:
    with pytest.raises(NasbenchError, match="sparsity must be in"):
        Budget(cost_s=100, sparsity=sparsity)


def test_budget_rules() -> None:
    b = Budget(
        cost_s=12000, sparsity=0.9, latency_ms=4.0, latency_device="pixel3", constraint="soft"
    )  # type: ignore[arg-type]
    assert b.constraint is Constraint.SOFT and b.soft_weight == -0.07
    with pytest.raises(NasbenchError, match="cost_s and/or evaluations"):
        Budget()
    with pytest.raises(NasbenchError, match="go together"):
        Budget(evaluations=10, latency_ms=4.0)
    with pytest.raises(NasbenchError, match="must be positive"):
        Budget(evaluations=0)
    with pytest.raises(ValueError):
        Budget(evaluations=1, constraint="medium")  # type: ignore[arg-type]


def test_role_streams_are_reproducible_and_independent() -> None:
    a1 = role_rng(7, "strategy").integers(0, 2**32, 8)
    a2 = role_rng(7, "strategy").integers(0, 2**32, 8)
    b = role_rng(7, "initial_design").integers(0, 2**32, 8)
    c = role_rng(8, "strategy").integers(0, 2**32, 8)
    assert np.array_equal(a1, a2)
    assert not np.array_equal(a1, b) and not np.array_equal(a1, c)
    # keyed by name: adding roles never changes another role's stream
    both = {role: role_rng(7, role) for role in ("initial_design", "strategy")}
    assert np.array_equal(both["strategy"].integers(0, 2**32, 8), a1)
    # the stream is pinned: a change here changes every published result
    assert int(role_rng(0, "strategy").integers(0, 10**9)) == int(
        np.random.Generator(np.random.PCG64(seed_sequence(0, "strategy"))).integers(0, 10**9)
    )


def test_seeds_must_be_non_negative_integers() -> None:
    for bad in (-1, 1.5, "3"):
        with pytest.raises(NasbenchError, match="seed"):
            role_rng(bad, "x")  # type: ignore[arg-type]


def test_torch_generator_follows_the_numpy_stream() -> None:
    import torch

    g1 = torch_generator(np.random.default_rng(3))
    g2 = torch_generator(np.random.default_rng(3))
    assert torch.equal(torch.rand(4, generator=g1), torch.rand(4, generator=g2))


def test_graph_to_node_labelled_keeps_topological_order() -> None:
    adj = np.zeros((3, 3), dtype=np.int8)
    adj[0, 1] = adj[1, 2] = adj[0, 2] = 1
    g = ArchGraph(adj, ("in", "mid", "out"), ((0, 2, "conv"), (1, 2, "pool")))
    flat = g.to_node_labelled()
    assert flat.node_labels == ("in", "mid", "conv", "pool", "out")
    assert not np.tril(flat.adjacency).any()
    assert {tuple(e) for e in np.argwhere(flat.adjacency)} == {
        (0, 1),
        (0, 2),
        (2, 4),
        (1, 3),
        (3, 4),
    }


class _Toy:
    def __init__(self, width: int, depth: int = 2) -> None:
        self.width, self.depth = width, depth


def test_registry_create_checks_parameters() -> None:
    reg: registry.Registry[_Toy] = registry.Registry("toy", "nasbench.toys", "nasbench.core.types")
    reg.add("toy", _Toy)
    assert reg.create("toy", width=3).depth == 2
    with pytest.raises(NasbenchError, match=r"unknown parameter 'height' .*valid: width, depth"):
        reg.create("toy", width=1, height=2)
    with pytest.raises(NasbenchError, match="needs parameter"):
        reg.create("toy")
    with pytest.raises(NasbenchError, match=r"unknown toy 'nope' \(valid: toy\)"):
        reg.get("nope")
    with pytest.raises(NasbenchError, match="snake_case"):
        reg.add("BadName", _Toy)
    with pytest.raises(NasbenchError, match="already registered"):
        reg.add("toy", dict)  # type: ignore[arg-type]
    assert reg.get("fractions:Fraction") is Fraction
    with pytest.raises(NasbenchError, match="cannot import"):
        reg.get("no_such_module_xyz:Thing")
    with pytest.raises(NasbenchError, match="has no attribute"):
        reg.get("fractions:Missing")
    with pytest.raises(NasbenchError, match="is not a class"):
        reg.get("math:pi")


def test_registry_loads_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    good = SimpleNamespace(name="third_party", value="tests.test_core:_Toy", load=lambda: _Toy)

    def broken_load() -> type:
        raise ImportError("boom")

    broken = SimpleNamespace(name="broken", value="x:y", load=broken_load)
    monkeypatch.setattr(registry, "entry_points", lambda group: [good, broken])
    reg: registry.Registry[_Toy] = registry.Registry("toy", "nasbench.toys", "nasbench.core.types")
    assert reg.names() == ["third_party"]  # the broken plugin is skipped with a warning
    assert reg.get("third_party") is _Toy


def test_builtin_registries_name_their_entry_point_groups() -> None:
    groups = {
        r.group
        for r in (registry.spaces, registry.strategies, registry.evaluators, registry.surrogates)
    }
    assert groups == {
        "nasbench.spaces",
        "nasbench.strategies",
        "nasbench.evaluators",
        "nasbench.surrogates",
    }
