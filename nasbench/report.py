"""Summary tables, rebuilt from the run records alone (no hidden state).

Per (task, strategy): the number of seeds, the final incumbent's test accuracy (mean and sample
standard deviation over seeds, ``final_test_mean``/``final_test_std``), its validation accuracy,
its CIFAR-100/ImageNet16-120 style ``extra`` test metrics when the records carry them,
evaluations and simulated cost used, the feasible fraction of all evaluations, and the fraction
of runs that ended with a feasible incumbent. Accuracies are fractions in the JSON and percent in
the printed table (the NAS-Bench-201 convention).

The statistics of :mod:`nasbench.stats` are rendered here too: Markdown (:func:`format_stats`,
with a text critical-difference diagram), CSV (:func:`stats_csv`) and JSON (:func:`stats_json`).
Anytime tables (:func:`anytime`) and Pareto fronts (:func:`pareto`) are alternative views.
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
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from nasbench.errors import NasbenchError, one_of
from nasbench.records import SCHEMA, read_run
from nasbench.types import RunMeta

if TYPE_CHECKING:  # stats imports this module; the renderers below only read its dataclasses
    from nasbench.power import PairRow, TaskPower
    from nasbench.stats import CriticalDifference, Friedman, ScoreRow, StatsReport


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
    """The run records of one or more results folders (a run appearing twice is an error)."""
    folders = [folders] if isinstance(folders, str | Path) else list(folders)
    files: dict[str, Path] = {}
    for folder in folders:
        found = sorted((Path(folder) / "runs").glob("*.parquet"))
        if not found:
            raise NasbenchError(f"no run records in {Path(folder) / 'runs'}")
        for path in found:
            if path.name in files:
                raise NasbenchError(f"run {path.name} is in both {files[path.name].parent.parent} "
                                    f"and {folder}")  # fmt: skip
            files[path.name] = path
    return [files[name] for name in sorted(files)]


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


def write_summary(out: Path, rows: list[SummaryRow]) -> None:
    """Write the summary (``summary.json``, ``summary.md``) and the statistics of the runs in
    ``out`` beside it: ``summary.csv`` (:func:`stats_csv`), ``stats.md`` (:func:`format_stats`)
    and ``stats.json`` (:func:`stats_json`). Reads the run records once more."""
    from nasbench.stats import build_report

    stats = build_report(out, summary=rows)
    out = Path(out)
    (out / "summary.json").write_text(to_json(rows) + "\n")
    (out / "summary.md").write_text(format_table(rows) + "\n")
    (out / "summary.csv").write_text(stats_csv(stats)["summary.csv"])
    (out / "stats.md").write_text(format_stats(stats) + "\n")
    (out / "stats.json").write_text(stats_json(stats) + "\n")


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
    ``objective`` seen in the folders; and the joint front of all seeds."""
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
        mean, std = _mean_std(hv)
        rows.append(ParetoRow(task, strategy, objective, len(ps), ref, mean, std,
                              [(float(a), float(c)) for a, c in front]))  # fmt: skip
    return rows


def format_pareto(rows: list[ParetoRow], show: int = 8) -> str:
    lines = [f"| task | strategy | seeds | hypervolume (val acc x {rows[0].objective}) | front |",
             "| --- | --- | --- | --- | --- |"] if rows else []  # fmt: skip
    for r in rows:
        step = max(len(r.front) // show, 1)
        pts = ", ".join(f"({100 * a:.2f}%, {c:.3g})" for a, c in r.front[::step][:show])
        lines.append(f"| {r.task} | {r.strategy} | {r.seeds} | "
                     f"{r.hypervolume_mean:.4g} ± {r.hypervolume_std:.2g} | {pts} |")  # fmt: skip
    return "\n".join(lines)


# ---- statistics (nasbench.stats) ---------------------------------------------------------------
def _letters(n: int) -> list[str]:
    return [chr(ord("A") + i) if i < 26 else f"G{i + 1}" for i in range(n)]


def _groups(stats: StatsReport) -> dict[str, str]:
    """Strategy -> the letters of the critical-difference cliques it belongs to."""
    cd = stats.critical_difference
    letters = _letters(len(cd.cliques))
    return {s: "".join(x for x, g in zip(letters, cd.cliques, strict=True) if s in g)
            for s in cd.strategies}  # fmt: skip


def _md(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head),
            *("| " + " | ".join(r) + " |" for r in rows)]  # fmt: skip


def _pp(fraction: float) -> str:
    return f"{100 * fraction:.2f}"


