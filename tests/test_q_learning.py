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

from nasbench.errors import NasbenchError
from nasbench.registry import spaces, strategies
from nasbench.seeding import role_rng
from nasbench.space import SearchSpace
from nasbench.strategies.q_learning import (
    PAPER_SCHEDULE,
    QLearning,
    epsilon_at,
    epsilon_schedule,
    trajectory,
    update_trajectory,
)
from nasbench.strategies.random import RandomSearch
from nasbench.strategy import Strategy, rng_state
from tests.strategy_helpers import CONV, INFO, SPACE, drive, observe, start, texts


def started(
    seed: int, strategy_seed: int | None = None, space: SearchSpace = SPACE, **params: Any
) -> QLearning:
    return start(QLearning(**params), seed, strategy_seed, space)


def test_registered_with_documented_defaults() -> None:
    assert strategies.get("q_learning") is QLearning
    defaults = {
        "schedule_models": 100,
        "learning_rate": 0.01,
        "discount": 1.0,
        "replays_per_model": 100,
        "initial_q": 0.5,
    }
    assert strategies.params("q_learning") == defaults
    assert set(QLearning.sources) == set(defaults)
    assert all("Baker et al. 2017" in source for source in QLearning.sources.values())
    assert QLearning.initial_design == "shared"
    assert "ICLR 2017" in QLearning.paper
    assert isinstance(strategies.create("q_learning"), Strategy)


def test_schedule_is_metaqnn_table_2_scaled() -> None:
    assert epsilon_schedule(2700) == PAPER_SCHEDULE
    assert [e for e, _ in PAPER_SCHEDULE] == [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]
    assert [n for _, n in epsilon_schedule(100)] == [56, 3, 4, 4, 5, 6, 5, 6, 5, 6]
    assert [n for _, n in epsilon_schedule(200)] == [111, 8, 7, 7, 11, 12, 11, 11, 11, 11]
    assert [n for _, n in epsilon_schedule(1)] == [1] + [0] * 9
    for models in (1, 7, 50, 99, 100, 150, 1000, 5400):
        assert sum(n for _, n in epsilon_schedule(models)) == models
    schedule = epsilon_schedule(100)
    assert [epsilon_at(schedule, i) for i in (0, 55, 56, 58, 59, 94, 99, 100, 10_000)] == [
        1.0, 1.0, 0.9, 0.9, 0.8, 0.1, 0.1, 0.1, 0.1,
    ]  # fmt: skip
    search = started(0)
    assert search.initial_size_ == 56
    assert started(0, schedule_models=200).initial_size_ == 111


def test_epsilon_one_phase_is_the_shared_initial_design() -> None:
    search = started(7, strategy_seed=1234)
    baseline = RandomSearch()
    baseline.start(SPACE, INFO, role_rng(7, "strategy"), role_rng(7, "initial_design"))
    first = [p.arch for p in search.ask(search.initial_size_)]
    assert first == [p.arch for p in baseline.ask(search.initial_size_)]
    initial = role_rng(7, "initial_design")
    assert first == [SPACE.sample(initial) for _ in range(56)]
    # Later proposals come from the strategy stream: the initial-design stream is left alone.
    before = rng_state(search.initial_rng_)
    search.ask(5)
    assert rng_state(search.initial_rng_) == before


def test_trajectory_walks_the_decisions_with_allowed_choices() -> None:
    chain = spaces.create("chain")
    arch = chain.sample(np.random.default_rng(4))
    assert arch.values[-1] == "terminate" and len(arch.values) < len(chain.decisions())
    steps = trajectory(chain, arch.values)
    assert [action for _, action, _ in steps] == list(arch.values)
    assert steps[0][0] == ("layer0", None, None)
    for i, (state, _, allowed) in enumerate(steps):
        decision = chain.next_decision(arch.values[:i])
        assert decision is not None and allowed == decision.choices
        assert state[0] == decision.name
        if i:
            assert state[1:] == (steps[i - 1][0][0], arch.values[i - 1])
    universe = {d.name: d.choices for d in chain.decisions()}
    assert arch.values[1] == "maxpool3-s2"  # so pooling is masked at layer2 (no two in a row)
    assert set(steps[2][2]) < set(universe["layer2"]) and "maxpool2-s2" not in steps[2][2]
    # The greedy walk never takes a masked action, however high its Q-value.
    search = started(0, space=chain, schedule_models=1)
    search.ask(1)
    search.q_[(("layer0", None, None), arch.values[0])] = 0.9
    search.q_[(steps[1][0], "maxpool3-s2")] = 0.9
    search.q_[(steps[2][0], "maxpool2-s2")] = 10.0
    walks = [p.arch.values for p in search.ask(300)]
    assert sum(v[1] == "maxpool3-s2" for v in walks) > 200
    assert not any(v[1] == "maxpool3-s2" and "pool" in v[2] for v in walks)
    with pytest.raises(NasbenchError, match="not a walk"):
        trajectory(SPACE, ("conv1-16-s1",) * 6)


