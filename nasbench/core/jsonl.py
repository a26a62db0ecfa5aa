"""Append-only JSON-lines journals: what makes table builds and suite runs crash safe.

A journal is a file of JSON objects, one a line, each written whole and flushed before the writer
goes on, so a kill at any moment (``kill -9`` included: the operating system keeps what was
flushed) loses at most the line being written; lines that record real compute are also fsynced,
so a power cut loses at most cheap ones. Reading
follows one rule: a malformed *last* line is the torn tail of a killed write and is ignored
(with a warning); a malformed line anywhere else is corruption and raises NasbenchError.
Before anything is appended after a torn tail, the tail is cut off, so a new line never joins
it. :mod:`nasbench.tables.tablebuild` journals finished training runs; :mod:`nasbench.engine.runner`
journals every finished evaluation of a running run in a
:class:`~nasbench.engine.journal.RunJournal`.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "x.journal"
>>> append_lines(path, [{"build": 1}, {"run": 0}])
>>> with path.open("a") as f:
...     _ = f.write('{"run": 1, "val')  # a kill in the middle of a write
>>> read_lines(path)
[{'build': 1}, {'run': 0}]
>>> append_lines(path, [{"run": 2}])  # cuts the torn tail off first
>>> read_lines(path)
[{'build': 1}, {'run': 0}, {'run': 2}]
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from nasbench.core.errors import NasbenchError

log = logging.getLogger(__name__)


# ---- the line format -----------------------------------------------------------------------
def _plain(value: object) -> object:
    """JSON for the numpy values evaluators may return (exact: ``item`` keeps the value)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode(entry: dict[str, Any]) -> bytes:
    """One journal line (newline included). Floats round-trip exactly; NaN is written as
    ``NaN``."""
    return (json.dumps(entry, default=_plain) + "\n").encode()


def parse(data: bytes, name: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], int]:
    """The entries of a journal's bytes and the length of its sound part (everything but a
    torn last line). Raises NasbenchError for a malformed line that is not the last one."""
    lines = data.split(b"\n")
    entries: list[dict[str, Any]] = []
    sound = 0
    for number, line in enumerate(lines):
        last = number == len(lines) - 1
        if line.strip():
            try:
                entry = json.loads(line)
            except ValueError:
                if last:  # the torn tail of a killed write
                    log.warning("ignoring a half-written last line of %s", name)
                    break
                raise NasbenchError(f"{name} line {number + 1} is corrupt") from None
            if not isinstance(entry, dict):
                raise NasbenchError(f"{name} line {number + 1} is not a JSON object")
            entries.append(entry)
        sound += len(line) + (0 if last else 1)
    return entries, sound


def read_lines(path: Path) -> list[dict[str, Any]]:
    """Every entry of the journal ``path`` (none if it does not exist), torn tail ignored."""
    return parse(path.read_bytes(), path)[0] if path.exists() else []


def _byte(f: IO[bytes], offset: int) -> bytes:
    f.seek(offset)
    return f.read(1)


def write_entries(f: IO[bytes], entries: Sequence[dict[str, Any]], durable: bool = True) -> None:
    """Append entries to an open journal, after cutting off a torn tail; then flush, and fsync
    when ``durable``."""
    size = f.seek(0, os.SEEK_END)
    if size and _byte(f, size - 1) != b"\n":  # a torn or unterminated last line
        f.seek(0)
        sound = parse(f.read(), f.name)[1]
        f.truncate(sound)
        if sound and _byte(f, sound - 1) != b"\n":
            f.write(b"\n")  # a complete last line that lost only its newline
    f.write(b"".join(encode(e) for e in entries))
    f.flush()
    if durable:
        os.fsync(f.fileno())


def append_lines(path: Path, entries: Sequence[dict[str, Any]]) -> None:
    """Append ``entries`` to the journal ``path`` (created if missing), durably (fsynced)."""
    with path.open("a+b") as f:
        write_entries(f, entries)
