"""Issue 23: reading is inert, and nothing is overwritten without an explicit flag.

(a) Results folders whose records name code (``evilmod:Thing``, an entry point declared by a
``*.dist-info`` folder that is not installed, a table file naming a ``module:Class`` space):
``report``, ``compare``, ``plot`` and ``report --rescore`` exit 0 or 2 with at most one line
on stderr (``plot`` may add its ``note:`` lines), never import ``evilmod`` (no marker file, not in
``sys.modules``). (b) Every command that writes files refuses, in one line with exit code 2 and
touching no file, to replace an existing one, and replaces it with its explicit flag.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nasbench.cli.main import main
from nasbench.core.registry import NOT_IMPORTED, evaluators, inert, spaces, strategies
from nasbench.engine.records import META_KEY, read_run
from nasbench.tables import tablebuild
from nasbench.tables.benchmarks import METADATA_KEY, resolve

SUITE = """
[suite]
name = "inert"
seeds = 2
[budget]
cost_s = 2000
sparsity = 0.0
[[task]]
space = "nb201"
evaluator = "tabular"
benchmark = "nb201-cifar10"
fidelity = 12
[[strategy]]
name = "random"
[[strategy]]
name = "regularized_evolution"
"""

EVILMOD = """
from pathlib import Path
Path(__file__).with_name("IMPORTED").write_text("evilmod ran")
class Thing:
    def evaluate(self, *args):
        raise AssertionError
    def start(self, *args): ...
    def ask(self, *args): ...
    def tell(self, *args): ...
    def parse(self, *args): ...
    def sample(self, *args): ...
    def decisions(self, *args): ...
"""

ENTRY_POINTS = """[nasbench.evaluators]
evil_eval = evilmod:Thing

[nasbench.strategies]
evil_strategy = evilmod:Thing
"""


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(*roots: Path) -> dict[str, str]:
    """Every file under ``roots``: path -> SHA-256 of its bytes."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for root in roots for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny tabular suite's results folder (2 strategies x 2 seeds, seconds), via the CLI."""
    root = tmp_path_factory.mktemp("inert")
    (root / "suite.toml").write_text(SUITE)
    argv = ["run", str(root / "suite.toml"), "--out", str(root / "res"), "--workers", "1",
            "--quiet"]  # fmt: skip
    assert main(argv) == 0
    return root / "res"


# ---- (a) reading is inert ----------------------------------------------------------------------
def plant(folder: Path) -> None:
    """``evilmod.py`` (writes ``IMPORTED`` beside itself when imported) and a ``*.dist-info``
    folder declaring it as the entry points ``evil_eval`` and ``evil_strategy``, in ``folder``:
    importable and discoverable once ``folder`` is on ``sys.path``, installed nowhere."""
    (folder / "evilmod.py").write_text(EVILMOD)
    info = folder / "evilplug-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: evilplug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)


def tamper(source: Path, dest: Path, evaluator: str, params: list[list[Any]],
           strategy: Callable[[str], str]) -> Path:  # fmt: skip
    """A copy of the results folder ``source`` whose records (and saved suite) name
    ``evaluator`` with ``params`` and strategies renamed by ``strategy``; :func:`plant` beside
    the records too (a downloaded folder that brings its own code)."""
    (dest / "runs").mkdir(parents=True)
    for path in sorted((source / "runs").glob("*.parquet")):
        table, meta = read_run(path)
        spec = json.loads(meta.config_json)
        spec["task"]["evaluator"], spec["task"]["evaluator_params"] = evaluator, params
        spec["strategy"]["name"] = strategy(spec["strategy"]["name"])
        meta = dataclasses.replace(meta, config_json=json.dumps(spec, sort_keys=True),
                                   strategy=strategy(meta.strategy))  # fmt: skip
        table = table.replace_schema_metadata(
            {META_KEY: json.dumps(dataclasses.asdict(meta), sort_keys=True).encode()}
        )
        pq.write_table(table, dest / "runs" / path.name)
    for name in ("config.toml", "suite.json"):  # the saved suite names the same code
        text = (source / name).read_text().replace("tabular", evaluator)
        (dest / name).write_text(text.replace('"random"', f'"{strategy("random")}"'))
    plant(dest)
    return dest


