"""Benchmark tables shipped with nasbench (see ``nasbench.tables.benchmarks``) and their
converters."""
