"""One-shot weight sharing: score architectures as paths of one trained supernet.

The space's supernet (:mod:`nasbench.core.supernet`) is trained once with uniform single-path
sampling: every optimiser step draws an architecture (``space.sample``) and trains its one-hot
path (Bender et al. ICML 2018, "Understanding and Simplifying One-Shot Architecture Search";
ENAS, Pham et al. ICML 2018; Guo et al. ECCV 2020). The loop is
:func:`nasbench.training.trainer.train` unchanged, so determinism, divergence handling and the
recipe's schedules apply, and with a sparsity budget its gradual magnitude pruning (Zhu & Gupta
2017) runs on the supernet's prunable weights while the paths train: the SCAS scheme (Sparse CNN
Architecture Search, Algorithms 1 and 3) of interleaving pruning with supernet training.

An evaluation then only inherits weights: reset the batch-norm statistics and recompute them
for the path as a cumulative average over ``bn_batches`` training batches (Bender et al.,
Sec. 3; Guo et al., Sec. 3.3), and measure validation and test accuracy in eval mode.

**The supernet is a fixed part of the benchmark.** It is initialised, sampled and trained from
fixed streams (seed 0, roles ``"supernet", ...``), never from a run's seed, so every run and
every strategy of a task scores an architecture against the same shared weights, and the same
settings give bit-identical answers. Trained supernets are cached per process (keyed by the
settings) and, with ``cache_dir``, on disk, so parallel workers and later runs reuse them.

**Cost** is simulated from MACs (:mod:`nasbench.training.simcost`; details in
:mod:`nasbench.evaluation.one_shot`), so two runs give bit-identical records. The supernet's
training cost (epochs x train samples x 3 passes x the mean MACs of 32 fixed uniform paths) is
charged once per run: the first ``evaluate`` of an evaluator instance (the runner builds one per
run) returns it plus its own cost and notes it in ``extra`` as ``supernet_cost_s``, with the
measured training time as ``supernet_wall_s``; every evaluation costs the forwards of its
batch-norm recalibration and validation. A diverged supernet makes every evaluation ``FAILED``.

>>> from nasbench.core.registry import spaces
>>> space = spaces.create("chain", max_layers=2, filters=(4, 8))
>>> ev = WeightSharingEvaluator(space, epochs=1, bn_batches=2, recipe={"batch_size": 500})
>>> arch = space.parse("conv3-8-s2|conv3-8-s1")
>>> first = ev.evaluate(arch, 1.0, np.random.default_rng(0))
>>> second = ev.evaluate(arch, 1.0, np.random.default_rng(1))
>>> first.val_acc == second.val_acc, first.cost_s > second.cost_s, first.extra[0][0]
(True, True, 'supernet_cost_s')

Suite use::

    [[task]]
    space = "chain"
    evaluator = "weight_sharing"
    dataset = "mnist1d"
    epochs = 20                 # supernet epochs; the only fidelity
    bn_batches = 10
    cache_dir = "cache/supernets"
    recipe = { learning_rate = 0.01 }
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nasbench.core.registry import evaluators
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.supernet import Supernet, Weights, build_supernet, path_weights
from nasbench.core.types import Architecture
from nasbench.training.trainer import train

from .one_shot import (
    SUPERNET_SEED,
    OneShotBase,
    PathStats,
    TrainedSupernet,
    clear_supernet_cache,
    path_stats,
    rank_correlation,
)

__all__ = [
    "SUPERNET_SEED",
    "PathStats",
    "TrainedSupernet",
    "WeightSharingEvaluator",
    "clear_supernet_cache",
    "path_stats",
    "rank_correlation",
]


class _SampledPathNet(nn.Module):
    """A supernet as a plain ``forward(x)`` model: in train mode with a ``rng`` every call runs a
    freshly sampled path (uniform, ``space.sample(rng)``); otherwise the fixed ``weights``."""

    def __init__(
        self, net: Supernet, space: SearchSpace, weights: Weights,
        rng: np.random.Generator | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.net, self.space, self.weights, self.rng = net, space, weights, rng

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.weights
        if self.training and self.rng is not None:
            weights = path_weights(self.space, self.space.sample(self.rng), x.device)
        return self.net(x, weights)


@evaluators.register("weight_sharing")
class WeightSharingEvaluator(OneShotBase):
    """Score architectures with the weights of one shared, trained supernet (module docstring).

    ``epochs`` are the supernet's training epochs and the only fidelity; ``bn_batches`` the
    training batches (of the recipe's batch size, a fixed sample) that recalibrate batch norm
    per path (0: keep the statistics of supernet training); ``cache_dir`` a folder for trained
    supernets (``<hash>.pt`` with weights and masks, ``<hash>.json`` with the record). Other
    parameters as for the ``train`` evaluator. :meth:`evaluate` draws nothing from ``rng``: the
    answer is a function of the architecture and the settings. Raises NasbenchError for a space
    without a supernet and for invalid parameters.
    """

    name = "weight_sharing"

    def __post_init__(self) -> None:
        super().__post_init__()
        init = role_rng(SUPERNET_SEED, "supernet", "init")
        self._net = build_supernet(self.space, self.task, init)
        self._model = self._net
        self._finish_init()

    def _train(self) -> tuple[TrainedSupernet, dict[str, torch.Tensor]]:
        """Uniform single-path training (with the budget's pruning) from the fixed streams."""
        reference = self.space.sample(role_rng(SUPERNET_SEED, "supernet", "reference"))
        model = _SampledPathNet(self._net, self.space, path_weights(self.space, reference),
                                role_rng(SUPERNET_SEED, "supernet", "paths"))  # fmt: skip
        result = train(model, self.data, self.recipe, role_rng(SUPERNET_SEED, "supernet", "train"),
                       prune=self.prune_schedule(), device=self.device)  # fmt: skip
        return self._result_record(result), self._state()

    def _network(self, arch: Architecture) -> nn.Module:
        """Weight sharing: every path runs in the supernet itself."""
        return self._net
