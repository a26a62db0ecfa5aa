"""Learning-curve surrogates: a surrogate benchmark that answers every epoch, in the manner of
NAS-Bench-x11 (Yan, White, Savani & Hutter, "NAS-Bench-x11 and the Power of Learning Curves",
NeurIPS 2021).

A table that records learning curves (:mod:`nasbench.tables.benchmarks`: the own MNIST-1D
tables, ``E`` epochs) gives every row a curve ``c`` of ``E`` seed-mean validation accuracies, the
last one the table's ``E``-epoch value. NAS-Bench-x11's recipe, which :class:`CurveModel` follows:

1. **Compress**: centre the training rows' curves on their mean ``mu`` and keep
   the first ``k`` right singular vectors ``V`` (``k x E``) of the centred matrix (PCA by SVD);
   a curve is ``mu + a V`` for its ``k`` coefficients ``a``. On the chain table three
   components keep 98.8% of the curves' variance (``results/curve_surrogate/README.md``).
2. **Predict the coefficients** from the architecture (the space's encoding plus the sparsity
   level): one multi-output random forest (Breiman 2001). x11's ``svd_lgb`` model fits
   LightGBM to the coefficients in a regressor chain; a forest shares one fit among them,
   needs no tuning and no further dependency.
3. **Reconstruct** the curve ``c_hat = mu + a_hat V``.

The surrogate benchmark's final answer comes from its own surrogate (``v_E``, the model chosen per
table for its held-out Kendall tau), and must stay exactly what it is, so the curve is tied to
it: ``curve(e) = c_hat(e) + beta_e (v_E - c_hat(E))``. ``beta_e`` is the least-squares slope of
the curve model's out-of-bag residual at epoch ``e`` on its residual at ``E``, on the training
rows: how much of an error in the final accuracy shows ``e`` epochs in. ``beta_E = 1``, so
``curve(E) = v_E`` exactly; early epochs, which say little about the final accuracy
(``beta_1 = 0.3`` on chain), keep the curve model's own level. Where the curve model knows
nothing beyond the mean curve, this is the mean curve shifted by the final answer's
regression on it.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.uniform(size=(200, 3))
>>> epochs = np.arange(1, 7)
>>> curves = X[:, :1] * (1 - np.exp(-epochs / (1 + 3 * X[:, 1:2])))  # made-up curves
>>> model = CurveModel(n_components=3, n_estimators=30).fit(X, curves, np.random.default_rng(1))
>>> model.components_.shape, round(float(model.explained_[-1]), 4), float(model.beta_[-1])
((3, 6), 1.0, 1.0)
>>> fitted = model.predict(X[:5], final=curves[:5, -1])
>>> bool(np.all(fitted[:, -1] == curves[:5, -1])), bool(np.abs(fitted - curves[:5]).max() < 0.1)
(True, True)
"""

# ruff: noqa: N803  (``X`` for inputs, the scikit-learn convention)

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
from sklearn.ensemble import RandomForestRegressor

from nasbench.core.errors import NasbenchError
from nasbench.core.surrogate import check_fitted, random_state, vectors
from nasbench.tables.surrogate_benchmark import NoiseModel, TableData, fit_noise_model