def _power_line(p: TaskPower) -> str:
    """The detectable difference of a task, as a sentence (:mod:`nasbench.power`)."""
    if p.note:
        return f"Detectable difference: none ({p.note})."
    family = "against random" if p.baseline else "of every pair of strategies"
    return (f"Detectable difference: {_pp(p.mdd)} pp (paired Wilcoxon signed-rank tests {family}, "
            f"Holm over {p.comparisons} comparison(s) at alpha {p.alpha:g}, power {p.power:g}; "
            f"{p.pairs} paired seeds, paired spread sd {_pp(p.spread_sd)} pp; normal "
            f"approximation {_pp(p.mdd_normal)} pp).")  # fmt: skip


def _reference_line(r: ScoreRow) -> str:
    """The regret references of a task, as a sentence."""
    observed = f"no benchmark table (regret to the best observed, {_pp(r.ref_test_acc)}%)"
    parts = [f"table best {_pp(r.table_best_acc)}%" if r.regret_ref == "table" else observed]
    if r.reachable_surrogate:
        value = f"{_pp(r.reachable_acc)}%" if math.isfinite(r.reachable_acc) else "unknown"
        parts.append(f"surrogate reachable maximum {value} ({r.reachable_surrogate})")
    return "Regret references: " + "; ".join(parts) + "."


def _versus(r: ScoreRow, baseline: str) -> str:
    if r.strategy == baseline:
        return "(baseline)"
    return f"{r.vs_random} (p {r.vs_random_p_holm:.3g}, {r.vs_random_pairs} pairs)"


def _task_table(rows: list[ScoreRow], stats: StatsReport, baseline: str) -> list[str]:
    summary = {(r.task, r.strategy): r for r in stats.summary}
    reach = any(math.isfinite(r.reachable_acc) for r in rows)
    head = ["task", "strategy", "seeds", "without feasible incumbent", "test acc (%) [95% CI]",
            "median (%)", "regret (%), reference", *(["regret to reachable (%)"] if reach else []),
            "anytime AUC (%)", "evals", "feasible evals",
            *([f"vs {baseline} (p Holm, pairs)"] if baseline else [])]  # fmt: skip
    body = []
    for r in rows:
        s = summary.get((r.task, r.strategy))
        body.append([
            r.task, r.strategy, str(r.seeds), f"{r.infeasible} of {r.seeds}",
            f"{_pp(r.test_mean)} [{_pp(r.test_ci_low)}, {_pp(r.test_ci_high)}]",
            _pp(r.test_median), f"{_pp(r.regret_mean)} ({r.regret_ref})",
            *([_pp(r.regret_reachable_mean)] if reach else []), _pp(r.auc_mean),
            f"{s.evaluations_mean:.1f}" if s else "", f"{s.feasible_rate:.3f}" if s else "",
            *([_versus(r, baseline)] if baseline else []),
        ])  # fmt: skip
    return _md(head, body)


def _score_lines(stats: StatsReport) -> list[str]:
    power = {p.task: p for p in stats.power}
    lines = ["## Final test accuracy", "",
             "Final incumbent test accuracy over the seeds whose run ended with a feasible "
             "incumbent (runs without one are counted apart and never scored as 0): mean with a "
             "95% Student-t interval, median; regret to the best test accuracy of the task's "
             "benchmark table (table) or, without one, the best final accuracy observed for the "
             "task (observed), and for a surrogate benchmark to the surrogate's reachable "
             "maximum; anytime AUC: mean incumbent test accuracy over log simulated cost "
             "(nasbench.stats.anytime_auc); feasible evals: the feasible fraction of evaluations. "
             "vs random: paired Wilcoxon signed-rank test against random search over the seeds "
             "where both runs have a feasible incumbent, Holm-adjusted over the task's "
             "comparisons with random search (Holm 1979): better or worse at p < "
             f"{stats.critical_difference.alpha:g}, else n.s. Detectable difference: the "
             "smallest shift of the paired differences those tests detect with power 0.8, from "
             "the task's observed paired spread (nasbench.power)."]  # fmt: skip
    for task in sorted({r.task for r in stats.scores}):
        rows = [r for r in stats.scores if r.task == task]
        p = power.get(task)
        lines += ["", f"### {task}", "", *([_power_line(p)] if p else []),
                  _reference_line(rows[0]), "",
                  *_task_table(rows, stats, p.baseline if p else "")]  # fmt: skip
    return lines


