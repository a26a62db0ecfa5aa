"""Network morphism: a child starts from its parent's trained weights, then trains briefly.

>>> from nasbench.core.registry import spaces
>>> space = spaces.create("chain", max_layers=2)
>>> ev = NetworkMorphismEvaluator(space, epochs=2, child_epochs=1, recipe={"batch_size": 500})
>>> parent, child = space.parse("conv3-16-s1"), space.parse("conv3-32-s1")  # a wider layer
>>> first = ev.evaluate(parent, 2.0, np.random.default_rng(0))  # from scratch: 2 epochs
>>> m = ev.evaluate_child(child, parent, 2.0, np.random.default_rng(1))  # inherits, 1 epoch
>>> extra = dict(m.extra)
>>> extra["inherited"], extra["inherited_fraction"], extra["function_preserved"], len(m.curve)
(1.0, 1.0, 1.0, 1)

Weight inheritance makes evolution Lamarckian: Real et al. ("Large-Scale Evolution of Image
Classifiers", ICML 2017) let a mutated child keep its parent's weights where shapes allow; Cai et
al. ("Efficient Architecture Search by Network Transformation", AAAI 2018) and Elsken et al.
("Efficient Multi-objective Neural Architecture Search via Lamarckian Evolution", ICLR 2019,
LEMONADE) mutate by *function-preserving* transformations, Chen, Goodfellow & Shlens's network
morphisms ("Net2Net", ICLR 2016), so a child starts where its parent ended and needs a fraction
of the training. A proposal naming its ``parent`` (:class:`~nasbench.core.types.Proposal`:
regularized evolution's tournament winner, local search's current point) goes to
:meth:`~NetworkMorphismEvaluator.evaluate_child`: with the parent's trained weights in the cache,
the child is initialised from them and trains ``child_epochs`` epochs (at most the fidelity's,
the recipe's schedule over them); otherwise, and without a parent, it trains from scratch exactly
as the ``train`` evaluator does (same draws, same accuracies).

**The morphisms** (:func:`inherit`). In the ``chain`` space, layer by layer, aligned by position
(a mutation changes one position; its repair may append or drop layers at the end):

- an unchanged layer is copied; a wider one is Net2WiderNet: the parent's units first, then
  copies of uniformly drawn ones (batch norm included), the consumer's weight from a unit split
  among its copies, ``1/n`` each times ``1 + e`` with ``e`` zero-sum noise (spread
  :data:`SPLIT_NOISE`): the sum stays exact and the copies are no twins (Adam keeps copies with
  proportional weights identical; plain noise would break exactness);
- a larger kernel is the parent's with zeros around (same padding keeps its centre);
- an appended layer is Net2DeeperNet: identity convolutions (depthwise and pointwise for a
  separable one; more filters than inputs copy inputs as above), batch norm set to undo its own
  normalisation (:func:`calibrate`, on the first :data:`CALIBRATION_SAMPLES` training samples),
  the ReLU exact on the non-negative output of the layer before;
- inexact but inherited: fewer filters (the first ones), a smaller kernel (its centre), another
  stride, an appended strided layer (identity), dropped layers, a pooling layer changed;
- no morphism: a layer whose kind changed (convolution, separable, pooling) gets fresh weights,
  that layer only; the layers after it keep the parent's.

``function_preserved`` is 1 when every step was exact: the child computes the parent's function
in eval mode (to float rounding), and in training mode but for an appended layer's batch norm,
whose batch statistics only approximate the calibration sample's. The other spaces' modules do not
line up layer by layer (cells, branches, blocks of several layers), so their transfer falls back
to names: each tensor of the same name and shape copied, a convolution whose kernel alone changed
padded or cropped as above, the rest fresh, and ``function_preserved`` 0 (claimed nowhere, though
e.g. NAS-Bench-201's ``nor_conv_1x1`` to ``nor_conv_3x3`` is exact).

**Sparsity.** A child's inherited (pruned) weights are pruned again by the ``train`` evaluator's
gradual magnitude pruning over its epochs, the cubic starting at the child's initial sparsity
(Zhu & Gupta 2017's ``s_i``, at most the target) and ending at the target.

**Cost** is the ``train`` evaluator's, the measured seconds of the epochs trained (the transfer
takes milliseconds and is not charged). ``extra``: ``inherited`` (1: from the parent's weights),
``inherited_fraction`` (the child's parameter elements taken from the parent's tensors; identity
and fresh layers are not), ``function_preserved``, ``epochs_trained`` and ``weights_id`` (52
bits of the SHA-256 of the trained weights, naming the cache file; ``nan``: failed).

**The cache** keeps the weights of the last ``cache_size`` architectures evaluated or used as a
parent (least recently used out; evaluated again: replaced; failed: removed). With ``cache_dir``
each is also written there (``torch.save`` of tensors, read with ``torch.load(weights_only=True)``),
one content-named file per distinct weights, so runs sharing the folder never clash; files are
kept (delete the folder when done); a missing or unreadable one counts as absent (one warning).

**Determinism and resume.** Every record column but the measured ``cost_s``, ``cum_cost_s`` and
``*_wall_s`` is a function of the seed, as with ``train``. A resumed run replays the journal
without training (:meth:`~NetworkMorphismEvaluator.replay`, ``replay_child``): the cache's order
is rebuilt, not its weights. With ``cache_dir`` they are read back and the records equal an
uninterrupted run's; without it a child whose parent was journaled trains from scratch, and the
records equal an uninterrupted run's up to the first such child (``inherited`` 0) only.

Suite use::

    [[task]]
    space = "chain"
    evaluator = "network_morphism"
    epochs = 20            # from scratch
    child_epochs = 5       # a child of a cached parent
    cache_size = 20
"""

