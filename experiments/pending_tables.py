"""Books for a benchmark table that grows outside the package (issue 6): progress against its
plan, folding journals in, the move into ``nasbench/data/``, and the suites' budgets.

    python -m experiments.pending_tables status [--write] [--plan N,MULTI,SEEDS]  # progress,
        # and the label quality per sparsity level
    python -m experiments.pending_tables compact            # fold journals in, rewrite datasheets
    python -m experiments.pending_tables fold [--force]     # complete tables -> nasbench/data/
    python -m experiments.pending_tables medians [TABLE ...] [--write]  # the suites' budgets

A table grows in ``results/tables-pending/`` (``--dir``), not in ``nasbench/data/``, because the
committed suites that score architectures with a table's surrogate (``results/default``,
``results/own-spaces-surrogate``, ``results/gradient-mnist1d``) must stay reproducible with the
shipped table until it is replaced in one step. Grow it with the two ``nasbench build-table``
commands of its datasheet pointed at ``--out results/tables-pending/<table>.parquet`` (the plan:
the first 500 uniform samples at sparsity 0, 0.5 and 0.8, two training seeds for the first 100
of them, 1,800 runs). Stop the builds before ``compact`` or ``fold``: both rewrite the table
and empty its journal. ``fold`` copies complete tables into ``nasbench/data/`` and drops their
rows from ``results/surrogates/quality.jsonl`` (they describe the smaller tables). Then:

1. rerun ``python -m experiments.surrogate_quality run`` and ``report`` (the quality table and
   ``nasbench/data/best_surrogates.json``);
2. ``medians nasbench/data/*-mnist1d.parquet --write`` sets the budgets of the default and
   own-spaces-surrogate suites: about 50 median trainings of a table, latency limited at its
   median (3 significant digits for ``cost_s``, 4 for ``latency_ms``; a task line without
   ``latency_ms`` keeps having none);
3. recalibrate :data:`nasbench.training.simcost.MACS_PER_S` (``tests/test_simcost.py`` says when it
   drifted) and regenerate the suites above, ``results/enas-cell-mnist1d`` and the README's
   figures from them, with the commands in the README's results table.

The four MNIST-1D tables were grown this way (November 2026) and folded at 500 architectures.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from nasbench.core.errors import NasbenchError
from nasbench.core.jsonl import read_lines
from nasbench.tables.table_quality import label_quality, run_cpu_s
from nasbench.tables.tablebuild import (
    RunId,
    datasheet,
    journal_path,
    read_runs,
    sparsity_level,
    write_table,
)

PENDING = Path("results/tables-pending")
DATA = Path("nasbench/data")
QUALITY = Path("results/surrogates/quality.jsonl")
SUITES = Path("nasbench/suites")
STATUS = re.compile(r"^Status \(.*?(?=\n\n|\n?\Z)", re.S | re.M)
BENCHMARK = re.compile(r'^benchmark = "([^"]+)"')
BUDGET_FACTORS = {"default": 50.0, "own-spaces-surrogate": 50.0, "own-spaces-rebuilt": 50.0}
"""Median trainings of a table that each suite's search budget (``cost_s``) buys. The
gradient-mnist1d suite is not among them: its budget is what the supernet epochs its gradient
strategies plan cost (see its comment), whatever the tables' medians."""


@dataclass(frozen=True)
class Plan:
    """The planned size of a table: ``n`` architectures at ``levels``, ``seeds`` training
    seeds for the first ``multi`` architectures and one for the rest."""

    n: int = 500
    levels: tuple[float, ...] = (0.0, 0.5, 0.8)
    multi: int = 100
    seeds: int = 2

    def runs(self) -> set[RunId]:
        return {
            (i, sparsity_level(s), k)
            for i in range(self.n)
            for s in self.levels
            for k in range(self.seeds if i < self.multi else 1)
        }


@dataclass(frozen=True)
class Progress:
    name: str
    archs: int
    runs: int
    planned: int
    done: int
    run_s: float  # median worker seconds per run over the last 50 recorded runs

    @property
    def left(self) -> int:
        return self.planned - self.done

    @property
    def core_hours_left(self) -> float:
        return self.left * self.run_s / 3600


def progress(path: Path, plan: Plan) -> Progress:
    _, runs = read_runs(path)
    # the run's process CPU time where recorded (job_cpu_s), else its worker's wall time
    recent = [run_cpu_s(r) for r in list(runs.values())[-50:]]
    return Progress(
        name=path.stem,
        archs=len({index for index, _, _ in runs}),
        runs=len(runs),
        planned=len(plan.runs()),
        done=len(plan.runs() & runs.keys()),
        run_s=float(np.median(recent)) if recent else float("nan"),
    )


