"""Bayesian optimisation through Optuna's ask-and-tell interface: TPE by default, Optuna's GP
sampler by option, any ``optuna.samplers`` class by name and any other sampler (your own, an
OptunaHub one saved as an importable module) as ``package.module:Class``.

>>> from nasbench.core.registry import spaces
>>> from nasbench.core.seeding import role_rng
>>> from nasbench.core.strategy import SearchInfo
>>> from nasbench.core.types import Budget, Observation, Status
>>> space = spaces.create("nb201")
>>> search = BayesOpt()  # TPE, 10 initial architectures
>>> info = SearchInfo(fidelity=12.0, fidelities=(), budget=Budget(evaluations=40))
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> best = 0.0
>>> for trial in range(40):
...     (proposal,) = search.ask(1)
...     score = proposal.arch.values.count("nor_conv_3x3") / 6  # a synthetic objective
...     best = max(best, score)
...     search.tell([Observation(trial, proposal.arch, 12.0, score, score, 1.0, True, Status.OK)])
>>> initial = role_rng(0, "initial_design")  # the first 10 were the shared initial design
>>> [t.params for t in search.study_.trials[:2]] == [
...     dict(zip(a.names, a.values)) for a in (space.sample(initial), space.sample(initial))]
True
>>> best >= 5 / 6
True

The search is the sequential model-based loop of Bergstra, Bardenet, Bengio & Kégl, "Algorithms
for Hyper-Parameter Optimization" (NeurIPS 2011), run by Optuna (Akiba et al., KDD 2019):

1. The first ``n_startup`` proposals are the seed's shared initial design,
   ``space.sample(initial_rng)`` in order (so they equal random search's first proposals),
   enqueued into the study so the sampler learns from them.
2. Every later proposal is a trial the sampler fills in: each decision of the space is one
   categorical parameter, named as the decision, over all the choices it can ever have
   (conditional where the decision may be absent; values not allowed after the prefix are
   repaired to the nearest allowed choice: see :mod:`.optuna_common`).
3. Each observation is told to its trial; failed and infeasible ones (``objective`` nan) get the
   worst value told so far, and, when the budget has hard limits (latency, params, MACs), the
   violated constraint ``nasbench_unusable`` as well, so TPE and GP treat them as infeasible.

With the default ``sampler="tpe"`` this is Optuna 5's TPE: multivariate for one objective
(Falkner, Klein & Hutter, ICML 2018, BOHB; Watanabe 2023, arXiv:2304.11127), 24 expected-
improvement candidates per proposal, with the constant liar for proposals still open. Its own
random start-up is replaced by the shared initial design (``n_startup_trials=0``): in the
runner's one-at-a-time loop the model proposes from the first proposal after the design on.
``sampler="gp"`` is Optuna's Gaussian-process sampler (log expected improvement; constrained EI,
Gardner et al. ICML 2014, under hard limits), far slower per proposal. Samplers that fall back
to independent sampling for conditional parameters log a warning on every trial about it; that
warning is switched off unless ``sampler_params`` switches it on.

The sampler's seed is one integer drawn from the strategy stream at ``start``; everything runs
in the calling thread. Any Optuna sampler that is deterministic given its seed and its call
sequence gives reproducible runs, and resumes by journal replay; a sampler class without a
``seed`` parameter is refused.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import optuna
from optuna.samplers import BaseSampler

from nasbench.core.errors import NasbenchError, one_of
from nasbench.core.params import param
from nasbench.core.registry import load_object, strategies
from nasbench.core.strategy import SearchInfo

from .optuna_common import OptunaStrategy

ALIASES: dict[str, str] = {"tpe": "TPESampler", "gp": "GPSampler", "random": "RandomSampler"}
"""Short names for the samplers meaningful on categorical decisions. Any other class of
``optuna.samplers`` may be given by its class name, any other sampler as
``package.module:Class``."""


def sampler_names() -> list[str]:
    """The concrete sampler classes ``optuna.samplers`` exports."""
    return sorted(
        name
        for name in optuna.samplers.__all__
        if isinstance(cls := getattr(optuna.samplers, name), type)
        and issubclass(cls, BaseSampler)
        and not inspect.isabstract(cls)
    )


RANDOM_ON_CATEGORICAL: dict[str, str] = {
    "CmaEsSampler": "CMA-ES models numerical parameters only",
    "QMCSampler": "its low-discrepancy sequence covers numerical parameters only",
}
"""Optuna samplers that hand every categorical parameter to their independent (random) sampler:
on nasbench's spaces, whose decisions are all categorical, they are random search under another
name (a CmaEsSampler run reproduced random search's sequence exactly), so they are refused."""


def sampler_class(name: str) -> type[BaseSampler]:
    """The sampler class for an alias, an ``optuna.samplers`` class name or a
    ``package.module:Class`` (or ``package.module.Class``) path. Raises NasbenchError naming the
    valid ones, and for a sampler of :data:`RANDOM_ON_CATEGORICAL`."""
    if not isinstance(name, str):
        raise NasbenchError(f"bayesopt: sampler must be a string, got {name!r}")
    if ":" in name or "." in name:
        obj = load_object(name)
    else:
        attr = ALIASES.get(name, name)
        obj = getattr(optuna.samplers, attr) if attr in sampler_names() else None
    if not (isinstance(obj, type) and issubclass(obj, BaseSampler)):
        raise one_of("Optuna sampler", name, [*ALIASES, *sampler_names(), "package.module:Class"])
    for refused, why in RANDOM_ON_CATEGORICAL.items():
        if issubclass(obj, getattr(optuna.samplers, refused)):
            raise NasbenchError(
                f"bayesopt: sampler {name!r} samples categorical decisions independently at "
                f"random ({why}), so on these spaces it is random search; use tpe or gp, or the "
                "strategy 'random'"
            )
    return obj


def sampler_kwargs(cls: type[BaseSampler], params: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor arguments besides ``seed``: ``params``, plus ``n_startup_trials=0`` (the
    shared initial design replaces the sampler's own random start-up) and
    ``warn_independent_sampling=False`` where the class has them and defaults them otherwise.
    Raises NasbenchError for keys the class does not take, and for a class without ``seed``."""
    signature = inspect.signature(cls).parameters
    name = f"{cls.__module__}:{cls.__qualname__}"
    if "seed" not in signature:
        raise NasbenchError(f"bayesopt: sampler {name} takes no seed, so runs would not repeat")
    any_key = any(p.kind is p.VAR_KEYWORD for p in signature.values())
    for key in params:
        if key == "seed":
            raise NasbenchError("bayesopt: sampler_params may not set 'seed' (the run's seed does)")
        if key not in signature and not any_key:
            valid = [k for k in signature if k != "seed"]
            raise NasbenchError(
                f"bayesopt: sampler {name} has no parameter {key!r} (valid: {', '.join(valid)})"
            )
    kwargs = dict(params)
    if "n_startup_trials" in signature and "n_startup_trials" not in params:
        kwargs["n_startup_trials"] = 0
    warn = signature.get("warn_independent_sampling")
    if warn is not None and warn.default is True and "warn_independent_sampling" not in params:
        kwargs["warn_independent_sampling"] = False
    return kwargs


def make_sampler(name: str, params: Mapping[str, Any], seed: int) -> BaseSampler:
    """An instance of the sampler ``name`` (see :func:`sampler_class`) with ``seed`` and
    :func:`sampler_kwargs`. Raises NasbenchError for bad names or parameters."""
    cls = sampler_class(name)
    factory: Callable[..., BaseSampler] = cls
    try:
        return factory(seed=seed, **sampler_kwargs(cls, params))
    except (TypeError, ValueError) as exc:
        raise NasbenchError(f"bayesopt: bad sampler_params {dict(params)}: {exc}") from exc


@strategies.register("bayesopt")
class BayesOpt(OptunaStrategy):
    """Bayesian optimisation with an Optuna sampler; see the module docstring.

    ``sampler``: ``"tpe"`` (default), ``"gp"``, ``"random"``, an ``optuna.samplers`` class name
    or ``"package.module:Class"``; ``sampler_params``: keyword arguments for its constructor
    (``seed`` is set from the run); ``n_startup``: size of the shared initial design (>= 1).
    Bad values raise NasbenchError. Learned attributes: see :class:`.OptunaStrategy`.
    """

    label: ClassVar[str] = "bayesopt"
    paper: ClassVar[str] = (
        "Bergstra, Bardenet, Bengio & Kégl, Algorithms for Hyper-Parameter Optimization, "
        "NeurIPS 2011 (TPE); Akiba, Sano, Yanase, Ohta & Koyama, Optuna: A Next-generation "
        "Hyperparameter Optimization Framework, KDD 2019"
    )
    sampler: str = param("tpe", source=(
        "TPE (Bergstra et al. 2011), Optuna's default sampler (Akiba et al. 2019)"
    ))  # fmt: skip
    sampler_params: dict[str, Any] | None = param(None, kind=dict, source=(
        "none: the sampler's Optuna 5 defaults (TPE: multivariate for one objective, "
        "Falkner et al. 2018; 24 EI candidates; constant liar)"
    ))  # fmt: skip
    n_startup: int = param(10, ge=1, source=(
        "10: Optuna's TPESampler and GPSampler n_startup_trials default (hyperopt, the "
        "TPE implementation of Bergstra et al. 2011, uses 20; Watanabe 2023, "
        "arXiv:2304.11127, discusses TPE's control parameters)"
    ))  # fmt: skip

    def __post_init__(self) -> None:
        super().__post_init__()
        make_sampler(self.sampler, self.sampler_params or {}, 0)  # a bad value fails before any run

    def _initial_size(self) -> int:
        return self.n_startup

    def _new_sampler(self, seed: int) -> BaseSampler:
        return make_sampler(self.sampler, self.sampler_params or {}, seed)

    def _objectives(self, info: SearchInfo) -> tuple[str, ...]:
        return ("objective",)

    def _uses_constraints(self, info: SearchInfo) -> bool:
        """Constraints only when hard budget limits can make proposals infeasible: with none,
        every trial would carry a zero constraint, which costs the GP sampler a second model."""
        b = info.budget
        limits = (b.latency_ms, b.params_m, b.macs_m)
        return b.constraint == "hard" and any(limit is not None for limit in limits)
