"""The label pilot (issue 21): how many epochs and training seeds make a table's labels reliable.

For each own space, the first architectures of the table's sample stream are trained with 4 seeds
at sparsity 0.8 on ``mnist1d_large`` (the table recipe, Adam at 1e-2 with a cosine decay, batch
100) for several epoch counts, each a small table built by ``results/label-pilot/run.sh``
(resumable ``nasbench build-table`` calls). This script measures every pilot table with
:func:`nasbench.table_quality.label_quality` and writes the comparison, with the projected
reliability and cost of a full table (500 architectures x 3 sparsity levels) at 2, 4 and 6
seeds, to ``results/label-pilot/README.md`` (``--write``; printed otherwise):

    python -m experiments.label_pilot [--folder results/label-pilot] [--write]

The old tables (``nasbench/data/*-mnist1d.parquet``, 6 epochs on the official 1000-sample
validation split, 2 seeds on 100 architectures) are measured the same way as the "before" row.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from nasbench.benchmarks import DATA_DIR
from nasbench.table_quality import LabelQuality, label_quality
from nasbench.tablebuild import read_runs

FULL_ROWS = 500 * 3  # architectures x sparsity levels of a full own table
SEEDS = (2, 4, 6)


def _row(label: str, q: LabelQuality) -> str:
    per_run_h = q.cpu_hours / max(q.runs, 1)
    projected = " | ".join(
        f"{q.predicted_split_half(k // 2):.2f} / {per_run_h * FULL_ROWS * k:.0f} h" for k in SEEDS
    )
    return (
        f"| {label} | {q.rows} | {q.seeds} | {100 * q.seed_sd:.2f} | {100 * q.seed_sd_top:.2f} | "
        f"{100 * q.spread_sd:.2f} | {q.split_half:.3f} | {q.split_half_top:.3f} | "
        f"{per_run_h * 3600:.1f} | {projected} |"
    )


def report(folder: Path) -> str:
    head = (
        "| table | rows | seeds | seed sd (pts) | seed sd, best quartile | spread sd (pts) | "
        "split-half tau | split-half tau, best fifth | CPU-s per run | "
        + " | ".join(f"{k} seeds: predicted tau / CPU-h" for k in SEEDS)
        + " |"
    )
    lines = [
        "# Label pilot",
        "",
        "Produced by `python -m experiments.label_pilot --write` from the tables in this folder "
        "(built by `run.sh`). Accuracies in percentage points; split-half tau between the "
        "means of seeds 0, 2 and seeds 1, 3 (seed 0 against seed 1 for the old tables); the "
        "predicted tau and CPU-hours are for a full table of 500 architectures x 3 sparsity "
        "levels with k seeds per row, split k/2 against k/2 (see nasbench/table_quality.py). "
        "CPU-s per run is the run's process CPU time where recorded (`job_cpu_s`), else the "
        "wall time of its worker: the runs of the first pilot processes, which shared 2 cores "
        "with 3 to 5 other processes, so their cost and the CPU-hours projected from it are "
        "overstated, by about 2-2.5x.",
        "",
        head,
        "| " + " | ".join("---" for _ in range(head.count("|") - 1)) + " |",
    ]
    spaces = sorted({p.name.split("-e")[0] for p in folder.glob("*-e*.parquet*")})
    for space in spaces:
        old = DATA_DIR / f"{space}-mnist1d.parquet"
        if old.exists():
            _, runs = read_runs(old)
            lines.append(
                _row(f"{space}: old table (6 epochs, 1000 val)", label_quality(runs.values()))
            )
        tables = {p.name.split(".parquet")[0] for p in folder.glob(f"{space}-e*.parquet*")}
        for name in sorted(tables, key=lambda n: int(re.findall(r"\d+", n.split("-e")[-1])[0])):
            _, runs = read_runs(folder / f"{name}.parquet")
            if runs:
                epochs = name.split("-e")[-1]
                lines.append(_row(f"{space}: {epochs} epochs", label_quality(runs.values())))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, default=Path("results/label-pilot"))
    parser.add_argument("--write", action="store_true", help="write README.md in the folder")
    args = parser.parse_args(argv)
    text = report(args.folder)
    if args.write:
        (args.folder / "README.md").write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
