"""Conformance suite for surrogates (performance predictors).

For your own surrogate, in one line (each check raises ``AssertionError`` naming the surrogate):

>>> from nasbench.core.registry import surrogates
>>> check_surrogate(lambda: surrogates.create("random_forest", n_estimators=20))

or call the single checks of :data:`ALL_CHECKS` from a parametrised pytest module
(``tests/test_surrogates.py`` runs them over every registered surrogate). ``factory`` makes a
fresh, unfitted surrogate each time it is called. The checks use a toy data set that suits the
surrogate's ``input_kind``: :func:`toy_vector` (a smooth nonlinear function of 8 features) or
:func:`toy_graph` (small random DAGs, some with operations on edges, whose target depends on
operation counts, structure and one extra feature). Pickling is not required by the contract and
not checked.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from nasbench.core.errors import NasbenchError
from nasbench.core.surrogate import (
    GraphInput,
    InputKind,
    NotFittedError,
    Prediction,
    Surrogate,
    SurrogateInput,
)
from nasbench.core.types import ArchGraph

Factory = Callable[[], Surrogate]

TOY_OPS = {"conv3": 1.0, "conv1": 0.6, "pool": -0.4, "skip": 0.2}
"""Operations of the toy graphs and what each adds to the target."""


@dataclass(frozen=True)
class ToySet:
    """A train/test split: inputs (float array or GraphInput list) and float64 targets."""

    train_x: SurrogateInput
    train_y: np.ndarray
    test_x: SurrogateInput
    test_y: np.ndarray


def toy_vector(seed: int = 0, n_train: int = 200, n_test: int = 100) -> ToySet:
    """8 features uniform in [-1, 1]; the target is a smooth nonlinear function of the first six
    (two are irrelevant) plus Gaussian noise of std 0.05."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n_train + n_test, 8))
    y = (
        np.sin(2.0 * x[:, 0])
        + x[:, 1] ** 2
        + x[:, 2] * x[:, 3]
        + 0.5 * x[:, 4]
        + 0.3 * np.cos(3.0 * x[:, 5])
        + rng.normal(0.0, 0.05, size=len(x))
    )
    return ToySet(x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def _toy_graph(rng: np.random.Generator) -> tuple[GraphInput, float]:
    """A random DAG of 3 to 6 nodes, operations on its edges, and its target."""
    n = int(rng.integers(3, 7))
    ops = tuple(TOY_OPS)
    adjacency = np.zeros((n, n), dtype=np.int8)
    edges = []
    for j in range(1, n):
        sources = [i for i in range(j) if rng.random() < 0.5] or [int(rng.integers(j))]
        for i in sources:
            adjacency[i, j] = 1
            edges.append((i, j, ops[int(rng.integers(len(ops)))]))
    graph = ArchGraph(adjacency, ("input", *["node"] * (n - 2), "output"), tuple(edges))
    into_output = sum(1 for _, j, _ in edges if j == n - 1)
    extra = rng.uniform(0.0, 0.9, size=1)  # like a sparsity level
    target = sum(TOY_OPS[op] for *_, op in edges) + 0.5 * into_output - 1.5 * float(extra[0])
    if rng.random() < 0.5:  # half the inputs arrive node-labelled, as non-cell spaces give them
        graph = graph.to_node_labelled()
    return GraphInput(graph, extra), target + float(rng.normal(0.0, 0.05))


def toy_graph(seed: int = 0, n_train: int = 200, n_test: int = 100) -> ToySet:
    """Random DAGs (see :data:`TOY_OPS`); the target sums the operations' weights, adds 0.5 per
    edge into the output node, subtracts 1.5 times the one ``extra`` feature, plus noise."""
    rng = np.random.default_rng(seed)
    pairs = [_toy_graph(rng) for _ in range(n_train + n_test)]
    x = [p[0] for p in pairs]
    y = np.array([p[1] for p in pairs])
    return ToySet(x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def toy_data(surrogate: Surrogate, seed: int = 0, n_train: int = 200) -> ToySet:
    """The toy set for the surrogate's ``input_kind`` (100 test inputs)."""
    kind = type(surrogate).input_kind
    assert isinstance(kind, InputKind), f"{_name(surrogate)}.input_kind must be an InputKind"
    return toy_vector(seed, n_train) if kind == InputKind.VECTOR else toy_graph(seed, n_train)


SMALL = 60
"""Training inputs for the checks that test the contract, not the fit (they run faster)."""


def _name(surrogate: Surrogate) -> str:
    return type(surrogate).__name__


def _fit(factory: Factory, data: ToySet, seed: int = 0) -> Surrogate:
    surrogate = factory()
    fitted = surrogate.fit(data.train_x, data.train_y, np.random.default_rng(seed))
    assert fitted is surrogate, f"{_name(surrogate)}.fit must return self"
    return surrogate


def _check_prediction(name: str, prediction: Prediction, n: int) -> None:
    assert isinstance(prediction, Prediction), f"{name}.predict must return a Prediction"
    for field, values in (("mean", prediction.mean), ("std", prediction.std)):
        assert isinstance(values, np.ndarray), f"{name}: {field} is not an ndarray"
        assert values.dtype == np.float64, f"{name}: {field} dtype {values.dtype}, not float64"
        assert values.shape == (n,), f"{name}: {field} shape {values.shape}, expected ({n},)"
        assert np.all(np.isfinite(values)), f"{name}: {field} has NaN or inf"
    assert np.all(prediction.std >= 0.0), f"{name}: negative std"


# ---- checks -------------------------------------------------------------------------------------
def check_constructor(factory: Factory) -> None:
    """The constructor stores hyperparameters only: no learned (``name_``) attribute before fit,
    and the class declares its ``input_kind``."""
    surrogate = factory()
    toy_data(surrogate)  # asserts input_kind
    learned = [k for k in getattr(surrogate, "__dict__", {}) if k.endswith("_") and k[0] != "_"]
    assert not learned, f"{_name(surrogate)} sets learned attributes before fit: {learned}"


def check_predict_before_fit(factory: Factory) -> None:
    """``predict`` before ``fit`` raises :class:`NotFittedError` (a NasbenchError)."""
    surrogate = factory()
    try:
        surrogate.predict(toy_data(surrogate).test_x)
    except NotFittedError:
        return
    raise AssertionError(f"{_name(surrogate)}.predict before fit did not raise NotFittedError")


def check_fit_returns_self(factory: Factory) -> None:
    """``fit`` returns the surrogate itself."""
    surrogate = factory()
    _fit(factory, toy_data(surrogate, n_train=SMALL))


def check_prediction(factory: Factory) -> None:
    """Predictions on test, train and a single input: float64 mean and std of shape (n,),
    finite, std >= 0."""
    data = toy_data(factory(), n_train=SMALL)
    surrogate = _fit(factory, data)
    name = _name(surrogate)
    for x in (data.test_x, data.train_x, data.test_x[:1]):
        _check_prediction(name, surrogate.predict(x), len(x))


def _snapshot(x: SurrogateInput) -> list[Any]:
    """Deep copy of inputs (arrays copied, labels as tuples) for an equality test."""
    if isinstance(x, np.ndarray):
        return [x.copy()]
    return [
        (g.graph.adjacency.copy(), g.graph.node_labels, g.graph.edge_labels, g.extra.copy())
        for g in x
    ]


def _same(a: list[Any], b: list[Any]) -> bool:
    def equal(u: Any, v: Any) -> bool:
        if isinstance(u, np.ndarray):
            return isinstance(v, np.ndarray) and u.dtype == v.dtype and np.array_equal(u, v)
        if isinstance(u, tuple):
            return isinstance(v, tuple) and len(u) == len(v) and all(map(equal, u, v))
        return bool(u == v)

    return len(a) == len(b) and all(map(equal, a, b))


def check_inputs_untouched(factory: Factory) -> None:
    """``fit`` and ``predict`` leave ``X`` and ``y`` as they were (values and dtypes)."""
    data = toy_data(factory(), n_train=SMALL)
    before = (_snapshot(data.train_x), data.train_y.copy(), _snapshot(data.test_x))
    surrogate = _fit(factory, data)
    surrogate.predict(data.test_x)
    name = _name(surrogate)
    assert _same(_snapshot(data.train_x), before[0]), f"{name}.fit modified X"
    assert np.array_equal(data.train_y, before[1]), f"{name}.fit modified y"
    assert _same(_snapshot(data.test_x), before[2]), f"{name}.predict modified X"


@contextmanager
def scrambled_global_seeds(seed: int) -> Iterator[None]:
    """Seed Python's, numpy's and torch's global generators with ``seed`` inside the block and
    restore their states after it: a component that reads them gives seed-dependent results."""
    # the legacy global numpy state is exactly what must not matter here
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()  # noqa: NPY002
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002
    torch.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])  # noqa: NPY002
        torch.set_rng_state(states[2])


