"""The bad-input corpus: malformed input through the real CLI entry point, one case each.

Every case must exit with code 2, print exactly one line on stderr (``nasbench: error: ...``)
naming the offending thing, print nothing on stdout, and leave every file it could reach
byte-identical: each case runs beside a copy of a finished results folder (a tiny random-search
suite on the shipped NAS-Bench-201 table) and the whole case folder is hashed before and after.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nasbench.cli.main import main
from nasbench.engine.records import META_KEY, records_table
from nasbench.tables.benchmarks import DATA_DIR
from nasbench.tables.tablebuild import BUILD_COLUMNS, BUILD_KEY, TableSpec
from tests.helpers import BEST, both, snapshot, write_suite

SEEDED_RUN = "nb201-tabular-nb201-cifar10-f12__random__seed0.parquet"


@dataclass(frozen=True)
class Ctx:
    """What a case may prepare: its folder, the copied results folder and the environment."""

    tmp: Path
    res: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def record(self) -> Path:
        return self.res / "runs" / SEEDED_RUN

    def fill(self, text: str) -> str:
        """``{tmp}``, ``{res}`` and ``{record}`` replaced by this case's paths."""
        for name in ("tmp", "res", "record"):
            text = text.replace("{" + name + "}", str(getattr(self, name)))
        return text


Setup = Callable[[Ctx], None]


class Case(NamedTuple):
    id: str
    argv: list[str]  # {tmp}, {res}, {record} filled in per case
    message: str  # a substring of the one stderr line naming the bad input (also filled in)
    setup: Setup | None = None


# ---- helpers that prepare inputs -----------------------------------------------------------
def _suite_file(*edits: tuple[str, str], extra: str = "", strategy: str = "random") -> Setup:
    """Write ``{tmp}/suite.toml``: test_cli's small suite with each (old, new) edit applied."""

    def setup(ctx: Ctx) -> None:
        path = write_suite(ctx.tmp, strategy=strategy, extra=extra)
        text = path.read_text()
        for old, new in edits:
            assert old in text, old
            text = text.replace(old, ctx.fill(new))
        path.write_text(text)

    return setup


def suite(id: str, message: str, *edits: tuple[str, str], extra: str = "",
          strategy: str = "random", before: Setup | None = None) -> Case:  # fmt: skip
    """A suite config case: ``run`` it into a fresh folder (which must not appear)."""
    argv = ["run", "{tmp}/suite.toml", "--out", "{tmp}/new", "--workers", "1"]
    setup = _suite_file(*edits, extra=extra, strategy=strategy)
    return Case(f"suite-{id}", argv, message, setup if before is None else both(before, setup))


def strategy_path(id: str, name: str, message: str) -> Case:
    """A suite whose strategy is named by a plugin path."""
    return suite(f"plugin-{id}", message, strategy=name)


def write_bytes(relative: str, data: bytes) -> Setup:
    def setup(ctx: Ctx) -> None:
        path = ctx.tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return setup


def write_parquet(relative: str, metadata: dict[bytes, bytes] | None = None) -> Setup:
    """A valid Parquet file with one column and the given schema metadata."""

    def setup(ctx: Ctx) -> None:
        table = pa.table({"x": [1.0, 2.0]}).replace_schema_metadata(metadata)
        path = ctx.tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)

    return setup


BUILD_META = {BUILD_KEY: TableSpec("chain", {"max_layers": 2}, epochs=1).to_json().encode()}
OTHER_BUILD = json.dumps({"build": {"space": "cell"}}).encode() + b"\n"


def empty_build_table(ctx: Ctx) -> None:
    """``{tmp}/table.parquet``: no runs yet, the settings of :func:`build`'s command line."""
    columns = {name: pa.array([], pa.null()) for name in BUILD_COLUMNS}
    pq.write_table(pa.table(columns).replace_schema_metadata(BUILD_META), ctx.tmp / "table.parquet")


def empty_record(meta: bytes) -> Setup:
    """``{res}/runs/zz.parquet``: a run record without trials whose metadata is ``meta``."""

    def setup(ctx: Ctx) -> None:
        table = records_table([]).replace_schema_metadata({META_KEY: meta})
        pq.write_table(table, ctx.res / "runs" / "zz.parquet")

    return setup


