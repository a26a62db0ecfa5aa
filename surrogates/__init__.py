"""Performance predictors behind one fit/predict interface; built-ins register on import."""

from . import gaussian_process, gin, gradient_boosting, mlp_ensemble, random_forest, sklearn_adapter

__all__ = [
    "gaussian_process",
    "gin",
    "gradient_boosting",
    "mlp_ensemble",
    "random_forest",
    "sklearn_adapter",
]
