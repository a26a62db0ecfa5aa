"""Query throughput: surrogate benchmark vs tabular look-up on NAS-Bench-201, side by side.

    python -m benchmarks.bench_surrogate [--queries 20000] [--batch 5000]

Prints architectures per second for: the tabular evaluator (one ``evaluate`` per query), each
built-in surrogate answering a batch in one call (``evaluate_many``), and the surrogate
evaluator's per-query ``evaluate`` (first query of an architecture, then cached), with the
ratio to the tabular rate. Surrogates are fitted on 1,000 architectures; fit time is excluded.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from nasbench.core.registry import evaluators, spaces, surrogates

NAMES = ("random_forest", "gradient_boosting", "mlp_ensemble", "gin", "gaussian_process")


def _rate(n: int, call) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    call()
    return n / (time.perf_counter() - start)


def _surrogate_rates(name: str, space, batch: list, few: list, rng) -> dict[str, float]:  # type: ignore[no-untyped-def]
    surrogates.get(name)
    ev = evaluators.create("surrogate", space=space, surrogate=name, train_size=1000)
    fid = ev.default_fidelity
    return {
        f"{name} (batch of {len(batch)})": _rate(len(batch), lambda: ev.evaluate_many(batch)),
        f"{name} (per query, first)": _rate(
            len(few), lambda: [ev.evaluate(a, fid, rng) for a in few]
        ),
        f"{name} (per query, cached)": _rate(
            len(few), lambda: [ev.evaluate(a, fid, rng) for a in few]
        ),
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    space = spaces.create("nb201")
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(args.queries)]
    tab = evaluators.create("tabular", space=space, benchmark="nb201-cifar10")
    fid = tab.default_fidelity
    rates = {
        "tabular (per query)": _rate(len(archs), lambda: [tab.evaluate(a, fid, rng) for a in archs])
    }
    for name in NAMES:
        rates.update(_surrogate_rates(name, space, archs[: args.batch], archs[:200], rng))
    base = rates["tabular (per query)"]
    print(f"{'query':<42} {'archs/s':>12} {'/ tabular':>10}")
    for label, rate in rates.items():
        print(f"{label:<42} {rate:>12.0f} {rate / base:>10.3f}")
    return rates


if __name__ == "__main__":
    main()
