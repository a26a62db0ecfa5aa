"""Conformance suite for search strategies.

For your own strategy: ``check_strategy(lambda: MyStrategy(), spaces.create("nb201"))``, or call
the single checks from a parametrised pytest module (``tests/test_strategy_conformance.py`` runs
them over every registered strategy and every registered space). The checks drive the strategy
with a synthetic objective through the same ask/tell protocol the runner uses.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import zlib
from collections.abc import Callable
from typing import Any

from nasbench.core.registry import strategies
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo, Strategy
from nasbench.core.types import Architecture, Budget, Observation, Status

Factory = Callable[[], Strategy]
INFO = SearchInfo(fidelity=1.0, fidelities=(), budget=Budget(evaluations=1000), dataset="mnist1d")
"""The search the checks drive. Strategies that train a supernet on ``dataset`` (gradient
strategies) should declare ``conformance`` hyperparameters that keep that training tiny."""

SMALL_SPACES: dict[str, dict[str, Any]] = {
    "cell": {"nodes": 2, "channels": 4, "cells_per_stage": 1,
             "ops": ("sep_conv_3x3", "max_pool_3x3", "skip_connect")},
    "chain": {"max_layers": 3, "kernels": (1, 3), "filters": (4, 8)},
    "hierarchical": {"blocks": ((8, 2, 2),), "stem": (4, 1), "head": 8},
    "multibranch": {"layers": 3, "channels": 4},
    "nb201": {"channels": 4, "cells_per_stage": 1},
}  # fmt: skip
"""Small parameters of the built-in spaces, for strategies whose every ask trains a supernet
(those with a ``conformance`` ClassVar): the checks then run in seconds."""


def conformance_params(cls: type) -> dict[str, Any]:
    """The strategy class's ``conformance`` hyperparameters (tiny training), or none."""
    return dict(getattr(cls, "conformance", {}))


def trains_supernet(cls: type) -> bool:
    """Whether the checks should use :data:`SMALL_SPACES` for this strategy class."""
    return hasattr(cls, "conformance")


def unsupported(cls: type, space_name: str) -> str | None:
    """Why ``cls`` cannot search ``space_name`` (its ``spaces`` ClassVar), or ``None``."""
    allowed = getattr(cls, "spaces", None)
    if allowed is None or space_name in allowed:
        return None
    return f"{cls.__name__} searches only {', '.join(allowed)}"


def synthetic(arch: Architecture) -> float:
    """A deterministic objective in [0, 1) that varies over every space: a position-weighted
    sum of a stable checksum of each value (CRC-32, not Python's salted ``hash``)."""
    score = sum((i % 3 + 1) * (zlib.crc32(v.encode()) % 13) for i, v in enumerate(arch.values))
    return (score % 97) / 97


def observation(trial: int, arch: Architecture, kind: str = "ok") -> Observation:
    """An observation of ``arch``: ``ok``, ``failed`` (NaN accuracy) or ``infeasible``."""
    value = synthetic(arch)
    if kind == "ok":
        return Observation(trial, arch, 1.0, value, value, 10.0, True, Status.OK, 1.0, 0.1, 1.0)
    if kind == "failed":
        nan = math.nan
        return Observation(trial, arch, 1.0, nan, nan, 10.0, True, Status.FAILED, 1.0, 0.1, 1.0)
    return Observation(trial, arch, 1.0, math.nan, math.nan, 0.0, False, Status.OK, 9.0, 0.1, 1.0)


def drive(strategy: Strategy, space: SearchSpace, seed: int, steps: int) -> list[str]:
    """Start with the seed's role streams and run ``steps`` ask/tell rounds; every 5th
    observation is failed and every 7th infeasible. Returns the proposed architecture strings."""
    strategy.start(space, INFO, role_rng(seed, "strategy"), role_rng(seed, "initial_design"))
    return _continue(strategy, space, 0, steps)


def _continue(strategy: Strategy, space: SearchSpace, start: int, steps: int) -> list[str]:
    texts = []
    for t in range(start, start + steps):
        (proposal,) = strategy.ask(1)
        space.validate(proposal.arch)
        texts.append(proposal.arch.text)
        kind = "failed" if t % 5 == 4 else "infeasible" if t % 7 == 6 else "ok"
        strategy.tell([observation(t, proposal.arch, kind)])
    return texts


def check_proposals_in_space(factory: Factory, space: SearchSpace, steps: int = 30) -> None:
    """Every proposal validates in the space, with failed and infeasible observations mixed in."""
    drive(factory(), space, 0, steps)


