"""Core value types: frozen dataclasses shared by every role.

Architectures are sequences of categorical decisions (see :mod:`nasbench.core.space`); a task says
what a network maps from and to; a budget is what every run of a suite shares; a measurement is what
an evaluator returns; trial records and run metadata define the stored schema once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from nasbench.core.errors import NasbenchError

Choice = str
"""A decision's value. Choices are strings so that every strategy (Optuna categoricals, RL
logits, Q-table actions, evolution genes) handles every space the same way."""


@dataclass(frozen=True)
class Decision:
    """One named categorical decision and the choices allowed at this point of the sequence."""

    name: str
    choices: tuple[Choice, ...]

    def __post_init__(self) -> None:
        if not self.choices:
            raise NasbenchError(f"decision {self.name!r} has no choices")
        if len(set(self.choices)) != len(self.choices):
            raise NasbenchError(f"decision {self.name!r} repeats a choice: {self.choices}")


@dataclass(frozen=True)
class Architecture:
    """One point of a search space: the values of its decisions, in sequence order.

    Equality and hashing use ``(space, values)`` only. ``text`` is the space's string form and
    ``key`` its canonical key (isomorphic architectures share a key); both are filled in by the
    space (``space.make``/``space.parse``), so build architectures through the space.
    """

    space: str
    values: tuple[Choice, ...]
    text: str = field(default="", compare=False)
    key: str = field(default="", compare=False)
    names: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __str__(self) -> str:
        return self.text or "|".join(self.values)


@dataclass(frozen=True)
class Task:
    """What a network maps: ``input_shape`` without the batch dimension and the class count.

    ``(C, L)`` is a 1-D sequence (MNIST-1D is ``(1, 40)``), ``(C, H, W)`` an image.
    """

    input_shape: tuple[int, ...]
    num_classes: int
    name: str = ""

    def __post_init__(self) -> None:
        if len(self.input_shape) not in (2, 3) or min(self.input_shape) < 1:
            raise NasbenchError(
                f"input shape {self.input_shape} is not (C, L) or (C, H, W) with positive sizes"
            )
        if self.num_classes < 2:
            raise NasbenchError(f"a task needs at least 2 classes, got {self.num_classes}")

    @property
    def spatial_dims(self) -> int:
        """1 for sequences, 2 for images."""
        return len(self.input_shape) - 1

    @property
    def channels(self) -> int:
        return self.input_shape[0]


@dataclass(frozen=True)
class ArchGraph:
    """Graph form of an architecture for graph surrogates.

    ``adjacency[i, j] == 1`` means an edge from node ``i`` to node ``j`` (nodes in topological
    order). ``node_labels[i]`` names node ``i``'s operation (``"input"``, ``"output"``, an op name,
    or ``"node"`` for a pure sum/concat node). ``edge_labels`` lists ``(i, j, op)`` for spaces whose
    operations sit on edges (cells); :meth:`to_node_labelled` moves them onto nodes.
    """

    adjacency: np.ndarray
    node_labels: tuple[str, ...]
    edge_labels: tuple[tuple[int, int, str], ...] = ()

    def to_node_labelled(self) -> ArchGraph:
        """The same graph with every labelled edge ``i -op-> j`` replaced by a node ``op``.

        Each new node is placed just before its target, so the order stays topological.
        """
        if not self.edge_labels:
            return self
        n = len(self.node_labels)
        # sort key: original node i -> (i, 0); edge node k into j -> (j - 0.5, k)
        keys = [(float(i), 0) for i in range(n)]
        keys += [(j - 0.5, k) for k, (_, j, _) in enumerate(self.edge_labels)]
        order = sorted(range(len(keys)), key=keys.__getitem__)
        position = {old: new for new, old in enumerate(order)}
        size = len(keys)
        adj = np.zeros((size, size), dtype=np.int8)
        labelled = {(i, j) for i, j, _ in self.edge_labels}
        for i, j in zip(*np.nonzero(self.adjacency), strict=True):
            if (int(i), int(j)) not in labelled:
                adj[position[int(i)], position[int(j)]] = 1
        labels = [""] * size
        for i, label in enumerate(self.node_labels):
            labels[position[i]] = label
        for k, (i, j, op) in enumerate(self.edge_labels):
            node = position[n + k]
            labels[node] = op
            adj[position[i], node] = 1
            adj[node, position[j]] = 1
        return ArchGraph(adj, tuple(labels))


@dataclass(frozen=True)
class ModelCounts:
    """Dense parameter count and multiply-accumulates of one forward pass at batch size 1.

    MACs count convolutions and linear layers only (the usual convention of thop/ptflops);
    normalisation, activations, pooling and additions are not counted.
    """

    params: int
    macs: int


class Status(StrEnum):
    """How an evaluation ended."""

    OK = "ok"
    FAILED = "failed"  # diverged (NaN), crashed or otherwise produced no usable accuracy
    STOPPED = "stopped"  # stopped early by the evaluator (e.g. learning-curve extrapolation)


class Constraint(StrEnum):
    """How budget constraints (latency, params, MACs) act on a proposal."""

    HARD = "hard"  # infeasible proposals are recorded but never become the incumbent
    SOFT = "soft"  # MnasNet reward acc * (latency / limit) ** w


class Overshoot(StrEnum):
    """What happens to the evaluation whose cost would take the run past the budget's
    ``cost_s`` (see :class:`nasbench.engine.budget.Ledger`)."""

    CHARGE = "charge"  # recorded, charged and counted; the run then stops (NATS-Bench scripts)
    DISCARD = "discard"  # dropped unrecorded; the run stops before it (NAS-Bench-201 scripts)


@dataclass(frozen=True)
class Budget:
    """The budget every run of a suite shares.

    ``cost_s`` is simulated search cost in seconds (training time as the evaluator reports or the
    benchmark records); ``evaluations`` caps the number of evaluations; a run stops at whichever
    is spent first. ``sparsity`` is the target fraction of zero weights, ``0 <= s < 1``.
    ``overshoot`` says what happens to the evaluation that would cross ``cost_s``
    (:class:`Overshoot`; default ``charge``).
    """

    cost_s: float | None = None
    evaluations: int | None = None
    sparsity: float = 0.0
    latency_ms: float | None = None
    latency_device: str | None = None
    params_m: float | None = None
    macs_m: float | None = None
    constraint: Constraint = Constraint.HARD
    soft_weight: float = -0.07  # MnasNet's w (Tan et al. 2019, Eq. 2)
    overshoot: Overshoot = Overshoot.CHARGE

    def __post_init__(self) -> None:
        if not (_is_number(self.sparsity) and 0.0 <= self.sparsity < 1.0):
            raise NasbenchError(f"sparsity must be in [0, 1), got {self.sparsity!r}")
        if self.cost_s is None and self.evaluations is None:
            raise NasbenchError("a budget needs cost_s and/or evaluations")
        for name in ("cost_s", "evaluations", "latency_ms", "params_m", "macs_m"):
            value = getattr(self, name)
            # a limit of inf would never end a run; a count of evaluations is whole
            whole = name == "evaluations"
            if value is not None and not (
                _is_number(value) and 0 < value < math.inf and (isinstance(value, int) or not whole)
            ):
                kind = "a whole number" if whole else "finite"
                raise NasbenchError(f"budget {name} must be positive and {kind}, got {value!r}")
        if not (_is_number(self.soft_weight) and math.isfinite(self.soft_weight)):
            raise NasbenchError(
                f"budget soft_weight must be a finite number, got {self.soft_weight!r}"
            )
        if (self.latency_ms is None) != (self.latency_device is None):
            raise NasbenchError("latency_ms and latency_device go together: give both or neither")
        if self.latency_device is not None and not isinstance(self.latency_device, str):
            raise NasbenchError(
                f"budget latency_device must be a name, got {self.latency_device!r}"
            )
        object.__setattr__(self, "constraint", Constraint(self.constraint))
        if not (isinstance(self.overshoot, str) and self.overshoot in tuple(Overshoot)):
            valid = ", ".join(Overshoot)
            raise NasbenchError(f"unknown budget overshoot {self.overshoot!r} (valid: {valid})")
        object.__setattr__(self, "overshoot", Overshoot(self.overshoot))


def _is_number(value: object) -> bool:
    """An int or float, not a bool (TOML strings and booleans are not limits)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Measurement:
    """What an evaluator returns for one architecture at one fidelity.

    Accuracies are fractions in [0, 1] (tabular benchmarks convert from percent); ``cost_s`` is the
    simulated search cost this evaluation spends; ``curve`` holds per-epoch validation accuracy.
    ``status`` other than ``OK`` means the accuracies are not usable (``nan``).
    """

    val_acc: float
    test_acc: float
    cost_s: float
    status: Status = Status.OK
    sparsity: float = 0.0
    latency_ms: float = math.nan
    params: int = 0
    nonzero_params: int = 0
    macs: int = 0
    effective_macs: int = 0
    curve: tuple[float, ...] = ()
    val_acc_std: float = 0.0  # predictive uncertainty (surrogates, curve extrapolation)
    # A stopped run's predicted final validation accuracy (learning-curve extrapolation): the
    # runner tells it to the strategy as the run's objective (Domhan et al. 2015 return the
    # prediction to the optimiser); ``val_acc`` stays what was observed when the run stopped.
    val_acc_pred: float = math.nan
    extra: tuple[tuple[str, float], ...] = ()  # further metrics, e.g. ("test_acc_cifar100", 0.7)

    def __init__(
        self, val_acc: float, test_acc: float, cost_s: float, status: Status = Status.OK,
        sparsity: float = 0.0, latency_ms: float = math.nan, params: int = 0,
        nonzero_params: int = 0, macs: int = 0, effective_macs: int = 0,
        curve: tuple[float, ...] = (), val_acc_std: float = 0.0, val_acc_pred: float = math.nan,
        extra: tuple[tuple[str, float], ...] = (),
    ) -> None:  # fmt: skip
        # the fields in one update of __dict__ (tests/test_types.py checks this signature)
        self.__dict__.update(
            val_acc=val_acc, test_acc=test_acc, cost_s=cost_s, status=status, sparsity=sparsity,
            latency_ms=latency_ms, params=params, nonzero_params=nonzero_params, macs=macs,
            effective_macs=effective_macs, curve=curve, val_acc_std=val_acc_std,
            val_acc_pred=val_acc_pred, extra=extra,
        )  # fmt: skip


