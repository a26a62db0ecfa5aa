"""The training loop every training evaluator and gradient strategy shares.

:func:`train` is a plain PyTorch loop: mini-batch cross-entropy on the training split, validation
accuracy after every epoch, test accuracy once at the end, and the measured wall-clock cost. It
is deterministic: the batch order comes from a ``torch.Generator`` derived from the caller's
``rng``, and randomness inside the model (dropout) draws from torch's global generator only
within a forked, freshly seeded copy of it (``torch.random.fork_rng``), so the caller's global
state is untouched. Given the same ``rng`` on one machine with the same thread count, curves and
final weights are bit-identical. A diverging run (non-finite loss or weights) returns status
``FAILED`` with ``nan`` accuracies instead of raising.

**Knowledge distillation.** Given a ``teacher`` model, :func:`train` trains the network on
:func:`distillation_loss`, the loss of Hinton, Vinyals & Dean ("Distilling the Knowledge in a
Neural Network", NIPS Deep Learning Workshop 2014) that TAS (Dong & Yang, "Network Pruning via
Transformable Architecture Search", NeurIPS 2019, Sec. 3.3) uses to transfer the unpruned
network's knowledge into the searched one::

    loss = (1 - a) * CE(student, y) + a * T^2 * KL(softmax(teacher / T) || softmax(student / T))

with ``a`` the recipe's ``distill_weight`` and ``T`` its ``distill_temperature``. The KL term is
summed over classes and averaged over the batch. TAS's released code distils with ``a = 0.9`` and
``T = 4`` (:data:`TAS_DISTILL_WEIGHT`, :data:`TAS_DISTILL_TEMPERATURE`); the recipe's default
weight is 0 (no distillation), so a recipe that does not ask for it trains exactly as before,
teacher or not.

>>> import numpy as np
>>> from torch import nn
>>> from nasbench.training.datasets import load_dataset
>>> from nasbench.core.weights import materialise
>>> data = load_dataset("digits")  # scikit-learn's 8x8 digits, 10 classes
>>> with torch.device("meta"):  # build without drawing, then initialise from a generator
...     model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
>>> model = materialise(model, np.random.default_rng(0))
>>> result = train(model, data, Recipe(epochs=5), np.random.default_rng(1))
>>> result.status, result.epochs_run, len(result.val_acc), result.test_acc > 0.85
(<Status.OK: 'ok'>, 5, 5, True)
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from nasbench.core.errors import NasbenchError
from nasbench.core.modelstats import count_params
from nasbench.core.seeding import role_rng, torch_generator
from nasbench.core.types import Status
from nasbench.training.pruning import Pruner, PruneSchedule, Scope, nonzero_params, sparsity

if TYPE_CHECKING:
    from nasbench.training.datasets import Dataset

log = logging.getLogger(__name__)

EVAL_BATCH = 1024
"""Samples per forward pass when measuring accuracy (memory only; results do not depend on it)."""

TAS_DISTILL_WEIGHT = 0.9
"""TAS's weight of the distillation term (Dong & Yang 2019; the authors' released KD training
script passes ``KD_alpha 0.9``)."""
TAS_DISTILL_TEMPERATURE = 4.0
"""TAS's distillation temperature (the authors' released KD training script: ``KD_temperature
4``); the recipe's default."""


class Optimizer(StrEnum):
    SGD = "sgd"  # with momentum (and optionally Nesterov's)
    ADAM = "adam"
    ADAMW = "adamw"


class Schedule(StrEnum):
    """Learning-rate schedule after the linear warm-up."""

    CONSTANT = "constant"
    COSINE = "cosine"  # Loshchilov & Hutter 2017 (SGDR), one cycle, no restarts, down to 0
    STEP = "step"  # x0.1 at 50 % and again at 75 % of the post-warm-up steps


