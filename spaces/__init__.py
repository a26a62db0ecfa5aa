"""Search spaces, one module per space. Importing this package registers the built-ins."""

from . import cell, chain, hierarchical, multibranch, nb201

__all__ = ["cell", "chain", "hierarchical", "multibranch", "nb201"]
