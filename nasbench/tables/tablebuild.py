"""Building benchmark tables from real training runs (the NAS-Bench-101/201 and -301 idea).

:func:`build_table` trains uniformly sampled architectures of a space with the full-training
evaluator (:mod:`evaluation.train`) at each target sparsity and training seed, and records one
*run* per (architecture, sparsity, seed): the per-epoch validation curve, final validation and
test accuracy, training time, params, nonzero params, MACs, effective MACs and CPU latency.

The output is an ordinary benchmark table (:mod:`nasbench.tables.benchmarks`): one row per
(architecture, sparsity) with the seed-mean answers, ``val_acc_seeds`` for per-seed noise, and the
raw runs in ``run_*`` list columns. The build settings live in the file's schema metadata, so a
later call with a larger ``n``, more seeds or another sparsity level extends the same table.

Resumable and crash safe: every finished run is appended (and fsynced) to ``<out>.journal``
before anything else; the Parquet file is rewritten from all runs every ``flush_every`` runs and
at the end, by writing a temporary file and renaming it over the old one, after which the journal
is emptied. A kill at any moment loses at most the runs in flight, never a recorded one, and a
run recorded in both files counts once. Runs are pure functions of (settings, architecture,
sparsity, seed), so the number of worker processes does not change the table.

>>> import tempfile, pathlib
>>> from nasbench.tables.benchmarks import load_benchmark
>>> spec = TableSpec("chain", {"max_layers": 2}, epochs=1, recipe={"batch_size": 500},
...                  latency_device=None)
>>> with tempfile.TemporaryDirectory() as tmp:
...     out = pathlib.Path(tmp) / "tiny.parquet"
...     done = build_table(spec, out, n=2, sparsities=(0.0, 0.5), seeds=1)
...     table = load_benchmark(out)
>>> done, len(table), table.sparsities, len(table.fidelity(1).val_seeds[0])
(4, 4, (0.0, 0.5), 1)
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from nasbench.core.errors import NasbenchError
from nasbench.core.jsonl import append_lines, read_lines
from nasbench.core.registry import evaluators, spaces
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.types import Architecture, Status
from nasbench.tables.benchmarks import (
    BenchmarkInfo,
    FidelitySpec,
    write_benchmark,
)
from nasbench.training.pruning import Scope
from nasbench.training.trainer import recipe_from
from nasbench.training.workers import worker_init

BUILD_KEY = b"nasbench_build"
RunId = tuple[int, float, int]  # (architecture index, sparsity, seed)

# per-run values, in the order of the run_* list columns
RUN_FIELDS = ("seed", "status", "val_acc", "test_acc", "train_time_s", "sparsity_measured",
              "nonzero_params", "effective_macs", "latency_ms", "job_wall_s", "host")  # fmt: skip


def host() -> str:
    """The building machine, as recorded with each run."""
    import torch

    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
            f"python {platform.python_version()}, torch {torch.__version__}")  # fmt: skip


@dataclass(frozen=True)
class TableSpec:
    """What a table records; fixed for the life of a table file (``n``, seeds and sparsity
    levels may grow). ``latency_device`` is a latency model name (``"cpu"``: measured on the
    building machine, batch 1); ``sample_seed`` picks the architectures."""

    space: str
    space_params: dict[str, Any] = field(default_factory=dict)
    dataset: str = "mnist1d"
    epochs: int = 10
    recipe: dict[str, Any] = field(default_factory=dict)
    latency_device: str | None = "cpu"
    sample_seed: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> TableSpec:
        try:
            return cls(**json.loads(text))
        except (TypeError, ValueError) as exc:
            raise NasbenchError(f"table build settings are malformed ({exc})") from None

    def create_space(self) -> SearchSpace:
        space: SearchSpace = spaces.create(self.space, **self.space_params)
        return space


def sample_architectures(space: SearchSpace, n: int, sample_seed: int) -> list[Architecture]:
    """The first ``n`` distinct (by canonical key) uniform samples of the stream
    ``role_rng(sample_seed, "table-archs", space.name)``; a prefix of the list for a larger
    ``n``, so tables grow without changing their first architectures."""
    size = space.cardinality()
    if size is not None and n > size:
        raise NasbenchError(f"space {space.name!r} has {size} architectures, fewer than n={n}")
    rng = role_rng(sample_seed, "table-archs", space.name)
    archs: list[Architecture] = []
    keys: set[str] = set()
    while len(archs) < n:
        arch = space.sample(rng)
        if arch.key not in keys:
            keys.add(arch.key)
            archs.append(arch)
    return archs


def sparsity_level(sparsity: float) -> float:
    """A sparsity as a table level: rounded to 6 decimals, so 0.8 and 0.8000000001 are one."""
    return round(float(sparsity), 6)


# ---- one training run (in a worker process) ------------------------------------------------
@lru_cache(maxsize=8)
def _evaluator(spec_json: str, sparsity: float) -> Any:
    spec = TableSpec.from_json(spec_json)
    return evaluators.create(
        "train", space=spec.create_space(), dataset=spec.dataset, epochs=spec.epochs,
        sparsity=sparsity, latency_device=spec.latency_device, recipe=spec.recipe,
    )  # fmt: skip


def train_run(spec_json: str, index: int, arch_text: str, sparsity: float, seed: int) -> dict:
    """Train one architecture at one sparsity with one seed; the run as a dict (JSON-able).

    Draws from ``role_rng(seed, "table-run", arch_text, sparsity)`` only, so a run does not
    depend on which process runs it or what ran before. A diverged training is a run with
    status ``failed`` and NaN accuracies."""
    start, cpu_start = time.perf_counter(), time.process_time()
    ev = _evaluator(spec_json, sparsity)
    arch = ev.space.parse(arch_text)
    rng = role_rng(seed, "table-run", arch_text, f"{sparsity:.6f}")
    m = ev.evaluate(arch, float(ev.epochs), rng)
    return {
        "index": index, "arch": arch.text, "key": arch.key, "sparsity": sparsity,
        "seed": seed, "status": str(m.status), "val_acc": m.val_acc, "test_acc": m.test_acc,
        "train_time_s": m.cost_s, "sparsity_measured": m.sparsity, "params": m.params,
        "nonzero_params": m.nonzero_params, "macs": m.macs, "effective_macs": m.effective_macs,
        "latency_ms": m.latency_ms, "curve": [float(v) for v in m.curve],
        "job_wall_s": time.perf_counter() - start, "host": host(),
        "job_cpu_s": time.process_time() - cpu_start,
    }  # fmt: skip


def _run_id(run: dict) -> RunId:
    return int(run["index"]), sparsity_level(run["sparsity"]), int(run["seed"])


# ---- reading what is recorded --------------------------------------------------------------
def journal_path(out: Path) -> Path:
    """Where a build appends its finished runs before they are folded into ``out``."""
    return out.with_name(out.name + ".journal")


def read_runs(out: Path) -> tuple[TableSpec | None, dict[RunId, dict]]:
    """The build settings and every recorded run of a table file and its journal. A
    half-written last journal line (a kill during the write) is ignored."""
    spec: TableSpec | None = None
    runs: dict[RunId, dict] = {}
    if out.exists():
        try:
            data = pq.ParquetFile(out).read()
        except (OSError, pa.ArrowException) as exc:
            raise NasbenchError(f"{out} is not a readable Parquet file ({exc})") from None
        meta = data.schema.metadata or {}
        if BUILD_KEY not in meta:
            raise NasbenchError(f"{out} was not written by nasbench build-table; not extending it")
        spec = TableSpec.from_json(meta[BUILD_KEY])
        missing = [c for c in BUILD_COLUMNS if c not in data.column_names]
        if missing:
            raise NasbenchError(f"{out} lacks the build-table column(s) {', '.join(missing)}")
        try:
            for row in data.to_pylist():
                for run in _unpack(row):
                    runs.setdefault(_run_id(run), run)
        except (TypeError, ValueError) as exc:  # ragged or mistyped run lists
            raise NasbenchError(f"{out} holds malformed runs ({exc})") from None
    journal = journal_path(out)
    for entry in read_lines(journal):
        if "build" in entry:  # the header of a journal
            header = TableSpec.from_json(json.dumps(entry["build"]))
            if spec is not None and header != spec:
                raise NasbenchError(f"{journal} belongs to a build with other settings")
            spec = header
        else:
            runs.setdefault(_run_id(entry), entry)
    return spec, runs


_SHARED = ("index", "arch", "key", "sparsity", "params", "macs")
BUILD_COLUMNS = (*_SHARED, *(f"run_{name}" for name in RUN_FIELDS), "run_curve")
"""The columns :func:`read_runs` needs in a table it extends."""


OPTIONAL_FIELDS = ("job_cpu_s",)
"""Per-run values that tables built before they were recorded lack (null there)."""


def _unpack(row: dict) -> list[dict]:
    shared = {k: row[k] for k in _SHARED}
    names = [*RUN_FIELDS, *(f for f in OPTIONAL_FIELDS if f"run_{f}" in row)]
    columns = [row[f"run_{name}"] for name in names]
    runs = [
        {**shared, **dict(zip(names, values, strict=True)), "curve": curve}
        for *values, curve in zip(*columns, row["run_curve"], strict=True)
    ]
    for run in runs:  # a run recorded without an optional value reads back as it was recorded
        for name in OPTIONAL_FIELDS:
            if run.get(name, 0) is None:
                del run[name]
    return runs


# ---- writing the table ---------------------------------------------------------------------
def _mean(values: Iterable[float]) -> float:
    ok = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(ok)) if ok else math.nan


def _rows(runs: Iterable[dict]) -> list[dict]:
    groups: dict[tuple[int, float], list[dict]] = {}
    for run in runs:
        groups.setdefault((int(run["index"]), sparsity_level(run["sparsity"])), []).append(run)
    rows = []
    for (index, level), group in sorted(groups.items()):
        group.sort(key=lambda r: r["seed"])
        ok = [r for r in group if r["status"] == str(Status.OK)]
        first = group[0]
        curves = [r["curve"] for r in ok]
        mean_curve = (
            np.mean(curves, axis=0).tolist() if ok and len({len(c) for c in curves}) == 1 else []
        )
        rows.append({
            "arch": first["arch"], "key": first["key"], "sparsity": level, "index": index,
            "val_acc": _mean(r["val_acc"] for r in ok),
            "val_acc_seeds": [r["val_acc"] for r in ok] or [math.nan],
            "test_acc": _mean(r["test_acc"] for r in ok),
            "train_time_s": _mean(r["train_time_s"] for r in group),
            "sparsity_measured": _mean(r["sparsity_measured"] for r in ok),
            "params": int(first["params"]), "params_m": first["params"] / 1e6,
            "macs": int(first["macs"]),
            "nonzero_params": _mean(r["nonzero_params"] for r in ok),
            "effective_macs": _mean(r["effective_macs"] for r in ok),
            "latency_ms": float(np.nanmedian([r["latency_ms"] for r in group]))
            if any(math.isfinite(r["latency_ms"]) for r in group) else math.nan,
            "curve": mean_curve, "failed_runs": len(group) - len(ok),
            **{f"run_{name}": [r[name] for r in group] for name in RUN_FIELDS},
            **{f"run_{name}": [r.get(name) for r in group] for name in OPTIONAL_FIELDS},
            "run_curve": [r["curve"] for r in group],
        })  # fmt: skip
    return rows


def table_info(spec: TableSpec, name: str) -> BenchmarkInfo:
    """The benchmark description of a built table."""
    fidelity = FidelitySpec(float(spec.epochs), "val_acc", "train_time_s", 1.0, "val_acc_seeds")
    provenance = (
        f"nasbench build-table: {spec.space} {json.dumps(spec.space_params)} on {spec.dataset}, "
        f"{spec.epochs} epochs, recipe {json.dumps(spec.recipe)}, uniform samples of seed "
        f"{spec.sample_seed}; see the datasheet {name}.md"
    )
    return BenchmarkInfo(
        name=name, space=spec.space, dataset=spec.dataset, fidelities=(fidelity,),
        test="test_acc", provenance=provenance, space_params=spec.space_params,
        latency={spec.latency_device: "latency_ms"} if spec.latency_device else {},
        params="params_m",
    )  # fmt: skip


def write_table(out: Path, spec: TableSpec, runs: dict[RunId, dict]) -> None:
    """Rewrite ``out`` from all runs (atomically: temporary file, then rename), then empty
    the journal."""
    data = pa.Table.from_pylist(_rows(runs.values()))
    tmp = out.with_name(out.name + ".tmp")
    write_benchmark(data, table_info(spec, out.stem), tmp, {BUILD_KEY: spec.to_json().encode()})
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, out)
    journal_path(out).write_text("")


def _append(journal: Path, run: dict, spec: TableSpec) -> None:
    """Append one run to the journal (fsynced); a new journal starts with the build settings."""
    new = not journal.exists() or journal.stat().st_size == 0
    append_lines(journal, [{"build": asdict(spec)}, run] if new else [run])


# ---- the builder ---------------------------------------------------------------------------
def planned_runs(archs: list[Architecture], sparsities: Iterable[float], seeds: int) -> list[tuple]:
    """(index, arch text, sparsity, seed) in build order: architecture by architecture, so
    the table is useful at any point of a long build."""
    levels = sorted({sparsity_level(s) for s in sparsities})
    return [(i, a.text, s, k) for i, a in enumerate(archs) for s in levels for k in range(seeds)]


def build_table(
    spec: TableSpec,
    out: str | os.PathLike[str],
    n: int,
    sparsities: Iterable[float],
    seeds: int = 1,
    workers: int = 1,
    flush_every: int = 20,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Train every missing run of (the first ``n`` sampled architectures) x ``sparsities`` x
    seeds ``0 .. seeds-1`` into the table ``out``; return the number of runs in the table.

    Refuses (NasbenchError) a file built with other settings, sparsities outside [0, 1),
    ``n < 1``, ``seeds < 1`` or ``workers < 1``; checks the space, dataset and recipe before
    training anything.
    """
    out = Path(out)
    levels = [float(s) for s in sparsities]
    if not levels or any(not 0.0 <= s < 1.0 for s in levels):
        raise NasbenchError(f"sparsity levels must lie in [0, 1), got {levels}")
    for what, value in (("--n", n), ("--seeds", seeds), ("--workers", workers)):
        if value < 1:
            raise NasbenchError(f"{what} must be >= 1, got {value}")
    recorded, runs = read_runs(out)
    if recorded is not None and recorded != spec:
        raise NasbenchError(
            f"{out} was built with other settings ({recorded.to_json()}); "
            "give the same space, parameters, dataset, epochs and recipe, or another --out"
        )
    if journal_path(out).exists():  # fold what a killed build left (a torn last line included)
        if runs:
            write_table(out, spec, runs)
        else:
            journal_path(out).unlink()
    _evaluator(spec.to_json(), 0.0)  # bad space / dataset / recipe / device: fail before work
    archs = sample_architectures(spec.create_space(), n, spec.sample_seed)
    todo = [job for job in planned_runs(archs, levels, seeds)
            if (job[0], sparsity_level(job[2]), job[3]) not in runs]  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    journal, total, fresh = journal_path(out), len(runs) + len(todo), 0

    def record(run: dict) -> None:
        nonlocal fresh
        _append(journal, run, spec)
        runs[_run_id(run)] = run
        fresh += 1
        if fresh % flush_every == 0:
            write_table(out, spec, runs)
        if progress:
            progress(len(runs), total)

    text = spec.to_json()
    if workers == 1:
        for job in todo:
            record(train_run(text, *job))
    else:
        ctx = get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=worker_init) as pool:
            for future in as_completed([pool.submit(train_run, text, *job) for job in todo]):
                record(future.result())
    if runs and (fresh or not out.exists()):
        write_table(out, spec, runs)
    return len(runs)