@dataclass(frozen=True)
class Recipe:
    """How to train. Strings are accepted for ``optimizer`` and ``schedule``; 0 switches
    ``warmup_epochs``, ``label_smoothing`` and ``grad_clip`` off (TOML has no ``None``).

    The defaults are the MNIST-1D reference recipe: Adam, learning rate 1e-2, batch 100, no
    weight decay, as in the ``get_model_args`` of the mnist1d repository's ``notebooks/train.py``
    (Greydanus 2020, github.com/greydanus/mnist1d), which trains its CNN for 8000 steps
    (200 epochs of 4000 samples) at a constant rate. Here the default is 30 epochs with a cosine
    decay, which reaches that accuracy in a fraction of the steps.
    Raises NasbenchError on invalid values.
    """

    optimizer: Optimizer = Optimizer.ADAM
    learning_rate: float = 1e-2
    momentum: float = 0.9  # SGD only
    nesterov: bool = False  # SGD only
    weight_decay: float = 0.0  # L2 for sgd/adam, decoupled for adamw (Loshchilov & Hutter 2019)
    epochs: int = 30
    batch_size: int = 100
    schedule: Schedule = Schedule.COSINE
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0  # Szegedy et al. 2016
    grad_clip: float = 0.0  # max global gradient L2 norm; 0: no clipping
    # Validation samples the per-epoch curve is measured on (the first ones of the split; 0:
    # all). The final validation accuracy always uses the whole split: with a large split
    # (mnist1d_large: 5000) measuring all of it after every epoch costs about half an epoch.
    curve_samples: int = 0
    # Where gradual magnitude pruning ranks magnitudes when a run prunes: within each layer, as
    # Zhu & Gupta (2017) and SCAS (Sec. 2.4: every pruned layer keeps its own mask and is pruned
    # to the target) do, or over all prunable weights at once ("global", the default of the
    # tables built before December 2026, whose recorded recipes say so).
    prune_scope: Scope = Scope.LAYER
    # Knowledge distillation (module docstring), used only when :func:`train` gets a teacher:
    # the weight ``a`` in [0, 1] of the distillation term (0: off, plain cross entropy) and the
    # softmax temperature ``T > 0``. TAS: a = 0.9, T = 4.
    distill_weight: float = 0.0
    distill_temperature: float = TAS_DISTILL_TEMPERATURE

    def __post_init__(self) -> None:
        for name, kind in (
            ("optimizer", Optimizer),
            ("schedule", Schedule),
            ("prune_scope", Scope),
        ):
            try:
                object.__setattr__(self, name, kind(getattr(self, name)))
            except ValueError:
                valid = ", ".join(v.value for v in kind)
                bad = getattr(self, name)
                raise NasbenchError(f"unknown {name} {bad!r} (valid: {valid})") from None
        for name in ("epochs", "batch_size", "curve_samples"):
            value, least = getattr(self, name), 0 if name == "curve_samples" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise NasbenchError(
                    f"recipe {name} must be a whole number >= {least}, got {value!r}"
                )
        warmup = (lambda v: 0 <= v <= self.epochs, f"in [0, epochs={self.epochs}]")
        for name, (check, text) in {**_RANGES, "warmup_epochs": warmup}.items():
            value = getattr(self, name)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not (number and math.isfinite(value) and check(value)):
                raise NasbenchError(f"recipe {name} must be {text}, got {value!r}")
        if self.nesterov and (self.optimizer is not Optimizer.SGD or self.momentum == 0):
            raise NasbenchError("nesterov needs optimizer 'sgd' with momentum > 0")


_RANGES: dict[str, tuple[Callable[[float], bool], str]] = {
    "learning_rate": (lambda v: v > 0, "> 0"),
    "momentum": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "weight_decay": (lambda v: v >= 0, ">= 0"),
    "label_smoothing": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "grad_clip": (lambda v: v >= 0, ">= 0"),
    "distill_weight": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "distill_temperature": (lambda v: v > 0, "> 0"),
}


def recipe_from(params: dict[str, Any]) -> Recipe:
    """A :class:`Recipe` from suite keys (``learning_rate = 0.01`` ...); unknown keys raise."""
    valid = {f.name for f in fields(Recipe)}
    bad = sorted(set(params) - valid)
    if bad:
        raise NasbenchError(f"unknown recipe key {bad[0]!r} (valid: {', '.join(sorted(valid))})")
    return replace(Recipe(), **params)


