"""The analysis: summaries, statistics (tests, power, critical differences), re-scoring under a
second surrogate, and plots, all read from records without running anything they name.
Imports every layer below it, never the CLI.
"""
