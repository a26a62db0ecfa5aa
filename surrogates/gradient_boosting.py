"""Gradient-boosted trees, bagged: an ensemble of boosted models on bootstrap resamples.

>>> import numpy as np
>>> X = np.random.default_rng(1).uniform(-1.0, 1.0, size=(200, 2))
>>> y = X[:, 0] ** 2 + X[:, 1]
>>> gbt = GradientBoosting(n_members=3).fit(X, y, np.random.default_rng(0))
>>> p = gbt.predict(np.array([[0.0, -0.5], [0.0, 0.5]]))
>>> bool(np.abs(p.mean - [-0.5, 0.5]).max() < 0.15), bool((p.std > 0).all())
(True, True)

Friedman, "Greedy Function Approximation: A Gradient Boosting Machine" (Annals of Statistics,
2001): least-squares boosting of depth-limited regression trees with shrinkage
``learning_rate``, each tree fitted on a random fraction ``subsample`` of the rows (Friedman,
"Stochastic Gradient Boosting", 2002), as scikit-learn's ``GradientBoostingRegressor``. One
boosted model gives no uncertainty, so ``n_members`` models are fitted on bootstrap resamples of
the data (Breiman's bagging, 1996) and ``std`` is their spread, as for the tree-based predictors
of White et al. (NeurIPS 2021).

Why not the faster ``HistGradientBoostingRegressor``: it runs on scikit-learn's OpenMP runtime,
and with torch's own OpenMP runtime loaded in the same process (always, here) the two spin
against each other on a busy machine: fits measured 100 times slower on two shared cores.
``GradientBoostingRegressor`` is single-threaded.
"""

# ruff: noqa: N803  (``X`` for inputs, the scikit-learn convention the interface follows)

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor

from nasbench.core.params import Configurable, param
from nasbench.core.registry import surrogates
from nasbench.core.surrogate import (
    InputKind,
    Prediction,
    SurrogateInput,
    check_fitted,
    member_spread,
    random_state,
    targets,
    vectors,
)


@surrogates.register("gradient_boosting")
class GradientBoosting(Configurable):
    """Bagged gradient-boosted trees over vector inputs.

    ``n_members`` (>= 1) boosted models; each has ``n_estimators`` (>= 1) trees of depth
    ``max_depth`` (>= 1) with ``min_samples_leaf`` (>= 1) samples per leaf, shrunk by
    ``learning_rate`` in (0, 1] and fitted on a fraction ``subsample`` in (0, 1] of the rows.
    ``fit`` draws each member's bootstrap indices and ``random_state`` from ``rng``.
    """

    input_kind: ClassVar[InputKind] = InputKind.VECTOR

    n_members: int = param(5, ge=1)
    n_estimators: int = param(100, ge=1)
    learning_rate: float = param(0.1, gt=0.0, le=1.0)
    max_depth: int = param(3, ge=1)
    min_samples_leaf: int = param(3, ge=1)
    subsample: float = param(0.8, gt=0.0, le=1.0)

    def fit(self, X: SurrogateInput, y: np.ndarray, rng: np.random.Generator) -> Self:
        """Fit ``n_members`` boosted models, each on a bootstrap resample of ``X``, ``y``."""
        x = vectors(X)
        t = targets(y, len(x))
        members = []
        for _ in range(self.n_members):
            rows = rng.integers(0, len(x), size=len(x))
            model = GradientBoostingRegressor(
                learning_rate=self.learning_rate,
                n_estimators=self.n_estimators,
                max_depth=self.max_depth,
                min_samples_leaf=self.min_samples_leaf,
                subsample=self.subsample,
                random_state=random_state(rng),
            )
            members.append(model.fit(x[rows], t[rows]))
        self.members_ = members
        self.n_features_ = x.shape[1]
        return self

    def predict(self, X: SurrogateInput) -> Prediction:
        """Mean and standard deviation over the members, shape (n,) each."""
        check_fitted(self, "members_")
        x = vectors(X, self.n_features_)
        return member_spread(np.stack([m.predict(x) for m in self.members_]))
