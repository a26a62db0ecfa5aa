"""Surrogate benchmark evaluation: a surrogate fitted to a benchmark table answers for any
architecture of the table's space, seen or unseen, at any sparsity in the table's range.

What an evaluation returns:

- ``val_acc``: the surrogate's predicted validation accuracy (highest recorded fidelity) plus
  Gaussian noise whose standard deviation is the table's seed-to-seed spread for architectures
  of that accuracy at that sparsity (heteroscedastic: :meth:`TableData.noise_model
  <nasbench.tables.surrogate_benchmark.TableData.noise_model>`, a robust fit to the rows with
  several training seeds, evaluated at the noise-free prediction), so the best architectures are not
  given the spread of the worst; ``val_acc_std`` is the surrogate's own uncertainty;
- ``bound = "table"`` keeps both noise-free predictions within the lowest and highest seed-mean
  labels the table records at that sparsity; the default ``"unit"`` answers the model's
  prediction (clipped to [0, 1] after the noise): a surrogate's extrapolation beyond the best
  trained network is information, not an artefact (:data:`BOUNDS`);
- ``test_acc``: the noise-free prediction mapped by the table's linear val -> test relation
  (the architecture's expected test accuracy, like the seed mean the tabular evaluator
  reports; an incumbent picked on a lucky draw keeps a val-test gap);
- ``cost_s`` and ``latency_ms``: ridge regressions of the recorded log training time and log
  latency on the same features; ``params`` and ``macs``: the space's exact counts; nonzero
  params and effective MACs: the counts scaled by the recorded density ratios (regressed);
- at a lower fidelity (a table that records learning curves, ``E`` epochs: every epoch
  ``e`` in ``1..E`` is offered): ``val_acc`` is the architecture's predicted curve at ``e``
  (:mod:`nasbench.tables.curve_model`, NAS-Bench-x11's compressed curves, tied to the final
  prediction so that ``e = E`` answers exactly as above) plus seed noise from the same kind of
  noise model fitted to the recorded per-seed accuracies after ``e`` epochs (the spread early
  in training is that of early training, not the final one's), evaluated at the predicted
  accuracy at ``e``; ``cost_s`` is ``e / E`` of the regressed cost; ``test_acc`` and
  ``val_acc_std`` stay the final ones (no low-fidelity test accuracy is recorded);
- status ``failed`` (accuracies NaN, the regressed cost charged) where the surrogate predicts
  NaN. Whatever else a surrogate plugin gets wrong (raising, an answer that is not a
  :class:`~nasbench.core.surrogate.Prediction` of one value per input, an infinite value) is one
  NasbenchError naming it and the method (:mod:`nasbench.core.plugins`).

The fitted models are cached per process (table file, surrogate, parameters, device), and
fitting draws only from a fixed stream, so every run of a suite, in any process, queries the
same surrogate benchmark. The curve model is fitted on the first query below the final epoch
(a few seconds), so a run that asks only for the final epoch never pays for it.

>>> import numpy as np
>>> from nasbench.core.registry import spaces
>>> space = spaces.create("nb201")
>>> ev = SurrogateEvaluator(space, surrogate="random_forest",
...                         surrogate_params={"n_estimators": 30}, train_size=1000)
>>> arch = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
...                    "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
>>> m = ev.evaluate(arch, ev.default_fidelity, np.random.default_rng(0))
>>> 0.85 < m.val_acc < 0.95, 0.88 < m.test_acc < 0.96, m.params
(True, True, 1073466)

The seed noise of the cell-mnist1d table at sparsity 0.8 for an architecture predicted at the
table's 99th percentile of validation accuracy (96.8%, a top architecture), at its median
(95.0%) and at its 5th percentile (92.5%). The pooled variance gave all three 0.0104; on this
table the top and the median architecture vary alike (0.6 to 0.8 points between seeds), the
weakest twice as much:

>>> cell = SurrogateEvaluator(spaces.create("cell", channels=8, cells_per_stage=1),
...                           benchmark="cell-mnist1d", surrogate="random_forest",
...                           surrogate_params={"n_estimators": 10}, sparsity=0.8)
>>> [round(float(cell.noise_std(v)), 4) for v in (0.968, 0.950, 0.925)]
[0.0084, 0.0058, 0.0168]

The chain table records 6-epoch curves, so its surrogate benchmark answers epochs 1 to 6; an
architecture's predicted curve rises to the final prediction, each epoch charged a sixth of
the cost:

>>> chain = SurrogateEvaluator(spaces.create("chain", max_layers=6, filters=[8, 16, 32, 64]),
...                            benchmark="chain-mnist1d", surrogate="random_forest",
...                            surrogate_params={"n_estimators": 10}, noise=False)
>>> chain.fidelities, chain.default_fidelity
((1.0, 2.0, 3.0, 4.0, 5.0, 6.0), 6.0)
>>> arch = chain.space.parse(chain.table.arch[0])
>>> answers = [chain.evaluate(arch, e, np.random.default_rng(0)) for e in chain.fidelities]
>>> all(a.val_acc < b.val_acc for a, b in zip(answers, answers[1:]))
True
>>> round(answers[1].cost_s / answers[-1].cost_s, 4), answers[1].test_acc == answers[-1].test_acc
(0.3333, True)
"""

