"""The record types of nasbench.core.types: their constructors."""

from __future__ import annotations

import math

import pytest

from nasbench.core.types import Architecture


def test_the_record_types_build_what_a_dataclass_init_does() -> None:
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
    with pytest.raises(TypeError, match="multiple values for argument 'fidelity'"):
        Proposal(arch, 12.0, fidelity=3.0)  # type: ignore[misc]
    with pytest.raises(TypeError, match="positional arguments but 7 were given"):
        Proposal(arch, 12.0, 0.0, False, None, 1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Proposal(arch, colour=1)  # type: ignore[call-arg]


def test_hand_written_inits_match_the_fields() -> None:
    """The types the runner builds per evaluation spell out their ``__init__`` (one
    ``__dict__`` update instead of the frozen dataclass's setattr per field, several times
    slower): its parameters must be the dataclass fields, in order, with the same defaults, and
    build the same object as keywords do."""
    import dataclasses
    import inspect

    from nasbench.core.types import Measurement, Observation, Proposal, TrialRecord
    from nasbench.engine.journal import Evaluation
    from nasbench.engine.runner import _Answer

    for cls in (Measurement, Proposal, Observation, TrialRecord, Evaluation, _Answer):
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        fields = dataclasses.fields(cls)
        assert [p.name for p in params] == [f.name for f in fields], cls
        for p, f in zip(params, fields, strict=True):
            default = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
            assert p.default is default or p.default == default, (cls, p.name)
        values = {f.name: i for i, f in enumerate(fields)}
        obj = cls(**values)
        assert vars(obj) == values and list(vars(obj)) == [f.name for f in fields]
