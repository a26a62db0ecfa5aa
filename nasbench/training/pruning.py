"""Gradual magnitude pruning to a target weight sparsity, and what a pruned network costs.

Zhu & Gupta ("To prune, or not to prune", 2017, Eq. 1) raise the sparsity of the prunable
weights from ``s_i`` to ``s_f`` over ``n`` pruning steps taken every ``dt`` training steps from
step ``t0``, along a cubic that prunes fast while many redundant weights exist and slowly near
the end::

    s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt)) ** 3

At each pruning step the smallest-magnitude weights are masked: over all prunable weights at
once (``scope="global"``) or within each layer (``scope="layer"``, the default: Zhu & Gupta
prune every layer to the target, and so does SCAS, Sec. 2.4). Masked weights stay exactly
zero: a tensor hook zeroes their gradients (so optimiser moments see no update) and the masks
are applied again after every optimiser step (Adam's moments from before pruning, or decoupled
weight decay, would move them otherwise). Masks only grow, so a pruned weight never returns.

**Prunable weights** are the ``weight`` tensors of convolutions (``nn.Conv1d/2d/3d``, depthwise
included) and ``nn.Linear`` layers; biases and normalisation layers stay dense (they are a tiny
share of the parameters and pruning them breaks the layer's scale).

>>> import numpy as np
>>> from nasbench.core.weights import materialise
>>> with torch.device("meta"):
...     net = nn.Sequential(nn.Conv1d(1, 4, 3, padding=1), nn.Flatten(), nn.Linear(32, 10))
>>> net = materialise(net, np.random.default_rng(0))
>>> schedule = PruneSchedule(0.5, end_fraction=1.0, scope="layer")  # one layer at a time
>>> pruner = Pruner(net, schedule, epochs=1, steps_per_epoch=1)
>>> pruner.step(1)  # one-shot: the schedule ends at step 1
>>> sparsity(net)
0.5
>>> nonzero_params(net) == sum(p.numel() for p in net.parameters()) - (12 + 320) // 2
True
>>> effective_macs(net, (1, 8))  # (4*8*3 + 320 MACs) at half density
208
>>> pruner.remove()
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType

import torch
from torch import nn

from nasbench.core.errors import NasbenchError

_PRUNABLE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


class Scope(StrEnum):
    """Where magnitudes are ranked: over all prunable weights, or within each layer."""

    GLOBAL = "global"
    LAYER = "layer"


@dataclass(frozen=True)
class PruneSchedule:
    """When and how far to prune (Zhu & Gupta 2017, Eq. 1, with ``s_i = initial``).

    ``target`` is the final sparsity ``s_f`` of the prunable weights, ``0 <= target < 1``.
    Pruning starts at ``start_epoch`` and ends at ``end_epoch`` when given (whole epochs,
    ``end_epoch`` may not exceed the training's epochs), otherwise at ``start_fraction`` and
    ``end_fraction`` of the training steps; the default ends at 75 % so the last quarter of
    training recovers at the final sparsity. Masks are recomputed every ``every_steps``
    optimiser steps (``dt``) and at the end step. Raises NasbenchError on invalid values.
    """

    target: float
    start_epoch: int | None = None
    end_epoch: int | None = None
    start_fraction: float = 0.0
    end_fraction: float = 0.75
    every_steps: int = 10
    scope: Scope = Scope.LAYER
    initial: float = 0.0

    def __post_init__(self) -> None:
        for name in ("target", "initial"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0.0 <= value < 1.0):
                raise NasbenchError(f"prune {name} must be in [0, 1), got {value!r}")
        if self.initial > self.target:
            raise NasbenchError(
                f"prune initial sparsity {self.initial} exceeds the target {self.target}"
            )
        if not 0.0 <= self.start_fraction <= self.end_fraction <= 1.0:
            raise NasbenchError(
                "prune fractions need 0 <= start_fraction <= end_fraction <= 1, got "
                f"{self.start_fraction} and {self.end_fraction}"
            )
        for name in ("start_epoch", "end_epoch"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise NasbenchError(f"prune {name} must be a whole number, got {value!r}")
        start, end = self.start_epoch or 0, self.end_epoch
        if start < 0 or (end is not None and end < start):
            raise NasbenchError(
                f"prune epochs need 0 <= start_epoch <= end_epoch, got {start} and {end}"
            )
        if isinstance(self.every_steps, bool) or not (
            isinstance(self.every_steps, int) and self.every_steps >= 1
        ):
            raise NasbenchError(f"prune every_steps must be >= 1, got {self.every_steps!r}")
        try:
            object.__setattr__(self, "scope", Scope(self.scope))
        except ValueError:
            valid = ", ".join(s.value for s in Scope)
            raise NasbenchError(f"unknown prune scope {self.scope!r} (valid: {valid})") from None

    def window(self, epochs: int, steps_per_epoch: int) -> tuple[int, int]:
        """``(t0, t_end)``: the optimiser steps where pruning starts and reaches the target."""
        total = epochs * steps_per_epoch
        if self.end_epoch is not None and self.end_epoch > epochs:
            raise NasbenchError(
                f"prune end_epoch {self.end_epoch} is after the last epoch ({epochs})"
            )
        if self.start_epoch is not None:
            t0 = self.start_epoch * steps_per_epoch
        else:
            t0 = round(self.start_fraction * total)
        if self.end_epoch is not None:
            t_end = self.end_epoch * steps_per_epoch
        else:
            t_end = round(self.end_fraction * total)
        # pruning acts after an optimiser step, so the target is reached at step 1 at the earliest
        return t0, max(t_end, t0, 1)

    def sparsity_at(self, t: int, t0: int, t_end: int) -> float:
        """``s_t`` of Eq. 1 after optimiser step ``t`` (0 before ``t0``, the target after)."""
        if t < t0 or self.target == 0.0:
            return 0.0
        if t >= t_end:
            return self.target
        progress = (t - t0) / (t_end - t0)
        return self.target + (self.initial - self.target) * (1.0 - progress) ** 3


def prunable(model: nn.Module) -> list[torch.Tensor]:
    """The prunable weights of ``model`` (conv and linear ``weight``), in module order, each
    once even when shared."""
    weights: dict[int, torch.Tensor] = {}
    for module in model.modules():
        if isinstance(module, _PRUNABLE):
            weights.setdefault(id(module.weight), module.weight)
    return list(weights.values())


class Pruner:
    """Applies a :class:`PruneSchedule` to ``model`` during training; masks live here.

    Call :meth:`step` after every optimiser step with the number of steps done (1, 2, ...);
    call :meth:`remove` (or use the pruner as a context manager) afterwards to drop the
    gradient hooks. Draws no randomness: ties in magnitude are broken by ``torch.topk``.
    """

    def __init__(
        self, model: nn.Module, schedule: PruneSchedule, epochs: int, steps_per_epoch: int
    ) -> None:
        self.schedule = schedule
        self.weights = prunable(model)
        self.t0, self.t_end = schedule.window(epochs, steps_per_epoch)
        self.masks: list[torch.Tensor] = []
        self.level = 0.0  # sparsity the masks were last computed for
        self._hooks: list[torch.utils.hooks.RemovableHandle] = []

    def step(self, t: int) -> None:
        """After optimiser step ``t``: recompute masks if one is due, then re-apply them."""
        due = t >= self.t0 and ((t - self.t0) % self.schedule.every_steps == 0 or t >= self.t_end)
        if due:
            level = self.schedule.sparsity_at(t, self.t0, self.t_end)
            if level > self.level:
                self._update_masks(level)
        if self.masks:
            with torch.no_grad():
                torch._foreach_mul_(self.weights, self.masks)  # one call for all layers

    def _update_masks(self, level: float) -> None:
        if not self.masks:  # first pruning step: allocate masks and block gradients from now on
            self.masks = [torch.ones_like(w) for w in self.weights]
            for weight, mask in zip(self.weights, self.masks, strict=True):
                self._hooks.append(weight.register_hook(lambda g, m=mask: g * m))
        with torch.no_grad():
            # masked weights rank below every live one, so masks only grow (never revive)
            pairs = zip(self.weights, self.masks, strict=True)
            scores = [torch.where(m.bool(), w.abs(), -1.0) for w, m in pairs]
            if self.schedule.scope is Scope.GLOBAL:
                _mask_smallest(scores, self.masks, level)
            else:
                for score, mask in zip(scores, self.masks, strict=True):
                    _mask_smallest([score], [mask], level)
        self.level = level

    def remove(self) -> None:
        """Drop the gradient hooks (the pruned weights stay zero in the model)."""
        for handle in self._hooks:
            handle.remove()
        self._hooks.clear()

    def __enter__(self) -> Pruner:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.remove()


def _mask_smallest(scores: list[torch.Tensor], masks: list[torch.Tensor], level: float) -> None:
    """Zero the masks of the ``round(level * n)`` lowest scores among all given tensors."""
    flat = torch.cat([s.reshape(-1) for s in scores])
    k = round(level * flat.numel())
    keep = torch.ones_like(flat)
    if k > 0:
        keep[torch.topk(flat, k, largest=False, sorted=False).indices] = 0.0
    offset = 0
    for mask in masks:
        mask.copy_(keep[offset : offset + mask.numel()].view_as(mask))
        offset += mask.numel()


def sparsity(model: nn.Module) -> float:
    """Measured fraction of exactly-zero entries among the prunable weights (0 without any)."""
    weights = prunable(model)
    total = sum(w.numel() for w in weights)
    zeros = sum(int((w == 0).sum()) for w in weights)
    return zeros / total if total else 0.0


def nonzero_params(model: nn.Module) -> int:
    """Parameters a sparse copy of ``model`` must store: every parameter (trainable or not)
    minus the exactly-zero entries of the prunable weights. Biases and normalisation parameters
    always count, whatever their value, since they are never pruned."""
    dense = sum(p.numel() for p in model.parameters())
    return dense - sum(int((w == 0).sum()) for w in prunable(model))


def effective_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Dense MACs of each conv and linear layer scaled by its weight density, summed and rounded.

    Dense MACs follow :func:`nasbench.core.modelstats.count_macs` (one sample, conv and linear
    layers only); a layer whose weight is 30 % zeros counts 70 % of its MACs. Runs one forward pass
    of zeros of shape ``(1, *input_shape)`` on the model's device in eval mode (the training flag
    is restored).
    """
    total = 0.0

    def hook(mod: nn.Module, _inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        weight = mod.weight
        assert isinstance(weight, torch.Tensor)
        density = float(torch.count_nonzero(weight)) / weight.numel()
        if isinstance(mod, nn.Linear):
            dense = mod.in_features * out.numel()
        else:
            assert isinstance(mod, nn.Conv1d | nn.Conv2d | nn.Conv3d)
            dense = out[0].numel() * (mod.in_channels // mod.groups) * math.prod(mod.kernel_size)
        total += dense * density

    layers = [m for m in model.modules() if isinstance(m, _PRUNABLE)]
    handles = [m.register_forward_hook(hook) for m in layers]
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    was_training = model.training
    model.train(False)
    try:
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), device=device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return round(total)