def check_seeded(factory: Factory) -> None:
    """The same ``rng`` seed gives bit-identical predictions: for two fresh surrogates under
    different global seeds (so no global generator is read), and for a refit of the first."""
    data = toy_data(factory(), n_train=SMALL)
    with scrambled_global_seeds(1):
        first = _fit(factory, data, seed=5)
        a = first.predict(data.test_x)
    with scrambled_global_seeds(2):
        b = _fit(factory, data, seed=5).predict(data.test_x)
        first.fit(data.train_x, data.train_y, np.random.default_rng(5))
        c = first.predict(data.test_x)
    name = _name(first)
    for label, other in (("another instance", b), ("a refit", c)):
        assert np.array_equal(a.mean, other.mean), f"{name}: same seed, {label}: other mean"
        assert np.array_equal(a.std, other.std), f"{name}: same seed, {label}: other std"


def check_beats_constant(factory: Factory, margin: float = 0.8) -> None:
    """On held-out toy data the mean squared error is below ``margin`` times that of the
    constant predictor (the training mean)."""
    data = toy_data(factory())
    surrogate = _fit(factory, data)
    mse = float(np.mean((surrogate.predict(data.test_x).mean - data.test_y) ** 2))
    constant = float(np.mean((data.train_y.mean() - data.test_y) ** 2))
    assert mse < margin * constant, (
        f"{_name(surrogate)}: test MSE {mse:.4f} is not below {margin} x the constant "
        f"predictor's {constant:.4f}"
    )