class CurveModel:
    """Predict learning curves from architecture features (module docstring).

    ``n_components`` (>= 1, at most ``E``) singular vectors; a forest of ``n_estimators`` trees
    with ``min_samples_leaf`` samples per leaf predicts their coefficients. Learned by
    :meth:`fit`: ``mean_`` (E,), ``components_`` (k, E), ``explained_`` (k,: the cumulative
    share of the curves' variance the first components keep), ``beta_`` (E,), ``forest_``.
    """

    def __init__(self, n_components: int = 3, n_estimators: int = 100, min_samples_leaf: int = 2):
        if n_components < 1 or n_estimators < 1 or min_samples_leaf < 1:
            raise NasbenchError(
                "CurveModel needs n_components, n_estimators and min_samples_leaf >= 1, got "
                f"{n_components}, {n_estimators}, {min_samples_leaf}"
            )
        self.n_components = n_components
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf

    def fit(self, X: np.ndarray, curves: np.ndarray, rng: np.random.Generator) -> Self:
        """Fit on features ``X`` (n, d) and ``curves`` (n, E), finite, ``E >= 2``; draws one
        integer from ``rng`` (the forest's seed). Raises NasbenchError for bad shapes or too
        few rows (the forest's out-of-bag residuals need a dozen)."""
        x, y = vectors(X), np.asarray(curves, dtype=np.float64)
        if y.ndim != 2 or len(y) != len(x) or y.shape[1] < 2 or not np.all(np.isfinite(y)):
            raise NasbenchError(
                f"curves must be finite, of shape ({len(x)}, E >= 2), got {y.shape}"
            )
        if len(x) < 12:
            raise NasbenchError(f"a curve model needs at least 12 curves, got {len(x)}")
        k = min(self.n_components, y.shape[1])
        self.mean_ = y.mean(axis=0)
        _, sing, vt = np.linalg.svd(y - self.mean_, full_matrices=False)
        self.components_ = vt[:k]
        power = sing**2
        self.explained_ = np.cumsum(power)[:k] / max(float(power.sum()), 1e-300)
        forest = RandomForestRegressor(
            n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf,
            oob_score=True, random_state=random_state(rng),
        )  # fmt: skip
        coefs = (y - self.mean_) @ self.components_.T
        self.forest_ = forest.fit(x, coefs if k > 1 else coefs[:, 0])  # one output: a vector
        self.n_features_ = x.shape[1]
        oob = np.asarray(forest.oob_prediction_).reshape(len(x), k)
        residual = y - (self.mean_ + oob @ self.components_)
        finite = np.all(np.isfinite(residual), axis=1)  # rows in every tree's bag have none
        r = residual[finite] - residual[finite].mean(axis=0)
        scale = float(r[:, -1] @ r[:, -1])
        self.beta_ = (r.T @ r[:, -1]) / scale if scale > 0 else np.ones(y.shape[1])
        self.beta_[-1] = 1.0  # exactly: the final epoch is the final answer
        return self

    def coefficients(self, X: np.ndarray) -> np.ndarray:
        """Predicted component coefficients (n, k): the mean over the trees. Pure."""
        check_fitted(self, "forest_")
        x = np.ascontiguousarray(vectors(X, self.n_features_), dtype=np.float32)
        # each tree's own ``tree_.predict`` (as :mod:`nasbench.surrogates.random_forest`): the
        # forest's answer without its per-call input checks, a millisecond per tree
        trees = [t.tree_.predict(x)[:, :, 0] for t in self.forest_.estimators_]
        return np.asarray(np.mean(trees, axis=0))

    def predict(self, X: np.ndarray, final: np.ndarray | None = None) -> np.ndarray:
        """Predicted curves (n, E). With ``final`` (n,), each curve is tied to that final
        value: ``c_hat + beta (final - c_hat[E])``, whose last column is ``final`` exactly
        (NaN rows stay NaN). Pure; draws no randomness."""
        curves = self.mean_ + self.coefficients(X) @ self.components_
        if final is None:
            return np.asarray(curves)
        shift = np.asarray(final, dtype=np.float64) - curves[:, -1]
        tied = curves + shift[:, None] * self.beta_[None, :]
        tied[:, -1] = final
        return np.asarray(tied)


# ---- a table's curves ------------------------------------------------------------------------
@dataclass(frozen=True)
class Curves:
    """The recorded learning curves of a :class:`TableData`'s rows.

    ``values`` (n, E): the seed-mean validation accuracy after each epoch, the last column the
    table's ``E``-epoch value (``data.val``); NaN where a row's curve is not recorded.
    ``seeds[e - 1]``: per row the recorded per-seed values after epoch ``e`` (``None`` where the
    table has no per-seed curves)."""

    values: np.ndarray
    seeds: tuple[tuple[tuple[float, ...], ...] | None, ...]

    @property
    def epochs(self) -> int:
        return int(self.values.shape[1])


def table_curves(data: TableData) -> Curves:
    """The learning curves of ``data``'s rows, read with ``table.fidelity(e)`` for every epoch.
    Raises NasbenchError when the table records no learning curves."""
    table = data.table
    if table.epochs is None:
        raise NasbenchError(
            f"benchmark {table.name!r} records no learning curves (columns 'curve', 'run_curve' "
            "of one value per epoch), so its surrogate benchmark answers only its final epoch"
        )
    rows = data.table_rows
    answers = [table.fidelity(e) for e in range(1, table.epochs + 1)]
    values = np.stack([a.val[rows] for a in answers[:-1]] + [data.val], axis=1)
    seeds = tuple(
        None if a.val_seeds is None else tuple(a.val_seeds[i] for i in rows) for a in answers
    )
    return Curves(values, seeds)


def epoch_noise_models(data: TableData, curves: Curves) -> tuple[NoiseModel, ...]:
    """Per epoch ``e`` (index ``e - 1``) the seed-noise model of the validation accuracy after
    ``e`` epochs: :func:`~nasbench.tables.surrogate_benchmark.fit_noise_model` on the recorded
    per-seed values at ``e`` against their seed mean (so the spread is a function of the
    accuracy at that epoch, as at ``E``); the last is ``data.noise_model()`` itself, so the
    final epoch keeps the noise it always had. Deterministic."""
    models = []
    for e in range(1, curves.epochs):
        seeds = curves.seeds[e - 1] or tuple(() for _ in range(len(data)))
        models.append(fit_noise_model(curves.values[:, e - 1], data.sparsity, seeds))
    return (*models, data.noise_model())