def report(items: list[Progress]) -> str:
    lines = [
        "| table | architectures | runs | planned runs done | left | s per run (last 50) "
        "| core-hours left |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in items:
        lines.append(
            f"| {p.name} | {p.archs} | {p.runs} | {p.done}/{p.planned} | {p.left} | "
            f"{p.run_s:.1f} | {p.core_hours_left:.2f} |"
        )
    return "\n".join(lines)


def level_quality(name: str, runs: list[dict]) -> list[str]:
    """Rows of the per-level label table of one table's ``runs``: at each sparsity level the
    multi-seed rows, the seed sd and the spread of the seed means (points), the split-half tau
    (all rows, best fifth) and the seeds per row a split-half tau of 0.8 would take
    (:class:`~nasbench.tables.table_quality.LabelQuality`; ``never`` without spread between the
    architectures, ``n/a`` with fewer than 3 multi-seed rows)."""
    lines = []
    for level in sorted({float(r["sparsity"]) for r in runs}):
        q = label_quality([r for r in runs if abs(float(r["sparsity"]) - level) < 1e-9])
        need = q.seeds_for(0.8)
        seeds = "never" if math.isinf(need) else "n/a" if math.isnan(need) else f"{need:.0f}"
        lines.append(f"| {name} | {level:g} | {q.rows} | {q.seed_sd * 100:.2f} | "
                     f"{q.spread_sd * 100:.2f} | {q.split_half:.3f} | {q.split_half_top:.3f} | "
                     f"{seeds} |")  # fmt: skip
    return lines


def quality_report(paths: list[Path]) -> str:
    """The label quality of each table per sparsity level (:func:`level_quality`)."""
    lines = ["| table | sparsity | rows with 2+ seeds | seed sd (pts) | spread of seed means (pts) "
             "| split-half tau | best fifth | seeds per row for tau 0.8 |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for path in paths:
        lines += level_quality(path.stem, list(read_runs(path)[1].values()))
    return "\n".join(lines)


def status_paragraph(items: list[Progress], today: date) -> str:
    sizes = ", ".join(
        f"{p.name.split('-')[0]} {p.archs} architectures ({p.runs} runs, {p.done}/{p.planned} "
        "planned)"
        for p in items
    )
    hours = sum(p.core_hours_left for p in items)
    return (
        f"Status ({today.isoformat()}, `python -m experiments.pending_tables status`): {sizes}; "
        f"about {hours:.1f} core-hours left at the recent seconds per run."
    )


def write_status(readme: Path, paragraph: str) -> None:
    text = readme.read_text() if readme.exists() else "# Benchmark tables still growing\n"
    new, count = STATUS.subn(paragraph, text)
    readme.write_text(new if count else text.rstrip("\n") + "\n\n" + paragraph + "\n")


def medians(path: Path) -> tuple[float, float]:
    """Median training seconds and median latency (ms) over a table's rows (architecture x
    sparsity; seeds averaged), what the suites' budgets and latency limits are set from."""
    try:
        rows = pq.read_table(path, columns=["train_time_s", "latency_ms"]).to_pylist()
    except (OSError, KeyError, pa.ArrowException) as exc:
        raise NasbenchError(f"{path} is not a readable table ({exc})") from None
    return (
        float(np.nanmedian([r["train_time_s"] for r in rows])),
        float(np.nanmedian([r["latency_ms"] for r in rows])),
    )


def medians_report(paths: list[Path]) -> str:
    factors = sorted(set(BUDGET_FACTORS.values()))
    budgets = " | ".join(f"{f:g}x (cost_s)" for f in factors)
    lines = [
        f"| table | median training s | {budgets} | median latency ms |",
        "| --- | --- | " + "--- | " * len(factors) + "--- |",
    ]
    for path in paths:
        train, latency = medians(path)
        costs = " | ".join(f"{f * train:.0f}" for f in factors)
        lines.append(f"| {path.stem} | {train:.2f} | {costs} | {latency:.4f} |")
    return "\n".join(lines)


def _digits(value: float, significant: int) -> str:
    return f"{float(f'{value:.{significant}g}'):g}"


def set_budgets(suite: Path, values: dict[str, tuple[float, float]], factor: float) -> int:
    """Rewrite, in a suite file, the ``budget`` line of every task whose ``benchmark`` is a key
    of ``values`` (table name -> median training s, median latency ms): ``cost_s`` becomes
    ``factor`` median trainings, ``latency_ms`` (where the line has one) the median latency.
    Comments and every other line stay as they are. Returns the number of lines changed."""
    lines = suite.read_text().splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("[")] + [len(lines)]
    changed = 0
    for start, end in itertools.pairwise(starts):
        names = [m[1] for line in lines[start:end] if (m := BENCHMARK.match(line))]
        if not names or names[0] not in values:
            continue
        train, latency = values[names[0]]
        for i in range(start, end):
            if not lines[i].startswith("budget = {"):
                continue
            new = re.sub(
                r"\bcost_s = [0-9.e+-]+", f"cost_s = {_digits(factor * train, 3)}", lines[i]
            )
            new = re.sub(r"\blatency_ms = [0-9.e+-]+", f"latency_ms = {_digits(latency, 4)}", new)
            changed += new != lines[i]
            lines[i] = new
    suite.write_text("".join(lines))
    return changed


def compact(path: Path) -> None:
    """Fold the journal into the table file and rewrite its datasheet."""
    fold(path, path.parent)


def fold(path: Path, dest_dir: Path) -> Path:
    """Write a table (journal included) into ``dest_dir`` with its datasheet; the new path."""
    spec, runs = read_runs(path)
    assert spec is not None
    dest = dest_dir / path.name
    write_table(dest, spec, runs)
    _drop_empty_journal(dest)
    dest.with_suffix(".md").write_text(datasheet(dest))
    return dest


def forget_quality(path: Path, tables: set[str]) -> int:
    """Drop the rows of ``tables`` from a surrogate-quality file (atomically); the count."""
    rows = read_lines(path)
    keep = [r for r in rows if r["benchmark"] not in tables]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in keep))
    os.replace(tmp, path)
    return len(rows) - len(keep)