from __future__ import annotations

import hashlib
import logging
import math
import warnings
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nasbench.core.caches import check_folder, one_line, replace_atomically
from nasbench.core.params import param
from nasbench.core.registry import evaluators
from nasbench.core.seeding import torch_generator
from nasbench.core.space import SearchSpace
from nasbench.core.types import Architecture, Measurement, Status
from nasbench.spaces.chain import ChainSpace, Layer, LayerKind
from nasbench.training.pruning import sparsity
from nasbench.training.trainer import train

from .train import epochs_of
from .trained import TrainingBase

log = logging.getLogger(__name__)

Weights = dict[str, torch.Tensor]
"""A state dict: parameter and buffer name -> tensor (on the CPU)."""

SPLIT_NOISE = 0.1
"""Relative spread of the zero-sum noise on WiderNet's ``1/n`` shares (module docstring)."""
CALIBRATION_SAMPLES = 500
"""Training samples (the first ones) that calibrate an appended layer's batch norm."""


@dataclass(frozen=True)
class Transfer:
    """What a child took from its parent: ``inherited`` of its ``total`` parameter elements came
    from the parent's tensors; ``exact``: it computes the parent's function (eval mode)."""

    inherited: int
    total: int
    exact: bool

    @property
    def fraction(self) -> float:
        return self.inherited / self.total if self.total else 0.0


