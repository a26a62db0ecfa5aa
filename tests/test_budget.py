"""Constraint verdicts, the soft reward and the ledger."""

from __future__ import annotations

import math

import pytest

from nasbench.core.types import Budget, Overshoot
from nasbench.engine.budget import Ledger, objective, violations


def test_hard_constraints_list_every_violation() -> None:
    b = Budget(cost_s=1.0, latency_ms=4.0, latency_device="pixel3", params_m=1.0, macs_m=100.0)
    assert violations(b, latency_ms=3.9, params_m=0.5, macs_m=50.0) == ()
    assert violations(b, latency_ms=4.0, params_m=1.0, macs_m=100.0) == ()  # limits inclusive
    assert violations(b, latency_ms=4.5, params_m=1.5, macs_m=50.0) == (
        "latency_ms 4.5 > 4",
        "params_m 1.5 > 1",
    )
    # an unknown constrained quantity cannot be shown feasible
    assert violations(b, latency_ms=math.nan, params_m=0.1, macs_m=1.0) == ("latency_ms nan > 4",)
    # no limits, no violations, whatever the values
    assert violations(Budget(cost_s=1.0), math.nan, math.nan, math.nan) == ()


def test_hard_objective_is_validation_accuracy() -> None:
    b = Budget(cost_s=1.0, latency_ms=4.0, latency_device="pixel3")
    assert objective(b, 0.9, latency_ms=8.0, params_m=1.0, macs_m=1.0) == 0.9


def test_soft_objective_is_mnasnet_reward() -> None:
    b = Budget(cost_s=1.0, latency_ms=4.0, latency_device="pixel3", constraint="soft")  # type: ignore[arg-type]
    assert objective(b, 0.9, latency_ms=4.0, params_m=1, macs_m=1) == pytest.approx(0.9)
    assert objective(b, 0.9, latency_ms=8.0, params_m=1, macs_m=1) == pytest.approx(0.9 * 2**-0.07)
    assert objective(b, 0.9, latency_ms=2.0, params_m=1, macs_m=1) == pytest.approx(
        0.9 * 0.5**-0.07
    )
    both = Budget(cost_s=1.0, latency_ms=4.0, latency_device="x", params_m=2.0, constraint="soft",  # type: ignore[arg-type]
                  soft_weight=-0.5)  # fmt: skip
    assert objective(both, 0.8, latency_ms=16.0, params_m=8.0, macs_m=1) == pytest.approx(
        0.8 * 4**-0.5 * 4**-0.5
    )
    assert math.isnan(objective(b, math.nan, 4.0, 1, 1))


def test_ledger_stops_at_cost_or_evaluations() -> None:
    ledger = Ledger(Budget(cost_s=100.0, evaluations=3))
    ledger.charge(60.0)
    assert not ledger.spent
    ledger.charge(60.0)  # started within budget: charged in full (overshoot = "charge")
    assert ledger.spent == "cost_s" and ledger.cost_s == 120.0 and ledger.evaluations == 2
    counted = Ledger(Budget(evaluations=2))
    counted.charge(0.0)
    counted.charge(0.0)
    assert counted.spent


def test_ledger_admits_per_overshoot_rule() -> None:
    discard = Ledger(Budget(cost_s=100.0, overshoot=Overshoot.DISCARD))
    assert discard.admits(100.0) and not discard.spent  # exactly at the limit: admitted
    discard.charge(60.0)
    assert not discard.admits(41.0) and discard.spent and discard.cost_s == 60.0
    charge = Ledger(Budget(cost_s=100.0))
    charge.charge(60.0)
    assert charge.admits(1e9) and not charge.spent
    counted = Ledger(Budget(evaluations=1, overshoot=Overshoot.DISCARD))
    assert counted.admits(1e9)  # no cost limit to cross