@dataclass(frozen=True)
class Proposal:
    """What a strategy asks to evaluate: an architecture at a fidelity (``None``: the task's
    default fidelity, e.g. 12 epochs in the NAS-Bench-201 protocol).

    ``search_cost_s`` is what producing the proposal cost in simulated seconds, for strategies
    that train something themselves (a gradient method's supernet epoch, measured training
    time); the runner charges it with the evaluation's cost and records it as the extra metric
    ``search_cost_s``. Black-box strategies leave it 0.

    ``monitor`` marks a proposal whose evaluation the strategy does not learn from: a gradient
    method's currently derived architecture, evaluated only to draw its anytime curve (as the
    NAS-Bench-201 protocol queries a weight-sharing method's architecture at every epoch). The
    runner then charges ``search_cost_s`` alone and records what the evaluation would have cost
    as the extra metric ``eval_cost_s``: the method's search cost is its supernet training, and
    its final architecture is trained afterwards like every other strategy's incumbent.

    ``parent`` names the architecture ``arch`` was made from (a mutation's parent, a local
    search's current point), for evaluators that start a child from its parent's trained weights
    (:class:`~nasbench.core.evaluator.Inheriting`); ``None``: made from nothing in particular."""

    arch: Architecture
    fidelity: float | None = None
    search_cost_s: float = 0.0
    monitor: bool = False
    parent: Architecture | None = None

    def __init__(
        self, arch: Architecture, fidelity: float | None = None, search_cost_s: float = 0.0,
        monitor: bool = False, parent: Architecture | None = None,
    ) -> None:  # fmt: skip
        # the fields in one update of __dict__ (tests/test_types.py checks this signature)
        self.__dict__.update(arch=arch, fidelity=fidelity, search_cost_s=search_cost_s,
                             monitor=monitor, parent=parent)  # fmt: skip


