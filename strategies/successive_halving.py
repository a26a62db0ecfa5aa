"""Successive halving, and the bracket machinery Hyperband and BOHB share.

>>> from nasbench.core.registry import spaces
>>> from nasbench.core.seeding import role_rng
>>> from nasbench.core.strategy import SearchInfo
>>> from nasbench.core.types import Budget, Observation, Status
>>> space = spaces.create("nb201")
>>> search = SuccessiveHalving(n_configs=9)  # 9 architectures at 12 epochs, the top 3 at 200
>>> info = SearchInfo(fidelity=12.0, fidelities=(12.0, 200.0), budget=Budget(evaluations=12))
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> search.fidelities_  # the budget ladder: eta = 3 rungs snapped to what the table offers
(12.0, 200.0)
>>> seen = []
>>> for trial in range(12):
...     (proposal,) = search.ask(1)
...     score = proposal.arch.values.count("nor_conv_3x3") / 6  # a synthetic objective
...     seen.append((proposal.fidelity, score))
...     search.tell([Observation(trial, proposal.arch, proposal.fidelity, score, score, 1.0,
...                              True, Status.OK)])
>>> [f for f, _ in seen] == [12.0] * 9 + [200.0] * 3
True
>>> sorted(s for _, s in seen[9:]) == sorted(s for _, s in seen[:9])[-3:]  # the top 3 went on
True

**Successive halving** (Jamieson & Talwalkar, AISTATS 2016) in the form Hyperband runs it as its
inner loop (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, "Hyperband", JMLR 2018, Algorithm
1): ``n`` architectures are evaluated at the lowest rung's fidelity; the top ``floor(n_i /
eta)`` of a rung by observed objective go on to the next rung, whose fidelity is ``eta`` times
larger, until the top rung. Failed and infeasible observations (``objective`` nan) rank last
(Li et al. rank by loss, a failed run's loss is infinite); ties go to the earlier proposal; the
promoted are proposed best first. A run repeats brackets until the runner's budget ends it.

**The budget ladder.** Rungs are ``max_fidelity / eta**k`` for ``k = s_max, ..., 0`` with
``s_max = floor(log_eta(max_fidelity / min_fidelity))`` (Li et al.'s ``R`` is the ratio; the top
rung is ``max_fidelity`` as in HpBandSter). By default ``max_fidelity`` and ``min_fidelity`` are
the largest and smallest fidelity the evaluator offers (``SearchInfo.fidelities``); where it
takes any value (an empty tuple), the task's default fidelity and ``1`` (one epoch). Every rung
is then *snapped* to a fidelity the evaluator can answer: the offered fidelity nearest on a log
scale (ties: the lower), or, where any value is taken, the nearest whole number (nasbench's
training evaluators take whole epochs) unless that is below 1. Rungs that snap together merge,
so ``s_max`` is the number of distinct rungs minus one. On NAS-Bench-201's table (12 and 200
epochs) with ``eta = 3``: the raw rungs 22.2, 66.7, 200 snap to 12, 200, 200, the ladder is
``(12, 200)`` and ``s_max = 1``: one rung of cheap 12-epoch screening, a third promoted to 200.
Bracket sizes and promotion keep ``eta`` even where snapped rungs are further apart.

**Asynchronous use.** ``ask(n)`` hands out the next evaluations of the oldest unfinished bracket
that has one ready; when every open bracket waits for observations, the next bracket opens
(HpBandSter's master does the same with parallel workers). Observations may come in any order;
each is matched to the oldest open proposal of its architecture (at its fidelity if one matches).
Random architectures of the first bracket are ``space.sample(initial_rng)`` in order (the seed's
shared initial design: they equal random search's first proposals); later ones come from the
strategy stream. Nothing but the ask/tell sequence determines the state, so a fresh instance
replayed with the same generators and observations proposes the same (the runner's resume).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

import numpy as np

from nasbench.core.errors import NasbenchError
from nasbench.core.params import Configurable, param, plugin_label
from nasbench.core.registry import strategies
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo
from nasbench.core.types import Architecture, Observation, Proposal

HYPERBAND_PAPER = (
    "Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, Hyperband: A Novel Bandit-Based Approach "
    "to Hyperparameter Optimization, JMLR 18(185), 2018 (Algorithm 1)"
)


class Pick(StrEnum):
    """How a proposal's architecture was chosen (``picks_``, one per proposal)."""

    INITIAL = "initial"  # a random architecture from the shared initial-design stream
    RANDOM = "random"  # a random architecture from the strategy stream
    MODEL = "model"  # proposed by a model (BOHB)
    PROMOTED = "promoted"  # a rung's survivor, proposed again at the next rung's fidelity


