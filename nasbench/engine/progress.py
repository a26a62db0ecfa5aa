"""Progress of a running suite on stderr: finished runs with an ETA, and each running run's
evaluations or simulated seconds spent, read from the journals it appends to.

What is shown is computed by pure functions, so the exact text is testable:

>>> format_line(done=3, total=12, elapsed_s=30.0)
'3/12 runs, ETA 1m30s'
>>> format_run("nb__random__seed3", evaluations=12, cum_cost_s=1500.0, budget_evaluations=50,
...            budget_cost_s=None)
'  nb__random__seed3  12/50 evaluations'

:class:`Progress` renders them. On a terminal it redraws a block of lines in place about twice a
second: the overall line, then one line per running run. A running run's numbers come from its
journal (``runs/<run_id>.journal``, one line per finished evaluation, see
:mod:`nasbench.engine.journal`): the driver only reads the files, so this needs no messages between
processes and works for any backend whose runs journal into the results folder. Elsewhere (a log
file, a pipe, CI) it prints one plain line per finished run, with no carriage returns or escape
codes.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from nasbench.core.types import Budget
from nasbench.engine.journal import line_progress

REFRESH_S = 0.5
"""Seconds between two redraws on a terminal."""
MAX_RUN_LINES = 8
"""At most this many running runs get a line of their own; the rest are counted."""


# ---- what is displayed ---------------------------------------------------------------------
def format_duration(seconds: float) -> str:
    """``seconds`` rounded to whole seconds as ``45s``, ``1m30s`` or ``2h05m``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def eta_s(done: int, total: int, elapsed_s: float, resumed: int = 0) -> float | None:
    """Seconds until all ``total`` runs are done, from the mean time per run finished so far in
    this session (``done - resumed`` runs in ``elapsed_s``; with parallel workers this is the
    wall time per finished run, so the workers are accounted for). None before the first."""
    finished = done - resumed
    if finished <= 0:
        return None
    return elapsed_s / finished * (total - done)


def format_line(done: int, total: int, elapsed_s: float, resumed: int = 0) -> str:
    """The overall line: ``3/12 runs, ETA 1m30s``; ``12/12 runs in 2m00s`` at the end;
    ``ETA --`` until a run of this session finished (``resumed`` runs were done before)."""
    if done >= total:
        return f"{done}/{total} runs in {format_duration(elapsed_s)}"
    eta = eta_s(done, total, elapsed_s, resumed)
    return f"{done}/{total} runs, ETA {'--' if eta is None else format_duration(eta)}"


def format_run(
    run_id: str,
    evaluations: int,
    cum_cost_s: float,
    budget_evaluations: int | None,
    budget_cost_s: float | None,
) -> str:
    """One running run's line: its evaluations (``12/50 evaluations`` under an evaluations
    budget, ``12 evaluations`` without one), then its simulated seconds under a cost budget
    (``, 1500/12000 s simulated``)."""
    limit = "" if budget_evaluations is None else f"/{budget_evaluations}"
    line = f"  {run_id}  {evaluations}{limit} evaluations"
    if budget_cost_s is not None:
        line += f", {cum_cost_s:.0f}/{budget_cost_s:.0f} s simulated"
    return line


def finished_line(done: int, total: int, elapsed_s: float, run_id: str, resumed: int = 0) -> str:
    """The plain line printed when not on a terminal: the overall line and the run that
    finished, e.g. ``3/12 runs, ETA 1m30s; finished nb__random__seed3``."""
    return f"{format_line(done, total, elapsed_s, resumed)}; finished {run_id}"


# ---- reading the journals of running runs --------------------------------------------------
@dataclass(frozen=True)
class RunProgress:
    """What a running run's journal says: evaluations finished and simulated seconds spent."""

    run_id: str
    evaluations: int
    cum_cost_s: float


@dataclass
class _Seen:
    offset: int = 0  # bytes read up to the end of the last whole line
    evaluations: int = 0
    cum_cost_s: float = 0.0


class JournalWatch:
    """Polls ``runs/*.journal`` of a results folder, reading only what was appended since the
    last poll (a journal that shrank, cut at a torn tail or started afresh, is read again)."""

    def __init__(self, runs: Path) -> None:
        self.runs = Path(runs)
        self._seen: dict[Path, _Seen] = {}

    def poll(self) -> list[RunProgress]:
        """The progress of every journal now in the folder, sorted by run id. Reads files only;
        a journal deleted while it is read is skipped."""
        found = []
        paths = sorted(self.runs.glob("*.journal"))
        for path in paths:
            seen = self._seen.setdefault(path, _Seen())
            try:
                self._read(path, seen)
            except FileNotFoundError:  # its run finished meanwhile
                continue
            found.append(RunProgress(path.stem, seen.evaluations, seen.cum_cost_s))
        for gone in self._seen.keys() - set(paths):
            del self._seen[gone]
        return found

    @staticmethod
    def _read(path: Path, seen: _Seen) -> None:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < seen.offset:
                seen.offset, seen.evaluations, seen.cum_cost_s = 0, 0, 0.0
            f.seek(seen.offset)
            data = f.read(size - seen.offset)
        whole = data[: data.rfind(b"\n") + 1]  # a line still being written waits
        if not whole:
            return
        seen.offset += len(whole)
        for line in whole.splitlines():
            # one evaluation a line, or a group of them (a group commit); the header, or a line
            # that is not an evaluation, keeps the last cost
            count, cost = line_progress(line)
            seen.evaluations += count
            if cost is not None:
                seen.cum_cost_s = cost


