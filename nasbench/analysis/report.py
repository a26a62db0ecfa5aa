"""Summary tables, rebuilt from the run records alone (no hidden state).

Per (task, strategy): the number of seeds, the final incumbent's test accuracy (mean and sample
standard deviation over seeds, ``final_test_mean``/``final_test_std``), its validation accuracy,
its CIFAR-100/ImageNet16-120 style ``extra`` test metrics when the records carry them,
evaluations and simulated cost used, the feasible fraction of all evaluations, and the fraction
of runs that ended with a feasible incumbent. Accuracies are fractions in the JSON and percent in
the printed table (the NAS-Bench-201 convention).

The statistics of :mod:`nasbench.analysis.stats` are rendered by
:mod:`nasbench.analysis.stats_format`. Anytime tables (:func:`anytime`) and Pareto fronts
(:func:`pareto`) are alternative views. :func:`environment` states, per results folder, the budget's
overshoot rule and the dependency versions its runs' metadata recorded (``not recorded`` for records
written before they were).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from nasbench.core.errors import NasbenchError, one_of
from nasbench.core.types import RunMeta
from nasbench.engine.records import DEPENDENCIES, SCHEMA, read_meta, read_run


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


def run_files(folders: Path | Sequence[Path]) -> list[Path]:
    """The run records of one or more results folders. A run in two folders is read once when
    its records are identical (all columns but ``*_wall_s`` and the suite's name: random search
    run by two suites as their paired baseline); with different records it is an error."""
    folders = [folders] if isinstance(folders, str | Path) else list(folders)
    files: dict[str, Path] = {}
    for folder in folders:
        found = sorted((Path(folder) / "runs").glob("*.parquet"))
        if not found:
            raise NasbenchError(f"no run records in {Path(folder) / 'runs'}")
        for path in found:
            first = files.get(path.name)
            if first is None:
                files[path.name] = path
            elif _records_text(first, "suite") != _records_text(path, "suite"):
                raise NasbenchError(f"run {path.name} is in both {first.parent.parent} and "
                                    f"{folder}, with different records")  # fmt: skip
    return [files[name] for name in sorted(files)]


def _records_text(path: Path, *skip: str) -> str:
    """A run file's records, every column but ``*_wall_s`` and ``skip``, as canonical text."""
    table, _ = read_run(path)
    keep = [c for c in table.column_names if not c.endswith("_wall_s") and c not in skip]
    return _canonical(table.select(keep).to_pylist())


def read_runs(folders: Path | Sequence[Path]) -> list[tuple[pa.Table, RunMeta]]:
    """Records and metadata of every run in ``folders`` (see :func:`run_files`), by file name."""
    return [read_run(path) for path in run_files(folders)]


def summarize(folders: Path | Sequence[Path]) -> list[SummaryRow]:
    """Summary rows from the run records of one or more results folders, by (task, strategy)."""
    return summary_rows(read_runs(folders))


def summary_rows(records: Sequence[tuple[pa.Table, RunMeta]]) -> list[SummaryRow]:
    """Summary rows of runs already read (:func:`read_runs`), sorted by (task, strategy)."""
    groups: dict[tuple[str, str], list[dict[str, float]]] = defaultdict(list)
    for table, meta in records:
        cols = table.to_pydict()
        n = table.num_rows
        # extra *test* metrics of the incumbent (other datasets); cost extras such as
        # search_cost_s or supernet_cost_s are not accuracies
        extras = [c for c in table.column_names if c not in SCHEMA.names and c.startswith("test_")]
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


NOT_RECORDED = "not recorded"
"""How a dependency version reads for runs whose metadata predates versions in records."""
NOT_INSTALLED = "not installed"
"""How a dependency version reads for runs that recorded it as missing (``null``)."""


@dataclass(frozen=True)
class EnvironmentRow:
    """The runs of one results folder that share an overshoot rule and dependency versions."""

    folder: str  # the folder's name
    runs: int
    overshoot: str
    versions: dict[str, str | None] | None  # None: not recorded


def environment(folders: Path | Sequence[Path]) -> list[EnvironmentRow]:
    """Per results folder (in the order given), its runs grouped by overshoot rule and
    dependency versions (:data:`nasbench.engine.records.DEPENDENCIES`), read from the metadata
    alone;
    a folder whose runs all agree is one row. Raises NasbenchError like :func:`run_files`."""
    folders = [folders] if isinstance(folders, str | Path) else list(folders)
    rows = []
    for folder in folders:
        groups: dict[str, list[RunMeta]] = defaultdict(list)
        for path in run_files(folder):
            meta = read_meta(path)
            groups[json.dumps([meta.overshoot, meta.versions], sort_keys=True)].append(meta)
        name = Path(folder).resolve().name or str(folder)
        for _, metas in sorted(groups.items()):
            first = metas[0]
            rows.append(EnvironmentRow(name, len(metas), first.overshoot, first.versions))
    return rows


