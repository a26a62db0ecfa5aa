"""The table builder: rows and columns, resuming after a kill, extension, refusal of bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from nasbench.cli.main import main
from nasbench.core.errors import NasbenchError
from nasbench.core.registry import evaluators, spaces
from nasbench.tables import tablebuild
from nasbench.tables.benchmarks import load_benchmark
from nasbench.tables.tablebuild import TableSpec, build_table, datasheet, read_runs
from tests.helpers import TABLEBUILD_SPEC as SPEC
from tests.helpers import fake_run


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    calls: list[tuple] = []

    def counted(*args: object) -> dict:
        calls.append(args[1:])
        return fake_run(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(tablebuild, "train_run", counted)
    return calls


def test_real_build_records_every_run(tmp_path: Path) -> None:
    out = tmp_path / "tiny.parquet"
    assert build_table(SPEC, out, n=2, sparsities=(0.0, 0.5), seeds=2) == 8
    table = load_benchmark(out)
    assert len(table) == 4 and table.sparsities == (0.0, 0.5)
    data = pq.read_table(out).to_pylist()
    for row in data:
        assert row["run_seed"] == [0, 1] and len(row["val_acc_seeds"]) == 2
        assert row["val_acc"] == pytest.approx(np.mean(row["val_acc_seeds"]))
        assert len(row["curve"]) == 1 and row["run_status"] == ["ok", "ok"]
        assert row["train_time_s"] > 0 and row["params"] > row["nonzero_params"] * 0.99
        assert row["latency_ms"] > 0
        if row["sparsity"] == 0.5:
            assert all(abs(s - 0.5) <= 0.005 for s in row["run_sparsity_measured"])
            assert row["effective_macs"] < row["macs"]
    # the two seeds train different networks
    assert data[0]["run_val_acc"][0] != data[0]["run_val_acc"][1]
    journal = tablebuild.journal_path(out)
    assert not journal.exists() or journal.read_text() == ""


def test_parallel_build_equals_serial(tmp_path: Path) -> None:
    serial, parallel = tmp_path / "a.parquet", tmp_path / "b.parquet"
    build_table(SPEC, serial, n=2, sparsities=(0.0,), seeds=1)
    build_table(SPEC, parallel, n=2, sparsities=(0.0,), seeds=1, workers=2)
    a, b = (pq.read_table(p).to_pylist() for p in (serial, parallel))
    for ra, rb in zip(a, b, strict=True):
        for col in ("arch", "val_acc", "test_acc", "curve", "nonzero_params", "run_val_acc"):
            assert ra[col] == rb[col], col


def test_extending_trains_only_missing_runs(tmp_path: Path, fake: list[tuple]) -> None:
    out = tmp_path / "t.parquet"
    build_table(SPEC, out, n=3, sparsities=(0.0, 0.8), seeds=2)
    assert len(fake) == 12
    before = pq.read_table(out).to_pylist()
    build_table(SPEC, out, n=5, sparsities=(0.0, 0.8), seeds=1)
    assert len(fake) == 12 + 4  # two new architectures at two levels, one seed
    after = pq.read_table(out).to_pylist()
    assert after[: len(before)] == before
    assert [len(r["run_seed"]) for r in after] == [2] * 6 + [1] * 4
    build_table(SPEC, out, n=5, sparsities=(0.0, 0.8, 0.5), seeds=1)
    assert len(fake) == 16 + 5 and load_benchmark(out).sparsities == (0.0, 0.5, 0.8)
    # the first architectures never change when n grows
    first = tablebuild.sample_architectures(SPEC.create_space(), 3, 0)
    assert [a.text for a in first] == [r["arch"] for r in before if r["sparsity"] == 0.0]


def test_resume_after_kill_loses_and_duplicates_nothing(tmp_path: Path, fake: list[tuple]) -> None:
    out = tmp_path / "t.parquet"
    build_table(SPEC, out, n=2, sparsities=(0.0,), seeds=1, flush_every=1)
    journal = tablebuild.journal_path(out)
    # a kill after two more runs were journalled, the second half-written
    archs = tablebuild.sample_architectures(SPEC.create_space(), 4, 0)
    runs = [fake_run(SPEC.to_json(), i, archs[i].text, 0.0, 0) for i in (2, 3)]
    journal.write_text(
        json.dumps({"build": json.loads(SPEC.to_json())}) + "\n" + json.dumps(runs[0]) + "\n"
        + json.dumps(runs[1])[:40]
    )  # fmt: skip
    spec, recorded = read_runs(out)
    assert spec == SPEC and sorted(recorded) == [(0, 0.0, 0), (1, 0.0, 0), (2, 0.0, 0)]
    calls = len(fake)
    assert build_table(SPEC, out, n=4, sparsities=(0.0,), seeds=1) == 4
    assert fake[calls:] == [(3, archs[3].text, 0.0, 0)]  # only the torn run is trained again
    rows = pq.read_table(out).to_pylist()
    assert [r["index"] for r in rows] == [0, 1, 2, 3]
    # a run present in both the table and the journal counts once
    journal.write_text(json.dumps({"build": json.loads(SPEC.to_json())}) + "\n"
                       + json.dumps(runs[0]) + "\n")  # fmt: skip
    assert len(read_runs(out)[1]) == 4


def test_failed_runs_are_recorded_and_answer_failed(tmp_path, monkeypatch) -> None:
    def diverging(*args: object) -> dict:
        run = fake_run(*args)  # type: ignore[arg-type]
        if run["index"] == 1:
            run.update(status="failed", val_acc=math.nan, test_acc=math.nan, curve=[math.nan])
        return run

    monkeypatch.setattr(tablebuild, "train_run", diverging)
    out = tmp_path / "t.parquet"
    build_table(SPEC, out, n=2, sparsities=(0.0,), seeds=1)
    rows = pq.read_table(out).to_pylist()
    assert rows[1]["failed_runs"] == 1 and math.isnan(rows[1]["val_acc"])
    space = spaces.create("chain", max_layers=2)
    ev = evaluators.create("tabular", space=space, benchmark=str(out))
    m = ev.evaluate(space.parse(rows[1]["arch"]), 1.0, np.random.default_rng(0))
    assert str(m.status) == "failed"
    good = ev.evaluate(space.parse(rows[0]["arch"]), 1.0, np.random.default_rng(0))
    assert str(good.status) == "ok" and good.val_acc == pytest.approx(rows[0]["val_acc"])
    assert "1 failed" in datasheet(out)


def test_tabular_evaluator_checks_the_recorded_space(tmp_path: Path, fake: list[tuple]) -> None:
    spec = TableSpec("hierarchical", {"preset": "tas", "width": 0.5}, epochs=1)
    out = tmp_path / "h.parquet"
    build_table(spec, out, n=2, sparsities=(0.0,), seeds=1)
    ok = spaces.create("hierarchical", preset="tas", width=0.5)
    evaluators.create("tabular", space=ok, benchmark=str(out))
    with pytest.raises(NasbenchError, match="width"):
        evaluators.create("tabular", space=spaces.create("hierarchical", preset="tas"),
                          benchmark=str(out))  # fmt: skip


def test_datasheet_states_settings_and_rebuild_commands(tmp_path: Path, fake: list[tuple]) -> None:
    out = tmp_path / "t.parquet"
    build_table(SPEC, out, n=2, sparsities=(0.0, 0.5), seeds=2)
    build_table(SPEC, out, n=3, sparsities=(0.0, 0.5), seeds=1)
    sheet = datasheet(out)
    assert "3 architectures, sparsity levels [0.0, 0.5], 10 runs (0 failed)" in sheet
    # two architectures x two levels carry 2 seeds: the label quality is measured on those 4 rows
    assert "- Label quality over the 4 rows with 2+ seeds: seed sd " in sheet
    runs = read_runs(out)[1].values()
    sds: dict[tuple, list[float]] = {}
    for r in runs:
        sds.setdefault((r["index"], r["sparsity"]), []).append(r["val_acc"])
    per_row = [float(np.std(v, ddof=1)) for v in sds.values() if len(v) > 1]
    assert f"per row, mean {100 * np.mean(per_row):.2f} points, median " in sheet
    assert "over 4 rows" in sheet
    cpu_h = sum(r.get("job_cpu_s") or r["job_wall_s"] for r in runs) / 3600
    assert f"- Cost: {cpu_h:.2f} CPU-hours (the runs' process CPU time" in sheet
    assert '"epochs": 1' in sheet and '"batch_size": 500' in sheet
    commands = [line.strip() for line in sheet.splitlines() if "build-table chain" in line]
    assert len(commands) == 2
    assert "--n 2 --sparsity 0,0.5 --seeds 2" in commands[0]
    assert "--n 3 --sparsity 0,0.5 --seeds 1" in commands[1]
    assert "--param=max_layers=2" in commands[0] and "--recipe=batch_size=500" in commands[0]
    assert "each target sparsity, every layer pruned to the target;" in sheet
    assert "Recipe choice" not in sheet  # no recorded reason for a table named t


def test_datasheet_states_the_pruning_scope_and_the_recorded_recipe_choice(
    tmp_path: Path, fake: list[tuple], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = TableSpec("chain", {"max_layers": 2}, epochs=1, recipe={"prune_scope": "global"})
    out = tmp_path / "chain-toy.parquet"
    build_table(spec, out, n=1, sparsities=(0.5,), seeds=1)
    choices = tmp_path / "choices.json"
    monkeypatch.setattr(tablebuild, "RECIPE_CHOICES", choices)
    assert "Recipe choice" not in datasheet(out)  # no file
    choices.write_text("{not json")
    assert "Recipe choice" not in datasheet(out)  # unreadable: the datasheet is still written
    choices.write_text(json.dumps({"chain-toy": "1 epoch, because.", "other": "x"}))
    sheet = datasheet(out)
    assert "magnitudes ranked over all prunable weights at once;" in sheet
    assert "\n- Recipe choice: 1 epoch, because.\n" in sheet
    assert "--recipe=prune_scope=global" in sheet


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_builds_and_refuses_bad_input(tmp_path: Path, fake, capsys) -> None:
    out = tmp_path / "t.parquet"
    args = ["build-table", "chain", "--param", "max_layers=2", "--epochs", "1",
            "--recipe", "batch_size=500", "--n", "2", "--sparsity", "0,0.5"]  # fmt: skip
    code, printed, _ = cli(capsys, *args, "--out", str(out))
    assert code == 0 and "4 runs" in printed and out.with_suffix(".md").exists()
    before = out.read_bytes()
    bad = [
        ["--epochs", "2"],  # other settings than the file's
        ["--sparsity", "0,1.0"],
        ["--sparsity", "0,x"],
        ["--n", "0"],
        ["--recipe", "optimizer=rmsprop"],
    ]
    for extra in bad:
        code, _, err = cli(capsys, *args, *extra, "--out", str(out))
        assert code == 2 and len(err.strip().splitlines()) == 1, (extra, err)
    assert out.read_bytes() == before
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1 not really")
    code, _, err = cli(capsys, *args, "--out", str(corrupt))
    assert code == 2 and "not a readable Parquet" in err
    assert corrupt.read_bytes() == b"PAR1 not really"
    code, _, err = cli(
        capsys, "build-table", "nospace", "--n", "2", "--out", str(tmp_path / "x.parquet")
    )
    assert code == 2 and "nospace" in err and not (tmp_path / "x.parquet").exists()
