"""Gaussian-process regression with a Matérn 5/2 kernel and fitted noise.

>>> import numpy as np
>>> X = np.linspace(0.0, 1.0, 30)[:, None]
>>> gp = GaussianProcess().fit(X, np.sin(6.0 * X[:, 0]), np.random.default_rng(0))
>>> p = gp.predict(np.array([[0.5], [3.0]]))
>>> bool(abs(p.mean[0] - np.sin(3.0)) < 0.05), bool(p.std[1] > 10 * p.std[0])
(True, True)

Rasmussen & Williams, *Gaussian Processes for Machine Learning* (MIT Press, 2006): the kernel is
``C * Matern(nu) + White`` (eq. 4.14 for the Matérn class; the white-noise term models noisy
accuracies), hyperparameters by maximising the log marginal likelihood (eq. 5.8) with L-BFGS-B
from the initial point plus ``n_restarts`` random starts, as scikit-learn's
``GaussianProcessRegressor`` does. Targets are normalised (``normalize_y``) and inputs
standardised per column, so one set of hyperparameter bounds suits accuracies in [0, 1] or
[0, 100] and one-hot or continuous encodings alike. The length scale is sought in units of the
typical distance between standardised points, ``sqrt(d)`` for ``d`` features (starting there,
bounded to [0.1, 100] times it), and the noise starts at a tenth of the normalised variance.
With absolute bounds (1e-2 to 1e3, starting at 1) and the noise starting at 1e-2, the optimiser,
restarts included, ended at the pure-noise optimum on the MNIST-1D cell and multi-branch
encodings (169 and 57 features): every prediction the training mean, Kendall tau undefined. From
the scaled start one optimiser run reaches the optimum the restarts find (100 multi-branch
architectures: log marginal likelihood -353.3 against -425.7 with the old settings, Kendall tau
0.655 on held-out ones). ``std`` is the posterior predictive standard
deviation (noise included): it grows away from the data. This is the GP predictor of White et al.
(NeurIPS 2021).

Exact GP fitting costs O(n^3) time; with more than ``max_train`` points ``fit`` trains on a
random subset of ``max_train`` of them, drawn from ``rng``. ``fit`` and ``predict`` run BLAS on one
thread (scoped with ``threadpoolctl``, restored afterwards): at n <= 1500 a Cholesky factorisation
takes about 0.04 s on one core, while multi-threaded OpenBLAS on a busy two-core machine was
measured 50 to 1000 times slower (its threads spin against the other jobs).
"""

# ruff: noqa: N803  (``X`` for inputs, the scikit-learn convention the interface follows)

from __future__ import annotations

import math
import warnings
from typing import ClassVar, Self

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from threadpoolctl import threadpool_limits

from nasbench.core.params import Configurable, param
from nasbench.core.registry import surrogates
from nasbench.core.surrogate import (
    InputKind,
    Prediction,
    Standardizer,
    SurrogateInput,
    check_fitted,
    random_state,
    targets,
    vectors,
)

NUS = (0.5, 1.5, 2.5, math.inf)  # Matérn orders with closed forms (inf: squared exponential)


@surrogates.register("gaussian_process")
class GaussianProcess(Configurable):
    """Exact GP surrogate over vector inputs.

    ``nu`` the Matérn smoothness (one of 0.5, 1.5, 2.5, inf); ``n_restarts`` (>= 0) extra
    optimiser starts; ``max_train`` (>= 2) the most training points used. ``fit`` draws one
    integer (the optimiser's ``random_state``) and, when subsampling, the subset from ``rng``.
    """

    input_kind: ClassVar[InputKind] = InputKind.VECTOR

    nu: float = param(2.5, choices=NUS)
    n_restarts: int = param(2, ge=0)
    max_train: int = param(1500, ge=2)

    def fit(self, X: SurrogateInput, y: np.ndarray, rng: np.random.Generator) -> Self:
        """Fit kernel hyperparameters and the posterior on ``X`` (n, d), ``y`` (n,)."""
        x = vectors(X)
        t = targets(y, len(x))
        seed = random_state(rng)
        if len(x) > self.max_train:
            keep = np.sort(rng.choice(len(x), size=self.max_train, replace=False))
            x, t = x[keep], t[keep]
        self.scaler_ = Standardizer.fit(x)
        scale = math.sqrt(x.shape[1])  # standardised points lie about sqrt(2 d) apart
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
            length_scale=scale, length_scale_bounds=(0.1 * scale, 100.0 * scale), nu=self.nu
        ) + WhiteKernel(noise_level=0.1, noise_level_bounds=(1e-8, 1.0))
        gp = GaussianProcessRegressor(
            kernel, normalize_y=True, n_restarts_optimizer=self.n_restarts, random_state=seed
        )
        with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
            # a hyperparameter at its bound (noise at its floor on noise-free data) is harmless
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.gp_ = gp.fit(self.scaler_.transform(x), t)
        self.n_features_ = x.shape[1]
        return self

    def predict(self, X: SurrogateInput) -> Prediction:
        """Posterior predictive mean and standard deviation, shape (n,) each."""
        check_fitted(self, "gp_")
        x = self.scaler_.transform(vectors(X, self.n_features_))
        with threadpool_limits(limits=1, user_api="blas"):
            mean, std = self.gp_.predict(x, return_std=True)
        return Prediction(mean, np.maximum(std, 0.0))