def rebuild_commands(spec: TableSpec, out: Path, rows: list[dict]) -> list[str]:
    """``nasbench build-table`` commands that build a table with these rows: one per seed
    count, covering the architectures that have that many seeds (most seeds first)."""
    import shlex

    def toml(value: Any) -> str:
        return json.dumps(value) if not isinstance(value, str) else value

    base = ["nasbench", "build-table", spec.space]
    base += [f"--param={k}={toml(v)}" for k, v in spec.space_params.items()]
    base += ["--dataset", spec.dataset, "--epochs", str(spec.epochs)]
    base += [f"--recipe={k}={toml(v)}" for k, v in spec.recipe.items()]
    base += ["--latency-device", spec.latency_device or "none"]
    base += ["--sample-seed", str(spec.sample_seed)]
    levels = ",".join(f"{s:g}" for s in sorted({r["sparsity"] for r in rows}))
    reach: dict[int, int] = {}
    for r in rows:
        k = len(r["run_seed"])
        reach[k] = max(reach.get(k, 0), r["index"] + 1)
    commands, covered = [], 0
    for k, n in sorted(reach.items(), reverse=True):
        if n > covered:  # fewer seeds for further architectures
            args = ["--n", str(n), "--sparsity", levels, "--seeds", str(k), "--out", str(out)]
            commands.append(shlex.join([*base, *args]))
            covered = n
    return commands


