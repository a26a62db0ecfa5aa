"""Suite progress: the displayed strings, journal polling, and the two display modes."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from nasbench.cli.main import main
from nasbench.core.types import Budget
from nasbench.engine.progress import (
    JournalWatch,
    Progress,
    RunProgress,
    eta_s,
    finished_line,
    format_duration,
    format_line,
    format_run,
)
from tests.suites import nb201_suite

SUITE = nb201_suite("progress", evaluations=12)


# ---- what is displayed ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0, "0s"), (44.6, "45s"), (59.4, "59s"), (60.0, "1m00s"), (90.0, "1m30s"),
     (3599.0, "59m59s"), (3600.0, "1h00m"), (7530.0, "2h05m"), (-3.0, "0s")],
)  # fmt: skip
def test_durations(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_the_overall_line_and_its_eta() -> None:
    assert format_line(done=3, total=12, elapsed_s=30.0) == "3/12 runs, ETA 1m30s"
    assert format_line(done=0, total=12, elapsed_s=5.0) == "0/12 runs, ETA --"
    assert format_line(done=12, total=12, elapsed_s=120.0) == "12/12 runs in 2m00s"
    # a resume: 8 runs were done before; 2 finished in this session's 20 s, 2 are left
    assert eta_s(done=10, total=12, elapsed_s=20.0, resumed=8) == 20.0
    assert format_line(done=10, total=12, elapsed_s=20.0, resumed=8) == "10/12 runs, ETA 20s"
    assert format_line(done=8, total=12, elapsed_s=20.0, resumed=8) == "8/12 runs, ETA --"
    assert eta_s(done=8, total=12, elapsed_s=20.0, resumed=8) is None
    line = finished_line(3, 12, 30.0, "nb__random__seed3")
    assert line == "3/12 runs, ETA 1m30s; finished nb__random__seed3"


def test_a_running_runs_line_shows_the_budgets_it_has() -> None:
    assert format_run("r", 12, 1500.0, 50, None) == "  r  12/50 evaluations"
    assert (
        format_run("r", 12, 1499.6, None, 12000.0) == "  r  12 evaluations, 1500/12000 s simulated"
    )
    both = format_run("r", 3, 90.0, 50, 12000.0)
    assert both == "  r  3/50 evaluations, 90/12000 s simulated"
    assert format_run("r", 7, 1.0, None, None) == "  r  7 evaluations"


# ---- polling the journals ------------------------------------------------------------------
def evaluation(trial: int, cum_cost_s: float) -> str:
    return json.dumps({"trial": trial, "record": {"trial": trial, "cum_cost_s": cum_cost_s}})


def test_journal_polling_reads_what_was_appended(tmp_path: Path) -> None:
    a, b = tmp_path / "nb__random__seed0.journal", tmp_path / "nb__random__seed1.journal"
    a.write_text('{"run": "nb__random__seed0"}\n' + evaluation(0, 10.5) + "\n")
    b.write_text('{"run": "nb__random__seed1"}\n')
    (tmp_path / "nb__random__seed2.parquet").write_text("not a journal")
    watch = JournalWatch(tmp_path)
    assert watch.poll() == [RunProgress("nb__random__seed0", 1, 10.5),
                            RunProgress("nb__random__seed1", 0, 0.0)]  # fmt: skip
    with a.open("a") as f:
        f.write(evaluation(1, 30.0) + "\n" + evaluation(2, 45.25) + "\n" + '{"trial": 3, "rec')
    assert watch.poll()[0] == RunProgress("nb__random__seed0", 3, 45.25)  # torn line waits
    with a.open("a") as f:
        f.write('ord": {"cum_cost_s": 50.0}}\n')
    assert watch.poll()[0] == RunProgress("nb__random__seed0", 4, 50.0)
    a.write_text('{"run": "nb__random__seed0"}\n' + evaluation(0, 7.0) + "\n")  # shorter: anew
    assert watch.poll()[0] == RunProgress("nb__random__seed0", 1, 7.0)
    b.unlink()  # its run finished
    assert watch.poll() == [RunProgress("nb__random__seed0", 1, 7.0)]
    assert JournalWatch(tmp_path / "missing").poll() == []


# ---- the two display modes -----------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_not_on_a_terminal_one_plain_line_per_finished_run(tmp_path: Path) -> None:
    stream, clock = io.StringIO(), Clock()
    progress = Progress(stream, clock=clock)  # a StringIO is not a terminal
    assert not progress.tty
    progress.start(tmp_path, total=4, done=1, budgets={})
    for run_id, now in [("a", 110.0), ("b", 130.0), ("c", 131.0)]:
        clock.now = now
        progress.finished(run_id)
    progress.close()
    assert stream.getvalue() == (
        "2/4 runs, ETA 20s; finished a\n"
        "3/4 runs, ETA 15s; finished b\n"
        "4/4 runs in 31s; finished c\n"
    )  # fmt: skip


def test_on_a_terminal_a_block_with_the_running_runs_is_redrawn(tmp_path: Path) -> None:
    (tmp_path / "nb__random__seed0.journal").write_text(
        '{"run": "nb__random__seed0"}\n' + evaluation(0, 10.0) + "\n" + evaluation(1, 25.0) + "\n"
    )
    stream, clock = io.StringIO(), Clock()
    progress = Progress(stream, tty=True, clock=clock)
    budgets = {"nb__random__seed0": Budget(cost_s=3000, evaluations=50)}
    progress.start(tmp_path, total=3, done=0, budgets=budgets)
    clock.now = 130.0
    progress.finished("nb__random__seed1")
    assert progress.lines() == [
        "1/3 runs, ETA 1m00s",
        "  nb__random__seed0  2/50 evaluations, 25/3000 s simulated",
    ]
    progress.close()
    text = stream.getvalue()
    assert text.startswith("\r\x1b[J0/3 runs, ETA --\n  nb__random__seed0  2/50 evaluations")
    # each redraw goes back up the block's one further line and clears it first
    last = text.rsplit("\x1b[J", 1)
    assert last[0].endswith("\r\x1b[A") and last[1] == (
        "1/3 runs, ETA 1m00s\n  nb__random__seed0  2/50 evaluations, 25/3000 s simulated\n"
    )


# ---- the command line ----------------------------------------------------------------------
def test_nasbench_run_reports_on_stderr_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nasbench.engine.progress import Progress

    monkeypatch.setattr(Progress, "CHECK_NOTICE_S", 60.0)  # a loaded machine: no check notice
    config = tmp_path / "s.toml"
    config.write_text(SUITE)
    assert main(["run", str(config), "--out", str(tmp_path / "a"), "--workers", "1"]) == 0
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 5 and "\r" not in err and "\x1b" not in err
    assert lines[4] == "summarising 4 runs (tables, statistics) ..."  # the summary phase
    pattern = r"{}/4 runs, ETA \d+s; finished nb__(random|regularized_evolution)__seed[01]"
    for k, line in enumerate(lines[:3], 1):
        assert re.fullmatch(pattern.format(k), line), line
    assert re.fullmatch(r"4/4 runs in \d+s; finished nb__\w+__seed[01]", lines[3])
    assert out.startswith("| task | strategy |") and "4 runs in" in out
    args = ["run", str(config), "--out", str(tmp_path / "b"), "--workers", "1", "--quiet"]
    assert main(args) == 0
    quiet_out, quiet_err = capsys.readouterr()
    assert quiet_err == "" and quiet_out.startswith("| task | strategy |")


def test_a_long_suite_check_is_announced_once_a_quick_one_is_not(monkeypatch) -> None:
    """Building every role first (tables, surrogate fits) can take minutes: after
    CHECK_NOTICE_S one line says what is going on; a check that ends sooner (a bad suite
    refused at once, a small suite) prints nothing."""
    import io
    import time as time_module

    from nasbench.engine.progress import Progress

    monkeypatch.setattr(Progress, "CHECK_NOTICE_S", 0.05)
    slow = io.StringIO()
    progress = Progress(slow, tty=False)
    progress.checking(4)
    time_module.sleep(0.5)
    progress.close()
    assert slow.getvalue() == (
        "checking the suite: building the roles of 4 (task, strategy) pairs "
        "(tables, surrogates) ...\n"
    )
    quick = io.StringIO()
    progress = Progress(quick, tty=False)
    monkeypatch.setattr(Progress, "CHECK_NOTICE_S", 30.0)
    progress.checking(1)
    progress.close()
    assert quick.getvalue() == ""
