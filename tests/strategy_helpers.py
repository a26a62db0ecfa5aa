"""Shared helpers for driving search strategies with a synthetic objective on NAS-Bench-201.

The objective is the fraction of the 6 cell edges that are 3x3 convolutions; cells whose first
edge is ``none`` (a fifth of the space) are reported infeasible (``nan``), as a hard budget
constraint would.
"""

from __future__ import annotations

import math
from typing import TypeVar

from nasbench.core.registry import spaces
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo, Strategy
from nasbench.core.types import Architecture, Budget, Observation, Status

SPACE = spaces.create("nb201")
INFO = SearchInfo(fidelity=12.0, fidelities=(), budget=Budget(evaluations=150))
CONV = "nor_conv_3x3"

S = TypeVar("S", bound=Strategy)


def objective(arch: Architecture) -> float:
    """Share of 3x3 convolutions among the edges; ``nan`` when the first edge is ``none``."""
    if arch.values[0] == "none":
        return math.nan
    return arch.values.count(CONV) / 6


def observe(trial: int, arch: Architecture, value: float | None = None) -> Observation:
    """An OK observation at fidelity 12 of ``value`` (default: the objective); feasible unless
    the value is ``nan``."""
    y = objective(arch) if value is None else value
    return Observation(trial, arch, 12.0, y, y, 1.0, not math.isnan(y), Status.OK)


def start(
    strategy: S,
    seed: int,
    strategy_seed: int | None = None,
    space: SearchSpace = SPACE,
    info: SearchInfo = INFO,
) -> S:
    """Start ``strategy`` on the ``seed`` role streams (``strategy_seed`` overrides the
    strategy stream only) and return it."""
    rng = role_rng(seed if strategy_seed is None else strategy_seed, "strategy")
    strategy.start(space, info, rng, role_rng(seed, "initial_design"))
    return strategy


def drive(strategy: Strategy, evaluations: int, first_trial: int = 0) -> list[Observation]:
    """The runner's loop, one proposal at a time: ask(1), observe, tell([obs])."""
    observed = []
    for trial in range(first_trial, first_trial + evaluations):
        (proposal,) = strategy.ask(1)
        obs = observe(trial, proposal.arch)
        strategy.tell([obs])
        observed.append(obs)
    return observed


def texts(observed: list[Observation]) -> list[str]:
    """The observed architectures' strings."""
    return [str(o.arch) for o in observed]


def drive_texts(strategy: Strategy, evaluations: int, first_trial: int = 0) -> list[str]:
    """The architecture strings ``drive`` proposes."""
    return texts(drive(strategy, evaluations, first_trial))
