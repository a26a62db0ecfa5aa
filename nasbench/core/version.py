"""The version of nasbench (one place: the package, the run metadata and ``--version`` read it)."""

__version__ = "0.1.0"