def format_environment(rows: Sequence[EnvironmentRow]) -> str:
    """A Markdown table: results folder, runs, overshoot rule, one column per dependency."""
    head = ["results folder", "runs", "overshoot", *DEPENDENCIES]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        versions = [
            NOT_RECORDED if r.versions is None
            else r.versions.get(name) or (NOT_INSTALLED if name in r.versions else NOT_RECORDED)
            for name in DEPENDENCIES
        ]  # fmt: skip
        lines.append("| " + " | ".join([r.folder, str(r.runs), r.overshoot, *versions]) + " |")
    return "\n".join(lines)


def compare(a: Path, b: Path) -> list[str]:
    """Differences between the records of two results folders, ignoring ``*_wall_s`` columns
    and metadata (empty: the same runs with identical records)."""

    def load(folder: Path) -> dict[str, str]:
        files = sorted((Path(folder) / "runs").glob("*.parquet"))
        if not files:
            raise NasbenchError(f"no run records in {Path(folder) / 'runs'}")
        return {path.name: _records_text(path) for path in files}

    left, right = load(a), load(b)
    diffs = [f"only in {a}: {n}" for n in sorted(left.keys() - right.keys())]
    diffs += [f"only in {b}: {n}" for n in sorted(right.keys() - left.keys())]
    diffs += [f"records differ: {n}" for n in sorted(left.keys() & right.keys())
              if left[n] != right[n]]  # fmt: skip
    return diffs


def _canonical(rows: list[dict[str, object]]) -> str:
    """Rows as text with NaN spelled out (NaN != NaN would make equal runs differ)."""
    return json.dumps(rows, sort_keys=True, default=str)


@dataclass(frozen=True)
class AnytimeRow:
    """Mean incumbent accuracies of (task, strategy) after a number of evaluations."""

    task: str
    strategy: str
    evaluations: int
    seeds: int
    val_mean: float
    test_mean: float


def anytime(folders: Path | Sequence[Path], at: Sequence[int]) -> list[AnytimeRow]:
    """Incumbent validation and test accuracy after ``at`` evaluations, averaged over seeds
    (a run with fewer evaluations counts with its final incumbent)."""
    groups: dict[tuple[str, str], list[tuple[list[float], list[float]]]] = defaultdict(list)
    for path in run_files(folders):
        table, meta = read_run(path)
        cols = table.select(["incumbent_val_acc", "incumbent_test_acc"]).to_pydict()
        groups[(meta.task, meta.strategy)].append(
            (cols["incumbent_val_acc"], cols["incumbent_test_acc"])
        )
    rows = []
    for (task, strategy), runs in sorted(groups.items()):
        for n in at:
            vals = [v[min(n, len(v)) - 1] for v, _ in runs if v]
            tests = [t[min(n, len(t)) - 1] for _, t in runs if t]
            rows.append(AnytimeRow(task, strategy, n, len(runs), _mean_std(vals)[0],
                                   _mean_std(tests)[0]))  # fmt: skip
    return rows


def format_anytime(rows: list[AnytimeRow]) -> str:
    counts = sorted({r.evaluations for r in rows})
    head = ["task", "strategy", "seeds"] + [f"val/test @{n}" for n in counts]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    by_pair: dict[tuple[str, str], dict[int, AnytimeRow]] = defaultdict(dict)
    for r in rows:
        by_pair[(r.task, r.strategy)][r.evaluations] = r
    for (task, strategy), cells in by_pair.items():
        seeds = next(iter(cells.values())).seeds
        values = [f"{100 * cells[n].val_mean:.2f} / {100 * cells[n].test_mean:.2f}" for n in counts]
        lines.append("| " + " | ".join([task, strategy, str(seeds), *values]) + " |")
    return "\n".join(lines)


