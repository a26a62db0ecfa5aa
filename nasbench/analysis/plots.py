"""Figures rebuilt from the run records alone (PNG and PDF; ``nasbench plot DIR...``).

Every figure has a pure data function that the tests check numerically, and a plot function
that draws it, writes one file per format and returns the paths (file stems in brackets):

- anytime regret curves: :func:`regret_curves`, :func:`plot_regret` (``regret``);
- Pareto fronts: :func:`pareto_points`, :func:`plot_pareto` (``pareto_<objective>``);
- final incumbents against target sparsity: :func:`sparsity_sweep`, :func:`plot_sparsity`
  (``sparsity``);
- rank heat map: :func:`nasbench.analysis.stats.average_ranks`, :func:`plot_ranks` (``ranks``);
- critical-difference diagram: :func:`nasbench.analysis.stats.critical_difference`,
  :func:`plot_critical_difference` (``critical_difference``).

:func:`plot_all` writes them all (``nasbench plot DIR... [--out FOLDER] [--formats png,pdf]
[--overwrite]``). Nothing is overwritten unasked: :func:`plot_all` refuses (one line, before
drawing anything) when ``out`` already holds any file it could write (every stem of
:data:`FIGURES` in the chosen formats, whether or not the data will draw it), unless
``overwrite``; the single-figure functions never replace an existing file.
matplotlib is imported inside the drawing functions (``import nasbench`` stays fast) and used
through its object API with the Agg canvas: no pyplot, no global backend switch. PDFs carry no
creation date, so a rebuilt figure is byte-for-byte the same file.

The records store dense ``params_m``/``macs_m`` and the measured weight ``sparsity`` of every
evaluation; nonzero parameters and effective MACs are read from ``nonzero_params`` and
``effective_macs`` columns where records carry them (as extra metrics), and otherwise estimated
as dense count times ``1 - sparsity`` (biases and normalisation taken as pruned like weights).
"""

from __future__ import annotations

import json
import logging
import math
import re
import textwrap
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nasbench.analysis.figure_style import (
    _REPLACE,
    _STRATEGIES,
    _colors,
    _line_styles,
    _panels,
    _save,
    _write,
    check_formats,
)
from nasbench.analysis.report import _mean_std, pareto_front, run_files
from nasbench.core.errors import NasbenchError
from nasbench.core.types import RunMeta
from nasbench.engine.records import check_new, read_run

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from nasbench.analysis.stats import Ranks

log = logging.getLogger(__name__)

FIGURES = ("regret", "pareto_latency_ms", "pareto_nonzero_params", "sparsity", "ranks",
           "critical_difference")  # fmt: skip
"""The file stems :func:`plot_all` can write, each once per format."""
_COLUMNS = ("cum_cost_s", "incumbent_trial", "incumbent_test_acc", "val_acc", "test_acc",
            "latency_ms", "feasible", "status", "params_m", "macs_m", "sparsity")  # fmt: skip
_LABELS = {"latency_ms": "latency (ms)", "nonzero_params": "nonzero parameters",
           "effective_macs": "effective MACs", "params_m": "parameters (M)",
           "macs_m": "MACs (M)"}  # fmt: skip


@dataclass(frozen=True)
class Run:
    """One run's record columns (numpy arrays, one entry per evaluation) and metadata."""

    meta: RunMeta
    target_sparsity: float  # the budget's sparsity in the run's resolved config
    problem: str  # the task's config without its label and sparsity: equal across levels
    cols: dict[str, np.ndarray]

    def metric(self, name: str) -> np.ndarray:
        """Column ``name`` per evaluation; ``nonzero_params`` and ``effective_macs`` fall back
        to the dense count times ``1 - sparsity`` (see the module docstring)."""
        if name in self.cols:
            return self.cols[name]
        dense = {"nonzero_params": "params_m", "effective_macs": "macs_m"}.get(name)
        if dense is None:
            valid = sorted({*self.cols, "nonzero_params", "effective_macs"})
            raise NasbenchError(f"unknown record column {name!r}; valid: {', '.join(valid)}")
        return self.cols[dense] * 1e6 * (1.0 - self.cols["sparsity"])


