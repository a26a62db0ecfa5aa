"""Conformance suite for search spaces.

Use it for your own space in one line, ``check_space(MySpace())``, or call the single checks from
a parametrised pytest module (``tests/test_space_conformance.py`` runs them over every registered
space). Each check raises ``AssertionError`` with a message naming the space and architecture.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch

from nasbench.core.errors import NasbenchError
from nasbench.core.modelstats import count_macs, count_params
from nasbench.core.space import SearchSpace
from nasbench.core.types import Architecture, Task

TASKS_1D_2D = (Task((1, 40), 10, "seq"), Task((3, 16, 16), 7, "img"))
"""A 1-D and a 2-D task the checks build every architecture for."""


def _samples(space: SearchSpace, n: int, seed: int = 0) -> list[Architecture]:
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


def check_sampling(space: SearchSpace, n: int = 30) -> None:
    """Samples are valid, and the same seed gives the same sequence of samples."""
    first, again = _samples(space, n), _samples(space, n)
    assert first == again, f"{space.name}: same seed gave different samples"
    for arch in first:
        space.validate(arch)
        assert arch.space == space.name
        assert all(isinstance(v, str) for v in arch.values), f"{space.name}: non-str value"
    card = space.cardinality()
    if card is None or card > 10 * n:
        assert len(set(first)) > 1, f"{space.name}: {n} samples are all identical"
        assert first != _samples(space, n, seed=1), f"{space.name}: seed 0 and 1 sample alike"


def check_decisions(space: SearchSpace, n: int = 30) -> None:
    """``next_decision`` stays inside the universe ``decisions()`` lists (and is
    ``decisions()[i]`` itself in a space that declares ``fixed_decisions``)."""
    universe = {d.name: set(d.choices) for d in space.decisions()}
    assert len(universe) == len(space.decisions()), f"{space.name}: duplicate decision names"
    for arch in _samples(space, n):
        for i in range(len(arch.values) + 1):
            decision = space.next_decision(arch.values[:i])
            if decision is None:
                assert i == len(arch.values), f"{space.name}: sequence ends early"
                continue
            assert decision.name in universe, f"{space.name}: {decision.name!r} not in universe"
            assert set(decision.choices) <= universe[decision.name], (
                f"{space.name}: decision {decision.name!r} offers choices outside its universe"
            )
            if getattr(space, "fixed_decisions", False):
                assert decision == space.decisions()[i], (
                    f"{space.name}: declares fixed_decisions, but decision {i} after "
                    f"{arch.values[:i]} is {decision.name!r}, not decisions()[{i}]"
                )


def check_mutation(space: SearchSpace, n: int = 30) -> None:
    """Mutation gives a valid, different architecture and leaves the parent unchanged."""
    rng = np.random.default_rng(1)
    for arch in _samples(space, n):
        before = (arch.values, arch.text, arch.key)
        child = space.mutate(arch, rng)
        space.validate(child)
        assert child != arch, f"{space.name}: mutate returned its parent {arch}"
        assert (arch.values, arch.text, arch.key) == before, f"{space.name}: parent changed"
    a = _samples(space, n)
    r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
    assert [space.mutate(x, r1) for x in a] == [space.mutate(x, r2) for x in a], (
        f"{space.name}: mutation is not deterministic for a fixed rng"
    )


def check_neighbours(space: SearchSpace, n: int = 5) -> None:
    """Neighbours are valid, distinct, exclude the architecture, and come in a fixed order."""
    for arch in _samples(space, n):
        hood = space.neighbours(arch)
        assert hood, f"{space.name}: {arch} has no neighbours"
        assert arch not in hood, f"{space.name}: {arch} is its own neighbour"
        assert len(set(hood)) == len(hood), f"{space.name}: repeated neighbours of {arch}"
        assert hood == space.neighbours(arch), f"{space.name}: neighbour order varies"
        for nb in hood[:50]:
            space.validate(nb)


def check_string_round_trip(space: SearchSpace, n: int = 30) -> None:
    """``parse(format(a)) == a`` with the same text and key; malformed strings raise."""
    for arch in _samples(space, n):
        text = space.format(arch)
        assert text == str(arch) == arch.text, f"{space.name}: text forms disagree for {arch}"
        back = space.parse(text)
        assert back == arch and back.text == text and back.key == arch.key, (
            f"{space.name}: round trip of {text!r} gave {back.text!r}"
        )
    text = space.format(_samples(space, 1)[0])
    for bad in ("", "@@not-an-architecture@@", text + "|x", text[: len(text) // 2] + "?"):
        try:
            space.parse(bad)
        except NasbenchError:
            continue
        raise AssertionError(f"{space.name}: malformed string {bad!r} parsed without error")


def check_encoding(space: SearchSpace, n: int = 30) -> None:
    """Encodings have one fixed length, are finite float32 and tell different archs apart."""
    archs = _samples(space, n)
    codes = np.stack([space.encode(a) for a in archs])
    assert codes.shape == (n, space.encoding_size), f"{space.name}: encoding shape {codes.shape}"
    assert codes.dtype == np.float32 and np.isfinite(codes).all()
    for a, code in zip(archs, codes, strict=True):
        assert np.array_equal(space.encode(a), code), f"{space.name}: encoding not deterministic"
    distinct = {a.values: code.tobytes() for a, code in zip(archs, codes, strict=True)}
    assert len(set(distinct.values())) == len(distinct), f"{space.name}: encodings collide"


def check_graph(space: SearchSpace, n: int = 10) -> None:
    """Graph form: square 0/1 adjacency, upper triangular (topological order), labelled nodes."""
    for arch in _samples(space, n):
        g = space.graph(arch)
        size = len(g.node_labels)
        assert g.adjacency.shape == (size, size), f"{space.name}: adjacency shape mismatch"
        assert set(np.unique(g.adjacency)) <= {0, 1}
        assert not np.tril(g.adjacency).any(), f"{space.name}: graph not in topological order"
        for i, j, op in g.edge_labels:
            assert g.adjacency[i, j] == 1 and op, f"{space.name}: edge label off the graph"
        flat = g.to_node_labelled()
        assert not np.tril(flat.adjacency).any()


def check_build(space: SearchSpace, n: int = 4, tasks: tuple[Task, ...] = TASKS_1D_2D) -> None:
    """Networks build for 1-D and 2-D tasks, give the right output shape, and the analytic
    parameter and MAC counts equal the built module's."""
    rng = np.random.default_rng(2)
    for arch in _samples(space, n):
        for task in tasks:
            net = space.build(arch, task, rng)
            out = net(torch.randn((2, *task.input_shape)))
            assert out.shape == (2, task.num_classes), (
                f"{space.name}: {arch} on {task.input_shape} gave {tuple(out.shape)}"
            )
            counts = space.counts(arch, task)
            assert counts.params == count_params(net), (
                f"{space.name}: {arch} on {task.input_shape}: counts() says {counts.params} "
                f"params, module has {count_params(net)}"
            )
            macs = count_macs(net, task.input_shape)
            assert counts.macs == macs, (
                f"{space.name}: {arch} on {task.input_shape}: counts() says {counts.macs} MACs, "
                f"module does {macs}"
            )


