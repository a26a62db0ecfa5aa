"""A new search strategy in one file: mutate the best architecture seen so far.

Start from the seed's shared random initial design, then propose mutations of the incumbent.
Run it with ``strategy = "greedy_mutation:GreedyMutation"`` in a suite (this folder on the
Python path), or register it under a name with ``@nasbench.registry.strategies.register(...)``.
"""

import math

import numpy as np

import nasbench


class GreedyMutation:
    """Hill climbing by mutation from a random initial design of ``initial`` architectures."""

    initial_design = "shared"  # the first proposals are the seed's shared random design
    paper = "hill climbing; cf. local search in White et al., NeurIPS 2021"
    sources = {"initial": "ours: a small random start"}

    def __init__(self, initial: int = 5) -> None:
        self.initial = initial

    def start(self, space, info, rng: np.random.Generator, initial_rng: np.random.Generator):
        self.space_, self.rng_, self.initial_rng_ = space, rng, initial_rng
        self.initial_size_ = self.initial
        self.asked_, self.best_, self.best_value_ = 0, None, -math.inf

    def ask(self, n: int = 1) -> list[nasbench.Proposal]:
        out = []
        for _ in range(n):
            if self.asked_ < self.initial or self.best_ is None:
                arch = self.space_.sample(self.initial_rng_)
            else:
                arch = self.space_.mutate(self.best_, self.rng_)
            self.asked_ += 1
            out.append(nasbench.Proposal(arch))
        return out

    def tell(self, observations) -> None:
        for obs in observations:
            if obs.objective > self.best_value_:  # nan (failed, infeasible) never wins
                self.best_, self.best_value_ = obs.arch, obs.objective
