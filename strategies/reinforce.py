"""REINFORCE: policy-gradient search with a factorised or an autoregressive LSTM policy.

>>> from nasbench.core.registry import spaces
>>> from nasbench.core.seeding import role_rng
>>> from nasbench.core.strategy import SearchInfo
>>> from nasbench.core.types import Budget, Observation, Status
>>> space = spaces.create("nb201")
>>> search = Reinforce(policy="factorised", learning_rate=0.05)
>>> info = SearchInfo(fidelity=12.0, fidelities=(), budget=Budget(evaluations=150))
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> scores = []
>>> for trial in range(150):
...     (proposal,) = search.ask(1)
...     score = proposal.arch.values.count("nor_conv_3x3") / 6  # a synthetic objective
...     scores.append(score)
...     search.tell([Observation(trial, proposal.arch, 12.0, score, score, 1.0, True, Status.OK)])
>>> sum(scores[-30:]) / 30 > sum(scores[:30]) / 30 + 0.2  # the policy learnt 3x3 convolutions
True

The algorithm is REINFORCE (Williams, Machine Learning 8, 1992: the gradient of the expected
reward is ``E[(R - b) grad log pi(a)]`` for any baseline ``b``) as NAS controllers use it (Zoph &
Le, ICLR 2017, Sec. 3.2; Pham et al., ENAS, ICML 2018, Sec. 2.2). A policy ``pi`` emits an
architecture one decision at a time through the space's decision view; after an observation with
reward ``R`` (its ``objective``) one Adam step descends

    loss = -(R - b) * sum_t log pi(a_t | a_<t) - entropy_weight * sum_t H(pi(. | a_<t))

with ``b`` the moving-average baseline and ``H`` each step's entropy (an exploration bonus;
ENAS adds it to the reward instead). Two policies share one sampling routine (:func:`rollout`):

- ``"factorised"``, NAS-Bench-201's baseline (Dong & Yang, ICLR 2020): one logit vector per
  decision, independent of earlier choices, initialised ``1e-3 * N(0, 1)`` as in its code.
- ``"lstm"`` (Zoph & Le 2017, Sec. 3.1; ENAS): a one-layer LSTM controller whose input at step
  ``t`` is the embedding of the previous (decision, choice) pair (a start token at ``t = 0``)
  plus an embedding of decision ``t``'s identity, so it knows where it is in variable-length
  sequences (chain) and after skipped decisions (hierarchical). Each decision has its own softmax
  head: the rows of one ``hidden x |universe|`` linear layer that belong to that decision. Every
  parameter starts uniform in ``[-0.1, 0.1]`` (ENAS, Sec. 3.2).

Logits range over a decision's universe (``space.decisions()``); at each step only
``next_decision(prefix).choices`` keep theirs (the rest are masked out before the softmax), so
both policies work on every space, prefix-dependent choices included. What the papers leave open:

- **Baseline** NAS-Bench-201's bias-corrected exponential moving average of rewards, updated with
  the current reward *before* ``R - b`` is taken (NAS-Bench-201's and ENAS's code both do so;
  the first observation therefore has advantage 0).
- **Failed or infeasible evaluations** (``objective`` nan) are rewarded as the worst objective
  observed so far (nan loses to every number, as in regularized evolution's tournaments), so the
  controller learns to avoid them; before any finite objective they are skipped.
- **Batches** ``tell`` takes one Adam step on the mean loss of its observations; the runner tells
  one at a time: the papers' one update per sampled architecture.
- **Bookkeeping** an observation's architecture carries its decision values, all the
  log-probability needs: it is recomputed under the current policy at ``tell`` (teacher forcing),
  so observations may arrive in any order and after several asks.
- **Randomness** the policy is initialised and sampled from one ``torch.Generator`` drawn from the
  strategy ``rng``; modules are built on the meta device, so torch's global RNG is never drawn.
  There is no random initial design (``initial_design = "none"``): the first proposal comes from
  the untrained policy, as in NAS-Bench-201's baseline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from nasbench.core.errors import NasbenchError
from nasbench.core.params import Configurable, param
from nasbench.core.registry import strategies
from nasbench.core.seeding import torch_generator
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo
from nasbench.core.types import Choice, Decision, Observation, Proposal

State = tuple[torch.Tensor, torch.Tensor] | None


class PolicyKind(StrEnum):
    """The two policies (see the module docstring)."""

    FACTORISED = "factorised"
    LSTM = "lstm"


DEFAULT_LEARNING_RATE = {PolicyKind.FACTORISED: 0.01, PolicyKind.LSTM: 0.0035}
"""Adam's step size when ``learning_rate`` is None: NAS-Bench-201 / NATS-Bench's REINFORCE
commands for the factorised policy, ENAS's released CIFAR-10 search script for the LSTM."""


