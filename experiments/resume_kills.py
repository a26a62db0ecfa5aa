"""Crash-safe resume, the must-show of issue 8: one suite killed with SIGKILL at random moments,
resumed after each kill, then compared with an uninterrupted run of the same suite.

    python -m experiments.resume_kills [--kills 10] [--seed 0] [--workers 2] [--out DIR]

Every attempt is a real ``nasbench run CONFIG --out DIR [--resume]`` process. It is killed
(``kill -9`` of the main process only: its workers must die with it) a seeded random delay after
it starts working, i.e. after its results folder first changes. The script prints each kill's
delay, the runs finished and the evaluations journaled at that moment, and whether any worker
outlived its parent; then one last ``--resume`` finishes the suite and ``nasbench compare``
checks every record against the uninterrupted run (all columns but ``*_wall_s``).

It commits no results folder: the two results folders go under ``--out`` (a new temporary
folder by default) and the figures are printed. ``tests/test_resume.py`` drives
:func:`attempt` and :func:`folder_state` on a small suite (its smoke test).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nasbench.core.jsonl import read_lines

SUITE = """
[suite]
name = "resume-kills"
seeds = {seeds}
[budget]
cost_s = {cost_s}
[[task]]
space = "nb201"
evaluator = "tabular"
fidelity = 12
label = "nb201"
[[strategy]]
name = "random"
[[strategy]]
name = "regularized_evolution"
[[strategy]]
name = "bayesopt"
[[strategy]]
name = "reinforce"
"""


@dataclass(frozen=True)
class Attempt:
    """One ``nasbench run`` process: when it started working, how it ended, what it left."""

    started_s: float  # from launch to the first change of the results folder
    worked_s: float  # from then to its end (kill or exit)
    killed: bool  # False: it finished before the kill
    finished_runs: int  # record files at its end
    journaled: int  # evaluations in journals at its end
    workers: int  # worker processes seen while it ran (until the kill)
    orphans: int  # of those, still alive after it died


def folder_state(out: Path) -> tuple[int, int]:
    """(record files, journaled evaluations) in a results folder."""
    runs = out / "runs"
    if not runs.is_dir():
        return 0, 0
    journals = [max(len(read_lines(j)) - 1, 0) for j in runs.glob("*.journal")]
    return len(list(runs.glob("*.parquet"))), sum(journals)


def _snapshot(out: Path) -> dict[str, int]:
    runs = out / "runs"
    try:
        return {p.name: p.stat().st_size for p in runs.iterdir()} if runs.is_dir() else {}
    except FileNotFoundError:  # a file renamed or deleted while listing
        return {"": -1}


def _workers(pid: int) -> list[int]:
    """The pool workers among a process's children (not its resource tracker)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(c) for c in children
                if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]  # fmt: skip
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def attempt(
    config: Path, out: Path, workers: int, kill_after_s: float | None, window_s: float = 1.0
) -> Attempt:
    """Run ``nasbench run`` once (``--resume`` when ``out`` exists, ``--journal-window
    window_s``); SIGKILL it ``kill_after_s`` seconds after its results folder first changes
    (``None``: let it end)."""
    cmd = [sys.executable, "-m", "nasbench", "run", str(config), "--out", str(out),
           "--workers", str(workers), "--journal-window", str(window_s),
           *(["--resume"] if out.exists() else [])]  # fmt: skip
    before = _snapshot(out)
    launched = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while proc.poll() is None and _snapshot(out) == before:
        time.sleep(0.02)
    working = time.perf_counter()
    killed, workers_seen = False, list[int]()
    if kill_after_s is not None:
        deadline = working + kill_after_s
        while proc.poll() is None and time.perf_counter() < deadline:
            workers_seen = _workers(proc.pid) or workers_seen
            time.sleep(0.01)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
    _, stderr = proc.communicate()
    ended = time.perf_counter()
    if not killed and proc.returncode != 0:
        raise RuntimeError(f"nasbench run failed ({proc.returncode}): {stderr.decode()[-500:]}")
    time.sleep(0.2)  # give workers that die with their parent the moment to go
    runs, journaled = folder_state(out)
    orphans = [pid for pid in workers_seen if _alive(pid)]
    for pid in orphans:  # never leave one behind, but count it
        os.kill(pid, signal.SIGKILL)
    return Attempt(working - launched, ended - working, killed, runs, journaled,
                   len(workers_seen), len(orphans))  # fmt: skip


def compare(a: Path, b: Path) -> tuple[int, str]:
    """``nasbench compare a b``: exit code and its output."""
    done = subprocess.run([sys.executable, "-m", "nasbench", "compare", str(a), str(b)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    return done.returncode, (done.stdout + done.stderr).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="seeds the kill delays")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3, help="suite seeds")
    parser.add_argument("--cost-s", type=float, default=20000.0)
    parser.add_argument("--out", default=None, help="folder for the two results folders")
    parser.add_argument("--journal-window", type=float, default=1.0,
                        help="nasbench run --journal-window (s)")  # fmt: skip
    args = parser.parse_args()
    root = Path(args.out or tempfile.mkdtemp(prefix="resume-kills-"))
    root.mkdir(parents=True, exist_ok=True)
    config = root / "suite.toml"
    config.write_text(SUITE.format(seeds=args.seeds, cost_s=args.cost_s))
    whole, killed = root / "uninterrupted", root / "killed"
    for folder in (whole, killed):
        if folder.exists():
            raise SystemExit(f"{folder} exists: give another --out")
    base = attempt(config, whole, args.workers, None)
    runs, _ = folder_state(whole)
    print(f"uninterrupted: {runs} runs, {base.started_s:.1f} s start-up + {base.worked_s:.1f} s "
          f"working, {args.workers} workers (suite in {config})")  # fmt: skip
    # delays: a small fraction of the working time each, so all kills land inside the suite
    delays = np.random.default_rng(args.seed).uniform(0.01, 0.05, args.kills) * base.worked_s
    print("kill  delay_s  finished_runs  journaled_evals  workers  orphans")
    for k, delay in enumerate(delays, 1):
        a = attempt(config, killed, args.workers, float(delay), args.journal_window)
        what = "(finished before the kill)" if not a.killed else ""
        print(f"{k:4d}  {delay:7.2f}  {a.finished_runs:13d}  {a.journaled:15d}  {a.workers:7d}  "
              f"{a.orphans:7d} {what}")  # fmt: skip
    last = attempt(config, killed, args.workers, None)
    print(f"final --resume: {last.worked_s:.1f} s working, {last.finished_runs} runs")
    code, text = compare(whole, killed)
    print(f"nasbench compare (exit {code}):\n{text}")


if __name__ == "__main__":
    main()