@dataclass(frozen=True)
class Observation:
    """What a strategy is told about one evaluation: validation metrics, cost and constraint
    values only, never a test metric (a fairness rule: the search never sees test data).

    ``objective`` is what every strategy maximises: the validation accuracy (hard constraints;
    ``nan`` when infeasible or failed) or the MnasNet reward ``acc * (lat / T) ** w`` (soft).
    """

    trial: int
    arch: Architecture
    fidelity: float
    objective: float
    val_acc: float
    cost_s: float
    feasible: bool
    status: Status
    latency_ms: float = math.nan
    params_m: float = math.nan
    macs_m: float = math.nan

    def __init__(
        self, trial: int, arch: Architecture, fidelity: float, objective: float, val_acc: float,
        cost_s: float, feasible: bool, status: Status, latency_ms: float = math.nan,
        params_m: float = math.nan, macs_m: float = math.nan,
    ) -> None:  # fmt: skip
        # the fields in one update of __dict__ (tests/test_types.py checks this signature)
        self.__dict__.update(
            trial=trial, arch=arch, fidelity=fidelity, objective=objective, val_acc=val_acc,
            cost_s=cost_s, feasible=feasible, status=status, latency_ms=latency_ms,
            params_m=params_m, macs_m=macs_m,
        )  # fmt: skip


