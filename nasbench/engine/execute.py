"""Running a whole suite: every (task, strategy, seed) in parallel processes, into one folder.

Layout of a results folder (``results/<suite>/`` by default)::

    config.toml          the suite file as given
    suite.json           the resolved suite (a resumed run must match it)
    runs/<task>__<strategy>__seed<k>.parquet   one write-once record per finished run
    runs/<task>__<strategy>__seed<k>.journal   every finished evaluation of a running run
    summary.json, summary.md                   written from runs/ by the analysis layer
                                               (nasbench.analysis.report) after the runs

Results do not depend on the number of workers: each run is a pure function of its spec and
seed. An existing folder is never overwritten: :func:`run_suite` refuses it unless
``resume=True``, which checks that the suite is the same and runs only the missing runs.

Crash safe (``kill -9`` at any moment): a run journals each evaluation as it finishes; when the
run ends its record file appears atomically and then its journal is deleted. A resumed run
replays its journal (:mod:`nasbench.engine.runner`), so no finished evaluation is lost or repeated
and the records equal an uninterrupted run's in every column but the ``*_wall_s`` ones. Resuming
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

Nothing is written before everything is checked (:func:`check_folder`): the suite's plugins are
built, and the results folder is checked to be creatable (no file on the way, a writable
folder above it, each file name the run will create within the file system's ``NAME_MAX`` and
the paths within ``PATH_MAX``, about :data:`RUN_BYTES` free per pending run) or, with
``resume``, to hold this suite, a ``runs/`` folder and to be writable. A new folder then appears
at once, whole (built as a hidden sibling and renamed), so an interrupted start never leaves a
half-made folder that blocks the next run. Past that point an OSError (a full disk, a folder
made read-only) or an interrupt (Ctrl-C) ends the suite and leaves the folder resumable: every
finished run has its record file, every running run its journal (half-written record files
are deleted as they fail). On Ctrl-C the local backend's worker processes, which ignore SIGINT
themselves, are terminated by the driver (as ``kill -9`` would: their journals replay).
"""

from __future__ import annotations

import errno
import logging
import math
import os
import shutil
import signal
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

from nasbench.core.errors import NasbenchError
from nasbench.engine.journal import WINDOW_S, RunJournal, locked
from nasbench.engine.progress import Progress
from nasbench.engine.records import write_run
from nasbench.engine.runner import RunResult, build_roles, journal_header, run
from nasbench.engine.suite import RunSpec, Suite
from nasbench.training.workers import worker_init

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


def _run_one(spec: RunSpec, seed: int, path: Path, window_s: float = WINDOW_S) -> str:
    """Run (or resume) one run: journal, then record file, then delete the journal."""
    with RunJournal(journal_path(path), journal_header(spec, seed), window_s) as journal:
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


RUN_BYTES = 64 * 1024
"""Free bytes a pending run is taken to need (its record file, and its journal while it runs),
on top of :data:`MIN_FREE_BYTES`: a results folder is not started where less is free."""
MIN_FREE_BYTES = 1024 * 1024
SUMMARY_FILES = ("config.toml", "suite.json", "summary.json", "summary.md", "summary.csv",
                 "stats.md", "stats.json")  # fmt: skip
_PID_DIGITS = 7  # pids are at most 2**22 (Linux pid_max): 7 digits in temporary file names


