"""Figures: the numbers each figure shows (on synthetic runs with known values) and the files."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pytest

from nasbench.analysis.plots import (
    load_runs,
    pareto_points,
    plot_pareto,
    plot_sparsity,
    regret_curves,
    sparsity_sweep,
)
from nasbench.cli.main import main
from nasbench.core.errors import NasbenchError
from nasbench.core.types import RunMeta, TrialRecord
from nasbench.engine.records import write_run

NAN = math.nan


def trial(cost: float, val: float, test: float, *, feasible: bool = True, status: str = "ok",
          latency: float = 1.0, params_m: float = 0.1, macs_m: float = 2.0, sparsity: float = 0.0,
          extra: tuple[tuple[str, float], ...] = ()) -> dict:  # fmt: skip
    return dict(cost_s=cost, val_acc=val, test_acc=test, feasible=feasible, status=status,
                latency_ms=latency, params_m=params_m, macs_m=macs_m, sparsity=sparsity,
                extra=extra)  # fmt: skip


def write(folder: Path, task: str, strategy: str, seed: int, trials: list[dict],
          sparsity: float = 0.0, space: str = "chain", overrides: list | None = None) -> None:  # fmt: skip
    """One run record as the runner would write it: cumulative cost, incumbent = best feasible
    ok validation accuracy so far; the budget's sparsity and the task config in the metadata."""
    records, best, cum = [], None, 0.0
    for i, t in enumerate(trials):
        cum += t["cost_s"]
        if t["feasible"] and t["status"] == "ok" and (best is None or t["val_acc"] > best[1]):
            best = (i, t["val_acc"], t["test_acc"])
        inc, inc_val, inc_test = best if best else (-1, NAN, NAN)
        records.append(TrialRecord(
            suite="s", task=task, space=space, strategy=strategy, evaluator="tabular", seed=seed,
            trial=i, arch=f"a{i}", key=f"a{i}", fidelity=1.0, objective=t["val_acc"],
            cum_cost_s=cum, incumbent_trial=inc, incumbent_arch=f"a{inc}",
            incumbent_val_acc=inc_val, incumbent_test_acc=inc_test, overhead_wall_s=0.0,
            eval_wall_s=0.0, **t,
        ))  # fmt: skip
    config = {"budget": {"sparsity": sparsity, "cost_s": 100},
              "task": {"label": task, "space": space, "evaluator": "tabular"}}  # fmt: skip
    if overrides is not None:  # a task's own budget fields, as the suite's resolved config has
        config["task"]["budget"] = overrides
    meta = RunMeta("s", f"{task}__{strategy}__seed{seed}", task, strategy, seed,
                   json.dumps(config), "cost_s", len(trials), "0", "3", "os", "x", "now", 0.0)  # fmt: skip
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    write_run(folder / "runs" / f"{meta.run_id}.parquet", records, meta)


@pytest.fixture(scope="module")
def regret_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("regret")
    write(folder, "t", "a", 0, [trial(10, 0.5, 0.6), trial(10, 0.7, 0.8)])  # costs 10, 20
    write(folder, "t", "a", 1, [trial(15, 0.6, 0.7), trial(15, 0.4, 0.9)])  # 15, 30; keeps 0.7
    write(folder, "t", "a", 2, [trial(5, 0.9, 0.99, feasible=False), trial(20, 0.5, 0.75)])
    write(folder, "t", "b", 0, [trial(40, 0.9, 0.85)])  # the task's best final: ref 0.85
    return folder


