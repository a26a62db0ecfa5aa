"""Tabular evaluation: answer from a benchmark table of recorded training runs.

No network is trained: :class:`TabularEvaluator` looks the architecture up in a table (see
:mod:`nasbench.tables.benchmarks`) and returns what was recorded. The default table is NAS-Bench-201
on CIFAR-10 (Dong & Yang, ICLR 2020), shipped with nasbench, and follows its search protocol: a
proposal at fidelity 12 is scored by its 12-epoch validation accuracy and charged 12/200 of the
recorded 200-epoch training time; fidelity 200 answers with the validation accuracy of one
recorded training seed, drawn from ``rng``; the test accuracy is always the 200-epoch CIFAR-10
test accuracy (seed mean), the number papers report for the chosen cell.

A table that records learning curves (nasbench's own MNIST-1D tables, recipe of ``E`` epochs:
:mod:`nasbench.tables.benchmarks`) answers every epoch ``e`` in ``1..E``: the validation accuracy
recorded after epoch ``e`` (one recorded training seed, drawn from ``rng`` exactly as at ``E``),
charged ``e / E`` of the recorded training time; the test accuracy is the final one at every
epoch (a network's test accuracy after ``e < E`` epochs is not recorded). The default fidelity
is the lowest one the table's description records (NAS-Bench-201: 12; the own tables: ``E``), so
a task that names none answers as before curves were offered.

>>> import numpy as np
>>> from nasbench.core.registry import spaces
>>> space = spaces.create("nb201")
>>> evaluator = TabularEvaluator(space, latency_device="pixel3")
>>> arch = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
...                    "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")  # index 6111
>>> m = evaluator.evaluate(arch, evaluator.default_fidelity, np.random.default_rng(0))
>>> round(m.val_acc, 4), round(m.test_acc, 4), round(m.cost_s, 1), round(m.latency_ms, 2), m.params
(0.8438, 0.9437, 172.8, 23.58, 1073466)
>>> m.extra[0][0], round(m.extra[0][1], 4)
('test_acc_cifar100', 0.7322)
>>> chain = TabularEvaluator(spaces.create("chain", max_layers=6, filters=[8, 16, 32, 64]),
...                          benchmark="chain-mnist1d")
>>> chain.fidelities, chain.default_fidelity
((1.0, 2.0, 3.0, 4.0, 5.0, 6.0), 6.0)
>>> arch = chain.space.parse(chain.table.arch[0])
>>> [chain.evaluate(arch, e, np.random.default_rng(0)).val_acc for e in (2.0, 6.0)]  # seed 2 of 2
[0.596, 0.785]
"""

from __future__ import annotations

import json
import math

import numpy as np

from nasbench.core.errors import NasbenchError, one_of
from nasbench.core.evaluator import Profile
from nasbench.core.registry import evaluators, spaces
from nasbench.core.space import SearchSpace
from nasbench.core.tasks import task_for
from nasbench.core.types import Architecture, Measurement, Status
from nasbench.tables.benchmarks import load_benchmark


class _Answers:
    """One fidelity's per-row answers as Python lists (indexing a list is several times faster
    than indexing a numpy array, and yields floats ready for the Measurement); at a fidelity
    without per-seed values, the answers given so far by architecture string (``memo``: the
    same frozen Measurement again, as a search proposes the same architectures again)."""

    __slots__ = ("cost_s", "memo", "val", "val_seeds")

    def __init__(
        self, val: list[float], seeds: tuple[tuple[float, ...], ...] | None, cost_s: list[float]
    ) -> None:
        self.val = val
        self.val_seeds = seeds
        self.cost_s = cost_s
        self.memo: dict[str, Measurement] = {}


