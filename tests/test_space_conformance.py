"""The public space conformance suite, run over every registered space and extra configurations."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from nasbench.core.registry import spaces
from nasbench.core.space import SearchSpace
from nasbench.testing.spaces import ALL_CHECKS

# Non-default configurations worth checking beside each registered space's defaults.
EXTRA_CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("chain", {"max_layers": 3}),
    ("multibranch", {"layers": 4, "merge": "concat"}),
    ("cell", {"nodes": 2, "ops": ("sep_conv_3x3", "max_pool_3x3", "skip_connect")}),
    ("hierarchical", {"preset": "single_path"}),
    ("hierarchical", {"preset": "tas"}),
]
CONFIGS = [(name, {}) for name in spaces.names()] + EXTRA_CONFIGS


@cache
def _space(index: int) -> SearchSpace:
    name, params = CONFIGS[index]
    space: SearchSpace = spaces.create(name, **params)
    return space


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("index", range(len(CONFIGS)), ids=[f"{n}{p or ''}" for n, p in CONFIGS])
def test_space_conformance(index: int, check: Any) -> None:
    check(_space(index))


def test_every_builtin_space_is_registered() -> None:
    assert {"chain", "multibranch", "cell", "nb201", "hierarchical"} <= set(spaces.names())
