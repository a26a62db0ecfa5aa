"""The training toolkit: datasets, the trainer (recipes, schedules), gradual magnitude pruning,
learning curves, latency measurement and models, and the simulated cost of training. Imports
only :mod:`nasbench.core`.
"""
