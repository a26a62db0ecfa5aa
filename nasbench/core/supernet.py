"""Weight-sharing supernets: one network that holds every architecture of a space.

A space's supernet has one *mixed op* per decision. Its forward takes, next to the input, one
weight vector per decision of the space's universe (:meth:`SearchSpace.decisions`, in
``Decision.choices`` order), so the same supernet serves every use:

- weight sharing (ENAS, Pham et al. ICML 2018; one-shot, Bender et al. ICML 2018): the exact
  one-hot vectors of a sampled architecture (:func:`path_weights`, :func:`sample_path`), which run
  exactly that subnet;
- DARTS (Liu et al. ICLR 2019): ``softmax(alpha)`` per decision (:func:`softmax_weights`);
- GDAS (Dong & Yang CVPR 2019): straight-through Gumbel samples, one-hot in the forward with the
  soft sample's gradient (:func:`gumbel_weights`).

A mixed op computes only candidates whose weight is nonzero and returns ``sum_k w_k * op_k(x)``
over them (:class:`MixedOp`, :func:`weighted_sum`): under a one-hot path it runs one candidate,
``1.0 * op(x)``, bit-for-bit the stand-alone subnet's math, and the gradient still reaches the
weight vector through the computed candidates. A decision the path does not use (a chain's layers
after ``terminate``) gets an all-zero vector and does not affect the output.

After training, :func:`derive` reads an architecture off the logits by walking
:meth:`SearchSpace.next_decision` (so the space's validity rules hold) and picking the allowed
choice with the largest logit.

A space's supernet module registers a factory for the space's name (:func:`register_supernet`),
which constructs the supernet on the meta device; :func:`build_supernet` looks it up and
initialises the weights from the caller's generator. The dependency runs one way: the supernet
module imports its space, never the reverse.

>>> import numpy as np
>>> from nasbench.core.registry import spaces
>>> from nasbench.core.types import Task
>>> space = spaces.create("nb201", channels=4, cells_per_stage=1)
>>> net = build_supernet(space, Task((1, 16), 3), np.random.default_rng(0))
>>> arch, weights = sample_path(space, np.random.default_rng(1))
>>> tuple(net(torch.zeros(2, 1, 16), weights).shape)
(2, 3)
>>> derive(space, {k: 10 * w for k, w in weights.items()}) == arch
True
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import torch
from torch import nn

from nasbench.core.errors import NasbenchError
from nasbench.core.types import Architecture, Choice, Decision, Task
from nasbench.core.weights import materialise

if TYPE_CHECKING:
    from nasbench.core.space import SearchSpace

Weights = Mapping[str, torch.Tensor]
"""Decision name -> 1-D float weight vector over that decision's universe choices."""


class Supernet(nn.Module):
    """Base class of every space's supernet.

    ``decisions`` is the space's universe (same names, choices and order). :meth:`forward` maps
    ``x`` of shape ``(N, *task.input_shape)`` and one weight vector per universe decision (on
    ``x``'s device) to logits ``(N, task.num_classes)``; a missing entry raises
    :class:`NasbenchError`. Batch norm inside supernets is affine with running statistics (the
    weight-sharing evaluator recalibrates them per subnet).

    ``exact_path_params`` says whether the parameter tensors a one-hot path touches hold exactly
    ``space.counts(arch, task).params`` elements (every candidate owns whole tensors). It is
    ``False`` where candidates use parts of shared tensors (sliced widths, superkernels); the
    conformance suite then checks the bound it can guarantee instead of equality.
    """

    exact_path_params: bool = False

    def __init__(self, decisions: Sequence[Decision]) -> None:
        super().__init__()
        self.decisions: tuple[Decision, ...] = tuple(decisions)
        self._sizes = {d.name: len(d.choices) for d in self.decisions}

    def forward(self, x: torch.Tensor, weights: Weights) -> torch.Tensor:
        raise NotImplementedError

    def check_weights(self, weights: Weights) -> None:
        """Raise NasbenchError unless every universe decision has a 1-D vector of its size."""
        for name, size in self._sizes.items():
            w = weights.get(name)
            if w is None:
                raise NasbenchError(f"supernet weights lack decision {name!r}")
            if w.dim() != 1 or w.shape[0] != size:
                raise NasbenchError(
                    f"supernet weights for {name!r} have shape {tuple(w.shape)}, expected ({size},)"
                )


