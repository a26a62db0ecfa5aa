"""MetaQNN Q-learning (strategies/q_learning.py), driven by a small fake loop.

On NAS-Bench-201 the synthetic objective is the fraction of the 6 cell edges that are 3x3
convolutions; cells whose first edge is ``none`` are reported infeasible (``nan``), as a hard
budget constraint would.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import spaces, strategies
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo, Strategy
from nasbench.core.types import Architecture, Budget, Observation, Proposal, Status
from nasbench.strategies.q_learning import (
    PAPER_SCHEDULE,
    QLearning,
    StateMap,
    epsilon_at,
    epsilon_at_fraction,
    epsilon_schedule,
    trajectory,
    update_trajectory,
)
from nasbench.strategies.random import RandomSearch
from tests.strategy_helpers import CONV, INFO, SPACE, drive, observe, start, texts


def generator_state(rng: np.random.Generator) -> dict[str, Any]:
    """The generator's state, to compare."""
    return dict(rng.bit_generator.state)


TINY = {"max_layers": 2, "kernels": (1,), "filters": (4,), "strides": (1,), "pools": ((2, 2),)}
"""A chain space of 10 architectures: 2 first layers times 5 second choices (terminate too)."""


def started(
    seed: int,
    strategy_seed: int | None = None,
    space: SearchSpace = SPACE,
    info: SearchInfo = INFO,
    **params: Any,
) -> QLearning:
    return start(QLearning(**params), seed, strategy_seed, space, info)


def budget(evaluations: int | None = None, cost_s: float | None = None) -> SearchInfo:
    return SearchInfo(12.0, (), Budget(cost_s=cost_s, evaluations=evaluations))


def test_registered_with_documented_defaults() -> None:
    assert strategies.get("q_learning") is QLearning
    defaults = {
        "schedule_models": None,
        "learning_rate": 0.01,
        "discount": 1.0,
        "replays_per_model": 100,
        "initial_q": 0.5,
        "states": "layer",
        "repeats": "reuse",
    }
    assert strategies.params("q_learning") == defaults
    assert set(QLearning.sources) == set(defaults)
    assert all("Baker et al. 2017" in source for source in QLearning.sources.values())
    assert QLearning.initial_design == "shared"
    assert "ICLR 2017" in QLearning.paper
    assert isinstance(strategies.create("q_learning"), Strategy)


def test_schedule_is_metaqnn_table_2_scaled() -> None:
    # Table 2 (and the released CIFAR-10/SVHN configs): 1500 at 1.0, 100 at 0.9-0.7, 150 after.
    assert [n for _, n in PAPER_SCHEDULE] == [1500, 100, 100, 100] + [150] * 6
    assert [e for e, _ in PAPER_SCHEDULE] == [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]
    assert epsilon_schedule(2700) == PAPER_SCHEDULE
    assert epsilon_schedule(5400) == tuple((e, 2 * n) for e, n in PAPER_SCHEDULE)
    assert [n for _, n in epsilon_schedule(100)] == [56, 4, 3, 4, 6, 5, 6, 5, 6, 5]
    assert [n for _, n in epsilon_schedule(200)] == [112, 7, 7, 8, 11, 11, 11, 11, 11, 11]
    assert [n for _, n in epsilon_schedule(1)] == [1] + [0] * 9
    for models in (1, 7, 50, 99, 100, 108, 150, 200, 1000, 5400):
        phases = epsilon_schedule(models)
        assert sum(n for _, n in phases) == models
        cumulative = np.cumsum([n for _, n in phases])
        paper = np.cumsum([n for _, n in PAPER_SCHEDULE]) / 2700
        # Each phase ends at the first model whose share of the run reaches the paper's share.
        np.testing.assert_array_equal(cumulative, np.ceil(models * paper - 1e-9))
        assert np.all(cumulative / models - paper < 1 / models)
    schedule = epsilon_schedule(100)
    assert [epsilon_at(schedule, i) for i in (0, 55, 56, 59, 60, 94, 95, 99, 100, 10_000)] == [
        1.0, 1.0, 0.9, 0.9, 0.8, 0.2, 0.1, 0.1, 0.1, 0.1,
    ]  # fmt: skip
    assert [epsilon_at_fraction(f) for f in (0.0, 0.555, 0.556, 0.7, 0.95, 1.0, 3.0)] == [
        1.0, 1.0, 0.9, 0.6, 0.1, 0.1, 0.1,
    ]  # fmt: skip


