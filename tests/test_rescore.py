"""Re-scoring final incumbents with the table's other surrogate (issue 21, deliverable 4)."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from nasbench.analysis.report import read_runs
from nasbench.analysis.rescore import ReachableSearch, choose_surrogates, reachable_search, rescore
from nasbench.analysis.rescore import main as rescore_main
from nasbench.cli.main import main
from nasbench.core.errors import NasbenchError
from nasbench.engine.records import META_KEY, read_run
from nasbench.tables import surrogate_benchmark, tablebuild
from nasbench.tables.tablebuild import TableSpec, build_table

RF = {"n_estimators": 20}
Change = Callable[[dict[str, Any]], None]


def fake_run(spec_json: str, index: int, arch_text: str, sparsity: float, seed: int) -> dict:
    """A stand-in training run: accuracy grows with the 3-wide and 5-wide kernels, and two
    seeds differ by +-0.01."""
    space = TableSpec.from_json(spec_json).create_space()
    arch = space.parse(arch_text)
    val = 0.4 + 0.1 * arch.text.count("conv3") + 0.05 * arch.text.count("5") + 0.01 * (-1) ** seed
    return {
        "index": index, "arch": arch.text, "key": arch.key, "sparsity": sparsity, "seed": seed,
        "status": "ok", "val_acc": val, "test_acc": val - 0.02, "train_time_s": 2.0 + index % 3,
        "sparsity_measured": sparsity, "params": 1000, "nonzero_params": 1000, "macs": 5000,
        "effective_macs": 5000, "latency_ms": 0.5, "curve": [val / 2, val], "job_wall_s": 1.0,
        "host": "test",
    }  # fmt: skip


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A toy chain table (80 architectures, 20 with two seeds) and a suite run on it through
    ``surrogate = "best"``: random search and regularized evolution, 8 seeds each."""
    root = tmp_path_factory.mktemp("rescore")
    table = root / "toy-chain.parquet"
    best = root / "best_surrogates.json"
    best.write_text(json.dumps({"toy-chain": {
        "best": {"surrogate": "random_forest", "params": RF},
        "second": {"surrogate": "gaussian_process", "params": {"n_restarts": 0}},
    }}))  # fmt: skip
    suite = root / "suite.toml"
    suite.write_text(f"""
[suite]
name = "toy"
seeds = 8
[budget]
evaluations = 12
[[task]]
space = "chain"
space_params = {{ max_layers = 3 }}
evaluator = "surrogate"
benchmark = "{table}"
label = "toy"
[[strategy]]
name = "random"
[[strategy]]
name = "regularized_evolution"
population = 4
sample_size = 2
""")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tablebuild, "train_run", fake_run)
        mp.setattr(surrogate_benchmark, "BEST_FILE", best)
        build_table(TableSpec("chain", {"max_layers": 3}, epochs=2), table, n=20,
                    sparsities=(0.0,), seeds=2)  # fmt: skip
        build_table(TableSpec("chain", {"max_layers": 3}, epochs=2), table, n=80,
                    sparsities=(0.0,), seeds=1)  # fmt: skip
        argv = ["run", str(suite), "--out", str(root / "runs"), "--workers", "1", "--quiet"]
        assert main(argv) == 0  # one worker: in this process, which sees the patched file
    return root


