"""Statistics of `nasbench report`: intervals, regret, anytime area, ranks, tests, outputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from nasbench.analysis.references import reachable_reference, table_reference
from nasbench.analysis.results import run_suite
from nasbench.analysis.stats import (
    POOLED,
    anytime_auc,
    average_ranks,
    build_report,
    cliques,
    critical_difference,
    final_scores,
    friedman,
    holm,
    nemenyi_cd,
    pairwise_tests,
    pooled_tests,
    wilcoxon_p,
)
from nasbench.analysis.stats_format import cd_diagram, format_stats, stats_json
from nasbench.cli.main import main
from nasbench.core.errors import NasbenchError
from nasbench.core.types import RunMeta, TrialRecord
from nasbench.engine.records import write_run
from nasbench.engine.suite import parse_suite
from tests.suites import nb201_suite

NAN = math.nan


def config(
    task: str, evaluator: str = "train", params: list | None = None, sparsity: float = 0.0
) -> str:
    """A resolved run spec as RunMeta stores it (only the keys the statistics read matter)."""
    return json.dumps({
        "suite": "syn", "strategy": {"label": "", "name": "", "params": []},
        "budget": {"sparsity": sparsity, "cost_s": None, "evaluations": 10},
        "task": {"evaluator": evaluator, "evaluator_params": params or [], "fidelity": None,
                 "label": task, "space": "chain", "space_params": []},
    }, sort_keys=True)  # fmt: skip


def write(folder: Path, task: str, strategy: str, seed: int, trials: list[tuple[float, float]],
          cfg: str | None = None) -> None:  # fmt: skip
    """One synthetic run: ``trials`` are (cost_s, incumbent test accuracy after the trial)."""
    records, cum = [], 0.0
    for i, (cost, inc) in enumerate(trials):
        cum += cost
        records.append(TrialRecord(
            suite="syn", task=task, space="chain", strategy=strategy, evaluator="train",
            seed=seed, trial=i, arch=f"a{i}", key=f"a{i}", fidelity=1.0, status="ok",
            feasible=not math.isnan(inc), objective=inc, val_acc=inc, test_acc=inc, cost_s=cost,
            cum_cost_s=cum, latency_ms=NAN, params_m=0.1, macs_m=1.0, sparsity=0.0,
            incumbent_trial=-1 if math.isnan(inc) else i, incumbent_arch="", incumbent_val_acc=inc,
            incumbent_test_acc=inc, overhead_wall_s=0.0, eval_wall_s=0.0,
        ))  # fmt: skip
    meta = RunMeta("syn", f"{task}__{strategy}__seed{seed}", task, strategy, seed,
                   cfg or config(task), "evaluations", len(records), "0", "3", "os", "x", "now",
                   0.0)  # fmt: skip
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    write_run(folder / "runs" / f"{meta.run_id}.parquet", records, meta)


A = [0.90, 0.92, 0.91, 0.95, 0.87]  # strategy "a" on task "t1", seeds 0..4
B = [0.88, 0.92, 0.90, 0.93, 0.86]  # strategy "b": one tie (seed 1), else below "a"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    """Task t1: a and b, 5 seeds, two trials each (cost 10 s, then 90 s); the first trial's
    incumbent is 0.5. Task t2: a (0.8), b (0.7, one run without incumbent), c (0.9)."""
    root = tmp_path_factory.mktemp("syn")
    for seed in range(5):
        write(root, "t1", "a", seed, [(10.0, 0.5), (90.0, A[seed])])
        write(root, "t1", "b", seed, [(10.0, 0.5), (90.0, B[seed])])
    for seed in range(3):
        write(root, "t2", "a", seed, [(5.0, 0.8)])
        write(root, "t2", "b", seed, [(5.0, NAN if seed == 2 else 0.7)])
        write(root, "t2", "c", seed, [(5.0, 0.9)])
    return root


def test_final_scores_read_the_last_incumbent(synthetic) -> None:
    scores = final_scores(synthetic)
    assert scores[("t1", "a")] == dict(enumerate(A))
    assert [scores[("t2", "b")][seed] for seed in (0, 1)] == [0.7, 0.7]
    assert math.isnan(scores[("t2", "b")][2])
    assert list(scores) == [("t1", "a"), ("t1", "b"), ("t2", "a"), ("t2", "b"), ("t2", "c")]


def test_confidence_interval_median_and_observed_regret(synthetic) -> None:
    rows = {(r.task, r.strategy): r for r in build_report(synthetic).scores}
    a = rows[("t1", "a")]
    # by hand: mean 0.91, squared deviations 0.0034 over 4 degrees of freedom, t_{0.975,4}
    half = 2.7764451051977987 * math.sqrt(0.0034 / 4) / math.sqrt(5)
    assert a.test_mean == pytest.approx(0.91)
    assert (a.test_ci_low, a.test_ci_high) == pytest.approx((0.91 - half, 0.91 + half))
    assert a.test_median == pytest.approx(0.91) and a.seeds == 5
    # no benchmark table behind "train": the reference is the best final accuracy observed
    assert a.regret_ref == "observed" and a.ref_test_acc == pytest.approx(0.95)
    assert a.regret_mean == pytest.approx(0.04)
    assert rows[("t1", "b")].regret_mean == pytest.approx(0.95 - np.mean(B))
    b2 = rows[("t2", "b")]  # the run without an incumbent is left out of mean and interval
    assert b2.test_mean == pytest.approx(0.7) and b2.test_ci_low == pytest.approx(0.7)
    assert rows[("t2", "c")].regret_mean == pytest.approx(0.0)


def test_anytime_auc_by_hand() -> None:
    cost, inc = np.array([10.0, 100.0, 1000.0]), np.array([NAN, 0.5, 0.8])
    # equal log-width decades: 0 (no incumbent), 0.5, 0.8
    assert anytime_auc(cost, inc, 10.0, 10_000.0) == pytest.approx((0 + 0.5 + 0.8) / 3)
    # from 1 s: a decade before the first trial counts as 0
    assert anytime_auc(cost, inc, 1.0, 10_000.0) == pytest.approx((0 + 0 + 0.5 + 0.8) / 4)
    assert anytime_auc(cost, inc, 10.0, 100.0) == pytest.approx(0.0)
    assert anytime_auc(cost, inc, 500.0, 500.0) == 0.5  # degenerate window: the value there
    assert anytime_auc(cost, inc, 5.0, 5.0) == 0.0


def test_anytime_auc_in_the_report(synthetic) -> None:
    rows = {(r.task, r.strategy): r for r in build_report(synthetic).scores}
    a = rows[("t1", "a")]
    # window 10 s (first charged evaluation) to 100 s: incumbent 0.5 until 100 s
    assert (a.auc_low_s, a.auc_high_s) == (10.0, 100.0)
    assert a.auc_mean == pytest.approx(0.5)
    t2 = rows[("t2", "b")]  # a window of one cost: each run's final value; the run without an
    assert t2.auc_mean == pytest.approx(0.7)  # incumbent is counted apart, not averaged as 0
    assert (t2.seeds, t2.infeasible) == (3, 1) and rows[("t2", "a")].infeasible == 0


def test_average_ranks_with_ties_and_nan() -> None:
    scores = {
        ("x", "a"): {0: 0.9, 1: 0.7}, ("x", "b"): {0: 0.8}, ("x", "c"): {0: 0.6, 1: NAN},
        ("y", "a"): {0: 0.5}, ("y", "b"): {0: 0.5}, ("y", "c"): {0: 0.4},
        ("z", "a"): {0: 0.1}, ("z", "b"): {0: 0.2},  # c did not run on z: not a full block
    }  # fmt: skip
    ranks = average_ranks(scores)
    assert ranks.tasks == ["x", "y"] and ranks.strategies == ["a", "b", "c"]
    assert ranks.excluded == ["z"]
    # x: a and b tie at 0.8 (mean of a's seeds); c's run without incumbent is left out of its
    # mean (0.6), not scored as 0; y: a and b tie
    assert ranks.ranks.tolist() == [[1.5, 1.5, 3.0], [1.5, 1.5, 3.0]]
    assert ranks.mean.tolist() == pytest.approx([1.5, 1.5, 3.0])
    # a strategy none of whose runs found a feasible incumbent has no score on that task: the
    # task is not a complete block (it used to rank last there, as if it scored lowest)
    scores[("y", "c")] = {0: NAN}
    scores[("z", "c")] = {0: 0.3}
    ranks = average_ranks(scores)
    assert (ranks.tasks, ranks.excluded) == (["x", "z"], ["y"])
    assert ranks.ranks.tolist() == [[1.5, 1.5, 3.0], [3.0, 2.0, 1.0]]
    nothing = average_ranks({("x", "a"): {0: NAN}})
    assert (nothing.tasks, nothing.strategies, nothing.excluded) == ([], [], ["x"])
    # strategies restricted to disjoint tasks: the largest block of tasks is ranked
    split = {("p", "a"): {0: 0.9}, ("p", "b"): {0: 0.8}, ("q", "a"): {0: 0.1},
             ("q", "b"): {0: 0.2}, ("r", "a"): {0: 0.5}, ("r", "g"): {0: 0.6}}  # fmt: skip
    block = average_ranks(split)
    assert (block.tasks, block.strategies, block.excluded) == (["p", "q"], ["a", "b"], ["r"])
    assert block.mean.tolist() == [1.5, 1.5]
    with pytest.raises(NasbenchError, match="no runs"):
        average_ranks({})


def test_nemenyi_cd_matches_demsar_table() -> None:
    assert nemenyi_cd(4, 10) == pytest.approx(2.569 * math.sqrt(4 * 5 / (6 * 10)), abs=1e-3)
    assert nemenyi_cd(4, 10) == pytest.approx(1.483, abs=5e-4)
    # q_0.05 of Demšar's Table 5 for k = 2, 3, 5: 1.960, 2.343, 2.728
    for k, q in [(2, 1.960), (3, 2.343), (5, 2.728)]:
        assert nemenyi_cd(k, 1) / math.sqrt(k * (k + 1) / 6) == pytest.approx(q, abs=1e-3)
    assert nemenyi_cd(4, 10, alpha=0.10) < nemenyi_cd(4, 10)
    for bad in [(1, 10, 0.05), (4, 0, 0.05), (4, 10, 1.5)]:
        with pytest.raises(NasbenchError):
            nemenyi_cd(*bad)


def test_holm_known_example() -> None:
    assert holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.6]).tolist() == [1.0, 1.0]  # capped at 1
    assert holm([0.04, 0.001, 0.02, 0.3]).tolist() == pytest.approx([0.08, 0.004, 0.06, 0.3])
    assert holm([]).tolist() == []


def test_wilcoxon_per_task_and_pooled_match_scipy(synthetic) -> None:
    scores = final_scores(synthetic)
    rows = pairwise_tests(scores)
    assert [(r.task, r.a, r.b) for r in rows] == [
        ("t1", "a", "b"), ("t2", "a", "b"), ("t2", "a", "c"), ("t2", "b", "c")]  # fmt: skip
    t1 = rows[0]
    expected = sps.wilcoxon(A, B)
    assert (t1.statistic, t1.p_value) == (expected.statistic, expected.pvalue)
    assert t1.p_holm == t1.p_value  # the only pair of t1
    assert (t1.pairs, t1.a_better, t1.b_better) == (5, 4, 0)
    assert t1.mean_diff == pytest.approx(np.mean(A) - np.mean(B))
    t2 = rows[1:]
    # b's run without incumbent (seed 2) is not paired, never scored as 0: 2 pairs, not 3
    assert [r.pairs for r in t2] == [2, 3, 2]
    assert t2[0].p_value == sps.wilcoxon([0.8] * 2, [0.7, 0.7]).pvalue
    assert t2[0].mean_diff == pytest.approx(0.1)  # not (0.1 + 0.1 + 0.8) / 3
    assert [r.p_holm for r in t2] == pytest.approx(holm([r.p_value for r in t2]).tolist())
    pooled = pooled_tests(scores)
    assert [(r.task, r.a, r.b, r.pairs) for r in pooled] == [
        (POOLED, "a", "b", 7), (POOLED, "a", "c", 3), (POOLED, "b", "c", 2)]  # fmt: skip
    x, y = [*A, 0.8, 0.8], [*B, 0.7, 0.7]
    assert pooled[0].p_value == sps.wilcoxon(x, y).pvalue


def test_wilcoxon_without_differences_gives_one() -> None:
    assert wilcoxon_p([0.5, 0.6], [0.5, 0.6]) == (0.0, 1.0)
    assert wilcoxon_p([], []) == (0.0, 1.0)


def test_cliques_and_critical_difference() -> None:
    assert cliques([1.0, 1.5, 2.6, 3.0], 1.2) == [[0, 1], [1, 2], [2, 3]]
    assert cliques([1.0, 1.1, 1.2], 1.0) == [[0, 1, 2]]
    assert cliques([1.0, 2.0, 3.0], 0.5) == [[0], [1], [2]]
    scores = {(t, s): {0: v} for t in "pqrstuvwxy" for s, v in
              (("w", 0.9), ("x", 0.8), ("y", 0.7), ("z", 0.6))}  # fmt: skip
    scores[("p", "w")] = {0: 0.75}  # w is second on one task: mean rank 1.1
    cd = critical_difference(average_ranks(scores))
    assert cd.strategies == ["w", "x", "y", "z"] and cd.tasks == 10
    assert cd.mean_ranks == pytest.approx([1.1, 1.9, 3.0, 4.0])
    assert cd.cd == pytest.approx(nemenyi_cd(4, 10))  # 1.483
    assert cd.cliques == [["w", "x"], ["x", "y"], ["y", "z"]]
    # names in 3 characters ("CD" and a space), then rank r at round((r - 1) * 49 / 3) of 50
    assert cd_diagram(cd) == [
        "   1" + " " * 48 + "4",
        "   |" + "-" * 48 + "|",
        "w  " + " " * 2 + "* 1.10",
        "x  " + " " * 15 + "* 1.90",
        "y  " + " " * 33 + "* 3.00",
        "z  " + " " * 49 + "* 4.00",
        "CD " + "=" * 25 + " 1.483",  # round(1.483 * 49 / 3) + 1 characters
        "A  " + " " * 2 + "=" * 14,
        "B  " + " " * 15 + "=" * 19,
        "C  " + " " * 33 + "=" * 17,
    ]


SUITE = nb201_suite("regret", evaluations=10)


@pytest.fixture(scope="module")
def nb201(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("nb") / "res"
    run_suite(parse_suite(SUITE), SUITE, out)
    return out


def test_regret_against_the_nb201_table(nb201) -> None:
    report = build_report(nb201)
    scores = final_scores(nb201)
    best = 0.9437333333333333  # the best CIFAR-10 test accuracy of NAS-Bench-201 (94.37%)
    for row in report.scores:
        assert row.regret_ref == "table" and row.ref_test_acc == best
        finals = list(scores[("nb", row.strategy)].values())
        assert row.regret_mean == pytest.approx(best - np.mean(finals))
        assert 0 < row.regret_mean < 0.2 and 0.5 < row.auc_mean < 1.0
    named = config("nb", "tabular", [["benchmark", "nb201-cifar10"]])
    assert table_reference(named, 12.0) == best
    assert table_reference(config("nb", "tabular", sparsity=0.5), 12.0) is None  # not recorded
    assert table_reference(config("nb", "train"), 12.0) is None


def test_a_table_that_does_not_resolve_falls_back_to_observed(tmp_path, caplog) -> None:
    cfg = config("t", "tabular", [["benchmark", str(tmp_path / "gone.parquet")]])
    write(tmp_path, "t", "a", 0, [(1.0, 0.6)], cfg)
    write(tmp_path, "t", "b", 0, [(1.0, 0.4)], cfg)
    rows = build_report(tmp_path).scores
    assert [(r.regret_ref, r.regret_mean) for r in rows] == [
        ("observed", 0.0),
        ("observed", pytest.approx(0.2)),
    ]
    assert "does not exist" in caplog.text


def test_suite_writes_the_statistics_beside_the_summary(nb201) -> None:
    assert (nb201 / "stats.json").read_text() == stats_json(build_report(nb201)) + "\n"
    head = (nb201 / "summary.csv").read_text().splitlines()[0].split(",")
    assert head[:3] == ["task", "strategy", "seeds"] and "regret_ref" in head
    assert "## Average ranks" in (nb201 / "stats.md").read_text()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_formats(capsys, synthetic, tmp_path) -> None:
    code, md, _ = run(capsys, "report", str(synthetic))
    assert code == 0 and md.startswith("| task | strategy | seeds | test acc (%)")
    for section in ["## Final test accuracy", "## Average ranks", "per task", "over all tasks"]:
        assert section in md
    assert "| t1 | a | 5 | 0 of 5 | 91.00 [" in md and "| t2 | b | 3 | 1 of 3 | 70.00 [" in md
    code, as_json, _ = run(capsys, "report", str(synthetic), "--format", "json")
    body = json.loads(as_json)
    assert code == 0 and sorted(body) == ["critical_difference", "friedman", "pairwise", "pooled",
                                          "power", "ranks", "scores", "summary"]  # fmt: skip
    assert body["ranks"]["strategies"] == ["a", "b", "c"] and len(body["pairwise"]) == 4
    assert "NaN" not in as_json  # strict JSON: NaN written as null
    code, printed, _ = run(capsys, "report", str(synthetic), "--format", "csv", "--out",
                           str(tmp_path / "csv"))  # fmt: skip
    names = sorted(p.name for p in (tmp_path / "csv").iterdir())
    assert code == 0 and names == ["pairwise.csv", "power.csv", "ranks.csv", "summary.csv"]
    assert len(printed.splitlines()) == 4
    ranks = (tmp_path / "csv" / "ranks.csv").read_text().splitlines()
    # t1 lacks c: ranks use the complete block (t2) only, and say so
    assert ranks[0] == "strategy,mean_rank,groups,cd,friedman_statistic,friedman_p,rank:t2"
    assert "Left out, as not every strategy ran there" in md and "there: t1" in md
    pairs = (tmp_path / "csv" / "pairwise.csv").read_text().splitlines()
    assert len(pairs) == 1 + 4 + 3 and pairs[-1].startswith(f"{POOLED},b,c,2,")
    power = (tmp_path / "csv" / "power.csv").read_text().splitlines()
    assert power[0].startswith("task,baseline,comparisons,pairs,") and len(power) == 3
    summary = (tmp_path / "csv" / "summary.csv").read_text().splitlines()
    assert ",infeasible," in summary[0] and ",vs_random," in summary[0]
    code, csv_out, _ = run(capsys, "report", str(synthetic), "--format", "csv")
    assert code == 0 and csv_out.count("# ") == 4 and "# ranks.csv\n" in csv_out
    code, at_csv, _ = run(capsys, "report", str(synthetic), "--at", "1,2", "--format", "csv")
    assert code == 0 and at_csv.splitlines()[0].startswith("task,strategy,evaluations,seeds")
    assert len(at_csv.splitlines()) == 1 + 5 * 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "xml"], "unknown --format 'xml' (valid: md, csv, json)"),
        (["--json", "--format", "csv"], "--json means --format json"),
        (["/nowhere/at/all"], "no run records in /nowhere/at/all/runs"),
    ],
)
def test_cli_errors_are_one_line(capsys, synthetic, argv, message) -> None:
    args = argv if argv[0].startswith("/") else [str(synthetic), *argv]
    code, printed, err = run(capsys, "report", *args)
    assert code == 2 and printed == "" and len(err.strip().splitlines()) == 1 and message in err


# ---- the report states its power (issue 21) ----------------------------------------------------
@pytest.fixture(scope="module")
def versus(tmp_path_factory) -> Path:
    """Task t, 12 seeds: random; good (random + 1 pp, one run without incumbent); bad (random -
    1 pp); same (random, shuffled noise). Task u: two strategies, no random."""
    root = tmp_path_factory.mktemp("vs")
    rng = np.random.default_rng(11)
    base, noise = rng.normal(0.80, 0.02, 12), rng.normal(0.0, 0.002, (3, 12))
    finals = {"random": base, "good": base + 0.01 + noise[0], "bad": base - 0.01 + noise[1],
              "same": base + noise[2] - noise[2].mean()}  # fmt: skip
    for strategy, values in finals.items():
        for seed, value in enumerate(values):
            final = NAN if (strategy, seed) == ("good", 11) else float(value)
            write(root, "t", strategy, seed, [(1.0, final)])
    for seed in range(3):
        write(root, "u", "a", seed, [(1.0, 0.5 + 0.01 * seed)])
        write(root, "u", "b", seed, [(1.0, 0.6)])
    return root


def test_scores_mark_the_test_against_random_and_count_infeasible_runs(versus) -> None:
    from nasbench.analysis.power import task_power

    report = build_report(versus)
    rows = {(r.task, r.strategy): r for r in report.scores}
    assert [(s, rows[("t", s)].vs_random, rows[("t", s)].vs_random_pairs) for s in
            ("bad", "good", "random", "same")] == [
        ("bad", "worse", 12), ("good", "better", 11), ("random", "", 0), ("same", "n.s.", 12)]  # fmt: skip
    good = rows[("t", "good")]
    assert (good.seeds, good.infeasible) == (12, 1)
    kept = [v for v in final_scores(versus)[("t", "good")].values() if not math.isnan(v)]
    assert len(kept) == 11 and good.test_mean == pytest.approx(np.mean(kept))  # no 0 averaged
    assert rows[("u", "a")].vs_random == "" and math.isnan(rows[("u", "a")].vs_random_p_holm)
    power = {p.task: p for p in report.power}
    assert power["t"] == task_power(final_scores(versus), "t")
    assert (power["t"].comparisons, power["t"].pairs) == (3, 11)
    md = format_stats(report)
    assert "### t\n\nDetectable difference: " + f"{100 * power['t'].mdd:.2f} pp" in md
    assert "Holm over 3 comparison(s) at alpha 0.05, power 0.8; 11 paired seeds" in md
    assert "| t | good | 12 | 1 of 12 |" in md and "| better (p " in md and ", 11 pairs) |" in md
    assert "| t | random | 12 | 0 of 12 |" in md and "| (baseline) |" in md
    # u has no random: no mark column, and its one pair of 3 seeds cannot reach 0.05
    assert "Detectable difference: none (not detectable with 3 seeds: the smallest two-sided " in md
    assert "2/2^3 = 0.25, is not below alpha/m = 0.05/1 = 0.05)" in md
    u_head = md[md.index("### u") :].split("| task |")[1].split("\n")[0]
    assert "vs random" not in u_head and "without feasible incumbent" in u_head
    body = json.loads(stats_json(report))
    assert [p["task"] for p in body["power"]] == ["t", "u"] and body["power"][1]["mdd"] is None


def test_friedman_before_nemenyi_matches_scipy() -> None:
    means = np.array([[0.90, 0.85, 0.80], [0.70, 0.72, 0.60], [0.50, 0.40, 0.45],
                      [0.95, 0.90, 0.91], [0.66, 0.61, 0.60]])  # fmt: skip
    scores = {(f"t{i}", s): {0: float(v)} for i, row in enumerate(means)
              for s, v in zip("abc", row, strict=True)}  # fmt: skip
    result = friedman(average_ranks(scores))
    expected = sps.friedmanchisquare(*means.T)
    assert (result.statistic, result.p_value) == (expected.statistic, expected.pvalue)
    assert (result.tasks, result.strategies, result.df, result.note) == (5, 3, 2, "")
    assert result.rejects == (expected.pvalue < 0.05)
    assert friedman(average_ranks(scores), alpha=0.5).rejects
    two = friedman(average_ranks({("x", "a"): {0: 0.1}, ("x", "b"): {0: 0.2},
                                  ("y", "a"): {0: 0.1}, ("y", "b"): {0: 0.2}}))  # fmt: skip
    assert math.isnan(two.p_value) and "at least 3 strategies" in two.note and not two.rejects
    ties = {(t, s): {0: 0.5} for t in "xy" for s in "abc"}
    assert friedman(average_ranks(ties)).note == "every task ties every strategy"


def test_friedman_is_said_before_the_critical_difference(synthetic) -> None:
    from dataclasses import replace

    from nasbench.analysis.stats import Friedman

    report = build_report(synthetic)
    md = format_stats(report)  # one ranked task (t2): no Friedman test
    assert "Friedman test: not run (needs at least 3 strategies and 2 tasks, got 3 and 1)" in md
    assert md.index("Friedman test") < md.index("Nemenyi test")
    calm = replace(report, friedman=Friedman(4, 3, 1.5, 2, 0.47, 0.05, False, ""))
    assert ("Friedman test over the 4 tasks as blocks: chi-square 1.500, df 2, p 0.47: no "
            "difference between the mean ranks at alpha = 0.05, so the critical-difference "
            "diagram below is not evidence of any difference.") in format_stats(calm)  # fmt: skip
    loud = replace(report, friedman=Friedman(4, 3, 9.5, 2, 0.0087, 0.05, True, ""))
    assert "p 0.0087: the mean ranks differ at alpha = 0.05." in format_stats(loud)


def surrogate_folder(root: Path, surrogate: str) -> Path:
    cfg = config("s", "surrogate", [["benchmark", "chain-mnist1d"], ["surrogate", surrogate]],
                 sparsity=0.8)  # fmt: skip
    for seed in range(2):
        write(root, "s", "a", seed, [(1.0, 0.90 + 0.01 * seed)], cfg)
        write(root, "s", "random", seed, [(1.0, 0.88)], cfg)
    return root


def test_regret_to_the_table_and_to_the_surrogates_reachable_maximum(tmp_path, monkeypatch) -> None:
    from nasbench.tables import surrogate_benchmark

    calls = []

    def reachable(table: str, surrogate: str, sparsity: float | None = None) -> float | None:
        calls.append((table, surrogate, sparsity))
        return 0.95 if (table, surrogate, sparsity) == ("chain-mnist1d", "gin", 0.8) else None

    monkeypatch.setattr(surrogate_benchmark, "reachable_max", reachable, raising=False)
    folder = surrogate_folder(tmp_path / "gin", "gin")
    table = table_reference(config("s", "surrogate", [["benchmark", "chain-mnist1d"]], 0.8), 1.0)
    assert table is not None
    rows = build_report(folder).scores
    a = rows[0]
    assert (a.regret_ref, a.table_best_acc, a.ref_test_acc) == ("table", table, table)
    assert (a.reachable_acc, a.reachable_surrogate) == (0.95, "gin")
    assert a.regret_reachable_mean == pytest.approx(0.95 - 0.905)
    assert a.regret_mean == pytest.approx(table - 0.905) and ("chain-mnist1d", "gin", 0.8) in calls
    md = format_stats(build_report(folder))
    assert f"Regret references: table best {100 * table:.2f}%; surrogate reachable maximum " \
           "95.00% (gin)." in md  # fmt: skip
    assert "| regret to reachable (%) |" in md and "| 4.50 |" in md
    # "best" resolves as the evaluator resolves it; no value stored: unknown, no column
    best = surrogate_folder(tmp_path / "best", "best")
    named = surrogate_benchmark.surrogate_choice("chain-mnist1d", "best")[0]
    monkeypatch.setattr(surrogate_benchmark, "reachable_max", lambda t, s, sparsity=None: None)
    report = build_report(best)
    assert {(r.reachable_surrogate, math.isnan(r.reachable_acc)) for r in report.scores} == {
        (named, True)}  # fmt: skip
    md = format_stats(report)
    assert f"surrogate reachable maximum unknown ({named})" in md and "to reachable" not in md
    # an older reachable_max without sparsity: asked for the table's maximum over levels
    monkeypatch.setattr(surrogate_benchmark, "reachable_max", lambda t, s: 0.97)
    assert build_report(best).scores[0].reachable_acc == 0.97
    monkeypatch.delattr(surrogate_benchmark, "reachable_max")  # not there yet: unknown
    assert math.isnan(build_report(best).scores[0].reachable_acc)
    # a task that is not a surrogate benchmark has no reachable maximum
    assert reachable_reference(config("t", "train")) == (None, "")


PLUGIN = """
from pathlib import Path
Path(__file__).with_name("imported.txt").write_text("imported")
class Evil:
    def evaluate(self, *args):
        raise AssertionError
