"""Runner overhead: wall time per evaluation of the full runner against a bare loop doing the
same work (sampling the same architectures and looking them up in the same table), side by side.

    python -m benchmarks.bench_runner [--evaluations 5000] [--repeats 3]

Both sides use random search's stream, so they sample and look up the same architectures. The
runner adds what makes runs comparable and reproducible: validation, the profile check, per-
evaluation noise streams, the ledger, records with the incumbent, and the strategy's ask/tell.
"""

from __future__ import annotations

import argparse
import time

from nasbench.core.registry import evaluators, spaces
from nasbench.core.seeding import role_rng
from nasbench.engine.runner import run
from nasbench.engine.suite import parse_suite

SUITE = """
[suite]
name = "overhead"
[budget]
evaluations = {n}
[[task]]
space = "nb201"
evaluator = "tabular"
fidelity = 12
[[strategy]]
name = "random"
[[strategy]]
name = "regularized_evolution"
"""


def bare_loop(n: int, seed: int) -> float:
    """Seconds for ``n`` sample + look-up steps, no runner."""
    space = spaces.create("nb201")
    evaluator = evaluators.create("tabular", space=space)
    rng, noise = role_rng(seed, "initial_design"), role_rng(seed, "noise")
    start = time.perf_counter()
    total = 0.0
    for _ in range(n):
        total += evaluator.evaluate(space.sample(rng), 12.0, noise).cost_s
    return time.perf_counter() - start


def runner_loop(n: int, seed: int, strategy: int) -> float:
    """Seconds for one run of ``n`` evaluations through ``nasbench.engine.runner.run``."""
    spec = parse_suite(SUITE.format(n=n)).specs()[strategy]
    start = time.perf_counter()
    result = run(spec, seed)
    assert len(result.records) == n
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evaluations", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many")
    args = parser.parse_args(argv)
    n = args.evaluations
    runner_loop(50, 0, 0)  # warm: table load, imports
    per_eval = {
        "bare loop (sample + look-up)": min(bare_loop(n, s) for s in range(args.repeats)) / n,
        "runner, random": min(runner_loop(n, s, 0) for s in range(args.repeats)) / n,
        "runner, regularized_evolution": min(runner_loop(n, s, 1) for s in range(args.repeats)) / n,
    }
    bare = per_eval["bare loop (sample + look-up)"]
    print(f"{'loop':<32}{'us/eval':>10}{'vs bare':>10}")
    for name, seconds in per_eval.items():
        print(f"{name:<32}{1e6 * seconds:>10.1f}{seconds / bare:>10.2f}")
    return per_eval


if __name__ == "__main__":
    main()