def pareto_front(points: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of ``points`` (columns: accuracy to maximise, cost to
    minimise), sorted by cost."""
    order = np.lexsort((-points[:, 0], points[:, 1]))  # by cost, then best accuracy first
    front, best = [], -math.inf
    for i in order:
        if points[i, 0] > best:
            front.append(i)
            best = points[i, 0]
    return np.array(front, dtype=int)


def hypervolume(points: np.ndarray, ref_cost: float) -> float:
    """Area dominated by ``points`` (accuracy up, cost down) above accuracy 0 and below
    ``ref_cost``: the 2-D hypervolume indicator (Zitzler & Thiele 1998)."""
    front = points[pareto_front(points)]
    front = front[front[:, 1] < ref_cost]
    area, prev_cost = 0.0, ref_cost
    for acc, cost in front[::-1]:  # from the most expensive (most accurate) down
        area += max(acc, 0.0) * (prev_cost - cost)
        prev_cost = cost
    return area


@dataclass(frozen=True)
class ParetoRow:
    task: str
    strategy: str
    objective: str
    seeds: int
    ref_cost: float
    hypervolume_mean: float
    hypervolume_std: float
    front: list[tuple[float, float]]  # the front of all seeds' feasible evaluations together


def pareto(folders: Path | Sequence[Path], objective: str = "latency_ms") -> list[ParetoRow]:
    """Per (task, strategy): hypervolume of each run's feasible evaluations in (validation
    accuracy, ``objective``) space, mean and std over seeds, with the reference cost the largest
    ``objective`` seen in the folders; and the joint front of all seeds. Where no feasible
    evaluation of any seed records ``objective`` the hypervolume is NaN (undefined), not 0."""
    runs: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
    for path in run_files(folders):
        table, meta = read_run(path)
        cols = table.select(["val_acc", objective, "feasible", "status"]).to_pydict()
        pts = [(v, c) for v, c, f, st in zip(cols["val_acc"], cols[objective], cols["feasible"],
                                            cols["status"], strict=True)
               if f and st == "ok" and not (math.isnan(v) or math.isnan(c))]  # fmt: skip
        runs[(meta.task, meta.strategy)].append(np.array(pts, dtype=float).reshape(-1, 2))
    ref = max((float(p[:, 1].max()) for ps in runs.values() for p in ps if len(p)), default=1.0)
    rows = []
    for (task, strategy), ps in sorted(runs.items()):
        hv = [hypervolume(p, ref) if len(p) else 0.0 for p in ps]
        joint = np.concatenate(ps)
        front = joint[pareto_front(joint)] if len(joint) else joint
        # no feasible evaluation records the objective (e.g. no latency): no hypervolume, not 0
        mean, std = _mean_std(hv) if len(joint) else (math.nan, math.nan)
        rows.append(ParetoRow(task, strategy, objective, len(ps), ref, mean, std,
                              [(float(a), float(c)) for a, c in front]))  # fmt: skip
    return rows


def format_pareto(rows: list[ParetoRow], show: int = 8) -> str:
    lines = [f"| task | strategy | seeds | hypervolume (val acc x {rows[0].objective}) | front |",
             "| --- | --- | --- | --- | --- |"] if rows else []  # fmt: skip
    for r in rows:
        step = max(len(r.front) // show, 1)
        pts = ", ".join(f"({100 * a:.2f}%, {c:.3g})" for a, c in r.front[::step][:show])
        hv = (f"{r.hypervolume_mean:.4g} ± {r.hypervolume_std:.2g}" if r.front
              else f"- (no feasible evaluation records {r.objective})")  # fmt: skip
        lines.append(f"| {r.task} | {r.strategy} | {r.seeds} | {hv} | {pts} |")
    return "\n".join(lines)


def _csv(head: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(head)
    writer.writerows(rows)
    return buffer.getvalue()


def rows_csv(rows: Sequence[Any]) -> str:
    """Dataclass rows as CSV, one column per field (lists and dicts as JSON text)."""
    if not rows:
        return ""
    head = [f.name for f in fields(rows[0])]
    cells = [[json.dumps(v) if isinstance(v, list | dict | tuple) else v
              for v in asdict(r).values()] for r in rows]  # fmt: skip
    return _csv(head, cells)


def _plain(value: Any) -> Any:
    """JSON-ready: arrays as lists, NaN and infinities as None (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


FORMATS = ("md", "csv", "json")
"""Output formats of ``nasbench report``."""


def rows_files(name: str, rows: Sequence[Any], fmt: str, markdown: str) -> dict[str, str]:
    """Rows of one table (anytime, Pareto) in one format, as ``{name}.{fmt}`` -> text; JSON is
    one line (a list of objects), ``markdown`` the Markdown rendering."""
    if fmt == "md":
        return {f"{name}.md": markdown + "\n"}
    if fmt == "json":
        return {f"{name}.json": json.dumps([asdict(r) for r in rows]) + "\n"}
    if fmt == "csv":
        return {f"{name}.csv": rows_csv(rows)}
    raise one_of("report format", fmt, FORMATS)
