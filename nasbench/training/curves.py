"""Learning-curve extrapolation: an ensemble of parametric curve families fitted by least squares.

After Domhan, Springenberg & Hutter, "Speeding up Automatic Hyperparameter Optimization of Deep
Neural Networks by Extrapolation of Learning Curves", IJCAI 2015 (below: *the paper*). A curve
``y_1 .. y_k`` (validation accuracy in [0, 1] after epochs ``1 .. k``) is fitted with every family
below; the fits are combined into a predictive distribution of the accuracy at a target epoch ``m``,
and a run is stopped when that distribution says it is unlikely to beat the incumbent.

>>> import numpy as np
>>> t = np.arange(1, 11)  # ten epochs of a pow3 curve; its value at epoch 50 is 0.878
>>> pred = extrapolate(0.9 - 0.5 * t**-0.8, target_epoch=50)
>>> round(pred.mean, 2), pred.std < 0.05
(0.88, True)
>>> pred.families  # log_log_linear is dropped: it would pass 1 by epoch 50
('pow3', 'pow4', 'hill3', 'mmf', 'janoschek', 'vapor_pressure', 'ilog2')
>>> pred.prob_above(0.8) > 0.99 and pred.prob_above(0.95) < 0.05
True
>>> should_stop(0.9 - 0.5 * t**-0.8, 50, incumbent=0.95), should_stop(0.9 - 0.5 * t**-0.8, 50, 0.8)
(True, False)

**Families** (the paper's Table 1; ``x`` is the epoch, every family is fitted in the equivalent
parametrisation written here, which keeps the parameters of order one):

- ``pow3``: ``u - s x^-a`` (paper: ``c - a x^-alpha``);
- ``pow4``: ``u - s ((x + d) / (1 + d))^-a`` (paper: ``c - (a x + b)^-alpha``);
- ``log_log_linear``: ``log(a log x + b)``;
- ``hill3``: ``u x^e / (k^e + x^e)`` (paper: ``y_max x^eta / (kappa^eta + x^eta)``);
- ``mmf``: ``u - s (1 + k^e) / (1 + (k x)^e)`` (paper: ``alpha - (alpha - beta) / (1 + (kappa
  x)^delta)``);
- ``janoschek``: ``u - s exp(-k (x^e - 1))`` (paper: ``alpha - (alpha - beta) exp(-kappa
  x^delta)``);
- ``vapor_pressure``: ``exp(a + b / x + c log x)``;
- ``ilog2``: ``u - s log 2 / log(x + 1)`` (paper: ``c - a / log x``).

Three of the paper's eleven are the same function sets as others and are not fitted twice (an
ensemble of least-squares fits would only count them twice): log power ``a / (1 + (x / e^b)^c)``
is Hill3 with ``k = e^b, e = -c``; exp4 ``c - e^(-a x^alpha + b)`` and Weibull
``alpha - (alpha - beta) e^(-(kappa x)^delta)`` are Janoschek with other names for the parameters.
ilog2 uses ``log(x + 1)`` so that it is finite at the first epoch.

**Fitting.** Each family is fitted with ``scipy.optimize.least_squares`` (trust-region reflective,
within bounds) from a deterministic start: a closed-form linear regression where the family is
linear after a transform, else the best point of a fixed grid over the nonlinear parameters with
the linear ones solved exactly; at most ``20 p`` evaluations for ``p`` parameters (a fit that
needs more sits in a flat, degenerate region, e.g. a curve stuck near chance, where more
iterations barely move the prediction). The bounds keep every family non-decreasing in ``x``
(``s >= 0``, ``a >= 0``, vapor pressure ``b <= 0, c >= 0``, ...) and asymptotes ``u <= 1``: the
paper's prior rules out combined curves that decrease (learning curves rise); here no family can,
and a fit that still predicts less at the target than at the last observed epoch is dropped, as
is one that predicts an accuracy above 1 (the unbounded vapor pressure and log-log-linear can, far
out). A family is used only with more observations than parameters; a fit that raises or is not
finite is dropped.

**Predictive distribution of one family** at epoch ``m``: a Gaussian with mean
``mu_k = clip(f_k(m), 0, 1)`` and variance ``sigma_k^2 + g' C g``, where ``C = sigma_k^2 (J'J)^+``
is the linearised (Laplace) parameter covariance from the Jacobian ``J`` of the fit and ``g`` the
gradient of ``f_k(m)`` in the parameters (both by finite differences); the standard deviation is
capped at ``MAX_STD``. The noise ``sigma_k^2`` is the residual variance ``SSR_k / (n - p_k)``, but
never below a model-free estimate from second differences, ``(median |y_{i+1} - 2 y_i + y_{i-1}|
/ 0.6745)^2 / 6`` (a difference-based variance estimator as in Gasser, Sroka & Jennen-Steinmetz,
Biometrika 1986, with a median so that the steep start of a curve does not inflate it), nor below
``NOISE_FLOOR``: a flexible family fitted to few points otherwise claims almost no noise.

**Weights: leave-last-out.** Each family is refitted without the last ``HOLDOUT_FRACTION`` of
the curve (at least one point) and scored by the mean log density of its Gaussian predictions for
the held-out points; ``w_k ∝ exp(score_k)`` (pseudo-Bayesian model averaging, Yao et al.,
Bayesian Analysis 2018). That scores what matters here, extrapolation, rather than in-sample fit:
BIC weights, tried first, put nearly all weight on whichever flexible family fitted the observed
noise best and were badly overconfident on real curves. The mean (not the sum) over held-out
points tempers the weights, since one curve's held-out errors are strongly correlated. A family
with too many parameters to be refitted on the shortened curve gets the median score of those
that could be (no evidence either way; scoring it 0 let the two-parameter families take all the
weight on 4-5 point curves and made them overconfident); one whose held-out fit fails or is
dropped gets weight 0; when no family can be scored, the weights are equal.

**Where this differs from the paper**, which samples the weights, parameters and one shared
noise of the linear combination ``f_comb = sum_k w_k f_k`` by MCMC: weights come from held-out
predictive fit instead of being sampled, each family keeps its own noise, parameter uncertainty
is a Laplace approximation instead of posterior samples, and the prediction is a *mixture* of the
families' Gaussians rather than a Gaussian around a combined curve. Each family's mean is
clipped to [0, 1]; the noise around it is an untruncated Gaussian, as in the paper's likelihood.

**Fallback.** When every family fails, the prediction is the last observed value with a standard
deviation of ``FALLBACK_STD`` (wide, so that :func:`should_stop` stops only clearly bad curves) and
the single component name ``"last_value"``.

Everything is deterministic (no randomness is drawn): the same curve gives bit-identical output.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np
from scipy.optimize import least_squares
from scipy.special import ndtr

from nasbench.core.errors import NasbenchError

NOISE_FLOOR = 1e-3  # smallest residual noise a family may claim (accuracy units)
MAX_STD = 0.5  # cap on one family's predictive standard deviation (accuracy lives in [0, 1])
FALLBACK_STD = 0.2  # standard deviation of the last-value fallback
HOLDOUT_FRACTION = 0.2  # share of the curve held out to weight the families

Array = np.ndarray
Curve = Callable[[Array, Array], Array]
CurveLike = Sequence[float] | np.ndarray  # validation accuracies after epochs 1, 2, ...


@dataclass(frozen=True)
class CurvePrediction:
    """The predictive distribution of the accuracy at the target epoch: a Gaussian mixture.

    ``mean`` and ``std`` are the mixture's moments (accuracy units; ``mean`` in [0, 1]);
    ``families`` names the components and ``weights`` (summing to 1) are their weights;
    ``family_means`` and ``family_stds`` are the components' parameters (empty: one Gaussian
    ``N(mean, std^2)``).
    """

    mean: float
    std: float
    families: tuple[str, ...]
    weights: tuple[float, ...]
    family_means: tuple[float, ...] = ()
    family_stds: tuple[float, ...] = ()

    def prob_above(self, threshold: float) -> float:
        """``P(y_m > threshold)`` under the mixture; non-increasing in ``threshold``.
        Raises :class:`NasbenchError` when ``threshold`` is nan."""
        if math.isnan(threshold):
            raise NasbenchError("prob_above needs a threshold in [0, 1], got nan")
        means = np.asarray(self.family_means or (self.mean,), dtype=float)
        stds = np.asarray(self.family_stds or (self.std,), dtype=float)
        weights = np.asarray(self.weights if self.family_means else (1.0,), dtype=float)
        tail = ndtr((means - float(threshold)) / np.maximum(stds, 1e-12))
        return float(min(1.0, max(0.0, float(weights @ tail))))


@dataclass(frozen=True)
class _Family:
    """One parametric family: ``f(x, theta)``, box bounds and a deterministic starting point."""

    name: str
    f: Curve
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    start: Callable[[Array, Array], Array]


def _grid_start(
    g: Callable[..., Array], grids: Sequence[Sequence[float] | Array], through_zero: bool
) -> Callable[[Array, Array], Array]:
    """A start for ``u - s g(x, *phi)`` (or ``u (1 - g)`` when ``through_zero``): the best point
    of the grid over ``phi`` with ``u, s`` solved by linear least squares, clipped to [0, 1] and
    [0, 2]. Returns ``start(x, y) -> (u, s, *phi)`` or ``(u, *phi)``."""
    points = np.array(list(product(*grids)), dtype=float)

    def start(x: Array, y: Array) -> Array:
        with np.errstate(all="ignore"):
            basis = np.stack([g(x, *p) for p in points])  # (G, n)
        if through_zero:
            h = 1.0 - basis
            u = np.clip((h @ y) / np.maximum((h * h).sum(1), 1e-12), 0.0, 1.0)
            s = u
        else:
            gm, ym = basis.mean(1), y.mean()
            gc = basis - gm[:, None]
            s = np.clip(-(gc @ (y - ym)) / np.maximum((gc * gc).sum(1), 1e-12), 0.0, 2.0)
            u = np.clip(ym + s * gm, 0.0, 1.0)
        sse = ((u[:, None] - s[:, None] * basis - y) ** 2).sum(1)
        best = int(np.nanargmin(np.where(np.isfinite(sse), sse, np.inf)))
        head = (u[best],) if through_zero else (u[best], s[best])
        return np.array([*head, *points[best]])

    return start


def _linear_start(
    design: Callable[[Array], Array], transform: Callable[[Array], Array]
) -> Callable[[Array, Array], Array]:
    """A start from the linear regression ``transform(y) ~ design(x) @ theta``."""

    def start(x: Array, y: Array) -> Array:
        return np.linalg.lstsq(design(x), transform(y), rcond=None)[0]

    return start


def _pow4_g(x: Array, d: float | Array, a: float | Array) -> Array:
    return ((x + d) / (1.0 + d)) ** -a


def _mmf_g(x: Array, k: float | Array, e: float | Array) -> Array:
    return (1.0 + k**e) / (1.0 + (k * x) ** e)


def _janoschek_g(x: Array, k: float | Array, e: float | Array) -> Array:
    return np.exp(-k * (x**e - 1.0))


def _hill3_g(x: Array, k: float | Array, e: float | Array) -> Array:
    return 1.0 / (1.0 + (x / k) ** e)  # 1 - x^e / (k^e + x^e)


_POWERS = np.geomspace(0.05, 4.0, 10)
_RATES = np.geomspace(1e-3, 2.0, 10)
_SHAPES = (0.3, 0.6, 1.0, 1.5, 2.5)

FAMILIES: tuple[_Family, ...] = (
    _Family("pow3", lambda x, t: t[0] - t[1] * x ** -t[2],
            (0.0, 0.0, 1e-3), (1.0, 5.0, 10.0),
            _grid_start(lambda x, a: x**-a, [_POWERS], False)),
    _Family("pow4", lambda x, t: t[0] - t[1] * _pow4_g(x, t[2], t[3]),
            (0.0, 0.0, -0.99, 1e-3), (1.0, 5.0, 1e3, 50.0),
            _grid_start(_pow4_g, [(-0.5, 0.0, 2.0, 10.0, 50.0), _POWERS], False)),
    _Family("log_log_linear", lambda x, t: np.log(t[0] * np.log(x) + t[1]),
            (0.0, 1e-3), (100.0, 10.0),
            _linear_start(lambda x: np.stack([np.log(x), np.ones_like(x)], 1), np.exp)),
    _Family("hill3", lambda x, t: t[0] * (1.0 - _hill3_g(x, t[1], t[2])),
            (0.0, 1e-3, 1e-2), (1.0, 1e4, 20.0),
            _grid_start(_hill3_g, [np.geomspace(0.1, 200.0, 10), _SHAPES], True)),
    _Family("mmf", lambda x, t: t[0] - t[1] * _mmf_g(x, t[2], t[3]),
            (0.0, 0.0, 1e-4, 1e-2), (1.0, 5.0, 1e2, 20.0),
            _grid_start(_mmf_g, [np.geomspace(5e-3, 10.0, 10), _SHAPES], False)),
    _Family("janoschek", lambda x, t: t[0] - t[1] * _janoschek_g(x, t[2], t[3]),
            (0.0, 0.0, 1e-6, 1e-2), (1.0, 5.0, 10.0, 3.0),
            _grid_start(_janoschek_g, [_RATES, _SHAPES], False)),
    _Family("vapor_pressure", lambda x, t: np.exp(t[0] + t[1] / x + t[2] * np.log(x)),
            (-20.0, -20.0, 0.0), (5.0, 0.0, 5.0),
            _linear_start(lambda x: np.stack([np.ones_like(x), 1.0 / x, np.log(x)], 1),
                          lambda y: np.log(np.maximum(y, 1e-3)))),
    _Family("ilog2", lambda x, t: t[0] - t[1] * math.log(2.0) / np.log(x + 1.0),
            (0.0, 0.0), (2.0, 5.0),
            _linear_start(lambda x: np.stack([np.ones_like(x), -math.log(2.0) / np.log(x + 1.0)],
                                             1), lambda y: y)),
)  # fmt: skip


@dataclass(frozen=True)
class _Fit:
    """One family's Gaussian predictions at some epochs: means (clipped to [0, 1]) and stds."""

    means: Array
    stds: Array


