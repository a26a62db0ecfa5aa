"""Surrogate benchmarks: held-out quality, the surrogate evaluator, and the CLI commands."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from nasbench.cli.main import main
from nasbench.core.errors import NasbenchError
from nasbench.core.registry import evaluators, spaces, surrogates
from nasbench.core.surrogate import InputKind, Prediction, SurrogateInput, vectors
from nasbench.engine.runner import run
from nasbench.engine.suite import parse_suite
from nasbench.tables import surrogate_benchmark, tablebuild
from nasbench.tables.benchmarks import load_benchmark
from nasbench.tables.surrogate_benchmark import (
    CHOICES,
    HALF_NORMAL_MEDIAN,
    quality,
    reachable_max,
    read_best_file,
    split,
    surrogate_choice,
    surrogate_family,
    table_data,
)
from nasbench.tables.tablebuild import build_table
from tests.helpers import SURROGATE_SPEC as SPEC
from tests.helpers import surrogate_fake_run as fake_run

RF = {"n_estimators": 30}
TOY_SD = 0.04 / (np.sqrt(2) * HALF_NORMAL_MEDIAN)  # every two-seed row differs by exactly 0.04


@pytest.fixture(scope="module")
def toy_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tables") / "toy-chain.parquet"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tablebuild, "train_run", fake_run)
        build_table(SPEC, out, n=20, sparsities=(0.0, 0.8), seeds=2)
        build_table(SPEC, out, n=80, sparsities=(0.0, 0.8), seeds=1)
    return out


def test_split_holds_out_whole_architectures(toy_table: Path) -> None:
    data = table_data(load_benchmark(toy_table))
    assert len(data) == 160 and data.levels == (0.0, 0.8)
    train, test = split(data, 30, seed=0, max_test=None)
    assert len(train) == 60 and len(test) == 100
    assert not set(data.arch_ids[train]) & set(data.arch_ids[test])
    again = split(data, 30, seed=0, max_test=None)
    assert np.array_equal(train, again[0]) and not np.array_equal(
        train, split(data, 30, 1, None)[0]
    )
    with pytest.raises(NasbenchError, match="train size"):
        split(data, 80, seed=0, max_test=None)


def test_seed_noise_is_the_tables_spread(toy_table: Path) -> None:
    model = table_data(load_benchmark(toy_table)).noise_model()
    assert model.levels == (0.0, 0.8) and all(len(c) == 1 for c in model.centres)  # 20 rows
    for level in (0.0, 0.4, 0.8):
        assert model.std(np.array([0.3, 0.6, 0.9]), level) == pytest.approx([TOY_SD] * 3)


def test_quality_on_nb201_beats_chance_and_grows_with_data() -> None:
    data = table_data(load_benchmark("nb201-cifar10"))
    small = quality(data, "random_forest", RF, train_size=50, seed=0, max_test=2000)
    large = quality(data, "random_forest", RF, train_size=500, seed=0, max_test=2000)
    assert 0.2 < small.kendall < large.kendall and large.kendall > 0.6
    assert large.spearman > large.kendall and 0.5 < large.r2 <= 1.0
    assert 0.0 <= large.coverage_68 <= large.coverage_95 <= 1.0
    assert large.test_rows == 2000 and large.fit_s > 0 and large.predictions_per_s > 0
    same = quality(data, "random_forest", RF, train_size=500, seed=0, max_test=2000)
    assert same.kendall == large.kendall  # bit-identical for the same seed


@pytest.mark.parametrize("table", ["cell-mnist1d", "multibranch-mnist1d"])
def test_gaussian_process_learns_the_wide_encodings(table: str) -> None:
    # with absolute length-scale bounds the optimiser settled at the floor on these encodings
    # (169 and 57 features) and predicted the training mean everywhere: Kendall tau undefined
    data = table_data(load_benchmark(table))
    gp = {"n_restarts": 0}
    result = quality(data, "gaussian_process", gp, train_size=100, seed=0, max_test=1000)
    assert result.kendall > 0.3 and result.r2 > 0.1


def test_evaluator_answers_unseen_archs_at_any_sparsity(toy_table: Path) -> None:
    space = spaces.create("chain", max_layers=3)
    ev = evaluators.create("surrogate", space=space, benchmark=str(toy_table),
                           surrogate="random_forest", surrogate_params=RF, sparsity=0.4)  # fmt: skip
    recorded = set(load_benchmark(toy_table).arch)
    rng = np.random.default_rng(5)
    unseen = next(a for a in (space.sample(rng) for _ in range(500)) if a.text not in recorded)
    m = ev.evaluate(unseen, ev.default_fidelity, np.random.default_rng(0))
    assert str(m.status) == "ok" and 0.0 <= m.val_acc <= 1.0 and m.val_acc_std >= 0
    assert m.params == space.counts(unseen, ev._task).params and m.sparsity == 0.4
    assert m.nonzero_params == pytest.approx(0.6 * m.params, rel=0.1)
    assert 4.0 < m.cost_s < 13.0 and m.latency_ms != m.latency_ms  # no device: nan
    again = ev.evaluate(unseen, ev.default_fidelity, np.random.default_rng(0))
    assert again == m
    draws = [ev.evaluate(unseen, 2.0, np.random.default_rng(k)).val_acc for k in range(400)]
    mean = ev.evaluate_many([unseen])["val"][0]
    assert np.mean(draws) == pytest.approx(mean, abs=0.01)
    assert np.std(draws) == pytest.approx(TOY_SD, rel=0.15)
    assert ev.evaluate_many([unseen])["noise_std"][0] == pytest.approx(TOY_SD)
    quiet = evaluators.create("surrogate", space=space, benchmark=str(toy_table),
                              surrogate="random_forest", surrogate_params=RF, noise=False)  # fmt: skip
    assert quiet.evaluate(unseen, 2.0, np.random.default_rng(1)).val_acc == pytest.approx(
        quiet.evaluate_many([unseen])["val"][0]
    )


def test_cost_and_latency_stay_in_the_recorded_range(toy_table: Path) -> None:
    """Fitted on three architectures, the linear cost model would extrapolate far (to near-zero
    costs that never exhaust a budget); answers are clipped to the table's recorded range."""
    space = spaces.create("chain", max_layers=3)
    ev = evaluators.create("surrogate", space=space, benchmark=str(toy_table), train_size=3,
                           surrogate="random_forest", surrogate_params=RF,
                           latency_device="cpu")  # fmt: skip
    rng = np.random.default_rng(2)
    ms = [ev.evaluate(space.sample(rng), 2.0, np.random.default_rng(0)) for _ in range(200)]
    costs = [m.cost_s for m in ms]
    assert min(costs) >= 5.0 - 1e-9 and max(costs) <= 11.0 + 1e-9  # fake: 5 + index % 7
    assert max(costs) - min(costs) > 3.0  # still a model, not a constant
    assert all(m.latency_ms == pytest.approx(0.5) for m in ms)


