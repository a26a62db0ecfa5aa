"""A results folder, whole: run a suite (the engine's :func:`nasbench.engine.execute.run_suite`)
and write its summary and statistics beside the records (:func:`write_summary` of
:func:`~nasbench.analysis.report.summarize`), as ``nasbench run`` does. This is the
``nasbench.run_suite`` of the public API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nasbench.analysis.report import SummaryRow, summarize
from nasbench.analysis.stats_format import write_summary
from nasbench.engine import execute
from nasbench.engine.suite import Suite


def run_suite(suite: Suite, text: str, out: Path, **options: Any) -> list[SummaryRow]:
    """Run every missing run of ``suite`` into ``out`` (``options``: ``workers``, ``resume``,
    ``progress``, ``backend``, ``address`` of the engine's ``run_suite``), then write
    ``summary.{json,md,csv}`` and ``stats.{md,json}`` from all of ``out``'s records and return
    the summary rows."""
    execute.run_suite(suite, text, Path(out), **options)
    return write_results(Path(out))


def write_results(out: Path) -> list[SummaryRow]:
    """Write the summary and statistics files of the records in ``out``; the summary rows."""
    rows = summarize(out)
    write_summary(out, rows)
    return rows