@dataclass(frozen=True)
class TrainResult:
    """One training run. Accuracies are fractions in [0, 1]; ``nan`` when ``FAILED``.

    ``train_loss`` and ``val_acc`` have one entry per epoch run (``train_loss`` is the mean
    mini-batch loss of the epoch, label smoothing included). ``cost_s`` is measured wall-clock
    seconds of the epochs (training steps and the per-epoch validation), without setup and the
    final test evaluation. ``sparsity`` is the measured fraction of zeros among the prunable
    weights, ``nonzero_params`` as in :func:`nasbench.training.pruning.nonzero_params`, ``params``
    the dense count. ``train_size`` is the number of training samples used (``data_fraction``).
    ``val_final`` is the validation accuracy on the whole split after the last epoch run (the
    curve's last value unless the recipe measures the curve on fewer samples, ``curve_samples``;
    ``nan`` when ``FAILED``); its measurement is part of ``cost_s``.
    """

    train_loss: tuple[float, ...]
    val_acc: tuple[float, ...]
    test_acc: float
    cost_s: float
    status: Status
    epochs_run: int
    steps: int
    train_size: int
    sparsity: float
    nonzero_params: int
    params: int
    message: str = ""  # why a run failed or stopped
    val_final: float = math.nan

    @property
    def final_val_acc(self) -> float:
        """Validation accuracy on the whole split after the last epoch run (``nan`` if failed
        or none ran)."""
        ok = self.status is not Status.FAILED and self.val_acc
        if not ok:
            return math.nan
        return self.val_final if math.isfinite(self.val_final) else self.val_acc[-1]


def learning_rate(recipe: Recipe, step: int, steps_per_epoch: int) -> float:
    """The learning rate for optimiser step ``step`` (0-based) of the whole run.

    Linear warm-up from ``lr / warmup_steps`` to ``lr`` over ``warmup_epochs``, then the
    schedule over the remaining steps (cosine decays to 0 at the last step's end).
    """
    lr, warm = recipe.learning_rate, round(recipe.warmup_epochs * steps_per_epoch)
    if step < warm:
        return lr * (step + 1) / warm
    span = max(recipe.epochs * steps_per_epoch - warm, 1)
    progress = min((step - warm) / span, 1.0)
    if recipe.schedule is Schedule.COSINE:
        return lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    if recipe.schedule is Schedule.STEP:
        return lr * 0.1 ** ((progress >= 0.5) + (progress >= 0.75))
    return lr


def make_optimizer(
    model: nn.Module | Iterable[nn.Parameter], recipe: Recipe
) -> torch.optim.Optimizer:
    """The recipe's optimiser over all parameters of ``model`` (weight decay on all of them),
    or over the given parameters (a gradient strategy's network weights without its
    architecture parameters)."""
    params = list(model.parameters() if isinstance(model, nn.Module) else model)
    if not params:
        raise NasbenchError("the model has no parameters to train")
    lr, wd = recipe.learning_rate, recipe.weight_decay
    if recipe.optimizer is Optimizer.SGD:
        m, nesterov = recipe.momentum, recipe.nesterov
        return torch.optim.SGD(params, lr=lr, momentum=m, nesterov=nesterov, weight_decay=wd)
    # The fused Adam kernel updates every tensor in one call: on the CPU 5-8x faster than the
    # per-tensor loop for the 100-200 small tensors of a table network, the same arithmetic.
    # (Fused SGD fails on parameters a step left without gradient, as weight sharing does.)
    fused = all(p.dtype == torch.float32 and p.device.type in ("cpu", "cuda") for p in params)
    kind = torch.optim.Adam if recipe.optimizer is Optimizer.ADAM else torch.optim.AdamW
    return kind(params, lr=lr, weight_decay=wd, fused=fused or None)


