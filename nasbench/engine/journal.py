"""The journal of a running run (:class:`RunJournal`): every finished evaluation, appended to a
JSON-lines journal (:mod:`nasbench.core.jsonl`, which says what makes it crash safe), so a
resumed run replays what was done instead of repeating it.
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import json
import logging
import math
import operator
import os
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import NasbenchError
from nasbench.core.jsonl import encode, parse, read_lines, write_entries
from nasbench.core.types import Measurement, Status, TrialRecord

log = logging.getLogger(__name__)

WINDOW_S = 1.0
"""How long (wall clock) a quick evaluation may wait in memory before it is journaled: the most
quick work a kill can lose (``nasbench run --journal-window``)."""

MAX_PENDING = 16384
"""At most this many quick evaluations are held, whatever their age (about 2 KB each: a bound
for a long ``--journal-window``; with the default window, a second of table look-ups is about
10,000 evaluations, a whole run at the suite cap)."""


# ---- the journal of a running run ----------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    """One journaled evaluation of a run: what a resumed run needs to replay it.

    ``measurement`` is what the evaluator returned (before a proposal's ``search_cost_s`` is
    added); ``evaluated`` is False when profiling rejected the proposal without calling the
    evaluator (it then draws no benchmark noise); ``record`` is the trial's record as first
    written (its ``overhead_wall_s`` holds the ask time only when the entry was written at once,
    before the strategy was told: a durable one; ask plus tell when it was written in a group,
    :meth:`RunJournal.append`)."""

    measurement: Measurement
    search_cost_s: float
    evaluated: bool
    feasible: bool
    record: TrialRecord

    def __init__(self, measurement: Measurement, search_cost_s: float, evaluated: bool,
                 feasible: bool, record: TrialRecord) -> None:  # fmt: skip
        # the fields in one update of __dict__ (tests/test_types.py checks this signature)
        self.__dict__.update(measurement=measurement, search_cost_s=search_cost_s,
                             evaluated=evaluated, feasible=feasible, record=record)  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "trial": self.record.trial,
            "measurement": _fields(self.measurement),
            "search_cost_s": self.search_cost_s,
            "evaluated": self.evaluated,
            "feasible": self.feasible,
            "record": _fields(self.record),
        }

    @classmethod
    def from_json(cls, entry: dict[str, Any], where: str) -> Evaluation:
        """Decode a journal entry; a malformed one raises NasbenchError naming ``where``."""
        try:
            m, r = dict(entry["measurement"]), dict(entry["record"])
            measurement = Measurement(**{
                **m, "status": Status(m["status"]), "curve": tuple(m["curve"]),
                "extra": tuple((str(k), v) for k, v in m["extra"]),
            })  # fmt: skip
            record = TrialRecord(**{**r, "extra": tuple((str(k), v) for k, v in r["extra"])})
            search_cost_s, evaluated, feasible = (entry["search_cost_s"], entry["evaluated"],
                                                  entry["feasible"])  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise NasbenchError(f"{where} is not a journaled evaluation ({exc})") from None
        _check_measurement(measurement, where)
        _check_record(record, where)
        _check_value(where, "search_cost_s", search_cost_s, COST)
        for name, flag in (("evaluated", evaluated), ("feasible", feasible)):
            if not isinstance(flag, bool):
                raise NasbenchError(f"{where}: {name} must be true or false, got {flag!r}")
        return cls(measurement, float(search_cost_s), evaluated, feasible, record)


# ---- what a journal line may hold ------------------------------------------------------------
# A resumed run writes journaled values into its records as they are, so each is checked when
# read: a journal edited by hand (or by a bug) is refused, naming its line, instead of giving
# records that no run could have produced.
ACCURACY = "an accuracy in [0, 1] (or NaN)"
FRACTION = "a fraction in [0, 1] (or NaN)"
COST = "a finite number >= 0"
SIZE = "a number >= 0 (or NaN)"
FINITE = "a finite number (or NaN)"
NUMBER = "a number"
WHOLE = "a whole number >= 0"
_MEASUREMENT = {
    "val_acc": ACCURACY, "test_acc": ACCURACY, "val_acc_pred": NUMBER, "cost_s": COST,
    "sparsity": FRACTION, "latency_ms": SIZE, "val_acc_std": SIZE, "params": SIZE,
    "nonzero_params": SIZE, "macs": SIZE, "effective_macs": SIZE,
}  # fmt: skip
_RECORD = {
    "val_acc": ACCURACY, "test_acc": ACCURACY, "incumbent_val_acc": ACCURACY,
    "incumbent_test_acc": ACCURACY, "objective": FINITE, "cost_s": COST, "cum_cost_s": COST,
    "latency_ms": SIZE, "params_m": SIZE, "macs_m": SIZE, "sparsity": FRACTION,
    "fidelity": SIZE, "overhead_wall_s": COST, "eval_wall_s": COST, "trial": WHOLE,
    "seed": WHOLE,
}  # fmt: skip


def _ok(value: object, kind: str) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    if kind == WHOLE:
        return isinstance(value, int) and value >= 0
    if kind == NUMBER:
        return True
    if math.isnan(value):
        return kind != COST
    if kind in (ACCURACY, FRACTION):
        return 0.0 <= value <= 1.0
    if kind == FINITE:
        return math.isfinite(value)
    if kind == COST:
        return 0.0 <= value < math.inf
    return value >= 0.0  # SIZE


def _check_value(where: str, name: str, value: object, kind: str) -> None:
    if not _ok(value, kind):
        raise NasbenchError(f"{where}: {name} = {value!r} is not {kind}; the journal is kept")


def _check_measurement(m: Measurement, where: str) -> None:
    for name, kind in _MEASUREMENT.items():
        _check_value(where, f"measurement {name}", getattr(m, name), kind)
    for epoch, value in enumerate(m.curve):
        _check_value(where, f"measurement curve[{epoch}]", value, ACCURACY)
    for name, value in m.extra:
        _check_value(where, f"measurement {name}", value, _extra_kind(name))


def _check_record(r: TrialRecord, where: str) -> None:
    for name, kind in _RECORD.items():
        _check_value(where, f"record {name}", getattr(r, name), kind)
    if not isinstance(r.feasible, bool):
        raise NasbenchError(f"{where}: record feasible must be true or false, got {r.feasible!r}")
    for name, value in r.extra:
        _check_value(where, f"record {name}", value, _extra_kind(name))


def _extra_kind(name: str) -> str:
    """Extra metrics named as accuracies (``test_acc_cifar100``) are accuracies; others any
    number (costs, predictions, rewards)."""
    return ACCURACY if name.startswith(("test_acc", "val_acc")) else NUMBER


_NAMES = {
    kind: tuple(f.name for f in dataclasses.fields(kind)) for kind in (Measurement, TrialRecord)
}


def _fields(obj: Measurement | TrialRecord) -> dict[str, Any]:
    """The fields of a flat dataclass (values are numbers, strings and tuples of them): what
    ``dataclasses.asdict`` gives, without its deep copies (a tenth of the time per line)."""
    return {name: getattr(obj, name) for name in _NAMES[type(obj)]}


# ---- a group of quick evaluations in one line -------------------------------------------------
# A group commit (RunJournal.append) writes its evaluations as one line of columns: every field
# of the group's measurements and records, numbers as the bytes of little-endian float64 / int64
# arrays (base64): exact, and without formatting each number as text, which cost more than a
# table look-up per evaluation. Read back, a group is the evaluations it holds, each checked as a
# line of its own is.
GROUP = "group"
_INT64 = (-(2**63), 2**63 - 1)


def _column(values: list[Any]) -> dict[str, Any]:
    """One field of a group's evaluations, as compact as its values allow; exact either way."""
    first = values[0]
    kinds = set(map(type, values))  # one pass in C: the group is thousands of evaluations long
    if kinds == {float}:
        return {"f8": base64.b64encode(np.array(values, "<f8").tobytes()).decode("ascii")}
    if kinds == {int} and _INT64[0] <= min(values) and max(values) <= _INT64[1]:
        return {"i8": base64.b64encode(np.array(values, "<i8").tobytes()).decode("ascii")}
    if kinds == {tuple} and first and all(type(p) is tuple and len(p) == 2 for p in first):
        names = [p[0] for p in first]  # (name, value) pairs: extra, the same names in each
        if all([p[0] for p in v] == names for v in values):
            columns = [_column([v[k][1] for v in values]) for k in range(len(names))]
            return {"pairs": names, "values": columns}
    if len(kinds) == 1 and type(first) is not float and values.count(first) == len(values):
        return {"same": first}
    return {"json": values}


