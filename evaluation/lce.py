"""Learning-curve extrapolation (Domhan, Springenberg & Hutter, IJCAI 2015): train, and after at
least ``min_fraction`` of the epochs fit an ensemble of parametric curve families
(:mod:`nasbench.training.curves`) to the validation curve after every epoch; stop as soon as the
predicted final accuracy is unlikely (probability < ``threshold``) to beat the best final accuracy
this evaluator has seen in the run, and answer with the prediction.

>>> from nasbench.core.registry import spaces
>>> space = spaces.create("chain", max_layers=2)
>>> ev = LCEEvaluator(space, epochs=4, min_fraction=0.75, recipe={"batch_size": 500})
>>> m = ev.evaluate(space.parse("conv3-16-s1"), 4.0, np.random.default_rng(0))
>>> [name for name, _ in m.extra]
['lce_epochs', 'lce_pred_mean', 'lce_pred_std']

A stopped run has status ``stopped`` and keeps observed and predicted values apart: ``val_acc``
is the validation accuracy observed when it stopped, ``val_acc_pred`` the predicted final accuracy
and ``val_acc_std`` its uncertainty, and ``cost_s`` covers only the epochs trained, so the search
spends less. As in Domhan et al. (Sec. 3.2: a terminated run returns its predicted performance to
the optimiser), the runner tells the strategy the prediction as the run's objective; the
incumbent is chosen among fully trained runs only (a stopped run was predicted, with probability
above ``1 - threshold``, to end below the incumbent, and was not trained to the end). A run that
is not stopped trains all epochs and answers with the observed final accuracy (the prediction
made at its last check is kept in ``extra``). The test accuracy of a stopped run is that of the
network as it was when stopped.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from nasbench.core.params import param
from nasbench.core.registry import evaluators
from nasbench.core.types import Architecture, Measurement, Status
from nasbench.training.curves import extrapolate, should_stop
from nasbench.training.trainer import train

from .train import epochs_of
from .trained import TrainingBase


@evaluators.register("lce")
class LCEEvaluator(TrainingBase):
    """Training with learning-curve extrapolation and Domhan et al.'s early-stopping rule."""

    min_fraction: float = param(0.25, gt=0, le=1)
    threshold: float = param(0.05, gt=0, lt=1)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.best_: float = -math.inf  # best final accuracy seen by this evaluator (its incumbent)

    def evaluate(
        self, arch: Architecture, fidelity: float, rng: np.random.Generator
    ) -> Measurement:
        epochs = epochs_of(fidelity)
        first_check = max(3, math.ceil(self.min_fraction * epochs))
        best = self.best_

        def stop(epoch: int, curve: tuple[float, ...]) -> bool:
            if len(curve) < first_check or len(curve) >= epochs or not math.isfinite(best):
                return False
            return should_stop(curve, epochs, best, self.threshold)

        model = self.space.build(arch, self.task, rng)
        recipe = replace(self.recipe, epochs=epochs)
        result = train(model, self.data, recipe, rng, prune=self.prune_schedule(),
                       device=self.device, stop=stop)  # fmt: skip
        m = self.measurement(arch, model, self.task, result)
        curve = tuple(result.val_acc)
        if result.status is Status.FAILED or len(curve) < 3:
            unknown = (("lce_pred_mean", math.nan), ("lce_pred_std", math.nan))
            return replace(m, extra=(("lce_epochs", float(len(curve))), *unknown))
        pred = extrapolate(curve, epochs)
        extra = (("lce_epochs", float(len(curve))), ("lce_pred_mean", pred.mean),
                 ("lce_pred_std", pred.std))  # fmt: skip
        if result.status is Status.STOPPED:
            return replace(m, val_acc_pred=pred.mean, val_acc_std=pred.std, extra=extra)
        self.best_ = max(self.best_, m.val_acc)
        return replace(m, extra=extra)

    def replay(self, arch: Architecture, fidelity: float, measurement: Measurement) -> None:
        """A resumed run's journaled answer: update the incumbent as :meth:`evaluate` did (a
        fully trained, not stopped, run), training nothing."""
        if measurement.status is Status.OK:
            self.best_ = max(self.best_, measurement.val_acc)
