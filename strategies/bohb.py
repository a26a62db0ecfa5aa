"""BOHB: Hyperband whose new architectures come from a kernel-density model (a TPE variant).

>>> from nasbench.core.registry import spaces
>>> from nasbench.core.seeding import role_rng
>>> from nasbench.core.strategy import SearchInfo
>>> from nasbench.core.types import Budget, Observation, Status
>>> space = spaces.create("nb201")
>>> search = BOHB(min_fidelity=12.0)  # one rung (12 epochs): every proposal is a new one
>>> info = SearchInfo(fidelity=12.0, fidelities=(12.0,), budget=Budget(evaluations=60))
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> for trial in range(60):
...     (proposal,) = search.ask(1)
...     score = proposal.arch.values.count("nor_conv_3x3") / 6  # a synthetic objective
...     search.tell([Observation(trial, proposal.arch, 12.0, score, score, 1.0, True, Status.OK)])
>>> search.n_min_  # N_min = d + 1 for NAS-Bench-201's 6 decisions
7
>>> [str(pick) for pick in search.picks_[:10]]  # a model once 9 observations are in
['initial', 'random', 'random', 'random', 'random', 'random', 'random', 'random', 'random', 'model']
>>> from collections import Counter  # then random with probability 1/3
>>> sorted(Counter(str(pick) for pick in search.picks_).items())
[('initial', 1), ('model', 30), ('random', 29)]

The algorithm is BOHB (Falkner, Klein & Hutter, "BOHB: Robust and Efficient Hyperparameter
Optimization at Scale", ICML 2018): Hyperband's brackets (:mod:`.hyperband`, the same ladder,
bracket sizes and promotion), with every *new* architecture of a bracket's first rung drawn by
their Algorithm 2 instead of uniformly at random:

1. With no model yet, or with probability ``rho = random_fraction`` (a coin from the strategy
   stream), a random architecture (from the shared initial-design stream in the first bracket,
   as Hyperband's, else from the strategy stream).
2. Otherwise the model of the largest budget ``b`` (fidelity) with ``|D_b| >= N_min + 2``
   observations: ``l`` is a kernel density estimate over the best ``max(N_min, q |D_b|)``
   observations at ``b``, ``g`` over the worst ``max(N_min, |D_b| - |l|)`` (Eqs. 2 and 3; the two
   sets overlap while ``|D_b| < 2 N_min``); failed and infeasible observations (nan) rank worst.
   ``N_s = num_samples`` candidates are drawn from ``l'``, ``l`` with every bandwidth multiplied
   by ``b_w = bandwidth_factor``, and the one with the highest ``l(x) / g(x)`` is proposed.
   ``N_min`` is ``d + 1`` for the space's ``d`` decisions (``min_points``).

Observations are modelled per fidelity as told, promoted re-evaluations included (the paper
models every evaluation). The first ``min(n_0, N_min + 2)`` proposals, ``n_0`` the first
bracket's size, cannot have a model: they are the shared initial design.

**The density model.** BOHB's reference implementation (HpBandSter) encodes a categorical
hyperparameter by its choice index and fits statsmodels' ``KDEMultivariate``: a product of
Aitchison & Aitken (1976) kernels ``k(x, x_i) = 1 - lambda`` if equal, ``lambda / (c - 1)``
otherwise, with bandwidths by the normal reference rule ``1.06 * std * m ** (-1 / (4 + d))``
over the indices of the ``m`` points, raised to ``min_bandwidth``. Here every decision of the
space (its universe, :func:`~.optuna_common.universe`) is one such categorical variable, which is
how NAS-Bench-201's BOHB baseline encoded the cell (one categorical per edge). Two corrections
keep the kernel a probability: ``c`` is the decision's number of choices (statsmodels counts the
distinct values in the data, and divides by zero when all agree), and ``lambda`` is capped at
``(c - 1) / c``, where the kernel is uniform (the rule exceeds 1 on scattered indices, where
statsmodels' kernel turns negative). Candidates are drawn exactly from the (widened) kernel: a
random point of ``l``'s data, each decision kept with probability ``1 - lambda'`` and otherwise
one of the other choices uniformly. A decision absent from an architecture (a chain's layer
after ``terminate``) is imputed from a random point of the same set that has it, as HpBandSter
imputes inactive hyperparameters; a candidate's values for decisions its architecture does not
reach are ignored, and a value not allowed after the prefix is repaired to the nearest allowed
choice (:func:`~.optuna_common.repair`).

**Why not Optuna's TPE** (the route :mod:`.bayesopt` takes): its Parzen estimators add a prior
component, split good and bad by ``gamma(n) = min(ceil(0.1 n), 25)`` and keep no per-budget
models; the paper's one multivariate KDE per budget, ``q``, ``rho`` and ``b_w`` have no
counterpart there. A one-hot ``space.encode`` vector would make ``d`` the number of choices
(NAS-Bench-201: 30, not 6), so ``N_min`` and the bandwidth rule would change meaning.

**Deviation (an option).** The paper widens every bandwidth for sampling; HpBandSter widens only
continuous hyperparameters, so on all-categorical spaces its ``b_w`` has no effect
(``widen_categorical = False`` reproduces that).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from nasbench.core.params import param
from nasbench.core.registry import strategies
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo
from nasbench.core.types import Architecture, Observation

from .optuna_common import repair, universe
from .successive_halving import (
    Bracket,
    BracketSearch,
    Pick,
    bracket_sizes,
    hyperband_bracket,
    top_k,
)


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    peak = x.max(axis=axis, keepdims=True)
    return np.squeeze(peak, axis) + np.log(np.exp(x - peak).sum(axis=axis))


@dataclass(frozen=True)
class CategoricalKDE:
    """A product of Aitchison-Aitken kernels over ``data`` (``(m, d)`` choice indices) with one
    bandwidth per variable (``lambda`` in ``[0, (c - 1) / c]``; ``levels`` holds each ``c``)."""

    data: np.ndarray
    bandwidth: np.ndarray
    levels: np.ndarray

    @classmethod
    def fit(cls, data: np.ndarray, levels: np.ndarray, min_bandwidth: float) -> CategoricalKDE:
        """Normal-reference bandwidths ``1.06 * std * m ** (-1 / (4 + d))`` (statsmodels'
        ``normal_reference``, as HpBandSter fits), at least ``min_bandwidth``, at most
        ``(c - 1) / c``. Draws nothing."""
        m, d = data.shape
        rule = 1.06 * data.std(axis=0) * m ** (-1.0 / (4 + d))
        cap = (levels - 1) / levels
        return cls(data, np.minimum(np.maximum(rule, min_bandwidth), cap), levels)

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """Log density at each row of ``x`` (``(k, d)`` indices): shape ``(k,)``."""
        lam = self.bandwidth
        same = np.log1p(-lam)
        other = np.log(np.where(self.levels > 1, lam, 1.0) / np.maximum(self.levels - 1, 1))
        equal = x[:, None, :] == self.data[None, :, :]
        log_kernels = np.where(equal, same, other).sum(axis=2)  # (k, m)
        return _logsumexp(log_kernels, axis=1) - math.log(len(self.data))

    def sample(self, k: int, factor: float, rng: np.random.Generator) -> np.ndarray:
        """``k`` draws from the estimate with bandwidths times ``factor`` (capped where the
        kernel is uniform): ``(k, d)`` indices. Draws from ``rng``."""
        rows = self.data[rng.integers(len(self.data), size=k)]
        lam = np.minimum(self.bandwidth * factor, (self.levels - 1) / self.levels)
        change = rng.random(rows.shape) < lam
        other = np.floor(rng.random(rows.shape) * np.maximum(self.levels - 1, 1)).astype(np.int64)
        other += other >= rows  # one of the c - 1 other choices, uniformly
        return np.where(change, other, rows)


def impute(data: np.ndarray, levels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``data`` (``(m, d)``, nan where a decision is absent) with every gap filled: the gaps of
    a row take the values of a random row that has the first gap's variable (a uniform choice
    where none has it), until none is left (HpBandSter's ``impute_conditional_data``). Draws
    from ``rng`` only where there are gaps. Returns integer indices."""
    out = data.copy()
    for row in out:
        while np.isnan(row).any():
            gaps = np.isnan(row)
            first = int(np.flatnonzero(gaps)[0])
            donors = np.flatnonzero(~np.isnan(data[:, first]))
            if len(donors):
                row[gaps] = data[donors[rng.integers(len(donors))]][gaps]
            else:
                row[first] = rng.integers(levels[first])
    return out.astype(np.int64)


