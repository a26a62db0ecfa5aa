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
