"""The growing-table helper (experiments/pending_tables.py): progress against the plan, the
README status line, folding journals in and moving tables into the package."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from experiments import pending_tables as pt
from nasbench.tables import tablebuild
from nasbench.tables.tablebuild import build_table, read_runs
from tests.helpers import TABLEBUILD_SPEC as SPEC
from tests.helpers import fake_run

PLAN = pt.Plan(n=3, levels=(0.0, 0.8), multi=1, seeds=2)  # 1*2*2 + 2*2 = 8 planned runs


@pytest.fixture
def pending(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pending folder with one table: 2 architectures x 2 levels x 2 seeds, the second
    seed's runs still in the journal (as a killed build leaves them)."""
    monkeypatch.setattr(tablebuild, "train_run", fake_run)
    folder = tmp_path / "pending"
    folder.mkdir()
    out = folder / "chain-mnist1d.parquet"
    build_table(SPEC, out, n=2, sparsities=(0.0, 0.8), seeds=1)
    for index, arch in enumerate(tablebuild.sample_architectures(SPEC.create_space(), 2, 0)):
        for level in (0.0, 0.8):
            run = fake_run(SPEC.to_json(), index, arch.text, level, 1)
            tablebuild._append(tablebuild.journal_path(out), run, SPEC)
    (folder / "README.md").write_text("# Pending\n\nStatus (old): stale.\nsecond line\n\nEnd.\n")
    return out


def test_plan_counts_runs() -> None:
    assert len(pt.Plan().runs()) == 100 * 3 * 2 + 400 * 3
    assert sorted(PLAN.runs())[:4] == [(0, 0.0, 0), (0, 0.0, 1), (0, 0.8, 0), (0, 0.8, 1)]


def test_progress_counts_planned_runs_only(pending: Path) -> None:
    p = pt.progress(pending, PLAN)
    # architecture 1's second seed is recorded but not planned; architecture 2 is missing
    assert (p.archs, p.runs, p.planned, p.done, p.left) == (2, 8, 8, 6, 2)
    assert p.run_s == 1.0 and p.core_hours_left == pytest.approx(2 / 3600)
    table = pt.report([p])
    assert "| chain-mnist1d | 2 | 8 | 6/8 | 2 | 1.0 | 0.00 |" in table


def test_status_paragraph_replaces_the_old_one(pending: Path) -> None:
    readme = pending.parent / "README.md"
    paragraph = pt.status_paragraph([pt.progress(pending, PLAN)], date(2026, 11, 26))
    assert paragraph.startswith("Status (2026-11-26, ")
    assert "chain 2 architectures (8 runs, 6/8 planned)" in paragraph
    pt.write_status(readme, paragraph)
    assert readme.read_text() == f"# Pending\n\n{paragraph}\n\nEnd.\n"
    readme.write_text("# No status yet\n")
    pt.write_status(readme, paragraph)
    assert readme.read_text() == f"# No status yet\n\n{paragraph}\n"
    # a status paragraph that ends the file keeps the final newline when replaced
    newer = paragraph.replace("2026-11-26", "2026-11-27")
    pt.write_status(readme, newer)
    assert readme.read_text() == f"# No status yet\n\n{newer}\n"


def test_compact_folds_the_journal_in(pending: Path) -> None:
    journal = tablebuild.journal_path(pending)
    assert journal.stat().st_size > 0
    before = read_runs(pending)
    pt.compact(pending)
    assert not journal.exists() and read_runs(pending) == before
    assert [len(r["run_seed"]) for r in pq.read_table(pending).to_pylist()] == [2, 2, 2, 2]
    assert "4 (architecture, sparsity) rows have more than one seed" in (
        pending.with_suffix(".md").read_text()
    )


