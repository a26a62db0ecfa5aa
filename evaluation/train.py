"""Full training: build the network, train it with the recipe (and gradual magnitude pruning to
the budget's sparsity), report the final validation accuracy, test accuracy and the measured
training time as cost.

>>> from nasbench.registry import spaces
>>> space = spaces.create("chain", max_layers=2)
>>> ev = TrainEvaluator(space, dataset="mnist1d", epochs=1, recipe={"batch_size": 500})
>>> m = ev.evaluate(space.parse("conv3-16-s1"), 1.0, np.random.default_rng(0))
>>> m.status, len(m.curve), 0.0 < m.val_acc <= 1.0, m.cost_s > 0
(<Status.OK: 'ok'>, 1, True, True)

Suite use::

    [[task]]
    space = "chain"
    evaluator = "train"
    dataset = "mnist1d"
    epochs = 20
    recipe = { learning_rate = 0.01 }
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from nasbench.errors import NasbenchError
from nasbench.registry import evaluators
from nasbench.training import train
from nasbench.types import Architecture, Measurement

from .trained import TrainingBase


def epochs_of(fidelity: float) -> int:
    """The fidelity of a training evaluator is its number of epochs (a whole number >= 1)."""
    epochs = round(fidelity)
    if epochs < 1 or abs(epochs - fidelity) > 1e-9:
        raise NasbenchError(
            f"fidelity of a training evaluator is whole epochs >= 1, got {fidelity}"
        )
    return int(epochs)


@evaluators.register("train")
class TrainEvaluator(TrainingBase):
    """Full-fidelity training on a dataset (default MNIST-1D). Fidelity = epochs (default
    ``epochs``). Draws initial weights, batch order and pruning ties from ``rng``."""

    def evaluate(
        self, arch: Architecture, fidelity: float, rng: np.random.Generator
    ) -> Measurement:
        model = self.space.build(arch, self.task, rng)
        recipe = replace(self.recipe, epochs=epochs_of(fidelity))
        result = train(model, self.data, recipe, rng, prune=self.prune_schedule(),
                       device=self.device)  # fmt: skip
        return self.measurement(arch, model, self.task, result)
