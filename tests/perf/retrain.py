"""Real training of the architectures a suite found through a surrogate benchmark (issue 7: "final
architectures scored by the table or the surrogate, then by real training for the top ones").

For every (task, strategy) of a results folder whose task answers from a nasbench-built table
(``evaluator = "surrogate"`` or ``"tabular"`` on ``nasbench build-table`` output), the ``--top``
best final incumbents over the seeds (by the validation accuracy the benchmark gave them, distinct
architectures) are trained exactly as the table's rows were (:func:`nasbench.tablebuild.train_run`:
the table's space settings, dataset, epochs, recipe and latency device) at the task's target
sparsity, with ``--seeds`` training seeds. An architecture the table already holds at that
sparsity and seed is read from the table instead (``source = table``). Resumable: each finished
training appends a line to ``DIR/retrain.jsonl``; ``report`` writes ``DIR/retrain.md``.

    python -m tests.perf.retrain run DIR [--top 1] [--seeds 1] [--workers 2]
    python -m tests.perf.retrain report DIR
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nasbench.benchmarks import resolve
from nasbench.report import read_runs
from nasbench.tablebuild import read_runs as read_table_runs
from nasbench.tablebuild import train_run
from tests.perf.results import append_jsonl, read_jsonl


@dataclass(frozen=True)
class Job:
    """One architecture of one (task, strategy) to train at one seed."""

    task: str
    strategy: str
    rank: int  # 0: the best final incumbent of the group
    arch: str
    sparsity: float
    benchmark: str
    bench_val: float
    bench_test: float
    seed: int

    @property
    def key(self) -> tuple:
        return (self.task, self.strategy, self.arch, self.seed)


def jobs(folder: Path, top: int, seeds: int) -> list[Job]:
    """The trainings a results folder asks for, grouped and ranked as the module says."""
    finals: dict[tuple[str, str], list[tuple[float, float, str, float, str]]] = defaultdict(list)
    for table, meta in read_runs(folder):
        if not table.num_rows:
            continue
        config = json.loads(meta.config_json)
        params = dict(config["task"].get("evaluator_params", []))
        if "benchmark" not in params:
            continue
        cols = table.select(["incumbent_arch", "incumbent_val_acc", "incumbent_test_acc"])
        arch, val, test = (cols.column(i)[-1].as_py() for i in range(3))
        if arch is None or val is None or math.isnan(val):
            continue
        sparsity = float(config["budget"].get("sparsity", 0.0))
        finals[(meta.task, meta.strategy)].append((val, test, arch, sparsity, params["benchmark"]))
    out = []
    for (task, strategy), found in sorted(finals.items()):
        seen: set[str] = set()
        for val, test, arch, sparsity, bench in sorted(found, key=lambda f: (-f[0], f[2])):
            if arch in seen or len(seen) >= top:
                continue
            rank = len(seen)
            seen.add(arch)
            out += [Job(task, strategy, rank, arch, sparsity, bench, val, test, s)
                    for s in range(seeds)]  # fmt: skip
    return out


def train(job: Job) -> dict:
    """The job's real measurement: from the table when it holds the run, else trained."""
    path = resolve(job.benchmark)
    spec, runs = read_table_runs(path)
    if spec is None:
        raise SystemExit(f"{path} was not written by nasbench build-table")
    space = spec.create_space()
    key = space.parse(job.arch).key
    recorded = [r for (_, level, seed), r in runs.items()
                if r["key"] == key and seed == job.seed and abs(level - job.sparsity) < 1e-9]  # fmt: skip
    run = (
        recorded[0] if recorded else train_run(spec.to_json(), -1, job.arch, job.sparsity, job.seed)
    )
    return {"source": "table" if recorded else "trained",
            **{k: run[k] for k in ("status", "val_acc", "test_acc", "train_time_s", "params",
                                   "nonzero_params", "macs", "effective_macs", "latency_ms")}}  # fmt: skip


def run(folder: Path, top: int, seeds: int, workers: int) -> None:
    """Train what :func:`jobs` asks for and is not yet in ``retrain.jsonl``; an architecture
    several strategies found is trained once (training is a function of the architecture,
    sparsity and seed) and recorded for each of them."""
    path = folder / "retrain.jsonl"
    done = {(r["task"], r["strategy"], r["arch"], r["seed"]) for r in read_jsonl(path)}
    todo = [j for j in jobs(folder, top, seeds) if j.key not in done]
    same: dict[tuple, list[Job]] = defaultdict(list)
    for job in todo:
        same[(job.benchmark, job.arch, job.sparsity, job.seed)].append(job)
    print(f"{len(same)} trainings to do ({len(done)} done)", flush=True)
    firsts = [group[0] for group in same.values()]
    with ProcessPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
        results = pool.map(train, firsts) if pool else map(train, firsts)
        for group, measured in zip(same.values(), results, strict=True):
            for job in group:
                row = {**job.__dict__, **measured}
                append_jsonl(path, row)
                print(f"{row['task']} {row['strategy']}: benchmark val {row['bench_val']:.4f}, "
                      f"real val {row['val_acc']:.4f} test {row['test_acc']:.4f} "
                      f"({row['source']})", flush=True)  # fmt: skip


def report(folder: Path) -> str:
    rows = read_jsonl(folder / "retrain.jsonl")
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["task"], r["strategy"])].append(r)
    lines = [
        "| task | strategy | target sparsity | benchmark val acc | real val acc | real test acc | "
        "nonzero params | effective MACs | trainings | source |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (task, strategy), rs in sorted(groups.items()):
        best = [r for r in rs if r["rank"] == 0]

        def mean(k: str, best: list[dict] = best) -> float:
            return float(np.mean([r[k] for r in best]))

        lines.append(
            f"| {task} | {strategy} | {best[0]['sparsity']:g} | {best[0]['bench_val'] * 100:.2f} | "
            f"{mean('val_acc') * 100:.2f} | {mean('test_acc') * 100:.2f} | "
            f"{mean('nonzero_params'):.0f} | {mean('effective_macs'):.0f} | {len(best)} | "
            f"{', '.join(sorted({r['source'] for r in best}))} |"
        )
    bench = [r["bench_val"] for r in rows if r["rank"] == 0]
    real = [r["val_acc"] for r in rows if r["rank"] == 0]
    text = "\n".join(lines) + "\n"
    if len(bench) > 2:
        from scipy.stats import kendalltau

        tau = kendalltau(bench, real).statistic
        text += f"\nKendall tau between benchmark and real validation accuracy: {tau:.3f} ({len(bench)} architectures)\n"
    (folder / "retrain.md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("folder", type=Path)
    r.add_argument("--top", type=int, default=1)
    r.add_argument("--seeds", type=int, default=1)
    r.add_argument("--workers", type=int, default=2)
    p = sub.add_parser("report")
    p.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.cmd == "run":
        run(args.folder, args.top, args.seeds, args.workers)
    print(report(args.folder), end="")


if __name__ == "__main__":
    main()