def test_regret_median_and_quartiles_over_seeds(regret_folder) -> None:
    curve_a, curve_b = regret_curves(regret_folder)
    assert (curve_a.task, curve_a.strategy, curve_a.seeds, curve_a.ref) == ("t", "a", 3, 0.85)
    assert curve_a.cost_s.tolist() == [5, 10, 15, 20, 25, 30]
    # regret per seed at those costs (inf: no incumbent yet):
    #   seed 0: inf .25 .25 .05 .05 .05;  seed 1: inf inf .15 .15 .15 .15;
    #   seed 2: inf inf inf inf .10 .10 (its first, infeasible evaluation never counts)
    # a quantile that interpolates towards a seed without an incumbent is undefined (NaN)
    close = {"abs": 1e-12, "nan_ok": True}
    assert curve_a.median == pytest.approx([NAN, NAN, 0.25, 0.15, 0.10, 0.10], **close)
    assert curve_a.q25 == pytest.approx([NAN, NAN, 0.20, 0.10, 0.075, 0.075], **close)
    assert curve_a.q75 == pytest.approx([NAN, NAN, NAN, NAN, 0.125, 0.125], **close)
    assert curve_b.cost_s.tolist() == [40] and curve_b.median.tolist() == pytest.approx([0.0])
    # at most 3 points: log-spaced from 5 to 30 s, the step functions read there
    thin, _ = regret_curves(regret_folder, points=3)
    assert thin.cost_s == pytest.approx([5.0, math.sqrt(5 * 30), 30.0])
    assert thin.median == pytest.approx([NAN, NAN, 0.10], **close)


def test_regret_against_a_given_reference(regret_folder) -> None:
    curve_a, _ = regret_curves(regret_folder, ref={"t": 0.95})
    assert curve_a.ref == 0.95
    assert curve_a.median[2:] == pytest.approx([0.35, 0.25, 0.20, 0.20])
    with pytest.raises(NasbenchError, match="no reference accuracy for task 't'; given: u"):
        regret_curves(regret_folder, ref={"u": 0.9})


def test_pareto_points_pool_seeds_and_keep_feasible_ok_evaluations(tmp_path) -> None:
    write(tmp_path, "t", "a", 0, [
        trial(1, 0.6, 0.6, latency=2.0, params_m=0.2, sparsity=0.5),  # 100,000 nonzero
        trial(1, 0.9, 0.9, latency=1.0, feasible=False),  # infeasible: left out
        trial(1, NAN, NAN, latency=0.5, status="failed"),  # failed: left out
        trial(1, 0.8, 0.8, latency=NAN, params_m=0.4, sparsity=0.75),  # no latency: 100,000
    ])  # fmt: skip
    write(tmp_path, "t", "a", 1, [
        trial(1, 0.7, 0.7, latency=3.0, params_m=0.1),  # 100,000 nonzero (dense)
        trial(1, 0.5, 0.5, latency=1.5, params_m=1.0, extra=(("nonzero_params", 5e4),)),
    ])  # fmt: skip
    (lat,) = pareto_points(tmp_path, "latency_ms")
    assert lat.points.tolist() == [[0.6, 2.0], [0.7, 3.0], [0.5, 1.5]]
    assert lat.front.tolist() == [[0.5, 1.5], [0.6, 2.0], [0.7, 3.0]]
    (size,) = pareto_points(tmp_path, "nonzero_params")
    # seed 0 has no nonzero_params column (estimated from params and sparsity); seed 1 has one,
    # NaN where a record lacks it
    assert size.points.ravel() == pytest.approx([0.6, 1e5, 0.8, 1e5, 0.5, 5e4])
    assert size.front.ravel() == pytest.approx([0.5, 5e4, 0.8, 1e5])
    with pytest.raises(NasbenchError, match="unknown Pareto objective 'flops'; valid: lat"):
        pareto_points(tmp_path, "flops")


