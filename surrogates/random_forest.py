"""Random forest regression with the spread of its trees as uncertainty.

>>> import numpy as np
>>> X = np.linspace(-1.0, 1.0, 60)[:, None]
>>> forest = RandomForest(n_estimators=20).fit(X, np.sign(X[:, 0]), np.random.default_rng(0))
>>> p = forest.predict(np.array([[-0.8], [0.8]]))
>>> [round(float(m), 2) for m in p.mean]
[-1.0, 1.0]

Breiman, "Random Forests" (Machine Learning, 2001), as scikit-learn's
``RandomForestRegressor``: bagged CART trees, each split chosen among a random fraction
``max_features`` of the features. The prediction is the mean over trees; ``std`` is the standard
deviation over the trees' predictions, the usual random-forest uncertainty of SMAC (Hutter et al.,
LION 2011) and of the random-forest predictor in White et al. (NeurIPS 2021). It is zero where
every tree agrees, for example on a training point of a noise-free target with
``min_samples_leaf=1``.
"""

# ruff: noqa: N803  (``X`` for inputs, the scikit-learn convention the interface follows)

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np
from sklearn.ensemble import RandomForestRegressor

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


@surrogates.register("random_forest")
class RandomForest(Configurable):
    """Random forest surrogate over vector inputs.

    ``n_estimators`` trees (>= 1); ``min_samples_leaf`` (>= 1) samples per leaf;
    ``max_features`` the fraction (0, 1] of features tried at each split. ``fit`` draws one
    integer from ``rng`` (the forest's ``random_state``).
    """

    input_kind: ClassVar[InputKind] = InputKind.VECTOR

    n_estimators: int = param(100, ge=1)
    min_samples_leaf: int = param(1, ge=1)
    max_features: float = param(1.0, gt=0.0, le=1.0)

    def fit(self, X: SurrogateInput, y: np.ndarray, rng: np.random.Generator) -> Self:
        """Fit the forest on ``X`` (n, d) and ``y`` (n,); returns self."""
        x = vectors(X)
        forest = RandomForestRegressor(
            n_estimators=self.n_estimators,
            min_samples_leaf=self.min_samples_leaf,
            max_features=float(self.max_features),
            random_state=random_state(rng),
        )
        self.forest_ = forest.fit(x, targets(y, len(x)))
        self.n_features_ = x.shape[1]
        return self

    def predict(self, X: SurrogateInput) -> Prediction:
        """Mean and standard deviation over the trees' predictions, shape (n,) each."""
        check_fitted(self, "forest_")
        x = np.ascontiguousarray(vectors(X, self.n_features_), dtype=np.float32)
        # each fitted tree's own ``tree_.predict`` (what ``DecisionTreeRegressor.predict`` calls
        # after validating its input again): the same values, without a millisecond of checks
        # per tree, so that one query costs about 1 ms instead of 45 ms
        trees = [t.tree_.predict(x).reshape(len(x), -1)[:, 0] for t in self.forest_.estimators_]
        return member_spread(np.stack(trees))
