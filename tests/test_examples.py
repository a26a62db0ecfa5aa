"""The plugins in docs/examples, written against the public API only, pass the conformance kits
and run in a suite: what a newcomer writes for a new strategy, surrogate and space."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

import nasbench
from nasbench.testing.spaces import check_space
from nasbench.testing.strategies import check_strategy
from nasbench.testing.surrogates import check_surrogate

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


@pytest.fixture(autouse=True)
def examples_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))


def test_examples_import_only_the_public_api() -> None:
    for path in sorted(EXAMPLES.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nasbench"):
                assert node.module == "nasbench", f"{path.name} imports {node.module}"


def test_the_space_passes_its_kit() -> None:
    from conv_stack import ConvStack

    space = ConvStack()
    check_space(space)
    arch = space.parse("k3-8|k5-16|k3-8")
    assert space.cardinality() == 64 and arch.text == "k3-8|k5-16|k3-8"


def test_the_strategy_passes_its_kit_on_a_builtin_and_the_new_space() -> None:
    from conv_stack import ConvStack
    from greedy_mutation import GreedyMutation

    check_strategy(GreedyMutation, nasbench.registry.spaces.create("nb201"))
    check_strategy(GreedyMutation, ConvStack())


def test_the_surrogate_passes_its_kit() -> None:
    from knn_surrogate import KNN

    check_surrogate(KNN)


def test_the_strategy_runs_in_a_suite_and_climbs() -> None:
    suite = nasbench.parse_suite(
        """
        [suite]
        name = "examples"
        seeds = 2
        [budget]
        evaluations = 40
        [[task]]
        space = "nb201"
        evaluator = "tabular"
        fidelity = 12
        [[strategy]]
        name = "greedy_mutation:GreedyMutation"
        """
    )
    (spec,) = suite.specs()
    records = nasbench.run(spec, 0).records
    table = nasbench.records_table(records).to_pydict()
    assert len(records) == 40 and table["strategy"][0] == "greedy_mutation.GreedyMutation"
    # after the 5-architecture initial design every proposal is a mutation of the incumbent
    incumbents = {r.incumbent_arch for r in records[4:]}
    assert len(incumbents) < 10
    best = max(r.val_acc for r in records if np.isfinite(r.val_acc))
    assert records[-1].incumbent_val_acc == best
    assert "greedy_mutation" in sys.modules
