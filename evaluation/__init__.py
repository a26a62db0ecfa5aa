"""Evaluators, one module per evaluation mode; built-ins register on import (nasbench.registry)."""
