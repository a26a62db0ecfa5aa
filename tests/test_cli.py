"""The command line: output formats and the one-line, exit-code-2 error contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nasbench.cli.main import main
from nasbench.core.registry import spaces
from tests.helpers import BEST, write_suite


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_spaces_lists_every_space(capsys) -> None:
    code, out, _ = run(capsys, "spaces", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["name"] for r in rows] == spaces.names()
    nb = next(r for r in rows if r["name"] == "nb201")
    assert nb["cardinality"] == 15625 and nb["decisions"] == 6 and nb["encoding_size"] == 30
    code, out, _ = run(capsys, "spaces")
    assert "15,625" in out and len(out.splitlines()) == len(rows) + 1


def test_sample_is_seeded(capsys) -> None:
    _, a, _ = run(capsys, "sample", "nb201", "--n", "5", "--seed", "3")
    _, b, _ = run(capsys, "sample", "nb201", "--n", "5", "--seed", "3")
    _, c, _ = run(capsys, "sample", "nb201", "--n", "5", "--seed", "4")
    assert a == b != c and len(a.splitlines()) == 5
    space = spaces.create("nb201")
    assert all(space.parse(line) for line in a.splitlines())


def test_describe_json(capsys) -> None:
    code, out, _ = run(capsys, "describe", "nb201", BEST, "--dataset", "cifar10", "--json")
    row = json.loads(out)
    assert code == 0
    assert row["arch"] == row["canonical"] == BEST
    assert row["params"] == 1288506  # NAS-Bench-201's c10_params_M for this cell: 1.288506
    assert row["macs"] > 0 and row["input_shape"] == [3, 32, 32] and row["classes"] == 10


def test_describe_reads_stdin_and_custom_shapes(capsys, monkeypatch) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(BEST + "\n\n" + BEST + "\n"))
    code, out, _ = run(
        capsys, "describe", "nb201", "--stdin", "--input-shape", "1,40", "--classes", "10", "--json"
    )
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 2 and rows[0]["input_shape"] == [1, 40]
    # the default task is MNIST-1D: the same shape
    _, out2, _ = run(capsys, "describe", "nb201", BEST, "--json")
    assert json.loads(out2)["params"] == rows[0]["params"]


def test_space_parameters_from_the_command_line(capsys) -> None:
    _, small, _ = run(capsys, "describe", "nb201", BEST, "--json", "--param", "channels=8")
    _, full, _ = run(capsys, "describe", "nb201", BEST, "--json")
    assert json.loads(small)["params"] < json.loads(full)["params"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sample", "nosuchspace"], "unknown space 'nosuchspace'"),
        (["describe", "nb201", "|bad"], "nb201: expected 3"),
        (["describe", "nb201", BEST, "|bad"], "nb201: expected 3"),
        (["describe", "nb201"], "needs architecture strings"),
        (["describe", "nb201", BEST, "--input-shape", "3,x", "--classes", "2"], "--input-shape"),
        (["describe", "nb201", BEST, "--input-shape", "3,32"], "needs --classes"),
        (["sample", "nb201", "--param", "depth=3"], "unknown parameter 'depth'"),
        (["sample", "nb201", "--n", "-1"], "--n must be >= 0"),
        (["frobnicate"], "unknown command 'frobnicate' (valid: spaces,"),
        (["repotr"], "unknown command 'repotr'; did you mean 'report'?"),
    ],
)
def test_errors_are_one_line_and_exit_2(capsys, argv, message) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err


def test_console_script_exit_code() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "nasbench", "describe", "nb201", "|nor_conv_9x9~0|"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("nasbench: error:") and proc.stderr.count("\n") == 1


def test_run_then_report(capsys, tmp_path) -> None:
    out = tmp_path / "res"
    code, printed, err = run(capsys, "run", str(write_suite(tmp_path)), "--out", str(out),
                             "--workers", "1")  # fmt: skip
    assert code == 0 and "| nb201-tabular-nb201-cifar10-f12 | random | 2 |" in printed
    assert "2/2 runs in" in err  # the progress line of nasbench.engine.progress
    assert sorted(p.name for p in out.iterdir()) == [
        "config.toml",
        "runs",
        "stats.json",
        "stats.md",
        "suite.json",
        "summary.csv",
        "summary.json",
        "summary.md",
    ]
    code, table, _ = run(capsys, "report", str(out))
    written = (out / "summary.md").read_text() + "\n" + (out / "stats.md").read_text()
    assert code == 0 and table == written
    code, as_json, _ = run(capsys, "report", str(out), "--json")
    assert json.loads(as_json) == json.loads((out / "stats.json").read_text())
    rows = json.loads(as_json)["summary"]
    assert rows == json.loads((out / "summary.json").read_text())
    assert rows[0]["seeds"] == 2 and 0.8 < rows[0]["final_test_mean"] < 0.95


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "nope"}, "unknown strategy 'nope'"),
        ({"edit": ("cost_s = 2000", "cost_s = -1")}, "cost_s must be positive"),
        ({"edit": ("sparsity = 0.0", "sparsity = 1.5")}, "sparsity must be in [0, 1)"),
        ({"extra": 'latency_ms = 4.0\nlatency_device = "nokia3310"'}, "unknown latency device"),
        ({"extra": "latency_ms = 4.0"}, "go together"),
        (
            {"strategy": 'random"\npopulation = "3'},
            "unknown key 'population' (its keys: name, label, tasks; parameters of strategy 'random': none)",
        ),
    ],
)
def test_bad_suites_exit_2_and_touch_nothing(capsys, tmp_path, kwargs, message) -> None:
    out = tmp_path / "res"
    code, printed, err = run(capsys, "run", str(write_suite(tmp_path, **kwargs)), "--out", str(out))
    assert code == 2 and printed == "" and len(err.strip().splitlines()) == 1
    assert message in err
    assert not out.exists()


def test_existing_results_are_kept(capsys, tmp_path) -> None:
    out = tmp_path / "res"
    path = write_suite(tmp_path)
    assert run(capsys, "run", str(path), "--out", str(out), "--workers", "1")[0] == 0
    before = {p.name: p.read_bytes() for p in (out / "runs").iterdir()}
    code, _, err = run(capsys, "run", str(path), "--out", str(out))
    assert code == 2 and "--resume" in err
    code, _, _ = run(capsys, "run", str(path), "--out", str(out), "--resume")
    assert code == 0
    assert {p.name: p.read_bytes() for p in (out / "runs").iterdir()} == before


def test_report_on_a_corrupted_record(capsys, tmp_path) -> None:
    out = tmp_path / "res"
    assert (
        run(capsys, "run", str(write_suite(tmp_path)), "--out", str(out), "--workers", "1")[0] == 0
    )
    (out / "runs" / "zz.parquet").write_bytes(b"not parquet at all")
    code, printed, err = run(capsys, "report", str(out))
    assert code == 2 and printed == "" and "cannot read run record" in err
    code, _, err = run(capsys, "report", str(tmp_path / "nowhere"))
    assert code == 2 and "no run records" in err


def test_compare_two_result_folders(capsys, tmp_path) -> None:
    path = write_suite(tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(capsys, "run", str(path), "--out", str(a), "--workers", "1")[0] == 0
    assert run(capsys, "run", str(path), "--out", str(b), "--workers", "2")[0] == 0
    code, printed, _ = run(capsys, "compare", str(a), str(b))
    assert code == 0 and printed.startswith("identical: 2 runs")
    victim = sorted((b / "runs").iterdir())[0]
    victim.unlink()
    code, printed, _ = run(capsys, "compare", str(a), str(b))
    assert code == 1 and f"only in {a}: {victim.name}" in printed


def test_strategies_lists_hyperparameters_with_sources(capsys) -> None:
    code, out, _ = run(capsys, "strategies", "--json")
    rows = {r["name"]: r for r in map(json.loads, out.splitlines())}
    assert code == 0 and set(rows) >= {"random", "regularized_evolution"}
    evo = rows["regularized_evolution"]
    assert "Real" in evo["paper"] and evo["initial_design"] == "shared"
    assert [(h["name"], h["default"]) for h in evo["hyperparameters"]] == [
        ("population", 10),
        ("sample_size", 3),
    ]
    assert all("NAS-Bench-201" in h["source"] for h in evo["hyperparameters"])
    code, text, _ = run(capsys, "strategies")
    assert "population = 10" in text and "(no hyperparameters)" in text


def test_version_is_the_package_version_the_metadata_records(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import nasbench

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"nasbench {nasbench.__version__}" == "nasbench 0.1.0"


def test_the_console_script_imports_plugins_from_the_current_folder_without_shadowing(
    tmp_path: Path,
) -> None:
    script = Path(sys.executable).with_name("nasbench")
    if not script.exists():
        pytest.skip("no console script beside this interpreter")
    (tmp_path / "my_spaces.py").write_text(
        "from nasbench.spaces.nb201 import NB201Space\n\nclass Mine(NB201Space):\n    pass\n"
    )
    (tmp_path / "numpy.py").write_text("raise SystemExit('a local numpy.py was imported')\n")
    done = subprocess.run([str(script), "sample", "my_spaces:Mine", "--n", "1"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("|") >= 5  # one NAS-Bench-201 cell string


def test_help_imports_no_torch() -> None:
    """`nasbench --help` (and every subcommand's help) is fast: nothing on the way imports torch."""
    code = (
        "import sys\n"
        "from nasbench.cli.main import build_parser\n"
        "parser = build_parser()\n"
        "parser.format_help()\n"
        "for action in parser._subparsers._group_actions:\n"
        "    for sub in action.choices.values():\n"
        "        sub.format_help()\n"
        "assert 'torch' not in sys.modules, 'help imported torch'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_compare_and_run_speak_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = tmp_path / "s.toml"
    suite.write_text(
        '[suite]\nname = "j"\nseeds = 2\n[budget]\nevaluations = 5\n'
        '[[task]]\nspace = "nb201"\nevaluator = "tabular"\nfidelity = 12\n'
        '[[strategy]]\nname = "random"\n'
    )
    for folder in ("a", "b"):
        assert main(["run", str(suite), "--out", str(tmp_path / folder), "--json", "--quiet"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["runs"] == 2 and out["summary"][0]["strategy"] == "random"
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "identical": True, "runs": 2, "a": str(tmp_path / "a"), "b": str(tmp_path / "b"),
        "differences": [],
    }  # fmt: skip


def test_help_texts_hold_no_docstring_markup(capsys) -> None:
    """``nasbench --help`` and every subcommand's help read as plain text: no reStructuredText
    literals or roles (issue 25)."""
    from nasbench.cli.main import build_parser

    commands = [["--help"]] + [
        [name, "--help"] for name in build_parser()._subparsers._group_actions[0].choices
    ]  # type: ignore[union-attr]
    assert len(commands) > 10
    for argv in commands:
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 0
        text = capsys.readouterr().out
        assert "``" not in text and ":class:" not in text and ":func:" not in text, argv


def test_nasbench_run_collects_garbage_less_often_and_restores_the_setting(
    tmp_path, monkeypatch
) -> None:
    """``nasbench run`` raises CPython's young-generation threshold while it runs (records and
    a journal's pending group are thousands of live objects) and restores it, so ``main()``
    called from Python changes nothing; worker processes keep the raised one."""
    import gc

    from nasbench.engine import execute
    from nasbench.training.workers import GC_THRESHOLD

    seen = []
    real = execute.run_suite
    monkeypatch.setattr(execute, "run_suite",
                        lambda *a, **k: (seen.append(gc.get_threshold()), real(*a, **k))[1])  # fmt: skip
    before = gc.get_threshold()
    config = write_suite(tmp_path)
    assert main(["run", str(config), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    assert seen == [GC_THRESHOLD] and gc.get_threshold() == before != GC_THRESHOLD
