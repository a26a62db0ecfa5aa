"""Real training of the architectures a suite found through a surrogate benchmark (issue 7: "final
architectures scored by the table or the surrogate, then by real training for the top ones";
issue 21: "retrain the final incumbents of every strategy, 3 seeds each, the table's recipe, and
report the Kendall tau between the benchmark's answer and the retrained accuracy, and whether the
strategy ranking agrees").

For every (task, strategy) of a results folder whose task answers from a nasbench-built table
(``evaluator = "surrogate"`` or ``"tabular"`` on ``nasbench build-table`` output), the ``--top``
best final incumbents over the seeds (by the validation accuracy the benchmark gave them,
distinct architectures; ``--top 0``: every run's final incumbent) are trained exactly as the
table's rows were (:func:`nasbench.tables.tablebuild.train_run`: the table's space settings,
dataset, epochs, recipe and latency device) at the task's target sparsity, with ``--seeds`` training
seeds. An architecture the table already holds at that sparsity and seed is read from the table
instead (``source = table``). Resumable: each finished training appends a line to
``DIR/retrain.jsonl``; ``report`` writes ``DIR/retrain.md``: the best incumbent of each group,
then per task the Kendall tau between the benchmark's test answer and the retrained test accuracy
(seed mean) over every retrained architecture, and the strategies ranked by their runs' benchmark
answers against the same runs' retrained accuracy (each architecture weighted by the number of
runs that ended on it).

    python -m experiments.retrain run DIR [--top 1] [--seeds 1] [--workers 2] [--tasks A,B]
    python -m experiments.retrain report DIR
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
from scipy.stats import kendalltau

from nasbench.analysis.power import Scores, verdict, versus_random
from nasbench.analysis.report import read_runs
from nasbench.core.jsonl import append_lines, read_lines
from nasbench.tables.benchmarks import load_benchmark, resolve
from nasbench.tables.surrogate_benchmark import table_data
from nasbench.tables.tablebuild import read_runs as read_table_runs
from nasbench.tables.tablebuild import train_run


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
    found: int = 1  # runs of the group that ended on this architecture

    @property
    def key(self) -> tuple:
        return (self.task, self.strategy, self.arch, self.seed)


def jobs(folder: Path, top: int, seeds: int, tasks: frozenset[str] | None = None) -> list[Job]:
    """The trainings a results folder asks for, grouped and ranked as the module says; only
    the runs of ``tasks`` when given (the finished tasks of a suite still running)."""
    finals: dict[tuple[str, str], list[tuple[float, float, str, float, str]]] = defaultdict(list)
    records = read_runs(folder)
    unknown = sorted((tasks or frozenset()) - {meta.task for _, meta in records})
    if unknown:
        known = ", ".join(sorted({meta.task for _, meta in records})) or "none"
        raise SystemExit(f"no runs of task {', '.join(unknown)} in {folder} (tasks: {known})")
    for table, meta in records:
        if not table.num_rows or (tasks is not None and meta.task not in tasks):
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
        runs: dict[str, int] = defaultdict(int)
        for f in found:
            runs[f[2]] += 1
        for val, test, arch, sparsity, bench in sorted(found, key=lambda f: (-f[0], f[2])):
            if arch in seen or (top and len(seen) >= top):
                continue
            rank = len(seen)
            seen.add(arch)
            out += [Job(task, strategy, rank, arch, sparsity, bench, val, test, s, runs[arch])
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
    recorded = [
        r for (_, level, seed), r in runs.items()
        if r["key"] == key and seed == job.seed and abs(level - job.sparsity) < 1e-9
    ]  # fmt: skip
    run = (
        recorded[0] if recorded else train_run(spec.to_json(), -1, job.arch, job.sparsity, job.seed)
    )
    kept = ("status", "val_acc", "test_acc", "train_time_s", "params", "nonzero_params", "macs",
            "effective_macs", "latency_ms")  # fmt: skip
    return {"source": "table" if recorded else "trained", **{k: run[k] for k in kept}}


def run(folder: Path, top: int, seeds: int, workers: int,
        tasks: frozenset[str] | None = None) -> None:  # fmt: skip
    """Train what :func:`jobs` asks for and is not yet in ``retrain.jsonl``; an architecture
    several strategies found is trained once (training is a function of the architecture,
    sparsity and seed) and recorded for each of them."""
    path = folder / "retrain.jsonl"
    done = {(r["task"], r["strategy"], r["arch"], r["seed"]) for r in read_lines(path)}
    todo = [j for j in jobs(folder, top, seeds, tasks) if j.key not in done]
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
                append_lines(path, [row])
                print(f"{row['task']} {row['strategy']}: benchmark val {row['bench_val']:.4f}, "
                      f"real val {row['val_acc']:.4f} test {row['test_acc']:.4f} "
                      f"({row['source']})", flush=True)  # fmt: skip


def agreement(rows: list[dict]) -> list[str]:
    """Per task: Kendall tau between the benchmark's test answer and the retrained test
    accuracy (seed mean) over the distinct architectures, and the strategies' means over their
    runs under both, with the Kendall tau between them and whether the best is the same."""
    lines = ["", "| task | architectures | tau (benchmark vs retrained test) | strategies | "
             "tau of strategy means | best (benchmark / retrained) |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    per_task: list[tuple[str, list[tuple[str, float, float, float]]]] = []
    for task in sorted({r["task"] for r in rows}):
        mine = [r for r in rows if r["task"] == task and math.isfinite(r["test_acc"])]
        by_arch: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for r in mine:
            by_arch[(r["strategy"], r["arch"])].append(r)
        archs = {a: (rs[0]["bench_test"], float(np.mean([r["test_acc"] for r in rs])))
                 for (_, a), rs in by_arch.items()}  # fmt: skip
        bench, real = zip(*archs.values(), strict=True) if archs else ((), ())
        tau = kendalltau(bench, real).statistic if len(archs) > 2 else math.nan
        means: dict[str, list[float]] = {}
        for (strategy, _), rs in by_arch.items():
            weight = rs[0].get("found", 1)
            real_acc = float(np.mean([r["test_acc"] for r in rs]))
            sums = means.setdefault(strategy, [0.0, 0.0, 0.0])
            sums[0] += weight * rs[0]["bench_test"]
            sums[1] += weight * real_acc
            sums[2] += weight
        names = sorted(means)
        b = [means[s][0] / means[s][2] for s in names]
        r_ = [means[s][1] / means[s][2] for s in names]
        stau = kendalltau(b, r_).statistic if len(names) > 2 else math.nan
        best = f"{names[int(np.argmax(b))]} / {names[int(np.argmax(r_))]}" if names else ""
        lines.append(f"| {task} | {len(archs)} | {tau:.3f} | {len(names)} | {stau:.3f} | "
                     f"{best} |")  # fmt: skip
        per_task.append(
            (task, [(s, means[s][2], bm, rm) for s, bm, rm in zip(names, b, r_, strict=True)])
        )
    lines += ["", "Strategy means over their runs' final incumbents (test accuracy, %; runs that "
              "ended on one architecture share its retrained mean):", "",
              "| task | strategy | runs | benchmark | retrained | rank (benchmark / retrained) |",
              "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for task, entries in per_task:
        by_bench = sorted(entries, key=lambda e: -e[2])
        for s, runs, bm, rm in by_bench:  # tied means share the better rank
            rank_b = 1 + sum(e[2] > bm for e in entries)
            rank_r = 1 + sum(e[3] > rm for e in entries)
            lines.append(f"| {task} | {s} | {runs:g} | {bm * 100:.2f} | {rm * 100:.2f} | "
                         f"{rank_b} / {rank_r} |")  # fmt: skip
    return lines


def beyond_table(rows: list[dict]) -> list[str]:
    """Per task answered from a table: the retrained architectures whose benchmark test answer
    lies above the best test label the table records at the task's sparsity (the surrogate's
    extrapolation beyond every trained network), their retrained mean against the same number
    of architectures answered just below that label, the Kendall tau within them, and the tau
    over all architectures with the answers as given (``bound = "unit"``) and bounded to the
    table's labels (``bound = "table"``; :data:`evaluation.surrogate.BOUNDS`)."""
    lines = ["", "Answers beyond the table's best label (test accuracy, %; retrained: seed mean):",
             "", "| task | best label | above it | their retrained mean | as many just below: "
             "retrained mean | tau above | tau all: as answered / bounded to the labels |",
             "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    found = False
    for task in sorted({r["task"] for r in rows}):
        mine = [r for r in rows if r["task"] == task and math.isfinite(r["test_acc"])]
        by_arch: dict[str, list[dict]] = defaultdict(list)
        for r in mine:
            by_arch[r["arch"]].append(r)
        if len(by_arch) < 3:
            continue
        first = mine[0]
        data = table_data(load_benchmark(first["benchmark"]))
        best = data.label_range(first["sparsity"])[1][1]
        bench = np.array([rs[0]["bench_test"] for rs in by_arch.values()])
        real = np.array([np.mean([r["test_acc"] for r in rs]) for rs in by_arch.values()])
        above = bench > best
        below = np.argsort(-np.where(above, -np.inf, bench), kind="stable")[: above.sum()]
        tau_above = kendalltau(bench[above], real[above]).statistic if above.sum() > 2 else math.nan
        tau_all = kendalltau(bench, real).statistic
        tau_bounded = kendalltau(np.minimum(bench, best), real).statistic
        mean_above = real[above].mean() * 100 if above.any() else math.nan
        mean_below = real[below].mean() * 100 if above.any() else math.nan
        lines.append(f"| {task} | {best * 100:.2f} | {above.sum()} of {len(bench)} | "
                     f"{mean_above:.2f} | {mean_below:.2f} | {tau_above:.3f} | "
                     f"{tau_all:.3f} / {tau_bounded:.3f} |")  # fmt: skip
        found = True
    return lines if found else []


def verdicts(folder: Path, rows: list[dict]) -> list[str]:
    """Per task, every strategy against random search (paired Wilcoxon over the suite's seeds,
    Holm over the task's comparisons, alpha 0.05; :func:`nasbench.analysis.power.versus_random`)
    twice: on the benchmark's test answers for the runs' final incumbents, and on their
    retrained test accuracy (seed mean); a verdict survives retraining when both agree. Only
    runs whose final incumbent was retrained are paired."""
    real: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for row in rows:
        if math.isfinite(row["test_acc"]):
            real[(row["task"], row["strategy"], row["arch"])].append(row["test_acc"])
    bench_scores: Scores = defaultdict(dict)
    real_scores: Scores = defaultdict(dict)
    for table, meta in read_runs(folder):
        if not table.num_rows:
            continue
        arch = table.column("incumbent_arch")[-1].as_py()
        got = real.get((meta.task, meta.strategy, str(arch)))
        if not got:
            continue
        bench_scores[(meta.task, meta.strategy)][meta.seed] = float(
            table.column("incumbent_test_acc")[-1].as_py()
        )
        real_scores[(meta.task, meta.strategy)][meta.seed] = float(np.mean(got))
    if not real_scores:
        return []
    if max(len(seeds) for seeds in real_scores.values()) < 2:
        return ["", "Against random search: not tested (at most one retrained run per strategy "
                "and task; `--top 0` retrains every run's final incumbent, which pairs them by "
                "seed)."]  # fmt: skip
    lines = ["", "Against random search (paired by seed, Wilcoxon, Holm, alpha 0.05; every pair "
             "where random search did not run), on the benchmark's answer and on retraining:", "",
             "| task | strategy (against) | seeds | benchmark: diff (pts), p Holm, verdict | "
             "retrained: diff (pts), p Holm, verdict | survives |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    bench_rows = versus_random(bench_scores)
    for b, t in zip(bench_rows, versus_random(real_scores), strict=True):
        vb, vt = verdict(b, bench_scores, 0.05), verdict(t, real_scores, 0.05)
        same = "yes" if vb == vt else "no"
        against = "" if b.b == "random" else f" ({b.b})"
        lines.append(f"| {b.task} | {b.a}{against} | {t.pairs} | {b.mean_diff * 100:+.2f}, "
                     f"{b.p_holm:.3g}, {vb} | {t.mean_diff * 100:+.2f}, {t.p_holm:.3g}, {vt} | "
                     f"{same} |")  # fmt: skip
    return lines


def report(folder: Path) -> str:
    rows = read_lines(folder / "retrain.jsonl")
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
    best_rows: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        if r["rank"] == 0:
            best_rows[(r["task"], r["strategy"])].append(r)
    bench = [rs[0]["bench_val"] for rs in best_rows.values()]  # one per group: seed means
    real = [float(np.mean([r["val_acc"] for r in rs])) for rs in best_rows.values()]
    text = "\n".join(lines) + "\n"
    if len(bench) > 2 and len(set(bench)) == 1:
        text += (
            f"\nKendall tau between benchmark and real validation accuracy of these best "
            f"incumbents: undefined, the benchmark gave every one {bench[0] * 100:.2f} "
            f"({len(bench)} groups; the surrogate's draws are capped at 100%)\n"
        )
    elif len(bench) > 2:
        tau = kendalltau(bench, real).statistic
        text += (f"\nKendall tau between benchmark and real validation accuracy (seed mean) "
                 f"of these best incumbents: {tau:.3f} ({len(bench)} groups)\n")  # fmt: skip
    text += "\n".join(agreement(rows)) + "\n"
    text += "\n".join(verdicts(folder, rows)) + "\n"
    text += "\n".join(beyond_table(rows)) + "\n"
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
    r.add_argument("--tasks", help="comma-separated task labels (default: every task)")
    p = sub.add_parser("report")
    p.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.cmd == "run":
        tasks = frozenset(args.tasks.split(",")) if args.tasks else None
        run(args.folder, args.top, args.seeds, args.workers, tasks)
    print(report(args.folder), end="")


if __name__ == "__main__":
    main()
