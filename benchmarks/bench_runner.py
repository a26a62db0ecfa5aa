"""Runner overhead: wall time per evaluation of the full runner against bare loops doing the
same work, side by side in one run.

    python -m benchmarks.bench_runner [--evaluations 5000] [--repeats 3] [--cli]

Baselines: a bare numpy regularized evolution over the NAS-Bench-201 table held in arrays (sample,
mutate, tournament, look up, charge: the plainest code for the job), and the tabular
evaluator's own sample-and-look-up loop. Measured: the in-process runner
(``nasbench.engine.runner.run``) with random search and regularized evolution, and with
``--cli`` the ``nasbench run`` command (one worker, journal included): the wall time of a suite
of 5 runs (seeds) of ten times ``--evaluations`` evaluations each (at most 10,000, the suite
cap) minus that of the same suite with 10 evaluations per run (start-up, imports, each run's
set-up and the summary), per evaluation; each the best of ``--repeats``.

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


def numpy_evolution(n: int, seed: int, population: int = 10, sample: int = 3) -> float:
    """Seconds for ``n`` evaluations of a bare regularized evolution on arrays: architectures
    are 6 op indices, the table a 5**6 array of 12-epoch validation accuracies and costs."""
    import numpy as np
    import pyarrow.parquet as pq

    from nasbench.tables.benchmarks import resolve

    columns = ["arch", "val_acc_12ep", "train_time_200ep_s"]
    table = pq.read_table(resolve("nb201-cifar10"), columns=columns).to_pydict()
    ops = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
    val = np.zeros(5**6)
    cost = np.zeros(5**6)
    for text, v, c in zip(table["arch"], table["val_acc_12ep"], table["train_time_200ep_s"],
                          strict=True):  # fmt: skip
        genome = [
            ops.index(edge.split("~")[0]) for edge in text.replace("+", "").split("|") if edge
        ]
        code = sum(g * 5**i for i, g in enumerate(genome))
        val[code], cost[code] = v, c * 12 / 200
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    pop: list[tuple[int, float]] = []
    spent, best = 0.0, -1.0
    for i in range(n):
        if i < population:
            code = int(rng.integers(5**6))
        else:
            parent = max((pop[j] for j in rng.integers(len(pop), size=sample)), key=lambda p: p[1])
            pos = int(rng.integers(6))
            digit = (parent[0] // 5**pos) % 5
            new = (digit + 1 + int(rng.integers(4))) % 5
            code = parent[0] + (new - digit) * 5**pos
        acc = float(val[code])
        spent += float(cost[code])
        best = max(best, acc)
        pop.append((code, acc))
        if len(pop) > population:
            pop.pop(0)
    return time.perf_counter() - start


def cli_loop(n: int, repeats: int = 1, seeds: int = 5) -> float:
    """Seconds per evaluation of ``nasbench run`` (one worker, journal): a suite of ``seeds``
    runs of up to 10,000 evaluations each (the cap) against the same suite with 10 evaluations
    per run, each the best of ``repeats`` walls, so the start-up (imports, the suite check, the
    summary) and each run's set-up cancel. A start-up varies by a tenth of a second or more:
    spread over 50,000 evaluations, 2 us each."""
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    def wall(evaluations: int, runs: int) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            suite = Path(tmp) / "s.toml"
            text = SUITE.format(n=evaluations).replace('[[strategy]]\nname = "random"\n', "")
            suite.write_text(
                text.replace('name = "overhead"', f'name = "overhead"\nseeds = {runs}')
            )
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "nasbench", "run", str(suite), "--out",
                            str(Path(tmp) / "out"), "--workers", "1", "--quiet"],
                           check=True, capture_output=True)  # fmt: skip
            return time.perf_counter() - start

    big = min(10 * n, 10_000)  # amortise start-up (a second under load); 10,000: the cap
    best_big = min(wall(big, seeds) for _ in range(repeats))
    best_small = min(wall(10, seeds) for _ in range(repeats))  # the same runs' set-ups
    return (best_big - best_small) / (seeds * (big - 10))


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
    parser.add_argument("--cli", action="store_true", help="also time `nasbench run`")
    args = parser.parse_args(argv)
    n = args.evaluations
    runner_loop(50, 0, 0)  # warm: table load, imports
    per_eval = {
        "bare numpy evolution": min(numpy_evolution(n, s) for s in range(args.repeats)) / n,
        "evaluator loop (sample + look-up)": min(bare_loop(n, s) for s in range(args.repeats)) / n,
        "runner, random": min(runner_loop(n, s, 0) for s in range(args.repeats)) / n,
        "runner, regularized_evolution": min(runner_loop(n, s, 1) for s in range(args.repeats)) / n,
    }
    if args.cli:
        per_eval["nasbench run, regularized_evolution"] = cli_loop(n, args.repeats)
    bare = per_eval["bare numpy evolution"]
    print(f"{'loop':<38}{'us/eval':>10}{'vs bare':>10}")
    for name, seconds in per_eval.items():
        print(f"{name:<38}{1e6 * seconds:>10.1f}{seconds / bare:>10.2f}")
    return per_eval


if __name__ == "__main__":
    main()