def test_update_is_eq_3_applied_backwards() -> None:
    a: tuple[str, None, None] = ("a", None, None)
    b = ("b", "a", "x")
    steps = [(a, "x", ("x", "y")), (b, "u", ("u", "v"))]
    q: dict = {(b, "w"): 9.0}  # a value of an action not allowed in b: masked out of the max
    update_trajectory(q, steps, 0.9, 0.01, 1.0, 0.5)
    assert q[(b, "u")] == pytest.approx(0.5 + 0.01 * (0.9 - 0.5))  # terminal: reward only
    assert q[(a, "x")] == pytest.approx(0.5 + 0.01 * (0.504 - 0.5))  # max over b's u and v
    q[(b, "v")] = 0.7
    update_trajectory(q, steps, 0.0, 0.5, 0.5, 0.5)
    assert q[(b, "u")] == pytest.approx(0.504 / 2)
    assert q[(a, "x")] == pytest.approx(0.50004 + 0.5 * (0.5 * 0.7 - 0.50004))
    assert q[(b, "w")] == 9.0 and (a, "y") not in q


def test_replay_follows_algorithm_1_with_nan_as_zero() -> None:
    search = started(3, schedule_models=1, replays_per_model=37)
    (first,) = search.ask(1)
    search.tell([observe(0, first.arch, 0.8)])
    terminal = trajectory(SPACE, first.arch.values)[-1]
    # One memory entry replayed 37 times: Q -> 0.8 geometrically from 0.5.
    assert search.q_[terminal[:2]] == pytest.approx(0.8 + (0.5 - 0.8) * 0.99**37)
    # A second observation, infeasible: stored as nan, replayed with reward 0.
    (second,) = search.ask(1)
    twin_q = dict(search.q_)
    twin = np.random.default_rng()
    twin.bit_generator.state = rng_state(search.rng_)
    search.tell([observe(1, second.arch, math.nan)])
    assert [t for t, _ in search.memory_] == [str(first.arch), str(second.arch)]
    assert math.isnan(search.memory_[1][1])
    archs, rewards = [first.arch, second.arch], [0.8, 0.0]
    for pick in twin.integers(2, size=37):
        steps = trajectory(SPACE, archs[int(pick)].values)
        update_trajectory(twin_q, steps, rewards[int(pick)], 0.01, 1.0, 0.5)
    assert search.q_ == twin_q
    assert json.loads(json.dumps(search.state(), allow_nan=False))["memory"][1][1] is None


def test_greedy_walk_follows_the_q_table_and_breaks_ties_at_random() -> None:
    search = started(0, schedule_models=1)  # epsilon 0.1 from the second proposal on
    search.ask(1)
    # Make 3x3 convolutions the greedy action in every state of the walk.
    previous: list[tuple[str | None, str | None]] = [(None, None)]
    for d in SPACE.decisions():
        for prev in previous:
            search.q_[((d.name, *prev), CONV)] = 0.9
        previous = [(d.name, c) for c in d.choices]
    proposals = search.ask(3000)
    share = np.mean([p.arch.values.count(CONV) / 6 for p in proposals])
    assert share == pytest.approx(0.9 + 0.1 / 5, abs=0.01)
    # With an empty table every action ties: the walk is uniform.
    fresh = started(0, schedule_models=1)
    fresh.ask(1)
    counts = np.array([[p.arch.values.count(c) for c in SPACE.decisions()[0].choices]
                       for p in fresh.ask(2000)]).sum(axis=0) / 12000  # fmt: skip
    np.testing.assert_allclose(counts, 0.2, atol=0.015)


def test_same_seed_same_proposals_and_global_rngs_untouched() -> None:
    random.seed(123)
    np.random.seed(123)  # noqa: NPY002
    first = texts(drive(started(3), 100))
    assert first == texts(drive(started(3), 100))
    assert first[56:] != texts(drive(started(3, strategy_seed=4), 100))[56:]
    assert first != texts(drive(started(4), 100))
    assert random.random() == random.Random(123).random()
    assert np.random.random() == np.random.RandomState(123).random_sample()  # noqa: NPY002