def sweep_folders(root: Path) -> list[Path]:
    """Two suites: target sparsity 0 (tasks c-s0 and other) and 0.5 (task c-s50)."""
    dense, sparse = root / "dense", root / "sparse"
    for strategy, shift in (("a", 0.0), ("b", -0.1)):
        write(dense, "c-s0", strategy, 0, [trial(1, 0.8, 0.9 + shift, params_m=0.2, macs_m=4.0)])
        write(dense, "c-s0", strategy, 1, [trial(1, 0.8, 0.7 + shift, params_m=0.4, macs_m=4.0)])
        write(dense, "other", strategy, 0, [trial(1, 0.5, 0.5 + shift)], space="cell")
        write(sparse, "c-s50", strategy, 0, [
            trial(1, 0.6, 0.6 + shift, params_m=0.2, macs_m=2.0, sparsity=0.5),
            trial(1, 0.7, 0.8 + shift, params_m=0.4, macs_m=2.0, sparsity=0.5),  # the final
        ], sparsity=0.5)  # fmt: skip
        write(sparse, "c-s50", strategy, 1, [trial(1, 0.1, 0.2, feasible=False)], sparsity=0.5)
    return [dense, sparse]


def test_sparsity_sweep_means_over_seeds_per_target(tmp_path) -> None:
    points = sparsity_sweep(sweep_folders(tmp_path))
    rows = [(p.problem, p.strategy, p.sparsity, p.seeds) for p in points]
    assert rows == [("c-s0, c-s50", "a", 0.0, 2), ("c-s0, c-s50", "a", 0.5, 2),
                    ("c-s0, c-s50", "b", 0.0, 2), ("c-s0, c-s50", "b", 0.5, 2),
                    ("other", "a", 0.0, 1), ("other", "b", 0.0, 1)]  # fmt: skip
    dense_a, sparse_a = points[0], points[1]
    assert dense_a.test_acc == pytest.approx((0.8, math.sqrt(0.02)))  # 0.9 and 0.7
    assert dense_a.nonzero_params == pytest.approx((3e5, math.sqrt(2e10)))
    assert dense_a.effective_macs == pytest.approx((4e6, 0.0))
    # seed 1 never found a feasible architecture: the mean is seed 0's final incumbent alone
    assert sparse_a.test_acc == pytest.approx((0.8, 0.0))
    assert sparse_a.nonzero_params == pytest.approx((2e5, 0.0))  # 0.4 M at half density
    assert sparse_a.effective_macs == pytest.approx((1e6, 0.0))
    assert points[3].test_acc == pytest.approx((0.7, 0.0))


def test_sparsity_figure_is_skipped_with_one_level(regret_folder, tmp_path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="nasbench.analysis.plots"):
        assert plot_sparsity(regret_folder, tmp_path / "sparsity") == []
    assert "one target sparsity per problem (0): no sparsity figure" in caplog.text
    assert list(tmp_path.iterdir()) == []


def test_plot_command_writes_every_figure(tmp_path, capsys) -> None:
    folders = sweep_folders(tmp_path)
    assert main(["plot", *map(str, folders)]) == 0
    out, err = capsys.readouterr()
    stems = ["regret", "pareto_latency_ms", "pareto_nonzero_params", "sparsity", "ranks",
             "critical_difference"]  # fmt: skip
    expected = [folders[0] / "plots" / f"{s}.{f}" for s in stems for f in ("png", "pdf")]
    assert out.split() == [str(p) for p in expected] and err == ""
    for path in expected:
        head = path.read_bytes()[:8]
        assert head == (b"\x89PNG\r\n\x1a\n" if path.suffix == ".png" else b"%PDF-1.4")
        assert path.stat().st_size > 5000