@pytest.mark.parametrize(("evaluations", "initial"), [(60, 34), (100, 56), (150, 84), (200, 112)])
def test_schedule_follows_the_evaluation_budget(evaluations: int, initial: int) -> None:
    search = started(0, info=budget(evaluations))
    assert search.initial_size_ == initial
    drive(search, evaluations + 5)
    expected = [epsilon_at(epsilon_schedule(evaluations), i) for i in range(evaluations + 5)]
    assert search.epsilons_ == expected
    # A fixed scale instead: 40 models whatever the budget.
    fixed = started(0, info=budget(evaluations), schedule_models=40)
    assert fixed.initial_size_ == 23
    drive(fixed, 50)
    assert fixed.epsilons_ == [epsilon_at(epsilon_schedule(40), i) for i in range(50)]


def test_schedule_follows_the_cost_budget() -> None:
    # 100 evaluations of 10 s each fit a 1000 s budget: the same phases as 100 evaluations.
    search = started(1, info=budget(cost_s=1000.0))
    assert search.initial_size_ == 1  # unknown in advance: the phase ends on the cost told
    for trial in range(100):
        (proposal,) = search.ask(1)
        y = proposal.arch.values.count(CONV) / 6
        search.tell([Observation(trial, proposal.arch, 12.0, y, y, 10.0, True, Status.OK)])
    assert search.epsilons_ == [epsilon_at(epsilon_schedule(100), i) for i in range(100)]
    assert search.initial_size_ == 56 and search.cost_spent_ == pytest.approx(1000.0)
    # Costlier models spend the budget sooner; whichever share is larger sets epsilon.
    both = started(1, info=budget(evaluations=100, cost_s=500.0))
    assert both.initial_size_ == 1
    for trial in range(40):
        (proposal,) = both.ask(1)
        both.tell([Observation(trial, proposal.arch, 12.0, 0.5, 0.5, 10.0, True, Status.OK)])
    assert both.epsilons_ == [epsilon_at_fraction(i / 50) for i in range(40)]
    assert both.initial_size_ == 28


def test_epsilon_one_phase_is_the_shared_initial_design() -> None:
    search = started(7, strategy_seed=1234)
    assert search.initial_size_ == 84  # 1500/2700 of INFO's 150 evaluations
    baseline = RandomSearch()
    baseline.start(SPACE, INFO, role_rng(7, "strategy"), role_rng(7, "initial_design"))
    first = [p.arch for p in search.ask(84)]
    assert first == [p.arch for p in baseline.ask(84)]
    assert len({a.text for a in first}) == 84  # no repeat in this stream: nothing skipped
    # Later proposals come from the strategy stream: the initial-design stream is left alone.
    before = generator_state(search.initial_rng_)
    search.ask(5)
    assert generator_state(search.initial_rng_) == before


def test_trajectory_walks_the_decisions_with_allowed_choices() -> None:
    chain = spaces.create("chain")
    arch = chain.sample(np.random.default_rng(4))
    assert arch.values[-1] == "terminate" and len(arch.values) < len(chain.decisions())
    steps = trajectory(chain, arch.values)
    states = StateMap(chain)
    assert [action for _, action, _ in steps] == list(arch.values)
    first = chain.next_decision([])
    assert first is not None
    assert steps[0][0] == ("layer0", None, None, states.mask(first))
    for i, (state, _, allowed) in enumerate(steps):
        decision = chain.next_decision(arch.values[:i])
        assert decision is not None and allowed == decision.choices
        assert state[0] == decision.name and state[3] == states.mask(decision)
        if i:
            assert state[1:3] == (steps[i - 1][0][0], arch.values[i - 1])
    universe = {d.name: d.choices for d in chain.decisions()}
    assert arch.values[1] == "maxpool3-s2"  # so pooling is masked at layer2 (no two in a row)
    assert set(steps[2][2]) < set(universe["layer2"]) and "maxpool2-s2" not in steps[2][2]
    # The whole prefix as the state instead.
    prefix = trajectory(chain, arch.values, states="prefix")
    assert [s for s, _, _ in prefix] == [
        (f"layer{i}", *arch.values[:i]) for i in range(len(arch.values))
    ]
    with pytest.raises(NasbenchError, match="not a walk"):
        trajectory(SPACE, ("conv1-16-s1",) * 6)
    with pytest.raises(NasbenchError, match="states"):
        StateMap(chain, "tree")


