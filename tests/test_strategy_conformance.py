"""The public strategy conformance suite over every registered strategy and every space.

Strategies that train a supernet (a ``conformance`` ClassVar of tiny hyperparameters) run on
small versions of the spaces (:data:`SMALL_SPACES`); spaces a strategy does not support (its
``spaces`` ClassVar) are skipped with the reason.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from nasbench.core.registry import spaces, strategies
from nasbench.core.space import SearchSpace
from nasbench.testing.strategies import (
    ALL_CHECKS,
    SMALL_SPACES,
    check_fresh_process,
    check_metadata,
    conformance_params,
    trains_supernet,
    unsupported,
)

STRATEGIES = strategies.names()
SPACES = spaces.names()


@cache
def _space(name: str, small: bool = False) -> SearchSpace:
    space: SearchSpace = spaces.create(name, **(SMALL_SPACES.get(name, {}) if small else {}))
    return space


def _setup(strategy: str, space: str) -> tuple[Any, SearchSpace]:
    cls = strategies.get(strategy)
    reason = unsupported(cls, space)
    if reason is not None:
        pytest.skip(reason)
    params = conformance_params(cls)
    return (lambda: strategies.create(strategy, **params)), _space(space, trains_supernet(cls))


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_conformance(strategy: str, space: str, check: Any) -> None:
    factory, space_ = _setup(strategy, space)
    check(factory, space_)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_metadata(strategy: str) -> None:
    check_metadata(lambda: strategies.create(strategy))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_same_proposals_in_a_fresh_process(strategy: str) -> None:
    # chain: variable length and prefix-dependent choices, the hardest case for determinism
    cls = strategies.get(strategy)
    name = "chain" if unsupported(cls, "chain") is None else cls.spaces[0]
    small = trains_supernet(cls)
    space_params = SMALL_SPACES.get(name, {}) if small else {}
    check_fresh_process(strategy, _space(name, small), conformance_params(cls), space_params)


def test_builtin_strategies_are_registered() -> None:
    assert {"random", "regularized_evolution", "darts", "gdas", "single_path", "tas"} <= set(
        STRATEGIES
    )
