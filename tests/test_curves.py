"""Learning-curve extrapolation (nasbench.training.curves): accuracy and calibration on curves drawn from
known families with seeded noise, the stopping rule, robustness, determinism and input checks."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest

import nasbench.training.curves as curves
from nasbench.core.errors import NasbenchError
from nasbench.training.curves import CurvePrediction, extrapolate, should_stop

TARGET = 50


def _exp(t: np.ndarray, r: np.ndarray) -> np.ndarray:
    return r[0] - r[1] * np.exp(-r[2] * t)


def _pow(t: np.ndarray, r: np.ndarray) -> np.ndarray:
    return r[0] - r[1] * t ** -r[2]


def _mmf(t: np.ndarray, r: np.ndarray) -> np.ndarray:
    return r[0] - (r[0] - r[1]) / (1.0 + (r[2] * t) ** r[3])


def _weibull(t: np.ndarray, r: np.ndarray) -> np.ndarray:
    return r[0] - (r[0] - r[1]) * np.exp(-((r[2] * t) ** r[3]))


def _hill(t: np.ndarray, r: np.ndarray) -> np.ndarray:
    return r[0] * t ** r[2] / (r[1] ** r[2] + t ** r[2])


# Each truth draws its parameters (asymptote in [0.7, 0.97] and a curve that is still rising)
# from the seeded generator handed in.
TRUTHS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], Callable]] = {
    "exp": (_exp, lambda g: g.uniform((0.7, 0.3, 0.05), (0.97, 0.6, 0.4))),
    "pow3": (_pow, lambda g: g.uniform((0.7, 0.3, 0.3), (0.97, 0.6, 1.5))),
    "mmf": (_mmf, lambda g: g.uniform((0.7, 0.1, 0.05, 0.8), (0.97, 0.4, 0.5, 2.5))),
    "weibull": (_weibull, lambda g: g.uniform((0.7, 0.1, 0.03, 0.5), (0.97, 0.4, 0.3, 1.5))),
    "hill": (_hill, lambda g: g.uniform((0.7, 1.0, 0.8), (0.97, 8.0, 2.5))),
}


def _draw(name: str, rng: np.random.Generator, noise: float = 0.01) -> tuple[np.ndarray, float]:
    """A noisy curve of TARGET epochs from the named family and its noise-free final value."""
    f, params = TRUTHS[name]
    r = params(rng)
    t = np.arange(1.0, TARGET + 1.0)
    y = np.clip(f(t, r) + rng.normal(0.0, noise, t.size), 0.0, 1.0)
    return y, float(f(np.array([float(TARGET)]), r)[0])


def _errors(name: str, k: int, draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Absolute errors and z-scores of the prediction at TARGET from the first k epochs."""
    rng = np.random.default_rng(seed)
    err, z = [], []
    for _ in range(draws):
        y, truth = _draw(name, rng)
        pred = extrapolate(y[:k], TARGET)
        err.append(abs(pred.mean - truth))
        z.append(abs(pred.mean - truth) / pred.std)
    return np.array(err), np.array(z)


@pytest.mark.parametrize("name", sorted(TRUTHS))
def test_prediction_is_close_and_covers_the_truth(name: str) -> None:
    # 40% of the curve observed, noise sd 0.01: the final value is predicted to within a few
    # points and lies within two predicted standard deviations.
    err, z = _errors(name, k=20, draws=6, seed=1)
    assert np.median(err) < 0.04 and err.max() < 0.1
    assert np.mean(z < 2.0) >= 5 / 6 and np.all(z < 3.0)


def test_realistic_saturating_curve() -> None:
    # The common shape of a validation curve: 1 - a exp(-b t), saturating below 1, with noise
    # of a 1000-example validation set.
    rng = np.random.default_rng(7)
    t = np.arange(1.0, 61.0)
    clean = 0.93 - 0.8 * np.exp(-0.12 * t)
    y = np.clip(clean + rng.normal(0.0, 0.008, t.size), 0.0, 1.0)
    pred = extrapolate(y[:15], 60)
    assert abs(pred.mean - clean[-1]) < 0.03
    assert abs(pred.mean - clean[-1]) < 2.0 * pred.std
    assert pred.std < 0.1
    assert abs(pred.mean - clean[-1]) < abs(y[14] - clean[-1])  # better than the last value


def test_more_observed_epochs_give_smaller_error_and_uncertainty() -> None:
    rng = np.random.default_rng(3)
    err: dict[int, list[float]] = {5: [], 10: [], 20: []}
    std: dict[int, list[float]] = {5: [], 10: [], 20: []}
    for name in sorted(TRUTHS):
        for _ in range(3):
            y, truth = _draw(name, rng)
            for k in err:
                pred = extrapolate(y[:k], TARGET)
                err[k].append(abs(pred.mean - truth))
                std[k].append(pred.std)
    mean_err = [float(np.mean(err[k])) for k in (5, 10, 20)]
    mean_std = [float(np.mean(std[k])) for k in (5, 10, 20)]
    assert mean_err[0] > mean_err[1] > mean_err[2]
    assert mean_std[0] > mean_std[1] > mean_std[2]


