"""Simulated training cost: multiply-accumulates converted to seconds of a reference machine.

Budgets are simulated seconds (one currency for every evaluation). Tabular and
surrogate evaluators charge the training time a table recorded, so their runs are bit-identical;
whatever trains *during* a run (a gradient strategy's supernet epochs, a one-shot evaluator's
supernet) is charged by this module's deterministic model instead of its measured wall time:

    cost_s = macs_per_sample * samples * passes / MACS_PER_S

``passes`` counts forward-pass equivalents per sample: a forward is 1; a backward is 2 (the
gradients of the activations and those of the weights, each about one forward's MACs), so a
training step is :data:`TRAIN_PASSES` = 3 and a backward for the architecture gradient only
(no weight gradients) makes :data:`ARCH_GRAD_PASSES` = 2. MACs are those of conv and linear
layers, as everywhere in nasbench (:class:`nasbench.core.types.ModelCounts`); :class:`MacTally`
counts them for any forward, including a supernet's mixed operations.

>>> training_cost_s(1e6, 3000, passes=TRAIN_PASSES) == 3 * 1e6 * 3000 / MACS_PER_S
True
>>> from torch import nn
>>> net = nn.Sequential(nn.Conv1d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 38, 10))
>>> with counting(net) as tally:
...     _ = net(torch.zeros(1, 1, 40))
>>> tally.macs == 4 * 38 * 3 + 4 * 38 * 10
True
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812
from torch.overrides import TorchFunctionMode

from nasbench.core.errors import NasbenchError

MACS_PER_S = 9.6e8
"""Training throughput of the reference machine, in MACs per second with a training step's
forward and backward counted as :data:`TRAIN_PASSES` forwards. Calibrated by
:func:`nasbench.tables.calibration.calibrate` on nasbench's own MNIST-1D tables (its
:data:`~nasbench.tables.calibration.CALIBRATION_TABLES`, all four at their full 500
architectures; 2 cores shared with other work, torch 2.13 CPU): the median over
their 6,000 rows of ``3 * macs * train samples * epochs / train_time_s`` is 9.64e8 (per table:
chain 1.16e9, multibranch 9.30e8, cell 9.44e8, hierarchical 9.78e8). Earlier releases used 1.1e9,
from chain and multibranch alone (1.11e9 on 1,442 rows; 1.16e9 on the 1,062 rows of the first
release). The recorded ``train_time_s`` includes the per-epoch validation pass, which the
constant absorbs, as it absorbs per-step overhead: these networks are small, so the ratio
spreads widely (10th to 90th percentile 4.7e8 to 1.8e9 over the four tables, 1.8e8 to 3.9e9 on
chain alone) and the model is a currency, not a prediction of any one network's time.
``tests/test_simcost.py`` recomputes the calibration and requires this value within 10 % of it."""

FORWARD_PASSES = 1.0  # a forward pass (batch-norm recalibration, validation)
TRAIN_PASSES = 3.0  # forward + backward to activations and weights
ARCH_GRAD_PASSES = 2.0  # forward + backward to activations only (architecture gradient)


def training_cost_s(macs_per_sample: float, samples: int, passes: float = TRAIN_PASSES) -> float:
    """Simulated seconds of ``samples`` samples through a network of ``macs_per_sample``
    forward MACs, ``passes`` forward-pass equivalents each (:data:`TRAIN_PASSES` for a training
    step): ``macs_per_sample * samples * passes / MACS_PER_S``. Draws nothing. Raises
    NasbenchError for a negative or non-finite argument."""
    for name, value in (("macs_per_sample", macs_per_sample), ("samples", samples),
                        ("passes", passes)):  # fmt: skip
        if not (math.isfinite(value) and value >= 0):
            raise NasbenchError(f"training_cost_s needs {name} >= 0, got {value!r}")
    return float(macs_per_sample) * samples * passes / MACS_PER_S


class MacTally(TorchFunctionMode):
    """Counts, while active, every conv and linear call with the weight tensor it actually uses
    (the sliced part of a shared tensor, a candidate's own tensor, a generated one): ``macs``
    per sample (output elements of the first sample x input channels per group x kernel),
    ``weights`` and ``zeros`` the elements of those tensors (each call counted), ``effective``
    the MACs scaled by each tensor's density."""

    def __init__(self) -> None:
        super().__init__()
        self.weights = self.zeros = self.macs = 0
        self.effective = 0.0

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func in (F.conv1d, F.conv2d, F.conv3d, F.linear):
            w = args[1] if len(args) > 1 else kwargs["weight"]
            zeros = int((w == 0).sum())
            macs = out[0].numel() * math.prod(w.shape[1:])
            self.weights += w.numel()
            self.zeros += zeros
            self.macs += macs
            self.effective += macs * (1 - zeros / w.numel())
        return out


@contextmanager
def counting(module: nn.Module) -> Iterator[MacTally]:
    """A :class:`MacTally` active over the block, with ``module`` in eval mode (batch norm
    reads its statistics and updates nothing) and gradients off; the training flag is restored
    on exit. Run one forward of a batch of one inside the block to count its MACs."""
    was_training = module.training
    module.train(False)
    tally = MacTally()
    try:
        with tally, torch.no_grad():
            yield tally
    finally:
        module.train(was_training)