@pytest.fixture(scope="module")
def evil(results: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three poisoned results folders (each with evilmod.py and the dist-info beside its
    records, and again in the folder above): records naming ``evilmod:Thing`` as evaluator and
    strategies; naming the entry points ``evil_eval``/``evil_strategy`` of the uninstalled
    dist-info; and a surrogate benchmark whose table file names the space ``evilmod:Thing``."""
    root = tmp_path_factory.mktemp("evil")
    plant(root)
    table = pq.read_table(resolve("nb201-cifar10"))
    meta = dict(table.schema.metadata or {})
    info = json.loads(meta[METADATA_KEY])
    info["space"] = "evilmod:Thing"
    meta[METADATA_KEY] = json.dumps(info).encode()
    pq.write_table(table.replace_schema_metadata(meta), root / "evil_table.parquet")
    return {
        "path": tamper(results, root / "path", "evilmod:Thing", [], lambda s: f"evilmod:{s}"),
        "entry_point": tamper(
            results,
            root / "entry_point",
            "evil_eval",
            [],
            lambda s: "evil_strategy" if s == "random" else s,
        ),
        "table": tamper(
            results,
            root / "table",
            "surrogate",
            [["benchmark", str(root / "evil_table.parquet")]],
            lambda s: s,
        ),
    }


@pytest.fixture
def armed(evil: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The poisoned folders with their code importable: every folder holding evilmod.py and
    the dist-info is on ``sys.path``; nothing may import it."""
    for folder in [evil["path"].parent, *evil.values()]:
        monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, "evilmod", raising=False)
    return evil


def assert_not_imported(evil: dict[str, Path]) -> None:
    folders = [evil["path"].parent, *evil.values()]
    assert not [f for f in folders if (f / "IMPORTED").exists()]
    assert "evilmod" not in sys.modules


READS = [
    ["report", "{dir}"],
    ["report", "{dir}", "--format", "json"],
    ["report", "{dir}", "--format", "csv"],
    ["report", "{dir}", "--at", "1,5"],
    ["report", "{dir}", "--pareto", "params_m"],
    ["report", "{dir}", "--seeds-for", "1"],
    ["report", "{dir}", "--rescore"],
    ["compare", "{dir}", "{dir}"],
    ["plot", "{dir}", "--out", "{tmp}/figures", "--formats", "png"],
]


