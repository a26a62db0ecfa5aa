"""Table-builder training throughput: nasbench's trainer against a bare PyTorch loop, one
architecture per own space, side by side in one run (interleaved, best of repeats).

    python -m benchmarks.bench_table_training [--steps 20] [--repeats 3] [--ops]

Both train the same network (the first architecture of each own MNIST-1D table, built from the
same seed) on the 4000 MNIST-1D training samples with Adam, batch 100, one thread:

- ``bare``: what a tutorial writes, with PyTorch's own modules (every ``nn.Conv1d`` as PyTorch
  ships it) and its default Adam: shuffle, forward, cross-entropy, backward, step;
- ``nasbench``: :func:`nasbench.training.trainer.train` as the table builder calls it, with its
  measurement machinery (learning-rate schedule, divergence checks, isolation of global state),
  without the per-epoch validation (``bare`` has none), at sparsity 0 and with gradual magnitude
  pruning to 0.8 (masks re-applied after every step).

The columns are milliseconds per optimiser step, the ratio ``bare / nasbench`` (above 1: the
trainer is faster than the bare loop) and the arithmetic rate nasbench reaches: 3 x the network's
MACs per sample (forward, and backward for inputs and weights) x 2 FLOP x samples per second.
``--vmap K`` adds the route of training K seeds of one architecture as one batched model
(``torch.func.stack_module_state`` + ``functional_call`` under ``vmap``: every seed's weights,
batch-norm statistics and batches stay its own) against K separate models stepped one after the
other, milliseconds per seed-step: vmap turns each convolution into a grouped one, which
PyTorch's CPU kernels run no faster than the separate ones, so this route is not taken.
``--ops`` adds the operator table behind :mod:`nasbench.spaces.kernels`' fast paths
(forward and backward of one layer: PyTorch's kernel against the tap sum or matrix product).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial

import numpy as np
import pyarrow.parquet as pq
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from nasbench.spaces import kernels
from nasbench.spaces.kernels import Conv1d, _depthwise_taps
from nasbench.tables.benchmarks import DATA_DIR, load_benchmark
from nasbench.tables.surrogate_benchmark import table_space
from nasbench.training.datasets import Dataset, Split, load_dataset
from nasbench.training.pruning import PruneSchedule
from nasbench.training.trainer import Recipe, train

SPACES = ("cell", "chain", "hierarchical", "multibranch")


def as_pytorch_modules(model: nn.Module) -> nn.Module:
    """``model`` with every nasbench ``Conv1d`` turned into PyTorch's ``nn.Conv1d`` (same
    weights: only the class changes)."""
    for module in model.modules():
        if type(module) is Conv1d:
            module.__class__ = nn.Conv1d
    return model


def bare_steps(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    """Seconds per step of a minimal Adam loop over ``steps`` batches of 100."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    batches = order.split(100)
    model.train()
    start = time.perf_counter()
    for i in range(steps):
        idx = batches[i % len(batches)]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return (time.perf_counter() - start) / steps


def trainer_steps(model: nn.Module, data: Dataset, steps: int, sparsity: float) -> float:
    """Seconds per step of :func:`train` for one epoch of ``steps`` batches of 100, without
    the per-epoch validation (the data's val split is emptied)."""
    empty = Split(data.val.x[:0], data.val.y[:0])
    small = replace(data, train=Split(data.train.x[: steps * 100], data.train.y[: steps * 100]))
    small = replace(small, val=empty)
    prune = PruneSchedule(sparsity) if sparsity > 0 else None
    result = train(model, small, Recipe(epochs=1, batch_size=100), np.random.default_rng(0),
                   prune=prune)  # fmt: skip
    return result.cost_s / result.steps


def best(times: list[float]) -> float:
    return min(times)


def network_rows(steps: int, repeats: int) -> None:
    torch.set_num_threads(1)
    data = load_dataset("mnist1d_large")
    x, y = torch.tensor(data.train.x), torch.tensor(data.train.y)
    print(f"MNIST-1D, batch 100, Adam, {steps} steps, best of {repeats}, 1 thread; ms per step")
    head = ("space", "MACs/sample", "bare", "nasbench", "ratio", "GFLOP/s",
            "pruned 0.8", "ratio")  # fmt: skip
    print("{:<14}{:>12}{:>9}{:>10}{:>8}{:>9}{:>12}{:>8}".format(*head))
    for name in SPACES:
        table = load_benchmark(f"{name}-mnist1d")
        space = table_space(table)
        first = pq.read_table(DATA_DIR / f"{name}-mnist1d.parquet", columns=["arch", "macs"])
        arch, macs = space.parse(first["arch"][0].as_py()), first["macs"][0].as_py()

        def fresh(arch: object = arch, space: object = space) -> nn.Module:
            return space.build(arch, data.task, np.random.default_rng(0))  # type: ignore[attr-defined]

        runs: list[Callable[[], float]] = [
            lambda: bare_steps(as_pytorch_modules(fresh()), x, y, steps),
            lambda: trainer_steps(fresh(), data, steps, 0.0),
            lambda: trainer_steps(fresh(), data, steps, 0.8),
        ]
        times: list[list[float]] = [[] for _ in runs]
        for _ in range(repeats):  # interleaved: drifting machine load hits all three
            for run, sink in zip(runs, times, strict=True):
                sink.append(run())
        bare, plain, pruned = (best(t) for t in times)
        gflops = 3 * macs * 100 * 2 / plain / 1e9
        print(f"{name:<14}{macs:>12,}{bare * 1e3:>9.1f}{plain * 1e3:>10.1f}{bare / plain:>8.2f}"
              f"{gflops:>9.2f}{pruned * 1e3:>12.1f}{bare / pruned:>8.2f}")  # fmt: skip