def _jacobian(fam: _Family, theta: Array, x: Array) -> Array:
    """``d f(x) / d theta`` by one-sided differences stepping into the box (shape (len(x), p))."""
    lower, upper = np.asarray(fam.lower), np.asarray(fam.upper)
    f0 = fam.f(x, theta)
    jac = np.empty((x.size, theta.size))
    for i in range(theta.size):
        h = 1e-7 * max(1.0, abs(theta[i]))
        if theta[i] + h > upper[i]:
            h = -h if theta[i] - h >= lower[i] else upper[i] - theta[i]
        step = theta.copy()
        step[i] += h
        jac[:, i] = (fam.f(x, step) - f0) / h if h != 0 else 0.0
    return jac


def _fit(fam: _Family, x: Array, y: Array, targets: Array, noise2_min: float) -> _Fit | None:
    """Least-squares fit of one family to ``y`` at epochs ``x`` and its Gaussian predictions at
    ``targets`` (all after ``x[-1]``); ``None`` when the family has as many parameters as points,
    or the fit fails, is not finite, decreases after the last observation or exceeds 1."""
    lower, upper = np.asarray(fam.lower), np.asarray(fam.upper)
    n, p = y.size, lower.size
    if n <= p:
        return None
    with np.errstate(all="ignore"):
        try:
            theta0 = np.clip(fam.start(x, y), lower, upper)
            res = least_squares(lambda t: fam.f(x, t) - y, theta0, bounds=(lower, upper),
                                method="trf", x_scale="jac", max_nfev=20 * p)  # fmt: skip
        except (ValueError, np.linalg.LinAlgError):
            return None
        grid = np.concatenate([x, targets])
        values = fam.f(grid, res.x)
        jac = _jacobian(fam, res.x, grid)
    if not (np.all(np.isfinite(values)) and np.all(np.isfinite(jac))):
        return None
    if np.any(values[n:] < values[n - 1] - 1e-9):  # the paper rejects curves that decrease
        return None
    if np.any(values[n:] > 1.0 + 1e-9):  # no accuracy exceeds 1
        return None
    noise2 = max(float(np.sum((values[:n] - y) ** 2)) / (n - p), noise2_min)
    cov = noise2 * np.linalg.pinv(jac[:n].T @ jac[:n])  # Laplace approximation
    param_var = np.einsum("ij,jk,ik->i", jac[n:], cov, jac[n:])
    stds = np.minimum(np.sqrt(noise2 + np.maximum(param_var, 0.0)), MAX_STD)
    return _Fit(np.clip(values[n:], 0.0, 1.0), stds)


