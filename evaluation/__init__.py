"""Evaluators, one module per evaluation mode; importing this package registers the built-ins."""

from . import tabular

__all__ = ["tabular"]
