"""Evaluators, one module per evaluation mode; importing this package registers the built-ins."""

from . import (
    hypernetwork,
    lce,
    low_fidelity,
    network_morphism,
    surrogate,
    tabular,
    train,
    weight_sharing,
    zero_cost,
)

__all__ = [
    "hypernetwork",
    "lce",
    "low_fidelity",
    "network_morphism",
    "surrogate",
    "tabular",
    "train",
    "weight_sharing",
    "zero_cost",
]