def test_state_tells_representation_size_bins_apart() -> None:
    # Same depth, same previous layer, but 3 stride-2 layers shrink 32 to 4: MetaQNN's size bin
    # (and the kernels it allows) differ, so the states must too.
    chain = spaces.create("chain")
    full = ["conv3-16-s1", "conv3-16-s1", "conv3-16-s1", "conv1-16-s1", "terminate"]
    small = ["conv3-16-s2", "conv3-16-s2", "conv3-16-s2", "conv1-16-s1", "terminate"]
    a, b = trajectory(chain, full)[4], trajectory(chain, small)[4]
    assert a[0][:3] == b[0][:3] == ("layer4", "layer3", "conv1-16-s1")
    assert "conv5-16-s1" in a[2] and "conv5-16-s1" not in b[2]
    assert a[0] != b[0]
    # NAS-Bench-201 has one resolution per cell: every state of an edge has the same mask.
    cell = SPACE.sample(np.random.default_rng(0))
    assert {state[3] for state, _, _ in trajectory(SPACE, cell.values)} == {"1f"}


def test_update_is_eq_3_on_a_hand_computed_two_step_trajectory() -> None:
    a = ("a", None, None, "3")
    b = ("b", "a", "x", "3")
    steps = [(a, "x", ("x", "y")), (b, "u", ("u", "v"))]
    q: dict = {b: {"w": 9.0}}  # a value of an action not allowed in b: masked out of the max
    update_trajectory(q, steps, 0.9, 0.01, 1.0, 0.5)
    # Terminal: Q(b,u) = 0.5 + 0.01 * (0.9 - 0.5) = 0.504.
    assert q[b]["u"] == pytest.approx(0.504)
    # Then Q(a,x) = 0.5 + 0.01 * (1 * max(Q(b,u), Q(b,v)) - 0.5) = 0.5 + 0.01 * 0.004.
    assert q[a]["x"] == pytest.approx(0.50004)
    q[b]["v"] = 0.7
    update_trajectory(q, steps, 0.0, 0.5, 0.5, 0.5)
    assert q[b]["u"] == pytest.approx(0.504 / 2)
    assert q[a]["x"] == pytest.approx(0.50004 + 0.5 * (0.5 * 0.7 - 0.50004))
    assert q[b]["w"] == 9.0 and "y" not in q[a]


def test_update_runs_backwards_from_the_terminal_state() -> None:
    s1, s2, s3 = ("e1", None, None, "1"), ("e2", "e1", "p", "1"), ("e3", "e2", "q", "1")
    steps = [(s1, "p", ("p", "z")), (s2, "q", ("q", "z")), (s3, "r", ("r", "z"))]
    q: dict = {}
    update_trajectory(q, steps, 1.0, 0.5, 1.0, 0.5)
    # Backwards, each target reads the next state's value already updated in this pass:
    assert q[s3]["r"] == pytest.approx(0.75)  # 0.5 + 0.5 * (1 - 0.5)
    assert q[s2]["q"] == pytest.approx(0.625)  # 0.5 + 0.5 * (0.75 - 0.5)
    assert q[s1]["p"] == pytest.approx(0.5625)  # 0.5 + 0.5 * (0.625 - 0.5)
    # (forwards, the reward would reach only the last transition in one pass).
    # The strategy replays its memory with exactly this update: one row, one replay.
    search = started(3, info=budget(10), replays_per_model=1, learning_rate=0.5)
    (proposal,) = search.ask(1)
    search.tell([observe(0, proposal.arch, 1.0)])
    twin: dict = {}
    update_trajectory(twin, trajectory(SPACE, proposal.arch.values), 1.0, 0.5, 1.0, 0.5)
    assert search.q_ == twin
    assert next(iter(twin))[0] == "node3.in2"  # the terminal transition is updated first


