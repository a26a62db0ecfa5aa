"""Results folders, whole: run a suite (the engine's :func:`nasbench.engine.execute.run_suite`)
and write its summary and statistics beside the records (:func:`write_summary` of
:func:`~nasbench.analysis.report.summarize`), as ``nasbench run`` does; and read every record of
one or more folders back as one table (:func:`load_results`). These are ``nasbench.run_suite``
and ``nasbench.load_results`` of the public API."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from nasbench.analysis.report import SummaryRow, run_files, summarize
from nasbench.analysis.stats_format import write_summary
from nasbench.core.registry import inert
from nasbench.engine import execute
from nasbench.engine.records import read_run
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


def load_results(folders: Path | str | Sequence[Path | str]) -> pa.Table:
    """Every trial record of the results folders, one table: the record columns
    (:class:`~nasbench.core.types.TrialRecord`, accuracies as fractions, ``params_m`` and
    ``macs_m`` in millions, costs in simulated seconds) and every evaluator's extra columns
    (NAS-Bench-201's CIFAR-100 and ImageNet16-120 test accuracies, the pruned sizes, ...), null
    where a run does not record one, so no column is lost as ``pandas.read_parquet`` on the
    folder would lose the columns some files lack. Runs in file-name order, trials in order.
    Reads inertly (nothing a record names is imported). ``.to_pandas()`` gives a DataFrame.
    Raises NasbenchError for a folder without records or a run present twice with different records.

    >>> table = load_results("results/nb201-protocol")
    >>> table.num_rows > 0 and "test_acc_cifar100" in table.column_names
    True
    """
    paths = [folders] if isinstance(folders, str | Path) else list(folders)
    with inert():
        tables = [read_run(path)[0] for path in run_files([Path(p) for p in paths])]
    stripped = [t.replace_schema_metadata(None) for t in tables]
    return pa.concat_tables(stripped, promote_options="default")