def test_same_proposals_in_a_fresh_process() -> None:
    code = (
        "import math, json\n"
        "from nasbench.registry import spaces\n"
        "from nasbench.seeding import role_rng\n"
        "from nasbench.strategy import SearchInfo\n"
        "from nasbench.types import Budget, Observation, Status\n"
        "from nasbench.strategies.q_learning import QLearning\n"
        "space = spaces.create('chain')\n"
        "s = QLearning(schedule_models=20)\n"
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
    assert runs[0] == runs[1] and len(set(runs[0])) > 20


@pytest.mark.parametrize("name", spaces.names())
def test_every_space_valid_proposals_and_exact_restore(name: str) -> None:
    space = spaces.create(name)
    original = started(5, space=space, schedule_models=40)
    observed = []
    for trial in range(60):
        (proposal,) = original.ask(1)
        space.validate(proposal.arch)
        value = math.nan if trial % 5 == 0 else float(len(set(proposal.arch.values)) % 7) / 7
        original.tell([observe(trial, proposal.arch, value)])
        observed.append(proposal.arch)
    snapshot = json.loads(json.dumps(original.state(), allow_nan=False))
    copy = started(99, space=space, schedule_models=40)  # restore overwrites its generators
    copy.restore(snapshot)
    assert copy.q_ == original.q_ and copy.asked_ == 60
    assert [t for t, _ in copy.memory_] == [a.text for a in observed]
    nxt = [(p.arch, q.arch) for p, q in zip(original.ask(20), copy.ask(20), strict=True)]
    assert all(a == b for a, b in nxt)
    original.tell([observe(60, nxt[0][0], 0.5)])
    copy.tell([observe(60, nxt[0][1], 0.5)])
    assert copy.q_ == original.q_


def test_restore_inside_the_initial_design_and_rejects_other_hyperparameters() -> None:
    original = started(2)
    drive(original, 10)
    copy = started(2)
    copy.restore(json.loads(json.dumps(original.state())))
    assert texts(drive(copy, 80, 10)) == texts(drive(original, 80, 10))
    with pytest.raises(NasbenchError, match="replays_per_model"):
        started(2, replays_per_model=5).restore(original.state())


def test_batched_asks_and_nan_observations_in_any_order() -> None:
    search = started(2, schedule_models=8)
    proposals = search.ask(6) + search.ask(6)  # 4 from the initial design, 8 epsilon-greedy
    assert [p.arch for p in proposals[:4]] == [p.arch for p in started(2).ask(4)]
    order = [7, 2, 11, 0, 9, 4, 1, 10, 5, 3, 8, 6]
    told = [observe(t, proposals[t].arch, math.nan if t % 3 == 0 else None) for t in order]
    search.tell(told[:5])
    search.tell(told[5:])
    assert [t for t, _ in search.memory_] == [str(o.arch) for o in told]
    assert sum(math.isnan(v) for _, v in search.memory_) == 4
    for p in search.ask(5):
        SPACE.validate(p.arch)
    json.dumps(search.state(), allow_nan=False)
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
    ],
)
def test_bad_hyperparameters_raise(params: dict) -> None:
    with pytest.raises(NasbenchError, match=next(iter(params))):
        QLearning(**params)
    with pytest.raises(NasbenchError):
        strategies.create("q_learning", **params)


def test_good_hyperparameters_are_stored() -> None:
    search = QLearning(np.int64(20), 1, 0, 1, -2)
    assert vars(search) == {
        "schedule_models": 20,
        "learning_rate": 1.0,
        "discount": 0.0,
        "replays_per_model": 1,
        "initial_q": -2.0,
    }


def test_learning_beats_random_search_after_the_initial_design() -> None:
    def late_mean(search: Strategy, seed: int) -> float:
        values = [o.objective for o in drive(search, 100)[56:]]  # the epsilon < 1 phases
        return float(np.mean(np.nan_to_num(values, nan=0.0)))

    q_late, random_late = [], []
    for seed in range(20):
        q_late.append(late_mean(started(seed), seed))
        baseline = RandomSearch()
        baseline.start(SPACE, INFO, role_rng(seed, "strategy"), role_rng(seed, "initial_design"))
        random_late.append(late_mean(baseline, seed))
    # Measured: 0.22 vs 0.17 on seeds 0-19 (margin 0.03-0.06 on ten disjoint sets of 20 seeds).
    assert np.mean(q_late) > np.mean(random_late) + 0.02