class Overshoot:
    """A surrogate that extrapolates without limit: the training mean plus a fixed linear
    function of the features, centred on the training inputs (answers below and above every
    label)."""

    input_kind = InputKind.VECTOR

    def fit(self, X: SurrogateInput, y: np.ndarray, rng: np.random.Generator) -> Overshoot:  # noqa: N803
        x = vectors(X)
        self.weights = np.linspace(-1.0, 1.0, x.shape[1])
        self.centre, self.mean = float((x @ self.weights).mean()), float(np.mean(y))
        return self

    def predict(self, X: SurrogateInput) -> Prediction:  # noqa: N803
        spread = vectors(X) @ self.weights - self.centre
        return Prediction(self.mean + spread, np.zeros(len(spread)))


def test_label_range_per_level_and_between(toy_table: Path) -> None:
    data = table_data(load_benchmark(toy_table))
    ends = {}
    for level in (0.0, 0.8):
        at = data.sparsity == level
        ends[level] = ((data.val[at].min(), data.val[at].max()),
                       (data.test[at].min(), data.test[at].max()))  # fmt: skip
        assert data.label_range(level) == ends[level]
    middle = np.array(data.label_range(0.4))
    assert np.allclose(middle, (np.array(ends[0.0]) + np.array(ends[0.8])) / 2)
    assert data.label_range(0.9) == ends[0.8]  # beyond the outer level: the outer one's


