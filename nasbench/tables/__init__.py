"""The benchmark tables: loading tabular benchmarks, building the own tables by training, their
quality figures, and surrogate benchmarks fitted to them. Imports :mod:`nasbench.core` and
:mod:`nasbench.training`.
"""