@dataclass
class Universe:
    """Every decision's choices laid end to end: decision ``d`` owns columns
    ``offsets[d] : offsets[d] + len(choices)``. Built from ``space.decisions()``."""

    names: dict[str, int]
    offsets: tuple[int, ...]
    columns: tuple[dict[Choice, int], ...]
    size: int
    _allowed: dict[Decision, tuple[int, torch.Tensor]] = field(default_factory=dict)

    @classmethod
    def of(cls, space: SearchSpace) -> Universe:
        decisions = space.decisions()
        offsets, start = [], 0
        for decision in decisions:
            offsets.append(start)
            start += len(decision.choices)
        columns = tuple(
            {c: off + i for i, c in enumerate(d.choices)}
            for d, off in zip(decisions, offsets, strict=True)
        )
        names = {d.name: i for i, d in enumerate(decisions)}
        return cls(names, tuple(offsets), columns, start)

    def allowed(self, decision: Decision) -> tuple[int, torch.Tensor]:
        """The decision's index and the columns of its allowed choices, in their order."""
        if decision not in self._allowed:
            d = self.names[decision.name]
            cols = [self.columns[d][c] for c in decision.choices]
            self._allowed[decision] = (d, torch.tensor(cols, dtype=torch.long))
        return self._allowed[decision]


class FactorisedPolicy(nn.Module):
    """Independent logits per decision (NAS-Bench-201's REINFORCE policy)."""

    def __init__(self, universe: Universe) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.empty(universe.size, dtype=torch.float32))

    def initialise(self, generator: torch.Generator) -> None:
        # NAS-Bench-201 released code: arch_parameters = 1e-3 * randn(edges, ops)
        self.logits.normal_(0.0, 1e-3, generator=generator)

    def begin(self) -> State:
        return None

    def step(self, state: State, decision: int, token: int) -> tuple[torch.Tensor, State]:
        """Logits over the whole universe (the caller slices decision ``decision``'s)."""
        return self.logits, None


class LSTMPolicy(nn.Module):
    """Autoregressive LSTM controller (Zoph & Le 2017; ENAS); see the module docstring."""

    def __init__(self, universe: Universe, hidden_size: int) -> None:
        super().__init__()
        f32 = torch.float32
        # token 0 is the start token, token 1 + c is universe column c
        self.choice_embedding = nn.Embedding(universe.size + 1, hidden_size, dtype=f32)
        self.decision_embedding = nn.Embedding(len(universe.offsets), hidden_size, dtype=f32)
        self.cell = nn.LSTMCell(hidden_size, hidden_size, dtype=f32)
        self.head = nn.Linear(hidden_size, universe.size, dtype=f32)

    def initialise(self, generator: torch.Generator) -> None:
        for tensor in self.parameters():  # ENAS Sec. 3.2: uniform in [-0.1, 0.1]
            tensor.uniform_(-0.1, 0.1, generator=generator)

    def begin(self) -> State:
        zeros = torch.zeros(1, self.cell.hidden_size)
        return zeros, zeros

    def step(self, state: State, decision: int, token: int) -> tuple[torch.Tensor, State]:
        x = self.choice_embedding.weight[token] + self.decision_embedding.weight[decision]
        h, c = self.cell(x.unsqueeze(0), state)
        return self.head(h)[0], (h, c)


Policy = FactorisedPolicy | LSTMPolicy