def test_replay_follows_algorithm_1_with_nan_as_zero() -> None:
    search = started(3, info=budget(2), replays_per_model=37)
    (first,) = search.ask(1)
    search.tell([observe(0, first.arch, 0.8)])
    state, action, _ = trajectory(SPACE, first.arch.values)[-1]
    # One memory row replayed 37 times: Q -> 0.8 geometrically from 0.5.
    assert search.q_[state][action] == pytest.approx(0.8 + (0.5 - 0.8) * 0.99**37)
    # A second observation, infeasible: stored as nan, replayed with reward 0.
    (second,) = search.ask(1)
    assert second.arch != first.arch
    twin_q = {s: dict(row) for s, row in search.q_.items()}
    twin = np.random.default_rng()
    twin.bit_generator.state = generator_state(search.rng_)
    search.tell([observe(1, second.arch, math.nan)])
    assert [t for t, _ in search.memory_] == [str(first.arch), str(second.arch)]
    assert math.isnan(search.memory_[1][1])
    archs, rewards = [first.arch, second.arch], [0.8, 0.0]
    for pick in twin.integers(2, size=37):  # uniform over the memory, with replacement
        steps = trajectory(SPACE, archs[int(pick)].values)
        update_trajectory(twin_q, steps, rewards[int(pick)], 0.01, 1.0, 0.5)
    assert search.q_ == twin_q


def test_greedy_picks_the_argmax_and_breaks_ties_with_the_strategy_generator() -> None:
    search = started(0, info=budget(1), repeats="evaluate")  # epsilon 0.1 from the second on
    search.ask(1)
    # 3x3 convolutions and 1x1 convolutions tie at the top of every state of the walk.
    previous: list[tuple[str | None, str | None]] = [(None, None)]
    for d in SPACE.decisions():
        mask = search.states_.mask(d)
        for prev in previous:
            search.q_[(d.name, *prev, mask)] = {CONV: 0.9, "nor_conv_1x1": 0.9, "none": 0.7}
        previous = [(d.name, c) for c in d.choices]
    twin = np.random.default_rng()
    twin.bit_generator.state = generator_state(search.rng_)
    greedy = search.greedy(twin)
    assert set(greedy.values) <= {CONV, "nor_conv_1x1"}
    # The greedy walk draws one integer per tie from the generator it is given, nothing else.
    replay = np.random.default_rng()
    replay.bit_generator.state = generator_state(search.rng_)
    tied = ("nor_conv_1x1", CONV)  # in the order of the decision's choices
    assert greedy.values == tuple(tied[int(replay.integers(2))] for _ in range(6))
    assert generator_state(twin) == generator_state(replay)
    # A single best action takes no draw at all.
    search.q_ = {s: {**row, CONV: 0.95} for s, row in search.q_.items()}
    before = generator_state(twin)
    assert search.greedy(twin).values == (CONV,) * 6 and generator_state(twin) == before
    # Epsilon-greedy walks at 0.1: 3x3 convolution except for uniform exploration.
    proposals = search.ask(3000)
    share = np.mean([p.arch.values.count(CONV) / 6 for p in proposals])
    assert share == pytest.approx(0.9 + 0.1 / 5, abs=0.01)
    # With an empty table every action ties: the walk is uniform.
    fresh = started(0, info=budget(1), repeats="evaluate")
    fresh.ask(1)
    counts = np.array([[p.arch.values.count(c) for c in SPACE.decisions()[0].choices]
                       for p in fresh.ask(2000)]).sum(axis=0) / 12000  # fmt: skip
    np.testing.assert_allclose(counts, 0.2, atol=0.015)


def test_greedy_walk_never_takes_a_masked_action() -> None:
    chain = spaces.create("chain")
    arch = chain.sample(np.random.default_rng(4))
    steps = trajectory(chain, arch.values)
    search = started(0, space=chain, info=budget(1), repeats="evaluate")
    search.ask(1)
    search.q_[steps[0][0]] = {arch.values[0]: 0.9}
    search.q_[steps[1][0]] = {"maxpool3-s2": 0.9}
    search.q_[steps[2][0]] = {"maxpool2-s2": 10.0}  # not allowed after pooling
    walks = [p.arch.values for p in search.ask(300)]
    assert sum(v[1] == "maxpool3-s2" for v in walks) > 200
    assert not any(v[1] == "maxpool3-s2" and "pool" in v[2] for v in walks)


