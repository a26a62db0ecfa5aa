"""KilledError-safe resume: journals, replay after a crash, and real ``kill -9`` of ``nasbench run``."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from experiments.resume_kills import attempt, folder_state
from nasbench.analysis.report import compare
from nasbench.analysis.results import run_suite
from nasbench.cli.main import main
from nasbench.core.errors import NasbenchError
from nasbench.core.jsonl import append_lines, read_lines
from nasbench.core.types import Architecture, Measurement, Proposal, Status, TrialRecord
from nasbench.engine import runner
from nasbench.engine.journal import Evaluation, RunJournal, locked, read_journal
from nasbench.engine.records import read_run
from nasbench.engine.runner import journal_header, run
from nasbench.engine.suite import parse_suite
from nasbench.evaluation.tabular import TabularEvaluator
from nasbench.strategies.random import RandomSearch

SUITE = """
[suite]
name = "resume"
seeds = {seeds}
[budget]
{budget}
[[task]]
space = "{space}"
evaluator = "{evaluator}"
fidelity = {fidelity}
label = "nb"
{task}
[[strategy]]
name = "{strategy}"
"""
PIXEL3 = 'cost_s = 3000\nlatency_ms = 3.6\nlatency_device = "pixel3"'


def suite_text(strategy: str = "random", budget: str = "cost_s = 3000", seeds: str = "[3]",
               evaluator: str = "tabular", space: str = "nb201", fidelity: int = 12,
               task: str = "") -> str:  # fmt: skip
    """A one-task suite (``task``: further TOML lines of the task table)."""
    return SUITE.format(seeds=seeds, budget=budget, space=space, evaluator=evaluator,
                        fidelity=fidelity, task=task, strategy=strategy)  # fmt: skip


class KilledError(Exception):
    """Stands for a kill in the middle of an evaluation."""


EVALUATE = runner._Loop.evaluate


def count_evaluations(monkeypatch: pytest.MonkeyPatch, crash_at: int | None = None) -> list[str]:
    """Patch the runner's evaluation step to log each call (raising KilledError at call ``crash_at``,
    0-based, before it evaluates); returns the log."""
    calls: list[str] = []

    def evaluate(self: runner._Loop, arch: Architecture, fidelity: float) -> Any:
        if len(calls) == crash_at:
            raise KilledError
        calls.append(arch.text)
        return EVALUATE(self, arch, fidelity)

    monkeypatch.setattr(runner._Loop, "evaluate", evaluate)
    return calls


def crash_then_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str,
                      k: int) -> tuple[Path, list[str], list[dict[str, Any]]]:  # fmt: skip
    """Run the one-run suite ``text`` until a crash at evaluation ``k``, then resume it; returns
    the folder, the evaluations the resume made and the journal entries the crash left."""
    out, suite = tmp_path / "killed", parse_suite(text)
    count_evaluations(monkeypatch, crash_at=k)
    with pytest.raises(KilledError):
        run_suite(suite, text, out)
    (journal,) = (out / "runs").glob("*.journal")
    left = read_journal(journal)
    calls = count_evaluations(monkeypatch)
    run_suite(suite, text, out, resume=True)
    assert not journal.exists()  # the record file is written, the journal deleted
    return out, calls, left


# ---- (a) the journal ---------------------------------------------------------------------
def record(trial: int = 0, **change: Any) -> TrialRecord:
    fields = {f.name: f.type for f in dataclasses.fields(TrialRecord)}
    values: dict[str, Any] = {"str": "x", "int": trial, "float": 0.25, "bool": True}
    rec = TrialRecord(**{n: values[str(t)] for n, t in fields.items() if n != "extra"})
    return dataclasses.replace(rec, **change)


def test_evaluations_round_trip_exactly(tmp_path: Path) -> None:
    m = Measurement(math.nan, 0.1 + 0.2, np.float64(12.5), Status.FAILED, 0.5, 1.5, np.int64(7),  # type: ignore[arg-type]
                    curve=(0.5, 1 / 3), extra=(("test_acc_cifar100", 0.7),))  # fmt: skip
    done = Evaluation(m, 2.5, False, True, record(3, objective=math.nan, extra=(("a", 1.5),)))
    with RunJournal(tmp_path / "r.journal", {"run": "r"}) as journal:
        journal.append(done)
    lines = read_lines(tmp_path / "r.journal")
    assert lines[0] == {"run": "r"} and lines[1]["trial"] == 3
    back = Evaluation.from_json(lines[1], "line 2")
    assert back.measurement.val_acc != back.measurement.val_acc  # NaN survives
    assert math.isnan(back.measurement.val_acc_pred)  # and the default prediction (none)
    nans = {"val_acc": 0.0, "val_acc_pred": 0.0}
    assert dataclasses.replace(back.measurement, **nans) == dataclasses.replace(m, **nans)
    assert back.measurement.test_acc == 0.30000000000000004 and back.measurement.params == 7
    assert back.measurement.status is Status.FAILED and back.record.extra == (("a", 1.5),)
    assert (back.search_cost_s, back.evaluated, back.feasible) == (2.5, False, True)
    with RunJournal(tmp_path / "r.journal", {"run": "r"}) as journal:  # reopened: to replay
        assert len(journal.replay) == 1 and journal.replay[0].record.trial == 3


def test_a_group_of_evaluations_is_one_line_that_reads_back_exactly(tmp_path: Path) -> None:
    """A group commit writes one line of columns (numbers as float64/int64 bytes); read back,
    every value is what was appended, bit for bit and of the same type: NaN, -0.0, inf, the
    largest integers, numpy scalars, curves of different lengths, extras with other names."""
    from nasbench.engine.journal import GROUP

    big = 2**63 - 1
    ms = [
        Measurement(math.nan, -0.0, 1e-310, Status.FAILED, 0.5, math.inf, big,
                    curve=(0.5, 1 / 3), extra=(("test_acc_cifar100", 0.7),)),
        Measurement(0.1 + 0.2, 1.0, np.float64(12.5), Status.OK, 0.0, 1.5, np.int64(7),  # type: ignore[arg-type]
                    curve=(), extra=(("test_acc_cifar100", math.nan),)),
        Measurement(0.25, 0.5, 0.0, Status.OK, 0.8, 2.0, 2**70, extra=(("other", 1.0),)),
    ]  # fmt: skip
    done = [
        Evaluation(m, float(k), k != 1, k != 2,
                   record(k, objective=[math.nan, 0.5, -1.5][k], extra=(("a", 1.5 * k),)))
        for k, m in enumerate(ms)
    ]  # fmt: skip
    path = tmp_path / "r.journal"
    with RunJournal(path, {"run": "r"}, window_s=60.0) as journal:
        for entry in done:
            journal.append(entry, durable=False)
    raw = read_lines(path)
    assert len(raw) == 2 and raw[1][GROUP] == 3  # the header, then one line for the three
    entries = read_journal(path)
    assert len(entries) == 4
    with RunJournal(path, {"run": "r"}) as journal:
        back = list(journal.replay)
        journal.remove()

    def exact(value: Any) -> Any:  # bits of floats, so NaN == NaN and -0.0 != 0.0
        if isinstance(value, float):
            return (type(value), np.float64(value).tobytes())
        if isinstance(value, tuple | list):
            return tuple(exact(v) for v in value)
        return (type(value), value)

    for a, b in zip(done, back, strict=True):
        for name in (f.name for f in dataclasses.fields(Measurement)):
            want = getattr(a.measurement, name)
            want = want.item() if isinstance(want, np.generic) else want
            assert exact(getattr(b.measurement, name)) == exact(want), name
        for name in (f.name for f in dataclasses.fields(TrialRecord)):
            assert exact(getattr(b.record, name)) == exact(getattr(a.record, name)), name
        assert (b.search_cost_s, b.evaluated, b.feasible) == (
            a.search_cost_s, a.evaluated, a.feasible)  # fmt: skip


def test_a_malformed_group_is_refused_naming_its_line(tmp_path: Path) -> None:
    from nasbench.engine.journal import encode_group

    entry = Evaluation(Measurement(0.5, 0.5, 1.0), 0.0, True, True, record(0))
    group = encode_group([entry, entry])
    path = tmp_path / "r.journal"
    bad = json.loads(json.dumps(group))
    bad["columns"]["record.val_acc"] = {"f8": "AAAA"}  # 3 bytes for two numbers
    append_lines(path, [{"run": "r"}, bad, {"run": "next"}])
    with pytest.raises(NasbenchError, match="line 2 is not a group of journaled evaluations"):
        RunJournal(path, {"run": "r"})
    path.unlink()
    bad = json.loads(json.dumps(group))
    bad["columns"]["record.val_acc"] = {"same": 7.5}  # an accuracy of 750 %
    append_lines(path, [{"run": "r"}, bad])
    with pytest.raises(NasbenchError, match=r"line 2 entry 1: record val_acc = 7.5"):
        RunJournal(path, {"run": "r"})


def test_progress_counts_the_evaluations_of_a_group(tmp_path: Path) -> None:
    from nasbench.engine.progress import JournalWatch

    runs = tmp_path / "runs"
    runs.mkdir()
    entries = [Evaluation(Measurement(0.5, 0.5, 1.0), 0.0, True, True,
                          record(k, cum_cost_s=10.0 * (k + 1))) for k in range(5)]  # fmt: skip
    watch = JournalWatch(runs)
    with RunJournal(runs / "x.journal", {"run": "x"}, window_s=60.0) as journal:
        for entry in entries[:3]:
            journal.append(entry, durable=False)
        journal.commit()  # a group of three
        journal.append(entries[3], durable=True)  # a line of its own
        (progress,) = watch.poll()
        assert (progress.evaluations, progress.cum_cost_s) == (4, 40.0)
        journal.append(entries[4], durable=False)
    (progress,) = watch.poll()
    assert (progress.evaluations, progress.cum_cost_s) == (5, 50.0)


def test_torn_last_line_is_ignored_and_cut_before_the_next_append(tmp_path: Path) -> None:
    path = tmp_path / "r.journal"
    append_lines(path, [{"run": "r"}, {"n": 1}])
    with path.open("a") as f:
        f.write('{"n": 2, "val')
    assert read_lines(path) == [{"run": "r"}, {"n": 1}]
    append_lines(path, [{"n": 3}])
    assert path.read_text() == '{"run": "r"}\n{"n": 1}\n{"n": 3}\n'
    with path.open("a") as f:  # a whole last line that lost only its newline is kept
        f.write('{"n": 4}')
    append_lines(path, [{"n": 5}])
    assert [e.get("n") for e in read_lines(path)] == [None, 1, 3, 4, 5]
    path.write_text('{"run": "r"}\n{"n": 1\n{"n": 3}\n')  # corrupt, and not the last line
    with pytest.raises(NasbenchError, match=r"r.journal line 2 is corrupt"):
        read_lines(path)
    path.write_text('{"run": "r"}\n[1, 2]\n')
    with pytest.raises(NasbenchError, match="line 2 is not a JSON object"):
        read_lines(path)


def test_a_torn_header_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "r.journal"
    path.write_text('{"run": "')
    with RunJournal(path, {"run": "r"}) as journal:
        assert not journal.replay
    assert path.read_text() == '{"run": "r"}\n'


def test_foreign_or_locked_or_malformed_journals_are_refused(tmp_path: Path) -> None:
    spec = parse_suite(suite_text()).specs()[0]
    path = tmp_path / "r.journal"
    RunJournal(path, journal_header(spec, 3)).close()
    with pytest.raises(NasbenchError, match=r"belongs to another run \(.*\"seed\": 3.*not run "
                                            r"'nb__random__seed4' of suite 'resume'"):  # fmt: skip
        RunJournal(path, journal_header(spec, 4))
    assert not locked(path)
    with RunJournal(path, journal_header(spec, 3)) as journal:
        assert locked(path)
        with pytest.raises(NasbenchError, match="is locked: another nasbench process"):
            RunJournal(path, journal_header(spec, 3))
        with pytest.raises(NasbenchError, match="is not the journal of run nb__random__seed4"):
            run(spec, 4, journal)
    append_lines(path, [{"trial": 0, "measurement": {}}])
    with pytest.raises(NasbenchError, match=r"r.journal line 2 is not a journaled evaluation"):
        RunJournal(path, journal_header(spec, 3))


# ---- (b) crash, resume, compare ------------------------------------------------------------
@pytest.mark.parametrize(
    ("strategy", "budget", "k"),
    [
        ("random", "cost_s = 3000", 9),
        ("regularized_evolution", PIXEL3, 23),  # hard latency limit: rejections not evaluated
        ("bayesopt", "cost_s = 3000", 14),  # the model proposes from trial 10 on
        ("reinforce", "cost_s = 3000", 6),
    ],
)
def test_a_resumed_run_equals_an_uninterrupted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strategy: str, budget: str, k: int
) -> None:
    text = suite_text(strategy, budget)
    run_suite(parse_suite(text), text, tmp_path / "whole")
    out, calls, left = crash_then_resume(tmp_path, monkeypatch, text, k)
    assert len(left) == 1 + k  # the header, then the k finished evaluations
    table, meta = read_run(out / "runs" / f"nb__{strategy}__seed3.parquet")
    assert len(calls) == meta.trials - k  # none of the journaled evaluations is made again
    assert calls == table.column("arch").to_pylist()[k:]
    assert compare(tmp_path / "whole", out) == []
    if budget == PIXEL3:
        assert not all(e["evaluated"] for e in left[1:])


class FewArchs(RandomSearch):
    """Proposes one of four architectures each time: the same architecture is evaluated again
    and again, each time with the next benchmark-noise stream of that architecture."""

    def ask(self, n: int = 1) -> list[Proposal]:
        if not hasattr(self, "pool_"):
            self.pool_ = [p.arch for p in super().ask(4)]
        return [Proposal(self.pool_[int(self.rng_.integers(4))]) for _ in range(n)]


def test_noise_streams_continue_after_a_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 200 epochs the table answers with one recorded seed, drawn from the k-th noise stream
    of the architecture: the replay must count the journaled evaluations of each one."""
    text = suite_text("tests.test_resume:FewArchs", "evaluations = 24", fidelity=200)
    run_suite(parse_suite(text), text, tmp_path / "whole")
    out, calls, left = crash_then_resume(tmp_path, monkeypatch, text, 12)
    before = {e["record"]["arch"] for e in left[1:]}
    assert len(calls) == 12 and set(calls) <= before  # evaluated again after the resume
    val = read_run(out / "runs" / "nb__tests.test_resume.FewArchs__seed3.parquet")[0].column(
        "val_acc"
    )
    assert len(set(val.to_pylist())) > 4  # the noise shows
    assert compare(tmp_path / "whole", out) == []


