"""Search strategies, one module per strategy; importing this package registers the built-ins."""

from . import q_learning, random, regularized_evolution, reinforce

__all__ = ["q_learning", "random", "regularized_evolution", "reinforce"]
