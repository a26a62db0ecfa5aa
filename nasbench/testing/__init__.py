"""Public conformance suites: every plugin, built-in or third-party, runs the same checks.

>>> from nasbench.testing.spaces import check_space
>>> from nasbench.core.registry import spaces
>>> check_space(spaces.create("chain", max_layers=4))
"""
