"""Multi-objective search with NSGA-II: validation accuracy against latency (or parameters, MACs),
through Optuna's ``NSGAIISampler``.

>>> from nasbench.core.registry import spaces
>>> from nasbench.core.seeding import role_rng
>>> from nasbench.core.strategy import SearchInfo
>>> from nasbench.core.types import Budget, Observation, Status
>>> space = spaces.create("nb201")
>>> search = NSGA2(objectives=("val_acc", "params_m"), population=10)
>>> info = SearchInfo(fidelity=12.0, fidelities=(), budget=Budget(evaluations=30))
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> for trial in range(30):
...     (proposal,) = search.ask(1)
...     convs = proposal.arch.values.count("nor_conv_3x3")  # synthetic: accuracy costs params
...     acc, params_m = 0.5 + convs / 12, 0.1 + 0.2 * convs
...     search.tell([Observation(trial, proposal.arch, 12.0, acc, acc, 1.0, True, Status.OK,
...                              params_m=params_m)])
>>> [t.values for t in search.study_.best_trials][:1]  # the observed Pareto front, first point
[[...]]
>>> search.objectives_
('val_acc', 'params_m')

The algorithm is NSGA-II (Deb, Pratap, Agarwal & Meyarivan, "A fast and elitist multiobjective
genetic algorithm: NSGA-II", IEEE Trans. Evolutionary Computation 6(2), 2002) as Optuna
implements it: each generation of ``population`` trials is bred from the elite of the previous
generation and its parents (fast non-dominated sorting, then crowding distance, Sec. III), by
uniform crossover of the decisions (probability ``crossover_prob``, each decision swapped with
``swapping_prob``) and mutation (each decision redrawn with ``mutation_prob``; ``None``:
``1 / number of decisions``, Deb et al.'s ``1/n``). Every proposal is one architecture, as for
every strategy; the Pareto front and its hypervolume are read off the observations afterwards.

- ``objectives`` are Observation fields: ``val_acc`` and ``objective`` are maximised,
  ``latency_ms``, ``params_m`` and ``macs_m`` minimised. Without a latency device in the budget
  every ``latency_ms`` is nan, so ``latency_ms`` falls back to ``params_m`` (dropped if
  ``params_m`` is already an objective); ``objectives_`` holds what is actually optimised.
- The first generation is the seed's shared initial design (``space.sample(initial_rng)``, in
  order), enqueued into the study.
- Failed and infeasible observations (``objective`` nan) violate the constraint
  ``nasbench_unusable``: Deb et al.'s constrained domination (Sec. V) ranks them behind every
  usable one. Their missing values are imputed with the worst value seen (see
  :mod:`.optuna_common`, which also covers decisions as parameters, repair and resume).
"""

from __future__ import annotations

import logging
from typing import ClassVar

from optuna.samplers import BaseSampler, NSGAIISampler

from nasbench.core.params import param
from nasbench.core.registry import strategies
from nasbench.core.strategy import SearchInfo

from .optuna_common import OBJECTIVES, OptunaStrategy

log = logging.getLogger(__name__)


@strategies.register("nsga2")
class NSGA2(OptunaStrategy):
    """NSGA-II over the space's decisions; see the module docstring.

    ``objectives``: at least two of ``val_acc``, ``objective`` (maximised), ``latency_ms``,
    ``params_m``, ``macs_m`` (minimised); ``population``: generation size (>= 2) and size of
    the shared initial design; ``crossover_prob``, ``swapping_prob``, ``mutation_prob``: see
    the module docstring. Bad values raise NasbenchError. Learned attributes: see
    :class:`.OptunaStrategy`.
    """

    label: ClassVar[str] = "nsga2"
    paper: ClassVar[str] = (
        "Deb, Pratap, Agarwal & Meyarivan, A fast and elitist multiobjective genetic algorithm: "
        "NSGA-II, IEEE Transactions on Evolutionary Computation 6(2), 2002"
    )
    objectives: tuple[str, ...] = param(
        ("val_acc", "latency_ms"), choices=tuple(OBJECTIVES), ge=2,
        expect="a list of field names (at least 2, distinct)", source=(
            "validation accuracy vs latency: the trade-off of hardware-aware NAS (MnasNet, Tan et "
            "al., CVPR 2019); params_m when no latency device is configured"
        ),
    )  # fmt: skip
    population: int = param(20, ge=2, source=(
        "20: 5 generations in the ~100-evaluation NAS-Bench-201 protocol budget (Deb et al. "
        "2002 use 100, Optuna's NSGAIISampler defaults to 50)"
    ))  # fmt: skip
    crossover_prob: float = param(
        0.9, ge=0, le=1, source="0.9: Deb et al. 2002, Sec. VI; Optuna's default"
    )
    swapping_prob: float = param(
        0.5, ge=0, le=1, source="0.5: uniform crossover (Syswerda 1989); Optuna's default"
    )
    mutation_prob: float | None = param(None, kind=float, ge=0, le=1, source=(
        "None = 1/number of decisions: Deb et al. 2002, Sec. VI (1/n); Optuna's default"
    ))  # fmt: skip

    def _initial_size(self) -> int:
        return self.population

    def _new_sampler(self, seed: int) -> BaseSampler:
        assert self.crossover_prob is not None and self.swapping_prob is not None
        return NSGAIISampler(
            population_size=self.population,
            crossover_prob=self.crossover_prob,
            swapping_prob=self.swapping_prob,
            mutation_prob=self.mutation_prob,
            seed=seed,
        )

    def _objectives(self, info: SearchInfo) -> tuple[str, ...]:
        """``objectives`` with ``latency_ms`` replaced by ``params_m`` when the budget names no
        latency device (every latency would be nan)."""
        if "latency_ms" not in self.objectives or info.budget.latency_device is not None:
            return self.objectives
        resolved: list[str] = []
        for name in self.objectives:
            name = "params_m" if name == "latency_ms" else name
            if name not in resolved:
                resolved.append(name)
        log.info("nsga2: no latency device in the budget; optimising %s", resolved)
        return tuple(resolved)

    def _uses_constraints(self, info: SearchInfo) -> bool:
        return True  # constrained domination (Deb et al. 2002, Sec. V) costs nothing here