def _holdout_score(fam: _Family, x: Array, y: Array, noise2_min: float) -> float | None:
    """Mean Gaussian log density of the last ``HOLDOUT_FRACTION`` of ``y`` (at least one point)
    under the family fitted to the rest; ``-inf`` when that fit fails, ``None`` when the rest has
    no more points than the family has parameters."""
    cut = y.size - max(1, round(HOLDOUT_FRACTION * y.size))
    if cut <= len(fam.lower):
        return None
    fit = _fit(fam, x[:cut], y[:cut], x[cut:], noise2_min)
    if fit is None:
        return -math.inf
    z = (y[cut:] - fit.means) / fit.stds
    return float(np.mean(-0.5 * z**2 - np.log(fit.stds)))


def _noise2_min(y: Array) -> float:
    """Lower bound on the noise variance: the second-difference estimate, or ``NOISE_FLOOR^2``."""
    robust_sd = float(np.median(np.abs(np.diff(y, 2)))) / 0.6745  # sd of y[i+1] - 2 y[i] + y[i-1]
    return max(robust_sd**2 / 6.0, NOISE_FLOOR**2)  # that difference has variance 6 sigma^2


def _validate(curve: CurveLike, target_epoch: int) -> Array:
    """``curve`` as a float array, checked; raises :class:`NasbenchError`."""
    try:
        y = np.asarray(curve, dtype=float)
    except (TypeError, ValueError) as err:
        raise NasbenchError(f"a curve must be a sequence of numbers, got {curve!r}") from err
    if y.ndim != 1 or y.size < 3:
        raise NasbenchError(f"a curve needs at least 3 epochs (one value each), got {curve!r}")
    bad = np.flatnonzero(~((y >= 0.0) & (y <= 1.0)))
    if bad.size:
        i = int(bad[0])
        raise NasbenchError(f"curve[{i}] = {float(y[i])} is not an accuracy (valid: 0 to 1)")
    if isinstance(target_epoch, bool) or not isinstance(target_epoch, int | np.integer):
        raise NasbenchError(f"target_epoch must be an integer, got {target_epoch!r}")
    if target_epoch < y.size:
        raise NasbenchError(
            f"target_epoch {target_epoch} is before the last observed epoch {y.size} "
            f"(valid: >= {y.size})"
        )
    return y