def test_prob_above_is_the_mixture_tail_and_monotone() -> None:
    rng = np.random.default_rng(0)
    y, _ = _draw("exp", rng, noise=0.02)
    pred = extrapolate(y[:8], TARGET)
    thresholds = np.linspace(-0.5, 1.5, 201)
    probs = np.array([pred.prob_above(float(t)) for t in thresholds])
    assert np.all(np.diff(probs) <= 0.0)
    assert probs[0] > 0.999 and probs[-1] < 1e-3 and np.all((probs >= 0) & (probs <= 1))
    # The mixture tail, computed independently from the components with math.erf.
    t = pred.mean
    tail = sum(
        w * 0.5 * (1.0 - math.erf((t - m) / (s * math.sqrt(2.0))))
        for w, m, s in zip(pred.weights, pred.family_means, pred.family_stds, strict=True)
    )
    assert pred.prob_above(t) == pytest.approx(tail, abs=1e-12)
    single = CurvePrediction(0.6, 0.1, ("x",), (1.0,))
    assert single.prob_above(0.6) == pytest.approx(0.5)
    assert single.prob_above(0.7) == pytest.approx(0.5 * (1 - math.erf(1 / math.sqrt(2))))


def test_the_ensemble_and_its_moments() -> None:
    rng = np.random.default_rng(5)
    y, _ = _draw("pow3", rng)
    pred = extrapolate(y[:20], TARGET)
    assert len(curves.FAMILIES) >= 7 and len(set(f.name for f in curves.FAMILIES)) == 8
    # Families whose fit fails or whose extrapolation leaves [0, 1] are dropped; most remain.
    names = [f.name for f in curves.FAMILIES]
    assert len(pred.families) >= 6 and list(pred.families) == [
        n for n in names if n in pred.families
    ]
    w, m, s = (np.array(v) for v in (pred.weights, pred.family_means, pred.family_stds))
    assert w.sum() == pytest.approx(1.0) and np.all(w >= 0.0)
    assert pred.mean == pytest.approx(w @ m)
    assert pred.std == pytest.approx(math.sqrt(w @ (s**2 + (m - pred.mean) ** 2)))
    assert np.all((m >= 0.0) & (m <= 1.0)) and np.all(s > 0.0)


def test_few_points_use_only_the_families_they_determine() -> None:
    three = extrapolate([0.2, 0.4, 0.5], 20)
    assert set(three.families) == {"log_log_linear", "ilog2"}  # the two-parameter families
    assert three.weights == (0.5, 0.5)  # nothing left to hold out: equal weights
    assert "pow4" in extrapolate([0.2, 0.4, 0.5, 0.55, 0.58], 20).families


def test_extrapolation_never_decreases_beyond_the_curve() -> None:
    rng = np.random.default_rng(11)
    y, _ = _draw("weibull", rng)
    near, far = extrapolate(y[:12], 20), extrapolate(y[:12], 200)
    assert near.families == far.families and near.weights == far.weights
    assert all(a <= b + 1e-12 for a, b in zip(near.family_means, far.family_means, strict=True))
    assert near.mean <= far.mean <= 1.0
    # A curve that falls (overfitting) is not extrapolated downwards.
    falling = np.linspace(0.8, 0.6, 10)
    assert extrapolate(falling, 30).mean >= falling[-1]


@pytest.mark.parametrize(
    "curve",
    [
        np.r_[np.full(8, 0.1), np.linspace(0.15, 0.5, 6)],  # flat, then starts learning
        np.full(10, 0.1),  # never learns
        np.zeros(6),
        np.ones(6),
        np.clip(0.5 + np.random.default_rng(2).normal(0.0, 0.1, 12), 0.0, 1.0),  # pure noise
        np.clip(0.8 - 0.5 * np.arange(1, 16) ** -0.7
                + np.random.default_rng(4).normal(0.0, 0.05, 15), 0.0, 1.0),  # very noisy
    ],
)  # fmt: skip
def test_awkward_curves_give_a_sane_prediction(curve: np.ndarray) -> None:
    pred = extrapolate(curve, 50)
    # Component means lie in [0, 1] and their stds are capped, which bounds the mixture's std.
    assert 0.0 <= pred.mean <= 1.0 and 0.0 < pred.std <= math.hypot(curves.MAX_STD, 0.5)
    assert pred.families and sum(pred.weights) == pytest.approx(1.0)
    assert curve.min() - 2 * pred.std - 0.05 <= pred.mean  # never far below the whole curve


