"""The runner: the only place where a strategy, an evaluator and the budget meet.

``run(spec, seed)`` builds the roles of one (task, strategy) pair, then loops ask -> profile ->
evaluate -> charge -> record -> tell until the ledger is spent (DESIGN.md, "The one loop").
Everything except the ``*_wall_s`` columns is a pure function of the spec and the seed:

- the strategy draws from ``role_rng(seed, "strategy")`` and the shared initial design from
  ``role_rng(seed, "initial_design")`` (the same for every strategy of the seed);
- benchmark noise for the k-th evaluation of an architecture comes from
  ``role_rng(seed, "benchmark_noise", arch, k)``, so it does not depend on the order in which
  strategies evaluate (common random numbers across strategies).

The strategy is told validation metrics, cost and constraint values only. The incumbent is the
feasible, successful trial with the highest objective (validation accuracy under hard
constraints, the soft reward otherwise); ties keep the earlier trial. See :mod:`nasbench.budget`
for what infeasible proposals cost.
"""

from __future__ import annotations

import math
import platform
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import nasbench
from nasbench.budget import Ledger, objective, violations
from nasbench.errors import NasbenchError
from nasbench.evaluator import Evaluator, Profiling
from nasbench.registry import evaluators, spaces, strategies
from nasbench.seeding import role_rng
from nasbench.space import SearchSpace
from nasbench.strategy import SearchInfo, Strategy
from nasbench.suite import RunSpec, kwargs
from nasbench.types import Architecture, Measurement, Observation, RunMeta, Status, TrialRecord

MAX_INFEASIBLE_STREAK = 10_000
"""A run stops after this many infeasible proposals in a row (a strategy stuck outside the
constraints would otherwise loop forever when infeasible proposals cost nothing)."""


@dataclass(frozen=True)
class RunResult:
    records: list[TrialRecord]
    meta: RunMeta


def build_roles(spec: RunSpec) -> tuple[SearchSpace, Evaluator, Strategy]:
    """Instantiate the space, evaluator and strategy of ``spec`` (raises NasbenchError on any
    unknown name or bad parameter)."""
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


