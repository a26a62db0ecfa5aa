"""A new surrogate in one file: the mean and spread of the k nearest recorded architectures.

Use it with ``nasbench surrogate-eval --surrogate knn_surrogate:KNN`` or
``surrogate = "knn_surrogate:KNN"`` in a suite (this folder on the Python path).
"""

import numpy as np

from nasbench import InputKind, Prediction, check_fitted, targets, vectors


class KNN:
    """Mean and spread of the k nearest recorded architectures."""

    input_kind = InputKind.VECTOR

    def __init__(self, k: int = 5) -> None:
        self.k = k  # hyperparameters only; learned attributes end in _

    def fit(self, X, y, rng: np.random.Generator) -> "KNN":
        self.x_ = vectors(X).copy()
        self.y_ = targets(y, len(self.x_)).copy()
        return self

    def predict(self, X) -> Prediction:
        check_fitted(self, "x_")
        x = vectors(X, self.x_.shape[1])
        dist = ((x[:, None, :] - self.x_[None, :, :]) ** 2).sum(axis=2)
        near = self.y_[np.argsort(dist, axis=1, kind="stable")[:, : self.k]]
        return Prediction(near.mean(axis=1), near.std(axis=1))
