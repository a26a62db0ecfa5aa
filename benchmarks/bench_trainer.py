"""Trainer overhead and the cost of pruning: time per epoch of
``nasbench.training.trainer.train`` against a bare PyTorch loop on the same model and data, and
of ``train`` with pruning against without, measured side by side (interleaved, median of
repeats) in one run.

    python -m benchmarks.bench_trainer [--epochs 5] [--repeats 5] [--device cpu]

All three train the same network from the same initial weights on MNIST-1D (3000 samples) with
Adam, batch 100, one thread. The bare loop is what a tutorial writes: shuffle, forward,
cross-entropy, backward, step; nothing else. ``train`` adds what makes a measurement: the
learning-rate schedule, divergence checks, validation accuracy after every epoch (1000 samples,
included in its time) and isolation of global state; the ``bare+val`` column adds only the
validation pass to the bare loop, so ``train/(bare+val)`` is the cost of the trainer's remaining
machinery. Pruning adds gradual magnitude pruning to
90 % (masks recomputed every 10 steps, gradient hooks, masks re-applied after every step).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from nasbench.core.registry import spaces
from nasbench.training.datasets import Dataset, load_dataset
from nasbench.training.pruning import PruneSchedule
from nasbench.training.trainer import Recipe, accuracy, train

ARCHS = {
    "small (3 strided convs)": "conv5-32-s2|conv3-32-s2|conv3-32-s2",
    "large (64-64-128, pooling)": "conv3-64-s1|maxpool2-s2|conv3-64-s1|maxpool2-s2|conv3-128-s1",
}


def bare_loop(
    model: nn.Module, data: Dataset, epochs: int, batch: int, device: str, validate: bool = False
) -> float:
    """Seconds per epoch of a minimal loop with Adam at lr 1e-2; with ``validate``, plus one
    pass over the validation split per epoch (to show what the trainer's own extras cost)."""
    model.to(device)
    x = torch.tensor(data.train.x, device=device)
    y = torch.tensor(data.train.y, device=device)
    vx = torch.tensor(data.val.x, device=device)
    vy = torch.tensor(data.val.y, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(y), generator=gen).to(device).split(batch):
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if validate:
            accuracy(model, vx, vy)
    float(loss.detach())  # wait for the device
    return (time.perf_counter() - start) / epochs


def trainer(
    model: nn.Module, data: Dataset, recipe: Recipe, device: str, prune: PruneSchedule | None
) -> float:
    """Seconds per epoch of ``train`` (its measured cost, validation included)."""
    result = train(model, data, recipe, np.random.default_rng(0), prune=prune, device=device)
    return result.cost_s / result.epochs_run


def main(argv: list[str] | None = None) -> dict[str, tuple[float, float, float, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # the bare loop runs on the thread count train() uses
    data = load_dataset("mnist1d")
    space = spaces.create("chain")
    recipe = Recipe(epochs=args.epochs, batch_size=100)
    prune = PruneSchedule(0.9)
    rows: dict[str, tuple[float, float, float, float]] = {}
    print(f"MNIST-1D, {len(data.train)} training samples, batch 100, Adam, {args.epochs} epochs, "
          f"median of {args.repeats}, device {args.device}, 1 thread")  # fmt: skip
    header = ("model", "bare", "bare+val", "train", "train/bare", "train/(bare+val)",
              "pruned", "pruned/train")  # fmt: skip
    print("{:<28}{:>8}{:>10}{:>8}{:>12}{:>18}{:>8}{:>14}".format(*header))
    for name, text in ARCHS.items():
        arch = space.parse(text)

        def fresh(arch: object = arch) -> nn.Module:
            return space.build(arch, data.task, np.random.default_rng(0))

        times: list[list[float]] = [[], [], [], []]
        for _ in range(args.repeats):  # interleaved, so drifting machine load hits all four
            times[0].append(bare_loop(fresh(), data, args.epochs, 100, args.device))
            times[1].append(bare_loop(fresh(), data, args.epochs, 100, args.device, True))
            times[2].append(trainer(fresh(), data, recipe, args.device, None))
            times[3].append(trainer(fresh(), data, recipe, args.device, prune))
        bare, val, plain, pruned = (statistics.median(t) for t in times)
        rows[name] = (bare, val, plain, pruned)
        print(f"{name:<28}{bare * 1e3:>8.1f}{val * 1e3:>10.1f}{plain * 1e3:>8.1f}"
              f"{plain / bare:>12.2f}{plain / val:>18.2f}{pruned * 1e3:>8.1f}"
              f"{pruned / plain:>14.2f}")  # fmt: skip
    print("times in ms per epoch")
    return rows


if __name__ == "__main__":
    main()
