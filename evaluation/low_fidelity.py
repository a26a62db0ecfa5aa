"""Low-fidelity training: fewer epochs, a fraction of the training data, a narrower network
and/or lower input resolution — cheaper, noisier estimates of full-training accuracy (the survey's
"lower-fidelity estimates"; Zela et al. 2018 on their rank correlation).

>>> from nasbench.core.registry import spaces
>>> space = spaces.create("nb201")
>>> ev = LowFidelityEvaluator(space, epochs=1, data_fraction=0.1, resolution=2,
...                           space_params={"channels": 4, "cells_per_stage": 1})
>>> ev.task.input_shape
(1, 20)

- fidelity (epochs) as for ``train``; ``data_fraction`` in (0, 1] trains on a fixed seeded subset;
- ``space_params``: the network is built by the space created with these parameters instead
  (e.g. ``{channels = 8}`` for nb201, ``{width = 0.5}`` for hierarchical); the architecture
  string must be valid in it (a chain's filters are decisions, so chains cannot be narrowed);
- ``resolution``: inputs average-pooled by this integer factor along every spatial axis.
Validation and test accuracy are measured on the reduced network and inputs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from nasbench.core.errors import NasbenchError
from nasbench.core.params import override, param
from nasbench.core.registry import evaluators, spaces
from nasbench.core.space import SearchSpace
from nasbench.core.types import Architecture, Measurement, Task
from nasbench.training.datasets import Dataset, Split
from nasbench.training.trainer import train

from .train import epochs_of
from .trained import TrainingBase


def downsample(data: Dataset, factor: int) -> Dataset:
    """Average-pool every split's inputs by ``factor`` along each spatial axis."""
    if factor == 1:
        return data

    def pool(x: np.ndarray) -> np.ndarray:
        n, c, *spatial = x.shape
        sizes = [s // factor for s in spatial]
        if min(sizes) < 1:
            raise NasbenchError(f"resolution {factor} leaves no pixels of {tuple(spatial)}")
        x = x[(slice(None), slice(None), *(slice(0, s * factor) for s in sizes))]
        shape = [n, c]
        for s in sizes:
            shape += [s, factor]
        axes = tuple(3 + 2 * i for i in range(len(sizes)))
        return x.reshape(shape).mean(axis=axes).astype(np.float32)

    splits = {
        k: Split(pool(getattr(data, k).x), getattr(data, k).y) for k in ("train", "val", "test")
    }
    shape = splits["train"].x.shape[1:]
    task = Task(tuple(int(s) for s in shape), data.task.num_classes, f"{data.task.name}/{factor}")
    return Dataset(data.name, task, splits["train"], splits["val"], splits["test"])


@evaluators.register("low_fidelity")
class LowFidelityEvaluator(TrainingBase):
    """See the module docstring; other parameters as for the ``train`` evaluator."""

    epochs = override(5)
    data_fraction: float = param(1.0, gt=0, le=1)
    space_params: dict[str, Any] = param(None, kind=dict)
    resolution: int = param(1, ge=1)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.space_params = dict(self.space_params or {})
        self.small_space: SearchSpace = (
            spaces.create(self.space.name, **self.space_params) if self.space_params else self.space
        )
        self.data = downsample(self.data, self.resolution)
        self.task = self.data.task

    def evaluate(
        self, arch: Architecture, fidelity: float, rng: np.random.Generator
    ) -> Measurement:
        small = self.small_space.parse(arch.text) if self.space_params else arch
        model = self.small_space.build(small, self.task, rng)
        recipe = replace(self.recipe, epochs=epochs_of(fidelity))
        result = train(model, self.data, recipe, rng, prune=self.prune_schedule(),
                       device=self.device, data_fraction=self.data_fraction)  # fmt: skip
        return self.measurement(small, model, self.task, result, self.small_space)
