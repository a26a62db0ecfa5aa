"""How well one-shot weights rank architectures (issue 7): Kendall tau between the accuracy a
weight-sharing supernet (or a SMASH hypernetwork) gives an architecture and the accuracy the same
architecture reached trained alone, read from nasbench's own MNIST-1D tables, with and without
pruning to the target sparsity (SCAS).

For each (table, evaluator, sparsity): one supernet trained with the table's space parameters,
dataset and recipe for ``--epochs`` epochs with uniform path sampling (and gradual magnitude
pruning to the sparsity), then each of the table's first ``--archs`` architectures recorded at that
sparsity scored by inheriting weights (batch norm recalibrated). Beside the one-shot tau, the
table's own noise ceiling: the tau between its two training seeds on the architectures that have
both. Resumable: each finished combination appends a line to
``results/one_shot/correlation.jsonl``.

    python -m experiments.one_shot_correlation run TABLE|FILE [--archs 50] [--epochs 20]
        [--sparsity 0,0.8] [--evaluators weight_sharing,hypernetwork]
    python -m experiments.one_shot_correlation report      # results/one_shot/correlation.md
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
from scipy import stats

from nasbench.core.jsonl import append_lines, read_lines
from nasbench.core.registry import evaluators
from nasbench.core.seeding import role_rng
from nasbench.tables.benchmarks import load_benchmark
from nasbench.tables.surrogate_benchmark import table_data
from nasbench.tables.tablebuild import BUILD_KEY, TableSpec

OUT = Path("results/one_shot")


def _rows(name: str, sparsity: float, n: int) -> tuple[list, np.ndarray, list]:
    """The table's first ``n`` architectures at ``sparsity``: architectures, seed-mean
    validation accuracy, per-seed accuracies."""
    data = table_data(load_benchmark(name))
    rows = np.flatnonzero(np.isclose(data.sparsity, sparsity))[:n]
    seeds = [data.val_seeds[i] if data.val_seeds else () for i in rows]
    return [data.archs[i] for i in rows], data.val[rows], seeds


def _seed_tau(seeds: list) -> tuple[float, int]:
    pairs = [(s[0], s[1]) for s in seeds if len(s) > 1 and all(map(math.isfinite, s[:2]))]
    if len(pairs) < 3:
        return math.nan, len(pairs)
    a, b = zip(*pairs, strict=True)
    return float(stats.kendalltau(a, b).statistic), len(pairs)


def run_one(name: str, evaluator: str, sparsity: float, n: int, epochs: int) -> dict:
    table = load_benchmark(name)
    archs, ref, seeds = _rows(name, sparsity, n)
    assert table.path is not None
    spec = TableSpec.from_json(pq.read_schema(table.path).metadata[BUILD_KEY])
    ev = evaluators.create(
        evaluator, space=spec.create_space(), dataset=spec.dataset, epochs=epochs,
        sparsity=sparsity, recipe={**spec.recipe, "epochs": epochs},
    )  # fmt: skip
    start = time.perf_counter()
    rng = role_rng(0, "one-shot-correlation")
    ms = [ev.evaluate(a, float(epochs), rng) for a in archs]
    wall = time.perf_counter() - start
    scores = np.array([m.val_acc for m in ms])
    ok = np.isfinite(scores) & np.isfinite(ref)
    tau = float(stats.kendalltau(scores[ok], ref[ok]).statistic)
    rho = float(stats.spearmanr(scores[ok], ref[ok]).statistic)
    noise_tau, noise_pairs = _seed_tau(seeds)
    return {
        "table": table.name, "table_archs": len(set(table.arch)), "evaluator": evaluator,
        "sparsity": sparsity, "archs": int(ok.sum()),
        "epochs": epochs, "kendall": tau, "spearman": rho,
        "one_shot_val_mean": float(np.nanmean(scores)), "table_val_mean": float(np.mean(ref)),
        "seed_kendall": noise_tau, "seed_pairs": noise_pairs,
        "measured_sparsity": float(np.nanmean([m.sparsity for m in ms])),
        "supernet_cost_s": float(ev.supernet.cost_s), "supernet_wall_s": ev.supernet.wall_s,
        "wall_s": wall,
        "threads": torch.get_num_threads(),
    }  # fmt: skip


def run(args: argparse.Namespace) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "correlation.jsonl"
    torch.set_num_threads(1)
    done = {(r["table"], r["evaluator"], r["sparsity"], r["archs_asked"], r["epochs"])
            for r in read_lines(path)}  # fmt: skip
    name = load_benchmark(args.table).name  # TABLE may be a path to a table file
    for sparsity in (float(s) for s in args.sparsity.split(",")):
        for evaluator in args.evaluators.split(","):
            key = (name, evaluator, sparsity, args.archs, args.epochs)
            if key in done:
                continue
            row = {**run_one(args.table, evaluator, sparsity, args.archs, args.epochs),
                   "archs_asked": args.archs}  # fmt: skip
            append_lines(path, [row])
            print(f"{args.table} {evaluator} sparsity {sparsity}: tau {row['kendall']:.3f} "
                  f"over {row['archs']} archs (seed tau {row['seed_kendall']:.3f}), "
                  f"{row['wall_s']:.0f} s", flush=True)  # fmt: skip


def report() -> str:
    rows = read_lines(OUT / "correlation.jsonl")
    head = (
        "| table | evaluator | sparsity | archs (of the table's) | supernet epochs | Kendall tau "
        "| Spearman | seed-to-seed tau (pairs) | one-shot val mean | table val mean | supernet s |"
    )
    lines = [head, "|" + " --- |" * 11]
    for r in sorted(rows, key=lambda r: (r["table"], r["evaluator"], r["sparsity"], r["epochs"])):
        lines.append(
            f"| {r['table']} | {r['evaluator']} | {r['sparsity']} | {r['archs']} "
            f"({r.get('table_archs', '-')}) | {r['epochs']} "
            f"| {r['kendall']:.3f} | {r['spearman']:.3f} | {r['seed_kendall']:.3f} "
            f"({r['seed_pairs']}) | {r['one_shot_val_mean']:.4f} | {r['table_val_mean']:.4f} "
            f"| {r.get('supernet_wall_s', r['supernet_cost_s']):.0f} |"  # older rows: cost = wall
        )
    lines.append(
        "\narchs (of the table's): the architectures scored, and how many the table held when "
        "they were (`-`: not recorded); rows scored while the tables grew read them from "
        "`results/tables-pending/`, before they were folded into the package."
    )
    text = "\n".join(lines) + "\n"
    (OUT / "correlation.md").write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("table")
    r.add_argument("--archs", type=int, default=50)
    r.add_argument("--epochs", type=int, default=20)
    r.add_argument("--sparsity", default="0,0.8")
    r.add_argument("--evaluators", default="weight_sharing,hypernetwork")
    sub.add_parser("report")
    args = parser.parse_args()
    if args.cmd == "run":
        run(args)
    else:
        print(report(), end="")


if __name__ == "__main__":
    main()
