"""MetaQNN: tabular Q-learning over a space's decision sequence.

>>> from nasbench.registry import spaces
>>> from nasbench.seeding import role_rng
>>> from nasbench.strategy import SearchInfo
>>> from nasbench.types import Budget, Observation, Status
>>> space = spaces.create("nb201")
>>> search = QLearning(schedule_models=60)
>>> info = SearchInfo(fidelity=12.0, fidelities=(), budget=Budget(evaluations=60))
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> search.initial_size_  # epsilon = 1 models: 1500/2700 of 60, rounded
33
>>> scores = []
>>> for trial in range(60):
...     (proposal,) = search.ask(1)
...     score = proposal.arch.values.count("nor_conv_3x3") / 6  # a synthetic objective
...     scores.append(score)
...     search.tell([Observation(trial, proposal.arch, 12.0, score, score, 1.0, True, Status.OK)])
>>> sum(scores[-20:]) / 20 > sum(scores[:33]) / 33  # the greedy phases beat the random one
True

The algorithm is MetaQNN (Baker, Gupta, Naik & Raskar, "Designing Neural Network Architectures
using Reinforcement Learning", ICLR 2017), Algorithms 1-3, walking the space's decisions
(:meth:`SearchSpace.next_decision`) instead of CNN layers:

- **State** ``(decision name, previous decision name, previous choice)``: where the walk is and
  what was chosen last, as MetaQNN's state is the current layer and its depth. The position is the
  decision's *name*, so states line up across variable-length sequences (chain) and skipped
  decisions (hierarchical); the previous decision's name keeps equal choice strings of different
  decisions apart. The first state is ``(first name, None, None)``.
- **Action** a choice of the decision; only ``next_decision(prefix).choices`` are allowed there
  (the rest are masked), as MetaQNN restricts transitions to valid layers.
- **Reward** the observation's ``objective`` (validation accuracy; the MnasNet reward under soft
  constraints), given at the terminal step only. A failed or infeasible evaluation (``nan``) is
  stored in the replay memory and counts as reward ``0``.
- **Update** Baker et al. Eq. 3, applied backwards along a trajectory (Algorithm 3)::

      Q(s_T, a_T) <- (1 - alpha) Q(s_T, a_T) + alpha * r
      Q(s_i, a_i) <- (1 - alpha) Q(s_i, a_i) + alpha * gamma * max_{a in A(s_i+1)} Q(s_i+1, a)

  with ``alpha = 0.01``, ``gamma = 1`` and every Q-value starting at ``0.5`` (Sec. 4.2).
- **Experience replay** (Algorithm 1): every observed architecture enters the replay memory; after
  each observation ``replays_per_model`` (Sec. 4.2: 100; the authors' released CIFAR-10 config
  uses 128) entries are drawn uniformly with replacement from the memory and each is replayed
  with Algorithm 3. As in MetaQNN's replay dictionary, an architecture has one entry; when the
  runner evaluates it again (benchmark noise), its reward is the mean of its observations.
- **Exploration** epsilon-greedy per decision (Algorithm 2): with probability epsilon a uniform
  allowed choice, else the choice with the highest Q-value, ties broken uniformly, all drawn from
  the strategy ``rng``. Epsilon follows MetaQNN's schedule (Table 2): 1500 models at
  epsilon = 1.0, then 0.9, 0.8, 0.7 for 100 models each and 0.6 ... 0.1 for 150 each (2700
  models). nasbench budgets buy about 100 evaluations (the NAS-Bench-201 protocol: 12000 s at 12
  epochs), so the schedule keeps the paper's *proportions* scaled to ``schedule_models`` models
  (:func:`epsilon_schedule`: phase ``k`` ends at ``round(schedule_models * C_k / 2700)`` where
  ``C_k`` is the paper's cumulative count). The default, 100, is that budget; after the schedule
  epsilon stays at its last value, 0.1. For 100: 56 models at epsilon 1.0, then 3, 4, 4, 5, 6, 5,
  6, 5, 6 at 0.9 ... 0.1.

The epsilon = 1 proposals are the shared initial design: ``space.sample(initial_rng)`` in order
(uniform per decision, the same distribution as a walk at epsilon = 1), so for one seed the first
:attr:`QLearning.initial_size_` proposals equal random search's. Epsilon counts proposals (MetaQNN
counts unique models: it never trains a network twice and reuses the recorded accuracy instead);
here the runner evaluates and charges every proposal, and proposals are kept as the policy gives
them, repeats included.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from nasbench.errors import NasbenchError
from nasbench.registry import strategies
from nasbench.space import SearchSpace
from nasbench.strategy import SearchInfo, rng_state, set_rng_state
from nasbench.types import Architecture, Choice, Observation, Proposal

PAPER_SCHEDULE: tuple[tuple[float, int], ...] = (
    (1.0, 1500),
    (0.9, 100),
    (0.8, 100),
    (0.7, 100),
    (0.6, 150),
    (0.5, 150),
    (0.4, 150),
    (0.3, 150),
    (0.2, 150),
    (0.1, 150),
)
"""MetaQNN's epsilon schedule (Baker et al. 2017, Table 2): ``(epsilon, models trained)``."""

