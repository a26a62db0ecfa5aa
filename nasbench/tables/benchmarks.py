"""Benchmark tables: recorded measurements of a search space, one Parquet file each.

A benchmark table has one row per (architecture, sparsity level) and these columns:

- ``arch``: the space's string form of the architecture (``space.format(arch)``);
- ``key``: its canonical key (isomorphic architectures share one);
- ``sparsity``: the target weight sparsity it was trained at (``0.0`` for dense networks);
- metric columns: accuracies as fractions in [0, 1], times in seconds, latencies in ms,
  parameters in millions; a column of lists holds per-seed values.

The Parquet schema metadata holds, under the key ``b"nasbench"``, a JSON description
(:class:`BenchmarkInfo`) saying which column answers what: for each fidelity the validation
column (and optionally a per-seed list column to draw one value from) and the cost column with
its scale factor; the test column; extra metrics; one latency column per device; the parameter
column; and a provenance text. A table ships in ``nasbench/data/<name>.parquet`` beside a
datasheet ``<name>.md``; :func:`load_benchmark` finds it by name or by path.

>>> table = load_benchmark("nb201-cifar10")
>>> table.info.space, len(table), table.fidelities, table.sparsities
('nb201', 15625, (12.0, 200.0), (0.0,))
>>> best = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
...         "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")  # NAS-Bench-201 index 6111
>>> row = table.index(best, key="", sparsity=0.0)
>>> row, round(float(table.test[row]), 4)
(6111, 0.9437)
>>> twelve = table.fidelity(12)  # NAS-Bench-201 protocol: 12 epochs cost 12/200 of 200 epochs
>>> twelve.spec.cost_scale, round(float(twelve.cost_s[row] / table.fidelity(200).cost_s[row]), 2)
(0.06, 0.06)
>>> round(table.latency(row, "pixel3"), 2), len(table.devices)
(23.58, 27)

**Learning curves.** A table built by ``nasbench build-table`` also records each row's validation
accuracy after every epoch: ``curve`` (the seed mean, one value per epoch) and, per training run,
``run_curve`` beside ``run_status`` (the runs whose status is ``"ok"`` are the top fidelity's
``val_seeds``, in order). Where these curves span the top fidelity's ``E`` epochs (``E`` whole),
the table answers every epoch ``1..E``: ``table.fidelities`` lists them all and
``table.fidelity(e)`` for ``e < E`` answers the curves' ``e``-th value (the seed mean, and per
seed), charged ``e / E`` of the top fidelity's cost; ``E`` itself answers the recorded top
fidelity unchanged. A recipe may measure the curve on part of the validation split
(``curve_samples``), so the curve's last value need not equal the ``E``-epoch value. NAS-Bench-201's
table records no curves and answers its two fidelities only.

>>> chain = load_benchmark("chain-mnist1d")
>>> chain.epochs, chain.fidelities
(6, (1.0, 2.0, 3.0, 4.0, 5.0, 6.0))
>>> two = chain.fidelity(2)  # after 2 of 6 epochs: the curves' second value, 2/6 of the cost
>>> share = two.cost_s[0] / chain.fidelity(6).cost_s[0]
>>> float(two.val[0]), two.val_seeds[0], round(float(share), 4)
(0.6025, (0.609, 0.596), 0.3333)

Writing a table of your own takes a ``pyarrow.Table`` and a description; :func:`write_benchmark`
checks it exactly as :func:`load_benchmark` will:

>>> import pyarrow as pa, tempfile, pathlib
>>> data = pa.table({
...     "arch": ["a", "b", "a"], "key": ["a", "b", "a"], "sparsity": [0.0, 0.0, 0.5],
...     "val_acc_10ep": [0.8, 0.7, 0.75], "val_acc_10ep_seeds": [[0.79, 0.81], [0.7], [0.75]],
...     "test_acc": [0.78, 0.69, 0.74], "train_time_10ep_s": [60.0, 50.0, 60.0],
... })
>>> info = BenchmarkInfo(
...     name="toy", space="chain", dataset="mnist1d", test="test_acc", provenance="made up",
...     fidelities=(FidelitySpec(10, "val_acc_10ep", "train_time_10ep_s", 1.0,
...                              val_seeds="val_acc_10ep_seeds"),))
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = pathlib.Path(tmp) / "toy.parquet"
...     write_benchmark(data, info, path)
...     toy = load_benchmark(path)
>>> toy.sparsities, toy.index("a", "a", 0.5), toy.fidelity(10).val_seeds[0]
((0.0, 0.5), 2, (0.79, 0.81))
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from nasbench.core.errors import NasbenchError, one_of

METADATA_KEY = b"nasbench"
FORMAT_VERSION = 1
DATA_DIR = Path(__file__).parents[1] / "data"
"""Where shipped tables live: ``nasbench/data/<name>.parquet``."""

_SPARSITY_DIGITS = 6  # sparsity levels match after rounding, so 0.9 == 0.9000000001
CURVE, RUN_CURVE, RUN_STATUS, RUN_OK = "curve", "run_curve", "run_status", "ok"
"""The learning-curve columns ``nasbench build-table`` writes (module docstring)."""


@dataclass(frozen=True)
class FidelitySpec:
    """How a table answers one fidelity (epochs, for NAS-Bench-201).

    ``val`` is the validation accuracy column (the seed mean where per-seed values exist);
    ``val_seeds``, if given, is a list column of per-seed values, and an evaluation draws one of
    them uniformly. The cost is ``cost_scale`` times the ``cost`` column (seconds), e.g. a
    12-epoch run charged as 12/200 of the recorded 200-epoch training time.
    """

    fidelity: float
    val: str
    cost: str
    cost_scale: float = 1.0
    val_seeds: str | None = None


@dataclass(frozen=True)
class BenchmarkInfo:
    """The description stored as JSON in a table's schema metadata (see module docstring).

    ``space_params`` are the space constructor parameters the table was recorded with; ``extra``
    maps a metric name (e.g. ``"test_acc_cifar100"``) to its column; ``latency`` maps a device
    name to its column (``lat_<device>_ms`` by convention); ``params`` names the column of
    parameter counts in millions, if any.
    """

    name: str
    space: str
    dataset: str
    fidelities: tuple[FidelitySpec, ...]
    test: str
    provenance: str
    space_params: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
    latency: dict[str, str] = field(default_factory=dict)
    params: str | None = None

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT_VERSION, **asdict(self)}, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> BenchmarkInfo:
        """Parse and type-check a description; raises NasbenchError naming the bad entry."""
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise NasbenchError(f"description is not valid JSON ({exc})") from None
        if not isinstance(raw, dict) or raw.pop("format", None) != FORMAT_VERSION:
            raise NasbenchError(f"description is not nasbench table format {FORMAT_VERSION}")
        _check_keys("description", raw, cls.__dataclass_fields__)
        for name in ("name", "space", "dataset", "test", "provenance", "params"):
            if not isinstance(raw.get(name, ""), str | None):
                raise NasbenchError(f"description entry {name!r} is not a string")
        for name in ("space_params", "extra", "latency"):
            if not isinstance(raw.get(name, {}), dict):
                raise NasbenchError(f"description entry {name!r} is not an object")
        if not isinstance(raw.get("fidelities"), list):
            raise NasbenchError("description entry 'fidelities' is missing or not a list")
        try:
            specs = tuple(_fidelity_spec(f) for f in raw.pop("fidelities"))
            return cls(fidelities=specs, **raw)
        except (TypeError, ValueError) as exc:
            raise NasbenchError(f"description is incomplete or malformed ({exc})") from None


def _check_keys(what: str, raw: dict[str, Any], valid: dict[str, Any]) -> None:
    for k in raw:
        if k not in valid:
            raise NasbenchError(f"{what}: unknown entry {k!r} (valid: {', '.join(valid)})")


def _fidelity_spec(raw: Any) -> FidelitySpec:
    if not isinstance(raw, dict):
        raise NasbenchError(f"fidelity entry {raw!r} is not an object")
    _check_keys("fidelity", raw, FidelitySpec.__dataclass_fields__)
    spec = FidelitySpec(**raw)
    return FidelitySpec(
        float(spec.fidelity), spec.val, spec.cost, float(spec.cost_scale), spec.val_seeds
    )


@dataclass(frozen=True)
class FidelityValues:
    """One fidelity's answers, per row: ``val`` (fraction), ``cost_s`` (seconds, already
    scaled) and, for per-seed fidelities, ``val_seeds`` (a tuple of recorded values per row)."""

    spec: FidelitySpec
    val: np.ndarray
    cost_s: np.ndarray
    val_seeds: tuple[tuple[float, ...], ...] | None


class BenchmarkTable:
    """A loaded benchmark table: columns as read-only numpy arrays, plus lookup indices.

    Build it with :func:`load_benchmark`. Every method is pure and draws no randomness.
    """

    def __init__(self, data: pa.Table, info: BenchmarkInfo, path: Path | None = None) -> None:
        self.info = info
        self.path = path
        self._where = f"benchmark table {info.name!r}" + (f" ({path})" if path else "")
        needed = ["arch", "key", "sparsity", info.test, *info.extra.values()]
        needed += [*info.latency.values(), *([info.params] if info.params else [])]
        for spec in info.fidelities:
            needed += [spec.val, spec.cost, *([spec.val_seeds] if spec.val_seeds else [])]
        missing = sorted({c for c in needed if c not in data.column_names})
        if missing:
            raise NasbenchError(f"{self._where} lacks column(s) {', '.join(missing)}")
        self.arch = self._strings(data, "arch")
        self.key = self._strings(data, "key")
        self.sparsity = self._floats(data, "sparsity")
        if not np.all((self.sparsity >= 0.0) & (self.sparsity < 1.0)):
            raise NasbenchError(f"{self._where}: sparsity values must lie in [0, 1)")
        self.test = self._floats(data, info.test, accuracy=True)
        self.extra = {name: self._floats(data, c, accuracy=True) for name, c in info.extra.items()}
        self.params_m = self._floats(data, info.params) if info.params else None
        self._latency = {d: self._floats(data, c) for d, c in sorted(info.latency.items())}
        self._fidelities = {s.fidelity: self._fidelity(data, s) for s in info.fidelities}
        if len(self._fidelities) != len(info.fidelities) or not self._fidelities:
            raise NasbenchError(f"{self._where} must describe each fidelity once, and at least one")
        self.epochs: int | None = None
        """``E`` where the table answers every epoch ``1..E`` from learning curves, else None."""
        curves = self._curve_fidelities(data)
        if curves:
            self.epochs = len(curves) + 1
            self._fidelities = {**curves, **self._fidelities}
        self._by_text: dict[tuple[str, float], int] = {}
        self._by_key: dict[tuple[str, float], int] = {}
        for row, (text, key, s) in enumerate(zip(self.arch, self.key, self.sparsity, strict=True)):
            level = round(float(s), _SPARSITY_DIGITS)
            if (text, level) in self._by_text:
                raise NasbenchError(f"{self._where} repeats architecture {text!r} at sparsity {s}")
            self._by_text[text, level] = row
            self._by_key.setdefault((key, level), row)
        self._sparsities = tuple(sorted({level for _, level in self._by_text}))

    # ---- columns --------------------------------------------------------------------------
    def _column(self, data: pa.Table, name: str) -> pa.ChunkedArray:
        column = data.column(name)
        if column.null_count:
            raise NasbenchError(f"{self._where}: column {name!r} has missing values")
        return column

    def _strings(self, data: pa.Table, name: str) -> tuple[str, ...]:
        column = self._column(data, name)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            raise NasbenchError(f"{self._where}: column {name!r} is {column.type}, not strings")
        values: tuple[str, ...] = tuple(column.to_pylist())
        if not all(values):
            raise NasbenchError(f"{self._where}: column {name!r} has empty strings")
        return values

    def _floats(self, data: pa.Table, name: str, accuracy: bool = False) -> np.ndarray:
        column = self._column(data, name)
        if not (pa.types.is_floating(column.type) or pa.types.is_integer(column.type)):
            raise NasbenchError(f"{self._where}: column {name!r} is {column.type}, not numbers")
        values = column.to_numpy().astype(np.float64)
        _check_fractions(self._where, name, values, accuracy)
        values.flags.writeable = False
        return values

    def _fidelity(self, data: pa.Table, spec: FidelitySpec) -> FidelityValues:
        if not (spec.fidelity > 0 and spec.cost_scale >= 0):
            raise NasbenchError(f"{self._where}: fidelity {spec} needs fidelity > 0, scale >= 0")
        seeds = None
        if spec.val_seeds is not None:
            column = self._column(data, spec.val_seeds)
            if not pa.types.is_list(column.type) and not pa.types.is_large_list(column.type):
                raise NasbenchError(f"{self._where}: column {spec.val_seeds!r} is not lists")
            seeds = tuple(tuple(float(v) for v in row) for row in column.to_pylist())
            if not all(seeds):
                raise NasbenchError(f"{self._where}: column {spec.val_seeds!r} has empty lists")
            flat = np.array([v for row in seeds for v in row])
            _check_fractions(self._where, spec.val_seeds, flat, accuracy=True)
        cost = self._floats(data, spec.cost) * spec.cost_scale
        cost.flags.writeable = False
        return FidelityValues(spec, self._floats(data, spec.val, accuracy=True), cost, seeds)

    def _curve_fidelities(self, data: pa.Table) -> dict[float, FidelityValues]:
        """Epochs ``1..E-1`` answered from the learning curves (module docstring), or nothing
        where the table has no curves of the top fidelity's ``E`` epochs."""
        top = self._fidelities[max(self._fidelities)]
        epochs = top.spec.fidelity
        if CURVE not in data.column_names or epochs != int(epochs) or epochs < 2:
            return {}
        column = self._column(data, CURVE)
        if not (pa.types.is_list(column.type) or pa.types.is_large_list(column.type)):
            raise NasbenchError(f"{self._where}: column {CURVE!r} is {column.type}, not lists")
        rows, n_epochs = column.to_pylist(), int(epochs)
        if not any(rows) or any(len(c) not in (0, n_epochs) for c in rows):
            return {}  # not one value per epoch of the top fidelity: not its learning curves
        mean = np.array([c or [np.nan] * n_epochs for c in rows], dtype=np.float64)
        _check_fractions(self._where, CURVE, mean, accuracy=True)
        seeds = self._seed_curves(data, top, n_epochs)
        raw_cost = self._floats(data, top.spec.cost)
        answers = {}
        for e in range(1, n_epochs):
            spec = FidelitySpec(float(e), CURVE, top.spec.cost, top.spec.cost_scale * e / epochs,
                                RUN_CURVE if seeds is not None else None)  # fmt: skip
            val, cost = mean[:, e - 1].copy(), raw_cost * spec.cost_scale
            val.flags.writeable = cost.flags.writeable = False
            per_seed = None if seeds is None else tuple(tuple(c[e - 1] for c in r) for r in seeds)
            answers[float(e)] = FidelityValues(spec, val, cost, per_seed)
        return answers

    def _seed_curves(
        self, data: pa.Table, top: FidelityValues, epochs: int
    ) -> list[list[list[float]]] | None:
        """Per row, the curves of the runs behind the top fidelity's ``val_seeds`` (those with
        status ``"ok"``, in order; a row without one: NaN curves), or None where the table
        has no per-seed values or its runs do not line up with them."""
        if top.val_seeds is None or not {RUN_CURVE, RUN_STATUS} <= set(data.column_names):
            return None
        nan = [math.nan] * epochs
        seeds = []
        runs_of = data.column(RUN_CURVE).to_pylist()
        status_of = data.column(RUN_STATUS).to_pylist()
        for recorded, runs, status in zip(top.val_seeds, runs_of, status_of, strict=True):
            ok = [
                (c or []) + nan[len(c or []) :]  # a shorter curve: NaN after its end
                for c, s in zip(runs or [], status or [], strict=True)
                if s == RUN_OK
            ]
            if not ok and all(math.isnan(v) for v in recorded):
                ok = [nan] * len(recorded)  # every run failed: as many NaN curves as values
            if len(ok) != len(recorded):
                return None
            seeds.append(ok)
        flat = np.array([v for row in seeds for curve in row for v in curve], dtype=np.float64)
        _check_fractions(self._where, RUN_CURVE, flat, accuracy=True)
        return seeds

    # ---- queries --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.arch)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def fidelities(self) -> tuple[float, ...]:
        """The fidelities the table answers, ascending: those its description records, and
        every epoch ``1..E`` where it records learning curves (module docstring)."""
        return tuple(sorted(self._fidelities))

    @property
    def recorded_fidelities(self) -> tuple[float, ...]:
        """The fidelities its description records (without the epochs of learning curves)."""
        return tuple(sorted(s.fidelity for s in self.info.fidelities))

    def fidelity(self, fidelity: float) -> FidelityValues:
        """The answers at ``fidelity``; raises NasbenchError naming the recorded ones."""
        try:
            return self._fidelities[fidelity]
        except (KeyError, TypeError):
            raise one_of(f"fidelity of {self.name}", fidelity, self.fidelities) from None

    @property
    def sparsities(self) -> tuple[float, ...]:
        """The recorded sparsity levels, ascending."""
        return self._sparsities

    def has_sparsity(self, sparsity: float) -> bool:
        return round(float(sparsity), _SPARSITY_DIGITS) in self._sparsities

    @property
    def devices(self) -> tuple[str, ...]:
        """Devices with a latency column, sorted."""
        return tuple(self._latency)

    def latencies(self, device: str) -> np.ndarray:
        """Latency in ms of every row on ``device``; raises NasbenchError naming the devices."""
        try:
            return self._latency[device]
        except KeyError:
            raise one_of(f"latency device of {self.name}", device, self.devices) from None

    def latency(self, row: int, device: str) -> float:
        """Latency in ms of one row on ``device``."""
        return float(self.latencies(device)[row])

    def index(self, arch_text: str, key: str, sparsity: float) -> int:
        """Row of an architecture at a sparsity level: the row whose ``arch`` is ``arch_text``,
        else the first row with canonical ``key`` (a table may record one member per class).
        Raises NasbenchError when neither is recorded."""
        level = round(float(sparsity), _SPARSITY_DIGITS)
        row = self._by_text.get((arch_text, level))
        if row is None:
            row = self._by_key.get((key, level))
            if row is None:
                raise NasbenchError(
                    f"{self.name}: architecture {arch_text!r} (key {key!r}) is not recorded at "
                    f"sparsity {sparsity}"
                )
        return row


