"""The run engine: suites and budgets, the one search loop (ask, evaluate, charge, record,
tell), the crash-safe journal, the records, and running a suite's runs in parallel. Imports
the layers below it (core, training, tables).
"""
