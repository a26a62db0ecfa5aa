"""Successive halving, Hyperband and BOHB: the brackets of Li et al. (Table 1), promotion of the
top ``floor(n / eta)`` with nan last, BOHB's model (Falkner et al., Algorithm 2), determinism, and
short NAS-Bench-201 runs through the runner that evaluate at 12 and 200 epochs.

The registry-wide kit (``tests/test_strategy_conformance.py``) runs on them too; here the kit
runs on the multi-rung searches the registry-wide one does not reach."""

from __future__ import annotations

import importlib
import inspect
import json
import math
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from enum import StrEnum
from itertools import product
from typing import Any, ClassVar

import numpy as np
import pytest

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import spaces, strategies
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo, Strategy
from nasbench.core.types import Architecture, Budget, Observation, Proposal, Status
from nasbench.engine.runner import run
from nasbench.engine.suite import parse_suite
from nasbench.testing.strategies import ALL_CHECKS, check_metadata
from tests.strategy_helpers import SPACE, objective

NAMES = ("successive_halving", "hyperband", "bohb")
NB201 = SearchInfo(fidelity=12.0, fidelities=(12.0, 200.0), budget=Budget(evaluations=500))
"""NAS-Bench-201's tabular evaluator: 12 and 200 epochs."""
ANY = SearchInfo(fidelity=81.0, fidelities=(), budget=Budget(evaluations=500))
"""An evaluator that takes any fidelity, default 81 (with ``min_fidelity = 1``: Li et al.'s
``R = 81``)."""
NAN = math.nan


def imported() -> None:
    """Import, and so register, the three strategies: when a test runs, never while pytest
    collects (module docstring)."""
    for name in NAMES:
        importlib.import_module(f"nasbench.strategies.{name}")


class _Modules:
    """The names of the three strategy modules, looked up (and imported) on use. Other names
    (pytest probes module attributes while it collects) raise AttributeError untouched."""

    NAMES = ("Pick", "SuccessiveHalving", "Hyperband", "BOHB", "bracket_sizes",
             "budget_ladder", "top_k", "CategoricalKDE", "impute", "model_budget", "split")  # fmt: skip

    def __getattr__(self, name: str) -> Any:
        if name not in self.NAMES:
            raise AttributeError(name)
        imported()
        for module in NAMES:
            found = getattr(sys.modules[f"nasbench.strategies.{module}"], name, None)
            if found is not None:
                return found
        raise AttributeError(name)


lib = _Modules()


def started(name: str, seed: int = 0, info: SearchInfo = NB201, **params: object) -> Strategy:
    imported()
    search: Strategy = strategies.create(name, **params)
    search.start(SPACE, info, role_rng(seed, "strategy"), role_rng(seed, "initial_design"))
    return search


def observe(trial: int, proposal: Proposal, y: float) -> Observation:
    return Observation(trial, proposal.arch, float(proposal.fidelity or 0.0), y, y, 1.0,
                       not math.isnan(y), Status.OK)  # fmt: skip


def drive(
    search: Strategy, steps: int, value: Callable[[Architecture], float] = objective
) -> list[Proposal]:
    """The runner's loop: ask(1), observe ``value`` (default: share of 3x3 convs, nan when the
    first edge is ``none``), tell."""
    proposals = []
    for trial in range(steps):
        (proposal,) = search.ask(1)
        search.tell([observe(trial, proposal, value(proposal.arch))])
        proposals.append(proposal)
    return proposals


def initial_design(seed: int, n: int) -> list[Architecture]:
    rng = role_rng(seed, "initial_design")
    return [SPACE.sample(rng) for _ in range(n)]