def test_plot_command_bad_input_is_one_line(tmp_path, capsys) -> None:
    missing = tmp_path / "missing"
    assert main(["plot", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"nasbench: error: no run records in {missing / 'runs'}\n"
    write(tmp_path / "r", "t", "a", 0, [trial(1, 0.5, 0.5)])
    assert main(["plot", str(tmp_path / "r"), "--formats", "png,jpg"]) == 2
    assert capsys.readouterr().err == (
        "nasbench: error: unknown figure format jpg; valid: png, pdf, svg\n"
    )
    assert not (tmp_path / "r" / "plots").exists()


def test_load_runs_reads_the_target_sparsity_and_problem(tmp_path) -> None:
    runs = load_runs(sweep_folders(tmp_path))
    by_task = {(r.meta.task, r.meta.strategy, r.meta.seed): r for r in runs}
    assert by_task[("c-s50", "a", 0)].target_sparsity == 0.5
    assert by_task[("c-s0", "a", 0)].target_sparsity == 0.0
    assert by_task[("c-s50", "a", 0)].problem == by_task[("c-s0", "b", 1)].problem
    assert by_task[("other", "a", 0)].problem != by_task[("c-s0", "a", 0)].problem


def test_sparsity_levels_set_by_task_budgets_form_one_problem(tmp_path) -> None:
    """Tasks that differ only in their own budget's sparsity (``budget = { sparsity = 0.5 }``)
    are one problem at several levels; another budget field keeps problems apart."""
    for level in (0.0, 0.5):
        own = [["cost_s", 150], ["sparsity", level]]
        write(tmp_path, f"c-{level}", "a", 0, [trial(1, 0.9, 0.9, sparsity=level)], level,
              overrides=own)  # fmt: skip
    write(tmp_path, "d", "a", 0, [trial(1, 0.9, 0.9)], 0.5, overrides=[["cost_s", 99]])
    points = sparsity_sweep(tmp_path)
    assert [(p.problem, p.sparsity) for p in points] == [("c-0.0, c-0.5", 0.0),
                                                         ("c-0.0, c-0.5", 0.5), ("d", 0.5)]  # fmt: skip


def test_figures_are_reproducible_files(tmp_path) -> None:
    from nasbench.analysis.plots import plot_ranks
    from nasbench.analysis.stats import Ranks

    ranks = Ranks(["t1", "t2"], ["a", "b", "c"], np.array([[1, 2.5, 2.5], [3, 1, 2]]),
                  np.array([2.0, 1.75, 2.25]))  # fmt: skip
    first = plot_ranks(ranks, tmp_path / "one", ["png", "pdf", "svg"])
    second = plot_ranks(ranks, tmp_path / "two", ["png", "pdf", "svg"])
    assert [p.name for p in first] == ["one.png", "one.pdf", "one.svg"]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert b"CreationDate" not in first[1].read_bytes()


def test_pareto_figure_is_skipped_without_latency(tmp_path, caplog) -> None:
    write(tmp_path, "t", "a", 0, [trial(1, 0.5, 0.5, latency=NAN)])
    with caplog.at_level(logging.INFO, logger="nasbench.analysis.plots"):
        assert plot_pareto(tmp_path, tmp_path / "pareto", "latency_ms") == []
    assert "no feasible evaluation with a latency_ms value: no Pareto figure" in caplog.text


def test_the_regret_axis_has_no_decade_only_a_band_enters() -> None:
    """Medians from 0.15 up, a quartile band down to 0.0013 and 0: symlog, linear below 0.1
    (the decade of the smallest median), so 0.01 and 0.001 get no decade of their own; a band
    less than a decade below the medians: a plain log axis starting just below the data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nasbench.analysis.plots import _regret_axis

    fig, ax = plt.subplots()
    medians = np.array([80.0, 2.0, 0.6, 0.15])
    _regret_axis(ax, np.concatenate([medians, [0.0013, 0.0, 3.0]]), medians)
    assert ax.get_yscale() == "symlog"
    assert ax.yaxis.get_transform().linthresh == 0.1
    assert ax.get_ylim() == (0.0, pytest.approx(80.0 * 1.3))
    fig2, ax2 = plt.subplots()
    _regret_axis(ax2, np.concatenate([medians, [0.12, 3.0]]), medians)
    assert ax2.get_yscale() == "log"
    assert ax2.get_ylim() == (pytest.approx(0.12 / 1.3), pytest.approx(80.0 * 1.3))
    fig3, ax3 = plt.subplots()  # a tail more than a decade below the medians, but no zero
    _regret_axis(ax3, np.concatenate([medians, [0.0013, 3.0]]), medians)
    assert ax3.get_yscale() == "symlog" and ax3.get_ylim()[0] == 0.0
    for f in (fig, fig2, fig3):
        plt.close(f)


def test_the_regret_figure_starts_where_a_median_does(tmp_path, monkeypatch) -> None:
    """Two of three seeds find an incumbent only at 100 s: the median starts there, and so does
    the cost axis (not at the 10 s of the one early seed)."""
    import matplotlib

    matplotlib.use("Agg")
    from nasbench.analysis import plots

    folder = tmp_path / "res"
    write(folder, "t", "random", 0, [trial(10.0, 0.5, 0.5), trial(90.0, 0.6, 0.6)])
    for seed in (1, 2):
        write(folder, "t", "random", seed, [trial(100.0, 0.5, 0.5), trial(50.0, 0.7, 0.7)])
    seen = {}

    def keep(fig, axes, stem, formats):
        seen["xlim"] = axes[0].get_xlim()
        return []

    monkeypatch.setattr(plots, "_save", keep)
    plots.plot_regret([folder], tmp_path / "regret")
    assert seen["xlim"][0] == pytest.approx(100.0 / 1.2)


def test_per_task_figures_are_one_file_each(tmp_path, capsys) -> None:
    """``nasbench plot --per-task``: the regret (and Pareto) figures once per task, in files named
    after the task (characters outside ``[A-Za-z0-9._-]`` as ``_``), one panel each; the rank
    figures stay whole; a second call refuses to overwrite unless asked."""
    import matplotlib

    matplotlib.use("Agg")
    from nasbench.analysis import plots

    folder = tmp_path / "res"
    for task in ("cell", "nb201+c10"):
        for strategy, acc in (("a", 0.5), ("b", 0.7)):
            for seed in (0, 1):
                write(folder, task, strategy, seed, [trial(10.0 + seed, acc, acc + 0.01 * seed)])
    out = tmp_path / "figs"
    assert main(["plot", str(folder), "--out", str(out), "--formats", "png", "--per-task"]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert "regret-cell.png" in written and "regret-nb201_c10.png" in written
    assert "regret.png" not in written and "ranks.png" in written
    assert plots.task_stem("pareto_latency_ms", "a b/c") == "pareto_latency_ms-a_b_c"
    capsys.readouterr()
    assert main(["plot", str(folder), "--out", str(out), "--formats", "png", "--per-task"]) == 2
    assert "regret-cell.png" in capsys.readouterr().err


def test_a_strategy_keeps_its_colour_in_every_per_task_figure(tmp_path, monkeypatch) -> None:
    """Task "one" has strategies a, b, c; task "two" only c: c is drawn in the same colour and
    line style in both per-task regret figures (its place among all strategies of the call)."""
    import matplotlib

    matplotlib.use("Agg")
    from nasbench.analysis import plots

    folder = tmp_path / "res"
    for task, names in (("one", "abc"), ("two", "c")):
        for strategy in names:
            for seed in (0, 1):
                write(folder, task, strategy, seed, [trial(10.0 + seed, 0.5, 0.5 + 0.01 * seed)])
    drawn: dict[str, dict[str, tuple]] = {}

    def keep(fig, axes, stem, formats):
        if stem.name.startswith("regret-"):
            drawn[stem.name] = {line.get_label(): (line.get_color(), line.get_linestyle())
                                for line in axes[0].get_lines()}  # fmt: skip
        return []

    monkeypatch.setattr(plots, "_save", keep)
    plots.plot_all([folder], tmp_path / "figs", formats=("png",), per_task=True)
    assert drawn["regret-one"]["c"] == drawn["regret-two"]["c"]
    from nasbench.analysis.figure_style import LINE_STYLES, OKABE_ITO

    assert drawn["regret-one"]["c"] == (OKABE_ITO[2], LINE_STYLES[2])
