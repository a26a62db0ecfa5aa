"""Strategy overhead: wall time of one ``ask`` + ``tell`` at 100 and 1000 observations, per
registered strategy, on NAS-Bench-201 with the conformance suite's synthetic objective.

    python -m benchmarks.bench_strategies [--at 100,1000] [--window 10] [--only NAME ...]

Each strategy is driven through ``at[-1] + window`` steps; the figure at ``n`` is the median
ask+tell time over the ``window`` steps starting at observation ``n``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from nasbench.core.registry import spaces, strategies
from nasbench.core.seeding import role_rng
from nasbench.testing.strategies import INFO, observation

EXTRA = {"reinforce_lstm": ("reinforce", {"policy": "lstm"})}
"""Non-default configurations measured beside every registered strategy's defaults."""


def overhead(label: str, at: list[int], window: int) -> dict[int, float]:
    name, params = EXTRA.get(label, (label, {}))
    space = spaces.create("nb201")
    strategy = strategies.create(name, **params)
    strategy.start(space, INFO, role_rng(0, "strategy"), role_rng(0, "initial_design"))
    times: list[float] = []
    for t in range(max(at) + window):
        start = time.perf_counter()
        (proposal,) = strategy.ask(1)
        strategy.tell([observation(t, proposal.arch)])
        times.append(time.perf_counter() - start)
    return {n: statistics.median(times[n : n + window]) for n in at}


def main(argv: list[str] | None = None) -> dict[str, dict[int, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--at", default="100,1000")
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--only", nargs="*", default=None, help="strategy names")
    args = parser.parse_args(argv)
    at = [int(x) for x in args.at.split(",")]
    names = args.only or [*strategies.names(), *EXTRA]
    results = {name: overhead(name, at, args.window) for name in names}
    print(f"{'strategy':<24}" + "".join(f"{'ms @' + str(n):>12}" for n in at))
    for name, row in results.items():
        print(f"{name:<24}" + "".join(f"{1e3 * row[n]:>12.3f}" for n in at))
    return results


if __name__ == "__main__":
    main()
