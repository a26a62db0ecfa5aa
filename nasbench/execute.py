"""Running a whole suite: every (task, strategy, seed) in parallel processes, into one folder.

Layout of a results folder (``results/<suite>/`` by default)::

    config.toml          the suite file as given
    suite.json           the resolved suite (a resumed run must match it)
    runs/<task>__<strategy>__seed<k>.parquet   one write-once record per finished run
    runs/<task>__<strategy>__seed<k>.journal   every finished evaluation of a running run
    summary.json, summary.md                   rebuilt from runs/ by nasbench.report

Results do not depend on the number of workers: each run is a pure function of its spec and
seed. An existing folder is never overwritten: :func:`run_suite` refuses it unless
``resume=True``, which checks that the suite is the same and runs only the missing runs.

Crash safe (``kill -9`` at any moment): a run journals each evaluation as it finishes; when the
run ends its record file appears atomically and then its journal is deleted. A resumed run
replays its journal (:mod:`nasbench.runner`), so no finished evaluation is lost or repeated and
the records equal an uninterrupted run's in every column but the ``*_wall_s`` ones. Resuming
also deletes what a killed writer can leave: half-written record files (``.*.tmp``, never read
as records) and the journals of runs whose record file was written.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from nasbench.errors import NasbenchError
from nasbench.journal import RunJournal, locked
from nasbench.records import write_run
from nasbench.report import SummaryRow, summarize, write_summary
from nasbench.runner import build_roles, journal_header, run
from nasbench.suite import RunSpec, Suite

log = logging.getLogger(__name__)


def check_suite(suite: Suite) -> None:
    """Build every role of every (task, strategy) once, so a bad suite fails before any run."""
    for spec in suite.specs():
        build_roles(spec)


def run_path(out: Path, spec: RunSpec, seed: int) -> Path:
    return out / "runs" / f"{spec.run_id(seed)}.parquet"


def journal_path(record: Path) -> Path:
    """The journal of the run whose record file is ``record``."""
    return record.with_suffix(".journal")


def _run_one(spec: RunSpec, seed: int, path: Path) -> str:
    """Run (or resume) one run: journal, then record file, then delete the journal."""
    with RunJournal(journal_path(path), journal_header(spec, seed)) as journal:
        result = run(spec, seed, journal)
        write_run(path, result.records, result.meta)
        journal.remove()
    return result.meta.run_id


def _clean(out: Path) -> None:
    """Delete what killed writers left in ``out/runs``: half-written record files and the
    journals of finished runs."""
    runs = out / "runs"
    # write_run's temporary files are named .<record>.<pid>.tmp
    stale = [(tmp, journal_path(runs / tmp.name[1:].rsplit(".", 2)[0]))
             for tmp in runs.glob(".*.parquet.*.tmp")]  # fmt: skip
    stale += [(j, j) for j in runs.glob("*.journal") if j.with_suffix(".parquet").exists()]
    for path, journal in stale:
        if not locked(journal):  # else its run is still running in another process
            log.info("resume: deleting %s (left by a killed run)", path)
            path.unlink()


def worker_init() -> None:
    """One torch thread per worker process: the workers already use the cores, and small
    controller updates are far slower when their threads compete. On Linux a worker also dies
    with its parent (a killed ``nasbench`` leaves no orphan still writing its run)."""
    import torch

    torch.set_num_threads(1)
    _die_with_parent()


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it died before the call
        os._exit(1)


def _prepare(out: Path, suite: Suite, text: str, resume: bool) -> None:
    resolved = suite.to_json()
    if out.exists():
        if not resume:
            raise NasbenchError(
                f"results folder {out} exists: pass --resume to continue it, or --out elsewhere"
            )
        saved = out / "suite.json"
        if not saved.exists() or saved.read_text() != resolved:
            raise NasbenchError(
                f"cannot resume {out}: its suite.json differs from this suite (or is missing)"
            )
        _clean(out)
        return
    (out / "runs").mkdir(parents=True)
    (out / "config.toml").write_text(text)
    (out / "suite.json").write_text(resolved)


def run_suite(
    suite: Suite,
    text: str,
    out: Path,
    workers: int = 1,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[SummaryRow]:
    """Run every missing run of ``suite`` into ``out`` and return the summary rows."""
    if workers < 1:
        raise NasbenchError(f"--workers must be >= 1, got {workers}")
    check_suite(suite)
    _prepare(out, suite, text, resume)
    todo = [(s, seed) for s, seed in suite.runs() if not run_path(out, s, seed).exists()]
    done, total = len(suite.runs()) - len(todo), len(suite.runs())
    if workers == 1 or len(todo) <= 1:
        for spec, seed in todo:
            _run_one(spec, seed, run_path(out, spec, seed))
            done += 1
            if progress:
                progress(done, total)
    else:
        # spawn: clean workers (no inherited threads or torch state); each reuses its imports
        ctx = get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=worker_init) as pool:
            futures = [pool.submit(_run_one, s, seed, run_path(out, s, seed)) for s, seed in todo]
            for future in as_completed(futures):
                future.result()
                done += 1
                if progress:
                    progress(done, total)
    rows = summarize(out)
    write_summary(out, rows)
    return rows


def stderr_progress(done: int, total: int) -> None:
    """Print ``runs done/total`` on stderr about every 5% (and at the end)."""
    step = max(total // 20, 1)
    if done % step == 0 or done == total:
        print(f"runs {done}/{total}", file=sys.stderr, flush=True)


def default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 1)))
