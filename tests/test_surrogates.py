"""The public surrogate conformance suite over every registered surrogate, plus focused tests of
the built-ins, the adapter and the interface helpers."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Self

import numpy as np
import pytest

from nasbench.core.errors import NasbenchError
from nasbench.core.registry import spaces, surrogates
from nasbench.core.surrogate import (
    GraphInput,
    InputKind,
    NotFittedError,
    Prediction,
    SurrogateInput,
    check_fitted,
    graphs,
    targets,
    vectors,
)
from nasbench.core.types import ArchGraph
from nasbench.testing.surrogates import ALL_CHECKS, check_surrogate, toy_graph, toy_vector

SURROGATES = surrogates.names()


def r2(pred: np.ndarray, y: np.ndarray) -> float:
    return float(1.0 - np.sum((pred - y) ** 2) / np.sum((y - y.mean()) ** 2))


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", SURROGATES)
def test_surrogate_conformance(name: str, check: Any) -> None:
    check(lambda: surrogates.create(name))


def test_builtin_surrogates_are_registered() -> None:
    builtins = {"gaussian_process", "random_forest", "gradient_boosting", "mlp_ensemble", "gin"}
    assert builtins | {"sklearn"} <= set(SURROGATES)
    assert surrogates.get("gin").input_kind == InputKind.GRAPH
    assert surrogates.get("mlp_ensemble").input_kind == InputKind.VECTOR


# ---- a third-party surrogate, found by "package.module:Class" ------------------------------------
class NearestNeighbours:
    """k-nearest-neighbour regression: mean and spread of the k nearest training targets."""

    input_kind: ClassVar[InputKind] = InputKind.VECTOR

    def __init__(self, k: int = 5) -> None:
        self.k = k

    def fit(self, X: SurrogateInput, y: np.ndarray, rng: np.random.Generator) -> Self:  # noqa: N803
        x = vectors(X)
        self.y_ = targets(y, len(x)).copy()
        self.x_ = x.copy()
        return self

    def predict(self, X: SurrogateInput) -> Prediction:  # noqa: N803
        check_fitted(self, "x_")
        x = vectors(X, self.x_.shape[1])
        distance = ((x[:, None, :] - self.x_[None, :, :]) ** 2).sum(axis=-1)
        nearest = self.y_[np.argsort(distance, axis=1, kind="stable")[:, : self.k]]
        return Prediction(nearest.mean(axis=1), nearest.std(axis=1))


def test_a_surrogate_named_by_path_runs_the_conformance_suite() -> None:
    path = "tests.test_surrogates:NearestNeighbours"
    assert surrogates.get(path) is NearestNeighbours
    check_surrogate(lambda: surrogates.create(path, k=5))
    with pytest.raises(NasbenchError, match="'neighbours'"):
        surrogates.create(path, neighbours=3)


# ---- built-ins -----------------------------------------------------------------------------------
def test_random_forest_gets_the_step_right() -> None:
    x = np.linspace(-1.0, 1.0, 41)[:, None]
    y = np.where(x[:, 0] > 0.0, 1.0, -1.0)
    forest = surrogates.create("random_forest", n_estimators=50)
    p = forest.fit(x, y, np.random.default_rng(0)).predict(np.array([[-0.6], [-0.3], [0.3], [0.6]]))
    assert np.array_equal(np.sign(p.mean), [-1.0, -1.0, 1.0, 1.0])
    assert np.all(np.abs(p.mean) > 0.9)
    # every tree agrees far from the step; near it the bootstrap samples disagree
    far, near = forest.predict(np.array([[-0.9], [0.9]])), forest.predict(np.array([[0.01]]))
    assert far.std.max() == 0.0 and near.std[0] > 0.1


def test_gaussian_process_is_uncertain_away_from_the_data() -> None:
    x = np.linspace(0.0, 1.0, 20)[:, None]
    gp = surrogates.create("gaussian_process").fit(
        x, np.sin(6.0 * x[:, 0]), np.random.default_rng(0)
    )
    p = gp.predict(np.array([[0.5], [1.5], [3.0]]))
    assert abs(p.mean[0] - np.sin(3.0)) < 0.05
    assert p.std[0] < p.std[1] < p.std[2] and p.std[2] > 10 * p.std[0]


def test_gaussian_process_subsamples_beyond_max_train() -> None:
    data = toy_vector(n_train=200)
    gp = surrogates.create("gaussian_process", max_train=50, n_restarts=0)
    gp.fit(data.train_x, data.train_y, np.random.default_rng(0))
    first = gp.gp_.X_train_.copy()
    assert first.shape == (50, 8)
    gp.fit(data.train_x, data.train_y, np.random.default_rng(1))
    assert not np.array_equal(first, gp.gp_.X_train_)


def test_ensembles_spread_and_single_members() -> None:
    data = toy_vector(n_train=100)
    for name in ("gradient_boosting", "mlp_ensemble"):
        rng = np.random.default_rng(0)
        one = surrogates.create(name, n_members=1).fit(data.train_x, data.train_y, rng)
        assert one.predict(data.test_x).std.max() == 0.0, name
        three = surrogates.create(name, n_members=3).fit(data.train_x, data.train_y, rng)
        assert np.all(three.predict(data.test_x).std > 0.0), name


def test_mlp_ensemble_fits_a_linear_function() -> None:
    x = np.random.default_rng(3).uniform(-1.0, 1.0, size=(150, 4))
    y = x @ [1.0, -2.0, 0.5, 0.0] + 3.0
    mlp = surrogates.create("mlp_ensemble", n_members=3, epochs=60)
    p = mlp.fit(x[:100], y[:100], np.random.default_rng(0)).predict(x[100:])
    assert r2(p.mean, y[100:]) > 0.97


def test_gin_handles_unknown_labels_and_both_graph_forms() -> None:
    data = toy_graph(n_train=80, n_test=20)
    gin = surrogates.create("gin", epochs=20).fit(
        data.train_x, data.train_y, np.random.default_rng(0)
    )
    assert "unseen_op" not in gin.vocabulary_
    cell = ArchGraph(np.array([[0, 1], [0, 0]]), ("input", "output"), ((0, 1, "unseen_op"),))
    edge_form = GraphInput(cell, np.array([0.3]))
    node_form = GraphInput(cell.to_node_labelled(), np.array([0.3]))
    p = gin.predict([edge_form, node_form])
    assert np.all(np.isfinite(p.mean)) and p.mean[0] == p.mean[1] and p.std[0] == p.std[1]


def test_gin_uses_the_extra_features() -> None:
    rng = np.random.default_rng(0)
    graph = toy_graph(n_train=1, n_test=0).train_x[0].graph
    extra = rng.uniform(-1.0, 1.0, size=(120, 2))
    x = [GraphInput(graph, e) for e in extra]  # one graph: only extra explains y
    y = 2.0 * extra[:, 0] - extra[:, 1]
    gin = surrogates.create("gin", epochs=40).fit(x[:80], y[:80], np.random.default_rng(0))
    assert r2(gin.predict(x[80:]).mean, y[80:]) > 0.9


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gaussian_process", "random_forest", "gradient_boosting",
                                  "mlp_ensemble", "gin"])  # fmt: skip
def test_predicts_nas_bench_201(name: str) -> None:
    """Fitted on 1,000 NAS-Bench-201 architectures (200-epoch validation accuracy), Kendall tau on
    1,000 others well above chance (fit times are measured by ``nasbench surrogate-eval``, not
    asserted here)."""
    from scipy.stats import kendalltau

    from nasbench.tables.benchmarks import load_benchmark

    table, space = load_benchmark("nb201-cifar10"), spaces.create("nb201")
    rows = np.random.default_rng(0).permutation(len(table.arch))[:2000]
    archs = [space.parse(table.arch[i]) for i in rows]
    surrogate = surrogates.create(name)
    if surrogate.input_kind == InputKind.GRAPH:
        x: SurrogateInput = [GraphInput(space.graph(a)) for a in archs]
    else:
        x = np.stack([space.encode(a) for a in archs])
    y = table.fidelity(200.0).val[rows]
    surrogate.fit(x[:1000], y[:1000], np.random.default_rng(1))
    assert kendalltau(surrogate.predict(x[1000:]).mean, y[1000:]).statistic > 0.5


# ---- scikit-learn adapter ------------------------------------------------------------------------
def test_sklearn_ridge_fits_a_linear_function_with_zero_std() -> None:
    x = np.random.default_rng(1).uniform(-1.0, 1.0, size=(120, 5))
    y = x @ [1.0, -2.0, 0.5, 3.0, 0.0] + 0.01 * np.random.default_rng(2).normal(size=120)
    ridge = surrogates.create("sklearn", estimator="sklearn.linear_model:Ridge")
    p = ridge.fit(x[:80], y[:80], np.random.default_rng(0)).predict(x[80:])
    assert r2(p.mean, y[80:]) > 0.99
    assert np.array_equal(p.std, np.zeros(40))


@pytest.mark.parametrize(
    ("estimator", "params", "spread"),
    [
        ("sklearn.ensemble:ExtraTreesRegressor", {"n_estimators": 20}, True),
        ("sklearn.ensemble:BaggingRegressor", {"max_features": 0.5}, True),  # feature subsets
        ("sklearn.linear_model:BayesianRidge", {}, True),  # predict(return_std=True)
        ("sklearn.ensemble:GradientBoostingRegressor", {"n_estimators": 20}, False),  # stages
    ],
)
def test_sklearn_std_sources(estimator: str, params: dict[str, Any], spread: bool) -> None:
    data = toy_vector(n_train=100)
    model = surrogates.create("sklearn", estimator=estimator, params=params)
    p = model.fit(data.train_x, data.train_y, np.random.default_rng(0)).predict(data.test_x)
    assert np.all(p.std > 0.0) if spread else np.array_equal(p.std, np.zeros(len(p)))
    assert r2(p.mean, data.test_y) > 0.3


def test_sklearn_forest_std_is_the_spread_of_its_trees() -> None:
    data = toy_vector(n_train=100)
    model = surrogates.create("sklearn", params={"n_estimators": 10})
    p = model.fit(data.train_x, data.train_y, np.random.default_rng(0)).predict(data.test_x)
    trees = np.stack([t.predict(data.test_x) for t in model.model_.estimators_])
    assert np.allclose(p.std, trees.std(axis=0)) and np.allclose(p.mean, trees.mean(axis=0))
    assert model.model_.random_state is not None


@pytest.mark.parametrize(
    ("estimator", "params", "message"),
    [
        ("sklearn.nonexistent:Foo", None, "sklearn.nonexistent"),
        ("sklearn.ensemble:NoSuchRegressor", None, "NoSuchRegressor"),
        (
            "sklearn.ensemble:RandomForestClassifier",
            None,
            "'sklearn.ensemble:RandomForestClassifier' is not a regressor",
        ),
        ("sklearn.cluster:KMeans", None, "'sklearn.cluster:KMeans' is not a regressor"),
        ("numpy:pi", None, "'numpy:pi' is not a regressor class"),
        ("ExtraTreesRegressor", None, "'ExtraTreesRegressor'"),
        ("sklearn.linear_model:Ridge", {"alpha_": 1.0}, "unknown parameter 'alpha_'"),
        ("sklearn.linear_model:Ridge", {"random_state": 1}, "random_state"),
    ],
)
def test_sklearn_bad_estimator(estimator: str, params: Any, message: str) -> None:
    with pytest.raises(NasbenchError, match=re.escape(message)):
        surrogates.create("sklearn", estimator=estimator, params=params)


# ---- constructors and interface helpers ----------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("random_forest", {"n_estimators": 0}, "n_estimators must be an integer >= 1, got 0"),
        (
            "random_forest",
            {"max_features": 1.5},
            "max_features must be a number > 0.0 and <= 1.0, got 1.5",
        ),
        ("random_forest", {"min_samples_leaf": True}, "min_samples_leaf must be an integer"),
        ("gaussian_process", {"nu": 3.0}, "nu must be one of"),
        ("gaussian_process", {"max_train": 1}, "max_train must be an integer >= 2, got 1"),
        ("gradient_boosting", {"subsample": 0.0}, "subsample must be a number > 0.0"),
        ("gradient_boosting", {"n_members": 2.5}, "n_members must be an integer"),
        ("mlp_ensemble", {"learning_rate": -1.0}, "learning_rate must be a number > 0.0, got -1.0"),
        ("mlp_ensemble", {"weight_decay": -0.1}, "weight_decay must be a number >= 0.0"),
        ("gin", {"layers": 0}, "gin: layers must be an integer >= 1, got 0"),
        ("gin", {"batch_size": "32"}, "batch_size must be an integer >= 1, got '32'"),
    ],
)
def test_constructors_reject_bad_hyperparameters(
    name: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(NasbenchError, match=re.escape(message)):
        surrogates.create(name, **params)


def test_prediction_validates_and_converts() -> None:
    p = Prediction(np.array([1, 2]), np.array([0, 1]))  # ints are converted
    assert p.mean.dtype == np.float64 and p.std.dtype == np.float64 and len(p) == 2
    with pytest.raises(NasbenchError, match=r"one shape \(n,\), got \(2,\) and \(1,\)"):
        Prediction(np.zeros(2), np.zeros(1))
    with pytest.raises(NasbenchError, match="std must be >= 0"):
        Prediction(np.zeros(2), np.array([0.1, -0.1]))


def test_validation_helpers_name_the_problem() -> None:
    with pytest.raises(NasbenchError, match="y has 2 NaN or infinite"):
        targets(np.array([1.0, np.nan, np.inf]), 3)
    with pytest.raises(NasbenchError, match=r"shape \(4,\) to match X, got \(3,\)"):
        targets(np.zeros(3), 4)
    with pytest.raises(NasbenchError, match=r"got shape \(3,\)"):
        vectors(np.zeros(3))
    with pytest.raises(NasbenchError, match="X has 1 NaN"):
        vectors(np.array([[0.0, np.nan]]))
    with pytest.raises(NasbenchError, match="X has 3 features, the model was fitted on 2"):
        vectors(np.zeros((1, 3)), 2)
    graph = ArchGraph(np.zeros((1, 1)), ("input",))
    with pytest.raises(NasbenchError, match="got GraphInput"):
        vectors([GraphInput(graph)])
    with pytest.raises(NasbenchError, match="takes a sequence of GraphInput"):
        graphs(np.zeros((2, 2)))
    with pytest.raises(NasbenchError, match=r"extra lengths differ: \[0, 1\]"):
        graphs([GraphInput(graph), GraphInput(graph, np.ones(1))])
    with pytest.raises(NasbenchError, match="finite 1-D"):
        GraphInput(graph, np.array([np.nan]))


def test_predict_before_fit_names_the_class() -> None:
    with pytest.raises(
        NotFittedError, match=r"RandomForest\.predict called before RandomForest\.fit"
    ):
        surrogates.create("random_forest").predict(np.zeros((1, 2)))
    assert issubclass(NotFittedError, NasbenchError)