def _noise_line(sds: list[float]) -> str:
    """The datasheet's seed-noise line: the per-row between-seed sds of validation accuracy."""
    if not sds:
        return "- Seed noise: no row has two seeds."
    return (
        f"- Seed noise: between-seed sd of validation accuracy per row, mean "
        f"{100 * np.mean(sds):.2f} points, median {100 * np.median(sds):.2f}, largest "
        f"{100 * np.max(sds):.2f}, over {len(sds)} rows (the label-quality line's seed sd is "
        "their root mean square, the scale of the noise a label carries)."
    )


def _cost_line(runs: Iterable[dict]) -> str:
    """The datasheet's cost line: CPU time first (what a rebuild costs), then wall clock."""
    from nasbench.tables.table_quality import run_cpu_s

    runs = list(runs)
    cpu = sum(run_cpu_s(r) for r in runs) / 3600
    train = sum(r["train_time_s"] for r in runs) / 3600
    wall = sum(r["job_wall_s"] for r in runs) / 3600
    return (
        f"- Cost: {cpu:.2f} CPU-hours (the runs' process CPU time, one thread each, or their "
        f"worker's wall time where not recorded); wall clock {train:.2f} h in the training loops "
        f"and {wall:.2f} h of worker time (above the CPU time where runs shared the cores)."
    )