def extrapolate(curve: CurveLike, target_epoch: int) -> CurvePrediction:
    """Predict the accuracy after epoch ``target_epoch`` from ``curve``.

    ``curve[i]`` is the validation accuracy in [0, 1] after epoch ``i + 1`` (at least 3 values);
    ``target_epoch >= len(curve)``. Returns the mixture described in the module docstring.
    Deterministic, draws no randomness. Raises :class:`NasbenchError` for fewer than 3 values,
    a value outside [0, 1] or nan, or a bad ``target_epoch``.
    """
    y = _validate(curve, target_epoch)
    x = np.arange(1.0, y.size + 1.0)
    noise2 = _noise2_min(y)
    target = np.array([float(target_epoch)])
    fitted = [
        (fam, fit) for fam in FAMILIES if (fit := _fit(fam, x, y, target, noise2)) is not None
    ]
    if not fitted:
        last = float(y[-1])
        return CurvePrediction(last, FALLBACK_STD, ("last_value",), (1.0,), (last,),
                               (FALLBACK_STD,))  # fmt: skip
    scores = [_holdout_score(fam, x, y, noise2) for fam, _ in fitted]
    known = [s for s in scores if s is not None and math.isfinite(s)]
    fill = float(np.median(known)) if known else 0.0  # unscored families: no evidence either way
    score = np.array([fill if s is None else s for s in scores])
    if not np.any(np.isfinite(score)):  # every held-out fit failed: equal weights
        score = np.zeros(len(fitted))
    w = np.exp(score - score.max())
    w /= w.sum()
    means = np.array([fit.means[0] for _, fit in fitted])
    stds = np.array([fit.stds[0] for _, fit in fitted])
    mean = float(np.clip(w @ means, 0.0, 1.0))
    var = float(w @ (stds**2 + (means - mean) ** 2))
    return CurvePrediction(
        mean=mean,
        std=math.sqrt(max(var, 0.0)),
        families=tuple(fam.name for fam, _ in fitted),
        weights=tuple(float(v) for v in w),
        family_means=tuple(float(v) for v in means),
        family_stds=tuple(float(v) for v in stds),
    )


def should_stop(
    curve: CurveLike, target_epoch: int, incumbent: float, threshold: float = 0.05
) -> bool:
    """Domhan et al.'s rule: stop when ``P(y_target > incumbent) < threshold``.

    ``incumbent`` is the best final accuracy so far, in [0, 1]; ``threshold`` in (0, 1) (the
    paper uses 0.05). Raises :class:`NasbenchError` for bad arguments (see :func:`extrapolate`).
    """
    if not 0.0 <= incumbent <= 1.0:
        raise NasbenchError(f"incumbent must be an accuracy in [0, 1], got {incumbent!r}")
    if not 0.0 < threshold < 1.0:
        raise NasbenchError(f"threshold must be a probability in (0, 1), got {threshold!r}")
    return extrapolate(curve, target_epoch).prob_above(incumbent) < threshold
