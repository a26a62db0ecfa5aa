"""The runner: the only place where a strategy, an evaluator and the budget meet.

``run(spec, seed)`` builds the roles of one (task, strategy) pair, then loops ask -> profile ->
evaluate -> charge -> record -> tell until the ledger is spent (the one loop of every run).
Everything except the ``*_wall_s`` columns is a pure function of the spec and the seed:

- the strategy draws from ``role_rng(seed, "strategy")`` and the shared initial design from
  ``role_rng(seed, "initial_design")`` (the same for every strategy of the seed);
- benchmark noise for the k-th evaluation of an architecture comes from
  ``role_rng(seed, "benchmark_noise", arch, k)``, so it does not depend on the order in which
  strategies evaluate (common random numbers across strategies).

The strategy is told validation metrics, cost and constraint values only. The incumbent is the
feasible, successful trial with the highest objective (validation accuracy under hard
constraints, the soft reward otherwise) at the highest fidelity evaluated so far, as HpBandSter
picks Hyperband's and BOHB's answer (a 12-epoch score is not comparable with a 200-epoch one;
runs at one fidelity simply take the highest objective); ties keep the earlier trial. A run an
evaluator stopped early with a prediction of its final accuracy (learning-curve extrapolation) is
told to the strategy with the objective of that prediction, as Domhan et al. (2015) return it to the
optimiser, and recorded with it as ``objective_pred``; its ``objective`` stays ``nan``, so it is
never the incumbent, and its ``val_acc`` is what was observed when it stopped.

A gradient method's proposals are monitor proposals (:class:`~nasbench.core.types.Proposal`): the
architecture it derives after each supernet epoch, evaluated to draw its anytime curve. Its answer
is the architecture derived at the end of its search, as the papers and NAS-Bench-201 report it,
so after a monitor proposal the incumbent is that proposal (none when it is infeasible or
failed), never the best of the epochs by the benchmark's accuracy, which the method never sees.

See :mod:`nasbench.engine.budget` for what infeasible proposals cost, and for the budget's
``overshoot`` rule: under ``charge`` the evaluation that crosses ``cost_s`` is recorded and
charged, under ``discard`` it is dropped before it is recorded, charged, journaled or told to the
strategy. The run's metadata states the
rule and the versions of the libraries the results depend on
(:func:`nasbench.engine.records.dependency_versions`).

Every run ends: besides its budget, the suite's caps (:class:`~nasbench.engine.suite.Limits`) stop
it after ``max_evaluations`` evaluations (stop reason ``max_evaluations``) and after
``max_infeasible_streak`` infeasible proposals in a row (``infeasible_streak``); a soft reward
that leaves the float range raises NasbenchError (one line) instead of OverflowError.

Crash safety: given a :class:`~nasbench.engine.journal.RunJournal`, the runner journals every
finished evaluation (before telling the strategy) and first replays what the journal holds: the
strategy is driven through the same ask/tell sequence, and each ask is answered with the journaled
measurement instead of calling the evaluator (the proposal must equal the journaled one). The
ledger, the strategy's random streams, the benchmark-noise counters and the incumbent therefore
end exactly as in an uninterrupted run; evaluators with state of their own follow through
:class:`Replayable`. Replaying re-runs the strategy (its ask and tell), never an evaluation.

A proposal that names its ``parent`` goes to an :class:`~nasbench.core.evaluator.Inheriting`
evaluator's ``evaluate_child`` (and, replayed, its ``replay_child``); every other proposal, and
every proposal to any other evaluator, to ``evaluate`` (and ``replay``), as before.
"""

from __future__ import annotations

import difflib
import math
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np

from nasbench.core import plugins
from nasbench.core.errors import NasbenchError
from nasbench.core.evaluator import Evaluator, Inheriting, Profiling
from nasbench.core.jsonl import encode
from nasbench.core.registry import evaluators, spaces, strategies
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.strategy import SearchInfo, Strategy
from nasbench.core.types import (
    Architecture,
    Budget,
    Measurement,
    Observation,
    Proposal,
    RunMeta,
    Status,
    TrialRecord,
)
from nasbench.core.version import __version__
from nasbench.engine.budget import Ledger, objective, violations
from nasbench.engine.journal import Evaluation, RunJournal
from nasbench.engine.records import dependency_versions
from nasbench.engine.suite import STRATEGY_KEYS, TASK_KEYS, RunSpec, kwargs

