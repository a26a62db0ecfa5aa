"""BayesOpt overhead: wall time of one ``ask`` + ``tell`` through :class:`BayesOpt` against a
bare Optuna loop driving the same sampler with the same suggest calls, side by side, at 100
and 1000 observations on NAS-Bench-201.

    python -m benchmarks.bench_bayesopt [--at 100,1000] [--window 20] [--gp]

Both sides build the sampler with the same arguments and seed (``make_sampler``), enqueue the
same 10 initial architectures and tell the same synthetic objective, so they propose the same
architectures (checked). The bare loop is what a user would write: ``study.ask()``, one
``suggest_categorical`` per decision, ``study.tell``, with Optuna's logging set to WARNING
once. BayesOpt adds the decision walk with repair, building the Architecture, matching the
observation to its trial, the replay history and the scoped logging switch. The figure at ``n``
is the median over the ``window`` steps starting at observation ``n``. TPE's own time grows
with the number of trials (about 2 ms per step at 100, 8-13 ms at 1000 on one core); the GP
sampler (``--gp``, only at the first ``--at`` value) takes hundreds of ms per step.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time

import optuna

from nasbench.core.registry import spaces
from nasbench.core.seeding import role_rng
from nasbench.core.strategy import SearchInfo
from nasbench.core.types import Architecture, Budget, Observation, Status
from nasbench.strategies.bayesopt import BayesOpt, make_sampler

SPACE = spaces.create("nb201")
OPS = SPACE.decisions()[0].choices
INFO = SearchInfo(fidelity=12.0, fidelities=(), budget=Budget(evaluations=10_000))
SEED = 0


def synthetic(values: tuple[str, ...]) -> float:
    """A deterministic objective in [0, 1] that prefers later ops on later edges."""
    return sum((i + 1) * OPS.index(v) for i, v in enumerate(values)) / (21 * (len(OPS) - 1))


def with_bayesopt(sampler: str, steps: int) -> tuple[list[float], list[Architecture], int]:
    """Per-step ask+tell seconds, the proposals and the sampler's seed of one BayesOpt run
    (under Optuna's default INFO logging, so its scoped switch does its work)."""
    search = BayesOpt(sampler=sampler)
    search.start(SPACE, INFO, role_rng(SEED, "strategy"), role_rng(SEED, "initial_design"))
    times, archs = [], []
    for t in range(steps):
        start = time.perf_counter()
        (proposal,) = search.ask(1)
        y = synthetic(proposal.arch.values)
        search.tell([Observation(t, proposal.arch, 12.0, y, y, 1.0, True, Status.OK)])
        times.append(time.perf_counter() - start)
        archs.append(proposal.arch)
    return times, archs, search.seed_


def bare(
    sampler: str, steps: int, seed: int, initial: list[Architecture]
) -> tuple[list[float], list[tuple[str, ...]]]:
    """Per-step seconds and proposals of a bare ask/suggest/tell loop with the same sampler,
    seed and enqueued initial design (Optuna's logging at WARNING meanwhile)."""
    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        study = optuna.create_study(sampler=make_sampler(sampler, {}, seed), direction="maximize")
        for arch in initial:
            study.enqueue_trial(dict(zip(arch.names, arch.values, strict=True)))
        decisions = SPACE.decisions()
        times, proposed = [], []
        for _ in range(steps):
            start = time.perf_counter()
            trial = study.ask()
            values = tuple(trial.suggest_categorical(d.name, d.choices) for d in decisions)
            study.tell(trial, synthetic(values))
            times.append(time.perf_counter() - start)
            proposed.append(values)
    finally:
        logger.setLevel(level)
    return times, proposed


def compare(sampler: str, at: list[int], window: int) -> dict[int, tuple[float, float]]:
    """Median seconds per step (BayesOpt, bare) at each ``n`` of ``at``."""
    steps = max(at) + window
    ours, archs, seed = with_bayesopt(sampler, steps)
    theirs, proposed = bare(sampler, steps, seed, archs[:10])
    if [a.values for a in archs] != proposed:
        raise AssertionError(f"{sampler}: the bare loop proposed other architectures")
    return {
        n: (statistics.median(ours[n : n + window]), statistics.median(theirs[n : n + window]))
        for n in at
    }


def main(argv: list[str] | None = None) -> dict[str, dict[int, tuple[float, float]]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--at", default="100,1000")
    parser.add_argument("--window", type=int, default=20)
    parser.add_argument("--gp", action="store_true", help="also the GP sampler (slow)")
    args = parser.parse_args(argv)
    at = [int(x) for x in args.at.split(",")]
    results = {"tpe": compare("tpe", at, args.window)}
    if args.gp:
        results["gp"] = compare("gp", at[:1], args.window)
    print(f"{'sampler':<8}{'observations':>14}{'BayesOpt ms':>14}{'bare ms':>10}{'ratio':>8}")
    for sampler, rows in results.items():
        for n, (ours, theirs) in rows.items():
            line = f"{sampler:<8}{n:>14}{1e3 * ours:>14.3f}{1e3 * theirs:>10.3f}"
            print(f"{line}{ours / theirs:>8.2f}")
    return results


if __name__ == "__main__":
    main()
