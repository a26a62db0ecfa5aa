"""Conformance suite for supernets (:mod:`nasbench.core.supernet`).

Run it for your own space in one line, ``check_supernet(MySpace())``, or call the single checks
from a parametrised pytest module (``tests/test_supernet.py``). Each check raises
``AssertionError`` with a message naming the space. Keep the space small (a few channels, one
cell per stage): every check builds the supernet and runs a few forward and backward passes on
batches of 4.

What the checks establish, for sampled architectures ``a``:

1. the output is ``(batch, num_classes)`` for a 1-D and a 2-D task;
2. under ``path_weights(a)`` the loss is finite and the parameters outside the path (gradient
   ``None`` or zero) do not matter: replacing them by noise leaves the output bit-identical;
3. under softmax weights of random logits every decision's logits get a nonzero gradient;
4. the same ``rng`` gives bit-identical initial weights and outputs, whatever the global seeds,
   and building and running leave the global RNGs untouched;
5. ``derive`` returns ``a`` from the logits ``10 * path_weights(a)`` and, from all-zero logits,
   the architecture of every decision's first allowed choice;
6. the parameters a one-hot path touches bound the stand-alone network's:
   ``nonzero-gradient elements <= space.counts(a, task).params <= elements of the tensors with a
   gradient``, with equality on the right when the supernet declares ``exact_path_params``;
7. straight-through Gumbel weights are exactly one-hot, give the same output as the same one-hot
   vectors without gradient, and pass a nonzero gradient to the logits.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812

from nasbench.core.space import SearchSpace
from nasbench.core.supernet import (
    Supernet,
    Weights,
    build_supernet,
    derive,
    gumbel_weights,
    path_weights,
    softmax_weights,
    uniform_logits,
)
from nasbench.core.types import Architecture, Task
from nasbench.testing.spaces import _global_rng_unchanged

TASKS = (Task((1, 16), 3, "seq"), Task((3, 8, 8), 3, "img"))
"""A 1-D and a 2-D task the checks build supernets for."""
BATCH = 4


def _archs(space: SearchSpace, n: int, seed: int = 0) -> list[Architecture]:
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


def _net(space: SearchSpace, task: Task, seed: int = 0) -> Supernet:
    return build_supernet(space, task, np.random.default_rng(seed))


def _batch(task: Task, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((BATCH, *task.input_shape), generator=gen)
    y = torch.randint(task.num_classes, (BATCH,), generator=gen)
    return x, y


def _random_logits(space: SearchSpace, seed: int) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(seed)
    return {
        d.name: torch.tensor(rng.normal(size=len(d.choices)), dtype=torch.float32)
        for d in space.decisions()
    }


def _path_backward(
    net: Supernet, weights: Weights, task: Task
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward and backward of a cross-entropy loss on one batch; returns ``(x, loss)``."""
    x, y = _batch(task)
    net.zero_grad(set_to_none=True)
    loss = F.cross_entropy(net(x, weights), y)
    loss.backward()
    return x, loss


def check_output_shape(space: SearchSpace, tasks: tuple[Task, ...] = TASKS, n: int = 2) -> None:
    """(1) logits of shape ``(batch, num_classes)`` under one-hot and softmax weights."""
    for task in tasks:
        net = _net(space, task)
        assert tuple(d.name for d in net.decisions) == tuple(d.name for d in space.decisions()), (
            f"{space.name}: supernet decisions differ from the space's universe"
        )
        soft = softmax_weights(uniform_logits(space))
        for weights in [path_weights(space, a) for a in _archs(space, n)] + [soft]:
            out = net(_batch(task)[0], weights)
            assert tuple(out.shape) == (BATCH, task.num_classes), (
                f"{space.name}: output {tuple(out.shape)} on {task.input_shape}"
            )


def check_path_isolation(space: SearchSpace, task: Task = TASKS[1], n: int = 3) -> None:
    """(2) finite loss under a one-hot path; parameters without gradient do not matter."""
    net = _net(space, task)
    total = sum(p.numel() for p in net.parameters())
    for arch in _archs(space, n, seed=1):
        weights = path_weights(space, arch)
        x, loss = _path_backward(net, weights, task)
        assert torch.isfinite(loss), f"{space.name}: loss {loss} for {arch}"
        with torch.no_grad():
            before = net(x, weights)
            idle = [p for p in net.parameters() if p.grad is None or not p.grad.any()]
            assert sum(p.numel() for p in idle) < total, f"{space.name}: {arch} trains nothing"
            assert idle, f"{space.name}: the path {arch} touches every parameter"
            gen = torch.Generator().manual_seed(7)
            for p in idle:
                p.add_(torch.randn(p.shape, generator=gen))
            after = net(x, weights)
        assert torch.equal(before, after), (
            f"{space.name}: parameters outside the path of {arch} changed its output"
        )


