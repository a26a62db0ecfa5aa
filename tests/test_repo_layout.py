"""The repository's layout (issue 24): tests hold tests only and never import one another;
``experiments/`` and ``benchmarks/`` say how they are run; every results folder says what
regenerates it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"


def _imported(source: str, path: Path) -> set[str]:
    """The absolute names of the modules (and ``from`` targets) the module ``path`` of the
    source ``source`` imports."""
    package = path.relative_to(REPO).parent.parts
    names: set[str] = set()
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the module's package
                base = package[: len(package) - node.level + 1]
                module = ".".join((*base, node.module) if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _is_test_module(name: str) -> bool:
    """``tests.conftest``, a ``tests.test_*`` module, or a name imported from one."""
    parts = name.split(".")
    return parts[0] == "tests" and any(p == "conftest" or p.startswith("test_") for p in parts[1:])


def test_no_test_module_imports_another_test_module() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(
            filter(_is_test_module, _imported(path.read_text(), path))
        )
        for path in sorted(TESTS.rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_import_check_sees_every_form() -> None:
    source = (
        "import tests.test_cli\nfrom tests.test_tablebuild import fake_run\n"
        "from tests import test_training\nfrom .conftest import shared_data\n"
        "from . import test_bad_input as bad\nfrom tests.helpers import BEST\n"
        "from experiments import pending_tables\n"
    )
    found = set(filter(_is_test_module, _imported(source, TESTS / "test_probe.py")))
    assert found == {
        "tests.test_cli",
        "tests.test_tablebuild",
        "tests.test_tablebuild.fake_run",
        "tests.test_training",
        "tests.conftest",
        "tests.conftest.shared_data",
        "tests.test_bad_input",
    }


def test_tests_hold_no_benchmarks_or_studies() -> None:
    assert not (TESTS / "perf").exists()


def _modules(folder: str) -> list[Path]:
    return sorted(p for p in (REPO / folder).glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("folder", ["experiments", "benchmarks"])
def test_every_script_gives_its_command(folder: str) -> None:
    missing = []
    for path in _modules(folder):
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if f"python -m {folder}.{path.stem}" not in doc:
            missing.append(path.name)
    assert _modules(folder) and missing == []


def test_every_results_folder_is_in_the_results_readme() -> None:
    text = (REPO / "results" / "README.md").read_text()
    folders = sorted(
        p.name for p in (REPO / "results").iterdir() if p.is_dir() and not p.name.startswith(".")
    )
    assert folders
    missing = [name for name in folders if not re.search(rf"`{re.escape(name)}/`", text)]
    assert missing == []


def test_the_records_schema_documents_every_column() -> None:
    """docs/records.md names every TrialRecord column and every RunMeta key."""
    import dataclasses

    from nasbench.core.types import RunMeta, TrialRecord

    text = (REPO / "docs" / "records.md").read_text()
    fields = [f.name for f in dataclasses.fields(TrialRecord) if f.name != "extra"]
    fields += [f.name for f in dataclasses.fields(RunMeta)]
    missing = [name for name in fields if f"`{name}`" not in text]
    assert missing == []
