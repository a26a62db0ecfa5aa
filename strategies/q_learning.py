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

  with ``alpha = 0.01``, ``gamma = 1`` and every Q-value starting at ``0.5`` (Sec. 4, the
  Q-learning training procedure).
- **Experience replay** (Algorithm 1): every observation enters the replay memory as an
  ``(architecture, objective)`` entry; after each observation ``replays_per_model`` (Sec. 4: 100;
  the authors' released CIFAR-10 config uses 128) entries are drawn uniformly with replacement
  from the memory and each is replayed with Algorithm 3. An architecture observed twice has two
  entries, as a net sampled twice has two rows in the released code's replay dictionary.
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

What to expect at nasbench budgets: on the NAS-Bench-201 protocol (500 seeds, about 108
evaluations) the defaults reach 93.70% mean final test accuracy against random search's 93.75%
and regularized evolution's 93.96%. The policy does learn (its epsilon < 1 proposals average
72.3% validation accuracy against random's 68.6%), but 22% of them repeat an architecture and
are evaluated again; and with only the previous choice in the state, the bootstrapped target of a
transition does not depend on earlier choices, so credit reaches the last two decisions only.
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


def _check_int(name: str, value: object, low: int) -> int:
    if isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= low:
        return int(value)
    raise NasbenchError(f"q_learning: {name} must be an integer >= {low}, got {value!r}")


def _check_float(name: str, value: object, low: float, high: float, low_open: bool) -> float:
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        number = float(value)
        above = number > low if low_open else number >= low
        if math.isfinite(number) and above and number <= high:
            return number
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
    raise NasbenchError(f"q_learning: {name} must be a number in {interval}, got {value!r}")


def _reward(objective: float) -> float:
    """The reward of an observation: its objective; a failed or infeasible one (``nan``) is 0."""
    return 0.0 if math.isnan(objective) else objective


@strategies.register("q_learning")
class QLearning:
    """MetaQNN Q-learning (Baker et al., ICLR 2017); see the module docstring.

    ``schedule_models`` is the number of models MetaQNN's epsilon schedule is scaled to (>= 1);
    ``learning_rate`` is alpha in (0, 1]; ``discount`` is gamma in [0, 1]; ``replays_per_model``
    is the number of replay-memory entries replayed after each observation (>= 1); ``initial_q``
    is every Q-value before its first update (finite). Bad values raise NasbenchError.

    Learned attributes after :meth:`start`: ``q_`` (``{(state, action): value}``, visited pairs
    only), ``memory_`` (the replay memory: ``(architecture text, objective)`` per observation),
    ``asked_`` (proposals made) and ``initial_size_`` (how many of the first proposals come from
    the shared initial design: the epsilon = 1 phase).
    """

    initial_design: ClassVar[str] = "shared"
    paper: ClassVar[str] = (
        "Baker, Gupta, Naik & Raskar, Designing Neural Network Architectures using "
        "Reinforcement Learning, ICLR 2017"
    )
    sources: ClassVar[dict[str, str]] = {
        "schedule_models": "Baker et al. 2017, Table 2 (1500 models at epsilon 1.0, then 0.9-0.1; "
        "2700 in all), scaled to the ~100 evaluations of the NAS-Bench-201 protocol "
        "(Dong & Yang, ICLR 2020: 12000 s at 12 epochs)",
        "learning_rate": "Baker et al. 2017, Sec. 4 (Q-learning training procedure): alpha = 0.01",
        "discount": "Baker et al. 2017, Sec. 4 (Q-learning training procedure): gamma = 1",
        "replays_per_model": "Baker et al. 2017, Sec. 4: 100 replay samples after each model",
        "initial_q": "Baker et al. 2017, Sec. 4: Q-values initialised to 0.5",
    }

    def __init__(
        self,
        schedule_models: int = 100,
        learning_rate: float = 0.01,
        discount: float = 1.0,
        replays_per_model: int = 100,
        initial_q: float = 0.5,
    ) -> None:
        # Validated here, not in start(): a bad config fails before any run starts.
        self.schedule_models = _check_int("schedule_models", schedule_models, 1)
        self.learning_rate = _check_float("learning_rate", learning_rate, 0.0, 1.0, True)
        self.discount = _check_float("discount", discount, 0.0, 1.0, False)
        self.replays_per_model = _check_int("replays_per_model", replays_per_model, 1)
        self.initial_q = _check_float("initial_q", initial_q, -math.inf, math.inf, True)

    def _hyperparameters(self) -> dict[str, float]:
        return {
            "schedule_models": self.schedule_models,
            "learning_rate": self.learning_rate,
            "discount": self.discount,
            "replays_per_model": self.replays_per_model,
            "initial_q": self.initial_q,
        }

    def start(
        self,
        space: SearchSpace,
        info: SearchInfo,
        rng: np.random.Generator,
        initial_rng: np.random.Generator,
    ) -> None:
        """Begin a search: empty Q-table and replay memory; the epsilon = 1 phase draws from
        ``initial_rng``, everything else (walks, replay sampling) from ``rng``."""
        self.space_ = space
        self.info_ = info
        self.rng_ = rng
        self.initial_rng_ = initial_rng
        self.schedule_ = epsilon_schedule(self.schedule_models)
        self.initial_size_ = self.schedule_[0][1]
        self.q_: dict[tuple[State, Choice], float] = {}
        self.memory_: list[tuple[str, float]] = []
        self.asked_ = 0
        self._steps: dict[str, list[Step]] = {}  # trajectory of each text in memory (a cache)

    def epsilon(self, index: int) -> float:
        """Epsilon of the ``index``-th proposal (0-based) under the scaled schedule."""
        return epsilon_at(self.schedule_, index)

    def ask(self, n: int = 1) -> list[Proposal]:
        """``n`` proposals at the default fidelity; draws from ``initial_rng`` (the epsilon = 1
        phase) or ``rng`` (epsilon-greedy walks). Spends no budget."""
        if not hasattr(self, "space_"):
            raise RuntimeError("QLearning.ask called before start")
        if n < 0:
            raise NasbenchError(f"ask needs n >= 0 proposals, got {n}")
        proposals = []
        for _ in range(n):
            index, self.asked_ = self.asked_, self.asked_ + 1
            if index < self.initial_size_:
                arch = self.space_.sample(self.initial_rng_)  # the shared initial design
            else:
                arch = self._walk(self.epsilon(index))
            proposals.append(Proposal(arch))
        return proposals

    def _walk(self, epsilon: float) -> Architecture:
        """Baker et al. (2017) Algorithm 2: one epsilon-greedy walk through the decisions."""
        values: list[Choice] = []
        previous: tuple[str | None, Choice | None] = (None, None)
        while (decision := self.space_.next_decision(values)) is not None:
            choices = decision.choices
            if self.rng_.random() < epsilon:
                choice = choices[int(self.rng_.integers(len(choices)))]
            else:
                state: State = (decision.name, *previous)
                q = [self.q_.get((state, c), self.initial_q) for c in choices]
                top = max(q)
                best = [c for c, value in zip(choices, q, strict=True) if value == top]
                choice = best[int(self.rng_.integers(len(best)))]  # ties: uniform
            values.append(choice)
            previous = (decision.name, choice)
        return self.space_.make(values)

    def tell(self, observations: Sequence[Observation]) -> None:
        """Baker et al. (2017) Algorithm 1, per observation: store it in the replay memory
        (``nan`` included), then replay ``replays_per_model`` uniformly drawn entries (draws
        from ``rng``). Raises NasbenchError for an architecture outside the space."""
        if not hasattr(self, "space_"):
            raise RuntimeError("QLearning.tell called before start")
        for obs in observations:
            text = self.space_.format(obs.arch)
            if text not in self._steps:
                self.space_.validate(obs.arch)
                self._steps[text] = trajectory(self.space_, obs.arch.values)
            self.memory_.append((text, float(obs.objective)))
            self._replay()

    def _replay(self) -> None:
        for pick in self.rng_.integers(len(self.memory_), size=self.replays_per_model):
            text, objective = self.memory_[int(pick)]
            update_trajectory(
                self.q_, self._steps[text], _reward(objective),
                self.learning_rate, self.discount, self.initial_q,
            )  # fmt: skip

    def state(self) -> dict[str, Any]:
        """JSON-serialisable (strict JSON: a ``nan`` objective is stored as ``None``): the
        hyperparameters, the Q-table as ``[[name, previous name, previous choice], action,
        value]`` rows, the replay memory as ``[text, objective]`` rows, the proposal count and
        both generator states."""
        return {
            **self._hyperparameters(),
            "asked": self.asked_,
            "q": [[list(state), action, value] for (state, action), value in self.q_.items()],
            "memory": [[text, None if math.isnan(v) else v] for text, v in self.memory_],
            "rng": rng_state(self.rng_),
            "initial_rng": rng_state(self.initial_rng_),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state` (call :meth:`start` with the same space first; its
        generators take the saved states). Raises NasbenchError when the snapshot was taken with
        other hyperparameters."""
        if not hasattr(self, "space_"):
            raise RuntimeError("QLearning.restore called before start")
        saved = {name: state[name] for name in self._hyperparameters()}
        if saved != self._hyperparameters():
            raise NasbenchError(
                f"q_learning: snapshot has hyperparameters {saved}, "
                f"this strategy {self._hyperparameters()}"
            )
        self.q_ = {
            ((name, prev_name, prev), action): float(value)
            for (name, prev_name, prev), action, value in state["q"]
        }
        self.memory_, self._steps = [], {}
        for text, value in state["memory"]:
            if text not in self._steps:
                self._steps[text] = trajectory(self.space_, self.space_.parse(text).values)
            self.memory_.append((text, math.nan if value is None else float(value)))
        self.asked_ = int(state["asked"])
        set_rng_state(self.rng_, state["rng"])
        set_rng_state(self.initial_rng_, state["initial_rng"])