@dataclass(frozen=True)
class TrialRecord:
    """One row of a run's record: one evaluation, as the runner saw it. Defines the Parquet schema
    (see :mod:`nasbench.engine.records`); ``extra`` metrics become further float columns.

    Accuracies are fractions; ``cum_cost_s`` is the ledger after this trial; ``objective`` is what
    the strategy was told; the incumbent is the best feasible trial so far at the highest
    fidelity evaluated so far, or after a monitor proposal that proposal (``-1``: none).
    Measured wall-clock values are only in columns ending in ``_wall_s``: everything else is a
    pure function of the config and the seed.
    """

    suite: str
    task: str
    space: str
    strategy: str
    evaluator: str
    seed: int
    trial: int
    arch: str
    key: str
    fidelity: float
    status: str
    feasible: bool
    objective: float
    val_acc: float
    test_acc: float
    cost_s: float
    cum_cost_s: float
    latency_ms: float
    params_m: float
    macs_m: float
    sparsity: float
    incumbent_trial: int
    incumbent_arch: str
    incumbent_val_acc: float
    incumbent_test_acc: float
    overhead_wall_s: float
    eval_wall_s: float
    extra: tuple[tuple[str, float], ...] = ()

    def __init__(
        self, suite: str, task: str, space: str, strategy: str, evaluator: str, seed: int,
        trial: int, arch: str, key: str, fidelity: float, status: str, feasible: bool,
        objective: float, val_acc: float, test_acc: float, cost_s: float, cum_cost_s: float,
        latency_ms: float, params_m: float, macs_m: float, sparsity: float,
        incumbent_trial: int, incumbent_arch: str, incumbent_val_acc: float,
        incumbent_test_acc: float, overhead_wall_s: float, eval_wall_s: float,
        extra: tuple[tuple[str, float], ...] = (),
    ) -> None:  # fmt: skip
        # the fields in one update of __dict__ (tests/test_types.py checks this signature)
        self.__dict__.update(
            suite=suite, task=task, space=space, strategy=strategy, evaluator=evaluator,
            seed=seed, trial=trial, arch=arch, key=key, fidelity=fidelity, status=status,
            feasible=feasible, objective=objective, val_acc=val_acc, test_acc=test_acc,
            cost_s=cost_s, cum_cost_s=cum_cost_s, latency_ms=latency_ms, params_m=params_m,
            macs_m=macs_m, sparsity=sparsity, incumbent_trial=incumbent_trial,
            incumbent_arch=incumbent_arch, incumbent_val_acc=incumbent_val_acc,
            incumbent_test_acc=incumbent_test_acc, overhead_wall_s=overhead_wall_s,
            eval_wall_s=eval_wall_s, extra=extra,
        )  # fmt: skip


@dataclass(frozen=True)
class RunMeta:
    """Metadata stored once per run (in the Parquet file's metadata): enough to reproduce it."""

    suite: str
    run_id: str
    task: str
    strategy: str
    seed: int
    config_json: str  # the fully resolved run spec
    stop_reason: str
    trials: int
    nasbench_version: str
    python_version: str
    platform: str
    git_commit: str
    started_at: str  # ISO 8601, UTC
    wall_s: float
    # the budget's overshoot rule (records written before the switch existed lack it: they all
    # charged the crossing evaluation)
    overshoot: str = Overshoot.CHARGE.value
    # distribution name -> installed version (None: not installed) of the libraries results
    # depend on (nasbench.engine.records.DEPENDENCIES); None: not recorded (older records)
    versions: dict[str, str | None] | None = None