# ---- registration and the public conformance kit ---------------------------------------------
def test_registered_with_declared_defaults() -> None:
    imported()
    assert strategies.get("successive_halving") is lib.SuccessiveHalving
    assert strategies.get("hyperband") is lib.Hyperband
    assert strategies.get("bohb") is lib.BOHB
    ladder = {"eta": 3, "min_fidelity": None, "max_fidelity": None}
    assert strategies.params("hyperband") == ladder
    assert strategies.params("successive_halving") == {**ladder, "n_configs": None}
    assert strategies.params("bohb") == {
        **ladder, "random_fraction": 1 / 3, "top_fraction": 0.15, "num_samples": 64,
        "min_points": None, "bandwidth_factor": 3.0, "min_bandwidth": 1e-3,
        "widen_categorical": True,
    }  # fmt: skip
    for name in NAMES:
        assert isinstance(strategies.create(name), Strategy)
        check_metadata(lambda name=name: strategies.create(name))
    with pytest.raises(NasbenchError, match="min_fidelity"):
        lib.Hyperband(min_fidelity=300.0, max_fidelity=200.0)
    with pytest.raises(NasbenchError, match="eta"):
        lib.Hyperband(eta=1)


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("space", ["nb201", "chain"])
@pytest.mark.parametrize("name", NAMES)
def test_conformance(name: str, space: str, check: Callable[..., None]) -> None:
    imported()
    check(lambda: strategies.create(name), spaces.create(space))


