"""Shared plumbing for strategies that drive an Optuna study (``bayesopt``, ``nsga2``); not a
plugin itself.

An architecture is one Optuna trial whose parameters are the space's decisions:

>>> import optuna
>>> from nasbench.core.registry import spaces
>>> space = spaces.create("nb201")
>>> names, order = universe(space)
>>> with quiet_optuna():  # no "new study created" line on stderr
...     study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
>>> values = suggest_architecture(study.ask(), space, names, order)
>>> space.make(values) == space.parse(space.format(space.make(values)))
True

**Decisions as parameters.** The decisions are walked with ``space.next_decision(prefix)``; each
is suggested *by its name* with *all* the choices of its universe (``space.decisions()``), so one
name always has one fixed ``CategoricalDistribution`` (Optuna requires that) and a decision that
does not occur (a chain after ``terminate``, a skipped hierarchical block) is simply not
suggested: a conditional parameter, which TPE models with the trials that have it.

**Repair.** Where the suggested value is not allowed after the prefix (a chain layer that does
not fit, a cell's second input equal to its first), it is replaced by the allowed choice
nearest in universe order (ties: the earlier one); see :func:`repair`. The trial keeps the
suggested value, so the sampler optimises ``f(repair(x))`` over the fixed product of the
universes: a deterministic function of its parameters, like rounding for integer parameters,
so nothing it learns is attributed to a value it did not choose. The price is redundancy:
several parameter vectors map to one architecture, and choices next to often-forbidden ones
are proposed a little more often. The shared initial design consists of valid architectures,
which ``repair`` leaves unchanged.

**Initial design.** The first ``initial_size_`` proposals are ``space.sample(initial_rng)``, in
order (the fairness rule of :mod:`nasbench.core.strategy`), enqueued into the study with
``study.enqueue_trial`` so that the sampler learns from them like from its own trials.

**Observations.** Each is told as a ``COMPLETE`` trial. A usable one (``objective`` finite and
every objective value finite) is told its values. An unusable one (failed or infeasible,
``objective`` nan) is told its own finite values and, where an objective has none, the worst
value told so far for it (0.0 before any): worst-value imputation, which rank-based samplers
(TPE's split into good and bad trials) read as "bad". Telling such trials ``FAIL`` instead would
make TPE ignore them and propose the same region again. When the strategy uses constraints
(:meth:`OptunaStrategy._uses_constraints`), every trial also gets the constraint
``nasbench_unusable`` (1.0 unusable, 0.0 usable) through Optuna 5's ``Trial.set_constraint``, so
constraint-aware samplers treat unusable trials as infeasible whatever their value: TPE ranks
them after every usable trial when it splits trials into good and bad, the GP sampler models
feasibility (constrained EI, Gardner et al. 2014), NSGA-II applies constrained domination (Deb
et al. 2002). Constraints go on every trial or none
(the GP sampler requires the same constraints on all trials).

**Resume.** An Optuna study is not serialised: the runner resumes a run by replaying its journal
into a fresh strategy (same generators, same observations). Samplers are deterministic functions
of their seed and of the sequence of calls into the study, so the replayed study proposes what
the original would have.

**Logging.** Optuna logs every finished trial at INFO level through its own stderr handler, and
it has no per-study switch (``optuna.logging.set_verbosity`` is process-wide). The least global
remedy is :func:`quiet_optuna`: the ``optuna`` logger is raised to WARNING only while a strategy
is inside Optuna, and restored afterwards.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import ClassVar

import numpy as np
import optuna
from optuna.samplers import BaseGASampler, BaseSampler
from optuna.study import StudyDirection

from nasbench.core.errors import NasbenchError
from nasbench.core.params import Configurable
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo
from nasbench.core.types import Architecture, Choice, Observation, Proposal

OBJECTIVES: dict[str, StudyDirection] = {
    "objective": StudyDirection.MAXIMIZE,  # what every strategy maximises (val_acc or reward)
    "val_acc": StudyDirection.MAXIMIZE,
    "latency_ms": StudyDirection.MINIMIZE,
    "params_m": StudyDirection.MINIMIZE,
    "macs_m": StudyDirection.MINIMIZE,
}
"""Observation fields a study may optimise, with their directions."""

CONSTRAINT = "nasbench_unusable"
"""The constraint told to every trial when constraints are used: 1.0 when the observation was
failed or infeasible, else 0.0 (Optuna: a value > 0 violates)."""


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Raise the ``optuna`` logger to WARNING for the duration of the block (no-op if it is
    already there), then restore its level. Silences Optuna's per-trial INFO lines only while a
    strategy is inside Optuna; other code keeps whatever verbosity it set."""
    logger = logging.getLogger("optuna")
    if logger.getEffectiveLevel() >= logging.WARNING:
        yield
        return
    previous = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(previous)