def test_constant_curve_predicts_its_value() -> None:
    pred = extrapolate(np.full(10, 0.3), 50)
    assert pred.mean == pytest.approx(0.3, abs=0.01) and pred.std < 0.02


def test_every_fit_failing_falls_back_to_the_last_value(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise ValueError("no start")

    failing = curves._Family("failing", lambda x, t: x, (0.0,), (1.0,), broken)
    monkeypatch.setattr(curves, "FAMILIES", (failing,))
    pred = extrapolate([0.2, 0.4, 0.5, 0.55], 20)
    assert pred.families == ("last_value",) and pred.weights == (1.0,)
    assert pred.mean == 0.55 and pred.std == curves.FALLBACK_STD
    assert pred.prob_above(0.55) == pytest.approx(0.5)


def test_should_stop_a_clearly_worse_curve_but_not_a_better_one() -> None:
    rng = np.random.default_rng(9)
    t = np.arange(1.0, 11.0)
    worse = np.clip(0.62 - 0.4 * np.exp(-0.5 * t) + rng.normal(0, 0.005, t.size), 0, 1)
    better = np.clip(0.92 - 0.4 * np.exp(-0.3 * t) + rng.normal(0, 0.005, t.size), 0, 1)
    assert should_stop(worse, 40, incumbent=0.85)
    assert not should_stop(better, 40, incumbent=0.85)
    # Early and still rising steeply: too uncertain to stop against an incumbent just above.
    assert not should_stop(better[:4], 40, incumbent=float(better[3]) + 0.05)
    # The rule is exactly P(final > incumbent) < threshold.
    incumbent = extrapolate(worse, 40).mean + 0.01
    p = extrapolate(worse, 40).prob_above(incumbent)
    assert 0.01 < p < 0.99
    assert should_stop(worse, 40, incumbent, threshold=min(p * 1.1, 0.999))
    assert not should_stop(worse, 40, incumbent, threshold=p * 0.9)


def test_deterministic_in_process_and_across_processes() -> None:
    rng = np.random.default_rng(12)
    y, _ = _draw("mmf", rng, noise=0.02)
    curve = [float(v) for v in y[:15]]
    first = extrapolate(curve, TARGET)
    assert extrapolate(tuple(curve), TARGET) == first
    assert extrapolate(np.array(curve), TARGET) == first
    code = f"import nasbench.training.curves as c, sys; print(repr(c.extrapolate({curve!r}, {TARGET})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == repr(first)


@pytest.mark.parametrize(
    ("curve", "target", "match"),
    [
        ([0.1, 0.2], 10, "at least 3"),
        ([], 10, "at least 3"),
        ([[0.1, 0.2, 0.3]], 10, "at least 3"),
        ([0.1, float("nan"), 0.3], 10, r"curve\[1\] = nan"),
        ([0.1, 0.2, 1.2], 10, r"curve\[2\] = 1.2"),
        ([-0.1, 0.2, 0.3], 10, r"curve\[0\] = -0.1"),
        ([0.1, 0.2, float("inf")], 10, r"curve\[2\] = inf"),
        (["a", "b", "c"], 10, "sequence of numbers"),
        ([0.1, 0.2, 0.3, 0.4], 3, "target_epoch 3 is before"),
        ([0.1, 0.2, 0.3], 10.0, "must be an integer"),
        ([0.1, 0.2, 0.3], True, "must be an integer"),
    ],
)
def test_bad_input_raises(curve: list, target: int, match: str) -> None:
    with pytest.raises(NasbenchError, match=match):
        extrapolate(curve, target)


def test_bad_stopping_arguments_raise() -> None:
    curve = [0.2, 0.4, 0.5, 0.55]
    for incumbent in (float("nan"), -0.1, 1.5):
        with pytest.raises(NasbenchError, match="incumbent"):
            should_stop(curve, 20, incumbent)
    for threshold in (0.0, 1.0, float("nan")):
        with pytest.raises(NasbenchError, match="threshold"):
            should_stop(curve, 20, 0.6, threshold)
    with pytest.raises(NasbenchError, match="threshold"):
        extrapolate(curve, 20).prob_above(float("nan"))


def test_a_twenty_epoch_curve_is_fitted_at_every_epoch_without_error() -> None:
    # What the lce evaluator does: predict after every epoch from the third on.
    rng = np.random.default_rng(21)
    y, truth = _draw("exp", rng)
    preds = [extrapolate(y[:k], TARGET) for k in range(3, 21)]
    assert all(0.0 <= p.mean <= 1.0 and p.std > 0.0 for p in preds)
    assert abs(preds[-1].mean - truth) < abs(preds[0].mean - truth)
