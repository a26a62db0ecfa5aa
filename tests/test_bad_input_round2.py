"""The second bad-input round (issue 23): runs that end, answers that are right, one line.

Every bad-input case exits with code 2, prints exactly one line on stderr and no traceback, and
leaves every file it could reach byte-identical (the case folder, with a copy of a finished
results folder, is hashed before and after). Then the conditions met during a run: a full disk,
a read-only folder, Ctrl-C and an overflowing reward end with one line and a folder that
``--resume`` finishes into records equal to an uninterrupted run's (all columns but
``*_wall_s``); caps that end runs say so in one ``nasbench: note:`` line each.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from nasbench.analysis import results
from nasbench.analysis.report import compare
from nasbench.cli.main import main, one_line
from nasbench.engine import execute, records, runner
from nasbench.engine.journal import RunJournal, read_journal
from nasbench.engine.records import read_meta
from tests.helpers import BEST, both, snapshot

SUITE = """
[suite]
name = "round2"
seeds = {seeds}
{head}
[budget]
{budget}
[[task]]
space = "nb201"
evaluator = "tabular"
fidelity = 12
label = "{label}"
{task}
[[strategy]]
name = "random"
"""
RUN = "nb__random__seed0.parquet"


def suite_text(budget: str = "evaluations = 6", seeds: str = "[0]", head: str = "",
               label: str = "nb", task: str = "") -> str:  # fmt: skip
    return SUITE.format(budget=budget, seeds=seeds, head=head, label=label, task=task)


def cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, list[str]]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err.splitlines()


def one_error(code: int, err: list[str], message: str, expected: int = 2) -> str:
    assert code == expected, err
    assert len(err) == 1, err
    assert message in err[0], err[0]
    return err[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished results folder: random search, one seed, 6 evaluations on the nb201 table."""
    root = tmp_path_factory.mktemp("round2")
    (root / "suite.toml").write_text(suite_text())
    assert main(["run", str(root / "suite.toml"), "--out", str(root / "res"), "--quiet",
                 "--workers", "1"]) == 0  # fmt: skip
    return root / "res"


# ---- the corpus: bad input, refused before anything is written --------------------------------
class Ctx(NamedTuple):
    tmp: Path
    res: Path
    monkeypatch: pytest.MonkeyPatch


Setup = Callable[[Ctx], None]


class Case(NamedTuple):
    id: str
    argv: list[str]  # {tmp} and {res} filled in
    message: str
    setup: Setup | None = None


def suite_file(edit: tuple[str, str], **fields: str) -> Setup:
    """``{tmp}/suite.toml`` from :func:`suite_text` with ``fields``, ``edit`` replaced."""

    def setup(ctx: Ctx) -> None:
        (ctx.tmp / "suite.toml").write_text(suite_text(**fields).replace(*edit))

    return setup


def suite(id: str, message: str, edit: tuple[str, str] = ("", ""), **fields: str) -> Case:
    """Run ``{tmp}/suite.toml`` into the fresh folder ``{tmp}/new`` (which must not appear)."""
    argv = ["run", "{tmp}/suite.toml", "--out", "{tmp}/new", "--quiet", "--workers", "1"]
    return Case(f"suite-{id}", argv, message, suite_file(edit, **fields))


def resume(id: str, message: str, setup: Setup) -> Case:
    """Resume the finished folder's copy ``{res}``."""
    argv = ["run", "{res}/config.toml", "--out", "{res}", "--resume", "--quiet"]
    return Case(f"resume-{id}", argv, message, setup)


def edit_journal(trial: int, part: str, name: str, value: Any) -> Setup:
    """A journal for the finished run (its record file deleted) holding its first three
    trials, with ``part`` (``measurement`` or ``record``) ``name`` of ``trial`` set to
    ``value`` (the record written from the same measurement, so only the check can refuse)."""

    def setup(ctx: Ctx) -> None:
        runs = ctx.res / "runs"
        (runs / RUN).unlink()
        path = runs / "nb__random__seed0.journal"
        lines = [json.loads(line) for line in WHOLE_JOURNAL[0]]
        lines[1 + trial][part][name] = value
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))

    return setup


