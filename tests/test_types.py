"""The record types of nasbench.core.types: their constructors."""

from __future__ import annotations

import math

import pytest

from nasbench.core.types import Architecture


def test_thequick_init_builds_what_the_dataclass_init_does() -> None:
    """Measurement, Proposal, Observation and TrialRecord fill ``__dict__`` directly (the
    runner builds four per evaluation): same signature, defaults, equality, hash, frozen-ness,
    ``dataclasses.replace`` and pickling as the dataclass's own ``__init__``."""
    import dataclasses
    import pickle

    from nasbench.core.types import Measurement, Observation, Proposal, Status, TrialRecord

    arch = Architecture("x", ("a",), "a", "a")
    m = Measurement(0.5, 0.25, 3.0, Status.OK, 0.5, latency_ms=1.5, extra=(("e", 1.0),))
    assert (m.val_acc, m.test_acc, m.cost_s, m.status, m.sparsity) == (
        0.5,
        0.25,
        3.0,
        Status.OK,
        0.5,
    )
    assert (m.latency_ms, m.params, m.curve, m.extra) == (1.5, 0, (), (("e", 1.0),))
    assert math.isnan(m.val_acc_pred)
    assert m == Measurement(val_acc=0.5, test_acc=0.25, cost_s=3.0, status=Status.OK,
                            sparsity=0.5, latency_ms=1.5, extra=(("e", 1.0),))  # fmt: skip
    assert hash(m) == hash(dataclasses.replace(m))
    assert dataclasses.replace(m, cost_s=4.0).cost_s == 4.0
    p = Proposal(arch, 12.0)
    assert (p.arch, p.fidelity, p.search_cost_s, p.monitor, p.parent) == (
        arch,
        12.0,
        0.0,
        False,
        None,
    )
    o = Observation(1, arch, 12.0, 0.5, 0.5, 1.0, True, Status.OK)
    assert math.isnan(o.latency_ms) and o.trial == 1
    fields = {f.name for f in dataclasses.fields(TrialRecord)}
    values = {name: i for i, name in enumerate(sorted(fields))}
    r = TrialRecord(**values)
    assert all(getattr(r, name) == value for name, value in values.items())
    for obj in (m, p, o, r):
        assert repr(pickle.loads(pickle.dumps(obj))) == repr(obj)  # NaN defaults: not ==
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.cost_s = 1.0  # type: ignore[misc]
        assert type(obj).__init__.__qualname__ == f"{type(obj).__name__}.__init__"
    with pytest.raises(TypeError, match="required positional argument"):
        Proposal()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Proposal(arch, colour=1)  # type: ignore[call-arg]


def test_thequick_init_refuses_a_class_it_would_change() -> None:
    import dataclasses

    from nasbench.core.types import quick_init

    @dataclasses.dataclass(frozen=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            raise AssertionError

    @dataclasses.dataclass(frozen=True)
    class Factory:
        a: list = dataclasses.field(default_factory=list)

    for cls in (Checked, Factory):
        with pytest.raises(TypeError, match="needs the dataclass's own __init__"):
            quick_init(cls)
