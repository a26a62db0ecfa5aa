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

Two backends run the same runs into the same files (``nasbench compare`` finds no difference):

- ``local`` (the default): a pool of ``workers`` processes on this machine; each run journals
  and writes its own record file.
- ``ray``: one Ray task per run, each with one CPU, on a local Ray instance of ``workers`` CPUs
  or on the cluster at ``address`` (then the cluster's CPUs set the parallelism). A Ray worker
  may sit on another machine that cannot see this results folder, so the driver (this process)
  writes every record file from the records the task returns, then deletes the run's journal.
  A task journals its run only where the folder is visible to it: the driver writes a marker
  file with a fresh token into ``runs/`` and a task that finds it, at the same absolute path,
  knows the folder is this one (same machine, or a shared filesystem). Elsewhere a run goes
  without a journal: it cannot be resumed mid-run and shows no per-run progress, but resuming
  the suite still reruns exactly the runs without a record file. Ray is imported only here,
  only for this backend (``pip install 'nasbench[ray]'``); nasbench must be installed on every
  node.

Failures are the same for both: a run that raises does not stop the others; once every run has
ended, the first failure is raised as the run raised it (a NasbenchError becomes one line and
exit code 2 in the CLI), and ``--resume`` later runs only what has no record file.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager, nullcontext
from enum import StrEnum
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from nasbench.errors import NasbenchError
from nasbench.journal import RunJournal, locked
from nasbench.progress import Progress
from nasbench.records import write_run
from nasbench.report import SummaryRow, summarize
from nasbench.runner import RunResult, build_roles, journal_header, run
from nasbench.stats_format import write_summary
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


class Backend(StrEnum):
    """Where the runs of a suite execute (see the module docstring)."""

    LOCAL = "local"
    RAY = "ray"


RAY_MISSING = "the ray backend needs ray: pip install 'nasbench[ray]'"


def run_suite(
    suite: Suite,
    text: str,
    out: Path,
    workers: int = 1,
    resume: bool = False,
    progress: Progress | None = None,
    backend: Backend | str = Backend.LOCAL,
    address: str | None = None,
) -> list[SummaryRow]:
    """Run every missing run of ``suite`` into ``out`` and return the summary rows.

    ``backend`` runs them in ``workers`` local processes or as Ray tasks (on a local Ray
    instance of ``workers`` CPUs, or on the cluster at ``address``); the records are the same.
    ``progress`` is told when the suite starts and as each run finishes. Raises NasbenchError
    for bad arguments, a bad suite, a results folder that exists without ``resume`` (or holds
    another suite) and a missing ray; a run that raises is raised again once every other run
    has ended."""
    if workers < 1:
        raise NasbenchError(f"--workers must be >= 1, got {workers}")
    kind = _backend(backend)
    if address is not None and kind is not Backend.RAY:
        raise NasbenchError(f"--address {address} needs --backend ray")
    ray = _import_ray() if kind is Backend.RAY else None
    check_suite(suite)
    with nullcontext() if ray is None else _ray_session(ray, workers, address):
        _prepare(out, suite, text, resume)
        todo = [(s, seed) for s, seed in suite.runs() if not run_path(out, s, seed).exists()]
        if progress is not None:
            budgets = {s.run_id(seed): s.budget for s, seed in suite.runs()}
            progress.start(out / "runs", len(suite.runs()), len(suite.runs()) - len(todo), budgets)
        try:
            if ray is None:
                _run_local(todo, out, workers, progress)
            else:
                _run_ray(ray, todo, out, progress)
        finally:
            if progress is not None:
                progress.close()
    rows = summarize(out)
    write_summary(out, rows)
    return rows


def _backend(name: Backend | str) -> Backend:
    try:
        return Backend(name)
    except ValueError:
        valid = ", ".join(b.value for b in Backend)
        raise NasbenchError(f"unknown backend {name!r} (valid: {valid})") from None


Outcome = Callable[[], str]
"""A run's end: returns its run id, or raises what the run raised."""


def _gather(outcomes: Iterable[Outcome], progress: Progress | None) -> None:
    """Wait for each outcome in turn and report each finished run; a failed run does not stop
    the others, and the first failure is raised once all have ended."""
    failure: Exception | None = None
    for outcome in outcomes:
        try:
            run_id = outcome()
        except Exception as exc:
            log.info("a run failed: %s", exc)
            failure = failure or exc
            continue
        if progress is not None:
            progress.finished(run_id)
    if failure is not None:
        raise failure


def _run_local(
    todo: list[tuple[RunSpec, int]], out: Path, workers: int, progress: Progress | None
) -> None:
    if workers == 1 or len(todo) <= 1:
        _gather((partial(_run_one, s, seed, run_path(out, s, seed)) for s, seed in todo), progress)
        return
    # spawn: clean workers (no inherited threads or torch state); each reuses its imports
    ctx = get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=worker_init) as pool:
        futures = [pool.submit(_run_one, s, seed, run_path(out, s, seed)) for s, seed in todo]
        _gather((f.result for f in as_completed(futures)), progress)