def table_among_records(ctx: Ctx) -> None:
    """``{tmp}/other/runs`` holding the shipped NAS-Bench-201 table instead of run records."""
    (ctx.tmp / "other" / "runs").mkdir(parents=True)
    shutil.copy(DATA_DIR / "nb201-cifar10.parquet", ctx.tmp / "other" / "runs")


def truncate_record(ctx: Ctx) -> None:
    data = ctx.record.read_bytes()
    ctx.record.write_bytes(data[: len(data) // 2])


def cifar_folder(short: str | None = None, skip: str | None = None, label: int = 0) -> Setup:
    """``{tmp}/cifar10``: the six binary files of one record each, one short or left out."""

    def setup(ctx: Ctx) -> None:
        folder = ctx.tmp / "cifar10"
        folder.mkdir()
        for name in [*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin"]:
            if name != skip:
                record = bytes([label]) + bytes(3072)
                folder.joinpath(name).write_bytes(record[:100] if name == short else record)

    return setup


def idx_file(ndim: int, dims: tuple[int, ...], payload: int) -> bytes:
    header = bytes((0, 0, 8, ndim)) + b"".join(d.to_bytes(4, "big") for d in dims)
    return header + bytes(payload)


def mnist_folder(replace: dict[str, bytes] | None = None, drop: str = "") -> Setup:
    """``{tmp}/mnist``: the four idx files of two training and one test image, with ``replace``'s
    bytes for the files it names and without ``drop``."""

    def setup(ctx: Ctx) -> None:
        folder = ctx.tmp / "mnist"
        folder.mkdir()
        good = {
            "train-images-idx3-ubyte": idx_file(3, (2, 28, 28), 2 * 784),
            "train-labels-idx1-ubyte": idx_file(1, (2,), 2),
            "t10k-images-idx3-ubyte": idx_file(3, (1, 28, 28), 784),
            "t10k-labels-idx1-ubyte": idx_file(1, (1,), 1),
        }
        good.update(replace or {})
        for name, data in good.items():
            if name != drop:
                folder.joinpath(name).write_bytes(data)

    return setup


def env(value: str | None) -> Setup:
    def setup(ctx: Ctx) -> None:
        if value is None:
            ctx.monkeypatch.delenv("NASBENCH_DATA", raising=False)
        else:
            ctx.monkeypatch.setenv("NASBENCH_DATA", ctx.fill(value))

    return setup


def describe(space: str, id: str, arch: str, message: str) -> Case:
    return Case(f"arch-{space}-{id}", ["describe", space, arch], message)


def evaluate(id: str, message: str, *options: str, setup: Setup | None = None) -> Case:
    argv = ["evaluate", "nb201", BEST, "--epochs", "1", *options]
    return Case(f"evaluate-{id}", argv, message, setup)


def data(dataset: str, id: str, message: str, setup: Setup | None = None,
         root: str | None = "{tmp}/<dataset>") -> Case:  # fmt: skip
    """``evaluate`` on a file-based dataset read from ``root`` (None: no --data-root)."""
    options = ["--dataset", dataset]
    if root is not None:
        options += ["--data-root", root.replace("<dataset>", dataset)]
    return evaluate(f"{dataset}-{id}", message, *options, setup=setup)


def build(id: str, message: str, *options: str, setup: Setup | None = None) -> Case:
    argv = ["build-table", "chain", "--param", "max_layers=2", "--epochs", "1", *options]
    if "--n" not in options:
        argv += ["--n", "2"]
    if "--out" not in options:
        argv += ["--out", "{tmp}/table.parquet"]
    return Case(f"build-table-{id}", argv, message, setup)


def surrogate_eval(id: str, benchmark: str, message: str, setup: Setup | None = None,
                   surrogate: str = "random_forest", argv: Sequence[str] = ("--max-test", "10"),
                   ) -> Case:  # fmt: skip
    head = ["surrogate-eval", "--benchmark", benchmark, "--surrogate", surrogate]
    return Case(f"surrogate-eval-{id}", [*head, "--train-sizes", "10", *argv], message, setup)


# ---- architecture strings: a good one per space, then damaged copies ------------------------
CHAIN = (
    "sep5-16-s1|sep3-16-s2|sep1-32-s2|conv3-128-s1|conv5-16-s1|conv1-32-s1|conv1-32-s2|conv1-16-s1"
)
CELL = (
    "normal=max_pool_3x3~1,dil_conv_5x5~0|dil_conv_3x3~0,sep_conv_3x3~1|sep_conv_5x5~0,"
    "max_pool_3x3~3|dil_conv_5x5~4,skip_connect~2;reduce=max_pool_3x3~1,dil_conv_5x5~0|"
    "skip_connect~1,avg_pool_3x3~0|sep_conv_3x3~2,skip_connect~1|sep_conv_3x3~2,avg_pool_3x3~4"
)
MULTIBRANCH = "avg_pool3x3|sep_conv5x5|sep_conv5x5|conv5x5|conv3x3+1,2|avg_pool3x3+0,1,2,3"
HIERARCHICAL = (
    "dconv-k5-se0.0-id-f1.0-l+1|mbconv6-k3-se0.25-pool-f0.75-l+0|dconv-k5-se0.25-none-f0.75-l-1|"
    "conv-k3-se0.25-id-f1.25-l-1|conv-k5-se0.0-pool-f1.25-l-1|mbconv6-k3-se0.25-none-f1.0-l+1|"
    "mbconv3-k3-se0.0-none-f0.75-l+0"
)
NB201_TWO_NODES = BEST[: BEST.rindex("+")]

# fmt: off
ARCH_CASES = [
    describe("nb201", "wrong-op", BEST.replace("nor_conv_3x3~0", "nor_conv_9x9~0", 1),
             "unknown operation 'nor_conv_9x9'"),
    describe("nb201", "two-nodes", NB201_TWO_NODES, "expected 3 '+'-separated nodes"),
    describe("nb201", "truncated", BEST[:-20], "node 3 '|skip_connect~0|nor_conv_3' must look"),
    describe("nb201", "extra-separator", BEST.replace("|+|", "||+|", 1), "node 1 needs 1 inputs"),
    describe("nb201", "bad-input-node", BEST.replace("~2|", "~7|"), "'nor_conv_3x3~7'"),
    describe("nb201", "non-ascii", BEST.replace("nor_", "nör_", 1), "'nör_conv_3x3~0'"),
    describe("chain", "wrong-op", CHAIN.replace("conv1-16-s1", "conv9-16-s1"), "'conv9-16-s1'"),
    describe("chain", "nine-layers", CHAIN + "|conv1-16-s1", "but 9 values were given"),
    describe("chain", "truncated", CHAIN[:30], "unknown layer 'sep1-32-' at position 2"),
    describe("chain", "extra-separator", CHAIN.replace("|", "||", 1), "empty layer at position 1"),
    describe("chain", "trailing-separator", CHAIN[:22], "empty layer at position 2"),
    describe("chain", "non-ascii", CHAIN.replace("sep3", "sép3"), "'sép3-16-s2'"),
    describe("cell", "wrong-op", CELL.replace("max_pool_3x3~1", "max_pool_9x9~1", 1),
             "got 'max_pool_9x9'"),
    describe("cell", "three-nodes", CELL.replace("|dil_conv_5x5~4,skip_connect~2", ""),
             "4 nodes split by '|'"),
    describe("cell", "truncated", CELL[:-1], "'reduce.node3.in1' got ''"),
    describe("cell", "extra-separator", CELL + ";", "expected 'normal=...;reduce=...'"),
    describe("cell", "bad-input-node", CELL[:-1] + "9", "'reduce.node3.in1' got '9'"),
    describe("cell", "non-ascii", CELL.replace("dil_conv_5x5~0", "dil_cönv_5x5~0", 1),
             "'dil_cönv_5x5'"),
    describe("multibranch", "wrong-op", MULTIBRANCH.replace("avg_pool3x3+", "conv9x9+"),
             "got 'conv9x9'"),
    describe("multibranch", "five-layers", MULTIBRANCH[: MULTIBRANCH.rindex("|")],
             "has 5 layers"),
    describe("multibranch", "extra-separator", MULTIBRANCH.replace("+1,2", "+1,,2"),
             "skip list '1,,2'"),
    describe("multibranch", "truncated", MULTIBRANCH[:-7], "skip list ''"),
    describe("multibranch", "non-ascii", MULTIBRANCH.replace("conv5x5|", "cönv5x5|", 1),
             "got 'sep_cönv5x5'"),
    describe("hierarchical", "wrong-kernel", HIERARCHICAL.replace("mbconv3-k3", "mbconv3-k9"),
             "block6.kernel is '9'"),
    describe("hierarchical", "six-blocks", HIERARCHICAL[: HIERARCHICAL.rindex("|")],
             "got 6 in"),
    describe("hierarchical", "truncated", HIERARCHICAL[:-4],
             "block 6 token 'mbconv3-k3-se0.0-none-f0.75'"),
    describe("hierarchical", "extra-separator", HIERARCHICAL + "|", "got 8 in"),
    describe("hierarchical", "non-ascii", HIERARCHICAL.replace("dconv", "dçonv", 1),
             "block 0 token 'dçonv-k5"),
    *(describe(space, "empty", "", f"{space}: empty architecture string")
      for space in ("nb201", "chain", "cell", "multibranch", "hierarchical")),
    describe("nosuchspace", "unknown-space", BEST, "unknown space 'nosuchspace'"),
    Case("evaluate-bad-arch", ["evaluate", "chain", CHAIN.replace("sep3", "sep4")],
         "unknown layer 'sep4-16-s2'"),
]

# ---- suite configs ------------------------------------------------------------------------
TASK = 'space = "nb201"\nevaluator = "tabular"\nbenchmark = "nb201-cifar10"\nfidelity = 12\n'

SUITE_CASES = [
    suite("toml-syntax", "not valid TOML", ("[budget]", "[budget")),
    suite("unknown-top-level-key", "unknown key 'colour' in the suite config",
          ("[suite]", 'colour = "red"\n[suite]')),
    suite("unknown-budget-key", "unknown key 'walltime_s' in [budget]", extra="walltime_s = 5"),
    suite("unknown-suite-key", "unknown key 'repeats' in [suite]", ("seeds = 2", "repeats = 2")),
    suite("unknown-strategy", "unknown strategy 'simulated_annealing'",
          strategy="simulated_annealing"),
    suite("unknown-space", "unknown space 'nb301'", ('space = "nb201"', 'space = "nb301"')),
    suite("unknown-evaluator", "unknown evaluator 'oracle'",
          ('evaluator = "tabular"', 'evaluator = "oracle"')),
    suite("unknown-benchmark", "unknown benchmark 'nb201-cifar11'",
          ('"nb201-cifar10"', '"nb201-cifar11"')),
    suite("unknown-dataset", "unknown dataset 'svhn'",
          ('evaluator = "tabular"\nbenchmark = "nb201-cifar10"\nfidelity = 12',
           'evaluator = "train"\ndataset = "svhn"')),
    suite("unknown-evaluator-key", "unknown key 'benchmarks'; did you mean 'benchmark'?",
          ("benchmark =", "benchmarks =")),
    suite("misspelt-task-key", "unknown key 'fidelty'; did you mean 'fidelity'? (its keys: space,",
          ("fidelity = 12", "fidelty = 12")),
    suite("budget-key-in-task", "'sparsity' is not a task key: the evaluator gets it from",
          ("fidelity = 12", "fidelity = 12\nsparsity = 0.5")),
    suite("seeds-string", "seeds must be a count >= 1 or a list of distinct seeds >= 0, got 'two'",
          ("seeds = 2", 'seeds = "two"')),
    suite("seeds-negative", "got [-1, 2]", ("seeds = 2", "seeds = [-1, 2]")),
    suite("seeds-negative-count", "got -3", ("seeds = 2", "seeds = -3")),
    suite("cost-string", "budget cost_s must be positive and finite, got '2000'",
          ("cost_s = 2000", 'cost_s = "2000"')),
    suite("sparsity-string", "sparsity must be in [0, 1), got 'dense'",
          ("sparsity = 0.0", 'sparsity = "dense"')),
    suite("evaluations-fraction", "budget evaluations must be positive and a whole number, got 2.5",
          extra="evaluations = 2.5"),
    suite("evaluations-bool", "budget evaluations must be positive and a whole number, got True",
          extra="evaluations = true"),
    suite("sparsity-one", "sparsity must be in [0, 1), got 1.0",
          ("sparsity = 0.0", "sparsity = 1.0")),
    suite("sparsity-negative", "sparsity must be in [0, 1), got -0.1",
          ("sparsity = 0.0", "sparsity = -0.1")),
    suite("sparsity-nan", "sparsity must be in [0, 1), got nan",
          ("sparsity = 0.0", "sparsity = nan")),
    suite("latency-unknown-device", "unknown latency device of nb201-cifar10 'tpu9000'",
          extra='latency_ms = 4.0\nlatency_device = "tpu9000"'),
    suite("latency-nan", "budget latency_ms must be positive and finite, got nan",
          extra='latency_ms = nan\nlatency_device = "pixel3"'),
    suite("cost-zero", "budget cost_s must be positive and finite, got 0",
          ("cost_s = 2000", "cost_s = 0")),
    suite("cost-infinite", "budget cost_s must be positive and finite, got inf",
          ("cost_s = 2000", "cost_s = inf"), extra="evaluations = 3"),  # ends if accepted
    suite("evaluations-negative", "budget evaluations must be positive and a whole number, got -5",
          extra="evaluations = -5"),
    suite("constraint-unknown", "bad [budget]: 'firm' is not a valid Constraint",
          extra='constraint = "firm"'),
    suite("soft-weight-string", "budget soft_weight must be a finite number, got 'steep'",
          extra='soft_weight = "steep"'),
    suite("latency-device-number", "budget latency_device must be a name, got 5",
          extra="latency_ms = 4.0\nlatency_device = 5"),
    suite("task-budget-override", "[[task]] 1 budget: sparsity must be in [0, 1), got 1.0",
          ("fidelity = 12", "fidelity = 12\nbudget = {sparsity = 1.0}")),
    suite("task-budget-override-key", "unknown key 'sparsty' in [[task]] 1 budget",
          ("fidelity = 12", "fidelity = 12\nbudget = {sparsty = 0.5}")),
    suite("missing-budget", "needs a [budget] table",
          ("[budget]\n", ""), ("cost_s = 2000\n", ""), ("sparsity = 0.0\n", "")),
    suite("missing-name", "[suite] name must be", ('name = "cli"\n', "")),
    suite("task-missing-evaluator", "[[task]] 1 needs evaluator",
          ('evaluator = "tabular"\n', "")),
    suite("empty-task-list", "at least one [[task]]",
          ("[[task]]\n" + TASK, ""), ("[suite]", "task = []\n[suite]")),
    suite("no-strategy", "at least one [[strategy]]",
          ('[[strategy]]\nname = "random"\n', "")),
    suite("fidelity-string", "fidelity must be positive, got '12'",
          ("fidelity = 12", 'fidelity = "12"')),
    suite("fidelity-not-offered", "fidelity 13 not offered", ("fidelity = 12", "fidelity = 13")),
    suite("space-params-not-table", "space_params must be a table",
          ('space = "nb201"', 'space = "nb201"\nspace_params = 3')),
    suite("strategy-param-type", "population",
          strategy='regularized_evolution"\npopulation = "ten'),
    suite("benchmark-corrupt-file", "bad.parquet is not a readable Parquet file",
          ('"nb201-cifar10"', '"{tmp}/bad.parquet"'),
          before=write_bytes("bad.parquet", b"PAR1 not really")),
    Case("suite-missing-file", ["run", "{tmp}/nope.toml", "--out", "{tmp}/new"], "nope.toml"),
    Case("suite-is-a-folder", ["run", "{res}", "--out", "{tmp}/new"], "cannot read suite config"),
    Case("suite-not-utf8", ["run", "{tmp}/latin1.toml", "--out", "{tmp}/new"], "latin1.toml",
         write_bytes("latin1.toml", '[suite]\nname = "caf\u00e9"\n'.encode("latin-1"))),
]

# ---- Parquet files ----------------------------------------------------------------------------
RUN_META = json.dumps({"suite": "x"}).encode()

PARQUET_CASES = [
    Case("report-truncated-record", ["report", "{res}"], "cannot read run record {record}",
         truncate_record),
    Case("report-zero-byte-record", ["report", "{res}"], "cannot read run record {res}/runs/zz",
         write_bytes("res/runs/zz.parquet", b"")),
    Case("report-not-parquet", ["report", "{res}"], "cannot read run record {res}/runs/zz.parquet",
         write_bytes("res/runs/zz.parquet", b"run,acc\n0,0.9\n")),
    Case("report-parquet-without-metadata", ["report", "{res}"],
         "zz.parquet is not a nasbench run record", write_parquet("res/runs/zz.parquet")),
    Case("report-record-without-columns", ["report", "{res}"], "zz.parquet lacks record columns",
         write_parquet("res/runs/zz.parquet", {META_KEY: RUN_META})),
    Case("report-record-bad-metadata", ["report", "{res}"], "zz.parquet has malformed run meta",
         empty_record(b"{not json")),
    Case("report-record-metadata-not-a-run", ["report", "{res}"], "zz.parquet has malformed run",
         empty_record(RUN_META)),
    Case("report-benchmark-table-as-record", ["report", "{tmp}/other"],
         "nb201-cifar10.parquet is not a nasbench run record", table_among_records),
    Case("report-file-not-folder", ["report", "{res}/config.toml"],
         "no run records in {res}/config.toml/runs"),
    surrogate_eval("corrupt-table", "{tmp}/bad.parquet", "bad.parquet is not a readable Parquet",
                   write_bytes("bad.parquet", b"PAR1" + bytes(100) + b"PAR1")),
    surrogate_eval("zero-byte-table", "{tmp}/empty.parquet", "empty.parquet is not a readable",
                   write_bytes("empty.parquet", b"")),
    surrogate_eval("table-without-metadata", "{tmp}/plain.parquet",
                   "plain.parquet is not a nasbench table", write_parquet("plain.parquet")),
    surrogate_eval("run-record-as-table", "{record}", "{record} is not a nasbench table"),
    surrogate_eval("table-bad-description", "{tmp}/t.parquet", "'fidelities' is missing",
                   write_parquet("t.parquet", {b"nasbench": b'{"format": 1}'})),
    surrogate_eval("missing-table", "{tmp}/none.parquet", "'{tmp}/none.parquet' does not exist"),
    surrogate_eval("max-test-zero", "nb201-cifar10", "--max-test) must be >= 1 held-out row, got 0",
                   argv=["--max-test", "0"]),
    surrogate_eval("max-test-negative", "nb201-cifar10",
                   "--max-test) must be >= 1 held-out row, got -1", argv=["--max-test", "-1"]),
    surrogate_eval("unknown-table", "nb201-cifar11", "unknown benchmark 'nb201-cifar11'"),
    surrogate_eval("unknown-surrogate", "nb201-cifar10", "unknown surrogate 'svm'",
                   surrogate="svm"),
    build("out-corrupt", "bad.parquet is not a readable Parquet file",
          "--out", "{tmp}/bad.parquet", setup=write_bytes("bad.parquet", b"garbage")),
    build("out-zero-byte", "empty.parquet is not a readable Parquet file",
          "--out", "{tmp}/empty.parquet", setup=write_bytes("empty.parquet", b"")),
    build("out-foreign-parquet", "plain.parquet was not written by nasbench build-table",
          "--out", "{tmp}/plain.parquet", setup=write_parquet("plain.parquet")),
    build("out-run-record", f"{SEEDED_RUN} was not written by nasbench build-table",
          "--out", "{record}"),
    build("out-corrupt-journal", "table.parquet.journal line 1 is corrupt",
          setup=write_bytes("table.parquet.journal", b"garbage\n{}\n")),
    build("out-without-build-columns", "table.parquet lacks the build-table column(s) index",
          setup=write_parquet("table.parquet", BUILD_META)),
    build("out-journal-other-settings", "table.parquet.journal belongs to a build with other",
          setup=both(empty_build_table,
                     write_bytes("table.parquet.journal", OTHER_BUILD))),
]

# ---- dataset folders ---------------------------------------------------------------------------
DATASET_CASES = [
    data("cifar10", "missing-folder", "cifar10: no folder {tmp}/nowhere", root="{tmp}/nowhere"),
    data("cifar10", "missing-file", "missing {tmp}/cifar10/test_batch.bin",
         cifar_folder(skip="test_batch.bin")),
    data("cifar10", "short-file", "data_batch_3.bin is truncated",
         cifar_folder(short="data_batch_3.bin")),
    data("cifar10", "bad-label", "holds label 12 outside 0..9", cifar_folder(label=12)),
    data("cifar100", "short-file", "{tmp}/cifar100/train.bin is truncated",
         both(write_bytes("cifar100/train.bin", bytes(3000)),
              write_bytes("cifar100/test.bin", bytes(3074)))),
    data("mnist", "missing-files", "missing {tmp}/mnist/train-images-idx3-ubyte",
         lambda ctx: (ctx.tmp / "mnist").mkdir()),
    data("mnist", "bad-header", "train-labels-idx1-ubyte is not an idx file",
         mnist_folder({"train-labels-idx1-ubyte": b"\x00\x00\x08\x03"})),
    data("mnist", "short-file", "t10k-images-idx3-ubyte is truncated",
         mnist_folder({"t10k-images-idx3-ubyte": idx_file(3, (1, 28, 28), 700)})),
    data("mnist", "bad-gzip", "mnist: cannot read {tmp}/mnist/train-images-idx3-ubyte.gz",
         mnist_folder({"train-images-idx3-ubyte.gz": b"not gzip"}, drop="train-images-idx3-ubyte")),
    data("cifar10", "env-unset", "cifar10: no data folder", env(None), root=None),
    data("cifar100", "env-empty-folder", "cifar100: no folder {tmp}/cifar100", env("{tmp}"),
         root=None),
    data("svhn", "unknown", "unknown dataset 'svhn'"),
    evaluate("sparsity-one", "sparsity must be in [0, 1), got 1.0", "--sparsity", "1.0"),
]

def plugin_module(name: str, source: str) -> Setup:
    """A module ``name`` in ``{tmp}/plugins`` (importable; no bytecode written beside it)."""

    def setup(ctx: Ctx) -> None:
        folder = ctx.tmp / "plugins"
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.py").write_text(source)
        ctx.monkeypatch.setattr(sys, "dont_write_bytecode", True)
        ctx.monkeypatch.syspath_prepend(str(folder))

    return setup


# ---- plugin paths ---------------------------------------------------------------------------
PLUGIN_CASES = [
    Case("plugin-surrogate-raises-on-import",
         ["surrogate-eval", "--surrogate", "boom_at_import:KNN", "--train-sizes", "100"],
         "importing module 'boom_at_import' for 'boom_at_import:KNN' raised RuntimeError: boom",
         plugin_module("boom_at_import", 'raise RuntimeError("boom at import")\n')),
    suite("plugin-strategy-syntax-error",
          "importing module 'broken_syntax' for 'broken_syntax:Search' raised SyntaxError",
          strategy="broken_syntax:Search",
          before=plugin_module("broken_syntax", "def ask(:\n")),
    suite("bayesopt-cma-es", "random search; use tpe or gp, or the strategy 'random'",
          ('name = "bayesopt"', 'name = "bayesopt"\nsampler = "optuna.samplers.CmaEsSampler"'),
          strategy="bayesopt"),  # the whole advice, not cut between two quoted values
    Case("plugin-space-raises-on-import", ["sample", "zero_division:Space", "--n", "1"],
         "importing module 'zero_division' for 'zero_division:Space' raised ZeroDivisionError",
         plugin_module("zero_division", "1 / 0\n")),
    strategy_path("missing-module", "nosuchpkg.mod:Class", "cannot import module 'nosuchpkg.mod'"),
    strategy_path("missing-class", "nasbench.analysis.report:NoSuchClass",
                  "module 'nasbench.analysis.report' has no attribute 'NoSuchClass'"),
    strategy_path("not-a-class", "nasbench.analysis.report:format_table",
                  "'nasbench.analysis.report:format_table' is not a class"),
    strategy_path("not-a-strategy", "nasbench.analysis.report:SummaryRow",
                  "'nasbench.analysis.report:SummaryRow' is not a strategy (no start, ask, tell)"),
    strategy_path("no-colon", "nosuchpkg.mod.Class",  # module.Class is a path too
                  "cannot import module 'nosuchpkg.mod' for 'nosuchpkg.mod.Class'"),
    strategy_path("no-module", ":RandomSearch", "label '.RandomSearch' made from name ':Random"),
    strategy_path("relative-module", ".random:RandomSearch", "from name '.random:RandomSearch'"),
    Case("plugin-space-relative-module", ["describe", ".nb201:NasBench201", BEST],
         "expected 'package.module:Class', got '.nb201:NasBench201'"),
    suite("plugin-space-not-a-space", "'nasbench.core.types:Budget' is not a space",
          ('space = "nb201"', 'space = "nasbench.core.types:Budget"')),
    Case("plugin-surrogate-missing-module",
         ["surrogate-eval", "--surrogate", "nosuchpkg:Model"], "cannot import module 'nosuchpkg'"),
    Case("plugin-surrogate-not-a-surrogate",
         ["surrogate-eval", "--surrogate", "nasbench.analysis.report:SummaryRow"],
         "'nasbench.analysis.report:SummaryRow' is not a surrogate (no fit, predict)"),
    Case("plugin-space-missing-module", ["describe", "nosuchpkg:Space", BEST],
         "cannot import module 'nosuchpkg'"),
]

# ---- results folders ---------------------------------------------------------------------------
RESULTS_CASES = [
    Case("run-existing-folder-without-resume", ["run", "{res}/config.toml", "--out", "{res}"],
         "results folder {res} exists: pass --resume"),
    Case("resume-different-suite", ["run", "{tmp}/suite.toml", "--out", "{res}", "--resume"],
         "cannot resume {res}", _suite_file(("seeds = 2", "seeds = 1"), extra="evaluations = 6")),
    Case("resume-without-suite-json", ["run", "{res}/config.toml", "--out", "{res}", "--resume"],
         "cannot resume {res}", lambda ctx: (ctx.res / "suite.json").unlink()),
    Case("run-zero-workers", ["run", "{res}/config.toml", "--out", "{tmp}/new", "--workers", "0"],
         "--workers must be >= 1"),
]

# ---- build-table options -----------------------------------------------------------------------
BUILD_CASES = [
    build("sparsity-one", "sparsity levels must lie in [0, 1), got [1.0]", "--sparsity", "1.0"),
    build("sparsity-negative", "sparsity levels must lie in [0, 1), got [0.0, -0.1]",
          "--sparsity", "0,-0.1"),
    build("sparsity-nan", "sparsity levels must lie in [0, 1), got [nan]", "--sparsity", "nan"),
    build("sparsity-words", "--sparsity takes numbers", "--sparsity", "dense"),
    build("n-zero", "--n must be >= 1, got 0", "--n", "0"),
    build("n-not-a-number", "argument --n: invalid int value: 'two'", "--n", "two"),
    build("seeds-zero", "--seeds must be >= 1, got 0", "--seeds", "0"),
    build("unknown-param", "unknown parameter 'depth' for space 'chain'", "--param", "depth=3"),
    build("bad-param-format", "--param expects KEY=VALUE, got 'depth'", "--param", "depth"),
    build("unknown-recipe-key", "unknown recipe key 'lr'", "--recipe", "lr=0.1"),
    build("unknown-optimizer", "unknown optimizer 'lion'", "--recipe", "optimizer='lion'"),
    build("epochs-zero", "epochs must be a whole number >= 1, got 0", "--epochs", "0"),
    build("unknown-dataset", "unknown dataset 'svhn'", "--dataset", "svhn"),
    build("out-not-parquet", "--out must name a .parquet file", "--out", "{tmp}/table.csv"),
]

CASES = [*ARCH_CASES, *SUITE_CASES, *PARQUET_CASES, *DATASET_CASES, *PLUGIN_CASES,
         *RESULTS_CASES, *BUILD_CASES]
# fmt: on


# ---- the test ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished results folder: random search, 1 seed, 5 evaluations on the nb201 table."""
    root = tmp_path_factory.mktemp("finished")
    path = write_suite(root, extra="evaluations = 5", edit=("seeds = 2", "seeds = 1"))
    assert main(["run", str(path), "--out", str(root / "res"), "--workers", "1"]) == 0
    assert (root / "res" / "runs" / SEEDED_RUN).is_file()
    return root / "res"


def test_corpus_is_large_and_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 45


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_exits_2_with_one_line_and_touches_nothing(
    case: Case,
    finished: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ctx = Ctx(tmp_path, tmp_path / "res", monkeypatch)
    shutil.copytree(finished, ctx.res)
    if case.setup is not None:
        case.setup(ctx)
    before = snapshot(tmp_path)
    capsys.readouterr()
    code = main([ctx.fill(a) for a in case.argv])
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert code == 2, err
    assert out == "" and len(lines) == 1 and lines[0].startswith("nasbench: error: "), err
    assert ctx.fill(case.message) in lines[0]
    assert snapshot(tmp_path) == before