def _drop_empty_journal(path: Path) -> None:
    journal = journal_path(path)
    if journal.exists() and journal.stat().st_size == 0:
        journal.unlink()


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except NasbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.pending_tables")
    parser.add_argument("command", choices=("status", "compact", "fold", "medians"))
    parser.add_argument("tables", nargs="*", type=Path, help="default: every table in --dir")
    parser.add_argument("--dir", type=Path, default=PENDING)
    parser.add_argument("--dest", type=Path, default=DATA)
    parser.add_argument("--quality", type=Path, default=QUALITY, help="fold: rows to drop")
    parser.add_argument("--suites", type=Path, default=SUITES, help="medians --write: where")
    parser.add_argument(
        "--write", action="store_true",
        help="status: update the README; medians: set the suites' budgets and latency limits",
    )  # fmt: skip
    parser.add_argument("--force", action="store_true", help="fold: also incomplete tables")
    parser.add_argument(
        "--plan", default="500,100,2",
        help="N,MULTI,SEEDS: N architectures, SEEDS seeds for the first MULTI (1 for the rest); "
        "the rebuilt tables of issue 21: 500,500,4",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        n, multi, seeds = (int(v) for v in args.plan.split(","))
    except ValueError:
        print(f"error: --plan takes N,MULTI,SEEDS, got {args.plan!r}", file=sys.stderr)
        return 2
    plan = Plan(n=n, multi=multi, seeds=seeds)
    tables = args.tables or sorted(args.dir.glob("*.parquet"))
    if not tables:
        print(f"error: no tables in {args.dir}", file=sys.stderr)
        return 2
    if args.command == "medians":
        print(medians_report(tables))
        if args.write:
            values = {path.stem: medians(path) for path in tables}
            for name, factor in BUDGET_FACTORS.items():
                suite = args.suites / f"{name}.toml"
                print(f"{suite}: {set_budgets(suite, values, factor)} budget lines changed")
        return 0
    if args.command == "compact":
        for path in tables:
            compact(path)
    items = [progress(path, plan) for path in tables]
    if args.command == "fold":
        short = [p.name for p in items if p.left]
        if short and not args.force:
            print(
                f"error: not complete: {', '.join(short)} (--force folds anyway)", file=sys.stderr
            )
            return 2
        for path in tables:
            print(f"{path} -> {fold(path, args.dest)}")
        if args.quality.exists():
            dropped = forget_quality(args.quality, {p.stem for p in tables})
            print(f"{args.quality}: dropped {dropped} rows of the smaller tables")
        return 0
    print(report(items))
    print()
    print(quality_report(tables))
    if args.write:
        write_status(args.dir / "README.md", status_paragraph(items, date.today()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