def _quality_lines(runs: Iterable[dict]) -> list[str]:
    """The datasheet's label-quality line (:mod:`nasbench.tables.table_quality`), in points."""
    from nasbench.tables.table_quality import label_quality

    q = label_quality(runs)
    if q.rows == 0:
        return ["- Label quality: no row has two successful seeds, so the seed noise is unknown."]
    return [
        f"- Label quality over the {q.rows} rows with {q.seeds}+ seeds: seed sd "
        f"{100 * q.seed_sd:.2f} points (best quartile {100 * q.seed_sd_top:.2f}), spread between "
        f"architectures {100 * q.spread_sd:.2f}; split-half Kendall tau (seeds 0, 2, ... against "
        f"1, 3, ...) {q.split_half:.3f}, within the best fifth {q.split_half_top:.3f}."
    ]


RECIPE_CHOICES = Path(__file__).parents[1] / "data" / "recipe_choices.json"
"""Why a table was trained with its recipe, per table name (written by the label pilot,
``python -m experiments.label_pilot --write``, from its measurements); read as plain JSON."""

_SCOPE_TEXT = {
    Scope.LAYER: "every layer pruned to the target",
    Scope.GLOBAL: "magnitudes ranked over all prunable weights at once",
}


def recipe_choice(table: str) -> str | None:
    """The recorded reason for ``table``'s recipe in :data:`RECIPE_CHOICES`, or None (no file,
    no entry, unreadable)."""
    try:
        choices = json.loads(RECIPE_CHOICES.read_text())
    except (OSError, ValueError):
        return None
    choice = choices.get(table) if isinstance(choices, dict) else None
    return choice if isinstance(choice, str) else None