def train_subset(labels: np.ndarray, fraction: float) -> np.ndarray:
    """Sorted indices of a fixed, class-stratified ``fraction`` of the training samples.

    The subset depends only on ``labels`` and ``fraction`` (a fixed seed, never the caller's
    rng), so every architecture evaluated at one fraction sees the same samples, and subsets for
    smaller fractions are contained in those for larger ones (one permutation per class, cut at
    ``round(fraction * n_c)``, at least one sample per class). Raises NasbenchError unless
    ``0 < fraction <= 1``.
    """
    if not (isinstance(fraction, int | float) and 0.0 < fraction <= 1.0):
        raise NasbenchError(f"data_fraction must be in (0, 1], got {fraction!r}")
    rng = role_rng(0, "train_subset")
    members = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    cut = [m[: max(1, round(fraction * len(m)))] for m in members]
    return np.sort(np.concatenate(cut)) if cut else np.arange(0)


def distillation_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    target: torch.Tensor,
    weight: float,
    temperature: float,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Hinton et al.'s distillation loss on logits ``(batch, classes)`` (module docstring):
    ``(1 - weight) * CE(student, target) + weight * T^2 * KL(p_teacher || p_student)`` with both
    distributions softened by the temperature ``T``, the KL divergence summed over classes and
    averaged over the batch (the form of TAS's released KD code). ``label_smoothing`` applies to
    the cross-entropy term. ``teacher`` carries no gradient."""
    ce = F.cross_entropy(student, target, label_smoothing=label_smoothing)
    t = temperature
    soft_student = F.log_softmax(student / t, dim=1)
    soft_teacher = F.log_softmax(teacher.detach() / t, dim=1)
    kl = F.kl_div(soft_student, soft_teacher, reduction="batchmean", log_target=True)
    return (1.0 - weight) * ce + weight * t * t * kl


def teacher_logits(teacher: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The teacher's logits for every sample of ``x``, in eval mode without gradients, in
    chunks of :data:`EVAL_BATCH` (the teacher's training flag is restored). Eval mode makes them
    a function of the sample alone, so computing them once equals a teacher forward per step."""
    was_training = teacher.training
    teacher.train(False)
    try:
        with torch.no_grad():
            return torch.cat([teacher(x[i : i + EVAL_BATCH]) for i in range(0, len(x), EVAL_BATCH)])
    finally:
        teacher.train(was_training)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of ``x`` classified as ``y``, in eval mode without gradients (``nan`` if empty).
    Restores the model's training flag."""
    if len(y) == 0:
        return math.nan
    was_training = model.training
    model.train(False)
    correct = torch.zeros((), dtype=torch.long, device=y.device)
    with torch.no_grad():
        for i in range(0, len(y), EVAL_BATCH):
            correct += (model(x[i : i + EVAL_BATCH]).argmax(dim=1) == y[i : i + EVAL_BATCH]).sum()
    model.train(was_training)
    return int(correct) / len(y)


@contextlib.contextmanager
def isolated(threads: int | None, device: torch.device, seed: int) -> Iterator[None]:
    """Run a block with ``threads`` intra-op threads, torch's global RNG forked and seeded with
    ``seed`` (so dropout is reproducible and the caller's stream unchanged) and, on CUDA, cuDNN
    in deterministic mode; every setting is restored on exit, also after an exception.
    ``torch.set_num_threads`` is process-wide: concurrent threads of the same process see it.
    """
    previous = torch.get_num_threads()
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    cuda = []
    if device.type == "cuda":
        cuda = [torch.cuda.current_device() if device.index is None else device.index]
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        with torch.random.fork_rng(devices=cuda, device_type=device.type):
            torch.default_generator.manual_seed(seed)
            if cuda:
                torch.cuda.default_generators[cuda[0]].manual_seed(seed)
                torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
            yield
    finally:
        torch.set_num_threads(previous)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn


def _tensors(split: Any, device: torch.device, index: np.ndarray | None = None) -> tuple:
    """``(x, y)`` of a split as float32/int64 tensors on ``device``. On the CPU they share
    memory with the (possibly read-only, cached) arrays: the loop never writes into them."""
    x, y = np.asarray(split.x), np.asarray(split.y)
    if index is not None:
        x, y = x[index], y[index]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not writable.*", category=UserWarning)
        tx, ty = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)
    return tx.to(device=device, dtype=torch.float32), ty.to(device=device, dtype=torch.long)


