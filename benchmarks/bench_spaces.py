"""Throughput of sample + encode per search space, measured side by side in one run.

    python -m benchmarks.bench_spaces [--seconds 2]      (or: pytest -m perf)

Prints, per registered space (default configuration), architectures per second for
``space.sample(rng)`` followed by ``space.encode(arch)``, and each space's ratio to the fastest.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from nasbench.core.registry import spaces


def throughput(name: str, seconds: float) -> float:
    """Sampled-and-encoded architectures per second over about ``seconds`` of wall time."""
    space = spaces.create(name)
    rng = np.random.default_rng(0)
    for _ in range(20):  # warm caches (encoding offsets, canonical tables)
        space.encode(space.sample(rng))
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            space.encode(space.sample(rng))
        count += 50
    return count / elapsed


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per space")
    args = parser.parse_args(argv)
    rates = {name: throughput(name, args.seconds) for name in spaces.names()}
    best = max(rates.values())
    print(f"{'space':<14}{'archs/s':>12}{'vs fastest':>12}")
    for name, rate in rates.items():
        print(f"{name:<14}{rate:>12,.0f}{rate / best:>12.3f}")
    return rates


if __name__ == "__main__":
    main()