def datasheet_path(out: str | os.PathLike[str]) -> Path:
    """Where ``nasbench build-table --out out`` writes the table's datasheet: ``out`` as ``.md``."""
    return Path(out).with_suffix(".md")


def _title(out: Path, spec: TableSpec) -> str:
    """The first line of :func:`datasheet`: what marks a Markdown file as the table's own."""
    return f"# {out.stem}: nasbench's own benchmark table of `{spec.space}` on {spec.dataset}"


def _built_spec(out: Path) -> TableSpec | None:
    """The build settings in ``out``'s schema metadata (footer only), or None: no such file, not
    a Parquet file, or not written by build-table."""
    if not out.is_file():
        return None
    try:
        meta = pq.read_schema(out).metadata or {}
        return TableSpec.from_json(meta[BUILD_KEY]) if BUILD_KEY in meta else None
    except Exception:  # unreadable or malformed: not a table build-table wrote
        return None


def check_datasheet(out: str | os.PathLike[str], overwrite: bool = False) -> bool:
    """Whether ``nasbench build-table --out out`` may replace an existing datasheet
    (:func:`datasheet_path`); checked before anything is built or written.

    The rule: no file there, False (the datasheet is written new, in exclusive-create mode). A
    file there is replaced (True) only when it is this table's own datasheet: ``out`` exists and
    build-table wrote it (build settings in its metadata), and the file's first line is the
    title :func:`datasheet` gives that table. Anything else there (notes, another table's sheet, a
    sheet beside a table that does not exist yet or that build-table did not write) is refused
    with NasbenchError, unless ``overwrite`` (True). A folder there is refused either way."""
    out = Path(out)
    sheet = datasheet_path(out)
    if sheet.is_dir():
        raise NasbenchError(f"cannot write the datasheet {sheet}: it is a folder")
    if not (sheet.exists() or sheet.is_symlink()):
        return False
    if overwrite:
        return True
    spec = _built_spec(out)
    if spec is not None:
        try:
            with open(sheet, encoding="utf-8", errors="replace") as f:
                first = f.readline().rstrip("\n")
        except OSError:
            first = ""
        if first == _title(out, spec):
            return True
    raise NasbenchError(
        f"refusing to overwrite {sheet}: it is not the datasheet of a table build-table wrote at "
        f"{out} (pass --overwrite to replace it)"
    )


