"""Surrogates (performance predictors): one scikit-learn style interface for every model.

>>> import numpy as np
>>> from nasbench.core.registry import surrogates
>>> X = np.linspace(0.0, 1.0, 40)[:, None]
>>> y = 3.0 * X[:, 0]
>>> model = surrogates.create("random_forest", n_estimators=20)
>>> model.fit(X, y, np.random.default_rng(0)) is model
True
>>> p = model.predict(np.array([[0.1], [0.9]]))
>>> p.mean.shape, p.std.shape, bool(p.mean[0] < p.mean[1]), bool((p.std >= 0).all())
((2,), (2,), True, True)

The contract (the public conformance suite :mod:`nasbench.testing.surrogates` checks it for every
registered surrogate):

- The constructor stores hyperparameters only and validates their ranges (``NasbenchError``
  naming the bad value; the built-ins declare them, :mod:`nasbench.core.params`); everything
  learned is set by ``fit`` in attributes ending in ``_``.
- ``fit(X, y, rng)`` returns ``self``. It draws randomness only from ``rng`` (no global seeding),
  so the same ``rng`` seed gives bit-identical predictions. It never modifies ``X`` or ``y``.
- ``predict(X)`` returns a :class:`Prediction`: ``mean`` and ``std`` as float64 arrays of shape
  ``(n,)``, ``std >= 0`` (the model's own uncertainty: ensemble spread, GP posterior). It raises
  :class:`NotFittedError` before ``fit`` and draws no randomness.
- ``input_kind`` says what ``X`` is: :attr:`InputKind.VECTOR`, a float array ``(n, d)`` (a
  space's ``encode`` plus extra features such as the sparsity level), or :attr:`InputKind.GRAPH`,
  a sequence of :class:`GraphInput` (a space's ``graph`` plus the same extra features).
- Bad data (wrong shape, NaN or inf, no rows, a ``y`` of another length, graphs for a vector
  model) raises ``NasbenchError``; the helpers :func:`vectors`, :func:`graphs` and
  :func:`targets` give every model the same checks and messages.

How nasbench holds a surrogate to this (:mod:`nasbench.core.plugins`, built-ins included): an
exception other than NasbenchError from the constructor, ``fit`` or ``predict`` is one
NasbenchError naming the surrogate and the method (``surrogate 'my.mod:Bad' fit raised
ValueError: boom``); ``predict`` answering anything but a :class:`Prediction` of one mean and std
per input, or an infinite value, is one too. A NaN mean or std is how a surrogate says it has no
answer for an input: the surrogate evaluator records that evaluation as failed.

The model families follow White et al., "How Powerful are Performance Predictors in Neural
Architecture Search?" (NeurIPS 2021). A third-party surrogate registers through the
``nasbench.surrogates`` entry-point group or is named in a config as ``"package.module:Class"``.
"""

# ruff: noqa: N803  (``X`` for inputs, the scikit-learn convention the interface follows)

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Protocol, Self, TypeAlias

import numpy as np
import torch

from nasbench.core.errors import NasbenchError
from nasbench.core.seeding import torch_generator
from nasbench.core.types import ArchGraph


class InputKind(StrEnum):
    """What a surrogate's ``X`` is."""

    VECTOR = "vector"  # float array (n, d)
    GRAPH = "graph"  # sequence of GraphInput


class NotFittedError(NasbenchError):
    """``predict`` (or anything needing a fitted model) was called before ``fit``."""