def check_tell_any_order(factory: Factory, space: SearchSpace) -> None:
    """Several asks at once, then observations out of order, failed/infeasible ones included."""
    strategy = factory()
    strategy.start(space, INFO, role_rng(1, "strategy"), role_rng(1, "initial_design"))
    for round_ in range(4):
        proposals = strategy.ask(3)
        assert len(proposals) == 3, f"ask(3) gave {len(proposals)} proposals"
        kinds = ["infeasible", "ok", "failed"]
        batch = [observation(3 * round_ + i, p.arch, kinds[i]) for i, p in enumerate(proposals)]
        strategy.tell(batch[::-1])
    for p in strategy.ask(2):
        space.validate(p.arch)


def check_seeded(factory: Factory, space: SearchSpace, steps: int = 25) -> None:
    """The same seed gives the same proposals, another seed other ones."""
    a, b = drive(factory(), space, 3, steps), drive(factory(), space, 3, steps)
    assert a == b, "same seed, different proposals"
    assert a != drive(factory(), space, 4, steps), "seeds 3 and 4 propose the same"


def check_resumes_by_replay(
    factory: Factory, space: SearchSpace, steps: int = 10, more: int = 5
) -> None:
    """A run killed after ``steps`` trials resumes by replaying its journal (the runner's only
    resume, docs/architecture.md): a fresh instance started with the same generators and told
    the same observations proposes the journaled architectures, trial by trial, then what the
    uninterrupted run goes on to propose. The killed instance stays alive and is continued after
    the fresh one, so state shared between instances (a class-level cache) shows too."""
    original = factory()
    journal = drive(original, space, 5, steps)
    resumed = factory()
    replayed = drive(resumed, space, 5, steps)
    for trial, (then, now) in enumerate(zip(journal, replayed, strict=True)):
        assert now == then, f"replay diverged at trial {trial}: journal {then}, proposed {now}"
    assert _continue(resumed, space, steps, more) == _continue(original, space, steps, more), (
        "the resumed strategy proposes differently from the uninterrupted one"
    )


def check_shared_initial_design(factory: Factory, space: SearchSpace, steps: int = 12) -> None:
    """A strategy declaring ``initial_design = "shared"`` starts with ``space.sample`` drawn
    from the initial-design stream, in order; one declaring ``"none"`` never draws from it."""
    strategy = factory()
    initial = role_rng(6, "initial_design")
    before = initial.bit_generator.state
    strategy.start(space, INFO, role_rng(6, "strategy"), initial)
    n = min(getattr(strategy, "initial_size_", 0), steps)
    proposals = _continue(strategy, space, 0, steps)
    if type(strategy).initial_design == "shared":
        assert n >= 1, "a shared initial design of size 0"
        expected_rng = role_rng(6, "initial_design")
        expected = [space.sample(expected_rng).text for _ in range(n)]
        assert proposals[:n] == expected, "initial design differs from the shared stream"
    else:
        assert type(strategy).initial_design == "none", "initial_design must be shared or none"
        assert initial.bit_generator.state == before, "drew from the initial-design stream"


def check_metadata(factory: Factory) -> None:
    """``paper`` is given and ``sources`` names exactly the constructor hyperparameters."""
    import inspect

    cls = type(factory())
    assert isinstance(cls.paper, str) and cls.paper, f"{cls.__name__} cites no paper"
    params = [p for p in inspect.signature(cls).parameters if p not in ("self",)]
    assert sorted(cls.sources) == sorted(params), (
        f"{cls.__name__}.sources covers {sorted(cls.sources)}, hyperparameters are {params}"
    )


FRESH_PROCESS = """
import json, sys
from nasbench.core.registry import spaces, strategies
from nasbench.testing.strategies import drive
name, space_name, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
space = spaces.create(space_name, **json.loads(sys.argv[4]))
print(json.dumps(drive(strategies.create(name, **params), space, 3, 15)))
"""


def check_fresh_process(
    name: str,
    space: SearchSpace,
    params: dict[str, Any] | None = None,
    space_params: dict[str, Any] | None = None,
) -> None:
    """A registered strategy proposes the same in a freshly spawned interpreter (hash seed
    randomisation on) as here. ``space`` must be ``spaces.create(space.name, **space_params)``
    (the child process builds it from them)."""
    params = params or {}
    here = drive(strategies.create(name, **params), space, 3, 15)
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    argv = [name, space.name, json.dumps(params), json.dumps(space_params or {})]
    out = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, *argv],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    assert json.loads(out.stdout) == here, f"{name} on {space.name}: fresh process differs"


ALL_CHECKS: tuple[Callable[[Factory, SearchSpace], None], ...] = (
    check_proposals_in_space,
    check_tell_any_order,
    check_seeded,
    check_resumes_by_replay,
    check_shared_initial_design,
)


def check_strategy(factory: Factory, space: SearchSpace) -> None:
    """Run every conformance check on the strategy made by ``factory``."""
    check_metadata(factory)
    for check in ALL_CHECKS:
        check(factory, space)
