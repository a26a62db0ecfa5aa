"""Surrogate benchmarks: a benchmark table plus fitted surrogates that answer for any
architecture of its space, seen or unseen (the NAS-Bench-301 idea, Zela et al. ICLR 2022).

A table row is an (architecture, sparsity) pair. Its features are the space's encoding (or graph
form, for graph surrogates) plus the sparsity level, so one model covers every sparsity in the
table's range. :func:`table_data` reads a table into features and targets, :func:`quality`
measures a surrogate on architectures held out of its training set (the ``surrogate-eval``
numbers), :meth:`TableData.noise_model` fits the seed-to-seed spread the ``surrogate`` evaluator
adds to its answers, and :func:`surrogate_choice` and :func:`reachable_max` read what
``nasbench/data/best_surrogates.json`` records per table: the best surrogate, the best of
another family (the "second"), and the highest accuracy each can give.

>>> from nasbench.tables.benchmarks import load_benchmark
>>> data = table_data(load_benchmark("nb201-cifar10"))
>>> len(data), data.vectors.shape, data.levels
(15625, (15625, 31), (0.0,))
>>> q = quality(data, "random_forest", {"n_estimators": 50}, train_size=200, seed=0,
...             max_test=2000)
>>> q.train_archs, q.test_rows, q.kendall > 0.5
(200, 2000, True)
>>> surrogate_choice("cell-mnist1d", "best"), surrogate_choice("cell-mnist1d", "second")
(('gin', {}), ('gradient_boosting', {}))
>>> [surrogate_family(n) for n in ("gin", "random_forest", "gradient_boosting", "mlp_ensemble")]
['graph_nn', 'trees', 'trees', 'mlp']
"""

# ruff: noqa: N806  (``X`` for inputs, the scikit-learn convention)

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from scipy import stats
from scipy.interpolate import PchipInterpolator

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import spaces, surrogates
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.surrogate import GraphInput, InputKind, Prediction
from nasbench.core.types import Architecture
from nasbench.tables.benchmarks import DATA_DIR, BenchmarkTable, load_benchmark


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

    @cached_property
    def table_rows(self) -> np.ndarray:
        """The rows of the table file these rows are (those :func:`table_data` keeps)."""
        return _kept_rows(self.table)

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

    def label_range(self, sparsity: float) -> tuple[tuple[float, float], tuple[float, float]]:
        """The (lowest, highest) validation and test labels (seed means, fractions) the table
        records at ``sparsity``: at a recorded level that level's rows, between two levels
        linearly interpolated, beyond the outer levels the outer one's. What a surrogate
        benchmark bounds its answers to (``bound = "table"``: a surrogate knows no accuracy
        its table never recorded). Pure."""
        levels = np.array(sorted({round(float(s), 6) for s in self.sparsity}))
        at_level = [np.isclose(self.sparsity, level, atol=1e-6) for level in levels]

        def ends(values: np.ndarray) -> tuple[float, float]:
            low = np.interp(sparsity, levels, [values[m].min() for m in at_level])
            high = np.interp(sparsity, levels, [values[m].max() for m in at_level])
            return float(low), float(high)

        return ends(self.val), ends(self.test)

    def noise_model(self) -> NoiseModel:
        """The seed-to-seed spread of validation accuracy as a function of an architecture's
        validation accuracy and the sparsity level (:func:`fit_noise_model` on this table's
        rows with two or more recorded seeds). Draws no randomness."""
        seeds = self.val_seeds or tuple(() for _ in range(len(self)))
        return fit_noise_model(self.val, self.sparsity, seeds)


def table_data(table: BenchmarkTable) -> TableData:
    """Features and targets of a table: validation accuracy at the highest fidelity (seed
    mean), test accuracy and training cost; rows whose validation value is NaN (failed
    training) are left out."""
    space = table_space(table)
    top = table.fidelity(max(table.fidelities))
    keep = _kept_rows(table)
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