def _check_fractions(where: str, name: str, values: np.ndarray, accuracy: bool) -> None:
    finite = values[~np.isnan(values)]
    if accuracy and finite.size and not (finite.min() >= 0.0 and finite.max() <= 1.0):
        raise NasbenchError(
            f"{where}: accuracy column {name!r} leaves [0, 1] (max {finite.max():g}); "
            "store fractions, not percent"
        )


# ---- files ---------------------------------------------------------------------------------
def shipped_benchmarks() -> list[str]:
    """Names of the tables shipped in ``nasbench/data``."""
    return sorted(p.stem for p in DATA_DIR.glob("*.parquet"))


def resolve(name_or_path: str | PathLike[str]) -> Path:
    """The file of a shipped table name, or the given path (``.parquet`` or containing a
    directory separator); raises NasbenchError for an unknown name or a missing file."""
    text = str(name_or_path)
    is_path = isinstance(name_or_path, PathLike) or text.endswith(".parquet") or "/" in text
    if not is_path:
        path = DATA_DIR / f"{text}.parquet"
        if not path.is_file():
            raise one_of("benchmark", text, shipped_benchmarks())
        return path.resolve()
    path = Path(text).expanduser()
    if not path.is_file():
        raise NasbenchError(f"benchmark file {text!r} does not exist")
    return path.resolve()