WHOLE_JOURNAL: list[list[str]] = []  # filled by the fixture `journal_lines`


def deny_write(relative: str) -> Setup:
    """``os.access`` reports ``{tmp}/relative`` as not writable (what a read-only folder or a
    read-only file system reports, for root as well)."""

    def setup(ctx: Ctx) -> None:
        denied, access = str(ctx.tmp / relative), os.access

        def fake(path: Any, mode: int, *args: Any, **kwargs: Any) -> bool:
            if str(path) == denied and mode & os.W_OK:
                return False
            return access(path, mode, *args, **kwargs)

        ctx.monkeypatch.setattr(os, "access", fake)

    return setup


def disk_full(ctx: Ctx) -> None:
    class Full:
        f_bavail, f_frsize, f_flag = 3, 4096, 0

    ctx.monkeypatch.setattr(os, "statvfs", lambda path: Full())


def touch(relative: str) -> Setup:
    def setup(ctx: Ctx) -> None:
        (ctx.tmp / relative).write_text("a file")

    return setup


LONG = "x" * 300
HUGE_ARCH = "|nor_conv_3x3~0|" * 200_000  # 3.2 MB

# fmt: off
CASES = [
    # file-system conditions, checked before the folder is created
    suite("label-too-long", "its file names are up to", label=LONG),
    suite("label-newline", "task label 'nb\\n' is not file-name safe", label="nb\\n"),
    suite("label-tab", "task label 'n\\tb' is not file-name safe", label="n\\tb"),
    suite("label-slash", "task label '../nb' is not file-name safe", label="../nb"),
    suite("name-newline", "[suite] name must be a file-name-safe string",
          edit=('name = "round2"', 'name = "round2\\n"')),
    suite("label-not-a-string", "label must be a string, got 5",
          edit=('label = "nb"', "label = 5")),
    Case("out-under-a-file", ["run", "{res}/config.toml", "--out", "{tmp}/afile/new"],
         "{tmp}/afile is a file, not a folder", touch("afile")),
    Case("out-is-a-file", ["run", "{res}/config.toml", "--out", "{tmp}/afile", "--resume"],
         "--out {tmp}/afile exists and is a file, not a results folder", touch("afile")),
    Case("out-name-too-long", ["run", "{res}/config.toml", "--out", "{tmp}/" + LONG],
         "bytes, over this file system's limit of"),
    Case("out-read-only-folder", ["run", "{res}/config.toml", "--out", "{tmp}/ro/new"],
         "cannot create results folder {tmp}/ro/new: {tmp}/ro is not writable",
         both(lambda ctx: (ctx.tmp / "ro").mkdir(), deny_write("ro"))),
    Case("out-no-free-space", ["run", "{res}/config.toml", "--out", "{tmp}/new"],
         "not enough free space for {tmp}/new", disk_full),
    resume("read-only-runs", "cannot resume {res}: {res}/runs is not writable",
           deny_write("res/runs")),
    resume("runs-missing", "cannot resume {res}: it has no runs/ folder",
           lambda ctx: shutil.rmtree(ctx.res / "runs")),
    # budgets that end
    suite("cost-1e300", "cost_s = 1e+300 is above [suite] max_cost_s = 1e+08",
          budget="cost_s = 1e300"),
    suite("evaluations-above-cap", "evaluations = 20000 is above [suite] max_evaluations = 10000",
          budget="evaluations = 20000"),
    suite("task-override-above-cap", "task 'nb': budget cost_s = 1e+09 is above",
          task="budget = { cost_s = 1e9 }"),
    suite("max-evaluations-zero", "[suite] max_evaluations must be a positive whole number",
          head="max_evaluations = 0"),
    suite("max-evaluations-fraction", "max_evaluations must be a positive whole number, got 2.5",
          head="max_evaluations = 2.5"),
    suite("max-cost-inf", "[suite] max_cost_s must be positive and finite, got inf",
          head="max_cost_s = inf"),
    suite("max-streak-string", "max_infeasible_streak must be a positive whole number",
          head='max_infeasible_streak = "many"'),
    suite("soft-weight-huge", "soft_weight 1e+308 is outside [-10, 10]",
          budget='cost_s = 1000\nlatency_ms = 4.0\nlatency_device = "pixel3"\n'
                 'constraint = "soft"\nsoft_weight = 1e308'),
    Case("workers-negative", ["run", "{res}/config.toml", "--out", "{tmp}/new", "--workers", "-3"],
         "--workers must be >= 1, got -3"),
    # wrong answers: refused instead
    Case("report-at-zero", ["report", "{res}", "--at", "0,5"], "--at takes evaluation counts"),
    Case("report-at-negative", ["report", "{res}", "--at", "-5"], "got '-5'"),
    Case("report-at-fraction", ["report", "{res}", "--at", "2.5"], "got '2.5'"),
    Case("report-at-empty", ["report", "{res}", "--at", ""], "--at takes evaluation counts"),
    Case("surrogate-eval-train-size-fraction",
         ["surrogate-eval", "--surrogate", "random_forest", "--train-sizes", "10.7"],
         "--train-sizes takes train sizes (architectures): whole numbers >= 1 like 100,300,1000"),
    Case("surrogate-eval-seed-negative",
         ["surrogate-eval", "--surrogate", "random_forest", "--seeds", "0,-1"],
         "--seeds takes split seeds: whole numbers >= 0"),
    resume("journal-accuracy-above-one",
           "nb__random__seed0.journal line 3: measurement val_acc = 1.7 is not an accuracy",
           edit_journal(1, "measurement", "val_acc", 1.7)),
    resume("journal-record-accuracy-negative",
           "line 2: record test_acc = -0.1 is not an accuracy in [0, 1]",
           edit_journal(0, "record", "test_acc", -0.1)),
    resume("journal-cost-nan", "line 4: measurement cost_s = nan is not a finite number >= 0",
           edit_journal(2, "measurement", "cost_s", float("nan"))),
    resume("journal-accuracy-string", "line 2: measurement test_acc = '0.9' is not an accuracy",
           edit_journal(0, "measurement", "test_acc", "0.9")),
    # one line, whatever the input
    Case("sample-seed-negative", ["sample", "nb201", "--seed", "-1"], "--seed must be >= 0"),
    Case("evaluate-seed-negative", ["evaluate", "nb201", BEST, "--seed", "-1"],
         "--seed must be >= 0, got -1"),
    Case("build-table-sample-seed-negative",
         ["build-table", "chain", "--n", "1", "--sample-seed", "-2", "--out", "{tmp}/t.parquet"],
         "--sample-seed must be >= 0, got -2"),
    Case("describe-huge-arch", ["describe", "nb201", HUGE_ARCH], "got '|nor_conv_3x3~0|"),
]
# fmt: on