def check_softmax_gradients(space: SearchSpace, task: Task = TASKS[1]) -> None:
    """(3) under DARTS's softmax weights every decision's logits get a nonzero gradient."""
    net = _net(space, task)
    logits = _random_logits(space, seed=2)
    for v in logits.values():
        v.requires_grad_(True)
    _path_backward(net, softmax_weights(logits), task)
    for name, v in logits.items():
        assert v.grad is not None and v.grad.abs().sum() > 0, (
            f"{space.name}: no gradient reaches the logits of {name!r} under softmax weights"
        )


def check_deterministic(space: SearchSpace, task: Task = TASKS[0]) -> None:
    """(4) the same rng gives bit-identical weights and outputs; global RNGs stay untouched."""
    arch = _archs(space, 1, seed=3)[0]
    results = []
    for scramble in (11, 12):
        random.seed(scramble)
        np.random.seed(scramble)  # noqa: NPY002 (scrambling global state on purpose)
        torch.manual_seed(scramble)
        with _global_rng_unchanged(space.name):
            net = _net(space, task, seed=4)
            x = _batch(task)[0]
            outs = [
                net(x, path_weights(space, arch)),
                net(x, softmax_weights(_random_logits(space, 5))),
            ]
        results.append((net.state_dict(), outs))
    (a, outs_a), (b, outs_b) = results
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), (
        f"{space.name}: the same rng built different supernet weights"
    )
    assert all(torch.equal(u, v) for u, v in zip(outs_a, outs_b, strict=True)), (
        f"{space.name}: the same rng gave different supernet outputs"
    )


def check_derive(space: SearchSpace, n: int = 5) -> None:
    """(5) derive recovers a path from its scaled one-hot logits; zero logits give the first
    allowed choice everywhere (ties go to the first)."""
    for arch in _archs(space, n, seed=6):
        logits = {k: 10 * w for k, w in path_weights(space, arch).items()}
        assert derive(space, logits) == arch, f"{space.name}: derive did not recover {arch}"
    values: list[str] = []
    while (decision := space.next_decision(values)) is not None:
        values.append(decision.choices[0])
    assert derive(space, uniform_logits(space)) == space.make(values), (
        f"{space.name}: derive from zero logits is not the first allowed choice everywhere"
    )


def check_path_params(space: SearchSpace, tasks: tuple[Task, ...] = TASKS, n: int = 3) -> None:
    """(6) a one-hot path's parameters against ``space.counts(arch, task).params``."""
    for task in tasks:
        net = _net(space, task)
        for arch in _archs(space, n, seed=8):
            _path_backward(net, path_weights(space, arch), task)
            grads = [p.grad for p in net.parameters() if p.grad is not None]
            upper = sum(g.numel() for g in grads)
            lower = sum(int(g.count_nonzero()) for g in grads)
            params = space.counts(arch, task).params
            assert lower <= params <= upper, (
                f"{space.name}: {arch} on {task.input_shape}: {lower} parameters with a gradient "
                f"and {upper} in touched tensors do not bracket counts() = {params}"
            )
            if net.exact_path_params:
                assert upper == params, (
                    f"{space.name}: {arch} on {task.input_shape}: the path touches {upper} "
                    f"parameters, the stand-alone network has {params}"
                )


def check_gumbel(space: SearchSpace, task: Task = TASKS[0]) -> None:
    """(7) GDAS weights: exactly one-hot values, the one-hot forward, a gradient to the logits."""
    net = _net(space, task)
    logits = _random_logits(space, seed=9)
    for v in logits.values():
        v.requires_grad_(True)
    weights = gumbel_weights(logits, tau=1.0, generator=torch.Generator().manual_seed(0))
    for name, w in weights.items():
        assert sorted(w.tolist()) == [0.0] * (len(w) - 1) + [1.0], (
            f"{space.name}: Gumbel weights of {name!r} are not exactly one-hot: {w.tolist()}"
        )
    x = _batch(task)[0]
    out = net(x, weights)
    plain = net(x, {k: w.detach().clone() for k, w in weights.items()})
    assert torch.equal(out, plain), f"{space.name}: straight-through weights change the forward"
    out.square().sum().backward()
    assert any(v.grad is not None and v.grad.abs().sum() > 0 for v in logits.values()), (
        f"{space.name}: no gradient reaches the logits through Gumbel weights"
    )


ALL_CHECKS: tuple[Callable[[SearchSpace], None], ...] = (
    check_output_shape,
    check_path_isolation,
    check_softmax_gradients,
    check_deterministic,
    check_derive,
    check_path_params,
    check_gumbel,
)


def check_supernet(space: SearchSpace) -> None:
    """Run every check on ``space`` (raises AssertionError on the first failure)."""
    for check in ALL_CHECKS:
        check(space)
