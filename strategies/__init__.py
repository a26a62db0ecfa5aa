"""Search strategies, one module per strategy; importing this package registers the built-ins."""

from . import (
    bayesopt,
    darts,
    gdas,
    nsga2,
    q_learning,
    random,
    regularized_evolution,
    reinforce,
    single_path,
    tas,
)

__all__ = [
    "bayesopt",
    "darts",
    "gdas",
    "nsga2",
    "q_learning",
    "random",
    "regularized_evolution",
    "reinforce",
    "single_path",
    "tas",
]
