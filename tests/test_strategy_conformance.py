"""The public strategy conformance suite over every registered strategy and every space."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from nasbench.registry import spaces, strategies
from nasbench.space import SearchSpace
from nasbench.testing.strategies import ALL_CHECKS, check_fresh_process, check_metadata

STRATEGIES = strategies.names()
SPACES = spaces.names()


@cache
def _space(name: str) -> SearchSpace:
    space: SearchSpace = spaces.create(name)
    return space


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_conformance(strategy: str, space: str, check: Any) -> None:
    check(lambda: strategies.create(strategy), _space(space))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_metadata(strategy: str) -> None:
    check_metadata(lambda: strategies.create(strategy))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_same_proposals_in_a_fresh_process(strategy: str) -> None:
    # chain: variable length and prefix-dependent choices, the hardest case for determinism
    check_fresh_process(strategy, _space("chain"))


def test_builtin_strategies_are_registered() -> None:
    assert {"random", "regularized_evolution"} <= set(STRATEGIES)