def op_rows(repeats: int) -> None:
    torch.set_num_threads(1)

    def fwd_bwd(fn: Callable[[], torch.Tensor], n: int = 30) -> float:
        out = fn()
        out.backward(torch.ones_like(out))
        start = time.perf_counter()
        for _ in range(n):
            out = fn()
            out.backward(torch.ones_like(out))
        return (time.perf_counter() - start) / n

    print("\nOne layer, forward + backward, batch 100, ms (PyTorch kernel / nasbench path)")
    print("{:<40}{:>10}{:>10}{:>8}".format("layer", "pytorch", "nasbench", "ratio"))
    gen = torch.Generator().manual_seed(0)

    def row(label: str, ref: Callable[[], torch.Tensor], new: Callable[[], torch.Tensor]) -> None:
        a = best([fwd_bwd(ref) for _ in range(repeats)])
        b = best([fwd_bwd(new) for _ in range(repeats)])
        print(f"{label:<40}{a * 1e3:>10.3f}{b * 1e3:>10.3f}{a / b:>8.2f}")

    for c, length in ((8, 40), (16, 20), (32, 10)):
        x = torch.randn(100, c, length, generator=gen, requires_grad=True)
        for k, d, s in [(k, d, s) for k in (3, 5) for d in (1, 2) for s in (1, 2)]:
            if d == 1 and k < 5:
                continue  # not a fast path: PyTorch's kernel is as fast
            w = torch.randn(c, 1, k, generator=gen, requires_grad=True)
            pad = d * (k - 1) // 2
            row(
                f"C={c} L={length} depthwise k{k} d{d} s{s}",
                partial(F.conv1d, x, w, None, s, pad, d, c),
                partial(_depthwise_taps, x, w, None, s, pad, d),
            )
        for s in (1, 2):
            w = torch.randn(c, c, 1, generator=gen, requires_grad=True)
            row(
                f"C={c} L={length} pointwise s{s}",
                partial(F.conv1d, x, w, None, s),
                partial(torch.matmul, w[:, :, 0], x[:, :, ::s]),
            )
    for c, length in ((48, 5), (144, 5), (180, 5), (96, 10)):
        x = torch.randn(100, c, length, generator=gen, requires_grad=True)
        stats = (torch.zeros(c), torch.ones(c))
        affine = (torch.ones(c, requires_grad=True), torch.zeros(c, requires_grad=True))
        row(
            f"C={c} L={length} batch norm",
            partial(F.batch_norm, x, *stats, *affine, True, 0.1, 1e-5),
            partial(kernels.batch_norm, x, *stats, *affine, True, 0.1, 1e-5),
        )


def vmap_rows(seeds: int, steps: int, repeats: int) -> None:
    from torch.func import functional_call, stack_module_state, vmap

    torch.set_num_threads(1)
    data = load_dataset("mnist1d_large")
    x, y = torch.tensor(data.train.x), torch.tensor(data.train.y)
    gen = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, len(y), (seeds, 100), generator=gen) for _ in range(steps)]
    print(f"\n{seeds} seeds of one architecture, ms per seed-step (separate / one vmapped model)")
    print("{:<14}{:>10}{:>10}{:>8}".format("space", "separate", "vmap", "ratio"))
    for name in SPACES:
        space = table_space(load_benchmark(f"{name}-mnist1d"))
        first = pq.read_table(DATA_DIR / f"{name}-mnist1d.parquet", columns=["arch"])
        arch = space.parse(first["arch"][0].as_py())
        models = [space.build(arch, data.task, np.random.default_rng(k)) for k in range(seeds)]

        def separate(models: list[nn.Module] = models) -> float:
            opts = [torch.optim.Adam(m.parameters(), lr=1e-2, fused=True) for m in models]
            start = time.perf_counter()
            for idx in batches:
                for k, (m, opt) in enumerate(zip(models, opts, strict=True)):
                    loss = F.cross_entropy(m(x[idx[k]]), y[idx[k]])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
            return (time.perf_counter() - start) / (steps * seeds)

        def batched(models: list[nn.Module] = models) -> float:
            params, buffers = stack_module_state(models)
            base = models[0]

            def one(weights: dict, stats: dict, xb: torch.Tensor) -> torch.Tensor:
                return functional_call(base, (weights, stats), (xb,))

            forward = vmap(one, randomness="error")
            opt = torch.optim.Adam(list(params.values()), lr=1e-2, fused=True)
            start = time.perf_counter()
            for idx in batches:
                out = forward(params, buffers, x[idx])  # (seeds, 100, classes)
                losses = F.cross_entropy(out.flatten(0, 1), y[idx].flatten(), reduction="none")
                loss = losses.view(seeds, -1).mean(1).sum()  # seeds' gradients stay apart
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            return (time.perf_counter() - start) / (steps * seeds)

        a = best([separate() for _ in range(repeats)])
        b = best([batched() for _ in range(repeats)])
        print(f"{name:<14}{a * 1e3:>10.1f}{b * 1e3:>10.1f}{a / b:>8.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ops", action="store_true", help="also the per-operator table")
    parser.add_argument("--vmap", type=int, default=0, metavar="K", help="also K seeds vmapped")
    args = parser.parse_args(argv)
    network_rows(args.steps, args.repeats)
    if args.vmap:
        vmap_rows(args.vmap, args.steps, args.repeats)
    if args.ops:
        op_rows(args.repeats)


if __name__ == "__main__":
    main()