def rollout(
    policy: Policy,
    space: SearchSpace,
    universe: Universe,
    generator: torch.Generator | None = None,
    values: Sequence[Choice] | None = None,
) -> tuple[tuple[Choice, ...], torch.Tensor, torch.Tensor]:
    """Walk ``space``'s decisions under ``policy``: sample each from ``generator`` or, given
    ``values``, score them (teacher forcing). Returns the values, ``sum_t log pi(a_t)`` and the
    summed per-step entropies (differentiable unless called under ``torch.no_grad``).
    Sampling needs ``generator`` (torch's global RNG is never used)."""
    if values is None and generator is None:
        raise ValueError("rollout samples only from an explicit generator")
    chosen: list[Choice] = []
    log_prob, entropy = torch.zeros(()), torch.zeros(())
    state, token = policy.begin(), 0
    while (decision := space.next_decision(chosen)) is not None:
        d, cols = universe.allowed(decision)
        logits, state = policy.step(state, d, token)
        logp = torch.log_softmax(logits[cols], dim=0)  # masked to the allowed choices
        if values is None:
            k = int(torch.multinomial(logp.exp(), 1, generator=generator))
        else:
            k = decision.choices.index(values[len(chosen)])
        log_prob = log_prob + logp[k]
        entropy = entropy - (logp.exp() * logp).sum()
        chosen.append(decision.choices[k])
        token = int(cols[k]) + 1
    return tuple(chosen), log_prob, entropy


