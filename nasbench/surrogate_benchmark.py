"""Surrogate benchmarks: a benchmark table plus fitted surrogates that answer for any
architecture of its space, seen or unseen (the NAS-Bench-301 idea, Zela et al. ICLR 2022).

A table row is an (architecture, sparsity) pair. Its features are the space's encoding (or graph
form, for graph surrogates) plus the sparsity level, so one model covers every sparsity in the
table's range. :func:`table_data` reads a table into features and targets, :func:`quality`
measures a surrogate on architectures held out of its training set (the ``surrogate-eval``
numbers), and :class:`SurrogateBenchmark` fits the models the ``surrogate`` evaluator queries.

>>> from nasbench.benchmarks import load_benchmark
>>> data = table_data(load_benchmark("nb201-cifar10"))
>>> len(data), data.vectors.shape, data.levels
(15625, (15625, 31), (0.0,))
>>> q = quality(data, "random_forest", {"n_estimators": 50}, train_size=200, seed=0,
...             max_test=2000)
>>> q.train_archs, q.test_rows, q.kendall > 0.5
(200, 2000, True)
"""

# ruff: noqa: N806  (``X`` for inputs, the scikit-learn convention)

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from scipy import stats

from nasbench.benchmarks import BenchmarkTable
from nasbench.errors import NasbenchError
from nasbench.registry import spaces, surrogates
from nasbench.seeding import role_rng
from nasbench.space import SearchSpace
from nasbench.surrogate import GraphInput, InputKind, Prediction
from nasbench.types import Architecture


def table_space(table: BenchmarkTable) -> SearchSpace:
    """The space a table records, with its recorded constructor parameters."""
    space: SearchSpace = spaces.create(table.info.space, **table.info.space_params)
    return space


def features(
    space: SearchSpace, archs: list[Architecture], sparsity: np.ndarray, kind: InputKind
) -> np.ndarray | list[GraphInput]:
    """Inputs of a surrogate of ``kind`` for architectures at sparsity levels: the space's
    encoding (vector) or graph form (graph), with the sparsity level as an extra feature."""
    sparsity = np.asarray(sparsity, dtype=np.float64)
    if kind is InputKind.GRAPH:
        return [
            GraphInput(space.graph(a), np.array([s])) for a, s in zip(archs, sparsity, strict=True)
        ]
    codes = np.stack([space.encode(a) for a in archs]).astype(np.float64)
    return np.hstack([codes, sparsity[:, None]])


@dataclass
class TableData:
    """A table as features and targets, row by row: ``arch_ids`` number the distinct
    architectures (rows of one architecture at several sparsity levels share an id)."""

    table: BenchmarkTable
    space: SearchSpace
    archs: list[Architecture]
    arch_ids: np.ndarray
    sparsity: np.ndarray
    val: np.ndarray
    test: np.ndarray
    cost_s: np.ndarray
    val_seeds: tuple[tuple[float, ...], ...] | None

    def __len__(self) -> int:
        return len(self.archs)

    @property
    def levels(self) -> tuple[float, ...]:
        return self.table.sparsities

    @cached_property
    def vectors(self) -> np.ndarray:
        X = features(self.space, self.archs, self.sparsity, InputKind.VECTOR)
        assert isinstance(X, np.ndarray)
        return X

    @cached_property
    def graphs(self) -> list[GraphInput]:
        X = features(self.space, self.archs, self.sparsity, InputKind.GRAPH)
        assert isinstance(X, list)
        return X

    def inputs(self, kind: InputKind, rows: np.ndarray) -> np.ndarray | list[GraphInput]:
        if kind is InputKind.GRAPH:
            return [self.graphs[i] for i in rows]
        return self.vectors[rows]

    def column(self, name: str) -> np.ndarray | None:
        """Another numeric column of the table file (``None`` if it has none of that name)."""
        if self.table.path is None:
            return None
        schema = pq.read_schema(self.table.path)
        if name not in schema.names:
            return None
        return np.asarray(pq.read_table(self.table.path, columns=[name])[name].to_numpy(), float)

    def seed_noise(self) -> dict[float, float]:
        """Per sparsity level, the pooled standard deviation of validation accuracy between
        training seeds (rows with two or more seeds); 0 where no row has two."""
        noise: dict[float, float] = {}
        for level in self.levels:
            pooled, dof = 0.0, 0
            for i in np.flatnonzero(np.isclose(self.sparsity, level)):
                recorded = self.val_seeds[i] if self.val_seeds else ()
                seeds = [v for v in recorded if math.isfinite(v)]
                if len(seeds) > 1:
                    pooled += float(np.var(seeds, ddof=1)) * (len(seeds) - 1)
                    dof += len(seeds) - 1
            noise[level] = math.sqrt(pooled / dof) if dof else 0.0
        return noise


