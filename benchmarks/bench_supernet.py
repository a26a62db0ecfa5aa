"""Supernet training throughput against training one sampled subnet alone (issue 7).

Per space (the MNIST-1D tables' settings, or small ones), in one process on one thread, side by
side: the seconds per epoch of

* ``subnet``: each of ``--paths`` sampled architectures built alone and trained (their mean);
* ``single-path``: the supernet trained with a fresh uniformly sampled path per batch, as the
  ``weight_sharing`` evaluator trains it (ENAS / Bender et al.);
* ``all-paths``: the supernet with DARTS's softmax over every candidate (uniform logits), so every
  candidate of every decision runs (the cost of a DARTS weight step).

All with the ``train`` evaluator's recipe, one epoch each, the median of ``--repeats``. Printed:
seconds per epoch and each supernet mode's throughput relative to the subnets' (``subnet s /
mode s``: 1.0 means a supernet epoch costs what training one subnet does).

    python -m benchmarks.bench_supernet [--spaces chain,multibranch,cell,hierarchical,nb201]
        [--paths 5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from nasbench.core.registry import spaces
from nasbench.core.seeding import role_rng
from nasbench.core.space import SearchSpace
from nasbench.core.supernet import (
    Supernet,
    build_supernet,
    path_weights,
    softmax_weights,
    uniform_logits,
)
from nasbench.core.tasks import task_for
from nasbench.training.datasets import Dataset, load_dataset
from nasbench.training.trainer import Recipe, train

# the own tables' space parameters (nasbench/data/<space>-mnist1d.md); nb201 as in the tests
SETTINGS: dict[str, dict[str, Any]] = {
    "chain": {"max_layers": 6, "filters": [8, 16, 32, 64]},
    "multibranch": {},
    "cell": {"channels": 8, "cells_per_stage": 1},
    "hierarchical": {"width": 0.5},
    "nb201": {"channels": 8, "cells_per_stage": 1},
}


class _Mode(nn.Module):
    """A supernet as a ``forward(x)`` model whose path weights come from ``weights()``."""

    def __init__(self, net: Supernet, weights: Callable[[], dict[str, torch.Tensor]]) -> None:
        super().__init__()
        self.net, self.weights = net, weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, self.weights())


def _sampled(space: SearchSpace, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    return path_weights(space, space.sample(rng))


def _epoch_s(model: nn.Module, data: Dataset, seed: int) -> float:
    return train(model, data, Recipe(epochs=1), role_rng(seed, "bench-supernet")).cost_s


def bench(name: str, paths: int, repeats: int) -> dict[str, float]:
    space: SearchSpace = spaces.create(name, **SETTINGS[name])
    task = task_for("mnist1d")
    data = load_dataset("mnist1d")
    archs = [space.sample(role_rng(k, "bench-supernet-arch")) for k in range(paths)]
    times: dict[str, list[float]] = {"subnet": [], "single-path": [], "all-paths": []}
    for r in range(repeats):
        subnet = [_epoch_s(space.build(a, task, role_rng(r, "init")), data, r) for a in archs]
        times["subnet"].append(statistics.fmean(subnet))
        net = build_supernet(space, task, role_rng(r, "init"))
        single = _Mode(net, partial(_sampled, space, role_rng(r, "paths")))
        times["single-path"].append(_epoch_s(single, data, r))
        soft = _Mode(build_supernet(space, task, role_rng(r, "init")),
                     partial(softmax_weights, uniform_logits(space)))  # fmt: skip
        times["all-paths"].append(_epoch_s(soft, data, r))
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spaces", default="chain,multibranch,cell,hierarchical,nb201")
    parser.add_argument("--paths", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| space | subnet s/epoch | single-path s/epoch | all-paths s/epoch | "
          "single-path throughput / subnet | all-paths throughput / subnet |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    for name in args.spaces.split(","):
        t = bench(name, args.paths, args.repeats)
        print(f"| {name} | {t['subnet']:.3f} | {t['single-path']:.3f} | {t['all-paths']:.3f} | "
              f"{t['subnet'] / t['single-path']:.3f} | {t['subnet'] / t['all-paths']:.3f} |",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