# ---- tensor operations ------------------------------------------------------------------------
def fit_kernel(weight: torch.Tensor, shape: torch.Size) -> torch.Tensor | None:
    """``weight`` with its kernel (dims 2 and on) centre-padded with zeros or centre-cropped to
    ``shape[2:]``; ``None`` when a size differs by an odd amount (no common centre)."""
    for dim in range(2, weight.dim()):
        old, new = weight.shape[dim], shape[dim]
        if (new - old) % 2:
            return None
        if new > old:
            pad = list(weight.shape)
            pad[dim] = (new - old) // 2
            weight = torch.cat([weight.new_zeros(pad), weight, weight.new_zeros(pad)], dim=dim)
        elif new < old:
            weight = weight.narrow(dim, (old - new) // 2, new)
    return weight


def widen_map(old: int, new: int, rng: np.random.Generator) -> np.ndarray:
    """Net2WiderNet's mapping ``g`` (Chen et al. 2016) of ``new`` units to ``old`` ones: ``j``
    to ``j`` for ``j < old``, a uniformly drawn old unit after that (the first ``new`` when
    narrower). Draws from ``rng`` only when wider."""
    if new <= old:
        return np.arange(new)
    return np.concatenate([np.arange(old), rng.integers(old, size=new - old)])


def shares(g: np.ndarray, rows: int, gen: torch.Generator) -> torch.Tensor | None:
    """Factors ``(rows, len(g))`` splitting each parent unit's outgoing weight among its copies
    (``g``: child unit -> parent unit): ``(1 + e) / n``, ``n`` the unit's copies, ``e`` Gaussian
    noise of spread :data:`SPLIT_NOISE` centred over the copies in each row, so a row's shares of
    a unit sum to 1. ``None`` (drawing nothing) when no unit has two copies."""
    counts = np.bincount(g)
    if counts.max(initial=1) <= 1:
        return None
    index = torch.as_tensor(g)
    noise = torch.randn((rows, len(g)), generator=gen) * SPLIT_NOISE
    n = torch.as_tensor(counts[g], dtype=noise.dtype)
    sums = torch.zeros((rows, len(counts))).index_add_(1, index, noise)
    return (1.0 + noise - sums[:, index] / n) / n


def undo_batchnorm(t: Weights, pre: str, mean: torch.Tensor, var: torch.Tensor, eps: float) -> None:
    """Batch norm ``pre`` in ``t`` that undoes its own normalisation of inputs of this ``mean``
    and (biased) ``var``: the identity in eval mode (Net2DeeperNet with batch norm)."""
    t[pre + "running_mean"], t[pre + "running_var"] = mean.clone(), var.clone()
    t[pre + "weight"], t[pre + "bias"] = torch.sqrt(var + eps), mean.clone()


# ---- the chain morphisms ----------------------------------------------------------------------
class _ChainMorphism:
    """Fills a chain child's tensors (:attr:`new`) from its parent's, layer by layer (module
    docstring). ``g`` maps the channels of the child's representation to the parent's at the
    same depth (after its last layer once the child is deeper); ``exact`` stays true while every
    step preserves the function."""

    def __init__(self, src: Weights, model: nn.Module, rng: np.random.Generator) -> None:
        self.src, self.model, self.rng = src, model, rng
        self.gen = torch_generator(rng)
        self.shapes = {name: t.shape for name, t in model.state_dict().items()}
        self.new: Weights = {}
        self.taken: set[str] = set()  # names set from the parent's tensors
        self.identities: list[str] = []  # batch norms of appended layers, to calibrate
        self.exact = True

    def run(self, parent: tuple[Layer, ...], child: tuple[Layer, ...], channels: int) -> None:
        widths = [channels]  # the parent's representation width before each layer, then after
        for layer in parent:
            widths.append(widths[-1] if layer.is_pool else layer.filters)
        g = np.arange(channels)
        for j, c in enumerate(child):
            if j >= len(parent):
                g = self.deeper(c, f"features.{j}.", g, widths[-1])
                continue
            p = parent[j]
            if c.is_pool or p.is_pool or c.kind != p.kind:  # no morphism: c keeps fresh weights
                self.exact &= c == p
                if not (c.is_pool and p.is_pool):
                    g = np.arange(len(g) if c.is_pool else c.filters) % widths[j + 1]
            else:
                g = self.wider(c, p, f"features.{j}.", g)
        if len(parent) > len(child):  # dropped layers
            self.exact = False
            g = np.arange(len(g)) % widths[-1]
        self.take("classifier.weight", np.arange(self.shapes["classifier.weight"][0]), g)
        self.take("classifier.bias", None, None)

    def wider(self, c: Layer, p: Layer, pre: str, g: np.ndarray) -> np.ndarray:
        """Layer ``p`` as ``c`` of the same kind: Net2WiderNet on the filters, kernels fitted."""
        out = widen_map(p.filters, c.filters, self.rng)
        self.exact &= c.filters >= p.filters and c.kernel >= p.kernel and c.stride == p.stride
        convs = (
            [("0.", out, g)] if c.kind is LayerKind.CONV else [("0.0.", g, None), ("1.0.", out, g)]
        )
        for conv, rows, inputs in convs:  # a separable layer's depthwise conv keeps its channels
            self.take(pre + conv + "weight", rows, inputs)
            bn = pre + conv[:-2] + "1."
            for part in ("weight", "bias", "running_mean", "running_var"):
                self.take(bn + part, rows, None)
            self.take(bn + "num_batches_tracked", None, None)
        return out

    def deeper(self, c: Layer, pre: str, g: np.ndarray, width: int) -> np.ndarray:
        """Appended layer ``c``: Net2DeeperNet's identity where it can be (module docstring)."""
        cin = len(g)
        if c.is_pool or c.filters < cin:
            self.exact = False
            return g if c.is_pool else np.arange(c.filters) % width
        self.exact &= c.stride == 1
        copy = widen_map(cin, c.filters, self.rng)  # output o repeats input copy[o]
        convs = [("0.", copy)] if c.kind is LayerKind.CONV else [("0.0.", None), ("1.0.", copy)]
        for conv, rows in convs:
            shape = self.shapes[pre + conv + "weight"]
            w = torch.zeros(shape)  # depthwise (rows None): each channel its own
            inputs = (
                torch.zeros(shape[0], dtype=torch.long) if rows is None else torch.as_tensor(rows)
            )
            w[(torch.arange(shape[0]), inputs, *(k // 2 for k in shape[2:]))] = 1.0
            self.new[pre + conv + "weight"] = w
            bn = pre + conv[:-2] + "1."
            module = self.model.get_submodule(bn[:-1])
            assert isinstance(module, nn.modules.batchnorm._BatchNorm)
            undo_batchnorm(self.new, bn, torch.zeros(shape[0]), torch.full((shape[0],),
                           1.0 - module.eps), module.eps)  # fmt: skip
            self.identities.append(bn[:-1])
        return g[copy]

    def take(self, name: str, rows: np.ndarray | None, inputs: np.ndarray | None) -> None:
        """The parent's tensor ``name``: rows ``rows``, input channels ``inputs`` (a unit's share
        split among its copies), kernel fitted; ``None``: all."""
        w = self.src[name]
        if rows is not None:
            w = w[torch.as_tensor(rows)]
        if inputs is not None:
            w = w[:, torch.as_tensor(inputs)]
            split = shares(inputs, w.shape[0], self.gen)
            if split is not None:
                w = w * split.reshape(*split.shape, *[1] * (w.dim() - 2))
        fitted = fit_kernel(w, self.shapes[name]) if w.dim() > 2 else w
        assert fitted is not None  # chain kernels are odd
        self.new[name] = fitted
        self.taken.add(name)


def calibrate(model: nn.Module, names: list[str], sample: torch.Tensor) -> None:
    """Net2DeeperNet with batch norm: each (identity) batch norm ``names`` of ``model`` is set to
    undo its normalisation of its inputs on ``sample`` (:func:`undo_batchnorm` with their
    per-channel mean and biased variance, measured in eval mode). Still the identity in eval
    mode; in training mode as nearly as a batch's statistics match the sample's. Draws nothing."""
    inputs: dict[str, torch.Tensor] = {}
    hooks = [
        model.get_submodule(name).register_forward_hook(
            lambda _m, args, _out, name=name: inputs.__setitem__(name, args[0])
        )
        for name in names
    ]
    was_training = model.training
    model.train(False)
    try:
        model(sample)
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    found: Weights = {}
    for name in names:
        x, bn = inputs[name], model.get_submodule(name)
        assert isinstance(bn, nn.modules.batchnorm._BatchNorm)
        dims = [0, *range(2, x.dim())]
        undo_batchnorm(found, f"{name}.", x.mean(dims), x.var(dims, unbiased=False), bn.eps)
    state = model.state_dict()
    for name, t in found.items():
        state[name].copy_(t)


def _by_name(src: Weights, model: nn.Module) -> int:
    """Copy into ``model`` every tensor of ``src`` with its name and shape, fitting kernels
    that alone differ; returns the parameter elements copied."""
    params = {name for name, _ in model.named_parameters()}
    taken = 0
    for name, t in model.state_dict().items():
        s = src.get(name)
        if s is None or s.dim() != t.dim():
            continue
        if s.shape != t.shape:
            same_channels = t.dim() > 2 and s.shape[:2] == t.shape[:2]
            s = fit_kernel(s, t.shape) if same_channels else None
            if s is None:
                continue
        t.copy_(s)
        taken += t.numel() if name in params else 0
    return taken


def inherit(
    space: SearchSpace, parent: Architecture, weights: Weights, arch: Architecture,
    model: nn.Module, rng: np.random.Generator, sample: torch.Tensor | None = None,
) -> Transfer:  # fmt: skip
    """Initialise ``model`` (``arch`` built by ``space``, freshly initialised) from the trained
    ``weights`` of ``parent`` (module docstring: the chain's morphisms, else names); ``sample``
    (inputs, ``(N, *task.input_shape)``) calibrates the batch norms of appended identity layers
    (:func:`calibrate`; without it they are the plain identity). Draws from ``rng`` (WiderNet's
    copies, the noise on their shares) for chains only."""
    total = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        if not isinstance(space, ChainSpace) or parent.space != arch.space:
            return Transfer(_by_name(weights, model), total, exact=False)
        morph = _ChainMorphism(weights, model, rng)
        first = next(m for m in model.modules() if isinstance(m, nn.Conv1d | nn.Conv2d))
        morph.run(space.layers(parent), space.layers(arch), first.in_channels)  # rule 1: a conv
        state = model.state_dict()
        for name, t in morph.new.items():
            state[name].copy_(t)
        if sample is not None and morph.identities:
            calibrate(model, morph.identities, sample)
        params = dict(model.named_parameters())
        taken = sum(params[n].numel() for n in morph.taken if n in params)
        return Transfer(taken, total, morph.exact)


# ---- the weight cache -------------------------------------------------------------------------
def weights_id(weights: Weights) -> float:
    """The first 52 bits of the SHA-256 of ``weights`` (names, dtypes, shapes, values), as a
    float that holds them exactly: equal ids, equal weights."""
    digest = hashlib.sha256()
    for name in sorted(weights):
        t = weights[name].detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.numpy().tobytes())
    return float(int(digest.hexdigest()[:13], 16))


@dataclass
class _Entry:
    weights: Weights | None  # None: on disk only (a replayed evaluation), or lost
    path: Path | None


class WeightCache:
    """The trained weights of the last ``size`` architectures stored or used (by text, least
    recently used first out), optionally also written to ``folder`` (module docstring)."""

    def __init__(self, size: int, folder: Path | None) -> None:
        self.size, self.folder = size, folder
        self.entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self.entries)

    def use(self, text: str) -> Weights | None:
        """The weights of architecture ``text`` (``None``: none usable); marks it used."""
        entry = self.touch(text)
        if entry is not None and entry.weights is None and entry.path is not None:
            entry.weights = self._read(entry.path)
        return None if entry is None else entry.weights

    def touch(self, text: str) -> _Entry | None:
        """Mark ``text`` used (if cached) without reading anything."""
        entry = self.entries.get(text)
        if entry is not None:
            self.entries.move_to_end(text)
        return entry

    def store(self, text: str, weights: Weights) -> float:
        """Keep ``weights`` (copied to the CPU) as ``text``'s, written to the folder if any;
        returns their :func:`weights_id`."""
        kept = {name: t.detach().to("cpu", copy=True) for name, t in weights.items()}
        ident = weights_id(kept)
        path = self._path(text, ident)
        if path is not None and not path.exists():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                replace_atomically(path, lambda tmp: torch.save(kept, tmp))
            except OSError as exc:
                log.warning("cannot store weights in %s: %s", path.parent, one_line(exc))
        self._put(text, _Entry(kept, path))
        return ident

    def record(self, text: str, ident: float) -> None:
        """A replayed evaluation of ``text`` that stored weights ``ident`` (``nan``: none, as
        a failed one): the entry as :meth:`store` left it, its weights on disk or lost."""
        if math.isnan(ident):
            self.entries.pop(text, None)
        else:
            self._put(text, _Entry(None, self._path(text, ident)))

    def drop(self, text: str) -> None:
        self.entries.pop(text, None)

    def _put(self, text: str, entry: _Entry) -> None:
        self.entries[text] = entry
        self.entries.move_to_end(text)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)

    def _path(self, text: str, ident: float) -> Path | None:
        if self.folder is None:
            return None
        name = hashlib.sha256(text.encode()).hexdigest()[:16]
        return self.folder / f"{name}-{int(ident):013x}.pt"

    def _read(self, path: Path) -> Weights | None:
        """Tensors only (``torch.load(weights_only=True)``); ``None`` with one warning line
        when the file is missing, unreadable or holds anything else."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                saved = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # missing, truncated, not a torch file, more than tensors
            saved, reason = None, f"{type(exc).__name__}: {exc}"
        else:
            reason = "does not hold a state dict"
        good = isinstance(saved, dict) and all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in saved.items()
        )
        if not good:
            log.warning("weights file %s unusable (%s); the child trains from scratch", path,
                        one_line(reason))  # fmt: skip
            return None
        return saved


# ---- the evaluator ----------------------------------------------------------------------------
@evaluators.register("network_morphism")
class NetworkMorphismEvaluator(TrainingBase):
    """Training with weight inheritance by network morphism (module docstring). Fidelity =
    epochs from scratch (default ``epochs``); a child of a cached parent trains
    ``min(child_epochs, fidelity)``. Draws initial weights, WiderNet's copies, batch order and
    pruning ties from ``rng``. Distillation (the ``train`` evaluator's ``distill_from``) is not
    offered. Raises NasbenchError for a ``cache_dir`` that cannot be a folder."""

    child_epochs: int = param(5, ge=1, source=(
        "a quarter of the default epochs (20): Cai et al. 2018 and Elsken et al. 2019 train a "
        "morphed child briefly, not from scratch"
    ))  # fmt: skip
    cache_size: int = param(20, ge=1, source=(
        "twice regularized evolution's population of 10 (NAS-Bench-201 protocol): every "
        "member's weights stay while it can win a tournament"
    ))  # fmt: skip
    cache_dir: str | None = param(None, doc="a folder that also holds the cached weights")

    def __post_init__(self) -> None:
        super().__post_init__()
        folder = None
        if self.cache_dir is not None:
            folder = check_folder(self.cache_dir, "network_morphism cache_dir")
        self.cache_ = WeightCache(self.cache_size, folder)

    def evaluate(
        self, arch: Architecture, fidelity: float, rng: np.random.Generator
    ) -> Measurement:
        """Train ``arch`` from scratch (the ``train`` evaluator's run) and cache its weights."""
        return self._evaluate(arch, None, fidelity, rng)

    def evaluate_child(
        self, arch: Architecture, parent: Architecture, fidelity: float, rng: np.random.Generator
    ) -> Measurement:
        """Start ``arch`` from ``parent``'s cached weights and train it ``child_epochs``;
        from scratch as :meth:`evaluate` when they are not cached."""
        return self._evaluate(arch, parent, fidelity, rng)

    def replay(self, arch: Architecture, fidelity: float, measurement: Measurement) -> None:
        """A resumed run's journaled evaluation: the cache entry it left, without weights (read
        back from ``cache_dir`` when used, else lost)."""
        super().replay(arch, fidelity, measurement)
        self.cache_.record(arch.text, dict(measurement.extra).get("weights_id", math.nan))

    def replay_child(
        self, arch: Architecture, parent: Architecture, fidelity: float, measurement: Measurement
    ) -> None:
        """:meth:`replay` of a child: its parent was used first."""
        self.cache_.touch(parent.text)
        self.replay(arch, fidelity, measurement)

    def _evaluate(
        self, arch: Architecture, parent: Architecture | None, fidelity: float,
        rng: np.random.Generator,
    ) -> Measurement:  # fmt: skip
        epochs = epochs_of(fidelity)
        model = self.space.build(arch, self.task, rng)
        weights = None if parent is None else self.cache_.use(parent.text)
        transfer = Transfer(0, 1, exact=False)
        prune = self.prune_schedule()
        if weights is not None and parent is not None:
            first = np.array(self.data.train.x[:CALIBRATION_SAMPLES], dtype=np.float32)  # a copy
            transfer = inherit(
                self.space, parent, weights, arch, model, rng, torch.from_numpy(first)
            )
            epochs = min(epochs, self.child_epochs)
            if prune is not None:  # Zhu & Gupta's s_i: the pruning starts where the child is
                prune = replace(prune, initial=min(sparsity(model), prune.target))
        result = train(model, self.data, replace(self.recipe, epochs=epochs), rng, prune=prune,
                       device=self.device)  # fmt: skip
        m = self.measurement(arch, model, self.task, result)
        ident = math.nan
        if result.status is Status.FAILED:
            self.cache_.drop(arch.text)
        else:
            ident = self.cache_.store(arch.text, model.state_dict())
        extra = (("inherited", float(weights is not None)),
                 ("inherited_fraction", transfer.fraction),
                 ("function_preserved", float(transfer.exact)),
                 ("epochs_trained", float(result.epochs_run)), ("weights_id", ident))  # fmt: skip
        return replace(m, extra=extra)
