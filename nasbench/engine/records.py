"""Run records on disk: one write-once Parquet file per finished run.

The schema comes from :class:`~nasbench.core.types.TrialRecord` (one column per field; ``extra``
metrics become float columns of their own); :class:`~nasbench.core.types.RunMeta` is stored as JSON
in the file's metadata under ``b"nasbench.run"``, with the budget's overshoot rule and the
versions of the libraries in :data:`DEPENDENCIES` (:func:`dependency_versions`); records written
before those fields existed read back without them (``versions`` None: not recorded). Tables and
plots are pure functions of these files (``nasbench report``).

>>> import tempfile, pathlib
>>> from nasbench.core.types import RunMeta
>>> meta = RunMeta("s", "r", "t", "random", 0, "{}", "cost_s", 0, "0", "3", "os", "x", "now", 0)
>>> path = pathlib.Path(tempfile.mkdtemp()) / "run.parquet"
>>> write_run(path, [], meta)
>>> read_run(path)[1].strategy
'random'
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import operator
import os
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from nasbench.core.errors import NasbenchError
from nasbench.core.types import RunMeta, TrialRecord

META_KEY = b"nasbench.run"
_ARROW = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
FIELDS = [f for f in dataclasses.fields(TrialRecord) if f.name != "extra"]
SCHEMA = pa.schema([pa.field(f.name, _ARROW[str(f.type)]) for f in FIELDS])

DEPENDENCIES = ("torch", "numpy", "scipy", "optuna", "deap", "scikit-learn", "pyarrow")
"""Distributions whose versions every run's metadata records: the libraries that compute its
numbers (training, statistics, the strategies' samplers, surrogates, the record format)."""


@functools.cache
def _installed() -> tuple[tuple[str, str | None], ...]:
    versions: list[tuple[str, str | None]] = []
    for name in DEPENDENCIES:
        try:
            versions.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:  # an optional library that is not installed
            versions.append((name, None))
    return tuple(versions)


def dependency_versions() -> dict[str, str | None]:
    """The installed version of each of :data:`DEPENDENCIES`, exactly as the distribution
    states it (``None``: not installed), read once per process through
    :mod:`importlib.metadata`."""
    return dict(_installed())


def records_table(records: Sequence[TrialRecord]) -> pa.Table:
    """Records as an Arrow table: the fixed schema, then one float column per extra metric."""
    names = [f.name for f in FIELDS]
    # one attrgetter call per record and a transposition, both in C
    rows = list(map(operator.attrgetter(*names), records))
    columns: dict[str, list[Any]] = (
        {name: list(values) for name, values in zip(names, zip(*rows, strict=True), strict=True)}
        if rows
        else {name: [] for name in names}
    )
    extras = sorted({name for r in records for name, _ in r.extra})
    found = [dict(r.extra) for r in records] if extras else []
    for name in extras:
        if name in columns:
            raise NasbenchError(f"extra metric {name!r} clashes with a record column")
        columns[name] = [e.get(name, math.nan) for e in found]
    schema = SCHEMA
    for name in extras:
        schema = schema.append(pa.field(name, pa.float64()))
    return pa.Table.from_pydict(columns, schema=schema)


def write_run(path: Path, records: Sequence[TrialRecord], meta: RunMeta) -> None:
    """Write one run; never overwrites (raises NasbenchError if ``path`` exists). The file
    appears atomically and durably: written whole beside it as ``.<name>.<pid>.tmp`` (a name
    no reader takes for a record), fsynced, then renamed; the folder is fsynced after. An
    OSError (a full disk) or an interrupt deletes the temporary file and is raised again."""
    path = Path(path)
    if path.exists():
        raise NasbenchError(f"refusing to overwrite the existing run record {path}")
    table = records_table(records)
    table = table.replace_schema_metadata(
        {META_KEY: json.dumps(dataclasses.asdict(meta), sort_keys=True).encode()}
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # no column statistics: an eighth smaller; nothing reads them
        pq.write_table(table, tmp, compression="zstd", write_statistics=False)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:  # a full disk, Ctrl-C: no half-written file is left behind
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    _fsync(path.parent)  # the rename itself survives a power cut


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_run(path: Path) -> tuple[pa.Table, RunMeta]:
    """One run's records and metadata; a corrupted or foreign file raises NasbenchError."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise NasbenchError(f"cannot read run record {path}: {exc}") from None
    raw = _raw_meta(path, table.schema)
    missing = [name for name in SCHEMA.names if name not in table.column_names]
    if missing:
        raise NasbenchError(f"{path} lacks record columns: {', '.join(missing)}")
    return table, _parse_meta(path, raw)


def read_meta(path: Path) -> RunMeta:
    """One run's metadata alone (read from the file's footer, not its rows); raises
    NasbenchError for a file :func:`read_run` could not read or whose metadata it rejects."""
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise NasbenchError(f"cannot read run record {path}: {exc}") from None
    return _parse_meta(path, _raw_meta(path, schema))


def _raw_meta(path: Path, schema: pa.Schema) -> bytes:
    raw = (schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise NasbenchError(f"{path} is not a nasbench run record (no run metadata)")
    return bytes(raw)


def _parse_meta(path: Path, raw: bytes) -> RunMeta:
    try:
        meta = RunMeta(**json.loads(raw))
    except (TypeError, ValueError) as exc:
        raise NasbenchError(f"{path} has malformed run metadata: {exc}") from None
    versions = meta.versions
    if not isinstance(meta.overshoot, str) or not (versions is None or (
        isinstance(versions, dict)
        and all(isinstance(v, str | None) for v in versions.values())
    )):  # fmt: skip
        raise NasbenchError(f"{path} has malformed run metadata: overshoot {meta.overshoot!r}, "
                            f"versions {versions!r}")  # fmt: skip
    return meta


OVERWRITE_HINT = "pass --overwrite to replace it"
"""What a refusal to overwrite tells the user to do (the commands' explicit flag)."""


def check_new(paths: Sequence[Path], overwrite: bool = False, hint: str = OVERWRITE_HINT) -> None:
    """Raise NasbenchError (one line) naming the first of ``paths`` that exists, unless
    ``overwrite``; a folder where a file would go is refused either way. Commands call it with
    every file they will write before writing any: nasbench never overwrites a file unasked.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.md"
    >>> _ = path.write_text("mine")
    >>> check_new([path])
    Traceback (most recent call last):
    ...
    nasbench.core.errors.NasbenchError: refusing to overwrite ... (pass --overwrite to replace it)
    >>> check_new([path], overwrite=True)
    """
    for path in map(Path, paths):
        if path.is_dir():
            raise NasbenchError(f"cannot write {path}: it is a folder")
        if not overwrite and (path.exists() or path.is_symlink()):
            raise NasbenchError(f"refusing to overwrite {path} ({hint})")


def write_new(path: Path, data: str | bytes, overwrite: bool = False,
              hint: str = OVERWRITE_HINT) -> None:  # fmt: skip
    """Write ``data`` (text as UTF-8) to ``path``, which must not exist unless ``overwrite``: the
    file is opened in exclusive-create mode, so one that appeared since :func:`check_new` stays
    as it is. Raises NasbenchError (one line) instead of an OSError."""
    path = Path(path)
    raw = data if isinstance(data, bytes) else data.encode("utf-8")
    try:
        with open(path, "wb" if overwrite else "xb") as f:
            f.write(raw)
    except FileExistsError:
        raise NasbenchError(f"refusing to overwrite {path} ({hint})") from None
    except OSError as exc:
        raise NasbenchError(f"cannot write {path}: {exc.strerror or exc}") from None