def table_data(table: BenchmarkTable) -> TableData:
    """Features and targets of a table: validation accuracy at the highest fidelity (seed
    mean), test accuracy and training cost; rows whose validation value is NaN (failed
    training) are left out."""
    space = table_space(table)
    top = table.fidelity(max(table.fidelities))
    keep = np.flatnonzero(np.isfinite(top.val) & np.isfinite(table.test))
    archs, ids = [], []
    known: dict[str, int] = {}
    for i in keep:
        text = table.arch[i]
        archs.append(space.parse(text))
        ids.append(known.setdefault(text, len(known)))
    return TableData(
        table, space, archs, np.array(ids), table.sparsity[keep], top.val[keep],
        table.test[keep], top.cost_s[keep],
        tuple(top.val_seeds[i] for i in keep) if top.val_seeds else None,
    )  # fmt: skip


# ---- quality on held-out architectures ------------------------------------------------------
@dataclass(frozen=True)
class Quality:
    """How well a surrogate trained on ``train_archs`` architectures (all their sparsity
    levels) predicts validation accuracy on the rows of held-out architectures."""

    benchmark: str
    surrogate: str
    train_archs: int
    train_rows: int
    test_rows: int
    seed: int
    kendall: float
    spearman: float
    r2: float
    coverage_68: float
    coverage_95: float
    fit_s: float
    predictions_per_s: float


def split(data: TableData, train_size: int, seed: int, max_test: int | None) -> tuple:
    """Train and test row indices: ``train_size`` architectures drawn with
    ``role_rng(seed, "surrogate-split")``, the test rows from the other architectures (at most
    ``max_test`` rows, drawn from the same stream)."""
    n_archs = int(data.arch_ids.max()) + 1
    if not 1 <= train_size < n_archs:
        raise NasbenchError(
            f"train size {train_size} must lie in [1, {n_archs - 1}] for {data.table.name} "
            f"({n_archs} architectures)"
        )
    if max_test is not None and max_test < 1:
        raise NasbenchError(f"max_test (--max-test) must be >= 1 held-out row, got {max_test}")
    rng = role_rng(seed, "surrogate-split")
    order = rng.permutation(n_archs)
    train_ids = np.zeros(n_archs, dtype=bool)
    train_ids[order[:train_size]] = True
    train = np.flatnonzero(train_ids[data.arch_ids])
    test = np.flatnonzero(~train_ids[data.arch_ids])
    if max_test is not None and len(test) > max_test:
        test = np.sort(rng.choice(test, max_test, replace=False))
    return train, test


def scores(y: np.ndarray, pred: Prediction) -> dict[str, float]:
    """Kendall tau, Spearman rho, R² and the coverage of the 68% and 95% intervals."""
    err = np.abs(y - pred.mean)
    total = float(np.sum((y - y.mean()) ** 2))
    return {
        "kendall": float(stats.kendalltau(y, pred.mean)[0]),
        "spearman": float(stats.spearmanr(y, pred.mean)[0]),
        "r2": 1.0 - float(np.sum(err**2)) / total if total > 0 else math.nan,
        "coverage_68": float(np.mean(err <= pred.std)),
        "coverage_95": float(np.mean(err <= 1.959964 * pred.std)),
    }


def quality(
    data: TableData,
    surrogate: str,
    params: dict[str, Any] | None = None,
    train_size: int = 100,
    seed: int = 0,
    max_test: int | None = None,
) -> Quality:
    """Fit ``surrogate`` on ``train_size`` architectures and score it on held-out ones."""
    model = surrogates.create(surrogate, **(params or {}))
    kind = InputKind(getattr(model, "input_kind", InputKind.VECTOR))
    train, test = split(data, train_size, seed, max_test)
    X_train, X_test = data.inputs(kind, train), data.inputs(kind, test)
    start = time.perf_counter()
    model.fit(X_train, data.val[train], role_rng(seed, "surrogate-fit", surrogate))
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = model.predict(X_test)
    predict_s = time.perf_counter() - start
    return Quality(
        data.table.name, surrogate, train_size, len(train), len(test), seed,
        **scores(data.val[test], pred), fit_s=fit_s,
        predictions_per_s=len(test) / predict_s if predict_s > 0 else math.inf,
    )  # fmt: skip


def params_key(params: dict[str, Any] | None) -> str:
    return json.dumps(params or {}, sort_keys=True)
