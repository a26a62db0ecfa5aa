"""MetaQNN: tabular Q-learning over a space's decision sequence.

>>> from nasbench.core.registry import spaces
>>> from nasbench.core.seeding import role_rng
>>> from nasbench.core.strategy import SearchInfo
>>> from nasbench.core.types import Budget, Observation, Status
>>> space = spaces.create("nb201")
>>> search = QLearning()
>>> info = SearchInfo(fidelity=12.0, fidelities=(), budget=Budget(evaluations=60))
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> search.initial_size_  # epsilon = 1 models: 1500/2700 of the 60 evaluations, rounded up
34
>>> scores = []
>>> for trial in range(60):
...     (proposal,) = search.ask(1)
...     score = proposal.arch.values.count("nor_conv_3x3") / 6  # a synthetic objective
...     scores.append(score)
...     search.tell([Observation(trial, proposal.arch, 12.0, score, score, 1.0, True, Status.OK)])
>>> sum(scores[-20:]) / 20 > sum(scores[:34]) / 34  # the greedy phases beat the random one
True

The algorithm is MetaQNN (Baker, Gupta, Naik & Raskar, "Designing Neural Network Architectures
using Reinforcement Learning", ICLR 2017), Algorithms 1-3, with the settings of its Sec. 4 and of
the authors' released code (``bowenbaker/metaqnn``), walking the space's decisions
(:meth:`SearchSpace.next_decision`) instead of CNN layers. Every departure from the paper is a
constructor option whose default is the paper's behaviour.

- **State** (``states="layer"``, the paper's): MetaQNN's state is the layer just added (its type
  and parameters: kernel, filters, stride), the layer depth and the binned representation size
  (Sec. 3.1, Table 1; Appendix B). Here a state is ``(decision name, previous decision name,
  previous choice, mask)``: the decision name is the depth (``layer3``, ``node3.in1``), the previous
  choice is the layer just added (a chain token spells its type and parameters), and ``mask`` (a
  hex bitmask over the decision's universe of choices) names the set of actions allowed next,
  which is what the representation size decides in MetaQNN (in the chain space it is a function
  of the size bin and of whether the last layer pooled: the kernel and pooling rules). The first
  state is ``(first name, None, None, mask)``. On NAS-Bench-201 (6 edges, 5 operations each)
  this is ``(edge i, edge i-1, operation on edge i-1, all five)``: the cell's one resolution
  leaves no size to track. As in MetaQNN the state is not the whole prefix, so a value reaches an
  early decision only through the bootstrapped maximum of the next state.
  ``states="prefix"`` (not the paper's) keys each state by ``(decision name, every value so far)``
  instead: a tree of states whose Q-values depend on everything chosen before.
- **Action** a choice of the decision; only ``next_decision(prefix).choices`` are allowed there
  (the rest are masked), as MetaQNN restricts transitions to valid layers (no pooling after
  pooling, kernels that fit the representation size, ``terminate``).
- **Reward** the observation's ``objective`` (validation accuracy; the MnasNet reward under soft
  constraints), given at the terminal transition only. A failed or infeasible evaluation
  (``nan``) is recorded with reward ``0``: the paper has no such case (its released server skips
  networks too large to train); recorded, the cell is not proposed again and the policy learns to
  avoid it.
- **Update** Baker et al. Eq. 3, as the released code applies it along a trajectory, from the
  terminal transition backwards (Algorithm 3)::

      Q(s_T, a_T) <- Q(s_T, a_T) + alpha * (r - Q(s_T, a_T))
      Q(s_i, a_i) <- Q(s_i, a_i) + alpha * (gamma * max_{a in A(s_i+1)} Q(s_i+1, a) - Q(s_i, a_i))

  with ``alpha = 0.01``, ``gamma = 1`` and every Q-value starting at ``0.5`` (Sec. 4: the
  Q-learning training procedure); the maximum of the next state reads its values already
  updated in this pass.
- **Experience replay** (Algorithm 1): every model enters the replay memory as an
  ``(architecture, objective)`` row; after each model ``replays_per_model`` rows (Sec. 4: 100;
  the released CIFAR-10 config uses 128) are drawn uniformly with replacement from the memory and
  each is replayed with Algorithm 3.
- **Exploration** epsilon-greedy per decision (Algorithm 2): with probability epsilon a uniform
  allowed choice, else the allowed choice with the highest Q-value, ties broken uniformly, all
  drawn from the strategy ``rng``. Epsilon follows MetaQNN's schedule (Table 2; the released
  CIFAR-10 and SVHN configs): 1500 models at epsilon 1.0, then 0.9, 0.8, 0.7 for 100 models each
  and 0.6 ... 0.1 for 150 each, 2700 models. nasbench budgets buy far fewer, so the schedule keeps
  the paper's *proportions* of the run's budget: the model that starts when a fraction ``f`` of
  the budget is spent gets the epsilon of the phase whose share of the 2700 models holds ``f``
  (:func:`epsilon_at_fraction`; phase ``k`` ends at ``C_k / 2700`` of the budget, ``C_k`` the
  paper's cumulative count). ``f`` is the models proposed over ``budget.evaluations`` and the
  cost told over ``budget.cost_s``, whichever is larger (the runner stops at whichever is spent
  first). Under an evaluation budget of ``N`` that is :func:`epsilon_schedule` ``(N)``: for 100,
  56 models at epsilon 1.0, then 4, 3, 4, 6, 5, 6, 5, 6, 5 at 0.9 ... 0.1; for 200, 112, then
  7, 7, 8, 11, 11, 11, 11, 11, 11. ``schedule_models = N`` (not the paper's) fixes the scale to
  ``N`` models whatever the budget, epsilon staying at 0.1 after them.
- **Repeats** (``repeats="reuse"``, the paper's): MetaQNN never trains a network twice. When a
  walk yields an architecture already in the replay memory, the released server adds another row
  with the recorded accuracy, replays, and walks again; one being trained when it is sampled
  again gets a row (and a replay) per sampling when its result arrives. The schedule counts
  unique models. Here likewise: a repeat is not proposed (it costs no budget), its row and replay
  happen at once (or when a pending one is told) and the walk is drawn again with the same
  epsilon, until a new architecture comes up (:data:`REDRAW_LIMIT` redraws at most; when every
  architecture of a finite space is known the walk is proposed as it is). ``repeats="evaluate"``
  (not the paper's) proposes every walk, repeats included, and the runner evaluates and charges
  them again.

The epsilon = 1 proposals are the shared initial design: ``space.sample(initial_rng)`` in order
(uniform per decision, the same distribution as a walk at epsilon = 1; under ``"reuse"`` a
repeat is skipped there too), so for one seed the first :attr:`QLearning.initial_size_` proposals
equal random search's unless random search repeats an architecture among them. Under an
evaluation budget (or ``schedule_models``) that size is known at :meth:`QLearning.start`; under a
cost budget it is 1 at the start and counts the epsilon = 1 proposals as they are made.

What to expect at nasbench budgets (``results/q-learning/README.md``: 30 seeds of 200 evaluations
on the NAS-Bench-201 table at 12 epochs): the policy learns, but not enough to move the
incumbent. Its 55 proposals at epsilon <= 0.5 average 72.3% validation accuracy against 69.1% for
random search's proposals at the same trials, yet the final test accuracy is 93.88% against
93.98% (paired difference -0.10 +- 0.07 points). (1) The schedule spends 56% of the budget at
epsilon 1 (the shared random design) and 28% at epsilon <= 0.5, where 10-50% of the decisions
are still random. (2) With the previous choice as the state and ``gamma = 1``, the target of a
transition is the best Q-value of the next state, which holds the action just taken but nothing
before it; so for every decision but the last two the target ends up the same whatever the
action: only the last two edges learn (their Q-values spread by 14 and 6.5 points over
the actions, the first four edges' by 0.3-2.3, where the table's operation means spread by 3-14
points), and the final greedy cell sits at the 68th percentile. (3) The incumbent is a maximum:
200 random cells already hold about two of the 1% best. The whole prefix as the state
(``states="prefix"``) carries credit to the first edges (greedy cell at the 91st percentile), but
then 75% of the walks at epsilon <= 0.5 repeat a known cell; neither it nor ``learning_rate =
0.1`` differs from random search by more than two standard errors. Under the NAS-Bench-201
protocol's 12000 s (about 108 evaluations; 100 seeds) both end at 93.79% test accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from nasbench.core.errors import NasbenchError, one_of
from nasbench.core.params import Configurable, param
from nasbench.core.registry import strategies
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo
from nasbench.core.types import Architecture, Choice, Decision, Observation, Proposal

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
"""MetaQNN's epsilon schedule (Baker et al. 2017, Table 2; the released CIFAR-10 and SVHN
configs): ``(epsilon, models trained)``, 2700 models in all."""

PAPER_MODELS = sum(count for _, count in PAPER_SCHEDULE)
"""2700: the models of :data:`PAPER_SCHEDULE`."""

REDRAW_LIMIT = 1000
"""Under ``repeats="reuse"``, the most walks redrawn for one proposal before a repeat is proposed
anyway (MetaQNN's spaces are too large to need a limit; a small space's last unknown
architectures may be unlikely under a greedy policy)."""

STATE_KINDS: tuple[str, ...] = ("layer", "prefix")
"""``states`` values: MetaQNN's (depth, previous layer, allowed actions) or the whole prefix."""