def steps_per_epoch(samples: int, batch_size: int) -> int:
    """Optimiser steps in one epoch: the last, smaller batch is kept unless it holds one
    sample (batch normalisation cannot train on a batch of one); that sample is reshuffled
    into a full batch in other epochs."""
    steps = math.ceil(samples / batch_size)
    return steps - 1 if steps > 1 and samples % batch_size == 1 else steps


def _finite(model: nn.Module) -> bool:
    """Whether every parameter and floating-point buffer (batch-norm statistics) is finite."""
    tensors = [*model.parameters(), *(b for b in model.buffers() if b.is_floating_point())]
    return all(bool(torch.isfinite(t).all()) for t in tensors)


@dataclass
class _Loop:
    """Mutable state of one training run."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    recipe: Recipe
    x: torch.Tensor
    y: torch.Tensor
    order: torch.Generator
    pruner: Pruner | None
    per_epoch: int
    soft: torch.Tensor | None = None  # the teacher's logits per training sample (distillation)
    step: int = 0
    losses: list[float] = field(default_factory=list)
    vals: list[float] = field(default_factory=list)
    status: Status = Status.OK
    message: str = ""
    cost_s: float = 0.0
    val_final: float = math.nan

    def run(
        self, val: tuple[torch.Tensor, torch.Tensor],
        stop: Callable[[int, tuple[float, ...]], bool] | None,
    ) -> None:  # fmt: skip
        """The epochs: train, check for divergence, validate, ask ``stop``; times them."""
        start = time.perf_counter()
        epochs, samples = self.recipe.epochs, self.recipe.curve_samples
        subset = 0 < samples < len(val[1])
        curve = (val[0][:samples], val[1][:samples]) if subset else val
        for epoch in range(1, epochs + 1):
            try:
                loss = self.epoch()
            except torch.OutOfMemoryError as err:
                loss, self.message = math.nan, f"out of memory in epoch {epoch}: {err}"[:200]
            self.losses.append(loss)
            if not (math.isfinite(loss) and _finite(self.model)):
                self.vals.append(math.nan)
                self.status = Status.FAILED
                self.message = self.message or f"diverged in epoch {epoch} (loss {loss})"
                break
            self.vals.append(accuracy(self.model, *curve))
            if stop is not None and stop(epoch, tuple(self.vals)) and epoch < epochs:
                self.status, self.message = Status.STOPPED, f"stopped after epoch {epoch}"
                break
        if self.vals and self.status is not Status.FAILED:
            self.val_final = accuracy(self.model, *val) if subset else self.vals[-1]
        self.cost_s = time.perf_counter() - start

    def epoch(self) -> float:
        """One pass over the training samples in a fresh order; returns the mean batch loss."""
        recipe, model, opt = self.recipe, self.model, self.optimizer
        model.train()
        order = torch.randperm(len(self.y), generator=self.order).to(self.y.device)
        total = torch.zeros((), device=self.y.device)
        seen = 0
        for idx in order.split(recipe.batch_size)[: self.per_epoch]:
            lr = learning_rate(recipe, self.step, self.per_epoch)
            for group in opt.param_groups:
                group["lr"] = lr
            out = model(self.x[idx])
            if self.soft is None:
                loss = F.cross_entropy(out, self.y[idx], label_smoothing=recipe.label_smoothing)
            else:
                loss = distillation_loss(
                    out, self.soft[idx], self.y[idx], recipe.distill_weight,
                    recipe.distill_temperature, recipe.label_smoothing,
                )  # fmt: skip
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if recipe.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
            opt.step()
            self.step += 1
            if self.pruner is not None:
                self.pruner.step(self.step)
            total += loss.detach() * len(idx)
            seen += len(idx)
        return float(total) / seen


def _soft_targets(
    teacher: nn.Module, x: torch.Tensor, device: torch.device, classes: int
) -> torch.Tensor:
    """:func:`teacher_logits` of ``x`` on ``device``; the teacher goes back where it was."""
    home = next(iter(teacher.parameters()), torch.empty(0)).device
    teacher.to(device)
    try:
        logits = teacher_logits(teacher, x)
    finally:
        teacher.to(home)
    if logits.shape != (len(x), classes):
        raise NasbenchError(
            f"the teacher gives logits of shape {tuple(logits.shape)} for {len(x)} samples, "
            f"the task has {classes} classes"
        )
    return logits.detach()


def train(
    model: nn.Module,
    data: Dataset,
    recipe: Recipe,
    rng: np.random.Generator,
    *,
    prune: PruneSchedule | None = None,
    device: str | torch.device = "cpu",
    data_fraction: float = 1.0,
    stop: Callable[[int, tuple[float, ...]], bool] | None = None,
    threads: int | None = 1,
    teacher: nn.Module | None = None,
) -> TrainResult:
    """Train ``model`` in place on ``data.train`` with ``recipe``; measure it on val and test.

    ``data`` is a :class:`nasbench.training.datasets.Dataset` (splits with ``x`` float32 of shape
    ``(N, *task.input_shape)`` and ``y`` int64 class indices). Draws two integers from ``rng``:
    the seed of the batch order and that of torch's (forked) global RNG for dropout. ``prune``
    applies gradual magnitude pruning (:mod:`nasbench.training.pruning`) over the recipe's epochs.
    ``data_fraction < 1`` trains on a fixed stratified subset (:func:`train_subset`). After
    every epoch ``stop(epoch, val_curve)`` (1-based epoch) may end training early: status
    ``STOPPED`` (a ``True`` after the last epoch changes nothing). Runs on ``device`` with
    ``threads`` intra-op threads (``None``: leave torch's setting); the previous thread count,
    global RNG state and cuDNN flags are restored on return, and the model goes back to the
    device it came from. Non-finite loss or weights, or running out of GPU memory, give status
    ``FAILED`` with ``nan`` accuracies.

    With a ``teacher`` (a trained model of the same task) and ``recipe.distill_weight > 0`` the
    loss is :func:`distillation_loss` against the teacher's eval-mode logits, computed once per
    training sample before the first epoch (measured into ``cost_s``) and moved back with the
    teacher; ``train_loss`` is then that loss. Without a teacher, or with ``distill_weight`` 0,
    training is the plain cross-entropy loop, bit for bit. The teacher draws nothing from
    ``rng``. Raises NasbenchError for an invalid ``data_fraction``, ``threads`` or pruning window
    and for a teacher whose logits do not match the task's classes.
    """
    if threads is not None and (type(threads) is not int or threads < 1):
        raise NasbenchError(f"threads must be a whole number >= 1 or None, got {threads!r}")
    subset = train_subset(np.asarray(data.train.y), data_fraction)
    dev = torch.device(device)
    order = torch_generator(rng)
    seed = int(rng.integers(0, 2**63 - 1))
    home = next(iter(model.parameters()), torch.empty(0)).device
    with isolated(threads, dev, seed):
        model.to(dev)
        x, y = _tensors(data.train, dev, None if data_fraction == 1.0 else subset)
        per_epoch = steps_per_epoch(len(y), recipe.batch_size)
        pruner = None
        if prune is not None and prune.target > 0:
            pruner = Pruner(model, prune, recipe.epochs, per_epoch)
        loop = _Loop(model, make_optimizer(model, recipe), recipe, x, y, order, pruner, per_epoch)
        soft_s = 0.0
        try:
            if teacher is not None and recipe.distill_weight > 0:
                begin = time.perf_counter()
                loop.soft = _soft_targets(teacher, x, dev, data.task.num_classes)
                soft_s = time.perf_counter() - begin
            loop.run(_tensors(data.val, dev), stop)
        finally:
            if pruner is not None:
                pruner.remove()
        loop.cost_s += soft_s
        failed = loop.status is Status.FAILED
        test_acc = math.nan if failed else accuracy(model, *_tensors(data.test, dev))
    model.to(home)
    if loop.message:
        log.info("training %s: %s", loop.status.value, loop.message)
    return TrainResult(
        train_loss=tuple(loop.losses),
        val_acc=tuple(loop.vals),
        test_acc=test_acc,
        cost_s=loop.cost_s,
        status=loop.status,
        epochs_run=len(loop.losses),
        steps=loop.step,
        train_size=len(y),
        sparsity=sparsity(model),
        nonzero_params=nonzero_params(model),
        params=count_params(model),
        message=loop.message,
        val_final=loop.val_final,
    )