@evaluators.register("tabular")
class TabularEvaluator:
    """Look architectures up in a benchmark table.

    ``benchmark`` is a shipped table name (``nasbench.tables.benchmarks.shipped_benchmarks()``) or a
    path to a table file. ``latency_device`` names one of the table's latency columns (``None``:
    ``latency_ms`` is ``nan``); ``sparsity`` picks the recorded sparsity level. Raises
    NasbenchError at construction when the table records another space (or the same space with
    other constructor parameters), when the device or the sparsity level is not recorded, or
    when the table cannot be loaded.
    """

    def __init__(
        self,
        space: SearchSpace,
        benchmark: str = "nb201-cifar10",
        latency_device: str | None = None,
        sparsity: float = 0.0,
    ) -> None:
        self.space = space
        self.benchmark = benchmark
        self.latency_device = latency_device
        self.sparsity = sparsity
        table = load_benchmark(benchmark)
        self.table = table
        self.dataset = table.info.dataset
        _check_space(table.name, table.info.space, table.info.space_params, space)
        if latency_device is not None and latency_device not in table.devices:
            raise one_of(f"latency device of {table.name}", latency_device, table.devices)
        if not table.has_sparsity(sparsity):
            raise one_of(f"sparsity level of {table.name}", sparsity, table.sparsities)
        self._sparsity = float(sparsity)
        self.fidelities: tuple[float, ...] = table.fidelities
        self.default_fidelity: float = min(table.recorded_fidelities)  # not a curve's epoch 1
        self._answers: dict[float, _Answers] = {}
        for f in self.fidelities:
            values = table.fidelity(f)
            self._answers[f] = _Answers(
                values.val.tolist(), values.val_seeds, values.cost_s.tolist()
            )
        self._test: list[float] = table.test.tolist()
        self._extra = [(name, column.tolist()) for name, column in table.extra.items()]
        n = len(table)
        self._latency: list[float] = (
            table.latencies(latency_device).tolist() if latency_device else [math.nan] * n
        )
        params_m = table.params_m
        self._params = [0] * n if params_m is None else np.rint(params_m * 1e6).astype(int).tolist()
        # MACs are not recorded: counted by the space for the table's dataset, once per row
        self._task = task_for(table.info.dataset)
        self._macs: dict[int, int] = {}

    def _row(self, arch: Architecture) -> int:
        if arch.space != self.space.name:
            raise NasbenchError(
                f"architecture of space {arch.space!r} given to a {self.space.name!r} table"
            )
        return self.table.index(arch.text or self.space.format(arch), arch.key, self.sparsity)

    def _count_macs(self, row: int, arch: Architecture) -> int:
        macs = self._macs.get(row)
        if macs is None:
            macs = self._macs[row] = self.space.counts(arch, self._task).macs
        return macs

    def profile(self, arch: Architecture) -> Profile:
        """Latency on the device, parameters and MACs without training (for hard constraints)."""
        row = self._row(arch)
        return Profile(self._latency[row], self._params[row], self._count_macs(row, arch))

    def evaluate(
        self, arch: Architecture, fidelity: float, rng: np.random.Generator
    ) -> Measurement:
        """The recorded measurement of ``arch`` at ``fidelity`` (one of :attr:`fidelities`).

        At a fidelity with per-seed values (NAS-Bench-201: 200 epochs; every epoch of a table
        with per-seed learning curves) ``val_acc`` is one recorded seed's value, drawn uniformly
        with exactly one ``rng.integers`` call; at a fidelity with a single value per
        architecture (12 epochs) ``rng`` is not touched. ``test_acc`` is the final one at
        every fidelity; ``cost_s`` the recorded training time scaled to the fidelity.
        Spends no budget (the runner charges ``cost_s``). Raises NasbenchError for an unknown
        fidelity, an architecture of another space, or one the table does not record.
        """
        answers = self._answers.get(fidelity)
        if answers is None:
            raise one_of(f"fidelity of {self.table.name}", fidelity, self.fidelities)
        seeds = answers.val_seeds
        if seeds is None and arch.space == self.space.name:  # the answer depends on arch alone
            known = answers.memo.get(arch.text)
            if known is not None:
                return known
        row = self._row(arch)
        if seeds is None:
            val = answers.val[row]
        else:
            recorded = seeds[row]
            val = recorded[int(rng.integers(len(recorded)))]
        m = Measurement(
            val_acc=val,
            test_acc=self._test[row],
            cost_s=answers.cost_s[row],
            status=Status.OK if val == val else Status.FAILED,  # NaN: a diverged recorded run
            sparsity=self._sparsity,
            latency_ms=self._latency[row],
            params=self._params[row],
            macs=self._count_macs(row, arch),
            extra=tuple((name, column[row]) for name, column in self._extra),
        )
        if seeds is None and arch.text:
            answers.memo[arch.text] = m
        return m


def _check_space(table: str, name: str, params: dict[str, object], space: SearchSpace) -> None:
    """The space must be the table's: same name and the recorded constructor parameters (a
    NAS-Bench-201 table answers for 16 channels, not for a shrunk network of the same cells)."""
    if space.name != name:
        raise NasbenchError(f"benchmark {table!r} records space {name!r}, not {space.name!r}")
    for param, recorded in params.items():
        # compare as JSON would store it: tuples become lists
        # a parameter is an attribute of the space or of its resolved config (hierarchical)
        given = getattr(space, param, getattr(getattr(space, "config", None), param, None))
        value = json.loads(json.dumps(given, default=str))
        if value != recorded:
            raise NasbenchError(
                f"benchmark {table!r} records {name} with {param}={recorded!r}, "
                f"but the space has {param}={value!r}"
            )
    # a parameter the table does not record (e.g. a preset left at its default) must not change
    # the space either: the recorded space and this one decide the same things
    if _decisions(spaces.create(name, **params)) != _decisions(space):
        raise NasbenchError(
            f"benchmark {table!r} records {name} with {json.dumps(params)}, whose decisions "
            "differ from this space's (another preset or parameter)"
        )


def _decisions(space: SearchSpace) -> list[tuple[str, tuple[str, ...]]]:
    return [(d.name, tuple(str(c) for c in d.choices)) for d in space.decisions()]