@pytest.fixture(scope="module")
def journal_lines(finished: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The journal entries of the finished run's first three trials (made by a crash), one
    line each."""
    root = tmp_path_factory.mktemp("journal")
    out = root / "res"
    calls = {"n": 0}
    evaluate = runner._Loop.evaluate

    def crash(self: runner._Loop, arch: Any, fidelity: float) -> Any:
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return evaluate(self, arch, fidelity)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner._Loop, "evaluate", crash)
        assert main(["run", str(finished / "config.toml"), "--out", str(out), "--quiet",
                     "--workers", "1"]) == 130  # fmt: skip
    journal = read_journal(out / "runs" / "nb__random__seed0.journal")  # groups opened
    WHOLE_JOURNAL[:] = [[json.dumps(entry) for entry in journal]]
    assert len(WHOLE_JOURNAL[0]) == 4


def test_the_corpus_is_large_and_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_exits_2_with_one_line_and_touches_nothing(
    case: Case, finished: Path, journal_lines: None, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    ctx = Ctx(tmp_path, tmp_path / "res", monkeypatch)
    shutil.copytree(finished, ctx.res)

    def fill(text: str) -> str:
        return text.replace("{tmp}", str(tmp_path)).replace("{res}", str(ctx.res))

    if case.setup is not None:
        case.setup(ctx)
    before = snapshot(tmp_path)
    code, out, err = cli(capsys, *map(fill, case.argv))
    line = one_error(code, err, fill(case.message))
    assert out == "" and line.startswith("nasbench: error: ")
    assert len(line) < 1000  # echoed input is cut (a 3 MB architecture too)
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "new").exists()


def test_an_error_line_escapes_control_characters_and_cuts_long_echoes() -> None:
    line = one_line("label 'a\nb' and '" + "y" * 500 + "'\r")
    assert "\n" not in line and "\r" not in line and "'a\\nb'" in line
    assert "'" + "y" * 77 + "...'" in line and line.endswith("\\r")


# ---- OS errors and interrupts during a run: one line, then --resume -------------------------
@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run of two seeds, 12 evaluations each."""
    root = tmp_path_factory.mktemp("whole")
    (root / "suite.toml").write_text(suite_text("evaluations = 12", seeds="[0, 1]"))
    assert main(["run", str(root / "suite.toml"), "--out", str(root / "res"), "--quiet",
                 "--workers", "1"]) == 0  # fmt: skip
    return root


def fail_then_resume(whole: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                     monkeypatch: pytest.MonkeyPatch, fault: Callable[[], None],
                     message: str, expected: int = 2) -> Path:  # fmt: skip
    """Run the suite of ``whole`` with ``fault`` applied (which must end it with one line),
    undo the fault, resume, and check the records equal the uninterrupted run's."""
    config, out = whole / "suite.toml", tmp_path / "res"
    fault()
    code, printed, err = cli(capsys, "run", config, "--out", out, "--quiet", "--workers", "1")
    line = one_error(code, err, message, expected)
    assert printed == "" and f"{out} is kept: " in line and "--resume" in line
    monkeypatch.undo()
    runs = out / "runs"
    assert not list(runs.glob(".*.tmp"))  # no half-written record file is left
    left = snapshot(out)
    code, printed, err = cli(capsys, "run", config, "--out", out, "--quiet", "--resume",
                             "--workers", "1")  # fmt: skip
    assert code == 0 and err == [], err
    assert compare(whole / "res", out) == []
    assert all(
        snapshot(out)[name] == digest for name, digest in left.items() if name.endswith(".parquet")
    )  # finished records are kept as they were
    return out


def test_a_full_disk_while_journaling_is_one_line_and_resumable(
    whole: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    append, calls = RunJournal.append, {"n": 0}

    def full(self: RunJournal, evaluation: Any, durable: bool = True) -> None:
        calls["n"] += 1
        if calls["n"] == 17:  # seed 1, trial 4: half a line reaches the disk
            self._file.write(b'{"trial": 4, "measurement": {"val_')
            self._file.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
        append(self, evaluation, durable)

    out = fail_then_resume(whole, tmp_path, capsys, monkeypatch,
                           lambda: monkeypatch.setattr(RunJournal, "append", full),
                           "No space left on device: ")  # fmt: skip
    assert (out / "runs" / RUN).exists()


def test_a_full_disk_while_writing_a_record_is_one_line_and_resumable(
    whole: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    write_table = records.pq.write_table

    def full(table: Any, where: Any, **kwargs: Any) -> None:
        if "seed1" in str(where):
            Path(where).write_bytes(b"PAR1 half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(where))
        write_table(table, where, **kwargs)

    out = fail_then_resume(whole, tmp_path, capsys, monkeypatch,
                           lambda: monkeypatch.setattr(records.pq, "write_table", full),
                           "No space left on device: ")  # fmt: skip
    assert sorted(p.name for p in (out / "runs").iterdir()) == [
        RUN, "nb__random__seed1.parquet"
    ]  # fmt: skip


def test_a_folder_made_read_only_during_a_run_is_one_line_and_resumable(
    whole: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """EROFS when the second run opens its journal (mocked: root ignores permissions)."""
    init = RunJournal.__init__

    def read_only(self: RunJournal, path: Path, header: dict[str, Any], *window: float) -> None:
        if "seed1" in str(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        init(self, path, header, *window)

    fail_then_resume(whole, tmp_path, capsys, monkeypatch,
                     lambda: monkeypatch.setattr(RunJournal, "__init__", read_only),
                     "Read-only file system: ")  # fmt: skip


def test_ctrl_c_is_one_line_exit_130_and_resumable(
    whole: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    evaluate, calls = runner._Loop.evaluate, {"n": 0}

    def interrupted(self: runner._Loop, arch: Any, fidelity: float) -> Any:
        calls["n"] += 1
        if calls["n"] == 16:
            raise KeyboardInterrupt
        return evaluate(self, arch, fidelity)

    fail_then_resume(whole, tmp_path, capsys, monkeypatch,
                     lambda: monkeypatch.setattr(runner._Loop, "evaluate", interrupted),
                     "nasbench: interrupted; ", expected=130)  # fmt: skip


def test_ctrl_c_while_the_folder_is_made_leaves_nothing(
    whole: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    write_text = Path.write_text

    def interrupted(self: Path, data: str, *args: Any, **kwargs: Any) -> int:
        if self.name == "suite.json":
            raise KeyboardInterrupt
        return write_text(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", interrupted)
    out = tmp_path / "res"
    code, _, err = cli(capsys, "run", whole / "suite.toml", "--out", out, "--quiet")
    assert one_error(code, err, "interrupted", 130) == "nasbench: interrupted"
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its staging copy
    monkeypatch.undo()
    code, _, err = cli(capsys, "run", whole / "suite.toml", "--out", out, "--quiet",
                       "--workers", "1")  # fmt: skip
    assert code == 0 and compare(whole / "res", out) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permissions (see the mocked cases)")
def test_a_chmod_read_only_folder_is_refused_before_resuming(
    finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    res = tmp_path / "res"
    shutil.copytree(finished, res)
    (res / "runs" / RUN).unlink()
    (res / "runs").chmod(0o555)
    try:
        before = snapshot(tmp_path)
        code, _, err = cli(capsys, "run", res / "config.toml", "--out", res, "--resume")
        one_error(code, err, f"cannot resume {res}: {res}/runs is not writable")
        assert snapshot(tmp_path) == before
    finally:
        (res / "runs").chmod(0o755)


def test_a_soft_reward_that_overflows_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """(latency / 1e300) ** -10 leaves the float range: a run-time condition, one line."""
    budget = ('cost_s = 1000\nlatency_ms = 1e300\nlatency_device = "pixel3"\n'
              'constraint = "soft"\nsoft_weight = -10')  # fmt: skip
    (tmp_path / "s.toml").write_text(suite_text(budget))
    code, _, err = cli(capsys, "run", tmp_path / "s.toml", "--out", tmp_path / "res", "--quiet")
    one_error(code, err, "the soft reward of |")
    assert "overflows" in err[0] and "soft_weight -10" in err[0]


# ---- budgets that end, with a note ---------------------------------------------------------------
def test_a_cost_budget_ends_at_max_evaluations_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "s.toml").write_text(suite_text("cost_s = 1e8", head="max_evaluations = 7"))
    code, out, err = cli(capsys, "run", tmp_path / "s.toml", "--out", tmp_path / "res", "--quiet")
    assert code == 0 and "| nb | random | 1 |" in out
    assert err == ["nasbench: note: 1 run(s) stopped at [suite] max_evaluations = 7 before their "
                   "budget was spent (first: nb__random__seed0)"]  # fmt: skip
    meta = read_meta(tmp_path / "res" / "runs" / RUN)
    assert (meta.stop_reason, meta.trials) == ("max_evaluations", 7)
    assert '"max_evaluations": 7' in meta.config_json  # a cap that is set is part of the spec


def test_an_unmeetable_limit_stops_early_and_names_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    budget = 'cost_s = 3000\nlatency_ms = 0.001\nlatency_device = "pixel3"'
    text = suite_text(budget, seeds="[0, 1]", head="max_infeasible_streak = 40")
    (tmp_path / "s.toml").write_text(text)
    code, out, err = cli(capsys, "run", tmp_path / "s.toml", "--out", tmp_path / "res", "--quiet")
    assert code == 0 and len(err) == 1, err
    assert err[0].startswith("nasbench: note: 2 run(s) of task 'nb' stopped after 40 infeasible "
                             "proposals in a row: no architecture met latency_ms <= 0.001 "
                             "(lowest seen: latency_ms 0.00")  # fmt: skip
    for seed in (0, 1):
        meta = read_meta(tmp_path / "res" / "runs" / f"nb__random__seed{seed}.parquet")
        assert (meta.stop_reason, meta.trials) == ("infeasible_streak", 40)
    code, out, err = cli(capsys, "report", tmp_path / "res", "--at", "5,40", "--json")
    rows = json.loads(out)  # strict JSON: no incumbent is null, not NaN
    assert code == 0 and [r["val_mean"] for r in rows] == [None, None] and "NaN" not in out


def test_default_caps_leave_the_suite_json_as_before() -> None:
    from nasbench.engine.suite import parse_suite

    suite = parse_suite(suite_text())
    assert "limits" not in suite.to_json() and "limits" not in suite.specs()[0].to_json()
    assert suite.limits.max_evaluations == 10_000 and suite.limits.max_infeasible_streak == 1_000
    assert suite.limits.max_cost_s == 1e8


def test_workers_are_capped_at_the_usable_cores_with_a_note(
    finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(execute, "usable_cores", lambda: 2)
    started: list[int] = []
    monkeypatch.setattr(execute, "_run_local",
                        lambda todo, out, workers, progress, *_: started.append(workers))  # fmt: skip
    monkeypatch.setattr(results, "write_results",
                        lambda out: (out / "summary.md").write_text("table\n"))  # fmt: skip
    config = finished / "config.toml"
    code, out, err = cli(capsys, "run", config, "--out", tmp_path / "a", "--workers", "1000",
                         "--quiet")  # fmt: skip
    assert code == 0 and started == [2] and "2 workers" in out
    assert err == ["nasbench: note: --workers 1000 capped at the 2 usable cores "
                   "(--force-workers to start 1000)"]  # fmt: skip
    code, out, err = cli(capsys, "run", config, "--out", tmp_path / "b", "--workers", "1000",
                         "--force-workers", "--quiet")  # fmt: skip
    assert code == 0 and started == [2, 1000] and err == []


# ---- strict JSON and streaming -------------------------------------------------------------------
def test_evaluate_json_is_strict(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "evaluate", "nb201", BEST, "--epochs", "1", "--json",
                         "--param", "channels=4", "--param", "cells_per_stage=1")  # fmt: skip
    assert code == 0 and err == []
    row = json.loads(out, parse_constant=lambda name: pytest.fail(f"bare {name} in {out}"))
    assert row["latency_ms"] is None  # NaN: no latency device


def test_sample_streams_and_a_closed_pipe_ends_quietly() -> None:
    cmd = [sys.executable, "-m", "nasbench", "sample", "nb201", "--n", "10000000"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()  # printed before the other 9,999,999 are made
        proc.stdout.close()
        err = proc.stderr.read()
        code = proc.wait(timeout=120)
    assert first.startswith(b"|") and code == 0 and err == b""


def test_ctrl_c_while_the_cli_is_imported_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Ctrl-C while torch is still being imported (before ``main`` runs) ends like one in
    ``main``: one line, exit code 130, no traceback."""
    import types

    from nasbench.__main__ import entry

    class Importing(types.ModuleType):
        def __getattr__(self, name: str) -> object:
            raise KeyboardInterrupt

    monkeypatch.setitem(sys.modules, "nasbench.cli.main", Importing("nasbench.cli.main"))
    assert entry() == 130
    assert capsys.readouterr().err == "nasbench: interrupted\n"
