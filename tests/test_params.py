"""Declared plugin parameters (nasbench.core.params): inheritance, checks, the registry, the CLI."""

from __future__ import annotations

import inspect
import json
import math
from typing import Any

import numpy as np
import pytest

from nasbench.cli.main import main
from nasbench.core.errors import NasbenchError
from nasbench.core.params import (
    REQUIRED,
    WHOLE_NUMBERS,
    Configurable,
    ParamError,
    declared,
    hyperparameters,
    override,
    param,
)
from nasbench.core.registry import Registry, constructor_params, evaluators, strategies


class Base(Configurable):
    epochs: int = param(50, ge=1, source="the paper: 50 epochs")
    lr: float = param(0.025, gt=0, source="the paper's learning rate")
    mode: str = param("fast", choices=("fast", "slow"))

    def __post_init__(self) -> None:
        self.set_up_ = (self.epochs, self.lr)


class Child(Base):
    epochs = override(8, source="the child paper: 8 epochs")
    order: int = param(1, choices=(1, 2), expect="1 or 2")
    low: float = param(0.1, gt=0)
    high: float = param(1.0, ge="low")
    limit: int | None = param(None, kind=int, ge=1)
    names: tuple[str, ...] = param(("a", "b"), choices=("a", "b", "c"), ge=2)


class Whole(Base):
    wording = WHOLE_NUMBERS
    share: float = param(0.5, gt=0, le=1)


class Role(Configurable):
    space: Any = param(REQUIRED)
    size: int = param(3, ge=1)


class Plain:
    """A third-party plugin that declares nothing: its __init__ is its constructor."""

    def __init__(self, space: Any, k: int = 5, *, tag: str = "x") -> None:
        self.space, self.k, self.tag = space, k, tag


def message(cls: type, **kwargs: Any) -> str:
    with pytest.raises(ParamError) as info:
        cls(**kwargs)
    text = str(info.value)
    assert "\n" not in text and isinstance(info.value, NasbenchError)
    return text


# ---- inheritance ---------------------------------------------------------------------------------
def test_subclass_inherits_and_overrides_without_restating() -> None:
    assert list(Child.param_specs) == ["epochs", "lr", "mode", "order", "low", "high", "limit",
                                       "names"]  # fmt: skip
    assert Child.param_specs["epochs"].default == 8 and Base.param_specs["epochs"].default == 50
    assert Child.param_specs["epochs"].ge == 1  # the base's bound stays
    assert Child.sources["epochs"] == "the child paper: 8 epochs"
    assert Child.sources["lr"] == "the paper's learning rate"  # inherited as declared
    child = Child()
    assert (child.epochs, child.lr, child.mode, child.order) == (8, 0.025, "fast", 1)
    assert child.set_up_ == (8, 0.025)  # the base's set-up hook ran after the checks
    assert Base().epochs == 50 and Child.epochs == 8  # class attributes hold the defaults
    assert str(inspect.signature(Child)).startswith("(epochs=8, lr=0.025, mode='fast', order=1")


def test_values_are_stored_as_their_kind() -> None:
    child = Child(lr=1, limit=np.int64(3), names=["c", "a"])
    assert child.lr == 1.0 and isinstance(child.lr, float)
    assert child.limit == 3 and type(child.limit) is int
    assert child.names == ("c", "a")
    assert Child(order=2.0).order == 2.0  # a choice compares by value
    assert Child(limit=None).limit is None
    assert vars(Role("s")) == {"space": "s", "size": 3}  # nothing but the parameters


def test_positional_and_unknown_arguments_behave_like_a_signature() -> None:
    role = Role("space", 4)
    assert (role.space, role.size) == ("space", 4)
    with pytest.raises(TypeError, match="missing a required argument: 'space'"):
        Role()
    with pytest.raises(TypeError, match="unexpected keyword argument 'depth'"):
        Role("space", depth=2)


def test_override_of_nothing_and_bad_declarations_are_type_errors() -> None:
    with pytest.raises(TypeError, match="overrides no inherited parameter"):
        type("Bad", (Base,), {"depth": override(3)})
    with pytest.raises(TypeError, match="bound names no parameter 'nope'"):
        type("Bad", (Base,), {"x": param(1, ge="nope")})
    with pytest.raises(TypeError, match="mutable"):
        param([1, 2])


# ---- one-line errors naming plugin, parameter, range and value ----------------------------------
@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"epochs": 0}, "Child: epochs must be an integer >= 1, got 0"),
        ({"epochs": 2.5}, "Child: epochs must be an integer >= 1, got 2.5"),
        ({"epochs": True}, "Child: epochs must be an integer >= 1, got True"),
        ({"lr": 0}, "Child: lr must be a number > 0, got 0"),
        ({"lr": math.inf}, "Child: lr must be a number > 0, got inf"),
        ({"lr": "0.1"}, "Child: lr must be a number > 0, got '0.1'"),
        ({"mode": "medium"}, "Child: unknown mode 'medium' (mode must be one of fast, slow)"),
        ({"order": 3}, "Child: order must be 1 or 2, got 3"),
        ({"order": True}, "Child: order must be 1 or 2, got True"),
        ({"low": 0.5, "high": 0.2}, "Child: high must be a number >= low (0.5), got 0.2"),
        ({"limit": 0}, "Child: limit must be None or an integer >= 1, got 0"),
        ({"names": "ab"}, "Child: names must be a list of distinct entries of a, b, c"),
        ({"names": ("a",)}, "names must be a list of distinct entries of a, b, c (length >= 2)"),
        ({"names": ("a", "a")}, "names must be a list of distinct entries"),
        ({"names": ("a", "z")}, "Child: unknown names entry 'z' (valid: a, b, c)"),
    ],
)
def test_bad_values_raise_one_line(kwargs: dict[str, Any], text: str) -> None:
    assert text in message(Child, **kwargs)


