"""Run curves: what the statistics read of each run (its final score and anytime curve), from
the records (:func:`load_curves`)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from nasbench.analysis.power import POOLED as POOLED
from nasbench.analysis.power import PairRow as PairRow
from nasbench.analysis.power import Scores as Scores
from nasbench.analysis.power import holm as holm
from nasbench.analysis.power import wilcoxon_p as wilcoxon_p
from nasbench.analysis.report import read_runs
from nasbench.core.errors import NasbenchError
from nasbench.core.types import RunMeta

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunCurve:
    """What the statistics need of one run: its final score and its anytime curve."""

    task: str
    strategy: str
    seed: int
    cum_cost_s: np.ndarray  # after each trial, nondecreasing
    incumbent_test: np.ndarray  # the incumbent's test accuracy after each trial (NaN: none yet)
    first_fidelity: float  # of the first evaluation (NaN: no evaluation)
    config_json: str  # the resolved run spec (RunMeta.config_json)

    @property
    def final(self) -> float:
        return float(self.incumbent_test[-1]) if len(self.incumbent_test) else math.nan


def load_curves(folders: Path | Sequence[Path]) -> list[RunCurve]:
    """The runs of ``folders`` (see :func:`nasbench.analysis.report.run_files`), sorted by file
    name. Raises NasbenchError for a folder without records, an unreadable record, or a run of the
    same (task, strategy, seed) present twice."""
    return curves_of(read_runs(folders))


def curves_of(runs: Sequence[tuple[pa.Table, RunMeta]]) -> list[RunCurve]:
    """:class:`RunCurve` of runs already read (:func:`nasbench.analysis.report.read_runs`); raises
    NasbenchError when two runs share (task, strategy, seed)."""
    curves, seen = [], set()
    for table, meta in runs:
        if (meta.task, meta.strategy, meta.seed) in seen:
            raise NasbenchError(f"two runs of task {meta.task!r}, strategy {meta.strategy!r}, "
                                f"seed {meta.seed} (one is {meta.run_id})")  # fmt: skip
        seen.add((meta.task, meta.strategy, meta.seed))
        cost = table.column("cum_cost_s").to_numpy(zero_copy_only=False).astype(float)
        inc = table.column("incumbent_test_acc").to_numpy(zero_copy_only=False).astype(float)
        fid = float(table.column("fidelity")[0].as_py()) if table.num_rows else math.nan
        curves.append(RunCurve(meta.task, meta.strategy, meta.seed, cost, inc, fid,
                               meta.config_json))  # fmt: skip
    return curves
