"""Any scikit-learn-compatible regressor as a surrogate, named by its import path.

>>> import numpy as np
>>> X = np.random.default_rng(1).uniform(-1.0, 1.0, size=(50, 3))
>>> ridge = SklearnSurrogate("sklearn.linear_model:Ridge", {"alpha": 1e-6})
>>> p = ridge.fit(X, X @ [1.0, -2.0, 0.5], np.random.default_rng(0)).predict(X[:2])
>>> bool(np.allclose(p.mean, X[:2] @ [1.0, -2.0, 0.5], atol=1e-4)), p.std.tolist()
(True, [0.0, 0.0])

``estimator`` is ``"package.module:Class"`` (the default is scikit-learn's extremely randomised
trees, Geurts, Ernst & Wehenkel, Machine Learning 2006) and ``params`` its constructor
arguments, as a config gives them::

    [surrogate]
    name = "sklearn"
    params = { estimator = "sklearn.neighbors:KNeighborsRegressor", params = { n_neighbors = 5 } }

The adapter keeps the surrogate contract for the wrapped model:

- ``random_state`` is drawn from ``fit``'s ``rng`` whenever the class accepts one (so do not pass
  it in ``params``); a class without one must be deterministic for the same-seed guarantee.
- ``std`` is, in order of preference: the model's own ``predict(X, return_std=True)`` (Gaussian
  processes, Bayesian linear models); the spread of the members' predictions for ensembles whose
  ``estimators_`` is a list of fitted models (forests, extra trees, bagging, voting); otherwise
  zeros (the model states no uncertainty). Boosting's ``estimators_`` are additive stages, not
  members, and keep zeros.

The class is imported at construction to check the path and the parameter names early (a bad
config fails before any training); only ``fit`` builds and stores a model.
"""

# ruff: noqa: N803  (``X`` for inputs, the scikit-learn convention the interface follows)

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Self

import numpy as np
from sklearn.base import ClassifierMixin, ClusterMixin, OutlierMixin

from nasbench.core.errors import NasbenchError
from nasbench.core.params import Configurable, param
from nasbench.core.registry import constructor_params, load_object, surrogates
from nasbench.core.surrogate import (
    InputKind,
    Prediction,
    SurrogateInput,
    check_fitted,
    random_state,
    targets,
    vectors,
)

NOT_REGRESSORS = (ClassifierMixin, ClusterMixin, OutlierMixin)


def regressor_class(path: str) -> type:
    """The class at ``"package.module:Class"``; NasbenchError naming ``path`` unless it is a
    class with ``fit`` and ``predict`` that is not a scikit-learn classifier, clusterer or
    outlier detector."""
    obj = load_object(path)
    if not isinstance(obj, type) or not all(
        callable(getattr(obj, method, None)) for method in ("fit", "predict")
    ):
        raise NasbenchError(f"sklearn: {path!r} is not a regressor class (needs fit and predict)")
    if issubclass(obj, NOT_REGRESSORS):
        raise NasbenchError(f"sklearn: {path!r} is not a regressor (a classifier or clusterer)")
    return obj


def member_predictions(model: Any, x: np.ndarray) -> np.ndarray | None:
    """Predictions (k, n) of an ensemble's members, or None when ``model`` has no list of
    fitted members (bagging's random feature subsets, ``estimators_features_``, respected)."""
    members = getattr(model, "estimators_", None)
    if not isinstance(members, list | tuple) or len(members) < 2:
        return None
    if not all(callable(getattr(m, "predict", None)) for m in members):
        return None
    features = getattr(model, "estimators_features_", None)
    if features is None:
        features = [slice(None)] * len(members)
    return np.stack([np.ravel(m.predict(x[:, f])) for m, f in zip(members, features, strict=True)])


@surrogates.register("sklearn")
class SklearnSurrogate(Configurable):
    """Adapter for any scikit-learn-style regressor over vector inputs.

    ``estimator`` the class as ``"package.module:Class"``; ``params`` its keyword arguments
    (names checked against its constructor; ``random_state`` not allowed, it comes from ``rng``).
    ``fit`` draws one integer from ``rng`` when the class takes a ``random_state``.
    """

    input_kind: ClassVar[InputKind] = InputKind.VECTOR

    estimator: str = param("sklearn.ensemble:ExtraTreesRegressor", expect="'package.module:Class'")
    params: dict[str, Any] | None = param(None, kind=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        valid = constructor_params(regressor_class(self.estimator))
        for key in self.params or {}:
            if key == "random_state":
                raise NasbenchError("sklearn: random_state is drawn from fit's rng; remove it")
            if key not in valid:
                raise NasbenchError(
                    f"sklearn: unknown parameter {key!r} for {self.estimator!r} "
                    f"(valid: {', '.join(valid) or 'none'})"
                )

    def fit(self, X: SurrogateInput, y: np.ndarray, rng: np.random.Generator) -> Self:
        """Build the regressor from ``params`` (plus a ``random_state`` from ``rng``) and fit it
        on ``X`` (n, d), ``y`` (n,); returns self."""
        x = vectors(X)
        t = targets(y, len(x))
        cls = regressor_class(self.estimator)
        params = dict(self.params or {})
        if "random_state" in constructor_params(cls):
            params["random_state"] = random_state(rng)
        try:
            model = cls(**params)
        except (TypeError, ValueError) as exc:
            raise NasbenchError(f"sklearn: bad params for {self.estimator!r}: {exc}") from exc
        self.model_ = model.fit(x, t)
        self.n_features_ = x.shape[1]
        return self

    def predict(self, X: SurrogateInput) -> Prediction:
        """The model's prediction with its own std, its members' spread, or zeros (n,)."""
        check_fitted(self, "model_")
        x = vectors(X, self.n_features_)
        if "return_std" in inspect.signature(self.model_.predict).parameters:
            mean, std = self.model_.predict(x, return_std=True)
            return Prediction(np.ravel(mean), np.maximum(np.ravel(std), 0.0))
        mean = np.ravel(self.model_.predict(x))
        members = member_predictions(self.model_, x)
        std = np.zeros(len(x)) if members is None else members.std(axis=0)
        return Prediction(mean, std)
