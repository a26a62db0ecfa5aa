"""Running a whole suite: every (task, strategy, seed) in parallel processes, into one folder.

Layout of a results folder (``results/<suite>/`` by default)::

    config.toml          the suite file as given
    suite.json           the resolved suite (a resumed run must match it)
    runs/<task>__<strategy>__seed<k>.parquet   one write-once record per finished run
    summary.json, summary.md                   rebuilt from runs/ by nasbench.report

Results do not depend on the number of workers: each run is a pure function of its spec and
seed. An existing folder is never overwritten: :func:`run_suite` refuses it unless
``resume=True``, which checks that the suite is the same and runs only the missing runs.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from nasbench.errors import NasbenchError
from nasbench.records import write_run
from nasbench.report import SummaryRow, summarize, write_summary
from nasbench.runner import build_roles, run
from nasbench.suite import RunSpec, Suite

log = logging.getLogger(__name__)


def check_suite(suite: Suite) -> None:
    """Build every role of every (task, strategy) once, so a bad suite fails before any run."""
    for spec in suite.specs():
        build_roles(spec)


def run_path(out: Path, spec: RunSpec, seed: int) -> Path:
    return out / "runs" / f"{spec.run_id(seed)}.parquet"


def _run_one(spec: RunSpec, seed: int, path: Path) -> str:
    result = run(spec, seed)
    write_run(path, result.records, result.meta)
    return result.meta.run_id


def worker_init() -> None:
    """One torch thread per worker process: the workers already use the cores, and small
    controller updates are far slower when their threads compete."""
    import torch

    torch.set_num_threads(1)


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
