"""Search strategies, one module per strategy; importing this package registers the built-ins."""

from . import random, regularized_evolution

__all__ = ["random", "regularized_evolution"]
