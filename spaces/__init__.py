"""Search spaces, one module per space. Importing this package registers the built-ins: the
spaces (``nasbench.core.registry.spaces``) and their supernets
(``nasbench.core.supernet.register_supernet``)."""

from . import (
    cell,
    cell_supernet,
    chain,
    chain_supernet,
    hierarchical,
    hierarchical_supernet,
    multibranch,
    multibranch_supernet,
    nb201,
    nb201_supernet,
)

__all__ = [
    "cell",
    "cell_supernet",
    "chain",
    "chain_supernet",
    "hierarchical",
    "hierarchical_supernet",
    "multibranch",
    "multibranch_supernet",
    "nb201",
    "nb201_supernet",
]