Source = Path | Sequence[Path] | Sequence[Run]


def load_runs(folders: Path | Sequence[Path]) -> list[Run]:
    """The runs of one or more results folders, sorted by file name (NasbenchError for a folder
    without run records, a run in two folders or an unreadable file)."""
    runs = []
    for path in run_files(folders):
        table, meta = read_run(path)
        names = [*_COLUMNS, *(c for c in ("nonzero_params", "effective_macs")
                              if c in table.column_names)]  # fmt: skip
        cols = {name: table.column(name).to_numpy(zero_copy_only=False) for name in names}
        config = json.loads(meta.config_json)
        task = {k: v for k, v in config.get("task", {}).items() if k != "label"}
        if "budget" in task:  # a task's own budget: its sparsity level is the sweep's axis
            task["budget"] = [kv for kv in task["budget"] if kv[0] != "sparsity"]
        sparsity = float(config.get("budget", {}).get("sparsity", 0.0))
        runs.append(Run(meta, sparsity, json.dumps(task, sort_keys=True), cols))
    return runs


def _runs(source: Source) -> list[Run]:
    if isinstance(source, str | Path):
        return load_runs(source)
    items = list(source)
    if items and all(isinstance(r, Run) for r in items):
        return [r for r in items if isinstance(r, Run)]
    return load_runs([Path(str(p)) for p in items])


def _group(runs: list[Run]) -> dict[tuple[str, str], list[Run]]:
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        groups[(run.meta.task, run.meta.strategy)].append(run)
    return dict(sorted(groups.items()))


# ---------------------------------------------------------------- anytime regret


@dataclass(frozen=True)
class RegretCurve:
    """Incumbent test-accuracy regret of one (task, strategy) over its seeds, as step functions
    of simulated cost: at ``cost_s[i]`` and until the next point, the median and quartiles."""

    task: str
    strategy: str
    seeds: int
    ref: float  # regret = ref - incumbent test accuracy
    cost_s: np.ndarray  # every cumulative cost at which one of the seeds' runs changes
    median: np.ndarray
    q25: np.ndarray
    q75: np.ndarray


def regret_curves(
    source: Source, ref: Mapping[str, float] | None = None, points: int | None = 2000
) -> list[RegretCurve]:
    """Median and interquartile range over seeds of the incumbent's test-accuracy regret against
    cumulative simulated cost, per (task, strategy), at every cost where one of its runs
    changes; or, when there are more than ``points`` such costs (hundreds of seeds), at
    ``points`` log-spaced costs from the smallest positive one to the largest.

    ``ref`` maps each task to its reference accuracy; by default the best final incumbent test
    accuracy of any run of that task. A run holds its final incumbent after it ends. A seed
    without an incumbent yet counts as worse than any regret, so a quantile that depends on it
    is undefined (NaN, drawn as a gap). Raises NasbenchError when ``ref`` lacks a task.
    """
    runs = _runs(source)
    best: dict[str, float] = defaultdict(lambda: -math.inf)
    for run in runs:
        final = run.cols["incumbent_test_acc"][-1] if len(run.cols["cum_cost_s"]) else math.nan
        if not math.isnan(final):
            best[run.meta.task] = max(best[run.meta.task], float(final))
    curves = []
    for (task, strategy), group in _group(runs).items():
        if ref is not None and task not in ref:
            raise NasbenchError(f"no reference accuracy for task {task!r}; given: "
                                f"{', '.join(sorted(ref)) or 'none'}")  # fmt: skip
        r = ref[task] if ref is not None else best.get(task, math.nan)
        r = math.nan if math.isinf(r) else float(r)
        grid = np.unique(np.concatenate([g.cols["cum_cost_s"] for g in group]))
        if points is not None and len(grid) > points and grid[-1] > 0:
            grid = np.geomspace(grid[grid > 0][0], grid[-1], points)
        values = np.stack([_regret_steps(g, grid, r) for g in group])
        q25, median, q75 = (_quantile(values, q) for q in (0.25, 0.5, 0.75))
        curves.append(RegretCurve(task, strategy, len(group), r, grid, median, q25, q75))
    return curves


