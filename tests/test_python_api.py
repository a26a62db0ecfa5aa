"""The Python API of the README and docs: a suite from a TOML string, its records back as one
table with every column, nothing else imported."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

import nasbench

REPO = Path(__file__).resolve().parents[1]

SUITE = """
[suite]
name = "api"
seeds = 2
[budget]
evaluations = 12
[[task]]
space = "nb201"
evaluator = "tabular"
fidelity = 12
[[strategy]]
name = "random"
[[strategy]]
name = "regularized_evolution"
population = 5
sample_size = 2
"""


def test_load_results_keeps_every_column_of_every_run() -> None:
    folder = REPO / "results" / "default"
    files = sorted((folder / "runs").glob("*.parquet"))
    columns: set[str] = set()
    rows = 0
    for path in files:
        schema = pq.read_schema(path)
        columns |= set(schema.names)
        rows += pq.ParquetFile(path).metadata.num_rows
    table = nasbench.load_results(folder)
    assert set(table.column_names) == columns and table.num_rows == rows
    # NAS-Bench-201's extra columns are there, null for the MNIST-1D runs
    cifar100 = table.column("test_acc_cifar100").to_pylist()
    spaces = table.column("space").to_pylist()
    assert all((v is None) == (s != "nb201") for v, s in zip(cifar100, spaces, strict=True))


def test_a_suite_from_a_toml_string_to_a_table(tmp_path: Path) -> None:
    suite = nasbench.parse_suite(SUITE)
    rows = nasbench.run_suite(suite, SUITE, tmp_path / "out")
    assert {r.strategy for r in rows} == {"random", "regularized_evolution"}
    assert (tmp_path / "out" / "summary.md").exists() and (tmp_path / "out" / "stats.md").exists()
    table = nasbench.load_results(tmp_path / "out")
    assert table.num_rows == 2 * 2 * 12
    one = nasbench.run(suite.specs()[0], 0).records
    mine = [r for r in table.to_pylist() if r["strategy"] == "random" and r["seed"] == 0]
    assert [r["arch"] for r in mine] == [r.arch for r in one]


def test_load_results_refuses_a_folder_without_records(tmp_path: Path) -> None:
    with pytest.raises(nasbench.NasbenchError, match="no run records"):
        nasbench.load_results(tmp_path)


def test_score_a_surrogate_from_python(capsys) -> None:
    """``nasbench.score_surrogate``: the held-out quality ``nasbench surrogate-eval`` prints, one
    row per (train size, seed), the same numbers; unknown surrogates are one NasbenchError."""
    from nasbench.cli.main import main

    rows = nasbench.score_surrogate("random_forest", params={"n_estimators": 20},
                                    train_sizes=(50, 200), seeds=(0, 1), max_test=500)  # fmt: skip
    assert [(q.train_archs, q.seed) for q in rows] == [(50, 0), (50, 1), (200, 0), (200, 1)]
    assert all(isinstance(q, nasbench.Quality) and q.benchmark == "nb201-cifar10" for q in rows)
    assert all(q.test_rows == 500 and -1 <= q.kendall <= 1 for q in rows)
    assert rows[2].kendall > rows[0].kendall  # more training architectures rank better
    assert main(["surrogate-eval", "--surrogate", "random_forest", "--param", "n_estimators=20",
                 "--train-sizes", "50,200", "--seeds", "0,1", "--max-test", "500",
                 "--json"]) == 0  # fmt: skip
    import json

    printed = json.loads(capsys.readouterr().out)
    assert [round(r["kendall"], 12) for r in printed] == [round(q.kendall, 12) for q in rows]
    with pytest.raises(nasbench.NasbenchError, match="unknown surrogate 'random_forrest'; did you"):
        nasbench.score_surrogate("random_forrest")


def test_every_public_name_is_visible_to_type_checkers_and_the_api_reference() -> None:
    """The lazily exported names are imported under ``TYPE_CHECKING`` too: mypy, IDEs and the
    API reference (mkdocstrings reads the module statically) see exactly ``__all__``."""
    import ast

    tree = ast.parse(Path(nasbench.__file__).read_text())
    block = next(
        n
        for n in tree.body
        if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING"
    )
    imported = {
        a.asname or a.name for n in block.body if isinstance(n, ast.ImportFrom) for a in n.names
    }
    assert imported == set(nasbench.__all__) - {"__version__"}