def _existing_ancestor(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (as anything: a file stops the walk), walked
    down from the root; raises NasbenchError for a name on the way that is longer than its file
    system allows (where asking whether it exists would fail)."""
    path = path.absolute()
    found = Path(path.anchor)
    for part in path.parts[1:]:
        name_max = _limit(found, "PC_NAME_MAX", 255)
        if len(os.fsencode(part)) > name_max:
            raise NasbenchError(
                f"cannot use {path}: the name {part!r} is {len(os.fsencode(part))} bytes, over "
                f"this file system's limit of {name_max}"
            )
        if not (found / part).is_dir():
            return found / part if (found / part).exists() else found
        found = found / part
    return found


def _limit(folder: Path, name: str, default: int) -> int:
    try:
        return int(os.pathconf(folder, name))
    except (OSError, ValueError):
        return default


def _free_bytes(folder: Path) -> int | None:
    """Bytes an unprivileged user may still write on ``folder``'s file system (None: unknown)."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize


def _writable(folder: Path) -> str:
    """Why files cannot be created in the existing folder ``folder`` ("" when they can)."""
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    if os.access(folder, os.W_OK | os.X_OK):
        return ""
    try:
        readonly = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        readonly = False
    return f"{folder} is {'on a read-only file system' if readonly else 'not writable'}"


def _run_file_names(suite: Suite) -> list[tuple[str, str]]:
    """(run id, longest file name) of every run: the record file's temporary name."""
    return [(s.run_id(seed), f".{s.run_id(seed)}.parquet.{'9' * _PID_DIGITS}.tmp")
            for s, seed in suite.runs()]  # fmt: skip


def check_folder(out: Path, suite: Suite, resume: bool) -> None:
    """Everything about the results folder ``out`` that can fail, checked before anything is
    written (see the module docstring); raises NasbenchError (one line) naming what fails."""
    resolved = suite.to_json()
    above = _existing_ancestor(out)  # the names on the way are checked first
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise NasbenchError(f"--out {out} exists and is a file, not a results folder")
        if not resume:
            raise NasbenchError(
                f"results folder {out} exists: pass --resume to continue it, or --out elsewhere"
            )
        saved = out / "suite.json"
        try:
            same = saved.is_file() and saved.read_text(encoding="utf-8") == resolved
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            raise NasbenchError(
                f"cannot resume {out}: its suite.json differs from this suite (or is missing)"
            )
        runs = out / "runs"
        if not runs.is_dir():
            raise NasbenchError(f"cannot resume {out}: it has no runs/ folder (was it moved?)")
        for folder in (out, runs):
            why = _writable(folder)
            if why:
                raise NasbenchError(f"cannot resume {out}: {why}")
        pending = sum(not run_path(out, s, seed).exists() for s, seed in suite.runs())
        _check_names(runs, runs, suite)
        _check_space(out, runs, pending)
        return
    if not above.is_dir():
        raise NasbenchError(f"cannot create results folder {out}: {above} is a file, not a folder")
    why = _writable(above)
    if why:
        raise NasbenchError(f"cannot create results folder {out}: {why}")
    name_max = _limit(above, "PC_NAME_MAX", 255)
    new_parts = out.absolute().relative_to(above).parts
    for part in [*new_parts, _staging(out).name]:
        if len(os.fsencode(part)) > name_max:
            raise NasbenchError(
                f"cannot create results folder {out}: the name {part!r} is "
                f"{len(os.fsencode(part))} bytes, over this file system's limit of {name_max}"
            )
    _check_names(above, out.absolute() / "runs", suite)
    _check_space(out, above, len(suite.runs()))


def _check_names(existing: Path, runs: Path, suite: Suite) -> None:
    """Each file the runs will create in ``runs`` (on the file system of the existing folder
    ``existing``) within ``NAME_MAX``, and its path within ``PATH_MAX``."""
    name_max = _limit(existing, "PC_NAME_MAX", 255)
    path_max = _limit(existing, "PC_PATH_MAX", 4096)
    folder = len(os.fsencode(str(runs.absolute())))
    names = [(f"summary file {n}", n) for n in SUMMARY_FILES]
    names += [(f"run {run_id!r}", name) for run_id, name in _run_file_names(suite)]
    for what, name in names:
        size = len(os.fsencode(name))
        if size > name_max:
            raise NasbenchError(
                f"{what}: its file names are up to {size} bytes, over this file system's limit "
                f"of {name_max} (NAME_MAX of {existing}); shorten the task or strategy label"
            )
        if folder + 1 + size >= path_max:
            raise NasbenchError(
                f"{what}: its files' paths in {runs} are {folder + 1 + size} bytes, over this "
                f"file system's limit of {path_max} (PATH_MAX); choose a shorter --out"
            )


def _check_space(out: Path, existing: Path, pending: int) -> None:
    free = _free_bytes(existing)
    need = MIN_FREE_BYTES + RUN_BYTES * pending
    if free is not None and free < need:
        raise NasbenchError(
            f"not enough free space for {out}: {free / 2**20:.1f} MiB free on the file system "
            f"of {existing}, {pending} pending runs need about {need / 2**20:.1f} MiB"
        )


def _staging(out: Path) -> Path:
    """The hidden sibling a new results folder is built in before it is renamed to ``out``."""
    return out.parent / f".{out.name}.{'9' * _PID_DIGITS}.tmp"


def _prepare(out: Path, suite: Suite, text: str, resume: bool) -> None:
    """Create the results folder whole, or clean the one being resumed (:func:`check_folder`
    has passed)."""
    if out.exists():
        _clean(out)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.{os.getpid()}.tmp"
    try:
        (staging / "runs").mkdir(parents=True)
        (staging / "config.toml").write_text(text, encoding="utf-8")
        (staging / "suite.json").write_text(suite.to_json(), encoding="utf-8")
        os.rename(staging, out)  # the folder appears whole or not at all
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise NasbenchError(f"results folder {out} appeared meanwhile: not touched") from None
        raise


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
    journal_window_s: float = WINDOW_S,
) -> None:
    """Run every missing run of ``suite`` into ``out`` (the summary is the analysis layer's:
    :func:`nasbench.analysis.results.run_suite` runs this and writes it, as ``nasbench run`` does).

    ``backend`` runs them in ``workers`` local processes or as Ray tasks (on a local Ray
    instance of ``workers`` CPUs, or on the cluster at ``address``); the records are the same.
    ``progress`` is told when the suite starts and as each run finishes. Raises NasbenchError
    for bad arguments, a bad suite, a results folder that exists without ``resume`` (or holds
    another suite) and a missing ray; a run that raises is raised again once every other run
    has ended. ``journal_window_s`` is how long a quick evaluation may wait before it is
    journaled (:meth:`~nasbench.engine.journal.RunJournal.append`)."""
    if workers < 1:
        raise NasbenchError(f"--workers must be >= 1, got {workers}")
    if not (math.isfinite(journal_window_s) and journal_window_s >= 0):
        raise NasbenchError(f"--journal-window must be >= 0 seconds, got {journal_window_s}")
    kind = _backend(backend)
    if address is not None and kind is not Backend.RAY:
        raise NasbenchError(f"--address {address} needs --backend ray")
    ray = _import_ray() if kind is Backend.RAY else None
    with nullcontext() if progress is None else progress.check_phase(len(suite.specs())):
        check_suite(suite)
        check_folder(out, suite, resume)
    with nullcontext() if ray is None else _ray_session(ray, workers, address):
        _prepare(out, suite, text, resume)
        todo = [(s, seed) for s, seed in suite.runs() if not run_path(out, s, seed).exists()]
        if progress is not None:
            budgets = {s.run_id(seed): s.budget for s, seed in suite.runs()}
            progress.start(out / "runs", len(suite.runs()), len(suite.runs()) - len(todo), budgets)
        try:
            if ray is None:
                _run_local(todo, out, workers, progress, journal_window_s)
            else:
                _run_ray(ray, todo, out, progress, journal_window_s)
        finally:
            if progress is not None:
                progress.close()


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
    todo: list[tuple[RunSpec, int]], out: Path, workers: int, progress: Progress | None,
    window_s: float,
) -> None:  # fmt: skip
    if workers == 1 or len(todo) <= 1:
        _gather((partial(_run_one, s, seed, run_path(out, s, seed), window_s) for s, seed in todo),
                progress)  # fmt: skip
        return
    # spawn: clean workers (no inherited threads or torch state); each reuses its imports; never
    # more processes than runs
    ctx = get_context("spawn")
    pool = ProcessPoolExecutor(min(workers, len(todo)), mp_context=ctx, initializer=worker_init)
    try:
        with _sigint_ignored():  # the workers start (on submit) with Ctrl-C ignored
            futures = [pool.submit(_run_one, s, seed, run_path(out, s, seed), window_s)
                       for s, seed in todo]  # fmt: skip
        _gather((f.result for f in as_completed(futures)), progress)
    except BaseException:  # Ctrl-C (the workers ignore it) or a failure of the driver
        _stop_workers(pool)
        raise
    pool.shutdown()


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while worker processes are started: a process that starts with SIGINT
    ignored keeps it ignored (Python installs its KeyboardInterrupt handler only over the
    default), so a Ctrl-C while a worker is still importing prints no traceback from it."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's worker processes now (their runs resume from their journals)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # CPython's pool
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(5)
    pool.shutdown(wait=True, cancel_futures=True)


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
    ray: Any, todo: list[tuple[RunSpec, int]], out: Path, progress: Progress | None,
    window_s: float,
) -> None:  # fmt: skip
    """One Ray task per run; this process writes the record files as the tasks return."""
    marker = out / "runs" / f".ray-driver-{uuid.uuid4().hex}"
    marker.write_text(marker.name)  # a task that reads this knows it sees our folder
    try:
        task = ray.remote(num_cpus=1)(_ray_run)
        folder = out.resolve()
        refs = {task.remote(s, seed, str(run_path(folder, s, seed)), marker.name, window_s):
                (s, seed) for s, seed in todo}  # fmt: skip
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