def snap(fidelity: float, offered: Sequence[float]) -> float:
    """The fidelity the evaluator can answer nearest to ``fidelity``: the offered one nearest on
    a log scale (ties: the lower), or without offered ones the nearest whole number if >= 1.

    >>> snap(66.7, (12.0, 200.0)), snap(22.2, (12.0, 200.0)), snap(6.67, ()), snap(0.4, ())
    (200.0, 12.0, 7.0, 0.4)
    """
    if offered:
        return float(min(sorted(offered), key=lambda f: abs(math.log(f / fidelity))))
    whole = math.floor(fidelity + 0.5)
    return float(whole) if whole >= 1 else float(fidelity)


def budget_ladder(
    offered: Sequence[float],
    default: float,
    eta: int,
    min_fidelity: float | None = None,
    max_fidelity: float | None = None,
    label: str = "budget ladder",
) -> tuple[float, ...]:
    """The rungs' fidelities, ascending (module docstring, "The budget ladder"). Raises
    NasbenchError (starting with ``label``) when ``min_fidelity`` exceeds ``max_fidelity`` as
    resolved.

    >>> budget_ladder((), 81.0, 3, min_fidelity=1.0)  # Li et al.'s R = 81, eta = 3
    (1.0, 3.0, 9.0, 27.0, 81.0)
    >>> budget_ladder((12.0, 200.0), 12.0, 3)  # NAS-Bench-201's table
    (12.0, 200.0)
    """
    top = float(max_fidelity if max_fidelity is not None else max(offered, default=default))
    low = float(min_fidelity if min_fidelity is not None else min(offered, default=min(1.0, top)))
    if low > top:
        offers = ", ".join(f"{f:g}" for f in offered) or "any value"
        raise NasbenchError(
            f"{label}: min_fidelity {low:g} exceeds max_fidelity {top:g} (the evaluator offers "
            f"{offers}); give a min_fidelity <= max_fidelity"
        )
    s_max = 0
    while eta ** (s_max + 1) <= top / low * (1 + 1e-9):  # floor(log_eta(R)), exact at powers
        s_max += 1
    rungs = (snap(top / eta**k, offered) for k in range(s_max, -1, -1))
    return tuple(dict.fromkeys(rungs))  # snapping is monotone: equal rungs are adjacent


