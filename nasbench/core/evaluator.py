"""The evaluator role: measure an architecture at a fidelity.

Constructor convention (so the runner can build any evaluator from a suite's ``[[task]]``
table): keyword parameters from the task table (e.g. ``benchmark = "nb201-cifar10"``), plus
``space`` (the :class:`~nasbench.core.space.SearchSpace` instance), ``latency_device`` (``None`` or
a device name; unknown names raise NasbenchError listing the known ones) and ``sparsity`` (the
budget's target, ``0 <= s < 1``), which the runner passes from the budget.

``evaluate`` returns a :class:`~nasbench.core.types.Measurement`: accuracies as fractions in [0, 1],
``cost_s`` the simulated seconds this evaluation spends (recorded or measured training time), and
``latency_ms`` on ``latency_device`` (``nan`` without one). Evaluators never charge the budget:
only the runner does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from nasbench.core.types import Architecture, Measurement


@dataclass(frozen=True)
class Profile:
    """What an architecture costs to run, known without training it."""

    latency_ms: float
    params: int
    macs: int


@runtime_checkable
class Evaluator(Protocol):
    """The evaluation role: answers what one architecture scores at one fidelity (a table
    look-up, a surrogate's prediction, a training run, a proxy). The runner charges the
    ``cost_s`` of each :class:`~nasbench.core.types.Measurement` to the budget and hands
    ``evaluate`` a noise stream of its own per (architecture, repeat), so two strategies that
    propose the same architecture see the same answer (common random numbers). Evaluators that
    know a network's size before training also implement :class:`Profiling`; those that start a
    child from its parent's weights, :class:`Inheriting`."""

    fidelities: tuple[float, ...]
    """Fidelities this evaluator answers (empty: any positive value)."""

    default_fidelity: float

    def evaluate(
        self, arch: Architecture, fidelity: float, rng: np.random.Generator
    ) -> Measurement:
        """Measure ``arch`` at ``fidelity``; draws noise (if any) from ``rng`` only. Raises
        NasbenchError for an architecture the evaluator cannot answer (wrong space, not in a
        table)."""
        ...


@runtime_checkable
class Profiling(Protocol):
    """Evaluators that know latency, parameters and MACs before training also implement
    ``profile``; the runner then rejects hard-infeasible proposals without charging them (see
    :mod:`nasbench.engine.budget`)."""

    def profile(self, arch: Architecture) -> Profile: ...


@runtime_checkable
class Inheriting(Protocol):
    """Evaluators that start an architecture from its parent's trained weights (network
    morphism, weight inheritance) also implement ``evaluate_child``: the runner calls it instead
    of ``evaluate`` for a proposal that names its ``parent``
    (:class:`~nasbench.core.types.Proposal`), with the same noise stream ``evaluate`` would get.
    ``replay_child`` is ``replay`` (:class:`~nasbench.engine.runner.Replayable`) for such a
    proposal: a resumed run calls it, in order, with each journaled measurement of a child, and
    it must leave the evaluator as that ``evaluate_child`` call would have, spending no compute."""

    def evaluate_child(
        self, arch: Architecture, parent: Architecture, fidelity: float, rng: np.random.Generator
    ) -> Measurement:
        """Measure ``arch`` at ``fidelity``, starting from what ``parent``'s evaluation left
        (as :meth:`Evaluator.evaluate` when it left nothing usable); draws from ``rng`` only."""
        ...

    def replay_child(
        self, arch: Architecture, parent: Architecture, fidelity: float, measurement: Measurement
    ) -> None: ...
