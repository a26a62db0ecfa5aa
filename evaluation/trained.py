"""What the training evaluators (``train``, ``low_fidelity``, ``lce``) share: data, recipe,
pruning, and turning a training run into a :class:`~nasbench.types.Measurement`.

Cost is the measured wall-clock training time, so training evaluators spend the same currency
(simulated seconds) as benchmark tables. Params and MACs are the space's analytic counts; nonzero
params, measured sparsity and effective MACs (dense MACs scaled by each layer's density) come
from the trained, pruned network.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from torch import nn

from nasbench.datasets import Dataset, load_dataset
from nasbench.errors import NasbenchError
from nasbench.evaluator import Profile
from nasbench.latency_models import latency_model
from nasbench.pruning import PruneSchedule, effective_macs
from nasbench.space import SearchSpace
from nasbench.training import TrainResult, recipe_from
from nasbench.types import Architecture, Measurement, Status, Task


class TrainingBase:
    """Holds the space, data, recipe, pruning target and latency model of a training evaluator."""

    def __init__(
        self,
        space: SearchSpace,
        dataset: str = "mnist1d",
        epochs: int = 20,
        latency_device: str | None = None,
        sparsity: float = 0.0,
        data_root: str | None = None,
        device: str = "cpu",
        recipe: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise NasbenchError(f"epochs must be a whole number >= 1, got {epochs!r}")
        if not 0.0 <= sparsity < 1.0:
            raise NasbenchError(f"sparsity must be in [0, 1), got {sparsity}")
        self.space = space
        self.dataset = dataset
        self.epochs = epochs
        self.sparsity = float(sparsity)
        self.device = device
        self.recipe = recipe_from(dict(recipe or {}))
        self.data: Dataset = load_dataset(dataset, data_root)
        self.task: Task = self.data.task
        self.latency_device = latency_device
        self._latency = latency_model(latency_device, space) if latency_device else None
        self.fidelities: tuple[float, ...] = ()
        self.default_fidelity: float = float(epochs)

    def prune_schedule(self) -> PruneSchedule | None:
        if self.sparsity <= 0:
            return None
        return PruneSchedule(target=self.sparsity, scope=self.recipe.prune_scope)

    def latency_ms(self, arch: Architecture, module: nn.Module, task: Task) -> float:
        return math.nan if self._latency is None else self._latency.latency_ms(arch, module, task)

    def profile(self, arch: Architecture) -> Profile:
        """Params, MACs and latency without training (a fixed-seed build for latency)."""
        counts = self.space.counts(arch, self.task)
        latency = math.nan
        if self._latency is not None:
            module = self.space.build(arch, self.task, np.random.default_rng(0))
            latency = self.latency_ms(arch, module, self.task)
        return Profile(latency, counts.params, counts.macs)

    def measurement(
        self, arch: Architecture, model: nn.Module, task: Task, result: TrainResult,
        space: SearchSpace | None = None,
    ) -> Measurement:  # fmt: skip
        """The measurement of a finished (or stopped, or failed) training run; params and MACs
        are counted by ``space`` (default: the evaluator's), the one the model was built by."""
        counts = (space or self.space).counts(arch, task)
        ok = result.status is not Status.FAILED
        curve = tuple(result.val_acc)
        return Measurement(
            val_acc=result.final_val_acc if ok else math.nan,
            test_acc=result.test_acc if ok else math.nan,
            cost_s=result.cost_s,
            status=result.status,
            sparsity=result.sparsity,
            latency_ms=self.latency_ms(arch, model, task),
            params=counts.params,
            nonzero_params=result.nonzero_params,
            macs=counts.macs,
            effective_macs=int(effective_macs(model, task.input_shape)),
            curve=curve,
        )