def test_repeats_are_reused_not_proposed() -> None:
    tiny = spaces.create("chain", **TINY)
    search = started(0, space=tiny, info=budget(40), replays_per_model=3)
    seen: list[str] = []
    for trial in range(10):
        (proposal,) = search.ask(1)
        assert proposal.arch.text not in seen  # MetaQNN never trains a network twice
        seen.append(proposal.arch.text)
        search.tell([observe(trial, proposal.arch, 0.1 * trial)])
    assert sum(search.redraws_) > 0
    # Every reused walk added a memory row with the recorded objective (and a replay).
    recorded = {t: 0.1 * i for i, t in enumerate(seen)}
    assert len(search.memory_) == 10 + sum(search.redraws_)
    assert all(value == pytest.approx(recorded[text]) for text, value in search.memory_)
    # Every architecture known: walks are proposed as they are (and evaluated again).
    more = [p.arch.text for p in search.ask(5)]
    assert set(more) <= set(seen) and search.redraws_[-5:] == [0] * 5
    # Under repeats="evaluate" the walks are proposed whatever they repeat.
    again = started(0, space=tiny, info=budget(40), replays_per_model=3, repeats="evaluate")
    proposed = texts(drive(again, 20))
    assert len(set(proposed)) < 20 and sum(again.redraws_) == 0


def test_a_pending_repeat_is_replayed_when_its_result_arrives() -> None:
    tiny = spaces.create("chain", max_layers=1, kernels=(1,), filters=(4,), strides=(1,))
    assert tiny.cardinality() == 2
    search = started(2, space=tiny, info=budget(10), replays_per_model=1)
    a, b = search.ask(2)  # both from the initial design, neither told yet
    assert a.arch != b.arch
    redraws = search.redraws_[1]  # the second walk may have drawn a (pending) again
    search.tell([observe(0, b.arch, 0.3), observe(1, a.arch, 0.6)])
    rows = [t for t, _ in search.memory_]
    assert rows.count(a.arch.text) == 1 + redraws and rows.count(b.arch.text) == 1
    assert search._pending == {}  # both told: nothing waits for a result any more


def test_same_seed_same_proposals_and_global_rngs_untouched() -> None:
    random.seed(123)
    np.random.seed(123)  # noqa: NPY002
    first = texts(drive(started(3), 150))
    assert first == texts(drive(started(3), 150))
    assert first[:84] == texts(drive(started(3, strategy_seed=4), 84))  # the shared design
    assert first[84:] != texts(drive(started(3, strategy_seed=4), 150))[84:]
    assert first != texts(drive(started(4), 150))
    assert random.random() == random.Random(123).random()
    assert np.random.random() == np.random.RandomState(123).random_sample()  # noqa: NPY002


def test_same_proposals_in_a_fresh_process() -> None:
    code = (
        "import math, json\n"
        "from nasbench.core.registry import spaces\n"
        "from nasbench.core.seeding import role_rng\n"
        "from nasbench.core.strategy import SearchInfo\n"
        "from nasbench.core.types import Budget, Observation, Status\n"
        "from nasbench.strategies.q_learning import QLearning\n"
        "space = spaces.create('chain')\n"
        "s = QLearning()\n"
        "info = SearchInfo(12.0, (), Budget(evaluations=40))\n"
        "s.start(space, info, role_rng(5, 'strategy'), role_rng(5, 'initial_design'))\n"
        "out = []\n"
        "for t in range(40):\n"
        "    (p,) = s.ask(1)\n"
        "    y = len(set(p.arch.values)) / len(p.arch.values)\n"
        "    s.tell([Observation(t, p.arch, 12.0, y, y, 1.0, True, Status.OK)])\n"
        "    out.append(p.arch.text)\n"
        "print(json.dumps(out))\n"
    )
    runs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        runs.append(json.loads(done.stdout))
    assert runs[0] == runs[1] and len(set(runs[0])) == 40