def _quantile(values: np.ndarray, q: float) -> np.ndarray:
    """Quantile ``q`` of each column of ``values`` by linear interpolation between order
    statistics (numpy's default method), NaN where it involves an infinite value."""
    ordered = np.sort(values, axis=0)
    pos = (len(values) - 1) * q
    lo, frac = math.floor(pos), pos - math.floor(pos)
    low, high = ordered[lo], ordered[min(lo + 1, len(values) - 1)]
    if frac == 0.0:
        return np.where(np.isfinite(low), low, np.nan)
    with np.errstate(invalid="ignore"):  # inf - inf: masked below
        out = low + frac * (high - low)
    return np.where(np.isfinite(low) & np.isfinite(high), out, np.nan)


def _regret_steps(run: Run, grid: np.ndarray, ref: float) -> np.ndarray:
    """The run's regret at each cost of ``grid`` (``inf``: no incumbent yet)."""
    if not len(run.cols["cum_cost_s"]):
        return np.full(len(grid), np.inf)
    idx = np.searchsorted(run.cols["cum_cost_s"], grid, side="right") - 1
    found = (idx >= 0) & (run.cols["incumbent_trial"][np.maximum(idx, 0)] >= 0)
    acc = run.cols["incumbent_test_acc"][np.maximum(idx, 0)].astype(float)
    return np.where(found & ~np.isnan(acc), ref - acc, np.inf)


def plot_regret(source: Source, stem: Path, formats: Sequence[str] = ("png", "pdf"),
                ref: Mapping[str, float] | None = None) -> list[Path]:  # fmt: skip
    """Draw :func:`regret_curves`: one panel per task, per strategy the median as a step line
    (Okabe-Ito colour and a line style) and the interquartile band in percentage points, log
    cost axis, log regret axis spanning the data (:func:`_regret_axis`). ``ref`` defaults, in
    ``nasbench plot``, to the reference ``stats.md`` uses (the table's best where the task has
    one). Returns the files written."""
    curves = regret_curves(source, ref)
    tasks = sorted({c.task for c in curves})
    names = sorted({c.strategy for c in curves})
    colors, styles = _colors(names), _line_styles(names)
    fig, axes = _panels(len(tasks))
    for ax, task in zip(axes, tasks, strict=False):
        mine = [c for c in curves if c.task == task]
        costs = np.concatenate([c.cost_s[c.cost_s > 0] for c in mine])  # a log axis has no 0
        end = float(costs.max(initial=1.0))
        for c in (c for c in mine if len(c.cost_s)):  # each holds its last value to the end
            keep = np.append(c.cost_s > 0, True)
            x, color = np.append(c.cost_s, end)[keep], colors[c.strategy]
            median, q25, q75 = (100 * np.append(v, v[-1:])[keep] for v in (c.median, c.q25, c.q75))
            ax.step(x, median, where="post", color=color, linestyle=styles[c.strategy],
                    linewidth=1.4, label=c.strategy)  # fmt: skip
            ax.fill_between(x, q25, q75, step="post", color=color, alpha=0.1, linewidth=0)
        # the axis starts where a median line does: before, fewer than half the seeds have an
        # incumbent
        drawn = np.concatenate([c.cost_s[(c.cost_s > 0) & np.isfinite(c.median)] for c in mine])
        start = float(drawn.min() if len(drawn) else costs.min(initial=end))
        ax.set(xscale="log", xlim=(start / 1.2, end * 1.2), title=task,
               xlabel="simulated cost (s)", ylabel="test accuracy regret (% points)")  # fmt: skip
        values = 100 * np.concatenate([v for c in mine for v in (c.q25, c.median, c.q75)])
        medians = 100 * np.concatenate([c.median for c in mine])
        _regret_axis(ax, values[np.isfinite(values)], medians[np.isfinite(medians)])
    return _save(fig, axes, stem, formats)


