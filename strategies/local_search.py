"""Local search (hill climbing) over the space's neighbourhood, restarted at local optima.

>>> from nasbench.core.registry import spaces
>>> from nasbench.core.seeding import role_rng
>>> from nasbench.core.strategy import SearchInfo
>>> from nasbench.core.types import Budget, Observation, Status
>>> space = spaces.create("nb201")
>>> search = LocalSearch(initial_size=3)
>>> info = SearchInfo(fidelity=12.0, fidelities=(), budget=Budget(evaluations=100))
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> design = [p.arch for p in search.ask(3)]
>>> initial = role_rng(0, "initial_design")  # the seed's shared initial-design stream
>>> design == [space.sample(initial) for _ in range(3)]  # random search's first three
True
>>> scores = [arch.values.count("nor_conv_3x3") / 6 for arch in design]  # a synthetic objective
>>> search.tell([Observation(t, a, 12.0, s, s, 1.0, True, Status.OK)
...              for t, (a, s) in enumerate(zip(design, scores))])
>>> (step,) = search.ask(1)
>>> search.current_ == design[scores.index(max(scores))]  # moved to the best of the design
True
>>> step.arch in space.neighbours(search.current_)  # and evaluates its neighbours
True

The algorithm is Algorithm 1 of White, Nolen & Savani, "Exploring the Loss Landscape in Neural
Architecture Search" (UAI 2021; arXiv 2005.02960, first titled "Local Search is State of the Art
for NAS Benchmarks"): pick a random architecture ``v``, evaluate it, evaluate every ``u`` in its
neighbourhood ``N(v)`` (the architectures one decision away: ``space.neighbours``), move to the
best of ``N(v)`` if it beats ``v``, else ``v`` is a local optimum. Within a budget the search then
starts again from random architectures, as the authors' released code does
(``realityengines/local_search``, ``nas_algorithms.local_search`` with the experiment settings
``num_init=1, query_full_nbhd=True, stop_at_minimum=True``) and NASLib's ``LocalSearch``
(``naslib/optimizers/discrete/ls``). Here:

1. **Design**: ``initial_size`` random architectures, ``space.sample(initial_rng)`` in order (the
   seed's shared stream); the current point ``v`` is the best of them. A draw whose ``key`` was
   already proposed is skipped, as the authors' code skips queried hashes, so the design equals
   random search's first ``initial_size`` proposals unless those repeat an architecture (never
   with the default ``initial_size = 1``).
2. **Neighbourhood**: ``space.neighbours(v)`` in a random order drawn from the strategy ``rng``
   (NASLib shuffles its neighbourhood too), at most ``max_neighbours`` of them. Each is proposed
   unless its key was proposed before in the run: nothing is evaluated twice (the authors' code
   keeps the same record of queried hashes; NASLib re-queries). A neighbour evaluated earlier
   counts with its recorded value: the move is Algorithm 1's argmax over all of ``N(v)``, where
   the authors' code compares only the neighbours it queries in this step.
3. **Move**: ``neighbours="all"`` waits for every neighbour and moves to the best one if it is
   strictly better than ``v`` (ties: the earliest in the random order); ``"first_improvement"``
   moves as soon as a neighbour strictly better than ``v`` is known.
4. **Restart** at a local optimum: a fresh design of ``restart_size`` architectures from
   ``initial_rng`` (default: ``initial_size`` of them, the authors' code re-running its initial
   design; NASLib restarts from one), then step 2 from its best.

``nan`` objectives (failed or infeasible) are recorded, so never proposed again, and never moved
to; a design without a finite value is followed by a restart. Asynchronous use: ``ask(n)``
returns the next ``n`` pending proposals; when a step cannot be decided because observations are
outstanding, the strategy proposes a further random architecture from ``initial_rng`` (during a
design it joins the design). After ``MAX_DRAWS`` samples that were all proposed before (a nearly
exhausted space) the last sample is proposed again. The state is a function of the ask/tell
sequence only: a fresh instance replaying it proposes the same (the runner's resume).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum
from typing import ClassVar

import numpy as np

from nasbench.core.errors import NasbenchError
from nasbench.core.params import Configurable, param
from nasbench.core.registry import strategies
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo
from nasbench.core.types import Architecture, Observation, Proposal

MAX_DRAWS = 1000
"""Random samples tried for one fresh (never proposed) architecture before giving up."""

PAPER = "White, Nolen & Savani, Exploring the Loss Landscape in NAS, UAI 2021"


class Neighbourhood(StrEnum):
    """How much of a neighbourhood is evaluated before moving (the module docstring, step 3)."""

    ALL = "all"
    FIRST_IMPROVEMENT = "first_improvement"


@strategies.register("local_search")
class LocalSearch(Configurable):
    """Local search with random restarts (White, Nolen & Savani, UAI 2021); see the module
    docstring. Bad hyperparameters raise NasbenchError.

    Learned attributes after :meth:`start`: ``values_`` (key -> first observed objective),
    ``proposed_`` (keys proposed or told), ``current_`` (the point whose neighbourhood is being
    evaluated; ``None`` during a design), ``design_`` (the current random design),
    ``neighbourhood_`` (``current_``'s neighbours in their random order) and ``restarts_``.
    """

    initial_design: ClassVar[str] = "shared"
    paper: ClassVar[str] = (
        "White, Nolen & Savani, Exploring the Loss Landscape in Neural Architecture Search, "
        "UAI 2021 (Algorithm 1; arXiv 2005.02960)"
    )
    initial_size: int = param(1, ge=1, source=(
        f"{PAPER}, Algorithm 1: one random start; the authors' experiments num_init=1 "
        "(realityengines/local_search params.py; NASLib's discrete config: num_init=10)"
    ))  # fmt: skip
    neighbours: Neighbourhood = param("all", choices=tuple(Neighbourhood), source=(
        f"{PAPER}, Algorithm 1: evaluate all of N(v), move to the best; the authors' "
        "experiments query_full_nbhd=True; NASLib evaluates the whole neighbourhood"
    ))  # fmt: skip
    max_neighbours: int | None = param(None, kind=int, ge=1, source=(
        f"None: the whole neighbourhood, as {PAPER}, Algorithm 1, and NASLib"
    ))  # fmt: skip
    restart_size: int | None = param(None, kind=int, ge=1, source=(
        "None: initial_size, the authors' released local_search re-running its initial design "
        "(stop_at_minimum=True); NASLib restarts from 1 random architecture"
    ))  # fmt: skip

    def __post_init__(self) -> None:
        super().__post_init__()
        self.neighbours = Neighbourhood(self.neighbours)

    def start(
        self,
        space: SearchSpace,
        info: SearchInfo,
        rng: np.random.Generator,
        initial_rng: np.random.Generator,
    ) -> None:
        """Begin a search: nothing observed, the initial design to draw. Neighbour orders draw
        from ``rng``, designs and fill-in proposals from ``initial_rng``."""
        self.space_ = space
        self.info_ = info
        self.rng_ = rng
        self.initial_rng_ = initial_rng
        self.initial_size_ = self.initial_size
        self.values_: dict[str, float] = {}
        self.proposed_: set[str] = set()
        self.current_: Architecture | None = None
        self.design_: list[Architecture] = []
        self.design_left_ = 0  # draws still to make for design_
        self.neighbourhood_: list[Architecture] = []
        self.cursor_ = 0  # index of the next neighbour to consider
        self.restarts_ = -1  # the initial design is not a restart
        self._restart()

    def ask(self, n: int = 1) -> list[Proposal]:
        """The next ``n`` proposals at the default fidelity (see the module docstring); draws
        from ``initial_rng`` (designs, fill-ins) and ``rng`` (each neighbourhood's order). A
        neighbour's proposal names the current point as its ``parent``. Spends no budget."""
        if not hasattr(self, "space_"):
            raise RuntimeError("LocalSearch.ask called before start")
        if n < 0:
            raise NasbenchError(f"ask needs n >= 0 proposals, got {n}")
        proposals = []
        for _ in range(n):
            arch, parent = self._next()
            proposals.append(Proposal(arch, parent=parent))
        return proposals

    def tell(self, observations: Sequence[Observation]) -> None:
        """Record each observation's objective under its key (the first one stays; ``nan``
        marks failed or infeasible). Decisions are taken in :meth:`ask`."""
        if not hasattr(self, "space_"):
            raise RuntimeError("LocalSearch.tell called before start")
        for obs in observations:
            self.values_.setdefault(obs.arch.key, float(obs.objective))
            self.proposed_.add(obs.arch.key)

    # ---- the steps of the module docstring ------------------------------------------------
    def _next(self) -> tuple[Architecture, Architecture | None]:
        """The next architecture to propose and its parent (the current point for a neighbour,
        else ``None``), taking every decision the observations allow."""
        while True:
            if self.current_ is None:  # step 1 or 4: a random design
                if self.design_left_ > 0:
                    self.design_left_ -= 1
                    return self._join_design(self._fresh()), None
                if any(a.key not in self.values_ for a in self.design_):
                    return self._join_design(self._fresh()), None  # waiting: design grows
                best = self._best(self.design_, -math.inf)
                if best is None:  # no finite value in the design
                    self._restart()
                else:
                    self._move_to(best)
                continue
            move = self._improvement()  # step 3
            if move is not None:
                self._move_to(move)
                continue
            while self.cursor_ < len(self.neighbourhood_):  # step 2
                arch = self.neighbourhood_[self.cursor_]
                self.cursor_ += 1
                if arch.key not in self.proposed_:
                    self.proposed_.add(arch.key)
                    return arch, self.current_
            if all(a.key in self.values_ for a in self.neighbourhood_):
                self._restart()  # a local optimum: step 4
                continue
            return self._fresh(), None  # waiting for the neighbourhood's observations

    def _improvement(self) -> Architecture | None:
        """The neighbour to move to now, or ``None`` (none better known, or, under ``"all"``,
        observations of the neighbourhood outstanding)."""
        assert self.current_ is not None
        here = self.values_[self.current_.key]
        if self.neighbours is Neighbourhood.FIRST_IMPROVEMENT:
            return next((a for a in self.neighbourhood_ if self._value(a) > here), None)
        if any(a.key not in self.values_ for a in self.neighbourhood_):
            return None
        return self._best(self.neighbourhood_, here)

    def _best(self, archs: Sequence[Architecture], than: float) -> Architecture | None:
        """The first architecture of highest known value above ``than`` (``nan`` never is)."""
        best, top = None, than
        for arch in archs:
            value = self._value(arch)
            if value > top:
                best, top = arch, value
        return best

    def _value(self, arch: Architecture) -> float:
        """The recorded objective of ``arch``'s key; ``nan`` when failed, infeasible or
        not yet observed (``nan > x`` is false, so neither is ever moved to)."""
        return self.values_.get(arch.key, math.nan)

    def _move_to(self, arch: Architecture) -> None:
        """Make ``arch`` the current point; its neighbours in a random order from ``rng``,
        the first ``max_neighbours`` of them."""
        self.current_ = arch
        neighbours = self.space_.neighbours(arch)
        order = self.rng_.permutation(len(neighbours))
        self.neighbourhood_ = [neighbours[int(i)] for i in order[: self.max_neighbours]]
        self.cursor_ = 0

    def _restart(self) -> None:
        """Start a new random design (the initial one first, then ``restart_size``)."""
        self.restarts_ += 1
        first = self.restarts_ == 0
        self.current_ = None
        self.design_ = []
        self.neighbourhood_ = []
        self.design_left_ = self.initial_size if first else self.restart_size or self.initial_size

    def _join_design(self, arch: Architecture) -> Architecture:
        self.design_.append(arch)
        return arch

    def _fresh(self) -> Architecture:
        """``space.sample(initial_rng)`` until a key not proposed before (at most
        :data:`MAX_DRAWS` samples, then the last one); marks it proposed."""
        for _ in range(MAX_DRAWS):
            arch = self.space_.sample(self.initial_rng_)
            if arch.key not in self.proposed_:
                break
        self.proposed_.add(arch.key)
        return arch