# ---- mixed operations -------------------------------------------------------------------------
def active(w: torch.Tensor) -> list[int]:
    """Indices of the nonzero entries of a weight vector (one host synchronisation)."""
    return [k for k, value in enumerate(w.detach().tolist()) if value != 0]


def weighted_sum(w: torch.Tensor, values: Sequence[torch.Tensor]) -> torch.Tensor:
    """``sum_k w_k * values[k]`` over the nonzero ``w_k`` (already computed candidates, e.g. a
    node's candidate inputs). Raises ValueError when every weight is zero: a caller must not
    evaluate a decision its path does not use."""
    keep = active(w)
    if not keep:
        raise ValueError("all weights are zero: the decision is not used on this path")
    total = w[keep[0]] * values[keep[0]]
    for k in keep[1:]:
        total = total + w[k] * values[k]
    return total


class MixedOp(nn.Module):
    """One candidate module per choice; ``forward(x, w)`` runs only those with ``w_k != 0`` and
    returns ``sum_k w_k * op_k(x)`` (DARTS's mixed operation, Liu et al. 2019, Eq. 2, restricted
    to the nonzero weights). Every candidate must map ``x`` to the same shape."""

    def __init__(self, candidates: Iterable[nn.Module]) -> None:
        super().__init__()
        self.candidates = nn.ModuleList(candidates)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        keep = active(w)
        if not keep:
            raise ValueError("all weights are zero: the decision is not used on this path")
        total = w[keep[0]] * self.candidates[keep[0]](x)
        for k in keep[1:]:
            total = total + w[k] * self.candidates[k](x)
        return total


# ---- weight vectors ---------------------------------------------------------------------------
def _names(space: SearchSpace, arch: Architecture) -> tuple[str, ...]:
    if arch.names:
        return arch.names
    names = []
    for i in range(len(arch.values)):
        decision = space.next_decision(arch.values[:i])
        if decision is None:
            raise NasbenchError(f"{space.name}: architecture {arch} has too many values")
        names.append(decision.name)
    return tuple(names)


def path_weights(
    space: SearchSpace, arch: Architecture, device: str | torch.device = "cpu"
) -> dict[str, torch.Tensor]:
    """Exact one-hot float32 vectors of ``arch``'s decisions; all-zero vectors for the universe
    decisions ``arch`` does not use. Raises NasbenchError when ``arch`` is not in ``space``."""
    space.validate(arch)
    weights = {d.name: torch.zeros(len(d.choices), device=device) for d in space.decisions()}
    index = {d.name: d.choices for d in space.decisions()}
    for name, value in zip(_names(space, arch), arch.values, strict=True):
        weights[name][index[name].index(value)] = 1.0
    return weights


def uniform_logits(
    space: SearchSpace, device: str | torch.device = "cpu"
) -> dict[str, torch.Tensor]:
    """Zero logits (a uniform softmax) per universe decision; ``requires_grad`` is left off."""
    return {d.name: torch.zeros(len(d.choices), device=device) for d in space.decisions()}


def softmax_weights(logits: Weights, temperature: float = 1.0) -> dict[str, torch.Tensor]:
    """DARTS's continuous relaxation: ``softmax(logits / temperature)`` per decision."""
    if not temperature > 0:
        raise NasbenchError(f"softmax temperature must be positive, got {temperature}")
    return {name: torch.softmax(v / temperature, dim=0) for name, v in logits.items()}


def gumbel_weights(
    logits: Weights, tau: float, generator: torch.Generator, hard: bool = True
) -> dict[str, torch.Tensor]:
    """GDAS's Gumbel-softmax sample per decision (Dong & Yang CVPR 2019, Eq. 3-5).

    ``soft = softmax((logits + g) / tau)`` with ``g = -log(E)``, ``E ~ Exp(1)`` drawn from
    ``generator`` (on the logits' device) in the mapping's order. With ``hard`` the value is the
    exact one-hot of ``argmax soft`` and the gradient is ``soft``'s (straight-through:
    ``one_hot + (soft - soft.detach())``, whose second term is exactly zero in value).
    """
    if not tau > 0:
        raise NasbenchError(f"Gumbel temperature tau must be positive, got {tau}")
    out = {}
    for name, v in logits.items():
        noise = -torch.empty_like(v).exponential_(generator=generator).log()
        soft = torch.softmax((v + noise) / tau, dim=0)
        if hard:
            one_hot = torch.zeros_like(soft)
            one_hot[int(torch.argmax(soft.detach()))] = 1.0
            out[name] = one_hot + (soft - soft.detach())
        else:
            out[name] = soft
    return out