def _regret_axis(ax: Axes, values: np.ndarray, medians: np.ndarray | None = None) -> None:
    """A log regret axis spanning the data with no decade that only a band's tail enters: up to
    just above the largest regret, down to just below the smallest positive one when that lies
    within a decade below the smallest positive median. Where some regret is 0 or negative (a
    run at or above the reference), or a band reaches further down, the axis is symlog, linear
    below the decade of the smallest positive median, so the tail takes one decade's height."""
    positive = values[values > 0]
    if not len(positive):
        ax.set_ylim(-1.0, 1.0)
        return
    high, low = float(positive.max()), float(positive.min())
    lines = positive if medians is None or not (medians > 0).any() else medians[medians > 0]
    lowest = float(lines.min())
    thresh = 10 ** math.floor(math.log10(lowest))
    if (values <= 0).any() or low < lowest / 10:
        ax.set_yscale("symlog", linthresh=thresh)
        ax.set_ylim(min(float(values.min()) * 1.2, 0.0), high * 1.3)
    else:
        ax.set_yscale("log")
        ax.set_ylim(low / 1.3, high * 1.3)
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda v, _: f"{v:g}")  # 1.6, not 1.6 x 10^0
    ax.yaxis.set_major_formatter(plain)
    # minor labels only where the axis spans less than a decade (else they crowd)
    ax.yaxis.set_minor_formatter(plain if high < 10 * low else FuncFormatter(lambda v, _: ""))


# ---------------------------------------------------------------- Pareto fronts


@dataclass(frozen=True)
class ParetoPoints:
    """All feasible, ok evaluations of one (task, strategy), seeds pooled, and their front."""

    task: str
    strategy: str
    objective: str
    points: np.ndarray  # (n, 2): validation accuracy, objective; in record order
    front: np.ndarray  # (m, 2): the non-dominated points by increasing objective


def pareto_points(source: Source, objective: str = "latency_ms") -> list[ParetoPoints]:
    """Validation accuracy against ``objective`` (``latency_ms``, ``params_m``, ``macs_m``,
    ``nonzero_params`` or ``effective_macs``) of every feasible evaluation with status ok and
    both values known, per (task, strategy) over all seeds; the front from
    :func:`nasbench.analysis.report.pareto_front`. Raises NasbenchError for another objective."""
    if objective not in _LABELS:
        raise NasbenchError(f"unknown Pareto objective {objective!r}; valid: {', '.join(_LABELS)}")
    out = []
    for (task, strategy), group in _group(_runs(source)).items():
        parts = []
        for run in group:
            pts = np.column_stack([run.cols["val_acc"], run.metric(objective)]).astype(float)
            ok = run.cols["feasible"].astype(bool) & (run.cols["status"] == "ok")
            parts.append(pts[ok & ~np.isnan(pts).any(axis=1)])
        pts = np.concatenate(parts) if parts else np.empty((0, 2))
        front = pts[pareto_front(pts)] if len(pts) else pts
        out.append(ParetoPoints(task, strategy, objective, pts, front))
    return out


def plot_pareto(source: Source, stem: Path, objective: str = "latency_ms",
                formats: Sequence[str] = ("png", "pdf")) -> list[Path]:  # fmt: skip
    """Draw :func:`pareto_points`: per task a panel with every point (faint) and each
    strategy's front as a step line. Returns the files written ([] and a logged note when no
    evaluation has a value of ``objective``)."""
    data = pareto_points(source, objective)
    if not any(len(d.points) for d in data):
        log.info("no feasible evaluation with a %s value: no Pareto figure", objective)
        return []
    tasks = sorted({d.task for d in data})
    colors = _colors(sorted({d.strategy for d in data}))
    styles = _line_styles(sorted({d.strategy for d in data}))
    fig, axes = _panels(len(tasks))
    for ax, task in zip(axes, tasks, strict=False):
        for d in (d for d in data if d.task == task and len(d.points)):
            color = colors[d.strategy]
            # thousands of points: one bitmap layer in the PDF
            cost, acc = d.points[:, 1], d.points[:, 0]
            ax.scatter(cost, acc, s=4, color=color, alpha=0.15, linewidth=0, rasterized=True)
            ax.step(d.front[:, 1], d.front[:, 0], where="post", color=color, label=d.strategy,
                    linestyle=styles[d.strategy],
                    marker=".")  # fmt: skip
        ax.set(title=task, xlabel=_LABELS.get(objective, objective), ylabel="validation accuracy",
               xscale="linear" if objective == "latency_ms" else "log")  # fmt: skip
    return _save(fig, axes, stem, formats)