@dataclass(frozen=True)
class Prediction:
    """Predicted ``mean`` and its standard deviation ``std``: float64 arrays of shape ``(n,)``.

    Built from any array-likes of equal 1-D shape (converted to float64); raises
    ``NasbenchError`` on other shapes or a negative ``std``.
    """

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean, dtype=np.float64)
        std = np.asarray(self.std, dtype=np.float64)
        if mean.ndim != 1 or mean.shape != std.shape:
            raise NasbenchError(
                f"a Prediction needs mean and std of one shape (n,), got {mean.shape} and "
                f"{std.shape}"
            )
        if np.any(std < 0.0):
            raise NasbenchError(f"a Prediction's std must be >= 0, got min {std.min()}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    def __len__(self) -> int:
        return len(self.mean)


@dataclass(frozen=True)
class GraphInput:
    """One input of a graph surrogate: an architecture's graph plus ``extra`` float features
    (for example the sparsity level), a 1-D array of the same length for every input."""

    graph: ArchGraph
    extra: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        extra = np.asarray(self.extra, dtype=np.float64)
        if extra.ndim != 1 or not np.all(np.isfinite(extra)):
            raise NasbenchError(f"GraphInput.extra must be a finite 1-D array, got {self.extra!r}")
        object.__setattr__(self, "extra", extra)


SurrogateInput: TypeAlias = np.ndarray | Sequence[GraphInput]
"""``X`` of ``fit`` and ``predict``: a float array (n, d) or a sequence of GraphInput."""


class Surrogate(Protocol):
    """A performance predictor. See the module docstring for the full contract."""

    input_kind: ClassVar[InputKind]

    def fit(self, X: SurrogateInput, y: np.ndarray, rng: np.random.Generator) -> Self:
        """Learn from ``X`` and targets ``y`` (n,); draws from ``rng`` only; returns self."""
        ...

    def predict(self, X: SurrogateInput) -> Prediction:
        """Mean and std for each row/graph of ``X``; raises NotFittedError before fit."""
        ...


# ---- validation ---------------------------------------------------------------------------------
def vectors(X: SurrogateInput, n_features: int | None = None) -> np.ndarray:
    """``X`` as a float64 array (n, d) with n >= 1, all finite, and d == ``n_features`` when
    given (the width seen in ``fit``). Does not copy a float64 array, so never write to it."""
    if isinstance(X, Sequence) and any(isinstance(x, GraphInput) for x in X):
        raise NasbenchError("this surrogate takes a float array (n, d), got GraphInput objects")
    try:
        array = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise NasbenchError(f"X must be a float array (n, d): {exc}") from None
    if array.ndim != 2 or array.shape[0] == 0:
        raise NasbenchError(f"X must be a float array (n, d) with n >= 1, got shape {array.shape}")
    if n_features is not None and array.shape[1] != n_features:
        raise NasbenchError(
            f"X has {array.shape[1]} features, the model was fitted on {n_features}"
        )
    if not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array)))
        raise NasbenchError(f"X has {bad} NaN or infinite value(s)")
    return array


def graphs(X: SurrogateInput, n_extra: int | None = None) -> list[GraphInput]:
    """``X`` as a non-empty list of GraphInput whose ``extra`` features all have one length
    (``n_extra`` when given: the length seen in ``fit``)."""
    if isinstance(X, np.ndarray) or not all(isinstance(x, GraphInput) for x in X):
        raise NasbenchError("this surrogate takes a sequence of GraphInput, got something else")
    items = list(X)
    if not items:
        raise NasbenchError("X has no graphs")
    lengths = sorted({len(x.extra) for x in items})
    if len(lengths) > 1:
        raise NasbenchError(f"GraphInput.extra lengths differ: {lengths}")
    if n_extra is not None and lengths[0] != n_extra:
        raise NasbenchError(f"GraphInput.extra has {lengths[0]} features, fitted on {n_extra}")
    return items


def targets(y: np.ndarray, n: int) -> np.ndarray:
    """``y`` as a finite float64 array of shape (n,) (``n`` = the number of inputs)."""
    try:
        array = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise NasbenchError(f"y must be a float array (n,): {exc}") from None
    if array.shape != (n,):
        raise NasbenchError(f"y must have shape ({n},) to match X, got {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array)))
        raise NasbenchError(f"y has {bad} NaN or infinite value(s)")
    return array


def check_fitted(surrogate: object, attribute: str) -> None:
    """Raise :class:`NotFittedError` unless ``fit`` has set ``attribute``."""
    if not hasattr(surrogate, attribute):
        name = type(surrogate).__name__
        raise NotFittedError(f"{name}.predict called before {name}.fit")


# ---- shared pieces ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Standardizer:
    """Per-column affine map to zero mean and unit scale (constant columns keep scale 1)."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray) -> Standardizer:
        """Column statistics of ``values`` (n,) or (n, d)."""
        mean = values.mean(axis=0)
        scale = values.std(axis=0)
        return cls(mean, np.where(scale > 1e-12, scale, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.scale

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return values * self.scale + self.mean


def member_spread(members: np.ndarray) -> Prediction:
    """Mean and standard deviation over the members (axis 0) of predictions (k, n)."""
    return Prediction(members.mean(axis=0), members.std(axis=0))


def random_state(rng: np.random.Generator) -> int:
    """A scikit-learn ``random_state`` drawn from ``rng`` (draws one integer)."""
    return int(rng.integers(0, 2**31 - 1))


def torch_generators(rng: np.random.Generator, k: int) -> list[torch.Generator]:
    """``k`` CPU torch generators seeded from ``rng`` (draws ``k`` integers), one per member."""
    return [torch_generator(rng) for _ in range(k)]
