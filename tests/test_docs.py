"""The documentation site (mkdocs.yml, docs/): every page of the nav exists and every page is in
it, every command and suite a page shows parses, the tutorials embed the example files the tests
run, the getting-started walk-through prints what the page says, the new example compares
strategies on a table it built, and the site builds with warnings as errors."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import nasbench
from nasbench.cli.main import build_parser
from nasbench.cli.main import main as cli

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
EXAMPLES = DOCS / "examples"
INCLUDE = re.compile(r'^--8<-- "([^"]+)"$', re.MULTILINE)


def _nav_pages() -> list[str]:
    """The Markdown files the nav of mkdocs.yml names, relative to docs/."""
    text = (REPO / "mkdocs.yml").read_text()
    nav = text.split("\nnav:\n", 1)[1]
    nav = re.split(r"\n\S", nav, maxsplit=1)[0]  # up to the next top-level key
    return re.findall(r"^\s*- (?:[^\n]*?: )?(\S+\.md)\s*$", nav, re.MULTILINE)


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md"))


def _blocks(text: str, language: str) -> list[str]:
    """The fenced code blocks of ``language`` in a Markdown text."""
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


def _commands(text: str) -> list[list[str]]:
    """The ``nasbench`` command lines of the page's bash blocks, as argument lists (without the
    program): each ``&&`` part, with environment assignments and ``.venv/bin/`` dropped."""
    found = []
    for block in _blocks(text, "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                    words = words[1:]
                if words and (words[0] == "nasbench" or words[0].endswith("/bin/nasbench")):
                    found.append(words[1:])
    return found


def test_every_nav_page_exists_and_every_page_is_in_the_nav() -> None:
    nav = _nav_pages()
    assert len(nav) >= 18 and len(set(nav)) == len(nav)
    assert [page for page in nav if not (DOCS / page).is_file()] == []
    on_disk = {str(p.relative_to(DOCS)) for p in _pages()}
    assert sorted(on_disk - set(nav)) == []


def test_getting_started_installs_with_the_readmes_commands() -> None:
    readme = (REPO / "README.md").read_text().split("\n## ", 1)[0]
    page = (DOCS / "getting-started.md").read_text()
    assert _blocks(page, "bash")[:2] == _blocks(readme, "bash")[:2]


@pytest.mark.parametrize(
    "page", [p for p in _pages() if _commands(p.read_text())], ids=lambda p: p.stem
)
def test_every_nasbench_command_shown_parses(page: Path) -> None:
    parser = build_parser()
    for argv in _commands(page.read_text()):
        args = parser.parse_args(argv)  # exits (a test failure) on an unknown option
        assert callable(args.func), argv


def test_getting_started_shows_the_main_commands() -> None:
    commands = {argv[0] for argv in _commands((DOCS / "getting-started.md").read_text())}
    assert {"run", "report", "plot", "compare"} <= commands


def test_every_suite_shown_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))  # the tutorials' module:Class plugins
    suites = [
        (page.name, block)
        for page in _pages()
        for block in _blocks(page.read_text(), "toml")
        if block.startswith("[suite]")
    ]
    assert len(suites) >= 3
    for name, block in suites:
        suite = nasbench.parse_suite(block)
        assert suite.specs(), name


def test_every_included_file_exists_and_every_example_is_included() -> None:
    included = [path for page in _pages() for path in INCLUDE.findall(page.read_text())]
    assert included and [path for path in included if not (REPO / path).is_file()] == []
    examples = {f"docs/examples/{p.name}" for p in EXAMPLES.glob("*.py")}
    assert sorted(examples - set(included)) == []


def test_every_tutorial_includes_its_example() -> None:
    for page in sorted((DOCS / "tutorials").glob("*.md")):
        assert INCLUDE.search(page.read_text()), f"{page.name} includes no example"


def test_every_shipped_suite_is_on_the_suites_page() -> None:
    text = (DOCS / "suites.md").read_text()
    shipped = sorted(p.name for p in (REPO / "nasbench" / "suites").glob("*.toml"))
    assert shipped and [name for name in shipped if f"`{name}`" not in text] == []


def test_getting_started_prints_what_the_page_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first suite, run as the page runs it, prints the page's two tables; then the page's
    Python prints the page's output. Records are pure functions of the suite and the seed."""
    monkeypatch.chdir(tmp_path)
    page = (DOCS / "getting-started.md").read_text()
    first, python = page.split("## A first suite", 1)[1].split("## From Python", 1)
    toml = next(b for b in _blocks(first, "toml") if 'name = "first-suite"' in b)
    (tmp_path / "first-suite.toml").write_text(toml)
    assert ["run", "first-suite.toml"] in _commands(first)
    capsys.readouterr()
    assert cli(["run", "first-suite.toml", "--quiet", "--workers", "1"]) == 0
    printed = capsys.readouterr().out.splitlines()
    shown = _blocks(first, "text")[0].splitlines()
    assert [x for x in printed if x.startswith("|")] == [x for x in shown if x.startswith("|")]

    exec(compile(_blocks(python, "python")[0], "getting-started.md", "exec"), {})
    assert capsys.readouterr().out.splitlines() == _blocks(python, "text")[0].splitlines()