@pytest.mark.parametrize("kind", ["path", "entry_point", "table"])
@pytest.mark.parametrize("argv", READS, ids=[" ".join(x for x in a if "{" not in x) for a in READS])
def test_reading_a_poisoned_folder_imports_nothing(
    armed: dict[str, Path], kind: str, argv: list[str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    folder = armed[kind]
    before = snapshot(folder.parent)
    args = [a.format(dir=folder, tmp=tmp_path) for a in argv]
    code, out, err = cli(capsys, *args)
    assert code in (0, 2), err
    assert "Traceback" not in err and "Traceback" not in out
    lines = [line for line in err.splitlines() if not line.startswith("note: ")]
    assert len(lines) == 1 if code == 2 else len(lines) <= 1, err
    if "--rescore" in args:  # refused (a name not built in, a table of another space)
        assert code == 2, err
    assert_not_imported(armed)
    assert snapshot(folder.parent) == before


def test_report_says_why_it_has_no_table_reference(
    armed: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """The statistics name the evaluator they would not import instead of importing it."""
    from nasbench.analysis.stats import build_report

    for kind, name in (("path", "evilmod:Thing"), ("entry_point", "evil_eval")):
        caplog.clear()
        rows = build_report(armed[kind]).scores
        assert {r.regret_ref for r in rows} == {"observed"}
        assert f"{name!r} is {NOT_IMPORTED}" in caplog.text, caplog.text
    assert_not_imported(armed)


def test_inert_lookups_refuse_paths_and_uninstalled_entry_points(armed: dict[str, Path]) -> None:
    from nasbench.core.errors import NasbenchError
    from nasbench.core.registry import installed_entry_points, load_object

    with inert():
        for registry, name in [(evaluators, "evilmod:Thing"), (evaluators, "evil_eval"),
                               (strategies, "evil_strategy"), (spaces, "evilmod:Thing")]:  # fmt: skip
            with pytest.raises(NasbenchError, match=NOT_IMPORTED):
                registry.get(name)
            assert name not in registry.names()
        with pytest.raises(NasbenchError, match=NOT_IMPORTED):
            load_object("evilmod:Thing")
        assert evaluators.get("tabular").__module__.startswith("nasbench.")
        assert load_object("json:dumps") is json.dumps  # installed code still loads
    assert not [
        ep for ep in installed_entry_points("nasbench.evaluators") if ep.name == "evil_eval"
    ]
    assert_not_imported(armed)


def test_the_command_line_in_a_poisoned_working_directory(armed: dict[str, Path]) -> None:
    """``python -m nasbench`` puts the working directory first on ``sys.path``: a run-mode
    registry there loads the folder's dist-info entry point (the trap is armed), the report
    does not."""
    folder = armed["entry_point"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    trap = ("from nasbench.core.registry import evaluators; "
            "print('evil_eval' in evaluators.names())")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, ''); {trap}"],
                          cwd=folder, env=env, capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.stdout.strip() == "True" and (folder / "IMPORTED").exists(), proc.stderr
    (folder / "IMPORTED").unlink()
    for argv in (["report", "."], ["report", ".", "--rescore"], ["compare", ".", "."]):
        proc = subprocess.run([sys.executable, "-m", "nasbench", *argv], cwd=folder, env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert proc.returncode in (0, 2) and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.splitlines()) <= 1, proc.stderr
        assert not (folder / "IMPORTED").exists(), argv


# ---- (b) nothing overwritten without an explicit flag ------------------------------------------
SPEC_ARGS = ["build-table", "chain", "--param", "max_layers=2", "--epochs", "1",
             "--recipe", "batch_size=500", "--n", "2", "--sparsity", "0", "--latency-device",
             "none"]  # fmt: skip


def fake_run(spec_json: str, index: int, arch_text: str, sparsity: float, seed: int) -> dict:
    """A deterministic stand-in for a training run (no training in these tests)."""
    arch = tablebuild.TableSpec.from_json(spec_json).create_space().parse(arch_text)
    val = 0.5 + 0.01 * index
    return {
        "index": index, "arch": arch.text, "key": arch.key, "sparsity": sparsity, "seed": seed,
        "status": "ok", "val_acc": val, "test_acc": val, "train_time_s": 1.0,
        "sparsity_measured": sparsity, "params": 1000, "nonzero_params": 1000, "macs": 5000,
        "effective_macs": 5000, "latency_ms": 0.5, "curve": [val], "job_wall_s": 1.0,
        "host": "test",
    }  # fmt: skip


@pytest.fixture
def trained(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Training replaced by :func:`fake_run`; the list of runs it was asked for."""
    calls: list[tuple] = []

    def counted(*args: Any) -> dict:
        calls.append(args[1:])
        return fake_run(*args)

    monkeypatch.setattr(tablebuild, "train_run", counted)
    return calls


def own_table(tmp: Path) -> None:
    """``t.parquet`` and its datasheet ``t.md``, as build-table writes them."""
    assert main([*SPEC_ARGS, "--out", str(tmp / "t.parquet")]) == 0


def write(name: str, data: bytes = b"my own notes\n") -> Callable[[Path, Path], None]:
    def setup(tmp: Path, res: Path) -> None:
        path = Path(name.format(tmp=tmp, res=res))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return setup


def plain_parquet(name: str) -> Callable[[Path, Path], None]:
    def setup(tmp: Path, res: Path) -> None:
        pq.write_table(pa.table({"x": [1, 2]}), name.format(tmp=tmp, res=res))

    return setup


def folder(name: str) -> Callable[[Path, Path], None]:
    def setup(tmp: Path, res: Path) -> None:
        Path(name.format(tmp=tmp, res=res)).mkdir(parents=True)

    return setup


def both(*steps: Callable[[Path, Path], None]) -> Callable[[Path, Path], None]:
    def setup(tmp: Path, res: Path) -> None:
        for step in steps:
            step(tmp, res)

    return setup


def table_then(step: Callable[[Path, Path], None]) -> Callable[[Path, Path], None]:
    return both(lambda tmp, res: own_table(tmp), step)


OTHER_SHEET = b"# u: nasbench's own benchmark table of `chain` on mnist1d\n\nanother table's\n"


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    argv: list[str]
    message: str
    setup: Callable[[Path, Path], None] = lambda tmp, res: None


CASES = [
    # report --out: every file checked before any is written
    Case(
        "report-csv-into-results-folder",
        ["report", "{res}", "--format", "csv", "--out", "{res}"],
        "refusing to overwrite {res}/summary.csv",
    ),
    Case(
        "report-md",
        ["report", "{res}", "--out", "{tmp}/o"],
        "refusing to overwrite {tmp}/o/report.md",
        write("{tmp}/o/report.md"),
    ),
    Case(
        "report-json",
        ["report", "{res}", "--json", "--out", "{tmp}/o"],
        "report.json",
        write("{tmp}/o/report.json"),
    ),
    Case(
        "report-csv-one-of-four-summary",
        ["report", "{res}", "--format", "csv", "--out", "{tmp}/o"],
        "refusing to overwrite {tmp}/o/summary.csv",
        write("{tmp}/o/summary.csv"),
    ),
    Case(
        "report-csv-one-of-four-pairwise",
        ["report", "{res}", "--format", "csv", "--out", "{tmp}/o"],
        "refusing to overwrite {tmp}/o/pairwise.csv",
        write("{tmp}/o/pairwise.csv"),
    ),
    Case(
        "report-anytime",
        ["report", "{res}", "--at", "1,5", "--out", "{tmp}/o"],
        "anytime.md",
        write("{tmp}/o/anytime.md"),
    ),
    Case(
        "report-pareto-csv",
        ["report", "{res}", "--pareto", "params_m", "--format", "csv", "--out", "{tmp}/o"],
        "pareto.csv",
        write("{tmp}/o/pareto.csv"),
    ),
    Case(
        "report-rescore",
        ["report", "{res}", "--rescore", "--out", "{tmp}/o"],
        "refusing to overwrite {tmp}/o/rescore.md",
        write("{tmp}/o/rescore.md"),
    ),
    Case(
        "report-target-is-a-folder-even-with-overwrite",
        ["report", "{res}", "--out", "{tmp}/o", "--overwrite"],
        "it is a folder",
        folder("{tmp}/o/report.md"),
    ),
    Case(
        "report-out-is-a-file",
        ["report", "{res}", "--out", "{tmp}/o"],
        "is a file",
        write("{tmp}/o"),
    ),
    Case("report-overwrite-without-out", ["report", "{res}", "--overwrite"], "goes with --out"),
    # plot: any figure file it could write
    Case(
        "plot-default-folder",
        ["plot", "{res}"],
        "refusing to overwrite {res}/plots/regret.png",
        write("{res}/plots/regret.png"),
    ),
    Case(
        "plot-a-figure-it-would-skip",
        ["plot", "{res}", "--out", "{tmp}/f", "--formats", "svg"],
        "critical_difference.svg",
        write("{tmp}/f/critical_difference.svg"),
    ),
    Case(
        "plot-figure-is-a-folder-even-with-overwrite",
        ["plot", "{res}", "--out", "{tmp}/f", "--formats", "png", "--overwrite"],
        "it is a folder",
        folder("{tmp}/f/sparsity.png"),
    ),
    Case(
        "plot-out-is-a-file", ["plot", "{res}", "--out", "{tmp}/f"], "is a file", write("{tmp}/f")
    ),
    # build-table: only its own table and that table's own datasheet
    Case(
        "build-table-notes-before-any-table",
        [*SPEC_ARGS, "--out", "{tmp}/t.parquet"],
        "refusing to overwrite {tmp}/t.md",
        write("{tmp}/t.md"),
    ),
    Case(
        "build-table-notes-beside-its-table",
        [*SPEC_ARGS, "--n", "3", "--out", "{tmp}/t.parquet"],
        "not the datasheet",
        table_then(write("{tmp}/t.md")),
    ),
    Case(
        "build-table-another-tables-datasheet",
        [*SPEC_ARGS, "--out", "{tmp}/t.parquet"],
        "not the datasheet",
        table_then(write("{tmp}/t.md", OTHER_SHEET)),
    ),
    Case(
        "build-table-own-title-but-no-table",
        [*SPEC_ARGS, "--out", "{tmp}/u.parquet"],
        "refusing to overwrite {tmp}/u.md",
        write("{tmp}/u.md", OTHER_SHEET),
    ),
    Case(
        "build-table-sheet-is-a-folder-even-with-overwrite",
        [*SPEC_ARGS, "--out", "{tmp}/t.parquet", "--overwrite"],
        "it is a folder",
        folder("{tmp}/t.md"),
    ),
    Case(
        "build-table-foreign-parquet",
        [*SPEC_ARGS, "--out", "{tmp}/t.parquet", "--overwrite"],
        "not written by nasbench build-table",
        plain_parquet("{tmp}/t.parquet"),
    ),
    # run: a new results folder, or --resume of its own
    Case("run-existing-results", ["run", "{res}/config.toml", "--out", "{res}"], "--resume"),
    Case(
        "run-out-is-a-file",
        ["run", "{res}/config.toml", "--out", "{tmp}/r"],
        "exists",
        write("{tmp}/r"),
    ),
    Case(
        "run-resume-a-foreign-folder",
        ["run", "{res}/config.toml", "--out", "{tmp}/r", "--resume"],
        "cannot resume",
        write("{tmp}/r/notes.md"),
    ),
]


@pytest.fixture
def res(results: Path, tmp_path: Path) -> Path:
    """A private copy of the results folder (some cases plant files in it)."""
    shutil.copytree(results, tmp_path / "res")
    return tmp_path / "res"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_nothing_is_overwritten_without_the_flag(
    case: Case, res: Path, tmp_path: Path, trained: list[tuple],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    tmp = tmp_path / "w"
    tmp.mkdir()
    case.setup(tmp, res)
    capsys.readouterr()
    calls = len(trained)
    before = snapshot(tmp_path)
    code, out, err = cli(capsys, *[a.format(tmp=tmp, res=res) for a in case.argv])
    assert code == 2 and out == "", (out, err)
    assert len(err.splitlines()) == 1 and err.startswith("nasbench: error: "), err
    assert "Traceback" not in err
    assert case.message.format(tmp=tmp, res=res) in err, err
    assert snapshot(tmp_path) == before  # no file changed, none created
    assert len(trained) == calls  # refused before any training


def test_report_overwrite_replaces_every_file(
    res: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (res / "summary.csv").write_text("stale\n")
    code, out, err = cli(capsys, "report", str(res), "--format", "csv", "--out", str(res),
                         "--overwrite")  # fmt: skip
    assert code == 0 and err == "" and str(res / "summary.csv") in out
    assert (res / "summary.csv").read_text().startswith("task,strategy,")
    assert (res / "ranks.csv").exists()
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "rescore.md").write_text("stale\n")
    # --rescore --overwrite passes the file check, then refuses tabular records on their own
    code, _, err = cli(capsys, "report", str(res), "--rescore", "--out", str(tmp_path / "o"),
                       "--overwrite")  # fmt: skip
    assert code == 2 and "no run answers from a surrogate benchmark" in err
    assert (tmp_path / "o" / "rescore.md").read_text() == "stale\n"  # nothing to write


def test_plot_overwrite_replaces_the_figures(
    res: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "figures"
    out.mkdir()
    (out / "regret.png").write_bytes(b"stale")
    (out / "notes.txt").write_bytes(b"kept")
    code, printed, _ = cli(capsys, "plot", str(res), "--out", str(out), "--formats", "png",
                           "--overwrite")  # fmt: skip
    assert code == 0 and str(out / "regret.png") in printed.split()
    assert (out / "regret.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "notes.txt").read_bytes() == b"kept"
    code, _, err = cli(capsys, "plot", str(res), "--out", str(out), "--formats", "png")
    assert code == 2 and "refusing to overwrite" in err  # its own figures too, unless asked


def test_build_table_replaces_its_own_datasheet_and_others_only_with_the_flag(
    tmp_path: Path, trained: list[tuple], capsys: pytest.CaptureFixture[str]
) -> None:
    out, sheet = tmp_path / "t.parquet", tmp_path / "t.md"
    own_table(tmp_path)
    first = sheet.read_text()
    assert first.startswith("# t: nasbench's own benchmark table of `chain`")
    code, _, err = cli(capsys, *SPEC_ARGS, "--n", "3", "--out", str(out))  # extends: its own
    assert code == 0 and err.count("\n") <= 3
    assert sheet.read_text() != first and "3 architectures" in sheet.read_text()
    sheet.write_text("my notes\n")
    code, _, err = cli(capsys, *SPEC_ARGS, "--n", "3", "--out", str(out))
    assert code == 2 and sheet.read_text() == "my notes\n"
    code, _, _ = cli(capsys, *SPEC_ARGS, "--n", "3", "--out", str(out), "--overwrite")
    assert code == 0 and sheet.read_text().startswith("# t: nasbench's own benchmark table")