class ChargedOnce(TabularEvaluator):
    """A table whose first query also pays a 1000 s set-up (like a one-shot supernet): state
    that a replay must restore through ``replay``."""

    made: ClassVar[list[ChargedOnce]] = []

    def __init__(
        self, space: Any, latency_device: str | None = None, sparsity: float = 0.0
    ) -> None:
        super().__init__(space, latency_device=latency_device, sparsity=sparsity)
        self.charged, self.replayed = False, 0
        ChargedOnce.made.append(self)

    def evaluate(self, arch: Architecture, fidelity: float, rng: np.random.Generator) -> Any:
        m = super().evaluate(arch, fidelity, rng)
        setup, self.charged = (0.0 if self.charged else 1000.0), True
        return dataclasses.replace(m, cost_s=m.cost_s + setup)

    def replay(self, arch: Architecture, fidelity: float, measurement: Measurement) -> None:
        self.charged, self.replayed = True, self.replayed + 1


def test_evaluators_with_state_follow_the_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = suite_text(evaluator="tests.test_resume:ChargedOnce", budget="cost_s = 4000")
    run_suite(parse_suite(text), text, tmp_path / "whole")
    out, calls, _ = crash_then_resume(tmp_path, monkeypatch, text, 5)
    assert ChargedOnce.made[-1].replayed == 5 and compare(tmp_path / "whole", out) == []
    costs = read_run(out / "runs" / "nb__random__seed3.parquet")[0].column("cost_s").to_pylist()
    assert len(calls) == len(costs) - 5
    assert costs[0] > 1000 > max(costs[1:])  # charged once, not again after the resume