def test_answers_stay_within_the_tables_labels(toy_table: Path) -> None:
    """With ``bound = "table"`` a surrogate that extrapolates answers at most the best label the
    table recorded at the sparsity; ``"unit"``, the default, keeps its raw answer in [0, 1]."""
    space = spaces.create("chain", max_layers=3)
    rng = np.random.default_rng(3)
    archs = [space.sample(rng) for _ in range(300)]
    data = table_data(load_benchmark(toy_table))
    made = {b: evaluators.create("surrogate", space=space, benchmark=str(toy_table), bound=b,
                                 surrogate="tests.test_surrogate_benchmark:Overshoot",
                                 sparsity=0.8, noise=False)
            for b in ("table", "unit")}  # fmt: skip
    raw, bounded = (made[b].evaluate_many(archs) for b in ("unit", "table"))
    default = evaluators.create(
        "surrogate",
        space=space,
        benchmark=str(toy_table),
        sparsity=0.8,
        surrogate="tests.test_surrogate_benchmark:Overshoot",
        noise=False,
    )
    assert np.array_equal(default.evaluate_many(archs)["val"], raw["val"])
    (val_low, val_high), (test_low, test_high) = data.label_range(0.8)
    assert raw["val"].max() > val_high + 0.1 and raw["val"].min() < val_low - 0.1
    assert np.array_equal(bounded["val"], np.clip(raw["val"], val_low, val_high))
    assert np.array_equal(bounded["test"], np.clip(raw["test"], test_low, test_high))
    inside = (raw["val"] > val_low) & (raw["val"] < val_high)
    assert 0 < inside.sum() < len(archs)  # the clip changes only what lies outside
    top = archs[int(np.argmax(raw["val"]))]
    m = {b: made[b].evaluate(top, 2.0, np.random.default_rng(0)) for b in made}
    assert m["table"].val_acc == val_high and m["table"].test_acc == test_high
    assert m["unit"].val_acc == 1.0  # the raw answer, clipped only to a valid accuracy
    with pytest.raises(NasbenchError, match=r"bound.*'label'.*valid: unit, table"):
        evaluators.create("surrogate", space=space, benchmark=str(toy_table), bound="label")


def test_evaluator_refuses_bad_settings(toy_table: Path) -> None:
    space = spaces.create("chain", max_layers=3)
    bad = [
        ({"sparsity": 0.9}, "outside the range"),
        ({"surrogate": "nope"}, "nope"),
        ({"latency_device": "pixel3"}, "pixel3"),
    ]
    for params, match in bad:
        with pytest.raises(NasbenchError, match=match):
            evaluators.create("surrogate", space=space, benchmark=str(toy_table), **params)
    with pytest.raises(NasbenchError, match="max_layers"):
        evaluators.create("surrogate", space=spaces.create("chain"), benchmark=str(toy_table))


def test_suite_through_the_surrogate_evaluator_is_reproducible() -> None:
    suite = parse_suite("""
[suite]
name = "s"
seeds = 1
[budget]
evaluations = 15
latency_ms = 20.0
latency_device = "pixel3"
[[task]]
space = "nb201"
evaluator = "surrogate"
surrogate = "random_forest"
surrogate_params = { n_estimators = 20 }
train_size = 300
[[strategy]]
name = "regularized_evolution"
population = 5
sample_size = 2
""")
    spec = suite.specs()[0]
    a, b = run(spec, 3), run(spec, 3)
    assert len(a.records) == 15
    vals = [r.val_acc for r in a.records]
    assert vals == [r.val_acc for r in b.records] and len(set(vals)) > 5
    assert all(r.latency_ms > 0 for r in a.records)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_lists_and_evaluates_surrogates(capsys, toy_table: Path) -> None:
    code, out, _ = cli(capsys, "surrogates", "--json")
    listed = [json.loads(line)["name"] for line in out.splitlines()]
    assert code == 0 and listed == surrogates.names() and "gin" in listed
    code, out, _ = cli(capsys, "surrogate-eval", "--benchmark", str(toy_table), "--surrogate",
                       "random_forest", "--param", "n_estimators=20", "--train-sizes", "20,50",
                       "--json")  # fmt: skip
    rows = json.loads(out)
    assert code == 0 and [r["train_archs"] for r in rows] == [20, 50]
    assert {"kendall", "spearman", "r2", "coverage_68", "coverage_95", "fit_s",
            "predictions_per_s"} <= set(rows[0])  # fmt: skip
    assert rows[1]["kendall"] > 0.5
    for argv, match in [
        (["--surrogate", "nope"], "nope"),
        (["--surrogate", "random_forest", "--train-sizes", "0"], "train size"),
        (["--surrogate", "random_forest", "--benchmark", "nope"], "nope"),
    ]:
        code, _, err = cli(capsys, "surrogate-eval", *argv)
        assert code == 2 and match in err and len(err.strip().splitlines()) == 1


