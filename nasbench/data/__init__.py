"""Benchmark tables shipped with nasbench (see ``nasbench.benchmarks``) and their converters."""