# ---- the Ray backend -----------------------------------------------------------------------
def _import_ray() -> Any:
    """The ``ray`` module; NasbenchError when it is not installed."""
    try:
        import ray
    except ImportError:
        raise NasbenchError(RAY_MISSING) from None
    return ray


@contextmanager
def _ray_session(ray: Any, workers: int, address: str | None) -> Iterator[None]:
    """Connect to the Ray cluster at ``address``, or start a local instance of ``workers``
    CPUs; disconnect at the end whatever happens (which shuts a local instance down). A
    session the caller opened already is used and left open."""
    if ray.is_initialized():
        yield
        return
    quiet: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                             "logging_level": logging.ERROR}  # fmt: skip
    where = "a local Ray instance" if address is None else f"Ray at {address}"
    try:
        if address is None:
            ray.init(num_cpus=workers, **quiet)
        else:
            ray.init(address=address, **quiet)
    except Exception as exc:  # Ray raises several kinds; the user needs the first line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NasbenchError(f"cannot connect to {where}: {first}") from None
    try:
        yield
    finally:
        ray.shutdown()


def _run_ray(
    ray: Any, todo: list[tuple[RunSpec, int]], out: Path, progress: Progress | None
) -> None:
    """One Ray task per run; this process writes the record files as the tasks return."""
    marker = out / "runs" / f".ray-driver-{uuid.uuid4().hex}"
    marker.write_text(marker.name)  # a task that reads this knows it sees our folder
    try:
        task = ray.remote(num_cpus=1)(_ray_run)
        folder = out.resolve()
        refs = {task.remote(s, seed, str(run_path(folder, s, seed)), marker.name): (s, seed)
                for s, seed in todo}  # fmt: skip
        _gather(_ray_outcomes(ray, refs, out), progress)
    finally:
        marker.unlink(missing_ok=True)


def _ray_outcomes(ray: Any, refs: dict[Any, tuple[RunSpec, int]], out: Path) -> Iterator[Outcome]:
    """The runs' ends in the order they finish; each writes its record file when called."""
    pending = list(refs)
    while pending:
        (ref,), pending = ray.wait(pending, num_returns=1)
        spec, seed = refs[ref]

        def end(ref: Any = ref, spec: RunSpec = spec, seed: int = seed) -> str:
            try:
                result: RunResult = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:  # the run raised: raise that again
                raise (exc.cause if isinstance(exc.cause, Exception) else exc) from exc
            path = run_path(out, spec, seed)
            write_run(path, result.records, result.meta)
            journal_path(path).unlink(missing_ok=True)  # where the task journaled into it
            return result.meta.run_id

        yield end


def _ray_run(spec: RunSpec, seed: int, record: str, marker: str) -> RunResult:
    """The body of a Ray task: run (or resume) one run and return its records and metadata.
    With one torch thread, as :func:`worker_init` sets. The run journals into the driver's
    results folder only where this worker sees it (``record``'s folder holds the driver's
    ``marker`` file); the journal is left for the driver to delete after the record file."""
    import torch

    torch.set_num_threads(1)
    path = Path(record)
    shared = path.parent / marker
    if shared.is_file() and shared.read_text() == marker:
        with RunJournal(journal_path(path), journal_header(spec, seed)) as journal:
            return run(spec, seed, journal)
    return run(spec, seed)


def stderr_progress(done: int, total: int) -> None:
    """Print ``runs done/total`` on stderr about every 5% (and at the end)."""
    step = max(total // 20, 1)
    if done % step == 0 or done == total:
        print(f"runs {done}/{total}", file=sys.stderr, flush=True)


def default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 1)))