def load_benchmark(name_or_path: str | PathLike[str]) -> BenchmarkTable:
    """Load a shipped table by name (``"nb201-cifar10"``) or any table file by path.

    Loaded once per process, path and file version (later calls return the same read-only
    object until the file is replaced). Raises NasbenchError for an unknown name, a missing file,
    or a file that is not a benchmark table.
    """
    path = resolve(name_or_path)
    return _load(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=16)
def _load(path: Path, _version: int) -> BenchmarkTable:
    try:
        data = pq.ParquetFile(path).read()  # pq.read_table also imports pyarrow.dataset
    except (OSError, pa.ArrowException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NasbenchError(f"{path} is not a readable Parquet file ({first})") from None
    meta = data.schema.metadata or {}
    if METADATA_KEY not in meta:
        raise NasbenchError(f"{path} is not a nasbench table (no 'nasbench' schema metadata)")
    try:
        info = BenchmarkInfo.from_json(meta[METADATA_KEY])
    except NasbenchError as exc:
        raise NasbenchError(f"{path}: {exc}") from None
    return BenchmarkTable(data, info, path)


def write_benchmark(
    data: pa.Table,
    info: BenchmarkInfo,
    path: str | PathLike[str],
    metadata: dict[bytes, bytes] | None = None,
) -> None:
    """Check ``data`` against ``info`` as :func:`load_benchmark` would, then write it as zstd
    Parquet with the description (and any other ``metadata``) in its schema metadata. Raises
    NasbenchError when they do not fit together."""
    BenchmarkTable(data, info)
    data = data.replace_schema_metadata({**(metadata or {}), METADATA_KEY: info.to_json().encode()})
    # measured values are nearly all distinct: dictionaries only help the string/int columns
    pq.write_table(
        data,
        path,
        compression="zstd",
        compression_level=19,
        use_dictionary=[f.name for f in data.schema if not pa.types.is_floating(f.type)],
    )