def _column_values(column: Any, n: int) -> list[Any]:
    """The ``n`` values of a column :func:`_column` wrote. Raises ValueError, KeyError or
    TypeError for a malformed one."""
    if not isinstance(column, dict) or len(column) not in (1, 2):
        raise ValueError(f"not a column: {str(column)[:60]}")
    if "f8" in column or "i8" in column:
        kind = "f8" if "f8" in column else "i8"
        raw = base64.b64decode(column[kind], validate=True)
        if len(raw) != 8 * n:
            raise ValueError(f"a column of {len(raw) // 8} numbers in a group of {n}")
        return np.frombuffer(raw, "<" + kind).tolist()
    if "same" in column:
        return [column["same"]] * n
    if "pairs" in column:
        names, columns = list(column["pairs"]), list(column["values"])
        if len(names) != len(columns):
            raise ValueError("a pairs column with more names than values or fewer")
        values = [_column_values(c, n) for c in columns]
        return [[[name, v[i]] for name, v in zip(names, values, strict=True)] for i in range(n)]
    values = list(column["json"])
    if len(values) != n:
        raise ValueError(f"a column of {len(values)} values in a group of {n}")
    return values


def encode_group(evaluations: list[Evaluation]) -> dict[str, Any]:
    """One journal entry holding ``evaluations`` (:data:`GROUP`), field by field."""
    top = ("search_cost_s", "evaluated", "feasible")
    columns: dict[str, dict[str, Any]] = {}
    # one attrgetter call per object and a transposition, both in C, instead of a getattr per
    # field per evaluation
    for prefix, names, objects in (
        ("", top, evaluations),
        ("measurement.", _NAMES[Measurement], [e.measurement for e in evaluations]),
        ("record.", _NAMES[TrialRecord], [e.record for e in evaluations]),
    ):
        rows = map(operator.attrgetter(*names), objects)
        for name, values in zip(names, zip(*rows, strict=True), strict=True):
            columns[prefix + name] = _column(list(values))
    return {GROUP: len(evaluations), "columns": columns}


