"""Summary tables, rebuilt from the run records alone (no hidden state).

Per (task, strategy): the number of seeds, the final incumbent's test accuracy (mean and sample
standard deviation over seeds, ``final_test_mean``/``final_test_std``), its validation accuracy,
its CIFAR-100/ImageNet16-120 style ``extra`` test metrics when the records carry them,
evaluations and simulated cost used, the feasible fraction of all evaluations, and the fraction
of runs that ended with a feasible incumbent. Accuracies are fractions in the JSON and percent in
the printed table (the NAS-Bench-201 convention).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nasbench.errors import NasbenchError
from nasbench.records import SCHEMA, read_run


@dataclass(frozen=True)
class SummaryRow:
    task: str
    strategy: str
    seeds: int
    final_test_mean: float
    final_test_std: float
    final_val_mean: float
    final_val_std: float
    evaluations_mean: float
    cost_s_mean: float
    feasible_rate: float
    incumbent_rate: float
    extra_test_mean: dict[str, float] = field(default_factory=dict)


def _mean_std(values: list[float]) -> tuple[float, float]:
    arr = np.array([v for v in values if not math.isnan(v)], dtype=float)
    if arr.size == 0:
        return math.nan, math.nan
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0


def summarize(out: Path) -> list[SummaryRow]:
    """Summary rows from ``out/runs/*.parquet``, sorted by (task, strategy)."""
    files = sorted((Path(out) / "runs").glob("*.parquet"))
    if not files:
        raise NasbenchError(f"no run records in {Path(out) / 'runs'}")
    groups: dict[tuple[str, str], list[dict[str, float]]] = defaultdict(list)
    for path in files:
        table, meta = read_run(path)
        cols = table.to_pydict()
        n = table.num_rows
        extras = [c for c in table.column_names if c not in SCHEMA.names]
        inc = cols["incumbent_trial"][-1] if n else -1
        run = {
            "test": cols["incumbent_test_acc"][-1] if n else math.nan,
            "val": cols["incumbent_val_acc"][-1] if n else math.nan,
            "evaluations": float(n),
            "cost_s": cols["cum_cost_s"][-1] if n else 0.0,
            "feasible": float(np.mean(cols["feasible"])) if n else math.nan,
            "incumbent": float(inc >= 0),
        }
        for name in extras:
            run[f"extra:{name}"] = cols[name][inc] if inc >= 0 else math.nan
        groups[(meta.task, meta.strategy)].append(run)
    rows = []
    for (task, strategy), runs in sorted(groups.items()):
        test_mean, test_std = _mean_std([r["test"] for r in runs])
        val_mean, val_std = _mean_std([r["val"] for r in runs])
        extra_names = sorted({k for r in runs for k in r if k.startswith("extra:")})
        rows.append(SummaryRow(
            task=task, strategy=strategy, seeds=len(runs),
            final_test_mean=test_mean, final_test_std=test_std,
            final_val_mean=val_mean, final_val_std=val_std,
            evaluations_mean=float(np.mean([r["evaluations"] for r in runs])),
            cost_s_mean=float(np.mean([r["cost_s"] for r in runs])),
            feasible_rate=float(np.nanmean([r["feasible"] for r in runs])),
            incumbent_rate=float(np.mean([r["incumbent"] for r in runs])),
            extra_test_mean={
                k[6:]: _mean_std([r.get(k, math.nan) for r in runs])[0] for k in extra_names
            },
        ))  # fmt: skip
    return rows


def format_table(rows: list[SummaryRow]) -> str:
    """A Markdown table: accuracies in percent, mean ± std over seeds."""
    extras = sorted({k for r in rows for k in r.extra_test_mean})
    head = ["task", "strategy", "seeds", "test acc (%)", "val acc (%)", "evals", "cost (s)",
            "feasible", "with incumbent", *extras]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        cells = [
            r.task, r.strategy, str(r.seeds),
            f"{100 * r.final_test_mean:.2f} ± {100 * r.final_test_std:.2f}",
            f"{100 * r.final_val_mean:.2f} ± {100 * r.final_val_std:.2f}",
            f"{r.evaluations_mean:.1f}", f"{r.cost_s_mean:.0f}",
            f"{r.feasible_rate:.3f}", f"{r.incumbent_rate:.3f}",
            *(f"{100 * r.extra_test_mean.get(k, math.nan):.2f}" for k in extras),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_json(rows: list[SummaryRow]) -> str:
    return json.dumps([asdict(r) for r in rows], indent=1, sort_keys=True)


def write_summary(out: Path, rows: list[SummaryRow]) -> None:
    (Path(out) / "summary.json").write_text(to_json(rows) + "\n")
    (Path(out) / "summary.md").write_text(format_table(rows) + "\n")


def compare(a: Path, b: Path) -> list[str]:
    """Differences between the records of two results folders, ignoring ``*_wall_s`` columns
    and metadata (empty: the same runs with identical records)."""

    def load(folder: Path) -> dict[str, list[dict[str, object]]]:
        files = sorted((Path(folder) / "runs").glob("*.parquet"))
        if not files:
            raise NasbenchError(f"no run records in {Path(folder) / 'runs'}")
        out = {}
        for path in files:
            table, _ = read_run(path)
            keep = [c for c in table.column_names if not c.endswith("_wall_s")]
            out[path.name] = table.select(keep).to_pylist()
        return out

    left, right = load(a), load(b)
    diffs = [f"only in {a}: {n}" for n in sorted(left.keys() - right.keys())]
    diffs += [f"only in {b}: {n}" for n in sorted(right.keys() - left.keys())]
    for name in sorted(left.keys() & right.keys()):
        if _canonical(left[name]) != _canonical(right[name]):
            diffs.append(f"records differ: {name}")
    return diffs


def _canonical(rows: list[dict[str, object]]) -> str:
    """Rows as text with NaN spelled out (NaN != NaN would make equal runs differ)."""
    return json.dumps(rows, sort_keys=True, default=str)
