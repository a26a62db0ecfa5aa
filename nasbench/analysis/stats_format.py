"""Rendering the statistics of :mod:`nasbench.analysis.stats`: Markdown (:func:`format_stats`, with
a text critical-difference diagram and each task's detectable difference), CSV (:func:`stats_csv`)
and JSON (:func:`stats_json`), the per-task resolving-power table that follows the summary
table in ``summary.md`` (:func:`power_table`), and the run environment that ends the Markdown
report (:func:`environment_markdown`)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nasbench.analysis.report import (
    FORMATS,
    NOT_RECORDED,
    SummaryRow,
    _csv,
    _plain,
    environment,
    format_environment,
    format_table,
    rows_csv,
    to_json,
)
from nasbench.core.errors import one_of

if TYPE_CHECKING:  # stats imports the report; the renderers only read its dataclasses
    from nasbench.analysis.power import PairRow, Scores, TaskPower
    from nasbench.analysis.stats import CriticalDifference, Friedman, ScoreRow, StatsReport


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
    """The detectable difference of a task, as a sentence (:mod:`nasbench.analysis.power`)."""
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
             "(nasbench.analysis.stats.anytime_auc); feasible evals: the feasible fraction of "
             "evaluations. vs random: paired Wilcoxon signed-rank test against random search "
             "over the seeds where both runs have a feasible incumbent, Holm-adjusted over the "
             "task's "
             "comparisons with random search (Holm 1979): better or worse at p < "
             f"{stats.critical_difference.alpha:g}, else n.s. Detectable difference: the "
             "smallest shift of the paired differences those tests detect with power 0.8, from "
             "the task's observed paired spread (nasbench.analysis.power)."]  # fmt: skip
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


def stats_csv(stats: StatsReport) -> dict[str, str]:
    """The statistics as CSV files by name: ``summary.csv`` (the summary columns, extra test
    metrics as ``extra_test_mean:<name>``, then the :class:`~nasbench.analysis.stats.ScoreRow`
    columns), ``pairwise.csv`` (per task, then pooled rows), ``power.csv`` (per task: the detectable
    difference, :class:`~nasbench.analysis.power.TaskPower`) and ``ranks.csv`` (per strategy: mean
    rank, critical-difference groups, the CD, the Friedman statistic and p-value, the rank on each
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


def environment_markdown(folders: Path | Sequence[Path]) -> str:
    """The "Run environment" section: per results folder, the budget's overshoot rule and the
    dependency versions its runs recorded (:func:`nasbench.analysis.report.environment`)."""
    return "\n".join([
        "## Run environment", "",
        "Per results folder: the budget's overshoot rule (charge: the evaluation that crosses "
        "cost_s is recorded and charged; discard: it is dropped) and the versions of the "
        "libraries the numbers depend on, as each run's metadata records them (runs that differ "
        f"are counted apart; {NOT_RECORDED}: records written before versions were stored).", "",
        format_environment(environment(folders)),
    ])  # fmt: skip


def stats_files(
    stats: StatsReport, fmt: str, folders: Path | Sequence[Path] | None = None
) -> dict[str, str]:
    """The whole report in one format, as file name -> text: ``report.md``
    (:func:`summary_markdown`, then :func:`format_stats`, then, given the ``folders`` the
    report was built from, :func:`environment_markdown`), ``report.json``
    (:func:`stats_json`) or the CSV files of :func:`stats_csv`. Raises NasbenchError for an
    unknown format."""
    if fmt == "md":
        env = "" if folders is None else "\n\n" + environment_markdown(folders)
        return {"report.md": summary_markdown(stats) + "\n\n" + format_stats(stats) + env + "\n"}
    if fmt == "json":
        return {"report.json": stats_json(stats) + "\n"}
    if fmt == "csv":
        return stats_csv(stats)
    raise one_of("report format", fmt, FORMATS)


def summary_markdown(stats: StatsReport) -> str:
    """``summary.md``: the summary table, then :func:`power_table`."""
    return format_table(stats.summary) + "\n\n" + power_table(stats)


def power_table(stats: StatsReport) -> str:
    """Per task, what the comparison could resolve, as a Markdown table: the fewest paired
    seeds of its comparisons, the detectable difference (percentage points;
    :mod:`nasbench.analysis.power`) and the strategies that differ significantly from random search
    (Holm, alpha 0.05), so a
    table of means is never read as a ranking where the suite could not tell."""
    differs: dict[str, list[str]] = {}
    for r in stats.scores:
        if r.vs_random in ("better", "worse"):
            differs.setdefault(r.task, []).append(f"{r.strategy} ({r.vs_random})")
    rows = []
    for p in stats.power:
        family = "vs random" if p.baseline else "all pairs"
        short = p.note.split(":")[0]  # the reason in full is in stats.md
        value = f"none: {short}" if p.note else f"{_pp(p.mdd)} ({family}, {p.comparisons})"
        found = ", ".join(differs.get(p.task, [])) or "none"
        rows.append([p.task, str(p.pairs), value, found])
    head = ["task", "paired seeds", "detectable difference (pp; comparisons)",
            "differs from random (Holm, alpha 0.05)"]  # fmt: skip
    return "\n".join(_md(head, rows))


def write_summary(out: Path, rows: list[SummaryRow]) -> None:
    """Write the summary (``summary.json``; ``summary.md``: the summary table, then
    :func:`power_table`) and the statistics of the runs in
    ``out`` beside it: ``summary.csv`` (:func:`stats_csv`), ``stats.md`` (:func:`format_stats`,
    then :func:`environment_markdown`) and ``stats.json`` (:func:`stats_json`). Reads the run
    records once more."""
    from nasbench.analysis.stats import build_report

    stats = build_report(out, summary=rows)
    out = Path(out)
    (out / "summary.json").write_text(to_json(rows) + "\n")
    (out / "summary.md").write_text(summary_markdown(stats) + "\n")
    (out / "summary.csv").write_text(stats_csv(stats)["summary.csv"])
    (out / "stats.md").write_text(format_stats(stats) + "\n\n" + environment_markdown(out) + "\n")
    (out / "stats.json").write_text(stats_json(stats) + "\n")


def seeds_markdown(scores: Scores, target: float) -> str:
    """Per task, the paired seeds a suite needs for its detectable difference to reach
    ``target`` (a fraction; :func:`nasbench.analysis.power.seeds_for` on the task's observed paired
    spread), beside what it has now, as a Markdown table: how to size a suite by power."""
    from nasbench.analysis.power import detectable_difference, paired, seeds_for, task_pool

    rows = []
    for task in sorted({t for t, _ in scores}):
        pool, m = task_pool(scores, task)
        names = [s for t, s in scores if t == task]
        now = min((len(paired(scores[(task, a)], scores[(task, b)])[0])
                   for a in names for b in names if a < b), default=0)  # fmt: skip
        if m == 0 or len(pool) == 0:
            rows.append([task, str(m), str(now), "", "no comparison"])
            continue
        mdd = detectable_difference(pool, now, m, np.random.default_rng(0))
        needed = seeds_for(pool, target, m)
        rows.append([task, str(m), str(now), _pp(mdd) if math.isfinite(mdd) else "none",
                     str(needed) if needed is not None else "more than 5000"])  # fmt: skip
    head = ["task", "comparisons", "paired seeds now", "detectable now (pp)",
            f"seeds to detect {_pp(target)} pp"]  # fmt: skip
    return "\n".join(_md(head, rows))