def test_a_training_evaluator_is_not_called_for_journaled_evaluations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = 'space_params = { max_layers = 2 }\ndataset = "mnist1d"\nepochs = 1\n'
    task += "recipe = { batch_size = 500 }"
    text = suite_text(budget="evaluations = 3", space="chain", evaluator="train", fidelity=1,
                      task=task)  # fmt: skip
    out, calls, left = crash_then_resume(tmp_path, monkeypatch, text, 2)
    rows = read_run(out / "runs" / "nb__random__seed3.parquet")[0].to_pylist()
    assert len(calls) == 1 and calls == [r["arch"] for r in rows[2:]]
    for row, entry in zip(rows[:2], left[1:], strict=True):  # measured costs as journaled
        assert row["cost_s"] == entry["record"]["cost_s"] == entry["measurement"]["cost_s"] > 0
        assert row["val_acc"] == entry["record"]["val_acc"]
    whole = run(parse_suite(text).specs()[0], 3).records  # training is deterministic
    assert [(r["arch"], r["val_acc"]) for r in rows] == [(r.arch, r.val_acc) for r in whole]


def test_a_journal_that_does_not_match_is_refused_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = suite_text()
    config, out = tmp_path / "s.toml", tmp_path / "killed"
    config.write_text(text)
    count_evaluations(monkeypatch, crash_at=6)
    with pytest.raises(KilledError):
        run_suite(parse_suite(text), text, out)
    monkeypatch.undo()
    journal = out / "runs" / "nb__random__seed3.journal"
    original = journal.read_text()
    lines = read_journal(journal)  # a group line opened into one line per evaluation
    arch2, arch4 = lines[3]["record"]["arch"], lines[5]["record"]["arch"]
    assert arch2 != arch4
    lines[3]["record"]["arch"] = arch4  # trial 2 now claims another architecture
    tampered = "".join(json.dumps(line) + "\n" for line in lines)
    journal.write_text(tampered)
    capsys.readouterr()
    assert main(["run", str(config), "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        f"nasbench: error: cannot resume run nb__random__seed3: its journal holds trial 2 = "
        f"{arch4} at fidelity 12, but trial 2 now proposes {arch2} at fidelity 12"
    )  # fmt: skip
    assert journal.read_text() == tampered and not list((out / "runs").glob("*.parquet"))

    def stop_after_four(loop: runner._Loop) -> str:
        return "cost_s" if len(loop.records) >= 4 else ""

    journal.write_text(original)
    monkeypatch.setattr(runner, "_stop_reason", stop_after_four)
    with pytest.raises(NasbenchError, match=r"stops \(cost_s\) after 4 evaluations, but its "
                                            r"journal holds 2 more; the journal is kept"):  # fmt: skip
        run_suite(parse_suite(text), text, out, resume=True)
    assert journal.read_text() == original


def test_resume_deletes_half_written_records_and_stale_journals(tmp_path: Path) -> None:
    text = suite_text(seeds="[3, 4]")
    suite, whole, out = parse_suite(text), tmp_path / "whole", tmp_path / "out"
    run_suite(suite, text, whole)
    shutil.copytree(whole, out)
    runs = out / "runs"
    (runs / "nb__random__seed4.parquet").rename(runs / ".nb__random__seed4.parquet.99.tmp")
    shutil.copy(runs / "nb__random__seed3.parquet", runs / "nb__random__seed3.journal")
    assert sorted(p.name for p in runs.glob("*.parquet")) == ["nb__random__seed3.parquet"]
    run_suite(suite, text, out, resume=True)  # seed 4 is run again, not taken from the .tmp
    assert sorted(p.name for p in runs.iterdir()) == [
        "nb__random__seed3.parquet", "nb__random__seed4.parquet"
    ]  # fmt: skip
    assert compare(whole, out) == []


# ---- (c) kill -9 ---------------------------------------------------------------------------
@pytest.mark.slow  # CI runs it (.ci/run: pytest -m slow)
def test_kill_9_at_random_moments_then_resume(tmp_path: Path) -> None:
    text = suite_text("regularized_evolution", "cost_s = 200000", seeds="[0, 1]")
    text += '[[strategy]]\nname = "random"\n'
    config, whole, out = tmp_path / "s.toml", tmp_path / "whole", tmp_path / "killed"
    config.write_text(text)
    base = attempt(config, whole, 1, None)  # uninterrupted, to time the work
    assert not base.killed and folder_state(whole) == (4, 0)
    journaled = []  # kill delays: fractions of the work (the machine's speed does not matter)
    for delay in np.random.default_rng(8).uniform(0.05, 0.25, 3) * base.worked_s:
        a = attempt(config, out, 1, float(delay), window_s=0.02)  # quick groups: some land
        journaled.append(a.journaled if a.killed else -1)
    assert max(journaled) > 0  # at least one kill left evaluations to replay
    assert main(["run", str(config), "--out", str(out), "--resume", "--workers", "1"]) == 0
    assert folder_state(out) == (4, 0) and compare(whole, out) == []


def test_a_durable_append_after_the_first_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After its first append the journal writes directly (no torn-tail check); a durable entry
    is still fsynced, a quick one only flushed, and the file reads back whole."""
    import os

    from nasbench.core.types import Measurement, TrialRecord
    from nasbench.engine import journal as journal_module

    synced: list[int] = []
    monkeypatch.setattr(journal_module.os, "fsync", lambda fd: synced.append(fd))
    record = TrialRecord(
        suite="s", task="t", space="nb201", strategy="random", evaluator="tabular", seed=0,
        trial=0, arch="a", key="a", fidelity=12.0, status="ok", feasible=True, objective=0.5,
        val_acc=0.5, test_acc=0.5, cost_s=1.0, cum_cost_s=1.0, latency_ms=1.0, params_m=1.0,
        macs_m=1.0, sparsity=0.0, incumbent_trial=0, incumbent_arch="a", incumbent_val_acc=0.5,
        incumbent_test_acc=0.5, overhead_wall_s=0.0, eval_wall_s=0.0,
    )  # fmt: skip
    entry = Evaluation(Measurement(0.5, 0.5, 1.0), 0.0, True, True, record)
    path = tmp_path / "r.journal"
    with RunJournal(path, {"run": "r"}) as journal:
        journal.append(entry, durable=False)  # the first: through write_entries
        before = len(synced)
        journal.append(entry, durable=False)
        journal.append(entry, durable=True)
        assert len(synced) == before + 1
    assert len(read_journal(path)) == 4  # the header and three entries
    assert os.path.getsize(path) == len(path.read_bytes())


def test_quick_evaluations_are_journaled_in_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group commit: quick entries wait until the oldest is ``window_s`` old, a durable one
    takes the waiting ones with it, closing writes what waits, removing drops it unwritten."""
    from nasbench.engine import journal as journal_module

    clock = [100.0]
    monkeypatch.setattr(journal_module.time, "monotonic", lambda: clock[0])
    whole = run(parse_suite(suite_text(budget="evaluations = 6")).specs()[0], 3).records
    entries = [Evaluation(Measurement(r.val_acc, r.test_acc, r.cost_s), 0.0, True, True, r)
               for r in whole]  # fmt: skip
    path = tmp_path / "r.journal"

    def lines() -> int:
        return len(read_journal(path)) - 1  # entries after the header

    with RunJournal(path, {"run": "r"}, window_s=0.5) as journal:
        journal.append(entries[0], durable=False)
        clock[0] += 0.4
        journal.append(entries[1], durable=False)
        assert lines() == 0  # the oldest waited 0.4 s < 0.5 s
        clock[0] += 0.1
        journal.append(entries[2], durable=False)
        assert lines() == 3  # 0.5 s: the three are written together
        journal.append(entries[3], durable=False)
        journal.append(entries[4], durable=True)
        assert lines() == 5  # a durable entry takes the waiting one with it
        journal.append(entries[5], durable=False)
        assert lines() == 5
    assert [e["record"]["trial"] for e in read_journal(path)[1:]] == [0, 1, 2, 3, 4, 5]
    with RunJournal(path, {"run": "r"}, window_s=0.5) as journal:  # a resume replays all six
        replayed = [(e.record.trial, e.record.arch, e.record.cum_cost_s) for e in journal.replay]
        assert replayed == [(r.trial, r.arch, r.cum_cost_s) for r in whole]
        journal.append(entries[0], durable=False)
        journal.remove()  # the record file is written: what waits is dropped
    assert not path.exists()
    with RunJournal(path, {"run": "r"}, window_s=0.0) as journal:  # 0: each at once
        journal.append(entries[0], durable=False)
        assert lines() == 1
    with pytest.raises(NasbenchError, match="--journal-window must be >= 0 seconds, got -1"):
        RunJournal(tmp_path / "x.journal", {"run": "x"}, window_s=-1.0)