# ruff: noqa: N803, N806  (``X`` for inputs, the scikit-learn convention)

from __future__ import annotations

import json
import math
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
from sklearn.linear_model import Ridge

from nasbench.core import plugins
from nasbench.core.errors import NasbenchError, one_of
from nasbench.core.evaluator import Profile
from nasbench.core.registry import evaluators, surrogates
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.surrogate import InputKind
from nasbench.core.tasks import task_for
from nasbench.core.types import Architecture, Measurement, Status
from nasbench.tables.benchmarks import load_benchmark
from nasbench.tables.curve_model import CurveModel, epoch_noise_models, table_curves
from nasbench.tables.surrogate_benchmark import (
    NoiseModel,
    TableData,
    features,
    params_key,
    split,
    surrogate_choice,
    table_data,
)

from .tabular import _check_space

BOUNDS = ("unit", "table")
"""How far a surrogate benchmark's noise-free accuracies may reach: ``"unit"`` (default) the
model's prediction (validation accuracy clipped to [0, 1] once the noise is added, test accuracy
to [0, 1]); ``"table"`` within the lowest and highest seed-mean labels its table records at the
task's sparsity (a conservative benchmark that answers nothing no training run reached).

Why not ``"table"`` by default: on the rebuilt chain suite (``results/own-spaces-rebuilt``,
sparsity 0.8, every final incumbent retrained 3 times; ``python -m experiments.retrain report``)
the 43 of 276 incumbents GIN answers above the table's best test label (93.51%) retrain to
94.22% test accuracy on average, the 43 answered just below it to 90.53%, and within the 43
the answer still ranks the retrained accuracy (Kendall tau 0.347); bounding them lowers the
tau between the benchmark and retraining over all 276 from 0.432 to 0.429. The table's 500 random
architectures do not contain the best ones a search finds."""