def test_fold_refuses_incomplete_tables_unless_forced(pending: Path, capsys) -> None:
    dest = pending.parent.parent / "data"
    dest.mkdir()
    quality = pending.parent.parent / "quality.jsonl"
    quality.write_text('{"benchmark": "chain-mnist1d", "kendall": 0.1}\n'
                       '{"benchmark": "nb201-cifar10", "kendall": 0.7}\n')  # fmt: skip
    argv = ["fold", "--dir", str(pending.parent), "--dest", str(dest), "--quality", str(quality)]
    assert pt.main(argv) == 2
    assert "not complete: chain-mnist1d" in capsys.readouterr().err
    assert not list(dest.iterdir()) and len(quality.read_text().splitlines()) == 2
    assert pt.main([*argv, "--force"]) == 0
    assert sorted(p.name for p in dest.iterdir()) == ["chain-mnist1d.md", "chain-mnist1d.parquet"]
    assert read_runs(dest / pending.name)[1] == read_runs(pending)[1]
    assert quality.read_text() == '{"benchmark": "nb201-cifar10", "kendall": 0.7}\n'
    sheet = (dest / "chain-mnist1d.md").read_text()
    assert f"--out {dest / pending.name}" in sheet  # the rebuild command names the new home
    assert pt.main(["status", "--dir", str(dest.parent / "empty")]) == 2
    (dest / "other.parquet").write_bytes(b"not parquet")
    capsys.readouterr()
    assert pt.main(["status", "--dir", str(dest)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "other.parquet" in err and len(err.splitlines()) == 1


def test_medians_set_the_suites_budgets(pending: Path, capsys) -> None:
    # rows average their seeds: training 10 s (architecture 0) and 11 s (1), latency 0.5 ms
    assert pt.medians(pending) == (10.5, 0.5)
    assert pt.main(["medians", str(pending)]) == 0
    assert "| chain-mnist1d | 10.50 | 525 | 0.5000 |" in capsys.readouterr().out
    assert pt.main(["medians", str(pending.with_name("missing.parquet"))]) == 2
    assert "missing.parquet is not a readable table" in capsys.readouterr().err


SUITE = """# a comment that names cost_s = 1
[suite]
name = "x"

[budget]
cost_s = 300
latency_ms = 1.0

[[task]]
space = "chain"
benchmark = "chain-mnist1d"
budget = { cost_s = 150, latency_ms = 0.6 }

[[task]]
budget = { evaluations = 5, cost_s = 470 }
benchmark = "chain-mnist1d"

[[task]]
benchmark = "other-mnist1d"
budget = { cost_s = 10, latency_ms = 2.0 }
"""


def test_medians_write_sets_budget_lines_only(pending: Path, tmp_path: Path, capsys) -> None:
    suites = tmp_path / "suites"
    suites.mkdir()
    for name in pt.BUDGET_FACTORS:
        (suites / f"{name}.toml").write_text(SUITE)
    argv = ["medians", str(pending), "--write", "--suites", str(suites)]
    assert pt.main(argv) == 0
    assert f"{suites / 'default.toml'}: 2 budget lines changed" in capsys.readouterr().out
    # 50 x 10.5 s = 525; latency 0.5 ms; the suite's own budget, comments and the task of
    # another table keep their values; a line without latency_ms gets none
    fifty = (suites / "default.toml").read_text()
    assert fifty == SUITE.replace("cost_s = 150, latency_ms = 0.6", "cost_s = 525, latency_ms = 0.5"
                                  ).replace("cost_s = 470 }", "cost_s = 525 }")  # fmt: skip
    other = tomllib.loads((suites / "own-spaces-surrogate.toml").read_text())
    assert [t["budget"]["cost_s"] for t in other["task"]] == [525, 525, 10]
    assert not (suites / "gradient-mnist1d.toml").exists()  # its budget is not the tables'
    assert pt.set_budgets(suites / "default.toml", {"chain-mnist1d": (10.5, 0.5)}, 50.0) == 0
    assert pt.set_budgets(suites / "default.toml", {"chain-mnist1d": (48.437, 13.68531)}, 50) == 2
    assert "budget = { cost_s = 2420, latency_ms = 13.69 }" in (suites / "default.toml").read_text()


def test_label_quality_per_level() -> None:
    """Per sparsity level: at 0 four architectures 1 point apart, each seed 0.2 points off its
    mean (both seeds rank them alike); at 0.8 the two seeds rank them in opposite orders around
    one mean (no spread between architectures: no number of seeds resolves them)."""
    runs = [
        {"index": i, "sparsity": level, "seed": k, "status": "ok", "job_cpu_s": 1.0,
         "val_acc": val}
        for i in range(4)
        for k in (0, 1)
        for level, val in ((0.0, 0.90 + 0.01 * i + (0.002 if k else -0.002)),
                           (0.8, 0.50 + (0.01 * i if k else -0.01 * i)))
    ]  # fmt: skip
    dense, sparse = pt.level_quality("toy", runs)
    cells = dense.split(" | ")
    assert cells[:3] == ["| toy", "0", "4"]
    assert float(cells[3]) == pytest.approx(100 * 0.004 / 2**0.5, abs=0.005)  # seed sd, pts
    assert float(cells[5]) == 1.0 and dense.endswith("| 2 |")  # alike: the fewest seeds do
    cells = sparse.split(" | ")
    assert cells[1] == "0.8" and float(cells[5]) == -1.0 and sparse.endswith("| never |")


def test_quality_report_has_a_row_per_table_and_level(pending: Path) -> None:
    lines = pt.quality_report([pending]).splitlines()
    assert lines[0].startswith("| table | sparsity | rows with 2+ seeds |") and len(lines) == 4
    # two architectures with both seeds per level (the second seed read from the journal)
    assert [line.split(" | ")[:3] for line in lines[2:]] == [
        ["| chain-mnist1d", "0", "2"], ["| chain-mnist1d", "0.8", "2"],
    ]  # fmt: skip
    assert all(line.split(" | ")[5] == "nan" for line in lines[2:])  # a tau needs 3 rows
