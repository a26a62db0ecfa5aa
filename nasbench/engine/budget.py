"""Budget enforcement: the ledger of simulated search cost and the constraint verdicts.

Only the runner uses this module: strategies never see the ledger, evaluators never charge it.

Constraints (latency on the budget's device, parameter and MAC caps) act in one of two modes:

- **hard**: a proposal that breaks a limit is *infeasible* and never becomes the incumbent; the
  strategy is told ``objective = nan``. What it costs depends on when the limit can be checked:
  with an evaluator that profiles latency, parameters and MACs without training
  (``Evaluator.profile``: tables, lookup tables, counting), it is **not trained and costs no
  simulated seconds**, but counts as one evaluation towards an ``evaluations`` budget and is
  recorded with ``nan`` accuracies. Otherwise it is trained first and charged in full, and its
  accuracies are recorded (it still cannot become the incumbent).
- **soft**: every proposal is trained and charged; its objective is MnasNet's reward
  (Tan et al., CVPR 2019, Eq. 2 with alpha = beta = w) ``acc * prod_i (m_i / T_i) ** w`` over the
  constrained quantities ``m_i`` with limits ``T_i`` (latency, and the params/MACs caps when set).

The evaluation that would take the spent cost past ``cost_s`` is handled by the budget's
``overshoot`` rule (:class:`~nasbench.core.types.Overshoot`); either way it is the run's last:

- **charge** (the default): it completes, is recorded, charged in full and may become the
  incumbent, so the run's final cost may exceed ``cost_s``. This is what the released scripts of
  NATS-Bench do (Dong et al., IEEE TPAMI 2021): they append the evaluation, then test the budget.
- **discard**: it is dropped before it is recorded or charged, the strategy is not told of it,
  and the run ends with the trials that fit within ``cost_s``. This is what the released
  scripts of NAS-Bench-201 do (Dong & Yang, ICLR 2020): an evaluation whose cost would exceed
  the time budget ends the search without being added to the history.

An ``evaluations`` budget is never crossed: it counts whole evaluations.

>>> b = Budget(cost_s=100.0, latency_ms=4.0, latency_device="pixel3", constraint="soft")
>>> round(objective(b, 0.9, latency_ms=8.0, params_m=1.0, macs_m=10.0), 4)
0.8574
>>> violations(Budget(cost_s=1.0, params_m=0.5), latency_ms=1.0, params_m=0.7, macs_m=1.0)
('params_m 0.7 > 0.5',)
>>> ledger = Ledger(Budget(cost_s=100.0, overshoot="discard"))
>>> ledger.admits(60.0), ledger.charge(60.0), ledger.admits(60.0), ledger.spent
(True, None, False, 'cost_s')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nasbench.core.types import Budget, Constraint, Overshoot


def _limits(
    budget: Budget, latency_ms: float, params_m: float, macs_m: float
) -> list[tuple[str, float, float]]:
    out = []
    if budget.latency_ms is not None:
        out.append(("latency_ms", latency_ms, budget.latency_ms))
    if budget.params_m is not None:
        out.append(("params_m", params_m, budget.params_m))
    if budget.macs_m is not None:
        out.append(("macs_m", macs_m, budget.macs_m))
    return out


def violations(
    budget: Budget, latency_ms: float, params_m: float, macs_m: float
) -> tuple[str, ...]:
    """The limits a proposal breaks, as readable strings (empty: feasible). A constrained
    quantity that is unknown (``nan``) counts as a violation."""
    return tuple(
        f"{name} {value:g} > {limit:g}"
        for name, value, limit in _limits(budget, latency_ms, params_m, macs_m)
        if not value <= limit
    )


def objective(
    budget: Budget, val_acc: float, latency_ms: float, params_m: float, macs_m: float
) -> float:
    """What strategies maximise: ``val_acc`` (hard mode, for a feasible proposal) or the soft
    reward. ``nan`` stays ``nan`` (failed evaluations)."""
    if budget.constraint is Constraint.HARD or math.isnan(val_acc):
        return val_acc
    reward = val_acc
    for _, value, limit in _limits(budget, latency_ms, params_m, macs_m):
        reward *= (value / limit) ** budget.soft_weight
    return reward


@dataclass
class Ledger:
    """Simulated seconds and evaluations spent in one run.

    An evaluation that starts while budget is left and would cross ``cost_s`` is charged in
    full under ``overshoot = "charge"`` (the run's last evaluation may cross ``cost_s``) and
    refused by :meth:`admits` under ``"discard"``; either way the run then stops.
    """

    budget: Budget
    cost_s: float = 0.0
    evaluations: int = 0
    discarded: bool = False  # an evaluation was refused under overshoot = "discard"

    def admits(self, cost_s: float) -> bool:
        """Whether an evaluation of ``cost_s`` simulated seconds is recorded and charged: always
        under ``overshoot = "charge"``; under ``"discard"`` only when it keeps the spent cost
        within ``cost_s`` (reaching the limit exactly is within). A refused evaluation spends the
        ledger (:attr:`spent`)."""
        b = self.budget
        limit = b.cost_s if b.overshoot is Overshoot.DISCARD else None
        if limit is not None and self.cost_s + cost_s > limit:
            self.discarded = True
            return False
        return True

    def charge(self, cost_s: float) -> None:
        self.cost_s += cost_s
        self.evaluations += 1

    @property
    def spent(self) -> str:
        """Which limit of the budget is spent: ``"cost_s"``, ``"evaluations"``, or ``""`` (none;
        falsy) while the run may go on."""
        b = self.budget
        if b.cost_s is not None and (self.discarded or self.cost_s >= b.cost_s):
            return "cost_s"
        if b.evaluations is not None and self.evaluations >= b.evaluations:
            return "evaluations"
        return ""