"""


def test_reading_records_never_imports_what_they_name(tmp_path, monkeypatch) -> None:
    import sys

    (tmp_path / "nb_evil_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin = config("p", "nb_evil_plugin:Evil")
    surrogate = config("q", "surrogate", [["benchmark", "chain-mnist1d"],
                                          ["surrogate", "nb_evil_plugin:Evil"]], 0.8)  # fmt: skip
    for seed in range(2):
        for strategy in ("a", "b"):
            write(tmp_path / "res", "p", strategy, seed, [(1.0, 0.5 + 0.1 * seed)], plugin)
            write(tmp_path / "res", "q", strategy, seed, [(1.0, 0.5 + 0.1 * seed)], surrogate)
    rows = {r.task: r for r in build_report(tmp_path / "res").scores}
    assert not (tmp_path / "imported.txt").exists() and "nb_evil_plugin" not in sys.modules
    assert rows["p"].regret_ref == "observed" and math.isnan(rows["p"].table_best_acc)
    assert rows["q"].regret_ref == "table" and math.isnan(rows["q"].reachable_acc)
    assert rows["q"].reachable_surrogate == "nb_evil_plugin:Evil"
    assert table_reference(plugin, 1.0) is None


def test_the_same_records_give_byte_identical_reports(versus) -> None:
    np.random.seed(1)  # noqa: NPY002  (the report must not depend on global state)
    first = build_report(versus)
    np.random.seed(2)  # noqa: NPY002
    second = build_report(versus)
    assert stats_json(first) == stats_json(second) and format_stats(first) == format_stats(second)
