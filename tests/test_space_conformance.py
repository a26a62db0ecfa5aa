"""The public space conformance suite, run over every registered space and extra configurations."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from nasbench.core.registry import spaces
from nasbench.core.space import SearchSpace
from nasbench.testing.spaces import ALL_CHECKS

# Non-default configurations worth checking beside each registered space's defaults.
EXTRA_CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("chain", {"max_layers": 3}),
    ("multibranch", {"layers": 4, "merge": "concat"}),
    ("cell", {"nodes": 2, "ops": ("sep_conv_3x3", "max_pool_3x3", "skip_connect")}),
    ("hierarchical", {"preset": "single_path"}),
    ("hierarchical", {"preset": "tas"}),
]
CONFIGS = [(name, {}) for name in spaces.names()] + EXTRA_CONFIGS


@cache
def _space(index: int) -> SearchSpace:
    name, params = CONFIGS[index]
    space: SearchSpace = spaces.create(name, **params)
    return space


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("index", range(len(CONFIGS)), ids=[f"{n}{p or ''}" for n, p in CONFIGS])
def test_space_conformance(index: int, check: Any) -> None:
    check(_space(index))


def test_every_builtin_space_is_registered() -> None:
    assert {"chain", "multibranch", "cell", "nb201", "hierarchical"} <= set(spaces.names())


@pytest.mark.parametrize("name", ["nb201", "multibranch"])
def test_fixed_decisions_sample_and_mutate_as_the_walk_does(name: str) -> None:
    """The fast paths of a fixed-decision space draw the same numbers and make the same
    architectures as the generic walk over the decisions (records stay identical)."""
    import numpy as np

    fast = spaces.create(name)
    walk = spaces.create(name)
    walk.fixed_decisions = False  # the generic machinery, on an instance of the same space
    assert type(fast).fixed_decisions
    for seed in range(20):
        rf, rw = np.random.default_rng(seed), np.random.default_rng(seed)
        a, b = fast.sample(rf), walk.sample(rw)
        assert (a.values, a.text, a.key, a.names) == (b.values, b.text, b.key, b.names)
        for _ in range(30):
            a, b = fast.mutate(a, rf), walk.mutate(b, rw)
            assert (a.values, a.text, a.key, a.names) == (b.values, b.text, b.key, b.names)
        assert rf.integers(2**62) == rw.integers(2**62)  # the streams stay in step


def test_a_space_that_wrongly_declares_fixed_decisions_fails_the_kit() -> None:
    from nasbench.testing.spaces import check_decisions

    space = spaces.create("chain", max_layers=3)
    space.fixed_decisions = True  # chain's choices depend on earlier layers
    with pytest.raises(AssertionError, match="declares fixed_decisions"):
        check_decisions(space)