def git_commit() -> str:
    """The commit of the nasbench source tree (``unknown`` outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(Path(nasbench.__file__).parent), "rev-parse", "HEAD"],
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
        self.best: TrialRecord | None = None
        self.seen: Counter[str] = Counter()
        self.infeasible_streak = 0

    def evaluate(self, arch: Architecture, fidelity: float) -> tuple[Measurement, float, bool]:
        """Profile, then (if not rejected up front) evaluate; returns the measurement, its wall
        time and whether the proposal is feasible."""
        budget = self.spec.budget
        start = time.perf_counter()
        if isinstance(self.evaluator, Profiling) and budget.constraint == "hard":
            prof = self.evaluator.profile(arch)
            if violations(budget, prof.latency_ms, prof.params / 1e6, prof.macs / 1e6):
                nan = math.nan
                skipped = Measurement(nan, nan, 0.0, Status.OK, budget.sparsity, prof.latency_ms,
                                      prof.params, macs=prof.macs)  # fmt: skip
                return skipped, time.perf_counter() - start, False
        k = self.seen[arch.text]
        self.seen[arch.text] += 1
        noise = role_rng(self.seed, "benchmark_noise", arch.text, k)
        m = self.evaluator.evaluate(arch, fidelity, noise)
        # soft constraints only shape the reward: every proposal is feasible
        feasible = budget.constraint == "soft" or not violations(
            budget, m.latency_ms, m.params / 1e6, m.macs / 1e6
        )
        return m, time.perf_counter() - start, feasible

    def record(
        self, arch: Architecture, fidelity: float, m: Measurement, feasible: bool,
        overhead_s: float, eval_s: float,
    ) -> Observation:  # fmt: skip
        budget = self.spec.budget
        usable = m.status is Status.OK and not math.isnan(m.val_acc)
        obj = objective(budget, m.val_acc, m.latency_ms, m.params / 1e6, m.macs / 1e6)
        if not (feasible and usable):
            obj = math.nan
        self.ledger.charge(m.cost_s)
        trial = len(self.records)
        rec = TrialRecord(
            suite=self.spec.suite, task=self.spec.task.label, space=arch.space,
            strategy=self.spec.strategy.label, evaluator=self.spec.task.evaluator, seed=self.seed,
            trial=trial, arch=arch.text, key=arch.key, fidelity=fidelity, status=str(m.status),
            feasible=feasible, objective=obj, val_acc=m.val_acc, test_acc=m.test_acc,
            cost_s=m.cost_s, cum_cost_s=self.ledger.cost_s, latency_ms=m.latency_ms,
            params_m=m.params / 1e6, macs_m=m.macs / 1e6, sparsity=m.sparsity,
            incumbent_trial=-1, incumbent_arch="", incumbent_val_acc=math.nan,
            incumbent_test_acc=math.nan, overhead_wall_s=overhead_s, eval_wall_s=eval_s,
            extra=m.extra,
        )  # fmt: skip
        if not math.isnan(obj) and (self.best is None or obj > self.best.objective):
            self.best = rec
        if self.best is not None:
            b = self.best
            rec = replace(
                rec, incumbent_trial=b.trial, incumbent_arch=b.arch,
                incumbent_val_acc=b.val_acc, incumbent_test_acc=b.test_acc,
            )  # fmt: skip
        self.records.append(rec)
        self.infeasible_streak = 0 if feasible else self.infeasible_streak + 1
        return Observation(
            trial=trial, arch=arch, fidelity=fidelity, objective=obj, val_acc=m.val_acc,
            cost_s=m.cost_s, feasible=feasible, status=m.status, latency_ms=m.latency_ms,
            params_m=m.params / 1e6, macs_m=m.macs / 1e6,
        )  # fmt: skip


def run(spec: RunSpec, seed: int) -> RunResult:
    """Run one (task, strategy) pair of a suite with one seed; see the module docstring."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    wall = time.perf_counter()
    space, evaluator, strategy = build_roles(spec)
    fidelity = spec.task.fidelity or evaluator.default_fidelity
    dataset = getattr(evaluator, "dataset", None)
    info = SearchInfo(fidelity, tuple(evaluator.fidelities), spec.budget, dataset)
    loop = _Loop(spec, seed, evaluator, fidelity)
    strategy.start(space, info, role_rng(seed, "strategy"), role_rng(seed, "initial_design"))
    stop = ""
    while not stop:
        t0 = time.perf_counter()
        (proposal,) = strategy.ask(1)
        ask_s = time.perf_counter() - t0
        space.validate(proposal.arch)
        fid = proposal.fidelity if proposal.fidelity is not None else fidelity
        m, eval_s, feasible = loop.evaluate(proposal.arch, fid)
        t1 = time.perf_counter()
        if proposal.search_cost_s:  # a gradient strategy's own training, charged like evaluation
            m = _with_search_cost(m, proposal.search_cost_s)
        obs = loop.record(proposal.arch, fid, m, feasible, ask_s, eval_s)
        strategy.tell([obs])
        tell_s = time.perf_counter() - t1
        loop.records[-1] = replace(loop.records[-1], overhead_wall_s=ask_s + tell_s)
        stop = _stop_reason(loop)
    meta = RunMeta(
        suite=spec.suite, run_id=spec.run_id(seed), task=spec.task.label,
        strategy=spec.strategy.label, seed=seed, config_json=spec.to_json(), stop_reason=stop,
        trials=len(loop.records), nasbench_version=nasbench.__version__,
        python_version=sys.version.split()[0], platform=platform.platform(),
        git_commit=git_commit(), started_at=started, wall_s=time.perf_counter() - wall,
    )  # fmt: skip
    return RunResult(loop.records, meta)


def _with_search_cost(m: Measurement, search_cost_s: float) -> Measurement:
    if not (math.isfinite(search_cost_s) and search_cost_s >= 0):
        raise NasbenchError(f"a proposal's search_cost_s must be >= 0 seconds, got {search_cost_s}")
    extra = (*m.extra, ("search_cost_s", float(search_cost_s)))
    return replace(m, cost_s=m.cost_s + search_cost_s, extra=extra)


def _stop_reason(loop: _Loop) -> str:
    b = loop.spec.budget
    if b.cost_s is not None and loop.ledger.cost_s >= b.cost_s:
        return "cost_s"
    if b.evaluations is not None and loop.ledger.evaluations >= b.evaluations:
        return "evaluations"
    if loop.infeasible_streak >= MAX_INFEASIBLE_STREAK:
        return "infeasible_streak"
    return ""
