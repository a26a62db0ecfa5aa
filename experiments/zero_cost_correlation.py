"""How well training-free proxies rank architectures: Spearman's rho between each zero-cost proxy
(:mod:`nasbench.evaluation.zero_cost`) of an architecture's untrained network and the accuracy
the table recorded for it trained.

(a) Every proxy on each own table's architectures (the MNIST-1D tables shipped in
``nasbench/data/`` and the growing ones in ``results/tables-pending/``), against the table's
seed-mean validation accuracy (highest fidelity) and its test accuracy, per sparsity level. A
proxy scores the dense network (the evaluator's rule), so one score per architecture is compared
with each level's accuracies. (b) synflow on the NAS-Bench-201 cells (all 15,625 without
``--limit``) against their CIFAR-10 test accuracy (200 epochs, seed mean), with the time it took:
synflow is data-free, so no CIFAR-10 files are needed.

Every architecture is scored from its own stream ``role_rng(seed, "zero_cost_correlation",
table, arch)``, fresh for each proxy: all proxies of an architecture see the same initial weights
and the same batch. ``--limit N`` scores N architectures per table, evenly spaced over the
table's distinct architectures. One CPU thread, so the recorded process seconds are wall seconds.

    python -m experiments.zero_cost_correlation [--part own|nb201|both] [--limit N]
        [--tables NAME|FILE,...] [--proxies synflow,snip,...] [--batch-size 64] [--seed 0]
        [--write [--out results/zero_cost]]

Without ``--write`` it computes and prints only. With ``--write`` it appends one JSON line per
architecture to ``<out>/scores.jsonl`` as it goes (a rerun skips what is there: resumable), then
writes ``<out>/README.md`` with the command and the correlations of everything recorded for the
tables of ``--part``. ``--report-only`` scores nothing and reports what ``scores.jsonl`` holds
(``--part both --report-only --write``: the README of a study stopped part way).
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

import nasbench.evaluation.zero_cost  # noqa: F401  (registers the "zero_cost" evaluator)
from nasbench.core.errors import NasbenchError, one_of
from nasbench.core.jsonl import append_lines, read_lines
from nasbench.core.registry import evaluators
from nasbench.core.seeding import role_rng
from nasbench.evaluation.zero_cost_proxies import PROXY_NAMES
from nasbench.tables.benchmarks import load_benchmark, shipped_benchmarks
from nasbench.tables.surrogate_benchmark import TableData, table_data

OUT = Path("results/zero_cost")
NB201 = "nb201-cifar10"
PENDING = Path("results/tables-pending")


def own_tables() -> list[str]:
    """The own tables: shipped ones other than NAS-Bench-201, then the pending files."""
    shipped = [name for name in shipped_benchmarks() if name != NB201]
    return shipped + [str(p) for p in sorted(PENDING.glob("*.parquet"))]


def chosen(data: TableData, limit: int | None) -> list[int]:
    """Row indices of the first row of each distinct architecture, ``limit`` of them evenly
    spaced over the table (all without a limit)."""
    first = sorted(np.unique(data.arch_ids, return_index=True)[1].tolist())
    if limit is None or limit >= len(first):
        return first
    picks = np.unique(np.linspace(0, len(first) - 1, limit).round().astype(int))
    return [first[i] for i in picks]


def score_table(
    data: TableData, proxies: list[str], args: argparse.Namespace, path: Path | None
) -> list[dict[str, Any]]:
    """Score the chosen architectures of the table ``data`` with ``proxies``: one line per
    architecture (appended to ``path`` when given; architectures it holds with these settings
    are skipped, proxies missing from them computed)."""
    name = data.table.name
    key = {"table": name, "batch_size": args.batch_size, "seed": args.seed}
    held = merged(read_lines(path) if path else [], key)
    evs: dict[str, Any] = {}  # made on first need: a resumed study may need none
    lines = []
    rows = chosen(data, args.limit)
    for done, row in enumerate(rows, 1):
        arch = data.archs[row]
        todo = [p for p in proxies if p not in held.get(arch.text, {}).get("scores", {})]
        if not todo:
            continue
        start = time.perf_counter()
        scores, costs = {}, {}
        for p in todo:
            if p not in evs:
                evs[p] = evaluators.create("zero_cost", space=data.space, proxy=p,
                                           batch_size=args.batch_size,
                                           dataset=data.table.info.dataset)  # fmt: skip
            m = evs[p].evaluate(arch, 1.0, role_rng(args.seed, "zero_cost_correlation", name,
                                                    arch.text))  # fmt: skip
            scores[p], costs[p] = dict(m.extra)[f"proxy_{p}"], m.cost_s
        line = {**key, "arch": arch.text, "scores": scores, "cost_s": costs,
                "wall_s": time.perf_counter() - start}  # fmt: skip
        lines.append(line)
        if path is not None:
            append_lines(path, [line])
        if done % 100 == 0:
            print(f"{name}: {done}/{len(rows)} architectures", file=sys.stderr, flush=True)
    return lines


def merged(lines: list[dict[str, Any]], key: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Arch -> its scores, process seconds per proxy and wall seconds, merged over the lines
    that match ``key`` (a resumed run adds lines for proxies it computed later)."""
    out: dict[str, dict[str, Any]] = {}
    for line in lines:
        if any(line.get(k) != v for k, v in key.items()):
            continue
        entry = out.setdefault(line["arch"], {"scores": {}, "cost_s": {}, "wall_s": 0.0})
        entry["scores"].update(line["scores"])
        entry["cost_s"].update(line["cost_s"])
        entry["wall_s"] += line["wall_s"]
    return out


def spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """Spearman's rho over the pairs where both are finite, and their number (NaN below 3)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return math.nan, int(ok.sum())
    return float(stats.spearmanr(x[ok], y[ok]).statistic), int(ok.sum())


def correlations(
    data: TableData, held: dict[str, dict[str, Any]], proxies: list[str]
) -> list[dict]:
    """Per sparsity level and proxy: rho with validation and with test accuracy."""
    out = []
    for level in data.levels:
        rows = [i for i in np.flatnonzero(np.isclose(data.sparsity, level))
                if data.archs[i].text in held]  # fmt: skip
        for p in proxies:
            score = np.array([held[data.archs[i].text]["scores"].get(p, math.nan) for i in rows],
                             dtype=float)  # fmt: skip
            rho_val, n = spearman(score, data.val[rows])
            rho_test, _ = spearman(score, data.test[rows])
            cost = [held[data.archs[i].text]["cost_s"].get(p, math.nan) for i in rows]
            out.append(
                {
                    "table": data.table.name,
                    "sparsity": float(level),
                    "proxy": p,
                    "rho_val": rho_val,
                    "rho_test": rho_test,
                    "archs": n,
                    "median_cost_s": float(np.nanmedian(cost)) if cost else math.nan,
                }
            )
    return out


def report(rows: list[dict], timing: dict[str, dict[str, float]]) -> str:
    """The correlations as Markdown, then each table's total time."""
    lines = ["| table | sparsity | proxy | Spearman vs val | Spearman vs test | archs "
             "| median proxy s |", "|" + " --- |" * 7]  # fmt: skip
    for r in rows:
        lines.append(
            f"| {r['table']} | {r['sparsity']:g} | {r['proxy']} | {r['rho_val']:.3f} "
            f"| {r['rho_test']:.3f} | {r['archs']} | {r['median_cost_s']:.4f} |"
        )
    lines.append("")
    for name, t in timing.items():
        lines.append(f"- {name}: {t['archs']:.0f} of its {t['of']:.0f} architectures, proxy "
                     "process time "
                     f"{t['cost_s']:.1f} s, wall time (building the networks included) "
                     f"{t['wall_s']:.1f} s")  # fmt: skip
    return "\n".join(lines) + "\n"


def plan(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """(table, proxies) pairs to score, checked (unknown names raise NasbenchError)."""
    proxies = args.proxies.split(",") if args.proxies else list(PROXY_NAMES)
    for p in proxies:
        if p not in PROXY_NAMES:
            raise one_of("proxy", p, PROXY_NAMES)
    tables = args.tables.split(",") if args.tables else own_tables()
    work = [(t, proxies) for t in tables] if args.part in ("own", "both") else []
    return work + ([(NB201, ["synflow"])] if args.part in ("nb201", "both") else [])


def run(args: argparse.Namespace) -> str:
    torch.set_num_threads(1)
    path = None
    if args.write or args.report_only:  # report-only reads it and never appends
        path = args.out / "scores.jsonl"
    if args.write:
        args.out.mkdir(parents=True, exist_ok=True)
    rows, timing = [], {}
    for table, proxies in plan(args):
        data = table_data(load_benchmark(table))
        fresh = [] if args.report_only else score_table(data, proxies, args, path)
        name = data.table.name
        key = {"table": name, "batch_size": args.batch_size, "seed": args.seed}
        held = merged(read_lines(path) if path else fresh, key)
        held = {a: h for a, h in held.items() if all(p in h["scores"] for p in proxies)}
        rows += correlations(data, held, proxies)
        timing[name] = {
            "archs": len(held),
            "of": len({a.text for a in data.archs}),
            "wall_s": sum(h["wall_s"] for h in held.values()),
            "cost_s": sum(sum(h["cost_s"].values()) for h in held.values()),
        }
    text = report(rows, timing)
    if args.write:
        command = "python -m experiments.zero_cost_correlation " + shlex.join(args.argv)
        readme = (f"# Zero-cost proxies against trained accuracy\n\nWritten by\n\n    {command}"
                  f"\n\n(batch size {args.batch_size}, seed {args.seed}; see the module "
                  "docstring of `experiments/zero_cost_correlation.py`).\n\n" + text)  # fmt: skip
        (args.out / "README.md").write_text(readme)
    return text


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--part", choices=("own", "nb201", "both"), default="both")
    parser.add_argument("--limit", type=int, default=None, help="architectures per table")
    parser.add_argument("--tables", default="", help="own tables (names or files); default all")
    parser.add_argument("--proxies", default="", help="comma-separated; default all")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help="append to and report in --out")
    parser.add_argument("--report-only", action="store_true",
                        help="score nothing: report what --out/scores.jsonl holds (with --write: "
                        "rewrite its README.md)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be >= 1, got {args.limit}")
    args.argv = argv
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        print(run(args), end="")
    except NasbenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