@pytest.fixture(scope="module")
def chain_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny table of the own-table tutorial's space (6 architectures, 1 epoch), built with
    the command the tutorial shows, its size cut."""
    page = (DOCS / "tutorials" / "own-table.md").read_text()
    (argv,) = [a for a in _commands(page) if a[0] == "build-table"]
    out = tmp_path_factory.mktemp("table") / "chain-small.parquet"
    argv = [*argv[: argv.index("--n")], "--n", "6", "--sparsity", "0", "--epochs", "1",
            "--latency-device", "none", "--out", str(out)]  # fmt: skip
    assert cli(argv) == 0
    return out


def test_compare_strategies_example(
    chain_table: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    from compare_strategies import compare, main

    names = ["greedy_mutation.GreedyMutation", "random", "regularized_evolution"]
    # within the 5-architecture initial design every strategy proposes the seed's shared design,
    # and the surrogate benchmark answers each architecture alike: the same finals, seed by seed
    finals = compare(chain_table, tmp_path / "initial", seeds=3, evaluations=5)
    assert sorted(finals) == names
    assert len({tuple(v) for v in finals.values()}) == 1
    assert all(len(v) == 3 and all(0 < a < 1 for a in v) for v in finals.values())
    assert (tmp_path / "initial" / "stats.md").is_file()
    assert nasbench.load_results(tmp_path / "initial").num_rows == 3 * 3 * 5

    capsys.readouterr()
    main(str(chain_table), str(tmp_path / "longer"), seeds=3, evaluations=12)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[:3]] == names
    assert lines[1].endswith("vs random: 0 better, 0 worse")
    assert all(re.search(r" \d+\.\d\d%  vs random: \d+ better, \d+ worse$", x) for x in lines[:3])
    assert lines[3].endswith(str(tmp_path / "longer" / "stats.md"))


def test_own_table_label_quality_snippet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (DOCS / "tutorials" / "own-table.md").read_text()
    (argv,) = [a for a in _commands(page) if a[0] == "build-table"]
    argv = [*argv[: argv.index("--n")], "--n", "4", "--sparsity", "0", "--epochs", "1",
            "--seeds", "2", "--latency-device", "none", "--out", "chain-small.parquet"]  # fmt: skip
    monkeypatch.chdir(tmp_path)
    assert cli(argv) == 0
    capsys.readouterr()
    (snippet,) = _blocks(page, "python")
    exec(compile(snippet, "own-table.md", "exec"), {})
    first, second = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"4 rows with 2\+ seeds: seed sd \d+\.\d\d points, spread \d+\.\d\d, "
                        r"split-half tau (-?\d\.\d{3}|nan)", first), first  # fmt: skip
    assert re.fullmatch(r"seeds per row for a split-half tau of 0\.8: (\d+\.0|inf|nan)", second)


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    pytest.importorskip("material")
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"),
         "-d", str(site)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "WARNING" not in done.stderr
    api = (site / "reference" / "nasbench" / "index.html").read_text()
    assert 'id="nasbench.run"' in api and 'id="nasbench.load_results"' in api
    assert "&gt;&gt;&gt;" in api and "<blockquote" not in api  # doctests are code blocks
    tutorial = (site / "tutorials" / "strategy" / "index.html").read_text()
    assert "GreedyMutation" in tutorial and "--8&lt;--" not in tutorial
