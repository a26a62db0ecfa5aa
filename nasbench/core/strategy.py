"""The strategy role: propose architectures, learn from observations.

The runner drives every strategy through the same ask/tell loop (pymoo/Optuna style)::

    strategy.start(space, info, rng, initial_rng)
    while budget left:
        proposals = strategy.ask(1)            # draws only from the generators given to start
        ... runner evaluates, charges, records ...
        strategy.tell(observations)            # validation metrics, cost, constraints; no test

A strategy never sees an evaluator, a benchmark table or a test metric. ``initial_rng`` is the
shared ``"initial_design"`` stream of the seed: every strategy that starts from random
architectures must draw them from it, in order, so that for one seed all such strategies start
from the same initial design (Syne Tune's fairness rule). A strategy keeps no serialised state:
the runner resumes a run by replaying its journal (docs/architecture.md, "Resume"), so a fresh
instance started with the same generators and told the same observations must propose the same
architectures (:func:`nasbench.testing.strategies.check_resumes_by_replay`).

The runner calls a strategy through :mod:`nasbench.core.plugins`, built-ins included: ``ask(n)``
must
return a list of ``n`` :class:`~nasbench.core.types.Proposal` whose architectures the space
validates; anything else, or an exception other than NasbenchError from ``start``, ``ask`` or
``tell``, is one NasbenchError naming the strategy and the method (``strategy 'my.mod:Bad' tell
raised KeyError: 'x'``), printed by the CLI as one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from nasbench.core.space import SearchSpace
from nasbench.core.types import Budget, Constraint, Observation, Proposal


@dataclass(frozen=True)
class SearchInfo:
    """What a strategy may know about the search besides the space: the default fidelity, the
    fidelities the evaluator offers (empty: any), the budget (its constraint mode and
    limits; the runner, not the strategy, enforces it) and the name of the task's dataset
    (``None`` when the evaluator does not say), which gradient strategies train on."""

    fidelity: float
    fidelities: tuple[float, ...]
    budget: Budget
    dataset: str | None = None  # the task's dataset, for strategies that train a supernet

    @property
    def constraint(self) -> Constraint:
        return self.budget.constraint


@runtime_checkable
class Strategy(Protocol):
    """A search strategy. Constructors store (and validate) hyperparameters only; learned state
    ends in ``_``.

    Class attributes: ``initial_design`` is ``"shared"`` when the first ``initial_size_``
    proposals (set by ``start``) are ``space.sample(initial_rng)`` in order, else ``"none"``;
    ``paper`` cites the algorithm; ``sources`` names, per constructor hyperparameter, where its
    default comes from (``nasbench strategies`` prints them).
    """

    initial_design: ClassVar[str]
    paper: ClassVar[str]
    sources: ClassVar[dict[str, str]]

    def start(
        self,
        space: SearchSpace,
        info: SearchInfo,
        rng: np.random.Generator,
        initial_rng: np.random.Generator,
    ) -> None:
        """Begin a search; keep the generators, draw from nothing else."""
        ...

    def ask(self, n: int = 1) -> list[Proposal]:
        """``n`` proposals to evaluate next."""
        ...

    def tell(self, observations: Sequence[Observation]) -> None:
        """Results of earlier proposals, in any order; failed or infeasible ones have
        ``objective == nan``."""
        ...