def _ray_run(
    spec: RunSpec, seed: int, record: str, marker: str, window_s: float = WINDOW_S
) -> RunResult:
    """The body of a Ray task: run (or resume) one run and return its records and metadata.
    With one torch thread, as :func:`~nasbench.training.workers.worker_init` sets. The run journals
    into the driver's results folder only where this worker sees it (``record``'s folder holds the
    driver's
    ``marker`` file); the journal is left for the driver to delete after the record file."""
    import torch

    torch.set_num_threads(1)
    path = Path(record)
    shared = path.parent / marker
    if shared.is_file() and shared.read_text() == marker:
        with RunJournal(journal_path(path), journal_header(spec, seed), window_s) as journal:
            return run(spec, seed, journal)
    return run(spec, seed)


def stderr_progress(done: int, total: int) -> None:
    """Print ``runs done/total`` on stderr about every 5% (and at the end)."""
    step = max(total // 20, 1)
    if done % step == 0 or done == total:
        print(f"runs {done}/{total}", file=sys.stderr, flush=True)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity; all cores where that is unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_workers() -> int:
    return max(1, min(4, usable_cores()))


def cap_workers(workers: int, force: bool = False) -> tuple[int, str]:
    """``workers`` capped at :func:`usable_cores` unless ``force``, and the note that says so
    ("" when nothing was capped). More processes than cores only compete for them."""
    cores = usable_cores()
    if workers < 1:
        raise NasbenchError(f"--workers must be >= 1, got {workers}")
    if force or workers <= cores:
        return workers, ""
    return cores, (f"--workers {workers} capped at the {cores} usable cores "
                   f"(--force-workers to start {workers})")  # fmt: skip


# ---- why runs stopped early ------------------------------------------------------------------
def stop_notes(out: Path, suite: Suite) -> list[str]:
    """One line per cap that ended runs of ``suite`` in ``out`` before their budget was spent
    (:data:`nasbench.engine.runner.STOP_CAPS`): the runs that reached ``max_evaluations``, and per
    task the runs that stopped after ``max_infeasible_streak`` infeasible proposals in a row, with
    the
    limit no architecture met and the lowest value seen."""
    import math

    from nasbench.engine.records import read_meta, read_run

    capped: list[str] = []
    stuck: dict[str, list[tuple[RunSpec, Path]]] = {}
    for spec, seed in suite.runs():
        path = run_path(out, spec, seed)
        if not path.exists():
            continue
        reason = read_meta(path).stop_reason
        if reason == "max_evaluations":
            capped.append(spec.run_id(seed))
        elif reason == "infeasible_streak":
            stuck.setdefault(spec.task.label, []).append((spec, path))
    notes = []
    if capped:
        cap = suite.limits.max_evaluations
        notes.append(f"{len(capped)} run(s) stopped at [suite] max_evaluations = {cap} before "
                     f"their budget was spent (first: {capped[0]})")  # fmt: skip
    for task, runs in stuck.items():
        b = runs[0][0].budget
        limits = [(n, v) for n, v in (("latency_ms", b.latency_ms), ("params_m", b.params_m),
                                      ("macs_m", b.macs_m)) if v is not None]  # fmt: skip
        lowest = {}
        for name, _ in limits:
            values = [x for _, p in runs for x in read_run(p)[0].column(name).to_pylist()
                      if x is not None and not math.isnan(x)]  # fmt: skip
            lowest[name] = min(values) if values else math.nan
        unmet = [(n, v) for n, v in limits if not lowest[n] <= v]
        together = not unmet and len(limits) > 1  # each met alone, never all at once
        said = " and ".join(f"{n} <= {v:g}" for n, v in unmet or limits)
        seen = ", ".join(f"{n} {lowest[n]:g}" for n, _ in unmet or limits)
        streak = suite.limits.max_infeasible_streak
        notes.append(
            f"{len(runs)} run(s) of task {task!r} stopped after {streak} infeasible proposals in "
            f"a row: no architecture met {said}{' together' if together else ''} (lowest seen: "
            f"{seen}); raise the limit, or [suite] max_infeasible_streak"
        )
    return notes