def test_wording_of_the_training_plugins() -> None:
    assert message(Whole, epochs=0) == "Whole: epochs must be a whole number >= 1, got 0"
    assert message(Whole, lr=-1.0) == "Whole: lr must be > 0, got -1.0"
    assert message(Whole, share=1.5) == "Whole: share must be in (0, 1], got 1.5"


def test_registered_plugins_are_named_as_registered() -> None:
    with pytest.raises(NasbenchError, match=r"^darts: order must be 1 or 2, got 3$"):
        strategies.create("darts", order=3)
    with pytest.raises(NasbenchError, match=r"^gdas: tau_max must be >= tau_min \(0\.1\), got 0"):
        strategies.create("gdas", tau_max=0.05)
    with pytest.raises(NasbenchError, match=r"^tas: macs_ratio must be in \(0, 1\], got 1\.5$"):
        strategies.create("tas", macs_ratio=1.5)

    class Named(Configurable):
        size: int = param(3, ge=1)

    assert message(Named, size=0) == "Named: size must be an integer >= 1, got 0"
    registry: Registry[Any] = Registry("thing", "nasbench.test_things", "nasbench.core")
    registry.add("my_thing", Named)
    assert message(Named, size=0) == "my_thing: size must be an integer >= 1, got 0"
    with pytest.raises(NasbenchError, match=r"^my_thing: size must be an integer >= 1, got 0$"):
        registry.create("my_thing", size=0)


# ---- the registry: declared classes and plain third-party ones ----------------------------------
def test_constructor_params_of_declared_and_plain_classes() -> None:
    assert constructor_params(Role) == {"space": inspect.Parameter.empty, "size": 3}
    assert declared(Role) is Role.param_specs and declared(Plain) is None
    assert constructor_params(Plain) == {"space": inspect.Parameter.empty, "k": 5, "tag": "x"}
    assert [h["name"] for h in hyperparameters(Plain)] == ["space", "k", "tag"]
    registry: Registry[Any] = Registry("thing", "nasbench.test_things", "nasbench.core")
    registry.add("plain", Plain)
    registry.add("role", Role)
    assert registry.create("plain", space=1, k=2).k == 2
    with pytest.raises(NasbenchError, match=r"unknown parameter 'size' .*valid: space, k, tag"):
        registry.create("plain", space=1, size=2)
    with pytest.raises(NasbenchError, match=r"unknown parameter 'k' .*valid: space, size"):
        registry.create("role", space=1, k=2)
    with pytest.raises(NasbenchError, match=r"needs parameter\(s\): space"):
        registry.create("role")
    with pytest.raises(NasbenchError, match=r"^role: size must be an integer >= 1, got 0$"):
        registry.create("role", space=1, size=0)


def test_a_subclass_with_its_own_init_keeps_its_signature() -> None:
    class Custom(Base):
        def __init__(self, scale: float = 2.0) -> None:
            super().__init__(lr=0.1 * scale)

    assert declared(Custom) is None
    assert constructor_params(Custom) == {"scale": 2.0}
    assert Custom(scale=3.0).lr == pytest.approx(0.3)


def test_builtin_families_declare_their_base_once() -> None:
    base = ["epochs", "batch_size", "steps_per_epoch", "weight_lr", "weight_decay", "arch_lr",
            "arch_weight_decay"]  # fmt: skip
    for name, own in [("darts", ["order"]), ("gdas", ["tau_max", "tau_min"]),
                      ("tas", ["macs_ratio", "cost_weight", "tolerance", "cost_samples", "tau_max",
                               "tau_min"])]:  # fmt: skip
        assert list(strategies.params(name)) == base + own
    assert strategies.params("single_path")["epochs"] == 8
    training = ["space", "dataset", "epochs", "latency_device", "sparsity", "data_root", "device",
                "recipe"]  # fmt: skip
    assert list(evaluators.params("train")) == [*training, "distill_from", "teacher_seed"]
    assert list(evaluators.params("lce")) == [*training, "min_fraction", "threshold"]
    assert evaluators.params("low_fidelity")["epochs"] == 5


# ---- nasbench strategies ---------------------------------------------------------------------------
def test_strategies_listing_reads_the_declarations(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["strategies", "--json"]) == 0
    rows = {r["name"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    darts = {h["name"]: h for h in rows["darts"]["hyperparameters"]}
    assert darts["epochs"]["default"] == 50
    assert darts["epochs"]["source"] == "DARTS (Liu et al. 2019, Sec. 3.1.1): 50 search epochs"
    assert darts["epochs"]["range"] == "a whole number >= 1"
    assert darts["order"]["range"] == "1 or 2"
    sp = {h["name"]: h for h in rows["single_path"]["hyperparameters"]}
    assert sp["epochs"]["default"] == 8 and "Single-Path NAS Sec. 4" in sp["epochs"]["source"]
    assert main(["strategies"]) == 0
    text = capsys.readouterr().out
    assert "  epochs = 50 (a whole number >= 1)  -- DARTS (Liu et al. 2019, Sec. 3.1.1)" in text