def _rank_lines(stats: StatsReport) -> list[str]:
    ranks, cd = stats.ranks, stats.critical_difference
    groups = _groups(stats)
    column = {s: i for i, s in enumerate(ranks.strategies)}
    rows = [[s, f"{m:.2f}", groups[s], *(f"{ranks.ranks[t, column[s]]:g}"
                                          for t in range(len(ranks.tasks)))]
            for s, m in zip(cd.strategies, cd.mean_ranks, strict=True)]  # fmt: skip
    text = (
        _friedman_text(stats.friedman) + f" Nemenyi test at alpha = {cd.alpha:g}: critical "
        f"difference {cd.cd:.3f} for {len(cd.strategies)} strategies over {cd.tasks} task(s). "
        "Strategies sharing a group letter do not differ significantly."
        if len(cd.strategies) > 1
        else "One strategy."
        if cd.strategies
        else "No strategy has a score on every task."
    )
    if ranks.excluded:  # ranks need complete blocks: every ranked strategy ran on every task
        text += (" Left out, as not every strategy ran there or ended a run with a feasible "
                 f"incumbent there: {', '.join(ranks.excluded)} (their scores are in the table "
                 "above).")  # fmt: skip
    return ["## Average ranks", "",
            "Per task, strategies ranked by mean final test accuracy (1 = best, ties share the "
            "mean rank), averaged over tasks (Demšar 2006). " + text, "",
            *_md(["strategy", "mean rank", "group", *ranks.tasks], rows),
            *(["", "```", *cd_diagram(cd), "```"] if len(rows) > 1 else [])]  # fmt: skip


def _friedman_text(f: Friedman) -> str:
    """The Friedman test as sentences, said before the Nemenyi test (Demšar 2006)."""
    if f.note:
        return (f"Friedman test: not run ({f.note}); without it the critical-difference "
                "diagram is not evidence of any difference.")  # fmt: skip
    said = (f"Friedman test over the {f.tasks} tasks as blocks: chi-square {f.statistic:.3f}, "
            f"df {f.df}, p {f.p_value:.3g}")  # fmt: skip
    if f.rejects:
        return said + f": the mean ranks differ at alpha = {f.alpha:g}."
    return (said + f": no difference between the mean ranks at alpha = {f.alpha:g}, so the "
            "critical-difference diagram below is not evidence of any difference.")  # fmt: skip


def cd_diagram(cd: CriticalDifference, width: int = 50) -> list[str]:
    """A text critical-difference diagram as lines: the rank axis (``width`` characters), each
    strategy at its mean rank, the CD as a bar from rank 1 and one bar per clique, lettered as
    in the rank table (Demšar 2006, Fig. 1, drawn in characters)."""
    k = len(cd.strategies)
    scale = (width - 1) / max(k - 1, 1)

    def col(rank: float) -> int:
        return round((rank - 1) * scale)

    name_w = max(len(s) for s in [*cd.strategies, "CD"]) + 1
    lines = [" " * name_w + f"1{' ' * (width - 1 - len(str(k)))}{k}",
             " " * name_w + "|" + "-" * (width - 2) + "|"]  # fmt: skip
    for s, r in zip(cd.strategies, cd.mean_ranks, strict=True):
        lines.append(f"{s:<{name_w}}" + " " * col(r) + f"* {r:.2f}")
    if k > 1 and math.isfinite(cd.cd):
        bar = min(col(1 + cd.cd) + 1, width)  # a CD wider than the axis is cut at its end
        lines.append(f"{'CD':<{name_w}}" + "=" * max(bar, 1) + f" {cd.cd:.3f}")
    for letter, group in zip(_letters(len(cd.cliques)), cd.cliques, strict=True):
        lo, hi = (col(cd.mean_ranks[cd.strategies.index(g)]) for g in (group[0], group[-1]))
        lines.append(f"{letter:<{name_w}}" + " " * lo + "=" * (hi - lo + 1))
    return lines


def _pair_lines(title: str, rows: list[PairRow], alpha: float) -> list[str]:
    body = [[r.task, r.a, r.b, str(r.pairs), str(r.a_better), str(r.b_better),
             f"{100 * r.mean_diff:+.2f}", f"{r.p_value:.3g}",
             f"{r.p_holm:.3g}" + (" *" if r.p_holm < alpha else "")] for r in rows]  # fmt: skip
    head = ["task", "a", "b", "pairs", "a better", "b better", "mean a - b (pp)", "p", "p Holm"]
    return [title, "", *_md(head, body)] if rows else []