def model_budget(counts: dict[float, int], needed: int) -> float | None:
    """Algorithm 2, line 2: the largest budget with at least ``needed`` observations.

    >>> model_budget({12.0: 30, 200.0: 8}, 9), model_budget({12.0: 30, 200.0: 9}, 9)
    (12.0, 200.0)
    """
    return max((b for b, count in counts.items() if count >= needed), default=None)


def split(objectives: Sequence[float], n_min: int, top_fraction: float) -> tuple[list[int], ...]:
    """Eqs. 2 and 3: positions of the best ``max(n_min, floor(q N))`` and of the worst
    ``max(n_min, N - |best|)`` observations (nan worst, ties earlier first).

    >>> split([0.1, 0.9, float("nan"), 0.5], 2, 0.15)
    ([1, 3], [0, 2])
    """
    order = top_k(objectives, len(objectives))
    n_good = max(n_min, int(top_fraction * len(order) + 1e-9))
    n_bad = max(n_min, len(order) - n_good)
    return order[:n_good], order[len(order) - n_bad :]


@strategies.register("bohb")
class BOHB(BracketSearch):
    """BOHB (Falkner et al., ICML 2018): Hyperband's brackets, new architectures from a
    per-budget density model (module docstring). Bad values raise NasbenchError. Learned
    attributes beyond :class:`~.successive_halving.BracketSearch`'s: ``n_min_`` (``N_min``),
    ``data_`` (fidelity -> observed indices and objectives) and ``model_fidelity_`` (the budget
    whose model made the latest model-based proposal; ``None`` before one)."""

    paper: ClassVar[str] = (
        "Falkner, Klein & Hutter, BOHB: Robust and Efficient Hyperparameter Optimization at "
        "Scale, ICML 2018 (Algorithm 2); Hyperband: Li et al., JMLR 2018"
    )
    random_fraction: float = param(1 / 3, ge=0, le=1, source=(
        "1/3: Falkner et al. 2018 (rho; HpBandSter's random_fraction)"
    ))  # fmt: skip
    top_fraction: float = param(0.15, gt=0, lt=1, source=(
        "0.15: Falkner et al. 2018 (q = 15%, HpBandSter's top_n_percent)"
    ))  # fmt: skip
    num_samples: int = param(64, ge=1, source=(
        "64: Falkner et al. 2018 (N_s, HpBandSter's num_samples)"
    ))  # fmt: skip
    min_points: int | None = param(None, kind=int, ge=1, source=(
        "none: d + 1 for d decisions, Falkner et al. 2018 (N_min = d + 1)"
    ))  # fmt: skip
    bandwidth_factor: float = param(3.0, gt=0, source="3: Falkner et al. 2018 (b_w)")
    min_bandwidth: float = param(1e-3, gt=0, lt=1, source=(
        "1e-3: Falkner et al. 2018 (HpBandSter's min_bandwidth)"
    ))  # fmt: skip
    widen_categorical: bool = param(True, source=(
        "true: Falkner et al. 2018 sample from l' with every bandwidth times b_w; HpBandSter "
        "widens continuous hyperparameters only (false)"
    ))  # fmt: skip

    def _plan(self, index: int) -> tuple[int, ...]:
        return bracket_sizes(hyperband_bracket(index, self.s_max_), self.s_max_, self.eta)

    def _initial_size(self) -> int:
        return min(self._plan(0)[0], self.n_min_ + 2)

    def start(
        self,
        space: SearchSpace,
        info: SearchInfo,
        rng: np.random.Generator,
        initial_rng: np.random.Generator,
    ) -> None:
        """Begin a search (see :meth:`BracketSearch.start`); the model is empty."""
        names, self.order_ = universe(space)
        self.choices_ = list(names.values())
        self.column_ = {name: j for j, name in enumerate(names)}
        self.levels_ = np.array([len(c) for c in self.choices_], dtype=np.int64)
        self.n_min_ = self.min_points if self.min_points is not None else len(names) + 1
        self.data_: dict[float, tuple[list[np.ndarray], list[float]]] = {}
        self._fitted: tuple[tuple[float, int], tuple[CategoricalKDE, CategoricalKDE]] | None = None
        self.model_fidelity_: float | None = None
        super().start(space, info, rng, initial_rng)

    def _observe(self, obs: Observation) -> None:
        codes, objectives = self.data_.setdefault(float(obs.fidelity), ([], []))
        codes.append(self._encode(obs.arch))
        objectives.append(float(obs.objective))

    def _encode(self, arch: Architecture) -> np.ndarray:
        """Choice indices by universe position, nan for decisions the architecture lacks."""
        names = arch.names or self.space_.make(arch.values).names
        row = np.full(len(self.choices_), np.nan)
        for name, value in zip(names, arch.values, strict=True):
            row[self.column_[name]] = self.order_[name][value]
        return row

    def _decode(self, row: np.ndarray) -> Architecture:
        """The architecture a full row of choice indices describes: walk the decisions, take
        each one's value, repair a value not allowed after the prefix."""
        values: list[str] = []
        while (decision := self.space_.next_decision(values)) is not None:
            j = self.column_[decision.name]
            value = self.choices_[j][int(row[j])]
            values.append(repair(value, decision.choices, self.order_[decision.name]))
        return self.space_.make(values)

    def _new_arch(self, bracket: Bracket) -> tuple[Architecture, Pick]:
        """Algorithm 2: random without a model or with probability ``rho`` (one coin from
        ``rng`` when a model exists), else the best of ``N_s`` candidates by ``l / g``."""
        counts = {b: len(objectives) for b, (_, objectives) in self.data_.items()}
        budget = model_budget(counts, self.n_min_ + 2)
        if budget is None or self.rng_.random() < self.random_fraction:
            return super()._new_arch(bracket)
        self.model_fidelity_ = budget
        good, bad = self._models(budget, counts[budget])
        factor = self.bandwidth_factor if self.widen_categorical else 1.0
        candidates = good.sample(self.num_samples, factor, self.rng_)
        ratio = good.log_pdf(candidates) - bad.log_pdf(candidates)
        return self._decode(candidates[int(np.argmax(ratio))]), Pick.MODEL

    def _models(self, budget: float, count: int) -> tuple[CategoricalKDE, CategoricalKDE]:
        """``l`` and ``g`` on the observations at ``budget``, refitted when they changed
        (imputation may draw from ``rng``)."""
        if self._fitted is None or self._fitted[0] != (budget, count):
            codes, objectives = self.data_[budget]
            data = np.array(codes)
            good, bad = split(objectives, self.n_min_, self.top_fraction)
            fit = [CategoricalKDE.fit(impute(data[rows], self.levels_, self.rng_), self.levels_,
                                      self.min_bandwidth) for rows in (good, bad)]  # fmt: skip
            self._fitted = ((budget, count), (fit[0], fit[1]))
        return self._fitted[1]
