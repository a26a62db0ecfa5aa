"""The layers contract (docs/architecture.md): nasbench's core is six layers, each importing
only from the layers below it; no import cycle anywhere (function-level and ``TYPE_CHECKING``
imports count); the plugin folders import the core, never the run engine, the analysis or the
CLI, and no strategy imports an evaluator.

The check reads the source with :mod:`ast` (nothing is imported), so it sees every import
statement wherever it sits. ``check(root)`` returns the violations as readable lines; the tests
assert there are none, and that a deliberately added upward import is caught.
"""

from __future__ import annotations

import ast
import importlib
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

LAYERS = ("core", "training", "tables", "engine", "analysis", "cli")
"""Low to high. ``nasbench.testing`` (the conformance kits) and ``nasbench.data`` sit beside
them: the kits on the core, the data package's converter on the tables."""
EXTRA_RANK = {"testing": 0.5, "data": 2}
TOP = {"nasbench", "nasbench.__main__"}  # the package surface and the entry point: anything
PLUGINS = {"spaces": "spaces", "strategies": "strategies", "evaluation": "evaluation",
           "surrogates": "surrogates"}  # fmt: skip
PLUGIN_MAX = LAYERS.index("tables")  # plugins may use the core, the toolkit and the tables


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package and the plugin folders, by its installed dotted name."""
    out: dict[str, Path] = {}
    folders = {"nasbench": root / "nasbench"} | {
        f"nasbench.{name}": root / folder for name, folder in PLUGINS.items()
    }
    for prefix, folder in folders.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((prefix, *parts))
            out[name.removesuffix(".__init__")] = path
    return out


def imports(root: Path) -> dict[str, set[str]]:
    """Module -> the modules it imports (resolved to known modules, self excluded)."""
    mods = modules(root)

    def known(name: str) -> str | None:
        if name.split(".")[0] in PLUGINS:  # `from spaces.cell import ...` in the repo layout
            name = "nasbench." + name
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                found = known(target)
                # a module's own packages are imported before it anyway: no dependency
                if found and found != name and not name.startswith(found + "."):
                    graph[name].add(found)
    return graph


def rank(module: str) -> float | None:
    """The layer rank of a module of the core (None for plugins and the top)."""
    parts = module.split(".")
    if module in TOP or len(parts) < 2:
        return None
    if parts[1] in LAYERS:
        return float(LAYERS.index(parts[1]))
    if parts[1] in EXTRA_RANK:
        return EXTRA_RANK[parts[1]]
    return None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    nodes = sorted(set(graph) | {m for ms in graph.values() for m in ms})
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        out.append(sorted(component))
    return out


def check(root: Path) -> list[str]:
    """Every violation of the contract in the tree at ``root``, one line each."""
    graph = imports(root)
    problems = [f"import cycle: {' <-> '.join(c)}" for c in cycles(graph)]
    plugin_roots = tuple(f"nasbench.{p}" for p in PLUGINS)
    for module, targets in sorted(graph.items()):
        mine = rank(module)
        plugin = module.startswith(plugin_roots)
        for target in sorted(targets):
            theirs = rank(target)
            if target.startswith(plugin_roots) and not plugin and module not in TOP:
                problems.append(f"{module} imports the plugin {target}")
            elif mine is not None and theirs is not None and theirs > mine:
                problems.append(f"upward import: {module} -> {target}")
            elif plugin and theirs is not None and theirs > PLUGIN_MAX:
                problems.append(f"plugin {module} imports {target} (above the tables layer)")
            if module.startswith("nasbench.strategies") and target.startswith(
                "nasbench.evaluation"
            ):
                problems.append(f"strategy {module} imports the evaluator {target}")
    return problems


def test_the_repository_keeps_the_layers_contract() -> None:
    assert check(REPO) == []


def test_every_core_module_sits_in_a_layer() -> None:
    loose = [m for m in modules(REPO) if m.startswith("nasbench.") and m.count(".") == 1
             and m not in TOP and m.split(".")[1] not in (*LAYERS, *EXTRA_RANK, *PLUGINS)]  # fmt: skip
    assert loose == []


def test_the_graph_sees_function_level_and_type_checking_imports() -> None:
    graph = imports(REPO)
    # nasbench/__main__.py imports the CLI inside a function
    assert "nasbench.cli.main" in graph["nasbench.__main__"]
    assert len(graph) > 60


def _copy(tmp_path: Path) -> Path:
    for folder in ("nasbench", *PLUGINS.values()):
        shutil.copytree(REPO / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("*.parquet", "__pycache__"))  # fmt: skip
    return tmp_path


def test_a_deliberate_upward_import_fails_the_contract(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    types = root / "nasbench" / "core" / "types.py"
    types.write_text(types.read_text() + "\nfrom nasbench.engine.runner import run\n")
    problems = check(root)
    assert "upward import: nasbench.core.types -> nasbench.engine.runner" in problems
    # runner imports types: the added edge also closes a cycle
    assert any(p.startswith("import cycle:") and "nasbench.core.types" in p for p in problems)


def test_a_type_checking_import_counts(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    space = root / "nasbench" / "core" / "space.py"
    space.write_text(
        space.read_text() + "\nif TYPE_CHECKING:\n    from nasbench.analysis import stats\n"
    )
    assert "upward import: nasbench.core.space -> nasbench.analysis.stats" in check(root)


def test_a_strategy_importing_an_evaluator_fails(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    rs = root / "strategies" / "random.py"
    rs.write_text(rs.read_text() + "\nfrom nasbench.evaluation.tabular import TabularEvaluator\n")
    assert any(p.startswith("strategy nasbench.strategies.random imports the evaluator")
               for p in check(root))  # fmt: skip


_REF = re.compile(r":(?:mod|class|func|data|meth|attr|exc):`~?(nasbench\.[\w.]+)`")


def _resolves(dotted: str) -> bool:
    """Whether ``dotted`` names a module or an attribute chain inside one."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                # a dataclass field or an annotated attribute without a class-level value
                annotations = getattr(obj, "__annotations__", {})
                fields = getattr(obj, "__dataclass_fields__", {})
                return name in annotations or name in fields
            obj = getattr(obj, name)
        return True
    return False


def test_every_docstring_reference_to_nasbench_resolves() -> None:
    broken = []
    for name, path in sorted(modules(REPO).items()):
        for ref in sorted(set(_REF.findall(path.read_text()))):
            if not _resolves(ref.rstrip(".")):
                broken.append(f"{name}: {ref}")
    assert broken == []


def test_the_public_api_resolves_lazily_without_torch() -> None:
    code = (
        "import sys, nasbench\n"
        "assert 'torch' not in sys.modules, 'import nasbench imported torch'\n"
        "missing = [n for n in nasbench.__all__ if getattr(nasbench, n, None) is None]\n"
        "assert not missing, missing\n"
        "assert sorted(nasbench.__all__) == sorted([*nasbench._EXPORTS, '__version__'])\n"
        "from nasbench.core import registry\n"
        "assert nasbench.registry is registry and nasbench.Budget.__module__ == 'nasbench.core.types'\n"
        "import nasbench.spaces\n"
        "assert nasbench.registry.spaces.create('nb201').name == 'nb201'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    import nasbench

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        nasbench.nope  # noqa: B018
