"""How reliable a built table's labels are: seed noise, split-half reliability and cost.

A benchmark table ranks architectures by the seed mean of their validation accuracy. That ranking
is only worth searching over when the spread between training seeds is small against the spread
between architectures. :func:`label_quality` measures it on the rows of a table built by
``nasbench build-table`` that have two or more successful training seeds:

- **seed sd**: the pooled standard deviation between seeds, ``sqrt(mean over rows of the row's
  sample variance)``, over all rows and over the best quartile (rows whose seed mean is in the top
  25 % of their sparsity level): the best architectures are the ones a search must tell apart;
- **spread sd**: the standard deviation of the rows' seed means within a level (the signal);
- **split-half reliability**: the seeds of each row are dealt into two disjoint groups (even and
  odd positions in seed order: seeds 0, 2, ... against 1, 3, ...); the Kendall tau between the two
  groups' means across the rows of a level, averaged over levels, overall and within the best
  fifth (rows whose full seed mean is in the top 20 % of their level). With two seeds it is the
  agreement of two single-seed tables;
- **reliability of the mean**: the share of the variance of a row's k-seed mean that is between
  architectures, ``var_a / (var_a + sd_seed**2 / k)`` with ``var_a = spread**2 - sd_seed**2 / k``
  (a one-way random-effects model; Shrout & Fleiss 1979, ICC(1,k)), from which
  :meth:`LabelQuality.predicted_split_half` projects the split-half tau of a table with more seeds
  (Kendall's tau of a bivariate normal with correlation r is ``2/pi * arcsin(r)``);
- **cost**: CPU-hours of the runs (their process CPU time, one thread each; the worker's wall
  time for runs recorded before CPU time was, which overstates the cost of runs that shared a
  core with other work).

>>> rng = np.random.default_rng(0)
>>> true = rng.normal(0.9, 0.03, 200)  # 200 architectures, 4 seeds, seed sd 0.01
>>> runs = [{"index": i, "sparsity": 0.0, "seed": k, "status": "ok",
...          "val_acc": float(true[i] + rng.normal(0, 0.01)), "job_wall_s": 10.0}
...         for i in range(200) for k in range(4)]
>>> q = label_quality(runs)
>>> round(q.seed_sd, 3), round(q.spread_sd, 3), q.seeds, round(q.cpu_hours, 2)
(0.01, 0.029, 4, 2.22)
>>> round(q.split_half, 3), round(q.predicted_split_half(2), 3), round(q.reliability(2), 3)
(0.797, 0.792, 0.947)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from nasbench.core.types import Status

TOP_QUARTILE = 0.25
TOP_FIFTH = 0.20


@dataclass(frozen=True)
class LabelQuality:
    """Label noise of a table (accuracies as fractions; see the module docstring)."""

    rows: int  # (architecture, sparsity) rows with two or more successful seeds
    seeds: int  # the smallest number of successful seeds among those rows
    seed_sd: float
    seed_sd_top: float  # best quartile
    spread_sd: float
    split_half: float  # Kendall tau between the seed groups' means
    split_half_top: float  # within the best fifth
    cpu_hours: float  # all runs, including rows with one seed
    runs: int

    @property
    def between_var(self) -> float:
        """Variance of the architectures' expected accuracy (spread minus the noise left in a
        ``seeds``-seed mean; at least 0)."""
        return max(self.spread_sd**2 - self.seed_sd**2 / max(self.seeds, 1), 0.0)

    def reliability(self, seeds: int) -> float:
        """Share of the variance of a ``seeds``-seed mean that is between architectures."""
        noise = self.seed_sd**2 / seeds
        total = self.between_var + noise
        return self.between_var / total if total > 0 else math.nan

    def predicted_split_half(self, seeds_per_half: int) -> float:
        """Split-half Kendall tau expected of a table with ``seeds_per_half`` seeds in each
        half (under the random-effects model with Gaussian noise)."""
        r = self.reliability(seeds_per_half)
        return 2.0 / math.pi * math.asin(r) if math.isfinite(r) else math.nan

    def seeds_for(self, target: float) -> float:
        """Seeds per row (even: split half against half) at which :meth:`predicted_split_half`
        reaches ``target``: each half needs ``ceil(noise * r / (between * (1 - r)))`` seeds
        with ``r = sin(target * pi / 2)``; ``inf`` when the architectures differ by nothing
        the seeds can resolve (no variance between them), NaN without a measurement."""
        if not (math.isfinite(self.seed_sd) and math.isfinite(self.spread_sd)):
            return math.nan
        r = math.sin(target * math.pi / 2)
        if self.between_var <= 0:
            return math.inf
        return 2.0 * max(1, math.ceil(self.seed_sd**2 * r / (self.between_var * (1 - r))))


def _groups(runs: Iterable[dict]) -> dict[tuple[int, float], list[dict]]:
    groups: dict[tuple[int, float], list[dict]] = {}
    for run in runs:
        key = (int(run["index"]), round(float(run["sparsity"]), 6))
        groups.setdefault(key, []).append(run)
    return groups


def run_cpu_s(run: dict) -> float:
    """A run's process CPU seconds (``job_cpu_s``) where recorded, else its worker's wall time."""
    cpu = run.get("job_cpu_s")
    return float(cpu) if cpu is not None else float(run.get("job_wall_s", 0.0))


def _top(means: np.ndarray, share: float) -> np.ndarray:
    """Indices of the best ``share`` of ``means`` (at least 2)."""
    k = max(2, math.ceil(share * len(means)))
    return np.argsort(-means, kind="stable")[:k]


def _tau(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3:
        return math.nan
    return float(stats.kendalltau(a, b).statistic)


def label_quality(runs: Iterable[dict]) -> LabelQuality:
    """:class:`LabelQuality` of a table's runs (dicts with ``index``, ``sparsity``, ``seed``,
    ``status``, ``val_acc``, ``job_cpu_s`` or ``job_wall_s``, as
    :func:`nasbench.tables.tablebuild.read_runs` gives them). Pure; draws no randomness. Levels with
    fewer than 3 multi-seed rows count towards the seed sd but not towards the taus."""
    runs = list(runs)
    ok_val: dict[tuple[int, float], list[float]] = {}
    for key, group in _groups(runs).items():
        group.sort(key=lambda r: int(r["seed"]))
        vals = [float(r["val_acc"]) for r in group if r["status"] == str(Status.OK)]
        vals = [v for v in vals if math.isfinite(v)]
        if len(vals) >= 2:
            ok_val[key] = vals
    variances, top_variances, spreads, taus, top_taus = [], [], [], [], []
    for level in sorted({key[1] for key in ok_val}):
        rows = [vals for key, vals in ok_val.items() if key[1] == level]
        means = np.array([np.mean(v) for v in rows])
        var = np.array([np.var(v, ddof=1) for v in rows])
        variances += var.tolist()
        top_variances += var[_top(means, TOP_QUARTILE)].tolist()
        if len(rows) >= 3:
            spreads.append(float(np.std(means, ddof=1)))
            even = np.array([np.mean(v[0::2]) for v in rows])
            odd = np.array([np.mean(v[1::2]) for v in rows])
            taus.append(_tau(even, odd))
            best = _top(means, TOP_FIFTH)
            top_taus.append(_tau(even[best], odd[best]))
    finite = [t for t in taus if math.isfinite(t)]
    finite_top = [t for t in top_taus if math.isfinite(t)]
    return LabelQuality(
        rows=len(ok_val),
        seeds=min((len(v) for v in ok_val.values()), default=0),
        seed_sd=math.sqrt(np.mean(variances)) if variances else math.nan,
        seed_sd_top=math.sqrt(np.mean(top_variances)) if top_variances else math.nan,
        spread_sd=float(np.mean(spreads)) if spreads else math.nan,
        split_half=float(np.mean(finite)) if finite else math.nan,
        split_half_top=float(np.mean(finite_top)) if finite_top else math.nan,
        cpu_hours=sum(run_cpu_s(r) for r in runs) / 3600.0,
        runs=len(runs),
    )