# ---- the budget ladder and Hyperband's brackets ----------------------------------------------
TABLE_1 = [  # Li et al. 2018, Table 1 (R = 81, eta = 3): (n_i, r_i) per rung of bracket s
    [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
    [(34, 3), (11, 9), (3, 27), (1, 81)],
    [(15, 9), (5, 27), (1, 81)],
    [(8, 27), (2, 81)],
    [(5, 81)],
]


def test_bracket_sizes_are_li_et_al_table_1() -> None:
    assert [lib.bracket_sizes(s, 4, 3) for s in (4, 3, 2, 1, 0)] == [
        tuple(n for n, _ in bracket) for bracket in TABLE_1
    ]
    assert lib.bracket_sizes(2, 2, 4) == (16, 4, 1)  # eta = 4: n = 3/3 * 4^2
    assert lib.bracket_sizes(0, 2, 4) == (3,)


def test_hyperband_runs_table_1_then_starts_over() -> None:
    search = started("hyperband", 1, ANY, min_fidelity=1.0)
    assert search.fidelities_ == (1.0, 3.0, 9.0, 27.0, 81.0) and search.s_max_ == 4
    proposals = drive(search, 206)  # one cycle: 143 new architectures, 63 promotions
    expected = [float(r) for bracket in TABLE_1 for n, r in bracket for _ in range(n)]
    assert [p.fidelity for p in proposals] == expected
    picks = Counter(search.picks_)
    assert picks == {lib.Pick.INITIAL: 81, lib.Pick.RANDOM: 34 + 15 + 8 + 5, lib.Pick.PROMOTED: 63}
    assert [p.arch for p in proposals[:81]] == initial_design(1, 81)
    (again,) = search.ask(1)
    assert again.fidelity == 1.0 and search.picks_[-1] is lib.Pick.RANDOM and search.opened_ == 6


@pytest.mark.parametrize(
    ("offered", "default", "eta", "bounds", "ladder"),
    [
        ((12.0, 200.0), 12.0, 3, {}, (12.0, 200.0)),  # 22.2, 66.7, 200 snap to 12, 200, 200
        ((12.0, 200.0), 12.0, 2, {}, (12.0, 200.0)),
        ((12.0, 200.0), 200.0, 3, {"max_fidelity": 12.0}, (12.0,)),
        ((1.0, 3.0, 9.0, 27.0), 27.0, 3, {}, (1.0, 3.0, 9.0, 27.0)),
        ((1.0, 3.0, 9.0, 27.0), 27.0, 9, {}, (3.0, 27.0)),  # 27 / 9 = 3; 1 is not reached
        ((), 20.0, 3, {}, (2.0, 7.0, 20.0)),  # 2.22, 6.67 rounded to whole epochs
        ((), 1.0, 3, {}, (1.0,)),  # the conformance kit's search: one rung
        ((), 81.0, 3, {"min_fidelity": 1.0}, (1.0, 3.0, 9.0, 27.0, 81.0)),
    ],
)
def test_budget_ladder(offered, default, eta, bounds, ladder) -> None:
    assert lib.budget_ladder(offered, default, eta, **bounds) == ladder


def test_ladder_beyond_range_raises_one_line() -> None:
    with pytest.raises(
        NasbenchError,
        match=r"^hyperband: min_fidelity 300 exceeds max_fidelity 200 \(the evaluator offers 12, 200\)",
    ):
        started("hyperband", min_fidelity=300.0)


def test_nb201_brackets() -> None:
    hyperband = started("hyperband")
    assert hyperband.fidelities_ == (12.0, 200.0) and hyperband.s_max_ == 1
    assert [hyperband._plan(i) for i in range(4)] == [(3, 1), (2,), (3, 1), (2,)]
    assert started("successive_halving")._plan(0) == (3, 1)  # eta ** s_max at 12 epochs
    assert started("successive_halving", n_configs=27)._plan(5) == (27, 9)


# ---- successive halving: who is promoted ------------------------------------------------------
def run_rung(values: Sequence[float]) -> tuple[list[Proposal], list[Proposal]]:
    """Ask a whole first rung of ``len(values)`` at once, tell ``values`` in reverse order and
    ask the promoted (``floor(n / 3)``) ones."""
    search = started("successive_halving", 2, n_configs=len(values))
    rung = search.ask(len(values))
    assert len({p.arch for p in rung}) == len(rung)  # distinct, so matching is unambiguous
    assert {p.fidelity for p in rung} == {12.0}
    for trial, (proposal, y) in reversed(list(enumerate(zip(rung, values, strict=True)))):
        search.tell([observe(trial, proposal, y)])
    promoted = search.ask(len(values) // 3)
    assert search.picks_[-len(promoted) :] == [lib.Pick.PROMOTED] * len(promoted)
    assert {p.fidelity for p in promoted} == {200.0}
    (waiting,) = search.ask(1)  # the bracket waits: a new one opens
    assert (waiting.fidelity, search.picks_[-1], search.opened_) == (12.0, lib.Pick.RANDOM, 2)
    return rung, promoted


def test_successive_halving_promotes_the_top_third_best_first() -> None:
    values = [0.1, NAN, 0.7, 0.3, 0.9, NAN, 0.5, 0.7, 0.2]
    rung, promoted = run_rung(values)
    assert [p.arch for p in promoted] == [rung[4].arch, rung[2].arch, rung[7].arch]


def test_nan_ranks_last_and_fills_up_in_order() -> None:
    values = [NAN] * 27
    values[20], values[5] = 0.3, 0.6
    rung, promoted = run_rung(values)  # floor(27 / 3) = 9: the two numbers, then 7 earliest nan
    order = [5, 20, 0, 1, 2, 3, 4, 6, 7]
    assert [p.arch for p in promoted] == [rung[i].arch for i in order]
    assert lib.top_k([0.5, NAN, 0.9, 0.5, NAN], 5) == [2, 0, 3, 1, 4]
    assert lib.top_k([NAN, NAN], 1) == [0]


def test_tell_in_any_order_and_ask_many() -> None:
    search = started("hyperband", 3)
    with pytest.raises(NasbenchError):
        search.ask(-1)
    assert search.ask(0) == []
    first = search.ask(5)  # bracket s = 1 (3 at 12) then, waiting, bracket s = 0 (2 at 200)
    assert [p.fidelity for p in first] == [12.0, 12.0, 12.0, 200.0, 200.0]
    assert search.picks_ == [lib.Pick.INITIAL] * 3 + [lib.Pick.RANDOM] * 2
    assert [p.arch for p in first[:3]] == initial_design(3, 3)
    values = [0.2, 0.8, 0.5, 0.1, 0.1]
    search.tell(
        [
            observe(t, p, y)
            for t, (p, y) in reversed(list(enumerate(zip(first, values, strict=True))))
        ]
    )
    (promoted,) = search.ask(1)
    assert (promoted.arch, promoted.fidelity) == (first[1].arch, 200.0)
    assert [b.index for b in search.brackets_] == [0]  # bracket 1 (s = 0) has finished
    with pytest.raises(RuntimeError, match="before start"):
        lib.Hyperband().ask(1)


# ---- BOHB -------------------------------------------------------------------------------------
ONE_RUNG = {"min_fidelity": 12.0, "max_fidelity": 12.0}
"""Every proposal a new architecture, so every ask may use the model."""


def test_bohb_starts_with_the_shared_initial_design() -> None:
    search = started("bohb", 4, ANY, min_fidelity=1.0)
    assert search.n_min_ == 7 and search.initial_size_ == 9  # N_min + 2, d = 6 decisions
    proposals = drive(search, 81)  # the first rung of the first bracket (s = 4)
    picks = search.picks_
    assert picks[:9] == [lib.Pick.INITIAL] * 9 and lib.Pick.MODEL not in picks[:9]
    assert picks[9:].count(lib.Pick.MODEL) > 30 and lib.Pick.RANDOM not in picks
    # every random architecture of the first bracket comes from the initial design, in order
    initial = [p.arch for p, pick in zip(proposals, picks, strict=True) if pick is lib.Pick.INITIAL]
    assert initial == initial_design(4, len(initial))
    assert search.model_fidelity_ == 1.0


def model_run(seed: int, steps: int, **params: object) -> tuple[list[StrEnum], list[float]]:
    search = started("bohb", seed, **ONE_RUNG, **params)
    proposals = drive(search, steps)
    return list(search.picks_), [objective(p.arch) for p in proposals]


def test_bohb_random_fraction_and_model_quality() -> None:
    picks, ys = model_run(5, 300)
    assert picks[:9] == [lib.Pick.INITIAL] + [lib.Pick.RANDOM] * 8  # no model before 9 observations
    later = Counter(picks[9:])
    assert set(later) == {lib.Pick.RANDOM, lib.Pick.MODEL}
    assert later == {lib.Pick.RANDOM: 93, lib.Pick.MODEL: 198}  # this seed's coins
    assert abs(later[lib.Pick.RANDOM] / 291 - 1 / 3) < 0.05  # rho = 1/3 (binomial sd 0.028)
    assert (picks, ys) == model_run(5, 300)  # deterministic given the seeds
    model = np.nan_to_num(
        [y for y, p in zip(ys, picks, strict=True) if p is lib.Pick.MODEL][-100:], nan=0.0
    )
    rand = np.nan_to_num(
        [y for y, p in zip(ys, picks, strict=True) if p is lib.Pick.RANDOM], nan=0.0
    )
    assert model.mean() > rand.mean() + 0.2  # the model has learnt the 3x3 convolutions
    assert Counter(model_run(5, 40, random_fraction=0.0)[0][9:]) == {lib.Pick.MODEL: 31}
    assert lib.Pick.MODEL not in model_run(5, 40, random_fraction=1.0)[0]


def test_bohb_models_the_largest_budget_with_enough_observations() -> None:
    assert lib.model_budget({12.0: 30, 200.0: 8}, 9) == 12.0
    assert lib.model_budget({12.0: 30, 200.0: 9}, 9) == 200.0
    assert lib.model_budget({12.0: 8}, 9) is None

    def first_edge(op: str) -> Callable[[Architecture], float]:
        return lambda arch: float(arch.values[0] == op)

    conv, skip = first_edge("nor_conv_3x3"), first_edge("skip_connect")
    search = started("bohb", 7, random_fraction=0.0, **ONE_RUNG)
    at_12 = drive(search, 40, conv)  # the model at 12 epochs learns: a 3x3 conv on edge 0
    assert search.model_fidelity_ == 12.0
    assert sum(conv(p.arch) for p in at_12[-10:]) == 10
    rng = np.random.default_rng(0)  # 9 unsolicited observations at 200: skip on edge 0 wins
    archs = [SPACE.sample(rng) for _ in range(9)]
    archs = [
        SPACE.make(("skip_connect", *a.values[1:])) if i < 7 else a for i, a in enumerate(archs)
    ]
    search.tell([Observation(100 + i, a, 200.0, skip(a), skip(a), 1.0, True, Status.OK)
                 for i, a in enumerate(archs)])  # fmt: skip
    later = drive(search, 20, conv)  # still told 12-epoch conv scores: the 200 model rules
    assert search.model_fidelity_ == 200.0
    assert sum(skip(p.arch) for p in later) == 20


def test_split_follows_eqs_2_and_3() -> None:
    ys = [float(i) for i in range(20)]
    good, bad = lib.split(ys, 7, 0.15)  # max(7, 3) best, max(7, 13) worst
    assert good == list(range(19, 12, -1)) and bad == list(range(12, -1, -1))
    good, bad = lib.split([0.5] * 8 + [NAN], 7, 0.15)  # |D| = N_min + 2: the sets overlap
    assert good == list(range(7)) and bad == [2, 3, 4, 5, 6, 7, 8]
    assert lib.split([float(i) for i in range(100)], 7, 0.15)[0] == list(range(99, 84, -1))


def test_kernel_density_is_a_distribution() -> None:
    levels = np.array([3, 2, 1])
    data = np.array([[0, 1, 0], [2, 1, 0], [2, 0, 0]])
    kde = lib.CategoricalKDE.fit(data, levels, 1e-3)
    assert np.all(kde.bandwidth <= (levels - 1) / levels) and kde.bandwidth[2] == 0.0
    grid = np.array(list(product(range(3), range(2), range(1))))
    assert math.isclose(float(np.exp(kde.log_pdf(grid)).sum()), 1.0)
    one = lib.CategoricalKDE(np.array([[1]]), np.array([0.2]), np.array([5]))
    draws = one.sample(40000, 2.0, np.random.default_rng(0))[:, 0]  # lambda' = 0.4
    freq = np.bincount(draws, minlength=5) / len(draws)
    assert abs(freq[1] - 0.6) < 0.01 and np.all(np.abs(freq[[0, 2, 3, 4]] - 0.1) < 0.01)
    assert np.array_equal(lib.impute(np.array([[0.0, 1.0], [NAN, 0.0]]), np.array([2, 2]),
                                 np.random.default_rng(0)), [[0, 1], [0, 0]])  # fmt: skip


# ---- determinism ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_seeded_replayable_and_global_rngs_untouched(name: str) -> None:
    random.seed(123)
    np.random.seed(123)  # noqa: NPY002
    first = [(str(p.arch), p.fidelity) for p in drive(started(name, 7), 60)]
    assert first == [(str(p.arch), p.fidelity) for p in drive(started(name, 7), 60)]
    assert first != [(str(p.arch), p.fidelity) for p in drive(started(name, 8), 60)]
    assert random.random() == random.Random(123).random()
    assert np.random.random() == np.random.RandomState(123).random_sample()  # noqa: NPY002
    killed, resumed = started(name, 7), started(name, 7)  # resume = replay into a fresh one
    drive(killed, 40)
    drive(resumed, 40)
    assert [p.arch for p in drive(resumed, 20)] == [p.arch for p in drive(killed, 20)]


def chain_texts(names: Sequence[str]) -> dict[str, list[tuple[str, float]]]:
    """40 proposals of each strategy on the chain space (conditional decisions, which BOHB
    imputes, and prefix-dependent choices) at NAS-Bench-201's fidelities, seed 3. Self-contained:
    a fresh interpreter runs its source."""
    import nasbench.strategies.bohb
    import nasbench.strategies.hyperband
    import nasbench.strategies.successive_halving  # noqa: F401 (registers the three)
    from nasbench.core.registry import spaces, strategies
    from nasbench.core.seeding import role_rng
    from nasbench.core.strategy import SearchInfo
    from nasbench.core.types import Budget, Observation, Status

    space = spaces.create("chain")
    info = SearchInfo(12.0, (12.0, 200.0), Budget(evaluations=500))
    out = {}
    for name in names:
        search = strategies.create(name)
        search.start(space, info, role_rng(3, "strategy"), role_rng(3, "initial_design"))
        texts = []
        for t in range(40):
            (p,) = search.ask(1)
            y = (len(p.arch.text) % 17) / 17
            search.tell([Observation(t, p.arch, p.fidelity, y, y, 1.0, True, Status.OK)])
            texts.append((p.arch.text, p.fidelity))
        out[name] = texts
    return out


def test_same_proposals_in_a_fresh_process() -> None:
    source = inspect.getsource(chain_texts)
    script = f"import json\nfrom collections.abc import Sequence\n{source}\n"
    script += f"print(json.dumps(chain_texts({list(NAMES)!r})))\n"
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True, env=env)  # fmt: skip
    here = {k: [list(t) for t in v] for k, v in chain_texts(NAMES).items()}
    assert json.loads(child.stdout) == here and set(here) == set(NAMES)
    assert {f for texts in here.values() for _, f in texts} == {12.0, 200.0}


# ---- through the runner on NAS-Bench-201 ------------------------------------------------------
SUITE = """
[suite]
name = "hb"
seeds = 1
[budget]
evaluations = 24
[[task]]
space = "nb201"
evaluator = "tabular"
fidelity = 12
label = "nb"
[[strategy]]
name = "hyperband"
[[strategy]]
name = "bohb"
[[strategy]]
name = "successive_halving"
n_configs = 9
label = "sh9"
"""


def test_nb201_runs_evaluate_at_12_and_200_epochs() -> None:
    imported()
    hyperband, bohb, halving = (run(spec, 1) for spec in parse_suite(SUITE).specs())
    one_cycle = [12.0] * 3 + [200.0] + [200.0] * 2  # bracket s = 1, then s = 0
    for result in (hyperband, bohb):
        records = result.records
        assert len(records) == 24 and result.meta.stop_reason == "evaluations"
        assert [r.fidelity for r in records] == (one_cycle * 5)[:24]
        for start in range(0, 24, 6):  # the 200-epoch run of bracket s = 1: the best at 12
            screened, promoted = records[start : start + 3], records[start + 3]
            best = lib.top_k([r.objective for r in screened], 1)[0]
            assert promoted.arch == screened[best].arch
            # the runner charges per fidelity: 12 epochs cost 12/200 of the 200-epoch run
            assert math.isclose(screened[best].cost_s, promoted.cost_s * 12 / 200, rel_tol=1e-6)
    assert [r.arch for r in hyperband.records[:3]] == [a.text for a in initial_design(1, 3)]
    assert [r.arch for r in bohb.records[:3]] == [r.arch for r in hyperband.records[:3]]
    assert [r.fidelity for r in halving.records] == ([12.0] * 9 + [200.0] * 3) * 2
    for start in (0, 12):
        screened = halving.records[start : start + 9]
        top = [screened[i].arch for i in lib.top_k([r.objective for r in screened], 3)]
        assert [r.arch for r in halving.records[start + 9 : start + 12]] == top


WEAK_AT_200 = (
    "|skip_connect~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_1x1~2|"
)
STRONG_AT_12 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"


class TwoFidelities:
    """Proposes a weak cell at 200 epochs (validation 0.82 in every recorded seed), then the
    table's best cell at 12 epochs (0.849 after 12 epochs, 0.915 after 200)."""

    initial_design: ClassVar[str] = "none"
    paper: ClassVar[str] = "a test double"
    sources: ClassVar[dict[str, str]] = {}

    def start(self, space: SearchSpace, info: SearchInfo, rng: object, initial: object) -> None:
        self.space, self.asked = space, 0

    def ask(self, n: int = 1) -> list[Proposal]:
        plan = [(WEAK_AT_200, 200.0), (STRONG_AT_12, 12.0)]
        out = [Proposal(self.space.parse(plan[(self.asked + i) % 2][0]),
                        fidelity=plan[(self.asked + i) % 2][1]) for i in range(n)]  # fmt: skip
        self.asked += n
        return out

    def tell(self, observations: Sequence[Observation]) -> None:
        pass


def test_incumbent_is_the_best_at_the_highest_fidelity_evaluated() -> None:
    text = SUITE.split("[[strategy]]")[0].replace("evaluations = 24", "evaluations = 2")
    spec = parse_suite(text + '[[strategy]]\nname = "tests.test_hyperband:TwoFidelities"\n')
    records = run(spec.specs()[0], 0).records
    assert [r.fidelity for r in records] == [200.0, 12.0]
    assert records[1].val_acc > records[0].val_acc  # 12 epochs of a better cell beat 200
    assert records[-1].incumbent_trial == 0  # the answer is the one evaluated at 200 epochs