@pytest.mark.parametrize("states", ["layer", "prefix"])
@pytest.mark.parametrize("name", spaces.names())
def test_every_space_valid_proposals_and_exact_replay(name: str, states: str) -> None:
    # how the runner resumes: a fresh instance on the same generators, told the same observations
    space = spaces.create(name)

    def run() -> tuple[QLearning, list[Architecture], list[Proposal]]:
        strategy = started(5, space=space, info=budget(40), states=states)
        observed = []
        for trial in range(60):
            (proposal,) = strategy.ask(1)
            space.validate(proposal.arch)
            value = math.nan if trial % 5 == 0 else float(len(set(proposal.arch.values)) % 7) / 7
            strategy.tell([observe(trial, proposal.arch, value)])
            observed.append(proposal.arch)
        return strategy, observed, strategy.ask(2)  # two proposals await their results

    original, observed, pending = run()
    copy, replayed, pending_copy = run()
    assert replayed == observed and [p.arch for p in pending_copy] == [p.arch for p in pending]
    assert copy.q_ == original.q_ and copy.asked_ == 62
    assert copy.epsilons_ == original.epsilons_ and copy.redraws_ == original.redraws_
    assert [t for t, _ in copy.memory_] == [t for t, _ in original.memory_]
    for strategy in (original, copy):
        strategy.tell([observe(60 + i, p.arch, 0.5) for i, p in enumerate(pending)])
    nxt = [(p.arch, q.arch) for p, q in zip(original.ask(20), copy.ask(20), strict=True)]
    assert all(a == b for a, b in nxt)
    original.tell([observe(62, nxt[0][0], 0.5)])
    copy.tell([observe(62, nxt[0][1], 0.5)])
    assert copy.q_ == original.q_
    assert [t for t, _ in copy.memory_] == [t for t, _ in original.memory_]


def test_replay_inside_the_initial_design_continues_identically() -> None:
    original = started(2)
    journal = texts(drive(original, 10))
    copy = started(2)
    assert texts(drive(copy, 10)) == journal
    assert texts(drive(copy, 100, 10)) == texts(drive(original, 100, 10))


def test_batched_asks_and_nan_observations_in_any_order() -> None:
    search = started(2, info=budget(8))
    proposals = search.ask(6) + search.ask(6)  # 5 from the initial design, 7 epsilon-greedy
    assert search.initial_size_ == 5
    assert [p.arch for p in proposals[:5]] == [p.arch for p in started(2).ask(5)]
    assert len({p.arch.text for p in proposals}) == 12  # no repeat, even among pending ones
    order = [7, 2, 11, 0, 9, 4, 1, 10, 5, 3, 8, 6]
    told = [observe(t, proposals[t].arch, math.nan if t % 3 == 0 else None) for t in order]
    search.tell(told[:5])
    search.tell(told[5:])
    assert [t for t, _ in search.memory_] == [str(o.arch) for o in told]
    assert sum(math.isnan(v) for _, v in search.memory_) == 4
    for p in search.ask(5):
        SPACE.validate(p.arch)
    other = spaces.create("chain").sample(np.random.default_rng(0))
    with pytest.raises(NasbenchError):
        search.tell([observe(12, other, 0.5)])


@pytest.mark.parametrize(
    "params",
    [
        {"schedule_models": 0},
        {"schedule_models": 2.5},
        {"schedule_models": True},
        {"learning_rate": 0.0},
        {"learning_rate": 1.5},
        {"learning_rate": math.nan},
        {"discount": -0.1},
        {"discount": "1"},
        {"replays_per_model": 0},
        {"initial_q": math.inf},
        {"states": "tree"},
        {"states": None},
        {"repeats": "never"},
    ],
)
def test_bad_hyperparameters_raise(params: dict) -> None:
    with pytest.raises(NasbenchError, match=next(iter(params))):
        QLearning(**params)
    with pytest.raises(NasbenchError):
        strategies.create("q_learning", **params)


def test_good_hyperparameters_are_stored() -> None:
    search = QLearning(np.int64(20), 1, 0, 1, -2, "prefix", "evaluate")
    assert vars(search) == {
        "schedule_models": 20,
        "learning_rate": 1.0,
        "discount": 0.0,
        "replays_per_model": 1,
        "initial_q": -2.0,
        "states": "prefix",
        "repeats": "evaluate",
    }
    assert QLearning().schedule_models is None


def test_learning_beats_random_search_after_the_initial_design() -> None:
    info = budget(100)

    def late_mean(search: Strategy) -> float:
        values = [o.objective for o in drive(search, 100)[56:]]  # the epsilon < 1 phases
        return float(np.mean(np.nan_to_num(values, nan=0.0)))

    q_late, random_late = [], []
    for seed in range(20):
        q_late.append(late_mean(started(seed, info=info)))
        baseline = RandomSearch()
        baseline.start(SPACE, info, role_rng(seed, "strategy"), role_rng(seed, "initial_design"))
        random_late.append(late_mean(baseline))
    # Measured: 0.21 vs 0.17 on seeds 0-19 (margin 0.037-0.048 on three disjoint sets of 20).
    assert np.mean(q_late) > np.mean(random_late) + 0.02
