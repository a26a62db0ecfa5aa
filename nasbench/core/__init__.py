"""The contracts: what a plugin author implements and the types every layer shares.

Types and errors, the plugin registries and their call boundary, the search-space, strategy,
evaluator, surrogate and supernet protocols (with their base classes), seeding, and the small
file utilities (caches) the layers above use. Imports nothing else from nasbench.
"""
