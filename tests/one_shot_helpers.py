"""What the one-shot evaluators' tests share (``weight_sharing`` and ``hypernetwork``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from nasbench.core.space import SearchSpace
from nasbench.core.types import Architecture, Measurement
from nasbench.evaluation.one_shot import OneShotBase, clear_supernet_cache


def archs(space: SearchSpace, n: int, seed: int = 5) -> list[Architecture]:
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


def check_trained_once_charged_once(
    module: ModuleType,
    make: Callable[..., OneShotBase],
    space: SearchSpace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[OneShotBase, Architecture, Measurement, list[int], float]:
    """Two evaluator instances in one process (two runs): the network is trained once (counted
    through ``module.train``), each run's first evaluation is charged its simulated training
    cost (the measured time rides along as ``supernet_wall_s``) and later ones only their own
    simulated cost. Returns the first evaluator, the first architecture, its measurement, the
    training calls and the training cost, for the caller's own checks."""
    calls: list[int] = []
    real = module.train

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "train", counted)
    clear_supernet_cache()
    arch, other = archs(space, 2)
    first = make(space, cache_dir=str(tmp_path))
    m1 = first.evaluate(arch, 3.0, np.random.default_rng(0))
    m2 = first.evaluate(other, 3.0, np.random.default_rng(0))
    second = make(space)  # another run in the same process: same network, charged again
    m3 = second.evaluate(other, 3.0, np.random.default_rng(1))
    assert len(calls) == 1
    trained_s, wall_s = first.supernet.cost_s, first.supernet.wall_s
    assert trained_s == first.training_cost_s(3) > 0 and wall_s > 0
    assert second.supernet == first.supernet
    charged = (("supernet_cost_s", trained_s), ("supernet_wall_s", wall_s))
    assert m1.extra == charged and m2.extra == () and m3.extra == charged
    assert m1.cost_s == trained_s + first.evaluation_cost_s(m1.macs)  # dense path MACs
    assert m2.cost_s == first.evaluation_cost_s(m2.macs) and 0 < m2.cost_s < trained_s
    assert m3.cost_s == trained_s + m2.cost_s
    assert m3.val_acc == m2.val_acc and m3.test_acc == m2.test_acc
    return first, arch, m1, calls, trained_s