# ---- recorded choices: best, second, reachable maxima ---------------------------------------
def test_second_is_the_best_of_another_family() -> None:
    recorded = read_best_file()
    assert set(recorded) >= {"cell-mnist1d", "chain-mnist1d", "hierarchical-mnist1d",
                             "multibranch-mnist1d", "nb201-cifar10"}  # fmt: skip
    for table, entry in recorded.items():
        best, second = (entry[w] for w in CHOICES)
        assert surrogate_family(best["surrogate"]) != surrogate_family(second["surrogate"])
        assert best["kendall"] >= second["kendall"] > 0.5
        assert surrogate_choice(table, "second") == (second["surrogate"], second["params"])
    assert surrogate_choice("multibranch-mnist1d", "best")[0] == "gradient_boosting"
    assert surrogate_choice("multibranch-mnist1d", "second")[0] == "gin"  # not random_forest
    assert surrogate_choice("nb201-cifar10", "random_forest") == ("random_forest", {})
    assert surrogate_family("sklearn", {"estimator": "sklearn.linear_model:Ridge"}) != "trees"


@pytest.fixture
def best_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "best_surrogates.json"
    path.write_text(json.dumps({
        "toy-chain": {
            "best": {"surrogate": "random_forest", "params": RF, "kendall": 0.7},
            "second": {"surrogate": "gaussian_process", "params": {"n_restarts": 0},
                       "kendall": 0.6},
            "reachable": {"random_forest": {"test": {"0.0": 0.93, "0.8": 0.81},
                                            "test_sampled": {"0.0": 0.9, "0.8": 0.8}}},
        },
        "legacy": {"surrogate": "gin", "params": {}, "kendall": 0.6},
    }))  # fmt: skip
    monkeypatch.setattr(surrogate_benchmark, "BEST_FILE", path)
    return path


def test_evaluator_takes_best_second_or_a_name(best_file: Path, toy_table: Path) -> None:
    space = spaces.create("chain", max_layers=3)
    chosen = {which: evaluators.create("surrogate", space=space, benchmark=str(toy_table),
                                       surrogate=which) for which in (*CHOICES, "random_forest")}  # fmt: skip
    assert (
        chosen["best"].surrogate_name == "random_forest" and chosen["best"].surrogate_params == RF
    )
    assert chosen["second"].surrogate_name == "gaussian_process"
    assert chosen["random_forest"].surrogate_params == {}
    arch = space.sample(np.random.default_rng(0))
    preds = {w: ev.evaluate_many([arch])["val"][0] for w, ev in chosen.items()}
    assert preds["best"] != preds["second"]
    assert surrogate_choice("legacy", "best") == ("gin", {})  # the older flat form
    assert surrogate_choice("unknown-table", "best") == ("random_forest", {})
    with pytest.raises(NasbenchError, match="no second surrogate recorded for benchmark 'legacy'"):
        surrogate_choice("legacy", "second")


def test_reachable_max_reads_the_recorded_search(best_file: Path) -> None:
    assert reachable_max("toy-chain", "random_forest", 0.8) == 0.81
    assert reachable_max("toy-chain", "random_forest", 0.8000000001) == 0.81
    assert reachable_max("toy-chain", "random_forest") == 0.93  # the best level
    assert reachable_max("toy-chain", "best", 0.0) == 0.93
    assert reachable_max("toy-chain", "random_forest", 0.5) is None  # not a recorded level
    assert reachable_max("toy-chain", "random_forest", 0.8, sampled_only=True) == 0.8
    assert reachable_max("toy-chain", "best", sampled_only=True) == 0.9
    assert reachable_max("toy-chain", "second") is None  # not searched
    assert reachable_max("legacy", "second") is None and reachable_max("nope", "gin") is None


def test_kendall_top_ranks_within_the_best_fifth_of_each_level() -> None:
    from nasbench.tables.surrogate_benchmark import kendall_top

    y = np.arange(20, dtype=float)  # two levels of 10 rows; the best fifth of each: 2 rows
    levels = np.repeat([0.0, 0.8], 10)
    assert math.isnan(kendall_top(y, y, levels))  # 2 rows per level are too few to rank
    y = np.arange(40, dtype=float)
    levels = np.repeat([0.0, 0.8], 20)  # best fifth: 4 rows per level
    assert kendall_top(y, y, levels) == 1.0
    flipped = y.copy()
    flipped[16:20] = flipped[16:20][::-1]  # the top of level 0 reversed, level 0.8 exact
    assert kendall_top(y, flipped, levels) == 0.0  # mean of -1 and 1
    # the rest of the ordering does not matter: only the top rows are compared
    shuffled = np.concatenate([y[:16][::-1], y[16:20], y[20:36][::-1], y[36:]])
    assert kendall_top(y, shuffled, levels) == 1.0
