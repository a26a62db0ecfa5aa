"""Search strategies, one module per strategy; importing this package registers the built-ins."""

from . import (
    bayesopt,
    bohb,
    darts,
    gdas,
    hyperband,
    local_search,
    nsga2,
    q_learning,
    random,
    regularized_evolution,
    reinforce,
    single_path,
    successive_halving,
    tas,
)

__all__ = [
    "bayesopt",
    "bohb",
    "darts",
    "gdas",
    "hyperband",
    "local_search",
    "nsga2",
    "q_learning",
    "random",
    "regularized_evolution",
    "reinforce",
    "single_path",
    "successive_halving",
    "tas",
]