@strategies.register("reinforce")
class Reinforce(Configurable):
    """REINFORCE with a moving-average baseline and an entropy bonus; see the module docstring.

    ``policy`` is ``"factorised"`` or ``"lstm"``; ``learning_rate`` is Adam's step size (> 0;
    None: :data:`DEFAULT_LEARNING_RATE` of the policy); ``baseline_decay`` the baseline's
    momentum in [0, 1); ``entropy_weight`` >= 0; ``hidden_size`` the LSTM's width (>= 1; unused
    by the factorised policy). Bad values raise NasbenchError.

    Learned attributes after :meth:`start`: ``policy_`` (the torch module), ``optimizer_`` (Adam),
    ``generator_`` (the torch generator), ``learning_rate_`` (the step size in use),
    ``baseline_`` (current baseline, nan before any reward), ``worst_`` (worst finite objective
    so far), ``updates_`` (Adam steps taken).
    """

    initial_design: ClassVar[str] = "none"
    paper: ClassVar[str] = (
        "Williams, Simple Statistical Gradient-Following Algorithms for Connectionist "
        "Reinforcement Learning, Machine Learning 1992; Zoph & Le, Neural Architecture Search "
        "with Reinforcement Learning, ICLR 2017; Pham et al., Efficient Neural Architecture "
        "Search via Parameter Sharing, ICML 2018; as the NAS-Bench-201 baseline (Dong & Yang, "
        "ICLR 2020)"
    )
    policy: PolicyKind = param("factorised", choices=tuple(PolicyKind), source=(
        "NAS-Bench-201's REINFORCE baseline (Dong & Yang, ICLR 2020, Sec. 5; released "
        "exps/NAS-Bench-201-algos/reinforce.py): factorised logits per edge"
    ))  # fmt: skip
    learning_rate: float | None = param(None, kind=float, gt=0, source=(
        "None: the policy's default. factorised 0.01: NATS-Bench's released "
        "REINFORCE commands (Dong et al., TPAMI 2021; NAS-Bench-201's grid hps/GRID-RL.sh spans "
        "0.01-0.5); lstm 0.0035: ENAS's released CIFAR-10 search script (--controller_lr; the "
        "ENAS paper, Sec. 3.2, uses 0.00035 over far more controller steps)"
    ))  # fmt: skip
    baseline_decay: float = param(0.9, ge=0, lt=1, source=(
        "NAS-Bench-201 / NATS-Bench released REINFORCE: EMA_momentum 0.9 "
        "(ENAS uses 0.99; no difference measured on the NAS-Bench-201 protocol)"
    ))  # fmt: skip
    entropy_weight: float = param(0.0001, ge=0, source=(
        "ENAS (Pham et al., ICML 2018) released CIFAR-10 search script: "
        "--controller_entropy_weight=0.0001 (NAS-Bench-201's baseline has no entropy term)"
    ))  # fmt: skip
    hidden_size: int = param(64, ge=1, source=(
        "ENAS (Pham et al., ICML 2018) released CIFAR-10 controller: "
        "lstm_size=64, one layer (the paper's controller has 100 units)"
    ))  # fmt: skip

    def __post_init__(self) -> None:
        super().__post_init__()
        self.policy = PolicyKind(self.policy)

    def start(
        self,
        space: SearchSpace,
        info: SearchInfo,
        rng: np.random.Generator,
        initial_rng: np.random.Generator,
    ) -> None:
        """Begin a search: a fresh policy initialised from a torch generator drawn from ``rng``
        (one integer), Adam, an empty baseline. ``initial_rng`` is never drawn."""
        self.space_ = space
        self.info_ = info
        self.rng_ = rng
        self.universe_ = Universe.of(space)
        self.generator_ = torch_generator(rng)
        with torch.device("meta"):  # construction draws nothing, not even torch's global RNG
            module: Policy = (
                FactorisedPolicy(self.universe_)
                if self.policy == PolicyKind.FACTORISED
                else LSTMPolicy(self.universe_, self.hidden_size)
            )
        self.policy_ = module.to_empty(device="cpu")
        with torch.no_grad():
            self.policy_.initialise(self.generator_)
        self.optimizer_ = torch.optim.Adam(self.policy_.parameters(), lr=self.learning_rate_)
        self.baseline_sums_ = [0.0, 0.0]  # NAS-Bench-201's EMA: numerator, denominator
        self.worst_ = math.nan
        self.initial_size_ = 0
        self.asked_ = self.told_ = self.updates_ = 0

    @property
    def learning_rate_(self) -> float:
        """Adam's step size: ``learning_rate``, or the policy's default when it is None."""
        if self.learning_rate is None:
            return DEFAULT_LEARNING_RATE[self.policy]
        return self.learning_rate

    @property
    def baseline_(self) -> float:
        numerator, denominator = self.baseline_sums_
        return numerator / denominator if denominator > 0 else math.nan

    def ask(self, n: int = 1) -> list[Proposal]:
        """``n`` architectures sampled from the current policy (draws from ``generator_``; no
        update in between). Spends no budget."""
        if not hasattr(self, "policy_"):
            raise RuntimeError("Reinforce.ask called before start")
        if n < 0:
            raise NasbenchError(f"ask needs n >= 0 proposals, got {n}")
        proposals = []
        with torch.no_grad():
            for _ in range(n):
                values, _, _ = rollout(self.policy_, self.space_, self.universe_, self.generator_)
                proposals.append(Proposal(self.space_.make(values)))
        self.asked_ += n
        return proposals

    def _reward(self, objective: float) -> float | None:
        """The reward of an objective: itself if finite, else the worst finite objective so far
        (``None`` before any)."""
        if math.isfinite(objective):
            if math.isnan(self.worst_) or objective < self.worst_:
                self.worst_ = float(objective)
            return float(objective)
        return None if math.isnan(self.worst_) else self.worst_

    def _advantage(self, reward: float) -> float:
        """Update the baseline with ``reward``, then return ``reward - baseline`` (NAS-Bench-201
        and ENAS code order)."""
        decay = self.baseline_decay
        numerator, denominator = self.baseline_sums_
        self.baseline_sums_ = [
            decay * numerator + (1 - decay) * reward,
            decay * denominator + (1 - decay),
        ]
        return reward - self.baseline_

    def tell(self, observations: Sequence[Observation]) -> None:
        """Update the baseline per observation (in the order given) and take one Adam step on the
        mean REINFORCE loss of the batch. Raises NasbenchError for an architecture not in the
        space."""
        losses = []
        for obs in observations:
            self.space_.validate(obs.arch)
            self.told_ += 1
            reward = self._reward(obs.objective)
            if reward is None:
                continue
            advantage = self._advantage(reward)
            _, log_prob, entropy = rollout(
                self.policy_, self.space_, self.universe_, values=obs.arch.values
            )
            # REINFORCE with baseline (Williams 1992; Zoph & Le 2017, Sec. 3.2) + entropy bonus
            losses.append(-advantage * log_prob - self.entropy_weight * entropy)
        if losses:
            self.optimizer_.zero_grad()
            torch.stack(losses).mean().backward()
            self.optimizer_.step()
            self.updates_ += 1