STOP_CAPS = ("max_evaluations", "infeasible_streak")
"""Stop reasons of a run that ended at one of its suite's caps
(:class:`~nasbench.engine.suite.Limits`) before its budget was spent: ``max_evaluations``
evaluations (a ``cost_s`` budget that the evaluations do not spend), or ``max_infeasible_streak``
infeasible proposals in a row (a strategy stuck outside the constraints would otherwise loop forever
when infeasible proposals cost
nothing)."""


@dataclass(frozen=True)
class RunResult:
    """What :func:`run` returns: one :class:`~nasbench.core.types.TrialRecord` per evaluation,
    in order, and the run's :class:`~nasbench.core.types.RunMeta` (its spec, stop reason,
    versions and wall time)."""

    records: list[TrialRecord]
    meta: RunMeta


@runtime_checkable
class Replayable(Protocol):
    """Evaluators whose answers depend on their earlier answers in the run (a best-so-far that
    drives early stopping, a cost charged to the first query only) implement ``replay``: a
    resumed run calls it, in order, with each journaled measurement instead of ``evaluate``, and
    it must leave the evaluator as that ``evaluate`` call would have (spending no compute)."""

    def replay(self, arch: Architecture, fidelity: float, measurement: Measurement) -> None: ...


DURABLE_S = 0.5
"""Evaluations (with their ask) of at least this many wall seconds are fsynced to the journal;
quicker ones only flushed (a killed process loses none; a power cut may lose those)."""


def _pruned_sizes(budget: Budget, m: Measurement) -> tuple[tuple[str, float], ...]:
    """Under a sparsity target, the pruned network's ``nonzero_params`` and ``effective_macs``
    as extra columns (the accuracy / size / MACs against sparsity figures read them); without
    one they equal the dense counts, and records stay as they were. An evaluator that leaves a
    count at 0 (unknown) adds no column for it."""
    if budget.sparsity <= 0:
        return ()
    have = {name for name, _ in m.extra}
    sizes = (("nonzero_params", m.nonzero_params), ("effective_macs", m.effective_macs))
    return tuple((k, float(v)) for k, v in sizes if v > 0 and k not in have)


class LazyGenerator:
    """``role_rng(seed, *path)``, built on first use: every attribute is the Generator's. An
    evaluation that draws no noise (a table answering one value per architecture) then never
    pays for seeding a generator, and one that draws gets exactly the stream it always got."""

    __slots__ = ("_key", "_rng")

    def __init__(self, seed: int, *path: str | int) -> None:
        self._key = (seed, path)
        self._rng: np.random.Generator | None = None

    def __getattr__(self, name: str) -> Any:
        rng = self._rng
        if rng is None:
            seed, path = self._key
            rng = self._rng = role_rng(seed, *path)
        return getattr(rng, name)


def journal_header(spec: RunSpec, seed: int) -> dict[str, Any]:
    """The first line of a run's journal: the identity a journal must match to be replayed."""
    return {"run": spec.run_id(seed), "suite": spec.suite, "seed": seed, "spec": spec.to_json()}


def build_roles(spec: RunSpec) -> tuple[SearchSpace, Evaluator, Strategy]:
    """Instantiate the space, evaluator and strategy of ``spec`` (raises NasbenchError on any
    unknown name or bad parameter; a key that is neither the table's own nor a parameter of
    its plugin is named with the closest of both)."""
    _check_keys(f"[[task]] {spec.task.label!r}", TASK_KEYS, "evaluator", spec.task.evaluator,
                evaluators.params(spec.task.evaluator), spec.task.evaluator_params)  # fmt: skip
    _check_keys(f"[[strategy]] {spec.strategy.label!r}", STRATEGY_KEYS, "strategy",
                spec.strategy.name, strategies.params(spec.strategy.name),
                spec.strategy.params)  # fmt: skip
    space: SearchSpace = spaces.create(spec.task.space, **kwargs(spec.task.space_params))
    evaluator: Evaluator = evaluators.create(
        spec.task.evaluator,
        space=space,
        latency_device=spec.budget.latency_device,
        sparsity=spec.budget.sparsity,
        **kwargs(spec.task.evaluator_params),
    )
    strategy: Strategy = strategies.create(spec.strategy.name, **kwargs(spec.strategy.params))
    fidelity = spec.task.fidelity
    if fidelity is not None and evaluator.fidelities and fidelity not in evaluator.fidelities:
        raise NasbenchError(
            f"task {spec.task.label!r}: fidelity {fidelity:g} not offered by evaluator "
            f"{spec.task.evaluator!r} (valid: {', '.join(f'{f:g}' for f in evaluator.fidelities)})"
        )
    return space, evaluator, strategy