class _Fitted:
    """The models of one surrogate benchmark (see the module docstring)."""

    def __init__(self, data: TableData, surrogate: str, params: dict[str, Any],
                 device: str | None, train_size: int | None, bound: str) -> None:  # fmt: skip
        self.data, self.name, self.bound = data, surrogate, bound
        self.model = surrogates.create(surrogate, **params)
        self.kind = plugins.input_kind(self.model, surrogate)
        rows = np.arange(len(data))
        if train_size is not None:  # fit on a subset of architectures (quality checks, tests)
            rows = split(data, train_size, 0, None)[0]
        self.rows = rows
        rng = role_rng(0, "surrogate-benchmark", data.table.name, surrogate)
        plugins.fit(self.model, surrogate, data.inputs(self.kind, rows), data.val[rows], rng)
        self.test_map = np.polyfit(data.val, data.test, 1)
        X = data.vectors
        self.bounds: dict[str, tuple[float, float]] = {}
        self.aux = {"log_cost": self._ridge(X, np.log(np.maximum(data.cost_s, 1e-9)))}
        if device is not None:
            keep = _table_rows(data)
            lat = data.table.latencies(device)[keep]
            self.aux["log_latency"] = self._ridge(X, np.log(np.maximum(lat, 1e-9)))
        for name, y in (
            ("log_cost", np.log(np.maximum(data.cost_s, 1e-9))),
            *([("log_latency", np.log(np.maximum(lat, 1e-9)))] if device else []),
        ):
            finite = y[np.isfinite(y)]
            if finite.size:  # answers stay within what the table recorded
                self.bounds[name] = (float(finite.min()), float(finite.max()))
        for name, num, den in (("nonzero", "nonzero_params", "params"),
                               ("effective", "effective_macs", "macs")):  # fmt: skip
            top, bottom = data.column(num), data.column(den)
            if top is not None and bottom is not None:
                ratio = top[_table_rows(data)] / np.maximum(bottom[_table_rows(data)], 1)
                self.aux[name] = self._ridge(X, ratio)
        self.noise: NoiseModel = data.noise_model()
        self.task = task_for(data.table.info.dataset)
        self.answers: dict[tuple[str, float], tuple[dict[str, float], int, int]] = {}
        self.curve_answers: dict[tuple[str, float], tuple[np.ndarray, np.ndarray]] = {}

    @cached_property
    def curves(self) -> tuple[CurveModel, tuple[NoiseModel, ...]]:
        """The curve model, fitted on the surrogate's rows whose curves are recorded, and the
        seed-noise model of every epoch (fitted on first use: only lower fidelities need it)."""
        curves = table_curves(self.data)
        rows = self.rows[np.all(np.isfinite(curves.values[self.rows]), axis=1)]
        rng = role_rng(0, "surrogate-benchmark-curves", self.data.table.name)
        model = CurveModel().fit(self.data.vectors[rows], curves.values[rows], rng)
        return model, epoch_noise_models(self.data, curves)

    def answer_curve(self, arch: Architecture, sparsity: float) -> tuple[np.ndarray, np.ndarray]:
        """The noise-free predicted curve (E,) of one architecture, tied to its final
        prediction, and the seed-noise sd at each epoch (E,), memoised like :meth:`answer`."""
        key = (arch.text or self.data.space.format(arch), sparsity)
        hit = self.curve_answers.get(key)
        if hit is None:
            final = np.array([self.answer(arch, sparsity)[0]["val"]])
            curves, stds = self.curve_many([arch], sparsity, final)
            hit = self.curve_answers[key] = (curves[0], stds[0])
        return hit

    def curve_many(
        self, archs: list[Architecture], sparsity: float, final: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Predicted curves (n, E) tied to the ``final`` predictions (n,), and the seed-noise
        sd (n, E) at each epoch's predicted accuracy."""
        model, noise = self.curves
        X = features(self.data.space, archs, np.full(len(archs), sparsity), InputKind.VECTOR)
        assert isinstance(X, np.ndarray)
        curve = model.predict(X, final=final)
        stds = np.stack([m.std(curve[:, e], sparsity) for e, m in enumerate(noise)], axis=1)
        return curve, stds

    def answer(self, arch: Architecture, sparsity: float) -> tuple[dict[str, float], int, int]:
        """Noise-free predictions, params and MACs of one architecture, memoised (the models
        are fixed, so every run in this process shares the answers)."""
        key = (arch.text or self.data.space.format(arch), sparsity)
        hit = self.answers.get(key)
        if hit is None:
            pred = self.predict([arch], sparsity)
            counts = self.data.space.counts(arch, self.task)
            hit = ({k: float(v[0]) for k, v in pred.items()}, counts.params, counts.macs)
            self.answers[key] = hit
        return hit

    @staticmethod
    def _ridge(X: np.ndarray, y: np.ndarray) -> Ridge | None:
        ok = np.isfinite(y)
        return Ridge(alpha=1.0).fit(X[ok], y[ok]) if ok.sum() >= 2 else None

    def predict(self, archs: list[Architecture], sparsity: float) -> dict[str, np.ndarray]:
        """Predictions for a batch of architectures at one sparsity level (NaN where the
        surrogate cannot answer; :func:`nasbench.core.plugins.predict` checks its answer)."""
        s = np.full(len(archs), sparsity)
        inputs = features(self.data.space, archs, s, self.kind)
        pred = plugins.predict(self.model, self.name, inputs, len(archs))
        X = features(self.data.space, archs, s, InputKind.VECTOR)
        val, test = pred.mean, np.polyval(self.test_map, pred.mean)
        if self.bound == "table":  # within the labels the table recorded (NaN stays NaN)
            (val_low, val_high), (test_low, test_high) = self.data.label_range(sparsity)
            val, test = np.clip(val, val_low, val_high), np.clip(test, test_low, test_high)
        out = {"val": val, "std": pred.std, "test": test,
               "noise_std": self.noise.std(val, sparsity)}  # fmt: skip
        for name, model in self.aux.items():
            if model is not None:  # Ridge.predict's own product, without its input checks
                out[name] = X @ model.coef_.T + model.intercept_
                if name in self.bounds:  # a linear model extrapolates without limit
                    out[name] = np.clip(out[name], *self.bounds[name])
        return out


def _table_rows(data: TableData) -> np.ndarray:
    """Rows of the table file that ``data`` kept (finite validation and test values)."""
    table = data.table
    val = table.fidelity(max(table.fidelities)).val
    return np.flatnonzero(np.isfinite(val) & np.isfinite(table.test))


@lru_cache(maxsize=8)
def _fitted(path: str, version: int, surrogate: str, params: str, device: str | None,
            train_size: int | None, bound: str) -> _Fitted:  # fmt: skip
    data = table_data(load_benchmark(path))
    return _Fitted(data, surrogate, json.loads(params), device, train_size, bound)


@evaluators.register("surrogate")
class SurrogateEvaluator:
    """Answer from a surrogate fitted to a benchmark table (see the module docstring).

    ``surrogate`` is a registered surrogate name, ``"best"`` (the best held-out Kendall tau
    measured for the table) or ``"second"`` (the best of another model family), resolved by
    :func:`~nasbench.tables.surrogate_benchmark.surrogate_choice`; ``surrogate_params`` update the
    recorded parameters of the chosen one. ``train_size`` fits on that many of the table's
    architectures instead of all of them. ``noise = false`` switches the seed noise off.
    ``bound`` (:data:`BOUNDS`): ``"unit"`` (default) answers the model's prediction, ``"table"``
    keeps the noise-free answers within the labels the table records. The
    resolved choice is kept as ``surrogate_name`` and ``surrogate_params``. Raises NasbenchError at
    construction for another space, an unknown device or surrogate, no recorded second
    surrogate, or a sparsity outside the table's recorded range.
    """

    def __init__(
        self,
        space: SearchSpace,
        benchmark: str = "nb201-cifar10",
        surrogate: str = "best",
        surrogate_params: dict[str, Any] | None = None,
        latency_device: str | None = None,
        sparsity: float = 0.0,
        noise: bool = True,
        train_size: int | None = None,
        bound: str = "unit",
    ) -> None:
        if bound not in BOUNDS:
            raise one_of("bound of a surrogate benchmark", bound, BOUNDS)
        table = load_benchmark(benchmark)
        _check_space(table.name, table.info.space, table.info.space_params, space)
        if latency_device is not None and latency_device not in table.devices:
            raise one_of(f"latency device of {table.name}", latency_device, table.devices)
        low, high = min(table.sparsities), max(table.sparsities)
        if not low <= sparsity <= high:
            raise NasbenchError(
                f"sparsity {sparsity} lies outside the range [{low}, {high}] of {table.name}"
            )
        surrogate, chosen = surrogate_choice(table.name, surrogate)
        surrogate_params = {**chosen, **(surrogate_params or {})}
        surrogates.get(surrogate)  # unknown name: NasbenchError naming the registered ones
        self.surrogate_name, self.surrogate_params = surrogate, surrogate_params
        self.space, self.table, self.sparsity = space, table, float(sparsity)
        self.dataset = table.info.dataset
        self.noise, self.latency_device = noise, latency_device
        self._fitted = _fitted(str(table.path), table.path.stat().st_mtime_ns if table.path
                               else 0, surrogate, params_key(surrogate_params), latency_device,
                               train_size, bound)  # fmt: skip
        self.default_fidelity: float = max(table.fidelities)  # E: what the surrogate predicts
        epochs = range(1, table.epochs + 1) if table.epochs else ()
        self.fidelities: tuple[float, ...] = tuple(map(float, epochs)) or (self.default_fidelity,)
        self._task = self._fitted.task

    def _answer(self, arch: Architecture) -> tuple[dict[str, float], int, int]:
        if arch.space != self.space.name:
            raise NasbenchError(f"architecture of space {arch.space!r} given to a "
                                f"{self.space.name!r} surrogate benchmark")  # fmt: skip
        return self._fitted.answer(arch, self.sparsity)

    def profile(self, arch: Architecture) -> Profile:
        pred, params, macs = self._answer(arch)
        return Profile(math.exp(pred["log_latency"]) if "log_latency" in pred else math.nan,
                       params, macs)  # fmt: skip

    def evaluate(
        self, arch: Architecture, fidelity: float, rng: np.random.Generator
    ) -> Measurement:
        """The surrogate's answer for ``arch`` at ``fidelity`` (epochs, one of
        :attr:`fidelities`); draws one standard normal from ``rng`` for the seed noise (none
        when ``noise`` is off), scaled by the noise sd of the noise-free prediction (at the
        final epoch :meth:`noise_std`; below it the epoch's own noise model, module docstring).
        Spends no budget (the runner charges ``cost_s``). A NaN prediction (mean or std) is a
        FAILED measurement (accuracies NaN, the regressed cost charged) and draws nothing."""
        if fidelity not in self.fidelities:
            raise one_of(f"fidelity of the {self.table.name} surrogate", fidelity, self.fidelities)
        pred, params, macs = self._answer(arch)
        latency = math.exp(pred["log_latency"]) if "log_latency" in pred else math.nan
        cost = math.exp(pred["log_cost"])
        if fidelity != self.default_fidelity:  # epoch e < E: e / E of the training
            cost *= fidelity / self.default_fidelity
        if not (math.isfinite(pred["val"]) and math.isfinite(pred["std"])):
            nan = math.nan  # the surrogate has no answer: a failed evaluation, never a result
            return Measurement(nan, nan, cost, Status.FAILED, self.sparsity,
                               latency, params, macs=macs, val_acc_std=nan)  # fmt: skip
        val, noise_std = pred["val"], pred["noise_std"]
        if fidelity != self.default_fidelity:
            curve, stds = self._fitted.answer_curve(arch, self.sparsity)
            val, noise_std = float(curve[int(fidelity) - 1]), float(stds[int(fidelity) - 1])
        if self.noise:
            val += noise_std * float(rng.standard_normal())
        density = min(max(pred.get("nonzero", 1.0 - self.sparsity), 0.0), 1.0)
        mac_density = min(max(pred.get("effective", density), 0.0), 1.0)
        return Measurement(
            val_acc=min(max(val, 0.0), 1.0),
            test_acc=min(max(pred["test"], 0.0), 1.0),
            cost_s=cost,
            status=Status.OK,
            sparsity=self.sparsity,
            latency_ms=latency,
            params=params,
            nonzero_params=round(params * density),
            macs=macs,
            effective_macs=round(macs * mac_density),
            val_acc_std=pred["std"],
        )

    @property
    def noise_model(self) -> NoiseModel:
        """The table's fitted seed-noise model (shared by every surrogate of the table)."""
        return self._fitted.noise

    def noise_std(self, pred_val: float | np.ndarray, sparsity: float | None = None) -> np.ndarray:
        """The seed-noise standard deviation (fraction) ``evaluate`` adds for an architecture
        whose noise-free predicted validation accuracy is ``pred_val``, at ``sparsity`` (default:
        this evaluator's); 0 where the table records a single seed per row. Pure."""
        level = self.sparsity if sparsity is None else sparsity
        return self._fitted.noise.std(pred_val, level)

    def evaluate_many(
        self, archs: list[Architecture], fidelity: float | None = None
    ) -> dict[str, np.ndarray]:
        """Noise-free predictions for a batch (one surrogate call): ``val``, ``std``, ``test``,
        ``noise_std`` (the seed-noise sd ``evaluate`` would draw with) and the regressed
        columns, at ``fidelity`` (default: the final epoch; below it ``val`` and ``noise_std``
        are the epoch's, as ``evaluate`` answers). For throughput and analysis; strategies use
        ``evaluate``. Raises NasbenchError for a fidelity not offered."""
        out = self._fitted.predict(archs, self.sparsity)
        if fidelity is None or fidelity == self.default_fidelity:
            return out
        if fidelity not in self.fidelities:
            raise one_of(f"fidelity of the {self.table.name} surrogate", fidelity, self.fidelities)
        curve, stds = self._fitted.curve_many(archs, self.sparsity, out["val"])
        return {**out, "val": curve[:, int(fidelity) - 1], "noise_std": stds[:, int(fidelity) - 1]}

    @property
    def curve_model(self) -> CurveModel:
        """The fitted learning-curve model (:mod:`nasbench.tables.curve_model`; fitted on first
        use). Raises NasbenchError when the table records no learning curves."""
        return self._fitted.curves[0]
