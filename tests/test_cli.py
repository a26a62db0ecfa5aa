"""The command line: output formats and the one-line, exit-code-2 error contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nasbench.cli import main
from nasbench.registry import spaces

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


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
        (["frobnicate"], "invalid choice"),
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