def derive(space: SearchSpace, logits: Weights) -> Architecture:
    """The architecture that takes, at every step of :meth:`SearchSpace.next_decision`, the
    allowed choice with the largest logit (ties: the first in the decision's allowed order).
    ``logits[name]`` is over the universe choices of ``name``; raises NasbenchError if missing."""
    universe = {d.name: d.choices for d in space.decisions()}
    values: list[Choice] = []
    while (decision := space.next_decision(values)) is not None:
        v = logits.get(decision.name)
        if v is None:
            raise NasbenchError(f"{space.name}: logits lack decision {decision.name!r}")
        scores = v.detach().cpu().tolist()
        choices = universe[decision.name]
        best = max(decision.choices, key=lambda c: scores[choices.index(c)])
        values.append(best)  # max() keeps the first of equal keys
    return space.make(values)


def sample_path(
    space: SearchSpace, rng: np.random.Generator, device: str | torch.device = "cpu"
) -> tuple[Architecture, dict[str, torch.Tensor]]:
    """A uniformly sampled architecture (``space.sample(rng)``, draws from ``rng``) and its
    :func:`path_weights`: the single-path uniform sampling of Guo et al. (ECCV 2020)."""
    arch = space.sample(rng)
    return arch, path_weights(space, arch, device)


# ---- construction -----------------------------------------------------------------------------
SupernetFactory = Callable[[Any, Task], Supernet]
"""``(space, task) -> Supernet``: constructs a space's supernet. :func:`build_supernet` calls it
under ``torch.device("meta")``, so it must not allocate memory or draw random numbers."""

_Factory = TypeVar("_Factory", bound=Callable[..., Supernet])

_FACTORIES: dict[str, SupernetFactory] = {}


def register_supernet(space_name: str) -> Callable[[_Factory], _Factory]:
    """Decorator: register a :data:`SupernetFactory` for the space named ``space_name``.

    The space's supernet module registers it (``@register_supernet("chain")`` in
    ``spaces/chain_supernet.py``), so the space module never imports its supernet. Registering
    another function under a name already taken raises NasbenchError; registering the same
    definition again (same qualified name, and the same module or source file: a reload, or the
    module imported under two names such as ``spaces.cell_supernet`` beside
    ``nasbench.spaces.cell_supernet``) replaces it.
    """
    if not isinstance(space_name, str) or not space_name:
        raise NasbenchError(f"register_supernet needs a space name, got {space_name!r}")

    def register(factory: _Factory) -> _Factory:
        old = _FACTORIES.get(space_name)
        if old is not None and not _same_definition(old, factory):
            raise NasbenchError(
                f"space {space_name!r} already has the supernet factory "
                f"{_identity(old)[0]}.{_identity(old)[1]}; cannot register "
                f"{_identity(factory)[0]}.{_identity(factory)[1]}"
            )
        _FACTORIES[space_name] = factory
        return factory

    return register


def _same_definition(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    if a is b or _identity(a) == _identity(b):
        return True
    try:
        return _identity(a)[1] == _identity(b)[1] and inspect.getfile(a) == inspect.getfile(b)
    except TypeError:  # a builtin or a callable object without a source file
        return False


def _identity(factory: Callable[..., Any]) -> tuple[str, str]:
    return (
        getattr(factory, "__module__", "?") or "?",
        getattr(factory, "__qualname__", repr(factory)),
    )


def supernet_factories() -> Mapping[str, SupernetFactory]:
    """A read-only view of the registered factories, by space name."""
    return MappingProxyType(_FACTORIES)


def build_supernet(space: SearchSpace, task: Task, rng: np.random.Generator) -> Supernet:
    """``space``'s supernet for ``task`` on the CPU, weights initialised from ``rng`` (one draw).

    Constructs on the meta device through the factory registered for ``space.name``
    (:func:`register_supernet`) and materialises like :meth:`BaseSpace.build`. A space without
    a registered factory but with its own ``supernet(task, rng)`` method (a third-party space) is
    asked directly. Raises NasbenchError when the space has no supernet.
    """
    factory = _FACTORIES.get(space.name)
    if factory is None:
        method = getattr(space, "supernet", None)
        if method is None:
            raise NasbenchError(f"space {space.name!r} has no supernet")
        net = method(task, rng)
    else:
        with torch.device("meta"):
            net = factory(space, task)
        net = materialise(net, rng)
    if not isinstance(net, Supernet):
        raise TypeError(f"space {space.name!r} built a {type(net).__name__}, not a Supernet")
    return net