# ---------------------------------------------------------------- target sparsity


@dataclass(frozen=True)
class SparsityPoint:
    """The final incumbents of one strategy on one problem at one target sparsity: mean and
    sample standard deviation over seeds (runs without an incumbent left out)."""

    problem: str  # the task labels of this problem, comma-separated
    strategy: str
    sparsity: float
    seeds: int
    test_acc: tuple[float, float]
    nonzero_params: tuple[float, float]
    effective_macs: tuple[float, float]


def sparsity_sweep(source: Source) -> list[SparsityPoint]:
    """Test accuracy, nonzero parameters and effective MACs of the final incumbents per
    (problem, strategy, target sparsity), where a problem is a task config up to its label and
    the target sparsity comes from each run's budget. Sorted by problem, strategy, sparsity."""
    runs = _runs(source)
    labels: dict[str, set[str]] = defaultdict(set)
    groups: dict[tuple[str, str, float], list[tuple[float, float, float]]] = defaultdict(list)
    for run in runs:
        labels[run.problem].add(run.meta.task)
        inc = int(run.cols["incumbent_trial"][-1]) if len(run.cols["cum_cost_s"]) else -1
        final = (math.nan,) * 3
        if inc >= 0:
            final = (float(run.cols["test_acc"][inc]), float(run.metric("nonzero_params")[inc]),
                     float(run.metric("effective_macs")[inc]))  # fmt: skip
        groups[(run.problem, run.meta.strategy, run.target_sparsity)].append(final)
    points = []
    for (problem, strategy, level), finals in groups.items():
        name = ", ".join(sorted(labels[problem]))
        test, nonzero, macs = (_mean_std(list(col)) for col in zip(*finals, strict=True))
        points.append(SparsityPoint(name, strategy, level, len(finals), test, nonzero, macs))
    return sorted(points, key=lambda p: (p.problem, p.strategy, p.sparsity))


def plot_sparsity(
    source: Source, stem: Path, formats: Sequence[str] = ("png", "pdf")
) -> list[Path]:
    """Draw :func:`sparsity_sweep` (SCAS, Fig. 4 style): for each problem with at least two
    target sparsities a row of three panels (test accuracy, nonzero parameters, effective
    MACs against target sparsity), one line per strategy with a ± one std band. Returns the
    files written ([] and a logged note when no problem has two sparsity levels)."""
    points = sparsity_sweep(source)
    levels: dict[str, set[float]] = defaultdict(set)
    for p in points:
        levels[p.problem].add(p.sparsity)
    problems = sorted(name for name, found in levels.items() if len(found) > 1)
    if not problems:
        log.info("one target sparsity per problem (%s): no sparsity figure",
                 ", ".join(f"{s:g}" for s in sorted({p.sparsity for p in points})))  # fmt: skip
        return []
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.4 * len(problems)), layout="constrained")
    grid = fig.subplots(len(problems), 3, squeeze=False)
    colors = _colors(sorted({p.strategy for p in points}))
    styles = _line_styles(sorted({p.strategy for p in points}))
    fields = [("test_acc", "test accuracy"), ("nonzero_params", "nonzero parameters"),
              ("effective_macs", "effective MACs")]  # fmt: skip
    for row, problem in zip(grid, problems, strict=True):
        for ax, (field, label) in zip(row, fields, strict=True):
            for strategy, color in colors.items():
                line = [p for p in points if p.problem == problem and p.strategy == strategy]
                x = np.array([p.sparsity for p in line])
                mean, std = np.array([getattr(p, field) for p in line]).reshape(-1, 2).T
                ax.plot(x, mean, marker="o", color=color, linestyle=styles[strategy],
                        label=strategy)  # fmt: skip
                ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)
            ax.set(title=textwrap.fill(problem, 40), xlabel="target sparsity", ylabel=label)
    return _save(fig, list(grid.flat), stem, formats)


# ---------------------------------------------------------------- ranks


