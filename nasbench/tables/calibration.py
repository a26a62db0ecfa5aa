"""The throughput behind simulated cost, recomputed from the tables that calibrate it.

:data:`nasbench.training.simcost.MACS_PER_S` converts MACs to simulated seconds; it was set from
the training times nasbench's own tables recorded, and :func:`calibrate` recomputes that figure
(``tests/test_simcost.py`` checks the constant against it).
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike

import numpy as np
import pyarrow.parquet as pq

from nasbench.core.errors import NasbenchError
from nasbench.tables.benchmarks import resolve
from nasbench.tables.tablebuild import BUILD_KEY, TableSpec
from nasbench.training.datasets import load_dataset
from nasbench.training.simcost import TRAIN_PASSES

CALIBRATION_TABLES = (
    "chain-mnist1d",
    "multibranch-mnist1d",
    "cell-mnist1d",
    "hierarchical-mnist1d",
)
"""The shipped tables :data:`MACS_PER_S` is calibrated on."""


def calibrate(table_paths: Iterable[str | PathLike[str]]) -> float:
    """The reference throughput (MACs per second) that nasbench's own benchmark tables imply:
    the median, over every row of the tables (shipped names or ``.parquet`` paths) with a
    positive training time, of ``TRAIN_PASSES * macs * train samples * epochs / train_time_s``
    (epochs and dataset from the table's build settings, train samples the size of the
    dataset's train split). Raises NasbenchError for a table without build settings or when no
    row is usable."""
    ratios: list[np.ndarray] = []
    for name in table_paths:
        path = resolve(name)
        file = pq.ParquetFile(path)
        build = (file.schema_arrow.metadata or {}).get(BUILD_KEY)
        if build is None:
            raise NasbenchError(f"{path} has no build settings ({BUILD_KEY.decode()} metadata)")
        spec = TableSpec.from_json(build)
        samples = len(load_dataset(spec.dataset).train.y)
        data = file.read(columns=["macs", "train_time_s"])
        macs = np.asarray(data.column("macs").to_pylist(), dtype=np.float64)
        time_s = np.asarray(data.column("train_time_s").to_pylist(), dtype=np.float64)
        keep = np.isfinite(time_s) & (time_s > 0) & (macs > 0)
        ratios.append(TRAIN_PASSES * macs[keep] * samples * spec.epochs / time_s[keep])
    pooled = np.concatenate(ratios) if ratios else np.empty(0)
    if not len(pooled):
        raise NasbenchError("calibrate needs at least one table row with a training time")
    return float(np.median(pooled))