def _kept_rows(table: BenchmarkTable) -> np.ndarray:
    """Rows with a finite validation value at the highest fidelity and a finite test value."""
    top = table.fidelity(max(table.fidelities))
    return np.flatnonzero(np.isfinite(top.val) & np.isfinite(table.test))


# ---- the seed noise model -------------------------------------------------------------------
HALF_NORMAL_MEDIAN = 0.6744897501960817
"""The median of ``|Z|`` for a standard normal ``Z`` (Phi^-1(3/4), the MAD constant)."""
MIN_ROWS_PER_BIN = 25
"""Rows with several seeds per accuracy bin: a bin median of 25 half-normal values has a
relative standard error of about 0.23."""
MAX_BINS = 10


@dataclass(frozen=True)
class NoiseModel:
    """Seed-to-seed standard deviation of validation accuracy (a fraction) as a smooth function
    of an architecture's expected validation accuracy and the sparsity level.

    Per sparsity level in ``levels`` (ascending), ``centres`` are accuracy-bin centres
    (ascending) and ``stds`` the standard deviations estimated there (:func:`fit_noise_model`).
    :meth:`std` interpolates between the centres with a shape-preserving cubic (PCHIP: no
    overshoot, so it stays between neighbouring estimates and never goes negative), holds the
    outer estimates constant beyond the outer centres, and interpolates linearly between
    sparsity levels (constant beyond the outer levels). No level: the standard deviation is 0.
    """

    levels: tuple[float, ...]
    centres: tuple[tuple[float, ...], ...]
    stds: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        shapes = [(len(c), len(s)) for c, s in zip(self.centres, self.stds, strict=True)]
        if len(shapes) != len(self.levels) or any(a != b or a < 1 for a, b in shapes):
            raise NasbenchError(f"malformed noise model: levels {self.levels}, bins {shapes}")

    def _at_level(self, k: int, val: np.ndarray) -> np.ndarray:
        centres, stds = np.array(self.centres[k]), np.array(self.stds[k])
        if len(centres) == 1:
            return np.full(val.shape, stds[0])
        curve = PchipInterpolator(centres, stds, extrapolate=False)
        return np.asarray(curve(np.clip(val, centres[0], centres[-1])), dtype=np.float64)

    def std(self, val: float | np.ndarray, sparsity: float) -> np.ndarray:
        """Standard deviations (fractions, shape of ``val``) for expected validation accuracies
        ``val`` (fractions) at one sparsity level. Pure; draws no randomness."""
        v = np.asarray(val, dtype=np.float64)
        if not self.levels:
            return np.zeros(v.shape)
        per_level = np.stack([self._at_level(k, v) for k in range(len(self.levels))])
        if len(self.levels) == 1:
            return per_level[0]
        s = min(max(float(sparsity), self.levels[0]), self.levels[-1])
        hi = min(int(np.searchsorted(self.levels, s, side="right")), len(self.levels) - 1)
        lo = hi - 1
        w = (s - self.levels[lo]) / (self.levels[hi] - self.levels[lo])
        return np.asarray((1.0 - w) * per_level[lo] + w * per_level[hi])


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The median of ``values`` under positive ``weights`` (equal weights: ``np.median``)."""
    order = np.argsort(values, kind="stable")
    v, cum = np.asarray(values, float)[order], np.cumsum(np.asarray(weights, float)[order])
    half = cum[-1] / 2.0
    i = int(np.searchsorted(cum, half * (1.0 - 1e-12)))  # first with cumulative weight >= half
    if abs(cum[i] - half) <= 1e-12 * cum[-1] and i + 1 < len(v):
        return float((v[i] + v[i + 1]) / 2.0)
    return float(v[i])


def fit_noise_model(
    val: np.ndarray, sparsity: np.ndarray, val_seeds: Sequence[Sequence[float]]
) -> NoiseModel:
    """Fit a :class:`NoiseModel` to per-seed validation accuracies.

    ``val`` (n,) is each row's expected validation accuracy (the table's seed mean), ``sparsity``
    (n,) its level, ``val_seeds`` its recorded per-seed values (non-finite ones are ignored).
    Only rows with two or more finite seeds count. Per sparsity level:

    1. Robust scale from pairwise differences (the idea of Rousseeuw & Croux's Qn, JASA 1993):
       for two draws of N(mu, sigma^2), ``|a - b| = sigma sqrt(2) |Z|``, whose median is
       ``sigma sqrt(2) Phi^-1(3/4)``. A row with k seeds gives its k(k-1)/2 absolute pairwise
       differences, weighted 2/(k(k-1)) so that every row counts once (tables with 2 seeds per
       row, a constant k > 2, or a mix all work); with k = 2 a row's estimate is
       ``|a - b| / sqrt(2)`` up to the constant. The weighted median divided by
       ``sqrt(2) Phi^-1(3/4)`` estimates sigma, unbiased for Gaussian seed noise and unmoved by
       up to half of the pairs being outliers (a seed whose training failed): the pooled
       variance let a few failed seeds set the noise of every architecture.
    2. Heteroscedasticity: the seed spread differs between architectures (on the MNIST-1D
       tables the best quarter of multibranch at sparsity 0 varies about 4x less between seeds
       than the worst quarter). With 2 seeds a row's own estimate is far too noisy to use (a
       chi distribution with one degree of freedom), so rows are sorted by their seed-mean
       accuracy (the covariate the evaluator knows for an unseen architecture: its predicted
       accuracy) and cut into ``min(MAX_BINS, n // MIN_ROWS_PER_BIN)`` (at least 1) bins of
       equal size; each bin gets the estimate of step 1 at its median accuracy. A bin's
       absolute pairwise differences are independent of its row means under Gaussian noise, so
       sorting by the mean does not bias them.
    3. Smoothing: :meth:`NoiseModel.std` interpolates the bin estimates shape-preservingly
       (PCHIP) rather than fitting a parametric curve, because the spread is not monotone in
       accuracy on every table (chain's weakest architectures barely train and hardly vary).

    Deterministic (no randomness drawn); bins with the same centre are merged (mean estimate).
    A level without a row of several seeds is left out, and the model interpolates over the
    others; without any such row :meth:`NoiseModel.std` answers 0.
    """
    val, sparsity = np.asarray(val, dtype=np.float64), np.asarray(sparsity, dtype=np.float64)
    rows: dict[float, list[tuple[float, np.ndarray]]] = {}
    for i, seeds in enumerate(val_seeds):
        x = np.array([v for v in seeds if math.isfinite(v)], dtype=np.float64)
        if len(x) > 1 and math.isfinite(val[i]):
            a, b = np.triu_indices(len(x), k=1)
            rows.setdefault(round(float(sparsity[i]), 6), []).append(
                (float(val[i]), np.abs(x[a] - x[b]))
            )
    levels, centres, stds = [], [], []
    for level in sorted(rows):
        group = sorted(rows[level], key=lambda r: r[0])  # stable: ties keep row order
        bins = np.array_split(
            np.arange(len(group)), max(1, min(MAX_BINS, len(group) // MIN_ROWS_PER_BIN))
        )
        found: dict[float, list[float]] = {}
        for members in bins:
            diffs = np.concatenate([group[j][1] for j in members])
            weights = np.concatenate(
                [np.full(len(group[j][1]), 1.0 / len(group[j][1])) for j in members]
            )
            sd = weighted_median(diffs, weights) / (math.sqrt(2.0) * HALF_NORMAL_MEDIAN)
            found.setdefault(float(np.median([group[j][0] for j in members])), []).append(sd)
        levels.append(level)
        centres.append(tuple(sorted(found)))
        stds.append(tuple(float(np.mean(found[c])) for c in sorted(found)))
    return NoiseModel(tuple(levels), tuple(centres), tuple(stds))


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
    kendall_top: float = math.nan  # within the best fifth of each level's held-out rows


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


TOP_SHARE = 0.2
"""``kendall_top`` ranks within this best share of each sparsity level's held-out rows."""


def kendall_top(y: np.ndarray, mean: np.ndarray, levels: np.ndarray | None) -> float:
    """Kendall tau between ``y`` and ``mean`` within the best :data:`TOP_SHARE` of each level's
    rows by ``y`` (at least 3 rows), averaged over levels: how well the surrogate orders the
    architectures a search ends among (NaN with too few rows)."""
    levels = np.zeros(len(y)) if levels is None else np.asarray(levels)
    taus = []
    for level in np.unique(levels):
        rows = np.flatnonzero(levels == level)
        top = rows[np.argsort(-y[rows], kind="stable")[: math.ceil(TOP_SHARE * len(rows))]]
        if len(top) >= 3:
            taus.append(float(stats.kendalltau(y[top], mean[top])[0]))
    finite = [t for t in taus if math.isfinite(t)]
    return float(np.mean(finite)) if finite else math.nan


def scores(y: np.ndarray, pred: Prediction, levels: np.ndarray | None = None) -> dict[str, float]:
    """Kendall tau (overall and within the best fifth of each sparsity level, ``levels``),
    Spearman rho, R² and the coverage of the 68% and 95% intervals."""
    err = np.abs(y - pred.mean)
    total = float(np.sum((y - y.mean()) ** 2))
    return {
        "kendall_top": kendall_top(y, pred.mean, levels),
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
        **scores(data.val[test], pred, data.sparsity[test]), fit_s=fit_s,
        predictions_per_s=len(test) / predict_s if predict_s > 0 else math.inf,
    )  # fmt: skip


def score_surrogate(
    surrogate: str,
    benchmark: str = "nb201-cifar10",
    params: dict[str, Any] | None = None,
    train_sizes: Sequence[int] = (100, 300, 1000),
    seeds: Sequence[int] = (0,),
    max_test: int | None = None,
) -> list[Quality]:
    """Held-out quality of ``surrogate`` (a registered name or ``package.module:Class``, made
    with ``params``) on the table ``benchmark`` (a shipped name or a ``.parquet`` path): for
    each train size and split seed, fitted on that many architectures drawn with the seed and
    scored on the others (Kendall and Spearman rank correlation, Kendall among the best fifth,
    R², coverage of the 68% and 95% intervals, fit time, predictions per second). What
    ``nasbench surrogate-eval`` prints, one :class:`Quality` per (train size, seed). Raises
    NasbenchError for an unknown surrogate or table, or a train size the table cannot spare."""
    data = table_data(load_benchmark(benchmark))
    surrogates.get(surrogate)
    return [
        quality(data, surrogate, params, n, seed, max_test) for n in train_sizes for seed in seeds
    ]


def params_key(params: dict[str, Any] | None) -> str:
    return json.dumps(params or {}, sort_keys=True)


# ---- recorded choices: best_surrogates.json ---------------------------------------------------
BEST_FILE = DATA_DIR / "best_surrogates.json"
"""Per table: the ``best`` surrogate (highest held-out Kendall tau measured by
``nasbench surrogate-eval`` at the largest training size, ``results/surrogates/quality.md``), the
``second`` (the best of another :func:`surrogate_family`) and the ``reachable`` maxima of each
(``python -m nasbench.analysis.rescore choices|reachable --write`` regenerate them)."""
FALLBACK_SURROGATE = "random_forest"
"""``surrogate = "best"`` for a table the file does not name."""
FAMILIES = {
    "random_forest": "trees",
    "gradient_boosting": "trees",
    "sklearn": "trees",  # its default estimator is extremely randomised trees
    "gin": "graph_nn",
    "mlp_ensemble": "mlp",
    "gaussian_process": "gp",
}
"""Model families of the built-in surrogates: two surrogates of one family (a random forest and
gradient boosting both split the encoding axis by axis) would share their blind spots."""
CHOICES = ("best", "second")


def surrogate_family(name: str, params: dict[str, Any] | None = None) -> str:
    """The model family of a surrogate (:data:`FAMILIES`); the ``sklearn`` adapter with another
    ``estimator`` than its default is ``"sklearn:<estimator>"``, and a surrogate nasbench does not
    ship is a family of its own (its name)."""
    estimator = (params or {}).get("estimator", "sklearn.ensemble:ExtraTreesRegressor")
    if name == "sklearn" and estimator != "sklearn.ensemble:ExtraTreesRegressor":
        return f"sklearn:{estimator}"
    return FAMILIES.get(name, name)


def read_best_file() -> dict[str, dict[str, Any]]:
    """:data:`BEST_FILE` as ``{table: {"best": {...}, "second": {...}, "reachable": {...}}}``
    (keys present where recorded); an entry of the older flat form (``{"surrogate": ...}``) is
    read as its ``best``. No file: an empty dict. Raises NasbenchError for malformed JSON."""
    if not BEST_FILE.exists():
        return {}
    try:
        raw = json.loads(BEST_FILE.read_text())
    except ValueError as exc:
        raise NasbenchError(f"{BEST_FILE} is not valid JSON: {exc}") from None
    return {t: ({"best": e} if "surrogate" in e else dict(e)) for t, e in raw.items()}


def surrogate_choice(table_name: str, which: str) -> tuple[str, dict[str, Any]]:
    """The surrogate name and constructor parameters that ``which`` means for a table.

    ``"best"``: the table's best surrogate in :data:`BEST_FILE` (:data:`FALLBACK_SURROGATE`
    with default parameters for a table it does not name); ``"second"``: the best surrogate of
    another family (NasbenchError when none is recorded for the table); anything else is a
    surrogate name (or ``module:Class`` path), returned as given with no parameters and not
    checked here (the registry checks it where it is created). Reads the file on every call.
    """
    if which not in CHOICES:
        return which, {}
    entry = read_best_file().get(table_name, {}).get(which)
    if entry:
        return str(entry["surrogate"]), dict(entry.get("params", {}))
    if which == "best":
        return FALLBACK_SURROGATE, {}
    known = sorted(t for t, e in read_best_file().items() if "second" in e)
    raise NasbenchError(
        f"no second surrogate recorded for benchmark {table_name!r} in {BEST_FILE.name} "
        f"(recorded for: {', '.join(known) or 'none'}); name a surrogate instead"
    )


def reachable_max(
    table_name: str, surrogate: str, sparsity: float | None = None, *, sampled_only: bool = False
) -> float | None:
    """The highest noise-free test accuracy (a fraction) that ``surrogate`` (a name, or
    ``"best"``/``"second"``) predicts for any architecture of the table's space, as searched
    and recorded by ``python -m nasbench.analysis.rescore reachable --write`` (the search is
    described there and stored beside the values): at ``sparsity`` (a recorded level, matched to 6
    decimals), or the maximum over levels when ``sparsity`` is None. None when not recorded
    (unknown table, surrogate or level).

    The regret of a run scored by that surrogate is this minus its final test accuracy. The
    search climbs the surrogate beyond the architectures it was fitted on, where a surrogate
    may extrapolate to accuracies no trained network reached (up to the evaluator's clip at
    1); ``sampled_only=True`` gives the maximum over the table's architectures and the uniform
    sample alone (what the space typically offers, before that extrapolation)."""
    if surrogate in CHOICES:
        try:
            surrogate = surrogate_choice(table_name, surrogate)[0]
        except NasbenchError:
            return None
    found = read_best_file().get(table_name, {}).get("reachable", {}).get(surrogate)
    column = "test_sampled" if sampled_only else "test"
    if not found or column not in found:
        return None
    test = {round(float(k), 6): float(v) for k, v in found[column].items()}
    if sparsity is None:
        return max(test.values()) if test else None
    return test.get(round(float(sparsity), 6))
