"""Full training: build the network, train it with the recipe (and gradual magnitude pruning to
the budget's sparsity), report the final validation accuracy, test accuracy and the measured
training time as cost.

>>> from nasbench.core.registry import spaces
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

TAS's knowledge transfer (Dong & Yang, NeurIPS 2019, Sec. 3.3): ``distill_from = "unpruned"``
trains the space's unpruned network once (:mod:`nasbench.evaluation.trained`) and trains every
evaluated architecture on the distillation loss against it (:func:`nasbench.training.trainer.
distillation_loss`; recipe ``distill_weight``, default TAS's 0.9 when distilling, and
``distill_temperature``, default 4). The space must consist of widths and depths only, the
hierarchical ``tas`` preset::

    [[task]]
    space = "hierarchical"
    space_params = { preset = "tas", width = 0.5 }
    evaluator = "train"
    distill_from = "unpruned"   # teacher_seed = 0: the teacher's fixed stream
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from nasbench.core.errors import NasbenchError
from nasbench.core.params import param
from nasbench.core.registry import evaluators
from nasbench.core.types import Architecture, Measurement, Status
from nasbench.training.trainer import train

from .trained import DISTILL_FROM, TrainingBase


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
    ``epochs``). Draws initial weights, batch order and pruning ties from ``rng``.

    ``distill_from = "unpruned"`` distils the space's unpruned network into every evaluated
    architecture; ``teacher_seed`` seeds the teacher's stream (module docstrings). The teacher's
    training is charged to the first evaluation only. Raises NasbenchError for an unknown
    ``distill_from``, a space without an unpruned network, and a recipe ``distill_weight`` of 0
    with a teacher or above 0 without one."""

    distill_from: str = param("", choices=DISTILL_FROM)
    teacher_seed: int = param(0, ge=0)

    def evaluate(
        self, arch: Architecture, fidelity: float, rng: np.random.Generator
    ) -> Measurement:
        recipe = replace(self.recipe, epochs=epochs_of(fidelity))
        charge, extra = self.teacher_charge()
        taught = self.teacher()
        if taught is not None and taught[1].status is Status.FAILED:
            prof = self.profile(arch)
            nan = math.nan
            return Measurement(nan, nan, charge, Status.FAILED, nan, prof.latency_ms, prof.params,
                               macs=prof.macs, extra=extra)  # fmt: skip
        model = self.space.build(arch, self.task, rng)
        result = train(model, self.data, recipe, rng, prune=self.prune_schedule(),
                       device=self.device, teacher=taught[0] if taught else None)  # fmt: skip
        measured = self.measurement(arch, model, self.task, result)
        if taught is None:
            return measured
        return replace(measured, cost_s=measured.cost_s + charge, extra=measured.extra + extra)