def check_build_deterministic(space: SearchSpace) -> None:
    """The same rng state gives the same initial weights."""
    arch, task = _samples(space, 1)[0], TASKS_1D_2D[0]
    a = space.build(arch, task, np.random.default_rng(3)).state_dict()
    b = space.build(arch, task, np.random.default_rng(3)).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a), f"{space.name}: build not deterministic"


def check_canonical(space: SearchSpace, n: int = 30) -> None:
    """Keys are stable and idempotent: the canonical form is a fixed point with the same key."""
    for arch in _samples(space, n):
        canon = space.canonicalize(arch)
        space.validate(canon)
        assert canon.key == arch.key, f"{space.name}: canonicalize changed the key of {arch}"
        assert space.canonicalize(canon) == canon, f"{space.name}: canonicalize not idempotent"
        assert space.make(arch.values).key == arch.key


def _numpy_global_state() -> tuple[bytes, int, int, float]:
    state = np.random.get_state(legacy=False)  # noqa: NPY002 (reading, to check it)
    inner = state["state"]
    return inner["key"].tobytes(), inner["pos"], state["has_gauss"], state["gauss"]


@contextmanager
def _global_rng_unchanged(name: str) -> Iterator[None]:
    py, np_state, torch_state = random.getstate(), _numpy_global_state(), torch.get_rng_state()
    yield
    assert random.getstate() == py, f"{name}: Python's global random state changed"
    assert _numpy_global_state() == np_state, f"{name}: numpy's global random state changed"
    assert torch.equal(torch.get_rng_state(), torch_state), f"{name}: torch's global RNG changed"


def check_no_global_rng(space: SearchSpace) -> None:
    """Sampling, mutation, neighbours and building leave all global RNG states untouched."""
    with _global_rng_unchanged(space.name):
        rng = np.random.default_rng(4)
        arch = space.sample(rng)
        space.mutate(arch, rng)
        space.neighbours(arch)
        space.build(arch, TASKS_1D_2D[0], rng)


def enumerate_space(space: SearchSpace, limit: int) -> int:
    """Count every complete decision sequence by walking the decision tree; stop past ``limit``."""
    count = 0
    stack: list[tuple[str, ...]] = [()]
    while stack:
        prefix = stack.pop()
        decision = space.next_decision(prefix)
        if decision is None:
            count += 1
            if count > limit:
                return count
            continue
        stack.extend((*prefix, c) for c in decision.choices)
    return count


def check_cardinality(space: SearchSpace, limit: int = 20_000) -> None:
    """Where the space is small enough to enumerate, ``cardinality()`` equals the count."""
    card = space.cardinality()
    if card is None or card > limit:
        return
    assert enumerate_space(space, limit) == card, f"{space.name}: cardinality() is not exact"


ALL_CHECKS: tuple[Callable[[SearchSpace], None], ...] = (
    check_sampling,
    check_decisions,
    check_mutation,
    check_neighbours,
    check_string_round_trip,
    check_encoding,
    check_graph,
    check_build,
    check_build_deterministic,
    check_canonical,
    check_no_global_rng,
    check_cardinality,
)


def check_space(space: SearchSpace) -> None:
    """Run every conformance check on ``space``."""
    for check in ALL_CHECKS:
        check(space)