def decode_group(entry: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """The evaluation entries (as :meth:`Evaluation.to_json` writes one) of a group entry;
    a malformed group raises NasbenchError naming ``where``."""
    try:
        n, columns = entry[GROUP], dict(entry["columns"])
        if type(n) is not int or n < 1:
            raise ValueError(f"a group of {n!r} evaluations")
        values = {key: _column_values(column, n) for key, column in columns.items()}
        measurement = {name: values["measurement." + name] for name in _NAMES[Measurement]}
        record = {name: values["record." + name] for name in _NAMES[TrialRecord]}
        top = [values[key] for key in ("search_cost_s", "evaluated", "feasible")]
    except (KeyError, TypeError, ValueError) as exc:
        raise NasbenchError(f"{where} is not a group of journaled evaluations ({exc})") from None
    return [
        {
            "trial": record["trial"][i],
            "measurement": {k: v[i] for k, v in measurement.items()},
            "search_cost_s": top[0][i],
            "evaluated": top[1][i],
            "feasible": top[2][i],
            "record": {k: v[i] for k, v in record.items()},
        }
        for i in range(n)
    ]


def read_journal(path: Path) -> list[dict[str, Any]]:
    """The header and then every evaluation entry of the run journal ``path`` (groups opened
    into their evaluations, torn tail ignored): what a reader of a running run's journal sees
    line by line when each evaluation has a line of its own. Reads only."""
    entries = read_lines(path)
    out = entries[:1]
    for n, entry in enumerate(entries[1:], 2):
        out += decode_group(entry, f"{path} line {n}") if GROUP in entry else [entry]
    return out


def line_progress(line: bytes) -> tuple[int, float | None]:
    """How many evaluations one journal line holds (0 for the header) and the cumulative cost
    after the last of them (``None`` where the line does not say). Reads only."""
    try:
        entry = json.loads(line)
        if GROUP in entry:
            n = int(entry[GROUP])
            return n, float(_column_values(entry["columns"]["record.cum_cost_s"], n)[-1])
        if "record" in entry:
            return 1, float(entry["record"]["cum_cost_s"])
    except (ValueError, KeyError, TypeError, IndexError):
        pass
    return 0, None


def locked(path: Path) -> bool:
    """Whether a process holds the journal ``path`` open as a :class:`RunJournal`."""
    if not path.exists():
        return False
    with path.open("rb") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False


class RunJournal:
    """The open journal of one running run: ``runs/<run_id>.journal`` of a results folder.

    The first line is ``header`` (the run's identity); every further line is one
    :class:`Evaluation`. Opening it takes an exclusive lock for as long as it stays open
    (released when the process dies, ``kill -9`` included), so two processes never run the
    same run; :attr:`replay` holds the evaluations a killed run left, in order. Raises
    NasbenchError when the journal belongs to another run, is corrupt, or is locked.
    """

    def __init__(self, path: Path, header: dict[str, Any], window_s: float = WINDOW_S) -> None:
        if not (math.isfinite(window_s) and window_s >= 0):
            raise NasbenchError(f"--journal-window must be >= 0 seconds, got {window_s}")
        self.path, self.header, self.window_s = Path(path), header, window_s
        self._sound = False  # the file ends with a complete line this process wrote
        self._pending: list[Evaluation] = []  # quick evaluations not written yet
        self._since = 0.0  # when the first of them arrived (time.monotonic)
        self._file = self.path.open("a+b")
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise NasbenchError(
                f"{path} is locked: another nasbench process is running this run"
            ) from None
        try:
            self.replay = self._read()
        except NasbenchError:
            self._file.close()
            raise

    def _read(self) -> deque[Evaluation]:
        self._file.seek(0)
        entries, _ = parse(self._file.read(), self.path)
        if not entries:  # new, or only a torn header: start afresh
            self._file.truncate(0)
            write_entries(self._file, [self.header])
            return deque()
        if entries[0] != self.header:
            theirs = {k: v for k, v in entries[0].items() if k != "spec"}
            raise NasbenchError(
                f"{self.path} belongs to another run ({json.dumps(theirs, sort_keys=True)}), not "
                f"run {self.header.get('run')!r} of suite {self.header.get('suite')!r}"
            )
        done: deque[Evaluation] = deque()
        for n, entry in enumerate(entries[1:], 2):
            where = f"{self.path} line {n}"
            if GROUP in entry:
                group = decode_group(entry, where)
                done.extend(Evaluation.from_json(e, f"{where} entry {k}")
                            for k, e in enumerate(group, 1))  # fmt: skip
            else:
                done.append(Evaluation.from_json(entry, where))
        return done

    def append(self, evaluation: Evaluation, durable: bool = True) -> None:
        """Journal one finished evaluation. A ``durable`` one (it took real compute) is written,
        flushed and fsynced before this returns, with any quick ones still held: it survives a
        kill of the process and a power cut. Quick ones are written in groups (a group commit,
        one line of columns: :func:`encode_group`): held in memory until the first of them is
        ``window_s`` old (wall clock), then written and flushed together, so a kill loses at
        most that much quick work, which a resume redoes identically; a run that ends sooner
        never encodes them. ``window_s = 0`` writes each one at once."""
        pending = self._pending
        pending.append(evaluation)
        if durable:
            self.commit(durable=True)
            return
        now = time.monotonic()
        if len(pending) == 1:
            self._since = now
        if now - self._since >= self.window_s or len(pending) >= MAX_PENDING:
            self.commit()

    def commit(self, durable: bool = False) -> None:
        """Write the held evaluations and flush (and fsync when ``durable``). The first write
        of this process checks the file's end for a torn line
        (:func:`~nasbench.core.jsonl.write_entries`); after that this process, which holds the
        lock, knows the file ends with its own complete line and appends directly."""
        if not self._pending:
            return
        pending = self._pending
        entries = [pending[0].to_json()] if len(pending) == 1 else [encode_group(pending)]
        pending.clear()
        if not self._sound:
            write_entries(self._file, entries, durable)
            self._sound = True
            return
        self._file.write(b"".join(encode(e) for e in entries))
        self._file.flush()
        if durable:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Write what is held (a run that raised keeps its evaluations), then release the lock;
        the file stays (a later resume replays it)."""
        try:
            self.commit()
        except OSError as exc:  # a full disk: the held evaluations are redone on resume
            log.warning("%s: %d evaluations not journaled (%s)", self.path, len(self._pending),
                        exc)  # fmt: skip
        finally:
            self._file.close()

    def remove(self) -> None:
        """Delete the journal (its run's record file is written; what is held is dropped
        unwritten), then release the lock."""
        self._pending.clear()
        self.path.unlink(missing_ok=True)
        self._file.close()

    def __enter__(self) -> RunJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