Names = dict[str, tuple[Choice, ...]]
"""Each decision name with all the choices of its universe."""
Order = dict[str, dict[Choice, int]]
"""Each decision name with the position of each choice in its universe."""


def universe(space: SearchSpace) -> tuple[Names, Order]:
    """Every decision name with all its choices, and each choice's position in that order."""
    names = {d.name: d.choices for d in space.decisions()}
    order = {name: {c: i for i, c in enumerate(choices)} for name, choices in names.items()}
    return names, order


def repair(value: Choice, allowed: Sequence[Choice], order: dict[Choice, int]) -> Choice:
    """``value`` if allowed, else the allowed choice nearest to it in universe order (ties: the
    earlier one). Deterministic; see the module docstring for why."""
    if value in allowed:
        return value
    i = order[value]
    return min(allowed, key=lambda c: (abs(order[c] - i), order[c]))


def suggest_architecture(
    trial: optuna.Trial,
    space: SearchSpace,
    names: Names,
    order: Order,
) -> tuple[Choice, ...]:
    """Walk the decisions, suggesting each by name over its universe and repairing values not
    allowed after the prefix. Returns the complete (valid) value sequence; the sampler draws."""
    values: list[Choice] = []
    while (decision := space.next_decision(values)) is not None:
        choices = names.get(decision.name)
        if choices is None:
            raise NasbenchError(
                f"{space.name}: decision {decision.name!r} is missing from space.decisions()"
            )
        value = trial.suggest_categorical(decision.name, choices)
        values.append(repair(value, decision.choices, order[decision.name]))
    return tuple(values)