# ---- the renderer --------------------------------------------------------------------------
class Progress:
    """Suite progress on ``stream`` (stderr in the CLI). :func:`nasbench.engine.execute.run_suite`
    calls :meth:`start`, then :meth:`finished` after each run, then :meth:`close`.

    ``tty`` (default: ``stream.isatty()``) picks the display: a block redrawn in place, or one
    plain line per finished run. ``clock`` gives seconds (``time.monotonic``; tests pass a fake).
    """

    def __init__(
        self,
        stream: TextIO,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream, self.clock = stream, clock
        self.tty = stream.isatty() if tty is None else tty
        self.done = self.total = self.resumed = 0
        self.budgets: Mapping[str, Budget] = {}
        self._watch: JournalWatch | None = None
        self._started = 0.0
        self._drawn = 0  # lines of the block on screen
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._checking: threading.Timer | None = None

    CHECK_NOTICE_S = 5.0
    """A suite check that takes longer than this is announced (a bad suite fails sooner)."""

    def checking(self, pairs: int) -> None:
        """The suite check starts: building every (task, strategy) pair's roles, which loads
        tables and fits surrogates (minutes for a large suite). If it is still going after
        :attr:`CHECK_NOTICE_S` seconds, one line says so; :meth:`start` or :meth:`close` ends
        the wait (so a suite refused at once prints only its error)."""
        text = (f"checking the suite: building the roles of {pairs} (task, strategy) "
                f"pair{'s' if pairs != 1 else ''} (tables, surrogates) ...\n")  # fmt: skip

        def say() -> None:
            with self._lock:
                self.stream.write(text)
                self.stream.flush()

        self._checking = threading.Timer(self.CHECK_NOTICE_S, say)
        self._checking.daemon = True
        self._checking.start()

    @contextmanager
    def check_phase(self, pairs: int) -> Iterator[None]:
        """:meth:`checking` for the ``with`` block that checks the suite; a check that raises
        ends the wait (:meth:`close`), so no notice follows the error line."""
        self.checking(pairs)
        try:
            yield
        except BaseException:
            self.close()
            raise

    def _checked(self) -> None:
        if self._checking is not None:
            self._checking.cancel()
            self._checking.join()
            self._checking = None

    def start(self, runs: Path, total: int, done: int, budgets: Mapping[str, Budget]) -> None:
        """A suite of ``total`` runs starts, ``done`` of them finished earlier (a resume);
        ``budgets`` maps each run id to its budget and ``runs`` is the folder of journals."""
        self._checked()
        self.total, self.done, self.resumed, self.budgets = total, done, done, budgets
        self._watch, self._started = JournalWatch(runs), self.clock()
        if self.tty:
            self._draw()
            self._thread = threading.Thread(target=self._refresh, daemon=True)
            self._thread.start()

    def finished(self, run_id: str) -> None:
        """One more run finished."""
        with self._lock:
            self.done += 1
            if not self.tty:
                elapsed = self.clock() - self._started
                line = finished_line(self.done, self.total, elapsed, run_id, self.resumed)
                self.stream.write(line + "\n")
                self.stream.flush()
        if self.tty:
            self._draw()

    def close(self) -> None:
        """Stop redrawing; on a terminal the last block stays, followed by a newline."""
        self._checked()
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def lines(self) -> list[str]:
        """The block shown on a terminal: the overall line, then the running runs."""
        elapsed = self.clock() - self._started
        shown = [format_line(self.done, self.total, elapsed, self.resumed)]
        running = self._watch.poll() if self._watch is not None else []
        for r in running[:MAX_RUN_LINES]:
            b = self.budgets.get(r.run_id)
            limits = (None, None) if b is None else (b.evaluations, b.cost_s)
            shown.append(format_run(r.run_id, r.evaluations, r.cum_cost_s, *limits))
        if len(running) > MAX_RUN_LINES:
            shown.append(f"  ... and {len(running) - MAX_RUN_LINES} more running")
        return shown

    def _draw(self) -> None:
        with self._lock:
            width = shutil.get_terminal_size().columns - 1
            block = [line[:width] for line in self.lines()]
            # back to the block's first line, clear to the end of the screen, draw again
            up = "\x1b[A" * max(self._drawn - 1, 0)
            self.stream.write(f"\r{up}\x1b[J" + "\n".join(block))
            self.stream.flush()
            self._drawn = len(block)

    def _refresh(self) -> None:
        while not self._stop.wait(REFRESH_S):
            self._draw()