def format_stats(stats: StatsReport) -> str:
    """The statistics sections in Markdown: per task its detectable difference, regret
    references and final test accuracy per strategy (with runs without a feasible incumbent
    and the test against random search); average ranks with the Friedman test, the
    critical-difference groups and a text diagram; pairwise Wilcoxon tests per task and pooled
    over tasks (* marks Holm-adjusted p below alpha)."""
    alpha = stats.critical_difference.alpha
    lines = [*_score_lines(stats), "", *_rank_lines(stats), ""]
    lines += _pair_lines("## Wilcoxon signed-rank tests per task (paired by seed where both "
                         "runs have a feasible incumbent, Holm over all pairs of each task)",
                         stats.pairwise, alpha)  # fmt: skip
    if stats.pooled and len({r.task for r in stats.scores}) > 1:
        lines += ["", *_pair_lines("## Wilcoxon signed-rank tests over all tasks (paired by "
                                   "task and seed where both runs have a feasible incumbent, "
                                   "Holm)", stats.pooled, alpha)]  # fmt: skip
    return "\n".join(lines).rstrip()


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


def stats_csv(stats: StatsReport) -> dict[str, str]:
    """The statistics as CSV files by name: ``summary.csv`` (the summary columns, extra test
    metrics as ``extra_test_mean:<name>``, then the :class:`~nasbench.stats.ScoreRow` columns),
    ``pairwise.csv`` (per task, then pooled rows), ``power.csv`` (per task: the detectable
    difference, :class:`~nasbench.power.TaskPower`) and ``ranks.csv`` (per strategy: mean rank,
    critical-difference groups, the CD, the Friedman statistic and p-value, the rank on each
    task as ``rank:<task>``)."""
    extras = sorted({k for r in stats.summary for k in r.extra_test_mean})
    base = [f.name for f in fields(SummaryRow) if f.name != "extra_test_mean"]
    scores = {(r.task, r.strategy): asdict(r) for r in stats.scores}
    same = ("task", "strategy", "seeds", "test_mean")  # test_mean is final_test_mean
    more = [f for f in next(iter(scores.values()), {}) if f not in same]
    summary = [[getattr(r, f) for f in base] + [r.extra_test_mean.get(k, math.nan) for k in extras]
               + [scores.get((r.task, r.strategy), {}).get(f, math.nan) for f in more]
               for r in stats.summary]  # fmt: skip
    ranks, cd, groups = stats.ranks, stats.critical_difference, _groups(stats)
    column = {s: i for i, s in enumerate(ranks.strategies)}
    fr = stats.friedman
    rank_rows = [[s, m, groups[s], cd.cd, fr.statistic, fr.p_value,
                  *ranks.ranks[:, column[s]].tolist()]
                 for s, m in zip(cd.strategies, cd.mean_ranks, strict=True)]  # fmt: skip
    rank_head = ["strategy", "mean_rank", "groups", "cd", "friedman_statistic", "friedman_p",
                 *(f"rank:{t}" for t in ranks.tasks)]  # fmt: skip
    return {
        "summary.csv": _csv(base + [f"extra_test_mean:{k}" for k in extras] + more, summary),
        "pairwise.csv": rows_csv([*stats.pairwise, *stats.pooled]),
        "power.csv": rows_csv(stats.power),
        "ranks.csv": _csv(rank_head, rank_rows),
    }


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


def stats_json(report: StatsReport) -> str:
    """The report as one JSON object with a key per section (NaN written as null)."""
    body = {
        "summary": [asdict(r) for r in report.summary],
        "scores": [asdict(r) for r in report.scores],
        "power": [asdict(r) for r in report.power],
        "ranks": asdict(report.ranks),
        "friedman": asdict(report.friedman),
        "critical_difference": asdict(report.critical_difference),
        "pairwise": [asdict(r) for r in report.pairwise],
        "pooled": [asdict(r) for r in report.pooled],
    }
    return json.dumps(_plain(body), indent=1, sort_keys=True, allow_nan=False)


FORMATS = ("md", "csv", "json")
"""Output formats of ``nasbench report``."""


def stats_files(stats: StatsReport, fmt: str) -> dict[str, str]:
    """The whole report in one format, as file name -> text: ``report.md`` (the summary table,
    then :func:`format_stats`), ``report.json`` (:func:`stats_json`) or the CSV files of
    :func:`stats_csv`. Raises NasbenchError for an unknown format."""
    if fmt == "md":
        return {"report.md": format_table(stats.summary) + "\n\n" + format_stats(stats) + "\n"}
    if fmt == "json":
        return {"report.json": stats_json(stats) + "\n"}
    if fmt == "csv":
        return stats_csv(stats)
    raise one_of("report format", fmt, FORMATS)


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
