"""Ray against local processes on a training-based suite, the must-show of issue 8: the same
records from every backend and worker count, and the wall time and speed-up of 2 workers over 1.

    python -m benchmarks.bench_backends [--epochs 6] [--evaluations 6] [--seeds 4] [--out DIR]

The suite trains chain-space networks on MNIST-1D (the ``train`` evaluator) with random search
and regularized evolution. Each configuration is a real ``nasbench run CONFIG --backend B
--workers W --quiet`` process, so the wall times include what a user waits for: process start,
imports and, for Ray, starting and stopping the local Ray instance (``--workers`` CPUs).
With one local worker the runs execute in the ``nasbench`` process itself, with torch's default
number of threads; every worker process and Ray task uses one thread. Each new worker pays its
own start (importing torch, building the dataset) once, so short suites gain little. The
script first measures how much of a second core the machine offers at that moment, since
other work on it bounds any speed-up.

Training charges its measured wall time as simulated cost, so ``cost_s`` and ``cum_cost_s``
differ from one run to the next like the ``*_wall_s`` columns; every other column of every
record must be equal across the four folders (the comparison says which columns it skipped).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nasbench.engine.records import read_run

SUITE = """
[suite]
name = "backends-train"
seeds = {seeds}
[budget]
evaluations = {evaluations}
[[task]]
space = "chain"
evaluator = "train"
space_params = {{ max_layers = 3 }}
dataset = "mnist1d"
epochs = {epochs}
recipe = {{ batch_size = 128 }}
label = "chain"
[[strategy]]
name = "random"
[[strategy]]
name = "regularized_evolution"
population = 2
sample_size = 2
"""
CONFIGS = [("local", 1), ("local", 2), ("ray", 1), ("ray", 2)]
MEASURED = ("cost_s", "cum_cost_s")  # training wall time, charged as simulated cost


def records(folder: Path) -> dict[str, str]:
    """Each run's records as canonical JSON, without the measured columns (``*_wall_s`` and
    ``MEASURED``); NaN is spelled out so equal runs compare equal."""
    out = {}
    for path in sorted((folder / "runs").glob("*.parquet")):
        table, _ = read_run(path)
        keep = [c for c in table.column_names if not c.endswith("_wall_s") and c not in MEASURED]
        out[path.name] = json.dumps(table.select(keep).to_pylist(), sort_keys=True, default=str)
    return out


def run_config(config: Path, out: Path, backend: str, workers: int) -> float:
    """Wall seconds of one ``nasbench run`` process (which must succeed)."""
    argv = [sys.executable, "-m", "nasbench", "run", str(config), "--out", str(out),
            "--backend", backend, "--workers", str(workers), "--quiet"]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr}")
    return wall


BUSY = (
    "import time; t = time.perf_counter(); sum(range(40_000_000)); print(time.perf_counter() - t)"
)


def parallel_capacity() -> float:
    """How many CPU-bound processes this machine runs at full speed right now: two pure-Python
    loops side by side against one alone (2.0 on two idle cores, about 1.0 when other work takes
    the second core). The speed-up of 2 workers cannot exceed it."""

    def loops(n: int) -> list[float]:
        procs = [subprocess.Popen([sys.executable, "-c", BUSY], stdout=subprocess.PIPE, text=True)
                 for _ in range(n)]  # fmt: skip
        return [float(p.communicate()[0]) for p in procs]

    (alone,) = loops(1)
    return 2 * alone / max(loops(2))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--evaluations", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None, help="folder for the four results")
    args = parser.parse_args(argv)
    root = args.out or Path(tempfile.mkdtemp(prefix="bench-backends-"))
    root.mkdir(parents=True, exist_ok=True)
    config = root / "suite.toml"
    config.write_text(SUITE.format(seeds=args.seeds, evaluations=args.evaluations,
                                   epochs=args.epochs))  # fmt: skip
    walls = {}
    for backend, workers in CONFIGS:
        walls[f"{backend}-{workers}"] = run_config(config, root / f"{backend}-{workers}",
                                                   backend, workers)  # fmt: skip
    runs = 2 * args.seeds
    print(f"{runs} runs x {args.evaluations} evaluations, {args.epochs} epoch(s) each; {root}")
    print(f"parallel capacity now: {parallel_capacity():.2f} of 2 CPU-bound processes at full "
          "speed (the bound on a 2-worker speed-up)")  # fmt: skip
    print("| backend | workers | wall s | speed-up over 1 worker | vs local, 1 worker |")
    print("| --- | --- | --- | --- | --- |")
    for backend, workers in CONFIGS:
        wall = walls[f"{backend}-{workers}"]
        own, base = walls[f"{backend}-1"] / wall, walls["local-1"] / wall
        print(f"| {backend} | {workers} | {wall:.1f} | {own:.2f}x | {base:.2f}x |")
    reference = records(root / "local-1")
    same = {name: records(root / name) == reference for name in walls}
    skipped = ", ".join((*MEASURED, "*_wall_s"))
    print(
        f"records equal to local-1 in every column but {skipped}: "
        + ", ".join(f"{name} {'yes' if ok else 'NO'}" for name, ok in same.items())
    )
    if len(reference) != runs or not all(same.values()):
        raise SystemExit("the backends' records differ")
    return walls


if __name__ == "__main__":
    main()
