"""Hyperband: successive halving over a cycle of brackets that trade breadth for depth.

>>> from nasbench.core.registry import spaces
>>> from nasbench.core.seeding import role_rng
>>> from nasbench.core.strategy import SearchInfo
>>> from nasbench.core.types import Budget, Observation, Status
>>> space = spaces.create("nb201")
>>> search = Hyperband()  # eta = 3 on the table's fidelities: the ladder (12, 200)
>>> info = SearchInfo(fidelity=12.0, fidelities=(12.0, 200.0), budget=Budget(evaluations=12))
>>> search.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> fidelities = []
>>> for trial in range(12):
...     (proposal,) = search.ask(1)
...     score = proposal.arch.values.count("nor_conv_3x3") / 6  # a synthetic objective
...     fidelities.append(proposal.fidelity)
...     search.tell([Observation(trial, proposal.arch, proposal.fidelity, score, score, 1.0,
...                              True, Status.OK)])
>>> fidelities  # bracket s = 1: 3 at 12 epochs, the best at 200; bracket s = 0: 2 at 200
[12.0, 12.0, 12.0, 200.0, 200.0, 200.0, 12.0, 12.0, 12.0, 200.0, 200.0, 200.0]
>>> fresh = Hyperband()  # the first bracket's 3 architectures are the shared initial design
>>> fresh.start(space, info, role_rng(0, "strategy"), role_rng(0, "initial_design"))
>>> initial = role_rng(0, "initial_design")
>>> [p.arch for p in fresh.ask(3)] == [space.sample(initial) for _ in range(3)]
True

The algorithm is Algorithm 1 of Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, "Hyperband: A
Novel Bandit-Based Approach to Hyperparameter Optimization" (JMLR 2018). With ``R`` the ratio of
the largest to the smallest rung's fidelity and ``s_max = floor(log_eta(R))``, bracket ``s``
(taken in the order ``s_max, s_max - 1, ..., 0``, then again from ``s_max``) draws

    ``n = ceil((s_max + 1) / (s + 1) * eta**s)`` random architectures at ``r = R * eta**-s``

(in units of the smallest rung: the ``s + 1`` top rungs of the ladder) and runs successive
halving on them: the top ``floor(n_i / eta)`` of each rung go on to the next. For ``R = 81``,
``eta = 3`` that is the paper's Table 1: brackets of 81, 34, 15, 8 and 5 architectures
(:func:`~.successive_halving.bracket_sizes`). HpBandSter computes ``n`` as
``ceil(floor((s_max + 1) / (s + 1)) * eta**s)`` (33 instead of 34 for ``s = 3``); this module
keeps the paper's formula. The ladder, the snapping of rungs to the fidelities the evaluator
offers (on NAS-Bench-201's table with ``eta = 3``: rungs 12 and 200, ``s_max = 1``), the ranking
(nan last) and the asynchronous use of ``ask(n)`` are those of :mod:`.successive_halving`. The
first bracket's architectures are the seed's shared initial design, ``space.sample(initial_rng)``
in order; every later one comes from the strategy stream. Brackets repeat until the runner's
budget ends the run (the paper's infinite-horizon variant repeats the cycle likewise).
"""

from __future__ import annotations

from typing import ClassVar

from nasbench.core.registry import strategies

from .successive_halving import HYPERBAND_PAPER, BracketSearch, bracket_sizes, hyperband_bracket


@strategies.register("hyperband")
class Hyperband(BracketSearch):
    """Hyperband (Li et al., JMLR 2018, Algorithm 1) with random architectures; see the module
    docstring. Hyperparameters: ``eta`` (>= 2), ``min_fidelity`` and ``max_fidelity`` (``None``:
    from the evaluator's fidelities). Bad values raise NasbenchError. Learned attributes: see
    :class:`~.successive_halving.BracketSearch`."""

    paper: ClassVar[str] = HYPERBAND_PAPER

    def _plan(self, index: int) -> tuple[int, ...]:
        return bracket_sizes(hyperband_bracket(index, self.s_max_), self.s_max_, self.eta)