def bracket_sizes(s: int, s_max: int, eta: int) -> tuple[int, ...]:
    """Architectures per rung of Hyperband's bracket ``s`` (Li et al. 2018, Algorithm 1):
    ``n = ceil((s_max + 1) / (s + 1) * eta**s)`` at the first rung, then the top
    ``floor(n_i / eta)`` (at least one) of each rung.

    >>> [bracket_sizes(s, 4, 3) for s in (4, 3, 2, 1, 0)]  # Li et al., Table 1 (R = 81)
    [(81, 27, 9, 3, 1), (34, 11, 3, 1), (15, 5, 1), (8, 2), (5,)]
    """
    sizes = [-(-(s_max + 1) * eta**s // (s + 1))]  # exact integer ceil
    for _ in range(s):
        sizes.append(max(1, sizes[-1] // eta))
    return tuple(sizes)


def hyperband_bracket(index: int, s_max: int) -> int:
    """The ``s`` of a run's ``index``-th bracket: ``s_max, s_max - 1, ..., 0``, repeated."""
    return s_max - index % (s_max + 1)


def top_k(objectives: Sequence[float], k: int) -> list[int]:
    """Positions of the ``k`` highest objectives, best first; nan ranks last, ties go to the
    earlier position (Li et al.'s ``top_k``, losses as negated objectives).

    >>> top_k([0.5, float("nan"), 0.9, 0.5], 3)
    [2, 0, 3]
    """

    def rank(i: int) -> tuple[bool, float, int]:
        value = objectives[i]
        return (math.isnan(value), 0.0 if math.isnan(value) else -value, i)

    return sorted(range(len(objectives)), key=rank)[:k]


class Bracket:
    """One run of successive halving: ``sizes[i]`` architectures at ``fidelities[i]``.

    ``archs`` and ``results`` are the current rung's members in proposal order (``None``: not
    observed yet); ``queue`` holds the members promoted to it and not proposed yet."""

    def __init__(self, index: int, sizes: tuple[int, ...], fidelities: tuple[float, ...]):
        self.index, self.sizes, self.fidelities = index, sizes, fidelities
        self.rung = 0
        self.archs: list[Architecture] = []
        self.results: list[float | None] = []
        self.queue: deque[int] = deque()
        self.finished = False

    @property
    def fidelity(self) -> float:
        return self.fidelities[self.rung]

    @property
    def sampling(self) -> bool:
        """Whether the first rung still takes new architectures."""
        return self.rung == 0 and len(self.archs) < self.sizes[0]

    @property
    def ready(self) -> bool:
        """Whether the bracket has an evaluation to hand out now."""
        return bool(self.queue) or self.sampling

    def add(self, arch: Architecture) -> int:
        self.archs.append(arch)
        self.results.append(None)
        return len(self.archs) - 1

    def record(self, slot: int, objective: float) -> None:
        """Store a member's objective; once the rung is complete, promote its top members
        (Algorithm 1: ``T = top_k(T, L, floor(n_i / eta))``) or finish the bracket."""
        self.results[slot] = float(objective)
        if self.sampling or self.queue or any(r is None for r in self.results):
            return
        if self.rung + 1 == len(self.sizes):
            self.finished = True
            return
        keep = top_k([r for r in self.results if r is not None], self.sizes[self.rung + 1])
        self.archs = [self.archs[i] for i in keep]
        self.results = [None] * len(keep)
        self.queue = deque(range(len(keep)))
        self.rung += 1


@dataclass(frozen=True, eq=False)
class _Open:
    """A proposal not observed yet: its architecture's values, fidelity, bracket and slot."""

    values: tuple[str, ...]
    fidelity: float
    bracket: Bracket
    rung: int
    slot: int


class BracketSearch(Configurable):
    """Brackets of successive halving on a budget ladder (module docstring); not a plugin.

    Subclasses implement :meth:`_plan` (the rung sizes of a run's ``index``-th bracket) and may
    override :meth:`_new_arch` (default: random) and :meth:`_observe`. Learned attributes after
    :meth:`start`: ``fidelities_`` (the ladder), ``s_max_``, ``brackets_`` (open brackets, oldest
    first), ``opened_`` (brackets opened so far), ``picks_`` (a :class:`Pick` per proposal) and
    ``initial_size_``.
    """

    initial_design: ClassVar[str] = "shared"
    paper: ClassVar[str] = HYPERBAND_PAPER
    eta: int = param(3, ge=2, source=(
        "3: Li et al. 2018 suggest eta = 3 or 4 and use 3 (Table 1); Falkner et al. 2018 "
        "(BOHB) use 3; HpBandSter's default"
    ))  # fmt: skip
    min_fidelity: float | None = param(None, kind=float, gt=0, le="max_fidelity", source=(
        "none: the smallest fidelity the evaluator offers (one unit, 1, where it takes any); "
        "Li et al.'s minimum resource r_min"
    ))  # fmt: skip
    max_fidelity: float | None = param(None, kind=float, gt=0, source=(
        "none: the largest fidelity the evaluator offers (the task's default where it takes "
        "any); Li et al.'s maximum resource R"
    ))  # fmt: skip

    # ---- to implement ---------------------------------------------------------------------
    def _plan(self, index: int) -> tuple[int, ...]:
        """Architectures per rung of the run's ``index``-th bracket (its top rungs)."""
        raise NotImplementedError

    def _new_arch(self, bracket: Bracket) -> tuple[Architecture, Pick]:
        """A new architecture for ``bracket``'s first rung: random, from the shared
        initial-design stream in the first bracket and from the strategy stream after it."""
        if bracket.index == 0:
            return self.space_.sample(self.initial_rng_), Pick.INITIAL
        return self.space_.sample(self.rng_), Pick.RANDOM

    def _observe(self, obs: Observation) -> None:
        """Hook: every observation, matched to a proposal or not (BOHB models them)."""

    def _initial_size(self) -> int:
        return self._plan(0)[0]

    # ---- the protocol -----------------------------------------------------------------------
    def start(
        self,
        space: SearchSpace,
        info: SearchInfo,
        rng: np.random.Generator,
        initial_rng: np.random.Generator,
    ) -> None:
        """Begin a search: resolve the ladder (raises NasbenchError for a bad fidelity range);
        random architectures come from ``initial_rng`` (first bracket) and ``rng``."""
        self.space_, self.info_, self.rng_, self.initial_rng_ = space, info, rng, initial_rng
        self.fidelities_ = budget_ladder(
            info.fidelities, info.fidelity, self.eta, self.min_fidelity, self.max_fidelity,
            plugin_label(type(self)),
        )  # fmt: skip
        self.s_max_ = len(self.fidelities_) - 1
        self.brackets_: list[Bracket] = []
        self.opened_ = 0
        self.picks_: list[Pick] = []
        self._open: list[_Open] = []
        self.initial_size_ = self._initial_size()

    def _check_started(self, method: str) -> None:
        if not hasattr(self, "space_"):
            raise RuntimeError(f"{type(self).__name__}.{method} called before start")

    def ask(self, n: int = 1) -> list[Proposal]:
        """``n`` proposals, each at its rung's fidelity; draws from ``initial_rng`` or ``rng``
        when a bracket takes a new architecture. Spends no budget."""
        self._check_started("ask")
        if n < 0:
            raise NasbenchError(f"ask needs n >= 0 proposals, got {n}")
        return [self._next() for _ in range(n)]

    def _next(self) -> Proposal:
        bracket = next((b for b in self.brackets_ if b.ready), None)
        if bracket is None:
            sizes = self._plan(self.opened_)
            bracket = Bracket(self.opened_, sizes, self.fidelities_[-len(sizes) :])
            self.brackets_.append(bracket)
            self.opened_ += 1
        if bracket.queue:
            slot = bracket.queue.popleft()
            arch, pick = bracket.archs[slot], Pick.PROMOTED
        else:
            arch, pick = self._new_arch(bracket)
            slot = bracket.add(arch)
        self.picks_.append(pick)
        self._open.append(_Open(arch.values, bracket.fidelity, bracket, bracket.rung, slot))
        return Proposal(arch, fidelity=bracket.fidelity)

    def tell(self, observations: Sequence[Observation]) -> None:
        """Record each observation in its bracket (promoting a completed rung's top members);
        an observation that matches no open proposal only reaches :meth:`_observe`."""
        self._check_started("tell")
        for obs in observations:
            self._observe(obs)
            job = self._match(obs)
            if job is None:
                continue
            job.bracket.record(job.slot, obs.objective)
            if job.bracket.finished:
                self.brackets_.remove(job.bracket)

    def _match(self, obs: Observation) -> _Open | None:
        """Remove and return the oldest open proposal of ``obs.arch`` at ``obs.fidelity``, else
        of ``obs.arch`` at any fidelity, else ``None``."""
        same = [j for j in self._open if j.values == obs.arch.values]
        job = next((j for j in same if j.fidelity == obs.fidelity), same[0] if same else None)
        if job is not None:
            self._open.remove(job)
        return job


@strategies.register("successive_halving")
class SuccessiveHalving(BracketSearch):
    """Successive halving, repeated: every bracket takes ``n_configs`` random architectures at
    the lowest rung and keeps the top ``1/eta`` at each rung up to ``max_fidelity`` (module
    docstring). ``n_configs`` ``None`` is ``eta ** s_max``, Hyperband's most exploratory
    bracket (``s = s_max``), the successive-halving baseline of Li et al. 2018."""

    paper: ClassVar[str] = (
        "Jamieson & Talwalkar, Non-stochastic Best Arm Identification and Hyperparameter "
        "Optimization, AISTATS 2016; in the form of " + HYPERBAND_PAPER
    )
    n_configs: int | None = param(None, kind=int, ge=1, source=(
        "none: eta ** s_max, the first rung of Hyperband's bracket s = s_max (Li et al. 2018, "
        "Algorithm 1), which is successive halving from the minimum resource"
    ))  # fmt: skip

    def _plan(self, index: int) -> tuple[int, ...]:
        sizes = [self.n_configs if self.n_configs is not None else self.eta**self.s_max_]
        for _ in range(self.s_max_):
            sizes.append(max(1, sizes[-1] // self.eta))
        return tuple(sizes)
