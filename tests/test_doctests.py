"""Every module's docstring examples run (each plugin module opens with a runnable example)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import nasbench
import nasbench.evaluation
import nasbench.spaces
import nasbench.strategies
import nasbench.surrogates

MODULES = sorted(
    m.name
    for pkg in (
        nasbench,
        nasbench.spaces,
        nasbench.strategies,
        nasbench.evaluation,
        nasbench.surrogates,
    )
    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