def plot_ranks(ranks: Ranks, stem: Path, formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    """Heat map of :class:`nasbench.analysis.stats.Ranks`: tasks x strategies, each cell annotated
    with
    the strategy's rank on the task, and a last row with the mean rank. Returns the files."""
    from matplotlib.figure import Figure

    table = np.vstack([ranks.ranks, ranks.mean])
    rows = [*ranks.tasks, "mean rank"]
    fig = Figure(figsize=(1.2 + 1.1 * len(ranks.strategies), 1.0 + 0.45 * len(rows)),
                 layout="constrained")  # fmt: skip
    ax = fig.subplots()
    image = ax.imshow(table, cmap="viridis_r", vmin=1, vmax=len(ranks.strategies), aspect="auto")
    middle = (1 + len(ranks.strategies)) / 2
    for (i, j), value in np.ndenumerate(table):
        text = f"{value:.2f}" if i == len(rows) - 1 else f"{value:g}"
        ax.text(j, i, text, ha="center", va="center", color="black" if value < middle else "white")
    ax.axhline(len(rows) - 1.5, color="white", linewidth=3)
    ax.set_xticks(range(len(ranks.strategies)), ranks.strategies, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_title("rank of each strategy per task (1 = best)")
    fig.colorbar(image, ax=ax, label="rank")
    return _write(fig, stem, formats)


def plot_critical_difference(ranks: Ranks, stem: Path, formats: Sequence[str] = ("png", "pdf"),
                             alpha: float = 0.05) -> list[Path]:  # fmt: skip
    """Draw :func:`nasbench.analysis.stats.critical_difference` as in Demšar (2006, Fig. 1): a
    mean-rank axis (1 at the left), the better half of the strategies labelled on the left, the rest
    on the right, a thick bar joining each clique of two or more strategies (their mean ranks
    differ by less than the Nemenyi CD), and the CD as a scale bar. Returns the files written.
    """
    from matplotlib.figure import Figure

    from nasbench.analysis.stats import critical_difference

    data = critical_difference(ranks, alpha)
    k = len(data.strategies)
    half = (k + 1) // 2
    rank = dict(zip(data.strategies, data.mean_ranks, strict=True))
    bars = [(rank[c[0]], rank[c[-1]]) for c in data.cliques if len(c) > 1]
    fig = Figure(figsize=(8, 1.6 + 0.3 * half + 0.15 * len(bars)), layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set(xlim=(0.3, k + 0.7), ylim=(-(0.5 * half + 0.2 * len(bars) + 0.4), 1.6))
    ax.hlines(0, 1, k, color="black")
    for r in range(1, k + 1):
        ax.vlines(r, 0, 0.15, color="black")
        ax.text(r, 0.25, str(r), ha="center", va="bottom")
    bar = min(data.cd, k - 1)  # a CD wider than the axis is drawn as wide as the axis
    ax.hlines(1.2, 1, 1 + bar, color="black", linewidth=2)
    ax.text(1 + bar / 2, 1.3, f"CD = {data.cd:.2f} (α = {alpha:g}, {data.tasks} tasks)",
            ha="center", va="bottom", fontsize=8)  # fmt: skip
    for i, (name, mean) in enumerate(rank.items()):
        left = i < half
        y = -(i + 1 if left else k - i) * 0.5 - 0.2 * len(bars)
        end = 0.5 if left else k + 0.5
        ax.plot([mean, mean, end], [0, y, y], color="black", linewidth=0.8)
        ax.text(end + (-0.05 if left else 0.05), y, f"{name} ({mean:.2f})",
                ha="right" if left else "left", va="center", fontsize=9)  # fmt: skip
    for n, (first, last) in enumerate(bars):
        ax.hlines(-0.25 - 0.2 * n, first - 0.03, last + 0.03, linewidth=3, color="black")
    return _write(fig, stem, formats)


# ---------------------------------------------------------------- all figures, files


def plot_all(folders: Sequence[Path], out: Path, formats: Sequence[str] = ("png", "pdf"),
             ref: Mapping[str, float] | None = None, overwrite: bool = False,
             per_task: bool = False) -> list[Path]:  # fmt: skip
    """Every figure of the runs in ``folders`` written into ``out`` (created); figures without
    enough data (one sparsity level, one strategy, no latency) are skipped with a logged note.
    With ``per_task`` the regret, Pareto and sparsity figures are drawn once per task, each in
    a file of its own (``regret-<task>.png``: :func:`task_stem`), instead of one file with a
    panel per task; the rank figures compare tasks and stay whole. All records are read and
    checked before anything is written. Refuses (NasbenchError, nothing written) when ``out``
    holds any figure file it would write, unless ``overwrite``. Returns the files written."""
    token = _REPLACE.set(overwrite)
    try:
        return _plot_all(folders, Path(out), formats, ref, overwrite, per_task)
    finally:
        _REPLACE.reset(token)


def task_stem(stem: str, task: str) -> str:
    """The file stem of ``stem``'s figure for one task: ``regret-<task>``, every character of the
    task label outside letters, digits, ``.``, ``_`` and ``-`` written as ``_``."""
    return f"{stem}-{re.sub(r'[^A-Za-z0-9._-]', '_', task)}"


PER_TASK = ("regret", "pareto_latency_ms", "pareto_nonzero_params", "sparsity")
"""The figures ``per_task`` draws once per task."""


def _plot_all(folders: Sequence[Path], out: Path, formats: Sequence[str],
              ref: Mapping[str, float] | None, overwrite: bool,
              per_task: bool = False) -> list[Path]:  # fmt: skip
    check_formats(formats)
    runs = load_runs(folders)
    names = _STRATEGIES.set(tuple(sorted({r.meta.strategy for r in runs})))
    try:
        return _draw_all(runs, folders, out, formats, ref, overwrite, per_task)
    finally:
        _STRATEGIES.reset(names)


def _draw_all(runs: list[Run], folders: Sequence[Path], out: Path, formats: Sequence[str],
              ref: Mapping[str, float] | None, overwrite: bool,
              per_task: bool) -> list[Path]:  # fmt: skip
    from nasbench.analysis.curves import load_curves
    from nasbench.analysis.references import task_references
    from nasbench.analysis.stats import average_ranks, scores_of

    curves = load_curves(folders)
    ranks = average_ranks(scores_of(curves))
    if ref is None:  # the reference stats.md measures regret against, where records name one
        try:
            ref = task_references(curves)
        except (KeyError, TypeError, ValueError) as exc:  # records without a full config
            log.debug("regret against the best observed accuracy (no table reference: %s)", exc)
    if out.exists() and not out.is_dir():
        raise NasbenchError(f"--out {out} is a file, not a folder")
    tasks = sorted({r.meta.task for r in runs})
    groups: list[tuple[str, list[Run]]] = [("", runs)]
    if per_task:
        groups = [(t, [r for r in runs if r.meta.task == t]) for t in tasks]
        stems = [task_stem("x", t) for t in tasks]
        if len(set(stems)) < len(stems):
            raise NasbenchError(f"tasks {', '.join(tasks)} do not make distinct file names")
    names = [task_stem(stem, t) if t else stem for t, _ in groups for stem in PER_TASK]
    names += [stem for stem in FIGURES if stem not in PER_TASK]
    check_new([out / f"{stem}.{fmt}" for stem in names for fmt in formats], overwrite)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for task, mine in groups:

        def stem(name: str, task: str = task) -> Path:
            return out / (task_stem(name, task) if task else name)

        files += plot_regret(mine, stem("regret"), formats, ref)
        for objective in ("latency_ms", "nonzero_params"):
            files += plot_pareto(mine, stem(f"pareto_{objective}"), objective, formats)
        files += plot_sparsity(mine, stem("sparsity"), formats)
    if len(ranks.strategies) < 2:
        log.info("one strategy: no rank heat map or critical-difference diagram")
        return files
    files += plot_ranks(ranks, out / "ranks", formats)
    if len(ranks.tasks) < 2:
        log.info("one task: no critical-difference diagram (it compares ranks over tasks)")
        return files
    return files + plot_critical_difference(ranks, out / "critical_difference", formats)
