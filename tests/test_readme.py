"""The README opens with exactly two commands, and CI runs the second one verbatim."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _opening_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    head = text.split("\n## ", 1)[0]
    blocks = head.split("```bash\n")[1:]
    return [b.split("\n```", 1)[0].strip() for b in blocks]


def test_readme_opens_with_two_commands() -> None:
    first, second = _opening_commands()
    assert "torch==2.13.0" in first and "nasbench run" in first.rsplit("&&", 1)[1]
    assert "torch==2.13.0" in second and "pytest" in second.rsplit("&&", 1)[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    assert _opening_commands()[1] in ci.splitlines()


def test_readme_surrogate_example_runs(tmp_path, monkeypatch, capsys) -> None:
    """The "Plug in your own surrogate" example passes the conformance suite and serves
    ``surrogate-eval`` by its ``module:Class`` path."""
    import sys

    text = (REPO / "README.md").read_text()
    section = text.split("### Plug in your own surrogate", 1)[1]
    code = section.split("```python\n", 1)[1].split("\n```", 1)[0]
    assert len(code.splitlines()) < 30 + 5  # 30 lines of code, blank lines aside
    assert sum(1 for line in code.splitlines() if line.strip()) < 30
    (tmp_path / "knn_surrogate.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("knn_surrogate", None)
    import json

    import knn_surrogate  # noqa: F401  (importing it runs check_surrogate)

    from nasbench.cli.main import main

    assert main(["surrogate-eval", "--surrogate", "knn_surrogate:KNN", "--train-sizes", "300",
                 "--max-test", "2000", "--json"]) == 0  # fmt: skip
    (row,) = json.loads(capsys.readouterr().out)
    assert row["surrogate"] == "knn_surrogate:KNN" and row["kendall"] > 0.3


def test_readme_default_table_is_the_committed_summary() -> None:
    """The default suite's table in the README is ``results/default/summary.md``'s, so
    regenerating the committed results without updating the README fails here."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## The default suite\n", 1)[1].split("\n## ", 1)[0]
    readme_rows = [line for line in section.splitlines() if line.startswith("| ")]
    summary = (REPO / "results" / "default" / "summary.md").read_text()
    summary_rows = [line for line in summary.splitlines() if line.startswith("| ")]
    assert len(readme_rows) > 2 and readme_rows == summary_rows