@pytest.fixture
def best_file(toy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(surrogate_benchmark, "BEST_FILE", toy / "best_surrogates.json")
    return toy / "best_surrogates.json"


def test_the_same_surrogate_reproduces_the_records(toy: Path, best_file: Path) -> None:
    """Forced to re-score with the surrogate the runs used, every mean is the recorded one
    (bit for bit), the ranking and every verdict hold."""
    (task,), notes = rescore(read_runs(toy / "runs"), other="best")
    assert notes == [] and task.task == "toy" and task.used == task.other == "random_forest"
    assert [s.strategy for s in task.strategies] == ["random", "regularized_evolution"]
    for s in task.strategies:
        assert s.seeds == 8 and 0.3 < s.mean_used < 1.0 and s.mean_other == s.mean_used
    assert task.kendall_tau == 1.0 and task.same_best and task.verdicts == (1, 1)
    evo = task.strategies[1]
    assert evo.verdict_used == evo.verdict_other and evo.p_used == evo.p_other


def test_the_other_surrogate_is_the_second_of_another_family(toy: Path, best_file: Path) -> None:
    (task,), _ = rescore(read_runs(toy / "runs"))
    assert (task.used, task.used_family) == ("random_forest", "trees")
    assert (task.other, task.other_family) == ("gaussian_process", "gp")
    assert all(s.mean_other != s.mean_used and 0.0 <= s.mean_other <= 1.0 for s in task.strategies)
    assert task.strategies[0].verdict_used == ""  # the baseline is not judged against itself
    assert task.strategies[1].verdict_used in ("better", "worse", "n.s.")
    again = rescore(read_runs(toy / "runs"))[0][0]
    assert again == task  # deterministic


def test_cli_prints_and_writes_once(
    toy: Path, best_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    assert main(["report", str(toy / "runs"), "--rescore", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    written = (out / "rescore.md").read_text()
    assert "## Re-scored with the other surrogate" in printed and written in printed + "\n"
    assert "| toy | " in written and "random_forest (trees) | gaussian_process (gp)" in written
    for argv, match in [
        (["--rescore", "--out", str(out)], "refusing to overwrite"),
        (["--rescore", "--format", "csv"], "Markdown only"),
        (["--rescore", "--at", "5"], "goes alone"),
        (["--rescore", "--out", str(out / "rescore.md")], "is a file"),
    ]:
        assert main(["report", str(toy / "runs"), *argv]) == 2
        err = capsys.readouterr().err
        assert match in err and len(err.strip().splitlines()) == 1
    assert (out / "rescore.md").read_text() == written  # never overwritten
    assert main(["report", str(tmp_path / "none"), "--rescore"]) == 2


def _tampered(toy: Path, dest: Path, change: Change) -> Path:
    """A copy of one run record whose run spec went through ``change(spec)``."""
    (dest / "runs").mkdir(parents=True)
    source = sorted((toy / "runs" / "runs").glob("*.parquet"))[0]
    table, meta = read_run(source)
    spec = json.loads(meta.config_json)
    change(spec)
    meta = dataclasses.replace(meta, config_json=json.dumps(spec, sort_keys=True))
    table = table.replace_schema_metadata(
        {META_KEY: json.dumps(dataclasses.asdict(meta), sort_keys=True).encode()}
    )
    pq.write_table(table, dest / "runs" / source.name)
    return dest


def _set(key: str, value: object) -> Change:
    def change(spec: dict[str, Any]) -> None:
        if key in ("evaluator", "space"):
            spec["task"][key] = value
        else:
            params = dict(spec["task"]["evaluator_params"])
            params[key] = value
            spec["task"]["evaluator_params"] = sorted([k, v] for k, v in params.items())

    return change


@pytest.mark.parametrize(
    ("key", "value"),
    [("surrogate", "evil_module:Thing"), ("evaluator", "evil_module:Evaluator"),
     ("space", "evil_module:Space"), ("surrogate", "no_such_surrogate")],
)  # fmt: skip
def test_records_naming_code_are_refused_unimported(
    toy: Path, best_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], key: str, value: str,
) -> None:  # fmt: skip
    (tmp_path / "evil_module.py").write_text("raise SystemExit('imported!')\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # importable: only the refusal keeps it out
    folder = _tampered(toy, tmp_path / "evil", _set(key, value))
    with pytest.raises(NasbenchError, match="refusing"):
        rescore(read_runs(folder))
    assert main(["report", str(folder), "--rescore"]) == 2
    err = capsys.readouterr().err
    assert "refusing" in err and len(err.strip().splitlines()) == 1
    assert "evil_module" not in sys.modules


def test_parameters_naming_code_are_never_used(
    toy: Path, best_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record's surrogate parameters configure the run's own surrogate, which is never
    rebuilt: a run of the sklearn adapter naming an estimator class is re-scored by the table's
    best surrogate, importing nothing."""
    (tmp_path / "evil_module.py").write_text("raise SystemExit('imported!')\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def change(spec: dict[str, Any]) -> None:
        _set("surrogate", "sklearn")(spec)
        _set("surrogate_params", [["estimator", "evil_module:Thing"]])(spec)

    (task,), _ = rescore(read_runs(_tampered(toy, tmp_path / "evil", change)))
    assert task.used == "sklearn" and task.used_family == "sklearn:evil_module:Thing"
    assert task.other == "random_forest" and "evil_module" not in sys.modules


def test_runs_of_other_evaluators_are_left_out(toy: Path, best_file: Path, tmp_path: Path) -> None:
    folder = _tampered(toy, tmp_path / "tab", _set("evaluator", "tabular"))
    with pytest.raises(NasbenchError, match="no run answers from a surrogate benchmark"):
        rescore(read_runs(folder))
    mixed = [*read_runs(toy / "runs"), *[(t, dataclasses.replace(m, task="tab", run_id="tab__x"))
                      for t, m in read_runs(folder)]]  # fmt: skip
    tasks, notes = rescore(mixed)
    assert [t.task for t in tasks] == ["toy"]
    assert notes == ["task tab: evaluator 'tabular' is not a surrogate benchmark; left out"]


def test_choices_take_the_best_of_another_family() -> None:
    rows = [
        {"benchmark": "t", "surrogate": s, "train_archs": n, "kendall": k}
        for s, n, k in [("random_forest", 400, 0.70), ("gradient_boosting", 400, 0.72),
                        ("gin", 400, 0.65), ("gin", 100, 0.9), ("mlp_ensemble", 400, 0.66),
                        ("gaussian_process", 400, float("nan"))]
    ]  # fmt: skip
    chosen = choose_surrogates(rows)["t"]
    assert chosen["best"]["surrogate"] == "gradient_boosting"
    assert chosen["second"]["surrogate"] == "mlp_ensemble"  # not random_forest: same family
    assert chosen["second"]["kendall"] == 0.66 and chosen["second"]["family"] == "mlp"


def test_reachable_search_finds_at_least_the_recorded_best(toy: Path, best_file: Path) -> None:
    search = ReachableSearch(uniform=200, beam=3, rounds=2)
    found = reachable_search(str(toy / "toy-chain.parquet"), "random_forest", RF, search)
    assert set(found["test"]) == {"0.0"} and found["search"]["uniform"] == 200
    assert found["test"]["0.0"] >= found["test_sampled"]["0.0"] > 0.5
    assert found["val"]["0.0"] >= found["val_sampled"]["0.0"]
    assert found["evaluated"]["0.0"] > 80  # the table's architectures and more
    again = reachable_search(str(toy / "toy-chain.parquet"), "random_forest", RF, search)
    assert again == found and np.isfinite(found["val"]["0.0"])


def test_module_commands_check_before_fitting(
    tmp_path: Path, best_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = best_file.read_text()
    assert rescore_main(["reachable", "no-such-table", "--write"]) == 2
    assert rescore_main(["choices", "--quality", str(tmp_path / "none.jsonl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no-such-table" in err[0] and "no quality rows" in err[1]
    rows = tmp_path / "quality.jsonl"
    rows.write_text("".join(json.dumps({"benchmark": "toy-chain", "surrogate": s, "train_archs": 50,
                                        "kendall": k}) + "\n"
                            for s, k in [("gin", 0.5), ("random_forest", 0.6)]))  # fmt: skip
    assert rescore_main(["choices", "--quality", str(rows)]) == 0
    assert "('random_forest', 0.6)" in capsys.readouterr().out
    assert best_file.read_text() == before  # nothing written without --write