State = tuple[str, str | None, Choice | None]
"""``(decision name, previous decision name, previous choice)``; ``None`` before the first."""

Step = tuple[State, Choice, tuple[Choice, ...]]
"""One transition of a walk: the state, the action taken, the actions allowed in that state."""


def epsilon_schedule(models: int) -> tuple[tuple[float, int], ...]:
    """:data:`PAPER_SCHEDULE` scaled to ``models`` models: ``(epsilon, models)`` phases whose
    cumulative ends are the paper's cumulative counts times ``models / 2700``, rounded half up.
    The counts sum to ``models``; a phase may get none when ``models`` is small."""
    total = sum(count for _, count in PAPER_SCHEDULE)
    phases, cumulative, previous_end = [], 0, 0
    for epsilon, count in PAPER_SCHEDULE:
        cumulative += count
        end = (2 * models * cumulative + total) // (2 * total)  # round half up, integers only
        phases.append((epsilon, end - previous_end))
        previous_end = end
    return tuple(phases)


def epsilon_at(schedule: Sequence[tuple[float, int]], index: int) -> float:
    """Epsilon of the ``index``-th model (0-based); past the schedule, its last epsilon."""
    end = 0
    for epsilon, count in schedule:
        end += count
        if index < end:
            return epsilon
    return schedule[-1][0]


def trajectory(space: SearchSpace, values: Sequence[Choice]) -> list[Step]:
    """The walk that builds ``values``: one :data:`Step` per decision. Raises NasbenchError when
    a value is not allowed where it stands (an architecture of another space)."""
    steps: list[Step] = []
    previous: tuple[str | None, Choice | None] = (None, None)
    for i, value in enumerate(values):
        decision = space.next_decision(values[:i])
        if decision is None or value not in decision.choices:
            raise NasbenchError(f"q_learning: {list(values)} is not a walk of space {space.name}")
        steps.append(((decision.name, *previous), value, decision.choices))
        previous = (decision.name, value)
    return steps


def update_trajectory(
    q: dict[tuple[State, Choice], float],
    steps: Sequence[Step],
    reward: float,
    learning_rate: float,
    discount: float,
    initial_q: float,
) -> None:
    """Baker et al. (2017) Algorithm 3: Eq. 3 applied backwards along ``steps`` in place. The
    reward arrives at the terminal transition only; earlier transitions bootstrap from the best
    allowed action of the next state (missing Q-values are ``initial_q``)."""
    target = reward  # terminal: no next state, the whole return is the reward
    for state, action, allowed in reversed(steps):
        old = q.get((state, action), initial_q)
        q[(state, action)] = old + learning_rate * (target - old)
        # Target of the transition into this state: r = 0 + gamma * max over its allowed actions
        # (this state's values are already updated: the backward order of Algorithm 3).
        target = discount * max(q.get((state, a), initial_q) for a in allowed)