REPEAT_MODES: tuple[str, ...] = ("reuse", "evaluate")
"""``repeats`` values: MetaQNN's (reuse the recorded accuracy) or evaluate again."""

State = tuple[str | None, ...]
"""A Q-table state: ``(decision name, previous decision name, previous choice, mask)`` under
``states="layer"`` (``None`` before the first decision), ``(decision name, *prefix)`` under
``states="prefix"``."""

Step = tuple[State, Choice, tuple[Choice, ...]]
"""One transition of a walk: the state, the action taken, the actions allowed in that state."""

QTable = dict[State, dict[Choice, float]]
"""``{state: {action: Q-value}}``, visited pairs only (the rest are at ``initial_q``)."""


def epsilon_schedule(models: int) -> tuple[tuple[float, int], ...]:
    """:data:`PAPER_SCHEDULE` scaled to ``models`` models: ``(epsilon, models)`` phases; phase
    ``k`` ends at ``ceil(models * C_k / 2700)``, ``C_k`` the paper's cumulative count (the first
    model whose share ``index / models`` of the run reaches ``C_k / 2700`` is in the next phase,
    as :func:`epsilon_at_fraction`). The counts sum to ``models``; a phase may get none when
    ``models`` is small."""
    phases, cumulative, previous_end = [], 0, 0
    for epsilon, count in PAPER_SCHEDULE:
        cumulative += count
        end = -(-models * cumulative // PAPER_MODELS)  # ceil, integers only
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


def epsilon_at_fraction(fraction: float) -> float:
    """Epsilon of the model that starts when ``fraction`` of the budget is spent: that of the
    first phase of :data:`PAPER_SCHEDULE` whose cumulative share of the 2700 models exceeds
    ``fraction``; from ``fraction >= 1`` on, the last epsilon (0.1)."""
    cumulative = 0
    for epsilon, count in PAPER_SCHEDULE:
        cumulative += count
        if fraction * PAPER_MODELS < cumulative:
            return epsilon
    return PAPER_SCHEDULE[-1][0]


class StateMap:
    """The Q-table states of one space under one state kind (:data:`STATE_KINDS`)."""

    def __init__(self, space: SearchSpace, kind: str = "layer") -> None:
        if kind not in STATE_KINDS:
            raise one_of("q_learning states", kind, STATE_KINDS)
        self.space = space
        self.kind = kind
        self._bits = {d.name: {c: i for i, c in enumerate(d.choices)} for d in space.decisions()}
        self._masks: dict[tuple[str, tuple[Choice, ...]], str] = {}

    def mask(self, decision: Decision) -> str:
        """The allowed choices as a hex bitmask over the decision's universe (cached)."""
        key = (decision.name, decision.choices)
        mask = self._masks.get(key)
        if mask is None:
            bits = self._bits.get(decision.name, {})
            if all(c in bits for c in decision.choices):
                mask = format(sum(1 << bits[c] for c in decision.choices), "x")
            else:  # a choice outside the universe: spell the set out
                mask = "|".join(decision.choices)
            self._masks[key] = mask
        return mask

    def state(self, decision: Decision, values: Sequence[Choice], previous: str | None) -> State:
        """The state in which ``decision`` is taken after ``values`` (``previous``: the name of
        the decision that chose ``values[-1]``)."""
        if self.kind == "prefix":
            return (decision.name, *values)
        last = values[-1] if values else None
        return (decision.name, previous, last, self.mask(decision))

    def trajectory(self, values: Sequence[Choice]) -> list[Step]:
        """The walk that builds ``values``: one :data:`Step` per decision. Raises NasbenchError
        when a value is not allowed where it stands (an architecture of another space)."""
        steps: list[Step] = []
        previous: str | None = None
        for i, value in enumerate(values):
            decision = self.space.next_decision(values[:i])
            if decision is None or value not in decision.choices:
                raise NasbenchError(
                    f"q_learning: {list(values)} is not a walk of space {self.space.name}"
                )
            steps.append((self.state(decision, values[:i], previous), value, decision.choices))
            previous = decision.name
        return steps


def trajectory(space: SearchSpace, values: Sequence[Choice], states: str = "layer") -> list[Step]:
    """:meth:`StateMap.trajectory` of ``values`` in ``space`` under state kind ``states``."""
    return StateMap(space, states).trajectory(values)


def update_trajectory(
    q: QTable,
    steps: Sequence[Step],
    reward: float,
    learning_rate: float,
    discount: float,
    initial_q: float,
) -> None:
    """Baker et al. (2017) Algorithm 3: Eq. 3 applied backwards along ``steps``, in place. The
    reward arrives at the terminal transition only; earlier transitions bootstrap from the best
    allowed action of the next state (missing Q-values are ``initial_q``)."""
    target = reward  # terminal: no next state, the whole return is the reward
    for state, action, allowed in reversed(steps):
        row = q.get(state)
        if row is None:
            row = q[state] = {}
        old = row.get(action, initial_q)
        row[action] = old + learning_rate * (target - old)
        # Target of the transition into this state: r = 0 + gamma * max over its allowed actions
        # (this state's values are already updated: the backward order of Algorithm 3).
        get = row.get
        target = discount * max(get(a, initial_q) for a in allowed)


def _reward(objective: float) -> float:
    """The reward of an observation: its objective; a failed or infeasible one (``nan``) is 0."""
    return 0.0 if math.isnan(objective) else objective


@strategies.register("q_learning")
class QLearning(Configurable):
    """MetaQNN Q-learning (Baker et al., ICLR 2017); see the module docstring.

    ``schedule_models`` is ``None`` (the paper's schedule scaled to the run's budget) or the
    number of models the schedule is scaled to (>= 1); ``learning_rate`` is alpha in (0, 1];
    ``discount`` is gamma in [0, 1]; ``replays_per_model`` is the number of replay-memory rows
    replayed after each model (>= 1); ``initial_q`` is every Q-value before its first update
    (finite); ``states`` is ``"layer"`` or ``"prefix"``; ``repeats`` is ``"reuse"`` or
    ``"evaluate"``. Bad values raise NasbenchError.

    Learned attributes after :meth:`start`: ``q_`` (:data:`QTable`), ``memory_`` (the replay
    memory: ``(architecture text, objective)`` rows), ``asked_`` (proposals made),
    ``epsilons_`` (the epsilon of each proposal), ``redraws_`` (per proposal, the walks before
    it that repeated a known architecture and were reused instead of proposed), ``cost_spent_``
    (cost told so far) and
    ``initial_size_`` (how many of the first proposals come from the shared initial design: the
    epsilon = 1 phase).
    """

    initial_design: ClassVar[str] = "shared"
    paper: ClassVar[str] = (
        "Baker, Gupta, Naik & Raskar, Designing Neural Network Architectures using "
        "Reinforcement Learning, ICLR 2017"
    )
    schedule_models: int | None = param(None, kind=int, ge=1, source=(
        "Baker et al. 2017, Table 2 (1500 models at epsilon 1.0, then 0.9, "
        "0.8, 0.7 for 100 each and 0.6-0.1 for 150 each; 2700 in all); None keeps its "
        "proportions of the run's budget (evaluations or cost_s); a number fixes the scale "
        "(ours)"
    ))  # fmt: skip
    learning_rate: float = param(0.01, gt=0, le=1, source=(
        "Baker et al. 2017, Sec. 4 (Q-learning training procedure): alpha = 0.01"
    ))  # fmt: skip
    discount: float = param(1.0, ge=0, le=1, source=(
        "Baker et al. 2017, Sec. 4 (Q-learning training procedure): gamma = 1"
    ))  # fmt: skip
    replays_per_model: int = param(
        100, ge=1, source="Baker et al. 2017, Sec. 4: 100 replay samples after each model"
    )
    initial_q: float = param(0.5, source="Baker et al. 2017, Sec. 4: Q-values initialised to 0.5")
    states: str = param("layer", choices=STATE_KINDS, source=(
        "Baker et al. 2017, Sec. 3.1 and Table 1: layer, depth and representation-size "
        "bin (layer: the previous choice, the decision and its allowed actions); prefix: every "
        "choice so far (ours)"
    ))  # fmt: skip
    repeats: str = param("reuse", choices=REPEAT_MODES, source=(
        "Baker et al. 2017, the authors' released code: a sampled network already "
        "trained is not trained again, its recorded accuracy is replayed (reuse); evaluate: "
        "propose and evaluate repeats again (ours)"
    ))  # fmt: skip

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
        self.states_ = StateMap(space, self.states)
        budget = info.budget
        models = self.schedule_models if self.schedule_models is not None else budget.evaluations
        self.schedule_ = None if models is None else epsilon_schedule(models)
        # The epsilon = 1 phase has a known length unless cost told can end it earlier.
        self._known_initial = self.schedule_ is not None and (
            self.schedule_models is not None or budget.cost_s is None
        )
        self.initial_size_ = 1
        if self._known_initial and self.schedule_ is not None:
            self.initial_size_ = self.schedule_[0][1]
        self.q_: QTable = {}
        self.memory_: list[tuple[str, float]] = []
        self.asked_ = 0
        self.epsilons_: list[float] = []
        self.redraws_: list[int] = []
        self.cost_spent_ = 0.0
        self._cardinality = space.cardinality() if self.repeats == "reuse" else None
        self._steps: dict[str, list[Step]] = {}  # trajectory of each text in memory (a cache)
        self._recorded: dict[str, float] = {}  # first objective told per text (MetaQNN's record)
        self._pending: dict[str, int] = {}  # proposed, not told: text -> repeats sampled since

    def epsilon(self, index: int) -> float:
        """Epsilon of the ``index``-th proposal (0-based) given the budget spent so far: the
        smaller of the epsilons at the evaluation share and at the cost share (module
        docstring)."""
        if self.schedule_models is not None:
            assert self.schedule_ is not None
            return epsilon_at(self.schedule_, index)
        budget = self.info_.budget
        epsilon = 1.0
        if self.schedule_ is not None:
            epsilon = epsilon_at(self.schedule_, index)
        if budget.cost_s is not None:
            epsilon = min(epsilon, epsilon_at_fraction(self.cost_spent_ / budget.cost_s))
        return epsilon

    def ask(self, n: int = 1) -> list[Proposal]:
        """``n`` proposals at the default fidelity; draws from ``initial_rng`` (the epsilon = 1
        phase) or ``rng`` (epsilon-greedy walks, and replays of reused repeats). Spends no
        budget."""
        if not hasattr(self, "space_"):
            raise RuntimeError("QLearning.ask called before start")
        if n < 0:
            raise NasbenchError(f"ask needs n >= 0 proposals, got {n}")
        proposals = []
        for _ in range(n):
            epsilon = self.epsilon(self.asked_)
            arch, redraws = self._propose(epsilon)
            if epsilon >= 1.0 and not self._known_initial:
                self.initial_size_ = max(self.initial_size_, self.asked_ + 1)
            self.asked_ += 1
            self.epsilons_.append(epsilon)
            self.redraws_.append(redraws)
            proposals.append(Proposal(arch))
        return proposals

    def _propose(self, epsilon: float) -> tuple[Architecture, int]:
        """The next architecture at ``epsilon`` and the number of walks redrawn for it: under
        ``"reuse"``, walks that repeat a known architecture are reused (:meth:`_reuse`) and
        drawn again."""
        for redraw in range(REDRAW_LIMIT + 1):
            if epsilon >= 1.0:
                arch = self.space_.sample(self.initial_rng_)  # the shared initial design
            else:
                arch = self._walk(epsilon, self.rng_)
            if self.repeats == "evaluate":
                return arch, 0
            text = arch.text
            known = text in self._recorded or text in self._pending
            if not known or redraw == REDRAW_LIMIT or self._exhausted():
                self._pending.setdefault(text, 0)
                return arch, redraw
            self._reuse(text)
        raise AssertionError("unreachable")  # pragma: no cover

    def _exhausted(self) -> bool:
        """Whether every architecture of a finite space is recorded or pending."""
        if self._cardinality is None:
            return False
        return len(self._recorded.keys() | self._pending.keys()) >= self._cardinality

    def _reuse(self, text: str) -> None:
        """MetaQNN's answer to a sampled network it has trained: one more replay-memory row with
        the recorded objective and one replay; for one still pending, both when it is told."""
        if text in self._recorded:
            self.memory_.append((text, self._recorded[text]))
            self._replay()
        else:
            self._pending[text] += 1

    def _walk(self, epsilon: float, rng: np.random.Generator) -> Architecture:
        """Baker et al. (2017) Algorithm 2: one epsilon-greedy walk through the decisions."""
        values: list[Choice] = []
        previous: str | None = None
        states, q, initial = self.states_, self.q_, self.initial_q
        while (decision := self.space_.next_decision(values)) is not None:
            choices = decision.choices
            if epsilon > 0.0 and rng.random() < epsilon:
                choice = choices[int(rng.integers(len(choices)))]
            else:
                row = q.get(states.state(decision, values, previous), {})
                values_q = [row.get(c, initial) for c in choices]
                top = max(values_q)
                best = [c for c, value in zip(choices, values_q, strict=True) if value == top]
                choice = best[int(rng.integers(len(best)))] if len(best) > 1 else best[0]
            values.append(choice)
            previous = decision.name
        return self.space_.make(values)

    def greedy(self, rng: np.random.Generator) -> Architecture:
        """The architecture of the greedy policy (epsilon = 0), ties broken by ``rng``; changes
        nothing (for analysis: the strategy's own generators are left alone)."""
        if not hasattr(self, "space_"):
            raise RuntimeError("QLearning.greedy called before start")
        return self._walk(0.0, rng)

    def tell(self, observations: Sequence[Observation]) -> None:
        """Baker et al. (2017) Algorithm 1, per observation: store it in the replay memory
        (``nan`` included), then replay ``replays_per_model`` uniformly drawn rows (draws from
        ``rng``); a pending architecture sampled again meanwhile adds a row and a replay per
        sampling. Raises NasbenchError for an architecture outside the space."""
        if not hasattr(self, "space_"):
            raise RuntimeError("QLearning.tell called before start")
        for obs in observations:
            text = self.space_.format(obs.arch)
            if text not in self._steps:
                self.space_.validate(obs.arch)
                self._steps[text] = self.states_.trajectory(obs.arch.values)
            value = float(obs.objective)
            self._recorded.setdefault(text, value)
            if math.isfinite(obs.cost_s):
                self.cost_spent_ += float(obs.cost_s)
            for _ in range(1 + self._pending.pop(text, 0)):
                self.memory_.append((text, value))
                self._replay()

    def _replay(self) -> None:
        for pick in self.rng_.integers(len(self.memory_), size=self.replays_per_model):
            text, objective = self.memory_[int(pick)]
            update_trajectory(
                self.q_, self._steps[text], _reward(objective),
                self.learning_rate, self.discount, self.initial_q,
            )  # fmt: skip
