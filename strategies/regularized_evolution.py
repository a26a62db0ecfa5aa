"""Regularized (aging) evolution with tournament selection.

>>> from nasbench.core.registry import spaces
>>> from nasbench.core.seeding import role_rng
>>> from nasbench.core.strategy import SearchInfo
>>> from nasbench.core.types import Budget, Observation, Status
>>> space = spaces.create("nb201")
>>> search = RegularizedEvolution(population=10, sample_size=3)
>>> info = SearchInfo(fidelity=12.0, fidelities=(), budget=Budget(evaluations=60))
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> best = 0.0
>>> for trial in range(60):
...     (proposal,) = search.ask(1)
...     score = proposal.arch.values.count("nor_conv_3x3") / 6  # a synthetic objective
...     best = max(best, score)
...     search.tell([Observation(trial, proposal.arch, 12.0, score, score, 1.0, True, Status.OK)])
>>> len(search.population_)  # aging keeps the 10 most recently observed
10
>>> best >= 4 / 6  # 4 of the 6 edges are 3x3 convolutions
True

The algorithm is Algorithm 1 of Real, Aggarwal, Huang & Le, "Regularized Evolution for Image
Classifier Architecture Search" (AAAI 2019), with the defaults of the NAS-Bench-201 protocol
(Dong & Yang, ICLR 2020): population ``P = 10``, sample size ``S = 3``.

1. The first ``P`` proposals are random architectures, ``space.sample(initial_rng)`` in order:
   the seed's shared initial design, so they equal random search's first ``P`` proposals.
2. Every later proposal: draw ``S`` members of the current population uniformly at random *with
   replacement* (Algorithm 1: "candidate ← random element from population; the element stays in
   the population", repeated until the sample holds ``S``; the authors' released code and
   NAS-Bench-201's baseline both draw a uniform member of the population ``S`` times), take the one
   with the highest objective as the parent, and propose ``space.mutate(parent.arch, rng)``.
3. Every observation joins the population on the right; when it holds more than ``P`` members
   the oldest (leftmost) dies: *aging*, not the worst, is removed.

Asynchronous use, which the paper's distributed setting also has: ``ask(n)`` with ``n > 1``
runs ``n`` independent tournaments on the same current population; observations may arrive in
any order and join in the order they are told (their age is the time they were observed). A
failed or infeasible child (``objective`` nan) still joins and ages out, but it loses every
tournament against a member with a number; an all-nan sample yields its first member. If the
initial design has been proposed but nothing has been told yet, the strategy has no parent to
mutate and proposes a further architecture from the initial-design stream.

The operators are small pure functions taking the numpy Generator
(:func:`select_tournament`, :func:`mutate_architecture`), registered in a DEAP
``base.Toolbox``; each member's fitness is a DEAP ``base.Fitness`` with weights ``(1.0,)``.
DEAP's own ``tools.selTournament`` and ``creator`` are deliberately not used: the first draws from
Python's global ``random``, the second writes classes into module globals.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from deap import base

from nasbench.core.errors import NasbenchError
from nasbench.core.params import Configurable, param
from nasbench.core.registry import strategies
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo
from nasbench.core.types import Architecture, Observation, Proposal


class Fitness(base.Fitness):
    """One maximised objective (DEAP weights ``(1.0,)``); ``nan`` marks failed or infeasible."""

    weights = (1.0,)


class Individual:
    """A population member: an architecture and the DEAP fitness of its observed objective."""

    __slots__ = ("_fitness", "arch", "objective")

    def __init__(self, arch: Architecture, objective: float) -> None:
        self.arch = arch
        # the observed objective (``nan``: failed or infeasible), read in every tournament
        self.objective: float = float(objective)
        self._fitness: Fitness | None = None

    @property
    def fitness(self) -> Fitness:
        """The DEAP fitness of :attr:`objective` (weights ``(1.0,)``: the same value), made on
        first use: the tournaments read the objective, so most members never need one."""
        if self._fitness is None:
            self._fitness = Fitness((self.objective,))
        return self._fitness

    def __repr__(self) -> str:
        return f"Individual({self.arch}, objective={self.objective})"


def fittest(sample: Sequence[Individual]) -> Individual:
    """The member with the highest objective; ``nan`` loses to any number, ties and an
    all-``nan`` sample go to the earliest member. Raises ValueError on an empty sample."""
    if not sample:
        raise ValueError("fittest of an empty sample")
    best = sample[0]
    for candidate in sample[1:]:
        value, incumbent = candidate.objective, best.objective
        if not math.isnan(value) and (math.isnan(incumbent) or value > incumbent):
            best = candidate
    return best


def select_tournament(
    population: Sequence[Individual], sample_size: int, rng: np.random.Generator
) -> Individual:
    """Real et al. (2019), Algorithm 1: ``sample_size`` members drawn uniformly *with
    replacement* from ``population``; the fittest of them (:func:`fittest`). Draws from ``rng``."""
    if not population:
        raise ValueError("tournament on an empty population")
    picks = rng.integers(len(population), size=sample_size).tolist()
    return fittest([population[i] for i in picks])


def mutate_architecture(
    parent: Individual, space: SearchSpace, rng: np.random.Generator
) -> Architecture:
    """The child of Algorithm 1: ``parent.arch`` with one decision changed (``space.mutate``).
    Draws from ``rng``."""
    return space.mutate(parent.arch, rng)


@strategies.register("regularized_evolution")
class RegularizedEvolution(Configurable):
    """Aging evolution (Real et al., AAAI 2019, Algorithm 1); see the module docstring.

    ``population`` is ``P``, the number of most recently observed members kept (>= 1);
    ``sample_size`` is ``S``, the tournament size (1 <= S <= P). Defaults 10 and 3 follow the
    NAS-Bench-201 protocol (Dong & Yang, ICLR 2020). Bad values raise NasbenchError.

    Learned attributes after :meth:`start`: ``population_`` (a deque of :class:`Individual`,
    oldest first) and ``initial_asked_`` (proposals drawn from the initial design so far).
    """

    initial_design: ClassVar[str] = "shared"
    paper: ClassVar[str] = (
        "Real, Aggarwal, Huang & Le, Regularized Evolution for Image Classifier Architecture "
        "Search, AAAI 2019 (Algorithm 1)"
    )
    population: int = param(
        10, ge=1, source="NAS-Bench-201 protocol (Dong & Yang, ICLR 2020, Sec. 5): P = 10"
    )
    sample_size: int = param(
        3, ge=1, le="population",
        source="NAS-Bench-201 protocol (Dong & Yang, ICLR 2020, Sec. 5): S = 3",
    )  # fmt: skip

    def start(
        self,
        space: SearchSpace,
        info: SearchInfo,
        rng: np.random.Generator,
        initial_rng: np.random.Generator,
    ) -> None:
        """Begin a search: empty population; tournaments and mutations draw from ``rng``, the
        initial design from ``initial_rng``."""
        self.space_ = space
        self.info_ = info
        self.rng_ = rng
        self.initial_rng_ = initial_rng
        self.population_: deque[Individual] = deque()
        self.initial_asked_ = 0
        self.initial_size_ = self.population
        # The operators, with their generator bound (never Python's global random).
        self.toolbox_ = base.Toolbox()
        self.toolbox_.register("select", select_tournament, sample_size=self.sample_size, rng=rng)
        self.toolbox_.register("mutate", mutate_architecture, space=space, rng=rng)

    def ask(self, n: int = 1) -> list[Proposal]:
        """``n`` proposals at the default fidelity; draws from ``initial_rng`` (initial design)
        or ``rng`` (one tournament and one mutation per child, whose proposal names the
        tournament winner as its ``parent``). Spends no budget."""
        if not hasattr(self, "space_"):
            raise RuntimeError("RegularizedEvolution.ask called before start")
        if n < 0:
            raise NasbenchError(f"ask needs n >= 0 proposals, got {n}")
        proposals = []
        for _ in range(n):
            if self.initial_asked_ < self.population or not self.population_:
                # Algorithm 1, first loop: random architectures from the shared design stream.
                self.initial_asked_ += 1
                proposals.append(Proposal(self.space_.sample(self.initial_rng_)))
            else:
                # Algorithm 1, second loop: the fittest of S random members is the parent
                # (named in the proposal, for evaluators that inherit its weights).
                parent = self.toolbox_.select(self.population_)
                proposals.append(Proposal(self.toolbox_.mutate(parent), parent=parent.arch))
        return proposals

    def tell(self, observations: Sequence[Observation]) -> None:
        """Each observation joins the population (``nan`` objectives included); the oldest
        members die while it holds more than ``population``."""
        if not hasattr(self, "space_"):
            raise RuntimeError("RegularizedEvolution.tell called before start")
        for obs in observations:
            self.population_.append(Individual(obs.arch, obs.objective))
            # Aging (Real et al. 2019): remove the oldest member, not the worst.
            while len(self.population_) > self.population:
                self.population_.popleft()