def _raises(call: Callable[..., object], *args: object) -> bool:
    try:
        call(*args)
    except NasbenchError:
        return True
    return False


def check_rejects_bad_data(factory: Factory) -> None:
    """NasbenchError for NaN in y, a y of another length, no inputs, inputs of the other
    ``input_kind``, and predict inputs of another width (vector columns or ``extra`` length)
    than fit saw."""
    surrogate = factory()
    data = toy_data(surrogate, n_train=SMALL)
    x, y = data.train_x, data.train_y
    name = _name(surrogate)
    nan_y = y.copy()
    nan_y[3] = np.nan
    empty: SurrogateInput = x[:0]
    vector = type(surrogate).input_kind == InputKind.VECTOR
    other = (toy_graph if vector else toy_vector)(0, len(y)).train_x
    for label, (bad_x, bad_y) in {
        "NaN in y": (x, nan_y),
        "y of another length": (x, y[:-1]),
        "no inputs": (empty, y[:0]),
        "inputs of the other kind": (other, y),
    }.items():
        rng = np.random.default_rng(0)
        assert _raises(factory().fit, bad_x, bad_y, rng), f"{name}: fit accepted {label}"
    surrogate = _fit(factory, data)
    wider = _wider(data.test_x)
    assert _raises(surrogate.predict, wider), f"{name}: predict accepted wider inputs"


def _wider(x: SurrogateInput) -> SurrogateInput:
    """The inputs with one more feature (a column, or an ``extra`` entry)."""
    if isinstance(x, np.ndarray):
        return np.hstack([x, np.zeros((len(x), 1))])
    return [GraphInput(g.graph, np.append(g.extra, 0.0)) for g in x]


ALL_CHECKS: tuple[Callable[[Factory], None], ...] = (
    check_constructor,
    check_predict_before_fit,
    check_fit_returns_self,
    check_prediction,
    check_inputs_untouched,
    check_seeded,
    check_beats_constant,
    check_rejects_bad_data,
)


def check_surrogate(factory: Factory, checks: Sequence[Callable[[Factory], None]] = ()) -> None:
    """Run ``checks`` (default: :data:`ALL_CHECKS`) on surrogates made by ``factory``."""
    for check in checks or ALL_CHECKS:
        check(factory)