def datasheet(out: str | os.PathLike[str]) -> str:
    """A Markdown datasheet of a built table: settings, sizes, noise, cost, hardware and the
    commands that build (and extend) it."""
    out = Path(out)
    spec, runs = read_runs(out)
    if spec is None:
        raise NasbenchError(f"{out} is not a table written by nasbench build-table")
    rows = _rows(runs.values())
    archs = {r["index"] for r in rows}
    levels = sorted({r["sparsity"] for r in rows})
    seeds_per_row = [len(r["run_seed"]) for r in rows]
    multi = [r for r in rows if len(r["val_acc_seeds"]) > 1]
    noise = [float(np.std(r["val_acc_seeds"], ddof=1)) for r in multi]
    lines = [
        _title(out, spec),
        "",
        f"- Space: `{spec.space}` with parameters `{json.dumps(spec.space_params)}`; "
        f"architectures are the first distinct uniform samples of seed {spec.sample_seed}.",
        f"- Training: the `train` evaluator, {spec.epochs} epochs, recipe "
        f"`{json.dumps(asdict(replace(recipe_from(spec.recipe), epochs=spec.epochs)))}`; "
        "gradual magnitude pruning (Zhu & Gupta "
        f"2017) to each target sparsity, {_SCOPE_TEXT[recipe_from(spec.recipe).prune_scope]}; "
        "training seeds 0, 1, ...",
        *([f"- Recipe choice: {choice}"] if (choice := recipe_choice(out.stem)) else []),
        f"- Contents: {len(archs)} architectures, sparsity levels {levels}, {len(runs)} runs "
        f"({sum(1 for r in runs.values() if r['status'] != str(Status.OK))} failed); "
        f"{sum(1 for k in seeds_per_row if k > 1)} (architecture, sparsity) rows have more than "
        "one seed.",
        _noise_line(noise),
        *_quality_lines(runs.values()),
        _cost_line(runs.values()),
        f"- Hardware: {'; '.join(sorted({r['host'] for r in runs.values()}))}. Latency: "
        f"`{spec.latency_device}` (median of the runs' batch-1 measurements).",
        "",
        "| sparsity | rows | val acc mean | val acc max | test acc mean | nonzero params (mean) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for level in levels:
        at = [r for r in rows if r["sparsity"] == level]
        val = [r["val_acc"] for r in at if math.isfinite(r["val_acc"])]
        lines.append(
            f"| {level} | {len(at)} | {np.mean(val):.4f} | {np.max(val):.4f} | "
            f"{_mean(r['test_acc'] for r in at):.4f} | "
            f"{_mean(r['nonzero_params'] for r in at):.0f} |"
        )
    lines += ["", "Build or extend it (resumable; runs already recorded are skipped), with "
              "`--workers N` for parallel processes:", ""]  # fmt: skip
    lines += [f"    {command}" for command in rebuild_commands(spec, out, rows)] + [""]
    return "\n".join(lines)