RUNNER_SUPPLIED = ("space", "latency_device", "sparsity")
"""Evaluator parameters the runner passes from the task and the budget, not the suite's keys."""


def _check_keys(where: str, own: tuple[str, ...], role: str, name: str,
                valid: dict[str, Any], given: tuple[tuple[str, Any], ...]) -> None:  # fmt: skip
    """A suite table's plugin parameters must be the plugin's; an unknown key is named with
    the closest of the table's own keys and the plugin's parameters ("did you mean")."""
    params = [k for k in valid if role != "evaluator" or k not in RUNNER_SUPPLIED]
    for key, _ in given:
        if key in params:
            continue
        if role == "evaluator" and key in RUNNER_SUPPLIED:
            raise NasbenchError(
                f"{where}: {key!r} is not a task key: the evaluator gets it from the task's "
                "space and the [budget] (latency_device, sparsity)"
            )
        close = difflib.get_close_matches(key, [*own, *params], n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise NasbenchError(
            f"{where}: unknown key {key!r}{hint} (its keys: {', '.join(own)}; parameters of "
            f"{role} {name!r}: {', '.join(params) or 'none'})"
        )


def git_commit() -> str:
    """The commit of the nasbench source tree (``unknown`` outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(Path(__file__).parents[2]), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


class _Loop:
    """State of one run: ledger, records, incumbent. Kept small so ``run`` reads like the loop."""

    def __init__(self, spec: RunSpec, seed: int, evaluator: Evaluator, fidelity: float) -> None:
        self.spec, self.seed, self.evaluator, self.fidelity = spec, seed, evaluator, fidelity
        self.ledger = Ledger(spec.budget)
        self.records: list[TrialRecord] = []
        self.best: tuple[int, str, float, float] | None = None  # trial, arch, val, test
        self.best_objective = math.nan
        self.best_fidelity = -math.inf
        self.seen: dict[str, int] = {}  # evaluations so far per architecture (its noise index)
        self.infeasible_streak = 0
        self.answers: _Answers  # set by run
        # a protocol isinstance check costs microseconds: once per run, not per evaluation; a
        # budget without limits rejects nothing up front, so it needs no profile
        b = spec.budget
        limited = not (b.latency_ms is None and b.params_m is None and b.macs_m is None)
        self.limited = limited  # without a limit every proposal is feasible
        self.profiles = isinstance(evaluator, Profiling) and b.constraint == "hard" and limited
        self.inherits = isinstance(evaluator, Inheriting)
        self.checked = plugins.Checked()  # an answer object repeated is checked once

    def evaluate(
        self, arch: Architecture, fidelity: float, parent: Architecture | None = None
    ) -> tuple[Measurement, bool, bool]:
        """Profile, then (if not rejected up front) evaluate, as the child of ``parent`` when
        one is given (an Inheriting evaluator's); returns the measurement, whether the proposal
        is feasible and whether the evaluator was called."""
        budget = self.spec.budget
        if self.profiles:
            prof = plugins.profile(self.evaluator, self.spec.task.evaluator, arch)
            if violations(budget, prof.latency_ms, prof.params / 1e6, prof.macs / 1e6):
                nan = math.nan
                skipped = Measurement(nan, nan, 0.0, Status.OK, budget.sparsity, prof.latency_ms,
                                      prof.params, macs=prof.macs)  # fmt: skip
                return skipped, False, False
        text = arch.text
        k = self.seen.get(text, 0)
        self.seen[text] = k + 1
        noise = cast(np.random.Generator, LazyGenerator(self.seed, "benchmark_noise", arch.text, k))
        name = self.spec.task.evaluator
        if parent is None:
            m = plugins.evaluate(self.evaluator, name, arch, fidelity, noise, self.checked)
        else:  # a proposal naming its parent, to an Inheriting evaluator (_Answers.evaluate)
            child = cast(Inheriting, self.evaluator).evaluate_child
            answer = plugins.call("evaluator", name, "evaluate_child", child, arch, parent,
                                  fidelity, noise)  # fmt: skip
            m = plugins.check_measurement(name, answer)
        # soft constraints only shape the reward: every proposal is feasible
        feasible = (
            not self.limited
            or budget.constraint == "soft"
            or not violations(budget, m.latency_ms, m.params / 1e6, m.macs / 1e6)
        )
        return m, feasible, True

    def _objective(self, arch: Architecture, m: Measurement, acc: float) -> float:
        """:func:`~nasbench.engine.budget.objective`; a soft reward beyond the float range raises
        NasbenchError (one line) instead of OverflowError."""
        b = self.spec.budget
        try:
            return objective(b, acc, m.latency_ms, m.params / 1e6, m.macs / 1e6)
        except OverflowError:
            raise NasbenchError(
                f"run {self.spec.run_id(self.seed)}: the soft reward of {arch.text} overflows "
                f"(latency_ms {m.latency_ms:g}, params_m {m.params / 1e6:g}, macs_m "
                f"{m.macs / 1e6:g} over their limits, to the power soft_weight "
                f"{b.soft_weight:g}); use a soft_weight nearer 0 (MnasNet: -0.07)"
            ) from None

    def record(
        self, arch: Architecture, fidelity: float, m: Measurement, feasible: bool,
        overhead_s: float, eval_s: float, monitor: bool = False,
    ) -> Observation:  # fmt: skip
        budget = self.spec.budget
        usable = m.status is Status.OK and not math.isnan(m.val_acc)
        obj = self._objective(arch, m, m.val_acc)
        if not (feasible and usable):
            obj = math.nan
        told = obj  # a stopped run: the strategy is told its predicted objective
        predicted: tuple[tuple[str, float], ...] = ()
        if feasible and m.status is Status.STOPPED and math.isfinite(m.val_acc_pred):
            told = self._objective(arch, m, m.val_acc_pred)
            predicted = (("objective_pred", told),)
        self.ledger.charge(m.cost_s)
        trial = len(self.records)
        # the incumbent after this trial: a gradient method's answer is the architecture
        # derived last (a monitor proposal); otherwise the best objective so far, ties earlier
        this = (trial, arch.text, m.val_acc, m.test_acc)
        if monitor:
            self.best = None if math.isnan(obj) else this
        elif not math.isnan(obj) and (
            self.best is None or (fidelity, obj) > (self.best_fidelity, self.best_objective)
        ):
            self.best = this
        if self.best is this:
            self.best_objective, self.best_fidelity = obj, fidelity
        inc = self.best if self.best is not None else (-1, "", math.nan, math.nan)
        rec = TrialRecord(
            suite=self.spec.suite, task=self.spec.task.label, space=arch.space,
            strategy=self.spec.strategy.label, evaluator=self.spec.task.evaluator, seed=self.seed,
            trial=trial, arch=arch.text, key=arch.key, fidelity=fidelity, status=str(m.status),
            feasible=feasible, objective=obj, val_acc=m.val_acc, test_acc=m.test_acc,
            cost_s=m.cost_s, cum_cost_s=self.ledger.cost_s, latency_ms=m.latency_ms,
            params_m=m.params / 1e6, macs_m=m.macs / 1e6, sparsity=m.sparsity,
            incumbent_trial=inc[0], incumbent_arch=inc[1], incumbent_val_acc=inc[2],
            incumbent_test_acc=inc[3], overhead_wall_s=overhead_s, eval_wall_s=eval_s,
            extra=m.extra + _pruned_sizes(budget, m) + predicted,
        )  # fmt: skip
        self.records.append(rec)
        self.infeasible_streak = 0 if feasible else self.infeasible_streak + 1
        return Observation(
            trial=trial, arch=arch, fidelity=fidelity, objective=told, val_acc=m.val_acc,
            cost_s=m.cost_s, feasible=feasible, status=m.status, latency_ms=m.latency_ms,
            params_m=m.params / 1e6, macs_m=m.macs / 1e6,
        )  # fmt: skip


def run(spec: RunSpec, seed: int, journal: RunJournal | None = None) -> RunResult:
    """Run one (task, strategy) pair of a suite with one seed; see the module docstring.

    With ``journal``, first replay the evaluations it holds, then journal each new one. Raises
    NasbenchError when the journal belongs to another run or does not match what the strategy
    proposes (nothing is deleted)."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    wall = time.perf_counter()
    if journal is not None and journal.header != journal_header(spec, seed):
        raise NasbenchError(f"{journal.path} is not the journal of run {spec.run_id(seed)}")
    space, evaluator, strategy = build_roles(spec)
    fidelity = spec.task.fidelity or evaluator.default_fidelity
    dataset = getattr(evaluator, "dataset", None)
    info = SearchInfo(fidelity, tuple(evaluator.fidelities), spec.budget, dataset)
    loop = _Loop(spec, seed, evaluator, fidelity)
    loop.answers = _Answers(loop, journal)
    plugins.call("strategy", spec.strategy.name, "start", strategy.start, space, info,
                 role_rng(seed, "strategy"), role_rng(seed, "initial_design"))  # fmt: skip
    stop = ""
    while not stop:
        _step(loop, space, strategy)
        stop = _stop_reason(loop)
    if loop.answers.pending:
        raise NasbenchError(
            f"cannot resume run {spec.run_id(seed)}: it stops ({stop}) after {len(loop.records)} "
            f"evaluations, but its journal holds {loop.answers.pending} more; the journal is kept"
        )
    meta = RunMeta(
        suite=spec.suite, run_id=spec.run_id(seed), task=spec.task.label,
        strategy=spec.strategy.label, seed=seed, config_json=spec.to_json(), stop_reason=stop,
        trials=len(loop.records), nasbench_version=__version__,
        python_version=sys.version.split()[0], platform=platform.platform(),
        git_commit=git_commit(), started_at=started, wall_s=time.perf_counter() - wall,
        overshoot=spec.budget.overshoot.value, versions=dependency_versions(),
    )  # fmt: skip
    return RunResult(loop.records, meta)


def _step(loop: _Loop, space: SearchSpace, strategy: Strategy) -> None:
    """One ask -> evaluate -> charge -> record -> tell; an evaluation the ledger does not admit
    (it would cross ``cost_s`` under ``overshoot = "discard"``) stops after the evaluation,
    unrecorded."""
    t0 = time.perf_counter()
    proposal = plugins.ask_one(strategy, loop.spec.strategy.name, space)  # checked, validated
    ask_s = time.perf_counter() - t0
    fid = proposal.fidelity if proposal.fidelity is not None else loop.fidelity
    answer = loop.answers.evaluate(proposal, fid)
    charged = _charge(answer.measurement, answer.search_cost_s, proposal.monitor)
    if not loop.ledger.admits(charged.cost_s):  # overshoot = "discard": dropped, the run ends
        return
    obs = loop.record(proposal.arch, fid, charged, answer.feasible, ask_s, answer.eval_s,
                      proposal.monitor)  # fmt: skip
    loop.answers.recorded(answer, loop.records[-1], ask_s)  # journaled before the strategy hears
    t1 = time.perf_counter()
    plugins.tell(strategy, loop.spec.strategy.name, [obs])
    # the record is journaled (encoded) already and held nowhere else: set the wall-clock
    # column in place instead of copying 30 fields with dataclasses.replace
    object.__setattr__(loop.records[-1], "overhead_wall_s", ask_s + time.perf_counter() - t1)


@dataclass(frozen=True)
class _Answer:
    """How a proposal was answered: the measurement (before the proposal's search cost is
    added), feasibility, whether the evaluator ran, its wall time, the search cost to charge,
    and the journal entry it came from (a replayed answer) or ``None`` (a new one)."""

    measurement: Measurement
    feasible: bool
    evaluated: bool
    eval_s: float
    search_cost_s: float
    journaled: Evaluation | None

    def __init__(self, measurement: Measurement, feasible: bool, evaluated: bool, eval_s: float,
                 search_cost_s: float, journaled: Evaluation | None) -> None:  # fmt: skip
        # the fields in one update of __dict__ (tests/test_types.py checks this signature)
        self.__dict__.update(measurement=measurement, feasible=feasible, evaluated=evaluated,
                             eval_s=eval_s, search_cost_s=search_cost_s,
                             journaled=journaled)  # fmt: skip


class _Answers:
    """The evaluator as the loop sees it. Without a journal it profiles and evaluates
    (:meth:`_Loop.evaluate`). With one, it first answers from the journal, in order (a resumed
    run: the strategy must propose what the journal holds, the noise counters and a
    :class:`Replayable` evaluator advance as the evaluation did, and the trial must record what
    was journaled), then evaluates and journals each new answer once it is recorded."""

    def __init__(self, loop: _Loop, journal: RunJournal | None) -> None:
        self.loop, self.journal = loop, journal

    @property
    def pending(self) -> int:
        """Journaled evaluations not replayed yet."""
        return len(self.journal.replay) if self.journal is not None else 0

    def evaluate(self, proposal: Proposal, fidelity: float) -> _Answer:
        journal = self.journal
        if journal is not None and journal.replay:
            done = journal.replay.popleft()
            self._replay(done, proposal, fidelity)
            return _Answer(done.measurement, done.feasible, done.evaluated,
                           done.record.eval_wall_s, done.search_cost_s, done)  # fmt: skip
        t0 = time.perf_counter()
        if self.loop.inherits and proposal.parent is not None:
            m, feasible, evaluated = self.loop.evaluate(proposal.arch, fidelity, proposal.parent)
        else:  # every other evaluation keeps the two-argument call
            m, feasible, evaluated = self.loop.evaluate(proposal.arch, fidelity)
        return _Answer(m, feasible, evaluated, time.perf_counter() - t0, proposal.search_cost_s,
                       None)  # fmt: skip

    def recorded(self, answer: _Answer, record: TrialRecord, ask_s: float) -> None:
        """Check a replayed trial against its journal entry, or journal a new one."""
        if answer.journaled is not None:
            _check_replayed(self.loop, answer.journaled.record)
        elif self.journal is not None:
            entry = Evaluation(answer.measurement, answer.search_cost_s, answer.evaluated,
                               answer.feasible, record)  # fmt: skip
            self.journal.append(entry, durable=ask_s + answer.eval_s >= DURABLE_S)

    def _replay(self, done: Evaluation, proposal: Proposal, fidelity: float) -> None:
        """Take the place of :meth:`evaluate` for a journaled evaluation: check that the strategy
        proposed what the journal holds, then advance the noise counter (and the evaluator's own
        state) as the evaluation did. Raises NasbenchError on a mismatch."""
        loop, rec, arch = self.loop, done.record, proposal.arch
        if (rec.trial, rec.arch, rec.fidelity) != (len(loop.records), arch.text, fidelity):
            raise NasbenchError(
                f"cannot resume run {loop.spec.run_id(loop.seed)}: its journal holds trial "
                f"{rec.trial} = {rec.arch} at fidelity {rec.fidelity:g}, but trial "
                f"{len(loop.records)} now proposes {arch.text} at fidelity {fidelity:g} (did the "
                "code or its dependencies change?); the journal is kept"
            )
        if done.evaluated:
            loop.seen[arch.text] = loop.seen.get(arch.text, 0) + 1
            if loop.inherits and proposal.parent is not None:
                replay_child = cast(Inheriting, loop.evaluator).replay_child
                replay_child(arch, proposal.parent, fidelity, done.measurement)
            elif isinstance(loop.evaluator, Replayable):
                loop.evaluator.replay(arch, fidelity, done.measurement)


def _check_replayed(loop: _Loop, journaled: TrialRecord) -> None:
    """A replayed trial must record what the journal holds (wall-clock columns aside)."""
    now, then = asdict(loop.records[-1]), asdict(journaled)
    for name, value in now.items():
        if not name.endswith("_wall_s") and encode({name: value}) != encode({name: then[name]}):
            raise NasbenchError(
                f"cannot resume run {loop.spec.run_id(loop.seed)}: trial {journaled.trial} "
                f"records {name} = {value!r}, its journal {then[name]!r} (did the code change?); "
                "the journal is kept"
            )


def _charge(m: Measurement, search_cost_s: float, monitor: bool) -> Measurement:
    """The measurement as charged: plus the proposal's search cost (recorded as the extra
    ``search_cost_s``); for a monitor proposal the search cost alone, the evaluation's own
    cost kept as the extra ``eval_cost_s`` (:class:`~nasbench.core.types.Proposal`)."""
    if not (math.isfinite(search_cost_s) and search_cost_s >= 0):
        raise NasbenchError(f"a proposal's search_cost_s must be >= 0 seconds, got {search_cost_s}")
    if monitor:
        extra = (*m.extra, ("search_cost_s", float(search_cost_s)), ("eval_cost_s", m.cost_s))
        return replace(m, cost_s=float(search_cost_s), extra=extra)
    if not search_cost_s:
        return m
    extra = (*m.extra, ("search_cost_s", float(search_cost_s)))
    return replace(m, cost_s=m.cost_s + search_cost_s, extra=extra)


def _stop_reason(loop: _Loop) -> str:
    if spent := loop.ledger.spent:
        return spent
    caps = loop.spec.limits
    if loop.ledger.evaluations >= caps.max_evaluations:
        return "max_evaluations"
    if loop.infeasible_streak >= caps.max_infeasible_streak:
        return "infeasible_streak"
    return ""
