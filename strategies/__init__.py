"""Search strategies, one module per strategy; importing this package registers the built-ins."""

from . import bayesopt, nsga2, q_learning, random, regularized_evolution, reinforce

__all__ = ["bayesopt", "nsga2", "q_learning", "random", "regularized_evolution", "reinforce"]