class OptunaStrategy(Configurable):
    """Ask/tell, initial design and observations on one Optuna study (module docstring).

    Subclasses implement :meth:`_initial_size`, :meth:`_new_sampler`, :meth:`_objectives` and
    :meth:`_uses_constraints`, set ``paper`` and declare their hyperparameters
    (:func:`~nasbench.core.params.param`, with their sources). After :meth:`start`:
    ``study_`` (the Optuna study), ``objectives_`` (observation fields told, see
    :data:`OBJECTIVES`), ``seed_`` (the sampler's seed, drawn once from ``rng``) and
    ``initial_asked_``.
    """

    initial_design: ClassVar[str] = "shared"
    label: ClassVar[str] = "optuna"  # the registry name, for messages

    # ---- to implement ---------------------------------------------------------------------
    def _initial_size(self) -> int:
        raise NotImplementedError

    def _new_sampler(self, seed: int) -> BaseSampler:
        raise NotImplementedError

    def _objectives(self, info: SearchInfo) -> tuple[str, ...]:
        raise NotImplementedError

    def _uses_constraints(self, info: SearchInfo) -> bool:
        raise NotImplementedError

    # ---- the protocol -----------------------------------------------------------------------
    @property
    def initial_size_(self) -> int:
        """How many first proposals are the shared initial design."""
        return self._initial_size()

    def start(
        self,
        space: SearchSpace,
        info: SearchInfo,
        rng: np.random.Generator,
        initial_rng: np.random.Generator,
    ) -> None:
        """Begin a search: draws the sampler's seed from ``rng`` (one integer), creates the
        study; the initial design will come from ``initial_rng``."""
        self.space_ = space
        self.info_ = info
        self.rng_ = rng
        self.initial_rng_ = initial_rng
        self.objectives_ = self._objectives(info)
        self.constrained_ = self._uses_constraints(info)
        self.names_, self.order_ = universe(space)
        self.seed_ = int(rng.integers(0, 2**31 - 1))
        self._new_study()

    def _new_study(self) -> None:
        directions = [OBJECTIVES[name] for name in self.objectives_]
        with quiet_optuna():
            self.study_ = optuna.create_study(
                sampler=self._new_sampler(self.seed_), directions=directions
            )
        self.initial_asked_ = 0
        self.worst_: list[float | None] = [None] * len(self.objectives_)
        # open (asked, not yet told) trials: number -> trial and the values it proposed
        self._open: dict[int, tuple[optuna.Trial, tuple[Choice, ...]]] = {}
        self._pending: dict[tuple[Choice, ...], deque[int]] = {}  # values -> open numbers

    def _check_started(self, method: str) -> None:
        if not hasattr(self, "study_"):
            raise RuntimeError(f"{type(self).__name__}.{method} called before start")

    def ask(self, n: int = 1) -> list[Proposal]:
        """``n`` proposals at the default fidelity: the initial design first (draws from
        ``initial_rng``), then the sampler's (draws from its own seeded generator)."""
        self._check_started("ask")
        if n < 0:
            raise NasbenchError(f"ask needs n >= 0 proposals, got {n}")
        proposals = []
        with quiet_optuna():
            for _ in range(n):
                fixed = None
                if self.initial_asked_ < self._initial_size():
                    self.initial_asked_ += 1
                    fixed = self.space_.sample(self.initial_rng_)
                proposals.append(Proposal(self._ask(fixed)))
        return proposals

    def _ask(self, fixed: Architecture | None) -> Architecture:
        """Open a trial (with ``fixed``'s values enqueued, if given) and walk its decisions."""
        if fixed is not None:
            names = fixed.names or self.space_.make(fixed.values).names
            self.study_.enqueue_trial(dict(zip(names, fixed.values, strict=True)))
        trial = self.study_.ask()
        values = suggest_architecture(trial, self.space_, self.names_, self.order_)
        if fixed is not None and isinstance(self.study_.sampler, BaseGASampler):
            # A fully enqueued trial never asks the sampler, so a genetic sampler would not
            # count it in its first generation: assign the generation now.
            frozen = self.study_.get_trials(deepcopy=False)[trial.number]
            self.study_.sampler.get_trial_generation(self.study_, frozen)
        self._pending.setdefault(values, deque()).append(trial.number)
        self._open[trial.number] = (trial, values)
        return fixed if fixed is not None else self.space_.make(values)

    def tell(self, observations: Sequence[Observation]) -> None:
        """Tell each observation to the trial that proposed its architecture (the oldest open
        one, if several did). An observation of an architecture with no open trial joins the
        study as an enqueued trial of its own. Raises NasbenchError for an architecture outside
        the space."""
        self._check_started("tell")
        with quiet_optuna():
            for obs in observations:
                if obs.arch.values not in self._pending:
                    self.space_.validate(obs.arch)
                    self._ask(obs.arch)
                number = self._pending[obs.arch.values][0]
                values, usable = self._told_values(obs)
                self._tell(number, values, usable)

    def _told_values(self, obs: Observation) -> tuple[list[float], bool]:
        """The objective values to tell, and whether the observation is usable."""
        raw = [float(getattr(obs, name)) for name in self.objectives_]
        usable = math.isfinite(obs.objective) and all(math.isfinite(v) for v in raw)
        if usable:
            return raw, True
        imputed = [
            v if math.isfinite(v) else (w if w is not None else 0.0)
            for v, w in zip(raw, self.worst_, strict=True)
        ]
        return imputed, False

    def _tell(self, number: int, values: list[float], usable: bool) -> None:
        trial, proposed = self._open.pop(number)
        queue = self._pending[proposed]
        queue.remove(number)
        if not queue:
            del self._pending[proposed]
        if self.constrained_:
            trial.set_constraint(CONSTRAINT, 0.0 if usable else 1.0)
        self.study_.tell(trial, values)
        if usable:
            for i, (value, name) in enumerate(zip(values, self.objectives_, strict=True)):
                worst = self.worst_[i]
                if worst is None:
                    self.worst_[i] = value
                elif OBJECTIVES[name] is StudyDirection.MAXIMIZE:
                    self.worst_[i] = min(worst, value)
                else:
                    self.worst_[i] = max(worst, value)
